// Child: fork+exec of one command in a process group of its own, tracked by a pidfd.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "proc.hpp"
#include "relive/supervisor.hpp"
#include "sockets.hpp"

namespace relive::supervisor {

namespace {

bool is_executable_file(const std::string& path, int* err) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    *err = errno;
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    *err = EACCES;
    return false;
  }
  if (access(path.c_str(), X_OK) != 0) {
    *err = errno;
    return false;
  }
  return true;
}

}  // namespace

Result<std::string> find_program(std::string_view name) {
  if (name.empty()) return Error{"command not found: (empty)"};
  std::string n(name);
  int err = ENOENT;
  if (n.find('/') != std::string::npos) {
    if (is_executable_file(n, &err)) return n;
    if (err == ENOENT || err == ENOTDIR) return Error{"command not found: " + n};
    return Error{errno_message(err, "cannot run " + n)};
  }
  const char* path_env = std::getenv("PATH");
  std::string path = path_env ? path_env : "/usr/local/bin:/usr/bin:/bin";
  bool denied = false;
  size_t start = 0;
  for (;;) {
    size_t end = path.find(':', start);
    std::string dir = path.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + n;
    if (is_executable_file(candidate, &err)) return candidate;
    if (err == EACCES) denied = true;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  if (denied) return Error{"cannot run " + n + ": permission denied"};
  return Error{"command not found: " + n};
}

ExitStatus ExitStatus::from_wait_status(int wstatus) {
  ExitStatus s;
  if (WIFSIGNALED(wstatus)) {
    s.signal = WTERMSIG(wstatus);
    s.core = WCOREDUMP(wstatus);
  } else if (WIFEXITED(wstatus)) {
    s.code = WEXITSTATUS(wstatus);
  }
  return s;
}

std::string ExitStatus::describe() const {
  if (signal) {
    const char* abbrev = sigabbrev_np(signal);
    return fmt::format("was killed by {}{}", abbrev ? std::string("SIG") + abbrev : std::to_string(signal),
                       core ? " (core dumped)" : "");
  }
  if (code == 0) return "exited successfully";
  return fmt::format("exited with status {}", code);
}

Result<std::unique_ptr<Child>> Child::start(const ChildSpec& spec) {
  if (spec.argv.empty()) return Error{"no command given"};
  // Everything the child needs is prepared before fork: between fork and exec only
  // async-signal-safe calls are allowed (relive may have other threads).
  std::vector<std::string> argv;
  std::string program;
  if (spec.shell) {
    std::string joined;
    for (const auto& a : spec.argv) joined += (joined.empty() ? "" : " ") + a;
    argv = {"/bin/sh", "-c", joined};
    program = "/bin/sh";
  } else {
    auto found = find_program(spec.argv[0]);
    if (!found) return found.error();
    program = *found;
    argv = spec.argv;
  }

  // Environment, LISTEN_PID and the fds to place from 3 on: the same handoff path the
  // socket protocol uses (sockets.hpp).
  ChildHandoff handoff(current_environment(), spec.unset_env, spec.env, spec.pass_fds, spec.set_listen_pid);
  std::vector<char*> argv_ptrs;
  for (auto& a : argv) argv_ptrs.push_back(a.data());
  argv_ptrs.push_back(nullptr);
  std::string cwd = spec.cwd.string();

  int err_pipe[2];
  if (pipe2(err_pipe, O_CLOEXEC) != 0) return errno_error("pipe2");

  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(err_pipe[0]);
    close(err_pipe[1]);
    return Error{errno_message(e, "fork")};
  }
  if (pid == 0) {
    auto fail = [&](int e) {
      ssize_t ignored = write(err_pipe[1], &e, sizeof e);
      (void)ignored;
      _exit(127);
    };
    setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig = 1; sig < NSIG; ++sig) {
      if (sig != SIGKILL && sig != SIGSTOP) ::signal(sig, SIG_DFL);
    }
    if (spec.stdin_fd >= 0 && dup2(spec.stdin_fd, 0) < 0) fail(errno);
    if (spec.stdout_fd >= 0 && dup2(spec.stdout_fd, 1) < 0) fail(errno);
    if (spec.stderr_fd >= 0 && dup2(spec.stderr_fd, 2) < 0) fail(errno);
    if (int e = handoff.apply_in_child(); e != 0) fail(e);
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) fail(errno);
    execve(program.c_str(), argv_ptrs.data(), handoff.envp());
    fail(errno);
  }

  // Both sides set the group, so it exists before either goes on (no race with a signal).
  setpgid(pid, pid);
  close(err_pipe[1]);
  int child_errno = 0;
  ssize_t n;
  do {
    n = read(err_pipe[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  close(err_pipe[0]);
  if (n == static_cast<ssize_t>(sizeof child_errno)) {
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (child_errno == ENOENT) return Error{"command not found: " + argv[0]};
    return Error{errno_message(child_errno, "cannot run " + argv[0])};
  }

  std::unique_ptr<Child> child(new Child());
  child->pid_ = pid;
  child->started_at_ = std::chrono::steady_clock::now();
  child->pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (child->pidfd_ < 0) {
    int e = errno;
    kill(-pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
    return Error{errno_message(e, "pidfd_open")};
  }
  fcntl(child->pidfd_, F_SETFD, FD_CLOEXEC);
  if (auto info = proc::read_stat(pid)) child->start_ticks_ = info->start_ticks;
  return child;
}

Child::~Child() {
  if (pidfd_ >= 0) close(pidfd_);
}

bool Child::exited() const {
  if (status_) return true;
  return proc::pidfd_readable(pidfd_);
}

std::optional<ExitStatus> Child::try_reap() {
  if (status_) return status_;
  status_ = proc::reap_pidfd(pidfd_, pid_);
  return status_;
}

bool Child::signal(int sig) const {
  return syscall(SYS_pidfd_send_signal, pidfd_, sig, nullptr, 0) == 0;
}

bool Child::signal_group(int sig) const { return kill(-pid_, sig) == 0; }

}  // namespace relive::supervisor
