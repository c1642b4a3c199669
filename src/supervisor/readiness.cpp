// Readiness of a new child: sd_notify READY=1, or a tcp/http/delay probe (readiness.hpp).
#include "readiness.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstring>
#include <cstdio>
#include <system_error>

namespace relive::supervisor {
namespace {

using namespace std::chrono_literals;

// epoll tags: which of our fds an event is for.
enum Tag : uint32_t { kNotify = 1, kDeadline, kRetry, kProbe };

Error ready_error(std::string_view text, std::string_view reason) {
  return Error{"--ready " + std::string(text) + ": " + std::string(reason)};
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "HOST:PORT", "[V6]:PORT" or "PORT" (host 127.0.0.1); numeric hosts or localhost only.
Result<void> parse_host_port(std::string_view text, std::string_view addr, ReadySpec& out) {
  std::string_view host = "127.0.0.1";
  std::string_view port = addr;
  if (!addr.empty() && addr.front() == '[') {
    auto close = addr.find(']');
    if (close == std::string_view::npos) return ready_error(text, "missing ']' after IPv6 address");
    host = addr.substr(1, close - 1);
    if (close + 1 >= addr.size() || addr[close + 1] != ':') return ready_error(text, "missing port");
    port = addr.substr(close + 2);
  } else if (auto colon = addr.rfind(':'); colon != std::string_view::npos) {
    host = addr.substr(0, colon);
    port = addr.substr(colon + 1);
  } else if (!all_digits(addr)) {
    return ready_error(text, "missing port");
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty()) return ready_error(text, "missing port");
  if (!all_digits(port) || ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535)
    return ready_error(text, "port must be a number 1..65535, got \"" + std::string(port) + "\"");
  if (host == "localhost") host = "127.0.0.1";
  std::string h(host);
  in6_addr buf{};
  if (inet_pton(AF_INET, h.c_str(), &buf) != 1 && inet_pton(AF_INET6, h.c_str(), &buf) != 1)
    return ready_error(text, "host \"" + h + "\" is not a numeric address (use e.g. 127.0.0.1 or [::1])");
  out.host = h;
  out.port = static_cast<uint16_t>(value);
  return {};
}

Result<std::chrono::milliseconds> parse_delay(std::string_view text, std::string_view value) {
  std::string_view digits = value;
  long long scale = 1;
  if (value.ends_with("ms")) {
    digits = value.substr(0, value.size() - 2);
  } else if (value.ends_with("s")) {
    digits = value.substr(0, value.size() - 1);
    scale = 1000;
  }
  long long n = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (!all_digits(digits) || ec != std::errc() || end != digits.data() + digits.size() || n > 86'400'000)
    return ready_error(text, "expected milliseconds (delay:500, delay:500ms or delay:2s), got \"" +
                                 std::string(value) + "\"");
  return std::chrono::milliseconds(n * scale);
}

int must(int fd, const char* what) {
  if (fd < 0) throw std::system_error(errno, std::generic_category(), what);
  return fd;
}

}  // namespace

Result<ReadySpec> parse_ready_spec(std::string_view text) {
  ReadySpec out;
  out.text = std::string(text);
  if (text.empty()) return ready_error(text, "empty (expected notify, tcp:PORT, http://HOST:PORT/PATH or delay:MS)");
  if (text == "notify" || text == "sd_notify") {
    out.kind = ReadySpec::Kind::Notify;
    return out;
  }
  if (text.starts_with("delay:")) {
    out.kind = ReadySpec::Kind::Delay;
    auto delay = parse_delay(text, text.substr(6));
    if (!delay) return delay.error();
    out.delay = *delay;
    return out;
  }
  if (text.starts_with("tcp:") || all_digits(text)) {
    out.kind = ReadySpec::Kind::Tcp;
    auto parsed = parse_host_port(text, text.starts_with("tcp:") ? text.substr(4) : text, out);
    if (!parsed) return parsed.error();
    return out;
  }
  if (text.starts_with("http://")) {
    out.kind = ReadySpec::Kind::Http;
    std::string_view rest = text.substr(7);
    auto slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    out.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
    if (authority.empty()) return ready_error(text, "missing host");
    if (authority.back() == ']' || (authority.find(':') == std::string_view::npos))
      return ready_error(text, "missing port (write http://HOST:PORT/PATH)");
    auto parsed = parse_host_port(text, authority, out);
    if (!parsed) return parsed.error();
    if (std::any_of(out.path.begin(), out.path.end(), [](unsigned char c) { return c <= 32 || c == 127; }))
      return ready_error(text, "the path may not contain spaces or control characters");
    return out;
  }
  if (text.starts_with("https://")) return ready_error(text, "https probes are not supported; probe a plain http health port");
  return ready_error(text, "unknown readiness check (expected notify, tcp:PORT, http://HOST:PORT/PATH or delay:MS)");
}

ReadinessWait::ReadinessWait(ReadySpec spec, ReadyOptions options)
    : spec_(std::move(spec)), options_(options) {}

Result<std::unique_ptr<ReadinessWait>> ReadinessWait::create(ReadySpec spec, ReadyOptions options) {
  if (options.timeout <= 0ms) return Error{"--ready-timeout must be greater than 0"};
  std::unique_ptr<ReadinessWait> wait(new ReadinessWait(std::move(spec), options));
  try {
    wait->epoll_fd_ = must(epoll_create1(EPOLL_CLOEXEC), "epoll_create1");
    wait->deadline_fd_ = must(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK), "timerfd_create");
    wait->retry_fd_ = must(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK), "timerfd_create");
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = kDeadline;
    must(epoll_ctl(wait->epoll_fd_, EPOLL_CTL_ADD, wait->deadline_fd_, &ev), "epoll_ctl");
    ev.data.u32 = kRetry;
    must(epoll_ctl(wait->epoll_fd_, EPOLL_CTL_ADD, wait->retry_fd_, &ev), "epoll_ctl");
    if (wait->spec_.kind == ReadySpec::Kind::Notify) {
      int fd = must(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), "socket(AF_UNIX)");
      wait->notify_fd_ = fd;
      int one = 1;
      must(setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one), "setsockopt SO_PASSCRED");
      // Autobind: binding just the family makes the kernel pick a unique abstract name.
      sockaddr_un addr{};
      addr.sun_family = AF_UNIX;
      must(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(sa_family_t)), "bind NOTIFY_SOCKET");
      socklen_t len = sizeof addr;
      must(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), "getsockname NOTIFY_SOCKET");
      size_t name_len = len - offsetof(sockaddr_un, sun_path);
      wait->notify_address_ = "@" + std::string(addr.sun_path + 1, name_len - 1);
      ev.data.u32 = kNotify;
      must(epoll_ctl(wait->epoll_fd_, EPOLL_CTL_ADD, fd, &ev), "epoll_ctl");
    }
  } catch (const std::system_error& e) {
    return Error{std::string("readiness: ") + e.what()};
  }
  return wait;
}

