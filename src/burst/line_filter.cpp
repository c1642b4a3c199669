// The burst line filter (relive/burst_filter.hpp). One pass over the input, no allocation
// per line once warm:
//   - lines are cut with memchr; written lines that sit next to each other in the caller's
//     chunk are handed to `out` as one span, so `out` sees large writes, not one per line;
//   - each buffer (one per key) copies its messages into one growing byte store, indexed by
//     a deque of records; dropping the oldest only moves an index, and the store is
//     compacted when its dead front outgrows its live part;
//   - since every written line drops everything its buffer holds (chronological rule),
//     "clear" is the common case: the buffer goes back to a spare list, its store keeps
//     its capacity, and the next debug line of any key reuses it.
// Buffers live in a list in creation order (the eviction order for max_memory) and are
// found by key through a hash map; the last one found is cached, which makes the one-key
// case (no --key option) a string compare.
#include <re2/re2.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "level_detect.hpp"
#include "relive/burst_filter.hpp"

namespace relive::burst {

namespace {

using Clock = std::chrono::steady_clock;

// A line without a newline for this long is handled in pieces of this size (the pieces
// after the first share its fate), so memory stays bounded on binary or runaway input.
constexpr size_t kMaxLine = size_t{1} << 20;
// What a buffer costs besides its text and records (list node, map entry, deque blocks):
// counted against max_memory so that many tiny buffers are bounded too.
constexpr size_t kBufferOverhead = 768;
// Emptied buffers kept for reuse.
constexpr size_t kMaxSpare = 64;
// How often buffers nobody touches are checked against max_age.
constexpr Clock::duration kSweepEvery = std::chrono::seconds(1);

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

// A program dying, printed without a level: Python's threading excepthook ("Exception in
// thread Thread-1 (work):"), Java's default handler ("Exception in thread "main" ..."),
// Go's runtime ("panic: ..."), and "fatal error: ..." (Go's runtime throw).
bool is_crash_line(std::string_view text) {
  return starts_with(text, "Exception in thread ") || starts_with(text, "panic: ") ||
         starts_with(text, "fatal error: ");
}

// The value of a JSON ("field": "v" or number) or logfmt (field=v, field="v") field.
std::optional<std::string_view> field_value(std::string_view text, std::string_view field) {
  // JSON: "field" then ':'.
  for (size_t at = text.find(field); at != std::string_view::npos; at = text.find(field, at + 1)) {
    const size_t end = at + field.size();
    if (at > 0 && text[at - 1] == '"' && end < text.size() && text[end] == '"') {
      size_t v = end + 1;
      while (v < text.size() && (text[v] == ' ' || text[v] == '\t')) ++v;
      if (v >= text.size() || text[v] != ':') continue;
      ++v;
      while (v < text.size() && (text[v] == ' ' || text[v] == '\t')) ++v;
      if (v < text.size() && text[v] == '"') {
        size_t close = text.find('"', v + 1);
        if (close == std::string_view::npos) return std::nullopt;
        return text.substr(v + 1, close - v - 1);
      }
      size_t stop = v;
      while (stop < text.size() && text[stop] != ',' && text[stop] != '}' && text[stop] != ' ') ++stop;
      if (stop > v) return text.substr(v, stop - v);
      continue;
    }
    // logfmt: field= at the start or after a space.
    if ((at == 0 || text[at - 1] == ' ' || text[at - 1] == '\t') && end < text.size() && text[end] == '=') {
      size_t v = end + 1;
      if (v < text.size() && text[v] == '"') {
        size_t close = text.find('"', v + 1);
        if (close == std::string_view::npos) return std::nullopt;
        return text.substr(v + 1, close - v - 1);
      }
      size_t stop = v;
      while (stop < text.size() && text[stop] != ' ' && text[stop] != '\t' && text[stop] != '\r') ++stop;
      if (stop > v) return text.substr(v, stop - v);
    }
  }
  return std::nullopt;
}

// One key's buffered records: their text in one store, indexed by `records`.
struct Record {
  uint64_t begin;  // absolute offset in the store (see store_base)
  size_t size;
  size_t lines;
  Clock::time_point arrived;
  uint64_t seq;  // filter-wide number of the record: a stream's "current record"
};

struct KeyBuffer {
  std::string key;
  std::deque<Record> records;
  std::string store;
  uint64_t store_base = 0;
  size_t lines = 0;
  // After a trigger: lines of this key pass through (see FilterOptions::after_trigger_*).
  size_t pass_lines = 0;
  Clock::time_point pass_until{};

