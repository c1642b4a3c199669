// Parsing `relive [OPTIONS] -- COMMAND`: relive.toml first, the command line over it.
#include "run_options.hpp"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <toml++/toml.h>

#include <fmt/format.h>

#include "relive/config.hpp"

namespace relive::cli {

const char* const kRunHelp = R"(relive — restart a program whenever its files change

Usage: relive [OPTIONS] [--] COMMAND [ARGS...]

Starts COMMAND at once (directly, no shell unless --shell), in its own process group, and
restarts it when a watched file changes: the whole process tree is stopped (the stop
signal, then SIGKILL after the stop timeout; double-forked daemons included) and every
process of it has exited before the command starts again. The `--` is needed only when
the command's first word starts with `-`: without it, the first argument that is not an
option or an option's value starts the command, and everything after it is the command's.

Watching:
  -w, --watch PATH          watch PATH (repeatable; default: .)
  -e, --exts LIST           only files with these extensions count: py,toml or .py or *.py
                            (repeatable; an entry that cannot match is reported)
  -i, --ignore GLOB         ignore paths matching GLOB (gitignore syntax; repeatable)
      --no-default-ignore   do not ignore .git/, __pycache__/, node_modules/, .venv/,
                            venv/, target/, .tox/, .mypy_cache/, .pytest_cache/, editors'
                            swap files, ...
      --no-vcs-ignore       do not read .gitignore files (.reloadignore still applies)
      --poll[=MS], --poll MS
                            poll every MS milliseconds (default 500) instead of inotify
      --follow-symlinks     also watch directories that symlinks inside the tree point to
      --debounce TIME, --delay TIME
                            wait until no change came for TIME before restarting (e.g.
                            300ms: a format-on-save that writes twice is one restart)
Running:
      --build CMD           run CMD (through sh -c) before each (re)start; if it fails, the
                            running program keeps running and relive waits for a change
      --on-busy-update MODE what a change does during a build or a stop: queue (default:
                            one more run afterwards), restart, do-nothing, signal
      --restart-on-exit     restart the command when it exits by itself (backoff 0.5 s
                            doubling to 8 s; reset after 10 s of uptime)
      --exit-on-crash       when the command fails (non-zero status or a signal), stop
                            and exit with its status (for CI-like use)
      --postpone            start nothing (no build either) until the first change
      --workdir DIR         run the command in DIR (a relative program path such as
                            ./run.sh is relative to DIR too; the build runs here)
  -E, --env KEY=VALUE       set KEY in the command's environment (repeatable)
      --stop-signal SIG     signal that asks the command to stop (default: TERM)
      --stop-timeout TIME   then SIGKILL after TIME (default: 5s; e.g. 500ms, 2s)
      --stop-mode MODE      who gets the stop signal: mixed (default: the main process,
                            the rest of its tree once it has exited), group (all at once),
                            main (the main process; the rest only SIGKILL after TIME)
      --shell               run COMMAND through /bin/sh -c
      --no-stdin            do not read stdin: the command inherits it as it is (and a
                            command reading the terminal is stopped, SIGTTIN); no `rs`
      --burst               filter the command's output: debug lines are held back and
                            written only when an error follows (see `relive burst --help`)
      --burst-keep N        most debug messages held back (default 512)
      --burst-max-age TIME  drop held messages older than TIME (default 60s)
      --burst-pass-level L  write lines at or above level L at once (default info)
      --burst-trigger-level L
                            lines at or above L write the held ones first (default error)
      --burst-level-regex RE
                            RE2 regex whose group (?P<level>...) gives a line's level;
                            tried before the presets; repeatable.
                            Each --burst-* option implies --burst
Zero downtime (docs/zero-downtime.md):
      --socket SPEC         bind SPEC once and hand it to every start of the command
                            (fd 3, 4, ...; LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES as
                            systemd does): 8080 (= tcp:127.0.0.1:8080), tcp:0.0.0.0:80,
                            tcp:[::1]:8080, udp:HOST:PORT, unix:/path; repeatable.
                            Connections wait in the backlog during a restart
      --graceful            overlapped restart: start the new command while the old one
                            serves; stop the old one once the new one is ready. If the new
                            one exits or is not ready in time, it is stopped and the old
                            one keeps running. Without --socket, both must be able to bind
                            their port at once (relive warns)
      --ready CHECK         how readiness is known: notify (default: READY=1 on
                            $NOTIFY_SOCKET), tcp:PORT, http://HOST:PORT/PATH (2xx),
                            delay:MS. Probe a port only the new process answers.
                            Needs --graceful
      --ready-timeout TIME  how long to wait for readiness (default: 30s; needs --graceful)
Output:
  -q, --quiet               no status lines from relive (errors are still shown)
      --clear               clear the screen before each restart
      --json-events FILE    one JSON line per event (changes, restart_requested,
                            build_start, build_end, start, stop, exit) to FILE, or -
                            for stdout
      --notify              a desktop notification (notify-send, when installed) when a
                            build fails
      --config FILE         read options from FILE instead of ./relive.toml
      --no-config           do not read ./relive.toml
  -h, --help                this help
  -V, --version             relive's version

Input: what you type reaches the command (its stdin is a pipe fed by relive, so
input(), pdb and gdb prompts work; the terminal echoes and edits lines as usual), and a
line `rs` alone restarts it by hand. Ctrl-C stops everything and exits. Ctrl-D ends the
running command's input; stdin that is not a terminal (a file, a pipe) is passed on the
same way, and once it ends every start sees EOF.

relive starts with one line saying what it watches (roots, how many directories), which
ignore rules apply and what it runs. Files relive itself writes — --json-events, and its
stdout and stderr when redirected into the tree (`relive app > out.log`) — never count.

relive.toml (in the current directory) holds the same options under the same names,
plus `command`; the command line overrides it. An edit to it while relive runs restarts
relive with the new options (an edit that is not valid is reported and changes nothing):
  command = ["python3", "app.py"]
  watch = ["src", "config"]
  exts = ["py", "toml"]
  build = "make"
  stop-timeout = "2s"
  debounce = "300ms"
  env = { APP_ENV = "dev" }
  [burst]                   # the --burst-* options; the table implies burst = true
  keep = 100
  trigger-level = "warn"

The command gets RELIVE_CHANGED_PATHS: the changed paths, one a line, relative to the
watched directory. Ctrl-C stops the whole tree and exits (130; SIGTERM 143, SIGHUP 129;
or the command's own exit status when it exits with one). Exit status 2: bad options
(bare `relive` prints this help and exits 2); 127: command not found.

Examples:
  relive -- python3 app.py
  relive python3 app.py                     (the same: no option follows the command)
  relive -e go -- go run .
  relive --build 'cmake --build build' -w src -- build/server --port 8080
  relive -w src -i '*.log' --restart-on-exit -- node server.js
  relive --json-events events.jsonl -q -- ./run-tests.sh
  relive --socket 8080 --graceful -w src -- build/server
  relive --debounce 300ms --workdir web -E PORT=8000 -- python3 -m http.server
)";

// Same duration rules as configuration files: "5s", "500ms", "1m30s"; a bare number is seconds.
Result<std::vector<std::string>> normalize_exts(const std::vector<std::string>& given, const std::string& what,
                                                std::vector<std::string>& warnings) {
  std::vector<std::string> out;
  bool any_given = false;
  for (const auto& item : given) {
    size_t start = 0;
    for (;;) {
      size_t comma = item.find(',', start);
      std::string part = item.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      start = comma + 1;
      auto first = part.find_first_not_of(" \t");
      auto last = part.find_last_not_of(" \t");
      part = first == std::string::npos ? "" : part.substr(first, last - first + 1);
      std::string ext = part;
      if (ext.rfind("*.", 0) == 0) ext = ext.substr(2);
      else if (!ext.empty() && ext[0] == '.') ext = ext.substr(1);
      if (!part.empty()) {
        any_given = true;
        if (ext.empty() || ext.find_first_of("/*?[] \t.") != std::string::npos) {
          std::string why = ext.find('.') != std::string::npos && ext.find_first_of("/*?[] \t") == std::string::npos
                                ? fmt::format("only the last extension is compared (use {})", ext.substr(ext.rfind('.') + 1))
                                : "an extension is what follows a file name's last dot, e.g. py";
          warnings.push_back(fmt::format("{}: \"{}\" cannot match any file ({}); ignored", what, part, why));
        } else if (std::find(out.begin(), out.end(), ext) == out.end()) {
          out.push_back(ext);
        }
      }
      if (comma == std::string::npos) break;
    }
  }
  if (any_given && out.empty()) return Error{fmt::format("{}: no usable extension (e.g. -e py,toml)", what)};
  return out;
}

Result<std::chrono::milliseconds> parse_duration(const std::string& what, const std::string& text) {
  auto d = config::parse_duration(text);
  if (!d) return Error{fmt::format("{}: expected a duration such as 5s or 500ms, got \"{}\"", what, text)};
  return std::chrono::duration_cast<std::chrono::milliseconds>(*d);
}

Result<int> parse_signal(const std::string& what, const std::string& text) {
  int number = 0;
  auto [rest, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec == std::errc() && rest == text.data() + text.size() && number > 0 && number < NSIG) return number;
  std::string name = text;
  for (auto& c : name) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
  if (name.rfind("SIG", 0) == 0) name = name.substr(3);
  for (int sig = 1; sig < NSIG; ++sig) {
    const char* abbrev = sigabbrev_np(sig);
    if (abbrev && name == abbrev) return sig;
  }
  return Error{fmt::format("{}: unknown signal \"{}\"", what, text)};
}

namespace {

// -E KEY=VALUE: a name that the environment can hold.
Result<void> check_env_entry(const std::string& what, const std::string& entry) {
  auto eq = entry.find('=');
  if (eq == std::string::npos || eq == 0) return Error{fmt::format("{}: expected KEY=VALUE, got \"{}\"", what, entry)};
  return {};
}

// A burst filter key: `burst-keep` etc. at the top level, or `keep` etc. in a [burst]
// table (`shown_prefix` "burst." then, so errors name the key as burst.keep). Checked now,
// with the same checks as the --burst-* options.
Result<void> read_burst_key(const std::string& file, const toml::key& key, const std::string& shown_prefix,
                            const toml::node& value, RunOptions& o) {
  const auto& src = key.source();
  auto where = fmt::format("{}:{}:{}: {}{}", file, src.begin.line, src.begin.column, shown_prefix, key.str());
  std::string k(key.str());
  for (auto& c : k) {
    if (c == '_') c = '-';
  }
  if (k.starts_with("burst-")) k = k.substr(6);
  BurstSettings& b = o.burst_settings;
  auto want_string = [&](std::string& out) -> Result<void> {
    if (auto s = value.value_exact<std::string>()) {
      out = *s;
      return {};
    }
    return Error{where + ": expected a string"};
  };
  if (k == "keep") {
    if (auto n = value.value_exact<int64_t>(); n && *n >= 0) {
      b.keep = std::to_string(*n);
    } else if (value.is_string()) {
      b.keep = *value.value_exact<std::string>();
      if (auto parsed = parse_burst_keep(where, b.keep); !parsed) return parsed.error();
    } else {
      return Error{where + ": expected a number of messages (0 or more)"};
    }
  } else if (k == "max-age") {
    if (auto n = value.value<double>(); n && !value.is_string()) {
      b.max_age = fmt::format("{}s", *n);
    } else if (auto r = want_string(b.max_age); !r) {
      return r;
    }
    if (auto d = parse_burst_max_age(where, b.max_age); !d) return d.error();
  } else if (k == "pass-level" || k == "trigger-level") {
    std::string& text = k == "pass-level" ? b.pass_level : b.trigger_level;
    if (auto r = want_string(text); !r) return r;
    if (auto l = parse_burst_level(where, text); !l) return l.error();
  } else if (k == "level-regex" || k == "level-regexes") {
    b.level_regexes.clear();
    if (auto s = value.value_exact<std::string>()) {
      b.level_regexes.push_back(*s);
    } else if (const auto* arr = value.as_array()) {
      for (const auto& item : *arr) {
        auto regex = item.value_exact<std::string>();
        if (!regex) return Error{where + ": expected a list of strings"};
        b.level_regexes.push_back(*regex);
      }
    } else {
      return Error{where + ": expected a string or a list of strings"};
    }
    for (const auto& regex : b.level_regexes) {
      if (auto r = check_burst_level_regex(where, regex); !r) return r;
    }
  } else {
    return Error{fmt::format("{}:{}:{}: unknown key `{}{}`", file, src.begin.line, src.begin.column, shown_prefix, key.str())};
  }
  o.burst = true;
  return {};
}

// Keys of relive.toml, as the long options.
Result<void> read_key(const std::string& file, const toml::key& key, const toml::node& value, RunOptions& o) {
  const auto& src = key.source();
  auto where = fmt::format("{}:{}:{}: {}", file, src.begin.line, src.begin.column, key.str());
  auto want_string = [&](std::string& out) -> Result<void> {
    if (auto s = value.value<std::string>()) {
      out = *s;
      return {};
    }
    return Error{where + ": expected a string"};
  };
  auto want_bool = [&](bool& out) -> Result<void> {
    if (auto b = value.value<bool>()) {
      out = *b;
      return {};
    }
    return Error{where + ": expected true or false"};
  };
  // A list of strings, or one string (for exts also "py,toml").
  auto want_list = [&](std::vector<std::string>& out, bool comma_split) -> Result<void> {
    out.clear();
    if (auto s = value.value<std::string>()) {
      out.push_back(*s);
    } else if (const auto* arr = value.as_array()) {
      for (const auto& item : *arr) {
        auto entry = item.value<std::string>();
        if (!entry) return Error{where + ": expected a list of strings"};
        out.push_back(*entry);
      }
    } else {
      return Error{where + ": expected a string or a list of strings"};
    }
    if (comma_split) {
      auto exts = normalize_exts(out, where, o.warnings);
      if (!exts) return exts.error();
      out = *exts;
    }
    return {};
  };
  std::string k(key.str());
  for (auto& c : k) {
    if (c == '_') c = '-';
  }
  if (k == "command") {
    if (auto s = value.value<std::string>()) {
      if (s->find_first_not_of(" \t") == std::string::npos) return Error{where + ": empty command; give a command line, e.g. command = \"python3 app.py\""};
      o.command = {*s};
      o.shell = true;  // one string: a shell command line
      return {};
    }
    if (auto r = want_list(o.command, false); !r) return r;
    if (o.command.empty() || o.command[0].empty()) {
      return Error{where + ": empty command; give the program and its arguments, e.g. command = [\"python3\", \"app.py\"]"};
    }
    return {};
  }
  if (k == "watch") return want_list(o.watch, false);
  if (k == "exts") return want_list(o.exts, true);
  if (k == "ignore") return want_list(o.ignore, false);
  if (k == "no-default-ignore") return want_bool(o.no_default_ignore);
  if (k == "no-vcs-ignore") return want_bool(o.no_vcs_ignore);
  if (k == "poll") {
    if (auto b = value.value_exact<bool>()) {
      o.poll_ms = *b ? std::optional<int>(500) : std::nullopt;
      return {};
    }
    if (auto n = value.value_exact<int64_t>(); n && *n > 0) {
      o.poll_ms = static_cast<int>(*n);
      return {};
    }
    return Error{where + ": expected true, false or a number of milliseconds"};
  }
  if (k == "build") return want_string(o.build);
  if (k == "on-busy-update") return want_string(o.on_busy_update);
  if (k == "restart-on-exit") return want_bool(o.restart_on_exit);
  if (k == "stop-signal") {
    if (auto n = value.value_exact<int64_t>()) {
      o.stop_signal = std::to_string(*n);
      return {};
    }
    return want_string(o.stop_signal);
  }
  if (k == "stop-mode") return want_string(o.stop_mode);
  if (k == "stop-timeout") {
    if (auto n = value.value<double>(); n && !value.is_string()) {
      o.stop_timeout = fmt::format("{}s", *n);
      return {};
    }
    return want_string(o.stop_timeout);
  }
  if (k == "shell") return want_bool(o.shell);
  if (k == "quiet") return want_bool(o.quiet);
  if (k == "clear") return want_bool(o.clear);
  if (k == "json-events") return want_string(o.json_events);
  if (k == "burst") {
    if (const auto* table = value.as_table()) {
      // [burst] keep = 100, ...: the --burst-* options without their prefix.
      o.burst = true;
      for (const auto& [sub_key, sub_value] : *table) {
        auto r = read_burst_key(file, sub_key, "burst.", sub_value, o);
        if (!r) return r;
      }
      return {};
    }
    return want_bool(o.burst);
  }
  if (k.starts_with("burst-")) return read_burst_key(file, key, "", value, o);
  if (k == "socket" || k == "sockets") return want_list(o.sockets, false);
  if (k == "graceful") return want_bool(o.graceful);
  if (k == "ready") return want_string(o.ready);
  auto want_duration = [&](std::string& out) -> Result<void> {
    if (auto n = value.value<double>(); n && !value.is_string()) {
      out = fmt::format("{}s", *n);
    } else if (auto r = want_string(out); !r) {
      return r;
    }
    if (auto d = parse_duration(where, out); !d) return d.error();
    return {};
  };
  if (k == "ready-timeout") {
    o.ready_timeout_given = true;
    return want_duration(o.ready_timeout);
  }
  if (k == "debounce" || k == "delay") return want_duration(o.debounce);
  if (k == "postpone") return want_bool(o.postpone);
  if (k == "no-stdin") return want_bool(o.no_stdin);
  if (k == "workdir") return want_string(o.workdir);
  if (k == "env") {
    // env = { KEY = "value" } or env = ["KEY=value"]
    o.env.clear();
    if (const auto* t = value.as_table()) {
      for (const auto& [name, v] : *t) {
        auto text = v.value<std::string>();
        if (!text) return Error{fmt::format("{}.{}: expected a string", where, name.str())};
        o.env.push_back(fmt::format("{}={}", name.str(), *text));
      }
    } else if (auto r = want_list(o.env, false); !r) {
      return Error{where + ": expected a table (env = { KEY = \"value\" }) or a list of \"KEY=value\""};
    }
    for (const auto& e : o.env) {
      if (auto c = check_env_entry(where, e); !c) return c;
    }
    return {};
  }
  if (k == "exit-on-crash") return want_bool(o.exit_on_crash);
  if (k == "follow-symlinks") return want_bool(o.follow_symlinks);
  if (k == "notify") return want_bool(o.notify);
  return Error{fmt::format("{}:{}:{}: unknown key `{}`", file, src.begin.line, src.begin.column, key.str())};
}

}  // namespace

Result<void> load_run_config(const std::string& path, RunOptions& options) {
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    const auto& src = e.source();
    return Error{fmt::format("{}:{}:{}: {}", path, src.begin.line, src.begin.column, e.description())};
  }
  for (const auto& [key, value] : table) {
    auto r = read_key(path, key, value, options);
    if (!r) return r;
  }
  // Validate values now so a bad file is reported with its name.
  if (auto d = parse_duration(path + ": stop-timeout", options.stop_timeout); !d) return d.error();
  if (auto d = parse_duration(path + ": ready-timeout", options.ready_timeout); !d) return d.error();
  if (auto s = parse_signal(path + ": stop-signal", options.stop_signal); !s) return s.error();
  return {};
}