ReadinessWait::~ReadinessWait() {
  close_probe();
  for (int fd : {notify_fd_, deadline_fd_, retry_fd_, epoll_fd_})
    if (fd >= 0) close(fd);
}

std::vector<std::string> ReadinessWait::child_env() const {
  if (spec_.kind != ReadySpec::Kind::Notify) return {};
  return {"NOTIFY_SOCKET=" + notify_address_};
}

std::string ReadinessWait::describe() const {
  switch (spec_.kind) {
    case ReadySpec::Kind::Notify: return "READY=1 on NOTIFY_SOCKET";
    case ReadySpec::Kind::Tcp: return spec_.text.starts_with("tcp:") ? spec_.text : "tcp:" + spec_.text;
    case ReadySpec::Kind::Http: return spec_.text;
    case ReadySpec::Kind::Delay: return spec_.text;
  }
  return spec_.text;
}

std::chrono::milliseconds ReadinessWait::elapsed() const {
  if (!started_) return 0ms;
  auto end = state_ == State::Ready ? ready_time_ : std::chrono::steady_clock::now();
  return std::chrono::duration_cast<std::chrono::milliseconds>(end - start_time_);
}

void ReadinessWait::arm(int timer_fd, std::chrono::milliseconds after) {
  itimerspec spec{};
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::max(after, 1ms)).count();
  spec.it_value.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
  spec.it_value.tv_nsec = static_cast<long>(ns % 1'000'000'000);
  timerfd_settime(timer_fd, 0, &spec, nullptr);
}

