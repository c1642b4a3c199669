// The burst line filter (relive/burst_filter.hpp). One pass over the input, no allocation
// per line once warm:
//   - lines are cut with memchr; written lines that sit next to each other in the caller's
//     chunk are handed to `out` as one span, so `out` sees large writes, not one per line;
//   - buffered messages are copied into one growing byte store, indexed by a ring of
//     records (offset, size, arrival time); dropping the oldest only moves an index, and
//     the store is compacted when its dead front outgrows its live part;
//   - since every written line drops everything buffered (chronological rule), "clear"
//     is the common case and costs two stores.
#include <re2/re2.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "level_detect.hpp"
#include "relive/burst_filter.hpp"

namespace relive::burst {

namespace {

using Clock = std::chrono::steady_clock;

// A line without a newline for this long is handled in pieces of this size (the pieces
// after the first share its fate), so memory stays bounded on binary or runaway input.
constexpr size_t kMaxLine = size_t{1} << 20;
// Buffered text beyond this drops the oldest messages whatever `keep` says.
constexpr size_t kMaxBufferedBytes = size_t{64} << 20;

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && std::memcmp(s.data(), prefix.data(), prefix.size()) == 0;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The first line of a Java exception as a logger prints it under its message:
// "java.io.IOException: reset" — a package-qualified class named ...Exception/Error/
// Throwable, then ": message" or nothing.
bool is_java_exception_line(std::string_view text) {
  size_t i = 0;
  size_t last_dot = std::string_view::npos;
  while (i < text.size()) {
    char c = text[i];
    bool ident = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '$';
    if (c == '.') {
      last_dot = i;
    } else if (!ident) {
      break;
    }
    ++i;
  }
  if (last_dot == std::string_view::npos || last_dot + 1 >= i) return false;
  if (i < text.size() && !(text[i] == ':' || text[i] == '\r')) return false;
  std::string_view name = text.substr(0, i);
  char first = name[last_dot + 1];
  if (first < 'A' || first > 'Z') return false;
  return ends_with(name, "Exception") || ends_with(name, "Error") || ends_with(name, "Throwable");
}

}  // namespace

struct LineFilter::Impl {
  // What happens to the current record and so to its continuation lines.
  enum class Fate : unsigned char { write, buffer, drop };

  struct Record {
    uint64_t begin;  // absolute offset in the store (see store_base)
    size_t size;
    size_t lines;
    Clock::time_point arrived;
  };

  struct UserRegex {
    std::unique_ptr<RE2> re;
    int group;  // the capture group giving the level text
  };

  FilterOptions options;
  std::function<void(std::string_view)> out;
  std::vector<UserRegex> regexes;

  // The record being read: its continuation lines follow its fate.
  Fate current = Fate::write;
  bool in_traceback = false;        // inside a Python traceback: its exception line continues it
  bool current_has_traceback = false;  // the record being read holds a Python traceback
  bool force_continuation = false;  // the next piece is the rest of an over-long line
  std::string partial;              // an incomplete line carried to the next feed()
  Clock::time_point now{};

  // Lines of the caller's chunk waiting to go out as one span.
  const char* span_begin = nullptr;
  const char* span_end = nullptr;
  size_t span_lines = 0;

  // The buffer: a byte store (bytes from absolute offset store_base on) and a ring of records.
  std::string store;
  uint64_t store_base = 0;
  std::vector<Record> ring;
  size_t ring_head = 0;
  size_t ring_count = 0;

  size_t lines_in = 0;
  size_t lines_written = 0;

  // --- output -----------------------------------------------------------------------
  void flush_span() {
    if (span_begin != span_end) {
      out(std::string_view(span_begin, static_cast<size_t>(span_end - span_begin)));
      lines_written += span_lines;
    }
    span_begin = span_end = nullptr;
    span_lines = 0;
  }

  void write_line(std::string_view line, bool in_chunk) {
    if (in_chunk) {
      if (span_end != line.data()) {
        flush_span();
        span_begin = line.data();
      }
      span_end = line.data() + line.size();
      ++span_lines;
      return;
    }
    flush_span();
    out(line);
    ++lines_written;
  }

  // --- the buffer ---------------------------------------------------------------------
  Record& ring_at(size_t i) { return ring[(ring_head + i) % ring.size()]; }

