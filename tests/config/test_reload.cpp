// Reloading: bindings, validators, failures that keep the working version (logged once,
// kept in status, cleared by the next good load), identical content publishing nothing,
// and subscriber callbacks (publish order, one thread, exceptions contained).
#include <gtest/gtest.h>

#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <pthread.h>
#include <sched.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>

#include "config_test_util.hpp"

namespace app {
struct Db {
  std::string host;
  int port = 5432;
  std::chrono::milliseconds timeout{500};
  relive::config::ByteSize buffer{4096};
};
void from_config(const relive::config::Node& n, Db& db) {
  db.host = n.at("host").as<std::string>();
  db.port = n.get("port", db.port);
  db.timeout = n.get("timeout", db.timeout);
  db.buffer = n.get("buffer", db.buffer);
}
}  // namespace app

namespace relive::config {
namespace {

using namespace relive::config::test;
using namespace std::chrono_literals;

// A logger whose lines the test can read.
struct CapturedLog {
  explicit CapturedLog(const std::string& name) : sink(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(256)) {
    logger = std::make_shared<spdlog::logger>(name, sink);
    spdlog::drop(name);
    spdlog::register_logger(logger);
  }
  ~CapturedLog() { spdlog::drop(logger->name()); }
  size_t count(const std::string& needle) const {
    size_t n = 0;
    for (const auto& line : sink->last_formatted()) n += line.find(needle) != std::string::npos;
    return n;
  }
  std::string all() const {
    std::string s;
    for (const auto& line : sink->last_formatted()) s += line;
    return s;
  }
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink;
  std::shared_ptr<spdlog::logger> logger;
};

TEST(ConfigReload, BindingIsBuiltPerVersionAndRejectsBadTypes) {
  TempDir dir;
  CapturedLog log("cfg-binding");
  auto path = dir / "app.yaml";
  write_file(path, "db:\n  host: a\n  timeout: 250ms\n  buffer: 64MiB\n");
  Options o = manual({file(path)});
  o.logger = "cfg-binding";
  auto cfg = Config::open(std::move(o));
  ASSERT_TRUE(cfg) << cfg.error().message;
  auto db = cfg->bind<app::Db>("db");
  ASSERT_TRUE(db) << db.error().message;
  {
    auto d = db->pin();
    EXPECT_EQ(d->host, "a");
    EXPECT_EQ(d->timeout, 250ms);
    EXPECT_EQ(d->buffer.bytes, 64u << 20);
    EXPECT_EQ(d.snapshot().version(), 1u);
  }
  write_file(path, "db:\n  host: b\n  timeout: 5s\n");
  ASSERT_TRUE(cfg->reload().ok());
  EXPECT_EQ(db->pin()->host, "b");
  EXPECT_EQ(db->pin()->timeout, 5s);
  EXPECT_EQ(cfg->version(), 2u);

  // A wrong type: the snapshot is rejected, version 2 keeps serving.
  write_file(path, "db:\n  host: c\n  timeout: fast\n");
  auto r = cfg->reload();
  ASSERT_FALSE(r);
  std::string expected = path.string() + ":3:3: db.timeout: expected a duration, got \"fast\"; keeping version 2 from ";
  EXPECT_TRUE(r.error().message.starts_with(expected)) << r.error().message;
  EXPECT_EQ(db->pin()->host, "b");
  EXPECT_EQ(cfg->pin()->get("db.host", ""), "b");
  ASSERT_TRUE(cfg->status().error);
  EXPECT_TRUE(cfg->status().error->starts_with(expected));
  // The same failure again is not logged again.
  ASSERT_FALSE(cfg->reload());
  EXPECT_EQ(log.count("expected a duration"), 1u) << log.all();

  // A required key missing.
  write_file(path, "db:\n  port: 1\n");
  r = cfg->reload();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("db.host: missing"), std::string::npos) << r.error().message;

  // Fixed: cleared.
  write_file(path, "db:\n  host: d\n");
  ASSERT_TRUE(cfg->reload().ok());
  EXPECT_FALSE(cfg->status().error);
  EXPECT_EQ(cfg->status().version, 3u);
  EXPECT_EQ(db->pin()->host, "d");
  EXPECT_EQ(cfg->status().failures, 3u);
}

TEST(ConfigReload, TruncatedFileIsASaveInProgressNotAnEmptyConfig) {
  TempDir dir;
  auto path = dir / "app.yaml";
  write_file(path, "a: 1\n");
  auto cfg = Config::open(manual({file(path)}));
  ASSERT_TRUE(cfg);
  write_file(path, "");
  auto r = cfg->reload();
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().message.starts_with(path.string() + ": file is empty (a save in progress?); keeping version 1"))
      << r.error().message;
  EXPECT_EQ(cfg->get<int>("a", 0), 1);
  write_file(path, "a: 2\n");
  ASSERT_TRUE(cfg->reload().ok());
  EXPECT_EQ(cfg->get<int>("a", 0), 2);
}

