// relive/config.hpp — live configuration: layered sources merged into immutable, validated
// snapshots, published atomically (through relive::Cell), read at about the cost of a
// pointer load, with typed bindings, change notifications and resources rebuilt on change.
//
// The five steps of docs/architecture.md, applied to configuration:
//   build    every source is re-read and merged (later sources override earlier ones);
//   validate typed bindings are converted and user validators run — any failure rejects the
//            whole snapshot, is logged once ("app.yaml:12:9: db.timeout: expected a
//            duration, got \"fast\"; keeping version 7 from 12:01:33") and kept in status();
//   publish  one atomic swap; content identical to the current version publishes nothing;
//   pin      Config::pin() / Binding<T>::pin() hold one version for one request;
//   retire   an old version (and an old resource) is destroyed when its last pin goes.
//
// Example:
//   namespace app {
//   struct Db { std::string host; int port = 5432; std::chrono::milliseconds timeout{500}; };
//   // Found by ADL. Runs once per version, at load time; throwing rejects the snapshot.
//   void from_config(const relive::config::Node& n, Db& db) {
//     db.host = n.at("host").as<std::string>();        // required
//     db.port = n.get("port", db.port);                 // optional, typed
//     db.timeout = n.get("timeout", db.timeout);        // "250ms", "5s", "1m30s"
//   }
//   }
//
//   using namespace relive::config;
//   Options opts;
//   opts.sources = {file("config/app.yaml"), directory("config/conf.d"), env("APP"),
//                   overrides({"log.level=debug"})};
//   opts.validators.push_back([](const Snapshot& s) -> relive::Result<void> {
//     if (s.get<int64_t>("workers", 1) < 1) return relive::Error{"workers: must be >= 1"};
//     return {};
//   });
//   auto cfg = Config::open(std::move(opts));            // first load fails -> Error
//   if (!cfg) { fmt::print(stderr, "{}\n", cfg.error().message); return 1; }
//   auto db = cfg->bind<app::Db>("db");                   // Result<Binding<app::Db>>
//   auto sub = cfg->subscribe("log", [](const Update& u) { ... u.changes ... });
//   // per request:
//   auto snap = cfg->pin();                               // one consistent version
//   auto level = snap->get<std::string>("log.level", "info");
//   auto d = db->pin();  connect(d->host, d->port, d->timeout);
//
// Threads: every const member function of Config, Snapshot, Node, Binding and Resource may
// be called from any thread. Reloads run on the watcher's thread; subscriber callbacks run
// on one dispatcher thread owned by the Config. See docs/config.md for the user guide.
//
// fork(): a Config created before fork() keeps working in the child. pthread_atfork
// handlers hold the loader's locks across fork() (except those the forking thread itself
// holds: fork() from a callback, a resource factory or a Source::load() is fine) and, in
// the child, only mark the Config: its watcher and dispatcher start on the child's first
// call of pin(), get(), version(), subscribe(), reload() or status() (a child that execs
// pays nothing). The parent is unaffected.
//
// The parts: relive/config_node.hpp (values, conversions), relive/config_source.hpp
// (sources, formats, limits), and this header (snapshots, diffs, the Config itself), which
// includes the other two.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "relive/cell.hpp"
#include "relive/config_node.hpp"
#include "relive/config_source.hpp"
#include "relive/error.hpp"
// How the templates below reach the loader (defined in src/config): not API.
#include "relive/internal/config_core.hpp"

namespace relive::config {

template <class T>
class Binding;

// ---------------------------------------------------------------------------------------
// One leaf of a snapshot: its dotted key, its value as text, where it was set.
struct Entry {
  std::string key;
  std::string value;  // Node::to_string() of the leaf ("[]"/"{}" for empty containers)
  Origin origin;
};

// One immutable, validated version of the merged configuration. Cheap to copy (shared
// internals). Every member may be called from any thread.
class Snapshot {
 public:
  Snapshot();  // version 0, an empty object

  std::uint64_t version() const { return version_; }  // 1 for the first load
  std::chrono::system_clock::time_point loaded_at() const { return loaded_at_; }
  const Node& root() const { return *root_; }

