// --ready: READY=1 on NOTIFY_SOCKET from a real child, tcp/http/delay probes against real
// loopback sockets, timeouts, and bad specs.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <fcntl.h>

#include <atomic>
#include <cstddef>
#include <mutex>
#include <cstring>
#include <string>
#include <thread>

#include "../../src/supervisor/readiness.hpp"
#include "handoff_test_helpers.hpp"
#include "relive/listen_fds.hpp"
#include "test_support.hpp"

using relive::supervisor::ChildHandoff;
using relive::supervisor::parse_ready_spec;
using relive::supervisor::ReadinessWait;
using relive::supervisor::ReadyOptions;
using relive::supervisor::ReadySpec;
using State = relive::supervisor::ReadinessWait::State;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

namespace {

ReadySpec ready(std::string_view text) {
  auto s = parse_ready_spec(text);
  if (!s) ADD_FAILURE() << s.error().message;
  return s ? *s : ReadySpec{};
}

std::unique_ptr<ReadinessWait> make_wait(std::string_view text, ReadyOptions options = {}) {
  auto w = ReadinessWait::create(ready(text), options);
  if (!w) ADD_FAILURE() << w.error().message;
  return w ? std::move(*w) : nullptr;
}

// Drives the wait as the supervisor's loop does: poll its fd, process(), until final.
// `limit` only guards a broken test; the wait's own timeout decides failure.
State run_until_done(ReadinessWait& wait, std::chrono::milliseconds limit = 20s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (wait.process() == State::Waiting && std::chrono::steady_clock::now() < deadline) {
    pollfd p{wait.fd(), POLLIN, 0};
    poll(&p, 1, 1000);
  }
  return wait.state();
}

// A TCP socket bound to a free loopback port, not yet listening (connections refused).
struct ReservedPort {
  uint16_t port = 0;
  int fd = relive::test::bind_loopback_tcp(&port, /*reuse_address=*/true);
  ReservedPort() { EXPECT_GE(fd, 0) << "cannot bind a loopback port"; }
  ~ReservedPort() {
    if (fd >= 0) close(fd);
  }
};

// A minimal HTTP server on a thread: answers each connection with the next status from
// `statuses` (the last one repeats) and records the request lines.
class TinyHttpServer {
 public:
  explicit TinyHttpServer(std::vector<int> statuses) : statuses_(std::move(statuses)) {
    listen(port_.fd, 16);
    thread_ = std::thread([this] { serve(); });
  }
  ~TinyHttpServer() {
    stop_ = true;
    shutdown(port_.fd, SHUT_RDWR);  // wakes accept(); this socket is not shared
    thread_.join();
  }
  uint16_t port() const { return port_.port; }
  int requests() const { return requests_; }
  std::string first_request() {
    std::lock_guard lock(mu_);
    return first_request_;
  }

 private:
  void serve() {
    while (!stop_) {
      int c = accept4(port_.fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) break;
      std::string req;
      char buf[1024];
      while (req.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = read(c, buf, sizeof buf);
        if (n <= 0) break;
        req.append(buf, static_cast<size_t>(n));
      }
      int i = requests_++;
      if (i == 0) {
        std::lock_guard lock(mu_);
        first_request_ = req;
      }
      int status = statuses_[std::min<size_t>(static_cast<size_t>(i), statuses_.size() - 1)];
      std::string resp = "HTTP/1.0 " + std::to_string(status) + (status == 200 ? " OK" : " Service Unavailable") +
                         "\r\nContent-Length: 0\r\n\r\n";
      (void)!write(c, resp.data(), resp.size());
      close(c);
    }
  }
  ReservedPort port_;
  std::vector<int> statuses_;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::mutex mu_;
  std::string first_request_;
  std::thread thread_;
};

}  // namespace