TEST(ConfigReload, BindFailsWhenTheCurrentVersionDoesNotConvert) {
  TempDir dir;
  write_file(dir / "app.yaml", "port: eighty\n");
  auto cfg = Config::open(manual({file(dir / "app.yaml")}));
  ASSERT_TRUE(cfg);
  auto port = cfg->bind<int>("port");
  ASSERT_FALSE(port);
  EXPECT_EQ(port.error().message, (dir / "app.yaml").string() + ":1:1: port: expected an integer, got \"eighty\"");
}

TEST(ConfigReload, ValidatorRejectsAWholeSnapshot) {
  TempDir dir;
  auto path = dir / "app.yaml";
  write_file(path, "workers: 4\n");
  Options o = manual({file(path)});
  o.validators.push_back([](const Snapshot& s) -> Result<void> {
    if (s.get<int>("workers", 0) < 1) return Error{"workers: must be at least 1"};
    return {};
  });
  auto cfg = Config::open(o);
  ASSERT_TRUE(cfg);
  write_file(path, "workers: 0\n");
  auto r = cfg->reload();
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().message.starts_with("rejected by a validator: workers: must be at least 1; keeping version 1"))
      << r.error().message;
  EXPECT_EQ(cfg->get<int>("workers", 0), 4);
  // First load failing validation is an error at open.
  auto bad = Config::open(o);
  ASSERT_FALSE(bad);
}

TEST(ConfigReload, IdenticalContentPublishesNothingAndNotifiesNobody) {
  TempDir dir;
  auto path = dir / "app.yaml";
  write_file(path, "a: 1\nb: 2\n");
  auto cfg = Config::open(manual({file(path)}));
  ASSERT_TRUE(cfg);
  std::mutex mu;
  std::vector<std::uint64_t> seen;
  auto sub = cfg->subscribe("", [&](const Update& u) { std::lock_guard l(mu); seen.push_back(u.version); });
  auto seen_now = [&] { std::lock_guard l(mu); return seen; };
  write_file(path, "# a comment now\na: 1\nb:   2\n");  // same values, different text
  auto r = cfg->reload();
  ASSERT_TRUE(r);
  EXPECT_FALSE(*r);
  EXPECT_EQ(cfg->version(), 1u);
  write_file(path, "a: 1\nb: 3\n");
  r = cfg->reload();
  ASSERT_TRUE(r);
  EXPECT_TRUE(*r);
  ASSERT_TRUE(eventually([&] { return seen_now().size() == 1; }, 10s));
  r = cfg->reload();  // unchanged file
  ASSERT_TRUE(r);
  EXPECT_FALSE(*r);
  write_file(path, "b: 3\na: 1\n");  // same values in another order: identical content
  r = cfg->reload();
  ASSERT_TRUE(r);
  EXPECT_FALSE(*r);
  write_file(path, "a: 2\nb: 3\n");
  ASSERT_TRUE(cfg->reload().ok());
  // Every notification corresponds to exactly one published version, none doubled.
  ASSERT_TRUE(eventually([&] { return !seen_now().empty() && seen_now().back() == cfg->version(); }, 10s));
  auto v = seen_now();
  for (size_t i = 0; i < v.size(); ++i) EXPECT_EQ(v[i], i + 2);
}

TEST(ConfigReload, CallbacksRunInPublishOrderOnOneThreadWithOldAndNewValues) {
  TempDir dir;
  auto path = dir / "app.yaml";
  write_file(path, "n: 0\nsecret_token: s0\nother: x\n");
  auto cfg = Config::open(manual({file(path)}));
  ASSERT_TRUE(cfg);
  std::mutex mu;
  std::vector<std::uint64_t> versions;
  std::vector<std::string> values;
  std::set<std::thread::id> threads;
  std::atomic<int> other_calls{0};
  auto s1 = cfg->subscribe("n", [&](const Update& u) {
    std::lock_guard l(mu);
    versions.push_back(u.version);
    threads.insert(std::this_thread::get_id());
    ASSERT_EQ(u.changes.size(), 1u);
    EXPECT_EQ(u.changes[0].key, "n");
    values.push_back(*u.changes[0].old_value + "->" + *u.changes[0].new_value);
    EXPECT_EQ(u.snapshot.version(), u.version);
  });
  auto thrower = cfg->subscribe("", [&](const Update&) { throw std::runtime_error("callback failure"); });
  auto s2 = cfg->subscribe("other", [&](const Update&) { ++other_calls; });
  for (int i = 1; i <= 20; ++i) {
    write_file(path, "n: " + std::to_string(i) + "\nsecret_token: s" + std::to_string(i) + "\nother: x\n");
    ASSERT_TRUE(cfg->reload().ok());
  }
  ASSERT_TRUE(eventually([&] { std::lock_guard l(mu); return versions.size() == 20; }, 10s));
  std::lock_guard l(mu);
  for (size_t i = 0; i < versions.size(); ++i) {
    EXPECT_EQ(versions[i], i + 2);
    EXPECT_EQ(values[i], std::to_string(i) + "->" + std::to_string(i + 1));
  }
  EXPECT_EQ(threads.size(), 1u);
  EXPECT_NE(*threads.begin(), std::this_thread::get_id());
  EXPECT_EQ(other_calls.load(), 0);  // its prefix never changed
}

