// The front end's record ring against a simple model: whatever the mix of sizes, it holds
// the newest records, whole and in order, within its count and byte bounds.
#include <gtest/gtest.h>

#include <cstring>
#include <deque>
#include <random>

#include "relive/burst.hpp"

namespace relive::burst::detail {
namespace {

struct Pushed {
  uint32_t id;
  size_t bytes;
};

void push(Ring& ring, uint32_t id, size_t bytes) {
  std::byte* p = ring.allocate(bytes);
  RecordHeader h{};
  h.prefix = {static_cast<uint32_t>(bytes), 1, 0, 0};
  h.time_ns = id;
  std::memcpy(p, &h, sizeof h);
  // Fill the rest with the id's low byte, to catch one record overwriting another.
  std::memset(p + sizeof h, static_cast<int>(id & 0xff), bytes - sizeof h);
}

TEST(Ring, HoldsTheNewestRecordsWholeAndInOrder) {
  std::mt19937 rng(12345);
  for (size_t capacity : {512u, 1000u, 4096u}) {
    for (size_t max_records : {1u, 3u, 50u, 512u}) {
      Ring ring(capacity, max_records);
      std::vector<Pushed> pushed;
      for (uint32_t id = 1; id <= 3000; ++id) {
        const size_t bytes = round_up8(sizeof(RecordHeader) + rng() % 200);
        if (bytes > ring.capacity()) continue;
        push(ring, id, bytes);
        pushed.push_back({id, bytes});
        std::vector<std::pair<uint32_t, bool>> seen;  // id, payload intact
        ring.for_each([&](const RecordHeader& h) {
          const auto* bytes_after = reinterpret_cast<const unsigned char*>(&h + 1);
          bool intact = true;
          for (size_t i = 0; i < h.prefix.size - sizeof h; ++i) {
            intact = intact && bytes_after[i] == (h.time_ns & 0xff);
          }
          seen.emplace_back(static_cast<uint32_t>(h.time_ns), intact);
        });
        ASSERT_EQ(seen.size(), ring.size());
        ASSERT_LE(seen.size(), max_records);
        ASSERT_FALSE(seen.empty());
        // A suffix of what was pushed, the newest last.
        size_t kept_bytes = 0;
        for (size_t k = 0; k < seen.size(); ++k) {
          const Pushed& expected = pushed[pushed.size() - seen.size() + k];
          ASSERT_EQ(seen[k].first, expected.id) << "capacity " << capacity << " max " << max_records;
          ASSERT_TRUE(seen[k].second) << "record " << expected.id << " overwritten";
          kept_bytes += expected.bytes;
        }
        ASSERT_LE(kept_bytes, ring.capacity());
        // Nothing evicted needlessly: keeping one more would break a bound (allowing for
        // the padding a wrap may waste, at most one record's worth).
        if (seen.size() < pushed.size() && seen.size() < max_records) {
          const size_t next_older = pushed[pushed.size() - seen.size() - 1].bytes;
          ASSERT_GT(kept_bytes + next_older + round_up8(sizeof(RecordHeader) + 200), ring.capacity());
        }
        if (rng() % 97 == 0) {
          ring.clear();
          pushed.clear();
        }
      }
    }
  }
}

}  // namespace
}  // namespace relive::burst::detail
