// The ordering and dropping rule: buffered messages are written oldest first before the
// error; a written message drops the buffered ones older than it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/logger.h>

#include "collecting_sink.hpp"
#include "relive/burst.hpp"
#include "relive/burst_sink.hpp"

namespace relive::burst {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

struct FrontEnd : ::testing::Test {
  std::shared_ptr<test::collecting_sink_mt> sink = std::make_shared<test::collecting_sink_mt>();
  Logger log{"test", {sink}};
};

TEST_F(FrontEnd, DebugMessagesAreNotWrittenWithoutAnError) {
  log.debug("a {}", 1);
  log.trace("b {}", 2);
  EXPECT_THAT(sink->lines(), IsEmpty());
  EXPECT_EQ(log.buffered(), 2u);
}

TEST_F(FrontEnd, InfoIsWrittenAtOnce) {
  log.info("started on port {}", 8080);
  EXPECT_THAT(sink->lines(), ElementsAre("info started on port 8080"));
}

TEST_F(FrontEnd, ErrorWritesBufferedMessagesOldestFirstThenTheError) {
  log.debug("a {}", 1);
  log.trace("b {}", 2);
  log.debug("c {}", 3);
  log.error("failed: {}", "timeout");
  EXPECT_THAT(sink->lines(), ElementsAre("debug a 1", "trace b 2", "debug c 3", "error failed: timeout"));
  EXPECT_EQ(log.buffered(), 0u);
}

TEST_F(FrontEnd, WrittenMessageDropsOlderBufferedOnes) {
  log.debug("before info");
  log.info("info");
  log.debug("after info");
  log.error("error");
  EXPECT_THAT(sink->lines(), ElementsAre("info info", "debug after info", "error error"));
}

TEST_F(FrontEnd, AnErrorEmptiesTheBuffer) {
  log.debug("a");
  log.error("first");
  log.error("second");
  log.debug("b");
  log.critical("third");
  EXPECT_THAT(sink->lines(), ElementsAre("debug a", "error first", "error second", "debug b", "critical third"));
}

TEST_F(FrontEnd, WrittenTimesNeverGoBackwards) {
  log.info("i");
  for (int i = 0; i < 10; ++i) log.debug("d {}", i);
  log.error("e");
  auto entries = sink->entries();
  ASSERT_EQ(entries.size(), 12u);
  for (size_t i = 1; i < entries.size(); ++i) EXPECT_LE(entries[i - 1].time, entries[i].time) << i;
}

TEST_F(FrontEnd, TriggerFlushesTheSinks) {
  log.info("i");
  EXPECT_EQ(sink->flushes(), 0u);
  log.error("e");
  EXPECT_EQ(sink->flushes(), 1u);
}

struct SpdlogSink : ::testing::Test {
  std::shared_ptr<test::collecting_sink_mt> out = std::make_shared<test::collecting_sink_mt>();
  std::shared_ptr<burst_sink_mt> burst = std::make_shared<burst_sink_mt>(std::vector<spdlog::sink_ptr>{out});
  spdlog::logger logger{"test", burst};
  void SetUp() override { logger.set_level(spdlog::level::trace); }
};

TEST_F(SpdlogSink, ErrorWritesBufferedMessagesOldestFirstThenTheError) {
  logger.debug("a {}", 1);
  logger.trace("b {}", 2);
  EXPECT_THAT(out->lines(), IsEmpty());
  EXPECT_EQ(burst->buffered(), 2u);
  logger.error("failed");
  EXPECT_THAT(out->lines(), ElementsAre("debug a 1", "trace b 2", "error failed"));
  EXPECT_EQ(burst->buffered(), 0u);
}

TEST_F(SpdlogSink, WrittenMessageDropsOlderBufferedOnes) {
  logger.debug("before info");
  logger.info("info");
  logger.debug("after info");
  logger.warn("warn");
  logger.debug("after warn");
  logger.error("error");
  EXPECT_THAT(out->lines(), ElementsAre("info info", "warning warn", "debug after warn", "error error"));
}

}  // namespace
}  // namespace relive::burst
