// Buffer bounds: by count (oldest dropped first), by bytes of captured arguments (front end),
// and by age (checked when the buffer is written).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/logger.h>

#include <thread>

#include "collecting_sink.hpp"
#include "relive/burst.hpp"
#include "relive/burst_sink.hpp"

namespace relive::burst {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;

std::vector<std::string> expected_suffix(int from, int to) {  // "debug m <i>" for i in [from, to)
  std::vector<std::string> out;
  for (int i = from; i < to; ++i) out.push_back("debug m " + std::to_string(i));
  return out;
}

TEST(FrontEndBounds, CountKeepsTheNewestMessages) {
  auto sink = std::make_shared<test::collecting_sink_mt>();
  Logger log("t", {sink}, Options{.max_messages = 5});
  for (int i = 0; i < 12; ++i) log.debug("m {}", i);
  EXPECT_EQ(log.buffered(), 5u);
  log.error("e");
  auto expected = expected_suffix(7, 12);
  expected.push_back("error e");
  EXPECT_EQ(sink->lines(), expected);
}

TEST(FrontEndBounds, DefaultCountIs512) {
  auto sink = std::make_shared<test::collecting_sink_mt>();
  Logger log("t", {sink});
  for (int i = 0; i < 600; ++i) log.debug("m {}", i);
  log.error("e");
  auto expected = expected_suffix(600 - 512, 600);
  expected.push_back("error e");
  EXPECT_EQ(sink->lines(), expected);
}

// Records of varied sizes wrap around the ring many times; what is written must always be
// the newest messages, whole and in order.
TEST(FrontEndBounds, BytesKeepTheNewestMessagesWholeAndInOrder) {
  auto sink = std::make_shared<test::collecting_sink_mt>();
  Logger log("t", {sink}, Options{.max_messages = 1000, .max_bytes = 2048});
  int next = 0;
  for (int round = 0; round < 40; ++round) {
    const int n = 5 + (round * 7) % 60;
    for (int i = 0; i < n; ++i, ++next) {
      log.debug("m {} {}", next, std::string(static_cast<size_t>((next * 37) % 150), 'x'));
    }
    sink->clear();
    log.error("e");
    auto lines = sink->lines();
    ASSERT_GE(lines.size(), 2u) << "round " << round;
    EXPECT_EQ(lines.back(), "error e");
    lines.pop_back();
    // A contiguous run ending at the last message logged.
    const int first = next - static_cast<int>(lines.size());
    for (size_t k = 0; k < lines.size(); ++k) {
      const int id = first + static_cast<int>(k);
      EXPECT_EQ(lines[k], "debug m " + std::to_string(id) + " " +
                              std::string(static_cast<size_t>((id * 37) % 150), 'x'))
          << "round " << round;
    }
    // And no fewer than fit: eviction makes room for one record (and at most one wrap's
    // padding), so what is kept fills the ring but for two of the largest records.
    const auto record_bytes = [](int id) {
      return detail::round_up8(sizeof(detail::RecordHeader) + sizeof(int) + sizeof(uint32_t) +
                               static_cast<size_t>((id * 37) % 150));
    };
    size_t kept = 0;
    for (int id = first; id < next; ++id) kept += record_bytes(id);
    const size_t largest = detail::round_up8(sizeof(detail::RecordHeader) + 8 + 149);
    EXPECT_TRUE(static_cast<int>(lines.size()) == n || kept >= 2048 - 2 * largest)
        << "round " << round << ": kept " << lines.size() << " of " << n << " (" << kept << " bytes)";
  }
}

TEST(FrontEndBounds, MessageTooLargeForTheBufferLeavesANotice) {
  auto sink = std::make_shared<test::collecting_sink_mt>();
  Logger log("t", {sink}, Options{.max_bytes = 1024});
  log.debug("before");
  log.debug("huge {}", std::string(5000, 'h'));
  log.debug("after");
  log.error("e");
  EXPECT_THAT(sink->lines(),
              ElementsAre("debug before",
                          "debug [relive burst: message too large for the buffer (Options::max_bytes); "
                          "format: \"huge {}\"]",
                          "debug after", "error e"));
}

// The injected clock moves the first message past the bound; the second stays inside it.
std::atomic<int64_t> fake_now_ns{1'000'000'000'000};

TEST(FrontEndBounds, AgeDropsOldMessagesWhenWritten) {
  auto sink = std::make_shared<test::collecting_sink_mt>();
  Logger log("t", {sink}, Options{.max_age = 1s, .clock = [] { return fake_now_ns.load(); }});
  log.debug("old");
  fake_now_ns += 1'200'000'000;
  log.debug("new");
  fake_now_ns += 999'000'000;
  log.error("e");
  EXPECT_THAT(sink->lines(), ElementsAre("debug new", "error e"));
  EXPECT_EQ(sink->entries().back().time.time_since_epoch(), std::chrono::nanoseconds(fake_now_ns.load()));
}

TEST(FrontEndFlush, TriggerWritesTheActiveBufferAndFlushWritesTheThreadsBuffers) {
  auto sink = std::make_shared<test::collecting_sink_mt>();
  Logger log("t", {sink}, Options{.flush_on_exit = false});
  log.debug("own");
  {
    Scope scope(log);
    log.debug("in scope");
    log.flush();  // the thread's own buffer, then its scopes'
    EXPECT_THAT(sink->lines(), ElementsAre("debug own", "debug in scope"));
    log.debug("in scope 2");
    log.trigger();  // the active buffer, as an error would
  }
  EXPECT_THAT(sink->lines(), ElementsAre("debug own", "debug in scope", "debug in scope 2"));
  EXPECT_EQ(log.buffered(), 0u);
}

TEST(FrontEndFlush, DestructorWritesWhatIsHeldUnlessTurnedOff) {
  auto sink = std::make_shared<test::collecting_sink_mt>();
  {
    Logger log("t", {sink});
    log.debug("held at exit");
    std::thread([&] { log.debug("other thread"); }).join();
  }
  EXPECT_THAT(sink->lines(), ElementsAre("debug held at exit", "debug other thread"));
  sink->clear();
  {
    Logger log("t", {sink}, Options{.flush_on_exit = false});
    log.debug("dropped");
  }
  EXPECT_TRUE(sink->lines().empty());
}

TEST(SinkFlush, TriggerFlushBuffersAndDestructor) {
  auto out = std::make_shared<test::collecting_sink_mt>();
  {
    auto burst = std::make_shared<burst_sink_mt>(out);
    spdlog::logger logger("t", burst);
    logger.set_level(spdlog::level::trace);
    logger.debug("a");
    burst->trigger();
    EXPECT_THAT(out->lines(), ElementsAre("debug a"));
    logger.debug("b");
    std::thread([&] { logger.debug("c"); }).join();
    burst->flush_buffers();
    EXPECT_EQ(out->lines().size(), 3u);
    logger.debug("at exit");
  }
  EXPECT_EQ(out->lines().back(), "debug at exit");
  out->clear();
  {
    auto burst = std::make_shared<burst_sink_mt>(out, Options{.flush_on_exit = false});
    spdlog::logger logger("t", burst);
    logger.set_level(spdlog::level::trace);
    logger.debug("dropped");
  }
  EXPECT_TRUE(out->lines().empty());
}

TEST(FrontEndBounds, ZeroAgeMeansNoAgeBound) {
  auto sink = std::make_shared<test::collecting_sink_mt>();
  Logger log("t", {sink}, Options{.max_age = 0ms});
  log.debug("kept");
  log.error("e");
  EXPECT_THAT(sink->lines(), ElementsAre("debug kept", "error e"));
}

struct SinkBounds : ::testing::Test {
  std::shared_ptr<test::collecting_sink_mt> out = std::make_shared<test::collecting_sink_mt>();

