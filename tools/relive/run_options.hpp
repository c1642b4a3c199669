// Options of `relive [OPTIONS] -- COMMAND`: from relive.toml, then the command line.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "burst_options.hpp"
#include "relive/error.hpp"

namespace relive::cli {

struct RunOptions {
  std::vector<std::string> command;
  std::vector<std::string> watch;          // empty: "."
  std::vector<std::string> exts;
  std::vector<std::string> ignore;
  bool no_default_ignore = false;
  bool no_vcs_ignore = false;
  std::optional<int> poll_ms;
  std::string build;
  std::string on_busy_update = "queue";
  bool restart_on_exit = false;
  std::string stop_signal = "TERM";
  std::string stop_timeout = "5s";
  std::string stop_mode = "mixed";  // --stop-mode: supervisor::parse_stop_mode
  bool shell = false;
  bool quiet = false;
  bool clear = false;
  std::string json_events;
  bool burst = false;
  // --burst-keep, --burst-max-age, ... (each implies --burst); checked when parsed.
  BurstSettings burst_settings;
  // Zero downtime (docs/zero-downtime.md).
  std::vector<std::string> sockets;        // --socket, repeatable
  bool graceful = false;
  std::string ready;                       // "" = notify
  std::string ready_timeout = "30s";
};

// What the command line asked for.
struct ParsedArgs {
  RunOptions options;
  bool help = false;
  bool version = false;
};

// Parses argv (argv[0] is the program). Reads ./relive.toml (or --config FILE) first; the
// command line overrides it. An Error is one line naming the option or the file:line:key.
// --burst-* values are checked here too (burst_options.hpp), so a bad one is an Error.
Result<ParsedArgs> parse_run_args(int argc, char** argv);

// Loads a relive.toml into `options` (keys as the long options: watch, exts, build, ...;
// the burst filter's as burst-keep, ... or as keep, ... in a [burst] table). Values are
// checked here: an Error is "FILE:LINE:COL: key: what is wrong".
Result<void> load_run_config(const std::string& path, RunOptions& options);

// "5s", "500ms", "1.5s", "2m"; a bare number is seconds.
Result<std::chrono::milliseconds> parse_duration(const std::string& what, const std::string& text);
// "TERM", "SIGTERM", "term", "15".
Result<int> parse_signal(const std::string& what, const std::string& text);

extern const char* const kRunHelp;

}  // namespace relive::cli
