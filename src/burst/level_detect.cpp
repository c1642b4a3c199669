// The presets of the burst line filter. Speed matters (the filter aims at tens of millions
// of lines per second), so each preset is a scanner that checks a few fixed positions and
// gives up early; the first byte of the line picks which presets can apply at all.
// False positives matter more than misses: a line classified wrongly may be dropped, while
// a line with no recognisable level is written through. So every preset asks for the exact
// shape its library prints (a full timestamp, a closing bracket, a key followed by ':').
#include "level_detect.hpp"

#include <cstring>

namespace relive::burst::line_internal {
namespace {

using P = const char*;

constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }
constexpr bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
constexpr char lower(char c) { return is_upper(c) ? static_cast<char>(c - 'A' + 'a') : c; }

bool digits(P p, P end, int n) {
  if (end - p < n) return false;
  for (int i = 0; i < n; ++i) {
    if (!is_digit(p[i])) return false;
  }
  return true;
}

// Case-insensitive equality of `text` with `lower_word` (already lower case).
bool ieq(std::string_view text, std::string_view lower_word) {
  if (text.size() != lower_word.size()) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    if (lower(text[i]) != lower_word[i]) return false;
  }
  return true;
}

// An upper-case level word at p (as Python, log4j, loguru... print levelname), followed by
// something that ends a word: end of line, space, tab, ':', ']', '|', ','.
// Sets *len to the word's length.
std::optional<Level> upper_level_word(P p, P end, size_t* len) {
  struct Word {
    std::string_view text;
    Level level;
  };
  static constexpr Word words[] = {
      {"TRACE", Level::trace},     {"DEBUG", Level::debug},  {"INFO", Level::info},
      {"NOTICE", Level::info},     {"WARNING", Level::warn}, {"WARN", Level::warn},
      {"ERROR", Level::error},     {"CRITICAL", Level::critical},
      {"FATAL", Level::critical},  {"SEVERE", Level::error},
  };
  if (p >= end || !is_upper(*p)) return std::nullopt;
  size_t avail = static_cast<size_t>(end - p);
  for (const auto& w : words) {
    if (w.text[0] != *p || w.text.size() > avail) continue;
    if (std::memcmp(p, w.text.data(), w.text.size()) != 0) continue;
    P after = p + w.text.size();
    if (after == end || *after == ' ' || *after == '\t' || *after == ':' || *after == ']' ||
        *after == '|' || *after == ',') {
      *len = w.text.size();
      return w.level;
    }
  }
  return std::nullopt;
}

// `YYYY-MM-DD[ T]HH:MM:SS[.,fraction][Z|±HH[:]MM]` (or with '/' in the date, as Go's log
// prints). Returns the position after it, or nullptr.
P scan_timestamp(P p, P end) {
  if (end - p < 19) return nullptr;
  char ds = p[4];
  if (!digits(p, end, 4) || (ds != '-' && ds != '/') || !digits(p + 5, end, 2) || p[7] != ds ||
      !digits(p + 8, end, 2) || (p[10] != ' ' && p[10] != 'T') || !digits(p + 11, end, 2) ||
      p[13] != ':' || !digits(p + 14, end, 2) || p[16] != ':' || !digits(p + 17, end, 2)) {
    return nullptr;
  }
  P q = p + 19;
  if (q < end && (*q == '.' || *q == ',') && q + 1 < end && is_digit(q[1])) {
    ++q;
    while (q < end && is_digit(*q)) ++q;
  }
  if (q < end && *q == 'Z') {
    ++q;
  } else if (q < end && (*q == '+' || *q == '-') && digits(q + 1, end, 2)) {
    // A zone offset; "- " would be Python's separator, which the digits rule out.
    q += 3;
    if (q < end && *q == ':') ++q;
    if (digits(q, end, 2)) q += 2;
  }
  return q;
}

// Skips an ANSI colour sequence (ESC [ ... m) at p, as spdlog prints when forced to colour.
P skip_ansi(P p, P end) {
  while (end - p >= 2 && p[0] == '\x1b' && p[1] == '[') {
    P q = p + 2;
    while (q < end && (is_digit(*q) || *q == ';')) ++q;
    if (q < end && *q == 'm') {
      p = q + 1;
    } else {
      break;
    }
  }
  return p;
}

