// Cell<T> single-threaded behaviour: what a pin sees, versions, and when each generation is
// destroyed (exactly once, never while pinned, on the publisher or the reclaimer thread).
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "relive/cell.hpp"
#include "test_support.hpp"

namespace {

using relive::Cell;
using relive::Pin;
using relive::test::eventually;

// A generation that counts its constructions and destructions and remembers where it died.
struct Counters {
  std::atomic<int> constructed{0};
  std::atomic<int> destroyed{0};
  std::atomic<std::thread::id> last_destroyer{};
};

struct Tracked {
  Tracked(Counters& c, int v) : counters(&c), value(v) { c.constructed.fetch_add(1); }
  ~Tracked() {
    EXPECT_TRUE(alive) << "generation " << value << " destroyed twice";
    alive = false;
    counters->last_destroyer.store(std::this_thread::get_id());
    counters->destroyed.fetch_add(1);
  }
  Counters* counters;
  int value;
  bool alive = true;
};

std::unique_ptr<const Tracked> make(Counters& c, int v) {
  return std::make_unique<const Tracked>(c, v);
}

TEST(CellLifecycle, PinSeesCurrentAndKeepsItsGeneration) {
  Counters c;
  Cell<Tracked> cell(make(c, 1));
  EXPECT_EQ(cell.version(), 1u);
  Pin<Tracked> old = cell.pin();
  ASSERT_TRUE(old);
  EXPECT_EQ(old->value, 1);

  EXPECT_EQ(cell.publish(make(c, 2)), 2u);
  EXPECT_EQ(cell.version(), 2u);
  EXPECT_EQ(cell.pin()->value, 2);
  EXPECT_EQ(old->value, 1);  // still the old one, still alive
  EXPECT_TRUE(old->alive);
  EXPECT_EQ(c.destroyed.load(), 0);

  old.reset();
  EXPECT_FALSE(old);
  EXPECT_TRUE(eventually([&] { return c.destroyed.load() == 1; }));
}

TEST(CellLifecycle, UnpinnedGenerationIsDestroyedByThePublisherRightAway) {
  Counters c;
  Cell<Tracked> cell(make(c, 1));
  { EXPECT_EQ(cell.pin()->value, 1); }
  cell.publish(make(c, 2));
  EXPECT_EQ(c.destroyed.load(), 1);  // synchronously, inside publish()
  EXPECT_EQ(c.last_destroyer.load(), std::this_thread::get_id());
}

TEST(CellLifecycle, PinnedGenerationIsDestroyedOffThePublisherOnceReleased) {
  Counters c;
  Cell<Tracked> cell(make(c, 1));
  Pin<Tracked> held = cell.pin();
  cell.publish(make(c, 2));
  EXPECT_EQ(c.destroyed.load(), 0);
  EXPECT_GE(relive::reclaim_retired(), 1u);  // still pinned: a scan must keep it
  EXPECT_EQ(c.destroyed.load(), 0);
  held.reset();
  // Nobody calls reclaim_retired(): the background reclaimer must do it.
  ASSERT_TRUE(eventually([&] { return c.destroyed.load() == 1; }));
  EXPECT_NE(c.last_destroyer.load(), std::this_thread::get_id());
}

TEST(CellLifecycle, EveryGenerationDestroyedExactlyOnceIncludingTheLast) {
  Counters c;
  {
    Cell<Tracked> cell(make(c, 0));
    for (int i = 1; i <= 100; ++i) {
      Pin<Tracked> p = cell.pin();
      cell.publish(make(c, i));
      EXPECT_EQ(p->value, i - 1);
    }
  }
  EXPECT_EQ(c.constructed.load(), 101);
  ASSERT_TRUE(eventually([&] { return c.destroyed.load() == 101; }));
}

TEST(CellLifecycle, PinMayOutliveTheCell) {
  Counters c;
  Pin<Tracked> survivor;
  {
    Cell<Tracked> cell(make(c, 7));
    survivor = cell.pin();
  }
  relive::reclaim_retired();
  EXPECT_EQ(c.destroyed.load(), 0);
  EXPECT_EQ(survivor->value, 7);
  survivor = Pin<Tracked>();
  EXPECT_TRUE(eventually([&] { return c.destroyed.load() == 1; }));
}

TEST(CellLifecycle, MovedPinKeepsTheGenerationAndMovedFromIsEmpty) {
  Counters c;
  Cell<Tracked> cell(make(c, 1));
  Pin<Tracked> a = cell.pin();
  Pin<Tracked> b = std::move(a);
  EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): documented as empty
  EXPECT_EQ(a.get(), nullptr);
  cell.publish(make(c, 2));
  relive::reclaim_retired();
  EXPECT_EQ(c.destroyed.load(), 0);
  EXPECT_EQ(b->value, 1);
  Pin<Tracked> d = cell.pin();
  d = std::move(b);  // releases generation 2's pin, takes over generation 1's
  EXPECT_EQ(d->value, 1);
  d.reset();
  EXPECT_TRUE(eventually([&] { return c.destroyed.load() == 1; }));
}

