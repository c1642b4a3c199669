// Internal to the burst line filter: finding the level of one log line with the built-in
// presets (hand-written scanners that look at a few fixed positions; no regex), and
// parsing level text ("debug", "W", "30") as users' own regexes capture it.
// docs/burst-filter.md lists every accepted form; tests/burst/test_presets.cpp shows
// each on real samples.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "relive/burst_level.hpp"

namespace relive::burst::line_internal {

// The level of `line` (without its newline) by the presets, tried in this order, each
// selected by the line's first byte: syslog `<N>`; JSON lines; spdlog / Maven / env_logger
// bracket groups; a timestamp then a level (Python asctime formats, log4j, loguru...);
// glog; Ruby Logger; a level word opening the line (Python's default `LEVEL:name:msg`);
// and last logfmt `level=...` anywhere. nullopt: no recognisable level.
std::optional<Level> detect_preset_level(std::string_view line);

// A level name as log libraries write it, any case: trace, verbose, debug, dbug, info,
// information, notice, warn, warning, error, err, eror (log15), critical, crit, fatal, alert, emerg,
// emergency, panic, dpanic, severe. Surrounding spaces ignored.
std::optional<Level> parse_level_name(std::string_view text);

// A numeric level: 0-7 are syslog severities (7 debug, 6 info, 5 notice→info, 4 warning,
// 3 err, 0-2 → critical); 10-60 are bunyan/pino (10 trace, 20 debug, 30 info, 40 warn,
// 50 error, 60 fatal). Anything else: nullopt.
std::optional<Level> parse_level_number(int64_t n);

// What a user's --level-regex may capture: a name, a single letter (T, V, D, I, N, W, E,
// F, C) or a number. nullopt when it is none of them.
std::optional<Level> parse_level_text(std::string_view text);

}  // namespace relive::burst::line_internal