void ReadinessWait::start(pid_t child) {
  if (started_) return;
  started_ = true;
  child_ = child;
  start_time_ = std::chrono::steady_clock::now();
  if (state_ != State::Waiting) return;  // READY=1 arrived already (fast child)
  arm(deadline_fd_, options_.timeout);
  switch (spec_.kind) {
    case ReadySpec::Kind::Notify:
      last_reason_ = "no READY=1 on NOTIFY_SOCKET";
      break;
    case ReadySpec::Kind::Delay:
      if (spec_.delay <= 0ms) become_ready();
      else arm(retry_fd_, spec_.delay);
      break;
    case ReadySpec::Kind::Tcp:
    case ReadySpec::Kind::Http:
      last_reason_ = "no attempt finished";
      begin_attempt();
      break;
  }
}

ReadinessWait::State ReadinessWait::process() {
  epoll_event events[8];
  for (;;) {
    int n = epoll_wait(epoll_fd_, events, 8, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (int i = 0; i < n; ++i) {
      switch (events[i].data.u32) {
        case kNotify:
          handle_notify();
          break;
        case kDeadline: {
          uint64_t ticks;
          [[maybe_unused]] auto r = read(deadline_fd_, &ticks, sizeof ticks);
          if (state_ == State::Waiting) {
            auto secs = std::chrono::duration<double>(options_.timeout).count();
            char buf[32];
            std::snprintf(buf, sizeof buf, "%g", secs);
            fail("not ready within " + std::string(buf) + "s: " + last_reason_);
          }
          break;
        }
        case kRetry: {
          uint64_t ticks;
          [[maybe_unused]] auto r = read(retry_fd_, &ticks, sizeof ticks);
          if (state_ != State::Waiting) break;
          if (spec_.kind == ReadySpec::Kind::Delay) become_ready();
          else if (phase_ == Phase::Idle) begin_attempt();
          else attempt_failed("no answer within " + std::to_string(options_.attempt_timeout.count()) + "ms");
          break;
        }
        case kProbe:
          handle_probe_event(events[i].events);
          break;
      }
    }
  }
  return state_;
}

void ReadinessWait::handle_notify() {
  // sd_notify messages: newline-separated VAR=VALUE. Credentials tell who sent it (for
  // messages); any SCM_RIGHTS fds (FDSTORE=1) are closed, never kept.
  for (;;) {
    char data[4096];
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred)) + CMSG_SPACE(sizeof(int) * 16)];
    iovec iov{data, sizeof data - 1};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = recvmsg(notify_fd_, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return;  // EAGAIN: drained
    pid_t sender = 0;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET) continue;
      if (c->cmsg_type == SCM_CREDENTIALS) {
        ucred cred{};
        std::memcpy(&cred, CMSG_DATA(c), sizeof cred);
        sender = cred.pid;
      } else if (c->cmsg_type == SCM_RIGHTS) {
        size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; ++i) {
          int fd;
          std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
          close(fd);
        }
      }
    }
    std::string_view text(data, static_cast<size_t>(n));
    while (!text.empty()) {
      auto nl = text.find('\n');
      std::string_view line = text.substr(0, nl);
      text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
      if (line == "READY=1" && state_ == State::Waiting && spec_.kind == ReadySpec::Kind::Notify) {
        ready_sender_ = sender;
        become_ready();
      } else if (line.starts_with("STATUS=")) {
        status_ = std::string(line.substr(7));
      }
    }
  }
}

void ReadinessWait::watch_probe(uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u32 = kProbe;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, probe_fd_, &ev) != 0)
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, probe_fd_, &ev);
}

