// The Config: loads and merges sources, validates, rebuilds the resources whose section
// changed, publishes through a Cell, reloads when the watch engine reports a change, and
// runs callbacks on its own dispatcher thread. Survives fork() (see the atfork handlers at
// the bottom).
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "internal.hpp"
#include "relive/watch.hpp"

namespace relive::config {

namespace detail {

namespace fs = std::filesystem;

struct BindingSlot {
  std::string key;
  std::function<std::shared_ptr<const void>(const Node&)> build;
};
struct ResourceHook {
  std::string key;
  std::function<void(const Node&)> rebuild;
};
struct Subscriber {
  std::uint64_t id;
  std::string prefix;
  std::function<void(const Update&)> callback;
};

void register_for_fork(Core* core);
void unregister_for_fork(Core* core);

struct Core {
  Options options;
  Redactor redactor;
  std::shared_ptr<spdlog::logger> log;
  std::shared_ptr<SnapshotCell> cell;

  // Lock order (also taken in this order by the fork handlers):
  //   dispatch_mu, watch_mu, load_mu, subs_mu, queue_mu, status_mu.
  // Each of our threads holds one of the first two whenever it is not waiting, so that at
  // fork() none of them is half-way through a malloc or a log line: the child must not
  // inherit a lock that no thread of its own will ever release (see prepare_fork()).
  std::mutex dispatch_mu;  // held while callbacks run (so unsubscribe is final)
  std::mutex watch_mu;     // held while the watch thread reads events and reloads
  std::mutex load_mu;      // serializes loads, binding registration and publishing
  Snapshot current;        // what the cell holds (load_mu)
  std::vector<BindingSlot> bindings;  // load_mu; index = Snapshot bound slot
  std::string last_logged;            // load_mu: a failure is logged once

  std::mutex subs_mu;
  std::vector<Subscriber> subscribers;
  std::vector<ResourceHook> resources;
  std::uint64_t next_id = 1;

  std::mutex queue_mu;
  std::unique_ptr<std::condition_variable> queue_cv = std::make_unique<std::condition_variable>();
  std::deque<std::pair<Snapshot, Snapshot>> queue;  // (before, after) in publish order
  bool stopping = false;
  std::unique_ptr<std::thread> dispatcher;
  std::atomic<std::thread::id> dispatcher_id{};

  mutable std::mutex status_mu;
  Status status;

  // Bumped by each of our threads as its first act; see start_thread().
  std::atomic<unsigned> threads_started{0};

  std::unique_ptr<watch::Watcher> watcher;  // driven by watch_thread through its fd
  std::unique_ptr<std::thread> watch_thread;
  int watch_stop_fd = -1;  // eventfd: tells watch_thread to return
  // Watched root -> file names that matter under it (empty set = everything: conf.d).
  std::map<fs::path, std::set<std::string>> interest;

  explicit Core(Options o)
      : options(std::move(o)), redactor(options.secret_patterns) {
    if (!options.logger.empty()) log = spdlog::get(options.logger);
    if (!log) log = spdlog::default_logger();
  }

  std::string keeping() const {
    return fmt::format("keeping version {} from {}", current.version(), clock_time(current.loaded_at()));
  }

  std::string describe(const TypeError& e) const {
    std::string got = redactor.is_secret(e.key()) ? "***" : e.got();
    std::string m;
    if (!e.origin().source.empty()) m += e.origin().to_string() + ": ";
    m += e.key().empty() ? "(top level)" : e.key();
    if (got.empty()) return m + ": " + e.expected();
    return m + ": expected " + e.expected() + ", got " + got;
  }

