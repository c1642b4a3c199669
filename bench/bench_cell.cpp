// Cell<T>::pin() + read against its peers and the floor, side by side, in one run:
//
//   PlainAtomicPointer   load an std::atomic<const T*> and read a field — the floor
//   CellPin              relive::Cell<T>::pin(), read a field, release the pin
//   AtomicSharedPtr      std::atomic<std::shared_ptr<const T>>::load(), read, drop
//   MutexSharedPtr       lock a mutex, copy a shared_ptr, unlock, read, drop
//   ConfigBinding        relive::config::Binding<T>::pin() (a typed section of a live
//                        Config), read a field — its writer reloads the Config 1,000/s
//   ConfigPinGet         Config::pin() then get<int64_t>("limits.limit"): the untyped
//                        path, a key lookup in the snapshot's tree on every read
//
// each with 1 and 2 reader threads while one background writer publishes a new generation
// into every one of them 1,000 times per second (the same writer for all rows, running
// for the whole program). The floor's writer alternates between two preallocated objects:
// it pays for no reclamation at all, which is what makes it the floor.
//
// Run:   build/bench/bench_cell --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
// Table: bench/bench_cell.sh  (median ns/op and the ratio to the floor)
#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "relive/cell.hpp"
#include "relive/config.hpp"

#include <spdlog/spdlog.h>

namespace {

struct Settings {
  std::int64_t limit;
  std::int64_t burst;
  char padding[48];
};

std::unique_ptr<const Settings> make_settings(std::int64_t n) {
  return std::make_unique<const Settings>(Settings{n, n * 2, {}});
}

// Each shared structure on its own cache line, so rows do not disturb one another.
struct alignas(64) PlainSlot {
  std::atomic<const Settings*> current{nullptr};
};
struct alignas(64) SharedSlot {
  std::atomic<std::shared_ptr<const Settings>> current;
};
struct alignas(64) MutexSlot {
  std::mutex mutex;
  std::shared_ptr<const Settings> current;
};

// The typed section read through a Config binding (from the environment, reloaded 1,000/s).
struct BenchLimits {
  std::int64_t limit = 0;
  std::int64_t burst = 0;
};
void from_config(const relive::config::Node& n, BenchLimits& out) {
  out.limit = n.get<std::int64_t>("limit", 0);
  out.burst = n.get<std::int64_t>("burst", 0);
}
constexpr const char* kEnvPrefix = "RELIVEBENCH";

PlainSlot g_plain;
Settings g_plain_objects[2] = {{0, 0, {}}, {1, 2, {}}};
SharedSlot g_shared;
MutexSlot g_mutexed;
relive::Cell<Settings> g_cell(make_settings(1));  // a global, like g_plain: no extra indirection

// Forces `value` into a register (so the field really is loaded, which GCC 12 may skip with
// benchmark::DoNotOptimize's "+m" constraint) and, like DoNotOptimize, clobbers memory.
inline void use(std::int64_t value) { asm volatile("" : : "r"(value) : "memory"); }

void BM_PlainAtomicPointer(benchmark::State& state) {
  for (auto _ : state) {
    const Settings* s = g_plain.current.load(std::memory_order_acquire);
    use(s->limit);
  }
}

void BM_CellPin(benchmark::State& state) {
  for (auto _ : state) {
    relive::Pin<Settings> pin = g_cell.pin();
    use(pin->limit);
  }
}

void BM_AtomicSharedPtr(benchmark::State& state) {
  for (auto _ : state) {
    std::shared_ptr<const Settings> s = g_shared.current.load(std::memory_order_acquire);
    use(s->limit);
  }
}

void BM_MutexSharedPtr(benchmark::State& state) {
  for (auto _ : state) {
    std::shared_ptr<const Settings> s;
    {
      std::lock_guard lock(g_mutexed.mutex);
      s = g_mutexed.current;
    }
    use(s->limit);
  }
}

std::optional<relive::config::Config> g_config;
std::optional<relive::config::Binding<BenchLimits>> g_binding;

void BM_ConfigBinding(benchmark::State& state) {
  for (auto _ : state) {
    auto pinned = g_binding->pin();
    use(pinned->limit);
  }
}

void BM_ConfigPinGet(benchmark::State& state) {
  for (auto _ : state) {
    auto snapshot = g_config->pin();
    use(snapshot->get<std::int64_t>("limits.limit", 0));
  }
}

BENCHMARK(BM_PlainAtomicPointer)->Threads(1)->Threads(2);
BENCHMARK(BM_CellPin)->Threads(1)->Threads(2);
BENCHMARK(BM_AtomicSharedPtr)->Threads(1)->Threads(2);
BENCHMARK(BM_MutexSharedPtr)->Threads(1)->Threads(2);
BENCHMARK(BM_ConfigBinding)->Threads(1)->Threads(2);
BENCHMARK(BM_ConfigPinGet)->Threads(1)->Threads(2);

// Publishes a new generation 1,000 times per second: into every raw structure
// (Writer::Raw), or as a new Config version through the environment and reload()
// (Writer::Config, its own thread so a slow reload does not delay the others).
class Writer {
 public:
  enum Kind { Raw, Config };
  explicit Writer(Kind kind) : kind_(kind), thread_([this] { run(); }) {}
  ~Writer() {
    stop_ = true;
    thread_.join();
  }
  std::uint64_t publishes() const { return publishes_; }

