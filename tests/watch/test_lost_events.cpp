// Nothing is silently lost: a queue overflow ends in a rescan the consumer is told about;
// running out of watches is reported once and the rest is polled; forced polling works.
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>

#include <fstream>
#include <set>

#include "relive/internal/watch_testing.hpp"
#include "watch_test_util.hpp"

namespace relive::watch::testing {
namespace {

using relive::test::TempDir;
using relive::test::write_file;

size_t max_queued_events() {
  std::ifstream in("/proc/sys/fs/inotify/max_queued_events");
  size_t n = 0;
  in >> n;
  return n;
}

// Collects batches from the poll-loop interface until `done` says stop (or 10 s pass).
std::vector<Batch> pump(Watcher& w, const std::function<bool(const std::vector<Batch>&)>& done) {
  std::vector<Batch> all;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!done(all) && std::chrono::steady_clock::now() < deadline) {
    pollfd p{w.fd(), POLLIN, 0};
    ::poll(&p, 1, 100);
    for (auto& b : w.read_batches()) all.push_back(std::move(b));
  }
  return all;
}

TEST(LostEvents, QueueOverflowTriggersAFlaggedRescan) {
  size_t limit = max_queued_events();
  if (limit == 0 || limit > 100000) GTEST_SKIP() << "max_queued_events is " << limit << ": too many files to fill";
  TempDir dir;
  Options o;
  o.roots = {dir.path()};
  auto w = Watcher::open(o);
  ASSERT_TRUE(w) << w.error().message;
  // Not reading while changing the times of two files in turn: one IN_ATTRIB each (the
  // kernel merges only identical consecutive events), more than the queue holds.
  write_file(dir / "a", "");
  write_file(dir / "b", "");
  for (size_t i = 0; i < limit + 100; ++i) {
    timespec times[2] = {{0, UTIME_NOW}, {static_cast<time_t>(i), 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, (dir / (i % 2 ? "a" : "b")).c_str(), times, 0), 0);
  }
  fs::create_directory(dir / "made-during-overflow");  // its watch is added by the rescan
  auto batches = pump(**w, [](const std::vector<Batch>& all) {
    for (const auto& b : all) {
      if (b.rescan) return true;
    }
    return false;
  });
  bool rescan = false;
  for (const auto& b : batches) {
    if (b.rescan) {
      rescan = true;
      EXPECT_NE(b.rescan_reason.find("events were lost"), std::string::npos) << b.rescan_reason;
    }
  }
  ASSERT_TRUE(rescan);
  EXPECT_EQ((*w)->watch_count(), 2u);
  write_file(dir / "made-during-overflow" / "x", "1");
  auto later = pump(**w, [](const std::vector<Batch>& all) {
    for (const auto& b : all) {
      if (find(b, "made-during-overflow/x")) return true;
    }
    return false;
  });
  EXPECT_FALSE(later.empty());
}

TEST(LostEvents, ForcedPollingDetectsChanges) {
  TempDir dir;
  write_file(dir / "src" / "app.py", "1");
  write_file(dir / "src" / "gone.py", "1");
  Options o;
  o.roots = {dir.path()};
  o.poll_interval = 50ms;
  Collector w(o);
  ASSERT_TRUE(w.ok()) << w.error();
  EXPECT_EQ(w.watcher().watch_count(), 0u);
  EXPECT_EQ(w.watcher().polled_count(), 2u);
  write_file(dir / "src" / "app.py", "22");
  fs::remove(dir / "src" / "gone.py");
  write_file(dir / "src" / "new" / "n.py", "1");
  std::vector<Batch> seen = w.until("src/new/n.py", Change::Created);
  auto all = [&](std::string_view path) -> const PathChange* {
    for (const auto& b : seen) {
      if (auto* c = find(b, path)) return c;
    }
    return nullptr;
  };
  ASSERT_NE(all("src/app.py"), nullptr);
  EXPECT_EQ(all("src/app.py")->change, Change::Modified);
  ASSERT_NE(all("src/gone.py"), nullptr);
  EXPECT_EQ(all("src/gone.py")->change, Change::Removed);
  EXPECT_EQ(w.watcher().polled_count(), 3u);
  // A replace-on-save (new inode, same size and maybe same mtime second) is a change too.
  write_file(dir / "src" / "tmp", "33");
  fs::rename(dir / "src" / "tmp", dir / "src" / "app.py");
  w.until("src/app.py", Change::Modified);
}

TEST(LostEvents, OutOfWatchesWarnsOnceAndPollsTheRest) {
  TempDir dir;
  for (int i = 0; i < 6; ++i) write_file(dir / ("d" + std::to_string(i)) / "f.py", "1");
  Options o;
  o.roots = {dir.path()};
  o.fallback_poll_interval = 50ms;
  relive::watch::internal::limit_watches_for_testing(3);
  Collector w(o);
  relive::watch::internal::limit_watches_for_testing(0);  // read when the watcher opened
  ASSERT_TRUE(w.ok()) << w.error();
  EXPECT_EQ(w.watcher().watch_count(), 3u);
  EXPECT_EQ(w.watcher().polled_count(), 4u);
  auto warnings = w.warnings();
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("fs.inotify.max_user_watches"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find("needs 7"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find("is 3"), std::string::npos) << warnings[0];
  // Every directory still reports changes: watched ones by inotify, the rest by polling.
  for (int i = 0; i < 6; ++i) write_file(dir / ("d" + std::to_string(i)) / "f.py", "22");
  std::set<std::string> modified;
  ASSERT_TRUE(relive::test::eventually([&] {
    while (auto b = w.next(10ms)) {
      for (const auto& c : b->changes) {
        if (c.change == Change::Modified) modified.insert(c.path);
      }
    }
    return modified.size() == 6;
  }, 10s)) << modified.size();
  EXPECT_EQ(w.warnings().size(), 1u);
}

}  // namespace
}  // namespace relive::watch::testing
