// The proof that relive::ignore decides as git does: random trees with random rules files
// (nested .gitignore, negations, "**" everywhere, escapes, trailing spaces, classes,
// anchoring, directory-only patterns, comments, CRLF), then every path in them is put to
// `git check-ignore -v -n --no-index` (one git call per tree) and to Matcher::explain().
// Both the decision and the rule that made it (source, line, pattern) must agree.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "relive/ignore.hpp"
#include "test_support.hpp"

namespace relive::ignore {
namespace {
using namespace relive::test;

// Names chosen so patterns hit often, including ones that need escaping in gitignore.
const std::vector<std::string> kNames = {
    "a", "b", "ab", "abc", "foo", "bar", "foo.c", "bar.o", "x.log", "build", "doc", "lib", "Ab", "a.b",
    "#x", "!y", "a b", "sp ", "[ab]", "q?", "st*r", "back\\sl", "-d", ".hid", "z~", "foo.cc", "ba", "aa",
};

struct Tree {
  std::vector<std::string> dirs;   // relative to the tree's root, parents first
  std::vector<std::string> files;
  std::map<std::string, std::string> rules;  // relative path of a rules file → content
};

class Generator {
 public:
  explicit Generator(unsigned seed) : rng_(seed) {}

  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  const std::string& name() { return kNames[pick(kNames.size())]; }

  Tree tree() {
    Tree t;
    fill(t, "", 0);
    return t;
  }

  // A name turned into a glob that may or may not still match it.
  std::string globify(const std::string& n) {
    std::string out;
    for (size_t i = 0; i < n.size(); ++i) {
      char c = n[i];
      double r = std::uniform_real_distribution<double>(0, 1)(rng_);
      if (r < 0.06) {
        out += '?';
      } else if (r < 0.12) {
        out += '*';
        if (chance(0.5)) continue;  // '*' replacing the character
        out += c;
      } else if (r < 0.16) {
        static const char* classes[] = {"[abc]", "[a-c]", "[!a]", "[^b]", "[[:alpha:]]", "[[:digit:][:punct:]]",
                                        "[]a]", "[a-]", "[\\]]", "[x-z]", "[.]", "[[:space:]]"};
        out += classes[pick(std::size(classes))];
      } else if (r < 0.20 || c == '*' || c == '?' || c == '[' || c == '\\' || (i == 0 && (c == '#' || c == '!'))) {
        if (chance(0.85) || r < 0.20) out += '\\';
        out += c;
      } else {
        out += c;
      }
    }
    return out;
  }

  std::string segment() {
    double r = std::uniform_real_distribution<double>(0, 1)(rng_);
    if (r < 0.10) return "*";
    if (r < 0.20) return "**";
    if (r < 0.55) return name_escaped();
    return globify(name());
  }

  std::string name_escaped() {
    std::string out;
    const std::string& n = name();
    for (size_t i = 0; i < n.size(); ++i) {
      char c = n[i];
      if (c == '*' || c == '?' || c == '[' || c == '\\' || (i == 0 && (c == '#' || c == '!'))) {
        if (chance(0.9)) out += '\\';
      }
      out += c;
    }
    return out;
  }

  std::string pattern() {
    double r = std::uniform_real_distribution<double>(0, 1)(rng_);
    if (r < 0.04) return "# a comment";
    if (r < 0.06) return "";
    if (r < 0.08) {
      static const char* odd[] = {"foo//", "a/**b", "**a", "[", "[!]", "\\", "foo\\", "!", "/", "**", "*", "/*",
                                  "**/", "a/**/", "!*/", "\\ ", "  ", "[[:nope:]]", "[a", "a**/b", "*/**/x.log"};
      return odd[pick(std::size(odd))];
    }
    std::string p;
    if (chance(0.25)) p += '!';
    if (chance(0.25)) p += '/';
    if (chance(0.12)) p += "**/";
    size_t segments = 1 + pick(chance(0.6) ? 1 : 3);
    for (size_t i = 0; i < segments; ++i) {
      if (i) p += '/';
      p += segment();
    }
    if (chance(0.08)) p += "/**";
    if (chance(0.25)) p += '/';
    if (chance(0.08)) p += "   ";
    if (chance(0.04)) p += "\\ ";
    return p;
  }

  std::string rules_file() {
    std::string content;
    size_t lines = 1 + pick(7);
    for (size_t i = 0; i < lines; ++i) content += pattern() + (chance(0.05) ? "\r\n" : "\n");
    if (chance(0.1) && !content.empty()) content.pop_back();  // no final newline
    return content;
  }

 private:
  void fill(Tree& t, const std::string& dir, int depth) {
    std::set<std::string> used;
    size_t entries = 2 + pick(depth == 0 ? 6 : 4);
    for (size_t i = 0; i < entries; ++i) {
      const std::string& n = name();
      if (!used.insert(n).second) continue;
      std::string path = dir.empty() ? n : dir + "/" + n;
      if (depth < 3 && chance(0.45)) {
        t.dirs.push_back(path);
        fill(t, path, depth + 1);
      } else {
        t.files.push_back(path);
      }
    }
    if (depth == 0 || chance(0.45)) t.rules[dir.empty() ? ".gitignore" : dir + "/.gitignore"] = rules_file();
  }

