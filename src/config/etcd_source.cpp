// The etcd source: ranges the prefix at one revision, then follows a watch from the next
// one, applying each watch response as one version. See relive/config_remote.hpp for the
// guarantees; this file is the protocol (run()), the key -> tree mapping (build_tree())
// and the cache file.
//
// Threads: load() runs on the Config's loader thread (the first one does the network round
// trips, bounded by startup_wait); everything after runs on one thread of ours (run()),
// which calls the Config back (changed_) after each applied response, holding no lock.
// mu_ guards the state both sides read.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "etcd_client.hpp"
#include "internal.hpp"

namespace relive::config {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using json = nlohmann::json;
using etcd_wire::Failure;
using transport::Next;

std::string normalized_prefix(std::string p) {
  if (p.empty()) return "/";
  if (p.back() != '/') p += '/';
  return p;
}

Format format_by_name(std::string_view key, Format fallback) {
  auto ends = [&](std::string_view ext) { return key.size() >= ext.size() && key.substr(key.size() - ext.size()) == ext; };
  if (ends(".json")) return Format::Json;
  if (ends(".toml")) return Format::Toml;
  if (ends(".yaml") || ends(".yml")) return Format::Yaml;
  return fallback == Format::Auto ? Format::Yaml : fallback;
}

// How long another source's "etcd is back" stays news: a failed try within it is taken
// for a busy etcd, not a lost one (the short schedule, a probe with the full timeout).
constexpr std::chrono::milliseconds kBackNews{3000};

std::string ms(std::chrono::milliseconds d) { return fmt::format("{} ms", d.count()); }

// Writes `content` to `path` atomically (a temp file in the same directory, fsync, rename)
// with mode 0600: a reader sees the old or the new cache, never half of one.
Result<void> write_atomically(const std::filesystem::path& path, const std::string& content) {
  std::filesystem::path tmp = path;
  tmp += fmt::format(".tmp{}", ::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return errno_error("create " + tmp.string());
  ::fchmod(fd, 0600);
  std::size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      Error e = errno_error("write " + tmp.string());
      ::close(fd);
      ::unlink(tmp.c_str());
      return e;
    }
    done += static_cast<std::size_t>(n);
  }
  ::fsync(fd);
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Error e = errno_error("rename " + tmp.string());
    ::unlink(tmp.c_str());
    return e;
  }
  return {};
}

struct StoredValue {
  std::string value;
  std::int64_t mod_revision = 0;
};

class EtcdSourceImpl final : public EtcdSource {
 public:
  explicit EtcdSourceImpl(EtcdOptions o) : options_(std::move(o)) {
    if (options_.document_key.empty()) {
      key_ = normalized_prefix(options_.prefix);
      end_ = etcd_wire::prefix_end(key_);
    } else {
      key_ = options_.document_key;  // one key: no range_end
    }
    if (!options_.logger.empty()) log_ = spdlog::get(options_.logger);
    if (!log_) log_ = spdlog::default_logger();
    client_ = std::make_unique<etcd_wire::Client>(options_);
    for (const auto& e : options_.endpoints) server_ += e + ' ';
  }
  ~EtcdSourceImpl() override { stop(); }

  std::string name() const override {
    return fmt::format("etcd://{}{}", authority(0), key_);
  }

  Result<Node> load() override {
    if (!first_load_done_) {
      if (auto r = first_load(); !r) return r.error();
      first_load_done_ = true;
    }
    std::lock_guard l(mu_);
    return tree_locked();
  }

  void start(std::function<void()> changed) override {
    if (worker_.inherited()) {
      // A fork() child: the connections are the parent's. Leak them deliberately (closing
      // them could end the parent's TLS sessions); start afresh.
      (void)client_.release();
      client_ = std::make_unique<etcd_wire::Client>(options_);
    }
    changed_ = std::move(changed);
    worker_.start([this] { run(); });
  }

  void stop() override {
    worker_.stop([this] { client_->interrupt(); });
  }

  std::optional<std::string> problem() const override {
    std::lock_guard l(mu_);
    if (!link_problem_.empty() && !empty_problem_.empty()) return link_problem_ + "; " + empty_problem_;
    if (!link_problem_.empty()) return link_problem_;
    if (!empty_problem_.empty()) return empty_problem_;
    return std::nullopt;
  }

