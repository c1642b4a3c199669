// relive/burst_filter.hpp — burst logging for the output of any program: a line filter
// that keeps debug lines in a bounded buffer and writes them only when an error follows.
//
// It is what `relive burst` (stdin → stdout, or `relive burst -- CMD`) and
// `relive --burst -- CMD` run. Bytes go in through feed(), in chunks of any size; the
// filter cuts them into lines, finds each line's level, and hands the lines it writes to
// the `out` function you give it.
//
// Semantics (the same as the C++ burst sink, relive/burst.hpp):
//   - A line at or above the pass level (default info) is written at once.
//   - A line below it (debug, trace) is kept in a bounded buffer: at most `keep` messages,
//     none older than `max_age`. It is never written unless a trigger follows.
//   - A line at or above the trigger level (default error) writes the buffered messages
//     first, oldest first, then itself.
//   - Output stays in chronological order: when a line is written, every buffered message
//     (all of them are older) is dropped, since writing it later would put it out of order.
//     So after an error the output shows the debug messages since the last written line.
//   - A line with no recognisable level is written through, and counts as a written line
//     for the rule above (it is output; anything buffered before it is now out of order).
//   - A multi-line record stays with its first line (same level, buffered or written with
//     it): lines starting with a space or a tab, blank lines, a Python traceback from its
//     "Traceback (most recent call last):" through its exception line, chained-exception
//     separators, Java's "Caused by:" lines. A buffered record counts as one message.
//
// Levels are found by `level_regexes` (yours, tried first, in order) and then by built-in
// presets: Python logging's default formats, spdlog, glog, JSON lines, logfmt, syslog
// `<N>` and a level word after a timestamp. docs/burst-filter.md lists every accepted form.
//
// Example:
//   relive::burst::FilterOptions options;
//   options.keep = 1000;
//   auto filter = relive::burst::LineFilter::create(options, [](std::string_view lines) {
//     fwrite(lines.data(), 1, lines.size(), stdout);
//   });
//   if (!filter) { fmt::print(stderr, "relive: {}\n", filter.error().message); return 2; }
//   while (size_t n = read_some(buf)) (*filter)->feed({buf, n});
//   (*filter)->finish();
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "relive/burst_level.hpp"
#include "relive/error.hpp"

namespace relive::burst {

struct FilterOptions {
  // Most buffered messages kept; the oldest is dropped to make room. 0: debug lines are
  // dropped at once (only passing lines and triggers are written).
  size_t keep = 512;
  // Buffered messages older than this (since their first line arrived) are dropped.
  std::chrono::milliseconds max_age{60'000};
  // Lines at or above this level are written at once.
  Level pass_level = Level::info;
  // Lines at or above this level write the buffer first. Level::off: never.
  Level trigger_level = Level::error;
  // RE2 regular expressions of your own, tried before the presets, in order, on each line
  // (without its newline; unanchored, so start yours with ^). The level text is the named
  // group `level`, or else the first capture group; it may be a name (debug, INFO,
  // warning, err, fatal...), a letter (D, I, W, E, F) or a number (syslog 0-7, or
  // bunyan/pino 10-60). A line whose captured text is not a level goes on to the next
  // regex and the presets.
  std::vector<std::string> level_regexes;
  // When a line arrived, for the age bound. Empty: std::chrono::steady_clock::now. Tests
  // inject their own. Called once per feed() call (the lines of one chunk arrived together).
  std::function<std::chrono::steady_clock::time_point()> clock;
};

class LineFilter {
 public:
  // Builds a filter writing through `out`. `out` receives one or more whole lines at a
  // time, each with its newline (only the last line of the input, at finish(), may lack
  // one); it is called on the thread calling feed()/finish(), from inside them.
  // Fails (an Error naming the regex and RE2's reason) for a --level-regex that does not
  // compile or has no capture group.
  static Result<std::unique_ptr<LineFilter>> create(FilterOptions options,
                                                    std::function<void(std::string_view)> out);
  ~LineFilter();
  LineFilter(const LineFilter&) = delete;
  LineFilter& operator=(const LineFilter&) = delete;

  // Takes the next bytes of input, cut anywhere (a line may span calls). Every complete
  // line is classified and written or buffered before feed() returns; a trailing partial
  // line waits for the rest. Not thread-safe: one thread at a time (the filter is a
  // single stream). Never fails; memory is bounded by `keep`, plus one line being read
  // (a line longer than 1 MiB is handled in 1 MiB pieces that share the first's fate),
  // plus at most 64 MiB of buffered text (the oldest messages are dropped beyond that).
  void feed(std::string_view bytes);

  // End of input: a partial last line is handled as a line (written without a newline if
  // it had none), and the buffered messages are dropped (no trigger came) — unless the last
  // record is a buffered one holding a Python traceback: that is how a program dying of an
  // uncaught exception ends its output, so it triggers like an error. The filter can take
  // more input afterwards, as a new stream.
  void finish();

  // Lines seen so far and lines (of them) written; for diagnostics and tests.
  size_t lines_in() const;
  size_t lines_written() const;

  struct Impl;

 private:
  explicit LineFilter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace relive::burst
