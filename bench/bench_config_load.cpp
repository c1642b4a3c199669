// Loading time of large flat configuration files (1, 8 and 50 MB; YAML, JSON and TOML)
// through relive::config (read, parse, merge, keys: Config::load), beside Python's parsers
// on the same file in the same run: yaml.safe_load, json.load and tomllib.load, timed
// inside the interpreter (its start-up is not counted). Medians of --runs runs. Times are
// CPU time of the loading thread (relive loads on the caller's thread; Python's process
// time), so that a busy shared machine stretches neither side; wall time is shown beside.
//
//   bench_config_load [--sizes 1,8,50] [--runs 3] [--peer-runs N] [--formats yaml,json,toml]
//                     [--no-peer]
// (--peer-runs: fewer runs of the peer than of relive, for pure-Python YAML on 50 MB.)
//
// The peer is /usr/bin/python3 (Debian's, with python3-yaml). A flat file of N MB has about
// N * 11,000 keys ("key0000042: \"value ...\""), the shape that was quadratic before.
#include <sys/wait.h>
#include <time.h>
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

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string make_file(const std::string& format, std::size_t megabytes, std::size_t& keys) {
  const std::size_t target = megabytes * 1000 * 1000;
  std::string out;
  out.reserve(target + 200);
  if (format == "json") out += "{\n";
  keys = 0;
  while (out.size() < target) {
    std::string key = fmt::format("key{:07}", keys);
    std::string value = fmt::format("value {} of a flat configuration file, padded to a line", keys);
    if (format == "yaml") out += fmt::format("{}: \"{}\"\n", key, value);
    else if (format == "toml") out += fmt::format("{} = \"{}\"\n", key, value);
    else out += fmt::format("{}\"{}\": \"{}\"", keys ? ",\n" : "", key, value);
    ++keys;
  }
  if (format == "json") out += "\n}\n";
  return out;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double thread_cpu_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

struct Times {
  double cpu_ms = 0;
  double wall_ms = 0;
};

Times relive_load_ms(const fs::path& path) {
  relive::config::Options o;
  o.sources = {relive::config::file(path)};
  o.watch = false;
  auto start = Clock::now();
  double cpu = thread_cpu_ms();
  auto snap = relive::config::Config::load(o);
  Times ms{thread_cpu_ms() - cpu, std::chrono::duration<double, std::milli>(Clock::now() - start).count()};
  if (!snap) {
    fmt::print(stderr, "relive failed: {}\n", snap.error().message);
    std::exit(1);
  }
  return ms;
}

// Runs the peer on `path`; it prints the CPU and wall milliseconds its load took.
Times python_load_ms(const std::string& format, const fs::path& path) {
  std::string code;
  if (format == "yaml") code = "import yaml as m; f = lambda p: m.safe_load(open(p, 'rb'))";
  else if (format == "json") code = "import json as m; f = lambda p: m.load(open(p, 'rb'))";
  else code = "import tomllib as m; f = lambda p: m.load(open(p, 'rb'))";
  code += "\nimport sys, time\nc, t = time.process_time(), time.perf_counter(); f(sys.argv[1])"
          "\nprint((time.process_time() - c) * 1000, (time.perf_counter() - t) * 1000)";
  int out[2];
  if (::pipe(out) != 0) std::exit(1);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::close(out[0]);
    ::close(out[1]);
    ::execl("/usr/bin/python3", "python3", "-c", code.c_str(), path.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(out[1]);
  std::string text;
  char buf[256];
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(n));
  ::close(out[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fmt::print(stderr, "/usr/bin/python3 failed on {} (is python3-yaml installed?)\n", path.string());
    std::exit(1);
  }
  Times ms;
  if (std::sscanf(text.c_str(), "%lf %lf", &ms.cpu_ms, &ms.wall_ms) != 2) std::exit(1);
  return ms;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= s.size()) {
    auto comma = s.find(',', pos);
    out.push_back(s.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> sizes{"1", "8", "50"}, formats{"yaml", "json", "toml"};
  int runs = 3, peer_runs = -1;
  bool peer = true;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--sizes" && i + 1 < argc) sizes = split(argv[++i]);
    else if (a == "--formats" && i + 1 < argc) formats = split(argv[++i]);
    else if (a == "--runs" && i + 1 < argc) runs = std::max(1, std::atoi(argv[++i]));
    else if (a == "--peer-runs" && i + 1 < argc) peer_runs = std::max(1, std::atoi(argv[++i]));
    else if (a == "--no-peer") peer = false;
    else {
      fmt::print(stderr, "usage: {} [--sizes 1,8,50] [--runs 3] [--peer-runs N] [--formats yaml,json,toml] [--no-peer]\n", argv[0]);
      return 2;
    }
  }
  spdlog::set_level(spdlog::level::warn);
  char tmpl[] = "/tmp/relive-bench-load-XXXXXX";
  if (!::mkdtemp(tmpl)) return 1;
  fs::path dir = tmpl;
  double load[3] = {0, 0, 0};
  if (std::FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3) load[0] = -1;
    std::fclose(f);
  }
  fmt::print("# load average at start: {:.2f} {:.2f} {:.2f}; {} runs ({} of the peer), medians\n", load[0], load[1],
             load[2], runs, peer_runs < 0 ? runs : std::min(runs, peer_runs));
  fmt::print("{:<6} {:>4} {:>8} {:>14} {:>14} {:>9} {:>11} {:>11}\n", "format", "MB", "keys", "relive cpu ms",
             "python cpu ms", "py/relive", "relive wall", "python wall");
  for (const auto& format : formats) {
    for (const auto& size : sizes) {
      std::size_t keys = 0;
      fs::path path = dir / fmt::format("flat-{}mb.{}", size, format);
      {
        std::ofstream(path, std::ios::binary) << make_file(format, static_cast<std::size_t>(std::atoi(size.c_str())), keys);
      }
      std::vector<double> ours, theirs, ours_wall, theirs_wall;
      for (int r = 0; r < runs; ++r) {
        Times o = relive_load_ms(path);
        ours.push_back(o.cpu_ms);
        ours_wall.push_back(o.wall_ms);
        if (peer && (peer_runs < 0 || r < peer_runs)) {
          Times t = python_load_ms(format, path);
          theirs.push_back(t.cpu_ms);
          theirs_wall.push_back(t.wall_ms);
        }
      }
      double o = median(ours), t = peer ? median(theirs) : 0;
      fmt::print("{:<6} {:>4} {:>8} {:>14.1f} {:>14.1f} {:>9.1f} {:>11.1f} {:>11.1f}\n", format, size, keys, o, t,
                 peer ? t / o : 0.0, median(ours_wall), peer ? median(theirs_wall) : 0.0);
      std::fflush(stdout);
      fs::remove(path);
    }
  }
  fs::remove_all(dir);
  return 0;
}