  // Dotted lookup; nullptr if absent.
  const Node* find(std::string_view dotted_key) const { return root_->find(dotted_key); }
  // The value at key as T; `fallback` when the key is absent OR not convertible to T.
  // Never throws. To reject a wrong type at load time instead, use Config::bind<T>(key).
  template <class T>
  T get(std::string_view dotted_key, T fallback) const {
    const Node* n = find(dotted_key);
    if (!n || n->is_null()) return fallback;
    try { return n->as<T>(); } catch (const std::exception&) { return fallback; }
  }
  std::string get(std::string_view dotted_key, const char* fallback) const {
    return get<std::string>(dotted_key, std::string(fallback));
  }
  // Which source set this key (leaf or section); nullptr if the key is absent.
  const Origin* origin(std::string_view dotted_key) const;
  // All leaves, in tree order, with their origins (for `show --explain`).
  std::vector<Entry> entries() const;

 private:
  friend struct SnapshotAccess;
  template <class T>
  friend class Binding;
  // The value built by a Binding for this version (what Binding<T>::pin() reads).
  const void* bound(std::size_t slot) const {
    return slot < bound_.size() ? bound_[slot].get() : nullptr;
  }
  std::uint64_t version_ = 0;
  std::chrono::system_clock::time_point loaded_at_{};
  std::shared_ptr<const Node> root_;
  std::vector<std::shared_ptr<const void>> bound_;
};

using SnapshotCell = Cell<Snapshot>;
// What pin() returns: keeps one Snapshot alive; use -> / * / get().
using SnapshotPin = Pin<Snapshot>;

// ---------------------------------------------------------------------------------------
// Secrets: keys matching any pattern (glob: * and ?, case-insensitive, against the full
// dotted key) are shown as "***" in logs, diffs, show and watch.
std::vector<std::string> default_secret_patterns();  // *password*, *secret*, *token*, *key

class Redactor {
 public:
  explicit Redactor(std::vector<std::string> patterns = default_secret_patterns());
  bool is_secret(std::string_view dotted_key) const;
  // `value`, or "***" when key is a secret.
  std::string show(std::string_view dotted_key, std::string_view value) const;
  const std::vector<std::string>& patterns() const { return patterns_; }
 private:
  std::vector<std::string> patterns_;
};

// One changed leaf between two versions. nullopt = absent on that side.
struct KeyChange {
  std::string key;
  std::optional<std::string> old_value;
  std::optional<std::string> new_value;
};

// Leaf-level differences from `before` to `after`, sorted by key, restricted to keys equal
// to `prefix` or under it ("db" matches db, db.host, not dbx). Unredacted: pass them
// through format_diff() (or a Redactor) before printing.
std::vector<KeyChange> diff(const Snapshot& before, const Snapshot& after,
                            std::string_view prefix = {});
// One line per change: "+ key = new", "- key = old", "~ key: old -> new" (secrets: ***).
std::string format_diff(const std::vector<KeyChange>& changes, const Redactor& redactor);

// Renderings for `relive config check/show` (secrets redacted).
//   format_flat: "db.timeout = 5s" one leaf a line, in tree order; with explain, each line
//                ends with "  # config/app.yaml:3:12" (or "# env APP_DB__TIMEOUT").
//   format_json: the merged tree as indented JSON.
std::string format_flat(const Snapshot& snapshot, const Redactor& redactor, bool explain = false);
std::string format_json(const Snapshot& snapshot, const Redactor& redactor);

// ---------------------------------------------------------------------------------------
// A change notification: the version just published and its changed leaves under the
// subscribed prefix (never empty).
struct Update {
  std::uint64_t version = 0;
  std::vector<KeyChange> changes;
  Snapshot snapshot;  // the version published
};

// Rejects a whole snapshot with a message ("workers: must be >= 1").
using Validator = std::function<Result<void>(const Snapshot&)>;

struct Options {
  std::vector<std::shared_ptr<Source>> sources;  // later ones override earlier ones
  std::vector<Validator> validators;
  std::vector<std::string> secret_patterns = default_secret_patterns();
  // Watch the sources' files and reload on change. false: load once (config check).
  bool watch = true;
  // Quiet window of the watch engine: a save's events are coalesced into one reload.
  std::chrono::milliseconds quiet{5};
  // spdlog logger to log failures/recoveries on ("" = the default logger).
  std::string logger;
  // A version is published only with all its resources: a factory that throws on a
  // rebuild rejects the version (so readers never see pool_size: 5000 beside the pool built
  // from the previous version). false: publish it anyway, the failed resource unchanged.
  bool reject_version_on_resource_failure = true;
};

// What the loader knows now. Cheap to call; any thread. It changes in the same step as the
// published version: whoever has seen version N (a pin, a subscriber's Update) and then
// calls status() finds N's status or a later one — never the error that N resolved.
struct Status {
  std::uint64_t version = 0;                            // the version serving
  std::chrono::system_clock::time_point loaded_at{};    // when it was published
  std::optional<std::string> error;  // the last load's failure, until a good load clears it
  std::uint64_t reloads = 0;         // loads attempted after the first
  std::uint64_t failures = 0;        // of which failed
  // The last failed resource rebuild ("db: rebuilding the resource for version 4 failed:
  // ...; keeping the previous one"), until that resource is rebuilt successfully.
  std::optional<std::string> resource_error;
  // Source::problem() of each source that has one ("etcd://127.0.0.1:2379/app/: stale:
  // serving the cache file ... (revision 42); ...").
  std::vector<std::string> source_problems;
};

// A typed view of one section (or scalar key) built once per version at load time.
template <class T>
class Binding {
 public:
  // Holds the version's Snapshot and its T: `->`, `*`, get(). Movable.
  class Pinned {
   public:
    const T* get() const { return value_; }
    const T* operator->() const { return value_; }
    const T& operator*() const { return *value_; }
    const Snapshot& snapshot() const { return *pin_; }
   private:
    friend class Binding;
    Pinned(SnapshotPin p, const T* v) : pin_(std::move(p)), value_(v) {}
    SnapshotPin pin_;
    const T* value_;
  };
  // As cheap as Config::pin() plus an index. Any thread.
  Pinned pin() const {
    auto p = cell_->pin();
    const T* v = static_cast<const T*>(p->bound(slot_));
    return Pinned(std::move(p), v);
  }
  const std::string& key() const { return key_; }

