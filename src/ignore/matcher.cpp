// The Matcher: every ignore source of one root, layered as relive/ignore.hpp describes.
//
// Data layout, chosen for the watcher's initial scan (one call per entry of a big tree):
//   * A DirNode exists only for a directory that has (or had) a rules file. Nodes form a
//     chain to the nearest ancestor node, so a decision walks only directories that have
//     rules, deepest first, exactly git's precedence.
//   * nearest_by_dir_ maps every directory met so far to its nearest node (or none), so a
//     directory's rules files are opened once. The last lookup is kept aside, because a
//     scan asks about the entries of one directory in a row.
//   * Matching a path never allocates: the top-relative path and the "dir/" form for
//     regular expressions are built in reused buffers.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <unordered_map>

#include "git_context.hpp"
#include "relive/ignore.hpp"
#include "rules.hpp"

namespace relive::ignore {
namespace fs = std::filesystem;
using detail::Rule;
using detail::RuleFile;

const std::vector<std::string>& default_patterns() {
  // Things no one wants to trigger a restart: other tools' metadata directories and the
  // temporary/backup files editors write around a save, and the dependency and tool-cache
  // directories of the common toolchains (installed packages are not the project's
  // sources, and an install writes thousands of files). Deliberately NOT here: *.tmp,
  // *.log or build/ (real projects watch such files; .gitignore is the place for them).
  // A `!node_modules/` in a .gitignore or -i brings one back (these rank lowest).
  static const std::vector<std::string> patterns = {
      ".git/", ".hg/", ".svn/", ".bzr/", "_darcs/", ".jj/", ".pijul/",  // VCS metadata
      "__pycache__/", "*.pyc", "*.pyo",                                   // Python bytecode
      "*.swp", "*.swo", "*.swx", "4913",                                  // vim swap files, probe
      "*~",                                                               // backups (vim, emacs, nano)
      ".#*", "\\#*#",                                                     // emacs lock, auto-save
      "*___jb_tmp___", "*___jb_old___",                                   // JetBrains safe write
      "sed??????",                                                        // sed -i temp file
      ".*.kate-swp", ".goutputstream-*",                                  // Kate, GNOME (gedit)
      ".DS_Store",                                                        // macOS Finder
      "node_modules/",                                                    // npm, yarn, pnpm
      ".venv/", "venv/", ".tox/", ".mypy_cache/", ".pytest_cache/",      // Python tools
      "target/",                                                          // Cargo, Maven
  };
  return patterns;
}

namespace {

// Heterogeneous lookup, so a std::string_view finds a std::string key without allocating.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
struct DirNode {
  std::string top_dir;   // relative to the work-tree top, "" for the top itself
  size_t skip = 0;       // length of "top_dir/": strip it to get a path relative to this dir
  RuleFile gitignore;
  RuleFile reloadignore;
  const DirNode* parent = nullptr;  // nearest ancestor that has a node
};
using DirMap = std::unordered_map<std::string, const DirNode*, StringHash, std::equal_to<>>;


enum class ReadStatus { Ok, Absent, Failed };

ReadStatus read_whole_file(const fs::path& path, bool follow_symlinks, std::string& out, std::string& error) {
  out.clear();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (follow_symlinks ? 0 : O_NOFOLLOW));
  if (fd < 0) {
    // git does not follow an in-tree .gitignore that is a symlink: it is not a rules file.
    if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) return ReadStatus::Absent;
    error = errno_message(errno, "cannot read " + path.string());
    return ReadStatus::Failed;
  }
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = errno_message(errno, "cannot read " + path.string());
      ::close(fd);
      return ReadStatus::Failed;
    }
    break;
  }
  ::close(fd);
  return ReadStatus::Ok;
}

std::string_view basename_of(std::string_view rel) {
  size_t slash = rel.rfind('/');
  return slash == std::string_view::npos ? rel : rel.substr(slash + 1);
}

std::string_view dirname_of(std::string_view rel) {
  size_t slash = rel.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : rel.substr(0, slash);
}

