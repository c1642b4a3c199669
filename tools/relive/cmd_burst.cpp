// relive burst — burst logging for any program's output (relive/burst_filter.hpp):
//   relive burst [OPTIONS]               filter stdin to stdout
//   relive burst [OPTIONS] -- CMD ARGS   run CMD, filter its stdout and stderr (merged, in
//                                        the order written) to stdout; exit with its status
// Debug lines are held back and written only when an error follows. docs/burst-filter.md.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "burst_options.hpp"
#include "commands.hpp"
#include "relive/burst_filter.hpp"

extern char** environ;

namespace relive::cli {
namespace {

constexpr size_t kReadBlock = size_t{128} << 10;  // fits in L2: the filter reads what read() just wrote
constexpr size_t kWriteBlock = size_t{1} << 20;

// Output collected from the filter and written in large blocks.
class Output {
 public:
  Output() { buf_.reserve(kWriteBlock + 4096); }
  void append(std::string_view lines) {
    buf_.append(lines);
    if (buf_.size() >= kWriteBlock) flush();
  }
  // Writes everything held; false (errno set) when stdout is gone.
  bool flush() {
    const char* p = buf_.data();
    size_t left = buf_.size();
    while (left > 0) {
      ssize_t n = ::write(STDOUT_FILENO, p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        buf_.clear();
        return false;
      }
      p += n;
      left -= static_cast<size_t>(n);
    }
    buf_.clear();
    return true;
  }

 private:
  std::string buf_;
};

// Reads fd to its end (or, with a pidfd, until the child has exited and the pipe is
// drained), feeding the filter and writing after every read so output is prompt.
void pump(int fd, int pidfd, burst::LineFilter& filter, Output& output) {
  std::vector<char> buf(kReadBlock);
  bool child_gone = false;
  for (;;) {
    if (pidfd >= 0 && !child_gone) {
      pollfd fds[2] = {{fd, POLLIN, 0}, {pidfd, POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if (fds[1].revents != 0 && fds[0].revents == 0) {
        // The child exited; what it wrote is in the pipe. Drain it without waiting for
        // grandchildren that may hold the pipe open.
        child_gone = true;
        int flags = ::fcntl(fd, F_GETFL);
        ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
      }
    }
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN && !child_gone) continue;
      break;  // EAGAIN after the child exited: drained
    }
    if (n == 0) break;
    filter.feed(std::string_view(buf.data(), static_cast<size_t>(n)));
    if (!output.flush()) return;
  }
  filter.finish();
  output.flush();
}

volatile sig_atomic_t g_child_pid = 0;

// Signals sent to relive by kill(2) are passed on to the child. Those the terminal sends
// (Ctrl-C, Ctrl-\, hangup) reach the child directly, as it shares our process group, so
// they are not sent twice.
void forward_signal(int sig, siginfo_t* info, void*) {
  pid_t child = g_child_pid;
  if (child > 0 && (info == nullptr || info->si_code == SI_USER || info->si_code == SI_QUEUE)) {
    ::kill(child, sig);
  }
}

int run_child(std::vector<std::string>& command, burst::LineFilter& filter, Output& output) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    std::fprintf(stderr, "relive burst: pipe: %s\n", std::strerror(errno));
    return 2;
  }
  ::fcntl(pipe_fds[0], F_SETPIPE_SZ, 1 << 20);  // fewer wakeups for chatty children; best effort

  struct sigaction sa {};
  sa.sa_sigaction = forward_signal;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) ::sigaction(sig, &sa, nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty;
  sigemptyset(&empty);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  std::vector<char*> argv;
  for (auto& arg : command) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  int err = ::posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(pipe_fds[1]);
  if (err != 0) {
    ::close(pipe_fds[0]);
    std::fprintf(stderr, "relive burst: cannot run '%s': %s\n", command[0].c_str(), std::strerror(err));
    return 127;
  }
  g_child_pid = pid;
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));  // -1 on old kernels: read to EOF
  pump(pipe_fds[0], pidfd, filter, output);
  ::close(pipe_fds[0]);
  if (pidfd >= 0) ::close(pidfd);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  g_child_pid = 0;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace

int run_burst(int argc, char** argv) {
  // Everything after "--" is the command, untouched by option parsing.
  std::vector<std::string> command;
  int option_argc = argc;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--") == 0) {
      option_argc = i;
      for (int j = i + 1; j < argc; ++j) command.emplace_back(argv[j]);
      break;
    }
  }

  CLI::App app{
      "Burst logging for any program: writes info and above at once, keeps debug lines in a "
      "bounded buffer and writes them only when an error follows.\n"
      "  relive burst [OPTIONS]              filter stdin to stdout\n"
      "  relive burst [OPTIONS] -- CMD ARGS  run CMD, filter its stdout+stderr, exit with its status",
      "relive burst"};
  // Checked by the same code as the run command's --burst-* options (burst_options.hpp).
  BurstSettings settings;
  app.add_option("--keep", settings.keep, "most debug messages kept (default 512)");
  app.add_option("--max-age", settings.max_age, "drop kept messages older than this: 60s, 500ms, 2m (default 60s)");
  app.add_option("--pass-level", settings.pass_level, "write lines at or above this level at once (default info)");
  app.add_option("--trigger-level", settings.trigger_level,
                 "lines at or above this level write the kept ones first (default error)");
  app.add_option("--level-regex", settings.level_regexes,
                 "RE2 regex with a group (?P<level>...) giving a line's level; tried before the "
                 "presets; repeatable");
  try {
    app.parse(option_argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "relive burst: %s (see relive burst --help)\n", e.what());
    return 2;
  }

  auto options = settings.to_filter_options("--");
  if (!options) {
    std::fprintf(stderr, "relive burst: %s\n", options.error().message.c_str());
    return 2;
  }

  Output output;
  auto filter = burst::LineFilter::create(std::move(*options),
                                          [&output](std::string_view lines) { output.append(lines); });
  if (!filter) {
    std::fprintf(stderr, "relive burst: %s\n", filter.error().message.c_str());
    return 2;
  }
  if (!command.empty()) return run_child(command, **filter, output);
  if (option_argc < argc) {
    std::fputs("relive burst: '--' must be followed by a command to run\n", stderr);
    return 2;
  }
  pump(STDIN_FILENO, -1, **filter, output);
  return 0;
}

}  // namespace relive::cli
