// The non-template core of relive::Cell: per-thread hazard slots, retirement, the
// asymmetric (membarrier) fence and the background reclaimer. See include/relive/cell.hpp,
// "Technique", for why it is built this way.
#include "relive/cell.hpp"

#include <linux/membarrier.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <thread>
#include <vector>

namespace relive {
namespace cell_internal {

namespace {
// What t_slots points to when a pin must take the slow path: every slot reads as taken.
// Never written, never scanned (it is not in the registry's list).
constinit ThreadSlots g_no_fast_path{{&g_no_fast_path, &g_no_fast_path, &g_no_fast_path, &g_no_fast_path,
                                      &g_no_fast_path, &g_no_fast_path, &g_no_fast_path, &g_no_fast_path}};
}  // namespace

constinit thread_local ThreadSlots* t_slots = &g_no_fast_path;

namespace {

// More slots for a thread that holds more than kInlineSlots pins at once. Owned by one
// ThreadRecord, pushed by its owner only, never freed (reused with the record).
struct OverflowBlock {
  static constexpr std::size_t kSlots = 16;
  Slot slots[kSlots] = {};
  OverflowBlock* next = nullptr;
};

// One per thread that ever pinned, reused by a later thread once its owner exits. Never
// freed: a pin moved to another thread may still refer to one of its slots.
struct alignas(64) ThreadRecord {
  ThreadSlots inline_slots;
  std::atomic<OverflowBlock*> overflow{nullptr};
  std::atomic<bool> in_use{false};
  ThreadRecord* next = nullptr;  // immutable once the record is linked
};

struct Retired {
  const void* object;
  Deleter deleter;
};

// Process-wide state. Leaked on purpose: cells, pins and the detached reclaimer thread
// may all still use it while static destructors run at exit.
struct Registry {
  std::atomic<ThreadRecord*> records{nullptr};
  std::atomic<std::size_t> record_count{0};
  bool use_membarrier = false;

  // Held by the reclaimer thread while it destroys generations (it runs arbitrary
  // destructors, which allocate and free) and taken by fork_prepare() before `mutex`, so a
  // fork never happens half-way through one: the child would inherit the allocator's lock.
  std::mutex reclaiming;
  std::mutex mutex;  // guards everything below
  std::condition_variable wake;
  std::vector<Retired> pending;  // retired, still held by some pin at the last scan
  bool reclaimer_running = false;
  // Set (under `mutex`) when the reclaimer thread is created, cleared by the thread as its
  // first act: fork_prepare() waits for that, so no fork catches it inside the runtime's
  // thread start-up, which allocates (ASan's does, under its allocator's lock).
  std::atomic<bool> reclaimer_starting{false};

