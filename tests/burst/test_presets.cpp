// The burst line filter's level presets on real samples: output generated here by the real
// libraries where they are installed (Python's logging, spdlog), and otherwise lines in
// the exact form each library documents (glog, JSON loggers, logfmt, syslog). Also the
// lines that must NOT be taken for a level (false positives drop lines; misses do not).
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>
#include <string>
#include <vector>

#include "../../src/burst/level_detect.hpp"
#include "relive/burst_filter.hpp"
#include "test_support.hpp"

namespace relive::burst {
namespace {

using line_internal::detect_preset_level;
using line_internal::parse_level_text;

struct Sample {
  std::string_view line;
  std::optional<Level> level;
};

void expect_levels(const std::vector<Sample>& samples) {
  for (const auto& s : samples) {
    auto got = detect_preset_level(s.line);
    EXPECT_EQ(got, s.level) << "line: " << s.line << "\n got: " << (got ? to_string(*got) : "none")
                            << "\n want: " << (s.level ? to_string(*s.level) : "none");
  }
}

std::string filter_all(std::string_view input, FilterOptions options = {}) {
  std::string out;
  auto f = LineFilter::create(std::move(options), [&](std::string_view s) { out.append(s); });
  EXPECT_TRUE(f);
  (*f)->feed(input);
  (*f)->finish();
  return out;
}

std::string erase_line(std::string text, std::string_view line) {
  auto pos = text.find(line);
  EXPECT_NE(pos, std::string::npos) << "missing line " << line << " in:\n" << text;
  if (pos != std::string::npos) text.erase(pos, line.size());
  return text;
}

// Runs a Python program and returns what it printed (stdout and stderr together).
std::string run_python(const std::string& program) {
  test::Process python({"python3", "-c", program});
  EXPECT_EQ(python.wait(std::chrono::seconds(20)), 0) << python.output();
  return python.output();
}

// A program using logging as most scripts do; the exceptions are real ones.
std::string python_program(std::string_view basic_config) {
  return "import logging\n"
         "logging.basicConfig(level=logging.DEBUG" + std::string(basic_config) + ")\n"
         "log = logging.getLogger('app')\n"
         "log.debug('before')\n"
         "log.info('started')\n"
         "log.debug('step 1')\n"
         "try:\n"
         "    int('x')\n"
         "except ValueError:\n"
         "    log.debug('caught', exc_info=True)\n"
         "log.debug('step 2')\n"
         "def load():\n"
         "    try:\n"
         "        return {}['k']\n"
         "    except KeyError as e:\n"
         "        raise RuntimeError('no config') from e\n"
         "try:\n"
         "    load()\n"
         "except RuntimeError:\n"
         "    log.exception('failed')\n"
         "log.debug('after')\n"
         "log.warning('done')\n";
}

TEST(Presets, PythonDefaultFormatFromRealPython) {
  std::string raw = run_python(python_program(""));
  ASSERT_NE(raw.find("DEBUG:app:before\n"), std::string::npos) << raw;
  ASSERT_NE(raw.find("Traceback (most recent call last):"), std::string::npos) << raw;
  ASSERT_NE(raw.find("The above exception was the direct cause"), std::string::npos) << raw;
  // Everything but the debug lines no error followed: the traceback of a debug record and
  // of the error record both stay whole.
  std::string expected = erase_line(erase_line(raw, "DEBUG:app:before\n"), "DEBUG:app:after\n");
  EXPECT_EQ(filter_all(raw), expected);
  expect_levels({{"DEBUG:app:before", Level::debug},
                 {"INFO:app:started", Level::info},
                 {"WARNING:app:done", Level::warn},
                 {"ERROR:app:failed", Level::error},
                 {"CRITICAL:root:x", Level::critical}});
}

TEST(Presets, PythonAsctimeFormatFromRealPython) {
  std::string raw = run_python(python_program(", format='%(asctime)s - %(name)s - %(levelname)s - %(message)s'"));
  auto before = raw.find(" - app - DEBUG - before\n");
  ASSERT_NE(before, std::string::npos) << raw;
  std::string before_line = raw.substr(raw.rfind('\n', before) + 1, raw.find('\n', before) + 1 - (raw.rfind('\n', before) + 1));
  auto after = raw.find(" - app - DEBUG - after\n");
  ASSERT_NE(after, std::string::npos) << raw;
  std::string after_line = raw.substr(raw.rfind('\n', after) + 1, raw.find('\n', after) + 1 - (raw.rfind('\n', after) + 1));
  std::string expected = erase_line(erase_line(raw, before_line), after_line);
  EXPECT_EQ(filter_all(raw), expected);
  expect_levels({{"2026-11-21 12:00:00,123 - app - DEBUG - msg", Level::debug},
                 {"2026-11-21 12:00:00,123 - app.db - WARNING - slow", Level::warn},
                 {"2026-11-21 12:00:00,123 - my - app - ERROR - name with a dash", Level::error},
                 {"2026-11-21 12:00:00,123 - CRITICAL - no name field", Level::critical},
                 {"2026-11-21 12:00:00,123 - app - said DEBUG - not a field", std::nullopt}});
}

TEST(Presets, SpdlogFromRealSpdlog) {
  std::ostringstream stream;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(stream);
  spdlog::logger logger("service", sink);
  logger.set_level(spdlog::level::trace);
  logger.trace("t {}", 1);
  logger.debug("d {}", 2);
  logger.info("i {}", 3);
  logger.warn("w {}", 4);
  logger.error("e {}", 5);
  logger.critical("c {}", 6);
  logger.set_pattern("[%l] %v");
  logger.debug("short pattern");
  logger.set_pattern("[%H:%M:%S] [%^%l%$] %v");
  logger.error("colour marks, no colour");
  logger.flush();
  std::istringstream lines(stream.str());
  std::vector<std::optional<Level>> want = {Level::trace, Level::debug, Level::info, Level::warn,
                                            Level::error, Level::critical, Level::debug, Level::error};
  std::string line;
  size_t i = 0;
  while (std::getline(lines, line)) {
    ASSERT_LT(i, want.size()) << line;
    EXPECT_EQ(detect_preset_level(line), want[i]) << line;
    ++i;
  }
  EXPECT_EQ(i, want.size());
  expect_levels({{"[2026-11-21 12:00:00.123] [name] [\x1b[32minfo\x1b[m] forced colour", Level::info},
                 {"[2026-11-21 12:00:00.123] [debug] no logger name", Level::debug}});
}

TEST(Presets, Glog) {
  // glog is not installed here; these are the forms its LogMessage prefix takes
  // ("Lmmdd hh:mm:ss.uuuuuu threadid file:line] msg"), with and without the year.
  expect_levels({{"I1121 12:00:00.123456  1234 main.cc:12] started", Level::info},
                 {"W1121 12:00:00.123456  1234 main.cc:13] slow", Level::warn},
                 {"E1121 12:00:00.123456  1234 main.cc:14] failed", Level::error},
                 {"F1121 12:00:00.123456  1234 main.cc:15] Check failed: x", Level::critical},
                 {"D1121 12:00:00.123456  1234 main.cc:16] detail", Level::debug},
                 {"E20261121 12:00:00.123456  1234 main.cc:14] with year", Level::error},
                 {"I1121 no time here", std::nullopt},
                 {"E12 is a spreadsheet cell", std::nullopt}});
}

TEST(Presets, JsonLines) {
  expect_levels({
      {R"({"time":"2026-11-21T12:00:00Z","level":"debug","msg":"x"})", Level::debug},    // zap, zerolog, logrus
      {R"({"level":"INFO","message":"x"})", Level::info},
      {R"({"severity":"ERROR","message":"x"})", Level::error},                           // Google Cloud
      {R"({"level":30,"time":1,"pid":1,"hostname":"h","msg":"x"})", Level::info},        // pino, bunyan
      {R"({"level":20,"msg":"x"})", Level::debug},
      {R"({"level":50,"msg":"x"})", Level::error},
      {R"({"version":"1.1","host":"h","short_message":"x","level":7})", Level::debug},  // GELF (syslog)
      {R"({"@t":"2026-11-21T12:00:00Z","@l":"Warning","@mt":"x"})", Level::warn},        // Serilog CLEF
      {R"({"log.level":"error","message":"x"})", Level::error},                         // ECS
      {R"({"msg":"the \"level\": \"error\" is in the text", "level" : "debug"})", Level::debug},
      {R"({"msg":"level: error"})", std::nullopt},
      {R"({"ctx":{"level":"nope"},"n":1})", std::nullopt},
      {R"({"level":3.5})", std::nullopt},
      {R"({"broken)", std::nullopt},
  });
  // And json.dumps output from the real Python.
  std::string raw = run_python(
      "import json\n"
      "for lvl, msg in [('debug','a'),('info','b \"quoted\" level'),('debug','c'),('error','d')]:\n"
      "    print(json.dumps({'level': lvl, 'msg': msg}))\n");
  EXPECT_EQ(filter_all(raw), "{\"level\": \"info\", \"msg\": \"b \\\"quoted\\\" level\"}\n"
                             "{\"level\": \"debug\", \"msg\": \"c\"}\n"
                             "{\"level\": \"error\", \"msg\": \"d\"}\n");
}

TEST(Presets, Logfmt) {
  expect_levels({
      {R"(level=debug ts=2026-11-21T12:00:00Z caller=main.go:12 msg="x")", Level::debug},  // go-kit
      {R"(time="2026-11-21T12:00:00Z" level=info msg="started")", Level::info},             // logrus text
      {R"(t=2026-11-21T12:00:00+0000 lvl=eror msg="x")", Level::error},                    // log15
      {R"(t=2026-11-21T12:00:00+0000 lvl=dbug msg="x")", Level::debug},
      {R"(t=2026-11-21T12:00:00+0000 lvl=warn msg="x")", Level::warn},
      {R"(ts=1 level="error" msg="x")", Level::error},
      {"set level=3 for the next run", std::nullopt},
      {"sublevel=debug", std::nullopt},
  });
}

TEST(Presets, SyslogPriority) {
  expect_levels({{"<7>debug detail", Level::debug},
                 {"<6>started", Level::info},
                 {"<5>notice", Level::info},
                 {"<4>warning", Level::warn},
                 {"<3>failed", Level::error},
                 {"<2>critical", Level::critical},
                 {"<0>emergency", Level::critical},
                 {"<134>local0.info", Level::info},
                 {"<15>user.debug", Level::debug},
                 {"<html>", std::nullopt},
                 {"<999>too big", std::nullopt}});
}

TEST(Presets, LevelWordAfterATimestampAndOtherCommonForms) {
  expect_levels({
      {"2026-11-21 12:00:00,123 INFO started", Level::info},                                   // Python "%(asctime)s %(levelname)s"
      {"2026-11-21 12:00:00,123 [main] DEBUG com.example.App - x", Level::debug},              // log4j
      {"2026-11-21T12:00:00.123+01:00 WARN [main] x", Level::warn},
      {"2026-11-21 12:00:00.123 | ERROR    | __main__:<module>:1 - x", Level::error},          // loguru
      {"2026/11/21 12:00:00 [error] 12#0: x", Level::error},                                   // nginx
      {"[2026-11-21T12:00:00Z DEBUG my_crate] x", Level::debug},                               // env_logger
      {"[INFO] Building relive", Level::info},                                                 // Maven
      {"[WARNING] deprecated", Level::warn},
      {"D, [2026-11-21T12:00:00.123456 #1234] DEBUG -- : x", Level::debug},                    // Ruby Logger
      {"E, [2026-11-21T12:00:00.123456 #1234] ERROR -- : x", Level::error},
      {"INFO: uvicorn running", Level::info},
      {"ERROR something failed", Level::error},
      {"FATAL out of memory", Level::critical},
  });
}

TEST(Presets, OrdinaryLinesHaveNoLevel) {
  expect_levels({
      {"", std::nullopt},
      {"hello world", std::nullopt},
      {"Debugging is fun", std::nullopt},
      {"INFORMATION follows", std::nullopt},
      {"ERRORS: 0", std::nullopt},
      {"Errors: 0", std::nullopt},
      {"[1/3] Building CXX object", std::nullopt},
      {"[main] started", std::nullopt},
      {"2026 was a good year", std::nullopt},
      {"2026-11-21 12:00:00 the build finished", std::nullopt},
      {"<p>html</p>", std::nullopt},
      {"{}", std::nullopt},
      {"Traceback (most recent call last):", std::nullopt},
      {"ValueError: bad value", std::nullopt},
      {"make: *** [all] Error 2", std::nullopt},
  });
}

TEST(Presets, LevelTextAsUserRegexesCaptureIt) {
  EXPECT_EQ(parse_level_text("debug"), Level::debug);
  EXPECT_EQ(parse_level_text("WARNING"), Level::warn);
  EXPECT_EQ(parse_level_text(" Err "), Level::error);
  EXPECT_EQ(parse_level_text("W"), Level::warn);
  EXPECT_EQ(parse_level_text("f"), Level::critical);
  EXPECT_EQ(parse_level_text("7"), Level::debug);
  EXPECT_EQ(parse_level_text("40"), Level::warn);
  EXPECT_EQ(parse_level_text("verbose"), Level::trace);
  EXPECT_EQ(parse_level_text("x"), std::nullopt);
  EXPECT_EQ(parse_level_text("99"), std::nullopt);
  EXPECT_EQ(parse_level_text(""), std::nullopt);
}

}  // namespace
}  // namespace relive::burst
