// Fleet configuration: how fast a put reaches readers through the etcd source, for 1 and for
// 200 watchers on one real etcd; how 200 watchers come back after etcd is SIGKILLed and
// restarted; and the same fleet polling an nginx document with the http source at its
// default interval. Everything on loopback, with its own etcd and nginx.
//
//   build/bench/bench_config_fleet [--watchers 200] [--puts 200] [--restarts 1] [--skip-polling]
//
// Two figures per put: when the last reader saw the new value (a reader thread polling
// pin(), sleeping 50 us between misses: it includes that reader's own wake-up latency on a
// busy machine) and when the last Config published it (the version's loaded_at, stamped
// as the Config builds it, just before the publish: no reader in it). "Healthy" after a
// restart is when the bench's own range first gets an answer (Etcd::start() polls
// /v3/kv/range with fresh connections every 5 ms; a request accepted while etcd starts is
// answered the moment it serves), independent of the watchers.
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

double load1() {
  double load[3] = {0, 0, 0};
  getloadavg(load, 3);
  return load[0];
}

// When the last of the configs published the version it shows (after wait_all()).
double last_published(const std::vector<std::unique_ptr<cfg::Config>>& configs,
                      std::chrono::system_clock::time_point t0) {
  double worst = 0;
  for (const auto& c : configs)
    worst = std::max(worst, std::chrono::duration<double, std::milli>(c->pin()->loaded_at() - t0).count());
  return worst;
}

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

// Waits (checking every `poll`, sleeping in between: the reader must not take a core from
// etcd on a 2-core machine) until every config shows value; returns when the last did.
// For the fleet the reader checks every 1 ms: waking 20,000 times a second it would compete
// with the 200 watchers it measures; the published figure (loaded_at) has no reader in it.
double wait_all(const std::vector<std::unique_ptr<cfg::Config>>& configs, const std::string& value,
                Clock::time_point t0, double timeout_ms = 60000,
                std::chrono::microseconds poll = std::chrono::microseconds(50)) {
  size_t next = 0;
  while (next < configs.size()) {
    if (configs[next]->pin()->get<std::string>("v", "") == value) {
      ++next;
      continue;
    }
    if (ms_since(t0) > timeout_ms) return -1;
    std::this_thread::sleep_for(poll);
  }
  return ms_since(t0);
}

}  // namespace