  std::mt19937 rng_;
};

struct GitAnswer {
  bool matched = false;
  bool ignored = false;
  std::string source, pattern;
  int line = 0;
};

// Runs `git check-ignore -z -v -n --no-index --stdin` in `cwd` (a fresh repository made
// under `repo`) for `paths`; isolated from the user's and system's git config.
std::vector<GitAnswer> ask_git(const TempDir& sandbox, const fs::path& cwd, const std::vector<std::string>& paths,
                               const fs::path& excludes_file) {
  std::string input;
  for (auto& p : paths) input += p + '\0';
  write_file(sandbox / "in", input);
  std::string script = "cd '" + cwd.string() + "' && exec git -c core.excludesFile='" + excludes_file.string() +
                       "' check-ignore -z -v -n --no-index --stdin <'" + (sandbox / "in").string() + "' >'" +
                       (sandbox / "out").string() + "' 2>'" + (sandbox / "err").string() + "'";
  Process::Options options;
  options.env = {"HOME=" + (sandbox / "home").string(), "XDG_CONFIG_HOME=" + (sandbox / "xdg").string(),
                 "GIT_CONFIG_NOSYSTEM=1", "GIT_CEILING_DIRECTORIES=" + sandbox.path().string(),
                 "LC_ALL=C"};
  Process git({"/bin/sh", "-c", script}, options);
  int status = git.wait(60s);
  std::string err = read_file(sandbox / "err");
  if (status != 0 && status != 1) ADD_FAILURE() << "git failed (" << status << "): " << err << git.output();
  std::string out = read_file(sandbox / "out");
  std::vector<std::string> fields;
  size_t start = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == '\0') {
      fields.push_back(out.substr(start, i - start));
      start = i + 1;
    }
  }
  std::vector<GitAnswer> answers;
  for (size_t i = 0; i + 3 < fields.size(); i += 4) {
    GitAnswer a;
    a.source = fields[i];
    a.matched = !a.source.empty();
    a.line = a.matched ? std::stoi(fields[i + 1]) : 0;
    a.pattern = fields[i + 2];
    a.ignored = a.matched && (a.pattern.empty() || a.pattern[0] != '!');
    answers.push_back(a);
  }
  if (answers.size() != paths.size()) ADD_FAILURE() << "git answered " << answers.size() << " of " << paths.size() << " paths: " << err;
  return answers;
}

std::string show(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') out += "\\n\n    ";
    else if (c == '\r') out += "\\r";
    else out += c;
  }
  return out;
}

struct Variant {
  unsigned trees_per_repo = 1;  // >1: trees side by side in t0/, t1/... of one repository
  bool top_rules = false;       // a .gitignore at the repository's top, above the trees
  bool info_exclude = false;    // a random .git/info/exclude
  bool global_file = false;     // a random global excludes file
};