class MatcherImpl final : public Matcher {
 public:
  MatcherImpl(fs::path root, fs::path io_root, Options options)
      : root_(std::move(root)), io_root_(std::move(io_root)), options_(std::move(options)) {}

  Result<void> init();

  bool ignored(std::string_view rel, bool is_dir) override {
    const Rule* r = decide(rel, is_dir);
    return r && !r->negative;
  }
  bool ignored_entry(std::string_view rel, bool is_dir) override {
    const Rule* r = decide_entry(rel, is_dir);
    return r && !r->negative;
  }
  Decision explain(std::string_view rel, bool is_dir) override {
    Decision d;
    if (const Rule* r = decide(rel, is_dir)) {
      d.matched = true;
      d.ignored = !r->negative;
      d.source = r->file->source;
      d.line = r->line;
      d.pattern = r->text;
    }
    return d;
  }
  bool is_rules_file(std::string_view rel) const override;
  Result<void> reload(std::string_view rel) override;
  std::vector<fs::path> external_rules_files() const override;
  Result<void> reload_file(const fs::path& absolute_path) override;
  std::vector<FileError> take_file_errors() override { return std::exchange(errors_, {}); }
  const fs::path& root() const override { return root_; }

 private:
  const Rule* decide(std::string_view rel, bool is_dir);
  const Rule* decide_entry(std::string_view rel, bool is_dir);
  const DirNode* nearest_for(std::string_view dir);
  const DirNode* build_nearest(std::string_view dir);
  DirNode* node_for_top_dir(const std::string& top_dir);
  void load_rules_file(RuleFile& file, const fs::path& path, bool gitignore_syntax, bool follow_symlinks);
  std::string source_name(const fs::path& absolute) const;
  std::string relative_to_root(const fs::path& absolute) const;  // "" when not under the root
  std::string to_top_dir(std::string_view root_relative_dir) const;
  static const Rule* last_match(const RuleFile& file, std::string_view rel, std::string_view base, bool is_dir,
                                std::string& scratch) {
    return file.rules.empty() ? nullptr : file.last_match(rel, base, is_dir, scratch);
  }

  fs::path root_;       // as given
  fs::path io_root_;    // canonical, for reading files
  Options options_;
  fs::path top_;        // work-tree top, or io_root_ when not in a work tree
  std::string prefix_;  // root relative to top_, with a trailing '/'; "" when they are equal
  fs::path info_exclude_path_, global_path_;
  std::string info_exclude_rel_, global_rel_;  // root-relative, when under the root

  RuleFile command_line_, defaults_, info_exclude_, global_;
  std::vector<std::unique_ptr<DirNode>> nodes_;
  std::unordered_map<std::string, DirNode*, StringHash, std::equal_to<>> node_by_top_dir_;
  const DirNode* above_root_ = nullptr;  // nearest node strictly above the root
  DirMap nearest_by_dir_;                // root-relative directory → nearest node (or null)

  std::string last_dir_;
  const DirNode* last_nearest_ = nullptr;
  bool last_valid_ = false;
  std::string full_path_buf_, regex_buf_, read_buf_;
  std::vector<FileError> errors_;  // the Error of each, with the file it is about
};

std::string MatcherImpl::relative_to_root(const fs::path& absolute) const {
  std::string a = absolute.lexically_normal().string(), r = io_root_.string();
  if (a.size() > r.size() && a.compare(0, r.size(), r) == 0 && a[r.size()] == '/') return a.substr(r.size() + 1);
  return {};
}

std::string MatcherImpl::source_name(const fs::path& absolute) const {
  std::string rel = relative_to_root(absolute);
  return rel.empty() ? absolute.lexically_normal().string() : rel;
}

std::string MatcherImpl::to_top_dir(std::string_view dir) const {
  if (prefix_.empty()) return std::string(dir);
  if (dir.empty()) return prefix_.substr(0, prefix_.size() - 1);
  return prefix_ + std::string(dir);
}

