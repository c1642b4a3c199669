// relive's stdin passed on to the current generation; `rs` restarts (stdin_relay.hpp).
#include "stdin_relay.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace relive::supervisor {

namespace {

constexpr std::string_view kBlank = " \t\r";
constexpr size_t kMaxHeldLine = 16;  // a line start held back while it could become "rs"

std::string_view trim(std::string_view s) {
  size_t start = s.find_first_not_of(kBlank);
  if (start == std::string_view::npos) return {};
  return s.substr(start, s.find_last_not_of(kBlank) - start + 1);
}

// Whether a line begun with `start` (no '\n' yet) can still turn out to be "rs".
bool could_become_restart(std::string_view start) {
  if (start.size() > kMaxHeldLine) return false;
  std::string_view t = start.substr(std::min(start.size(), start.find_first_not_of(kBlank)));
  if (t.empty() || t == "r") return true;
  return t.substr(0, 2) == "rs" && t.find_first_not_of(kBlank, 2) == std::string_view::npos;
}

}  // namespace

bool is_restart_line(std::string_view line) { return trim(line) == "rs"; }

Result<std::unique_ptr<StdinRelay>> StdinRelay::create(int epfd, uint64_t tag, std::function<void()> on_restart,
                                                       std::function<void(std::string_view)> on_notice,
                                                       int source_fd) {
  std::unique_ptr<StdinRelay> r(new StdinRelay());
  r->epfd_ = epfd;
  r->tag_ = tag;
  r->on_restart_ = std::move(on_restart);
  r->on_notice_ = std::move(on_notice);
  r->source_ = source_fd;
  r->timer_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (r->timer_fd_ < 0) return errno_error("timerfd_create (stdin)");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = tag;
  epoll_ctl(epfd, EPOLL_CTL_ADD, r->timer_fd_, &ev);
  if (fcntl(source_fd, F_GETFD) < 0) {
    // A closed stdin: keep the fd number taken (/dev/null), so that no pipe of ours lands
    // on it, and let every program see EOF.
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0 && null_fd != source_fd) {
      dup2(null_fd, source_fd);
      close(null_fd);
    }
    r->source_ended_ = true;
    return r;
  }
  r->source_is_tty_ = isatty(source_fd) == 1;
  // In the background, a read of the terminal fails with EIO instead of stopping relive.
  if (r->source_is_tty_) ::signal(SIGTTIN, SIG_IGN);
  // epoll refuses regular files and some devices (/dev/null): they are read without it
  // (a read never waits there).
  ev.events = EPOLLIN;
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, source_fd, &ev) == 0) {
    r->source_registered_ = true;
  } else if (errno == EPERM) {
    r->source_pollable_ = false;
  }
  return r;
}

StdinRelay::~StdinRelay() {
  if (source_registered_) epoll_ctl(epfd_, EPOLL_CTL_DEL, source_, nullptr);
  for (int fd : {timer_fd_, pending_read_end_, pending_write_end_})
    if (fd >= 0) close(fd);
  for (auto& [pid, fd] : pipes_) close(fd);
  for (int fd : retired_) close(fd);
}

