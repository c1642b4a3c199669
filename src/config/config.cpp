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
#include <optional>
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
  std::function<std::function<void()>(const Node&)> rebuild;  // builds; returns the publish step
};
struct Subscriber {
  std::uint64_t id;
  std::string prefix;
  std::function<void(const Update&)> callback;
};

void register_for_fork(Core* core);
void unregister_for_fork(Core* core);

using Interest = std::map<fs::path, std::set<std::string>>;

// fork() copies only the forking thread. So that the child never inherits one of our
// data structures half-way through a change (or a lock that no thread of its own will ever
// release), a fork waits until none of our threads is *running our code*; threads that are
// waiting (for a lock, an event, a condition) or running user code (a callback, a resource
// factory, a Source::load(), a binding's conversion) are not waited for, and until the fork
// is done they stop at the gate before they touch our state again. prepare_fork() takes no
// lock that such a thread may hold: two threads can fork at once, one of them from inside a
// callback, and neither waits for the other. In the child, our locks that the forking
// thread does not hold are re-initialised (their holders do not exist there), as glibc's
// malloc does with its arena locks; what they protect is consistent, since no holder was
// inside our code.
class ForkGate {
 public:
  // This thread starts running our code: waits while a fork is being prepared.
  void enter() {
    std::unique_lock l(mu_);
    cv_->wait(l, [&] { return !forking_; });
    ++busy_;
  }
  // This thread stops running our code (it waits, or runs user code, or is done).
  void leave() {
    std::lock_guard l(mu_);
    if (--busy_ == 0 && forking_) cv_->notify_all();
  }
  // Before fork(): from now on no thread enters our code; returns once none runs it but
  // (when `self_busy`) the forking thread. Keeps mu_ locked until after the fork.
  void prepare(bool self_busy) {
    std::unique_lock l(mu_);
    forking_ = true;
    const int others_done = self_busy ? 1 : 0;
    cv_->wait(l, [&] { return busy_ == others_done; });
    l.release();
  }
  void parent() {
    forking_ = false;
    cv_->notify_all();
    mu_.unlock();
  }
  // In the child only the forking thread exists.
  void child(bool self_busy) {
    forking_ = false;
    busy_ = self_busy ? 1 : 0;
    (void)cv_.release();  // may hold the state of waiters that do not exist here
    cv_ = std::make_unique<std::condition_variable>();
    mu_.unlock();
  }

 private:
  std::mutex mu_;
  std::unique_ptr<std::condition_variable> cv_ = std::make_unique<std::condition_variable>();
  bool forking_ = false;
  int busy_ = 0;  // threads running our code
};

ForkGate& fork_gate() {
  static ForkGate* gate = new ForkGate;  // never destroyed: a thread may fork during exit
  return *gate;
}

// How deep the current thread is in our code (nested Holding/OurCode scopes); 0 while it
// runs user code. The thread counts as running our code while this is above 0.
thread_local int our_depth = 0;
// The Core mutexes the current thread holds (also while it runs user code): a fork from
// that user code leaves them alone in the child, whose copy of this thread releases them
// as it unwinds.
thread_local std::vector<std::mutex*> held_by_this_thread;

// A scope of our code that holds no lock but must not be cut by a fork (a thread start).
class OurCode {
 public:
  OurCode() {
    if (our_depth++ == 0) fork_gate().enter();
  }
  ~OurCode() {
    if (--our_depth == 0) fork_gate().leave();
  }
  OurCode(const OurCode&) = delete;
  OurCode& operator=(const OurCode&) = delete;
};

// Every lock of a Core (and of the fork registry) is taken through this: waiting for the
// mutex does not count as running our code (its holder may be stopped at the gate, or be
// in a callback that forks), holding it does.
class Holding {
 public:
  explicit Holding(std::mutex& mu) : mu_(mu) {
    if (our_depth > 0) fork_gate().leave();
    mu_.lock();
    fork_gate().enter();
    ++our_depth;
    held_by_this_thread.push_back(&mu_);
  }
  ~Holding() {
    held_by_this_thread.pop_back();
    mu_.unlock();
    if (--our_depth == 0) fork_gate().leave();
  }
  Holding(const Holding&) = delete;
  Holding& operator=(const Holding&) = delete;
  std::mutex& mutex() { return mu_; }
 private:
  std::mutex& mu_;
};

