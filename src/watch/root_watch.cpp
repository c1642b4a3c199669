#include "root_watch.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>

#include "poll_backend.hpp"

namespace relive::watch::internal {

namespace fs = std::filesystem;

namespace {

bool is_directory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool exists_nofollow(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

// `path` relative to `base` if it lies inside it ("" for base itself).
bool relative_inside(const fs::path& path, const std::string& base, std::string& out) {
  fs::path rel = path.lexically_relative(base);
  if (rel.empty()) return false;
  std::string s = rel.generic_string();
  if (s == ".") s.clear();
  if (s == ".." || s.starts_with("../")) return false;
  out = std::move(s);
  return true;
}

std::string_view parent_of(std::string_view rel) {
  auto slash = rel.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : rel.substr(0, slash);
}

constexpr uint32_t kVcsMask = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR | IN_MASK_ADD;
// A rules file's directory: whatever can leave the file with new contents, or remove it.
constexpr uint32_t kRulesDirMask = IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR |
                                   IN_MASK_ADD;
constexpr uint32_t kSentinelMask = IN_CREATE | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_MASK_ADD;

}  // namespace

RootWatch::RootWatch(uint32_t index, fs::path given, const ignore::Options& ignore_options, WatchContext& ctx)
    : index_(index), given_(std::move(given)), ignore_options_(ignore_options), ctx_(ctx) {}

RootWatch::~RootWatch() = default;

Result<void> RootWatch::open() {
  std::error_code ec;
  fs::path abs = fs::absolute(given_, ec).lexically_normal();
  if (ec) return Error{"watch root " + given_.string() + ": " + ec.message()};
  std::string abs_str = abs.string();
  while (abs_str.size() > 1 && abs_str.back() == '/') abs_str.pop_back();
  struct stat st;
  if (::stat(abs_str.c_str(), &st) != 0) return Error{errno_message(errno, "watch root " + given_.string())};
  if (S_ISDIR(st.st_mode)) {
    dir_abs_ = abs_str;
  } else {
    fs::path p(abs_str);
    file_name_ = p.filename().string();
    dir_abs_ = p.parent_path().string();
  }
  root_canonical_ = fs::canonical(dir_abs_, ec).string();
  if (ec) root_canonical_ = dir_abs_;
  if (file_name_.empty()) {
    auto matcher = ignore::Matcher::open(dir_abs_, ignore_options_);
    if (!matcher) return matcher.error();
    matcher_ = std::move(*matcher);
  }
  if (!ctx_.force_poll) {
    inotify_ = std::make_unique<InotifyInstance>();
    if (!inotify_->ok()) {
      if (errno == EMFILE) {
        return Error{errno_message(errno, "inotify_init1 (too many inotify instances: see fs.inotify.max_user_instances)")};
      }
      return errno_error("inotify_init1");
    }
  }
  find_vcs_dir();
  watch_external_rules(/*reload_now=*/false);
  root_present_ = true;
  scan(&tree_.root(), "", false);
  if (!root_present_ || (tree_.root().wd < 0 && !tree_.root().polled)) {
    return Error{"watch root " + given_.string() + ": could not be watched (removed while starting?)"};
  }
  return {};
}

std::string RootWatch::abs_of(std::string_view rel) const {
  if (rel.empty()) return dir_abs_;
  std::string out;
  out.reserve(dir_abs_.size() + rel.size() + 1);
  out.append(dir_abs_);
  if (out.back() != '/') out.push_back('/');
  out.append(rel);
  return out;
}

bool RootWatch::ignored(std::string_view rel, bool is_dir) {
  if (!matcher_ || rel.empty()) return false;
  return matcher_->ignored(rel, is_dir);
}

bool RootWatch::reported_path(std::string_view rel, std::string_view& out) const {
  if (file_name_.empty()) {
    out = rel;
    return true;
  }
  if (rel == file_name_) {
    out = {};
    return true;
  }
  return false;
}

void RootWatch::record_created(std::string_view rel, bool is_dir, bool existed_before) {
  std::string_view path;
  if (!reported_path(rel, path)) return;
  ctx_.coalescer.created(index_, path, is_dir, existed_before);
  ++ctx_.recorded;
}

void RootWatch::record_modified(std::string_view rel, bool is_dir) {
  std::string_view path;
  if (!reported_path(rel, path)) return;
  ctx_.coalescer.modified(index_, path, is_dir);
  ++ctx_.recorded;
}

void RootWatch::record_removed(std::string_view rel, bool is_dir) {
  std::string_view path;
  if (!reported_path(rel, path)) return;
  ctx_.coalescer.removed(index_, path, is_dir);
  ++ctx_.recorded;
}

void RootWatch::record_renamed(std::string_view from, std::string_view to, bool is_dir, bool to_existed) {
  if (!file_name_.empty()) {
    record_removed(from, is_dir);
    record_created(to, is_dir, to_existed);
    return;
  }
  ctx_.coalescer.renamed(index_, from, to, is_dir, to_existed);
  ++ctx_.recorded;
}

bool RootWatch::watch_node(Node* node, const std::string& abs, bool is_root) {
  bool poll = ctx_.force_poll || ctx_.out_of_watches;
  if (!poll) {
    int wd = -1;
    if (ctx_.max_watches > 0 && tree_.watched_count() >= ctx_.max_watches && node->wd < 0) {
      errno = ENOSPC;
    } else {
      // The root may be a symlink to a directory; nothing below it is followed.
      wd = inotify_->add_watch(abs, is_root ? (kTreeMask & ~IN_DONT_FOLLOW) : kTreeMask);
    }
    if (wd >= 0) {
      if (node->polled) {
        node->polled = false;
        node->snapshot.reset();
        --polled_nodes_;
      }
      tree_.index_wd(node, wd);
      return true;
    }
    if (errno == ENOENT || errno == ENOTDIR) return false;  // gone meanwhile: its removal is an event of its own
    if (errno != ENOSPC) {
      ctx_.warn(errno_message(errno, "cannot watch " + abs) + "; changes below it will be missed");
      return false;
    }
    ctx_.out_of_watches = true;
  }
  if (!node->polled) {
    node->polled = true;
    ++polled_nodes_;
  }
  if (!node->snapshot) node->snapshot = std::make_unique<PollSnapshot>();
  return take_snapshot(abs, *node->snapshot);
}

void RootWatch::drop_node(Node& node) {
  if (!node.link_target.empty()) std::erase(followed_, node.link_target);
  if (node.wd >= 0 && inotify_) inotify_->remove_watch(node.wd);
  if (node.polled) {
    node.polled = false;
    --polled_nodes_;
  }
}

std::string RootWatch::dir_of(const Node* node, const std::string& rel) const {
  return node->link_target.empty() ? abs_of(rel) : node->link_target;
}

std::string RootWatch::follow_target(const std::string& rel) const {
  if (!ctx_.follow_symlinks || ctx_.force_poll || !inotify_ || !file_name_.empty()) return "";
  std::error_code ec;
  fs::path target = fs::canonical(abs_of(rel), ec);
  if (ec || !fs::is_directory(target, ec)) return "";
  auto overlaps = [](const std::string& a, const std::string& b) {
    auto inside = [](const std::string& x, const std::string& base) {
      return x == base || (x.size() > base.size() && x.starts_with(base) && (base == "/" || x[base.size()] == '/'));
    };
    return inside(a, b) || inside(b, a);
  };
  std::string t = target.string();
  if (overlaps(t, root_canonical_)) return "";  // inside the tree (watched already) or around it (a loop)
  for (const auto& f : followed_) {
    if (overlaps(t, f)) return "";
  }
  return t;
}

Node* RootWatch::add_followed(Node* parent, const std::string& name, std::string target) {
  Node* child = tree_.add_child(parent, name);
  followed_.push_back(target);
  child->link_target = std::move(target);
  return child;
}

void RootWatch::scan(Node* node, const std::string& rel, bool report) {
  std::string abs = dir_of(node, rel);
  if (!watch_node(node, abs, node == &tree_.root())) {
    if (node == &tree_.root()) root_present_ = false;
    return;
  }
  std::vector<DirEntry> entries;
  if (node->polled) {
    for (const auto& e : node->snapshot->entries) {
      entries.push_back(DirEntry{e.name, static_cast<unsigned char>(e.is_dir ? DT_DIR : e.is_link ? DT_LNK : DT_REG)});
    }
  } else if (!list_dir(abs, entries)) {
    return;
  }
  node->file_hashes.clear();
  for (const auto& e : entries) {
    std::string child_rel = Tree::join(rel, e.name);
    if (e.type == DT_DIR) {
      if (!file_name_.empty() || ignored(child_rel, true)) continue;
      if (node->child(e.name)) continue;
      Node* child = tree_.add_child(node, e.name);
      if (report) record_created(child_rel, true);
      scan(child, child_rel, report);
    } else {
      if (e.type == DT_LNK && !node->child(e.name) && !ignored(child_rel, true)) {
        if (auto target = follow_target(child_rel); !target.empty()) {
          Node* child = add_followed(node, e.name, std::move(target));
          if (report) record_created(child_rel, true);
          scan(child, child_rel, report);
          continue;
        }
      }
      node->file_hashes.push_back(name_hash(e.name));
      if (e.type == DT_LNK && (file_name_.empty() || e.name == file_name_)) track_link(child_rel);
      if (report && !ignored(child_rel, false)) record_created(child_rel, false);
    }
  }
  std::sort(node->file_hashes.begin(), node->file_hashes.end());
  node->file_hashes.erase(std::unique(node->file_hashes.begin(), node->file_hashes.end()), node->file_hashes.end());
}

void RootWatch::reconcile(Node* node, const std::string& rel) {
  std::string abs = dir_of(node, rel);
  bool is_root = node == &tree_.root();
  if (is_root) links_.clear();
  if (!node->polled || is_root) {
    // Re-adding an existing watch returns the same descriptor; it also restores one whose
    // IN_IGNORED was among the lost events.
    if (!watch_node(node, abs, is_root)) {
      if (is_root) root_gone();
      return;
    }
  }
  std::vector<DirEntry> entries;
  if (!list_dir(abs, entries)) return;
  node->file_hashes.clear();
  std::vector<Node*> seen;
  for (const auto& e : entries) {
    std::string child_rel = Tree::join(rel, e.name);
    if (e.type == DT_DIR && file_name_.empty()) {
      Node* child = node->child(e.name);
      if (ignored(child_rel, true)) {
        if (child) tree_.erase(child, [&](Node& n) { drop_node(n); });
        continue;
      }
      if (child) {
        seen.push_back(child);
        reconcile(child, child_rel);
      } else {
        child = tree_.add_child(node, e.name);
        seen.push_back(child);
        scan(child, child_rel, false);
      }
    } else if (e.type != DT_DIR) {
      if (e.type == DT_LNK && file_name_.empty() && !ignored(child_rel, true)) {
        Node* child = node->child(e.name);
        if (child && !child->link_target.empty()) {
          seen.push_back(child);
          reconcile(child, child_rel);
          continue;
        }
        if (auto target = follow_target(child_rel); !child && !target.empty()) {
          child = add_followed(node, e.name, std::move(target));
          seen.push_back(child);
          scan(child, child_rel, false);
          continue;
        }
      }
      node->file_hashes.push_back(name_hash(e.name));
      if (e.type == DT_LNK && (file_name_.empty() || e.name == file_name_)) track_link(child_rel);
    }
  }
  std::sort(node->file_hashes.begin(), node->file_hashes.end());
  std::vector<Node*> gone;
  for (auto& c : node->children) {
    if (std::find(seen.begin(), seen.end(), c.get()) == seen.end()) gone.push_back(c.get());
  }
  for (Node* c : gone) tree_.erase(c, [&](Node& n) { drop_node(n); });
}

void RootWatch::read_events() {
  if (!inotify_) return;
  events_.clear();
  if (!inotify_->read_events(events_)) return;
  for (const RawEvent& ev : events_) {
    if (ev.mask & IN_Q_OVERFLOW) {
      ctx_.coalescer.mark_rescan("events were lost (inotify queue overflow)");
      ++ctx_.recorded;
      needs_reconcile_ = true;
      continue;
    }
    if (vcs_wd_ >= 0 && ev.wd == vcs_wd_) on_vcs_event(ev);
    on_external_rules_event(ev);  // its directory may also be a node of the tree: go on
    if (sentinel_wd_ >= 0 && ev.wd == sentinel_wd_) {
      if (ev.mask & IN_IGNORED) sentinel_wd_ = -1;
      on_sentinel_event();
      continue;
    }
    Node* node = tree_.by_wd(ev.wd);
    if (!node) continue;
    if (ev.mask & IN_IGNORED) {
      tree_.unindex_wd(node);
      if (node == &tree_.root()) root_gone();
      continue;
    }
    if (ev.name.empty()) {
      if (node == &tree_.root() && (ev.mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT))) root_gone();
      continue;  // other self-events are reported by the parent's watch, with a name
    }
    apply(node, ev.mask, ev.cookie, ev.name);
  }
  if (needs_reconcile_) {
    needs_reconcile_ = false;
    if (root_present_) reconcile(&tree_.root(), "");
  }
}

void RootWatch::apply(Node* node, uint32_t mask, uint32_t cookie, const std::string& name) {
  if (!tree_.attached(node)) return;  // inside a directory moved away, not yet paired
  const bool is_dir = mask & IN_ISDIR;
  const std::string rel = Tree::join(tree_.rel_path(node), name);
  bool existed = false;
  if (!is_dir) {
    if (mask & (IN_CREATE | IN_MOVED_TO)) {
      existed = node->has_file(name);
      node->add_file(name);
    } else if (mask & (IN_DELETE | IN_MOVED_FROM)) {
      node->remove_file(name);
    }
  }
  // Symlinks: a new one is tracked; any change may be a change of what one points through
  // (the ConfigMap ..data swap).
  bool regular_file = false;
  if (!is_dir && (mask & (IN_CREATE | IN_MOVED_TO))) {
    struct stat st;
    if ((file_name_.empty() || name == file_name_) && ::lstat(abs_of(rel).c_str(), &st) == 0) {
      if (S_ISLNK(st.st_mode)) track_link(rel);
      regular_file = S_ISREG(st.st_mode);
    }
  } else if (!links_.empty() && (mask & (IN_DELETE | IN_MOVED_FROM))) {
    untrack_link(rel);
  }
  if (!links_.empty()) notify_link_dependents(rel);
  if (!file_name_.empty() && name != file_name_) return;

  if (matcher_ && matcher_->is_rules_file(rel)) {
    report_rules_reload(rel, matcher_->reload(rel));
    needs_reconcile_ = true;
  }

  // Pairing comes before the ignore check: a rename onto an ignored name (vim's
  // app.py -> app.py~) ends the source's story; its removal is already recorded.
  if (mask & IN_MOVED_TO) {
    auto it = std::find_if(pending_moves_.begin(), pending_moves_.end(),
                           [&](const PendingMove& m) { return m.cookie == cookie; });
    if (it != pending_moves_.end()) {
      PendingMove move = std::move(*it);
      pending_moves_.erase(it);
      if (ignored(rel, is_dir)) {
        drop_detached(move);
        return;
      }
      if (is_dir) {
        Node* old = node->child(name);
        bool existed_dir = old != nullptr;
        if (old) tree_.erase(old, [&](Node& n) { drop_node(n); });
        if (move.node) {
          tree_.attach(node, std::move(move.node), name);
        } else {
          scan(tree_.add_child(node, name), rel, true);
        }
        record_renamed(move.rel, rel, true, existed_dir);
      } else {
        record_renamed(move.rel, rel, false, existed);
        if (writers_.erase(move.rel)) writers_.insert(rel);
      }
      return;
    }
  }
  if (ignored(rel, is_dir)) return;

  if (mask & (IN_CREATE | IN_MOVED_TO)) {
    if (is_dir) {
      if (Node* old = node->child(name)) tree_.erase(old, [&](Node& n) { drop_node(n); });
      record_created(rel, true);
      // Watch first, then list: whatever was created before the watch existed is found by
      // the listing, whatever after by an event; the coalescer makes both one "created".
      scan(tree_.add_child(node, name), rel, true);
    } else {
      record_created(rel, false, existed);
      // Created by open(O_CREAT): being written until IN_CLOSE_WRITE (touch's utimensat
      // and close may come after a context switch).
      if ((mask & IN_CREATE) && regular_file) writers_.insert(rel);
    }
  } else if (mask & IN_MOVED_FROM) {
    record_removed(rel, is_dir);
    PendingMove move{cookie, rel, is_dir, nullptr};
    if (is_dir) {
      if (Node* child = node->child(name)) move.node = tree_.detach(child);
    }
    pending_moves_.push_back(std::move(move));
  } else if (mask & IN_DELETE) {
    if (is_dir) {
      if (Node* child = node->child(name)) tree_.erase(child, [&](Node& n) { drop_node(n); });
    }
    record_removed(rel, is_dir);
    writers_.erase(rel);
  } else if (mask & IN_MODIFY) {
    record_modified(rel, is_dir);
    if (!is_dir) writers_.insert(rel);
  } else if (mask & IN_CLOSE_WRITE) {
    record_modified(rel, is_dir);
    writers_.erase(rel);
  } else if (mask & IN_ATTRIB) {
    record_modified(rel, is_dir);
  }
}

void RootWatch::drop_detached(PendingMove& move) {
  if (move.node) {
    tree_.erase(move.node.get(), [&](Node& n) { drop_node(n); });
    move.node.reset();
  }
}

void RootWatch::finish_batch() {
  // A half of a move whose other half never came: the source moved out of the tree (its
  // removal is recorded already); stop watching what it took with it.
  for (auto& move : pending_moves_) drop_detached(move);
  pending_moves_.clear();
  writers_.clear();
}

void RootWatch::poll() {
  if (!root_present_) {
    if (is_directory(dir_abs_)) restore_root();
    return;
  }
  if (!inotify_ && !vcs_dir_.empty()) vcs_locked_ = exists_nofollow(vcs_dir_ + "/" + vcs_lock_name_);
  if (!inotify_) poll_external_rules();
  if (polled_nodes_ > 0) poll_subtree(&tree_.root());
  if (needs_reconcile_) {
    needs_reconcile_ = false;
    if (root_present_) reconcile(&tree_.root(), "");
  }
}

void RootWatch::poll_subtree(Node* node) {
  if (node->polled) {
    const std::string rel = tree_.rel_path(node);
    PollSnapshot now;
    if (!take_snapshot(abs_of(rel), now)) {
      if (node == &tree_.root()) root_gone();
      return;  // a vanished subdirectory: its parent reports it
    }
    auto changes = diff_snapshots(*node->snapshot, now);
    *node->snapshot = std::move(now);
    for (const auto& c : changes) apply(node, c.mask, 0, c.name);
  }
  for (size_t i = 0; i < node->children.size(); ++i) poll_subtree(node->children[i].get());
}

void RootWatch::track_link(const std::string& rel) {
  std::string abs = abs_of(rel);
  char buf[PATH_MAX];
  ssize_t n = ::readlink(abs.c_str(), buf, sizeof buf);
  if (n <= 0) return;
  std::string target(buf, static_cast<size_t>(n));
  Link link{rel, {}};
  std::string dep;
  fs::path lexical = target.front() == '/' ? fs::path(target)
                                            : (fs::path(abs_of(std::string(parent_of(rel)))) / target);
  lexical = lexical.lexically_normal();
  if (relative_inside(lexical, dir_abs_, dep) || relative_inside(lexical, root_canonical_, dep)) {
    link.deps.push_back(dep);
  }
  char real[PATH_MAX];
  if (::realpath(abs.c_str(), real) && relative_inside(fs::path(real), root_canonical_, dep)) {
    if (std::find(link.deps.begin(), link.deps.end(), dep) == link.deps.end()) link.deps.push_back(dep);
  }
  untrack_link(rel);
  if (!link.deps.empty()) links_.push_back(std::move(link));
}

void RootWatch::untrack_link(std::string_view rel) {
  std::erase_if(links_, [&](const Link& l) { return l.rel == rel; });
}

void RootWatch::notify_link_dependents(std::string_view changed) {
  std::vector<std::string> hit;
  for (const Link& link : links_) {
    if (link.rel == changed) continue;
    for (const std::string& dep : link.deps) {
      if (dep == changed || (dep.size() > changed.size() && dep.starts_with(changed) && dep[changed.size()] == '/')) {
        hit.push_back(link.rel);
        break;
      }
    }
  }
  for (const std::string& rel : hit) {
    if (ignored(rel, false)) continue;
    record_modified(rel, false);
    track_link(rel);  // it may point elsewhere now
  }
}

void RootWatch::root_gone() {
  if (!root_present_) return;
  root_present_ = false;
  for (auto& move : pending_moves_) drop_detached(move);
  pending_moves_.clear();
  tree_.clear([&](Node& n) { drop_node(n); });
  links_.clear();
  writers_.clear();
  if (file_name_.empty()) record_removed("", true);
  else record_removed(file_name_, false);
  arm_sentinel();
}

void RootWatch::arm_sentinel() {
  if (!inotify_) return;  // polling looks for the root on every poll
  fs::path p = fs::path(dir_abs_).parent_path();
  while (!p.empty() && p != p.root_path() && !is_directory(p.string())) p = p.parent_path();
  if (p.empty()) p = "/";
  if (sentinel_wd_ >= 0) {
    if (sentinel_dir_ == p.string()) return;
    inotify_->remove_watch(sentinel_wd_);
    sentinel_wd_ = -1;
  }
  sentinel_dir_ = p.string();
  sentinel_wd_ = inotify_->add_watch(sentinel_dir_, kSentinelMask);
  if (sentinel_wd_ < 0) ctx_.warn(errno_message(errno, "cannot watch " + sentinel_dir_ + " for the re-creation of " + dir_abs_));
  // It may have come back before the sentinel was in place.
  if (is_directory(dir_abs_)) restore_root();
}

void RootWatch::on_sentinel_event() {
  if (root_present_) return;
  if (is_directory(dir_abs_)) restore_root();
  else arm_sentinel();  // a nearer ancestor may exist now
}

void RootWatch::restore_root() {
  if (root_present_) return;
  if (sentinel_wd_ >= 0 && inotify_) {
    inotify_->remove_watch(sentinel_wd_);
    sentinel_wd_ = -1;
  }
  std::error_code ec;
  root_canonical_ = fs::canonical(dir_abs_, ec).string();
  if (ec) root_canonical_ = dir_abs_;
  if (file_name_.empty()) {
    // The new tree has its own rules files; keep the old rules if the new ones are bad.
    auto matcher = ignore::Matcher::open(dir_abs_, ignore_options_);
    if (matcher) {
      matcher_ = std::move(*matcher);
      external_rules_.clear();  // the new matcher's files; it has just read them
      watch_external_rules(/*reload_now=*/false);
    } else {
      ctx_.warn(matcher.error().message);
    }
  }
  root_present_ = true;
  if (file_name_.empty()) record_created("", true);
  scan(&tree_.root(), "", true);
  if (!root_present_ || (tree_.root().wd < 0 && !tree_.root().polled)) {
    root_present_ = true;  // let root_gone() run its course
    root_gone();
  }
}

void RootWatch::find_vcs_dir() {
  for (fs::path p(dir_abs_);; p = p.parent_path()) {
    std::string git = (p / ".git").string();
    struct stat st;
    if (::stat(git.c_str(), &st) == 0) {
      if (S_ISDIR(st.st_mode)) {
        vcs_dir_ = git;
      } else {
        // A worktree or submodule: ".git" is a file saying "gitdir: <dir>".
        std::ifstream in(git);
        std::string line;
        std::getline(in, line);
        if (line.starts_with("gitdir: ")) {
          fs::path dir = line.substr(8);
          vcs_dir_ = (dir.is_absolute() ? dir : p / dir).lexically_normal().string();
        }
      }
      vcs_lock_name_ = "index.lock";
      break;
    }
    std::string hg = (p / ".hg").string();
    if (::stat(hg.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      vcs_dir_ = hg;
      vcs_lock_name_ = "wlock";
      break;
    }
    if (p == p.root_path() || p.empty()) break;
  }
  if (vcs_dir_.empty()) return;
  vcs_locked_ = exists_nofollow(vcs_dir_ + "/" + vcs_lock_name_);
  if (inotify_) vcs_wd_ = inotify_->add_watch(vcs_dir_, kVcsMask);
}

void RootWatch::on_vcs_event(const RawEvent& ev) {
  if (ev.mask & IN_IGNORED) {
    vcs_wd_ = -1;
    vcs_locked_ = false;
    return;
  }
  if (ev.name == vcs_lock_name_) vcs_locked_ = exists_nofollow(vcs_dir_ + "/" + vcs_lock_name_);
  // .git/info created (or moved in) after the start: watch it now.
  if (ev.mask & (IN_CREATE | IN_MOVED_TO)) {
    for (const auto& x : external_rules_) {
      if (x.wd < 0) {
        watch_external_rules(/*reload_now=*/true);
        break;
      }
    }
  }
}

namespace {

// What can tell a changed file from an unchanged one without reading it; "" if absent.
std::string file_signature(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return {};
  return std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
         std::to_string(st.st_mtim.tv_nsec) + ":" + std::to_string(st.st_ctim.tv_nsec);
}

}  // namespace

void RootWatch::watch_external_rules(bool reload_now) {
  if (!matcher_) return;
  if (external_rules_.empty()) {
    for (const auto& file : matcher_->external_rules_files()) {
      ExternalRules x;
      x.path = file.string();
      x.dir = file.parent_path().string();
      x.name = file.filename().string();
      x.signature = file_signature(x.path);
      external_rules_.push_back(std::move(x));
    }
  }
  if (!inotify_) return;  // polled: poll_external_rules() compares signatures
  for (size_t i = 0; i < external_rules_.size(); ++i) {
    auto& x = external_rules_[i];
    if (x.wd >= 0) continue;
    // A missing directory (no .git/info yet) is no error: the .git watch re-arms this.
    x.wd = inotify_->add_watch(x.dir, kRulesDirMask);
    if (x.wd >= 0 && reload_now) reload_external_rules(i);
  }
}

void RootWatch::reload_external_rules(size_t index) {
  report_rules_reload(external_rules_[index].path, matcher_->reload_file(external_rules_[index].path));
  needs_reconcile_ = true;  // directories it ignored or un-ignored
}

void RootWatch::report_rules_reload(const std::string& file, const Result<void>& reloaded) {
  if (reloaded) {
    rules_errors_.erase(file);
    return;
  }
  auto& last = rules_errors_[file];
  if (last == reloaded.error().message) return;
  last = reloaded.error().message;
  ctx_.warn(last);
}

void RootWatch::on_external_rules_event(const RawEvent& ev) {
  for (size_t i = 0; i < external_rules_.size(); ++i) {
    auto& x = external_rules_[i];
    if (x.wd < 0 || ev.wd != x.wd) continue;
    if (ev.mask & IN_IGNORED) {
      // The directory went away (its file's rules with it), or the tree dropped the watch
      // it shared with us: re-read the file and watch again where the directory still is.
      x.wd = -1;
      reload_external_rules(i);
      if (inotify_) x.wd = inotify_->add_watch(x.dir, kRulesDirMask);
    } else if (ev.name == x.name) {
      reload_external_rules(i);
    }
  }
}

void RootWatch::poll_external_rules() {
  for (size_t i = 0; i < external_rules_.size(); ++i) {
    std::string now = file_signature(external_rules_[i].path);
    if (now == external_rules_[i].signature) continue;
    external_rules_[i].signature = std::move(now);
    reload_external_rules(i);
  }
}

}  // namespace relive::watch::internal