  // Before a version is published: rebuilds (and publishes) the resources whose section
  // changed, so that whoever sees version N also finds resources built from N. A factory
  // that throws keeps the old resource and does not hold the version back. load_mu held.
  void rebuild_resources(const Snapshot& before, const Snapshot& next) {
    std::vector<ResourceHook> hooks;
    {
      std::lock_guard s(subs_mu);
      hooks = resources;
    }
    for (const auto& hook : hooks) {
      Node new_section = section(next, hook.key);
      if (section(before, hook.key).same_value(new_section)) continue;
      try {
        hook.rebuild(new_section);
        std::lock_guard s(status_mu);
        if (status.resource_error && status.resource_error->starts_with(hook.key + ": "))
          status.resource_error.reset();
      } catch (const std::exception& e) {
        std::string m = fmt::format("{}: rebuilding the resource for version {} failed: {}; keeping the previous one",
                                    hook.key, next.version(), e.what());
        log->error("config: {}", m);
        std::lock_guard s(status_mu);
        status.resource_error = m;
      }
    }
  }

  // Reads, merges, converts and validates; publishes on success. load_mu held.
  Result<bool> load_locked(bool first) {
    Node merged = Node::object();
    for (const auto& source : options.sources) {
      // A source's exception (bad_alloc from a huge document, a plugin's bug) must not end
      // the watch thread, and with it the process: it is this load's error.
      Result<Node> layer = Error{""};
      try {
        layer = source->load();
      } catch (const std::exception& e) {
        return Error{fmt::format("{}: loading failed: {}", source->name(), e.what())};
      } catch (...) {
        return Error{source->name() + ": loading failed (an exception that is not a std::exception)"};
      }
      if (!layer) return layer.error();
      merge_into(merged, std::move(*layer));
    }
    assign_keys(merged);
    if (!first && merged.same_value(current.root())) return false;

    std::vector<std::shared_ptr<const void>> bound;
    bound.reserve(bindings.size());
    for (const auto& b : bindings) {
      Node section = merged.find(b.key) ? *merged.find(b.key) : Node::null();
      if (!merged.find(b.key)) NodeAccess::set_key(section, b.key);
      try {
        bound.push_back(b.build(section));
      } catch (const TypeError& e) {
        return Error{describe(e)};
      } catch (const std::exception& e) {
        return Error{fmt::format("{}: {}: {}", section.origin().to_string(), b.key, e.what())};
      }
    }
    auto now = std::chrono::system_clock::now();
    Snapshot next = SnapshotAccess::make(current.version() + 1, now, std::make_shared<const Node>(std::move(merged)),
                                         std::move(bound));
    for (const auto& validate : options.validators) {
      try {
        auto ok = validate(next);
        if (!ok) return Error{"rejected by a validator: " + ok.error().message};
      } catch (const TypeError& e) {
        return Error{"rejected by a validator: " + describe(e)};
      } catch (const std::exception& e) {
        return Error{std::string("rejected by a validator: ") + e.what()};
      }
    }
    Snapshot before = current;
    rebuild_resources(before, next);
    current = next;
    if (cell) {
      cell->publish(std::make_unique<const Snapshot>(next));
      std::lock_guard q(queue_mu);
      queue.emplace_back(std::move(before), std::move(next));
      queue_cv->notify_one();
    }
    return true;
  }

  Result<bool> reload(bool first = false) {
    std::lock_guard l(load_mu);
    auto r = load_locked(first);
    if (first) {
      if (r) {
        std::lock_guard s(status_mu);
        status.version = current.version();
        status.loaded_at = current.loaded_at();
      }
      return r;
    }
    std::string recovered_from;
    {
      std::lock_guard s(status_mu);
      ++status.reloads;
      if (r) {
        if (status.error) recovered_from = *status.error;
        status.error.reset();
        status.version = current.version();
        status.loaded_at = current.loaded_at();
      } else {
        ++status.failures;
        status.error = r.error().message + "; " + keeping();
      }
    }
    if (r) {
      last_logged.clear();
      if (!recovered_from.empty())
        log->info("config: version {} loaded; the earlier error is resolved", current.version());
      else if (*r)
        log->info("config: version {} loaded", current.version());
      return r;
    }
    std::string message = r.error().message + "; " + keeping();
    if (r.error().message != last_logged) {
      last_logged = r.error().message;
      log->error("config: {}", message);
    }
    return Error{message};
  }

