#include "poll_backend.hpp"

#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include <algorithm>

#include "tree.hpp"  // for_each_dir_entry

namespace relive::watch::internal {

bool take_snapshot(const std::string& dir, PollSnapshot& out) {
  out.entries.clear();
  bool listed = for_each_dir_entry(dir, [&](int dir_fd, const char* name, unsigned char /*d_type*/) {
    struct stat st;
    if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return;  // vanished meanwhile
    PollEntry entry;
    entry.name = name;
    entry.is_dir = S_ISDIR(st.st_mode);
    entry.is_link = S_ISLNK(st.st_mode);
    entry.ino = st.st_ino;
    entry.size = st.st_size;
    entry.mtime_ns = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    entry.ctime_ns = int64_t(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
    out.entries.push_back(std::move(entry));
  });
  if (!listed) return false;
  std::sort(out.entries.begin(), out.entries.end(),
            [](const PollEntry& a, const PollEntry& b) { return a.name < b.name; });
  return true;
}

std::vector<PollChange> diff_snapshots(const PollSnapshot& before, const PollSnapshot& after) {
  std::vector<PollChange> changes;
  auto a = before.entries.begin();
  auto b = after.entries.begin();
  auto dir_bit = [](const PollEntry& e) -> uint32_t { return e.is_dir ? IN_ISDIR : 0; };
  while (a != before.entries.end() || b != after.entries.end()) {
    if (b == after.entries.end() || (a != before.entries.end() && a->name < b->name)) {
      changes.push_back({IN_DELETE | dir_bit(*a), a->name});
      ++a;
    } else if (a == before.entries.end() || b->name < a->name) {
      changes.push_back({IN_CREATE | dir_bit(*b), b->name});
      ++b;
    } else {
      if (a->is_dir != b->is_dir) {
        changes.push_back({IN_DELETE | dir_bit(*a), a->name});
        changes.push_back({IN_CREATE | dir_bit(*b), b->name});
      } else if (!b->is_dir && (a->ino != b->ino || a->size != b->size || a->mtime_ns != b->mtime_ns ||
                                a->ctime_ns != b->ctime_ns)) {
        // A changed inode is a replace-on-save (sed -i, vim): for the user it is a change.
        changes.push_back({IN_CLOSE_WRITE, b->name});
      } else if (b->is_dir && a->ino != b->ino) {
        changes.push_back({IN_DELETE | IN_ISDIR, a->name});
        changes.push_back({IN_CREATE | IN_ISDIR, b->name});
      }
      ++a;
      ++b;
    }
  }
  return changes;
}

}  // namespace relive::watch::internal