  void clear_buffer() {
    ring_head = ring_count = 0;
    store_base += store.size();
    store.clear();
  }

  void drop_oldest() {
    ring_head = (ring_head + 1) % ring.size();
    --ring_count;
    if (ring_count == 0) {
      clear_buffer();
      // The record being read was the last one: its continuation lines go too.
      if (current == Fate::buffer) current = Fate::drop;
    }
  }

  void expire_old() {
    while (ring_count > 0 && now - ring_at(0).arrived > options.max_age) drop_oldest();
  }

  size_t live_bytes() {
    return ring_count == 0 ? 0 : store.size() - static_cast<size_t>(ring_at(0).begin - store_base);
  }

  // Keeps the dead front of the store from growing without end.
  void compact() {
    if (ring_count == 0) return;
    size_t dead = static_cast<size_t>(ring_at(0).begin - store_base);
    if (dead > (size_t{1} << 20) && dead > store.size() / 2) {
      store.erase(0, dead);
      store_base += dead;
    }
  }

  void buffer_new_record(std::string_view line) {
    if (options.keep == 0) {
      current = Fate::drop;
      return;
    }
    if (ring_count == options.keep) drop_oldest();
    if (ring_count == ring.size()) {
      // Grow the ring (lazily, up to keep), unrolling it so the oldest is first.
      std::vector<Record> bigger;
      bigger.reserve(std::min(options.keep, std::max<size_t>(16, ring.size() * 2)));
      for (size_t i = 0; i < ring_count; ++i) bigger.push_back(ring_at(i));
      bigger.resize(std::min(options.keep, std::max<size_t>(16, ring.size() * 2)));
      ring = std::move(bigger);
      ring_head = 0;
    }
    compact();
    ring_at(ring_count) = Record{store_base + store.size(), line.size(), 1, now};
    ++ring_count;
    store.append(line);
    current = Fate::buffer;
    enforce_byte_cap();
  }

  void buffer_continuation(std::string_view line) {
    Record& last = ring_at(ring_count - 1);
    last.size += line.size();
    ++last.lines;
    store.append(line);
    enforce_byte_cap();
  }

  void enforce_byte_cap() {
    while (ring_count > 0 && live_bytes() > kMaxBufferedBytes) drop_oldest();
  }

  void write_buffer() {
    flush_span();
    for (size_t i = 0; i < ring_count; ++i) {
      const Record& r = ring_at(i);
      out(std::string_view(store).substr(static_cast<size_t>(r.begin - store_base), r.size));
      lines_written += r.lines;
    }
    clear_buffer();
  }

  // --- classification -----------------------------------------------------------------
  std::optional<Level> user_level(std::string_view text) {
    re2::StringPiece groups[8];
    for (auto& r : regexes) {
      if (!r.re->Match(re2::StringPiece(text.data(), text.size()), 0, text.size(), RE2::UNANCHORED,
                       groups, r.group + 1)) {
        continue;
      }
      const auto& g = groups[r.group];
      if (g.data() == nullptr) continue;
      if (auto level = line_internal::parse_level_text({g.data(), g.size()})) return level;
    }
    return std::nullopt;
  }

  // Lines that belong to the record above them whatever they contain.
  bool is_continuation(std::string_view text) {
    if (text.empty()) return true;
    char c = text[0];
    if (c == ' ' || c == '\t' || (c == '\r' && text.size() == 1)) return true;
    switch (c) {
      case 'T':
        if (starts_with(text, "Traceback (most recent call last):")) {
          in_traceback = true;
          current_has_traceback = true;
          return true;
        }
        if (starts_with(text, "The above exception was the direct cause of the following exception:")) {
          return true;
        }
        break;
      case 'D':
        return starts_with(text, "During handling of the above exception, another exception occurred:");
      case 'C':
        return starts_with(text, "Caused by: ");
      default:
        if (c >= 'a' && c <= 'z') return is_java_exception_line(text);
        break;
    }
    return false;
  }

