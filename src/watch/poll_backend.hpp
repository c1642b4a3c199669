// Internal: the polling backend's snapshots — for directories that inotify cannot watch
// (out of watches, or forced with Options::poll_interval for network filesystems and
// container mounts). Each polled directory keeps a snapshot of its entries (name, type,
// inode, size, mtime, ctime); a poll lists the directory again, stats each entry and
// reports the differences as the same raw events inotify would have produced. The backend
// itself (make_poll_backend, backend.hpp) is a Backend over these; declared here are the
// snapshot and the comparison, testable on their own.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace relive::watch::internal {

struct PollEntry {
  std::string name;
  bool is_dir = false;
  bool is_link = false;
  ino_t ino = 0;
  off_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
};

struct PollSnapshot {
  std::vector<PollEntry> entries;  // sorted by name
};

// One difference found by a poll: an inotify-style mask (IN_CREATE, IN_DELETE, IN_MODIFY,
// with IN_ISDIR for directories) and the entry name.
struct PollChange {
  uint32_t mask;
  std::string name;
};

// Reads `dir` into a fresh snapshot; false if the directory cannot be listed (gone).
bool take_snapshot(const std::string& dir, PollSnapshot& out);
// Compares two snapshots of the same directory.
std::vector<PollChange> diff_snapshots(const PollSnapshot& before, const PollSnapshot& after);

}  // namespace relive::watch::internal