TEST(ReadySpecTest, Forms) {
  EXPECT_EQ(ready("notify").kind, ReadySpec::Kind::Notify);
  EXPECT_EQ(ready("sd_notify").kind, ReadySpec::Kind::Notify);
  auto tcp = ready("tcp:9001");
  EXPECT_EQ(tcp.kind, ReadySpec::Kind::Tcp);
  EXPECT_EQ(tcp.host, "127.0.0.1");
  EXPECT_EQ(tcp.port, 9001);
  EXPECT_EQ(ready("tcp:[::1]:9001").host, "::1");
  EXPECT_EQ(ready("9001").kind, ReadySpec::Kind::Tcp);
  auto http = ready("http://localhost:9001/health?deep=1");
  EXPECT_EQ(http.kind, ReadySpec::Kind::Http);
  EXPECT_EQ(http.host, "127.0.0.1");
  EXPECT_EQ(http.port, 9001);
  EXPECT_EQ(http.path, "/health?deep=1");
  EXPECT_EQ(ready("http://127.0.0.1:80").path, "/");
  EXPECT_EQ(ready("delay:250").delay, 250ms);
  EXPECT_EQ(ready("delay:250ms").delay, 250ms);
  EXPECT_EQ(ready("delay:2s").delay, 2000ms);
}

TEST(ReadySpecTest, BadSpecsNameTheSpecAndTheReason) {
  struct Case {
    const char* text;
    const char* reason;
  } cases[] = {
      {"", "empty"},
      {"tcp:", "missing port"},
      {"tcp:99999", "port must be a number 1..65535"},
      {"tcp:db.example:5432", "not a numeric address"},
      {"http://127.0.0.1/health", "missing port"},
      {"http://:80/", "not a numeric address"},
      {"https://127.0.0.1:443/", "https probes are not supported"},
      {"delay:soon", "expected milliseconds"},
      {"delay:", "expected milliseconds"},
      {"ready", "unknown readiness check"},
      {"http://127.0.0.1:80/a b", "spaces"},
  };
  for (const auto& c : cases) {
    auto s = parse_ready_spec(c.text);
    ASSERT_FALSE(s) << c.text;
    EXPECT_THAT(s.error().message, HasSubstr(std::string("--ready ") + c.text)) << c.text;
    EXPECT_THAT(s.error().message, HasSubstr(c.reason)) << c.text;
  }
  auto zero = ReadinessWait::create(ready("notify"), {.timeout = 0ms});
  ASSERT_FALSE(zero);
  EXPECT_THAT(zero.error().message, HasSubstr("--ready-timeout"));
}

TEST(NotifyReadinessTest, ChildSendsReadyOnItsNotifySocket) {
  auto wait = make_wait("notify");
  ASSERT_TRUE(wait);
  auto env = wait->child_env();
  ASSERT_EQ(env.size(), 1u);
  EXPECT_THAT(env[0], ::testing::StartsWith("NOTIFY_SOCKET=@"));
  auto base = relive::supervisor::current_environment();
  base.push_back("RELIVE_TEST_HELPER=notify");
  base.push_back("RELIVE_TEST_DELAY_MS=50");
  ChildHandoff handoff(nullptr, base, env);
  relive::test::HandoffChild child(handoff, {relive::test::self_exe()});
  wait->start(child.pid());
  EXPECT_EQ(run_until_done(*wait), State::Ready) << wait->failure();
  EXPECT_EQ(wait->ready_sender(), child.pid()) << "SO_PASSCRED reports the sender";
  EXPECT_EQ(wait->status(), "warming done");
  EXPECT_GE(wait->elapsed(), 0ms);
}

