// relive config — check, show and follow a layered configuration as relive::config sees it.
//
//   relive config check [--json] [-q] [--env PREFIX] [--set KEY=VALUE]... [--secret GLOB]... FILE...
//   relive config show  [--explain] [--json] [--env PREFIX] [--set KEY=VALUE]... FILE...
//   relive config watch [--env PREFIX] [--set KEY=VALUE]... FILE...
//
// FILE is a JSON, YAML or TOML file (by extension) or a directory (conf.d: its files in name
// order). Sources layer in the order given — files, then --env, then --set — later ones
// overriding earlier ones, exactly as Config::open would with the same list.
//
// check  loads and validates once; prints the merged result (one "key = value" a line, or
//        --json) on stdout and "relive config: ok ..." on stderr; on error prints the
//        library's "file:line:col: key: message" on stderr and exits 1 (like `nginx -t`).
// show   prints the merged result; --explain ends every line with the source of that key
//        ("# config/app.yaml:3:12", "# env APP_DB__TIMEOUT"). Exit 1 on error.
// watch  prints the merged result, then every new version as a diff as it is published
//        ("version 4 at 12:01:33", then "~ db.timeout: 5s -> 10s" lines), and each failed
//        reload as one line on stderr ("...; keeping version 3 from 12:01:02"). Runs until
//        SIGINT/SIGTERM (exit 0). A first load that fails exits 1.
// Secrets (default patterns *password*, *secret*, *token*, *key; more with --secret) are
// shown as ***. Usage errors (unknown flag, no FILE) exit 2.
#include <pthread.h>
#include <signal.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "commands.hpp"
#include "relive/config.hpp"

