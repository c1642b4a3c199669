#include "rules.hpp"

#include <re2/re2.h>

#include <algorithm>
#include <cstring>

#include "wildmatch.hpp"

namespace relive::ignore::detail {
namespace {

bool has_wildcard(char c) { return c == '*' || c == '?' || c == '[' || c == '\\'; }

size_t literal_length(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && !has_wildcard(s[i])) ++i;
  return i;
}

// Calls `each(line_text, line_number)` for every line of a rules file, the way git splits
// them: an optional UTF-8 BOM skipped, "\n" ends a line and a "\r" before it is dropped,
// blank lines and lines starting with '#' skipped (but counted).
template <class F>
void for_each_line(std::string_view content, F&& each) {
  if (content.substr(0, 3) == "\xEF\xBB\xBF") content.remove_prefix(3);
  int number = 0;
  while (!content.empty()) {
    ++number;
    size_t nl = content.find('\n');
    std::string_view line = content.substr(0, nl);
    content.remove_prefix(nl == std::string_view::npos ? content.size() : nl + 1);
    if (line.empty() || line.front() == '#') continue;
    if (line.back() == '\r') line.remove_suffix(1);  // git adds a final '\n' first, so always
    each(line, number);
  }
}

}  // namespace

std::string_view trim_trailing_spaces(std::string_view line) {
  size_t keep = line.size();
  bool in_spaces = false;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == ' ') {
      if (!in_spaces) keep = i;
      in_spaces = true;
      continue;
    }
    if (line[i] == '\\') {
      if (++i == line.size()) return line;  // a final lone backslash: nothing to trim
    }
    in_spaces = false;
  }
  return in_spaces ? line.substr(0, keep) : line;
}

void add_gitignore_pattern(std::string_view line_text, int line, const RuleFile* file, std::vector<Rule>& out) {
  std::string_view p = line_text;
  Rule rule;
  rule.text = std::string(line_text);
  rule.line = line;
  rule.file = file;
  if (!p.empty() && p.front() == '!') {
    rule.negative = true;
    p.remove_prefix(1);
  }
  if (!p.empty() && p.back() == '/') {
    rule.must_be_dir = true;
    p.remove_suffix(1);
  }
  if (p.empty()) return;  // "", "!" or "/": git keeps them but they can never match
  const size_t literal = literal_length(p);
  if (p.find('/') == std::string_view::npos) {
    // No slash: matched against the basename, at any depth.
    if (literal == p.size()) {
      rule.kind = Rule::Kind::Literal;
      rule.pattern = std::string(p);
    } else if (p.front() == '*' && literal_length(p.substr(1)) == p.size() - 1) {
      rule.kind = Rule::Kind::EndsWith;
      rule.pattern = std::string(p.substr(1));
    } else {
      rule.kind = Rule::Kind::BasenameGlob;
      rule.pattern = std::string(p);
    }
  } else {
    // A slash anywhere but at the end anchors the pattern to its directory.
    rule.kind = Rule::Kind::PathGlob;
    size_t prefix = literal;
    if (p.front() == '/') {
      p.remove_prefix(1);
      prefix = prefix > 0 ? prefix - 1 : 0;
    }
    rule.pattern = std::string(p);
    rule.literal_prefix = static_cast<unsigned>(std::min(prefix, p.size()));
  }
  // Prefilters. A pattern ending in a plain character forces the path to end with it
  // (a class, a star or an escape at the end tells nothing, so no constraint is set).
  const std::string& pat = rule.pattern;
  auto plain = [](char c) { return !has_wildcard(c) && c != ']' && c != '/'; };
  if (rule.kind == Rule::Kind::PathGlob || rule.kind == Rule::Kind::BasenameGlob) {
    if (plain(pat.back()) && (pat.size() < 2 || pat[pat.size() - 2] != '\\')) rule.last_char = pat.back();
  } else if (!pat.empty()) {  // Literal, EndsWith ("*" alone leaves an empty suffix)
    rule.last_char = pat.back();
  }
  if (rule.kind == Rule::Kind::BasenameGlob || rule.kind == Rule::Kind::Literal) {
    if (plain(pat.front())) rule.first_char = pat.front();
  }
  out.push_back(std::move(rule));
}

std::vector<Rule> parse_gitignore(std::string_view content, const RuleFile* file) {
  std::vector<Rule> rules;
  for_each_line(content, [&](std::string_view line, int number) {
    add_gitignore_pattern(trim_trailing_spaces(line), number, file, rules);
  });
  return rules;
}