// Around a call of user code (which may fork, or block on anything): the thread does not
// count as running our code meanwhile, and passes the gate again on its way back.
class InUserCode {
 public:
  InUserCode() : saved_(our_depth) {
    if (saved_ > 0) {
      our_depth = 0;
      fork_gate().leave();
    }
  }
  ~InUserCode() {
    if (saved_ > 0) {
      fork_gate().enter();
      our_depth = saved_;
    }
  }
  InUserCode(const InUserCode&) = delete;
  InUserCode& operator=(const InUserCode&) = delete;
 private:
  int saved_;
};

// cv.wait() under a Holding of its mutex: waiting is not running our code.
template <class Pred>
void wait_on(std::condition_variable& cv, Holding& held, Pred pred) {
  std::unique_lock l(held.mutex(), std::adopt_lock);
  while (!pred()) {
    fork_gate().leave();
    cv.wait(l);
    fork_gate().enter();  // with the mutex held, like Holding's constructor
  }
  l.release();
}

struct Core {
  Options options;
  Redactor redactor;
  std::shared_ptr<spdlog::logger> log;
  std::shared_ptr<SnapshotCell> cell;

  // Lock order: dispatch_mu, watch_mu, load_mu, subs_mu, queue_mu, status_mu. Each is
  // taken through Holding (see ForkGate: the fork handlers take none of them).
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

  // One watcher per directory of interest (each with its own rules: only the files that
  // matter there, never subdirectories), driven by watch_thread through their fds.
  std::vector<std::unique_ptr<watch::Watcher>> watchers;
  std::unique_ptr<std::thread> watch_thread;
  int watch_stop_fd = -1;  // eventfd: tells watch_thread to return
  // Watched directory -> file names that matter in it (empty set = every entry: conf.d).
  Interest interest;

  // Set in a fork() child: the threads are gone; the first use of the Config starts them.
  std::atomic<bool> needs_restart{false};
  std::mutex restart_mu;

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

  // What rebuild_resources() built for a version, applied when that version is published.
  struct Rebuilt {
    std::vector<std::function<void()>> commits;  // each publishes one new resource
    std::vector<std::string> keys;               // the resources rebuilt
    std::optional<std::string> failure;          // a rebuild that failed (option off)
  };

  // Before a version is published: builds the resources whose section changed, so that
  // whoever sees version N also finds resources built from N. Returns what publishes them,
  // or — when a factory throws and reject_version_on_resource_failure is on — the error
  // that rejects the version (nothing built is published). Option off: the failed resource
  // keeps its old T and the version goes out. load_mu held.
  Result<Rebuilt> rebuild_resources(const Snapshot& before, const Snapshot& next) {
    std::vector<ResourceHook> hooks;
    {
      Holding s(subs_mu);
      hooks = resources;
    }
    Rebuilt out;
    // A factory's failure: the error that rejects the version (option on), or nothing after
    // noting it for the version's status (option off: the old resource stays, the version goes out).
    auto failed = [&](const std::string& key, std::string_view what) -> std::optional<Error> {
      if (options.reject_version_on_resource_failure) {
        std::string m = fmt::format("{}: rebuilding the resource failed: {}", key, what);
        Holding s(status_mu);
        status.resource_error = m + "; keeping the previous version";
        return Error{m};
      }
      std::string m = fmt::format("{}: rebuilding the resource for version {} failed: {}; keeping the previous one",
                                  key, next.version(), what);
      log->error("config: {}", m);
      out.failure = std::move(m);
      return std::nullopt;
    };
    for (const auto& hook : hooks) {
      Node new_section = section(next, hook.key);
      if (section(before, hook.key).same_value(new_section)) continue;
      try {
        std::function<void()> commit;
        {
          InUserCode user;
          commit = hook.rebuild(new_section);
        }
        if (commit) out.commits.push_back(std::move(commit));
        out.keys.push_back(hook.key);
      } catch (const std::exception& e) {
        if (auto error = failed(hook.key, e.what())) return *error;
      } catch (...) {  // `throw 42` on the watch thread would otherwise terminate the process
        if (auto error = failed(hook.key, "unknown exception (not a std::exception)")) return *error;
      }
    }
    return out;
  }

