// The burst line filter's semantics (relive/burst_filter.hpp): what is written, what is
// held, what is dropped, in what order; bounds by count and age; chunking; multi-line
// records. Levels here use Python's default format ("DEBUG:name:msg"), whose detection
// tests/burst/test_presets.cpp covers.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "relive/burst_filter.hpp"

namespace relive::burst {
namespace {

using namespace std::chrono_literals;

// A filter writing into a string, on a clock the test moves by hand.
struct Harness {
  std::string out;
  size_t out_calls = 0;
  std::chrono::steady_clock::time_point now{std::chrono::hours(1000)};
  std::unique_ptr<LineFilter> filter;

  explicit Harness(FilterOptions options = {}) {
    options.clock = [this] { return now; };
    auto created = LineFilter::create(std::move(options), [this](std::string_view s) {
      out.append(s);
      ++out_calls;
    });
    EXPECT_TRUE(created) << created.error().message;
    filter = std::move(*created);
  }
  std::string run(std::string_view input) {
    filter->feed(input);
    filter->finish();
    return out;
  }
};

TEST(LineFilter, PassingLinesAreWrittenAtOnceAndDebugIsHeld) {
  Harness h;
  h.filter->feed("DEBUG:app:d1\nINFO:app:i1\nDEBUG:app:d2\n");
  EXPECT_EQ(h.out, "INFO:app:i1\n");
  h.filter->finish();  // no trigger came: the held debug line is dropped
  EXPECT_EQ(h.out, "INFO:app:i1\n");
}

TEST(LineFilter, TriggerWritesBufferedLinesOldestFirstThenItself) {
  Harness h;
  EXPECT_EQ(h.run("DEBUG:app:d1\nDEBUG:app:d2\nDEBUG:app:d3\nERROR:app:boom\n"),
            "DEBUG:app:d1\nDEBUG:app:d2\nDEBUG:app:d3\nERROR:app:boom\n");
}

TEST(LineFilter, WrittenLineDropsOlderBufferedLinesToKeepOrder) {
  Harness h;
  EXPECT_EQ(h.run("DEBUG:app:d1\nINFO:app:i1\nDEBUG:app:d2\nWARNING:app:w1\nDEBUG:app:d3\n"
                  "ERROR:app:e1\nDEBUG:app:d4\nCRITICAL:app:c1\n"),
            "INFO:app:i1\nWARNING:app:w1\nDEBUG:app:d3\nERROR:app:e1\nDEBUG:app:d4\nCRITICAL:app:c1\n");
}

TEST(LineFilter, LineWithoutLevelIsWrittenAndCountsAsWritten) {
  Harness h;
  EXPECT_EQ(h.run("DEBUG:app:d1\nplain output\nDEBUG:app:d2\nERROR:app:e\n"),
            "plain output\nDEBUG:app:d2\nERROR:app:e\n");
}

TEST(LineFilter, KeepBoundsTheBufferByCount) {
  FilterOptions options;
  options.keep = 2;
  Harness h(options);
  EXPECT_EQ(h.run("DEBUG:a:1\nDEBUG:a:2\nDEBUG:a:3\nDEBUG:a:4\nERROR:a:e\n"), "DEBUG:a:3\nDEBUG:a:4\nERROR:a:e\n");
}

TEST(LineFilter, KeepCountsAMultiLineRecordAsOneMessage) {
  FilterOptions options;
  options.keep = 2;
  Harness h(options);
  EXPECT_EQ(h.run("DEBUG:a:1\nDEBUG:a:2\n  detail 2a\n  detail 2b\nDEBUG:a:3\nERROR:a:e\n"),
            "DEBUG:a:2\n  detail 2a\n  detail 2b\nDEBUG:a:3\nERROR:a:e\n");
}

TEST(LineFilter, KeepZeroWritesOnlyPassingLines) {
  FilterOptions options;
  options.keep = 0;
  Harness h(options);
  EXPECT_EQ(h.run("DEBUG:a:1\n  more\nERROR:a:e\n  trace\n"), "ERROR:a:e\n  trace\n");
}

TEST(LineFilter, MaxAgeDropsBufferedLinesOlderThanIt) {
  FilterOptions options;
  options.max_age = 1000ms;
  Harness h(options);
  h.filter->feed("DEBUG:a:old\n");
  h.now += 600ms;
  h.filter->feed("DEBUG:a:young\n");
  h.now += 600ms;  // "old" is 1.2 s old, "young" 0.6 s
  h.filter->feed("ERROR:a:e\n");
  EXPECT_EQ(h.out, "DEBUG:a:young\nERROR:a:e\n");
}

TEST(LineFilter, MaxAgeKeepsLinesExactlyAtTheLimit) {
  FilterOptions options;
  options.max_age = 1000ms;
  Harness h(options);
  h.filter->feed("DEBUG:a:edge\n");
  h.now += 1000ms;
  h.filter->feed("ERROR:a:e\n");
  EXPECT_EQ(h.out, "DEBUG:a:edge\nERROR:a:e\n");
}

TEST(LineFilter, ExpiredRecordTakesItsLaterContinuationLinesWithIt) {
  FilterOptions options;
  options.max_age = 1000ms;
  Harness h(options);
  h.filter->feed("DEBUG:a:old\n  line 2\n");
  h.now += 2000ms;
  h.filter->feed("  line 3 of the old record\nERROR:a:e\n");
  EXPECT_EQ(h.out, "ERROR:a:e\n");
}

TEST(LineFilter, TriggerLevelCanBeLowered) {
  FilterOptions options;
  options.trigger_level = Level::warn;
  Harness h(options);
  EXPECT_EQ(h.run("DEBUG:a:1\nWARNING:a:w\nDEBUG:a:2\nINFO:a:i\n"), "DEBUG:a:1\nWARNING:a:w\nINFO:a:i\n");
}

TEST(LineFilter, DefaultTriggerIsErrorSoWarningOnlyPasses) {
  Harness h;
  EXPECT_EQ(h.run("DEBUG:a:1\nWARNING:a:w\n"), "WARNING:a:w\n");
}

TEST(LineFilter, PassLevelCanBeRaisedSoInfoIsHeldToo) {
  FilterOptions options;
  options.pass_level = Level::warn;
  Harness h(options);
  EXPECT_EQ(h.run("INFO:a:i1\nDEBUG:a:d1\nWARNING:a:w\nINFO:a:i2\nERROR:a:e\n"),
            "WARNING:a:w\nINFO:a:i2\nERROR:a:e\n");
}

TEST(LineFilter, TriggerOffNeverWritesTheBuffer) {
  FilterOptions options;
  options.trigger_level = Level::off;
  Harness h(options);
  EXPECT_EQ(h.run("DEBUG:a:1\nCRITICAL:a:c\n"), "CRITICAL:a:c\n");
}

TEST(LineFilter, TraceLevelIsHeldLikeDebug) {
  Harness h;
  EXPECT_EQ(h.run("TRACE fine detail\nINFO:a:i\nTRACE x\nERROR:a:e\n"), "INFO:a:i\nTRACE x\nERROR:a:e\n");
}

constexpr std::string_view kDebugTraceback =
    "DEBUG:app:caught\n"
    "Traceback (most recent call last):\n"
    "  File \"/srv/app.py\", line 8, in <module>\n"
    "    raise ValueError(\"bad value\")\n"
    "ValueError: bad value\n";

TEST(LineFilter, BufferedTracebackIsWrittenWholeByATrigger) {
  Harness h;
  std::string input = std::string(kDebugTraceback) + "ERROR:app:giving up\n";
  EXPECT_EQ(h.run(input), input);
}

// A traceback under a held line is an uncaught exception (Python prints it with no level):
// it triggers, and the held line before it is its context.
TEST(LineFilter, TracebackUnderAHeldLineIsACrashAndWritesTheContext) {
  Harness h;
  std::string input = std::string("DEBUG:app:d0\nINFO:app:up\n") + std::string(kDebugTraceback) + "INFO:app:recovered\n";
  EXPECT_EQ(h.run(input), std::string("INFO:app:up\n") + std::string(kDebugTraceback) + "INFO:app:recovered\n");
  EXPECT_EQ(h.filter->stats().triggers, 1u);
}

TEST(LineFilter, TracebackEndingTheInputIsTakenForACrashAndTriggers) {
  Harness h;
  std::string input = std::string("INFO:app:up\nDEBUG:app:d1\n") + std::string(kDebugTraceback);
  EXPECT_EQ(h.run(input), input);
}

TEST(LineFilter, ExceptionLineEndsTheTracebackSoTheNextLineStandsAlone) {
  Harness h;
  std::string input = std::string(kDebugTraceback) + "DEBUG:app:after\nINFO:app:i\n";
  EXPECT_EQ(h.run(input), std::string(kDebugTraceback) + "INFO:app:i\n");
}

TEST(LineFilter, ChainedTracebackStaysWithItsFirstLine) {
  Harness h;
  std::string record =
      "ERROR:app:lookup failed\n"
      "Traceback (most recent call last):\n"
      "  File \"/srv/app.py\", line 3, in <module>\n"
      "KeyError: 'k'\n"
      "\n"
      "The above exception was the direct cause of the following exception:\n"
      "\n"
      "Traceback (most recent call last):\n"
      "  File \"/srv/app.py\", line 5, in <module>\n"
      "RuntimeError: no config\n"
      "\n"
      "During handling of the above exception, another exception occurred:\n"
      "\n"
      "Traceback (most recent call last):\n"
      "  File \"/srv/app.py\", line 7, in <module>\n"
      "OSError: disk\n";
  EXPECT_EQ(h.run("DEBUG:app:d\n" + record + "DEBUG:app:x\nINFO:app:next\n"), "DEBUG:app:d\n" + record + "INFO:app:next\n");
  EXPECT_EQ(h.filter->stats().triggers, 1u);  // the record's tracebacks are its own, not crashes
}

TEST(LineFilter, JavaStackTraceStaysWithItsFirstLine) {
  std::string record =
      "2026-11-21 12:00:00,123 [main] DEBUG com.example.App - retrying\n"
      "java.io.IOException: reset\n"
      "\tat com.example.App.call(App.java:12)\n"
      "Caused by: java.net.SocketException: reset\n"
      "\t... 3 more\n";
  Harness h;
  EXPECT_EQ(h.run(record + "2026-11-21 12:00:01,000 [main] INFO com.example.App - ok\n"),
            "2026-11-21 12:00:01,000 [main] INFO com.example.App - ok\n");
  Harness h2;
  std::string error = "2026-11-21 12:00:01,000 [main] ERROR com.example.App - failed\n";
  EXPECT_EQ(h2.run(record + error), record + error);
}

TEST(LineFilter, WrittenRecordsContinuationLinesAreWritten) {
  Harness h;
  EXPECT_EQ(h.run("ERROR:a:e\n  detail\nDEBUG:a:d\n  detail d\n"), "ERROR:a:e\n  detail\n");
}

TEST(LineFilter, ContinuationAtTheStartOfInputIsWritten) {
  Harness h;
  EXPECT_EQ(h.run("  indented first\nDEBUG:a:d\n"), "  indented first\n");
}

TEST(LineFilter, LineSplitAcrossFeedCallsIsOneLine) {
  Harness h;
  h.filter->feed("DEBUG:a:d");
  h.filter->feed("1\nERR");
  h.filter->feed("OR:a:e");
  EXPECT_EQ(h.out, "");
  h.filter->feed("\n");
  EXPECT_EQ(h.out, "DEBUG:a:d1\nERROR:a:e\n");
}

TEST(LineFilter, AnyChunkingGivesTheSameOutput) {
  std::string input;
  for (int i = 0; i < 200; ++i) {
    input += "DEBUG:app:step " + std::to_string(i) + "\n";
    if (i % 7 == 0) input += "INFO:app:progress " + std::to_string(i) + "\n";
    if (i % 13 == 0) input += std::string(kDebugTraceback);
    if (i % 31 == 0) input += "ERROR:app:failed " + std::to_string(i) + "\n  at frame\n";
    if (i % 17 == 0) input += "no level here\n";
  }
  Harness whole;
  std::string expected = whole.run(input);
  ASSERT_NE(expected.find("ERROR:app:failed 186"), std::string::npos);

  Harness bytewise;
  for (char c : input) bytewise.filter->feed(std::string_view(&c, 1));
  bytewise.filter->finish();
  EXPECT_EQ(bytewise.out, expected);

  std::mt19937 rng(42);
  for (int round = 0; round < 20; ++round) {
    Harness chunked;
    for (size_t pos = 0; pos < input.size();) {
      size_t n = std::min<size_t>(input.size() - pos, rng() % 300 + 1);
      chunked.filter->feed(std::string_view(input).substr(pos, n));
      pos += n;
    }
    chunked.filter->finish();
    EXPECT_EQ(chunked.out, expected) << "round " << round;
  }
}

TEST(LineFilter, PartialLastLineIsHandledAtFinish) {
  Harness h;
  EXPECT_EQ(h.run("DEBUG:a:d\nERROR:a:no newline"), "DEBUG:a:d\nERROR:a:no newline");
  Harness h2;
  EXPECT_EQ(h2.run("INFO:a:i\nDEBUG:a:no newline"), "INFO:a:i\n");
}

TEST(LineFilter, ContiguousWrittenLinesReachOutInOneCall) {
  Harness h;
  std::string input;
  for (int i = 0; i < 1000; ++i) input += "INFO:a:line " + std::to_string(i) + "\n";
  h.filter->feed(input);
  EXPECT_EQ(h.out, input);
  EXPECT_EQ(h.out_calls, 1u);
  EXPECT_EQ(h.filter->lines_in(), 1000u);
  EXPECT_EQ(h.filter->lines_written(), 1000u);
}

TEST(LineFilter, OverLongLineKeepsItsFateAcrossPieces) {
  std::string huge_debug = "DEBUG:a:" + std::string(3 << 20, 'x') + "\n";
  std::string huge_info = "INFO:a:" + std::string(3 << 20, 'y') + "\n";
  Harness h;
  std::string input = huge_debug + "ERROR:a:e\n" + huge_debug + huge_info;
  for (size_t pos = 0; pos < input.size(); pos += 65536) h.filter->feed(std::string_view(input).substr(pos, 65536));
  h.filter->finish();
  EXPECT_EQ(h.out, huge_debug + "ERROR:a:e\n" + huge_info);
}

TEST(LineFilter, CrLfLinesAreRecognised) {
  Harness h;
  EXPECT_EQ(h.run("DEBUG:a:d\r\n\r\nINFO:a:i\r\nDEBUG:a:x\r\nERROR:a:e\r\n"),
            "INFO:a:i\r\nDEBUG:a:x\r\nERROR:a:e\r\n");
}

TEST(LineFilter, FinishStartsANewStream) {
  Harness h;
  h.filter->feed("DEBUG:a:first stream\n");
  h.filter->finish();
  h.filter->feed("ERROR:a:e\n");
  EXPECT_EQ(h.out, "ERROR:a:e\n");
}

TEST(LineFilter, UserRegexIsTriedBeforeThePresets) {
  FilterOptions options;
  options.level_regexes = {R"(^\S+ (?P<level>[DIWEF]) )"};
  Harness h(options);
  EXPECT_EQ(h.run("12:00:01 D connecting\n12:00:02 I up\n12:00:03 D retry\n12:00:04 E down\n"),
            "12:00:02 I up\n12:00:03 D retry\n12:00:04 E down\n");
  FilterOptions first;
  first.level_regexes = {R"(real=(\w+))"};
  Harness h2(first);
  // The preset says INFO, the user's regex says debug, and the user wins.
  EXPECT_EQ(h2.run("INFO:a:x real=debug\nINFO:a:y\n"), "INFO:a:y\n");
}

TEST(LineFilter, UserRegexWhoseCaptureIsNoLevelFallsBackToPresets) {
  FilterOptions options;
  options.level_regexes = {R"(^(\w+):)"};
  Harness h(options);
  EXPECT_EQ(h.run("DEBUG:a:d\nhello: world\nERROR:a:e\n"), "hello: world\nERROR:a:e\n");
}

TEST(LineFilter, BadUserRegexIsAnErrorNamingIt) {
  FilterOptions options;
  options.level_regexes = {"(unclosed"};
  auto created = LineFilter::create(options, [](std::string_view) {});
  ASSERT_FALSE(created);
  EXPECT_NE(created.error().message.find("(unclosed"), std::string::npos) << created.error().message;
  EXPECT_NE(created.error().message.find("missing )"), std::string::npos) << created.error().message;

  options.level_regexes = {"^[A-Z]+ "};
  auto no_group = LineFilter::create(options, [](std::string_view) {});
  ASSERT_FALSE(no_group);
  EXPECT_NE(no_group.error().message.find("capture group"), std::string::npos) << no_group.error().message;
}

}  // namespace
}  // namespace relive::burst
