// Internal: one compiled ignore rule, the rules file it came from, and the parsers for
// gitignore syntax (.gitignore, info/exclude, excludes file, defaults, -i globs) and
// .reloadignore syntax (one RE2 expression a line).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace re2 {
class RE2;
}

namespace relive::ignore::detail {

struct RuleFile;

// A compiled rule. Matching never allocates: regex rules match a caller-provided buffer.
struct Rule {
  enum class Kind : unsigned char {
    Literal,     // basename equals `pattern` (git: no wildcard, no slash)
    EndsWith,    // basename ends with `pattern` ("*.ext" style, leading '*' removed)
    BasenameGlob,  // wildmatch(pattern, basename) without WM_PATHNAME
    PathGlob,    // wildmatch against the path relative to the rules' directory
    Regex,       // .reloadignore: RE2 partial match against the relative path
  };
  Kind kind = Kind::Literal;
  bool negative = false;      // a leading '!': re-includes
  bool must_be_dir = false;   // a trailing '/': matches directories only
  unsigned literal_prefix = 0;  // PathGlob: leading characters free of wildcards
  // Cheap rejection before any real matching: a match's basename must start with
  // `first_char` / end with `last_char` (0: no such constraint known).
  char first_char = 0;
  char last_char = 0;
  std::string pattern;        // as matched (see Kind), NUL-terminated for wildmatch
  std::shared_ptr<const re2::RE2> regex;
  std::string text;           // the line as `check-ignore -v` shows it (trimmed)
  int line = 0;
  const RuleFile* file = nullptr;

  // `rel`: the path relative to the directory the rules belong to; `basename`: its last
  // component; `scratch`: reused buffer for regex rules (which see directories as "dir/").
  bool matches(std::string_view rel, std::string_view basename, bool is_dir, std::string& scratch) const;
};

// The rules of one source, in file order; a later rule wins over an earlier one.
struct RuleFile {
  std::string source;   // shown to users: path relative to the root, absolute, or "<default>"
  std::vector<Rule> rules;  // change only through set_rules()
  bool present = false;   // the file existed when last read

  // Installs `rules` (pointing them at this file) and indexes them by last character.
  void set_rules(std::vector<Rule> new_rules);
  // The last rule that matches, or null. Only rules that can end with the basename's last
  // character are tried, in order: most paths are decided after a handful of comparisons.
  const Rule* last_match(std::string_view rel, std::string_view basename, bool is_dir, std::string& scratch) const;

 private:
  // For files with many rules: bucket_of_[c] selects the rule indexes (ascending) whose
  // basename may end with c (rules with no last-character constraint are in every bucket).
  std::vector<std::vector<unsigned>> buckets_;
  std::vector<unsigned char> bucket_of_;  // 256 entries, or empty: try every rule
};

// Parses gitignore syntax as git does: BOM skipped, CR before LF dropped, '#' comments,
// unescaped trailing spaces trimmed, "!", trailing '/', anchoring by any inner '/'.
std::vector<Rule> parse_gitignore(std::string_view content, const RuleFile* file);
// One gitignore-syntax pattern (defaults, command-line globs); `line` is its index + 1.
void add_gitignore_pattern(std::string_view line_text, int line, const RuleFile* file, std::vector<Rule>& out);

// Parses .reloadignore. Every valid expression becomes a rule; the first invalid one is
// described in `*error` ("SOURCE:LINE: invalid regular expression 'X': reason").
std::vector<Rule> parse_reloadignore(std::string_view content, const RuleFile* file, std::string* error);

// Trims trailing spaces that are not escaped by a backslash (git's trim_trailing_spaces).
std::string_view trim_trailing_spaces(std::string_view line);

}  // namespace relive::ignore::detail