// The level named by the contents of one bracket group, e.g. spdlog's "[debug]", Maven's
// "[INFO]", log4j's "[WARN ]", or a coloured "[\x1b[32minfo\x1b[m]".
std::optional<Level> bracket_contents_level(P p, P end) {
  p = skip_ansi(p, end);
  // Trailing colour reset: the last ESC starts it.
  for (P q = p; q < end; ++q) {
    if (*q == '\x1b') {
      end = q;
      break;
    }
  }
  if (end - p > 12 || p == end) return std::nullopt;
  return parse_level_name({p, static_cast<size_t>(end - p)});
}

// Lines starting with '[': spdlog's default pattern "[2026-11-21 12:00:00.123] [name]
// [debug] msg" (the level is one of the first four groups), Maven's "[INFO] msg", and
// env_logger's "[2026-11-21T12:00:00Z DEBUG my_crate] msg".
std::optional<Level> bracket_preset(P p, P end) {
  for (int group = 0; group < 4 && p < end && *p == '['; ++group) {
    P open = p + 1;
    P close = static_cast<P>(std::memchr(open, ']', static_cast<size_t>(end - open)));
    if (close == nullptr) return std::nullopt;
    // A '[' inside the group is only allowed as part of a colour code.
    if (auto level = bracket_contents_level(open, close)) return level;
    if (group == 0) {
      if (P ts = scan_timestamp(open, close); ts != nullptr && ts < close && *ts == ' ') {
        size_t len = 0;
        if (auto level = upper_level_word(ts + 1, close, &len)) return level;
      }
    }
    p = close + 1;
    if (p < end && *p == ' ') ++p;
  }
  return std::nullopt;
}

// Lines starting with a timestamp:
//   Python "%(asctime)s - %(name)s - %(levelname)s - %(message)s" (the level is the first
//   " - LEVEL - " field), also "%(asctime)s - %(levelname)s - %(message)s";
//   "%(asctime)s LEVEL msg", log4j "%d [%t] %-5p %c - %m", loguru "... | DEBUG    | ...".
// "12345 " — a process id and a space before a level word, as "%(process)d %(levelname)s"
// prints. Returns the position of the level word, or nullptr.
P skip_pid(P p, P end) {
  P q = p;
  while (q < end && is_digit(*q) && q - p < 10) ++q;
  if (q == p || q >= end || *q != ' ') return nullptr;
  ++q;
  size_t len = 0;
  return upper_level_word(q, end, &len) ? q : nullptr;
}

// What follows "host tag[pid]: " in a syslog line (RFC 3164 as /var/log/syslog and
// journalctl print it, or RSYSLOG_FileFormat after its ISO time), or nullptr.
P after_host_and_tag(P p, P end) {
  P host_end = static_cast<P>(std::memchr(p, ' ', static_cast<size_t>(end - p)));
  if (host_end == nullptr || host_end == p) return nullptr;
  P tag = host_end + 1;
  for (P q = tag; q < end && q - tag < 64; ++q) {
    if (*q == ':' && q + 1 < end && q[1] == ' ' && q > tag) return q + 2;
    if (*q == ' ' || *q == '\t') return nullptr;
  }
  return nullptr;
}

// "Dec  1 18:11:00 host app[123]: DEBUG ..." — the RFC 3164 header syslog writes: the level
// is the one of the message after the tag, by the other presets.
std::optional<Level> syslog_header_preset(P p, P end) {
  static constexpr std::string_view months = "JanFebMarAprMayJunJulAugSepOctNovDec";
  if (end - p < 16 || p[3] != ' ') return std::nullopt;
  bool month = false;
  for (size_t i = 0; i < months.size(); i += 3) {
    if (std::memcmp(p, months.data() + i, 3) == 0) month = true;
  }
  if (!month) return std::nullopt;
  P d = p + 4;
  if (!((d[0] == ' ' || is_digit(d[0])) && is_digit(d[1]) && d[2] == ' ')) return std::nullopt;
  P t = d + 3;
  if (!digits(t, end, 2) || t[2] != ':' || !digits(t + 3, end, 2) || t[5] != ':' || !digits(t + 6, end, 2) ||
      t + 8 >= end || t[8] != ' ') {
    return std::nullopt;
  }
  P rest = after_host_and_tag(t + 9, end);
  if (rest == nullptr || rest >= end) return std::nullopt;
  return detect_preset_level({rest, static_cast<size_t>(end - rest)});
}

