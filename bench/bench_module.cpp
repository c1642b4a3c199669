// bench_module — what a module swap costs, beside its floors, in one run.
//
//   build/bench/bench_module [--swaps N] [--host-mib M]
//
// 1. Swap latency excluding the compile, split into stage + inspect + preflight +
//    load/create/publish (relive::module's own timings, p50/p90 over N swaps), beside a bare
//    dlopen+dlsym of a fresh copy of the same .so (the floor).
// 2. Preflight p50 while the host holds (and has touched) M MiB, beside what only the
//    fork()+exit+wait of a fork-based preflight costs in that same host.
// 3. A call through pin() vs a plain virtual call on the same object.
// Prints medians; nothing here asserts (speed is not a test).
#include <benchmark/benchmark.h>
#include <dlfcn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "probe.hpp"
#include "relive/module.hpp"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double us_since(Clock::time_point t) { return std::chrono::duration<double, std::micro>(Clock::now() - t).count(); }

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

void row(const char* what, const std::vector<double>& us) {
  std::printf("  %-44s p50 %9.1f us   p90 %9.1f us   (n=%zu)\n", what, percentile(us, 0.5), percentile(us, 0.9),
              us.size());
}

relive::module::Options options(const fs::path& stage, bool preflight) {
  relive::module::Options o;
  o.path = BENCH_MODULE_A;
  o.preflight = preflight;
  o.preflight_helper = BENCH_PREFLIGHT;
  o.stage_directory = stage;
  o.on_message = [](const std::string&) {};
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  int swaps = 200;
  long host_mib = 1024;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--swaps") == 0) swaps = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--host-mib") == 0) host_mib = std::atol(argv[i + 1]);
  }
  char tmpl[] = "/tmp/bench-module-XXXXXX";
  const fs::path dir = ::mkdtemp(tmpl);
  const fs::path variants[2] = {BENCH_MODULE_B, BENCH_MODULE_A};
  double load_avg[3] = {0, 0, 0};
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf %lf %lf", &load_avg[0], &load_avg[1], &load_avg[2]) != 3) load_avg[0] = -1;
    std::fclose(f);
  }
  std::printf("bench_module: %d swaps, host %ld MiB, load average %.2f %.2f %.2f, %ld cores\n", swaps, host_mib,
              load_avg[0], load_avg[1], load_avg[2], ::sysconf(_SC_NPROCESSORS_ONLN));

  // 1a. The floor: dlopen + dlsym of a fresh copy (fresh name and inode, as a swap stages).
  std::vector<double> floor_us;
  for (int i = 0; i < swaps; ++i) {
    fs::path copy = dir / ("floor." + std::to_string(i) + ".so");
    fs::copy_file(variants[i % 2], copy);
    auto t = Clock::now();
    void* h = ::dlopen(copy.c_str(), RTLD_NOW | RTLD_LOCAL);
    void* sym = h ? ::dlsym(h, relive::module::kEntrySymbol) : nullptr;
    floor_us.push_back(us_since(t));
    benchmark::DoNotOptimize(sym);
    if (h) ::dlclose(h);
    fs::remove(copy);
  }

  // 1b. Swaps with preflight.
  std::vector<double> stage_us, inspect_us, preflight_us, load_us, retire_us, total_us;
  {
    auto m = relive::module::Module<Probe>::open(options(dir / "stage", true));
    if (!m) {
      std::fprintf(stderr, "bench_module: %s\n", m.error().message.c_str());
      return 1;
    }
    for (int i = 0; i < swaps; ++i) {
      auto t = Clock::now();
      if (!(*m)->reload_from(variants[i % 2])) return 1;
      total_us.push_back(us_since(t));
      auto tm = (*m)->status().timings;
      stage_us.push_back(tm.stage_us);
      inspect_us.push_back(tm.inspect_us);
      preflight_us.push_back(tm.preflight_us);
      load_us.push_back(tm.load_us);
      retire_us.push_back(tm.retire_us);
    }
  }
  std::printf("\n1. swap latency, compile excluded\n");
  row("floor: bare dlopen+dlsym of a fresh copy", floor_us);
  row("stage (copy to a fresh name/inode)", stage_us);
  row("inspect (ELF)", inspect_us);
  row("preflight (posix_spawn helper, create+destroy)", preflight_us);
  row("load/create/publish (dlopen, create, publish)", load_us);
  row("retire old (destroy, dlclose, check, unlink)", retire_us);
  row("whole swap (reload_from)", total_us);
  std::printf("  load/create/publish p50 - floor p50 = %.1f us\n", percentile(load_us, 0.5) - percentile(floor_us, 0.5));

  // 2. Preflight in a big host vs fork().
  std::vector<char> ballast(static_cast<std::size_t>(host_mib) << 20);
  for (std::size_t i = 0; i < ballast.size(); i += 4096) ballast[i] = static_cast<char>(i);
  std::vector<double> big_preflight_us, fork_us;
  {
    auto m = relive::module::Module<Probe>::open(options(dir / "stage2", true));
    if (!m) return 1;
    for (int i = 0; i < std::max(20, swaps / 4); ++i) {
      if (!(*m)->reload_from(variants[i % 2])) return 1;
      big_preflight_us.push_back((*m)->status().timings.preflight_us);
    }
    for (int i = 0; i < std::max(20, swaps / 4); ++i) {
      auto t = Clock::now();
      pid_t pid = ::fork();
      if (pid == 0) ::_exit(0);
      int st = 0;
      ::waitpid(pid, &st, 0);
      fork_us.push_back(us_since(t));
    }
  }
  benchmark::DoNotOptimize(ballast.data());
  std::printf("\n2. preflight with the host holding %ld MiB (touched)\n", host_mib);
  row("preflight (posix_spawn)", big_preflight_us);
  row("fork()+_exit+waitpid alone (fork-based floor)", fork_us);
  ballast.clear();
  ballast.shrink_to_fit();

  // 3. pin() + virtual call vs a plain virtual call.
  {
    auto m = relive::module::Module<Probe>::open(options(dir / "stage3", false));
    if (!m) return 1;
    auto& mod = *m;
    auto held = mod->pin();
    Probe* object = held.get();
    constexpr long kCalls = 20'000'000;
    std::vector<double> plain_ns, pinned_ns;
    for (int round = 0; round < 7; ++round) {
      long sum = 0;
      auto t = Clock::now();
      for (long i = 0; i < kCalls; ++i) {
        benchmark::DoNotOptimize(object);
        sum += object->tag();
      }
      plain_ns.push_back(us_since(t) * 1000.0 / kCalls);
      t = Clock::now();
      for (long i = 0; i < kCalls; ++i) {
        auto p = mod->pin();
        sum += p->tag();
      }
      pinned_ns.push_back(us_since(t) * 1000.0 / kCalls);
      benchmark::DoNotOptimize(sum);
    }
    std::printf("\n3. a call (Probe::tag) per request\n");
    std::printf("  %-44s p50 %6.2f ns\n", "plain virtual call", percentile(plain_ns, 0.5));
    std::printf("  %-44s p50 %6.2f ns\n", "pin() + virtual call + unpin", percentile(pinned_ns, 0.5));
    std::printf("  pin overhead p50: %.2f ns\n", percentile(pinned_ns, 0.5) - percentile(plain_ns, 0.5));
  }
  relive::reclaim_retired();
  std::error_code ec;
  fs::remove_all(dir, ec);
  return 0;
}
