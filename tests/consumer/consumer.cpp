// A program that uses an installed relive as a user's project would: it includes only
// <relive/...> headers and links only what find_package(relive) or pkg-config give it.
// Built by tests/consumer/cmake/ (CMake package) and tests/consumer/pkgconfig/ (plain
// Makefile); run by tests/consumer/run. Exit 0 and "consumer: ok" when
//   - relive::config loads a YAML file, sees the file change, and publishes the new value;
//   - relive::burst_sink holds a debug message back and writes it just before an error.
// Anything else: one line naming what went wrong, exit 1.
#include <relive/burst_sink.hpp>
#include <relive/config.hpp>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

namespace fs = std::filesystem;

namespace {

int fail(const std::string& why) {
  std::fprintf(stderr, "consumer: FAILED: %s\n", why.c_str());
  return 1;
}

// Writes the file the way an editor's atomic save does (write aside, rename over).
void save(const fs::path& path, const std::string& text) {
  fs::path tmp = path;
  tmp += ".tmp";
  std::ofstream(tmp) << text;
  fs::rename(tmp, path);
}

}  // namespace

int main() {
  char dir_template[] = "/tmp/relive-consumer-XXXXXX";
  if (!mkdtemp(dir_template)) return fail("mkdtemp");
  const fs::path dir = dir_template;
  const fs::path file = dir / "app.yaml";
  save(file, "greeting: hello\nworkers: 2\n");

  // Burst logging through spdlog: an ostream sink wrapped in the burst sink.
  std::ostringstream out;
  auto text_sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  auto burst = std::make_shared<relive::burst_sink_mt>(spdlog::sink_ptr(text_sink));
  auto logger = std::make_shared<spdlog::logger>("consumer", spdlog::sink_ptr(burst));
  logger->set_level(spdlog::level::trace);
  logger->set_pattern("%l %v");

  int rc = 0;
  {
    relive::config::Options options;
    options.sources = {relive::config::file(file)};
    auto cfg = relive::config::Config::open(std::move(options));
    if (!cfg) return fail("Config::open: " + cfg.error().message);
    if (cfg->get("greeting", "") != "hello") return fail("first version: greeting is not hello");
    logger->debug("loaded version {}", cfg->version());

    save(file, "greeting: bonjour\nworkers: 3\n");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (cfg->get("greeting", "") != "bonjour") {
      if (std::chrono::steady_clock::now() > deadline) return fail("the edit was not seen within 20 s");
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    auto snap = cfg->pin();
    if (snap->get<int64_t>("workers", 0) != 3) return fail("new version: workers is not 3");
    logger->debug("reloaded: version {}", snap->version());
    if (out.str().find("reloaded") != std::string::npos) {
      rc = fail("a debug message was written before any error");
    }
    logger->error("something failed");
    logger->flush();
  }
  fs::remove_all(dir);
  if (rc != 0) return rc;

  const std::string log = out.str();
  const auto debug_at = log.find("debug reloaded: version 2");
  const auto error_at = log.find("error something failed");
  if (debug_at == std::string::npos || error_at == std::string::npos || debug_at > error_at) {
    return fail("burst sink: expected the debug line, then the error; got:\n" + log);
  }
  std::printf("consumer: ok (config reloaded to version 2; burst wrote the debug line before the error)\n");
  return 0;
}