void ReadinessWait::begin_attempt() {
  close_probe();
  sockaddr_storage storage{};
  socklen_t len;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
  if (inet_pton(AF_INET, spec_.host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(spec_.port);
    len = sizeof *v4;
  } else {
    inet_pton(AF_INET6, spec_.host.c_str(), &v6->sin6_addr);
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(spec_.port);
    len = sizeof *v6;
  }
  probe_fd_ = socket(storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (probe_fd_ < 0) return attempt_failed(errno_message(errno, "socket"));
  arm(retry_fd_, options_.attempt_timeout);
  if (connect(probe_fd_, reinterpret_cast<sockaddr*>(&storage), len) == 0) return on_connected();
  if (errno != EINPROGRESS) return attempt_failed(errno_message(errno, "connect"));
  phase_ = Phase::Connecting;
  watch_probe(EPOLLOUT);
}

void ReadinessWait::on_connected() {
  if (spec_.kind == ReadySpec::Kind::Tcp) return become_ready();
  std::string host = spec_.host.find(':') != std::string::npos ? "[" + spec_.host + "]" : spec_.host;
  request_ = "GET " + spec_.path + " HTTP/1.0\r\nHost: " + host + ":" + std::to_string(spec_.port) +
             "\r\nUser-Agent: relive-ready-probe\r\nConnection: close\r\n\r\n";
  request_sent_ = 0;
  response_.clear();
  phase_ = Phase::Sending;
  handle_probe_event(EPOLLOUT);
}

void ReadinessWait::handle_probe_event(uint32_t events) {
  if (probe_fd_ < 0) return;
  if (phase_ == Phase::Connecting) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(probe_fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return attempt_failed(errno_message(err, "connect"));
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    return on_connected();
  }
  if (phase_ == Phase::Sending) {
    while (request_sent_ < request_.size()) {
      ssize_t n = send(probe_fd_, request_.data() + request_sent_, request_.size() - request_sent_, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return watch_probe(EPOLLOUT);
      if (n < 0) return attempt_failed(errno_message(errno, "send"));
      request_sent_ += static_cast<size_t>(n);
    }
    phase_ = Phase::Reading;
    watch_probe(EPOLLIN);
    return;
  }
  if (phase_ != Phase::Reading) return;
  for (;;) {
    char buf[1024];
    ssize_t n = recv(probe_fd_, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n < 0) return attempt_failed(errno_message(errno, "recv"));
    if (n == 0) break;
    response_.append(buf, static_cast<size_t>(n));
    if (response_.find("\r\n") != std::string::npos || response_.size() > 8192) break;
  }
  auto eol = response_.find('\n');
  if (eol == std::string::npos) {
    // No status line yet: wait for more unless the peer closed.
    char probe;
    if (recv(probe_fd_, &probe, 1, MSG_PEEK) == 0) return attempt_failed("connection closed before an HTTP status line");
    return;
  }
  std::string_view line(response_.data(), eol);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  // "HTTP/1.x NNN reason"
  auto space = line.find(' ');
  int code = 0;
  if (line.starts_with("HTTP/") && space != std::string_view::npos && line.size() >= space + 4) {
    std::from_chars(line.data() + space + 1, line.data() + space + 4, code);
  }
  if (code >= 200 && code < 300) return become_ready();
  if (code == 0) return attempt_failed("answered with something other than HTTP: \"" + std::string(line.substr(0, 60)) + "\"");
  return attempt_failed("answered " + std::string(line.substr(space + 1)));
}

void ReadinessWait::attempt_failed(std::string reason) {
  close_probe();
  last_reason_ = describe() + ": " + reason;
  if (state_ == State::Waiting) arm(retry_fd_, options_.probe_interval);
}

void ReadinessWait::close_probe() {
  if (probe_fd_ >= 0) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, probe_fd_, nullptr);
    close(probe_fd_);
    probe_fd_ = -1;
  }
  phase_ = Phase::Idle;
}

void ReadinessWait::become_ready() {
  state_ = State::Ready;
  ready_time_ = std::chrono::steady_clock::now();
  close_probe();
  itimerspec off{};
  timerfd_settime(deadline_fd_, 0, &off, nullptr);
  timerfd_settime(retry_fd_, 0, &off, nullptr);
}

void ReadinessWait::fail(std::string reason) {
  state_ = State::Failed;
  failure_ = std::move(reason);
  close_probe();
  itimerspec off{};
  timerfd_settime(retry_fd_, 0, &off, nullptr);
}

}  // namespace relive::supervisor
