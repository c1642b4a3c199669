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
  options.keep = *keep_n;
  options.max_age = *age;
  options.pass_level = *pass;
  options.trigger_level = *trigger;
  options.level_regexes = level_regexes;
  return options;
}

}  // namespace relive::cli
