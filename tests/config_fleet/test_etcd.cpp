// The etcd source against a real etcd started per test: mapping, the watch protocol,
// outages (SIGKILL, SIGSTOP, a cut connection), compaction, start-up without etcd.
#include <gtest/gtest.h>
#include <signal.h>

#include <mutex>
#include <thread>

#include "fleet_support.hpp"
#include "relive/config_remote.hpp"

namespace relive::fleet_test {
namespace {

namespace cfg = relive::config;

cfg::EtcdOptions fast(const std::string& endpoint, std::string prefix) {
  cfg::EtcdOptions o;
  o.endpoints = {endpoint};
  o.prefix = std::move(prefix);
  o.progress_interval = 300ms;  // as the Etcd fixture starts etcd
  o.idle_factor = 3;
  o.check_interval = 0ms;
  o.backoff_initial = 100ms;
  o.backoff_max = 400ms;
  o.healthy_after = 2s;
  o.startup_wait = 1000ms;
  o.request_timeout = 2s;
  return o;
}

cfg::Options with(std::vector<std::shared_ptr<cfg::Source>> sources) {
  cfg::Options o;
  o.sources = std::move(sources);
  o.watch = true;
  return o;
}

bool has(const cfg::Config& c, const std::string& key, const std::string& value) {
  return c.get<std::string>(key, "<absent>") == value;
}

TEST(FleetEtcd, InitialLoadPutDeleteAndPrefixIsolation) {
  Etcd etcd;
  etcd.put("/app/db/timeout", "5s");
  etcd.put("/app/db/host", "db1");
  etcd.put("/app/workers", "4");
  etcd.put("/app2/leak", "no");
  const auto rev = etcd.put("/other/leak", "no");
  auto o = fast(etcd.endpoint(), "/app");  // no trailing slash: /app2 must not match
  o.page_size = 2;                         // three keys: two pages, both at one revision
  auto source = cfg::etcd(o);
  auto c = cfg::Config::open(with({source}));
  ASSERT_TRUE(c) << c.error().message;
  auto snap = c->pin();
  EXPECT_EQ(snap->get<std::int64_t>("workers", 0), 4);  // parsed as a scalar
  EXPECT_EQ(snap->get<std::string>("db.timeout", ""), "5s");
  EXPECT_EQ(snap->find("leak"), nullptr);
  EXPECT_EQ(snap->entries().size(), 3u);
  const auto* origin = snap->origin("db.timeout");
  ASSERT_NE(origin, nullptr);
  EXPECT_EQ(origin->to_string(), "etcd://127.0.0.1:" + std::to_string(etcd.port()) + "/app/db/timeout (mod_revision " +
                                     std::to_string(rev - 4) + ")");
  EXPECT_EQ(source->stats().revision, rev);

  etcd.put("/app/db/timeout", "10s");
  ASSERT_TRUE(eventually([&] { return has(*c, "db.timeout", "10s"); }, 15s));
  const auto v = c->version();
  etcd.put("/app2/leak", "still no");
  etcd.del("/app/workers");
  ASSERT_TRUE(eventually([&] { return c->pin()->find("workers") == nullptr; }, 15s));
  EXPECT_EQ(c->version(), v + 1) << "the /app2 write published nothing";
  EXPECT_EQ(c->pin()->find("leak"), nullptr);
  EXPECT_EQ(source->stats().full_reads, 1u);
}

TEST(FleetEtcd, DocumentModeChangesSeveralFieldsInOneVersion) {
  Etcd etcd;
  etcd.put("/cfg/app.yaml", "db:\n  host: a\n  port: 1\n");
  cfg::EtcdOptions o = fast(etcd.endpoint(), "");
  o.document_key = "/cfg/app.yaml";
  auto c = cfg::Config::open(with({cfg::etcd(o)}));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(has(*c, "db.host", "a"));
  std::mutex mu;
  std::vector<cfg::Update> updates;
  auto sub = c->subscribe("", [&](const cfg::Update& u) { std::lock_guard l(mu); updates.push_back(u); });
  etcd.put("/cfg/app.yaml", "db:\n  host: b\n  port: 2\n");
  ASSERT_TRUE(eventually([&] { std::lock_guard l(mu); return !updates.empty(); }, 15s));
  std::lock_guard l(mu);
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0].changes.size(), 2u);  // host and port together
  EXPECT_TRUE(has(*c, "db.port", "2"));
}

