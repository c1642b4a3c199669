// What a live Config costs a child that only execs: fork() + execv("/bin/true") + waitpid,
// in a process without a Config (the floor) and in one holding a watching Config, in the
// same run. Medians of --runs rounds of --n spawns each (per-spawn milliseconds).
//
//   bench_config_fork [--n 200] [--runs 5]
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "relive/config.hpp"

namespace {

using Clock = std::chrono::steady_clock;

// Per-spawn milliseconds of n fork+exec+wait rounds.
double spawn_ms(int n) {
  char* const argv[] = {const_cast<char*>("/bin/true"), nullptr};
  auto start = Clock::now();
  for (int i = 0; i < n; ++i) {
    pid_t pid = ::fork();
    if (pid == 0) {
      ::execv("/bin/true", argv);
      ::_exit(127);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
  }
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count() / n;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int n = 200, runs = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--n") n = std::max(1, std::atoi(argv[i + 1]));
    else if (a == "--runs") runs = std::max(1, std::atoi(argv[i + 1]));
  }
  spdlog::set_level(spdlog::level::warn);
  char tmpl[] = "/tmp/relive-bench-fork-XXXXXX";
  if (!::mkdtemp(tmpl)) return 1;
  std::filesystem::path dir = tmpl;
  std::ofstream(dir / "app.yaml") << "n: 1\n";

  std::vector<double> floor, with_config;
  {
    relive::config::Options o;
    o.sources = {relive::config::file(dir / "app.yaml")};
    auto cfg = relive::config::Config::open(std::move(o));
    if (!cfg) {
      fmt::print(stderr, "{}\n", cfg.error().message);
      return 1;
    }
    for (int r = 0; r < runs; ++r) with_config.push_back(spawn_ms(n));
  }  // the Config is gone: its threads no longer exist to be forked
  for (int r = 0; r < runs; ++r) floor.push_back(spawn_ms(n));
  double load = 0;
  if (std::FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &load) != 1) load = -1;
    std::fclose(f);
  }
  fmt::print("# fork+exec(/bin/true)+wait, {} spawns x {} runs, medians; load average {:.2f}\n", n, runs, load);
  fmt::print("no Config (floor)    {:.3f} ms\n", median(floor));
  fmt::print("with a live Config   {:.3f} ms   ({:.2f}x the floor)\n", median(with_config),
             median(with_config) / median(floor));
  std::filesystem::remove_all(dir);
  return 0;
}
