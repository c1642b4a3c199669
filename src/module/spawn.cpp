#include "spawn.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace relive::module::detail {
namespace {

using Clock = std::chrono::steady_clock;

// Closes the fds it owns.
struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  ~Fd() { reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

bool make_pipe(Fd& read_end, Fd& write_end) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return false;
  read_end.fd = p[0];
  write_end.fd = p[1];
  return true;
}

void append_bounded(std::string& to, const char* data, std::size_t n, std::size_t limit) {
  to.append(data, n);
  if (to.size() > limit * 2) to.erase(0, to.size() - limit);
}

}  // namespace

Result<SpawnOutcome> spawn_and_wait(const std::vector<std::string>& argv, const SpawnOptions& options) {
  const auto start = Clock::now();
  Fd out_r, out_w, ch_r, ch_w, devnull;
  if (!make_pipe(out_r, out_w)) return errno_error("pipe");
  if (options.channel && !make_pipe(ch_r, ch_w)) return errno_error("pipe");
  int in_fd = options.stdin_fd;
  if (in_fd < 0) {
    devnull.fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    in_fd = devnull.fd;
  }

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
  posix_spawn_file_actions_adddup2(&fa, out_w.fd, 1);
  posix_spawn_file_actions_adddup2(&fa, out_w.fd, 2);
  if (options.channel) posix_spawn_file_actions_adddup2(&fa, ch_w.fd, 3);
  posix_spawn_file_actions_addclosefrom_np(&fa, options.channel ? 4 : 3);
  if (!options.cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, options.cwd.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // The child starts with default signal dispositions and an empty mask, whatever the
  // host blocked or ignored (a host often blocks SIGTERM/SIGINT for a signal thread).
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);

  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0], &fa, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return Error{errno_message(rc, "cannot start " + argv[0])};
  out_w.reset();
  ch_w.reset();

  // pidfd: wakes the poll when the child exits even if a grandchild holds the pipes open.
  Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));

  SpawnOutcome outcome;
  bool exited = false;
  char buf[4096];
  while (out_r.fd >= 0 || ch_r.fd >= 0 || !exited) {
    int wait_ms = -1;
    if (options.timeout.count() > 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(start + options.timeout - Clock::now()).count();
      if (left <= 0) {
        ::kill(-pid, SIGKILL);
        ::kill(pid, SIGKILL);
        outcome.timed_out = true;
        break;
      }
      wait_ms = static_cast<int>(left);
    }
    pollfd fds[3];
    int n = 0;
    if (out_r.fd >= 0) fds[n++] = {out_r.fd, POLLIN, 0};
    if (ch_r.fd >= 0) fds[n++] = {ch_r.fd, POLLIN, 0};
    if (!exited) {
      if (pidfd.fd >= 0) {
        fds[n++] = {pidfd.fd, POLLIN, 0};
      } else if (wait_ms < 0 || wait_ms > 10) {
        wait_ms = 10;  // no pidfd (old kernel): look at the child every 10 ms
      }
    }
    int ready = ::poll(fds, static_cast<nfds_t>(n), wait_ms);
    if (ready < 0 && errno != EINTR) break;
    for (int i = 0; i < n; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      if (fds[i].fd == pidfd.fd) continue;
      ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
      if (got > 0) {
        if (fds[i].fd == out_r.fd) {
          append_bounded(outcome.output, buf, static_cast<std::size_t>(got), options.output_limit);
        } else {
          append_bounded(outcome.channel, buf, static_cast<std::size_t>(got), 64 * 1024);
        }
      } else if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN)) {
        if (fds[i].fd == out_r.fd) out_r.reset(); else ch_r.reset();
      }
    }
    if (!exited) {
      int st = 0;
      if (::waitpid(pid, &st, WNOHANG) == pid) {
        exited = true;
        outcome.wait_status = st;
        // The child is gone; whatever is still buffered in the pipes is read above on the
        // next rounds, but a grandchild holding them must not keep us: drain what is there.
        for (Fd* f : {&out_r, &ch_r}) {
          if (f->fd < 0) continue;
          ::fcntl(f->fd, F_SETFL, O_NONBLOCK);
          ssize_t got;
          while ((got = ::read(f->fd, buf, sizeof buf)) > 0) {
            if (f == &out_r) append_bounded(outcome.output, buf, static_cast<std::size_t>(got), options.output_limit);
            else append_bounded(outcome.channel, buf, static_cast<std::size_t>(got), 64 * 1024);
          }
          f->reset();
        }
      }
    }
  }
  if (!exited) {
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    outcome.wait_status = st;
  }
  if (outcome.output.size() > options.output_limit) outcome.output.erase(0, outcome.output.size() - options.output_limit);
  outcome.elapsed_us = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
  return outcome;
}

std::string describe_wait_status(int st) {
  if (WIFEXITED(st)) return "exited with status " + std::to_string(WEXITSTATUS(st));
  if (WIFSIGNALED(st)) {
    int sig = WTERMSIG(st);
    const char* abbrev = sigabbrev_np(sig);
    std::string s = "killed by ";
    s += abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
    if (const char* d = sigdescr_np(sig)) s += std::string(" (") + d + ")";
    return s;
  }
  return "ended with wait status " + std::to_string(st);
}

std::string last_lines(const std::string& text, int n) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (line.find_first_not_of(" \t\r") != std::string::npos) lines.push_back(line);
    start = end + 1;
  }
  std::string out;
  for (std::size_t i = lines.size() > static_cast<std::size_t>(n) ? lines.size() - static_cast<std::size_t>(n) : 0; i < lines.size(); ++i) {
    if (!out.empty()) out += " | ";
    out += lines[i];
  }
  return out;
}

}  // namespace relive::module::detail