std::optional<Level> timestamp_preset(P p, P end) {
  P q = scan_timestamp(p, end);
  if (q == nullptr) {
    if (P word = skip_pid(p, end)) {  // "%(process)d %(levelname)s ..."
      size_t len = 0;
      return upper_level_word(word, end, &len);
    }
    return std::nullopt;
  }
  const P after_time = q;
  size_t len = 0;
  if (end - q >= 3 && q[0] == ' ' && q[1] == '-' && q[2] == ' ') {
    // Look at the " - " separated fields of the next 256 bytes.
    P limit = end - q > 256 ? q + 256 : end;
    for (P s = q; s != nullptr && s < limit;) {
      P field = s + 3;
      if (auto level = upper_level_word(field, end, &len)) {
        P after = field + len;
        if (after == end || (end - after >= 3 && after[0] == ' ' && after[1] == '-' && after[2] == ' ') ||
            *after == ':') {
          return level;
        }
      }
      // Next " - ".
      P from = field;
      s = nullptr;
      while (from < limit) {
        P dash = static_cast<P>(std::memchr(from, '-', static_cast<size_t>(limit - from)));
        if (dash == nullptr || dash + 1 >= end) break;
        if (dash[-1] == ' ' && dash[1] == ' ') {
          s = dash - 1;
          break;
        }
        from = dash + 1;
      }
    }
    return std::nullopt;
  }
  while (q < end && (*q == ' ' || *q == '\t' || *q == '|')) ++q;
  if (P after_pid = skip_pid(q, end)) q = after_pid;  // "%(asctime)s %(process)d %(levelname)s"
  if (q < end && *q == '[') {
    P close = static_cast<P>(std::memchr(q, ']', static_cast<size_t>(end - q)));
    if (close == nullptr) return std::nullopt;
    if (auto level = bracket_contents_level(q + 1, close)) return level;
    q = close + 1;  // a thread name, as log4j prints
    while (q < end && (*q == ' ' || *q == '\t')) ++q;
  }
  if (auto level = upper_level_word(q, end, &len)) return level;
  // RSYSLOG_FileFormat: "2026-12-01T18:11:00+00:00 host app[1]: DEBUG ...".
  if (after_time < end && *after_time == ' ') {
    if (P rest = after_host_and_tag(after_time + 1, end); rest != nullptr && rest < end && !is_digit(*rest)) {
      return detect_preset_level({rest, static_cast<size_t>(end - rest)});
    }
  }
  return std::nullopt;
}

// glog (and Abseil, klog): "E1121 12:00:00.123456  1234 file.cc:12] msg", also with the
// year ("E20261121 12:00:00.123456 ..."). The letter: D(ebug), I, W, E, F.
std::optional<Level> glog_preset(P p, P end) {
  Level level;
  switch (*p) {
    case 'D': level = Level::debug; break;
    case 'I': level = Level::info; break;
    case 'W': level = Level::warn; break;
    case 'E': level = Level::error; break;
    case 'F': level = Level::critical; break;
    default: return std::nullopt;
  }
  P q = p + 1;
  if (digits(q, end, 8) && q + 8 < end && q[8] == ' ') {
    q += 9;
  } else if (digits(q, end, 4) && q + 4 < end && q[4] == ' ') {
    q += 5;
  } else {
    return std::nullopt;
  }
  if (end - q < 9 || !digits(q, end, 2) || q[2] != ':' || !digits(q + 3, end, 2) || q[5] != ':' ||
      !digits(q + 6, end, 2)) {
    return std::nullopt;
  }
  return level;
}