TEST(FleetEtcd, LeafAndSubtreeConflictNamesBothKeysAndKeepsLastGood) {
  Etcd etcd;
  etcd.put("/app/db", "plain");
  auto c = cfg::Config::open(with({cfg::etcd(fast(etcd.endpoint(), "/app/"))}));
  ASSERT_TRUE(c) << c.error().message;
  const auto rev = etcd.put("/app/db/host", "x");
  ASSERT_TRUE(eventually([&] { return c->status().error.has_value(); }, 15s));
  const std::string e = *c->status().error;
  EXPECT_NE(e.find("/app/db is a value and /app/db/host is under it"), std::string::npos) << e;
  EXPECT_NE(e.find("revision " + std::to_string(rev)), std::string::npos) << e;
  EXPECT_TRUE(has(*c, "db", "plain"));
  etcd.del("/app/db");
  ASSERT_TRUE(eventually([&] { return has(*c, "db.host", "x"); }, 15s));
  // The version is published a moment before status() is updated.
  EXPECT_TRUE(eventually([&] { return !c->status().error.has_value(); }, 15s));
}

TEST(FleetEtcd, BadDocumentKeepsTheWholeLastGoodVersionNamingKeyAndRevision) {
  Etcd etcd;
  etcd.put("/cfg/app.json", R"({"a": 1, "b": 2})");
  cfg::EtcdOptions o = fast(etcd.endpoint(), "");
  o.document_key = "/cfg/app.json";
  auto c = cfg::Config::open(with({cfg::etcd(o)}));
  ASSERT_TRUE(c) << c.error().message;
  const auto rev = etcd.put("/cfg/app.json", R"({"a": 5, "b": )");
  ASSERT_TRUE(eventually([&] { return c->status().error.has_value(); }, 15s));
  const std::string e = *c->status().error;
  EXPECT_NE(e.find("/cfg/app.json (mod_revision " + std::to_string(rev) + ")"), std::string::npos) << e;
  EXPECT_NE(e.find("keeping version 1"), std::string::npos) << e;
  EXPECT_TRUE(has(*c, "a", "1"));
}

TEST(FleetEtcd, NeverPublishesAnEmptyPrefix) {
  Etcd etcd;
  auto empty = cfg::Config::open(with({cfg::etcd(fast(etcd.endpoint(), "/app/"))}));
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().message.find("no keys under /app/"), std::string::npos) << empty.error().message;

  etcd.put("/app/a", "1");
  auto c = cfg::Config::open(with({cfg::etcd(fast(etcd.endpoint(), "/app/"))}));
  ASSERT_TRUE(c) << c.error().message;
  etcd.del("/app/a");
  ASSERT_TRUE(eventually([&] { return !c->status().source_problems.empty(); }, 15s));
  EXPECT_NE(c->status().source_problems[0].find("keeping the last good values"), std::string::npos);
  EXPECT_TRUE(has(*c, "a", "1"));
  EXPECT_EQ(c->version(), 1u);
}

TEST(FleetEtcd, LayersWithFilesAndEnv) {
  Etcd etcd;
  TempDir dir;
  write_file(dir / "app.yaml", "db:\n  host: from-file\n  port: 1\nlog: info\n");
  etcd.put("/app/db/host", "from-etcd");
  ::setenv("FLEETT_LOG", "debug", 1);
  auto c = cfg::Config::open(with({cfg::file(dir / "app.yaml"), cfg::etcd(fast(etcd.endpoint(), "/app/")),
                                   cfg::env("FLEETT")}));
  ::unsetenv("FLEETT_LOG");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(has(*c, "db.host", "from-etcd"));
  EXPECT_TRUE(has(*c, "db.port", "1"));
  EXPECT_TRUE(has(*c, "log", "debug"));
  std::atomic<int> calls{0};
  auto sub = c->subscribe("db.host", [&](const cfg::Update& u) {
    EXPECT_EQ(u.changes.size(), 1u);
    EXPECT_EQ(u.changes[0].old_value.value_or(""), "from-etcd");
    ++calls;
  });
  etcd.put("/app/db/host", "changed");
  ASSERT_TRUE(eventually([&] { return calls.load() == 1; }, 15s));
  write_file(dir / "app.yaml", "db:\n  host: from-file\n  port: 2\nlog: info\n");
  ASSERT_TRUE(eventually([&] { return has(*c, "db.port", "2"); }, 15s));
  EXPECT_TRUE(has(*c, "db.host", "changed"));
  EXPECT_EQ(calls.load(), 1);
}