  void dispatch_loop() {
    dispatcher_id.store(std::this_thread::get_id());
    for (;;) {
      std::pair<Snapshot, Snapshot> item;
      {
        std::unique_lock q(queue_mu);
        queue_cv->wait(q, [&] { return stopping || !queue.empty(); });
        if (queue.empty()) return;  // stopping and drained
        item = std::move(queue.front());
        queue.pop_front();
      }
      std::lock_guard d(dispatch_mu);
      dispatch(item.first, item.second);
      item = {};  // the last reference to a version may go here: free it under the lock too
    }
  }

  // dispatch_mu held.
  void dispatch(const Snapshot& before, const Snapshot& after) {
    std::vector<Subscriber> subs;
    {
      std::lock_guard s(subs_mu);
      subs = subscribers;
    }
    for (const auto& sub : subs) {
      auto changes = diff(before, after, sub.prefix);
      if (changes.empty()) continue;
      try {
        sub.callback(Update{after.version(), std::move(changes), after});
      } catch (const std::exception& e) {
        log->error("config: a callback for \"{}\" threw on version {}: {}", sub.prefix, after.version(), e.what());
      } catch (...) {
        log->error("config: a callback for \"{}\" threw on version {}", sub.prefix, after.version());
      }
    }
  }

  // Starts one of our threads and returns once it runs our code. A fork() right after
  // Config::open() must not catch it inside the runtime's thread start-up, which allocates
  // (ASan's does, under its allocator's lock): the child would inherit that lock held.
  template <class Body>
  std::unique_ptr<std::thread> start_thread(Body body) {
    const unsigned before = threads_started.load();
    auto thread = std::make_unique<std::thread>([this, body] {
      threads_started.fetch_add(1);
      threads_started.notify_all();
      body();
    });
    while (threads_started.load() == before) threads_started.wait(before);
    return thread;
  }

  void start_dispatcher() {
    stopping = false;
    dispatcher = start_thread([this] { dispatch_loop(); });
  }

  void stop_dispatcher() {
    {
      std::lock_guard q(queue_mu);
      stopping = true;
      queue_cv->notify_all();
    }
    if (dispatcher && dispatcher->joinable()) dispatcher->join();
    dispatcher.reset();
  }

  bool relevant(const watch::Batch& batch) const {
    if (batch.rescan) return true;
    for (const auto& change : batch.changes) {
      auto it = interest.find(change.root);
      if (it == interest.end()) return true;  // unknown root: be safe
      if (it->second.empty()) return true;    // a conf.d directory: every entry counts
      std::string first = change.path.substr(0, change.path.find('/'));
      if (it->second.count(first) || first.starts_with("..")) return true;  // ..data swap
      std::string old_first = change.old_path.substr(0, change.old_path.find('/'));
      if (!old_first.empty() && it->second.count(old_first)) return true;
    }
    return false;
  }

  Result<void> start_watching() {
    if (!options.watch) return {};
    interest.clear();
    for (const auto& s : options.sources) {
      for (const auto& f : s->watch_files()) {
        fs::path dir = f.parent_path().empty() ? fs::path(".") : f.parent_path();
        interest[dir].insert(f.filename().string());
      }
    }
    for (const auto& s : options.sources)
      for (const auto& d : s->watch_dirs()) interest[d].clear();
    // A directory that holds a file AND is a conf.d stays "everything".
    for (const auto& s : options.sources)
      for (const auto& d : s->watch_dirs()) interest[d] = {};
    std::vector<fs::path> roots;
    for (const auto& [root, names] : interest) roots.push_back(root);
    if (!roots.empty()) {
      watch::Options wo;
      wo.roots = roots;
      wo.quiet = options.quiet;
      // A reload is idempotent and cheap (identical content publishes nothing), so a long
      // adaptive quiet period buys nothing here and only delays multi-step saves such as
      // the ConfigMap swap.
      wo.max_quiet = std::max(options.quiet, std::chrono::milliseconds(15));
      wo.ignore.vcs_ignore = false;
      wo.ignore.reloadignore = false;
      wo.ignore.default_ignores = false;
      auto logger = log;
      wo.on_warning = [logger](const std::string& w) { logger->warn("config: watch: {}", w); };
      auto w = watch::Watcher::open(std::move(wo));
      if (!w) return Error{"config: cannot watch the configuration: " + w.error().message};
      watcher = std::move(*w);
      watch_stop_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
      if (watch_stop_fd < 0) return Error{"config: cannot watch the configuration: eventfd failed"};
      watch_thread = start_thread([this] { watch_loop(); });
    }
    // A push source (etcd) calls back from its own thread: reload under watch_mu like the
    // watch thread, so a fork never lands in the middle of it.
    for (const auto& s : options.sources) {
      s->start([this] {
        std::lock_guard w(watch_mu);
        (void)reload();
      });
    }
    return {};
  }

