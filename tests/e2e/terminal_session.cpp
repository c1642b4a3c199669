// A command on a real pseudo-terminal (terminal_session.hpp).
#include "terminal_session.hpp"

#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <thread>

namespace relive::test {

TerminalSession::TerminalSession(std::vector<std::string> argv, const fs::path& cwd) {
  std::vector<char*> args = exec_argv(argv);
  std::string dir = cwd.string();
  winsize ws{};
  ws.ws_row = 24;
  ws.ws_col = 80;
  pid_ = forkpty(&master_, nullptr, nullptr, &ws);
  if (pid_ < 0) throw std::runtime_error("forkpty failed");
  if (pid_ == 0) {
    // A session leader with the terminal as its controlling terminal and its group the
    // foreground one: what a shell gives the command a user types.
    if (chdir(dir.c_str()) != 0) _exit(126);
    ::signal(SIGPIPE, SIG_DFL);
    execv(args[0], args.data());
    _exit(127);
  }
  // The reader ends on EIO, once every process holding the terminal is gone; the master
  // stays open until then, since type() and resize() use it.
  screen_ = std::make_unique<CapturedOutput>(master_, CapturedOutput::AtEnd::keep);
}

TerminalSession::~TerminalSession() {
  if (!reaped_ && pid_ > 0) {
    kill(-pid_, SIGKILL);
    int st;
    waitpid(pid_, &st, 0);
  }
  // A leaked process holding the terminal leaves the reader detached (the test says so).
  if (screen_->finish(2s)) close(master_);
}

void TerminalSession::type(std::string_view keys) {
  while (!keys.empty()) {
    ssize_t n = write(master_, keys.data(), keys.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error("write to the terminal failed");
    keys.remove_prefix(static_cast<size_t>(n));
  }
}

std::string TerminalSession::screen() const { return screen_->text(); }

bool TerminalSession::wait_for(std::string_view needle, std::chrono::milliseconds timeout, size_t from) const {
  return screen_->wait_for(needle, timeout, from);
}

size_t TerminalSession::count(std::string_view needle) const { return screen_->count(needle); }

void TerminalSession::resize(unsigned short rows, unsigned short cols) {
  winsize ws{};
  ws.ws_row = rows;
  ws.ws_col = cols;
  if (ioctl(master_, TIOCSWINSZ, &ws) != 0) throw std::runtime_error("TIOCSWINSZ failed");
}

int TerminalSession::wait(std::chrono::milliseconds timeout) {
  if (reaped_) return status_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int st;
    pid_t r = waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      return status_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(10ms);
  }
}

}  // namespace relive::test
