// relive/internal/cell_core.hpp — implementation detail of relive/cell.hpp: the pin fast path
// (per-thread slots, Pinned) and CellCore, the type-erased publish/retire machinery that
// Cell<T> and Pin<T> are thin wrappers over.
// Not part of the API: installed only because Cell<T> and Pin<T> expand to it; nothing outside relive
// includes it directly, and it may change in any release. relive/cell.hpp includes it
// inside its namespace, after the declarations it uses: it is not a standalone header.
#pragma once

namespace cell_internal {

using Slot = std::atomic<const void*>;
using Deleter = void (*)(const void*);

// The hazard slots a thread owns, one cache line, so that readers never share a written
// line. A null slot is free; only the owning thread stores a non-null value into it.
inline constexpr std::size_t kInlineSlots = 8;
struct alignas(64) ThreadSlots {
  Slot slots[kInlineSlots] = {};
};

// The calling thread's slots when the fast path may be used (membarrier available, not
// under TSan). Otherwise, and before the thread's first pin, it points to a shared record
// whose slots all read as taken, so the one occupancy check below also sends those cases
// to pin_slow() and the fast path needs no null test. constinit: no TLS wrapper.
extern constinit thread_local ThreadSlots* t_slots;

struct Pinned {
  const void* object;
  Slot* slot;
};

// Everything but the common case: a thread's first pin (registers it), more than two pins
// held at once (searches/extends its slots), a publish racing with this pin (retries),
// readers that need a real fence (no membarrier, or TSan). `slot` is one of the calling
// thread's free slots, or null to find one. May throw std::bad_alloc (first pin, overflow).
[[gnu::cold]] Pinned pin_slow(const std::atomic<const void*>& current, Slot* slot);

// The common case, inline: two loads of the cell's pointer and one store to the calling
// thread's own slot, no fence (the writer's membarrier stands in for it).
inline Pinned pin(const std::atomic<const void*>& current) {
  ThreadSlots* own = t_slots;
  Slot* slot = &own->slots[0];
  if (slot->load(std::memory_order_relaxed) != nullptr) [[unlikely]] {
    slot = &own->slots[1];
    if (slot->load(std::memory_order_relaxed) != nullptr) return pin_slow(current, nullptr);
  }
  const void* seen = current.load(std::memory_order_acquire);
  slot->store(seen, std::memory_order_release);
  // Compiler barrier only: the writer's membarrier orders the store above before the
  // reload below on the CPU (see "Technique").
  std::atomic_signal_fence(std::memory_order_seq_cst);
  if (current.load(std::memory_order_acquire) == seen) [[likely]] return {seen, slot};
  return pin_slow(current, slot);
}

inline void release_slot(Slot* slot) noexcept { slot->store(nullptr, std::memory_order_release); }

// The non-template part of Cell<T>: a type-erased pointer, its deleter, the version.
class CellCore {
 public:
  CellCore(const void* initial, Deleter deleter);
  ~CellCore();  // retires the current generation (destroyed once unpinned)
  CellCore(const CellCore&) = delete;
  CellCore& operator=(const CellCore&) = delete;

  Pinned pin() const { return cell_internal::pin(current_); }
  std::uint64_t publish(const void* next);
  std::uint64_t version() const noexcept { return version_.load(std::memory_order_acquire); }

 private:
  alignas(64) std::atomic<const void*> current_;  // own line: readers only ever read it
  Deleter deleter_;
  std::atomic<std::uint64_t> version_{1};
  std::mutex publish_mutex_;  // keeps versions in publish order
};

}  // namespace cell_internal
