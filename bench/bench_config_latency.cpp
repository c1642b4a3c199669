// Save-to-visible latency of relive::config: a 10 KB YAML file is saved with each editor's
// save pattern, 20 times per pattern, while a reader thread polls Config::pin(); the time
// from the start of the save to the moment the reader sees the new value is recorded.
// Includes the watch engine's quiet window (config::Options::quiet, 5 ms by default),
// which coalesces one save's events into one reload. Target: median <= 15 ms.
// The reader checks every 100 us and sleeps in between, as a server between requests
// would: a reader spinning on one of the two cores here would only measure itself.
//
// Patterns: plain write (open O_TRUNC + write), truncate-then-write (two opens), vim
// (4913 probe, rename to file~, write new, remove backup), JetBrains safe write
// (___jb_tmp___ / ___jb_old___), sed -i (the real sed, temp file renamed over), and the
// Kubernetes ConfigMap ..data symlink swap.
//
// Run: build/bench/bench_config_latency [--saves N] [--quiet MS]
//      (prints a table; not Google Benchmark; --quiet overrides Options::quiet)
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "relive/config.hpp"

namespace {

namespace fs = std::filesystem;
namespace cfg = relive::config;
using Clock = std::chrono::steady_clock;

// ~10 KB of YAML whose `marker` key carries the version being saved.
std::string yaml_with_marker(long marker) {
  std::string text = "marker: " + std::to_string(marker) + "\n";
  for (int s = 0; text.size() < 10 * 1024; ++s) {
    text += "section_" + std::to_string(s) + ":\n";
    for (int k = 0; k < 8; ++k) {
      text += "  key_" + std::to_string(k) + ": \"value " + std::to_string(s * 8 + k) + " of the section\"\n";
    }
  }
  return text;
}

void write_all(const fs::path& path, const std::string& content, bool truncate = true) {
  std::ofstream out(path, truncate ? std::ios::trunc : std::ios::app);
  out << content;
}

void run(const std::vector<std::string>& argv) {
  const pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
}

struct Pattern {
  const char* name;
  // Saves `content` (whose marker is `marker`, previous `previous`) to `path`.
  std::function<void(const fs::path& dir, const fs::path& path, long previous, long marker)> save;
  bool configmap = false;
};

std::vector<Pattern> patterns() {
  return {
      {"plain write", [](const fs::path&, const fs::path& p, long, long m) { write_all(p, yaml_with_marker(m)); }},
      {"truncate, then write",
       [](const fs::path&, const fs::path& p, long, long m) {
         { std::ofstream truncate(p, std::ios::trunc); }
         write_all(p, yaml_with_marker(m), false);
       }},
      {"vim (backup rename)",
       [](const fs::path& d, const fs::path& p, long, long m) {
         write_all(d / "4913", "");
         fs::remove(d / "4913");
         fs::rename(p, p.string() + "~");
         write_all(p, yaml_with_marker(m));
         fs::remove(p.string() + "~");
       }},
      {"JetBrains safe write",
       [](const fs::path&, const fs::path& p, long, long m) {
         write_all(p.string() + "___jb_tmp___", yaml_with_marker(m));
         fs::rename(p, p.string() + "___jb_old___");
         fs::rename(p.string() + "___jb_tmp___", p);
         fs::remove(p.string() + "___jb_old___");
       }},
      {"sed -i (real sed)",
       [](const fs::path&, const fs::path& p, long prev, long m) {
         run({"sed", "-i", "s/^marker: " + std::to_string(prev) + "$/marker: " + std::to_string(m) + "/",
              p.string()});
       }},
      {"ConfigMap ..data swap",
       [](const fs::path& d, const fs::path&, long, long m) {
         const std::string gen = "..gen_" + std::to_string(m);
         fs::create_directory(d / gen);
         write_all(d / gen / "app.yaml", yaml_with_marker(m));
         fs::create_directory_symlink(gen, d / "..data_tmp");
         fs::rename(d / "..data_tmp", d / "..data");  // the atomic swap kubelet does
         const std::string old = "..gen_" + std::to_string(m - 1);
         fs::remove_all(d / old);
       },
       true},
  };
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  int saves = 20;
  int quiet_ms = static_cast<int>(cfg::Options{}.quiet.count());
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--saves") == 0) saves = std::max(1, std::atoi(argv[i + 1]));
    else if (std::strcmp(argv[i], "--quiet") == 0) quiet_ms = std::max(0, std::atoi(argv[i + 1]));
  }
  std::printf("quiet window %d ms, %d saves per pattern, 10 KB YAML\n\n", quiet_ms, saves);
  spdlog::set_level(spdlog::level::warn);

