// Helpers for the socket-handoff and readiness tests: start a real child through a
// ChildHandoff (fork, apply_in_child, execve — as the supervisor does) and collect what it
// printed. The child is usually this test binary itself, re-executed in a helper mode
// (see helper_main in test_sockets.cpp), so the tests need no other program.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "../../src/supervisor/sockets.hpp"
#include "test_support.hpp"

namespace relive::test {

// A child started through a ChildHandoff, stdout+stderr to a pipe. The destructor kills
// its process group and reaps it, so a failing test leaves nothing behind.
class HandoffChild {
 public:
  HandoffChild(const supervisor::ChildHandoff& handoff, std::vector<std::string> argv) {
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    std::vector<char*> args = exec_argv(argv);
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      setpgid(0, 0);
      int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
      dup2(devnull, 0);
      dup2(out[1], 1);
      dup2(out[1], 2);
      if (handoff.apply_in_child() != 0) _exit(126);
      execve(args[0], args.data(), handoff.envp());
      _exit(127);
    }
    close(out[1]);
    out_fd_ = out[0];
  }
  ~HandoffChild() {
    if (!reaped_) {
      kill(-pid_, SIGKILL);
      int st;
      waitpid(pid_, &st, 0);
    }
    kill(-pid_, SIGKILL);  // grandchildren, if any
    if (out_fd_ >= 0) close(out_fd_);
  }
  HandoffChild(const HandoffChild&) = delete;
  HandoffChild& operator=(const HandoffChild&) = delete;

  pid_t pid() const { return pid_; }

  // Reads output until EOF (every holder of the pipe exited) or `timeout`.
  std::string read_all(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string out;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{out_fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char buf[4096];
      ssize_t n = read(out_fd_, buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }

  // Waits for exit; the shell-style status, or -1 if it did not exit within `timeout`.
  int wait(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    if (reaped_) return status_;
    int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
    if (pidfd < 0) throw std::runtime_error("pidfd_open failed");
    pollfd p{pidfd, POLLIN, 0};
    int ready = poll(&p, 1, static_cast<int>(timeout.count()));
    close(pidfd);
    if (ready <= 0) return -1;
    int st = 0;
    if (waitpid(pid_, &st, 0) != pid_) return -1;
    reaped_ = true;
    status_ = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
    return status_;
  }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  bool reaped_ = false;
  int status_ = -1;
};

// This test binary, to re-execute in a helper mode.
inline std::string self_exe() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) throw std::runtime_error("readlink /proc/self/exe failed");
  return std::string(buf, static_cast<size_t>(n));
}

// fds of this process that are open without close-on-exec: a child inherits them no
// matter what relive does (e.g. from the test runner), so assertions subtract them.
inline std::set<int> inheritable_fds_of_this_process() {
  std::set<int> fds;
  for (int fd = 0; fd < 1024; ++fd) {
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0 && !(flags & FD_CLOEXEC)) fds.insert(fd);
  }
  return fds;
}

}  // namespace relive::test