// Ruby's Logger: "D, [2026-11-21T12:00:00.123456 #1234] DEBUG -- : msg".
std::optional<Level> ruby_preset(P p, P end) {
  if (end - p < 4 || p[1] != ',' || p[2] != ' ' || p[3] != '[') return std::nullopt;
  switch (*p) {
    case 'D': return Level::debug;
    case 'I': return Level::info;
    case 'W': return Level::warn;
    case 'E': return Level::error;
    case 'F': return Level::critical;
    default: return std::nullopt;
  }
}

// syslog priority as systemd reads it from a service's stderr (sd-daemon.h): "<7>msg".
std::optional<Level> syslog_preset(P p, P end) {
  int pri = 0;
  P q = p + 1;
  int n = 0;
  while (q < end && is_digit(*q) && n < 3) {
    pri = pri * 10 + (*q - '0');
    ++q;
    ++n;
  }
  if (n == 0 || q >= end || *q != '>' || pri > 191) return std::nullopt;
  return parse_level_number(pri % 8);
}

bool is_json_level_key(std::string_view key) {
  switch (key.size()) {
    case 2: return ieq(key, "@l");
    case 3: return ieq(key, "lvl");
    case 5: return ieq(key, "level");
    case 6: return ieq(key, "@level");
    case 8: return ieq(key, "severity") || ieq(key, "loglevel");
    case 9: return ieq(key, "levelname") || ieq(key, "log.level") || ieq(key, "log_level");
    default: return false;
  }
}

// JSON lines: the first key named level/severity/lvl/levelname/log.level/@l... whose value
// is a level name (any case) or number (syslog 0-7, bunyan/pino 10-60). Strings are
// tokenised with their escapes, so a "level" inside a message never counts.
std::optional<Level> json_preset(P p, P end) {
  P q = p + 1;
  while (q < end) {
    P quote = static_cast<P>(std::memchr(q, '"', static_cast<size_t>(end - q)));
    if (quote == nullptr) return std::nullopt;
    P s = quote + 1;
    P close = s;
    for (;;) {
      close = static_cast<P>(std::memchr(close, '"', static_cast<size_t>(end - close)));
      if (close == nullptr) return std::nullopt;
      // An escaped quote has an odd number of backslashes before it.
      P b = close;
      while (b > s && b[-1] == '\\') --b;
      if (((close - b) & 1) == 0) break;
      ++close;
    }
    q = close + 1;
    std::string_view token(s, static_cast<size_t>(close - s));
    P after = q;
    while (after < end && (*after == ' ' || *after == '\t')) ++after;
    if (after >= end || *after != ':') continue;  // a value, not a key
    q = after + 1;
    if (!is_json_level_key(token)) continue;
    P v = q;
    while (v < end && (*v == ' ' || *v == '\t')) ++v;
    if (v < end && *v == '"') {
      P vend = static_cast<P>(std::memchr(v + 1, '"', static_cast<size_t>(end - v - 1)));
      if (vend == nullptr) return std::nullopt;
      if (auto level = parse_level_name({v + 1, static_cast<size_t>(vend - v - 1)})) return level;
    } else if (v < end && is_digit(*v)) {
      int64_t n = 0;
      int count = 0;
      while (v < end && is_digit(*v) && count < 4) {
        n = n * 10 + (*v - '0');
        ++v;
        ++count;
      }
      if (v == end || *v == ',' || *v == '}' || *v == ' ') {
        if (auto level = parse_level_number(n)) return level;
      }
    }
  }
  return std::nullopt;
}

// logfmt: "level=debug", "lvl=info", "severity=warn", at the start or after a space; the
// value may be quoted. Names only (a bare number after "level=" is too often something
// else, as in "set level=3").
std::optional<Level> logfmt_preset(P p, P end) {
  P q = p;
  while (q < end) {
    P eq = static_cast<P>(std::memchr(q, '=', static_cast<size_t>(end - q)));
    if (eq == nullptr) return std::nullopt;
    q = eq + 1;
    P k = eq;
    while (k > p && k[-1] != ' ' && k[-1] != '\t') --k;
    std::string_view key(k, static_cast<size_t>(eq - k));
    if (!(ieq(key, "level") || ieq(key, "lvl") || ieq(key, "severity"))) continue;
    P v = q;
    P vend;
    if (v < end && *v == '"') {
      ++v;
      vend = static_cast<P>(std::memchr(v, '"', static_cast<size_t>(end - v)));
      if (vend == nullptr) continue;
    } else {
      vend = v;
      while (vend < end && *vend != ' ' && *vend != '\t') ++vend;
    }
    if (auto level = parse_level_name({v, static_cast<size_t>(vend - v)})) return level;
  }
  return std::nullopt;
}

}  // namespace

