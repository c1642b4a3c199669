// Fleet configuration: how fast a put reaches readers through the etcd source, for 1 and for
// 200 watchers on one real etcd; how 200 watchers come back after etcd is SIGKILLed and
// restarted; and the same fleet polling an nginx document with the http source at its
// default interval. Everything on loopback, with its own etcd and nginx.
//
//   build/bench/bench_config_fleet [--watchers 200] [--puts 200] [--skip-polling]
//
// Floors measured in the same run: `etcdctl put` (the CLI's round trip) and one put through
// the gateway with libcurl (what the writer pays before any watcher can see the change).
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "../tests/config_fleet/fleet_support.hpp"
#include "relive/config_remote.hpp"

using namespace relive::fleet_test;
namespace cfg = relive::config;
using Clock = std::chrono::steady_clock;

namespace {

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

struct Stats {
  double p50 = 0, p99 = 0, max = 0;
};
Stats stats_of(std::vector<double> v) {
  if (v.empty()) return {};
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5))]; };
  return {at(0.5), at(0.99), v.back()};
}

long rss_kib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
  return 0;
}

cfg::EtcdOptions options_for(const Etcd& etcd) {
  cfg::EtcdOptions o;
  o.endpoints = {etcd.endpoint()};
  o.prefix = "/app/";
  o.progress_interval = std::chrono::milliseconds(1000);  // as etcd is started below
  return o;
}

std::unique_ptr<cfg::Config> open_one(std::shared_ptr<cfg::Source> s) {
  cfg::Options o;
  o.sources = {std::move(s)};
  auto c = cfg::Config::open(std::move(o));
  if (!c) {
    std::fprintf(stderr, "open: %s\n", c.error().message.c_str());
    std::exit(1);
  }
  return std::make_unique<cfg::Config>(std::move(*c));
}

// Waits (checking every 50 us, sleeping in between: the reader must not take a core from
// etcd on a 2-core machine) until every config shows value; returns when the last did.
double wait_all(const std::vector<std::unique_ptr<cfg::Config>>& configs, const std::string& value,
                Clock::time_point t0, double timeout_ms = 60000) {
  size_t next = 0;
  while (next < configs.size()) {
    if (configs[next]->pin()->get<std::string>("v", "") == value) {
      ++next;
      continue;
    }
    if (ms_since(t0) > timeout_ms) return -1;
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  return ms_since(t0);
}

}  // namespace

