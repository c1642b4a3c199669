// The spdlog sink inside real spdlog loggers with real patterns and a real file sink.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>

#include <thread>

#include "collecting_sink.hpp"
#include "relive/burst.hpp"
#include "relive/burst_sink.hpp"
#include "test_support.hpp"

namespace relive::burst {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(BurstSink, AdoptedInOneLineIntoALoggerWithAFileSinkAndAPattern) {
  test::TempDir dir;
  const auto path = dir / "app.log";
  auto logger = std::make_shared<spdlog::logger>("app", std::make_shared<spdlog::sinks::basic_file_sink_mt>(path.string()));
  logger->set_pattern("[%n] [%l] %v");
  logger->sinks() = {std::make_shared<burst_sink_mt>(logger->sinks())};  // the one line
  logger->set_level(spdlog::level::trace);

  logger->info("starting");
  logger->debug("cache miss for {}", "user:17");
  logger->trace("retrying in {} ms", 20);
  logger->flush();
  EXPECT_EQ(test::read_file(path), "[app] [info] starting\n");
  logger->error("lookup failed");
  logger->flush();
  EXPECT_EQ(test::read_file(path),
            "[app] [info] starting\n"
            "[app] [debug] cache miss for user:17\n"
            "[app] [trace] retrying in 20 ms\n"
            "[app] [error] lookup failed\n");
}

TEST(BurstSink, PatternSetOnTheLoggerReachesTheWrappedSinks) {
  auto out = std::make_shared<test::collecting_sink_mt>();
  spdlog::logger logger("svc", std::make_shared<burst_sink_mt>(out));
  logger.set_level(spdlog::level::trace);
  logger.set_pattern("%n|%L|%v");
  logger.debug("d");
  logger.error("e");
  EXPECT_THAT(out->formatted(), ElementsAre("svc|D|d", "svc|E|e"));
}

TEST(BurstSink, PatternFormattingIsDeferredUntilWritten) {
  auto out = std::make_shared<test::collecting_sink_mt>();  // formats in its sink_it_
  spdlog::logger logger("svc", std::make_shared<burst_sink_mt>(out));
  logger.set_level(spdlog::level::trace);
  for (int i = 0; i < 100; ++i) logger.debug("d {}", i);
  EXPECT_EQ(out->count(), 0u);
}

TEST(BurstSink, BufferedMessagesKeepTheirThreadTimeAndSource) {
  auto out = std::make_shared<test::collecting_sink_mt>();
  auto burst = std::make_shared<burst_sink_mt>(out);
  spdlog::logger logger("svc", burst);
  logger.set_level(spdlog::level::trace);
  const auto t0 = spdlog::log_clock::now();
  spdlog::details::log_msg msg(t0 - std::chrono::seconds(5), spdlog::source_loc{"file.cpp", 12, "fn"}, "other",
                               spdlog::level::debug, "crafted");
  burst->log(msg);
  logger.error("e");
  auto entries = out->entries();
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].payload, "crafted");
  EXPECT_EQ(entries[0].time, t0 - std::chrono::seconds(5));
  EXPECT_EQ(entries[0].thread_id, entries[1].thread_id);
  out->set_pattern("%n %s:%# %!");
  out->clear();
  burst->log(msg);
  logger.error("e");
  EXPECT_EQ(out->formatted().at(0), "other file.cpp:12 fn");
}

TEST(BurstSink, LoggerLevelAtInfoMeansDebugNeverReachesTheSink) {
  // Documented: the logger's level must let debug through; the sink cannot see it otherwise.
  auto out = std::make_shared<test::collecting_sink_mt>();
  auto burst = std::make_shared<burst_sink_mt>(out);
  spdlog::logger logger("svc", burst);
  logger.set_level(spdlog::level::info);
  logger.debug("d");
  EXPECT_EQ(burst->buffered(), 0u);
  logger.error("e");
  EXPECT_THAT(out->lines(), ElementsAre("error e"));
}

TEST(BurstSink, SingleThreadedVariant) {
  auto out = std::make_shared<test::collecting_sink_st>();
  spdlog::logger logger("svc", std::make_shared<burst_sink_st>(out));
  logger.set_level(spdlog::level::trace);
  logger.debug("d");
  logger.critical("c");
  EXPECT_THAT(out->lines(), ElementsAre("debug d", "critical c"));
}

TEST(BurstSink, FrontEndWritesThroughAnExistingLoggersSinksAndName) {
  auto out = std::make_shared<test::collecting_sink_mt>();
  spdlog::logger existing("orders", out);
  existing.set_pattern("%n [%l] %v");
  Logger log(existing);
  log.debug("request {} took {} ms on {}", 7, 1.5, std::string("db-2"));
  log.error("request {} failed", 7);
  EXPECT_THAT(out->formatted(),
              ElementsAre("orders [debug] request 7 took 1.5 ms on db-2", "orders [error] request 7 failed"));
}

}  // namespace
}  // namespace relive::burst
