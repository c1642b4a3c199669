// full_jitter() and Worker: the reconnect policy and the thread shared by the remote sources.
#include <pthread.h>
#include <unistd.h>

#include <map>
#include <random>

#include "transport.hpp"

namespace relive::config::transport {

using Clock = std::chrono::steady_clock;

std::chrono::milliseconds full_jitter(int attempt, std::chrono::milliseconds initial, std::chrono::milliseconds cap) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::int64_t ceiling = initial.count();
  for (int i = 0; i < attempt && ceiling < cap.count(); ++i) ceiling *= 2;
  ceiling = std::max<std::int64_t>(1, std::min(ceiling, cap.count()));
  return std::chrono::milliseconds(std::uniform_int_distribution<std::int64_t>(0, ceiling - 1)(rng));
}

namespace {
// The Workers of this process sleeping in backoff(), by server, and each server's
// announcements. Never destroyed: a source may stop during static destruction. Lock
// order: this mutex, then a Worker's.
struct Sleepers {
  struct Server {
    std::uint64_t announcements = 0;
    Clock::time_point last_announcement{};
  };
  std::mutex mu;
  std::multimap<std::string, Worker*> by_server;
  std::map<std::string, Server> servers;
};

// fork() copies only the forking thread: another thread may hold the mutex at that moment
// (in backoff() or announce_back()), or be half-way through changing the maps, and the
// child would block on it forever the first time one of its sources backs off. The
// child therefore starts from a fresh Sleepers (the old one is leaked: it may be
// inconsistent, and every Worker it lists is the parent's), as ForkGate re-initialises
// the config part's locks, instead of taking the lock around fork(): a prepare handler
// that waits for this lock could wait for a thread that waits for the fork.
Sleepers* the_sleepers = nullptr;
void fresh_sleepers_in_child() { the_sleepers = new Sleepers; }

Sleepers& sleepers() {
  static const bool registered = [] {
    the_sleepers = new Sleepers;
    pthread_atfork(nullptr, nullptr, fresh_sleepers_in_child);
    return true;
  }();
  (void)registered;
  return *the_sleepers;
}
}  // namespace

bool Worker::inherited() const { return thread_ && pid_ != ::getpid(); }

void Worker::start(std::function<void()> body) {
  if (inherited()) {
    // The parent's thread: not ours to join. It may have held mu_ or waited on cv_ when
    // the process forked; leak both and start with fresh ones.
    (void)thread_.release();
    (void)mu_.release();
    (void)cv_.release();
    mu_ = std::make_unique<std::mutex>();
    cv_ = std::make_unique<std::condition_variable>();
    woken_ = false;
  }
  if (thread_) return;
  stopping_.store(false);
  pid_ = ::getpid();
  thread_ = std::make_unique<std::thread>(std::move(body));
}

void Worker::stop(const std::function<void()>& interrupt) {
  if (!thread_ || inherited()) return;
  {
    std::lock_guard l(*mu_);
    stopping_.store(true);
  }
  cv_->notify_all();
  if (interrupt) interrupt();
  thread_->join();
  thread_.reset();
}

bool Worker::sleep_for(std::chrono::milliseconds d) {
  std::unique_lock l(*mu_);
  return !cv_->wait_for(l, d, [this] { return stopping_.load(); });
}

std::uint64_t Worker::announcements(const std::string& server) {
  auto& s = sleepers();
  std::lock_guard l(s.mu);
  auto it = s.servers.find(server);
  return it == s.servers.end() ? 0 : it->second.announcements;
}

bool Worker::announced_within(const std::string& server, std::chrono::milliseconds within) {
  auto& s = sleepers();
  std::lock_guard l(s.mu);
  auto it = s.servers.find(server);
  return it != s.servers.end() && it->second.announcements > 0 &&
         Clock::now() - it->second.last_announcement < within;
}

Worker::Slept Worker::backoff(std::chrono::milliseconds d, const std::string& server, std::uint64_t seen) {
  auto& s = sleepers();
  std::multimap<std::string, Worker*>::iterator entry;
  {
    // Checked and registered under one lock: an announcement comes either before (seen
    // differs) or after (it finds this Worker listed); none is missed.
    std::lock_guard l(s.mu);
    auto it = s.servers.find(server);
    if (it != s.servers.end() && it->second.announcements != seen) return stopping() ? Slept::Stopping : Slept::Woken;
    entry = s.by_server.emplace(server, this);
  }
  bool woken;
  {
    std::unique_lock l(*mu_);
    woken_ = false;
    cv_->wait_for(l, d, [this] { return stopping_.load() || woken_; });
    woken = woken_;
  }
  {
    std::lock_guard l(s.mu);
    s.by_server.erase(entry);
  }
  if (stopping_.load()) return Slept::Stopping;
  return woken ? Slept::Woken : Slept::Full;
}

void Worker::announce_back(const std::string& server) {
  auto& s = sleepers();
  std::lock_guard l(s.mu);
  auto& record = s.servers[server];
  ++record.announcements;
  record.last_announcement = Clock::now();
  auto [from, to] = s.by_server.equal_range(server);
  for (auto it = from; it != to; ++it) {
    Worker* w = it->second;
    if (w->pid_ != ::getpid()) continue;  // cannot happen (a child starts afresh); cheap insurance
    {
      std::lock_guard wl(*w->mu_);
      w->woken_ = true;
    }
    w->cv_->notify_all();
  }
}

void Worker::with_sleepers_locked_for_test(const std::function<void()>& f) {
  auto& s = sleepers();
  std::lock_guard l(s.mu);
  f();
}

std::chrono::milliseconds uniform_delay(std::chrono::milliseconds below) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  if (below.count() <= 1) return std::chrono::milliseconds(0);
  return std::chrono::milliseconds(std::uniform_int_distribution<std::int64_t>(0, below.count() - 1)(rng));
}

}  // namespace relive::config::transport