 private:
  friend class Config;
  Binding(std::shared_ptr<const SnapshotCell> cell, std::size_t slot, std::string key)
      : cell_(std::move(cell)), slot_(slot), key_(std::move(key)) {}
  std::shared_ptr<const SnapshotCell> cell_;
  std::size_t slot_;
  std::string key_;
};

// A T built from a section by a factory, rebuilt only when that section changes.
template <class T>
class Resource {
 public:
  // Keeps this generation of T alive (the old one survives a rebuild while pinned).
  Pin<T> pin() const { return cell_->pin(); }
  // 1 for the first build, +1 per successful rebuild.
  std::uint64_t generation() const { return cell_->version(); }

 private:
  friend class Config;
  explicit Resource(std::shared_ptr<Cell<T>> cell) : cell_(std::move(cell)) {}
  std::shared_ptr<Cell<T>> cell_;
};

// Ends a subscription when destroyed (or on reset()).
class [[nodiscard]] Subscription {
 public:
  Subscription() = default;
  Subscription(Subscription&& o) noexcept : core_(std::move(o.core_)), id_(o.id_) {}
  Subscription& operator=(Subscription&& o) noexcept {
    if (this != &o) { reset(); core_ = std::move(o.core_); id_ = o.id_; }
    return *this;
  }
  ~Subscription() { reset(); }
  void reset() {
    if (auto c = core_.lock()) detail::unsubscribe(*c, id_);
    core_.reset();
  }
 private:
  friend class Config;
  Subscription(std::weak_ptr<detail::Core> c, std::uint64_t id) : core_(std::move(c)), id_(id) {}
  std::weak_ptr<detail::Core> core_;
  std::uint64_t id_ = 0;
};

class Config {
 public:
  // Loads every source, validates and publishes version 1, then (if options.watch) starts
  // watching. Fails — with the first problem, naming file:line:column and key — if a
  // source cannot be read or parsed, or validation rejects the result, or watching cannot
  // start. Call from any thread.
  static Result<Config> open(Options options);
  // Loads and validates once, without watching or threads (for `relive config check`).
  static Result<Snapshot> load(const Options& options);

