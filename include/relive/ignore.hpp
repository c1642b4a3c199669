// relive/ignore.hpp — which paths a watcher leaves alone, decided exactly as git decides.
//
// A Matcher answers "is this path ignored?" for paths under one root directory, applying:
//   * git's rules, exactly as `git check-ignore` applies them: nested .gitignore files
//     (deeper wins, patterns relative to their directory), `!` negation (a file under an
//     excluded directory cannot be re-included), trailing-slash directory-only patterns,
//     anchoring by a leading or middle slash, `**`, `\` escapes, trailing spaces,
//     .git/info/exclude and the global excludes file (core.excludesFile, default
//     $XDG_CONFIG_HOME/git/ignore). They apply whether or not the root is in a git
//     repository. If it is, rules from the top of the work tree down to the root apply.
//   * .reloadignore files: one RE2 regular expression a line, matched against the path
//     relative to the directory holding the file; `#` comments; `!` re-includes.
//   * command-line globs (gitignore syntax, relative to the root) and built-in defaults
//     (.git/, .hg/, .svn/, __pycache__/, *.pyc, editors' swap, backup and temp files).
//
// Example:
//   auto m = relive::ignore::Matcher::open("/src/app", {});
//   if (!m) { fmt::print(stderr, "relive: {}\n", m.error().message); return 2; }
//   if (!(*m)->ignored("build/out.o", /*is_dir=*/false)) handle_change();
//
// Precedence (a higher layer's matching rule wins; within a layer the last matching rule
// wins, and deeper files beat shallower ones):
//   command-line globs > .reloadignore files > .gitignore files > .git/info/exclude >
//   global excludes file > built-in defaults.
// A directory that is ignored hides everything under it: nothing below it can be
// re-included (git's rule), whichever layer ignored it. The root itself is never ignored.
// docs/ignore.md describes every rule with examples.
//
// Thread-safety: a Matcher is used from one thread at a time (the watcher's); it caches
// the rules of each directory as it first meets them.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "relive/error.hpp"

namespace relive::ignore {

struct Options {
  bool vcs_ignore = true;       // .gitignore files, .git/info/exclude, core.excludesFile
  bool reloadignore = true;     // .reloadignore files
  bool default_ignores = true;  // the built-in list (see default_patterns())
  std::vector<std::string> globs;  // extra gitignore-syntax patterns, relative to the root
  // The global excludes file to use instead of looking up core.excludesFile in git's
  // config files (tests, or callers that know better). Empty: look it up.
  std::filesystem::path excludes_file;
};

// Why a path is or is not ignored: the last rule that matched it, as `git check-ignore -v`
// reports it. `source` is the rules file's path as given to the user (relative to the
// root where it lies under it), "<default>" or "<command line>"; `line` is 1-based.
struct Decision {
  bool ignored = false;
  bool matched = false;   // a rule matched (possibly a `!` rule, so ignored == false)
  std::string source;
  int line = 0;
  std::string pattern;    // the rule as written, including a leading `!`
};

// The built-in default patterns (gitignore syntax).
const std::vector<std::string>& default_patterns();

class Matcher {
 public:
  // Opens a matcher for paths under `root` (which must exist). Fails with an Error naming
  // file, line and reason for an invalid .reloadignore expression or an unreadable rules
  // file; never silently skips a rule.
  static Result<std::unique_ptr<Matcher>> open(const std::filesystem::path& root, const Options& options);
  virtual ~Matcher() = default;

  // Whether `rel_path` ('/'-separated, relative to the root, no "./") is ignored.
  // A path under an ignored directory is ignored. `is_dir`: what lstat() says (a symlink
  // to a directory is not a directory, as for git). Never fails; rules files met for the
  // first time are read here (see take_errors()).
  virtual bool ignored(std::string_view rel_path, bool is_dir) = 0;
  // The fast path for top-down scans: the same decision as ignored() provided that no
  // ancestor directory of `rel_path` is ignored (the caller never descends into one), so
  // the ancestors are not re-examined. Does not allocate once the directory's rules are
  // cached (they are cached when a directory is first met). Undefined result (not
  // undefined behaviour) if an ancestor is in fact ignored.
  virtual bool ignored_entry(std::string_view rel_path, bool is_dir) = 0;
  // The same decision with the rule that made it.
  virtual Decision explain(std::string_view rel_path, bool is_dir) = 0;

  // Whether a change to `rel_path` changes the rules (.gitignore, .reloadignore,
  // .git/info/exclude, or the global excludes file when it lies under the root).
  virtual bool is_rules_file(std::string_view rel_path) const = 0;
  // Re-reads the rules file at `rel_path` after it was created, changed or removed. On an
  // error (bad regex) the previous rules of that file stay in force and the Error says why.
  // A changed rules file (a .gitignore created or removed too) must be passed here, or the
  // cached rules of its directory stay as they were.
  virtual Result<void> reload(std::string_view rel_path) = 0;

  // The rules files a watcher of the root cannot see change through the tree: the
  // repository's info/exclude (inside .git/, which the defaults ignore, or outside the
  // root altogether) and the global excludes file; absolute paths, whether they exist yet
  // or not. Empty with vcs_ignore off. A watcher watches their directories itself and
  // passes a change to reload_file(). Lets a `.git/info/exclude` edit apply live.
  virtual std::vector<std::filesystem::path> external_rules_files() const { return {}; }
  // Re-reads `absolute_path` (one of external_rules_files()) after it was created, changed
  // or removed; other paths are left alone. Gitignore syntax cannot be invalid, so this
  // only fails for an unreadable file (the file's rules are then empty, as git reads it).
  virtual Result<void> reload_file(const std::filesystem::path& absolute_path) {
    (void)absolute_path;
    return {};
  }

  // Problems met after open() while reading rules files lazily (an invalid .reloadignore
  // expression in a subdirectory, an unreadable .gitignore), oldest first, each once. The
  // valid lines of such a file still apply. A watcher prints them as warnings.
  std::vector<Error> take_errors();
  // The same, each with the rules file it is about — as its message names it: relative to
  // the root when under it, else absolute — so that a watcher can tell it apart from the
  // same file's later reload() and report each file's problem once.
  struct FileError {
    std::string file;
    Error error;
  };
  virtual std::vector<FileError> take_file_errors() = 0;

  virtual const std::filesystem::path& root() const = 0;
};

}  // namespace relive::ignore
