// Test fixtures for the fleet sources: a real etcd (Debian's etcd-server) on free loopback
// ports with its own data directory, written through its v3 JSON gateway; certificates made
// with openssl; a TCP forwarder that can cut a client off (a network partition); a real
// nginx serving a directory.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace relive::fleet_test {

using namespace relive::test;

// One HTTP request with libcurl (loopback only). status 0 = no answer.
struct HttpAnswer {
  long status = 0;
  std::string body;
  std::string error;
};
HttpAnswer http_post(const std::string& url, const std::string& body, const std::string& ca_file = {},
                     const std::string& cert = {}, const std::string& key = {});

std::string b64(std::string_view s);

// Certificates for a TLS test: a CA, a server certificate for 127.0.0.1 and a client
// certificate, all signed by that CA; plus a second, unrelated CA ("bad CA").
struct Certs {
  fs::path ca, server_cert, server_key, client_cert, client_key, other_ca;
};
Certs make_certs(const fs::path& dir);

class Etcd {
 public:
  struct Options {
    std::string progress_interval = "300ms";  // --experimental-watch-progress-notify-interval
    std::optional<Certs> tls;                  // https with client-certificate auth
    int auth_token_ttl = 0;                    // --auth-token-ttl (0: etcd's default)
  };
  explicit Etcd(Options options);
  Etcd() : Etcd(Options{}) {}
  ~Etcd();

  std::string endpoint() const;  // http(s)://127.0.0.1:PORT
  std::uint16_t port() const { return client_port_; }
  // Starts (again, on the same data dir and ports) and waits until it answers.
  void start();
  void kill();    // SIGKILL, reaped
  void pause();   // SIGSTOP
  void resume();  // SIGCONT

  // Writes through the gateway; each returns the revision of the write.
  std::int64_t put(const std::string& key, const std::string& value);
  std::int64_t del(const std::string& key);  // one key
  void compact(std::int64_t revision);
  std::int64_t revision();
  // Every key under prefix -> value, read now.
  std::map<std::string, std::string> range(const std::string& prefix);
  // etcdctl with this endpoint (and the certificates); returns its output; fails the test
  // when it exits non-zero.
  std::string etcdctl(std::vector<std::string> args);
  // Turns on auth with root:rootpw and user "app":"apppw" allowed under /app/.
  void enable_auth();

 private:
  std::string post(const std::string& path, const std::string& body);
  bool post_once(const std::string& path, const std::string& body, std::string& out);
  Options options_;
  TempDir dir_;
  std::uint16_t client_port_ = 0, peer_port_ = 0;
  std::unique_ptr<Process> process_;
  std::string token_;  // root's, once auth is on
};

// Forwards 127.0.0.1:port() to a target port. cut() drops every connection and refuses new
// ones (accepts and closes them) until heal().
class Partition {
 public:
  explicit Partition(std::uint16_t target);
  ~Partition();
  std::uint16_t port() const { return port_; }
  void cut();
  void heal();
  // Forwards new connections to another port from now on (another etcd "restored" at
  // the same address).
  void retarget(std::uint16_t target) { target_ = target; }

 private:
  void run();
  std::atomic<std::uint16_t> target_;
  std::uint16_t port_ = 0;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  std::atomic<bool> cut_{false}, stop_{false};
  std::atomic<int> generation_{0};
  std::thread thread_;
};

// nginx in the foreground serving `root` on a free loopback port, with ETag and
// Last-Modified as it sends them by default.
class Nginx {
 public:
  explicit Nginx(fs::path root);
  ~Nginx();
  std::string url(const std::string& path) const;
  // Requests served so far (lines of its access log).
  std::size_t requests() const;

 private:
  TempDir dir_;
  std::uint16_t port_ = 0;
  std::unique_ptr<Process> process_;
};

// A stand-in for Consul's KV HTTP API (Consul is not packaged in Debian), following its
// documented blocking queries: GET /v1/kv/KEY?raw[&index=N&wait=Ds] answers at once when
// N is absent or differs from the current index, else when the index changes or the wait
// ends; every answer carries X-Consul-Index; a missing key is a 404 (with the index).
class ConsulStandin {
 public:
  ConsulStandin();
  ~ConsulStandin();
  std::string url(const std::string& key) const;  // .../v1/kv/KEY?raw
  void put(const std::string& key, const std::string& value);  // index + 1
  void remove(const std::string& key);                          // index + 1
  // Sets the index back (a restored cluster), with a new value for key.
  void restore(std::uint64_t index, const std::string& key, const std::string& value);
  std::uint64_t index();
  int requests() const { return requests_.load(); }

 private:
  void serve(int fd);
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  std::uint64_t index_ = 1;
  std::map<std::string, std::string> kv_;
  std::thread acceptor_;
  std::vector<std::thread> handlers_;
};

}  // namespace relive::fleet_test
