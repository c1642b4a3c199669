// End-to-end: `relive --socket P --graceful` restarting each example server (C++, Python,
// Node) while clients keep HTTP/1.1 keep-alive connections busy on loopback. A drain that
// closes a connection under a request in flight (a read error for the client) fails.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>

#include "run_test_util.hpp"

namespace relive::test {
namespace {

// Counts of what the clients saw.
struct Tally {
  std::atomic<int> ok{0}, failed{0}, connections{0};
  std::mutex mu;
  std::set<std::string> pids;  // "hello from pid N": which servers answered
  std::vector<std::string> failures;
  void fail(const std::string& why) {
    ++failed;
    std::lock_guard lock(mu);
    if (failures.size() < 10) failures.push_back(why);
  }
};

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// One client: a keep-alive connection, one request after another; reconnects when the
// server answers "Connection: close" (as the drain asks). Anything else that ends the
// connection while a request is out is a failed request.
void client(uint16_t port, const std::atomic<bool>& stop, Tally& t) {
  int fd = -1;
  std::string buf;
  while (!stop) {
    if (fd < 0) {
      fd = connect_loopback_tcp(port, 10s);
      if (fd < 0) {
        t.fail(std::string("connect: ") + std::strerror(errno));
        continue;
      }
      ++t.connections;
      buf.clear();
    }
    static const std::string req = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
      t.fail(std::string("send: ") + std::strerror(errno));
      close(fd);
      fd = -1;
      continue;
    }
    // Read one response: headers, then Content-Length bytes.
    bool got = false, close_after = false;
    for (;;) {
      auto end = buf.find("\r\n\r\n");
      if (end != std::string::npos) {
        std::string head = lower(buf.substr(0, end));
        size_t length = 0;
        if (auto cl = head.find("content-length:"); cl != std::string::npos) length = std::stoul(head.substr(cl + 15));
        close_after = head.find("connection: close") != std::string::npos;
        if (buf.size() >= end + 4 + length) {
          std::string body = buf.substr(end + 4, length);
          if (head.rfind("http/1.1 200", 0) != 0 && head.rfind("http/1.0 200", 0) != 0) {
            t.fail("status: " + head.substr(0, head.find('\r')));
          } else {
            ++t.ok;
            std::lock_guard lock(t.mu);
            t.pids.insert(body);
          }
          buf.erase(0, end + 4 + length);
          got = true;
          break;
        }
      }
      char chunk[4096];
      ssize_t n = recv(fd, chunk, sizeof chunk, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        t.fail(n == 0 ? "connection closed under a request" : std::string("recv: ") + std::strerror(errno));
        break;
      }
      buf.append(chunk, static_cast<size_t>(n));
    }
    if (!got || close_after) {
      close(fd);
      fd = -1;
    }
  }
  if (fd >= 0) close(fd);
}

size_t events(const fs::path& file, const std::string& kind) {
  size_t n = 0;
  for (const auto& line : file_lines(file)) n += line.find("\"event\":\"" + kind + "\"") != std::string::npos;
  return n;
}

void keepalive_restarts(const std::vector<std::string>& server) {
  constexpr int kRestarts = 3;
  constexpr int kClients = 4;
  TempDir dir;
  write_file(dir / "watched" / "trigger", "0");
  uint16_t port = free_loopback_port();
  ASSERT_NE(port, 0);
  auto json = dir / "events.jsonl";
  std::vector<std::string> args = {"-q", "-w", (dir / "watched").string(), "--json-events", json.string(),
                                   "--socket", "127.0.0.1:" + std::to_string(port), "--graceful", "--"};
  args.insert(args.end(), server.begin(), server.end());
  Process relive(relive_argv(args), in_dir(dir.path()));
  ASSERT_TRUE(relive.wait_for_output("serving", 20s)) << relive.output();

  Tally t;
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) clients.emplace_back(client, port, std::cref(stop), std::ref(t));
  ASSERT_TRUE(eventually([&] { return t.ok > 200; }, 20s)) << relive.output();
  for (int i = 1; i <= kRestarts; ++i) {
    write_file(dir / "watched" / "trigger", std::to_string(i));
    // The old server has drained and exited once its stop event is written.
    ASSERT_TRUE(eventually([&] { return events(json, "stop") >= static_cast<size_t>(i); }, 30s))
        << "restart " << i << ": " << relive.output();
    int before = t.ok;
    ASSERT_TRUE(eventually([&] { return t.ok > before + 100; }, 20s)) << relive.output();
  }
  stop = true;
  for (auto& c : clients) c.join();
  relive.signal(SIGINT);
  relive.wait(20s);

  std::string failures;
  for (const auto& f : t.failures) failures += "\n  " + f;
  EXPECT_EQ(t.failed, 0) << t.failed << " failed requests of " << (t.ok + t.failed) << ":" << failures << "\n" << relive.output();
  EXPECT_GE(t.pids.size(), static_cast<size_t>(kRestarts + 1)) << "answers came from too few generations";
  // Keep-alive was really exercised: far more requests than connections.
  EXPECT_GT(t.ok, 5 * t.connections) << t.ok << " requests on " << t.connections << " connections (no keep-alive?)";
  EXPECT_EQ(events(json, "error"), 0u) << read_file(json);
}

TEST(RunKeepAlive, CppExampleServerDrainsKeepAliveConnections) {
  auto server = fs::path(relive_bin()).parent_path() / "examples" / "http_server" / "http_server";
  ASSERT_TRUE(fs::exists(server)) << server << " is not built";
  keepalive_restarts({server.string()});
}

TEST(RunKeepAlive, PythonExampleServerDrainsKeepAliveConnections) {
  keepalive_restarts({python3(), (source_dir() / "examples" / "python_server.py").string()});
}

TEST(RunKeepAlive, NodeExampleServerDrainsKeepAliveConnections) {
  ASSERT_TRUE(fs::exists("/usr/bin/node")) << "node is needed (apt-get install nodejs)";
  keepalive_restarts({"/usr/bin/node", (source_dir() / "examples" / "node_server.js").string()});
}

}  // namespace
}  // namespace relive::test
