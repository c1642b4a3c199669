// The line filter's per-key buffers, bounds in total, and what MemoryHandler /
// FingersCrossed users expect: after-trigger pass-through, manual flush and trigger,
// trigger exclusions, level-less crashes, flush at the end of input, records from many
// sources (the port), and level detection for syslog-prefixed and pid layouts.
#include <gtest/gtest.h>

#include <string>

#include "../../src/burst/level_detect.hpp"
#include "relive/burst_filter.hpp"

namespace relive::burst {
namespace {

using namespace std::chrono_literals;

struct Harness {
  std::string out;
  std::chrono::steady_clock::time_point now{std::chrono::hours(1000)};
  std::unique_ptr<LineFilter> filter;

  explicit Harness(FilterOptions options = {}) {
    options.clock = [this] { return now; };
    auto created = LineFilter::create(std::move(options), [this](std::string_view s) { out.append(s); });
    EXPECT_TRUE(created) << created.error().message;
    filter = std::move(*created);
  }
  std::string take() { return std::exchange(out, {}); }
};

FilterOptions keyed(std::string regex = R"(req=(\S+))") {
  FilterOptions o;
  o.key_regex = std::move(regex);
  return o;
}

// Every line that came in is written, held, or counted in one dropped_* field.
void expect_accounted(const FilterStats& s) {
  EXPECT_EQ(s.lines_in, s.lines_written + s.lines_buffered + s.dropped_superseded + s.dropped_count + s.dropped_age +
                            s.dropped_bytes + s.dropped_evicted + s.dropped_at_end);
}

TEST(FilterKeys, ErrorWithKeyWritesThatKeysLinesOnly) {
  Harness h(keyed());
  h.filter->feed("DEBUG req=a d1\nDEBUG req=b d2\nDEBUG req=a d3\nINFO req=b done\nDEBUG req=b d4\n"
                 "ERROR req=a failed\n");
  EXPECT_EQ(h.take(), "INFO req=b done\nDEBUG req=a d1\nDEBUG req=a d3\nERROR req=a failed\n");
  h.filter->feed("ERROR req=b failed too\n");
  EXPECT_EQ(h.take(), "DEBUG req=b d4\nERROR req=b failed too\n");
  expect_accounted(h.filter->stats());
}

TEST(FilterKeys, OneKeysPassingLineDoesNotEraseAnothersContext) {
  Harness h(keyed());
  h.filter->feed("DEBUG req=a ctx\nINFO req=b ok\nINFO req=c ok\nERROR req=a boom\n");
  EXPECT_EQ(h.take(), "INFO req=b ok\nINFO req=c ok\nDEBUG req=a ctx\nERROR req=a boom\n");
}

TEST(FilterKeys, LinesWithoutAKeyShareTheKeylessBuffer) {
  Harness h(keyed());
  h.filter->feed("DEBUG:app:no key\nDEBUG req=a keyed\nERROR:app:keyless error\n");
  EXPECT_EQ(h.take(), "DEBUG:app:no key\nERROR:app:keyless error\n");
  EXPECT_EQ(h.filter->stats().lines_buffered, 1u);
}

TEST(FilterKeys, NamedKeyGroupAndJsonAndLogfmtFields) {
  Harness r(keyed(R"(^(?P<level>\w+) (?P<key>\w+):)"));
  r.filter->feed("DEBUG x: 1\nDEBUG y: 2\nERROR x: e\n");
  EXPECT_EQ(r.take(), "DEBUG x: 1\nERROR x: e\n");

  FilterOptions o;
  o.key_field = "request_id";
  Harness j(o);
  j.filter->feed(R"({"level":"debug","request_id":"r1","msg":"a"})" "\n"
                 R"({"level":"debug","request_id": 42,"msg":"b"})" "\n"
                 "level=debug request_id=r1 msg=c\n"
                 "level=debug request_id=\"r 2\" msg=d\n"
                 R"({"level":"error","request_id":"r1","msg":"e"})" "\n");
  EXPECT_EQ(j.take(), R"({"level":"debug","request_id":"r1","msg":"a"})" "\n"
                      "level=debug request_id=r1 msg=c\n"
                      R"({"level":"error","request_id":"r1","msg":"e"})" "\n");
  j.filter->feed("level=error request_id=42 msg=f\n");
  EXPECT_EQ(j.take(), R"({"level":"debug","request_id": 42,"msg":"b"})" "\nlevel=error request_id=42 msg=f\n");
  j.filter->feed("level=error request_id=\"r 2\" msg=g\n");
  EXPECT_EQ(j.take(), "level=debug request_id=\"r 2\" msg=d\nlevel=error request_id=\"r 2\" msg=g\n");
}

TEST(FilterKeys, BadKeyRegexIsAnErrorNamingIt) {
  auto f = LineFilter::create(keyed("req=\\S+"), [](std::string_view) {});
  ASSERT_FALSE(f);
  EXPECT_NE(f.error().message.find("--key-regex 'req=\\S+': needs a capture group"), std::string::npos)
      << f.error().message;
  auto g = LineFilter::create(keyed("req=("), [](std::string_view) {});
  ASSERT_FALSE(g);
  EXPECT_NE(g.error().message.find("--key-regex 'req=('"), std::string::npos);
}

TEST(FilterKeys, CountBoundIsPerKey) {
  FilterOptions o = keyed();
  o.keep = 2;
  Harness h(o);
  h.filter->feed("DEBUG req=a 1\nDEBUG req=a 2\nDEBUG req=a 3\nDEBUG req=b 1\nERROR req=a e\nERROR req=b e\n");
  EXPECT_EQ(h.take(), "DEBUG req=a 2\nDEBUG req=a 3\nERROR req=a e\nDEBUG req=b 1\nERROR req=b e\n");
  EXPECT_EQ(h.filter->stats().dropped_count, 1u);
}

TEST(FilterKeys, BytesBoundIsPerKey) {
  FilterOptions o = keyed();
  o.max_bytes = 40;
  Harness h(o);
  h.filter->feed("DEBUG req=a 0123456789\nDEBUG req=a 0123456789\nDEBUG req=a 0123456789\nDEBUG req=b x\n"
                 "ERROR req=a e\nERROR req=b e\n");
  EXPECT_EQ(h.take(), "DEBUG req=a 0123456789\nERROR req=a e\nDEBUG req=b x\nERROR req=b e\n");
  EXPECT_EQ(h.filter->stats().dropped_bytes, 2u);
}

// max_memory in total: the oldest buffers go first, whole, and are counted.
TEST(FilterKeys, MemoryBoundEvictsTheOldestBuffersAndCountsThem) {
  FilterOptions o = keyed();
  o.max_memory = 20'000;
  Harness h(o);
  std::string input;
  for (int k = 0; k < 1000; ++k) input += "DEBUG req=k" + std::to_string(k) + " held\n";
  h.filter->feed(input);
  FilterStats s = h.filter->stats();
  EXPECT_LE(s.memory, o.max_memory);
  EXPECT_GT(s.buffers_evicted, 900u);
  EXPECT_EQ(s.buffers + s.buffers_evicted, 1000u);
  EXPECT_EQ(s.dropped_evicted, s.buffers_evicted);
  expect_accounted(s);
  h.filter->feed("ERROR req=k0 evicted long ago\nERROR req=k999 newest\n");
  EXPECT_EQ(h.take(), "ERROR req=k0 evicted long ago\nDEBUG req=k999 held\nERROR req=k999 newest\n");
}

TEST(FilterKeys, AgeBoundHoldsForBuffersNobodyTouches) {
  FilterOptions o = keyed();
  o.max_age = 10s;
  Harness h(o);
  h.filter->feed("DEBUG req=a old\n");
  h.now += 11s;
  h.filter->feed("DEBUG req=b new\n");
  FilterStats s = h.filter->stats();
  EXPECT_EQ(s.dropped_age, 1u);
  EXPECT_EQ(s.buffers, 1u);
}

TEST(FilterKeys, ManyKeysInterleavedEachKeepTheirOwnContext) {
  Harness h(keyed());
  std::string input, want_tail;
  for (int i = 0; i < 50; ++i) {
    for (int k = 0; k < 20; ++k) input += "DEBUG req=" + std::to_string(k) + " step " + std::to_string(i) + "\n";
  }
  input += "ERROR req=7 failed\n";
  for (int i = 0; i < 50; ++i) want_tail += "DEBUG req=7 step " + std::to_string(i) + "\n";
  h.filter->feed(input);
  EXPECT_EQ(h.take(), want_tail + "ERROR req=7 failed\n");
  EXPECT_EQ(h.filter->stats().buffers, 19u);
}

TEST(FilterAfterTrigger, NextLinesPassThroughThenBufferingResumes) {
  FilterOptions o;
  o.after_trigger_lines = 2;
  Harness h(o);
  h.filter->feed("DEBUG:a:before\nERROR:a:e\nDEBUG:a:after 1\nDEBUG:a:after 2\nDEBUG:a:after 3\nINFO:a:i\n");
  EXPECT_EQ(h.take(), "DEBUG:a:before\nERROR:a:e\nDEBUG:a:after 1\nDEBUG:a:after 2\nINFO:a:i\n");
}

TEST(FilterAfterTrigger, ForADuration) {
  FilterOptions o;
  o.after_trigger_for = 5s;
  Harness h(o);
  h.filter->feed("ERROR:a:e\nDEBUG:a:at once\n");
  h.now += 4s;
  h.filter->feed("DEBUG:a:4 s later\n");
  h.now += 2s;
  h.filter->feed("DEBUG:a:6 s later\nINFO:a:i\n");
  EXPECT_EQ(h.take(), "ERROR:a:e\nDEBUG:a:at once\nDEBUG:a:4 s later\nINFO:a:i\n");
}

TEST(FilterAfterTrigger, IsPerKey) {
  FilterOptions o = keyed();
  o.after_trigger_lines = 5;
  Harness h(o);
  h.filter->feed("ERROR req=a e\nDEBUG req=a passes\nDEBUG req=b held\nINFO req=c i\n");
  EXPECT_EQ(h.take(), "ERROR req=a e\nDEBUG req=a passes\nINFO req=c i\n");
}

TEST(FilterTriggers, NoTriggerRegexWritesTheLineButNotTheBuffer) {
  FilterOptions o;
  o.no_trigger_regexes = {" 404 "};
  Harness h(o);
  h.filter->feed("DEBUG:a:d1\nERROR:a:GET /x 404 not found\nDEBUG:a:d2\nERROR:a:GET /y 500 boom\n");
  EXPECT_EQ(h.take(), "ERROR:a:GET /x 404 not found\nDEBUG:a:d2\nERROR:a:GET /y 500 boom\n");
  EXPECT_EQ(h.filter->stats().triggers, 1u);
}

TEST(FilterTriggers, ManualFlushWritesEveryBufferAndTriggerOneKey) {
  Harness h(keyed());
  h.filter->feed("DEBUG req=a 1\nDEBUG req=b 2\nDEBUG:app:keyless\n");
  h.filter->trigger("b");
  EXPECT_EQ(h.take(), "DEBUG req=b 2\n");
  h.filter->flush();
  EXPECT_EQ(h.take(), "DEBUG req=a 1\nDEBUG:app:keyless\n");
  h.filter->flush();
  EXPECT_EQ(h.take(), "");
  EXPECT_EQ(h.filter->stats().lines_buffered, 0u);
}

// Crashes printed without a level trigger, and every buffer is their context.
TEST(FilterTriggers, LevelLessCrashesTrigger) {
  const std::string_view crashes[] = {
      "Exception in thread Thread-1 (work):\nTraceback (most recent call last):\n  File \"t.py\", line 3, in work\n"
      "ZeroDivisionError: division by zero\n",
      "Exception in thread \"main\" java.lang.IllegalStateException: boom\n\tat Main.main(Main.java:3)\n",
      "panic: runtime error: index out of range [5] with length 3\n\ngoroutine 1 [running]:\nmain.main()\n"
      "\t/tmp/main.go:8 +0x1d\nexit status 2\n",
  };
  for (std::string_view crash : crashes) {
    Harness h(keyed());
    h.filter->feed("DEBUG req=a ctx a\nDEBUG:app:ctx keyless\n");
    h.filter->feed(crash);
    EXPECT_EQ(h.take(), "DEBUG req=a ctx a\nDEBUG:app:ctx keyless\n" + std::string(crash)) << crash;
    EXPECT_EQ(h.filter->stats().triggers, 1u) << crash;
  }
}

TEST(FilterEnd, FlushAtEndPolicies) {
  for (auto [policy, how, written] : {std::tuple{FlushAtEnd::failure, End::normal, false},
                                      std::tuple{FlushAtEnd::failure, End::failure, true},
                                      std::tuple{FlushAtEnd::always, End::normal, true},
                                      std::tuple{FlushAtEnd::never, End::failure, false}}) {
    FilterOptions o = keyed();
    o.flush_at_end = policy;
    Harness h(o);
    h.filter->feed("DEBUG req=a 1\nDEBUG req=b 2\nINFO:app:i\n");
    h.filter->finish(how);
    EXPECT_EQ(h.take(), written ? "INFO:app:i\nDEBUG req=a 1\nDEBUG req=b 2\n" : "INFO:app:i\n");
    FilterStats s = h.filter->stats();
    EXPECT_EQ(s.dropped_at_end, written ? 0u : 2u);
    EXPECT_EQ(s.buffers, 0u);
    expect_accounted(s);
  }
}

// The port: datagrams are whole records; streams are cut per source; sources are keys.
TEST(FilterSources, DatagramsFromDifferentSendersHaveTheirOwnBuffers) {
  Harness h;
  h.filter->feed_record("<udp 1>", "<15>debug from one");
  h.filter->feed_record("<udp 2>", "<15>debug from two\n");
  h.filter->feed_record("<udp 2>", "<14>info from two");
  h.filter->feed_record("<udp 1>", "<11>error from one\nTraceback (most recent call last):\n  File \"x\"\nE: e");
  EXPECT_EQ(h.take(), "<14>info from two\n<15>debug from one\n<11>error from one\nTraceback (most recent call last):\n"
                      "  File \"x\"\nE: e\n");
}

TEST(FilterSources, StreamsKeepTheirOwnPartialLinesAndRecords) {
  Harness h;
  auto a = h.filter->open_source("<a>");
  auto b = h.filter->open_source("<b>");
  h.filter->feed(*a, "DEBUG:x:a1 part");
  h.filter->feed(*b, "DEBUG:x:b1\n  b1 detail\n");
  h.filter->feed(*a, "ial\n  a1 detail\n");
  h.filter->feed(*b, "INFO:x:b2\n");
  h.filter->feed(*a, "ERROR:x:a2\n");
  EXPECT_EQ(h.take(), "INFO:x:b2\nDEBUG:x:a1 partial\n  a1 detail\nERROR:x:a2\n");
  h.filter->feed(*a, "ERROR:x:no newline");
  h.filter->close_source(*a);
  h.filter->close_source(*b);
  EXPECT_EQ(h.take(), "ERROR:x:no newline");
}

TEST(FilterPresets, SyslogPrefixedAndProcessIdLayouts) {
  using line_internal::detect_preset_level;
  EXPECT_EQ(detect_preset_level("Dec  1 18:11:00 host app[123]: DEBUG starting"), Level::debug);
  EXPECT_EQ(detect_preset_level("Dec 11 18:11:00 host app: ERROR:root:boom"), Level::error);
  EXPECT_EQ(detect_preset_level("Dec  1 18:11:00 host app[123]: 2026-12-01 18:11:00,123 - app - WARNING - w"),
            Level::warn);
  EXPECT_EQ(detect_preset_level("Dec  1 18:11:00 host kernel: plain text"), std::nullopt);
  EXPECT_EQ(detect_preset_level("Decimal 1 2 3 is not a date at all, no"), std::nullopt);
  EXPECT_EQ(detect_preset_level("2026-12-01T18:11:00.123+00:00 host app[7]: DEBUG x"), Level::debug);
  EXPECT_EQ(detect_preset_level("2026-12-01 18:11:00 INFO root: DEBUG mode on"), Level::info);
  EXPECT_EQ(detect_preset_level("12345 DEBUG worker started"), Level::debug);
  EXPECT_EQ(detect_preset_level("2026-12-01 18:11:00,123 12345 ERROR failed"), Level::error);
  EXPECT_EQ(detect_preset_level("12345 apples were sold"), std::nullopt);
  EXPECT_EQ(detect_preset_level("200 OK"), std::nullopt);
}

}  // namespace
}  // namespace relive::burst
