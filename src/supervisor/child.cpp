// Child: fork+exec of one command in a process group of its own, tracked by a pidfd.
#include <fcntl.h>
#include <linux/sched.h>  // CLONE_PIDFD
#include <signal.h>
#include <sys/prctl.h>
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

// clone3 with CLONE_PIDFD: the pidfd comes with the process, so there is no window in which
// the child could exit, be reaped and have its pid recycled before we hold it (as with
// fork + pidfd_open). Returns like fork(); falls back to fork + pidfd_open on kernels
// without clone3 (before 5.3).
pid_t spawn_with_pidfd(int* pidfd) {
  struct {  // struct clone_args, CLONE_ARGS_SIZE_VER0
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
  } args{};
  args.flags = CLONE_PIDFD;
  args.pidfd = reinterpret_cast<uintptr_t>(pidfd);
  args.exit_signal = SIGCHLD;
  long pid = syscall(SYS_clone3, &args, sizeof args);
  if (pid >= 0 || errno != ENOSYS) {
    if (pid > 0) fcntl(*pidfd, F_SETFD, FD_CLOEXEC);
    return static_cast<pid_t>(pid);
  }
  pid = fork();
  if (pid <= 0) return static_cast<pid_t>(pid);
  *pidfd = proc::pidfd_open(static_cast<pid_t>(pid));
  if (*pidfd < 0) {
    int e = errno;
    kill(static_cast<pid_t>(pid), SIGKILL);
    waitpid(static_cast<pid_t>(pid), nullptr, 0);
    errno = e;
    return -1;
  }
  return static_cast<pid_t>(pid);
}

// The interpreter named on a script's #! line ("" if there is none).
std::string interpreter_of(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  char buf[256];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n < 3 || buf[0] != '#' || buf[1] != '!') return "";
  std::string line(buf + 2, static_cast<size_t>(n - 2));
  line = line.substr(0, line.find('\n'));
  size_t start = line.find_first_not_of(" \t");
  if (start == std::string::npos) return "";
  return line.substr(start, line.find_first_of(" \t\r", start) - start);
}

// Why exec failed, in words: a missing interpreter is named, not the script that exists.
Error exec_error(const std::string& program, const std::string& name, int err) {
  if (err == ENOENT) {
    std::string interp = interpreter_of(program);
    if (!interp.empty())
      return Error{fmt::format("cannot run {}: its interpreter {} (#! line) does not exist", name, interp),
                   ErrorKind::NotFound, err};
    return Error{"command not found: " + name, ErrorKind::NotFound, err};
  }
  return Error{errno_message(err, "cannot run " + name),
               err == EACCES ? ErrorKind::PermissionDenied : ErrorKind::System, err};
}

}  // namespace

Result<std::string> find_program(std::string_view name) {
  if (name.empty()) return Error{"command not found: (empty)", ErrorKind::NotFound, ENOENT};
  std::string n(name);
  int err = ENOENT;
  if (n.find('/') != std::string::npos) {
    if (is_executable_file(n, &err)) return n;
    if (err == ENOENT || err == ENOTDIR) return Error{"command not found: " + n, ErrorKind::NotFound, err};
    return Error{errno_message(err, "cannot run " + n), ErrorKind::PermissionDenied, err};
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
  if (denied) return Error{"cannot run " + n + ": permission denied", ErrorKind::PermissionDenied, EACCES};
  return Error{"command not found: " + n, ErrorKind::NotFound, ENOENT};
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
  // For a script without #! (ENOEXEC): /bin/sh PROGRAM ARGS..., prepared before clone.
  std::vector<char*> sh_argv;
  static char kSh[] = "/bin/sh";
  sh_argv.push_back(kSh);
  sh_argv.push_back(nullptr);  // the program, filled in by the child
  for (size_t i = 1; i < argv.size(); ++i) sh_argv.push_back(argv[i].data());
  sh_argv.push_back(nullptr);

  int err_pipe[2];
  if (pipe2(err_pipe, O_CLOEXEC) != 0) return errno_error("pipe2");

  const pid_t parent = getpid();
  int pidfd = -1;
  pid_t pid = spawn_with_pidfd(&pidfd);
  if (pid < 0) {
    int e = errno;
    close(err_pipe[0]);
    close(err_pipe[1]);
    return Error{errno_message(e, "clone3"), ErrorKind::System, e};
  }
  if (pid == 0) {
    auto fail = [&](int e) {
      ssize_t ignored = write(err_pipe[1], &e, sizeof e);
      (void)ignored;
      _exit(127);
    };
    setpgid(0, 0);
    // If relive dies (even by SIGKILL), the program goes too, instead of holding its port
    // under init. The parent may have died before prctl: then it is too late for the
    // signal, and getppid() tells.
    if (spec.parent_death_signal != 0) {
      prctl(PR_SET_PDEATHSIG, spec.parent_death_signal);
      if (getppid() != parent) _exit(127);
    }
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
    if (errno == ENOEXEC) {
      // No #! line: run it with /bin/sh, as execvp and every shell do.
      sh_argv[1] = program.data();
      execve("/bin/sh", sh_argv.data(), handoff.envp());
    }
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
    siginfo_t info{};
    while (waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info, WEXITED) < 0 && errno == EINTR) {
    }
    close(pidfd);
    return exec_error(program, argv[0], child_errno);
  }

  std::unique_ptr<Child> child(new Child());
  child->pid_ = pid;
  child->pidfd_ = pidfd;
  child->started_at_ = std::chrono::steady_clock::now();
  if (auto info = proc::read_stat(pid)) child->start_ticks_ = info->start_ticks;
  return child;
}

Child::~Child() {
  if (pidfd_ < 0) return;
  if (!reaped_) proc::reap_pidfd(pidfd_, pid_);  // a zombie we kept; no-op while it runs
  close(pidfd_);
}

bool Child::exited() const {
  if (status_) return true;
  return proc::pidfd_readable(pidfd_);
}

std::optional<ExitStatus> Child::try_reap() {
  if (status_) return status_;
  status_ = proc::reap_pidfd(pidfd_, pid_);
  reaped_ = status_.has_value();
  return status_;
}

std::optional<ExitStatus> Child::peek_status() {
  if (!status_) status_ = proc::peek_pidfd(pidfd_, pid_);
  return status_;
}

bool Child::signal(int sig) const {
  return syscall(SYS_pidfd_send_signal, pidfd_, sig, nullptr, 0) == 0;
}

bool Child::signal_group(int sig) const { return kill(-pid_, sig) == 0; }

}  // namespace relive::supervisor
