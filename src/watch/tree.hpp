// Internal: the directories of one watched root, as a tree of nodes, and reading a
// directory's entries. Each node is a directory that is watched (inotify) or polled; ignored
// directories have no node. A node also remembers the names of its other entries (as
// hashes) so that a rename over an existing file is reported as "modified", not "created".
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace relive::watch::internal {

struct Node {
  Node* parent = nullptr;          // nullptr for the root node, and for a detached subtree
  std::string name;                // entry name in the parent ("" for the root)
  int wd = -1;                     // its watch in the root's backend (or the fallback poller), -1 if none
  bool polled = false;             // that watch is polled (by the poll backend or the fallback)
  bool detached = false;           // moved out, waiting to be paired with its destination
  std::string link_target;         // a followed symlink (Options::follow_symlinks): its canonical target
  std::vector<std::unique_ptr<Node>> children;
  std::vector<uint32_t> file_hashes;   // sorted hashes of non-directory entry names (32 bits:
                                       // a collision within one directory is harmless and rare)

  Node();
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  Node* child(std::string_view child_name) const;
  bool has_file(std::string_view file_name) const;
  void add_file(std::string_view file_name);
  void remove_file(std::string_view file_name);
};

uint32_t name_hash(std::string_view name);

// The nodes of one root and the watch-descriptor index.
class Tree {
 public:
  Tree();
  Node& root() { return *root_; }
  const Node& root_node() const { return *root_; }

  // The node's path relative to the root ("" for the root), '/'-separated; nullopt-like ""
  // with `attached == false` when the node is detached.
  std::string rel_path(const Node* node) const;
  bool attached(const Node* node) const;
  static std::string join(std::string_view dir, std::string_view name);

  Node* add_child(Node* parent, std::string name);
  std::unique_ptr<Node> detach(Node* node);
  void attach(Node* parent, std::unique_ptr<Node> node, std::string name);
  // Removes the subtree below and including `node` (not the root: use clear()), calling
  // `on_node` for each node first (to drop its watch).
  void erase(Node* node, const std::function<void(Node&)>& on_node);
  // Empties the tree down to a fresh root node, calling `on_node` for each node.
  void clear(const std::function<void(Node&)>& on_node);
  static void for_each(Node& node, const std::function<void(Node&)>& fn);

  size_t watched_count() const { return by_wd_.size(); }
  void index_wd(Node* node, int wd);
  void unindex_wd(Node* node);
  Node* by_wd(int wd) const;
  size_t node_count() const { return node_count_; }

 private:
  std::unique_ptr<Node> root_;
  std::unordered_map<int, Node*> by_wd_;
  size_t node_count_ = 1;
};

// One entry of a directory listing.
struct DirEntry {
  std::string name;
  unsigned char type;  // DT_DIR, DT_REG, DT_LNK, ... (resolved with lstat when DT_UNKNOWN)
};
// Lists `dir` without following symlinks; false (errno set) if it cannot be opened.
bool list_dir(const std::string& dir, std::vector<DirEntry>& out);

// The one directory reader behind list_dir and the poll backend's snapshots: calls
// `each(dir_fd, name, d_type)` for every entry of `dir` except "." and "..", in readdir
// order. `dir` itself is not followed if it is a symlink. dir_fd is open only during the
// calls (for fstatat relative to it); d_type may be DT_UNKNOWN on some filesystems.
// Returns false (errno set) if `dir` cannot be opened as a directory. Any thread.
bool for_each_dir_entry(const std::string& dir,
                        const std::function<void(int dir_fd, const char* name, unsigned char d_type)>& each);

}  // namespace relive::watch::internal
