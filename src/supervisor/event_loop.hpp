// Internal: the supervisor's one epoll loop (internal to the supervisor part).
//
// Owns the epoll set, the signalfd for handled_signals() and an eventfd that
// request_exit() writes from any thread or a signal handler. Every other fd (the
// watcher's, pidfds, timerfds, output pipes, the caller's extra fds) is added with a tag
// that the Supervisor dispatches on; the loop itself knows nothing about processes.
//
// Example:
//   auto loop = EventLoop::create(handled_signals());
//   (*loop)->add(watcher_fd, kWatcher);
//   for (uint64_t tag : (*loop)->wait(timeout_ms)) dispatch(tag);
//
// Single-threaded (the run() thread), except wake(), which is async-signal-safe.
#pragma once

#include <signal.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "relive/error.hpp"

namespace relive::supervisor {

class EventLoop {
 public:
  // Fails (errno_error) if epoll_create1, signalfd or eventfd fails. The signals in
  // `signals` must already be blocked in every thread.
  static Result<std::unique_ptr<EventLoop>> create(const sigset_t& signals);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Tags the loop reserves for its own fds (wait() returns them like any other).
  static constexpr uint64_t kSignalTag = 1;
  static constexpr uint64_t kWakeTag = 2;

  // Adds `fd` (no-op for -1; an fd already in the set stays as it is). An fd that cannot
  // join the set (ENOMEM, ENOSPC: max_user_watches) would never wake the loop: then
  // `on_degraded(message)` is called once, and from then on degraded() is true and the
  // caller must poll (wait() sleeps at most 100 ms).
  void add(int fd, uint64_t tag, bool oneshot = false);
  void remove(int fd);
  // The epoll fd itself, for a component that adds and removes its own fds under one tag
  // of its own (StdinRelay); wait() returns that tag like any other.
  int epoll_fd() const { return epfd_; }
  bool degraded() const { return degraded_; }
  void on_degraded(std::function<void(const std::string&)> report) { report_degraded_ = std::move(report); }

  // Waits up to `timeout_ms` (-1: forever; at most 100 ms once degraded) and returns the
  // tags of the ready fds. EINTR is an empty result; another failure is an Error.
  Result<std::vector<uint64_t>> wait(int timeout_ms);

  // Reads every pending signal and calls `on_signal(signal, sending pid)` for each (after
  // kSignalTag); the pid is 0 when the kernel sent it.
  void read_signals(const std::function<void(int, pid_t)>& on_signal);
  // Consumes the wake-ups (after kWakeTag).
  void clear_wake();
  // Makes wait() return kWakeTag. Async-signal-safe, any thread.
  void wake();

 private:
  EventLoop() = default;
  int epfd_ = -1;
  int sigfd_ = -1;
  int wakefd_ = -1;
  bool degraded_ = false;
  std::function<void(const std::string&)> report_degraded_;
};

// A one-shot timer whose fd goes into an EventLoop (the --restart-on-exit backoff).
class Timer {
 public:
  // Fails (errno_error) if timerfd_create fails.
  static Result<Timer> create();
  Timer(Timer&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  Timer& operator=(Timer&&) = delete;
  ~Timer();
  int fd() const { return fd_; }
  // False (errno set) if the timer could not be armed.
  bool arm(std::chrono::milliseconds delay);
  void disarm();
  // Consumes the expiration (after its fd was readable).
  void clear();

 private:
  explicit Timer(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace relive::supervisor