int main(int argc, char** argv) {
  int watchers = 200, puts = 200, restarts = 1;
  bool polling = true;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--watchers") && i + 1 < argc) watchers = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--puts") && i + 1 < argc) puts = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--restarts") && i + 1 < argc) restarts = std::max(1, std::atoi(argv[++i]));
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
  std::vector<double> one, one_pub;
  {
    std::vector<std::unique_ptr<cfg::Config>> c;
    c.push_back(open_one(cfg::etcd(options_for(etcd))));
    for (int i = 1; i <= puts; ++i) {
      auto t0s = std::chrono::system_clock::now();
      auto t0 = Clock::now();
      etcd.put("/app/v", "one" + std::to_string(i));
      one.push_back(wait_all(c, "one" + std::to_string(i), t0));
      one_pub.push_back(last_published(c, t0s));
    }
  }
  auto f_ctl = stats_of(ctl), f_gw = stats_of(gateway), s_one = stats_of(one), s_one_pub = stats_of(one_pub);
  std::printf("put -> visible in pin(), 1 watcher (%d puts)\n", puts);
  std::printf("  %-34s %8s %8s %8s\n", "", "p50 ms", "p99 ms", "max ms");
  std::printf("  %-34s %8.2f %8.2f %8.2f\n", "etcd source: put -> pin() shows it", s_one.p50, s_one.p99, s_one.max);
  std::printf("  %-34s %8.2f %8.2f %8.2f\n", "etcd source: put -> published", s_one_pub.p50, s_one_pub.p99, s_one_pub.max);
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
  std::vector<double> last, last_pub;
  const int fleet_puts = std::max(20, puts / 4);
  const double fleet_load = load1();
  for (int i = 1; i <= fleet_puts; ++i) {
    auto t0s = std::chrono::system_clock::now();
    auto t0 = Clock::now();
    etcd.put("/app/v", "fleet" + std::to_string(i));
    last.push_back(wait_all(fleet, "fleet" + std::to_string(i), t0, 60000, std::chrono::milliseconds(1)));
    last_pub.push_back(last_published(fleet, t0s));
  }
  auto s_last = stats_of(last), s_last_pub = stats_of(last_pub);
  std::printf("fleet: %d watching Configs in one process, one etcd (%d puts; load average %.2f)\n", watchers,
              fleet_puts, fleet_load);
  std::printf("  put -> last watcher visible to the reader: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", s_last.p50,
              s_last.p99, s_last.max);
  std::printf("  put -> last watcher published:            p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", s_last_pub.p50,
              s_last_pub.p99, s_last_pub.max);
  std::printf("  memory: %.1f KiB RSS per watcher (config of 1 key; %ld KiB for %d)\n\n",
              static_cast<double>(rss1 - rss0) / watchers, rss1 - rss0, watchers);

  // --- SIGKILL + restart -------------------------------------------------------------
  std::vector<double> all_resumed;
  for (int round = 1; round <= restarts; ++round) {
    std::uint64_t retries0 = 0, refused0 = 0, woken0 = 0, reads0 = 0;
    for (auto& s : sources) {
      const auto st = s->stats();
      retries0 += st.retries, refused0 += st.refused_retries, woken0 += st.woken, reads0 += st.full_reads;
    }
    const double round_load = load1();
    // A sampler (every 1 ms) notes when each watcher goes stale and when it is current again.
    std::vector<double> resumed(sources.size(), -1), sent(sources.size(), -1);
    std::vector<std::uint64_t> reconnects0(sources.size());
    for (size_t i = 0; i < sources.size(); ++i) reconnects0[i] = sources[i]->stats().reconnects;
    std::vector<bool> went_stale(sources.size(), false);
    std::atomic<bool> sampling{true};
    const auto t_kill = Clock::now();
    std::thread sampler([&] {
      while (sampling.load()) {
        for (size_t i = 0; i < sources.size(); ++i) {
          if (resumed[i] >= 0) continue;
          if (sent[i] < 0 && sources[i]->stats().reconnects != reconnects0[i]) sent[i] = ms_since(t_kill);
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
    for (double& v : sent) v -= t_healthy;
    std::vector<double> r = resumed;
    std::sort(r.begin(), r.end());
    auto busiest_100ms = [](std::vector<double> v) {
      std::sort(v.begin(), v.end());
      size_t worst = 0;
      for (size_t i = 0, j = 0; i < v.size(); ++i) {
        while (v[i] - v[j] > 100) ++j;
        worst = std::max(worst, i - j + 1);
      }
      return worst;
    };
    const size_t worst_window = busiest_100ms(r), worst_sent_window = busiest_100ms(sent);
    auto s_res = stats_of(r);
    auto s_sent = stats_of(sent);
    std::printf("etcd SIGKILL, 500 ms down, restart: %.0f ms from exec to healthy; default backoff (0-500 ms doubling, "
                "cap 30 s; refused: cap 1 s; one reconnect wakes the rest, spread over 300 ms)\n",
                t_healthy - t_exec);
    std::printf("  healthy -> watcher resumed: p50 %.0f ms, p99 %.0f ms, all %d resumed after %.0f ms%s\n", s_res.p50,
                s_res.p99, watchers, s_res.max, left ? " (SOME NEVER)" : "");
    std::printf("  healthy -> watch request sent (the first try that got through, then its spread): min %.0f ms, "
                "p50 %.0f ms, p99 %.0f ms\n", *std::min_element(sent.begin(), sent.end()), s_sent.p50, s_sent.p99);
    std::printf("  busiest 100 ms window: %zu of %d watch requests sent (%.0f%%: what the watchers do), %zu of %d "
                "created answers received (%.0f%%: also how etcd answers)\n", worst_sent_window, watchers,
                100.0 * static_cast<double>(worst_sent_window) / watchers, worst_window, watchers,
                100.0 * static_cast<double>(worst_window) / watchers);
    std::uint64_t reads = 0, retries = 0, refused = 0, woken = 0;
    for (auto& s : sources) {
      const auto st = s->stats();
      reads += st.full_reads;
      retries += st.retries;
      refused += st.refused_retries;
      woken += st.woken;
    }
    reads -= reads0, retries -= retries0, refused -= refused0, woken -= woken0;
    std::printf("  retries across the fleet: %llu (%llu after a refused connection); %llu backoffs cut short by "
                "another watcher's reconnect\n",
                static_cast<unsigned long long>(retries), static_cast<unsigned long long>(refused),
                static_cast<unsigned long long>(woken));
    std::printf("  full re-reads across the fleet: %llu (beyond the one each at start: resumed, not re-read)\n\n",
                static_cast<unsigned long long>(reads));
    {
      auto t0 = Clock::now();
      const std::string after = "after" + std::to_string(round);
      etcd.put("/app/v", after);
      std::printf("  after the restart, put -> last of %d visible: %.2f ms\n", watchers,
                  wait_all(fleet, after, t0, 60000, std::chrono::milliseconds(1)));
    }
    all_resumed.push_back(s_res.max);
    std::printf("  (restart %d of %d, load average %.2f at the kill)\n\n", round, restarts, round_load);
    // The next restart finds the watchers settled: healthy for longer than healthy_after
    // (their backoff reset), as after any restart in production.
    if (round < restarts) std::this_thread::sleep_for(cfg::EtcdOptions{}.healthy_after + std::chrono::seconds(1));
  }
  if (restarts > 1) {
    auto s_all = stats_of(all_resumed);
    std::printf("restarts: all %d resumed after (from healthy): median %.0f ms, worst %.0f ms over %d restarts; "
                "<= 1 s in %zu of %d\n\n", watchers, s_all.p50, s_all.max, restarts,
                static_cast<size_t>(std::count_if(all_resumed.begin(), all_resumed.end(), [](double v) { return v <= 1000; })),
                restarts);
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