namespace {

// What the command line's options are read into besides RunOptions' own fields (applied
// over relive.toml's values after parsing), and the options whose presence matters.
struct CliTargets {
  std::vector<std::string> watch, exts, ignore, env, level_regexes, sockets;
  const CLI::Option* burst_options[5] = {};
  const CLI::Option* ready_option = nullptr;
  const CLI::Option* ready_timeout_option = nullptr;
};

// The one declaration of relive's options parsed by CLI11 (--config, --no-config and
// --poll are read by hand before, in parse_run_args). takes_value() is derived from it.
void declare_run_options(CLI::App& app, RunOptions& o, bool& version, CliTargets& t) {
  app.set_help_flag();  // handled before, with our own text
  // Each occurrence takes exactly one value (`-i 'src/' x` must not take x too).
  auto one_each = [](CLI::Option* opt) { opt->allow_extra_args(false); };
  one_each(app.add_option("-w,--watch", t.watch));
  one_each(app.add_option("-e,--exts", t.exts));
  one_each(app.add_option("-i,--ignore", t.ignore));
  one_each(app.add_option("-E,--env", t.env));
  app.add_flag("--no-default-ignore", o.no_default_ignore);
  app.add_flag("--no-vcs-ignore", o.no_vcs_ignore);
  app.add_option("--build", o.build);
  app.add_option("--on-busy-update", o.on_busy_update);
  app.add_flag("--restart-on-exit", o.restart_on_exit);
  app.add_option("--stop-signal", o.stop_signal);
  app.add_option("--stop-timeout", o.stop_timeout);
  app.add_option("--stop-mode", o.stop_mode);
  app.add_flag("--shell", o.shell);
  app.add_flag("-q,--quiet", o.quiet);
  app.add_flag("--clear", o.clear);
  app.add_option("--json-events", o.json_events);
  app.add_flag("--burst", o.burst);
  BurstSettings& burst = o.burst_settings;
  t.burst_options[0] = app.add_option("--burst-keep", burst.keep);
  t.burst_options[1] = app.add_option("--burst-max-age", burst.max_age);
  t.burst_options[2] = app.add_option("--burst-pass-level", burst.pass_level);
  t.burst_options[3] = app.add_option("--burst-trigger-level", burst.trigger_level);
  t.burst_options[4] = app.add_option("--burst-level-regex", t.level_regexes)->allow_extra_args(false);
  one_each(app.add_option("--socket", t.sockets));
  app.add_flag("--graceful", o.graceful);
  t.ready_option = app.add_option("--ready", o.ready);
  t.ready_timeout_option = app.add_option("--ready-timeout", o.ready_timeout);
  app.add_option("--debounce,--delay", o.debounce);
  app.add_flag("--postpone", o.postpone);
  app.add_option("--workdir", o.workdir);
  app.add_flag("--exit-on-crash", o.exit_on_crash);
  app.add_flag("--follow-symlinks", o.follow_symlinks);
  app.add_flag("--notify", o.notify);
  app.add_flag("--no-stdin", o.no_stdin);
  app.add_flag("-V,--version", version);
}

}  // namespace

