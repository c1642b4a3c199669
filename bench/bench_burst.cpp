// Cost of one debug message that is buffered and never written — through relive's burst
// front end and through the burst spdlog sink — beside spdlog filtering the message out by
// level, keeping it in spdlog's backtrace, and writing it to a null sink. Same message for
// all: "request {} took {} ms on {}" with an int, a double and a std::string.
//
// Run (report the medians):
//   build/bench/bench_burst --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
// Target: front end <= 25 ns single thread, and no slower per message with 2 threads.
#include <benchmark/benchmark.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/null_sink.h>

#include <memory>
#include <string>

#include "relive/burst.hpp"
#include "relive/burst_sink.hpp"

namespace {

const std::string host = "db-replica-3.internal";  // longer than the small-string buffer
constexpr double took_ms = 2.5;

std::shared_ptr<spdlog::sinks::null_sink_mt> null_sink() {
  return std::make_shared<spdlog::sinks::null_sink_mt>();
}

// One logger for all benchmark threads, as in a service: buffers are per thread inside it.
relive::burst::Logger& front_end() {
  static relive::burst::Logger logger("bench", {null_sink()});
  return logger;
}

spdlog::logger& spdlog_with(spdlog::sink_ptr sink, spdlog::level::level_enum level, bool backtrace = false) {
  auto* logger = new spdlog::logger("bench", std::move(sink));  // lives for the whole run
  logger->set_level(level);
  if (backtrace) logger->enable_backtrace(32);
  return *logger;
}

void FrontEnd_BufferedDebug(benchmark::State& state) {
  auto& log = front_end();
  int request = state.thread_index() * 1'000'000;
  for (auto _ : state) log.debug("request {} took {} ms on {}", ++request, took_ms, host);
}
BENCHMARK(FrontEnd_BufferedDebug)->Threads(1)->Threads(2);

void BurstSink_BufferedDebug(benchmark::State& state) {
  static auto& logger = spdlog_with(std::make_shared<relive::burst_sink_mt>(null_sink()), spdlog::level::trace);
  int request = state.thread_index() * 1'000'000;
  for (auto _ : state) logger.debug("request {} took {} ms on {}", ++request, took_ms, host);
}
BENCHMARK(BurstSink_BufferedDebug)->Threads(1)->Threads(2);

void Spdlog_FilteredOutByLevel(benchmark::State& state) {
  static auto& logger = spdlog_with(null_sink(), spdlog::level::info);
  int request = 0;
  for (auto _ : state) logger.debug("request {} took {} ms on {}", ++request, took_ms, host);
}
BENCHMARK(Spdlog_FilteredOutByLevel);

void Spdlog_Backtrace(benchmark::State& state) {
  static auto& logger = spdlog_with(null_sink(), spdlog::level::info, /*backtrace=*/true);
  int request = 0;
  for (auto _ : state) logger.debug("request {} took {} ms on {}", ++request, took_ms, host);
}
BENCHMARK(Spdlog_Backtrace);

void Spdlog_NullSink(benchmark::State& state) {
  static auto& logger = spdlog_with(null_sink(), spdlog::level::debug);
  int request = 0;
  for (auto _ : state) logger.debug("request {} took {} ms on {}", ++request, took_ms, host);
}
BENCHMARK(Spdlog_NullSink);

// For context: what writing really costs — spdlog's pattern formatting and a file write
// (to /dev/null), which is what a buffered, never-written message saves.
void Spdlog_FileSinkDevNull(benchmark::State& state) {
  static auto& logger = spdlog_with(std::make_shared<spdlog::sinks::basic_file_sink_mt>("/dev/null"),
                                    spdlog::level::debug);
  int request = 0;
  for (auto _ : state) logger.debug("request {} took {} ms on {}", ++request, took_ms, host);
}
BENCHMARK(Spdlog_FileSinkDevNull);

}  // namespace

BENCHMARK_MAIN();
