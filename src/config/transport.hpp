// The small HTTP/1.1 transport the remote sources (etcd, http) speak through: one request
// and its response, or one streaming request whose body arrives as newline-delimited
// lines (etcd's watch). Behind an interface so that another transport (gRPC) can be added
// without touching the protocol code. Internal to the config part.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "relive/config_remote.hpp"
#include "relive/error.hpp"

namespace relive::config::transport {

struct Request {
  std::string method = "GET";  // GET or POST
  std::string url;
  std::string body;                  // POST body
  std::vector<std::string> headers;  // "Name: value"
  std::chrono::milliseconds timeout{5000};  // whole request (not used for streams)
  // Streams: how often tick() runs at least. A watch's deadlines are seconds apart, and a
  // fleet of idle streams each waking every 50 ms is thousands of wake-ups a second that
  // compete with the ones that carry a change; interrupt() does not wait for a tick.
  std::chrono::milliseconds tick_every{50};
};

struct Response {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-cased; last one wins
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// What a stream's line handler says.
enum class Next { Continue, Stop };

class Transport {
 public:
  virtual ~Transport() = default;
  // One request. Error: could not connect, timed out, interrupted, TLS failure (the
  // message names the URL). A non-2xx status is a Response, not an Error.
  virtual Result<Response> send(const Request& request) = 0;
  // A streaming request: on_line(line) for each complete line of the body (without '\n');
  // tick() at least every request.tick_every (its Stop ends the stream: idle deadline, a
  // check due).
  // Returns the HTTP status once the stream ends (by the server, or by Stop); Error as
  // for send(). Both callbacks run on the calling thread.
  virtual Result<long> stream(const Request& request, const std::function<Next(std::string_view)>& on_line,
                              const std::function<Next()>& tick) = 0;
  // From any thread: makes the current and every later send()/stream() return an Error
  // promptly ("interrupted"). Used by Source::stop().
  virtual void interrupt() = 0;
  // True when the last send()/stream() failed because the server's host refused the
  // connection (ECONNREFUSED: the host is up and nothing listens on the port, i.e. the
  // server is restarting), as opposed to a timeout, a reset or a TLS failure. Calling thread.
  virtual bool refused() const = 0;
};

// libcurl (one multi handle per Transport, so interrupt() wakes it at once).
std::unique_ptr<Transport> curl(const TlsOptions& tls);

}  // namespace relive::config::transport

namespace relive::config::transport {

// Reconnect delay with full jitter: uniformly in [0, min(cap, initial * 2^attempt)), so
// that a fleet that lost its server at the same moment comes back spread out.
std::chrono::milliseconds full_jitter(int attempt, std::chrono::milliseconds initial, std::chrono::milliseconds cap);
// Uniformly in [0, below).
std::chrono::milliseconds uniform_delay(std::chrono::milliseconds below);

// The one background thread of a remote source: started by Source::start(), stopped (and
// joined) by Source::stop(), with a sleep that stop() cuts short. In a fork() child the
// parent's thread does not exist: start() then forgets it (never joins it) and starts anew.
class Worker {
 public:
  enum class Slept { Full, Woken, Stopping };
  ~Worker() { stop({}); }
  // Runs body on a new thread unless one runs already (in this process).
  void start(std::function<void()> body);
  // Sets stopping(), calls interrupt (to cut a network call short), joins.
  void stop(const std::function<void()>& interrupt);
  bool stopping() const { return stopping_.load(); }
  // Sleeps up to d; false if stop() came first.
  bool sleep_for(std::chrono::milliseconds d);
  // How many times announce_back(server) was called in this process so far. Read before a
  // try; passed to backoff() after it failed.
  static std::uint64_t announcements(const std::string& server);
  // A reconnect backoff: sleeps up to d, cut short when stop() comes (Stopping) or when
  // another Worker of this process calls announce_back(server) meanwhile (Woken). Also
  // Woken at once, without sleeping, when announce_back(server) came after `seen` was
  // read (announcements()): the server was found back while this Worker's own try was
  // failing (a probe held by a starting etcd and timed out just as etcd began to serve),
  // and a backoff slept now would miss the news and last its full doubled length.
  Slept backoff(std::chrono::milliseconds d, const std::string& server, std::uint64_t seen);
  // "server is back": wakes every Worker of this process sleeping in backoff() on it. The
  // sources sharing a server then need only one of them to find it back; each woken one
  // waits a small random delay of its own before it reconnects, so they come back spread
  // out, not as a herd. Any thread.
  static void announce_back(const std::string& server);
  // Whether announce_back(server) came within the last `within` (this process).
  static bool announced_within(const std::string& server, std::chrono::milliseconds within);
  // True in a fork() child whose parent had started the thread (the caller then replaces
  // whatever the old thread was using before start()).
  bool inherited() const;

  // Tests: runs f holding the process-wide lock of the sleepers' list (to fork meanwhile).
  static void with_sleepers_locked_for_test(const std::function<void()>& f);

 private:
  std::unique_ptr<std::thread> thread_;
  int pid_ = 0;
  std::atomic<bool> stopping_{false};
  bool woken_ = false;  // under *mu_: announce_back() came during backoff()
  // Pointers, so that a fork() child can replace them: the parent's thread may have held
  // the mutex, or waited on the condition variable, at the moment of the fork.
  std::unique_ptr<std::mutex> mu_ = std::make_unique<std::mutex>();
  std::unique_ptr<std::condition_variable> cv_ = std::make_unique<std::condition_variable>();
};

}  // namespace relive::config::transport
