// The burst line filter's options as the user writes them, checked in one place for both
// commands that take them: `relive burst --keep N ...` and `relive --burst-keep N -- CMD`
// (and relive.toml's burst keys). Each check names the option (or file:line:col: key) it
// was given, so both commands print the same one-line error and exit 2.
//
// Example:
//   BurstSettings s;                  // defaults: keep 512, max-age 60s, info, error
//   s.keep = "2";
//   auto options = s.to_filter_options("--burst-");
//   if (!options) { fmt::print(stderr, "relive: {}\n", options.error().message); return 2; }
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "relive/burst_filter.hpp"
#include "relive/error.hpp"

namespace relive::cli {

// Each check returns the value or an Error "<what> '<text>': expected ...".
Result<size_t> parse_burst_keep(const std::string& what, const std::string& text);
Result<std::chrono::milliseconds> parse_burst_max_age(const std::string& what, const std::string& text);
Result<burst::Level> parse_burst_level(const std::string& what, const std::string& text);
// Compiles `regex` as the filter would; an Error "<what> '<regex>': <reason>" otherwise.
Result<void> check_burst_level_regex(const std::string& what, const std::string& regex);
// A size in bytes: "4096", "64k", "64K", "16M", "1G" (binary units).
Result<size_t> parse_burst_size(const std::string& what, const std::string& text);
// --after-trigger: a bare number of lines ("20") or a duration ("5s", "500ms").
struct AfterTrigger {
  size_t lines = 0;
  std::chrono::milliseconds time{0};
};
Result<AfterTrigger> parse_burst_after_trigger(const std::string& what, const std::string& text);
// --flush-on-exit: failure (the default), always, never.
Result<burst::FlushAtEnd> parse_burst_flush_at_end(const std::string& what, const std::string& text);

// The filter's options as text, before checking; the defaults are the filter's own.
struct BurstSettings {
  std::string keep = "512";
  std::string max_age = "60s";
  std::string pass_level = "info";
  std::string trigger_level = "error";
  std::vector<std::string> level_regexes;
  // `relive burst` only (the run command keeps the defaults):
  std::string max_bytes = "64M";
  std::string max_memory = "256M";
  std::string key_regex;
  std::string key_field;
  std::string after_trigger = "0";
  std::string flush_on_exit = "failure";
  std::vector<std::string> no_trigger_regexes;

  // Checks every field; `flag_prefix` + the field's name ("keep", "max-age", "pass-level",
  // "trigger-level", "level-regex", "max-bytes", "key-regex", ...) is how an error names it: "--" for `relive burst`,
  // "--burst-" for the run command. The first bad field is the Error.
  Result<burst::FilterOptions> to_filter_options(const std::string& flag_prefix) const;
};

}  // namespace relive::cli
