// Internal: the one interface a root watch uses to learn about changes on disk — a backend
// that watches directories and reports what happened in them as inotify-style raw events.
// Two implementations, each one file: InotifyBackend (inotify_backend.cpp, the kernel
// tells) and PollBackend (poll_backend.cpp, a snapshot of each directory compared on
// every poll tick). RootWatch works against this interface only; it never asks which one
// it has, except through the capability notifies() (symlinked directories are followed
// only where the kernel reports their changes).
//
// All members run on the watcher's thread (the one calling read_batches()).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "relive/error.hpp"

namespace relive::watch::internal {

// inotify(7) mask bits, spelled here so that no caller needs <sys/inotify.h> to speak to
// a backend; inotify_backend.cpp checks that they agree with the kernel's.
namespace mask {
constexpr uint32_t kModify = 0x00000002;
constexpr uint32_t kAttrib = 0x00000004;
constexpr uint32_t kCloseWrite = 0x00000008;
constexpr uint32_t kMovedFrom = 0x00000040;
constexpr uint32_t kMovedTo = 0x00000080;
constexpr uint32_t kCreate = 0x00000100;
constexpr uint32_t kDelete = 0x00000200;
constexpr uint32_t kDeleteSelf = 0x00000400;
constexpr uint32_t kMoveSelf = 0x00000800;
constexpr uint32_t kUnmount = 0x00002000;
constexpr uint32_t kOverflow = 0x00004000;   // events were lost: the tree must be reconciled
constexpr uint32_t kIgnored = 0x00008000;    // the watch is gone (removed, or its directory)
constexpr uint32_t kOnlyDir = 0x01000000;
constexpr uint32_t kDontFollow = 0x02000000;
constexpr uint32_t kExclUnlink = 0x04000000;
constexpr uint32_t kMaskAdd = 0x20000000;    // add to the mask of an existing watch
constexpr uint32_t kIsDir = 0x40000000;
}  // namespace mask

// What a directory of the tree is watched for. kModify marks a write in progress (so a slow
// writer is not reported half-way), kCloseWrite its end.
constexpr uint32_t kTreeMask = mask::kModify | mask::kAttrib | mask::kCloseWrite | mask::kMovedFrom |
                               mask::kMovedTo | mask::kCreate | mask::kDelete | mask::kDeleteSelf |
                               mask::kMoveSelf | mask::kOnlyDir | mask::kDontFollow | mask::kExclUnlink;

// One thing that happened: in the directory watched as `wd` (to entry `name`; "" for the
// directory itself), or the whole backend (kOverflow, wd -1).
struct RawEvent {
  int wd;
  uint32_t mask;
  uint32_t cookie;  // pairs the two halves of a rename; 0 when the backend cannot tell
  std::string name;
};

struct DirEntry;  // tree.hpp

class Backend {
 public:
  virtual ~Backend();

  // Readable when events are queued (epoll it); -1: none, events are found by poll().
  virtual int fd() const = 0;
  // Whether changes are reported by the kernel as they happen (inotify) rather than found
  // by comparing snapshots.
  virtual bool notifies() const = 0;
  // Starts watching the directory `path` for the events in `mask` (a symlink at `path` is
  // followed unless kDontFollow is in it; kMaskAdd widens an existing watch's mask). Returns
  // the watch descriptor — the same one again for a directory watched already — or -1 with
  // errno set: ENOENT/ENOTDIR (gone), ENOSPC (out of watches), anything else.
  virtual int add_watch(const std::string& path, uint32_t mask) = 0;
  // Stops a watch; a kIgnored event for it follows (as inotify does). Harmless for a watch
  // that is gone already.
  virtual void remove_watch(int wd) = 0;
  // Lists the directory just watched as `wd` (at `path`). The poll backend answers from the
  // snapshot add_watch() took, so the listing and its later comparisons agree; inotify
  // lists the disk (after the watch exists, so nothing falls between). False if gone.
  virtual bool list(int wd, const std::string& path, std::vector<DirEntry>& out);
  // Appends the events queued since the last call (non-blocking). Call when fd() is readable.
  virtual void read_events(std::vector<RawEvent>& out) = 0;
  // Appends what a poll tick finds (the poll backend compares every watched directory with
  // its snapshot; inotify has nothing to do).
  virtual void poll(std::vector<RawEvent>& out) = 0;
};

// The inotify backend; fails (with the hint about fs.inotify.max_user_instances on EMFILE)
// when no inotify instance can be created.
Result<std::unique_ptr<Backend>> make_inotify_backend();
// The polling backend. Its watch descriptors start at `first_wd`, so that one next to an
// inotify backend (polling the directories inotify had no watch left for) never shares one.
std::unique_ptr<Backend> make_poll_backend(int first_wd);

}  // namespace relive::watch::internal