  // The watch thread: waits (holding nothing) for the watcher's fd, then reads and reloads
  // holding watch_mu, which prepare_fork() takes.
  void watch_loop() {
    pollfd fds[2] = {{watcher->fd(), POLLIN, 0}, {watch_stop_fd, POLLIN, 0}};
    for (;;) {
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        std::lock_guard w(watch_mu);
        log->error("config: watching stopped: poll failed: {}", std::strerror(errno));
        return;
      }
      if (fds[1].revents != 0) return;
      std::lock_guard w(watch_mu);
      for (const watch::Batch& batch : watcher->read_batches()) {
        if (relevant(batch)) (void)reload();
      }
    }
  }

  void stop_watching() {
    if (watch_thread) {
      std::uint64_t one = 1;
      [[maybe_unused]] auto written = ::write(watch_stop_fd, &one, sizeof one);
      watch_thread->join();
      watch_thread.reset();
    }
    if (watch_stop_fd >= 0) ::close(watch_stop_fd);
    watch_stop_fd = -1;
    watcher.reset();
  }

  void shutdown() {
    unregister_for_fork(this);
    for (const auto& s : options.sources) s->stop();
    stop_watching();
    stop_dispatcher();
  }

  // In a fork child: the threads are gone. Forget them (never join or destroy a thread
  // object of the parent's) and start new ones.
  void restart_in_child() {
    // The parent's watcher has no thread of its own (watch_thread drives it): destroying it
    // here just closes the child's copies of its fds. The eventfd is shared with the parent,
    // so the child gets its own (start_watching()).
    watcher.reset();
    if (watch_stop_fd >= 0) ::close(watch_stop_fd);
    watch_stop_fd = -1;
    (void)watch_thread.release();  // its thread does not exist here; leak it deliberately
    (void)dispatcher.release();    // likewise
    queue_cv.release();          // may hold the state of a waiter that no longer exists
    queue_cv = std::make_unique<std::condition_variable>();
  }
  void start_threads_in_child() {
    start_dispatcher();
    auto r = start_watching();
    if (!r) log->error("{} (in the child after fork)", r.error().message);
  }
};

Node section(const Snapshot& snapshot, const std::string& key) {
  if (const Node* n = snapshot.find(key)) return *n;
  Node n = Node::null();
  NodeAccess::set_key(n, key);
  return n;
}

Result<std::size_t> add_binding(Core& core, std::string key,
                                std::function<std::shared_ptr<const void>(const Node&)> build) {
  std::lock_guard l(core.load_mu);
  std::shared_ptr<const void> value;
  Node sec = section(core.current, key);
  try {
    value = build(sec);
  } catch (const TypeError& e) {
    return Error{core.describe(e)};
  } catch (const std::exception& e) {
    return Error{fmt::format("{}: {}: {}", sec.origin().to_string(), key, e.what())};
  }
  core.bindings.push_back(BindingSlot{key, std::move(build)});
  auto bound = SnapshotAccess::bound(core.current);
  bound.push_back(std::move(value));
  // Same version, same values: readers of the new slot need it in the published snapshot.
  core.current = SnapshotAccess::make(core.current.version(), core.current.loaded_at(),
                                      SnapshotAccess::root_ptr(core.current), std::move(bound));
  core.cell->publish(std::make_unique<const Snapshot>(core.current));
  return core.bindings.size() - 1;
}

void add_resource(Core& core, std::string key, std::function<void(const Node&)> rebuild) {
  std::lock_guard s(core.subs_mu);
  core.resources.push_back(ResourceHook{std::move(key), std::move(rebuild)});
}

void log_error(Core& core, const std::string& message) { core.log->error("config: {}", message); }

void unsubscribe(Core& core, std::uint64_t id) {
  auto remove = [&] {
    std::lock_guard s(core.subs_mu);
    std::erase_if(core.subscribers, [&](const Subscriber& sub) { return sub.id == id; });
  };
  if (core.dispatcher_id.load() == std::this_thread::get_id()) {
    remove();  // from inside a callback: dispatch_mu is ours already
  } else {
    std::lock_guard d(core.dispatch_mu);  // after this, the callback never runs again
    remove();
  }
}

// --- fork -------------------------------------------------------------------------------

namespace {
std::mutex& registry_mu() {
  static std::mutex mu;
  return mu;
}
std::set<Core*>& registry() {
  static std::set<Core*> cores;
  return cores;
}

void prepare_fork() {
  registry_mu().lock();
  for (Core* c : registry()) {
    c->dispatch_mu.lock();
    c->watch_mu.lock();
    c->load_mu.lock();
    c->subs_mu.lock();
    c->queue_mu.lock();
    c->status_mu.lock();
  }
}
void unlock_all() {
  for (Core* c : registry()) {
    c->status_mu.unlock();
    c->queue_mu.unlock();
    c->subs_mu.unlock();
    c->load_mu.unlock();
    c->watch_mu.unlock();
    c->dispatch_mu.unlock();
  }
}
void parent_after_fork() {
  unlock_all();
  registry_mu().unlock();
}
void child_after_fork() {
  for (Core* c : registry()) c->restart_in_child();
  unlock_all();
  std::vector<Core*> cores(registry().begin(), registry().end());
  registry_mu().unlock();
  for (Core* c : cores) c->start_threads_in_child();
}
}  // namespace

void register_for_fork(Core* core) {
  static std::once_flag once;
  std::call_once(once, [] { pthread_atfork(prepare_fork, parent_after_fork, child_after_fork); });
  std::lock_guard l(registry_mu());
  registry().insert(core);
}

void unregister_for_fork(Core* core) {
  std::lock_guard l(registry_mu());
  registry().erase(core);
}

}  // namespace detail