  bool passing(Clock::time_point now) const { return pass_lines > 0 || now < pass_until; }
  size_t live_bytes() const {
    return records.empty() ? 0 : store.size() - static_cast<size_t>(records.front().begin - store_base);
  }
  size_t memory() const { return live_bytes() + records.size() * sizeof(Record) + key.size() + kBufferOverhead; }
  std::string_view text(const Record& r) const {
    return std::string_view(store).substr(static_cast<size_t>(r.begin - store_base), r.size);
  }

  void push(std::string_view line, Clock::time_point now, uint64_t seq) {
    if (records.empty()) {
      store_base += store.size();
      store.clear();
    } else {
      compact();
    }
    records.push_back(Record{store_base + store.size(), line.size(), 1, now, seq});
    store.append(line);
    ++lines;
  }
  void append(std::string_view line) {
    records.back().size += line.size();
    ++records.back().lines;
    store.append(line);
    ++lines;
  }
  size_t drop_oldest() {
    const size_t n = records.front().lines;
    records.pop_front();
    lines -= n;
    if (records.empty()) {
      store_base += store.size();
      store.clear();
    }
    return n;
  }
  size_t clear() {
    const size_t n = lines;
    records.clear();
    store_base += store.size();
    store.clear();
    lines = 0;
    return n;
  }

 private:
  // Keeps the dead front of the store from growing without end.
  void compact() {
    size_t dead = static_cast<size_t>(records.front().begin - store_base);
    if (dead > (size_t{1} << 20) && dead > store.size() / 2) {
      store.erase(0, dead);
      store_base += dead;
    }
  }
};

using BufferList = std::list<KeyBuffer>;

}  // namespace

// One stream of input: its partial line and the record being read (whose continuation
// lines follow its fate).
class LineFilter::Source {
 public:
  enum class Fate : unsigned char { write, buffer, drop };
  std::string name;             // the default key
  Fate fate = Fate::write;
  std::string key;              // the buffer of the current record when Fate::buffer
  uint64_t seq = 0;             // ... and the record
  size_t* drop_counter = nullptr;  // where its continuation lines count when Fate::drop
  bool in_traceback = false;    // inside a Python traceback: its exception line continues it
  bool force_continuation = false;  // the next piece is the rest of an over-long line
  std::string partial;          // an incomplete line carried to the next feed()
};

struct LineFilter::Impl {
  using Fate = Source::Fate;

  struct UserRegex {
    std::unique_ptr<RE2> re;
    int group;  // the capture group giving the level (or key) text
  };

  FilterOptions options;
  std::function<void(std::string_view)> out;
  std::vector<UserRegex> regexes;
  std::vector<std::unique_ptr<RE2>> no_trigger;
  std::optional<UserRegex> key_regex;
  bool keyed = false;  // key_regex or options.key_field

  Source main;  // feed(bytes)
  Clock::time_point now{};
  Clock::time_point last_sweep{};

  // Lines of the caller's chunk waiting to go out as one span.
  const char* span_begin = nullptr;
  const char* span_end = nullptr;
  size_t span_lines = 0;

  BufferList buffers;  // creation order: the oldest first
  BufferList spare;
  std::unordered_map<std::string, BufferList::iterator> by_key;
  KeyBuffer* cached = nullptr;  // the buffer last found (cleared whenever one is erased)
  uint64_t next_seq = 0;
  size_t memory = 0;
  size_t lines_buffered = 0;
  FilterStats stats;
  std::string scratch;  // a datagram's record with its newline added

