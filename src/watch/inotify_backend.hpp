// Internal: the inotify backend — one inotify instance and its events read into plain
// structs. (Counting watches, and the test-only watch limit, live with the tree.)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace relive::watch::internal {

// What a directory of the tree is watched for. IN_MODIFY marks a write in progress (so a
// slow writer is not reported half-way), IN_CLOSE_WRITE its end.
constexpr uint32_t kTreeMask = 0x00000002 /*IN_MODIFY*/ | 0x00000004 /*IN_ATTRIB*/ |
                               0x00000008 /*IN_CLOSE_WRITE*/ | 0x00000040 /*IN_MOVED_FROM*/ |
                               0x00000080 /*IN_MOVED_TO*/ | 0x00000100 /*IN_CREATE*/ |
                               0x00000200 /*IN_DELETE*/ | 0x00000400 /*IN_DELETE_SELF*/ |
                               0x00000800 /*IN_MOVE_SELF*/ | 0x01000000 /*IN_ONLYDIR*/ |
                               0x02000000 /*IN_DONT_FOLLOW*/ | 0x04000000 /*IN_EXCL_UNLINK*/;

struct RawEvent {
  int wd;
  uint32_t mask;
  uint32_t cookie;
  std::string name;
};

class InotifyInstance {
 public:
  InotifyInstance();
  ~InotifyInstance();
  InotifyInstance(const InotifyInstance&) = delete;
  InotifyInstance& operator=(const InotifyInstance&) = delete;

  bool ok() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  // The new (or existing, for an inode already watched) descriptor, or -1 with errno set.
  int add_watch(const std::string& path, uint32_t mask);
  // Harmless for a watch the kernel already dropped (the directory was deleted).
  void remove_watch(int wd);

  // Reads every queued event (non-blocking); false when nothing was queued.
  bool read_events(std::vector<RawEvent>& out);

 private:
  int fd_ = -1;
};

}  // namespace relive::watch::internal
