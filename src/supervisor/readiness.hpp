// readiness.hpp — knowing when a freshly started child is ready to serve (internal to the
// supervisor part).
//
// An overlapped restart stops the old child only once the new one is ready. "Ready" is
// one of:
//   notify                    the child sends READY=1 to $NOTIFY_SOCKET (sd_notify(3));
//                             relive creates one socket per child start
//   tcp:PORT, tcp:HOST:PORT   a TCP connect succeeds
//   http://HOST:PORT/PATH     a GET answers 2xx (HTTP/1.0, one request per attempt)
//   delay:MS                  MS milliseconds have passed (also delay:2s, delay:500ms)
// bounded by a timeout. Everything is non-blocking and runs on the caller's thread: the
// wait exposes one fd (an epoll fd) that becomes readable when process() has something
// to do, so the supervisor adds it to its own event loop. No helper thread.
//
// Note for probes: a probe of the port relive shares between old and new child may be
// answered by the old child. Probe something only the new child answers (its own health
// port), or use notify.
//
// Example:
//   auto spec = parse_ready_spec("http://127.0.0.1:9001/health");   // or "notify"
//   auto wait = ReadinessWait::create(*spec, {.timeout = 30s});
//   ChildHandoff handoff(&sockets, current_environment(), (*wait)->child_env());
//   pid_t pid = fork(); ...                                          // exec the child
//   (*wait)->start(pid);
//   // in the event loop, when (*wait)->fd() is readable:
//   switch ((*wait)->process()) {
//     case ReadinessWait::State::Ready:  stop_old_child(); break;
//     case ReadinessWait::State::Failed: report((*wait)->failure()); stop_new_child(); break;
//     case ReadinessWait::State::Waiting: break;
//   }
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "relive/error.hpp"

namespace relive::supervisor {

struct ReadySpec {
  enum class Kind { Notify, Tcp, Http, Delay };
  Kind kind = Kind::Notify;
  std::string host = "127.0.0.1";   // Tcp/Http: numeric address (no brackets)
  uint16_t port = 0;                // Tcp/Http
  std::string path = "/";           // Http: path and query, starting with '/'
  std::chrono::milliseconds delay{0};  // Delay
  std::string text;                 // as the user wrote it ("notify" when defaulted)
};

// Parses a `--ready` value (forms above; "sd_notify" is an alias of "notify"; a bare
// port "9001" means tcp:127.0.0.1:9001). Hosts must be numeric or "localhost", so a
// probe never blocks on name resolution. Pure, any thread. The Error names the value
// and the reason: `--ready http://127.0.0.1/health: missing port`.
Result<ReadySpec> parse_ready_spec(std::string_view text);

struct ReadyOptions {
  std::chrono::milliseconds timeout{30'000};       // --ready-timeout; must be > 0
  std::chrono::milliseconds probe_interval{20};    // pause between failed probe attempts
  std::chrono::milliseconds attempt_timeout{2'000};  // one connect + answer, at most
};

// One wait for one child start. Owned and used by one thread (the supervisor's loop).
class ReadinessWait {
 public:
  enum class State { Waiting, Ready, Failed };

  // Before fork: for notify, creates the child's NOTIFY_SOCKET (a unix datagram socket,
  // autobound in the abstract namespace: nothing on disk to clean up, and a fresh address
  // per child start, so a message from an older child can never count for this one).
  // Fails only if the kernel refuses an fd/socket.
  static Result<std::unique_ptr<ReadinessWait>> create(ReadySpec spec, ReadyOptions options = {});
  ~ReadinessWait();
  ReadinessWait(const ReadinessWait&) = delete;
  ReadinessWait& operator=(const ReadinessWait&) = delete;

  // "NAME=value" entries for the child's environment: {"NOTIFY_SOCKET=@…"} for notify,
  // empty for probes (relive then gives the child no NOTIFY_SOCKET at all).
  std::vector<std::string> child_env() const;

  // After the child is started: starts the timeout clock and the first probe. `child`
  // is only recorded (messages are accepted from whoever holds this start's socket).
  void start(pid_t child);

  // Readable when process() has work. Stays valid for the object's life. Never read it.
  int fd() const { return epoll_fd_; }

  // Non-blocking: handles what is pending (messages, probe progress, timers) and returns
  // the state. Ready and Failed are final. After Ready, keep calling it when fd() is
  // readable or destroy the wait: either way a child that keeps notifying (STATUS=,
  // WATCHDOG=1) never blocks on a full socket.
  State process();

  State state() const { return state_; }
  // Why it failed, one line: "not ready within 30s: no READY=1 on NOTIFY_SOCKET" or
  // "not ready within 5s: http://127.0.0.1:9001/health answered 503".
  const std::string& failure() const { return failure_; }
  // What is awaited, for messages: "READY=1 on NOTIFY_SOCKET", "tcp:127.0.0.1:9001", ...
  std::string describe() const;
  // Time from start() to Ready (or to now while waiting).
  std::chrono::milliseconds elapsed() const;
  // notify: the pid that sent READY=1 (from SO_PASSCRED), 0 otherwise.
  pid_t ready_sender() const { return ready_sender_; }
  // notify: the last STATUS= text the child sent ("" if none).
  const std::string& status() const { return status_; }

 private:
  ReadinessWait(ReadySpec spec, ReadyOptions options);
  void handle_notify();
  void handle_probe_event(uint32_t events);
  void begin_attempt();
  void attempt_failed(std::string reason);
  void on_connected();
  void become_ready();
  void fail(std::string reason);
  void close_probe();
  void arm(int timer_fd, std::chrono::milliseconds after);
  void watch_probe(uint32_t events);

  enum class Phase { Idle, Connecting, Sending, Reading };

  ReadySpec spec_;
  ReadyOptions options_;
  State state_ = State::Waiting;
  Phase phase_ = Phase::Idle;
  bool started_ = false;
  int epoll_fd_ = -1;
  int notify_fd_ = -1;
  int deadline_fd_ = -1;  // timerfd: the overall timeout
  int retry_fd_ = -1;     // timerfd: next attempt, attempt timeout, or the delay
  int probe_fd_ = -1;
  std::string notify_address_;  // "@xxxxx"
  std::string request_;
  size_t request_sent_ = 0;
  std::string response_;
  std::string last_reason_;
  std::string failure_;
  std::string status_;
  pid_t child_ = 0;
  pid_t ready_sender_ = 0;
  std::chrono::steady_clock::time_point start_time_;
  std::chrono::steady_clock::time_point ready_time_;
};

}  // namespace relive::supervisor
