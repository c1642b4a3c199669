// How the front end captures arguments: strings copied (never referenced), other values by
// copy, formatting deferred until written (and never done for a message never written).
#include <fmt/chrono.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>

#include "collecting_sink.hpp"
#include "relive/burst.hpp"

namespace {

// A value whose formatter counts how often it runs.
std::atomic<int> counted_formats{0};
struct Counted {
  int value;
};

}  // namespace

template <>
struct fmt::formatter<Counted> : fmt::formatter<int> {
  auto format(const Counted& c, fmt::format_context& ctx) const {
    ++counted_formats;
    return fmt::formatter<int>::format(c.value, ctx);
  }
};

namespace relive::burst {
namespace {

using ::testing::ElementsAre;
using namespace std::chrono_literals;

struct Capture : ::testing::Test {
  std::shared_ptr<test::collecting_sink_mt> sink = std::make_shared<test::collecting_sink_mt>();
  Logger log{"t", {sink}};
};

TEST_F(Capture, StringFreedAfterTheCallIsPrintedRight) {
  {
    auto host = std::make_unique<std::string>("db-replica-3.internal.example.net");
    log.debug("request {} took {} ms on {}", 17, 2.5, *host);
  }  // freed (ASan would report a read of it)
  {
    std::string reused(64, 'z');
    log.debug("padding {}", reused);
  }
  log.error("e");
  EXPECT_THAT(sink->lines(), ElementsAre("debug request 17 took 2.5 ms on db-replica-3.internal.example.net",
                                         "debug padding " + std::string(64, 'z'), "error e"));
}

TEST_F(Capture, StringViewAndCStringAreCopiedNotReferenced) {
  char buffer[32];
  std::strcpy(buffer, "alpha");
  log.debug("view {}", std::string_view(buffer));
  log.debug("c string {}", static_cast<const char*>(buffer));
  log.debug("array {}", buffer);
  std::strcpy(buffer, "omega");
  const char* null_string = nullptr;
  log.debug("null {}", null_string);
  log.error("e");
  EXPECT_THAT(sink->lines(), ElementsAre("debug view alpha", "debug c string alpha", "debug array alpha",
                                         "debug null (null)", "error e"));
}

TEST_F(Capture, FormattingIsDeferredAndSkippedWhenNeverWritten) {
  counted_formats = 0;
  log.debug("value {}", Counted{1});
  log.debug("value {}", Counted{2});
  EXPECT_EQ(counted_formats, 0);
  log.info("dropping the buffer");  // the debug messages are now older than a written one
  EXPECT_EQ(counted_formats, 0);
  log.debug("value {}", Counted{3});
  EXPECT_EQ(counted_formats, 0);
  log.error("e");
  EXPECT_EQ(counted_formats, 1);
  EXPECT_THAT(sink->lines(), ElementsAre("info dropping the buffer", "debug value 3", "error e"));
}

TEST_F(Capture, MessagesDroppedByTheCountBoundAreNeverFormatted) {
  counted_formats = 0;
  Logger small("t", {sink}, Options{.max_messages = 2});
  for (int i = 0; i < 10; ++i) small.debug("{}", Counted{i});
  small.error("e");
  EXPECT_EQ(counted_formats, 2);
}

enum class Color { red, green };
std::string_view format_as_text(Color c) { return c == Color::red ? "red" : "green"; }

TEST_F(Capture, ValuesOfManyTypesWithFormatSpecs) {
  const int answer = 42;
  log.debug("{:>5}|{:.2f}|{:#x}|{}|{}|{}|{}", "ab", 3.14159, 255u, true, 'c', int64_t{-7}, answer);
  log.debug("{} {}", std::chrono::milliseconds(250), static_cast<const void*>(nullptr));
  log.debug("{}", format_as_text(Color::green));
  log.debug("no arguments");
  log.error("e");
  EXPECT_THAT(sink->lines(), ElementsAre("debug    ab|3.14|0xff|true|c|-7|42", "debug 250ms 0x0",
                                         "debug green", "debug no arguments", "error e"));
}

TEST_F(Capture, WrittenMessagesAreFormattedToo) {
  std::string host = "api-1";
  log.info("{} up, {:.1f}% free", host, 12.345);
  log.warn("{}", fmt::format("{}-{}", 1, 2));
  EXPECT_THAT(sink->lines(), ElementsAre("info api-1 up, 12.3% free", "warning 1-2"));
}

TEST_F(Capture, SourceLocationReachesThePattern) {
  sink->set_pattern("%s:%# %v");
  const int line = __LINE__ + 1;
  log.debug("here");
  log.error("e");
  auto formatted = sink->formatted();
  ASSERT_EQ(formatted.size(), 2u);
  EXPECT_EQ(formatted[0], fmt::format("test_capture.cpp:{} here", line));
}

TEST_F(Capture, Macros) {
  RELIVE_DEBUG(log, "request {} took {} ms on {}", 1, 2.0, std::string("h"));
  RELIVE_TRACE(log, "t");
  RELIVE_ERROR(log, "failed {}", 1);
  RELIVE_INFO(log, "i");
  RELIVE_WARN(log, "w");
  RELIVE_CRITICAL(log, "c");
  EXPECT_THAT(sink->lines(), ElementsAre("debug request 1 took 2 ms on h", "trace t", "error failed 1", "info i",
                                         "warning w", "critical c"));
}

}  // namespace
}  // namespace relive::burst