int StdinRelay::child_end() {
  for (int* fd : {&pending_read_end_, &pending_write_end_}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return -1;
  fcntl(p[1], F_SETFL, O_NONBLOCK);  // relive's end; the program's stays blocking
  pending_read_end_ = p[0];
  pending_write_end_ = p[1];
  return p[0];
}

void StdinRelay::started(pid_t pid, bool current) {
  if (pending_read_end_ >= 0) close(pending_read_end_);
  pending_read_end_ = -1;
  if (pending_write_end_ < 0) return;
  if (pid <= 0) {
    close(pending_write_end_);
  } else {
    pipes_[pid] = pending_write_end_;
  }
  pending_write_end_ = -1;
  if (pid > 0 && current) make_current(pid);
}

void StdinRelay::make_current(pid_t pid) {
  current_ = pipes_.count(pid) ? pid : 0;
  // No read here: called from the supervisor's controls, which a restart request must not
  // re-enter. A file being copied resumes through the pipe's readiness.
  flush();
  update_registration();
}

void StdinRelay::close_for(pid_t pid) {
  auto it = pipes_.find(pid);
  if (it == pipes_.end()) return;
  // Not closed yet: EOF now would race the stop signal (a Python input() would end in
  // EOFError, exit 1, instead of by the signal). Kept until the program's end is gone.
  int fd = it->second;
  if (registered_out_ == fd) {
    epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
    registered_out_ = -1;
  }
  pipes_.erase(it);
  if (current_ == pid) current_ = 0;
  epoll_event ev{};
  ev.events = 0;  // EPOLLERR: every reader has closed it
  ev.data.u64 = tag_;
  epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
  retired_.push_back(fd);
  update_registration();
}

void StdinRelay::close_unread_retired() {
  for (auto it = retired_.begin(); it != retired_.end();) {
    pollfd p{*it, 0, 0};
    if (poll(&p, 1, 0) > 0 && (p.revents & (POLLERR | POLLHUP | POLLNVAL))) {
      close(*it);  // also leaves the epoll set
      it = retired_.erase(it);
    } else {
      ++it;
    }
  }
}

void StdinRelay::close_pipe(pid_t pid) {
  auto it = pipes_.find(pid);
  if (it == pipes_.end()) return;
  if (registered_out_ == it->second) registered_out_ = -1;  // close() takes it out of epoll
  close(it->second);
  pipes_.erase(it);
  if (current_ == pid) current_ = 0;
}

bool StdinRelay::foreground() const { return tcgetpgrp(source_) == getpgrp(); }

void StdinRelay::on_event() {
  uint64_t expirations;
  ssize_t ignored = read(timer_fd_, &expirations, sizeof expirations);
  (void)ignored;
  close_unread_retired();
  // A file is read as fast as the program takes it, in bounded steps per call (its pipe
  // being writable brings the loop back); anything else is read once per readiness.
  for (int step = 0; step < (source_pollable_ ? 1 : 8); ++step) {
    size_t before = queued_.size();
    read_source();
    flush();
    if (queued_.size() == before && !source_pollable_) break;
  }
  update_registration();
  if (restart_requested_) {
    restart_requested_ = false;
    if (on_restart_) on_restart_();
  }
}

void StdinRelay::read_source() {
  if (source_ended_) return;
  if (!source_is_tty_ && queued_.size() >= kMaxQueued) return;  // room first (the writer waits)
  if (source_is_tty_ && !foreground()) {
    paused_ = true;
    return;
  }
  paused_ = false;
  pollfd p{source_, POLLIN, 0};
  if (poll(&p, 1, 0) <= 0 || p.revents == 0) return;
  char buf[16384];
  ssize_t n = read(source_, buf, sizeof buf);
  if (n < 0) {
    if (errno == EINTR || errno == EAGAIN) return;
    if (errno == EIO && source_is_tty_) {  // not the terminal's foreground after all
      paused_ = true;
      return;
    }
    if (on_notice_) on_notice_(errno_message(errno, "cannot read standard input") + "; the program's stdin is closed");
    source_ended_ = true;
    source_eof();
    return;
  }
  if (n == 0) {
    // A terminal's EOF is Ctrl-D (reading goes on) unless the terminal hung up.
    if (!source_is_tty_ || (p.revents & (POLLHUP | POLLERR))) source_ended_ = true;
    source_eof();
    return;
  }
  take(buf, static_cast<size_t>(n));
}

// Splits into lines: a line "rs" is a restart request; everything else is queued as it
// comes, except a line start that may still become "rs" (held until its '\n').
void StdinRelay::take(const char* data, size_t size) {
  std::string_view rest(data, size);
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view piece = rest.substr(0, nl == std::string_view::npos ? rest.size() : nl + 1);
    rest.remove_prefix(piece.size());
    bool complete = piece.back() == '\n';
    if (!at_line_start_ && line_.empty()) {  // in the middle of a line: straight through
      queue(piece);
      at_line_start_ = complete;
      continue;
    }
    line_ += piece;
    if (complete) {
      if (is_restart_line(std::string_view(line_).substr(0, line_.size() - 1))) {
        restart_requested_ = true;
      } else {
        queue(line_);
      }
      line_.clear();
      at_line_start_ = true;
    } else if (!could_become_restart(line_)) {
      queue(line_);
      line_.clear();
      at_line_start_ = false;
    } else {
      at_line_start_ = false;  // held in line_
    }
  }
}

void StdinRelay::queue(std::string_view data) {
  if (source_is_tty_ && queued_.size() + data.size() > kMaxQueued) {
    // The program does not read: a terminal cannot be left unread (`rs` must still work),
    // so what is typed now is dropped — said once until the queue drains.
    if (!dropping_ && on_notice_)
      on_notice_("the program does not read its standard input; dropping what is typed until it does");
    dropping_ = true;
    return;
  }
  queued_ += data;
}

void StdinRelay::source_eof() {
  if (!line_.empty()) queue(line_);
  line_.clear();
  at_line_start_ = true;
  eof_owed_ = true;
}

void StdinRelay::flush() {
  out_blocked_ = false;
  auto it = pipes_.find(current_);
  if (it == pipes_.end()) return;
  while (!queued_.empty()) {
    ssize_t n = write(it->second, queued_.data(), queued_.size());
    if (n > 0) {
      queued_.erase(0, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      out_blocked_ = true;  // EPOLLOUT brings us back
      return;
    }
    // EPIPE: the program exited or closed its stdin; what is queued waits for the next.
    close_pipe(current_);
    return;
  }
  if (queued_.size() < kMaxQueued / 2) dropping_ = false;
  if (eof_owed_ || source_ended_) {  // the input ended: so does this generation's
    close_pipe(current_);
    eof_owed_ = false;
  }
}

void StdinRelay::update_registration() {
  auto set = [this](int fd, uint32_t events, bool want, bool& registered) {
    if (want == registered) return;
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = tag_;
    registered = epoll_ctl(epfd_, want ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fd, &ev) == 0 ? want : !want;
  };
  bool want_source = source_pollable_ && !source_ended_ && !paused_ &&
                     (source_is_tty_ || queued_.size() < kMaxQueued);
  set(source_, EPOLLIN, want_source, source_registered_);
  if (paused_) {  // in the background: look again in a second
    itimerspec spec{};
    spec.it_value.tv_sec = 1;
    timerfd_settime(timer_fd_, 0, &spec, nullptr);
  }
  // The current pipe is watched for room while something waits to go in, or while a file
  // is being copied (its readiness is what drives the next read).
  int want_out = -1;
  auto it = pipes_.find(current_);
  if (it != pipes_.end() && (out_blocked_ || (!source_pollable_ && !source_ended_ && queued_.size() < kMaxQueued)))
    want_out = it->second;
  if (want_out != registered_out_) {
    if (registered_out_ >= 0) epoll_ctl(epfd_, EPOLL_CTL_DEL, registered_out_, nullptr);
    registered_out_ = -1;
    if (want_out >= 0) {
      epoll_event ev{};
      ev.events = EPOLLOUT;
      ev.data.u64 = tag_;
      if (epoll_ctl(epfd_, EPOLL_CTL_ADD, want_out, &ev) == 0) registered_out_ = want_out;
    }
  }
}

}  // namespace relive::supervisor