  // "the save itself": how long the save pattern takes to return (for sed, the process
  // from fork to exit) — the part of the latency that is not relive's.
  std::printf("| save pattern | median ms | min ms | max ms | the save itself, median ms | saves seen |\n"
              "|---|---:|---:|---:|---:|---:|\n");
  std::vector<double> all_medians;
  for (const Pattern& pattern : patterns()) {
    const fs::path dir = fs::temp_directory_path() / ("relive-latency-" + std::to_string(getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    fs::path path = dir / "app.yaml";
    long marker = 1;
    if (pattern.configmap) {
      fs::create_directory(dir / "..gen_1");
      write_all(dir / "..gen_1" / "app.yaml", yaml_with_marker(marker));
      fs::create_directory_symlink("..gen_1", dir / "..data");
      fs::create_symlink("..data/app.yaml", path);
    } else {
      write_all(path, yaml_with_marker(marker));
    }
    cfg::Options options;
    options.sources = {cfg::file(path)};
    options.quiet = std::chrono::milliseconds(quiet_ms);
    auto config = cfg::Config::open(std::move(options));
    if (!config) {
      std::fprintf(stderr, "bench_config_latency: %s\n", config.error().message.c_str());
      return 1;
    }
    // The reader: polls pin() and stamps the first time it sees the awaited marker.
    std::atomic<long> awaited{-1};
    std::atomic<long> seen_at_ns{0};
    std::atomic<bool> stop{false};
    std::thread reader([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        const long want = awaited.load(std::memory_order_acquire);
        if (want >= 0 && config->pin()->get<long>("marker", 0) == want) {
          seen_at_ns.store(Clock::now().time_since_epoch().count(), std::memory_order_release);
          awaited.store(-1, std::memory_order_release);
        }
        std::this_thread::sleep_for(std::chrono::microseconds(100));
      }
    });
    std::vector<double> ms;
    std::vector<double> save_ms;
    for (int i = 0; i < saves; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(40));  // let the last save settle
      const long previous = marker++;
      seen_at_ns = 0;
      awaited.store(marker, std::memory_order_release);
      const auto start = Clock::now();
      pattern.save(dir, path, previous, marker);
      save_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
      const auto deadline = start + std::chrono::seconds(3);
      while (seen_at_ns.load(std::memory_order_acquire) == 0 && Clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));  // not timed: the reader stamps
      }
      const long at = seen_at_ns.load();
      if (at != 0) ms.push_back(static_cast<double>(at - start.time_since_epoch().count()) / 1e6);
      awaited.store(-1);
    }
    stop = true;
    reader.join();
    const double med = median(ms);
    all_medians.push_back(med);
    std::printf("| %s | %.1f | %.1f | %.1f | %.1f | %zu/%d |\n", pattern.name, med,
                ms.empty() ? 0 : *std::min_element(ms.begin(), ms.end()),
                ms.empty() ? 0 : *std::max_element(ms.begin(), ms.end()), median(save_ms), ms.size(), saves);
    std::fflush(stdout);
    config = relive::Error{"done"};  // stop watching before the directory goes
    fs::remove_all(dir);
  }
  return 0;
}
