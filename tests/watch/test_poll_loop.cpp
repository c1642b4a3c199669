// The caller's poll loop: fd() becomes readable when read_batches() has work, and stays
// quiet while nothing happens (no timer armed while idle).
#include <poll.h>

#include "watch_test_util.hpp"

namespace relive::watch::testing {
namespace {

using relive::test::TempDir;
using relive::test::write_file;

std::vector<Batch> wait_batches(Watcher& w) {
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{w.fd(), POLLIN, 0};
    if (::poll(&p, 1, 1000) <= 0) continue;
    auto batches = w.read_batches();
    if (!batches.empty()) return batches;
  }
  return {};
}

TEST(PollLoop, FdSignalsWorkAndStaysQuietWhenIdle) {
  TempDir dir;
  write_file(dir / "app.py", "1");
  Options o;
  o.roots = {dir.path()};
  auto w = Watcher::open(o);
  ASSERT_TRUE(w) << w.error().message;
  pollfd p{(*w)->fd(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 200), 0) << "readable with nothing changed";
  write_file(dir / "app.py", "2");
  auto batches = wait_batches(**w);
  ASSERT_EQ(batches.size(), 1u);
  ASSERT_EQ(batches[0].changes.size(), 1u) << describe(batches[0]);
  EXPECT_EQ(batches[0].changes[0].path, "app.py");
  // After the batch no timer is left armed: the fd stays quiet.
  EXPECT_EQ(::poll(&p, 1, 300), 0) << "readable after the batch with nothing changed";
  EXPECT_TRUE((*w)->read_batches().empty());
}

TEST(PollLoop, ReadBatchesNeverBlocks) {
  TempDir dir;
  Options o;
  o.roots = {dir.path()};
  auto w = Watcher::open(o);
  ASSERT_TRUE(w) << w.error().message;
  EXPECT_TRUE((*w)->read_batches().empty());
}

TEST(PollLoop, SeveralRootsAndAFileRoot) {
  TempDir a;
  TempDir b;
  write_file(b / "settings.yaml", "x: 1");
  write_file(b / "other.yaml", "x: 1");
  Options o;
  o.roots = {a.path(), b / "settings.yaml"};
  Collector w(o);
  ASSERT_TRUE(w.ok()) << w.error();
  write_file(a / "m.py", "1");
  write_file(b / "other.yaml", "x: 2");
  write_file(b / "settings.yaml", "x: 2");
  std::vector<Batch> seen = w.until("", Change::Modified);
  bool saw_m = false;
  for (const auto& batch : seen) {
    for (const auto& c : batch.changes) {
      EXPECT_NE(c.full_path(), b / "other.yaml");
      if (c.full_path() == a / "m.py") saw_m = true;
      if (c.path.empty()) {
        EXPECT_EQ(c.root, b / "settings.yaml");
      }
    }
  }
  if (!saw_m) w.until("m.py", Change::Created);
}

}  // namespace
}  // namespace relive::watch::testing