  // One line, with its newline when it has one. `in_chunk`: it lies in the caller's bytes
  // (and may join the output span); otherwise it lies in `partial`.
  void handle_line(std::string_view line, bool in_chunk) {
    ++lines_in;
    std::string_view text = line;
    if (!text.empty() && text.back() == '\n') text.remove_suffix(1);

    std::optional<Level> level;
    bool continuation = false;
    if (force_continuation) {
      continuation = true;
      force_continuation = false;
    } else {
      if (!regexes.empty()) level = user_level(text);
      if (!level) {
        if (is_continuation(text)) {
          continuation = true;
        } else {
          level = line_internal::detect_preset_level(text);
          if (!level && in_traceback) {
            continuation = true;  // the exception line that ends a traceback
            in_traceback = false;
          }
        }
      }
    }

    if (continuation) {
      switch (current) {
        case Fate::write: write_line(line, in_chunk); break;
        case Fate::buffer: buffer_continuation(line); break;
        case Fate::drop: break;
      }
      return;
    }

    // A new record.
    in_traceback = false;
    current_has_traceback = false;
    if (level && *level < options.pass_level && *level < options.trigger_level) {
      buffer_new_record(line);
      return;
    }
    if (level && *level >= options.trigger_level) {
      write_buffer();
    } else {
      clear_buffer();  // written lines (passing, or with no level) drop what is older
    }
    current = Fate::write;
    write_line(line, in_chunk);
  }

  void feed(std::string_view bytes) {
    now = options.clock ? options.clock() : Clock::now();
    expire_old();
    const char* p = bytes.data();
    const char* end = p + bytes.size();
    if (!partial.empty()) {
      const char* nl = static_cast<const char*>(std::memchr(p, '\n', bytes.size()));
      if (nl == nullptr) {
        partial.append(p, end);
        if (partial.size() >= kMaxLine) take_partial_piece();
        flush_span();
        return;
      }
      partial.append(p, nl + 1);
      handle_line(partial, false);
      partial.clear();
      p = nl + 1;
    }
    while (p < end) {
      const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
      if (nl == nullptr) break;
      handle_line(std::string_view(p, static_cast<size_t>(nl + 1 - p)), true);
      p = nl + 1;
    }
    flush_span();
    if (p < end) {
      partial.assign(p, end);
      if (partial.size() >= kMaxLine) take_partial_piece();
    }
  }

  // An over-long line: handle what has come so far now; the rest will follow its fate.
  void take_partial_piece() {
    handle_line(partial, false);
    partial.clear();
    force_continuation = true;
  }

  void finish() {
    if (!partial.empty()) {
      handle_line(partial, false);
      partial.clear();
    }
    flush_span();
    // A program that dies of an uncaught exception prints its traceback last, right under
    // whatever it logged before, so the traceback reads as part of that (debug) record. A
    // traceback that ends the input is taken for that crash: it triggers like an error.
    if (current == Fate::buffer && current_has_traceback) write_buffer();
    clear_buffer();
    current = Fate::write;
    in_traceback = false;
    current_has_traceback = false;
    force_continuation = false;
  }
};

Result<std::unique_ptr<LineFilter>> LineFilter::create(FilterOptions options,
                                                        std::function<void(std::string_view)> out) {
  auto impl = std::make_unique<Impl>();
  for (const auto& pattern : options.level_regexes) {
    RE2::Options re_options;
    re_options.set_log_errors(false);
    auto re = std::make_unique<RE2>(pattern, re_options);
    if (!re->ok()) {
      return Error{"--level-regex '" + pattern + "': " + re->error()};
    }
    int group = 1;
    const auto& named = re->NamedCapturingGroups();
    if (auto it = named.find("level"); it != named.end()) group = it->second;
    if (re->NumberOfCapturingGroups() < 1) {
      return Error{"--level-regex '" + pattern +
                   "': needs a capture group giving the level, e.g. '^(?P<level>[A-Z]+) '"};
    }
    if (group >= 8) {
      return Error{"--level-regex '" + pattern + "': the level group must be among the first 7"};
    }
    impl->regexes.push_back({std::move(re), group});
  }
  impl->options = std::move(options);
  impl->out = std::move(out);
  return std::unique_ptr<LineFilter>(new LineFilter(std::move(impl)));
}

LineFilter::LineFilter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LineFilter::~LineFilter() = default;

void LineFilter::feed(std::string_view bytes) { impl_->feed(bytes); }
void LineFilter::finish() { impl_->finish(); }
size_t LineFilter::lines_in() const { return impl_->lines_in; }
size_t LineFilter::lines_written() const { return impl_->lines_written; }

}  // namespace relive::burst