// --- Config -------------------------------------------------------------------------------

Result<Snapshot> Config::load(const Options& options) {
  detail::Core core(options);
  auto r = core.reload(true);
  if (!r) return r.error();
  return core.current;
}

Result<Config> Config::open(Options options) {
  auto core = std::make_shared<detail::Core>(std::move(options));
  auto r = core->reload(true);
  if (!r) return r.error();
  core->cell = std::make_shared<SnapshotCell>(std::make_unique<const Snapshot>(core->current));
  core->start_dispatcher();
  auto w = core->start_watching();
  if (!w) {
    core->shutdown();
    return w.error();
  }
  detail::register_for_fork(core.get());
  core->log->info("config: version 1 loaded from {} source(s)", core->options.sources.size());
  return Config(std::move(core));
}

Config::Config(std::shared_ptr<detail::Core> core) : core_(std::move(core)) {}
Config::Config(Config&&) noexcept = default;
Config& Config::operator=(Config&& other) noexcept {
  if (this != &other) {
    if (core_) core_->shutdown();
    core_ = std::move(other.core_);
  }
  return *this;
}
Config::~Config() {
  if (core_) core_->shutdown();
}

SnapshotPin Config::pin() const { return core_->cell->pin(); }

std::uint64_t Config::version() const { return pin()->version(); }

std::shared_ptr<const SnapshotCell> Config::cell() const { return core_->cell; }

Subscription Config::subscribe(std::string prefix, std::function<void(const Update&)> callback) {
  std::lock_guard s(core_->subs_mu);
  std::uint64_t id = core_->next_id++;
  core_->subscribers.push_back(detail::Subscriber{id, std::move(prefix), std::move(callback)});
  return Subscription(core_, id);
}

Result<bool> Config::reload() { return core_->reload(); }

Status Config::status() const {
  std::lock_guard s(core_->status_mu);
  return core_->status;
}

const Redactor& Config::redactor() const { return core_->redactor; }

}  // namespace relive::config
