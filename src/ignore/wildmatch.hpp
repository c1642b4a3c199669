// Internal: git's glob matcher (wildmatch), the engine behind every gitignore pattern.
//
// Semantics follow git's wildmatch exactly (the differential test in
// tests/ignore/test_git_differential.cpp holds us to it): `?`, `*`, `[...]` with ranges,
// `[!...]`/`[^...]` and `[:class:]`, `\` escapes, and with `pathname` set, `*`/`?`/`[...]`
// never match '/', while `**` between slashes (or at either end) matches across them.
#pragma once

#include <string_view>

namespace relive::ignore::detail {

// Whether `text` matches `pattern`. `pattern` must be NUL-terminated right after its last
// character (a std::string's c_str() is), because malformed classes are detected by
// reading to the terminator as git does. `pathname`: git's WM_PATHNAME.
bool wildmatch(const char* pattern, std::string_view text, bool pathname);

}  // namespace relive::ignore::detail