namespace relive::cli {
namespace {

namespace fs = std::filesystem;
namespace cfg = relive::config;

constexpr int kOk = 0;
constexpr int kConfigError = 1;
constexpr int kUsage = 2;

struct SourceFlags {
  std::vector<std::string> files;
  std::string env_prefix;
  std::vector<std::string> sets;
  std::vector<std::string> secrets;
};

void add_source_flags(CLI::App& sub, SourceFlags& flags) {
  sub.add_option("FILE", flags.files, "Configuration files (.json .yaml .yml .toml) or directories, lowest precedence first")
      ->required();
  sub.add_option("--env", flags.env_prefix, "Also read PREFIX_A__B=v environment variables as a.b (after the files)");
  sub.add_option("--set", flags.sets, "Override KEY=VALUE (repeatable; highest precedence)");
  sub.add_option("--secret", flags.secrets, "Also hide keys matching GLOB as *** (repeatable)");
}

cfg::Options make_options(const SourceFlags& flags, bool watch) {
  cfg::Options options;
  for (const auto& f : flags.files) {
    std::error_code ec;
    if (fs::is_directory(f, ec)) {
      options.sources.push_back(cfg::directory(f));
    } else {
      options.sources.push_back(cfg::file(f));
    }
  }
  if (!flags.env_prefix.empty()) options.sources.push_back(cfg::env(flags.env_prefix));
  if (!flags.sets.empty()) options.sources.push_back(cfg::overrides(flags.sets));
  options.secret_patterns.insert(options.secret_patterns.end(), flags.secrets.begin(), flags.secrets.end());
  options.watch = watch;
  return options;
}

std::string clock_time(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  localtime_r(&secs, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return buf;
}

void print(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  if (!text.empty() && text.back() != '\n') std::fputc('\n', stdout);
  std::fflush(stdout);
}

int check_or_show(const SourceFlags& flags, bool json, bool explain, bool quiet, bool is_check) {
  const cfg::Options options = make_options(flags, /*watch=*/false);
  auto snapshot = cfg::Config::load(options);
  if (!snapshot) {
    std::fprintf(stderr, "relive config: %s\n", snapshot.error().message.c_str());
    return kConfigError;
  }
  const cfg::Redactor redactor(options.secret_patterns);
  if (!quiet) {
    print(json ? cfg::format_json(*snapshot, redactor) : cfg::format_flat(*snapshot, redactor, explain));
  }
  if (is_check) {
    std::fprintf(stderr, "relive config: ok: %zu keys from %zu source(s)\n", snapshot->entries().size(),
                 options.sources.size());
  }
  return kOk;
}

// Waits for SIGINT or SIGTERM (blocked in every thread, so the Config's threads never take
// them), then returns.
void wait_for_stop_signal() {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  int sig = 0;
  sigwait(&stop, &sig);
}

int watch(const SourceFlags& flags) {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);  // before any thread starts

  // The library logs a failed reload once, with file:line:col, key and the version kept:
  // exactly the line to show. Info lines ("version N loaded") are replaced by our diffs.
  auto logger = std::make_shared<spdlog::logger>("relive-config-watch",
                                                 std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_pattern("relive %v");  // the library says "config: ..."
  logger->set_level(spdlog::level::warn);
  spdlog::register_logger(logger);

  cfg::Options options = make_options(flags, /*watch=*/true);
  options.logger = logger->name();
  const cfg::Redactor redactor(options.secret_patterns);
  auto opened = cfg::Config::open(std::move(options));
  if (!opened) {
    std::fprintf(stderr, "relive config: %s\n", opened.error().message.c_str());
    spdlog::drop(logger->name());
    return kConfigError;
  }
  std::optional<cfg::Config> config(std::move(*opened));
  {
    auto first = config->pin();
    print("version " + std::to_string(first->version()) + " at " + clock_time(first->loaded_at()));
    print(cfg::format_flat(*first, redactor));
  }
  auto subscription = config->subscribe("", [&redactor](const cfg::Update& update) {
    print("version " + std::to_string(update.version) + " at " + clock_time(update.snapshot.loaded_at()) +
          "\n" + cfg::format_diff(update.changes, redactor));
  });
  std::fprintf(stderr, "relive config: watching %zu file(s); Ctrl-C to stop\n", flags.files.size());
  wait_for_stop_signal();
  subscription.reset();
  config.reset();  // stops the watcher and the dispatcher before the logger goes
  spdlog::drop(logger->name());
  return kOk;
}

}  // namespace

int run_config(int argc, char** argv) {
  CLI::App app{"Check, show and follow a layered configuration (JSON, YAML, TOML)", "relive config"};
  app.require_subcommand(1);

  SourceFlags check_flags;
  bool check_json = false;
  bool check_quiet = false;
  auto* check = app.add_subcommand("check", "Validate; print the merged result; exit 1 on error");
  add_source_flags(*check, check_flags);
  check->add_flag("--json", check_json, "Print the merged result as JSON");
  check->add_flag("-q,--quiet", check_quiet, "Print only the verdict");

  SourceFlags show_flags;
  bool show_json = false;
  bool explain = false;
  auto* show = app.add_subcommand("show", "Print the merged configuration (secrets as ***)");
  add_source_flags(*show, show_flags);
  show->add_flag("--json", show_json, "As JSON");
  show->add_flag("--explain", explain, "Name the source (file:line:col, env var, override) of each key");

  SourceFlags watch_flags;
  auto* watch_cmd = app.add_subcommand("watch", "Print every new version as a diff as it happens");
  add_source_flags(*watch_cmd, watch_flags);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "relive config: %s (see relive config --help)\n", e.what());
    return kUsage;
  }
  if (show_json && explain) {
    std::fprintf(stderr, "relive config show: --explain and --json cannot be combined\n");
    return kUsage;
  }
  try {
    if (*check) return check_or_show(check_flags, check_json, false, check_quiet, true);
    if (*show) return check_or_show(show_flags, show_json, explain, false, false);
    return watch(watch_flags);
  } catch (const std::exception& e) {  // a bug, but still one line and a non-zero exit
    std::fprintf(stderr, "relive config: %s\n", e.what());
    return kConfigError;
  }
}

}  // namespace relive::cli
