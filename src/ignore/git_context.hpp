// Internal: where git's ignore sources are for a directory: the top of the enclosing work
// tree, that repository's info/exclude, and the global excludes file (core.excludesFile).
#pragma once

#include <filesystem>

namespace relive::ignore::detail {

struct GitContext {
  std::filesystem::path top;           // top of the work tree holding the root; empty if none
  std::filesystem::path common_dir;    // the repository's (common) git dir; empty if none
  std::filesystem::path info_exclude;  // common_dir/info/exclude; empty if none
};

// Walks up from `canonical_root` as git's discovery does: stops at the first directory with
// a `.git` directory (holding HEAD) or a `.git` file ("gitdir: ..."), at a directory listed
// in GIT_CEILING_DIRECTORIES, or at a filesystem boundary.
GitContext discover_git(const std::filesystem::path& canonical_root);

// The global excludes file git would read: the last core.excludesFile set in the system,
// global and repository config files ("~/" expanded; relative to `base_dir`), or else
// $XDG_CONFIG_HOME/git/ignore (or ~/.config/git/ignore). Empty if there is none.
// Not followed: [include]/[includeIf] sections and `git -c` settings.
std::filesystem::path global_excludes_file(const GitContext& git, const std::filesystem::path& base_dir);

}  // namespace relive::ignore::detail