void MatcherImpl::load_rules_file(RuleFile& file, const fs::path& path, bool gitignore_syntax, bool follow_symlinks) {
  std::string error;
  file.source = source_name(path);
  file.set_rules({});
  file.present = false;
  switch (read_whole_file(path, follow_symlinks, read_buf_, error)) {
    case ReadStatus::Absent:
      return;
    case ReadStatus::Failed:
      errors_.push_back({file.source, Error{std::move(error)}});
      return;
    case ReadStatus::Ok:
      break;
  }
  file.present = true;
  if (gitignore_syntax) {
    file.set_rules(detail::parse_gitignore(read_buf_, &file));
  } else {
    file.set_rules(detail::parse_reloadignore(read_buf_, &file, &error));
    if (!error.empty()) errors_.push_back({file.source, Error{std::move(error), ErrorKind::InvalidInput}});
  }
}

Result<void> MatcherImpl::init() {
  top_ = io_root_;
  detail::GitContext git;
  if (options_.vcs_ignore) {
    git = detail::discover_git(io_root_);
    if (!git.top.empty()) {
      top_ = git.top;
      std::string rel = io_root_.lexically_relative(top_).generic_string();
      if (!rel.empty() && rel != ".") prefix_ = rel + "/";
    }
    global_path_ = options_.excludes_file.empty() ? detail::global_excludes_file(git, top_) : options_.excludes_file;
    if (!global_path_.empty()) {
      load_rules_file(global_, global_path_, true, true);
      global_path_ = fs::absolute(global_path_).lexically_normal();
      global_rel_ = relative_to_root(global_path_);
    }
    if (!git.info_exclude.empty()) {
      info_exclude_path_ = git.info_exclude;
      load_rules_file(info_exclude_, info_exclude_path_, true, true);
      info_exclude_rel_ = relative_to_root(info_exclude_path_);
    }
    // .gitignore files between the work-tree top and the root apply too (git reads them).
    if (!prefix_.empty()) {
      std::vector<std::string> above_root = {""};
      for (size_t pos = prefix_.find('/'); pos + 1 < prefix_.size(); pos = prefix_.find('/', pos + 1)) {
        above_root.push_back(prefix_.substr(0, pos));
      }
      for (const auto& dir : above_root) {
        if (DirNode* node = node_for_top_dir(dir)) {
          node->parent = above_root_;
          above_root_ = node;
        }
      }
    }
  }
  (void)nearest_for("");  // loads the root's own rules files
  last_valid_ = false;

  defaults_.source = "<default>";
  if (options_.default_ignores) {
    std::vector<Rule> rules;
    int line = 0;
    for (const auto& p : default_patterns()) detail::add_gitignore_pattern(detail::trim_trailing_spaces(p), ++line, &defaults_, rules);
    defaults_.set_rules(std::move(rules));
  }
  command_line_.source = "<command line>";
  std::vector<Rule> globs;
  int line = 0;
  for (const auto& p : options_.globs) detail::add_gitignore_pattern(detail::trim_trailing_spaces(p), ++line, &command_line_, globs);
  command_line_.set_rules(std::move(globs));

  if (!errors_.empty()) return errors_.front().error;
  return {};
}

// The node of a directory (relative to the top) with its rules files read, or null when it
// has none. Reuses a node created earlier (by reload()).
DirNode* MatcherImpl::node_for_top_dir(const std::string& top_dir) {
  if (auto it = node_by_top_dir_.find(top_dir); it != node_by_top_dir_.end()) return it->second;
  const fs::path dir = top_dir.empty() ? top_ : top_ / top_dir;
  auto node = std::make_unique<DirNode>();
  if (options_.vcs_ignore) load_rules_file(node->gitignore, dir / ".gitignore", true, false);
  // .reloadignore files are read from the root down only.
  const bool at_or_below_root = prefix_.empty() || (top_dir.size() + 1 >= prefix_.size() &&
                                                    (top_dir + "/").compare(0, prefix_.size(), prefix_) == 0);
  if (options_.reloadignore && at_or_below_root) load_rules_file(node->reloadignore, dir / ".reloadignore", false, true);
  if (!node->gitignore.present && !node->reloadignore.present) return nullptr;
  node->top_dir = top_dir;
  node->skip = top_dir.empty() ? 0 : top_dir.size() + 1;
  DirNode* raw = node.get();
  nodes_.push_back(std::move(node));
  node_by_top_dir_.emplace(top_dir, raw);
  return raw;
}

