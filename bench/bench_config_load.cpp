// Loading time of large flat configuration files (1, 8 and 50 MB; YAML, JSON and TOML)
// through relive::config (read, parse, merge, keys: Config::load), beside Python's parsers
// on the same file in the same run: yaml.safe_load, json.load and tomllib.load, timed
// inside the interpreter (its start-up is not counted). Medians of --runs runs.
//
//   bench_config_load [--sizes 1,8,50] [--runs 3] [--formats yaml,json,toml] [--no-peer]
//
// The peer is /usr/bin/python3 (Debian's, with python3-yaml). A flat file of N MB has about
// N * 11,000 keys ("key0000042: \"value ...\""), the shape that was quadratic before.
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

double relive_load_ms(const fs::path& path) {
  relive::config::Options o;
  o.sources = {relive::config::file(path)};
  o.watch = false;
  auto start = Clock::now();
  auto snap = relive::config::Config::load(o);
  double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  if (!snap) {
    fmt::print(stderr, "relive failed: {}\n", snap.error().message);
    std::exit(1);
  }
  return ms;
}

// Runs the peer on `path`; it prints the milliseconds its load took.
double python_load_ms(const std::string& format, const fs::path& path) {
  std::string code;
  if (format == "yaml") code = "import yaml as m; f = lambda p: m.safe_load(open(p, 'rb'))";
  else if (format == "json") code = "import json as m; f = lambda p: m.load(open(p, 'rb'))";
  else code = "import tomllib as m; f = lambda p: m.load(open(p, 'rb'))";
  code += "\nimport sys, time\nt = time.perf_counter(); f(sys.argv[1]); print((time.perf_counter() - t) * 1000)";
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
  return std::atof(text.c_str());
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
  int runs = 3;
  bool peer = true;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--sizes" && i + 1 < argc) sizes = split(argv[++i]);
    else if (a == "--formats" && i + 1 < argc) formats = split(argv[++i]);
    else if (a == "--runs" && i + 1 < argc) runs = std::max(1, std::atoi(argv[++i]));
    else if (a == "--no-peer") peer = false;
    else {
      fmt::print(stderr, "usage: {} [--sizes 1,8,50] [--runs 3] [--formats yaml,json,toml] [--no-peer]\n", argv[0]);
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
  fmt::print("# load average at start: {:.2f} {:.2f} {:.2f}; {} runs each, medians\n", load[0], load[1], load[2], runs);
  fmt::print("{:<6} {:>6} {:>8} {:>12} {:>12} {:>8}\n", "format", "MB", "keys", "relive ms", "python ms", "python/relive");
  for (const auto& format : formats) {
    for (const auto& size : sizes) {
      std::size_t keys = 0;
      fs::path path = dir / fmt::format("flat-{}mb.{}", size, format);
      {
        std::ofstream(path, std::ios::binary) << make_file(format, static_cast<std::size_t>(std::atoi(size.c_str())), keys);
      }
      std::vector<double> ours, theirs;
      for (int r = 0; r < runs; ++r) {
        ours.push_back(relive_load_ms(path));
        if (peer) theirs.push_back(python_load_ms(format, path));
      }
      double o = median(ours), t = peer ? median(theirs) : 0;
      fmt::print("{:<6} {:>6} {:>8} {:>12.1f} {:>12.1f} {:>8.1f}\n", format, size, keys, o, t, peer ? t / o : 0.0);
      std::fflush(stdout);
      fs::remove(path);
    }
  }
  fs::remove_all(dir);
  return 0;
}
