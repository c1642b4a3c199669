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
  bool ready_timeout_given = false;
  // Everyday workflow (docs/run.md).
  std::string debounce;                    // --debounce/--delay: "" = the watcher's default
  bool postpone = false;                   // wait for the first change before the first start
  std::string workdir;                     // the command runs in DIR
  std::vector<std::string> env;            // -E KEY=VALUE, checked when parsed
  bool exit_on_crash = false;
  bool follow_symlinks = false;
  bool notify = false;                     // notify-send on a failed build
  bool no_stdin = false;                   // --no-stdin: the command inherits stdin; no `rs`
  // Things the user should know that are not errors (an -e entry that cannot match ...),
  // one line each, printed as "relive: LINE" before anything runs.
  std::vector<std::string> warnings;
};

// What the command line asked for.
struct ParsedArgs {
  RunOptions options;
  bool help = false;
  bool version = false;
  bool usage = false;            // bare `relive` (no command anywhere): print the usage, exit 2
  std::string config_file;       // the relive.toml that was read ("" if none), to follow edits
};

// Parses argv (argv[0] is the program). Reads ./relive.toml (or --config FILE) first; the
// command line overrides it. An Error is one line naming the option or the file:line:key.
// --burst-* values are checked here too (burst_options.hpp), so a bad one is an Error.
Result<ParsedArgs> parse_run_args(int argc, char** argv);

// Loads a relive.toml into `options` (keys as the long options: watch, exts, build, ...;
// the burst filter's as burst-keep, ... or as keep, ... in a [burst] table). Values are
// checked here: an Error is "FILE:LINE:COL: key: what is wrong".
Result<void> load_run_config(const std::string& path, RunOptions& options);

// -e/exts entries: each split at commas, trimmed, `py`, `.py` and `*.py` all mean `py`.
// An entry that cannot match a file's extension (`*`, `src/*.py`, `tar.gz`: only the last
// extension is compared) is dropped with a line in `warnings`; an Error when something was
// given and nothing usable is left (an empty filter would let every file through).
Result<std::vector<std::string>> normalize_exts(const std::vector<std::string>& given, const std::string& what,
                                                std::vector<std::string>& warnings);

// Every spelling of an option of `relive [OPTIONS] COMMAND` that takes a value as the next
// argument ("-w", "--watch", "--stop-mode", ...), derived from the one CLI11 declaration.
// It is what lets the command start without `--`. Any thread (built once).
const std::vector<std::string>& run_options_with_value();

// "5s", "500ms", "1.5s", "2m"; a bare number is seconds.
Result<std::chrono::milliseconds> parse_duration(const std::string& what, const std::string& text);
// "TERM", "SIGTERM", "term", "15".
Result<int> parse_signal(const std::string& what, const std::string& text);

extern const char* const kRunHelp;

}  // namespace relive::cli
