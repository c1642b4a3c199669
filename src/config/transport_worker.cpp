// full_jitter() and Worker: the reconnect policy and the thread shared by the remote sources.
#include <unistd.h>

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

}  // namespace relive::config::transport