  // The resource part of the status of a version about to be published: the rebuilt
  // resources' earlier failures are resolved, a new failure is shown. status_mu held.
  void record_resources(const Rebuilt& rebuilt) {
    for (const auto& key : rebuilt.keys)
      if (status.resource_error && status.resource_error->starts_with(key + ": ")) status.resource_error.reset();
    if (rebuilt.failure) status.resource_error = rebuilt.failure;
  }

  // Reads, merges, converts and validates; publishes on success. load_mu held.
  Result<bool> load_locked(bool first) {
    Node merged = Node::object();
    for (const auto& source : options.sources) {
      // A source's exception (bad_alloc from a huge document, a plugin's bug) must not end
      // the watch thread, and with it the process: it is this load's error.
      Result<Node> layer = Error{""};
      try {
        InUserCode user;
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
        std::shared_ptr<const void> value;
        {
          InUserCode user;
          value = b.build(section);
        }
        bound.push_back(std::move(value));
      } catch (const TypeError& e) {
        return Error{describe(e)};
      } catch (const std::exception& e) {
        return Error{fmt::format("{}: {}: {}", section.origin().to_string(), b.key, e.what())};
      } catch (...) {  // not a std::exception: still this version's error, not the watch thread's end
        return Error{fmt::format("{}: {}: unknown exception (not a std::exception)", section.origin().to_string(),
                                 b.key)};
      }
    }
    auto now = std::chrono::system_clock::now();
    Snapshot next = SnapshotAccess::make(current.version() + 1, now, std::make_shared<const Node>(std::move(merged)),
                                         std::move(bound));
    for (const auto& validate : options.validators) {
      try {
        Result<void> ok = Error{""};
        {
          InUserCode user;
          ok = validate(next);
        }
        if (!ok) return Error{"rejected by a validator: " + ok.error().message};
      } catch (const TypeError& e) {
        return Error{"rejected by a validator: " + describe(e)};
      } catch (const std::exception& e) {
        return Error{std::string("rejected by a validator: ") + e.what()};
      } catch (...) {
        return Error{"rejected by a validator: unknown exception (not a std::exception)"};
      }
    }
    Snapshot before = current;
    auto rebuilt = rebuild_resources(before, next);
    if (!rebuilt) return rebuilt.error();
    for (auto& commit : rebuilt->commits) commit();
    current = next;
    {
      // The status changes in the same step as the published version: whoever pins N
      // (or is notified of it) and then asks status() finds N's, never the error N cleared.
      Holding s(status_mu);
      if (cell) cell->publish(std::make_unique<const Snapshot>(next));
      record_success(first);
      record_resources(*rebuilt);
    }
    if (cell) {
      // The dispatcher runs callbacks and frees versions holding bound values (user types)
      // off the loader's thread. With neither, it has nothing to do: waking it anyway costs
      // each Config a second thread wake-up per version, which for a fleet of Configs in
      // one process (200 watching one etcd) doubles what a change queues up for the CPU.
      bool for_dispatcher = !bindings.empty();
      if (!for_dispatcher) {
        Holding s(subs_mu);
        for_dispatcher = !subscribers.empty();
      }
      if (for_dispatcher) {
        Holding q(queue_mu);
        queue.emplace_back(std::move(before), std::move(next));
        queue_cv->notify_one();
      }
    }
    return true;
  }

  // A load that succeeded: the version serving (current) and a cleared error go into the
  // status. load_mu and status_mu held.
  void record_success(bool first) {
    if (!first) ++status.reloads;
    status.error.reset();
    status.version = current.version();
    status.loaded_at = current.loaded_at();
  }

