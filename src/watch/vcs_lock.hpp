// Internal: the lock a version-control system holds while it rewrites the work tree — git's
// `.git/index.lock`, Mercurial's `.hg/wlock`. While it exists the watcher holds its batch
// (up to Options::max_vcs_hold), so that a checkout or rebase is one batch, not dozens.
//
// The repository is found by walking up from the watched directory; a worktree's or
// submodule's `.git` file ("gitdir: <dir>") is followed. Its directory is watched through
// the root's backend (entries created, deleted, moved: never its contents). Watcher's thread.
#pragma once

#include <string>

#include "backend.hpp"

namespace relive::watch::internal {

class VcsLock {
 public:
  // Finds the repository `dir` lies in, watches its directory through `backend`, and reads
  // whether the lock is held now. No repository: never locked. Call once.
  void open(const std::string& dir, Backend& backend);

  bool locked() const { return locked_; }
  // The repository's directory (".git", or where a ".git" file points; ".hg"); "" if none.
  const std::string& repo_dir() const { return repo_dir_; }

  // Applies `ev` if it concerns the repository directory's watch (it may be shared with
  // other consumers: the caller hands it on either way). Returns true when an entry was
  // created or moved into that directory (`.git/info` appearing after the start).
  bool on_event(const RawEvent& ev);

 private:
  void read_lock();

  std::string repo_dir_;
  std::string lock_name_;   // "index.lock", "wlock"
  int wd_ = -1;
  bool locked_ = false;
};

}  // namespace relive::watch::internal