  // --- output -----------------------------------------------------------------------
  void flush_span() {
    if (span_begin != span_end) {
      out(std::string_view(span_begin, static_cast<size_t>(span_end - span_begin)));
      stats.lines_written += span_lines;
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
    ++stats.lines_written;
  }

  // --- buffers ------------------------------------------------------------------------
  KeyBuffer* find(std::string_view key) {
    if (cached != nullptr && cached->key == key) return cached;
    if (by_key.empty()) return nullptr;  // the common case without keys: nothing held
    auto it = by_key.find(std::string(key));
    if (it == by_key.end()) return nullptr;
    cached = &*it->second;
    return cached;
  }

  KeyBuffer& create(std::string_view key) {
    if (spare.empty()) {
      buffers.emplace_back();
    } else {
      buffers.splice(buffers.end(), spare, spare.begin());
    }
    auto it = std::prev(buffers.end());
    it->key.assign(key);
    by_key.emplace(it->key, it);
    memory += it->memory();
    cached = &*it;
    return *it;
  }

  void erase(KeyBuffer& b) {
    auto found = by_key.find(b.key);
    auto it = found->second;
    by_key.erase(found);
    memory -= b.memory();
    lines_buffered -= b.clear();
    b.pass_lines = 0;
    b.pass_until = {};
    cached = nullptr;
    if (spare.size() < kMaxSpare) {
      if (b.store.capacity() > (size_t{1} << 20)) std::string().swap(b.store);
      spare.splice(spare.end(), buffers, it);
    } else {
      buffers.erase(it);
    }
  }

  // An empty buffer goes (its key may never come back), except the main input's own when
  // there are no keys: it empties on every written line and is needed again at once.
  void erase_if_idle(KeyBuffer& b) {
    if (!b.records.empty() || b.passing(now)) return;
    if (!keyed && b.key == main.name) return;
    erase(b);
  }

  // Runs `change` on b and keeps the memory and line totals right.
  template <class F>
  void change(KeyBuffer& b, F&& f) {
    const size_t mem_before = b.memory();
    const size_t lines_before = b.lines;
    f(b);
    memory = memory - mem_before + b.memory();
    lines_buffered = lines_buffered - lines_before + b.lines;
  }

  void drop_oldest(KeyBuffer& b, size_t& counter) {
    change(b, [&](KeyBuffer& k) { counter += k.drop_oldest(); });
  }

  void expire(KeyBuffer& b) {
    if (options.max_age.count() <= 0) return;
    while (!b.records.empty() && now - b.records.front().arrived > options.max_age) drop_oldest(b, stats.dropped_age);
  }

  void sweep_if_due() {
    if (now - last_sweep < kSweepEvery) return;
    last_sweep = now;
    for (auto it = buffers.begin(); it != buffers.end();) {
      KeyBuffer& b = *it++;
      expire(b);
      erase_if_idle(b);
    }
  }

  // The bounds after a record grew: its buffer's bytes, then all buffers' memory, evicting
  // the oldest buffers (but never the one just written to: its own oldest records go).
  void enforce_bounds(KeyBuffer& b) {
    while (b.records.size() > 1 && b.live_bytes() > options.max_bytes) drop_oldest(b, stats.dropped_bytes);
    while (memory > options.max_memory) {
      KeyBuffer& oldest = buffers.front();
      if (&oldest != &b) {
        stats.dropped_evicted += oldest.lines;
        ++stats.buffers_evicted;
        erase(oldest);
        continue;
      }
      if (b.records.size() > 1) {
        drop_oldest(b, stats.dropped_evicted);
        continue;
      }
      break;  // one record in one buffer: it stays (a line is at most kMaxLine per piece)
    }
  }

  void write_buffer(KeyBuffer& b) {
    flush_span();
    expire(b);
    for (const Record& r : b.records) {
      out(b.text(r));
      stats.lines_written += r.lines;
    }
    change(b, [](KeyBuffer& k) { k.clear(); });
  }

  void write_all() {
    flush_span();
    for (auto it = buffers.begin(); it != buffers.end();) {
      KeyBuffer& b = *it++;
      write_buffer(b);
      erase_if_idle(b);
    }
  }

  void start_after_trigger(std::string_view key) {
    if (options.after_trigger_lines == 0 && options.after_trigger_for.count() <= 0) return;
    KeyBuffer* b = find(key);
    if (b == nullptr) b = &create(key);
    b->pass_lines = options.after_trigger_lines;
    b->pass_until = options.after_trigger_for.count() > 0 ? now + options.after_trigger_for : Clock::time_point{};
  }

  // --- classification -----------------------------------------------------------------
  static std::optional<std::string_view> group_of(const UserRegex& r, std::string_view text) {
    re2::StringPiece groups[8];
    if (!r.re->Match(re2::StringPiece(text.data(), text.size()), 0, text.size(), RE2::UNANCHORED, groups,
                     r.group + 1)) {
      return std::nullopt;
    }
    const auto& g = groups[r.group];
    if (g.data() == nullptr) return std::nullopt;
    return std::string_view(g.data(), g.size());
  }

  std::optional<Level> user_level(std::string_view text) {
    for (auto& r : regexes) {
      if (auto g = group_of(r, text)) {
        if (auto level = line_internal::parse_level_text(*g)) return level;
      }
    }
    return std::nullopt;
  }

  std::optional<std::string_view> key_of(std::string_view text) {
    if (key_regex) return group_of(*key_regex, text);
    if (!options.key_field.empty()) return field_value(text, options.key_field);
    return std::nullopt;
  }

  bool excluded_from_triggering(std::string_view text) {
    for (auto& re : no_trigger) {
      if (RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *re)) return true;
    }
    return false;
  }