// Records every value of "counter" as published, to check order and completeness.
struct CounterLog {
  std::mutex mu;
  std::vector<long> seen;
  cfg::Subscription sub;
  void follow(cfg::Config& c) {
    sub = c.subscribe("counter", [this](const cfg::Update& u) {
      std::lock_guard l(mu);
      seen.push_back(u.snapshot.get<long>("counter", -1));
    });
  }
  void expect_increasing() {
    std::lock_guard l(mu);
    for (size_t i = 1; i < seen.size(); ++i) EXPECT_LT(seen[i - 1], seen[i]) << "at " << i;
  }
};

TEST(FleetEtcd, SigkillAndRestartResumesWithoutDuplicatesOrLoss) {
  Etcd etcd;
  etcd.put("/app/counter", "0");
  auto source = cfg::etcd(fast(etcd.endpoint(), "/app/"));
  auto c = cfg::Config::open(with({source}));
  ASSERT_TRUE(c) << c.error().message;
  CounterLog log;
  log.follow(*c);
  for (int i = 1; i <= 20; ++i) etcd.put("/app/counter", std::to_string(i));
  ASSERT_TRUE(eventually([&] { return has(*c, "counter", "20"); }, 15s));
  etcd.kill();
  ASSERT_TRUE(eventually([&] { return !c->status().source_problems.empty(); }, 15s));
  EXPECT_TRUE(has(*c, "counter", "20"));  // last good kept while etcd is down
  etcd.start();
  for (int i = 21; i <= 40; ++i) etcd.put("/app/counter", std::to_string(i));
  etcd.put("/app/other", "x");
  ASSERT_TRUE(eventually([&] { return has(*c, "counter", "40") && has(*c, "other", "x"); }, 15s));
  ASSERT_TRUE(eventually([&] { return c->status().source_problems.empty(); }, 15s));
  log.expect_increasing();
  const auto s = source->stats();
  EXPECT_EQ(s.full_reads, 1u) << "resumed from the applied revision, not re-read";
  EXPECT_GE(s.reconnects, 1u);
  EXPECT_EQ(s.revision, etcd.revision());
  EXPECT_EQ(c->pin()->entries().size(), etcd.range("/app/").size());
}

TEST(FleetEtcd, PausedEtcdIsDetectedDeadAndReconnectedAfterSigcont) {
  Etcd etcd;
  etcd.put("/app/a", "1");
  auto source = cfg::etcd(fast(etcd.endpoint(), "/app/"));  // idle deadline 900 ms
  auto c = cfg::Config::open(with({source}));
  ASSERT_TRUE(c) << c.error().message;
  etcd.pause();
  ASSERT_TRUE(eventually([&] {
    auto p = c->status().source_problems;
    return !p.empty() && p[0].find("silent for more than 900 ms") != std::string::npos;
  }, 15s)) << (c->status().source_problems.empty() ? "" : c->status().source_problems[0]);
  etcd.resume();
  etcd.put("/app/a", "2");
  ASSERT_TRUE(eventually([&] { return has(*c, "a", "2"); }, 15s));
  ASSERT_TRUE(eventually([&] { return c->status().source_problems.empty(); }, 15s));
  EXPECT_GE(source->stats().reconnects, 1u);
  EXPECT_EQ(source->stats().full_reads, 1u);
}