const DirNode* MatcherImpl::nearest_for(std::string_view dir) {
  if (last_valid_ && dir == last_dir_) return last_nearest_;
  auto it = nearest_by_dir_.find(dir);
  const DirNode* nearest = it != nearest_by_dir_.end() ? it->second : build_nearest(dir);
  last_dir_.assign(dir);
  last_nearest_ = nearest;
  last_valid_ = true;
  return nearest;
}

const DirNode* MatcherImpl::build_nearest(std::string_view dir) {
  const DirNode* parent_nearest = above_root_;
  if (!dir.empty()) {
    std::string_view parent = dirname_of(dir);
    auto it = nearest_by_dir_.find(parent);
    parent_nearest = it != nearest_by_dir_.end() ? it->second : build_nearest(parent);
  }
  // Bound the cache: a long-running watch over churning directories must not grow forever.
  if (nearest_by_dir_.size() >= (1u << 20)) {
    nearest_by_dir_.clear();
    last_valid_ = false;
  }
  DirNode* node = node_for_top_dir(to_top_dir(dir));
  const DirNode* nearest = parent_nearest;
  if (node) {
    node->parent = parent_nearest;
    nearest = node;
  }
  nearest_by_dir_.emplace(std::string(dir), nearest);
  return nearest;
}

const Rule* MatcherImpl::decide_entry(std::string_view rel, bool is_dir) {
  if (rel.empty()) return nullptr;  // the root itself is never ignored
  const size_t slash = rel.rfind('/');
  const std::string_view base = slash == std::string_view::npos ? rel : rel.substr(slash + 1);
  const DirNode* nearest = nearest_for(slash == std::string_view::npos ? std::string_view() : rel.substr(0, slash));
  std::string_view full = rel;  // relative to the work-tree top
  if (!prefix_.empty()) {
    full_path_buf_.assign(prefix_);
    full_path_buf_.append(rel);
    full = full_path_buf_;
  }
  if (const Rule* r = last_match(command_line_, rel, base, is_dir, regex_buf_)) return r;
  for (const DirNode* n = nearest; n; n = n->parent) {
    if (n->reloadignore.rules.empty()) continue;
    if (const Rule* r = last_match(n->reloadignore, full.substr(n->skip), base, is_dir, regex_buf_)) return r;
  }
  for (const DirNode* n = nearest; n; n = n->parent) {
    if (n->gitignore.rules.empty()) continue;
    if (const Rule* r = last_match(n->gitignore, full.substr(n->skip), base, is_dir, regex_buf_)) return r;
  }
  if (const Rule* r = last_match(info_exclude_, full, base, is_dir, regex_buf_)) return r;
  if (const Rule* r = last_match(global_, full, base, is_dir, regex_buf_)) return r;
  return last_match(defaults_, rel, base, is_dir, regex_buf_);
}

const Rule* MatcherImpl::decide(std::string_view rel, bool is_dir) {
  // As git: each ancestor directory is examined (as a directory) with the rules above it;
  // the first excluded one decides for everything beneath it.
  for (size_t slash = rel.find('/'); slash != std::string_view::npos; slash = rel.find('/', slash + 1)) {
    const Rule* r = decide_entry(rel.substr(0, slash), true);
    if (r && !r->negative) return r;
  }
  return decide_entry(rel, is_dir);
}

bool MatcherImpl::is_rules_file(std::string_view rel) const {
  if (rel.empty()) return false;
  const std::string_view base = basename_of(rel);
  if (options_.vcs_ignore && base == ".gitignore") return true;
  if (options_.reloadignore && base == ".reloadignore") return true;
  return (!info_exclude_rel_.empty() && rel == info_exclude_rel_) || (!global_rel_.empty() && rel == global_rel_);
}

