// End-to-end: `relive --socket ... [--graceful]` restarting the example HTTP server
// (examples/http_server) under a steady stream of requests from real clients on loopback.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using relive::test::eventually;
using relive::test::Process;
using relive::test::TempDir;
using relive::test::write_file;
namespace fs = std::filesystem;

fs::path example_server() {
  auto bin = relive::test::relive_bin();
  if (bin.empty()) return {};
  return fs::path(bin).parent_path() / "examples" / "http_server" / "http_server";
}

struct Reply {
  bool ok = false;
  std::string error;  // why not ok: "connect: Connection refused", "status 503", ...
  std::string body;
};

// One GET on a fresh connection (HTTP/1.0: every request goes through the listening
// socket, which is what a restart puts at risk). Generous timeouts: a loaded machine.
Reply http_get(uint16_t port, const std::string& path) {
  Reply r;
  int fd = relive::test::connect_loopback_tcp(port, 10s);
  if (fd < 0) {
    r.error = std::string("connect: ") + std::strerror(errno);
    return r;
  }
  std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    r.error = std::string("send: ") + std::strerror(errno);
    close(fd);
    return r;
  }
  std::string resp;
  char buf[4096];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      r.error = std::string("recv: ") + std::strerror(errno);
      close(fd);
      return r;
    }
    if (n == 0) break;
    resp.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  if (resp.rfind("HTTP/1.1 200", 0) != 0 && resp.rfind("HTTP/1.0 200", 0) != 0) {
    r.error = resp.empty() ? "connection closed without an answer" : "answer: " + resp.substr(0, resp.find('\r'));
    return r;
  }
  auto body = resp.find("\r\n\r\n");
  r.body = body == std::string::npos ? "" : resp.substr(body + 4);
  r.ok = true;
  return r;
}

// "pid=123 listen_pid=123 ..." → value of key.
std::string field(const std::string& text, const std::string& key) {
  auto pos = text.find(key + "=");
  if (pos == std::string::npos) return "";
  pos += key.size() + 1;
  return text.substr(pos, text.find_first_of(" \n", pos) - pos);
}

// Clients sending requests back to back, each on a new connection, until stopped;
// counts failures and remembers which server pid answered.
class SteadyLoad {
 public:
  SteadyLoad(uint16_t port, int clients) : port_(port) {
    for (int i = 0; i < clients; ++i) threads_.emplace_back([this] { run(); });
  }
  ~SteadyLoad() { stop(); }
  void stop() {
    stop_ = true;
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }
  int ok() const { return ok_; }
  int failed() const { return failed_; }
  std::string last_pid() {
    std::lock_guard lock(mu_);
    return last_pid_;
  }
  std::set<std::string> pids() {
    std::lock_guard lock(mu_);
    return pids_;
  }
  std::vector<std::string> errors() {
    std::lock_guard lock(mu_);
    return errors_;
  }

 private:
  void run() {
    while (!stop_) {
      Reply r = http_get(port_, "/");
      std::lock_guard lock(mu_);
      if (r.ok) {
        ++ok_;
        // "hello from pid N\n"
        last_pid_ = r.body.substr(r.body.rfind(' ') + 1);
        if (!last_pid_.empty() && last_pid_.back() == '\n') last_pid_.pop_back();
        pids_.insert(last_pid_);
      } else {
        ++failed_;
        if (errors_.size() < 10) errors_.push_back(r.error);
      }
    }
  }
  uint16_t port_;
  std::atomic<bool> stop_{false};
  std::atomic<int> ok_{0};
  std::atomic<int> failed_{0};
  std::mutex mu_;
  std::string last_pid_;
  std::set<std::string> pids_;
  std::vector<std::string> errors_;
  std::vector<std::thread> threads_;
};

// relive supervising the example server in a temp dir that it watches. Writing `trigger`
// restarts; `mode` tells the NEXT server to start normally, "crash" or "never-ready".
class ZeroDowntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = example_server();
    if (relive::test::relive_bin().empty() || !fs::exists(server_))
      FAIL() << "needs RELIVE_BIN and the example server at " << server_;  // a missing prerequisite fails
    port_ = relive::test::free_loopback_port();
    write_file(dir_ / "mode", "ok\n");
    write_file(dir_ / "trigger", "0\n");
  }

  void start_relive(std::vector<std::string> relive_options) {
    std::vector<std::string> argv = {relive::test::relive_bin(), "-w", dir_.path().string()};
    argv.insert(argv.end(), relive_options.begin(), relive_options.end());
    argv.insert(argv.end(), {"--", server_.string(), "--mode-file", (dir_ / "mode").string()});
    relive_ = std::make_unique<Process>(argv);
    ASSERT_TRUE(eventually([&] { return http_get(port_, "/").ok; }, 10s))
        << "server never answered; relive said:\n" << relive_->output();
  }

  void TearDown() override {
    if (!relive_) return;
    relive_->signal(SIGTERM);
    EXPECT_NE(relive_->wait(10s), -1) << relive_->output();
  }

  std::string current_pid() {
    Reply r = http_get(port_, "/info");
    return r.ok ? field(r.body, "pid") : "";
  }

  // Restarts by touching a watched file; waits until a different pid answers.
  bool restart_and_wait_for_new_pid(int n) {
    std::string before = current_pid();
    write_file(dir_ / "trigger", std::to_string(n) + "\n");
    return eventually([&] {
      auto now = current_pid();
      return !now.empty() && now != before;
    }, 10s);
  }

  fs::path server_;
  TempDir dir_;
  uint16_t port_ = 0;
  std::unique_ptr<Process> relive_;
};