TEST(NotifyReadinessTest, ShellChildUsingPythonSdNotifyStyle) {
  // The same protocol from another language: Python, as the docs show it.
  auto wait = make_wait("notify");
  ASSERT_TRUE(wait);
  ChildHandoff handoff(nullptr, relive::supervisor::current_environment(), wait->child_env());
  const char* script =
      "import os, socket\n"
      "addr = os.environ['NOTIFY_SOCKET']\n"
      "if addr.startswith('@'): addr = '\\0' + addr[1:]\n"
      "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
      "s.sendto(b'READY=1', addr)\n";
  relive::test::HandoffChild child(handoff, {"/usr/bin/env", "python3", "-c", script});
  wait->start(child.pid());
  EXPECT_EQ(run_until_done(*wait), State::Ready) << wait->failure() << child.read_all(1s);
}

TEST(NotifyReadinessTest, TimesOutWithAClearReasonWhenNoReadyArrives) {
  auto wait = make_wait("notify", {.timeout = 300ms});
  ASSERT_TRUE(wait);
  auto base = relive::supervisor::current_environment();
  base.push_back("RELIVE_TEST_HELPER=never-ready");
  ChildHandoff handoff(nullptr, base, wait->child_env());
  relive::test::HandoffChild child(handoff, {relive::test::self_exe()});
  wait->start(child.pid());
  EXPECT_EQ(run_until_done(*wait), State::Failed);
  EXPECT_EQ(wait->failure(), "not ready within 0.3s: no READY=1 on NOTIFY_SOCKET");
}

TEST(NotifyReadinessTest, ReadyOnAnotherStartsSocketDoesNotCount) {
  // An old child (holding the previous start's NOTIFY_SOCKET) says READY=1: the new
  // start's wait must not take it.
  auto old_wait = make_wait("notify");
  auto new_wait = make_wait("notify", {.timeout = 300ms});
  ASSERT_TRUE(old_wait && new_wait);
  ASSERT_NE(old_wait->child_env(), new_wait->child_env());
  new_wait->start(getpid());
  std::string old_env = old_wait->child_env()[0];
  setenv("NOTIFY_SOCKET", old_env.substr(old_env.find('=') + 1).c_str(), 1);
  EXPECT_TRUE(relive::notify_ready());
  unsetenv("NOTIFY_SOCKET");
  EXPECT_EQ(run_until_done(*new_wait), State::Failed);
  old_wait->start(getpid());
  EXPECT_EQ(run_until_done(*old_wait), State::Ready);
}

TEST(NotifyReadinessTest, FdsSentAlongAreClosedNotKept) {
  auto wait = make_wait("notify");
  ASSERT_TRUE(wait);
  wait->start(getpid());
  std::string address = wait->child_env()[0].substr(std::strlen("NOTIFY_SOCKET="));
  int sender = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, address.data(), address.size());
  addr.sun_path[0] = '\0';
  int pipe_fds[2];
  ASSERT_EQ(pipe2(pipe_fds, O_CLOEXEC), 0);
  char text[] = "FDSTORE=1\nREADY=1";
  iovec iov{text, sizeof text - 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_name = &addr;
  msg.msg_namelen = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address.size());
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &pipe_fds[1], sizeof(int));
  ASSERT_EQ(sendmsg(sender, &msg, 0), static_cast<ssize_t>(sizeof text - 1)) << strerror(errno);
  close(pipe_fds[1]);
  close(sender);
  EXPECT_EQ(run_until_done(*wait), State::Ready);
  // The only write end was passed to the wait; if it closed it, the read end sees EOF.
  pollfd p{pipe_fds[0], POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 5000), 1);
  char ch;
  EXPECT_EQ(read(pipe_fds[0], &ch, 1), 0) << "received fd was kept open";
  close(pipe_fds[0]);
}

TEST(ProbeReadinessTest, TcpProbeRetriesUntilTheChildListens) {
  ReservedPort port;  // bound, not listening: connect is refused
  auto wait = make_wait("tcp:" + std::to_string(port.port));
  ASSERT_TRUE(wait);
  EXPECT_TRUE(wait->child_env().empty()) << "probes give the child no NOTIFY_SOCKET";
  wait->start(0);
  // A few refused attempts (each a wakeup of fd()), then listen.
  for (int wakeups = 0; wakeups < 4;) {
    pollfd p{wait->fd(), POLLIN, 0};
    if (poll(&p, 1, 5000) == 1) ++wakeups;
    ASSERT_EQ(wait->process(), State::Waiting);
  }
  ASSERT_EQ(listen(port.fd, 4), 0);
  EXPECT_EQ(run_until_done(*wait), State::Ready) << wait->failure();
}