// The client is cut off by a real partition (a forwarder between it and etcd that drops
// its connections), falls behind by 100 revisions that are then compacted away.
TEST(FleetEtcd, CompactionWhileBehindRereadsOnceAndConverges) {
  Etcd etcd;
  etcd.put("/app/counter", "0");
  etcd.put("/app/gone", "soon");
  Partition link(etcd.port());
  auto source = cfg::etcd(fast("http://127.0.0.1:" + std::to_string(link.port()), "/app/"));
  auto c = cfg::Config::open(with({source}));
  ASSERT_TRUE(c) << c.error().message;
  link.cut();
  std::int64_t last = 0;
  for (int i = 1; i <= 100; ++i) last = etcd.put("/app/counter", std::to_string(i));
  etcd.del("/app/gone");
  last = etcd.put("/app/new", "yes");
  etcd.compact(last);
  link.heal();
  ASSERT_TRUE(eventually([&] { return source->stats().revision == last; }, 15s));
  ASSERT_TRUE(eventually([&] { return has(*c, "counter", "100"); }, 15s));
  const auto fresh = etcd.range("/app/");
  auto entries = c->pin()->entries();
  ASSERT_EQ(entries.size(), fresh.size());
  for (const auto& e : entries) EXPECT_EQ(e.value, fresh.at("/app/" + e.key)) << e.key;
  const auto s = source->stats();
  EXPECT_EQ(s.compactions, 1u);
  EXPECT_EQ(s.full_reads, 2u) << "one re-read after the compaction";
  EXPECT_EQ(c->version(), 2u) << "what differs, published once";
}

// etcd replaced behind the same address by another cluster at a lower revision (a restore
// from a backup): re-read and accepted.
TEST(FleetEtcd, AnotherClusterAtALowerRevisionIsReReadAndAccepted) {
  Etcd first;
  for (int i = 0; i < 10; ++i) first.put("/app/a", "old" + std::to_string(i));
  Etcd second;
  second.put("/app/a", "restored");
  Partition link(first.port());
  auto source = cfg::etcd(fast("http://127.0.0.1:" + std::to_string(link.port()), "/app/"));
  auto c = cfg::Config::open(with({source}));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(has(*c, "a", "old9"));
  link.retarget(second.port());
  link.cut();
  link.heal();
  ASSERT_TRUE(eventually([&] { return has(*c, "a", "restored"); }, 15s));
  EXPECT_EQ(source->stats().full_reads, 2u);
  EXPECT_EQ(source->stats().revision, second.revision());
  second.put("/app/a", "after");
  ASSERT_TRUE(eventually([&] { return has(*c, "a", "after"); }, 15s));
}

TEST(FleetEtcd, ConsistencyCheckRuns) {
  Etcd etcd;
  etcd.put("/app/a", "1");
  cfg::EtcdOptions o = fast(etcd.endpoint(), "/app/");
  o.check_interval = 200ms;
  auto source = cfg::etcd(o);
  auto c = cfg::Config::open(with({source}));
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_TRUE(eventually([&] { return source->stats().checks >= 3; }, 15s));
  EXPECT_EQ(source->stats().full_reads, 1u);
  etcd.put("/app/a", "2");
  ASSERT_TRUE(eventually([&] { return has(*c, "a", "2"); }, 15s));
}