std::optional<Level> parse_level_name(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (text.empty() || text.size() > 13) return std::nullopt;
  switch (lower(text[0])) {
    case 't':
      if (ieq(text, "trace")) return Level::trace;
      break;
    case 'v':
      if (ieq(text, "verbose")) return Level::trace;
      break;
    case 'd':
      if (ieq(text, "debug") || ieq(text, "dbug")) return Level::debug;
      if (ieq(text, "dpanic")) return Level::critical;
      break;
    case 'i':
      if (ieq(text, "info") || ieq(text, "information") || ieq(text, "informational")) return Level::info;
      break;
    case 'n':
      if (ieq(text, "notice")) return Level::info;
      break;
    case 'w':
      if (ieq(text, "warn") || ieq(text, "warning")) return Level::warn;
      break;
    case 'e':
      if (ieq(text, "error") || ieq(text, "err") || ieq(text, "eror")) return Level::error;
      if (ieq(text, "emerg") || ieq(text, "emergency")) return Level::critical;
      break;
    case 's':
      if (ieq(text, "severe")) return Level::error;
      break;
    case 'c':
      if (ieq(text, "critical") || ieq(text, "crit")) return Level::critical;
      break;
    case 'f':
      if (ieq(text, "fatal")) return Level::critical;
      break;
    case 'a':
      if (ieq(text, "alert")) return Level::critical;
      break;
    case 'p':
      if (ieq(text, "panic")) return Level::critical;
      break;
    default:
      break;
  }
  return std::nullopt;
}

std::optional<Level> parse_level_number(int64_t n) {
  switch (n) {
    case 7: return Level::debug;
    case 6: case 5: return Level::info;
    case 4: return Level::warn;
    case 3: return Level::error;
    case 2: case 1: case 0: return Level::critical;
    case 10: return Level::trace;
    case 20: return Level::debug;
    case 30: return Level::info;
    case 40: return Level::warn;
    case 50: return Level::error;
    case 60: return Level::critical;
    default: return std::nullopt;
  }
}

std::optional<Level> parse_level_text(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (text.size() == 1) {
    switch (lower(text[0])) {
      case 't': case 'v': return Level::trace;
      case 'd': return Level::debug;
      case 'i': case 'n': return Level::info;
      case 'w': return Level::warn;
      case 'e': return Level::error;
      case 'f': case 'c': return Level::critical;
      default: break;
    }
  }
  if (!text.empty() && text.size() <= 4 && is_digit(text[0])) {
    int64_t n = 0;
    for (char c : text) {
      if (!is_digit(c)) return std::nullopt;
      n = n * 10 + (c - '0');
    }
    return parse_level_number(n);
  }
  return parse_level_name(text);
}

std::optional<Level> detect_preset_level(std::string_view line) {
  if (line.empty()) return std::nullopt;
  P p = line.data();
  P end = p + line.size();
  std::optional<Level> level;
  char c = *p;
  if (c == '<') {
    level = syslog_preset(p, end);
  } else if (c == '{') {
    level = json_preset(p, end);
  } else if (c == '[') {
    level = bracket_preset(p, end);
  } else if (is_digit(c)) {
    level = timestamp_preset(p, end);
  } else if (is_upper(c)) {
    if (line.size() > 1 && is_digit(p[1])) {
      level = glog_preset(p, end);
    } else if (line.size() > 1 && p[1] == ',') {
      level = ruby_preset(p, end);
    } else if (line.size() > 16 && p[3] == ' ' && !is_upper(p[1])) {
      level = syslog_header_preset(p, end);
    } else {
      size_t len = 0;
      level = upper_level_word(p, end, &len);  // Python's default "DEBUG:name:msg", "INFO msg"
    }
  }
  if (level) return level;
  return logfmt_preset(p, end);
}

}  // namespace relive::burst::line_internal