  // A message as a logger would hand it to the sink, at a chosen time.
  static spdlog::details::log_msg at(spdlog::log_clock::time_point t, spdlog::level::level_enum level,
                                     std::string_view text) {
    return spdlog::details::log_msg(t, spdlog::source_loc{}, "t", level, text);
  }
};

TEST_F(SinkBounds, CountKeepsTheNewestMessages) {
  auto burst = std::make_shared<burst_sink_mt>(out, Options{.max_messages = 3});
  spdlog::logger logger("t", burst);
  logger.set_level(spdlog::level::trace);
  for (int i = 0; i < 10; ++i) logger.debug("m {}", i);
  logger.error("e");
  EXPECT_THAT(out->lines(), ElementsAre("debug m 7", "debug m 8", "debug m 9", "error e"));
}

TEST_F(SinkBounds, AgeIsMeasuredFromTheErrorsTime) {
  auto burst = std::make_shared<burst_sink_mt>(out);  // default: 60 s
  const auto t0 = spdlog::log_clock::now();
  burst->log(at(t0, spdlog::level::debug, "71 s before"));
  burst->log(at(t0 + 10s, spdlog::level::debug, "61 s before"));
  burst->log(at(t0 + 12s, spdlog::level::debug, "59 s before"));
  burst->log(at(t0 + 70s, spdlog::level::debug, "1 s before"));
  burst->log(at(t0 + 71s, spdlog::level::err, "error"));
  EXPECT_THAT(out->lines(), ElementsAre("debug 59 s before", "debug 1 s before", "error error"));
}

}  // namespace
}  // namespace relive::burst
