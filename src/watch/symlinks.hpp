// Internal: the two things a root watch knows about symlinks, each a small class.
//  - LinkDependents: symlinks whose target lies (partly) inside the root — a Kubernetes
//    ConfigMap's `app.yaml -> ..data/app.yaml`, `..data -> ..2024_01_01`. A change to any
//    path the target goes through is a change of the link, reported under its own name.
//  - FollowedDirs (Options::follow_symlinks): which symlinked directories outside the root
//    are watched as if they were part of it — never one inside the root (watched already),
//    around it (a loop), or overlapping one followed already.
// Paths given in and out are root-relative ("a/b") unless named *_abs. Watcher's thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace relive::watch::internal {

class LinkDependents {
 public:
  // The root as given (made absolute) and its canonical form: a target is placed in the
  // tree by either, so that `/tmp/x -> /private/tmp/x`-style aliases still match.
  void set_root(std::string dir_abs, std::string root_canonical);

  // (Re)reads the symlink at `rel` (absolute `link_abs`, in directory `parent_abs`) and
  // remembers the root-relative paths its target goes through (the lexical target and the
  // resolved one). A link whose target lies outside the root is not tracked.
  void track(const std::string& rel, const std::string& link_abs, const std::string& parent_abs);
  void untrack(std::string_view rel);
  void clear() { links_.clear(); }
  bool empty() const { return links_.empty(); }

  // The tracked links (other than `changed` itself) whose target is `changed` or lies below it.
  std::vector<std::string> dependents_of(std::string_view changed) const;

 private:
  struct Link {
    std::string rel;                 // the symlink
    std::vector<std::string> deps;   // root-relative paths its target goes through
  };
  std::string dir_abs_;
  std::string root_canonical_;
  std::vector<Link> links_;
};

class FollowedDirs {
 public:
  void set_root(std::string root_canonical) { root_canonical_ = std::move(root_canonical); }
  // The canonical target of the symlink at `link_abs` when it is a directory to follow,
  // else "" (not a directory, inside or around the root, overlapping a followed one).
  std::string target_of(const std::string& link_abs) const;
  void add(std::string target) { followed_.push_back(std::move(target)); }
  void remove(const std::string& target);

 private:
  std::string root_canonical_;
  std::vector<std::string> followed_;  // canonical targets
};

}  // namespace relive::watch::internal