int main(int argc, char** argv) {
  int watchers = 200, puts = 200;
  bool polling = true;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--watchers") && i + 1 < argc) watchers = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--puts") && i + 1 < argc) puts = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--skip-polling")) polling = false;
  }
  spdlog::set_level(spdlog::level::err);
  double load[3] = {0, 0, 0};
  getloadavg(load, 3);
  std::printf("load average at start: %.2f %.2f %.2f (2 shared cores)\n\n", load[0], load[1], load[2]);

  Etcd::Options eo;
  eo.progress_interval = "1s";
  Etcd etcd(eo);
  etcd.put("/app/v", "0");

  // --- floors ------------------------------------------------------------------------
  std::vector<double> ctl, gateway;
  for (int i = 0; i < 20; ++i) {
    auto t0 = Clock::now();
    etcd.etcdctl({"put", "/floor/x", std::to_string(i)});
    ctl.push_back(ms_since(t0));
  }
  for (int i = 0; i < puts; ++i) {
    auto t0 = Clock::now();
    etcd.put("/floor/y", std::to_string(i));
    gateway.push_back(ms_since(t0));
  }

  // --- 1 watcher -----------------------------------------------------------------------
  std::vector<double> one;
  {
    std::vector<std::unique_ptr<cfg::Config>> c;
    c.push_back(open_one(cfg::etcd(options_for(etcd))));
    for (int i = 1; i <= puts; ++i) {
      auto t0 = Clock::now();
      etcd.put("/app/v", "one" + std::to_string(i));
      one.push_back(wait_all(c, "one" + std::to_string(i), t0));
    }
  }
  auto f_ctl = stats_of(ctl), f_gw = stats_of(gateway), s_one = stats_of(one);
  std::printf("put -> visible in pin(), 1 watcher (%d puts)\n", puts);
  std::printf("  %-34s %8s %8s %8s\n", "", "p50 ms", "p99 ms", "max ms");
  std::printf("  %-34s %8.2f %8.2f %8.2f\n", "etcd source: put -> pin() shows it", s_one.p50, s_one.p99, s_one.max);
  std::printf("  %-34s %8.2f %8.2f %8.2f\n", "floor: gateway put round trip", f_gw.p50, f_gw.p99, f_gw.max);
  std::printf("  %-34s %8.2f %8.2f %8.2f\n\n", "floor: etcdctl put (20 runs)", f_ctl.p50, f_ctl.p99, f_ctl.max);

  // --- the fleet -----------------------------------------------------------------------
  const long rss0 = rss_kib();
  std::vector<std::unique_ptr<cfg::Config>> fleet;
  std::vector<std::shared_ptr<cfg::EtcdSource>> sources;
  for (int i = 0; i < watchers; ++i) {
    sources.push_back(cfg::etcd(options_for(etcd)));
    fleet.push_back(open_one(sources.back()));
  }
  const long rss1 = rss_kib();
  std::vector<double> last;
  const int fleet_puts = std::max(20, puts / 4);
  for (int i = 1; i <= fleet_puts; ++i) {
    auto t0 = Clock::now();
    etcd.put("/app/v", "fleet" + std::to_string(i));
    last.push_back(wait_all(fleet, "fleet" + std::to_string(i), t0));
  }
  auto s_last = stats_of(last);
  std::printf("fleet: %d watching Configs in one process, one etcd (%d puts)\n", watchers, fleet_puts);
  std::printf("  put -> last watcher visible: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", s_last.p50, s_last.p99,
              s_last.max);
  std::printf("  memory: %.1f KiB RSS per watcher (config of 1 key; %ld KiB for %d)\n\n",
              static_cast<double>(rss1 - rss0) / watchers, rss1 - rss0, watchers);

  // --- SIGKILL + restart -------------------------------------------------------------
  // A sampler (every 1 ms) notes when each watcher goes stale and when it is current again.
  std::vector<double> resumed(sources.size(), -1);
  std::vector<bool> went_stale(sources.size(), false);
  std::atomic<bool> sampling{true};
  const auto t_kill = Clock::now();
  std::thread sampler([&] {
    while (sampling.load()) {
      for (size_t i = 0; i < sources.size(); ++i) {
        if (resumed[i] >= 0) continue;
        const bool stale = sources[i]->problem().has_value();
        if (stale) went_stale[i] = true;
        else if (went_stale[i]) resumed[i] = ms_since(t_kill);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  etcd.kill();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // a short outage
  const double t_exec = ms_since(t_kill);
  etcd.start();  // returns once etcd answers a range
  const double t_healthy = ms_since(t_kill);
  eventually([&] { return std::all_of(resumed.begin(), resumed.end(), [](double v) { return v >= 0; }); }, 120s);
  sampling = false;
  sampler.join();
  const auto left = static_cast<size_t>(std::count(resumed.begin(), resumed.end(), -1.0));
  for (double& v : resumed) v -= t_healthy;  // relative to healthy (negative: before our probe saw it)
  std::vector<double> r = resumed;
  std::sort(r.begin(), r.end());
  size_t worst_window = 0;
  for (size_t i = 0, j = 0; i < r.size(); ++i) {
    while (r[i] - r[j] > 100) ++j;
    worst_window = std::max(worst_window, i - j + 1);
  }
  auto s_res = stats_of(r);
  std::printf("etcd SIGKILL, 500 ms down, restart: %.0f ms from exec to healthy; default backoff (0-500 ms doubling, "
              "cap 30 s; refused: cap 1 s; one reconnect wakes the rest, spread over 300 ms)\n",
              t_healthy - t_exec);
  std::printf("  healthy -> watcher resumed: p50 %.0f ms, p99 %.0f ms, all %d resumed after %.0f ms%s\n", s_res.p50,
              s_res.p99, watchers, s_res.max, left ? " (SOME NEVER)" : "");
  std::printf("  busiest 100 ms window: %zu of %d reconnects (%.0f%%)\n", worst_window, watchers,
              100.0 * static_cast<double>(worst_window) / watchers);
  std::uint64_t reads = 0, retries = 0, refused = 0, woken = 0;
  for (auto& s : sources) {
    const auto st = s->stats();
    reads += st.full_reads;
    retries += st.retries;
    refused += st.refused_retries;
    woken += st.woken;
  }
  std::printf("  retries across the fleet: %llu (%llu after a refused connection); %llu backoffs cut short by "
              "another watcher's reconnect\n",
              static_cast<unsigned long long>(retries), static_cast<unsigned long long>(refused),
              static_cast<unsigned long long>(woken));
  std::printf("  full re-reads across the fleet: %llu (1 each at start: resumed, not re-read)\n\n",
              static_cast<unsigned long long>(reads - sources.size()));
  {
    auto t0 = Clock::now();
    etcd.put("/app/v", "after");
    std::printf("  after the restart, put -> last of %d visible: %.2f ms\n\n", watchers, wait_all(fleet, "after", t0));
  }
  fleet.clear();
  sources.clear();

  // --- polling the same fleet with the http source at its default interval -----------
  if (polling) {
    TempDir www;
    write_file(www / "app.json", R"({"v": "p0"})");
    Nginx nginx(www.path());
    std::vector<std::unique_ptr<cfg::Config>> pollers;
    for (int i = 0; i < watchers; ++i) {
      cfg::HttpOptions h;
      h.url = nginx.url("/app.json");  // interval: the default (30 s, +/- 20 %)
      pollers.push_back(open_one(cfg::http(h)));
    }
    std::this_thread::sleep_for(std::chrono::seconds(2));
    const std::size_t requests_before = nginx.requests();
    auto t0 = Clock::now();
    write_file(www / "app.json", R"({"v": "p1-changed"})");
    std::vector<double> seen;
    size_t next = 0;
    std::vector<bool> done(pollers.size(), false);
    while (next < pollers.size() && ms_since(t0) < 120000) {
      for (size_t i = 0; i < pollers.size(); ++i)
        if (!done[i] && pollers[i]->pin()->get<std::string>("v", "") == "p1-changed") {
          done[i] = true;
          seen.push_back(ms_since(t0));
          ++next;
        }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    const double window_min = ms_since(t0) / 60000.0;
    auto s_poll = stats_of(seen);
    // nginx's access log counts the requests the fleet made while converging.
    std::printf("same fleet polling nginx with the http source, default interval 30 s +/- 20%%\n");
    std::printf("  change -> watcher visible: p50 %.0f ms, p99 %.0f ms, last %.0f ms\n", s_poll.p50, s_poll.p99,
                s_poll.max);
    std::printf("  requests: %.0f per minute on the server (nginx's access log, %zu in %.1f s)\n",
                static_cast<double>(nginx.requests() - requests_before) / window_min,
                nginx.requests() - requests_before, window_min * 60);
    std::printf("  etcd watch for comparison: 0 requests per minute while nothing changes (one stream each)\n");
  }
  getloadavg(load, 3);
  std::printf("\nload average at end: %.2f %.2f %.2f\n", load[0], load[1], load[2]);
  return 0;
}
