#include "poll_backend.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <dirent.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <unordered_map>

#include "backend.hpp"
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
    entry.mtime_ns = int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
    entry.ctime_ns = int64_t{st.st_ctim.tv_sec} * 1000000000 + st.st_ctim.tv_nsec;
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
  auto dir_bit = [](const PollEntry& e) -> uint32_t { return e.is_dir ? mask::kIsDir : 0; };
  while (a != before.entries.end() || b != after.entries.end()) {
    if (b == after.entries.end() || (a != before.entries.end() && a->name < b->name)) {
      changes.push_back({mask::kDelete | dir_bit(*a), a->name});
      ++a;
    } else if (a == before.entries.end() || b->name < a->name) {
      changes.push_back({mask::kCreate | dir_bit(*b), b->name});
      ++b;
    } else {
      if (a->is_dir != b->is_dir) {
        changes.push_back({mask::kDelete | dir_bit(*a), a->name});
        changes.push_back({mask::kCreate | dir_bit(*b), b->name});
      } else if (!b->is_dir && (a->ino != b->ino || a->size != b->size || a->mtime_ns != b->mtime_ns ||
                                a->ctime_ns != b->ctime_ns)) {
        // A changed inode is a replace-on-save (sed -i, vim): for the user it is a change.
        changes.push_back({mask::kCloseWrite, b->name});
      } else if (b->is_dir && a->ino != b->ino) {
        changes.push_back({mask::kDelete | mask::kIsDir, a->name});
        changes.push_back({mask::kCreate | mask::kIsDir, b->name});
      }
      ++a;
      ++b;
    }
  }
  return changes;
}

namespace {

class PollBackend final : public Backend {
 public:
  explicit PollBackend(int first_wd) : next_wd_(first_wd) {}

  int fd() const override { return -1; }
  bool notifies() const override { return false; }

  int add_watch(const std::string& path, uint32_t watch_mask) override {
    if (auto it = by_path_.find(path); it != by_path_.end()) {
      Watch& w = watches_.at(it->second);
      if (watch_mask & mask::kMaskAdd) {
        w.mask |= watch_mask;  // another consumer of the same directory: its snapshot stays
      } else {
        // Watched again (a reconcile): start from what is there now, as inotify would.
        if (!take_snapshot(path, w.snapshot)) return -1;
        w.mask = watch_mask;
      }
      return it->second;
    }
    Watch w{path, watch_mask, {}};
    if (!take_snapshot(path, w.snapshot)) return -1;  // errno from opening it
    const int wd = next_wd_++;
    by_path_.emplace(path, wd);
    watches_.emplace(wd, std::move(w));
    return wd;
  }

  void remove_watch(int wd) override {
    auto it = watches_.find(wd);
    if (it == watches_.end()) return;
    by_path_.erase(it->second.path);
    watches_.erase(it);
    queued_.push_back(RawEvent{wd, mask::kIgnored, 0, {}});
  }

  bool list(int wd, const std::string& path, std::vector<DirEntry>& out) override {
    auto it = watches_.find(wd);
    if (it == watches_.end()) return list_dir(path, out);
    for (const auto& e : it->second.snapshot.entries) {
      out.push_back(DirEntry{e.name, static_cast<unsigned char>(e.is_dir ? DT_DIR : e.is_link ? DT_LNK : DT_REG)});
    }
    return true;
  }

  void read_events(std::vector<RawEvent>& out) override { flush_queued(out); }

  // In descriptor order, which is creation order: a directory before those found in it.
  void poll(std::vector<RawEvent>& out) override {
    flush_queued(out);
    for (auto it = watches_.begin(); it != watches_.end();) {
      Watch& w = it->second;
      PollSnapshot now;
      if (!take_snapshot(w.path, now)) {
        // Gone (its parent's snapshot reports it by name): the end of this watch.
        if (w.mask & mask::kDeleteSelf) out.push_back(RawEvent{it->first, mask::kDeleteSelf, 0, {}});
        out.push_back(RawEvent{it->first, mask::kIgnored, 0, {}});
        by_path_.erase(w.path);
        it = watches_.erase(it);
        continue;
      }
      for (const auto& c : diff_snapshots(w.snapshot, now)) {
        if (c.mask & w.mask & ~mask::kIsDir) out.push_back(RawEvent{it->first, c.mask, 0, c.name});
      }
      w.snapshot = std::move(now);
      ++it;
    }
  }

 private:
  struct Watch {
    std::string path;
    uint32_t mask;
    PollSnapshot snapshot;
  };

  void flush_queued(std::vector<RawEvent>& out) {
    out.insert(out.end(), queued_.begin(), queued_.end());
    queued_.clear();
  }

  int next_wd_;
  std::map<int, Watch> watches_;
  std::unordered_map<std::string, int> by_path_;
  std::vector<RawEvent> queued_;  // kIgnored of removed watches, delivered with the next events
};

}  // namespace

std::unique_ptr<Backend> make_poll_backend(int first_wd) { return std::make_unique<PollBackend>(first_wd); }

}  // namespace relive::watch::internal
