// Internal: --restart-on-exit's delay before the program is started again (internal to
// the supervisor part).
//
// Why: a program that fails at once would otherwise be restarted in a tight loop. The
// delay starts at `initial`, doubles with each exit up to `max`, and starts again from
// `initial` once a run lasted `reset_after` (or a --graceful handover made a new
// generation current: reset()). The timer's fd goes into the loop; a change or a restart
// by hand makes the wait moot (disarm()).
//
// Example:
//   auto delay = backoff.arm_after_exit(uptime);   // then report "restarting in …"
//   // the loop reported the fd:  backoff.clear(); restart();
//
// Single-threaded (the run() thread).
#pragma once

#include <chrono>

#include "event_loop.hpp"
#include "relive/error.hpp"

namespace relive::supervisor {

class RestartBackoff {
 public:
  struct Options {
    std::chrono::milliseconds initial;
    std::chrono::milliseconds max;
    std::chrono::milliseconds reset_after;
  };
  // Fails (errno_error) if the timerfd cannot be created.
  static Result<RestartBackoff> create(Options options);

  int fd() const { return timer_.fd(); }
  // The program exited after running `uptime`: arms the timer with the next delay and
  // returns it, or an Error if the timer could not be armed (the delay still counts).
  Result<std::chrono::milliseconds> arm_after_exit(std::chrono::steady_clock::duration uptime);
  void disarm() { timer_.disarm(); }
  // Consumes the expiration (after fd() was readable).
  void clear() { timer_.clear(); }
  // The next exit waits `initial` again.
  void reset() { next_ = std::chrono::milliseconds{0}; }

 private:
  RestartBackoff(Timer timer, Options options) : timer_(std::move(timer)), opt_(options) {}
  Timer timer_;
  Options opt_;
  std::chrono::milliseconds next_{0};  // 0: none yet (or reset)
};

}  // namespace relive::supervisor
