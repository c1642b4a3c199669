#include "root_watch.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>


namespace relive::watch::internal {

namespace fs = std::filesystem;

namespace {

bool is_directory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string_view parent_of(std::string_view rel) {
  auto slash = rel.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : rel.substr(0, slash);
}

constexpr uint32_t kSentinelMask =
    mask::kCreate | mask::kMovedTo | mask::kDeleteSelf | mask::kMoveSelf | mask::kOnlyDir | mask::kMaskAdd;
// The fallback poller's watch descriptors start here, far above any inotify gives out.
constexpr int kFallbackFirstWd = 1 << 30;

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
  set_canonical_root();
  if (file_name_.empty()) {
    auto matcher = ignore::Matcher::open(dir_abs_, ignore_options_);
    if (!matcher) return matcher.error();
    matcher_ = std::move(*matcher);
  }
  if (ctx_.force_poll) {
    backend_ = make_poll_backend(1);
  } else {
    auto inotify = make_inotify_backend();
    if (!inotify) return inotify.error();
    backend_ = std::move(*inotify);
  }
  vcs_lock_.open(dir_abs_, *backend_);
  if (matcher_) external_rules_.reset(matcher_->external_rules_files());
  arm_external_rules(/*reload_now=*/false);
  root_present_ = true;
  scan(&tree_.root(), "", false);
  if (!root_present_ || (tree_.root().wd < 0 && !tree_.root().polled)) {
    return Error{"watch root " + given_.string() + ": could not be watched (removed while starting?)"};
  }
  report_lazy_rules_errors();
  return {};
}

void RootWatch::set_canonical_root() {
  std::error_code ec;
  root_canonical_ = fs::canonical(dir_abs_, ec).string();
  if (ec) root_canonical_ = dir_abs_;
  links_.set_root(dir_abs_, root_canonical_);
  followed_.set_root(root_canonical_);
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

Backend& RootWatch::backend_of(const Node& node) const {
  return node.polled && fallback_ ? *fallback_ : *backend_;
}

void RootWatch::set_polled(Node& node, bool polled) {
  if (node.polled == polled) return;
  node.polled = polled;
  if (polled) ++polled_nodes_;
  else --polled_nodes_;
}

bool RootWatch::watch_node(Node* node, const std::string& abs, bool is_root) {
  // The root may be a symlink to a directory; nothing below it is followed.
  const uint32_t tree_mask = is_root ? (kTreeMask & ~mask::kDontFollow) : kTreeMask;
  const bool watched_by_backend = node->wd >= 0 && !(node->polled && fallback_);
  if (!ctx_.out_of_watches || watched_by_backend) {
    int wd = -1;
    if (ctx_.max_watches > 0 && watch_count() >= ctx_.max_watches && node->wd < 0) {
      errno = ENOSPC;
    } else {
      wd = backend_->add_watch(abs, tree_mask);
    }
    if (wd >= 0) {
      set_polled(*node, !backend_->notifies());
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
  if (!fallback_) fallback_ = make_poll_backend(kFallbackFirstWd);
  const int wd = fallback_->add_watch(abs, tree_mask);
  if (wd < 0) return false;
  set_polled(*node, true);
  tree_.index_wd(node, wd);
  return true;
}

void RootWatch::drop_node(Node& node) {
  if (!node.link_target.empty()) followed_.remove(node.link_target);
  if (node.wd >= 0) backend_of(node).remove_watch(node.wd);
  set_polled(node, false);
}

std::string RootWatch::dir_of(const Node* node, const std::string& rel) const {
  return node->link_target.empty() ? abs_of(rel) : node->link_target;
}

std::string RootWatch::follow_target(const std::string& rel) const {
  // Only where the kernel reports changes: a poller would list the whole target each tick.
  if (!ctx_.follow_symlinks || !backend_->notifies() || !file_name_.empty()) return "";
  return followed_.target_of(abs_of(rel));
}

Node* RootWatch::add_followed(Node* parent, const std::string& name, std::string target) {
  Node* child = tree_.add_child(parent, name);
  followed_.add(target);
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
  if (!backend_of(*node).list(node->wd, abs, entries)) return;
  if (report && file_name_.empty()) reread_rules_files(rel);
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
      // A directory's rules files are read now (asking about any path in it reads them),
      // not at the first save below it: their problems are reported at the start.
      else if (!report && matcher_ && matcher_->is_rules_file(child_rel)) (void)ignored(child_rel, false);
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
  events_.clear();
  backend_->read_events(events_);
  handle(events_);
}

void RootWatch::poll() {
  // The sentinel reports a re-created root; a tick looks as well, in case it could not be armed.
  if (!root_present_ && is_directory(dir_abs_)) restore_root();
  events_.clear();
  backend_->poll(events_);
  if (fallback_) fallback_->poll(events_);
  handle(events_);
}

void RootWatch::handle(const std::vector<RawEvent>& events) {
  std::vector<std::string> rules_changed;
  for (const RawEvent& ev : events) {
    if (ev.mask & mask::kOverflow) {
      ctx_.coalescer.mark_rescan("events were lost (inotify queue overflow)");
      ++ctx_.recorded;
      needs_reconcile_ = true;
      continue;
    }
    // The consumers of one directory's watch share its descriptor: each sees the event.
    if (vcs_lock_.on_event(ev) && !external_rules_.all_armed()) arm_external_rules(/*reload_now=*/true);
    rules_changed.clear();
    external_rules_.on_event(*backend_, ev, rules_changed);
    for (const auto& file : rules_changed) reload_external_rules(file);
    if (sentinel_wd_ >= 0 && ev.wd == sentinel_wd_) {
      if (ev.mask & mask::kIgnored) sentinel_wd_ = -1;
      on_sentinel_event();
      continue;
    }
    Node* node = tree_.by_wd(ev.wd);
    if (!node) continue;
    if (ev.mask & mask::kIgnored) {
      tree_.unindex_wd(node);
      if (node == &tree_.root()) root_gone();
      continue;
    }
    if (ev.name.empty()) {
      if (node == &tree_.root() && (ev.mask & (mask::kDeleteSelf | mask::kMoveSelf | mask::kUnmount))) root_gone();
      continue;  // other self-events are reported by the parent's watch, with a name
    }
    apply(node, ev.mask, ev.cookie, ev.name);
  }
  if (needs_reconcile_) {
    needs_reconcile_ = false;
    if (root_present_) reconcile(&tree_.root(), "");
  }
  // Directories that appeared (and a reconcile's rescan) had their rules files read now.
  report_lazy_rules_errors();
}

void RootWatch::apply(Node* node, uint32_t ev_mask, uint32_t cookie, const std::string& name) {
  if (!tree_.attached(node)) return;  // inside a directory moved away, not yet paired
  const bool is_dir = ev_mask & mask::kIsDir;
  const std::string rel = Tree::join(tree_.rel_path(node), name);
  bool existed = false;
  if (!is_dir) {
    if (ev_mask & (mask::kCreate | mask::kMovedTo)) {
      existed = node->has_file(name);
      node->add_file(name);
    } else if (ev_mask & (mask::kDelete | mask::kMovedFrom)) {
      node->remove_file(name);
    }
  }
  // Symlinks: a new one is tracked; any change may be a change of what one points through
  // (the ConfigMap ..data swap).
  bool regular_file = false;
  if (!is_dir && (ev_mask & (mask::kCreate | mask::kMovedTo))) {
    struct stat st;
    if ((file_name_.empty() || name == file_name_) && ::lstat(abs_of(rel).c_str(), &st) == 0) {
      if (S_ISLNK(st.st_mode)) track_link(rel);
      regular_file = S_ISREG(st.st_mode);
    }
  } else if (!links_.empty() && (ev_mask & (mask::kDelete | mask::kMovedFrom))) {
    links_.untrack(rel);
  }
  if (!links_.empty()) notify_link_dependents(rel);
  if (!file_name_.empty() && name != file_name_) return;

  if (matcher_ && matcher_->is_rules_file(rel)) {
    report_rules_reload(rel, matcher_->reload(rel));
    needs_reconcile_ = true;
  }

  // Pairing comes before the ignore check: a rename onto an ignored name (vim's
  // app.py -> app.py~) ends the source's story; its removal is already recorded.
  if (ev_mask & mask::kMovedTo) {
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
          Node* moved = move.node.get();
          tree_.attach(node, std::move(move.node), name);
          rewatch_polled(moved);
          // Its rules files are the same, but the matcher knows them by their old paths.
          if (file_name_.empty()) {
            Tree::for_each(*moved, [&](Node& n) { reread_rules_files(tree_.rel_path(&n)); });
          }
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

  if (ev_mask & (mask::kCreate | mask::kMovedTo)) {
    if (is_dir) {
      if (Node* old = node->child(name)) tree_.erase(old, [&](Node& n) { drop_node(n); });
      record_created(rel, true);
      // Watch first, then list: whatever was created before the watch existed is found by
      // the listing, whatever after by an event; the coalescer makes both one "created".
      scan(tree_.add_child(node, name), rel, true);
    } else {
      record_created(rel, false, existed);
      // Created by open(O_CREAT): being written until mask::kCloseWrite (touch's utimensat
      // and close may come after a context switch).
      if ((ev_mask & mask::kCreate) && regular_file) writers_.insert(rel);
    }
  } else if (ev_mask & mask::kMovedFrom) {
    record_removed(rel, is_dir);
    PendingMove move{cookie, rel, is_dir, nullptr};
    if (is_dir) {
      if (Node* child = node->child(name)) move.node = tree_.detach(child);
    }
    pending_moves_.push_back(std::move(move));
  } else if (ev_mask & mask::kDelete) {
    if (is_dir) {
      if (Node* child = node->child(name)) tree_.erase(child, [&](Node& n) { drop_node(n); });
    }
    record_removed(rel, is_dir);
    writers_.erase(rel);
  } else if (ev_mask & mask::kModify) {
    record_modified(rel, is_dir);
    if (!is_dir) writers_.insert(rel);
  } else if (ev_mask & mask::kCloseWrite) {
    record_modified(rel, is_dir);
    writers_.erase(rel);
  } else if (ev_mask & mask::kAttrib) {
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

void RootWatch::rewatch_polled(Node* subtree) {
  if (polled_nodes_ == 0) return;
  Tree::for_each(*subtree, [&](Node& n) {
    if (!n.polled || n.wd < 0) return;
    backend_of(n).remove_watch(n.wd);
    tree_.unindex_wd(&n);
    watch_node(&n, dir_of(&n, tree_.rel_path(&n)), false);
  });
}

void RootWatch::track_link(const std::string& rel) {
  links_.track(rel, abs_of(rel), abs_of(std::string(parent_of(rel))));
}

void RootWatch::notify_link_dependents(std::string_view changed) {
  for (const std::string& rel : links_.dependents_of(changed)) {
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
  fs::path p = fs::path(dir_abs_).parent_path();
  while (!p.empty() && p != p.root_path() && !is_directory(p.string())) p = p.parent_path();
  if (p.empty()) p = "/";
  if (sentinel_wd_ >= 0) {
    if (sentinel_dir_ == p.string()) return;
    backend_->remove_watch(sentinel_wd_);
    sentinel_wd_ = -1;
  }
  sentinel_dir_ = p.string();
  sentinel_wd_ = backend_->add_watch(sentinel_dir_, kSentinelMask);
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
  if (sentinel_wd_ >= 0) {
    backend_->remove_watch(sentinel_wd_);
    sentinel_wd_ = -1;
  }
  set_canonical_root();
  if (file_name_.empty()) {
    // The new tree has its own rules files; keep the old rules if the new ones are bad.
    auto matcher = ignore::Matcher::open(dir_abs_, ignore_options_);
    if (matcher) {
      matcher_ = std::move(*matcher);
      external_rules_.reset(matcher_->external_rules_files());  // it has just read them
      arm_external_rules(/*reload_now=*/false);
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

void RootWatch::arm_external_rules(bool reload_now) {
  std::vector<std::string> armed;
  external_rules_.arm(*backend_, armed);
  if (reload_now) {
    for (const auto& file : armed) reload_external_rules(file);
  }
}

void RootWatch::reload_external_rules(const std::string& path) {
  if (!matcher_) return;
  report_rules_reload(path, matcher_->reload_file(path));
  needs_reconcile_ = true;  // directories it ignored or un-ignored
}

// A directory that appears while watching may take a path whose rules the matcher has read
// before: one removed or moved away and another put in its place, or the same one scanned
// twice (its parent's scan found it, then its own creation event came). The cached rules
// may be those of a file since rewritten (cp creates, scan reads it empty, cp writes — and
// the write's event went to the watch the second scan replaced), so read them again now.
void RootWatch::reread_rules_files(const std::string& dir_rel) {
  if (!matcher_) return;
  for (const char* name : {".gitignore", ".reloadignore"}) {
    const std::string rel = Tree::join(dir_rel, name);
    if (matcher_->is_rules_file(rel)) report_rules_reload(rel, matcher_->reload(rel));
  }
}

void RootWatch::report_rules_reload(const std::string& file, const Result<void>& reloaded) {
  if (reloaded) {
    rules_errors_.erase(file);
    return;
  }
  report_rules_error(file, reloaded.error().message);
}

void RootWatch::report_lazy_rules_errors() {
  if (!matcher_) return;
  for (const auto& e : matcher_->take_file_errors()) report_rules_error(e.file, e.error.message);
}

void RootWatch::report_rules_error(const std::string& file, const std::string& message) {
  auto& last = rules_errors_[file];
  if (last == message) return;
  last = message;
  ctx_.warn(last);
}

}  // namespace relive::watch::internal