  enum class Shape { record, continuation, traceback };

  // Lines that belong to the record above them whatever they contain.
  static Shape shape_of(std::string_view text) {
    if (text.empty()) return Shape::continuation;
    char c = text[0];
    if (c == ' ' || c == '\t' || (c == '\r' && text.size() == 1)) return Shape::continuation;
    switch (c) {
      case 'T':
        if (starts_with(text, "Traceback (most recent call last):")) return Shape::traceback;
        if (starts_with(text, "The above exception was the direct cause of the following exception:")) {
          return Shape::continuation;
        }
        break;
      case 'D':
        if (starts_with(text, "During handling of the above exception, another exception occurred:")) {
          return Shape::continuation;
        }
        break;
      case 'C':
        if (starts_with(text, "Caused by: ")) return Shape::continuation;
        break;
      default:
        if (c >= 'a' && c <= 'z' && is_java_exception_line(text)) return Shape::continuation;
        break;
    }
    return Shape::record;
  }

  void continue_record(Source& s, std::string_view line, bool in_chunk) {
    switch (s.fate) {
      case Fate::write: write_line(line, in_chunk); return;
      case Fate::buffer: {
        KeyBuffer* b = find(s.key);
        if (b != nullptr && !b->records.empty() && b->records.back().seq == s.seq) {
          change(*b, [&](KeyBuffer& k) { k.append(line); });
          enforce_bounds(*b);
          return;
        }
        // Its record left the buffer (bounds, eviction, or a later line of its key was
        // written): the rest of it goes too.
        s.fate = Fate::drop;
        s.drop_counter = &stats.dropped_superseded;
        [[fallthrough]];
      }
      case Fate::drop: ++*s.drop_counter; return;
    }
  }

  // A crash (a traceback under a held record, or a crash line): every buffer is context.
  void crash(Source& s, std::string_view line, bool in_chunk) {
    ++stats.triggers;
    write_all();
    start_after_trigger(s.name);
    s.fate = Fate::write;
    write_line(line, in_chunk);
  }

  // One line, with its newline when it has one. `in_chunk`: it lies in the caller's bytes
  // (and may join the output span); otherwise in a buffer of ours (partial, scratch).
  // `first_of_record`: a datagram's first line, a record whatever its shape.
  void handle_line(Source& s, std::string_view line, bool in_chunk, bool first_of_record = false) {
    ++stats.lines_in;
    std::string_view text = line;
    if (!text.empty() && text.back() == '\n') text.remove_suffix(1);

    std::optional<Level> level;
    if (s.force_continuation) {
      s.force_continuation = false;
      continue_record(s, line, in_chunk);
      return;
    }
    if (!regexes.empty()) level = user_level(text);
    if (!level && first_of_record && shape_of(text) == Shape::traceback) {
      crash(s, line, in_chunk);
      return;
    }
    if (!level && !first_of_record) {
      switch (shape_of(text)) {
        case Shape::continuation: continue_record(s, line, in_chunk); return;
        case Shape::traceback:
          if (s.fate == Fate::write) {
            s.in_traceback = true;
            write_line(line, in_chunk);
          } else {
            // An uncaught exception printed under a held line: a crash, and what was held
            // before it is its context.
            s.in_traceback = true;
            crash(s, line, in_chunk);
          }
          return;
        case Shape::record: break;
      }
    }
    if (!level) level = line_internal::detect_preset_level(text);
    if (!level) {
      if (is_crash_line(text)) {
        s.in_traceback = false;
        crash(s, line, in_chunk);
        return;
      }
      if (s.in_traceback && !first_of_record) {  // the exception line that ends a traceback
        s.in_traceback = false;
        continue_record(s, line, in_chunk);
        return;
      }
    }
    new_record(s, line, text, level, in_chunk);
  }