std::vector<Rule> parse_reloadignore(std::string_view content, const RuleFile* file, std::string* error) {
  std::vector<Rule> rules;
  for_each_line(content, [&](std::string_view line, int number) {
    line = trim_trailing_spaces(line);
    if (line.find_first_not_of(" \t") == std::string_view::npos) return;
    Rule rule;
    rule.kind = Rule::Kind::Regex;
    rule.text = std::string(line);
    rule.line = number;
    rule.file = file;
    if (line.front() == '!') {
      rule.negative = true;
      line.remove_prefix(1);
    }
    RE2::Options options;
    options.set_log_errors(false);
    auto re = std::make_shared<RE2>(re2::StringPiece(line.data(), line.size()), options);
    if (!re->ok()) {
      if (error && error->empty()) {
        *error = file->source + ":" + std::to_string(number) + ": invalid regular expression '" +
                 std::string(line) + "': " + re->error();
      }
      return;
    }
    rule.pattern = std::string(line);
    rule.regex = std::move(re);
    rules.push_back(std::move(rule));
  });
  return rules;
}

void RuleFile::set_rules(std::vector<Rule> new_rules) {
  rules = std::move(new_rules);
  for (auto& r : rules) r.file = this;
  buckets_.clear();
  bucket_of_.clear();
  if (rules.size() < 6) return;  // a plain loop is as fast
  std::vector<unsigned> unconstrained;
  bool constrained[256] = {};
  for (unsigned i = 0; i < rules.size(); ++i) {
    if (rules[i].last_char) constrained[static_cast<unsigned char>(rules[i].last_char)] = true;
    else unconstrained.push_back(i);
  }
  bucket_of_.assign(256, 0);
  buckets_.push_back(unconstrained);  // bucket 0: characters no rule ends with
  for (unsigned c = 0; c < 256; ++c) {
    if (!constrained[c] || buckets_.size() >= 255) continue;
    std::vector<unsigned> bucket;
    for (unsigned i = 0; i < rules.size(); ++i) {
      if (!rules[i].last_char || static_cast<unsigned char>(rules[i].last_char) == c) bucket.push_back(i);
    }
    bucket_of_[c] = static_cast<unsigned char>(buckets_.size());
    buckets_.push_back(std::move(bucket));
  }
}

const Rule* RuleFile::last_match(std::string_view rel, std::string_view basename, bool is_dir,
                                 std::string& scratch) const {
  if (bucket_of_.empty()) {
    for (auto it = rules.rbegin(); it != rules.rend(); ++it) {
      if (it->matches(rel, basename, is_dir, scratch)) return &*it;
    }
    return nullptr;
  }
  const auto& bucket = buckets_[bucket_of_[static_cast<unsigned char>(basename.back())]];
  for (auto it = bucket.rbegin(); it != bucket.rend(); ++it) {
    if (rules[*it].matches(rel, basename, is_dir, scratch)) return &rules[*it];
  }
  return nullptr;
}

bool Rule::matches(std::string_view rel, std::string_view basename, bool is_dir, std::string& scratch) const {
  if (must_be_dir && !is_dir) return false;
  if (last_char && basename.back() != last_char) return false;
  if (first_char && basename.front() != first_char) return false;
  switch (kind) {
    case Kind::Literal:
      return basename == pattern;
    case Kind::EndsWith:
      return basename.size() >= pattern.size() &&
             std::memcmp(basename.data() + basename.size() - pattern.size(), pattern.data(), pattern.size()) == 0;
    case Kind::BasenameGlob:
      return wildmatch(pattern.c_str(), basename, false);
    case Kind::PathGlob:
      // The literal head is compared directly, as git does, before the glob engine runs.
      if (literal_prefix) {
        if (rel.size() < literal_prefix || std::memcmp(rel.data(), pattern.data(), literal_prefix) != 0) return false;
        if (literal_prefix == pattern.size()) return rel.size() == pattern.size();
      }
      return wildmatch(pattern.c_str() + literal_prefix, rel.substr(literal_prefix), true);
    case Kind::Regex:
      if (is_dir) {
        scratch.assign(rel);
        scratch.push_back('/');
        return RE2::PartialMatch(scratch, *regex);
      }
      return RE2::PartialMatch(re2::StringPiece(rel.data(), rel.size()), *regex);
  }
  return false;
}

}  // namespace relive::ignore::detail
