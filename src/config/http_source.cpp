// The HTTP document source: GET a JSON/YAML/TOML document, then poll it with conditional
// requests (ETag / Last-Modified, 304 = unchanged) or follow it with Consul-style blocking
// queries (?index=N&wait=..., X-Consul-Index). Outages keep the last good document; a body
// that does not parse is rejected like a broken file.
//
// Threads: load() on the Config's loader thread (its first call GETs, bounded by
// request_timeout); then one Worker thread polls and calls the Config back (changed_)
// after each new document, holding no lock. mu_ guards what both sides read.
#include <cctype>
#include <mutex>
#include <optional>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "internal.hpp"
#include "transport.hpp"

namespace relive::config {
namespace {

using namespace std::chrono_literals;

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Content-Type first (application/json, application/yaml, application/toml), then the
// URL's extension (before any query), else YAML (which also reads JSON).
Format format_of(const std::string& url, const std::string& content_type, Format configured) {
  if (configured != Format::Auto) return configured;
  const std::string ct = lower(content_type);
  if (ct.find("json") != std::string::npos) return Format::Json;
  if (ct.find("toml") != std::string::npos) return Format::Toml;
  if (ct.find("yaml") != std::string::npos) return Format::Yaml;
  std::string path = lower(url.substr(0, url.find('?')));
  if (path.ends_with(".json")) return Format::Json;
  if (path.ends_with(".toml")) return Format::Toml;
  return Format::Yaml;
}

class HttpSourceImpl final : public HttpSource {
 public:
  explicit HttpSourceImpl(HttpOptions o) : options_(std::move(o)), transport_(transport::curl(options_.tls)) {
    if (!options_.logger.empty()) log_ = spdlog::get(options_.logger);
    if (!log_) log_ = spdlog::default_logger();
  }
  ~HttpSourceImpl() override { stop(); }

  std::string name() const override { return options_.url; }

  Result<Node> load() override {
    if (!first_done_) {
      if (!options_.url.starts_with("http://") && !options_.url.starts_with("https://"))
        return Error{fmt::format("http source \"{}\": the URL must start with http:// or https://", options_.url)};
      auto r = fetch(/*blocking_index=*/false);
      if (!r) return r.error();
      first_done_ = true;
    }
    std::lock_guard l(mu_);
    if (content_error_) return Error{*content_error_};
    if (!good_) return Error{options_.url + ": no document yet"};
    return *good_;
  }

  void start(std::function<void()> changed) override {
    if (worker_.inherited()) {
      (void)transport_.release();  // the parent's connections: leak, never close
      transport_ = transport::curl(options_.tls);
    }
    changed_ = std::move(changed);
    worker_.start([this] { run(); });
  }
  void stop() override {
    worker_.stop([this] { transport_->interrupt(); });
  }

  std::optional<std::string> problem() const override {
    std::lock_guard l(mu_);
    if (problem_.empty()) return std::nullopt;
    return problem_;
  }

  HttpStats stats() const override {
    std::lock_guard l(mu_);
    return stats_;
  }

 private:
  enum class Outcome { Changed, Unchanged, Failed };

