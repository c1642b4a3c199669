// relive config — check, show and follow a layered configuration as relive::config sees it.
//
//   relive config check [--json] [-q] [--env PREFIX] [--set KEY=VALUE]... [--secret GLOB]... FILE...
//   relive config show  [--explain] [--json] [--env PREFIX] [--set KEY=VALUE]... FILE...
//   relive config watch [--json] [--env PREFIX] [--set KEY=VALUE]... FILE...
//
// FILE is a JSON, YAML or TOML file (by extension) or a directory (conf.d: its files in name
// order), or a remote source: etcd://HOST:PORT/PREFIX (every key under PREFIX a leaf; with
// --etcd-document the one key holding a document; --etcd-user/--etcd-cacert/--etcd-cert/
// --etcd-key or etcdctl's ETCDCTL_USER/ETCDCTL_PASSWORD/ETCDCTL_CACERT/ETCDCTL_CERT/
// ETCDCTL_KEY; TLS options switch to https), or http(s)://URL of a document (polled with
// ETag; --http-long-poll for Consul's blocking queries). Sources layer in the order given — files, then --env, then --set — later ones
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
//        SIGINT/SIGTERM (exit 0). A first load that fails exits 1. With --json: one line per
//        version, {"version":N,"at":"12:01:33","changes":[{"key":..,"old":..,"new":..}]}
//        (an absent side is null; secrets "***").
// Secrets (default patterns *password*, *secret*, *token*, *key; more with --secret) are
// shown as ***. Usage errors (unknown flag, no FILE) exit 2.
#include <pthread.h>
#include <signal.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "commands.hpp"
#include "relive/config.hpp"
#include "relive/config_remote.hpp"
#include "relive/internal/json_string.hpp"

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
  // Remote sources (etcd://, http(s)://).
  bool etcd_document = false;
  std::string etcd_user, etcd_password, etcd_cacert, etcd_cert, etcd_key, etcd_cache;
  bool http_long_poll = false;
  std::string http_interval;
};

// etcd://HOST:PORT/PREFIX -> the source's options: etcdctl's environment, then the flags.
cfg::EtcdOptions etcd_options(const std::string& url, const SourceFlags& flags) {
  auto parsed = cfg::etcd_options_from_url(url, flags.etcd_document);
  if (!parsed) throw std::invalid_argument(parsed.error().message);
  cfg::EtcdOptions o = std::move(*parsed);
  if (!flags.etcd_cacert.empty()) o.tls.ca_file = flags.etcd_cacert;
  if (!flags.etcd_cert.empty()) o.tls.cert_file = flags.etcd_cert;
  if (!flags.etcd_key.empty()) o.tls.key_file = flags.etcd_key;
  if (!o.tls.ca_file.empty() || !o.tls.cert_file.empty()) {
    for (auto& e : o.endpoints) {
      if (e.starts_with("http://")) e = "https://" + e.substr(7);
    }
  }
  if (!flags.etcd_password.empty()) o.password = flags.etcd_password;
  if (!flags.etcd_user.empty()) {
    o.username = flags.etcd_user;
    if (auto colon = o.username.find(':'); colon != std::string::npos) {  // etcdctl's user:password
      o.password = o.username.substr(colon + 1);
      o.username.resize(colon);
    }
  }
  if (!flags.etcd_cache.empty()) o.cache_file = flags.etcd_cache;
  return o;
}

void add_source_flags(CLI::App& sub, SourceFlags& flags) {
  sub.add_option("FILE", flags.files, "Configuration files (.json .yaml .yml .toml), directories, etcd://HOST:PORT/PREFIX or http(s)://URL, lowest precedence first")
      ->required();
  sub.add_option("--env", flags.env_prefix, "Also read PREFIX_A__B=v environment variables as a.b (after the files)");
  sub.add_option("--set", flags.sets, "Override KEY=VALUE (repeatable; highest precedence)");
  sub.add_option("--secret", flags.secrets, "Also hide keys matching GLOB as *** (repeatable)");
  sub.add_flag("--etcd-document", flags.etcd_document, "etcd://HOST:PORT/KEY names one key holding a JSON/YAML/TOML document");
  // The etcdctl-like string options (each overrides the ETCDCTL_* variable it names).
  const struct {
    const char* name;
    std::string* into;
    const char* help;
  } etcd_strings[] = {
      {"--etcd-user", &flags.etcd_user, "etcd USER or USER:PASSWORD (default $ETCDCTL_USER)"},
      {"--etcd-password", &flags.etcd_password, "etcd password (default $ETCDCTL_PASSWORD)"},
      {"--etcd-cacert", &flags.etcd_cacert, "CA bundle for etcd over https (default $ETCDCTL_CACERT)"},
      {"--etcd-cert", &flags.etcd_cert, "Client certificate for etcd (default $ETCDCTL_CERT)"},
      {"--etcd-key", &flags.etcd_key, "Its private key (default $ETCDCTL_KEY)"},
      {"--etcd-cache", &flags.etcd_cache, "Cache file: start from it while etcd is down"},
  };
  for (const auto& o : etcd_strings) sub.add_option(o.name, *o.into, o.help);
  sub.add_flag("--http-long-poll", flags.http_long_poll, "http(s):// sources use Consul blocking queries (?index=N&wait=...)");
  sub.add_option("--http-interval", flags.http_interval, "Polling interval of http(s):// sources (default 30s)");
}

