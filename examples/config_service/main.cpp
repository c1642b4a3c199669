// config_service — a small HTTP server (cpp-httplib) whose greeting, rate limit and log
// level come from config.yaml and change live, without a restart. A bad edit is rejected
// (the server keeps the last good version and says why); a rate limiter is a *resource*
// rebuilt only when the `limits` section changes.
//
//   build/examples/config_service/config_service --config examples/config_service/config.yaml
//   curl localhost:8080/            # "Hello, world!" (429 once over the rate limit)
//   curl localhost:8080/config      # the version serving, and any rejected edit
//   $EDITOR examples/config_service/config.yaml   # save: the next request sees it
//
// Options: --config FILE (default config.yaml), --port N (0: any free port; the chosen
// port is printed as "listening on http://127.0.0.1:N"), --env PREFIX (default GREETER:
// GREETER_GREETING__TEXT=Hi overrides greeting.text), --set key=value (repeatable).
//
// How the parts fit (relive::config):
//   Binding<Greeting>     "greeting" converted to a struct once per version, at load time;
//                         a request pins it: as cheap as a pointer load, never torn.
//   Resource<RateLimiter> built from "limits"; rebuilt only when that section changes; the
//                         old limiter lives on while a request still holds it.
//   subscribe("log")      applies log.level to spdlog when it changes.
//   validators            reject limits.per_second <= 0 and unknown log levels: the bad
//                         version never reaches a request.
#include <httplib.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "relive/config.hpp"

namespace greeter {

namespace cfg = relive::config;

struct Greeting {
  std::string text = "Hello";
  std::string audience = "world";
};

// Found by ADL; runs once per version while loading. Throwing rejects the version.
void from_config(const cfg::Node& n, Greeting& g) {
  g.text = n.get("text", g.text);
  g.audience = n.get("audience", g.audience);
}

// A token bucket: `per_second` tokens a second, at most `burst` saved up. Built from the
// `limits` section; its counters are its own, so rebuilding it (new limits) starts afresh.
class RateLimiter {
 public:
  RateLimiter(double per_second, double burst)
      : per_second_(per_second), burst_(burst), tokens_(burst), last_(Clock::now()) {}
  bool admit() const {
    std::lock_guard lock(mutex_);
    const auto now = Clock::now();
    tokens_ = std::min(burst_, tokens_ + std::chrono::duration<double>(now - last_).count() * per_second_);
    last_ = now;
    if (tokens_ < 1) return false;
    tokens_ -= 1;
    return true;
  }
  double per_second() const { return per_second_; }
  double burst() const { return burst_; }

 private:
  using Clock = std::chrono::steady_clock;
  const double per_second_;
  const double burst_;
  mutable std::mutex mutex_;  // the generation is immutable; its bucket is not
  mutable double tokens_;
  mutable Clock::time_point last_;
};

bool valid_level(const std::string& level) {
  return spdlog::level::from_str(level) != spdlog::level::off || level == "off";
}

}  // namespace greeter

int main(int argc, char** argv) {
  namespace cfg = relive::config;
  using greeter::Greeting;
  using greeter::RateLimiter;

  CLI::App app{"A greeting server configured live from YAML", "config_service"};
  std::string config_path = "config.yaml";
  int port = 8080;
  std::string env_prefix = "GREETER";
  std::vector<std::string> sets;
  app.add_option("--config", config_path, "The YAML file to serve from (watched)");
  app.add_option("--port", port, "Port on 127.0.0.1 (0: any free port)");
  app.add_option("--env", env_prefix, "Environment prefix (PREFIX_A__B=v sets a.b)");
  app.add_option("--set", sets, "Override key=value (repeatable)");
  CLI11_PARSE(app, argc, argv);

  // Stop on SIGINT/SIGTERM: blocked before any thread starts, waited for below.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  cfg::Options options;
  options.sources = {cfg::file(config_path), cfg::env(env_prefix)};
  if (!sets.empty()) options.sources.push_back(cfg::overrides(sets));
  options.validators.push_back([](const cfg::Snapshot& s) -> relive::Result<void> {
    if (s.get<double>("limits.per_second", 1) <= 0) return relive::Error{"limits.per_second: must be > 0"};
    if (s.get<double>("limits.burst", 1) < 1) return relive::Error{"limits.burst: must be >= 1"};
    const std::string level = s.get("log.level", "info");
    if (!greeter::valid_level(level)) return relive::Error{"log.level: unknown level \"" + level + "\""};
    return {};
  });
  auto config = cfg::Config::open(std::move(options));
  if (!config) {  // the first load failing is an error at start: file:line:col: key message
    std::fprintf(stderr, "config_service: %s\n", config.error().message.c_str());
    return 1;
  }

  auto greeting = config->bind<Greeting>("greeting");
  if (!greeting) {
    std::fprintf(stderr, "config_service: %s\n", greeting.error().message.c_str());
    return 1;
  }
  auto limiter = config->resource<RateLimiter>("limits", [](const cfg::Node& limits) {
    auto made = std::make_unique<RateLimiter>(limits.get("per_second", 5.0), limits.get("burst", 10.0));
    spdlog::info("rate limiter built: {}/s, burst {}", made->per_second(), made->burst());
    return made;
  });
  if (!limiter) {
    std::fprintf(stderr, "config_service: %s\n", limiter.error().message.c_str());
    return 1;
  }
  auto apply_level = [](const std::string& level) { spdlog::set_level(spdlog::level::from_str(level)); };
  apply_level(config->get("log.level", "info"));
  auto log_subscription = config->subscribe("log", [&](const cfg::Update& update) {
    apply_level(update.snapshot.get("log.level", "info"));
    spdlog::warn("log level is now {}", update.snapshot.get("log.level", "info"));
  });

  httplib::Server server;
  server.Get("/", [&](const httplib::Request&, httplib::Response& res) {
    auto limit = limiter->pin();  // this request's limiter, even if a rebuild lands now
    if (!limit->admit()) {
      res.status = 429;
      res.set_content("slow down\n", "text/plain");
      spdlog::debug("429: over {}/s", limit->per_second());
      return;
    }
    auto g = greeting->pin();  // one consistent version of the greeting
    res.set_content(g->text + ", " + g->audience + "!\n", "text/plain");
    spdlog::debug("greeted {} (version {})", g->audience, g.snapshot().version());
  });
  server.Get("/config", [&](const httplib::Request&, httplib::Response& res) {
    const cfg::Status st = config->status();
    auto snap = config->pin();
    auto limit = limiter->pin();
    std::string body = "version " + std::to_string(st.version) + "\n";
    body += "greeting.text = " + snap->get("greeting.text", "") + "\n";
    body += fmt::format("limits = {}/s burst {} (limiter generation {})\n", limit->per_second(), limit->burst(),
                        limiter->generation());
    body += "log.level = " + snap->get("log.level", "info") + "\n";
    if (st.error) body += "rejected: " + *st.error + "\n";
    res.set_content(body, "text/plain");
  });

  const int bound = port == 0 ? server.bind_to_any_port("127.0.0.1")
                              : (server.bind_to_port("127.0.0.1", port) ? port : -1);
  if (bound < 0) {
    std::fprintf(stderr, "config_service: cannot listen on 127.0.0.1:%d\n", port);
    return 1;
  }
  std::thread http([&] { server.listen_after_bind(); });
  std::printf("listening on http://127.0.0.1:%d (config %s, version %llu)\n", bound, config_path.c_str(),
              static_cast<unsigned long long>(config->version()));
  std::fflush(stdout);

  int sig = 0;
  sigwait(&stop, &sig);
  server.stop();
  http.join();
  return 0;
}