  Config(Config&&) noexcept;
  Config& operator=(Config&&) noexcept;
  ~Config();  // stops watching and the dispatcher (joins both threads)

  // The current version, pinned for one unit of work. Any thread; never fails.
  SnapshotPin pin() const;
  // Shorthand for pin()->get(key, fallback).
  template <class T>
  T get(std::string_view dotted_key, T fallback) const { return pin()->get(dotted_key, std::move(fallback)); }
  std::string get(std::string_view dotted_key, const char* fallback) const {
    return pin()->get(dotted_key, fallback);
  }
  std::uint64_t version() const;

  // Binds key (a section or a scalar) to T via from_config(const Node&, T&). T is built
  // at every load, before publishing; a conversion that throws rejects that snapshot
  // (logged with file:line:col: key). A missing key converts from a Null node (so your
  // from_config can use defaults or call at() to require it). Fails if the current
  // version does not convert. Any thread.
  template <class T>
  Result<Binding<T>> bind(std::string key) {
    auto slot = detail::add_binding(*core_, key, [](const Node& n) -> std::shared_ptr<const void> {
      return std::make_shared<const T>(n.as<T>());
    });
    if (!slot) return slot.error();
    return Binding<T>(cell(), *slot, std::move(key));
  }

  // Builds a T from the section at key with factory(section) now (an exception -> Error),
  // then again for each new version in which that section changed, before that version is
  // published: whoever sees version N finds the T built from N. The old T is destroyed when
  // its last pin is released. If the factory throws on a rebuild, the old T stays and the
  // error is shown in status().resource_error; with
  // Options::reject_version_on_resource_failure (the default) the whole version is rejected
  // (logged like any load error; the previous version and all its resources keep serving),
  // without it the version is published beside the old T. Rebuilds run on the thread that
  // loads (the watch thread or the caller of reload()), one at a time: a factory must not
  // call reload() itself.
  template <class T>
  Result<Resource<T>> resource(std::string key, std::function<std::unique_ptr<T>(const Node&)> factory) {
    std::shared_ptr<Cell<T>> cell;
    try {
      auto first = factory(detail::section(*pin(), key));
      if (!first) return Error{key + ": resource factory returned nothing"};
      cell = std::make_shared<Cell<T>>(std::unique_ptr<const T>(first.release()));
    } catch (const std::exception& e) {
      return Error{key + ": building the resource failed: " + e.what()};
    } catch (...) {  // as on a rebuild: `throw 42` is this call's Error too
      return Error{key + ": building the resource failed: unknown exception (not a std::exception)"};
    }
    detail::add_resource(*core_, key, [cell, factory = std::move(factory)](const Node& section) -> std::function<void()> {
      std::shared_ptr<std::unique_ptr<T>> next = std::make_shared<std::unique_ptr<T>>(factory(section));  // may throw
      if (!*next) return {};
      return [cell, next] { cell->publish(std::unique_ptr<const T>(next->release())); };
    });
    return Resource<T>(cell);
  }

  // Calls callback(update) after each published version whose leaves under `prefix`
  // changed ("" = everything), on one dispatcher thread, in publish order. An exception
  // from a callback is logged and does not stop the others. Any thread.
  Subscription subscribe(std::string prefix, std::function<void(const Update&)> callback);

  // Re-reads every source now (also what the watcher triggers). Returns true if a new
  // version was published, false if the content was identical, or the Error (the current
  // version keeps serving). Any thread; serialized with watcher-triggered reloads.
  Result<bool> reload();

  Status status() const;
  const Redactor& redactor() const;

 private:
  explicit Config(std::shared_ptr<detail::Core> core);
  std::shared_ptr<const SnapshotCell> cell() const;
  std::shared_ptr<detail::Core> core_;
};

}  // namespace relive::config
