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

// The filter's options as text, before checking; the defaults are the filter's own.
struct BurstSettings {
  std::string keep = "512";
  std::string max_age = "60s";
  std::string pass_level = "info";
  std::string trigger_level = "error";
  std::vector<std::string> level_regexes;

  // Checks every field; `flag_prefix` + the field's name ("keep", "max-age", "pass-level",
  // "trigger-level", "level-regex") is how an error names it: "--" for `relive burst`,
  // "--burst-" for the run command. The first bad field is the Error.
  Result<burst::FilterOptions> to_filter_options(const std::string& flag_prefix) const;
};

}  // namespace relive::cli