  Result<bool> reload(bool first = false) {
    Holding l(load_mu);
    bool had_error = false;  // only loads (under load_mu) set or clear status.error
    {
      Holding s(status_mu);
      had_error = status.error.has_value();
    }
    Result<bool> r = false;
    try {
      r = load_locked(first);
    } catch (const std::exception& e) {  // bad_alloc merging a huge tree: this load fails, nothing else
      r = Error{std::string("loading failed: ") + e.what()};
    } catch (...) {
      r = Error{"loading failed: unknown exception (not a std::exception)"};
    }
    // A load that published a version recorded its status with the publish; the others
    // (identical content, a failure) are recorded here.
    const bool published = r && *r;
    if (!published) {
      Holding s(status_mu);
      if (r) {
        record_success(first);
      } else if (!first) {
        ++status.reloads;
        ++status.failures;
        status.error = r.error().message + "; " + keeping();
      }
    }
    if (first) return r;
    if (r) {
      last_logged.clear();
      if (had_error)
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
        Holding q(queue_mu);
        wait_on(*queue_cv, q, [&] { return stopping || !queue.empty(); });
        if (queue.empty()) return;  // stopping and drained
        item = std::move(queue.front());
        queue.pop_front();
      }
      Holding d(dispatch_mu);
      dispatch(item.first, item.second);
      item = {};  // the last reference to a version may go here: free it under the lock too
    }
  }

  // dispatch_mu held.
  void dispatch(const Snapshot& before, const Snapshot& after) {
    std::vector<Subscriber> subs;
    {
      Holding s(subs_mu);
      subs = subscribers;
    }
    for (const auto& sub : subs) {
      auto changes = diff(before, after, sub.prefix);
      if (changes.empty()) continue;
      try {
        InUserCode user;
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
    OurCode ours;  // a fork waits until the new thread runs our code
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
      Holding q(queue_mu);
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

  // The directories to watch and the names that matter in each: every source file's
  // directory, and the directory of each hop of a file that is a symlink (app.yaml ->
  // /etc/shared/real.yaml is edited there). Hops through a ".." entry of the file's own
  // directory (Kubernetes' ..data) are followed by the watch engine inside that directory.
  Interest compute_interest() const {
    Interest out;
    for (const auto& s : options.sources) {
      for (const auto& f : s->watch_files()) {
        fs::path dir = f.parent_path().empty() ? fs::path(".") : f.parent_path();
        out[dir].insert(f.filename().string());
        fs::path hop = f;
        for (int i = 0; i < 40; ++i) {  // the kernel's own limit on a chain of links
          std::error_code ec;
          if (!fs::is_symlink(hop, ec)) break;
          fs::path target = fs::read_symlink(hop, ec);
          if (ec) break;
          if (target.is_relative()) target = hop.parent_path() / target;
          target = target.lexically_normal();
          fs::path hop_dir = hop.parent_path().empty() ? fs::path(".") : hop.parent_path();
          fs::path rel = target.parent_path().lexically_relative(hop_dir);
          if (!rel.empty() && rel.begin()->string().starts_with("..") && rel.begin()->string() != "..") break;
          out[target.parent_path().empty() ? fs::path(".") : target.parent_path()].insert(target.filename().string());
          hop = target;
        }
      }
    }
    for (const auto& s : options.sources)
      for (const auto& d : s->watch_dirs()) out[d] = {};  // a conf.d: every entry (but no subdirectory)
    return out;
  }

  // gitignore-syntax rules that leave a directory's watch with only what matters: the
  // names of interest (and Kubernetes' ..data entries), or for a conf.d its files. Never a
  // subdirectory: one watch per directory, and no other file's writes hold a reload back.
  static std::vector<std::string> rules_for(const std::set<std::string>& names) {
    auto escape = [](const std::string& name) {
      std::string out;
      for (char c : name) {
        if (c == '*' || c == '?' || c == '[' || c == '\\' || c == '!' || c == '#') out += '\\';
        out += c;
      }
      return out;
    };
    std::vector<std::string> rules;
    if (names.empty()) {
      rules = {"/*/", "!/..*/"};
    } else {
      rules = {"/*", "!/..*"};
      for (const auto& n : names) rules.push_back("!/" + escape(n));
    }
    return rules;
  }

  Result<std::vector<std::unique_ptr<watch::Watcher>>> open_watchers(const Interest& dirs) {
    std::vector<std::unique_ptr<watch::Watcher>> out;
    for (const auto& [dir, names] : dirs) {
      auto w = watch::Watcher::open(watch_options(dir, names));
      if (!w) return Error{"config: cannot watch the configuration: " + w.error().message};
      out.push_back(std::move(*w));
    }
    return out;
  }

  // What the watcher of one directory of interest is opened with.
  watch::Options watch_options(const fs::path& dir, const std::set<std::string>& names) const {
    watch::Options wo;
    wo.roots = {dir};
    wo.quiet = options.quiet;
    // A reload is idempotent and cheap (identical content publishes nothing), so a long
    // adaptive quiet period buys nothing here and only delays multi-step saves such as
    // the ConfigMap swap.
    wo.max_quiet = std::max(options.quiet, std::chrono::milliseconds(15));
    wo.ignore.vcs_ignore = false;
    wo.ignore.reloadignore = false;
    wo.ignore.default_ignores = false;
    wo.ignore.globs = rules_for(names);
    auto logger = log;
    wo.on_warning = [logger](const std::string& w) { logger->warn("config: watch: {}", w); };
    return wo;
  }

  Result<void> start_watching() {
    if (!options.watch) return {};
    interest = compute_interest();
    if (!interest.empty()) {
      auto w = open_watchers(interest);
      if (!w) return w.error();
      watchers = std::move(*w);
      watch_stop_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
      if (watch_stop_fd < 0) return Error{"config: cannot watch the configuration: eventfd failed"};
      watch_thread = start_thread([this] { watch_loop(); });
    }
    // A push source (etcd) calls back from its own thread: reload under watch_mu like the
    // watch thread, so a fork never lands in the middle of it.
    for (const auto& s : options.sources) {
      InUserCode user;
      s->start([this] {
        Holding w(watch_mu);
        (void)reload();
      });
    }
    return {};
  }

  // After a reload: a symlink may point elsewhere now. Watch the new set of directories
  // (opened before the old ones close, then one more reload: nothing is missed). watch_mu.
  void follow_moved_links() {
    Interest now = compute_interest();
    if (now == interest) return;
    auto w = open_watchers(now);
    if (!w) {
      log->error("{} (after a symlink changed)", w.error().message);
      return;
    }
    watchers = std::move(*w);
    interest = std::move(now);
    (void)reload();
  }

  // The watch thread: waits (holding nothing) for the watchers' fds, then reads and
  // reloads holding watch_mu, which prepare_fork() takes.
  void watch_loop() {
    std::vector<pollfd> fds;
    for (;;) {
      fds.clear();
      fds.push_back({watch_stop_fd, POLLIN, 0});
      for (const auto& w : watchers) fds.push_back({w->fd(), POLLIN, 0});
      if (::poll(fds.data(), fds.size(), -1) < 0) {
        if (errno == EINTR) continue;
        Holding w(watch_mu);
        log->error("config: watching stopped: poll failed: {}", std::strerror(errno));
        return;
      }
      if (fds[0].revents != 0) return;
      Holding w(watch_mu);
      bool changed = false;
      for (const auto& watcher : watchers)
        for (const watch::Batch& batch : watcher->read_batches())
          if (relevant(batch)) changed = true;
      if (changed) {
        (void)reload();
        follow_moved_links();
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
    watchers.clear();
  }

  void shutdown() {
    unregister_for_fork(this);
    if (needs_restart.load(std::memory_order_relaxed)) {
      // A fork() child that never used this Config: the threads and the stop eventfd are
      // the parent's. Forget them; stopping them would stop the parent's watch thread.
      restart_in_child();
      needs_restart.store(false, std::memory_order_relaxed);
      return;  // nor Source::stop(): its thread is the parent's too (see Source::start())
    }
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
    watchers.clear();
    if (watch_stop_fd >= 0) ::close(watch_stop_fd);
    watch_stop_fd = -1;
    (void)watch_thread.release();  // its thread does not exist here; leak it deliberately
    (void)dispatcher.release();    // likewise
    queue_cv.release();          // may hold the state of a waiter that no longer exists
    queue_cv = std::make_unique<std::condition_variable>();
  }
  // The first use of a Config in a fork() child: its threads start now (a child that only
  // execs never pays for them), then one reload catches what changed since the fork.
  void restart_if_forked() {
    if (!needs_restart.load(std::memory_order_relaxed)) return;
    Holding r(restart_mu);
    if (!needs_restart.load(std::memory_order_relaxed)) return;
    restart_in_child();
    start_dispatcher();
    auto w = start_watching();
    if (!w) log->error("{} (in the child after fork)", w.error().message);
    needs_restart.store(false, std::memory_order_relaxed);
    (void)reload();
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
  Holding l(core.load_mu);
  std::shared_ptr<const void> value;
  Node sec = section(core.current, key);
  try {
    InUserCode user;
    value = build(sec);
  } catch (const TypeError& e) {
    return Error{core.describe(e)};
  } catch (const std::exception& e) {
    return Error{fmt::format("{}: {}: {}", sec.origin().to_string(), key, e.what())};
  } catch (...) {
    return Error{fmt::format("{}: {}: unknown exception (not a std::exception)", sec.origin().to_string(), key)};
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

void add_resource(Core& core, std::string key, std::function<std::function<void()>(const Node&)> rebuild) {
  Holding s(core.subs_mu);
  core.resources.push_back(ResourceHook{std::move(key), std::move(rebuild)});
}

void unsubscribe(Core& core, std::uint64_t id) {
  auto remove = [&] {
    Holding s(core.subs_mu);
    std::erase_if(core.subscribers, [&](const Subscriber& sub) { return sub.id == id; });
  };
  if (core.dispatcher_id.load() == std::this_thread::get_id()) {
    remove();  // from inside a callback: dispatch_mu is ours already
  } else {
    Holding d(core.dispatch_mu);  // after this, the callback never runs again
    remove();
  }
}

std::vector<watch::Options> watch_options_for(const Options& options) {
  Core core(options);
  std::vector<watch::Options> out;
  for (const auto& [dir, names] : core.compute_interest()) out.push_back(core.watch_options(dir, names));
  return out;
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

// A fork waits only for threads inside our code (see ForkGate); it takes no Core lock.
void prepare_fork() {
  fork_gate().prepare(our_depth > 0);
}
void parent_after_fork() { fork_gate().parent(); }

// Re-initialises a lock unless the forking thread holds it: its holder does not exist here.
void reset_unless_held(std::mutex& mu) {
  if (std::find(held_by_this_thread.begin(), held_by_this_thread.end(), &mu) != held_by_this_thread.end()) return;
  new (&mu) std::mutex;
}

// Only bookkeeping here: no thread, no watcher, no allocation beyond what must be. The
// Config starts again on its first use (Core::restart_if_forked()). No thread could change
// the registry since prepare_fork() (that takes the gate), so it is read without its lock.
void child_after_fork() {
  reset_unless_held(registry_mu());
  for (Core* c : registry()) {
    for (std::mutex* mu : {&c->dispatch_mu, &c->watch_mu, &c->load_mu, &c->subs_mu, &c->queue_mu, &c->status_mu,
                           &c->restart_mu})
      reset_unless_held(*mu);
    c->needs_restart.store(true, std::memory_order_relaxed);
  }
  fork_gate().child(our_depth > 0);
}
}  // namespace

void register_for_fork(Core* core) {
  static std::once_flag once;
  std::call_once(once, [] { pthread_atfork(prepare_fork, parent_after_fork, child_after_fork); });
  Holding l(registry_mu());
  registry().insert(core);
}

void unregister_for_fork(Core* core) {
  Holding l(registry_mu());
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

SnapshotPin Config::pin() const {
  core_->restart_if_forked();
  return core_->cell->pin();
}

std::uint64_t Config::version() const { return pin()->version(); }

std::shared_ptr<const SnapshotCell> Config::cell() const { return core_->cell; }

Subscription Config::subscribe(std::string prefix, std::function<void(const Update&)> callback) {
  core_->restart_if_forked();
  detail::Holding s(core_->subs_mu);
  std::uint64_t id = core_->next_id++;
  core_->subscribers.push_back(detail::Subscriber{id, std::move(prefix), std::move(callback)});
  return Subscription(core_, id);
}

Result<bool> Config::reload() {
  core_->restart_if_forked();
  return core_->reload();
}

Status Config::status() const {
  core_->restart_if_forked();
  Status out;
  {
    detail::Holding s(core_->status_mu);
    out = core_->status;
  }
  for (const auto& source : core_->options.sources)
    if (auto p = source->problem()) out.source_problems.push_back(std::move(*p));
  return out;
}

const Redactor& Config::redactor() const { return core_->redactor; }

}  // namespace relive::config