  void new_record(Source& s, std::string_view line, std::string_view text, std::optional<Level> level,
                  bool in_chunk) {
    s.in_traceback = false;
    std::string_view key = s.name;
    if (keyed) {
      if (auto k = key_of(text)) key = *k;
    }
    KeyBuffer* b = find(key);
    const bool triggers = level && *level >= options.trigger_level && !excluded_from_triggering(text);
    const bool held = level && *level < options.pass_level && !triggers;
    const bool passing = b != nullptr && b->passing(now);
    if (passing && b->pass_lines > 0) --b->pass_lines;

    if (held && !passing) {
      if (options.keep == 0) {
        s.fate = Fate::drop;
        s.drop_counter = &stats.dropped_count;
        ++stats.dropped_count;
        return;
      }
      if (b == nullptr) b = &create(key);
      expire(*b);
      if (b->records.size() >= options.keep) drop_oldest(*b, stats.dropped_count);
      const uint64_t seq = ++next_seq;
      change(*b, [&](KeyBuffer& k) { k.push(line, now, seq); });
      s.fate = Fate::buffer;
      s.key.assign(key);
      s.seq = seq;
      enforce_bounds(*b);
      return;
    }
    if (triggers) {
      ++stats.triggers;
      if (b != nullptr) write_buffer(*b);
      start_after_trigger(key);
      b = find(key);
    } else if (b != nullptr) {
      change(*b, [&](KeyBuffer& k) { stats.dropped_superseded += k.clear(); });
    }
    if (b != nullptr) erase_if_idle(*b);
    s.fate = Fate::write;
    write_line(line, in_chunk);
  }

  void feed(Source& s, std::string_view bytes) {
    now = options.clock ? options.clock() : Clock::now();
    sweep_if_due();
    const char* p = bytes.data();
    const char* end = p + bytes.size();
    if (!s.partial.empty()) {
      const char* nl = static_cast<const char*>(std::memchr(p, '\n', bytes.size()));
      if (nl == nullptr) {
        s.partial.append(p, end);
        if (s.partial.size() >= kMaxLine) take_partial_piece(s);
        flush_span();
        return;
      }
      s.partial.append(p, nl + 1);
      handle_line(s, s.partial, false);
      s.partial.clear();
      p = nl + 1;
    }
    while (p < end) {
      const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
      if (nl == nullptr) break;
      handle_line(s, std::string_view(p, static_cast<size_t>(nl + 1 - p)), true);
      p = nl + 1;
    }
    flush_span();
    if (p < end) {
      s.partial.assign(p, end);
      if (s.partial.size() >= kMaxLine) take_partial_piece(s);
    }
  }

  void feed_record(std::string_view name, std::string_view record) {
    now = options.clock ? options.clock() : Clock::now();
    sweep_if_due();
    if (record.empty()) return;
    if (record.back() != '\n') {
      scratch.assign(record);
      scratch.push_back('\n');
      record = scratch;
    }
    Source s;
    s.name.assign(name);
    const char* p = record.data();
    const char* end = p + record.size();
    bool first = true;
    while (p < end) {
      const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
      std::string_view line(p, static_cast<size_t>(nl + 1 - p));
      if (first) {
        handle_line(s, line, true, true);
        first = false;
      } else {
        s.force_continuation = true;  // the rest of a datagram is its first line's
        handle_line(s, line, true);
      }
      p = nl + 1;
    }
    flush_span();
  }

  // An over-long line: handle what has come so far now; the rest will follow its fate.
  void take_partial_piece(Source& s) {
    handle_line(s, s.partial, false);
    s.partial.clear();
    s.force_continuation = true;
  }

  void close(Source& s) {
    if (!s.partial.empty()) {
      handle_line(s, s.partial, false);
      s.partial.clear();
    }
    flush_span();
    s.fate = Fate::write;
    s.in_traceback = false;
    s.force_continuation = false;
  }

