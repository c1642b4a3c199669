// A command on a real pseudo-terminal (terminal_session.hpp).
#include "terminal_session.hpp"

#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace relive::test {

struct TerminalSession::Shared {
  mutable std::mutex mu;
  mutable std::condition_variable cv;
  std::string screen;
  bool eof = false;
  std::thread reader;
};

TerminalSession::TerminalSession(std::vector<std::string> argv, const fs::path& cwd)
    : shared_(std::make_shared<Shared>()) {
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
  auto shared = shared_;
  int fd = master_;
  shared_->reader = std::thread([shared, fd] {
    char buf[4096];
    for (;;) {
      ssize_t n = read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      std::lock_guard lock(shared->mu);
      if (n <= 0) {  // EIO: every process holding the terminal is gone
        shared->eof = true;
        shared->cv.notify_all();
        break;
      }
      shared->screen.append(buf, static_cast<size_t>(n));
      shared->cv.notify_all();
    }
  });
}

TerminalSession::~TerminalSession() {
  if (!reaped_ && pid_ > 0) {
    kill(-pid_, SIGKILL);
    int st;
    waitpid(pid_, &st, 0);
  }
  {
    std::unique_lock lock(shared_->mu);
    shared_->cv.wait_for(lock, 2s, [&] { return shared_->eof; });
  }
  if (shared_->eof) {
    shared_->reader.join();
    close(master_);
  } else {
    shared_->reader.detach();  // a leaked process holds the terminal; the test says so
  }
}

void TerminalSession::type(std::string_view keys) {
  while (!keys.empty()) {
    ssize_t n = write(master_, keys.data(), keys.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error("write to the terminal failed");
    keys.remove_prefix(static_cast<size_t>(n));
  }
}

std::string TerminalSession::screen() const {
  std::lock_guard lock(shared_->mu);
  return shared_->screen;
}

bool TerminalSession::wait_for(std::string_view needle, std::chrono::milliseconds timeout, size_t from) const {
  std::unique_lock lock(shared_->mu);
  return shared_->cv.wait_for(lock, timeout, [&] {
    return shared_->screen.size() > from && shared_->screen.find(needle, from) != std::string::npos;
  });
}

size_t TerminalSession::count(std::string_view needle) const {
  std::string s = screen();
  size_t n = 0;
  for (size_t at = s.find(needle); at != std::string::npos; at = s.find(needle, at + needle.size())) ++n;
  return n;
}

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