TEST(ProbeReadinessTest, TcpProbeTimesOutNamingTheLastError) {
  ReservedPort port;
  auto wait = make_wait("tcp:" + std::to_string(port.port), {.timeout = 300ms});
  ASSERT_TRUE(wait);
  wait->start(0);
  EXPECT_EQ(run_until_done(*wait), State::Failed);
  EXPECT_THAT(wait->failure(), HasSubstr("not ready within 0.3s: tcp:" + std::to_string(port.port)));
  EXPECT_THAT(wait->failure(), HasSubstr("Connection refused"));
}

TEST(ProbeReadinessTest, HttpProbeWaitsFor2xx) {
  TinyHttpServer server({503, 503, 200});
  auto wait = make_wait("http://127.0.0.1:" + std::to_string(server.port()) + "/healthz");
  ASSERT_TRUE(wait);
  wait->start(0);
  EXPECT_EQ(run_until_done(*wait), State::Ready) << wait->failure();
  EXPECT_EQ(server.requests(), 3);
  EXPECT_THAT(server.first_request(), ::testing::StartsWith("GET /healthz HTTP/1.0\r\n"));
  EXPECT_THAT(server.first_request(), HasSubstr("Host: 127.0.0.1:" + std::to_string(server.port())));
}

TEST(ProbeReadinessTest, HttpProbeTimesOutWithTheLastAnswer) {
  TinyHttpServer server({503});
  auto wait = make_wait("http://127.0.0.1:" + std::to_string(server.port()) + "/", {.timeout = 300ms});
  ASSERT_TRUE(wait);
  wait->start(0);
  EXPECT_EQ(run_until_done(*wait), State::Failed);
  EXPECT_THAT(wait->failure(), HasSubstr("answered 503 Service Unavailable"));
}

TEST(ProbeReadinessTest, HttpProbeOfASilentServerTimesOutPerAttempt) {
  ReservedPort port;
  ASSERT_EQ(listen(port.fd, 4), 0);  // accepts (backlog) but never answers
  auto wait = make_wait("http://127.0.0.1:" + std::to_string(port.port) + "/",
                        {.timeout = 600ms, .probe_interval = 20ms, .attempt_timeout = 100ms});
  ASSERT_TRUE(wait);
  wait->start(0);
  EXPECT_EQ(run_until_done(*wait), State::Failed);
  EXPECT_THAT(wait->failure(), HasSubstr("no answer within 100ms"));
}

TEST(ProbeReadinessTest, DelayIsReadyAfterTheDelay) {
  auto wait = make_wait("delay:100");
  ASSERT_TRUE(wait);
  auto t0 = std::chrono::steady_clock::now();
  wait->start(0);
  EXPECT_EQ(run_until_done(*wait), State::Ready);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 100ms);
  auto zero = make_wait("delay:0");
  zero->start(0);
  EXPECT_EQ(zero->process(), State::Ready);
}

TEST(ProbeReadinessTest, WaitFdsAreCloseOnExec) {
  auto before = relive::test::inheritable_fds_of_this_process();
  auto wait = make_wait("notify");
  ASSERT_TRUE(wait);
  auto probe = make_wait("tcp:1");
  ASSERT_TRUE(probe);
  probe->start(0);
  EXPECT_TRUE(fcntl(wait->fd(), F_GETFD) & FD_CLOEXEC);
  // Every fd opened for the waits is close-on-exec: none would leak into a child.
  EXPECT_EQ(relive::test::inheritable_fds_of_this_process(), before);
}