  Registry();
};

void fork_prepare();
void fork_parent();
void fork_child();

Registry& registry() {
  static Registry* const instance = new Registry();
  return *instance;
}

Registry::Registry() {
#if defined(RELIVE_CELL_TSAN)
  // TSan does not model membarrier; readers use seq_cst slot stores instead.
  use_membarrier = false;
#else
  const long supported = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
  use_membarrier = supported > 0 && (supported & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
                   syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
#endif
  pthread_atfork(fork_prepare, fork_parent, fork_child);
}

thread_local ThreadRecord* t_record = nullptr;

// Gives the thread's record back for reuse when the thread exits.
struct ThreadExit {
  ~ThreadExit() {
    if (ThreadRecord* record = t_record) {
      t_record = nullptr;
      t_slots = &g_no_fast_path;
      record->in_use.store(false, std::memory_order_release);
    }
  }
};
thread_local ThreadExit t_exit;

ThreadRecord* register_thread() {
  Registry& reg = registry();  // first: decides use_membarrier before any slot is used
  ThreadRecord* record = nullptr;
  for (ThreadRecord* r = reg.records.load(std::memory_order_acquire); r; r = r->next) {
    bool free = false;
    if (r->in_use.compare_exchange_strong(free, true, std::memory_order_acq_rel)) {
      record = r;
      break;
    }
  }
  if (!record) {
    record = new ThreadRecord();
    record->in_use.store(true, std::memory_order_relaxed);
    ThreadRecord* head = reg.records.load(std::memory_order_relaxed);
    do {
      record->next = head;
    } while (!reg.records.compare_exchange_weak(head, record, std::memory_order_release,
                                                std::memory_order_relaxed));
    reg.record_count.fetch_add(1, std::memory_order_relaxed);
  }
  t_record = record;
  // Without membarrier (or under TSan) every pin takes pin_slow(), which fences.
  if (reg.use_membarrier) t_slots = &record->inline_slots;
  (void)&t_exit;  // odr-use: constructs the exit hook for this thread
  return record;
}

[[maybe_unused]] void fail(const char* what) {
  std::fprintf(stderr, "relive::Cell: %s: %s\n", what, std::strerror(errno));
  std::abort();
}

// Orders every reader's slot store before our following scan (see cell.hpp, Technique).
void heavy_barrier(const Registry& reg) {
#if defined(RELIVE_CELL_TSAN)
  (void)reg;  // seq_cst exchange and seq_cst slot loads do the job
#else
  if (reg.use_membarrier) {
    if (syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0) fail("membarrier");
  } else {
    std::atomic_thread_fence(std::memory_order_seq_cst);
  }
#endif
}

constexpr std::memory_order kScanOrder =
#if defined(RELIVE_CELL_TSAN)
    std::memory_order_seq_cst;
#else
    std::memory_order_acquire;  // pairs with the release in Pin::reset: reads happen-before delete
#endif

std::vector<const void*> collect_hazards(const Registry& reg) {
  std::vector<const void*> hazards;
  auto take = [&](const Slot& slot) {
    if (const void* p = slot.load(kScanOrder)) hazards.push_back(p);
  };
  for (ThreadRecord* r = reg.records.load(std::memory_order_acquire); r; r = r->next) {
    for (const Slot& slot : r->inline_slots.slots) take(slot);
    for (OverflowBlock* b = r->overflow.load(std::memory_order_acquire); b; b = b->next) {
      for (const Slot& slot : b->slots) take(slot);
    }
  }
  std::sort(hazards.begin(), hazards.end());
  return hazards;
}

// Destroys every entry of `batch` that no slot holds; returns the others. No lock held, so a
// destructor may itself publish to a cell.
std::vector<Retired> reclaim_batch(Registry& reg, std::vector<Retired> batch) {
  if (batch.empty()) return batch;
  heavy_barrier(reg);
  const std::vector<const void*> hazards = collect_hazards(reg);
  std::vector<Retired> kept;
  std::vector<Retired> doomed;
  for (const Retired& r : batch) {
    if (std::binary_search(hazards.begin(), hazards.end(), r.object)) {
      kept.push_back(r);
    } else {
      doomed.push_back(r);
    }
  }
  for (const Retired& r : doomed) r.deleter(r.object);
  return kept;
}

void reclaimer_loop(Registry* reg) {
  reg->reclaimer_starting.store(false);
  reg->reclaimer_starting.notify_all();
  using namespace std::chrono_literals;
  constexpr auto kFirstDelay = 1ms;
  constexpr auto kMaxDelay = 16ms;
  auto delay = std::chrono::milliseconds(kFirstDelay);
  std::unique_lock lock(reg->mutex);
  for (;;) {
    if (reg->pending.empty()) {
      reg->wake.wait(lock, [&] { return !reg->pending.empty(); });
      delay = kFirstDelay;
    }
    // Woken early by newly retired generations: harmless, one more scan.
    reg->wake.wait_for(lock, delay);
    std::vector<Retired> batch;
    batch.swap(reg->pending);
    const std::size_t before = batch.size();
    lock.unlock();
    {
      std::lock_guard busy(reg->reclaiming);  // order: reclaiming, then mutex
      std::vector<Retired> kept = reclaim_batch(*reg, std::move(batch));
      lock.lock();
      delay = kept.size() < before ? kFirstDelay : std::min(delay * 2, kMaxDelay);
      reg->pending.insert(reg->pending.end(), kept.begin(), kept.end());
    }  // `kept` is freed before `reclaiming` is released
  }
}

// Puts still-pinned generations where the background reclaimer will retry them.
void defer(Registry& reg, std::vector<Retired> kept) {
  if (kept.empty()) return;
  std::lock_guard lock(reg.mutex);
  const bool was_empty = reg.pending.empty();
  reg.pending.insert(reg.pending.end(), kept.begin(), kept.end());
  if (!reg.reclaimer_running) {
    reg.reclaimer_running = true;
    reg.reclaimer_starting.store(true);
    std::thread(reclaimer_loop, &reg).detach();
  } else if (was_empty) {
    reg.wake.notify_one();
  }
}

void retire(const void* object, Deleter deleter) {
  Registry& reg = registry();
  std::vector<Retired> batch;
  {
    std::lock_guard lock(reg.mutex);
    batch.swap(reg.pending);  // retry the older ones in the same scan
  }
  batch.push_back({object, deleter});
  defer(reg, reclaim_batch(reg, std::move(batch)));
}

// fork(): only the forking thread exists in the child. Keep the registry consistent across
// the fork, drop the other threads' pins in the child and let its reclaimer start afresh.
void fork_prepare() {
  Registry& reg = registry();
  reg.reclaiming.lock();
  reg.mutex.lock();
  // A reclaimer can only be created under `mutex`, so once it is held and none is starting,
  // none will be until the fork is over.
  while (reg.reclaimer_starting.load()) {
    reg.mutex.unlock();
    reg.reclaimer_starting.wait(true);
    reg.mutex.lock();
  }
}
void fork_parent() {
  registry().mutex.unlock();
  registry().reclaiming.unlock();
}
void fork_child() {
  Registry& reg = registry();
  for (ThreadRecord* r = reg.records.load(std::memory_order_relaxed); r; r = r->next) {
    if (r == t_record) continue;
    for (Slot& slot : r->inline_slots.slots) slot.store(nullptr, std::memory_order_relaxed);
    for (OverflowBlock* b = r->overflow.load(std::memory_order_relaxed); b; b = b->next) {
      for (Slot& slot : b->slots) slot.store(nullptr, std::memory_order_relaxed);
    }
    r->in_use.store(false, std::memory_order_relaxed);
  }
  // The parent's reclaimer may have been waiting on this condition variable; it does not
  // exist here, so start from a fresh one rather than one with a phantom waiter.
  new (&reg.wake) std::condition_variable();
  reg.reclaimer_running = false;
#if !defined(RELIVE_CELL_TSAN)
  if (reg.use_membarrier &&
      syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) != 0) {
    fail("membarrier register (after fork)");
  }
#endif
  // Generations still pending are retried by the next publish (which restarts a reclaimer
  // if needed); no thread is started here, in the fork handler.
  reg.mutex.unlock();
  reg.reclaiming.unlock();
}

}  // namespace

namespace {

Slot* find_free_slot() {
  ThreadRecord* record = t_record;
  if (!record) record = register_thread();
  for (Slot& slot : record->inline_slots.slots) {
    if (slot.load(std::memory_order_relaxed) == nullptr) return &slot;
  }
  OverflowBlock* head = record->overflow.load(std::memory_order_relaxed);
  for (OverflowBlock* b = head; b; b = b->next) {
    for (Slot& slot : b->slots) {
      if (slot.load(std::memory_order_relaxed) == nullptr) return &slot;
    }
  }
  auto* block = new OverflowBlock();
  block->next = head;
  record->overflow.store(block, std::memory_order_release);
  return &block->slots[0];
}

}  // namespace

Pinned pin_slow(const std::atomic<const void*>& current, Slot* slot) {
  if (!slot) slot = find_free_slot();
  const bool fence = !registry().use_membarrier;
  const void* seen = current.load(std::memory_order_acquire);
  for (;;) {
#if defined(RELIVE_CELL_TSAN)
    (void)fence;
    slot->store(seen, std::memory_order_seq_cst);
    const void* again = current.load(std::memory_order_seq_cst);
#else
    slot->store(seen, std::memory_order_release);
    if (fence) {
      std::atomic_thread_fence(std::memory_order_seq_cst);
    } else {
      std::atomic_signal_fence(std::memory_order_seq_cst);
    }
    const void* again = current.load(std::memory_order_acquire);
#endif
    if (again == seen) return {seen, slot};
    seen = again;
  }
}

CellCore::CellCore(const void* initial, Deleter deleter) : current_(initial), deleter_(deleter) {
  (void)registry();  // membarrier registered before the first publish can need it
}

CellCore::~CellCore() { retire(current_.load(std::memory_order_acquire), deleter_); }

std::uint64_t CellCore::publish(const void* next) {
  const void* old;
  std::uint64_t version;
  {
    std::lock_guard lock(publish_mutex_);
    old = current_.exchange(next, std::memory_order_seq_cst);
    version = version_.fetch_add(1, std::memory_order_acq_rel) + 1;
  }
  retire(old, deleter_);
  return version;
}

}  // namespace cell_internal

CellStats cell_stats() {
  cell_internal::Registry& reg = cell_internal::registry();
  CellStats stats;
  stats.thread_records = reg.record_count.load(std::memory_order_relaxed);
  stats.membarrier = reg.use_membarrier;
  std::lock_guard lock(reg.mutex);
  stats.retired_pending = reg.pending.size();
  return stats;
}

std::size_t reclaim_retired() {
  cell_internal::Registry& reg = cell_internal::registry();
  std::vector<cell_internal::Retired> batch;
  {
    std::lock_guard lock(reg.mutex);
    batch.swap(reg.pending);
  }
  cell_internal::defer(reg, cell_internal::reclaim_batch(reg, std::move(batch)));
  std::lock_guard lock(reg.mutex);
  return reg.pending.size();
}

}  // namespace relive
