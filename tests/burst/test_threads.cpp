// Per-thread buffers: an error on one thread writes that thread's debug messages only, and
// threads logging at the same time never mix up or lose each other's messages (run these
// under TSan: -DRELIVE_SANITIZE=thread).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/logger.h>

#include <future>
#include <latch>
#include <map>
#include <thread>

#include "collecting_sink.hpp"
#include "relive/burst.hpp"
#include "relive/burst_sink.hpp"

namespace relive::burst {
namespace {

using ::testing::ElementsAre;

// Thread B buffers, thread A logs and fails, then B fails: each error writes its own
// thread's debug lines, and A's error does not drop B's (the rule is per buffer).
template <class LogDebug, class LogError>
void error_on_one_thread_writes_only_its_messages(test::collecting_sink_mt& sink, LogDebug debug,
                                                  LogError error) {
  std::promise<void> b_buffered, a_done;
  std::thread b([&] {
    debug("b-1");
    b_buffered.set_value();
    a_done.get_future().wait();
    error("b failed");
  });
  b_buffered.get_future().wait();
  debug("a-1");
  debug("a-2");
  error("a failed");
  EXPECT_THAT(sink.lines(), ElementsAre("debug a-1", "debug a-2", "error a failed"));
  a_done.set_value();
  b.join();
  EXPECT_THAT(sink.lines(),
              ElementsAre("debug a-1", "debug a-2", "error a failed", "debug b-1", "error b failed"));
}

TEST(Threads, FrontEndErrorWritesOnlyItsThreadsMessages) {
  auto sink = std::make_shared<test::collecting_sink_mt>();
  Logger log("t", {sink});
  error_on_one_thread_writes_only_its_messages(
      *sink, [&](const char* m) { log.debug("{}", m); }, [&](const char* m) { log.error("{}", m); });
}

TEST(Threads, SinkErrorWritesOnlyItsThreadsMessages) {
  auto sink = std::make_shared<test::collecting_sink_mt>();
  spdlog::logger logger("t", std::make_shared<burst_sink_mt>(sink));
  logger.set_level(spdlog::level::trace);
  error_on_one_thread_writes_only_its_messages(
      *sink, [&](const char* m) { logger.debug("{}", m); }, [&](const char* m) { logger.error("{}", m); });
}

// Several threads log at once: per thread the output is exactly its debug lines and errors
// in order, and each burst is written as one block (not interleaved with other threads).
template <class LogDebug, class LogError>
void concurrent_threads(test::collecting_sink_mt& sink, LogDebug debug, LogError error) {
  constexpr int threads = 4, iterations = 400, error_every = 40, per_iteration = 3;
  std::latch start(threads);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < iterations; ++i) {
        for (int k = 0; k < per_iteration; ++k) debug(t, i, k);
        if ((i + 1) % error_every == 0) error(t, i);
      }
    });
  }
  for (auto& w : workers) w.join();

  auto entries = sink.entries();
  ASSERT_EQ(entries.size(), size_t{threads} * (iterations * per_iteration + iterations / error_every));
  std::map<size_t, std::vector<std::string>> by_thread;
  for (auto& e : entries) by_thread[e.thread_id].push_back(e.payload);
  ASSERT_EQ(by_thread.size(), size_t{threads});
  for (auto& [id, payloads] : by_thread) {
    ASSERT_FALSE(payloads.empty());
    const std::string t = payloads.front().substr(0, payloads.front().find(' '));
    std::vector<std::string> expected;
    for (int i = 0; i < iterations; ++i) {
      for (int k = 0; k < per_iteration; ++k) expected.push_back(fmt::format("{} {} {}", t, i, k));
      if ((i + 1) % error_every == 0) expected.push_back(fmt::format("{} failed at {}", t, i));
    }
    EXPECT_EQ(payloads, expected) << "thread " << t;
  }
  // Each burst (error_every * per_iteration debug lines, then the error) is contiguous.
  for (size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].level != spdlog::level::err) continue;
    ASSERT_GE(i, size_t{error_every * per_iteration});
    for (size_t j = i - error_every * per_iteration; j < i; ++j) {
      EXPECT_EQ(entries[j].thread_id, entries[i].thread_id) << "entry " << j;
    }
  }
}

TEST(Threads, FrontEndConcurrentThreads) {
  auto sink = std::make_shared<test::collecting_sink_mt>();
  Logger log("t", {sink});
  concurrent_threads(
      *sink, [&](int t, int i, int k) { log.debug("{} {} {}", t, i, k); },
      [&](int t, int i) { log.error("{} failed at {}", t, i); });
}

TEST(Threads, SinkConcurrentThreads) {
  auto sink = std::make_shared<test::collecting_sink_mt>();
  spdlog::logger logger("t", std::make_shared<burst_sink_mt>(sink));
  logger.set_level(spdlog::level::trace);
  concurrent_threads(
      *sink, [&](int t, int i, int k) { logger.debug("{} {} {}", t, i, k); },
      [&](int t, int i) { logger.error("{} failed at {}", t, i); });
}

// Threads that come and go, and loggers that come and go, each get fresh buffers.
TEST(Threads, ManyShortLivedThreadsAndLoggers) {
  auto sink = std::make_shared<test::collecting_sink_mt>();
  for (int round = 0; round < 20; ++round) {
    Logger log("t", {sink}, Options{.flush_on_exit = false});  // the other threads' lines are dropped
    std::vector<std::thread> workers;
    for (int t = 0; t < 3; ++t) {
      workers.emplace_back([&, t] {
        log.debug("r{} t{}", round, t);
        if (t == 0) log.error("r{} failed", round);
      });
    }
    for (auto& w : workers) w.join();
  }
  auto lines = sink->lines();
  EXPECT_EQ(lines.size(), 40u);
  for (int round = 0; round < 20; ++round) {
    auto it = std::find(lines.begin(), lines.end(), fmt::format("error r{} failed", round));
    ASSERT_NE(it, lines.end());
    ASSERT_NE(it, lines.begin());
    EXPECT_EQ(*(it - 1), fmt::format("debug r{} t0", round));
  }
}

}  // namespace
}  // namespace relive::burst