std::vector<fs::path> MatcherImpl::external_rules_files() const {
  std::vector<fs::path> files;
  if (!info_exclude_path_.empty()) files.push_back(fs::absolute(info_exclude_path_).lexically_normal());
  if (!global_path_.empty()) files.push_back(global_path_);
  return files;
}

Result<void> MatcherImpl::reload_file(const fs::path& absolute_path) {
  const size_t errors_before = errors_.size();
  const fs::path path = absolute_path.lexically_normal();
  if (!info_exclude_path_.empty() && path == fs::absolute(info_exclude_path_).lexically_normal()) {
    load_rules_file(info_exclude_, info_exclude_path_, true, true);
  } else if (!global_path_.empty() && path == global_path_) {
    load_rules_file(global_, global_path_, true, true);
  } else {
    return {};
  }
  if (errors_.size() > errors_before) {
    Error e = errors_[errors_before].error;
    errors_.resize(errors_before);
    return e;
  }
  return {};
}

Result<void> MatcherImpl::reload(std::string_view rel) {
  if (!is_rules_file(rel)) return {};
  if (!info_exclude_rel_.empty() && rel == info_exclude_rel_) {
    load_rules_file(info_exclude_, info_exclude_path_, true, true);
    return {};
  }
  if (!global_rel_.empty() && rel == global_rel_) {
    load_rules_file(global_, global_path_, true, true);
    return {};
  }
  const bool gitignore = basename_of(rel) == ".gitignore";
  const std::string_view dir = dirname_of(rel);
  const std::string top_dir = to_top_dir(dir);

  // Parse into a scratch file first: a broken .reloadignore must leave the old rules.
  RuleFile fresh;
  const size_t errors_before = errors_.size();
  load_rules_file(fresh, io_root_ / rel, gitignore, !gitignore);
  if (errors_.size() > errors_before) {
    Error e = errors_[errors_before].error;
    errors_.resize(errors_before);
    return e;
  }

  DirNode* node = nullptr;
  if (auto it = node_by_top_dir_.find(top_dir); it != node_by_top_dir_.end()) {
    node = it->second;
  } else if (!fresh.present) {
    return {};  // no rules there before, none now: no node (a churning tree would grow them)
  } else {
    auto created = std::make_unique<DirNode>();
    created->top_dir = top_dir;
    created->skip = top_dir.empty() ? 0 : top_dir.size() + 1;
    node = created.get();
    nodes_.push_back(std::move(created));
    node_by_top_dir_.emplace(top_dir, node);
    // Directories at and below `dir` cached a chain without this node: forget them so the
    // next decision rebuilds their chain (their own rules files are kept in their nodes).
    for (auto cached = nearest_by_dir_.begin(); cached != nearest_by_dir_.end();) {
      const std::string& k = cached->first;
      bool under = dir.empty() || k == dir || (k.size() > dir.size() && k.compare(0, dir.size(), dir) == 0 && k[dir.size()] == '/');
      cached = under ? nearest_by_dir_.erase(cached) : std::next(cached);
    }
    last_valid_ = false;
  }
  RuleFile& target = gitignore ? node->gitignore : node->reloadignore;
  target.present = fresh.present;
  target.source = fresh.source;
  target.set_rules(std::move(fresh.rules));
  return {};
}

}  // namespace

Result<std::unique_ptr<Matcher>> Matcher::open(const fs::path& root, const Options& options) {
  std::error_code ec;
  fs::path canonical = fs::canonical(root, ec);
  if (ec) return Error{root.string() + ": " + ec.message()};
  if (!fs::is_directory(canonical, ec)) return Error{root.string() + ": not a directory"};
  auto m = std::make_unique<MatcherImpl>(root, canonical, options);
  if (auto r = m->init(); !r) return r.error();
  return std::unique_ptr<Matcher>(std::move(m));
}

std::vector<Error> Matcher::take_errors() {
  std::vector<Error> out;
  for (auto& e : take_file_errors()) out.push_back(std::move(e.error));
  return out;
}

}  // namespace relive::ignore