  void finish(End how) {
    now = options.clock ? options.clock() : Clock::now();
    close(main);
    const bool write = options.flush_at_end == FlushAtEnd::always ||
                       (options.flush_at_end == FlushAtEnd::failure && how == End::failure);
    if (write) {
      write_all();
    } else {
      for (auto& b : buffers) stats.dropped_at_end += b.lines;
    }
    while (!buffers.empty()) erase(buffers.front());
  }
};

namespace {

Result<std::unique_ptr<RE2>> compile(const std::string& option, const std::string& pattern) {
  RE2::Options re_options;
  re_options.set_log_errors(false);
  auto re = std::make_unique<RE2>(pattern, re_options);
  if (!re->ok()) return Error{option + " '" + pattern + "': " + re->error()};
  return re;
}

// The capture group a regex's text comes from: the one named `name`, else the first.
Result<int> group_for(const std::string& option, const std::string& pattern, const RE2& re, const std::string& name) {
  if (re.NumberOfCapturingGroups() < 1) {
    return Error{option + " '" + pattern + "': needs a capture group giving the " + name + ", e.g. '^(?P<" +
                 name + ">[A-Z]+) '"};
  }
  int group = 1;
  const auto& named = re.NamedCapturingGroups();
  if (auto it = named.find(name); it != named.end()) group = it->second;
  if (group >= 8) return Error{option + " '" + pattern + "': the " + name + " group must be among the first 7"};
  return group;
}

}  // namespace

Result<std::unique_ptr<LineFilter>> LineFilter::create(FilterOptions options,
                                                        std::function<void(std::string_view)> out) {
  auto impl = std::make_unique<Impl>();
  for (const auto& pattern : options.level_regexes) {
    auto re = compile("--level-regex", pattern);
    if (!re) return re.error();
    auto group = group_for("--level-regex", pattern, **re, "level");
    if (!group) return group.error();
    impl->regexes.push_back({std::move(*re), *group});
  }
  for (const auto& pattern : options.no_trigger_regexes) {
    auto re = compile("--no-trigger-regex", pattern);
    if (!re) return re.error();
    impl->no_trigger.push_back(std::move(*re));
  }
  if (!options.key_regex.empty()) {
    auto re = compile("--key-regex", options.key_regex);
    if (!re) return re.error();
    auto group = group_for("--key-regex", options.key_regex, **re, "key");
    if (!group) return group.error();
    impl->key_regex = Impl::UserRegex{std::move(*re), *group};
  }
  impl->keyed = impl->key_regex.has_value() || !options.key_field.empty();
  impl->options = std::move(options);
  impl->out = std::move(out);
  return std::unique_ptr<LineFilter>(new LineFilter(std::move(impl)));
}

LineFilter::LineFilter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LineFilter::~LineFilter() = default;

void LineFilter::feed(std::string_view bytes) { impl_->feed(impl_->main, bytes); }
LineFilter::SourcePtr LineFilter::open_source(std::string name) {
  SourcePtr s(new Source);
  s->name = std::move(name);
  return s;
}
void LineFilter::SourceDeleter::operator()(Source* source) const { delete source; }
void LineFilter::feed(Source& source, std::string_view bytes) { impl_->feed(source, bytes); }
void LineFilter::close_source(Source& source) { impl_->close(source); }
void LineFilter::feed_record(std::string_view source_name, std::string_view record) {
  impl_->feed_record(source_name, record);
}
void LineFilter::finish(End how) { impl_->finish(how); }
void LineFilter::flush() {
  impl_->now = impl_->options.clock ? impl_->options.clock() : std::chrono::steady_clock::now();
  impl_->write_all();
}
void LineFilter::trigger(std::string_view key) {
  impl_->now = impl_->options.clock ? impl_->options.clock() : std::chrono::steady_clock::now();
  ++impl_->stats.triggers;
  if (KeyBuffer* b = impl_->find(key)) impl_->write_buffer(*b);
  impl_->start_after_trigger(key);
  if (KeyBuffer* b = impl_->find(key)) impl_->erase_if_idle(*b);
}
size_t LineFilter::lines_in() const { return impl_->stats.lines_in; }
size_t LineFilter::lines_written() const { return impl_->stats.lines_written; }
FilterStats LineFilter::stats() const {
  FilterStats s = impl_->stats;
  s.lines_buffered = impl_->lines_buffered;
  s.buffers = 0;
  for (const auto& b : impl_->buffers) s.buffers += b.records.empty() ? 0u : 1u;
  s.memory = impl_->memory;
  return s;
}

}  // namespace relive::burst
