// Trigger and pass levels, and the level below which messages are discarded.
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

struct Levels : ::testing::Test {
  std::shared_ptr<test::collecting_sink_mt> sink = std::make_shared<test::collecting_sink_mt>();
};

TEST_F(Levels, CriticalTriggersLikeError) {
  Logger log("t", {sink});
  log.debug("d");
  log.critical("c");
  EXPECT_THAT(sink->lines(), ElementsAre("debug d", "critical c"));
}

TEST_F(Levels, WarnIsWrittenButDoesNotTriggerByDefault) {
  Logger log("t", {sink});
  log.debug("d1");
  log.warn("w");
  EXPECT_THAT(sink->lines(), ElementsAre("warning w"));
  log.debug("d2");
  log.error("e");
  EXPECT_THAT(sink->lines(), ElementsAre("warning w", "debug d2", "error e"));
}

TEST_F(Levels, TriggerLevelWarn) {
  Logger log("t", {sink}, Options{.trigger_level = Level::warn});
  log.debug("d");
  log.warn("w");
  EXPECT_THAT(sink->lines(), ElementsAre("debug d", "warning w"));
}

TEST_F(Levels, TriggerLevelOffNeverWritesTheBuffer) {
  Logger log("t", {sink}, Options{.trigger_level = Level::off});
  log.debug("d");
  log.critical("c");
  EXPECT_THAT(sink->lines(), ElementsAre("critical c"));
}

TEST_F(Levels, PassLevelWarnBuffersInfo) {
  Logger log("t", {sink}, Options{.pass_level = Level::warn});
  log.debug("d");
  log.info("i");
  EXPECT_THAT(sink->lines(), IsEmpty());
  log.error("e");
  EXPECT_THAT(sink->lines(), ElementsAre("debug d", "info i", "error e"));
}

TEST_F(Levels, PassLevelDebugWritesDebugAtOnceAndBuffersTrace) {
  Logger log("t", {sink}, Options{.pass_level = Level::debug});
  log.trace("t1");
  log.debug("d");
  log.trace("t2");
  EXPECT_THAT(sink->lines(), ElementsAre("debug d"));
  log.error("e");
  EXPECT_THAT(sink->lines(), ElementsAre("debug d", "trace t2", "error e"));
}

TEST_F(Levels, BelowTheLevelIsDiscarded) {
  Logger log("t", {sink}, Options{.level = Level::debug});
  log.trace("t");
  log.debug("d");
  EXPECT_EQ(log.buffered(), 1u);
  log.error("e");
  EXPECT_THAT(sink->lines(), ElementsAre("debug d", "error e"));
}

TEST_F(Levels, LevelsChangeAtRunTime) {
  Logger log("t", {sink});
  log.set_pass_level(Level::trace);
  log.debug("written at once");
  log.set_pass_level(Level::info);
  log.set_trigger_level(Level::critical);
  log.debug("buffered");
  log.error("no trigger");
  log.debug("buffered 2");
  log.critical("trigger");
  EXPECT_THAT(sink->lines(),
              ElementsAre("debug written at once", "error no trigger", "debug buffered 2", "critical trigger"));
}

TEST_F(Levels, WrappedSinksKeepTheirOwnLevel) {
  auto quiet = std::make_shared<test::collecting_sink_mt>();
  quiet->set_level(spdlog::level::warn);
  Logger log("t", {sink, quiet});
  log.debug("d");
  log.error("e");
  EXPECT_THAT(sink->lines(), ElementsAre("debug d", "error e"));
  EXPECT_THAT(quiet->lines(), ElementsAre("error e"));
}

TEST_F(Levels, SinkHonoursTriggerAndPassLevels) {
  auto burst = std::make_shared<burst_sink_mt>(
      sink, Options{.pass_level = Level::warn, .trigger_level = Level::critical});
  spdlog::logger logger("t", burst);
  logger.set_level(spdlog::level::trace);
  logger.info("i");
  logger.error("no trigger");
  logger.info("i2");
  logger.critical("c");
  EXPECT_THAT(sink->lines(), ElementsAre("error no trigger", "info i2", "critical c"));
}

}  // namespace
}  // namespace relive::burst