cfg::Options make_options(const SourceFlags& flags, bool watch, const std::string& logger = {}) {
  cfg::Options options;
  for (const auto& f : flags.files) {
    std::error_code ec;
    if (f.starts_with("etcd://")) {
      auto o = etcd_options(f, flags);
      o.logger = logger;
      options.sources.push_back(cfg::etcd(std::move(o)));
    } else if (f.starts_with("http://") || f.starts_with("https://")) {
      cfg::HttpOptions o;
      o.url = f;
      o.long_poll = flags.http_long_poll;
      if (!flags.http_interval.empty()) {
        auto d = cfg::parse_duration(flags.http_interval);
        if (!d || *d <= std::chrono::nanoseconds(0))
          throw std::invalid_argument("--http-interval " + flags.http_interval + ": expected a duration (30s, 1m)");
        o.interval = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
      }
      o.logger = logger;
      options.sources.push_back(cfg::http(std::move(o)));
    } else if (fs::is_directory(f, ec)) {
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

// {"version":4,"at":"12:01:33","changes":[{"key":"db.timeout","old":"5s","new":"10s"}]}
std::string json_line(const cfg::Update& update, const cfg::Redactor& redactor) {
  std::string line = "{\"version\":" + std::to_string(update.version) + ",\"at\":" +
                     relive::internal::json_string(clock_time(update.snapshot.loaded_at())) + ",\"changes\":[";
  bool first = true;
  for (const auto& ch : update.changes) {
    if (!first) line += ',';
    first = false;
    auto side = [&](const std::optional<std::string>& v) {
      return v ? relive::internal::json_string(redactor.show(ch.key, *v)) : std::string("null");
    };
    line += "{\"key\":" + relive::internal::json_string(ch.key) + ",\"old\":" + side(ch.old_value) + ",\"new\":" + side(ch.new_value) + "}";
  }
  return line + "]}";
}

int watch(const SourceFlags& flags, bool json) {
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

  cfg::Options options = make_options(flags, /*watch=*/true, logger->name());
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
    if (json) {
      // Version 1 as a change from nothing: every key "new".
      print(json_line(cfg::Update{first->version(), cfg::diff(cfg::Snapshot(), *first), *first}, redactor));
    } else {
      print("version " + std::to_string(first->version()) + " at " + clock_time(first->loaded_at()));
      print(cfg::format_flat(*first, redactor));
    }
  }
  auto subscription = config->subscribe("", [&redactor, json](const cfg::Update& update) {
    if (json) print(json_line(update, redactor));
    else print("version " + std::to_string(update.version) + " at " + clock_time(update.snapshot.loaded_at()) +
               "\n" + cfg::format_diff(update.changes, redactor));
  });
  for (const auto& p : config->status().source_problems) std::fprintf(stderr, "relive config: %s\n", p.c_str());
  std::fprintf(stderr, "relive config: watching %zu source(s); Ctrl-C to stop\n", flags.files.size());
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

  // One subcommand runs: they share the source flags (files, --env, --set, --etcd-*,
  // --http-*) and --json, added once here.
  SourceFlags flags;
  bool json = false, quiet = false, explain = false;
  auto subcommand = [&](const char* name, const char* what, const char* json_help) {
    auto* sub = app.add_subcommand(name, what);
    add_source_flags(*sub, flags);
    sub->add_flag("--json", json, json_help);
    return sub;
  };
  auto* check = subcommand("check", "Validate; print the merged result; exit 1 on error", "Print the merged result as JSON");
  check->add_flag("-q,--quiet", quiet, "Print only the verdict");
  auto* show = subcommand("show", "Print the merged configuration (secrets as ***)", "As JSON");
  show->add_flag("--explain", explain, "Name the source (file:line:col, env var, override) of each key");
  subcommand("watch", "Print every new version as a diff as it happens",
             "One JSON line per version: the changed keys, old and new values");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "relive config: %s (see relive config --help)\n", e.what());
    return kUsage;
  }
  if (json && explain) {
    std::fprintf(stderr, "relive config show: --explain and --json cannot be combined\n");
    return kUsage;
  }
  try {
    if (*check) return check_or_show(flags, json, false, quiet, true);
    if (*show) return check_or_show(flags, json, explain, false, false);
    return watch(flags, json);
  } catch (const std::exception& e) {  // a bug, but still one line and a non-zero exit
    std::fprintf(stderr, "relive config: %s\n", e.what());
    return kConfigError;
  }
}

}  // namespace relive::cli
