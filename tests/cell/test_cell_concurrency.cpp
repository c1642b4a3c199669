// Cell<T> under concurrent pins and publishes: readers never see a torn or destroyed
// generation, every generation is destroyed exactly once, and only after its last pin.
// Meant to be run under TSan and ASan as well (scripts/test tsan|asan).
#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "relive/cell.hpp"
#include "test_support.hpp"

namespace {

using relive::Cell;
using relive::Pin;

constexpr std::uint64_t kAlive = 0xA11CEA11CEull;

std::atomic<long> g_constructed{0};
std::atomic<long> g_destroyed{0};

// Fields that must agree with each other; the destructor scribbles over them so that a read
// after destruction (or of a half-built generation) breaks the invariant. ASan catches the
// freed memory itself.
struct Consistent {
  explicit Consistent(std::uint64_t n) : a(n), b(n * 3 + 1), c(~n), magic(kAlive) {
    g_constructed.fetch_add(1, std::memory_order_relaxed);
  }
  ~Consistent() {
    if (magic != kAlive) ADD_FAILURE() << "generation " << a << " destroyed twice";
    magic = 0;
    a = 1;
    b = 0;
    c = 0;
    g_destroyed.fetch_add(1, std::memory_order_relaxed);
  }
  bool ok() const { return magic == kAlive && b == a * 3 + 1 && c == ~a; }
  std::uint64_t a, b, c, magic;
};

std::unique_ptr<const Consistent> make(std::uint64_t n) {
  return std::make_unique<const Consistent>(n);
}

// With one writer, generations also appear in publish order to each reader; with two
// racing writers only consistency can be checked.
void readers_never_see_a_torn_or_destroyed_generation(std::uint64_t writer_count) {
  const long constructed_before = g_constructed.load();
  const long destroyed_before = g_destroyed.load();
  constexpr int kReaders = 4;
  constexpr std::uint64_t kPublishes = 3000;
  const bool ordered = writer_count == 1;
  std::atomic<bool> done{false};
  std::atomic<long> bad{0};
  std::atomic<long> reordered{0};
  std::atomic<long> reads{0};
  {
    Cell<Consistent> cell(make(0));
    std::vector<std::thread> readers;
    for (int r = 0; r < kReaders; ++r) {
      readers.emplace_back([&, r] {
        std::uint64_t last_seen = 0;
        long n = 0;
        while (!done.load(std::memory_order_relaxed)) {
          Pin<Consistent> outer = cell.pin();
          if (!outer->ok()) bad.fetch_add(1);
          // Versions only move forward for one reader.
          if (ordered && outer->a < last_seen) reordered.fetch_add(1);
          last_seen = outer->a;
          if (r % 2 == 0) {  // some readers nest pins and keep the outer one across
            Pin<Consistent> inner = cell.pin();
            if (!inner->ok()) bad.fetch_add(1);
            if (ordered && inner->a < outer->a) reordered.fetch_add(1);
            std::this_thread::yield();
            if (!outer->ok() || !inner->ok()) bad.fetch_add(1);
          }
          ++n;
        }
        reads.fetch_add(n);
      });
    }
    std::vector<std::thread> writers;
    for (std::uint64_t w = 0; w < writer_count; ++w) {
      writers.emplace_back([&, w] {
        for (std::uint64_t i = 1 + w; i <= kPublishes; i += writer_count) cell.publish(make(i));
      });
    }
    for (auto& t : writers) t.join();
    done = true;
    for (auto& t : readers) t.join();
    EXPECT_EQ(cell.version(), kPublishes + 1);
  }
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(reordered.load(), 0);
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(g_constructed.load() - constructed_before, static_cast<long>(kPublishes + 1));
  ASSERT_TRUE(relive::test::eventually(
      [&] { return g_destroyed.load() - destroyed_before == static_cast<long>(kPublishes + 1); },
      std::chrono::seconds(10)));
  EXPECT_EQ(relive::reclaim_retired(), 0u);
}

TEST(CellConcurrency, ReadersNeverSeeATornOrDestroyedGenerationOneWriter) {
  readers_never_see_a_torn_or_destroyed_generation(1);
}

TEST(CellConcurrency, ReadersNeverSeeATornOrDestroyedGenerationRacingWriters) {
  readers_never_see_a_torn_or_destroyed_generation(2);
}

TEST(CellConcurrency, ManyCellsManyThreadsWithThreadChurn) {
  const long destroyed_before = g_destroyed.load();
  const long constructed_before = g_constructed.load();
  constexpr int kCells = 16;
  std::atomic<bool> done{false};
  std::atomic<long> bad{0};
  {
    std::vector<std::unique_ptr<Cell<Consistent>>> cells;
    for (int i = 0; i < kCells; ++i) cells.push_back(std::make_unique<Cell<Consistent>>(make(0)));
    std::thread writer([&] {
      for (std::uint64_t i = 1; i <= 200; ++i) {
        for (auto& cell : cells) cell->publish(make(i));
      }
      done = true;
    });
    // Short-lived reader threads: each pins every cell at once (past the inline slots),
    // checks them, and exits, so records are handed over between threads all the time.
    while (!done.load()) {
      std::vector<std::thread> readers;
      for (int r = 0; r < 3; ++r) {
        readers.emplace_back([&] {
          std::vector<Pin<Consistent>> pins;
          for (auto& cell : cells) pins.push_back(cell->pin());
          for (auto& p : pins) {
            if (!p->ok()) bad.fetch_add(1);
          }
        });
      }
      for (auto& t : readers) t.join();
    }
    writer.join();
  }
  EXPECT_EQ(bad.load(), 0);
  const long made = g_constructed.load() - constructed_before;
  EXPECT_EQ(made, kCells * 201);
  ASSERT_TRUE(relive::test::eventually(
      [&] { return g_destroyed.load() - destroyed_before == made; }, std::chrono::seconds(10)));
}

}  // namespace