TEST(ConfigReload, UnsubscribedCallbackIsNotCalled) {
  TempDir dir;
  auto path = dir / "app.yaml";
  write_file(path, "n: 0\n");
  auto cfg = Config::open(manual({file(path)}));
  ASSERT_TRUE(cfg);
  std::atomic<int> a{0}, b{0};
  auto sa = cfg->subscribe("", [&](const Update&) { ++a; });
  auto sb = cfg->subscribe("", [&](const Update&) { ++b; });
  write_file(path, "n: 1\n");
  ASSERT_TRUE(cfg->reload().ok());
  ASSERT_TRUE(eventually([&] { return a == 1 && b == 1; }, 10s));
  sa.reset();
  write_file(path, "n: 2\n");
  ASSERT_TRUE(cfg->reload().ok());
  ASSERT_TRUE(eventually([&] { return b == 2; }, 10s));
  EXPECT_EQ(a.load(), 1);
}


// Keeps the calling thread on one CPU while alive (threads it starts inherit that), and
// puts its former CPU set back at the end.
class OnOneCpu {
 public:
  OnOneCpu() {
    ok_ = sched_getaffinity(0, sizeof before_, &before_) == 0;
    constexpr std::size_t kCpus = CPU_SETSIZE;
    std::size_t cpu = 0;
    while (ok_ && cpu < kCpus && !CPU_ISSET(cpu, &before_)) ++cpu;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    ok_ = ok_ && cpu < kCpus && sched_setaffinity(0, sizeof one, &one) == 0;
  }
  ~OnOneCpu() {
    if (ok_) sched_setaffinity(0, sizeof before_, &before_);
  }
  OnOneCpu(const OnOneCpu&) = delete;
  OnOneCpu& operator=(const OnOneCpu&) = delete;
  bool ok() const { return ok_; }

 private:
  cpu_set_t before_{};
  bool ok_ = false;
};

// status() changes with the published version, not after it: whoever sees version N —
// here the subscriber, which runs once N is published — finds N's status, the earlier
// error cleared. To leave no gap unseen, the reload runs on a thread of the idle
// scheduling class sharing one CPU with the dispatcher: the dispatcher runs as soon as the
// publish wakes it, before the loader's next step, so a status updated after the publish
// would still show the old error and the old version.
TEST(ConfigReload, StatusChangesWithThePublishedVersion) {
  OnOneCpu one_cpu;
  ASSERT_TRUE(one_cpu.ok()) << "sched_setaffinity: " << std::strerror(errno);
  TempDir dir;
  auto path = dir / "app.yaml";
  write_file(path, "n: 1\n");
  auto cfg = Config::open(manual({file(path)}));  // its dispatcher shares our CPU
  ASSERT_TRUE(cfg) << cfg.error().message;
  write_file(path, "n: [1,\n");
  ASSERT_FALSE(cfg->reload());
  ASSERT_TRUE(cfg->status().error);

  std::mutex mu;
  std::vector<std::pair<std::uint64_t, Status>> seen;  // (update's version, status() in it)
  auto sub = cfg->subscribe("", [&](const Update& u) {
    Status status = cfg->status();
    std::lock_guard l(mu);
    seen.emplace_back(u.version, std::move(status));
  });
  write_file(path, "n: 2\n");
  Result<bool> r = false;
  int sched_error = 0;
  std::thread loader([&] {
    sched_param param{};
    sched_error = pthread_setschedparam(pthread_self(), SCHED_IDLE, &param);
    if (sched_error == 0) r = cfg->reload();
  });
  loader.join();
  ASSERT_EQ(sched_error, 0) << "pthread_setschedparam(SCHED_IDLE): " << std::strerror(sched_error);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE(*r);
  ASSERT_TRUE(eventually([&] { std::lock_guard l(mu); return !seen.empty(); }, 10s));
  std::lock_guard l(mu);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].first, 2u);
  EXPECT_EQ(seen[0].second.version, 2u);
  EXPECT_FALSE(seen[0].second.error) << *seen[0].second.error;
  EXPECT_EQ(seen[0].second.failures, 1u);
  EXPECT_EQ(seen[0].second.reloads, 2u);
}

}  // namespace
}  // namespace relive::config