TEST(CellLifecycle, AliasPinKeepsTheWholeGenerationAlive) {
  struct Snapshot {
    Snapshot(Counters* c, std::vector<int> p) : counters(c), ports(std::move(p)) {}
    ~Snapshot() { counters->destroyed.fetch_add(1); }
    Counters* counters;
    std::vector<int> ports;
  };
  Counters c;
  Cell<Snapshot> cell(std::make_unique<const Snapshot>(&c, std::vector<int>{80, 443}));
  Pin<Snapshot> whole = cell.pin();
  const std::vector<int>* ports = &whole->ports;
  Pin<std::vector<int>> part = std::move(whole).alias(ports);
  EXPECT_FALSE(whole);  // NOLINT(bugprone-use-after-move)
  cell.publish(std::make_unique<const Snapshot>(&c, std::vector<int>{8080}));
  relive::reclaim_retired();
  EXPECT_EQ(c.destroyed.load(), 0);
  EXPECT_EQ(part->at(1), 443);
  part.reset();
  EXPECT_TRUE(eventually([&] { return c.destroyed.load() == 1; }));
}

TEST(CellLifecycle, NullGenerationIsRejected) {
  Counters c;
  EXPECT_THROW(Cell<Tracked>(nullptr), std::invalid_argument);
  Cell<Tracked> cell(make(c, 1));
  EXPECT_THROW(cell.publish(nullptr), std::invalid_argument);
  EXPECT_EQ(cell.version(), 1u);
  EXPECT_EQ(cell.pin()->value, 1);
}

TEST(CellLifecycle, NestedPinsBeyondTheInlineSlotsOfOneCell) {
  Counters c;
  Cell<Tracked> cell(make(c, 0));
  std::vector<Pin<Tracked>> pins;
  constexpr int kDepth = 40;  // well past the 8 inline slots: overflow blocks
  for (int i = 0; i < kDepth; ++i) {
    pins.push_back(cell.pin());
    cell.publish(make(c, i + 1));
  }
  relive::reclaim_retired();
  EXPECT_EQ(c.destroyed.load(), 0);
  for (size_t i = 0; i < pins.size(); ++i) EXPECT_EQ(pins[i]->value, static_cast<int>(i));
  // Release out of order: every other one first.
  for (size_t i = 0; i < pins.size(); i += 2) pins[i].reset();
  ASSERT_TRUE(eventually([&] { return c.destroyed.load() == kDepth / 2; }));
  for (size_t i = 1; i < pins.size(); i += 2) EXPECT_TRUE(pins[i]->alive);
  pins.clear();
  EXPECT_TRUE(eventually([&] { return c.destroyed.load() == kDepth; }));
}

TEST(CellLifecycle, PinsOfManyCellsFromOneThread) {
  Counters c;
  constexpr int kCells = 100;
  std::vector<std::unique_ptr<Cell<Tracked>>> cells;
  for (int i = 0; i < kCells; ++i) cells.push_back(std::make_unique<Cell<Tracked>>(make(c, i)));
  std::vector<Pin<Tracked>> pins;
  for (auto& cell : cells) pins.push_back(cell->pin());
  for (size_t i = 0; i < cells.size(); ++i) cells[i]->publish(make(c, 1000 + static_cast<int>(i)));
  relive::reclaim_retired();
  EXPECT_EQ(c.destroyed.load(), 0);
  for (size_t i = 0; i < cells.size(); ++i) {
    EXPECT_EQ(pins[i]->value, static_cast<int>(i));
    EXPECT_EQ(cells[i]->pin()->value, 1000 + static_cast<int>(i));
  }
  pins.clear();
  ASSERT_TRUE(eventually([&] { return c.destroyed.load() == kCells; }));
  cells.clear();
  EXPECT_TRUE(eventually([&] { return c.destroyed.load() == 2 * kCells; }));
}

