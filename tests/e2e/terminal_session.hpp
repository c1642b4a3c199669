// A command run on a real terminal, as a user runs it: a pseudo-terminal (forkpty), the
// command the session leader and the terminal's foreground process group, what it writes
// collected by a reader thread, what the user types written to the terminal (so the line
// discipline echoes, edits lines and turns Ctrl-C into SIGINT, as a real one does).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "test_support.hpp"

namespace relive::test {

class TerminalSession {
 public:
  // Starts argv (no shell) in `cwd` on a new 80x24 terminal. Throws if forkpty fails.
  TerminalSession(std::vector<std::string> argv, const fs::path& cwd);
  // SIGKILL to the session's process group if still running, then reaps.
  ~TerminalSession();
  TerminalSession(const TerminalSession&) = delete;
  TerminalSession& operator=(const TerminalSession&) = delete;

  pid_t pid() const { return pid_; }
  // Keys as typed: "hello\r" is a line and Enter; "\x03" is Ctrl-C, "\x04" Ctrl-D.
  void type(std::string_view keys);
  // Everything the terminal showed so far.
  std::string screen() const;
  // Waits until screen() contains `needle` after byte `from`; false on timeout.
  bool wait_for(std::string_view needle, std::chrono::milliseconds timeout = 20s, size_t from = 0) const;
  size_t count(std::string_view needle) const;
  // Resizes the terminal, as a terminal window does (the kernel sends SIGWINCH to its
  // foreground group).
  void resize(unsigned short rows, unsigned short cols);
  // Waits for the exit; the status as a shell reports it, -1 on timeout.
  int wait(std::chrono::milliseconds timeout = 20s);

 private:
  pid_t pid_ = -1;
  int master_ = -1;
  bool reaped_ = false;
  int status_ = -1;
  std::unique_ptr<CapturedOutput> screen_;  // what the terminal shows
};

}  // namespace relive::test