  EtcdStats stats() const override {
    std::lock_guard l(mu_);
    EtcdStats s = stats_;
    s.revision = applied_;
    return s;
  }

 private:
  std::string authority(std::size_t endpoint) const {
    if (endpoint >= options_.endpoints.size()) return "?";
    std::string_view e = options_.endpoints[endpoint];
    if (auto p = e.find("://"); p != std::string_view::npos) e.remove_prefix(p + 3);
    while (!e.empty() && e.back() == '/') e.remove_suffix(1);
    return std::string(e);
  }
  std::string where() const { return fmt::format("etcd://{}{}", client_->authority(), key_); }

  // --- the first load ---------------------------------------------------------------
  Result<void> first_load() {
    if (options_.endpoints.empty()) return Error{"etcd: no endpoints given"};
    for (const auto& e : options_.endpoints)
      if (!e.starts_with("http://") && !e.starts_with("https://"))
        return Error{fmt::format("etcd: endpoint \"{}\" must start with http:// or https://", e)};
    const auto deadline = Clock::now() + options_.startup_wait;
    std::string last_error;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      auto r = full_range(std::clamp(left, 100ms, options_.request_timeout));
      if (r) return {};
      last_error = r.error().message;
      if (client_->last_failure() == Failure::Unauthorised || Clock::now() + 100ms >= deadline) break;
      std::this_thread::sleep_for(100ms);
    }
    if (!options_.cache_file.empty()) {
      if (auto c = read_cache(); c) {
        std::lock_guard l(mu_);
        stats_.from_cache = true;
        need_range_ = true;
        link_problem_ = fmt::format("{}: stale: serving the cache file {} (revision {}) since etcd did not answer: {}",
                                    name(), options_.cache_file.string(), applied_, last_error);
        log_->warn("config: {}", link_problem_);
        return {};
      } else {
        last_error += "; and the cache file: " + c.error().message;
      }
    }
    return Error{fmt::format("{}: no endpoint answered within {}: {}", name(), ms(options_.startup_wait), last_error)};
  }

  // --- reading the whole prefix ----------------------------------------------------
  // Ranges [key_, end_) in pages, all at the first page's revision; replaces the state.
  Result<void> full_range(std::chrono::milliseconds timeout) {
    std::map<std::string, StoredValue> fresh;
    std::int64_t revision = 0;
    std::uint64_t cluster = 0;
    std::string from = key_;
    for (;;) {
      auto page = client_->range(from, end_, revision, end_.empty() ? 0 : options_.page_size, false, timeout);
      if (!page) return page.error();
      if (revision == 0) {
        revision = page->header.revision;
        cluster = page->header.cluster_id;
      }
      for (auto& kv : page->kvs) fresh[kv.key] = StoredValue{std::move(kv.value), kv.mod_revision};
      if (!page->more || page->kvs.empty()) break;
      from = fresh.rbegin()->first + '\0';
    }
    std::lock_guard l(mu_);
    if (cluster_id_ != 0 && cluster != 0 && cluster != cluster_id_) {
      log_->warn("config: {}: the cluster id changed from {} to {} (etcd restored or replaced); re-read at "
                 "revision {} and accepted", where(), cluster_id_, cluster, revision);
    } else if (revision < applied_) {
      log_->warn("config: {}: the revision went back from {} to {} (etcd restored from a backup?); re-read and "
                 "accepted", where(), applied_, revision);
    }
    kvs_ = std::move(fresh);
    applied_ = revision;
    cluster_id_ = cluster;
    endpoint_ = client_->current_endpoint();
    need_range_ = false;
    ++stats_.full_reads;
    stats_.from_cache = false;
    return {};
  }

  // --- the tree ---------------------------------------------------------------------
  Result<Node> build_tree() const {
    const std::string base = "etcd://" + authority(endpoint_);
    auto origin_of = [&](const std::string& key, std::int64_t rev) {
      return Origin{fmt::format("{}{} (mod_revision {})", base, key, rev), 0, 0};
    };
    Node root = Node::object(Origin{base + key_, 0, 0});
    if (!options_.document_key.empty()) {
      auto it = kvs_.find(key_);
      if (it == kvs_.end() || it->second.value.empty()) return root;
      auto doc = parse(it->second.value, format_by_name(key_, options_.document_format),
                       origin_of(key_, it->second.mod_revision).source);
      if (!doc) return Error{fmt::format("{} (revision {})", doc.error().message, applied_)};
      if (!doc->is_object())
        return Error{fmt::format("{}: the document is not a mapping (revision {})", origin_of(key_, it->second.mod_revision).source, applied_)};
      return std::move(*doc);
    }
    // Leaves and the etcd key each dotted path came from, to name both sides of a conflict.
    std::map<std::string, std::string> leaf_key, section_key;
    for (const auto& [key, stored] : kvs_) {
      std::vector<std::string> segments;
      std::string_view rest = std::string_view(key).substr(key_.size());
      while (!rest.empty()) {
        auto slash = rest.find('/');
        std::string_view seg = rest.substr(0, slash);
        if (!seg.empty()) segments.emplace_back(seg);
        if (slash == std::string_view::npos) break;
        rest.remove_prefix(slash + 1);
      }
      if (segments.empty()) continue;  // the prefix itself ("/app/") holds no leaf
      // "/app/db.host" would read as db.host, the path of "/app/db/host": two etcd keys, one
      // dotted key. Rejected rather than mapped (an escape would be a dotted key nobody
      // types); '/' is how etcd nests.
      for (const auto& seg : segments)
        if (seg.find('.') != std::string::npos)
          return Error{fmt::format("{}{}: the key segment \"{}\" contains '.', which would read as a nested key; "
                                   "nest with '/' (revision {})", base, key, seg, applied_)};
      std::string dotted;
      Node* cur = &root;
      for (std::size_t i = 0; i < segments.size(); ++i) {
        if (!dotted.empty()) dotted += '.';
        dotted += segments[i];
        const bool last = i + 1 == segments.size();
        if (auto l = leaf_key.find(dotted); l != leaf_key.end())
          return Error{fmt::format("{}: {} is a value and {} is under it: a key cannot be both (revision {})", base,
                                   l->second, key, applied_)};
        if (last) {
          if (auto s = section_key.find(dotted); s != section_key.end())
            return Error{fmt::format("{}: {} is a value and {} is under it: a key cannot be both (revision {})", base,
                                     key, s->second, applied_)};
          leaf_key[dotted] = key;
          cur->set(segments[i], Node::parse_scalar(stored.value, origin_of(key, stored.mod_revision)));
        } else {
          section_key.emplace(dotted, key);
          Node* next = nullptr;
          auto& kids = NodeAccess::children(*cur);
          // Keys arrive sorted, so a section's members are contiguous: the last child is
          // the one to look at first.
          if (!kids.empty() && kids.back().name() == segments[i]) next = &kids.back();
          if (!next)
            for (Node& c : kids)
              if (c.name() == segments[i]) { next = &c; break; }
          if (!next) next = &cur->set(segments[i], Node::object(Origin{base + key_ + dotted, 0, 0}));
          cur = next;
        }
      }
    }
    return root;
  }

  // mu_ held. The tree of the applied state, or the last good one while the prefix is
  // empty (never publish emptiness), or the error that rejects this revision.
  Result<Node> tree_locked() {
    if (!built_ || built_revision_ != applied_) {
      built_ = build_tree();
      built_revision_ = applied_;
    }
    if (!*built_) return built_->error();
    const bool empty = (*built_)->size() == 0;
    if (empty && !options_.allow_empty) {
      std::string what = options_.document_key.empty() ? "no keys under " + key_ : "no document at " + key_;
      if (!last_good_)
        return Error{fmt::format("{}: {} at revision {} (set allow_empty to start from nothing)", name(), what, applied_)};
      empty_problem_ = fmt::format("{} at revision {}; keeping the last good values", what, applied_);
      return *last_good_;
    }
    empty_problem_.clear();
    last_good_ = **built_;
    if (!options_.cache_file.empty() && cache_revision_ != applied_ && !stats_.from_cache) {
      auto w = write_cache();
      if (!w) log_->warn("config: {}: cache file: {}", name(), w.error().message);
      cache_revision_ = applied_;
    }
    return **built_;
  }

  // --- cache file -----------------------------------------------------------------
  Result<void> write_cache() const {  // mu_ held
    json kvs = json::array();
    for (const auto& [k, v] : kvs_)
      kvs.push_back({{"key", etcd_wire::base64_encode(k)}, {"value", etcd_wire::base64_encode(v.value)},
                     {"mod_revision", std::to_string(v.mod_revision)}});
    json doc = {{"relive_etcd_cache", 1}, {"key", key_}, {"cluster_id", std::to_string(cluster_id_)},
                {"revision", std::to_string(applied_)}, {"kvs", std::move(kvs)}};
    return write_atomically(options_.cache_file, doc.dump());
  }

  Result<void> read_cache() {
    std::string text;
    {
      int fd = ::open(options_.cache_file.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return errno_error("open " + options_.cache_file.string());
      char buf[65536];
      for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        text.append(buf, static_cast<std::size_t>(n));
      }
      ::close(fd);
    }
    try {
      json doc = json::parse(text);
      if (doc.value("key", std::string()) != key_)
        return Error{options_.cache_file.string() + ": holds another key or prefix"};
      std::map<std::string, StoredValue> kvs;
      for (const auto& kv : doc.at("kvs")) {
        auto k = etcd_wire::base64_decode(kv.at("key").get<std::string>());
        auto v = etcd_wire::base64_decode(kv.at("value").get<std::string>());
        if (!k || !v) return Error{options_.cache_file.string() + ": invalid base64"};
        kvs[*k] = StoredValue{*v, std::stoll(kv.at("mod_revision").get<std::string>())};
      }
      std::lock_guard l(mu_);
      kvs_ = std::move(kvs);
      applied_ = std::stoll(doc.at("revision").get<std::string>());
      cluster_id_ = std::stoull(doc.at("cluster_id").get<std::string>());
      cache_revision_ = applied_;
      return {};
    } catch (const std::exception& e) {
      return Error{fmt::format("{}: unreadable ({})", options_.cache_file.string(), e.what())};
    }
  }

  // --- the watch thread ----------------------------------------------------------
  void notify() {
    if (changed_) changed_();
  }

  bool sleep_for(std::chrono::milliseconds d) { return worker_.sleep_for(d); }

  void set_link_problem(std::string p) {
    std::lock_guard l(mu_);
    link_problem_ = std::move(p);
  }

  // Failed tries back off (EtcdOptions: full jitter, doubling; a refused connection early
  // in an outage on the short schedule), and any source of this process on the same
  // endpoints that gets through first wakes the others (Worker::announce_back): with 200
  // watchers, one lucky early retry brings the rest back within rejoin_spread instead of
  // at their own doubled windows, seconds later. False: stop() came.
  //
  // Peers: grpc's connection backoff has one schedule for every failure, so a client can
  // sit in a long backoff after its server is back (grpc-java's resetConnectBackoff() is
  // the escape jetcd users reach for); retrying refusals at once instead is the tight loop
  // etcd's clientv3 watch once had. Hence: refusals jittered and capped, and only early in
  // an outage; and the wake-up plays the part of resetConnectBackoff() for a process's
  // sources, spread out.
  //
  // The short schedule counts its own attempts: a restart's many refused tries must not
  // have doubled the full backoff by the time a try times out (an etcd that listens
  // before it serves), or that one timeout would wait up to backoff_max.
  //
  // A try that failed while another source of this process found the endpoints back
  // (announced since seen_ was read) sleeps no backoff at all: it counts as woken. A try
  // that failed shortly after such news (a probe timed out on a busy, just-restarted etcd)
  // is on the short schedule too: the timeouts of etcd's start-up must not leave it in a
  // doubled backoff of seconds while the rest of the fleet is back.
  bool back_off(int& attempt) {
    const bool refused = client_->last_failure() == Failure::Refused;
    const auto now = Clock::now();
    if (!outage_began_) outage_began_ = now;
    const bool recently_back = transport::Worker::announced_within(server_, kBackNews);
    const bool restarting = (refused || recently_back) && now - *outage_began_ < options_.restart_grace;
    const auto delay = restarting ? transport::full_jitter(refused_attempt_++, options_.backoff_initial,
                                                           std::min(options_.backoff_max, options_.refused_backoff_max))
                                  : transport::full_jitter(attempt++, options_.backoff_initial, options_.backoff_max);
    {
      std::lock_guard l(mu_);
      ++stats_.retries;
      if (refused) ++stats_.refused_retries;
    }
    switch (worker_.backoff(delay, server_, seen_)) {
      case transport::Worker::Slept::Stopping: return false;
      case transport::Worker::Slept::Full: woken_ = false; return true;
      case transport::Worker::Slept::Woken: break;
    }
    {
      std::lock_guard l(mu_);
      ++stats_.woken;
    }
    woken_ = true;
    return sleep_for(transport::uniform_delay(options_.rejoin_spread));
  }

  // A try went through after failures: tell the others. Every source that gets through
  // says so, the woken ones too: a source whose own try failed after the first news (a
  // probe that timed out on a busy etcd) is sleeping again by now, and the next news
  // wakes it, instead of its doubled backoff. The woken ones wait their own random delay
  // before they try, so news never brings them back as one herd. False: stop() came.
  //
  // A source that found etcd back by itself also waits its own random delay in [0,
  // rejoin_spread) before its watch, as the woken ones did before their probe: a starting
  // etcd accepts connections before it serves them, and the probes it held then all
  // succeed at the same moment; without this delay they would reconnect as one herd.
  bool reached() {
    const bool after_outage = outage_began_.has_value();
    const bool found_it = after_outage && !woken_;
    outage_began_.reset();
    woken_ = false;
    if (!after_outage) return true;
    transport::Worker::announce_back(server_);
    if (!found_it) return true;
    return sleep_for(transport::uniform_delay(options_.rejoin_spread));
  }

  void run() {
    int attempt = 0;
    bool first_stream = true;
    bool logged_outage = false;
    while (!worker_.stopping()) {
      bool range_needed;
      {
        std::lock_guard l(mu_);
        range_needed = need_range_;
      }
      if (range_needed) {
        seen_ = transport::Worker::announcements(server_);
        auto r = full_range(options_.request_timeout);
        if (worker_.stopping()) break;
        if (!r) {
          {
            std::lock_guard l(mu_);
            // Until etcd answers, a cache boot stays "stale" in status(), whatever the error.
            link_problem_ = stats_.from_cache
                                ? fmt::format("{}: stale: serving the cache file {} (revision {}); etcd: {}; retrying",
                                              name(), options_.cache_file.string(), applied_, r.error().message)
                                : fmt::format("{}: cannot read: {}; keeping the last good values, retrying", name(),
                                              r.error().message);
          }
          if (!logged_outage) log_->warn("config: {}", *problem());
          logged_outage = true;
          if (!back_off(attempt)) break;
          continue;
        }
        notify();
        if (!reached()) break;
      }
      if (!first_stream && (attempt > 0 || refused_attempt_ > 0)) {
        if (woken_ && transport::Worker::announced_within(server_, kBackNews)) {
          // Woken by fresh news: another source of ours just got an answer, so etcd
          // serves; a probe now would only add a round trip to a busy, just-restarted
          // etcd. Should it stop serving again meanwhile, the watch's own deadline for
          // its "created" answer finds out.
          outage_began_.reset();
          woken_ = false;
        } else {
          if (!probe()) {
            if (!back_off(attempt)) break;
            continue;
          }
          if (!reached()) break;
        }
      }
      if (!first_stream) {
        std::lock_guard l(mu_);
        ++stats_.reconnects;
      }
      first_stream = false;
      const auto started = Clock::now();
      std::string why;
      bool resync = false;
      auto r = watch_once(why, resync, logged_outage);
      if (worker_.stopping()) break;
      seen_ = transport::Worker::announcements(server_);  // news from before the stream ended is old
      if (Clock::now() - started >= options_.healthy_after) attempt = refused_attempt_ = 0;
      if (resync) {
        std::lock_guard l(mu_);
        need_range_ = true;
        continue;  // a re-read is due at once, not after a backoff
      }
      if (!r) why = r.error().message;
      set_link_problem(fmt::format("{}: watch lost ({}); reconnecting", name(), why));
      if (!logged_outage) log_->warn("config: {}", *problem());
      logged_outage = true;
      if (!back_off(attempt)) break;
    }
  }

  // Before a reconnect's watch: a count_only range of one key, with a short timeout. A
  // restarting etcd accepts connections before it serves them; without the probe, every
  // watch sent during its start-up would be answered at the same moment (a herd). With it,
  // only the probes in flight then succeed at once; the rest come back at their jittered
  // retries.
  bool probe() {
    seen_ = transport::Worker::announcements(server_);
    // Long enough for an authentication (bcrypt on the server), short against a herd. Once
    // another source of ours got through, etcd serves: a slow answer then is a busy etcd
    // (200 reconnects on a loaded machine), and cutting it short would only add a retry.
    // Each probe that was not refused yet got no answer waits twice as long as the last
    // (up to request_timeout): a restarting etcd on a loaded machine may take longer than
    // the first timeout to answer, and with every probe cut short no source would find it
    // back before its own doubled backoff ran out. The longer probe is an idle connection
    // that etcd answers the moment it serves.
    auto timeout = std::min(std::max(options_.backoff_initial, std::chrono::milliseconds(500)), options_.request_timeout);
    for (int i = 0; i < probe_timeouts_ && timeout < options_.request_timeout; ++i) timeout *= 2;
    timeout = std::min(timeout, options_.request_timeout);
    if (transport::Worker::announced_within(server_, kBackNews)) timeout = options_.request_timeout;
    auto r = client_->range(key_, end_, 0, 1, true, timeout);
    if (!r && !worker_.stopping())
      set_link_problem(fmt::format("{}: etcd does not answer ({}); retrying", name(), r.error().message));
    if (r) probe_timeouts_ = 0;
    else if (client_->last_failure() != Failure::Refused) ++probe_timeouts_;
    return r.ok();
  }

  // One watch stream from applied+1 until it dies (why) or needs a re-read (resync).
  Result<void> watch_once(std::string& why, bool& resync, bool& logged_outage) {
    std::int64_t from;
    {
      std::lock_guard l(mu_);
      from = applied_ + 1;
    }
    const auto idle_deadline = options_.progress_interval * std::max(1, options_.idle_factor);
    const auto sent = Clock::now();
    auto last_line = sent;
    bool created = false;
    auto next_check = options_.check_interval.count() > 0 ? Clock::now() + options_.check_interval
                                                          : Clock::time_point::max();
    auto on_response = [&](const etcd_wire::WatchResponse& w) -> Next {
      last_line = Clock::now();
      std::unique_lock l(mu_);
      if (w.header.cluster_id != 0 && cluster_id_ != 0 && w.header.cluster_id != cluster_id_) {
        log_->warn("config: {}: the cluster id changed from {} to {}; re-reading", where(), cluster_id_,
                   w.header.cluster_id);
        resync = true;
        return Next::Stop;
      }
      if (w.compact_revision > 0) {
        log_->warn("config: {}: revision {} was compacted (etcd kept from {}); re-reading at a fresh revision",
                   where(), applied_ + 1, w.compact_revision);
        ++stats_.compactions;
        resync = true;
        return Next::Stop;
      }
      if (w.canceled) {
        why = "watch canceled: " + (w.cancel_reason.empty() ? std::string("no reason given") : w.cancel_reason);
        if (w.cancel_reason.find("auth") != std::string::npos) client_->drop_token();
        return Next::Stop;
      }
      if (w.header.revision != 0 && w.header.revision < applied_ && w.events.empty()) {
        log_->warn("config: {}: the revision went back from {} to {} (etcd restored from a backup?); re-reading",
                   where(), applied_, w.header.revision);
        resync = true;
        return Next::Stop;
      }
      if (w.created) {
        created = true;
        if (!link_problem_.empty() || logged_outage)
          log_->info("config: {}: watching again from revision {}", name(), applied_ + 1);
        link_problem_.clear();
        logged_outage = false;
        return Next::Continue;
      }
      bool changed = false;
      std::int64_t newest = applied_;
      for (const auto& e : w.events) {
        if (e.kv.mod_revision <= applied_) {  // seen before a reconnect
          ++stats_.events_dropped;
          continue;
        }
        if (e.is_delete) kvs_.erase(e.kv.key);
        else kvs_[e.kv.key] = StoredValue{e.kv.value, e.kv.mod_revision};
        newest = std::max(newest, e.kv.mod_revision);
        ++stats_.events_applied;
        changed = true;
      }
      if (w.events.empty() && w.header.revision > applied_) newest = w.header.revision;  // progress
      applied_ = newest;
      if (!changed) return Next::Continue;
      ++stats_.responses_applied;
      l.unlock();
      notify();  // one response, one version
      return worker_.stopping() ? Next::Stop : Next::Continue;
    };
    auto tick = [&]() -> Next {
      if (worker_.stopping()) return Next::Stop;
      const auto now = Clock::now();
      if (!created && now - sent > options_.request_timeout) {
        // A watch request etcd took but does not answer: an etcd that accepts connections
        // before it serves them (restarting), found without waiting for the idle deadline.
        why = fmt::format("etcd did not acknowledge the watch within {}", ms(options_.request_timeout));
        return Next::Stop;
      }
      if (now - last_line > idle_deadline) {
        why = fmt::format("silent for more than {} ({} x the progress interval)", ms(idle_deadline),
                          options_.idle_factor);
        return Next::Stop;
      }
      if (now >= next_check) {
        next_check = now + options_.check_interval;
        return consistency_check(why, resync) ? Next::Continue : Next::Stop;
      }
      return Next::Continue;
    };
    auto r = client_->watch(key_, end_, from, on_response, tick);
    if (!r) return r;
    if (why.empty() && !resync) why = "the stream ended";
    return {};
  }

  // A count_only range at the applied revision must count what we hold. False: the
  // stream is to end (a re-read is due, or etcd did not answer).
  bool consistency_check(std::string& why, bool& resync) {
    std::int64_t at;
    std::size_t have;
    {
      std::lock_guard l(mu_);
      at = applied_;
      have = kvs_.size();
      ++stats_.checks;
    }
    auto r = client_->range(key_, end_, at, 0, true, options_.request_timeout);
    if (!r) {
      if (client_->last_failure() == Failure::Compacted) {
        resync = true;  // our revision is older than etcd keeps: re-read to be sure
        return false;
      }
      why = "consistency check failed: " + r.error().message;
      return false;
    }
    if (static_cast<std::size_t>(r->count) != have) {
      log_->warn("config: {}: consistency check: etcd has {} keys at revision {}, we hold {}; re-reading", where(),
                 r->count, at, have);
      resync = true;
      return false;
    }
    return true;
  }

  EtcdOptions options_;
  std::string key_, end_;
  std::shared_ptr<spdlog::logger> log_;
  std::unique_ptr<etcd_wire::Client> client_;  // used by load()'s first call, then by run()
  bool first_load_done_ = false;                // loader thread only

  mutable std::mutex mu_;
  std::map<std::string, StoredValue> kvs_;  // the state at applied_
  std::int64_t applied_ = 0;
  std::uint64_t cluster_id_ = 0;
  std::size_t endpoint_ = 0;
  bool need_range_ = false;
  std::string link_problem_, empty_problem_;
  EtcdStats stats_;
  std::optional<Result<Node>> built_;
  std::int64_t built_revision_ = -1;
  std::optional<Node> last_good_;
  std::int64_t cache_revision_ = -1;

  // The watch thread's outage state (run() only).
  std::string server_;                              // the endpoints: Worker::backoff's key
  std::optional<Clock::time_point> outage_began_;  // the first failed try since etcd last answered
  bool woken_ = false;                              // the last backoff was cut short by another source
  int refused_attempt_ = 0;                         // tries on the short (refused) schedule
  std::uint64_t seen_ = 0;                          // Worker::announcements() before the last try
  int probe_timeouts_ = 0;                          // probes in a row that got no answer (not refused)

  std::function<void()> changed_;
  transport::Worker worker_;  // last: stopped (joined) before the state above goes
};

}  // namespace

std::shared_ptr<EtcdSource> etcd(EtcdOptions options) { return std::make_shared<EtcdSourceImpl>(std::move(options)); }

}  // namespace relive::config