TEST(CellLifecycle, ExitedThreadsGiveTheirSlotsBack) {
  Counters c;
  Cell<Tracked> cell(make(c, 1));
  { auto warm = cell.pin(); }
  const std::size_t before = relive::cell_stats().thread_records;
  for (int i = 0; i < 50; ++i) {
    std::thread([&] { EXPECT_EQ(cell.pin()->value, 1); }).join();
  }
  // Sequential threads reuse one record (plus possibly the reclaimer's).
  EXPECT_LE(relive::cell_stats().thread_records, before + 2);
}

TEST(CellLifecycle, PinEscapingItsThreadStaysValidAfterTheThreadExits) {
  Counters c;
  Cell<Tracked> cell(make(c, 1));
  Pin<Tracked> escaped;
  std::thread([&] { escaped = cell.pin(); }).join();
  // A new thread may adopt the exited thread's record; the escaped slot must stay held.
  std::thread([&] {
    std::vector<Pin<Tracked>> many;
    for (int i = 0; i < 20; ++i) many.push_back(cell.pin());
  }).join();
  cell.publish(make(c, 2));
  relive::reclaim_retired();
  EXPECT_EQ(c.destroyed.load(), 0);
  EXPECT_EQ(escaped->value, 1);
  escaped.reset();
  EXPECT_TRUE(eventually([&] { return c.destroyed.load() == 1; }));
}

TEST(CellLifecycle, RetiredGenerationsStayBoundedUnderALongPin) {
  Counters c;
  Cell<Tracked> cell(make(c, 0));
  Pin<Tracked> long_request = cell.pin();
  for (int i = 1; i <= 1000; ++i) cell.publish(make(c, i));
  // Only the pinned generation may be waiting; every other one was destroyed on publish.
  EXPECT_EQ(c.destroyed.load(), 999);
  EXPECT_LE(relive::cell_stats().retired_pending, 1u);
  long_request.reset();
  EXPECT_TRUE(eventually([&] { return c.destroyed.load() == 1000; }));
}

TEST(CellLifecycle, ForkedChildKeepsPublishingAndReclaiming) {
#if defined(RELIVE_CELL_TSAN)
  GTEST_SKIP() << "TSan cannot start threads after a multi-threaded fork (die_after_fork)";
#endif
  Counters c;
  Cell<Tracked> cell(make(c, 1));
  Pin<Tracked> parent_pin = cell.pin();  // the forking thread's pin stays valid in the child
  std::atomic<bool> stop{false};
  std::atomic<bool> pinned{false};
  std::thread other([&] {  // another thread's pin: that thread does not exist in the child
    Pin<Tracked> p = cell.pin();
    pinned = true;
    while (!stop) std::this_thread::yield();
  });
  ASSERT_TRUE(eventually([&] { return pinned.load(); }));
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int code = 0;
    cell.publish(make(c, 2));                       // gen 1 held by parent_pin
    if (c.destroyed.load() != 0) code = 10;
    for (int i = 3; i < 10; ++i) cell.publish(make(c, i));
    if (c.destroyed.load() != 7) code = 11;         // gens 2..8
    if (parent_pin->value != 1 || !parent_pin->alive) code = 12;
    parent_pin.reset();
    for (int i = 0; i < 500 && c.destroyed.load() != 8; ++i) usleep(10000);
    if (c.destroyed.load() != 8) code = 13;         // the reclaimer runs in the child too
    if (cell.pin()->value != 9) code = 14;
    _exit(code);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  stop = true;
  other.join();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(parent_pin->value, 1);  // the parent is unaffected
}

}  // namespace
