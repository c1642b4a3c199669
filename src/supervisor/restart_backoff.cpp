// --restart-on-exit's delay (restart_backoff.hpp).
#include "restart_backoff.hpp"

#include <algorithm>
#include <cerrno>
#include <utility>

namespace relive::supervisor {

Result<RestartBackoff> RestartBackoff::create(Options options) {
  auto timer = Timer::create();
  if (!timer) return timer.error();
  return RestartBackoff(std::move(*timer), options);
}

Result<std::chrono::milliseconds> RestartBackoff::arm_after_exit(std::chrono::steady_clock::duration uptime) {
  if (next_.count() == 0 || uptime >= opt_.reset_after) next_ = opt_.initial;
  auto delay = next_;
  next_ = std::min(next_ * 2, opt_.max);
  if (!timer_.arm(delay)) return errno_error(errno, "cannot arm the restart timer (timerfd_settime)");
  return delay;
}

}  // namespace relive::supervisor
