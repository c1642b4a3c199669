// stdin_relay.hpp — relive's standard input passed on to the running program, and `rs`
// typed alone on a line as a restart by hand (internal to the supervisor part).
//
// Why: the program runs in a process group of its own, not the terminal's foreground group
// (relive keeps that, to receive Ctrl-C), so a program reading the terminal itself would
// be stopped by SIGTTIN. Instead relive reads its stdin (the terminal stays in canonical
// mode: the terminal echoes and edits lines) and writes it into a pipe that is the
// program's stdin — a new pipe per generation, as nodemon does.
//
// What goes where:
//   * Each generation gets a pipe (child_end() before Child::start, started() after). Input
//     goes to the one made current (make_current(); --graceful: the serving one until the
//     handover). Input arriving while none is current waits, up to kMaxQueued bytes, for
//     the next. A generation whose stop begins gets no more (close_for()).
//   * A line that is `rs` (spaces around allowed) is not passed on: on_restart() is called.
//   * EOF: the current generation's pipe is closed. On a terminal (Ctrl-D) relive goes on
//     reading (the next line goes to the next generation, `rs` still works); any other
//     stdin has ended for good, and later generations see EOF at once.
//   * Never blocks the loop: relive's ends of the pipes are non-blocking; a program that
//     does not read makes the queue fill, and then a terminal's further input is dropped
//     (said once) while a pipe's or file's is simply not read until there is room.
//   * A terminal is read only while relive is in its foreground process group (`relive
//     ... &` must not be stopped by SIGTTIN); in the background it is checked again every
//     second.
//
// Example (the Supervisor's loop):
//   auto relay = StdinRelay::create(epfd, kStdinTag, [&] { restart(); }, [&](auto m) { info(m); });
//   spec.stdin_fd = (*relay)->child_end();
//   auto c = Child::start(spec); (*relay)->started(c ? (*c)->pid() : 0, /*current=*/true);
//   // epoll reported kStdinTag: (*relay)->on_event();
//
// Single-threaded: the loop's thread only. The relay adds and removes its own fds in the
// epoll set it was given, all with one tag.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "relive/error.hpp"

namespace relive::supervisor {

class StdinRelay {
 public:
  static constexpr size_t kMaxQueued = 64 * 1024;
  // Reads `source_fd` (relive's stdin). Fails only if the timerfd cannot be created. A
  // closed `source_fd` is ended from the start (programs see EOF).
  static Result<std::unique_ptr<StdinRelay>> create(int epfd, uint64_t tag, std::function<void()> on_restart,
                                                    std::function<void(std::string_view)> on_notice,
                                                    int source_fd = 0);
  ~StdinRelay();
  StdinRelay(const StdinRelay&) = delete;
  StdinRelay& operator=(const StdinRelay&) = delete;

  // A new pipe for the generation about to start; returns its read end for
  // ChildSpec::stdin_fd, or -1 if pipe2 failed (the program then inherits relive's stdin).
  int child_end();
  // After Child::start: closes relive's copy of the read end; `pid` owns the write end (0:
  // the start failed, the pipe is dropped). `current`: input goes to it from now on.
  void started(pid_t pid, bool current);
  // Input goes to `pid`'s pipe from now on (--graceful: the handover).
  void make_current(pid_t pid);
  // `pid`'s stop begins: no more input for it. Its pipe is closed once the program's side
  // is (no EOF during the stop, which would race the stop signal).
  void close_for(pid_t pid);
  // Something the relay registered is ready: reads, writes, re-checks. Never blocks.
  void on_event();

 private:
  StdinRelay() = default;
  void read_source();
  void take(const char* data, size_t size);
  void queue(std::string_view data);
  void flush();
  void source_eof();
  void close_pipe(pid_t pid);
  void close_unread_retired();
  void update_registration();
  bool foreground() const;

  int epfd_ = -1;
  uint64_t tag_ = 0;
  int source_ = -1;
  bool source_is_tty_ = false;
  bool source_pollable_ = true;  // regular files, /dev/null: read without epoll
  bool source_ended_ = false;
  bool source_registered_ = false;
  int timer_fd_ = -1;      // the background re-check
  bool paused_ = false;    // a terminal, relive in the background
  std::function<void()> on_restart_;
  std::function<void(std::string_view)> on_notice_;

  int pending_read_end_ = -1;   // between child_end() and started()
  int pending_write_end_ = -1;
  std::map<pid_t, int> pipes_;  // write ends, per generation
  std::vector<int> retired_;    // write ends of generations being stopped
  pid_t current_ = 0;
  int registered_out_ = -1;     // the write end waiting for EPOLLOUT

  std::string line_;            // a line start that could still become "rs"
  bool at_line_start_ = true;
  bool restart_requested_ = false;  // on_restart() runs at the end of on_event()
  bool eof_owed_ = false;       // input ended (Ctrl-D): the next pipe to drain gets EOF
  bool out_blocked_ = false;    // the current pipe is full
  std::string queued_;          // for the current (or next) generation
  bool dropping_ = false;       // a terminal's input is being dropped (said once)
};

// Whether `line` (without its '\n') is the manual-restart command: "rs", spaces, tabs and
// a '\r' around it allowed.
bool is_restart_line(std::string_view line);

}  // namespace relive::supervisor
