// full_jitter() and Worker: the reconnect policy and the thread shared by the remote sources.
#include <unistd.h>

#include <map>
#include <random>

#include "transport.hpp"

namespace relive::config::transport {

std::chrono::milliseconds full_jitter(int attempt, std::chrono::milliseconds initial, std::chrono::milliseconds cap) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::int64_t ceiling = initial.count();
  for (int i = 0; i < attempt && ceiling < cap.count(); ++i) ceiling *= 2;
  ceiling = std::max<std::int64_t>(1, std::min(ceiling, cap.count()));
  return std::chrono::milliseconds(std::uniform_int_distribution<std::int64_t>(0, ceiling - 1)(rng));
}

bool Worker::inherited() const { return thread_ && pid_ != ::getpid(); }

void Worker::start(std::function<void()> body) {
  if (inherited()) (void)thread_.release();  // the parent's thread: not ours to join
  if (thread_) return;
  stopping_.store(false);
  pid_ = ::getpid();
  thread_ = std::make_unique<std::thread>(std::move(body));
}

void Worker::stop(const std::function<void()>& interrupt) {
  if (!thread_ || inherited()) return;
  {
    std::lock_guard l(mu_);
    stopping_.store(true);
  }
  cv_.notify_all();
  if (interrupt) interrupt();
  thread_->join();
  thread_.reset();
}

bool Worker::sleep_for(std::chrono::milliseconds d) {
  std::unique_lock l(mu_);
  return !cv_.wait_for(l, d, [this] { return stopping_.load(); });
}

namespace {
// The Workers of this process sleeping in backoff(), by server. Never destroyed: a source
// may stop during static destruction. Lock order: this mutex, then a Worker's.
struct Sleepers {
  std::mutex mu;
  std::multimap<std::string, Worker*> by_server;
};
Sleepers& sleepers() {
  static auto* s = new Sleepers;
  return *s;
}
}  // namespace

Worker::Slept Worker::backoff(std::chrono::milliseconds d, const std::string& server) {
  auto& s = sleepers();
  std::multimap<std::string, Worker*>::iterator entry;
  {
    std::lock_guard l(s.mu);
    entry = s.by_server.emplace(server, this);
  }
  bool woken;
  {
    std::unique_lock l(mu_);
    woken_ = false;
    cv_.wait_for(l, d, [this] { return stopping_.load() || woken_; });
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
  auto [from, to] = s.by_server.equal_range(server);
  for (auto it = from; it != to; ++it) {
    Worker* w = it->second;
    if (w->pid_ != ::getpid()) continue;  // a fork() child's copy of its parent's list
    {
      std::lock_guard wl(w->mu_);
      w->woken_ = true;
    }
    w->cv_.notify_all();
  }
}

std::chrono::milliseconds uniform_delay(std::chrono::milliseconds below) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  if (below.count() <= 1) return std::chrono::milliseconds(0);
  return std::chrono::milliseconds(std::uniform_int_distribution<std::int64_t>(0, below.count() - 1)(rng));
}

}  // namespace relive::config::transport