  // One request. On a new document: parses it and stores the tree (or the parse error).
  // Errors (only the first load returns them): the request failed or was refused.
  Result<Outcome> fetch(bool blocking_index) {
    transport::Request req;
    req.url = options_.url;
    req.headers = options_.headers;
    req.timeout = options_.request_timeout;
    std::uint64_t index_sent = 0;
    {
      std::lock_guard l(mu_);
      ++stats_.requests;
      if (options_.long_poll && blocking_index) {
        index_sent = stats_.index;
        req.url += fmt::format("{}index={}&wait={}s", req.url.find('?') == std::string::npos ? '?' : '&', index_sent,
                               std::max<long>(1, static_cast<long>(options_.long_poll_wait.count() / 1000)));
        req.timeout = options_.long_poll_wait + options_.long_poll_wait / 16 + options_.request_timeout;
      } else if (!options_.long_poll) {
        if (!etag_.empty()) req.headers.push_back("If-None-Match: " + etag_);
        if (!last_modified_.empty()) req.headers.push_back("If-Modified-Since: " + last_modified_);
      }
    }
    auto r = transport_->send(req);
    std::unique_lock l(mu_);
    auto failed = [&](std::string why) -> Result<Outcome> {
      ++stats_.failures;
      problem_ = fmt::format("{}: {}; keeping the last good version", options_.url, why);
      if (!first_done_) return Error{fmt::format("{}: {}", options_.url, why)};
      return Outcome::Failed;
    };
    if (!r) return failed(r.error().message);
    if (options_.long_poll) {
      // Consul: the index only moves forward; if it goes backwards (a restored or new
      // leader), start again from 0. It also comes with a 404, so a missing key blocks too.
      const std::string h = r->header("x-consul-index");
      std::uint64_t idx = 0;
      try {
        idx = h.empty() ? 0 : std::stoull(h);
      } catch (const std::exception&) {
        idx = 0;
      }
      if (idx < index_sent) {
        log_->warn("config: {}: X-Consul-Index went back from {} to {}; starting again from 0", options_.url,
                   index_sent, idx);
        idx = 0;
      }
      stats_.index = idx;
    }
    if (r->status == 304) {
      ++stats_.not_modified;
      problem_.clear();
      return Outcome::Unchanged;
    }
    if (r->status != 200) return failed(fmt::format("HTTP {}", r->status));
    if (r->body.find_first_not_of(" \t\r\n") == std::string::npos) return failed("HTTP 200 with an empty body");
    problem_.clear();
    if (!options_.long_poll) {
      etag_ = r->header("etag");
      last_modified_ = r->header("last-modified");
    }
    if (have_body_ && r->body == body_) {
      ++stats_.not_modified;
      return Outcome::Unchanged;
    }
    body_ = r->body;
    have_body_ = true;
    auto doc = parse(body_, format_of(options_.url, r->header("content-type"), options_.format), options_.url);
    if (!doc) {
      content_error_ = doc.error().message;
      if (!first_done_) return doc.error();
      return Outcome::Changed;
    }
    if (!doc->is_object()) {
      content_error_ = options_.url + ": the document is not a mapping";
      if (!first_done_) return Error{*content_error_};
      return Outcome::Changed;
    }
    content_error_.reset();
    good_ = std::move(*doc);
    return Outcome::Changed;
  }

  std::chrono::milliseconds jittered_interval() {
    const double j = std::clamp(options_.jitter, 0.0, 1.0);
    const auto interval = static_cast<double>(options_.interval.count());
    const auto span = std::chrono::milliseconds(static_cast<std::int64_t>(interval * 2 * j));
    const auto base = std::chrono::milliseconds(static_cast<std::int64_t>(interval * (1 - j)));
    return base + (span.count() > 0 ? transport::full_jitter(0, span + 1ms, span + 1ms) : 0ms);
  }

  void run() {
    int attempt = 0;
    bool logged = false;
    while (!worker_.stopping()) {
      if (!options_.long_poll && !worker_.sleep_for(jittered_interval())) break;
      auto r = fetch(/*blocking_index=*/true);
      if (worker_.stopping()) break;
      const Outcome outcome = r ? *r : Outcome::Failed;
      if (outcome == Outcome::Failed) {
        if (!logged) log_->warn("config: {}", problem().value_or(options_.url + ": failed"));
        logged = true;
        if (options_.long_poll &&
            !worker_.sleep_for(transport::full_jitter(attempt++, options_.backoff_initial, options_.backoff_max)))
          break;
        continue;
      }
      if (logged) log_->info("config: {}: answering again", options_.url);
      logged = false;
      attempt = 0;
      if (outcome == Outcome::Changed && changed_) changed_();
    }
  }

  HttpOptions options_;
  std::unique_ptr<transport::Transport> transport_;
  std::shared_ptr<spdlog::logger> log_;
  bool first_done_ = false;

  mutable std::mutex mu_;
  std::optional<Node> good_;
  std::optional<std::string> content_error_;
  std::string problem_;
  std::string etag_, last_modified_;
  std::string body_;
  bool have_body_ = false;
  HttpStats stats_;

  std::function<void()> changed_;
  transport::Worker worker_;  // last: joined before the state above goes
};

}  // namespace

std::shared_ptr<HttpSource> http(HttpOptions options) { return std::make_shared<HttpSourceImpl>(std::move(options)); }

}  // namespace relive::config
