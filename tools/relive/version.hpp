// `relive --version`'s line: "relive 0.2.0 (git 8c2c5fb98919)" when built from a git
// checkout ("..., modified)" with uncommitted edits to tracked files), "relive 0.2.0" when
// built from a source tarball. Defined in a file generated at build time
// (cmake/relive_version.cmake), so a new commit only relinks the command.
#pragma once

namespace relive::cli {
const char* version_line();
}  // namespace relive::cli