const std::vector<std::string>& run_options_with_value() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out{"--config"};  // read by hand before CLI11 (--poll's value is optional)
    CLI::App app{"relive"};
    RunOptions o;
    bool version = false;
    CliTargets t;
    declare_run_options(app, o, version, t);
    for (const CLI::Option* option : app.get_options()) {
      if (option->get_expected_max() == 0) continue;  // a flag (CLI11 expects no value)
      for (const auto& n : option->get_snames()) out.push_back("-" + n);
      for (const auto& n : option->get_lnames()) out.push_back("--" + n);
    }
    return out;
  }();
  return names;
}

namespace {

// Options of relive's that take a value as the next argument (`--watch src`); the rest
// are flags. This is what lets the command start without `--`: the first argument that is
// neither an option nor an option's value begins it.
bool takes_value(const std::string& a) {
  const auto& names = run_options_with_value();
  return std::find(names.begin(), names.end(), a) != names.end();
}

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

}  // namespace

Result<ParsedArgs> parse_run_args(int argc, char** argv) {
  ParsedArgs parsed;
  RunOptions& o = parsed.options;
  // Split relive's options from the command: at the first "--", or (without one) at the
  // first argument that is neither an option nor the value of one (`relive -w src python3
  // app.py -v`: the command is `python3 app.py -v`; everything after it is the command's).
  std::vector<std::string> args;
  std::vector<std::string> command;
  bool have_separator = false;
  bool have_command = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") {
      have_separator = true;
      for (int j = i + 1; j < argc; ++j) command.emplace_back(argv[j]);
      break;
    }
    if (a.size() > 1 && a[0] == '-') {
      args.push_back(a);
      if (i + 1 < argc && (takes_value(a) || (a == "--poll" && all_digits(argv[i + 1])))) args.emplace_back(argv[++i]);
      continue;
    }
    have_command = true;
    for (int j = i; j < argc; ++j) command.emplace_back(argv[j]);
    break;
  }
  have_command = have_command || have_separator;
  for (const auto& a : args) {
    if (a == "-h" || a == "--help") {
      parsed.help = true;
      return parsed;
    }
  }

  // The config file is read before the command line, which overrides it.
  std::string config_path = "relive.toml";
  bool config_explicit = false;
  bool no_config = false;
  std::optional<int> poll_flag;
  bool poll_given = false;
  std::vector<std::string> rest;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--no-config") {
      no_config = true;
    } else if (a == "--config" || a.rfind("--config=", 0) == 0) {
      if (a == "--config") {
        if (i + 1 >= args.size()) return Error{"--config: expected a file name"};
        config_path = args[++i];
      } else {
        config_path = a.substr(9);
      }
      config_explicit = true;
    } else if (a == "--poll" || a.rfind("--poll=", 0) == 0) {
      poll_given = true;
      poll_flag = 500;
      std::string text;
      if (a != "--poll") text = a.substr(7);
      else if (i + 1 < args.size() && all_digits(args[i + 1])) text = args[++i];  // --poll 200
      if (!text.empty() || a != "--poll") {
        int ms = 0;
        auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
        if (ec != std::errc() || p != text.data() + text.size() || ms <= 0) {
          return Error{fmt::format("--poll: expected a number of milliseconds, got \"{}\"", text)};
        }
        poll_flag = ms;
      }
    } else {
      rest.push_back(a);
    }
  }
  if (!no_config) {
    std::error_code ec;
    if (std::filesystem::exists(config_path, ec)) {
      if (access(config_path.c_str(), R_OK) != 0) return Error{fmt::format("{}: cannot read: {}", config_path, strerror(errno))};
      RunOptions from_file;
      auto r = load_run_config(config_path, from_file);
      if (!r) return r.error();
      o = from_file;
      parsed.config_file = config_path;
    } else if (config_explicit) {
      return Error{fmt::format("--config: {}: no such file", config_path)};
    }
  }
  if (have_command) {
    o.command = command;
    o.shell = false;
  }
  if (poll_given) o.poll_ms = poll_flag;

  CLI::App app{"relive"};
  CliTargets t;
  declare_run_options(app, o, parsed.version, t);
  BurstSettings& burst = o.burst_settings;
  std::vector<std::string>&watch = t.watch, &exts = t.exts, &ignore = t.ignore, &env = t.env;
  std::vector<std::string>&level_regexes = t.level_regexes, &sockets = t.sockets;
  std::vector<std::string> reversed(rest.rbegin(), rest.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::ExtrasError& e) {
    // CLI11: "The following arguments were not expected: --bogus x"; name the first.
    std::string what = e.what();
    auto colon = what.find(": ");
    std::string first = colon == std::string::npos ? what : what.substr(colon + 2);
    first = first.substr(0, first.find(' '));
    return Error{fmt::format("unknown option {} (see relive --help)", first)};
  } catch (const CLI::ParseError& e) {
    return Error{fmt::format("{} (see relive --help)", e.what())};
  }
  if (!app.remaining().empty()) return Error{fmt::format("unknown option {} (see relive --help)", app.remaining().front())};
  for (const CLI::Option* option : t.burst_options) {
    if (option->count() > 0) o.burst = true;
  }
  if (!level_regexes.empty()) burst.level_regexes = level_regexes;  // replaces relive.toml's
  if (o.burst) {
    if (auto checked = burst.to_filter_options("--burst-"); !checked) return checked.error();
  }
  if (!watch.empty()) o.watch = watch;
  if (!sockets.empty()) o.sockets = sockets;
  if (!ignore.empty()) o.ignore.insert(o.ignore.end(), ignore.begin(), ignore.end());
  if (!exts.empty()) {
    auto normalized = normalize_exts(exts, "-e", o.warnings);
    if (!normalized) return normalized.error();
    o.exts = *normalized;
  }
  if (!env.empty()) {
    for (const auto& e : env) {
      if (auto c = check_env_entry("-E", e); !c) return c.error();
    }
    o.env.insert(o.env.end(), env.begin(), env.end());  // after relive.toml's: the last one wins
  }
  if (t.ready_timeout_option->count() > 0) o.ready_timeout_given = true;
  if (parsed.version) return parsed;

  // Options that only mean something together.
  if (!o.graceful && (t.ready_option->count() > 0 || !o.ready.empty())) {
    return Error{"--ready: only --graceful restarts wait for readiness (add --graceful)"};
  }
  if (!o.graceful && o.ready_timeout_given) {
    return Error{"--ready-timeout: only --graceful restarts wait for readiness (add --graceful)"};
  }
  if (o.graceful && o.sockets.empty()) {
    o.warnings.push_back(
        "--graceful without --socket: the new program starts while the old one still runs, so it must be able "
        "to bind its own port beside it (SO_REUSEPORT, or another port), else the restart fails and the old one "
        "keeps running");
  }
  if (!o.debounce.empty()) {
    if (auto d = parse_duration("--debounce", o.debounce); !d) return d.error();
  }
  if (!o.workdir.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_directory(o.workdir, ec)) return Error{fmt::format("--workdir: {}: no such directory", o.workdir)};
  }
  if (o.command.empty()) {
    if (!have_command && rest.empty() && !no_config && !config_explicit) {
      parsed.usage = true;  // bare `relive`
      return parsed;
    }
    return Error{"no command given (usage: relive [OPTIONS] [--] COMMAND [ARGS...])"};
  }
  if (o.command[0].empty()) return Error{"the command is an empty string"};
  return parsed;
}

}  // namespace relive::cli
