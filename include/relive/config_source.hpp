// relive/config_source.hpp — where configuration comes from: the Source interface (files,
// directories, environment, overrides built in; etcd/HTTP sources implement it too), the
// formats (JSON, YAML, TOML) and the Limits that bound what one file may make the loader
// build. Included by relive/config.hpp.
//
// Example:
//   relive::config::Limits limits;
//   limits.max_file_bytes = 8 << 20;
//   auto src = relive::config::file("config/app.yaml", relive::config::Format::Auto, limits);
//   auto tree = src->load();   // Result<Node>; errors name file:line:column
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relive/config_node.hpp"
#include "relive/error.hpp"

namespace relive::config {

// ---------------------------------------------------------------------------------------
// A source of configuration. Files, directories, environment and overrides are built in;
// implement this interface for another (etcd, HTTP): load() returns a tree; a source
// that learns of changes by itself (not from files) calls `changed` from start().
class Source {
 public:
  virtual ~Source() = default;
  // Short name for messages: the path, "env APP_*", "overrides".
  virtual std::string name() const = 0;
  // Reads the source completely. Errors name file:line:column and key. Called on the
  // loader thread only (never concurrently with itself). An exception thrown here fails
  // that load ("<name()>: loading failed: <what>"); the last good version keeps serving.
  // Keep the tree within Limits::max_depth: the merge descends it recursively.
  virtual Result<Node> load() = 0;
  // Files to watch (the Config watches the directories that hold them, and the directory
  // of each hop when a file is a symlink); empty if none.
  virtual std::vector<std::filesystem::path> watch_files() const { return {}; }
  // Directories whose every entry counts (conf.d).
  virtual std::vector<std::filesystem::path> watch_dirs() const { return {}; }
  // Push sources: begin/stop telling the Config that load() would now return something
  // new. `changed` may be called from any thread; it reloads on that thread before it
  // returns (so never call it holding a lock your load() takes). In a fork() child,
  // start() is called again when the child first uses the Config: the parent's thread is
  // gone there, so start a new one and never join the old. For fork-safety, your thread should be idle (waiting, not
  // allocating) whenever it is not inside `changed`.
  virtual void start(std::function<void()> changed) { (void)changed; }
  virtual void stop() {}
  // A source that serves its last good data while it cannot reach its origin (a remote
  // center that is down, a cache file at start-up) says why here, one line; nullopt when it
  // is current. Shown in Config::status().source_problems. Any thread.
  virtual std::optional<std::string> problem() const { return std::nullopt; }
};

enum class Format { Auto, Json, Yaml, Toml };  // Auto: by extension (.json .yaml .yml .toml)

// Bounds on what one file may make the loader build. A file past one is rejected with one
// line naming file:line:column and the limit (under live reload the last good version keeps
// serving). The defaults are far beyond any real configuration; every recursion in the
// config part is bounded by max_depth.
struct Limits {
  std::size_t max_depth = 256;                         // nested arrays/objects
  std::uint64_t max_file_bytes = 64ull << 20;          // a larger file is not parsed
  std::size_t max_alias_nodes = 100'000;               // YAML: nodes made by expanding aliases
  std::uint64_t max_alias_bytes = 16ull << 20;         // YAML: bytes those nodes hold
};

// A file. A missing file is an error at open; later, a deleted file keeps the last good
// values (status() says so) until it is re-created. Symlinks are followed on every read
// (Kubernetes ConfigMap ..data swaps work).
std::shared_ptr<Source> file(std::filesystem::path path, Format format = Format::Auto, Limits limits = {});
// Every *.json/*.yaml/*.yml/*.toml in `dir` (not recursive), merged in name order.
// A missing directory is an error (as for files).
std::shared_ptr<Source> directory(std::filesystem::path dir, Limits limits = {});
// Environment variables PREFIX_A__B=v -> a.b (lower-cased; "__" separates levels, a
// single "_" stays in the name: APP_LOG_LEVEL -> log_level). Values are parsed as scalars
// (Node::parse_scalar). Read from the process environment at every load; not watched.
std::shared_ptr<Source> env(std::string prefix);
// Explicit "dotted.key=value" overrides (command-line flags). Values parsed as scalars.
// A malformed item (no '=' or empty key) is an error at load.
std::shared_ptr<Source> overrides(std::vector<std::string> assignments);

// Parses text as one format (for tests and tools). `origin_name` names it in errors.
// YAML: one document; merge keys (<<) are applied; duplicate keys are errors (also JSON).
Result<Node> parse(std::string_view text, Format format, std::string origin_name, const Limits& limits = {});

}  // namespace relive::config
