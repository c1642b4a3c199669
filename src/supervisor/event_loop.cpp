// The supervisor's epoll loop (event_loop.hpp).
#include "event_loop.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace relive::supervisor {

Result<std::unique_ptr<EventLoop>> EventLoop::create(const sigset_t& signals) {
  std::unique_ptr<EventLoop> loop(new EventLoop());
  loop->epfd_ = epoll_create1(EPOLL_CLOEXEC);
  if (loop->epfd_ < 0) return errno_error("epoll_create1");
  loop->sigfd_ = signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
  if (loop->sigfd_ < 0) return errno_error("signalfd");
  loop->wakefd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (loop->wakefd_ < 0) return errno_error("eventfd");
  loop->add(loop->sigfd_, kSignalTag);
  loop->add(loop->wakefd_, kWakeTag);
  return loop;
}

EventLoop::~EventLoop() {
  for (int fd : {epfd_, sigfd_, wakefd_}) {
    if (fd >= 0) close(fd);
  }
}

void EventLoop::add(int fd, uint64_t tag, bool oneshot) {
  if (fd < 0) return;
  epoll_event ev{};
  ev.events = EPOLLIN | (oneshot ? static_cast<uint32_t>(EPOLLONESHOT) : 0u);
  ev.data.u64 = tag;
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) == 0 || errno == EEXIST) return;
  if (!degraded_ && report_degraded_) report_degraded_(errno_message(errno, "epoll_ctl"));
  degraded_ = true;
}

void EventLoop::remove(int fd) { epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr); }

Result<std::vector<uint64_t>> EventLoop::wait(int timeout_ms) {
  if (degraded_) timeout_ms = timeout_ms < 0 ? 100 : std::min(timeout_ms, 100);
  epoll_event events[16];
  int n = epoll_wait(epfd_, events, 16, timeout_ms);
  if (n < 0) {
    if (errno == EINTR) return std::vector<uint64_t>{};
    return errno_error("epoll_wait");
  }
  std::vector<uint64_t> tags;
  tags.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    // epoll_event is packed on x86-64: copy the tag out rather than bind a reference to it.
    uint64_t tag = events[i].data.u64;
    tags.push_back(tag);
  }
  return tags;
}

void EventLoop::read_signals(const std::function<void(int, pid_t)>& on_signal) {
  signalfd_siginfo si;
  while (read(sigfd_, &si, sizeof si) == static_cast<ssize_t>(sizeof si))
    on_signal(static_cast<int>(si.ssi_signo), static_cast<pid_t>(si.ssi_pid));
}

void EventLoop::clear_wake() {
  uint64_t v;
  ssize_t ignored = read(wakefd_, &v, sizeof v);
  (void)ignored;
}

void EventLoop::wake() {
  uint64_t one = 1;
  ssize_t ignored = ::write(wakefd_, &one, sizeof one);
  (void)ignored;
}

Result<Timer> Timer::create() {
  int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (fd < 0) return errno_error("timerfd_create");
  return Timer(fd);
}

Timer::~Timer() {
  if (fd_ >= 0) close(fd_);
}

bool Timer::arm(std::chrono::milliseconds delay) {
  itimerspec spec{};
  auto ms = std::max<long long>(delay.count(), 1);
  spec.it_value.tv_sec = static_cast<time_t>(ms / 1000);
  spec.it_value.tv_nsec = static_cast<long>((ms % 1000) * 1000000);
  return timerfd_settime(fd_, 0, &spec, nullptr) == 0;
}

void Timer::disarm() {
  itimerspec spec{};
  timerfd_settime(fd_, 0, &spec, nullptr);  // cannot fail on a valid timerfd with a zero value
}

void Timer::clear() {
  uint64_t expirations;
  ssize_t ignored = read(fd_, &expirations, sizeof expirations);
  (void)ignored;
}

}  // namespace relive::supervisor
