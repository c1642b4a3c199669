// Internal: everything about one watched root — its ignore Matcher, its tree of watched (or
// polled) directories, its backend (backend.hpp: inotify or polling), rename pairing, and
// its re-creation after removal; with a small class each for symlinks (symlinks.hpp), the
// VCS lock of the repository it lies in (vcs_lock.hpp) and the rules files outside the tree
// (external_rules.hpp). Raw events go in; path changes come out into the shared Coalescer.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "coalescer.hpp"
#include "backend.hpp"
#include "external_rules.hpp"
#include "relive/error.hpp"
#include "relive/ignore.hpp"
#include "symlinks.hpp"
#include "tree.hpp"
#include "vcs_lock.hpp"

namespace relive::watch::internal {

// State shared by the roots of one Watcher.
struct WatchContext {
  Coalescer coalescer;
  uint64_t recorded = 0;             // bumped whenever a change is recorded (not for ignored paths)
  bool force_poll = false;
  size_t max_watches = 0;            // per root instance; 0: the system's limit
  bool out_of_watches = false;       // some directory could not be watched (ENOSPC)
  bool follow_symlinks = false;      // Options::follow_symlinks
  std::function<void(const std::string&)> warn;
};

class RootWatch {
 public:
  RootWatch(uint32_t index, std::filesystem::path given, const ignore::Options& ignore_options, WatchContext& ctx);
  ~RootWatch();

  // Sets up the watches (or polling) of the whole root. Fails if the root does not exist,
  // inotify is unavailable, or the ignore rules are invalid.
  Result<void> open();

  // The descriptor to epoll for this root's events; -1 when they are found by poll() only.
  int event_fd() const { return backend_ ? backend_->fd() : -1; }
  // Reads and applies every queued event.
  void read_events();
  // A poll tick: polls every polled directory once.
  void poll();
  // End of a batch: halves of moves never paired are final now; writers are forgotten.
  void finish_batch();

  bool vcs_locked() const { return vcs_lock_.locked(); }
  bool has_writers() const { return !writers_.empty(); }
  size_t watch_count() const { return tree_.watched_count() - polled_nodes_; }
  size_t polled_count() const { return polled_nodes_; }
  size_t dir_count() const { return tree_.node_count(); }

 private:
  struct PendingMove {
    uint32_t cookie;
    std::string rel;
    bool is_dir;
    std::unique_ptr<Node> node;  // a moved directory's subtree, until paired or dropped
  };

  std::string abs_of(std::string_view rel) const;
  bool ignored(std::string_view rel, bool is_dir);
  // The backend that holds `node`'s watch: the fallback poller once inotify ran out.
  Backend& backend_of(const Node& node) const;
  void set_polled(Node& node, bool polled);
  // Adds the node's watch (or makes it polled); false if the directory is gone.
  bool watch_node(Node* node, const std::string& abs, bool is_root);
  void drop_node(Node& node);
  // Watches `node` then lists it, adding children (not ignored) recursively. `report`:
  // record each entry found as created (a directory that appeared after the start).
  void scan(Node* node, const std::string& rel, bool report);
  // Brings the tree in line with the disk (after lost events or changed rules).
  void reconcile(Node* node, const std::string& rel);
  // Applies a backend's events, then reconciles if they asked for it.
  void handle(const std::vector<RawEvent>& events);
  void apply(Node* node, uint32_t ev_mask, uint32_t cookie, const std::string& name);
  // A polled directory moved (a rename paired by inotify in a watched parent): its poller
  // still looks at the old path; watch each polled node of the subtree where it is now.
  void rewatch_polled(Node* subtree);

  void track_link(const std::string& rel);
  void notify_link_dependents(std::string_view changed);

  void root_gone();
  void arm_sentinel();
  void on_sentinel_event();

  // `reload_now`: re-read every file whose watch was not armed before (its directory
  // appeared: .git/info created after the start).
  void arm_external_rules(bool reload_now);
  void reload_external_rules(const std::string& path);
  // A directory that appeared while watching: its rules files read afresh, not from cache.
  void reread_rules_files(const std::string& dir_rel);
  // One save (several events, each a reload) reports a bad line once.
  void report_rules_reload(const std::string& file, const Result<void>& reloaded);
  // The problems the Matcher met reading a directory's rules files the first time (during a
  // scan: at the start, or a directory that appeared), as warnings; each file's once, shared
  // with report_rules_reload (a copied-in directory's file may also be reloaded by an event).
  void report_lazy_rules_errors();
  void report_rules_error(const std::string& file, const std::string& message);

  void record_created(std::string_view rel, bool is_dir, bool existed_before = false);
  void record_modified(std::string_view rel, bool is_dir);
  void record_removed(std::string_view rel, bool is_dir);
  void record_renamed(std::string_view from, std::string_view to, bool is_dir, bool to_existed);
  bool reported_path(std::string_view rel, std::string_view& out) const;
  void restore_root();
  void drop_detached(PendingMove& move);
  void set_canonical_root();

  // --follow-symlinks: the canonical target of the symlink at `rel` when it is a directory
  // to follow, else "".
  std::string follow_target(const std::string& rel) const;
  // Adds the node of a followed symlink (its listing and watch use the target).
  Node* add_followed(Node* parent, const std::string& name, std::string target);
  // Where a node's directory is read: the target of a followed symlink, else abs_of(rel).
  std::string dir_of(const Node* node, const std::string& rel) const;

  uint32_t index_;
  std::filesystem::path given_;
  std::string dir_abs_;          // the watched directory (the root, or a file root's parent)
  std::string root_canonical_;   // its canonical form, to place symlink targets in the tree
  std::string file_name_;        // non-empty: the root is this single file in dir_abs_
  ignore::Options ignore_options_;
  WatchContext& ctx_;
  std::unique_ptr<ignore::Matcher> matcher_;
  std::unique_ptr<Backend> backend_;   // inotify, or the poller (Options::poll_interval)
  std::unique_ptr<Backend> fallback_;  // polls what inotify had no watch left for; lazily
  Tree tree_;
  bool root_present_ = false;
  int sentinel_wd_ = -1;
  std::string sentinel_dir_;
  VcsLock vcs_lock_;
  ExternalRulesFiles external_rules_;
  LinkDependents links_;
  FollowedDirs followed_;
  std::vector<PendingMove> pending_moves_;
  std::unordered_set<std::string> writers_;   // written to (kModify) and not yet closed
  bool needs_reconcile_ = false;
  // The last error each rules file reported (by path); cleared when the file loads again.
  std::unordered_map<std::string, std::string> rules_errors_;
  size_t polled_nodes_ = 0;
  std::vector<RawEvent> events_;
};

}  // namespace relive::watch::internal