TEST(FleetEtcd, StartsFromTheCacheWhileEtcdIsDownAndCatchesUp) {
  TempDir dir;
  Etcd etcd;
  etcd.put("/app/a", "1");
  etcd.put("/app/secret_token", "s3");
  cfg::EtcdOptions o = fast(etcd.endpoint(), "/app/");
  o.cache_file = dir / "etcd.cache";
  {
    auto c = cfg::Config::open(with({cfg::etcd(o)}));
    ASSERT_TRUE(c) << c.error().message;
  }
  ASSERT_TRUE(fs::exists(o.cache_file));
  EXPECT_EQ(fs::status(o.cache_file).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  etcd.kill();
  const auto t0 = std::chrono::steady_clock::now();
  auto source = cfg::etcd(o);
  auto c = cfg::Config::open(with({source}));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  EXPECT_TRUE(has(*c, "a", "1"));
  ASSERT_FALSE(c->status().source_problems.empty());
  EXPECT_NE(c->status().source_problems[0].find("stale: serving the cache file"), std::string::npos);
  EXPECT_TRUE(source->stats().from_cache);
  etcd.start();
  etcd.put("/app/a", "2");
  ASSERT_TRUE(eventually([&] { return has(*c, "a", "2"); }, 15s));
  ASSERT_TRUE(eventually([&] { return c->status().source_problems.empty(); }, 15s));
}

TEST(FleetEtcd, WithoutACacheOpenFailsClearlyAfterABoundedWait) {
  const auto port = free_loopback_port();
  cfg::EtcdOptions o = fast("http://127.0.0.1:" + std::to_string(port), "/app/");
  const auto t0 = std::chrono::steady_clock::now();
  auto c = cfg::Config::open(with({cfg::etcd(o)}));
  ASSERT_FALSE(c);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_NE(c.error().message.find("no endpoint answered within 1000 ms"), std::string::npos) << c.error().message;
  EXPECT_EQ(c.error().message.find('\n'), std::string::npos);
}

TEST(FleetEtcd, FailsOverToTheNextEndpoint) {
  Etcd etcd;
  etcd.put("/app/a", "1");
  cfg::EtcdOptions o = fast("http://127.0.0.1:" + std::to_string(free_loopback_port()), "/app/");
  o.endpoints.push_back(etcd.endpoint());
  auto c = cfg::Config::open(with({cfg::etcd(o)}));
  ASSERT_TRUE(c) << c.error().message;
  etcd.put("/app/a", "2");
  ASSERT_TRUE(eventually([&] { return has(*c, "a", "2"); }, 15s));
}

TEST(FleetEtcd, DottedKeySegmentIsRejectedNamingKeyAndRevisionAndKeepsLastGood) {
  Etcd etcd;
  etcd.put("/app/db/host", "a");
  auto c = cfg::Config::open(with({cfg::etcd(fast(etcd.endpoint(), "/app/"))}));
  ASSERT_TRUE(c) << c.error().message;
  // /app/db.host would read as db.host, which /app/db/host already is.
  const auto rev = etcd.put("/app/db.host", "b");
  ASSERT_TRUE(eventually([&] { return c->status().error.has_value(); }, 15s));
  const std::string e = *c->status().error;
  EXPECT_NE(e.find("/app/db.host: the key segment \"db.host\" contains '.'"), std::string::npos) << e;
  EXPECT_NE(e.find("revision " + std::to_string(rev)), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  EXPECT_TRUE(has(*c, "db.host", "a"));  // the last good version stays
  etcd.del("/app/db.host");
  etcd.put("/app/db/host", "c");
  ASSERT_TRUE(eventually([&] { return has(*c, "db.host", "c"); }, 15s));
  EXPECT_TRUE(eventually([&] { return !c->status().error.has_value(); }, 15s));
  // At the first load, the same error fails open().
  auto again = cfg::Config::open(with({cfg::etcd(fast(etcd.endpoint(), "/app/"))}));
  ASSERT_TRUE(again) << again.error().message;
  etcd.put("/other/x.y", "1");
  auto bad = cfg::Config::open(with({cfg::etcd(fast(etcd.endpoint(), "/other/"))}));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("/other/x.y"), std::string::npos) << bad.error().message;
}

// etcd SIGKILLed and down: every try is refused (nothing listens on its port), which is a
// restart, not a partition: the short schedule (here capped at 50 ms) retries often. The
// full backoff from 500 ms (0.5, 1, 2, 4, 8 s windows...) would need about a minute for
// the retries counted here.
TEST(FleetEtcd, RefusedConnectionRetriesOnTheShortScheduleAndResumes) {
  Etcd etcd;
  etcd.put("/app/counter", "0");
  auto o = fast(etcd.endpoint(), "/app/");
  o.backoff_initial = 500ms;
  o.backoff_max = 30s;
  o.refused_backoff_max = 50ms;
  auto source = cfg::etcd(o);
  auto c = cfg::Config::open(with({source}));
  ASSERT_TRUE(c) << c.error().message;
  CounterLog log;
  log.follow(*c);
  for (int i = 1; i <= 10; ++i) etcd.put("/app/counter", std::to_string(i));
  ASSERT_TRUE(eventually([&] { return has(*c, "counter", "10"); }, 15s));
  etcd.kill();
  ASSERT_TRUE(eventually([&] { return source->stats().refused_retries >= 20; }, 20s))
      << source->stats().refused_retries << " refused retries of " << source->stats().retries;
  etcd.start();
  for (int i = 11; i <= 20; ++i) etcd.put("/app/counter", std::to_string(i));
  ASSERT_TRUE(eventually([&] { return has(*c, "counter", "20"); }, 15s));
  ASSERT_TRUE(eventually([&] { return c->status().source_problems.empty(); }, 15s));
  log.expect_increasing();
  const auto s = source->stats();
  EXPECT_EQ(s.full_reads, 1u) << "resumed from the applied revision, not re-read";
  EXPECT_EQ(s.revision, etcd.revision());
}

// A partition (the forwarder drops every connection: no refusal, etcd itself is fine) gets
// the full backoff even with a tiny refused schedule: few tries while it lasts.
TEST(FleetEtcd, PartitionStillBacksOffFully) {
  Etcd etcd;
  etcd.put("/app/a", "1");
  Partition link(etcd.port());
  auto o = fast("http://127.0.0.1:" + std::to_string(link.port()), "/app/");
  o.backoff_initial = 200ms;
  o.backoff_max = 30s;
  o.refused_backoff_max = 1ms;  // were a partition taken for a restart: hundreds of tries
  auto source = cfg::etcd(o);
  auto c = cfg::Config::open(with({source}));
  ASSERT_TRUE(c) << c.error().message;
  link.cut();
  ASSERT_TRUE(eventually([&] { return source->stats().retries >= 1; }, 15s));
  const auto before = source->stats().retries;
  std::this_thread::sleep_for(3s);  // the window the tries are counted in
  const auto s = source->stats();
  // Windows 0.2, 0.4, 0.8, 1.6, 3.2 s...: about 4 tries in 3 s, at most a few more.
  EXPECT_LE(s.retries - before, 8u) << s.retries - before << " tries in 3 s";
  EXPECT_EQ(s.refused_retries, 0u);
  link.heal();
  etcd.put("/app/a", "2");
  ASSERT_TRUE(eventually([&] { return has(*c, "a", "2"); }, 30s));
  EXPECT_EQ(source->stats().full_reads, 1u);
}

// Several sources of one process on one etcd: the first whose retry gets through wakes
// the others from their (here long) backoff; each then reconnects after its own small
// random delay. Counted, not timed: how many backoffs were cut short.
TEST(FleetEtcd, OneSourceFindingEtcdBackWakesTheOthers) {
  Etcd etcd;
  etcd.put("/app/v", "0");
  std::vector<std::shared_ptr<cfg::EtcdSource>> sources;
  std::vector<std::unique_ptr<cfg::Config>> configs;
  // Six: etcd.start() forks while they are open, and the Configs' fork handlers then hold
  // all their locks at once (ThreadSanitizer's deadlock detector tracks at most 64).
  for (int i = 0; i < 6; ++i) {
    auto o = fast(etcd.endpoint(), "/app/");
    o.backoff_initial = 4s;
    o.backoff_max = 30s;
    o.refused_backoff_max = 30s;  // no short schedule: only the wake-up brings them back early
    o.rejoin_spread = 300ms;
    sources.push_back(cfg::etcd(o));
    auto c = cfg::Config::open(with({sources.back()}));
    ASSERT_TRUE(c) << c.error().message;
    configs.push_back(std::make_unique<cfg::Config>(std::move(*c)));
  }
  etcd.kill();
  ASSERT_TRUE(eventually([&] {
    for (auto& c : configs)
      if (c->status().source_problems.empty()) return false;
    return true;
  }, 15s));
  etcd.start();
  etcd.put("/app/v", "1");
  ASSERT_TRUE(eventually([&] {
    for (auto& c : configs)
      if (!has(*c, "v", "1")) return false;
    return true;
  }, 60s));
  std::uint64_t woken = 0;
  for (auto& s : sources) {
    woken += s->stats().woken;
    EXPECT_EQ(s->stats().full_reads, 1u);
  }
  EXPECT_GE(woken, 1u) << "no source was woken by another's reconnect";
}

}  // namespace
}  // namespace relive::fleet_test
