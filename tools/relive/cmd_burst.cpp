// relive burst — burst logging for any program's output (relive/burst_filter.hpp):
//   relive burst [OPTIONS]               filter stdin to stdout
//   relive burst [OPTIONS] -- CMD ARGS   run CMD, filter its stdout and stderr (merged, in
//                                        the order written) to stdout; exit with its status
// Debug lines are held back and written only when an error follows. docs/burst-filter.md.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/signalfd.h>
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
#include "relive/burst_port.hpp"

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
// SIGUSR1 (read through `sigfd`) writes every buffer now. In stdin mode `sigfd` also
// carries SIGINT/SIGTERM/SIGHUP: relive is being stopped, the input ends as a failure.
// Returns the signal that stopped it, or 0 at the end of input.
// The caller ends the filter's input (finish()), knowing how it ended.
int pump(int fd, int pidfd, int sigfd, burst::LineFilter& filter, Output& output) {
  std::vector<char> buf(kReadBlock);
  bool child_gone = false;
  int stopped_by = 0;
  for (;;) {
    if (!child_gone) {
      pollfd fds[3] = {{fd, POLLIN, 0}, {sigfd, POLLIN, 0}, {pidfd, POLLIN, 0}};
      if (::poll(fds, pidfd >= 0 ? 3 : 2, -1) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if (fds[1].revents != 0) {
        signalfd_siginfo info;
        while (::read(sigfd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
          if (info.ssi_signo == SIGUSR1) {
            filter.flush();
            output.flush();
          } else {
            stopped_by = static_cast<int>(info.ssi_signo);
          }
        }
        if (stopped_by != 0) break;
        if (fds[0].revents == 0 && fds[2].revents == 0) continue;
      }
      if (pidfd >= 0 && fds[2].revents != 0 && fds[0].revents == 0) {
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
    if (!output.flush()) return stopped_by;
  }
  output.flush();
  return stopped_by;
}

// A signalfd for `signals`, blocked in this thread (children get an empty mask).
int signal_fd(std::initializer_list<int> signals) {
  sigset_t mask;
  sigemptyset(&mask);
  for (int sig : signals) sigaddset(&mask, sig);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  return ::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
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

int run_child(std::vector<std::string>& command, int sigfd, burst::LineFilter& filter, Output& output) {
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
  pump(pipe_fds[0], pidfd, sigfd, filter, output);
  ::close(pipe_fds[0]);
  if (pidfd >= 0) ::close(pidfd);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  g_child_pid = 0;
  // The command failing or dying of a signal is the end --flush-on-exit=failure means.
  const bool failed = !WIFEXITED(status) || WEXITSTATUS(status) != 0;
  filter.finish(failed ? burst::End::failure : burst::End::normal);
  output.flush();
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
      "  relive burst [OPTIONS] -- CMD ARGS  run CMD, filter its stdout+stderr, exit with its status\n"
      "  relive burst --listen ADDR [OPTIONS]  a local log port: receive syslog/JSON/text lines from\n"
      "                                      many programs, one buffer per sender\n"
      "SIGUSR1 writes every buffer now. docs/burst-filter.md has the details.",
      "relive burst"};
  // Checked by the same code as the run command's --burst-* options (burst_options.hpp).
  BurstSettings settings;
  app.add_option("--keep", settings.keep, "most debug messages kept per buffer (default 512)");
  app.add_option("--max-age", settings.max_age, "drop kept messages older than this: 60s, 500ms, 2m (default 60s)");
  app.add_option("--max-bytes", settings.max_bytes, "most bytes of kept text per buffer: 4096, 64k, 16M (default 64M)");
  app.add_option("--max-memory", settings.max_memory,
                 "most memory for all buffers; the oldest buffers are evicted, and counted (default 256M)");
  app.add_option("--pass-level", settings.pass_level, "write lines at or above this level at once (default info)");
  app.add_option("--trigger-level", settings.trigger_level,
                 "lines at or above this level write the kept ones first (default error)");
  app.add_option("--level-regex", settings.level_regexes,
                 "RE2 regex with a group (?P<level>...) giving a line's level; tried before the "
                 "presets; repeatable");
  app.add_option("--no-trigger-regex", settings.no_trigger_regexes,
                 "RE2 regex: matching lines never trigger (written, buffer kept); repeatable, e.g. ' 404 '");
  app.add_option("--key-regex", settings.key_regex,
                 "RE2 regex whose first group (or (?P<key>...)) is a line's key: one buffer per key, "
                 "e.g. 'request_id=(\\S+)'");
  app.add_option("--key", settings.key_field, "JSON or logfmt field whose value is a line's key: one buffer per key");
  app.add_option("--after-trigger", settings.after_trigger,
                 "after a trigger, pass its buffer's lines through for N lines or a time: 20, 5s (default 0)");
  app.add_option("--flush-on-exit", settings.flush_on_exit,
                 "write what is kept at the end: failure (the command failed or relive was stopped by a "
                 "signal; default), always, never");
  burst::PortOptions port;
  std::string stats = "0";
  std::string max_record = "64k";
  app.add_option("--listen", port.listen,
                 "receive on unix:PATH (datagram), unix-stream:PATH, udp:HOST:PORT, tcp:HOST:PORT, or "
                 "systemd (LISTEN_FDS); repeatable");
  app.add_option("--output", port.output, "with --listen: append to this file (reopened on SIGHUP); default stdout");
  app.add_option("--forward", port.forward,
                 "with --listen: send written lines to udp:HOST:PORT, unix:PATH or tcp:HOST:PORT instead");
  app.add_option("--max-record", max_record, "with --listen: longest record taken whole; longer ones are cut, "
                                             "and counted (default 64k)");
  app.add_option("--max-connections", port.max_connections, "with --listen: most stream senders at once (default 1024)");
  app.add_option("--stats", stats, "with --listen: print a stats line (every counter, every drop) this often: 60s");
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

  if (!port.listen.empty()) {
    if (!command.empty() || option_argc < argc) {
      std::fputs("relive burst: --listen takes no command (programs send to the port)\n", stderr);
      return 2;
    }
    auto every = parse_burst_max_age("--stats", stats);
    if (!every) {
      std::fprintf(stderr, "relive burst: %s\n", every.error().message.c_str());
      return 2;
    }
    auto record = parse_burst_size("--max-record", max_record);
    if (!record || *record == 0) {
      std::fprintf(stderr, "relive burst: %s\n",
                   record ? "--max-record '0': must be at least 1" : record.error().message.c_str());
      return 2;
    }
    port.stats_every = *every;
    port.max_record = *record;
    return burst::run_port(port, std::move(*options));
  }
  for (const char* port_only : {"--output", "--forward", "--max-record", "--max-connections", "--stats"}) {
    if (app.get_option(port_only)->count() > 0) {
      std::fprintf(stderr, "relive burst: %s needs --listen\n", port_only);
      return 2;
    }
  }

  Output output;
  auto filter = burst::LineFilter::create(std::move(*options),
                                          [&output](std::string_view lines) { output.append(lines); });
  if (!filter) {
    std::fprintf(stderr, "relive burst: %s\n", filter.error().message.c_str());
    return 2;
  }
  if (!command.empty()) {
    int sigfd = signal_fd({SIGUSR1});
    return run_child(command, sigfd, **filter, output);
  }
  if (option_argc < argc) {
    std::fputs("relive burst: '--' must be followed by a command to run\n", stderr);
    return 2;
  }
  int sigfd = signal_fd({SIGUSR1, SIGINT, SIGTERM, SIGHUP});
  int stopped_by = pump(STDIN_FILENO, -1, sigfd, **filter, output);
  (*filter)->finish(stopped_by != 0 ? burst::End::failure : burst::End::normal);
  output.flush();
  return stopped_by != 0 ? 128 + stopped_by : 0;
}

}  // namespace relive::cli
