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
//   - A crash is a trigger, level or not: a traceback under a held record, "Exception in
//     thread ...", Go's "panic: ". It writes every buffer (the held context stays), then itself.
//   - With a key (key_regex / key_field), each key has its own buffer and order rule.
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
//   (*filter)->finish(burst::End::normal);
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

// When buffered messages are written at the end of input rather than dropped (as
// Python's MemoryHandler(flushOnClose=True) does at close).
enum class FlushAtEnd {
  never,    // dropped: only a trigger writes them
  failure,  // written when the end is a failure: finish(End::failure) — the command `relive
            // burst -- CMD` ran failed or died of a signal, or relive itself was stopped by one
  always,   // written at every end of input
};

// How an input ended, as the caller knows it (see FlushAtEnd).
enum class End { normal, failure };

struct FilterOptions {
  // Most buffered messages kept per buffer; the oldest is dropped to make room. 0: debug
  // lines are dropped at once (only passing lines and triggers are written).
  size_t keep = 512;
  // Buffered messages older than this (since their first line arrived) are dropped.
  std::chrono::milliseconds max_age{60'000};
  // Most bytes of buffered text per buffer; the oldest messages are dropped beyond it.
  size_t max_bytes = size_t{64} << 20;
  // Most memory for all buffers together (text plus bookkeeping); beyond it the oldest
  // buffer (the one created first) is dropped whole, and counted as evicted.
  size_t max_memory = size_t{256} << 20;
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
  // Lines matching any of these (RE2, unanchored) never trigger: at or above the pass
  // level they are written, but the buffer is not (e.g. ' 404 ').
  std::vector<std::string> no_trigger_regexes;
  // Per-key buffers: each line's key is the first capture group (or the group named `key`)
  // of `key_regex`, or else the value of the JSON or logfmt field `key_field`. Each key has
  // its own buffer, bounds and chronological rule; a trigger with key K writes K's buffer
  // only. A line without a key uses its source's buffer (the whole input for feed(); the
  // sender for feed_record()/feed(Source&)). Empty: one buffer per source.
  std::string key_regex;
  std::string key_field;
  // After a trigger, the trigger's buffer passes everything through (nothing is buffered)
  // for this many more lines and/or this long, so the lines right after an error are seen.
  size_t after_trigger_lines = 0;
  std::chrono::milliseconds after_trigger_for{0};
  // What finish() does with what is still buffered.
  FlushAtEnd flush_at_end = FlushAtEnd::failure;
  // When a line arrived, for the age bound. Empty: std::chrono::steady_clock::now. Tests
  // inject their own. Called once per feed() call (the lines of one chunk arrived together).
  std::function<std::chrono::steady_clock::time_point()> clock;
};

// Counters since the filter was created, for the `--stats` line and tests. Every line that
// came in is written, still buffered, or counted in exactly one `dropped_*` field.
struct FilterStats {
  size_t lines_in = 0;
  size_t lines_written = 0;
  size_t lines_buffered = 0;        // now
  size_t buffers = 0;               // now (keys / sources holding lines)
  size_t memory = 0;                // now: bytes accounted against max_memory
  size_t dropped_superseded = 0;    // a later line of their buffer was written (the order rule)
  size_t dropped_count = 0;         // over `keep`
  size_t dropped_age = 0;           // older than max_age
  size_t dropped_bytes = 0;         // over max_bytes of their buffer
  size_t dropped_evicted = 0;       // their buffer was evicted for max_memory
  size_t dropped_at_end = 0;        // still buffered at finish() without a flush
  size_t buffers_evicted = 0;
  size_t triggers = 0;
};

class LineFilter {
 public:
  // A stream of input of its own (one connection of `relive burst --listen`): its partial
  // line, its current multi-line record and its default key. Made by open_source().
  class Source;
  struct SourceDeleter {
    void operator()(Source* source) const;
  };
  using SourcePtr = std::unique_ptr<Source, SourceDeleter>;

  // Builds a filter writing through `out`. `out` receives one or more whole lines at a
  // time, each with its newline (only the last line of the input, at finish(), may lack
  // one); it is called on the thread calling feed()/finish(), from inside them.
  // Fails (an Error naming the option, the regex and RE2's reason) for a --level-regex,
  // --no-trigger-regex or --key-regex that does not compile or lacks its capture group.
  static Result<std::unique_ptr<LineFilter>> create(FilterOptions options,
                                                    std::function<void(std::string_view)> out);
  ~LineFilter();
  LineFilter(const LineFilter&) = delete;
  LineFilter& operator=(const LineFilter&) = delete;

  // Takes the next bytes of input, cut anywhere (a line may span calls). Every complete
  // line is classified and written or buffered before feed() returns; a trailing partial
  // line waits for the rest. Not thread-safe: one thread at a time. Never fails; memory is
  // bounded by the options, plus one line being read (a line longer than 1 MiB is handled
  // in 1 MiB pieces that share the first's fate).
  void feed(std::string_view bytes);

  // Other streams into the same buffers and output (a port's senders). `name` is the
  // source's default key. The Source is owned by the caller; close it with close_source()
  // (its partial line is handled) before destroying it or the filter.
  SourcePtr open_source(std::string name);
  void feed(Source& source, std::string_view bytes);
  void close_source(Source& source);
  // One whole record from `source_name` (a datagram): its first line starts a record, the
  // other lines continue it. A missing final newline is added.
  void feed_record(std::string_view source_name, std::string_view record);

  // End of input: a partial last line is handled as a line (written without a newline if
  // it had none); then what is still buffered is written or dropped per
  // FilterOptions::flush_at_end and `how`. The filter can take more input afterwards.
  void finish(End how = End::normal);

  // Writes every buffer now, oldest buffer first (SIGUSR1 to `relive burst`;
  // MemoryHandler.flush()). Not a trigger: no after-trigger pass-through starts.
  void flush();
  // Writes the buffer of `key` now, as a trigger would ("" is the keyless buffer of the
  // main input). Starts the after-trigger pass-through.
  void trigger(std::string_view key = {});

  // Lines seen so far and lines (of them) written; for diagnostics and tests.
  size_t lines_in() const;
  size_t lines_written() const;
  FilterStats stats() const;

  struct Impl;

 private:
  explicit LineFilter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace relive::burst
