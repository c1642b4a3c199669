// git's wildmatch, restated over a (pointer, end) text so callers need not copy the path
// to NUL-terminate it. The control flow mirrors git's on purpose: its results, including
// the odd corners (malformed classes, "**" next to non-slashes), are what we must match.
#include "wildmatch.hpp"

#include <cstring>

namespace relive::ignore::detail {
namespace {

using uchar = unsigned char;

enum Outcome { kMatch = 0, kNoMatch = 1, kAbortAll = -1, kAbortToStarStar = -2 };

bool is_glob_special(uchar c) { return c == '*' || c == '?' || c == '[' || c == '\\'; }

// POSIX classes over ASCII only, as git's own ctype table defines them (locale-free;
// git's [:space:] is " \t\n\r", without \v and \f).
bool class_matches(const uchar* name, int len, uchar c, bool* known) {
  auto is = [&](const char* n) { return static_cast<int>(std::strlen(n)) == len && std::memcmp(name, n, static_cast<size_t>(len)) == 0; };  // len >= 0: equal to a strlen
  const bool upper = c >= 'A' && c <= 'Z', lower = c >= 'a' && c <= 'z', digit = c >= '0' && c <= '9';
  const bool graph = c >= 0x21 && c <= 0x7e;
  *known = true;
  if (is("alnum")) return upper || lower || digit;
  if (is("alpha")) return upper || lower;
  if (is("blank")) return c == ' ' || c == '\t';
  if (is("cntrl")) return c < 0x20 || c == 0x7f;
  if (is("digit")) return digit;
  if (is("graph")) return graph;
  if (is("lower")) return lower;
  if (is("print")) return graph || c == ' ';
  if (is("punct")) return graph && !upper && !lower && !digit;
  if (is("space")) return c == ' ' || c == '\t' || c == '\n' || c == '\r';
  if (is("upper")) return upper;
  if (is("xdigit")) return digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  *known = false;
  return false;
}

struct Text {
  const uchar* end;
  uchar at(const uchar* t) const { return t < end ? *t : 0; }
  const uchar* find_slash(const uchar* t) const {
    return t < end ? static_cast<const uchar*>(std::memchr(t, '/', static_cast<size_t>(end - t))) : nullptr;
  }
};

int dowild(const uchar* p, const uchar* text, const Text& tx, bool pathname) {
  const uchar* const pattern = p;
  for (uchar p_ch; (p_ch = *p) != '\0'; ++text, ++p) {
    uchar t_ch = tx.at(text);
    if (t_ch == '\0' && p_ch != '*') return kAbortAll;
    switch (p_ch) {
      case '\\':
        p_ch = *++p;  // literal next character; a trailing '\' compares against NUL and fails
        [[fallthrough]];
      default:
        if (t_ch != p_ch) return kNoMatch;
        continue;
      case '?':
        if (pathname && t_ch == '/') return kNoMatch;
        continue;
      case '*': {
        bool match_slash;
        if (*++p == '*') {
          const uchar* prev_p = p - 2;
          while (*++p == '*') {
          }
          if (!pathname) {
            match_slash = true;
          } else if ((prev_p < pattern || *prev_p == '/') &&
                     (*p == '\0' || *p == '/' || (p[0] == '\\' && p[1] == '/'))) {
            // "**/" may match no directory at all: try the rest right here first.
            if (p[0] == '/' && dowild(p + 1, text, tx, pathname) == kMatch) return kMatch;
            match_slash = true;
          } else {
            match_slash = false;  // "**" glued to other characters is a plain "*"
          }
        } else {
          match_slash = !pathname;
        }
        if (*p == '\0') {
          if (!match_slash && tx.find_slash(text)) return kNoMatch;
          return kMatch;
        }
        if (!match_slash && *p == '/') {
          const uchar* slash = tx.find_slash(text);
          if (!slash) return kNoMatch;
          text = slash;  // the loop's ++p/++text consume the slash on both sides
          break;
        }
        for (;;) {
          if (t_ch == '\0') break;
          if (!is_glob_special(*p)) {
            // Skip ahead to the next occurrence of the literal that follows the star.
            p_ch = *p;
            while ((t_ch = tx.at(text)) != '\0' && (match_slash || t_ch != '/')) {
              if (t_ch == p_ch) break;
              ++text;
            }
            if (t_ch != p_ch) return kNoMatch;
          }
          int matched = dowild(p, text, tx, pathname);
          if (matched != kNoMatch) {
            if (!match_slash || matched != kAbortToStarStar) return matched;
          } else if (!match_slash && t_ch == '/') {
            return kAbortToStarStar;
          }
          t_ch = tx.at(++text);
        }
        return kAbortAll;
      }
      case '[': {
        p_ch = *++p;
        if (p_ch == '^') p_ch = '!';
        const bool negated = p_ch == '!';
        if (negated) p_ch = *++p;
        uchar prev_ch = 0;
        bool matched = false;
        do {
          if (!p_ch) return kAbortAll;
          if (p_ch == '\\') {
            p_ch = *++p;
            if (!p_ch) return kAbortAll;
            if (t_ch == p_ch) matched = true;
          } else if (p_ch == '-' && prev_ch && p[1] && p[1] != ']') {
            p_ch = *++p;
            if (p_ch == '\\') {
              p_ch = *++p;
              if (!p_ch) return kAbortAll;
            }
            if (t_ch <= p_ch && t_ch >= prev_ch) matched = true;
            p_ch = 0;  // a range's end cannot start another range
          } else if (p_ch == '[' && p[1] == ':') {
            const uchar* s = p += 2;
            while ((p_ch = *p) && p_ch != ']') ++p;
            if (!p_ch) return kAbortAll;
            const int len = static_cast<int>(p - s - 1);
            if (len < 0 || p[-1] != ':') {
              // No ":]": the '[' was an ordinary member of the set.
              p = s - 2;
              p_ch = '[';
              if (t_ch == p_ch) matched = true;
              continue;
            }
            bool known = false;
            if (class_matches(s, len, t_ch, &known)) matched = true;
            if (!known) return kAbortAll;  // malformed [:class:]
            p_ch = 0;
          } else if (t_ch == p_ch) {
            matched = true;
          }
        } while (prev_ch = p_ch, (p_ch = *++p) != ']');
        if (matched == negated || (pathname && t_ch == '/')) return kNoMatch;
        continue;
      }
    }
  }
  return text < tx.end ? kNoMatch : kMatch;
}

}  // namespace

bool wildmatch(const char* pattern, std::string_view text, bool pathname) {
  const auto* t = reinterpret_cast<const uchar*>(text.data());
  return dowild(reinterpret_cast<const uchar*>(pattern), t, Text{t + text.size()}, pathname) == kMatch;
}

}  // namespace relive::ignore::detail
