// relive/cell.hpp — the generation primitive: one current immutable T, read through a pin
// that costs about as much as loading a plain pointer, replaced atomically by publish(),
// each old generation destroyed once the last pin that holds it is released.
//
// A Cell<T> is what every reloadable thing in relive is built on (docs/architecture.md, "generations"):
// the configuration snapshot, a resource built from it, a loaded module. Readers pin the
// current generation for one unit of work (a request, a job) and so never see a mix of old
// and new; a writer builds the next generation off to the side and publishes it in one step.
//
// Example:
//   struct Limits { int per_second; int burst; };
//   relive::Cell<Limits> limits(std::make_unique<const Limits>(Limits{100, 20}));
//
//   // Any reader thread, per request:
//   relive::Pin<Limits> pin = limits.pin();          // this generation stays alive ...
//   admit(pin->per_second, pin->burst);              // ... and consistent ...
//   // ... until `pin` goes out of scope.
//
//   // Any writer thread:
//   limits.publish(std::make_unique<const Limits>(Limits{200, 40}));
//
// Guarantees
//   - A pin never observes a partially built generation: publish() takes a finished object
//     and swaps it in with one atomic store; a pin sees the old one or the new one.
//   - A pinned generation is never destroyed while the pin lives; it is destroyed exactly
//     once, after its last pin is released (pins may outlive the Cell itself).
//   - Destruction runs on the publishing thread (right after the swap, if nobody holds the
//     old generation) or on relive's background reclaimer thread (if somebody still did),
//     never inside pin() or a pin's destructor. The reclaimer retries with a back-off of
//     1 ms doubling to 16 ms, so a generation is destroyed within ~16 ms (plus scheduling)
//     of its last pin being released, and the thread sleeps while nothing is pending.
//   - Memory is bounded: retired generations wait only while a pin holds them; per-thread
//     state (128 bytes, more only while a thread holds more than 8 pins at once) is reused
//     by later threads when a thread exits.
//
// Technique, and why (hazard pointers with an asymmetric fence)
//   Each thread owns a small array of "hazard slots" on its own cache line. pin() loads the
//   current pointer, stores it into a free slot of the calling thread, and re-loads the
//   current pointer to check that it did not change meanwhile (retrying if it did). A pin's
//   destructor stores null into the slot. So a read touches only the cell's pointer (read,
//   shared by all readers, never written by them) and the reader's own slot: no reference
//   count, no shared cache line written per read — it scales across cores, unlike
//   std::atomic<std::shared_ptr> (an atomic RMW on a shared count per load) or a mutex.
//   The reader's store-then-reload must not be reordered by the CPU against the writer's
//   swap-then-scan; instead of a fence on every read, the writer issues
//   membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED), which makes every running thread of the
//   process execute a full barrier — so readers need only a compiler barrier. The writer
//   then scans all threads' slots and destroys each retired generation that no slot holds.
//   If membarrier is unavailable (old kernel, seccomp), detected once at start, readers
//   fall back to a seq_cst fence per pin. Under ThreadSanitizer (which does not understand
//   membarrier) readers and writers use seq_cst operations on the slots instead.
//   Why not the alternatives: per-thread cached pointers with an epoch need every reader
//   to check in before anything can be freed, so one idle reader thread blocks reclamation
//   and memory is not bounded; liburcu's RCU needs every reader thread registered and
//   unregistered by hand and its grace periods wait on all readers, not only the ones that
//   hold the old generation; a hazard slot protects exactly the pinned generation and
//   needs nothing from threads that never pin.
//   What a pin costs, and what is left (bench/bench_cell.sh): about four cycles, ~2x a plain
//   pointer load — the thread's slot pointer, a check that its first slot is free, the
//   load/store/re-load of the cell's pointer, and the release store. The free-slot check
//   (~0.25 ns) is what lets pins nest; dropping it would make a second pin on a thread
//   overwrite the first one's hazard. Keeping the slots in the thread's own TLS block would
//   save the slot-pointer load but free them at thread exit, which a pin moved to (and
//   outliving) another thread must survive. Neither is worth its price.
//
// Threads
//   Cell: pin(), publish() and version() may be called from any thread, concurrently.
//   Pin: one pin is used by one thread at a time; it may be moved to, and released on,
//   another thread (its slot stays reserved until then). A thread that holds many pins at
//   once (nested pins of one cell, pins of many cells) gets more slots automatically.
//   fork(): the child keeps working; pins held by the parent's other threads are dropped
//   in the child (those threads do not exist there), the forking thread's pins stay valid.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <utility>

#if defined(__SANITIZE_THREAD__)
#define RELIVE_CELL_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RELIVE_CELL_TSAN 1
#endif
#endif

