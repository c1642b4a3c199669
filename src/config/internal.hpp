// Internals of the config part shared between its .cpp files (not installed, not public).
#pragma once

#include <string>

#include "relive/config.hpp"
#include "relive/watch.hpp"

namespace relive::config {

// Write access to Node internals for the parsers and the merger.
struct NodeAccess {
  // Gives n the dotted key `key` (its name is the last segment) without a parent chain.
  static void set_key(Node& n, std::string_view key);
  static std::vector<Node>& children(Node& n) { return n.children_; }
  static Node* child(Node& n, std::string_view name) { return const_cast<Node*>(n.child(name)); }
  static std::shared_ptr<Node::Path>& path(Node& n) { return n.path_; }
  static std::shared_ptr<Node::Path> make_path(std::shared_ptr<Node::Path> parent, std::string name);
  static void reindex(Node& n) { n.reindex(); }
  static void set_origin(Node& n, Origin o) { n.origin_ = std::move(o); }
};

struct SnapshotAccess {
  static Snapshot make(std::uint64_t version, std::chrono::system_clock::time_point at,
                       std::shared_ptr<const Node> root,
                       std::vector<std::shared_ptr<const void>> bound) {
    Snapshot s;
    s.version_ = version;
    s.loaded_at_ = at;
    s.root_ = std::move(root);
    s.bound_ = std::move(bound);
    return s;
  }
  static const std::vector<std::shared_ptr<const void>>& bound(const Snapshot& s) { return s.bound_; }
  static const std::shared_ptr<const Node>& root_ptr(const Snapshot& s) { return s.root_; }
};

// Merges `overlay` into `base`: objects member by member (recursively), anything else
// replaced wholesale (with the overlay's origin).
void merge_into(Node& base, Node overlay);
// Sets key()/name() of every node under root (root's key is ""). Iterative.
void assign_keys(Node& root);
// "12:01:33" in local time.
std::string clock_time(std::chrono::system_clock::time_point t);
// Text of a scalar as it would appear in a message ("\"fast\"" for strings).
std::string quoted(const Node& n);

namespace detail {
// The watch engine's options for each directory a Config opened with `options` watches
// (what Config::open() passes to watch::Watcher::open()); for tests of the watch scope.
std::vector<watch::Options> watch_options_for(const Options& options);
}  // namespace detail

}  // namespace relive::config