std::string socket_spec(uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

TEST_F(ZeroDowntimeTest, GracefulRestartsUnderSteadyLoadFailNoRequest) {
  start_relive({"--socket", socket_spec(port_), "--graceful"});
  SteadyLoad load(port_, 4);
  std::set<std::string> servers;
  for (int i = 1; i <= 8; ++i) {
    ASSERT_TRUE(restart_and_wait_for_new_pid(i)) << "restart " << i << " did not happen:\n" << relive_->output();
    // Each server got the socket with LISTEN_PID = its own pid, and kept it to itself.
    Reply info = http_get(port_, "/info");
    ASSERT_TRUE(info.ok) << info.error;
    EXPECT_EQ(field(info.body, "listen_pid"), field(info.body, "pid")) << info.body;
    EXPECT_EQ(field(info.body, "listen_fds"), "1") << info.body;
    EXPECT_EQ(field(info.body, "grandchild_listen_sockets"), "0") << info.body;
    servers.insert(field(info.body, "pid"));
  }
  load.stop();
  EXPECT_EQ(servers.size(), 8u);
  EXPECT_GT(load.ok(), 0);
  EXPECT_EQ(load.failed(), 0) << ::testing::PrintToString(load.errors()) << "\n" << relive_->output();
}

TEST_F(ZeroDowntimeTest, SocketAloneQueuesClientsInTheBacklogDuringStopThenStart) {
  start_relive({"--socket", socket_spec(port_)});
  SteadyLoad load(port_, 4);
  for (int i = 1; i <= 4; ++i)
    ASSERT_TRUE(restart_and_wait_for_new_pid(i)) << "restart " << i << ":\n" << relive_->output();
  load.stop();
  EXPECT_GT(load.ok(), 0);
  EXPECT_EQ(load.failed(), 0) << ::testing::PrintToString(load.errors()) << "\n" << relive_->output();
}

TEST_F(ZeroDowntimeTest, NewServerThatNeverBecomesReadyLeavesTheOldOneServing) {
  start_relive({"--socket", socket_spec(port_), "--graceful", "--ready-timeout", "1s"});
  std::string old_pid = current_pid();
  ASSERT_FALSE(old_pid.empty());
  SteadyLoad load(port_, 2);
  write_file(dir_ / "mode", "never-ready\n");  // a watched file: this restarts too
  ASSERT_TRUE(relive_->wait_for_output("not ready", 15s)) << relive_->output();
  // The failed server is gone; the old one answers every request.
  EXPECT_TRUE(eventually([&] { return load.ok() > 20; }, 10s));
  load.stop();
  EXPECT_EQ(load.failed(), 0) << ::testing::PrintToString(load.errors()) << "\n" << relive_->output();
  EXPECT_EQ(load.pids(), std::set<std::string>{old_pid}) << relive_->output();
  EXPECT_EQ(current_pid(), old_pid);
  // And the next good change goes through.
  write_file(dir_ / "mode", "ok\n");
  EXPECT_TRUE(eventually([&] { return !current_pid().empty() && current_pid() != old_pid; }, 10s))
      << relive_->output();
}

TEST_F(ZeroDowntimeTest, NewServerThatCrashesOnStartLeavesTheOldOneServing) {
  start_relive({"--socket", socket_spec(port_), "--graceful"});
  std::string old_pid = current_pid();
  ASSERT_FALSE(old_pid.empty());
  SteadyLoad load(port_, 2);
  write_file(dir_ / "mode", "crash\n");
  // The failure is reported with the new server's last output.
  ASSERT_TRUE(relive_->wait_for_output("crashing on start", 15s)) << relive_->output();
  EXPECT_TRUE(eventually([&] { return load.ok() > 20; }, 10s));
  load.stop();
  EXPECT_EQ(load.failed(), 0) << ::testing::PrintToString(load.errors()) << "\n" << relive_->output();
  EXPECT_EQ(load.pids(), std::set<std::string>{old_pid}) << relive_->output();
}

TEST_F(ZeroDowntimeTest, BadSocketSpecIsOneClearLineAndExit2) {
  Process bad({relive::test::relive_bin(), "-w", dir_.path().string(), "--socket", "tcp:nope:80", "--", "true"});
  EXPECT_EQ(bad.wait(10s), 2);
  EXPECT_TRUE(bad.wait_for_output("--socket tcp:nope:80: host \"nope\" is not a numeric address", 10s))
      << bad.output();
  Process bad_ready({relive::test::relive_bin(), "-w", dir_.path().string(), "--graceful", "--ready", "http://127.0.0.1/x", "--",
                     "true"});
  EXPECT_EQ(bad_ready.wait(10s), 2);
  EXPECT_TRUE(bad_ready.wait_for_output("--ready http://127.0.0.1/x: missing port", 10s)) << bad_ready.output();
}

}  // namespace