// Builds `v.trees_per_repo` random trees in the repository `sandbox/repo` (emptied first,
// except .git), asks git about every path of all of them in one call, then relive (one
// Matcher per tree root). Returns the number of path cases.
size_t compare_batch(const TempDir& sandbox, unsigned seed, const Variant& v, size_t* differences) {
  Generator gen(seed);
  const fs::path repo = sandbox / "repo";
  for (auto& entry : fs::directory_iterator(repo)) {
    if (entry.path().filename() != ".git") fs::remove_all(entry.path());
  }
  std::map<std::string, std::string> shared_rules;
  if (v.top_rules) {
    // The tree roots themselves must stay included: relive never ignores its root.
    shared_rules[".gitignore"] = gen.rules_file() + "\n!/t*/\n";
    write_file(repo / ".gitignore", shared_rules[".gitignore"]);
  }
  const fs::path excludes = sandbox / "global-ignore";
  fs::remove(excludes);
  if (v.global_file) {
    shared_rules["(global)"] = gen.rules_file();
    write_file(excludes, shared_rules["(global)"]);
  }
  std::string info_exclude = v.info_exclude ? gen.rules_file() : "";
  if (v.info_exclude) shared_rules[".git/info/exclude"] = info_exclude;
  write_file(repo / ".git" / "info" / "exclude", info_exclude);

  struct TreeCase {
    std::string prefix;  // the tree root relative to the repository, with '/', or ""
    Tree tree;
    std::vector<std::string> paths;  // relative to the tree root
  };
  std::vector<TreeCase> cases;
  std::vector<std::string> git_paths;
  for (unsigned i = 0; i < v.trees_per_repo; ++i) {
    TreeCase c;
    c.prefix = v.trees_per_repo == 1 ? "" : "t" + std::to_string(i) + "/";
    c.tree = gen.tree();
    const fs::path root = repo / c.prefix;
    for (auto& d : c.tree.dirs) fs::create_directories(root / d);
    for (auto& f : c.tree.files) write_file(root / f, "x");
    for (auto& [path, content] : c.tree.rules) write_file(root / path, content);
    c.paths = c.tree.dirs;
    c.paths.insert(c.paths.end(), c.tree.files.begin(), c.tree.files.end());
    for (auto& [path, content] : c.tree.rules) c.paths.push_back(path);
    for (int k = 0; k < 3; ++k) c.paths.push_back(gen.name() + "/" + gen.name());  // absent paths
    std::sort(c.paths.begin(), c.paths.end());
    c.paths.erase(std::unique(c.paths.begin(), c.paths.end()), c.paths.end());
    for (auto& p : c.paths) git_paths.push_back(c.prefix + p);
    cases.push_back(std::move(c));
  }

  std::vector<GitAnswer> git = ask_git(sandbox, repo, git_paths, excludes);
  if (git.size() != git_paths.size()) {
    ++*differences;
    return 0;
  }

  size_t index = 0, total = 0;
  for (auto& c : cases) {
    const fs::path root = repo / c.prefix;
    Options options;
    options.default_ignores = false;
    options.reloadignore = false;
    options.excludes_file = excludes;
    auto m = Matcher::open(root, options);
    EXPECT_TRUE(m) << (m ? "" : m.error().message);
    if (!m) return total;
    size_t local_differences = 0;
    std::ostringstream report;
    for (auto& path : c.paths) {
      const GitAnswer& g = git[index++];
      std::error_code ec;
      const bool is_dir = fs::is_directory(fs::symlink_status(root / path, ec));
      Decision ours = (*m)->explain(path, is_dir);
      // git names sources relative to the repository's top; relive relative to its root
      // (absolute when above it).
      std::string source = ours.source;
      const std::string repo_prefix = repo.string() + "/";
      if (source.rfind(repo_prefix, 0) == 0) source = source.substr(repo_prefix.size());
      else if (!source.empty() && source[0] != '/') source = c.prefix + source;
      bool same = ours.ignored == g.ignored && ours.matched == g.matched;
      if (same && g.matched) same = ours.line == g.line && ours.pattern == g.pattern && source == g.source;
      if (!same) {
        ++local_differences;
        if (*differences + local_differences <= 15) {
          report << "  path '" << c.prefix << path << "'" << (is_dir ? " (dir)" : "") << ": git "
                 << (g.matched ? g.source + ":" + std::to_string(g.line) + ":" + g.pattern : std::string("no match"))
                 << (g.ignored ? " => ignored" : " => not ignored") << "; relive "
                 << (ours.matched ? source + ":" + std::to_string(ours.line) + ":" + ours.pattern : std::string("no match"))
                 << (ours.ignored ? " => ignored" : " => not ignored") << "\n";
        }
      }
    }
    total += c.paths.size();
    if (local_differences) {
      std::ostringstream files;
      for (auto& [path, content] : c.tree.rules) files << "  " << c.prefix << path << ":\n    " << show(content) << "\n";
      for (auto& [path, content] : shared_rules) files << "  " << path << ":\n    " << show(content) << "\n";
      ADD_FAILURE() << "seed " << seed << ", tree '" << c.prefix << "': " << local_differences
                    << " differences with git\n" << report.str() << "rules files:\n" << files.str();
    }
    *differences += local_differences;
  }
  return total;
}

size_t run_seeds(unsigned first_seed, unsigned repos, const Variant& v) {
  TempDir sandbox;
  // One repository for all trees: `git init` is the slowest step by far.
  Process::Options init_options;
  init_options.env = {"HOME=" + (sandbox / "home").string(), "GIT_CONFIG_NOSYSTEM=1"};
  Process init({"git", "init", "-q", "--template=", (sandbox / "repo").string()}, init_options);
  EXPECT_EQ(init.wait(60s), 0) << init.output();
  size_t cases = 0, differences = 0;
  for (unsigned s = first_seed; s < first_seed + repos; ++s) cases += compare_batch(sandbox, s, v, &differences);
  const unsigned trees = repos * v.trees_per_repo;
  std::printf("[ differential ] %u trees, %zu path cases, %zu differences\n", trees, cases, differences);
  EXPECT_EQ(differences, 0u);
  EXPECT_GT(cases, trees * 10u);  // the generator must not degenerate into empty trees
  return cases;
}

// Each tree alone in its repository: rules at the top, sources named as git names them.
TEST(GitDifferential, TreeAtTheTopOfItsRepository) { run_seeds(1000, 20, Variant{}); }

// Many trees per git call; each Matcher's root is a subdirectory of the repository.
TEST(GitDifferential, ManyTreesInSubdirectories) { run_seeds(2000, 6, Variant{.trees_per_repo = 12}); }

// Plus rules above the roots, .git/info/exclude and a global excludes file.
TEST(GitDifferential, WithTopRulesInfoExcludeAndGlobalExcludesFile) {
  run_seeds(5000, 12, Variant{.trees_per_repo = 4, .top_rules = true, .info_exclude = true, .global_file = true});
}

TEST(GitDifferential, InfoExcludeAndGlobalFileAnchoredAtTheRoot) {
  run_seeds(7000, 10, Variant{.info_exclude = true, .global_file = true});
}

}  // namespace
}  // namespace relive::ignore