 private:
  void run() {
    auto next = std::chrono::steady_clock::now();
    for (std::int64_t n = 2; !stop_; ++n) {
      next += std::chrono::milliseconds(1);
      std::this_thread::sleep_until(next);
      if (kind_ == Config) {
        setenv("RELIVEBENCH_LIMITS__LIMIT", std::to_string(n).c_str(), 1);
        auto reloaded = g_config->reload();
        if (reloaded && *reloaded) ++publishes_;
        continue;
      }
      g_plain.current.store(&g_plain_objects[n % 2], std::memory_order_release);
      g_cell.publish(make_settings(n));
      g_shared.current.store(std::shared_ptr<const Settings>(make_settings(n)),
                             std::memory_order_release);
      {
        std::shared_ptr<const Settings> fresh(make_settings(n));
        std::lock_guard lock(g_mutexed.mutex);
        g_mutexed.current.swap(fresh);
      }  // the old one is released outside the lock, as a careful writer would
      ++publishes_;
    }
  }

  const Kind kind_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> publishes_{0};
  std::thread thread_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  g_plain.current.store(&g_plain_objects[1]);
  g_shared.current.store(std::shared_ptr<const Settings>(make_settings(1)));
  g_mutexed.current = make_settings(1);

  spdlog::set_level(spdlog::level::warn);  // the Config logs every version at info
  setenv("RELIVEBENCH_LIMITS__LIMIT", "1", 1);
  setenv("RELIVEBENCH_LIMITS__BURST", "2", 1);
  relive::config::Options options;
  options.sources = {relive::config::env(kEnvPrefix)};
  options.watch = false;
  auto config = relive::config::Config::open(std::move(options));
  if (!config) {
    std::fprintf(stderr, "bench_cell: %s\n", config.error().message.c_str());
    return 1;
  }
  g_config.emplace(std::move(*config));
  auto binding = g_config->bind<BenchLimits>("limits");
  if (!binding) {
    std::fprintf(stderr, "bench_cell: %s\n", binding.error().message.c_str());
    return 1;
  }
  g_binding.emplace(std::move(*binding));

  const auto start = std::chrono::steady_clock::now();
  std::uint64_t publishes = 0;
  std::uint64_t config_publishes = 0;
  {
    Writer writer(Writer::Raw);
    Writer config_writer(Writer::Config);
    benchmark::AddCustomContext("membarrier", relive::cell_stats().membarrier ? "yes" : "no");
    benchmark::RunSpecifiedBenchmarks();
    publishes = writer.publishes();
    config_publishes = config_writer.publishes();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "writers: %.0f publishes/s (raw), %.0f versions/s (config)\n",
               static_cast<double>(publishes) / seconds,
               static_cast<double>(config_publishes) / seconds);
  g_binding.reset();
  g_config.reset();
  benchmark::Shutdown();
  return 0;
}
