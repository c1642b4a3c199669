// Internal: everything about one watched root — its ignore Matcher, its tree of watched (or
// polled) directories, its inotify instance, rename pairing, symlink dependents, the VCS
// lock of the repository it lies in, and its re-creation after removal. Raw events go in;
// path changes come out into the shared Coalescer.
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
#include "inotify_backend.hpp"
#include "relive/error.hpp"
#include "relive/ignore.hpp"
#include "tree.hpp"

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

  int inotify_fd() const { return inotify_ ? inotify_->fd() : -1; }
  // Reads and applies every queued inotify event.
  void read_events();
  // Polls every polled directory once.
  void poll();
  // End of a batch: halves of moves never paired are final now; writers are forgotten.
  void finish_batch();

  bool vcs_locked() const { return vcs_locked_; }
  bool has_writers() const { return !writers_.empty(); }
  size_t watch_count() const { return tree_.watched_count(); }
  size_t polled_count() const { return polled_nodes_; }
  size_t dir_count() const { return tree_.node_count(); }

 private:
  struct PendingMove {
    uint32_t cookie;
    std::string rel;
    bool is_dir;
    std::unique_ptr<Node> node;  // a moved directory's subtree, until paired or dropped
  };
  struct Link {
    std::string rel;                 // the symlink, relative to the root
    std::vector<std::string> deps;   // root-relative paths its target goes through
  };

  std::string abs_of(std::string_view rel) const;
  bool ignored(std::string_view rel, bool is_dir);
  // Adds the node's watch (or makes it polled); false if the directory is gone.
  bool watch_node(Node* node, const std::string& abs, bool is_root);
  void drop_node(Node& node);
  // Watches `node` then lists it, adding children (not ignored) recursively. `report`:
  // record each entry found as created (a directory that appeared after the start).
  void scan(Node* node, const std::string& rel, bool report);
  // Brings the tree in line with the disk (after lost events or changed rules).
  void reconcile(Node* node, const std::string& rel);
  void apply(Node* node, uint32_t mask, uint32_t cookie, const std::string& name);
  void apply_self(Node* node, uint32_t mask);
  void poll_subtree(Node* node);

  void track_link(const std::string& rel);
  void untrack_link(std::string_view rel);
  void notify_link_dependents(std::string_view changed);
  bool reportable_link(const Link& link);

  void root_gone();
  void arm_sentinel();
  void on_sentinel_event();
  void find_vcs_dir();
  void on_vcs_event(const RawEvent& ev);

  // Rules files the tree cannot report (.git/info/exclude, core.excludesFile): one watch
  // on each one's directory (never on all of .git/), or a stat per poll without inotify.
  // `reload_now`: re-read every file whose watch was not armed before (its directory
  // appeared: .git/info created after the start).
  void watch_external_rules(bool reload_now);
  void reload_external_rules(size_t index);
  void on_external_rules_event(const RawEvent& ev);
  void poll_external_rules();

  void record_created(std::string_view rel, bool is_dir, bool existed_before = false);
  void record_modified(std::string_view rel, bool is_dir);
  void record_removed(std::string_view rel, bool is_dir);
  void record_renamed(std::string_view from, std::string_view to, bool is_dir, bool to_existed);
  bool reported_path(std::string_view rel, std::string_view& out) const;
  void restore_root();
  void drop_detached(PendingMove& move);

  uint32_t index_;
  std::filesystem::path given_;
  std::string dir_abs_;          // the watched directory (the root, or a file root's parent)
  std::string root_canonical_;   // its canonical form, to place symlink targets in the tree
  std::string file_name_;        // non-empty: the root is this single file in dir_abs_
  ignore::Options ignore_options_;
  WatchContext& ctx_;
  std::unique_ptr<ignore::Matcher> matcher_;
  std::unique_ptr<InotifyInstance> inotify_;
  Tree tree_;
  bool root_present_ = false;
  int sentinel_wd_ = -1;
  std::string sentinel_dir_;
  std::string vcs_dir_;
  std::string vcs_lock_name_;
  int vcs_wd_ = -1;
  bool vcs_locked_ = false;
  struct ExternalRules {
    std::string path;          // absolute
    std::string dir, name;     // its directory (watched) and its name there
    int wd = -1;
    std::string signature;     // without inotify: what stat() said last time
  };
  std::vector<ExternalRules> external_rules_;
  std::vector<PendingMove> pending_moves_;
  std::vector<Link> links_;
  std::unordered_set<std::string> writers_;   // written to (IN_MODIFY) and not yet closed
  bool needs_reconcile_ = false;
  // The last error each rules file reported (by path), so that one save — several inotify
  // events, each a reload — reports a bad line once. Cleared when the file loads again.
  std::unordered_map<std::string, std::string> rules_errors_;
  void report_rules_reload(const std::string& file, const Result<void>& reloaded);
  // --follow-symlinks: the canonical target of the symlink at `rel` when it is a directory
  // to follow (outside the root, not overlapping one followed already), else "".
  std::string follow_target(const std::string& rel) const;
  // Adds the node of a followed symlink (its listing and watch use the target).
  Node* add_followed(Node* parent, const std::string& name, std::string target);
  // Where a node's directory is read: the target of a followed symlink, else abs_of(rel).
  std::string dir_of(const Node* node, const std::string& rel) const;
  std::vector<std::string> followed_;  // canonical targets of followed symlinks
  size_t polled_nodes_ = 0;
  std::vector<RawEvent> events_;
  std::vector<DirEntry> listing_;
};

}  // namespace relive::watch::internal
