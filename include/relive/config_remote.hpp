// relive/config_remote.hpp — configuration from a center shared by a fleet: etcd (watched
// from a revision) and any HTTP server (polled with ETag, or Consul's blocking queries).
// Both are relive::config::Source objects: they layer with files, env and overrides.
//
// Example (etcd):
//   using namespace relive::config;
//   EtcdOptions e; e.endpoints = {"http://10.0.0.5:2379"}; e.prefix = "/app/";
//   Options o; o.sources = {file("app.yaml"), etcd(e), env("APP")};
//   auto cfg = Config::open(std::move(o));   // /app/db/timeout = "5s"  ->  db.timeout
//
// Example (Consul KV through its blocking queries):
//   HttpOptions h; h.url = "http://127.0.0.1:8500/v1/kv/app/config?raw"; h.long_poll = true;
//   Options o; o.sources = {http(h)};
//
// Guarantees of both: a failed, unauthorised or empty answer never replaces the last good
// version (status().source_problems says why the source is stale); a value that does not
// parse keeps the whole last good version (status().error names key and revision). Each
// source runs one background thread (started by Config::open, stopped by ~Config) that
// calls the Config back; load() itself never blocks longer than the start-up wait.
// See docs/config-fleet.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "relive/config.hpp"

namespace relive::config {

// TLS for https:// endpoints. Empty fields: the system's CA store, no client certificate.
struct TlsOptions {
  std::filesystem::path ca_file;    // PEM bundle the server's certificate must chain to
  std::filesystem::path cert_file;  // client certificate (PEM), for --client-cert-auth
  std::filesystem::path key_file;   // its private key (PEM)
};

struct EtcdOptions {
  // "http://127.0.0.1:2379" or "https://..."; tried in order, the next one on failure.
  std::vector<std::string> endpoints = {"http://127.0.0.1:2379"};
  // Every key under prefix is one leaf: prefix "/app/" and key "/app/db/timeout" -> db.timeout
  // (values parsed as scalars like env/overrides). A prefix without a trailing '/' gets one
  // (so "/app" never reads "/app2/...").
  std::string prefix = "/";
  // Document mode: this one key holds a whole JSON/YAML/TOML document (format by the key's
  // extension, else `document_format`, else YAML, which also reads JSON); prefix is ignored.
  std::string document_key;
  Format document_format = Format::Auto;
  // Username/password authentication (/v3/auth/authenticate); the token is renewed when the
  // server says it expired.
  std::string username, password;
  TlsOptions tls;
  // An empty prefix keeps the last good values (and fails the first load) unless allowed.
  bool allow_empty = false;
  // Written (atomically, mode 0600) after each change; read at start-up when no endpoint
  // answers within startup_wait, and then the source is stale until etcd answers.
  std::filesystem::path cache_file;
  // How long the first load waits for etcd before it uses the cache file (or fails).
  std::chrono::milliseconds startup_wait{2000};
  // The server's --experimental-watch-progress-notify-interval (etcd's default is 10 min).
  // A watch stream silent for idle_factor times this is taken as dead.
  std::chrono::milliseconds progress_interval{std::chrono::minutes(10)};
  int idle_factor = 3;
  // A cheap count_only range every check_interval catches missed events (and a dead
  // connection the progress interval would find late). 0 = never.
  std::chrono::milliseconds check_interval{std::chrono::seconds(30)};
  // Reconnects: full jitter, first try within [0, backoff_initial), doubling to backoff_max;
  // the doubling restarts after a stream stayed healthy for healthy_after.
  std::chrono::milliseconds backoff_initial{500};
  std::chrono::milliseconds backoff_max{std::chrono::seconds(30)};
  std::chrono::milliseconds healthy_after{std::chrono::seconds(10)};
  // A refused connection (the host answers, nothing listens on the port: etcd restarting,
  // not a partition) is retried on a shorter schedule for the first restart_grace of an
  // outage: the same full jitter, capped at refused_backoff_max, so that every watcher
  // retries within that cap of etcd listening again. Timeouts and resets (a partition, a
  // hung etcd), and a refusal that lasts past restart_grace (etcd down, not restarting),
  // get the full backoff above.
  std::chrono::milliseconds refused_backoff_max{1000};
  std::chrono::milliseconds restart_grace{std::chrono::seconds(30)};
  // Sources of one process on the same endpoints share the news that etcd is back: each
  // whose retry succeeds wakes the others from their backoff, and each of those reconnects
  // after its own random delay in [0, rejoin_spread) (spread out, not a herd). A source
  // whose own try failed while the news came retries after that delay too, and for 3 s
  // after it a failed try (a busy etcd) is on the short schedule above.
  std::chrono::milliseconds rejoin_spread{300};
  // Per request (range, authenticate, count check).
  std::chrono::milliseconds request_timeout{std::chrono::seconds(5)};
  // Keys per range page.
  int page_size = 1000;
  // spdlog logger for reconnects, compactions, restores ("" = the default logger).
  std::string logger;
};

// What an etcd source has done so far (for tests, benchmarks and status pages). Any thread.
struct EtcdStats {
  std::int64_t revision = 0;           // the revision applied
  std::uint64_t full_reads = 0;        // ranges of the whole prefix: 1 at start, +1 per
                                       // compaction, restore or failed consistency check
  std::uint64_t responses_applied = 0; // watch responses that changed something
  std::uint64_t events_applied = 0;
  std::uint64_t events_dropped = 0;    // at or below the applied revision (after a reconnect)
  std::uint64_t reconnects = 0;        // watch streams started after the first
  std::uint64_t compactions = 0;
  std::uint64_t checks = 0;            // count_only consistency checks done
  std::uint64_t retries = 0;           // backoff waits after a failed try (outages)
  std::uint64_t refused_retries = 0;   // of which after a refused connection (short schedule)
  std::uint64_t woken = 0;             // backoffs cut short: another source found etcd back
  bool from_cache = false;             // serving the cache file (etcd not reached yet)
};

class EtcdSource : public Source {
 public:
  virtual EtcdStats stats() const = 0;
};

// An etcd v3 source (the JSON gateway over HTTP/1.1). The first load ranges the prefix at
// one revision R (in pages); then a watch from R+1 applies each watch response as one new
// version, resumes from the last applied revision after a reconnect, re-reads after a
// compaction or a restore from backup, and checks the count periodically. Origins read
// "etcd://HOST:PORT/app/db/timeout (mod_revision 42)". Errors name the endpoint, key and
// revision. Options are checked at the first load.
std::shared_ptr<EtcdSource> etcd(EtcdOptions options);

// etcd://HOST:PORT/PREFIX as EtcdOptions, the way etcdctl users expect: one endpoint
// HOST:PORT (https when a CA or a client certificate is given), every key under PREFIX a
// leaf (with `document`, PREFIX names the one key holding a whole document), and
// credentials and TLS files from etcdctl's environment: ETCDCTL_USER ("user" or
// "user:password"), ETCDCTL_PASSWORD, ETCDCTL_CACERT, ETCDCTL_CERT, ETCDCTL_KEY. The
// command's --etcd-* flags and the Python module both start from this. Fails on a URL that
// is not etcd://HOST:PORT[/PREFIX]. Any thread.
Result<EtcdOptions> etcd_options_from_url(const std::string& url, bool document = false);

// A source named by a URL, as `relive config` and the Python module accept them:
// etcd://HOST:PORT/PREFIX (etcd_options_from_url) or http(s)://... (HttpOptions defaults).
// Fails on any other scheme, naming it. Any thread.
Result<std::shared_ptr<Source>> remote_source_from_url(const std::string& url);

struct HttpOptions {
  std::string url;  // http:// or https://, returning one JSON/YAML/TOML document
  // Auto: from the Content-Type (json, yaml, toml), else the URL's extension, else YAML.
  Format format = Format::Auto;
  // Polling: If-None-Match / If-Modified-Since each interval, +/- jitter (a fraction).
  std::chrono::milliseconds interval{std::chrono::seconds(30)};
  double jitter = 0.2;
  // Consul blocking queries: GET url?index=N&wait=<long_poll_wait>; the answer comes when
  // X-Consul-Index moves past N (or the wait ends). An index going backwards resets to 0.
  bool long_poll = false;
  std::chrono::milliseconds long_poll_wait{std::chrono::minutes(5)};
  // After a failed request, the next try within [0, backoff) doubling up to backoff_max.
  std::chrono::milliseconds backoff_initial{500};
  std::chrono::milliseconds backoff_max{std::chrono::seconds(30)};
  std::chrono::milliseconds request_timeout{std::chrono::seconds(10)};
  std::vector<std::string> headers;  // extra "Name: value" lines (X-Consul-Token: ...)
  TlsOptions tls;
  std::string logger;
};

struct HttpStats {
  std::uint64_t requests = 0;
  std::uint64_t not_modified = 0;  // 304 answers (and long polls that ended unchanged)
  std::uint64_t failures = 0;      // transport errors, 404, 5xx, empty bodies
  std::uint64_t index = 0;         // long poll: the X-Consul-Index in use
};

class HttpSource : public Source {
 public:
  virtual HttpStats stats() const = 0;
};

// An HTTP document source. The first load GETs the URL (a failure fails open()); then a
// thread polls (or long-polls). A 404, 5xx, timeout or empty body keeps the last good
// version and shows in status().source_problems; a body that does not parse is rejected
// like a broken file (status().error names the URL and line).
std::shared_ptr<HttpSource> http(HttpOptions options);

}  // namespace relive::config
