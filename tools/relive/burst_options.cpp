// Checking the burst filter's options, shared by `relive burst` and `relive --burst`.
#include "burst_options.hpp"

#include <charconv>

#include "relive/config.hpp"

namespace relive::cli {

Result<size_t> parse_burst_keep(const std::string& what, const std::string& text) {
  size_t n = 0;
  auto [rest, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc() || rest != text.data() + text.size()) {
    return Error{what + " '" + text + "': expected a number of messages (0 or more)"};
  }
  return n;
}

// Same rules as durations in configuration files: "60s", "500ms", "2m", "1.5s"; a bare
// number is seconds.
Result<std::chrono::milliseconds> parse_burst_max_age(const std::string& what, const std::string& text) {
  auto d = config::parse_duration(text);
  if (!d) return Error{what + " '" + text + "': expected a duration such as 60s, 500ms, 2m or 1h"};
  return std::chrono::duration_cast<std::chrono::milliseconds>(*d);
}

Result<burst::Level> parse_burst_level(const std::string& what, const std::string& text) {
  if (auto level = burst::parse_level(text)) return *level;
  return Error{what + " '" + text + "': expected trace, debug, info, warn, error, critical or off"};
}

Result<void> check_burst_level_regex(const std::string& what, const std::string& regex) {
  burst::FilterOptions options;
  options.level_regexes = {regex};
  auto filter = burst::LineFilter::create(std::move(options), [](std::string_view) {});
  if (filter) return {};
  // The filter names the regex as `relive burst` spells the option; say it as given.
  std::string message = filter.error().message;
  constexpr std::string_view kFilterSpelling = "--level-regex";
  if (message.starts_with(kFilterSpelling)) return Error{message.replace(0, kFilterSpelling.size(), what)};
  return Error{what + " '" + regex + "': " + message};
}

Result<size_t> parse_burst_size(const std::string& what, const std::string& text) {
  size_t n = 0;
  auto [rest, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  const std::string_view unit(rest, static_cast<size_t>(text.data() + text.size() - rest));
  size_t shift = 0;
  if (unit == "k" || unit == "K") {
    shift = 10;
  } else if (unit == "m" || unit == "M") {
    shift = 20;
  } else if (unit == "g" || unit == "G") {
    shift = 30;
  } else if (!unit.empty()) {
    ec = std::errc::invalid_argument;
  }
  if (text.empty() || ec != std::errc() || rest == text.data() || (shift != 0 && n > (SIZE_MAX >> shift))) {
    return Error{what + " '" + text + "': expected a size such as 4096, 64k, 16M or 1G"};
  }
  return n << shift;
}

Result<AfterTrigger> parse_burst_after_trigger(const std::string& what, const std::string& text) {
  AfterTrigger after;
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos) {
    auto lines = parse_burst_keep(what, text);
    if (!lines) return Error{what + " '" + text + "': expected a number of lines (20) or a duration (5s)"};
    after.lines = *lines;
    return after;
  }
  auto d = config::parse_duration(text);
  if (!d) return Error{what + " '" + text + "': expected a number of lines (20) or a duration (5s)"};
  after.time = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
  return after;
}

Result<burst::FlushAtEnd> parse_burst_flush_at_end(const std::string& what, const std::string& text) {
  if (text == "failure") return burst::FlushAtEnd::failure;
  if (text == "always") return burst::FlushAtEnd::always;
  if (text == "never") return burst::FlushAtEnd::never;
  return Error{what + " '" + text + "': expected failure, always or never"};
}

Result<burst::FilterOptions> BurstSettings::to_filter_options(const std::string& flag_prefix) const {
  burst::FilterOptions options;
  auto keep_n = parse_burst_keep(flag_prefix + "keep", keep);
  if (!keep_n) return keep_n.error();
  auto age = parse_burst_max_age(flag_prefix + "max-age", max_age);
  if (!age) return age.error();
  auto pass = parse_burst_level(flag_prefix + "pass-level", pass_level);
  if (!pass) return pass.error();
  auto trigger = parse_burst_level(flag_prefix + "trigger-level", trigger_level);
  if (!trigger) return trigger.error();
  for (const auto& regex : level_regexes) {
    if (auto r = check_burst_level_regex(flag_prefix + "level-regex", regex); !r) return r.error();
  }
  auto bytes = parse_burst_size(flag_prefix + "max-bytes", max_bytes);
  if (!bytes) return bytes.error();
  auto memory = parse_burst_size(flag_prefix + "max-memory", max_memory);
  if (!memory) return memory.error();
  auto after = parse_burst_after_trigger(flag_prefix + "after-trigger", after_trigger);
  if (!after) return after.error();
  auto flush = parse_burst_flush_at_end(flag_prefix + "flush-on-exit", flush_on_exit);
  if (!flush) return flush.error();
  if (!key_regex.empty() && !key_field.empty()) {
    return Error{flag_prefix + "key and " + flag_prefix + "key-regex: give one of them"};
  }
  options.max_bytes = *bytes;
  options.max_memory = *memory;
  options.after_trigger_lines = after->lines;
  options.after_trigger_for = after->time;
  options.flush_at_end = *flush;
  options.key_regex = key_regex;
  options.key_field = key_field;
  options.no_trigger_regexes = no_trigger_regexes;
  // The regexes are compiled by the filter, which names them by the `relive burst` option.
  {
    burst::FilterOptions probe;
    probe.key_regex = key_regex;
    probe.no_trigger_regexes = no_trigger_regexes;
    auto filter = burst::LineFilter::create(std::move(probe), [](std::string_view) {});
    if (!filter) {
      std::string message = filter.error().message;
      if (message.starts_with("--")) message.replace(0, 2, flag_prefix);
      return Error{message};
    }
  }
  options.keep = *keep_n;
  options.max_age = *age;
  options.pass_level = *pass;
  options.trigger_level = *trigger;
  options.level_regexes = level_regexes;
  return options;
}

}  // namespace relive::cli