namespace relive {

template <class T>
class Cell;

// Counters for diagnostics and tests (relive-wide, all cells together).
struct CellStats {
  std::size_t thread_records = 0;    // per-thread slot arrays ever created (reused on exit)
  std::size_t retired_pending = 0;   // retired generations still held by some pin
  bool membarrier = false;           // readers pay no fence (see "Technique" above)
};
// Any thread.
CellStats cell_stats();

// Tries once, on the calling thread, to destroy every retired generation no pin holds any
// more, and returns how many are still pending. The background reclaimer does this on its
// own; call it to make destruction deterministic (tests, orderly shutdown). Any thread.
std::size_t reclaim_retired();

// Implementation details the templates below use (not API).
#include "relive/internal/cell_core.hpp"  // IWYU pragma: export

// A handle that keeps one generation of a Cell<T> alive (see the top of this file).
// Movable, not copyable. An empty Pin (default-constructed or moved-from) holds nothing.
template <class T>
class Pin {
 public:
  Pin() noexcept = default;
  Pin(Pin&& other) noexcept
      : ptr_(std::exchange(other.ptr_, nullptr)), slot_(std::exchange(other.slot_, nullptr)) {}
  Pin& operator=(Pin&& other) noexcept {
    if (this != &other) {
      reset();
      ptr_ = std::exchange(other.ptr_, nullptr);
      slot_ = std::exchange(other.slot_, nullptr);
    }
    return *this;
  }
  Pin(const Pin&) = delete;
  Pin& operator=(const Pin&) = delete;
  ~Pin() { reset(); }

  // The pinned generation; valid while this pin lives. Null only for an empty pin.
  const T* get() const noexcept { return ptr_; }
  const T* operator->() const noexcept { return ptr_; }
  const T& operator*() const noexcept { return *ptr_; }
  explicit operator bool() const noexcept { return ptr_ != nullptr; }

  // Releases the generation now (the pin becomes empty). Never blocks, never destroys.
  void reset() noexcept {
    if (slot_) cell_internal::release_slot(slot_);
    ptr_ = nullptr;
    slot_ = nullptr;
  }

  // Turns this pin into a pin of a part of the pinned generation (a member, a sub-object),
  // like shared_ptr's aliasing constructor: the whole generation stays alive while the
  // returned pin lives. `part` must point into the pinned generation (or be owned by it).
  // Example: const DbConfig* db = &snapshot->db;
  //          Pin<DbConfig> db_pin = std::move(snapshot).alias(db);   // snapshot is now empty
  template <class U>
  Pin<U> alias(const U* part) && noexcept {
    Pin<U> out;
    out.ptr_ = part;
    out.slot_ = std::exchange(slot_, nullptr);
    ptr_ = nullptr;
    return out;
  }

 private:
  template <class>
  friend class Cell;
  template <class>
  friend class Pin;
  Pin(const T* ptr, cell_internal::Slot* slot) noexcept : ptr_(ptr), slot_(slot) {}

  const T* ptr_ = nullptr;
  cell_internal::Slot* slot_ = nullptr;
};

// Holds the current generation of an immutable T (see the top of this file).
// Not copyable or movable (pins refer to it only while pinning; they may outlive it).
template <class T>
class Cell {
 public:
  // Starts with `initial` as version 1. A null `initial` is a programming error:
  // throws std::invalid_argument.
  explicit Cell(std::unique_ptr<const T> initial)
      : core_(checked(std::move(initial)), &destroy) {}
  // Retires the current generation; it is destroyed once no pin holds it.
  ~Cell() = default;
  Cell(const Cell&) = delete;
  Cell& operator=(const Cell&) = delete;

  // Pins the current generation. Any thread; wait-free unless a publish lands between its
  // two loads (then it retries); writes only the calling thread's own slot. Allocates only
  // on a thread's first pin and when a thread holds more than 8 pins at once: may throw
  // std::bad_alloc only then.
  Pin<T> pin() const {
    const cell_internal::Pinned pinned = core_.pin();
    // Never null; saying so lets the compiler drop the pin destructor's empty-pin check.
    if (pinned.slot == nullptr) __builtin_unreachable();
    return Pin<T>(static_cast<const T*>(pinned.object), pinned.slot);
  }

  // Makes `next` the current generation, atomically, and returns its version. The old one
  // is retired: destroyed here, now, if no pin holds it, else by the background reclaimer
  // after its last pin is released. Any thread; concurrent publishes are serialized.
  // A null `next` is a programming error: throws std::invalid_argument.
  std::uint64_t publish(std::unique_ptr<const T> next) {
    return core_.publish(checked(std::move(next)));
  }

  // The version of the current generation: 1 for the initial one, +1 per publish.
  // Any thread. (To know the version of what you pinned, put it inside T.)
  std::uint64_t version() const noexcept { return core_.version(); }

 private:
  static const T* checked(std::unique_ptr<const T> p) {
    if (!p) throw std::invalid_argument("relive::Cell: a generation must not be null");
    return p.release();
  }
  static void destroy(const void* p) { delete static_cast<const T*>(p); }

  cell_internal::CellCore core_;
};

}  // namespace relive
