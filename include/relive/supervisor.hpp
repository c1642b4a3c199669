// relive/supervisor.hpp — run a command, restart it on change, and leave nothing behind.
//
// Two layers:
//   * Building blocks: `Child` (a process started in its own process group, tracked by a
//     pidfd) and `TreeStop` (stop everything a child left running: its group, its
//     descendants, and the daemons that double-forked away, which re-parent to us because
//     the supervising process is a child subreaper).
//   * `Supervisor`: the restart-on-change loop of `relive -- CMD`. One epoll loop in the
//     calling thread (watcher fd, signalfd, pidfds, timerfds; no sleeps) and, as in
//     watchexec, an ordered queue of controls: a restart is Build?, then Stop (until every
//     process of the tree is gone and reaped), then Start — never interleaved.
//
// Example (what `relive -w src -- python3 app.py` does):
//   auto watcher = relive::watch::Watcher::open({.roots = {"src"}});
//   if (!watcher) { fmt::print(stderr, "relive: {}\n", watcher.error().message); return 2; }
//   relive::supervisor::Options options;
//   options.command = {"python3", "app.py"};
//   auto sup = relive::supervisor::Supervisor::create(std::move(options), std::move(*watcher));
//   if (!sup) { ...; return sup_error_exit_code; }
//   return (*sup)->run();   // returns when relive gets SIGINT/SIGTERM/SIGHUP
//
// Terminal: the child runs in a process group of its own, NOT the terminal's foreground
// group; relive stays in the foreground, receives Ctrl-C and forwards it (SIGINT) to the
// whole tree. With Options::forward_stdin (what `relive -- CMD` does) the child's stdin is
// a pipe fed from relive's stdin, so `input()` and debuggers work; without it a child that
// reads an interactive terminal is stopped by SIGTTIN (reported, never silent). A child
// whose output goes through relive (--graceful's new generation) writes to a
// pseudo-terminal when relive's output is a terminal, so isatty(1)/isatty(2) hold in
// every mode.
//
// Signals: see handled_signals(). Stop order: see StopMode. Output: the library words
// nothing; it hands each status line as a Status to Options::on_status (the `relive`
// command words them) and writes the text through a writer thread, so a stalled terminal
// never blocks the loop.
//
// Process-wide effects (a process runs at most one Supervisor): create() makes the process
// a child subreaper, blocks handled_signals() (read through a signalfd) and run() reaps
// every child of the process that exits, except the leaders of the generations it tracks
// (kept as zombies until their stop is done) — do not start and wait for other children of
// your own while it runs.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relive/error.hpp"

namespace relive::watch {
class Watcher;
struct PathChange;
}  // namespace relive::watch

namespace relive::supervisor {

// ---------------------------------------------------------------------------------------
// Building blocks
// ---------------------------------------------------------------------------------------

// Looks `name` up the way execvp would: a name containing '/' is checked as given, any
// other is searched on $PATH (default "/usr/local/bin:/usr/bin:/bin"). Returns the path of
// an executable regular file, or an Error "command not found: NAME" (or "...: permission
// denied"). Any thread.
Result<std::string> find_program(std::string_view name);

// What to start and how. Everything the zero-downtime layer needs to hand a child is here:
// extra environment, inherited fds placed from fd 3 on, LISTEN_PID set in the child.
struct ChildSpec {
  std::vector<std::string> argv{};        // argv[0] is looked up on PATH unless it has a '/'
  bool shell = false;                   // run argv joined by spaces through /bin/sh -c
  std::vector<std::string> env{};         // extra "NAME=value" entries (override inherited)
  std::vector<std::string> unset_env{};   // names removed from the inherited environment
  std::vector<int> pass_fds{};            // dup2'ed to 3, 4, ... in the child (not CLOEXEC)
  bool set_listen_pid = false;          // put LISTEN_PID=<the child's own pid> in its env
  int stdin_fd = -1;                    // -1: inherit relive's
  int stdout_fd = -1;
  int stderr_fd = -1;
  std::filesystem::path cwd{};            // empty: inherit
  // Sent to the child when relive dies (PR_SET_PDEATHSIG; 0: none), so that even a
  // SIGKILLed relive leaves no server behind holding its port.
  int parent_death_signal = SIGKILL;
};

// How a process ended, as a shell reports it.
struct ExitStatus {
  int code = 0;        // exit code, or 0 when killed by a signal
  int signal = 0;      // the terminating signal, or 0
  bool core = false;
  // 128+signal when killed by a signal, else code.
  int shell_status() const { return signal ? 128 + signal : code; }
  // "exited with status 1", "exited successfully", "was killed by SIGSEGV (core dumped)".
  std::string describe() const;
  static ExitStatus from_wait_status(int wstatus);
};

// One started process: its own process group (pgid == pid), tracked by a pidfd. Does not
// stop anything on destruction (stopping is TreeStop's job); reaps the main process if it
// exited and is still a zombie, and closes its pidfd.
// Single-threaded: use a Child from one thread.
class Child {
 public:
  // clone3(CLONE_PIDFD)+exec (the pidfd exists from the first instant). Signals blocked
  // or ignored by relive are reset to default in the child. A file without a #! line is
  // run with /bin/sh, as execvp does. Fails (and leaves nothing running) if the clone or
  // the exec fails; the Error (kind NotFound, PermissionDenied or System) then reads
  // "command not found: NAME", "cannot run NAME: its interpreter /x/y (#! line) does not
  // exist" or "cannot run NAME: <strerror>".
  static Result<std::unique_ptr<Child>> start(const ChildSpec& spec);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  pid_t pgid() const { return pid_; }
  int pidfd() const { return pidfd_; }
  // Kernel start time (clock ticks since boot, /proc/PID/stat field 22); used to tell
  // which generation a re-parented orphan came from.
  unsigned long long start_ticks() const { return start_ticks_; }
  std::chrono::steady_clock::time_point started_at() const { return started_at_; }

  // Whether the main process exited (pidfd readable). Non-blocking.
  bool exited() const;
  // Reaps the main process if it exited and nobody reaped it yet (waitpid on its pid);
  // returns its status once known. Non-blocking.
  std::optional<ExitStatus> try_reap();
  // Reads the main process's status once it exited, leaving it a zombie (WNOWAIT): its pid
  // and process group id stay taken, so signal_group() can never reach a stranger. The
  // destructor reaps it. Non-blocking.
  std::optional<ExitStatus> peek_status();
  // Records a status obtained by someone else's waitpid(-1) loop.
  void set_status(ExitStatus status) {
    status_ = status;
    reaped_ = true;
  }
  const std::optional<ExitStatus>& status() const { return status_; }
  // Sends `sig` to the main process (via the pidfd: never to a recycled pid).
  bool signal(int sig) const;
  // Sends `sig` to the whole process group. Safe while the main process is not reaped
  // (use peek_status(), not try_reap(), until the tree is stopped).
  bool signal_group(int sig) const;

 private:
  Child() = default;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  unsigned long long start_ticks_ = 0;
  std::chrono::steady_clock::time_point started_at_{};
  std::optional<ExitStatus> status_;
  bool reaped_ = false;
};

// Who hears the stop signal first (--stop-mode):
//   Mixed (default; systemd's KillMode=mixed): the main process alone; once it has exited,
//     the rest of its tree (group, descendants, re-parented daemons), which then has a
//     full timeout of its own. A main process still running after the timeout: SIGKILL
//     to the whole tree. A master that stops its workers in order (Gunicorn, `go run`
//     with its temporary directory) gets to do so.
//   Group: the whole process group at once, then every other member of the tree.
//   Main: the main process alone; the rest is left to it, and whatever is left after the
//     timeout gets SIGKILL.
enum class StopMode { Mixed, Group, Main };
const char* to_string(StopMode mode);  // "mixed", "group", "main"
Result<StopMode> parse_stop_mode(std::string_view text);

// Stops a child's whole tree: `stop_signal` (then SIGCONT, so stopped processes see it),
// in the order `mode` says; SIGKILL to whatever is left after `timeout`; done once every
// member has exited. Driven by the caller's loop: wait for any of fds() to be readable,
// or `timeout_fd()`, or until next_deadline() — then call poll(). Members that fork while
// being stopped are found by re-walking /proc before declaring the tree gone.
// Zombies: the caller reaps all but the main process (Supervisor's reap_children(keep));
// TreeStop reaps the main process last, once nothing of its tree is left, so that its pid
// and process group id are never recycled while it may still signal them.
class TreeStop {
 public:
  struct Options {
    int stop_signal = SIGTERM;
    std::chrono::milliseconds timeout{5000};
    StopMode mode = StopMode::Mixed;
    std::vector<pid_t> exclude_roots{};                     // other live generations' pids
    std::optional<unsigned long long> newer_generation_ticks{};
    bool everything = false;  // stop every descendant of this process (final shutdown)
    // Called for each member this TreeStop reaps itself (waitid on its pidfd), so the
    // caller learns the main process's status even when TreeStop got to it first.
    std::function<void(pid_t, ExitStatus)> on_reaped{};
  };
  // Signals the tree at once. `child` must outlive the TreeStop.
  TreeStop(const Child* child, Options options);
  ~TreeStop();
  TreeStop(const TreeStop&) = delete;
  TreeStop& operator=(const TreeStop&) = delete;

  // fds to wait on (pidfds of the members; changes after each poll()).
  std::vector<int> fds() const;
  // timerfd that fires at next_deadline() (-1 if timerfd_create failed).
  int timeout_fd() const { return timer_fd_; }
  // When poll() must be called again at the latest, even if no fd became readable (the
  // kill deadline, or the end of the short wait before the /proc walk).
  std::chrono::steady_clock::time_point next_deadline() const;
  // Re-checks; returns true once every process of the tree is gone (reaped or not ours).
  bool poll();
  // SIGKILL to every member now (a second Ctrl-C); poll() goes on as before.
  void kill_now();
  // Sends `sig` to every live member and the group again (on-busy-update=signal).
  void resignal(int sig);
  // SIGKILL was needed: it reached `killed_count()` live processes (0: not killed).
  bool killed() const { return killed_; }
  int killed_count() const { return killed_count_; }
  bool done() const { return done_; }

 private:
  // How long the /proc walk for members outside the group waits for the main process to
  // exit first (it usually does at once, and then one walk suffices).
  static constexpr std::chrono::milliseconds kScanGrace{20};
  int scan(int sig);  // how many new members (but the main process) got `sig`
  void rearm(std::chrono::steady_clock::time_point now);
  int alive_count() const;
  bool all_known_exited() const;
  void reap(int pidfd, pid_t pid);
  void reap_members(bool with_main);
  bool reap_and_check_no_children();
  const Child* child_;
  Options options_;
  std::chrono::steady_clock::time_point kill_deadline_;
  std::chrono::steady_clock::time_point scan_deadline_;
  bool scanned_ = false;
  struct Member {
    pid_t pid;
    int pidfd;
  };
  std::vector<Member> members_;
  int timer_fd_ = -1;
  bool main_only_ = false;  // mixed/main: waiting for the main process before the rest
  int group_signal_ = 0;    // the signal the whole group got already (not sent twice)
  bool kill_sent_ = false;
  bool killed_ = false;
  int killed_count_ = 0;
  bool done_ = false;
};

// ---------------------------------------------------------------------------------------
// The restart-on-change loop
// ---------------------------------------------------------------------------------------

// What a change does while a build or a stop is under way.
enum class OnBusy {
  Queue,      // one follow-up run after the current one (changes merged)
  Restart,    // abort a running build and start over; during a stop, just go on
  DoNothing,  // drop the change
  Signal,     // send the stop signal to the build / the stopping tree, nothing queued
};
Result<OnBusy> parse_on_busy(std::string_view text);

// One thing that happened, for --json-events and for tests.
struct Event {
  // RestartRequested: `rs` typed on relive's stdin (a restart by hand; no Changes event).
  enum class Kind { Changes, RestartRequested, BuildStart, BuildEnd, Start, Stop, Exit, Error };
  Kind kind = Kind::Error;
  // Changes: changed paths, each once, relative to the current directory (absolute when
  // outside it); never empty. Capped at 100; path_count is how many in total.
  std::vector<std::string> paths{};
  size_t path_count = 0;
  bool rescan = false;             // Changes: events were lost; everything counts as changed
  pid_t pid = 0;                   // Start/Stop/Exit/BuildStart/BuildEnd
  std::optional<ExitStatus> status{};  // Exit/BuildEnd
  bool success = false;            // BuildEnd
  bool killed = false;             // Stop: SIGKILL was needed
  double duration_ms = 0;          // BuildEnd, Stop: how long it took
  std::string message{};           // Error: what went wrong; Start: the command
};
const char* to_string(Event::Kind kind);  // "changes", "build_start", ...
// One JSON object on one line (no trailing newline):
//   {"event":"start","time":"2026-11-21T18:01:02.123Z","pid":123,"command":"python3 app.py"}
std::string to_json_line(const Event& event);

// A status line for the user, as facts: the library decides when, the command words it
// (Options::on_status; `relive` renders these in tools/relive/run_render.cpp).
struct Status {
  enum class Kind {
    Cycle,             // changes start a cycle: `message` is their summary (empty: a restart
                       // asked for by hand, `rs`), `next` what runs now
    BuildCannotRun,    // `message`: why --build could not be started
    BuildFailed,       // `status`; `program_running`: the old program keeps running
    StartFailed,       // `message`; `other_pid`: the generation that keeps running (0: none)
    ReadinessFailed,   // --graceful: cannot wait for readiness (`message`); `other_pid` keeps running
    StartedBeside,     // --graceful: `pid` started beside `other_pid`, waiting for `message` up to `ms`
    Ready,             // --graceful: `pid` ready after `ms`; `other_pid` is stopped now
    RestartFailed,     // --graceful: new `pid` failed (`message`); `output_above`; `other_pid` keeps running
    JobControlStop,    // `pid` was stopped by `signal`
    Exited,            // `command` ended with `status`; `restart_in` (--restart-on-exit), or
                       // `message`: why the restart timer could not be armed
    StopKilled,        // `command` did not stop within `ms`; SIGKILL
    LeftBehindKilled,  // `count` processes left by `pid` did not stop within `ms`; SIGKILL
    StopNotice,        // the final stop takes long (a second Ctrl-C kills)
    KilledByUser,      // a second Ctrl-C: `count` processes got SIGKILL (0: nothing was left)
    SignalForwarded,   // `signal` forwarded to `pid` (0: no program running)
    SignalIgnored,     // a fault `signal` that process `pid` sent relive (kill(2)): ignored
    LoopDegraded,      // `message`: an fd could not join the epoll set; the loop polls
    LoopFailed,        // `message`: epoll_wait failed; run() returns
    Notice,            // `message`: something the user should know (e.g. typed input dropped)
  };
  enum class Next { Build, Restart, Start };
  Kind kind = Kind::LoopFailed;
  std::string message{};
  std::string command{};
  Next next = Next::Start;
  pid_t pid = 0;
  pid_t other_pid = 0;
  std::optional<ExitStatus> status{};
  int signal = 0;
  int count = 0;
  std::chrono::milliseconds ms{0};
  std::optional<std::chrono::milliseconds> restart_in{};
  bool program_running = false;
  bool output_above = false;
};

struct Options {
  std::vector<std::string> command{};     // program and arguments (required)
  bool shell = false;                   // run the command through /bin/sh -c
  std::string build{};                    // run through /bin/sh -c before each (re)start
  // Which changes count (null: all); the rest are dropped before anything else sees
  // them (no Changes event). `relive -e` is this filter (tools/relive). On the run() thread.
  std::function<bool(const watch::PathChange&)> accept_change{};
  OnBusy on_busy = OnBusy::Queue;
  int stop_signal = SIGTERM;
  std::chrono::milliseconds stop_timeout{5000};
  StopMode stop_mode = StopMode::Mixed;  // --stop-mode (see StopMode)
  bool restart_on_exit = false;
  // Do not start the command (nor run the build) until the first change arrives.
  bool postpone = false;
  // Backoff for --restart-on-exit: first delay, doubling up to max, reset after
  // `backoff_reset` of uptime.
  std::chrono::milliseconds backoff_initial{500};
  std::chrono::milliseconds backoff_max{8000};
  std::chrono::milliseconds backoff_reset{10000};
  // Words a Status for relive's stderr ("" : nothing); null: relive says nothing. Called on
  // the run() thread; what it returns is written without blocking the loop.
  std::function<std::string(const Status&)> on_status{};
  // Called for every Event, on the run() thread (e.g. write JSON lines).
  std::function<void(const Event&)> on_event{};
  // Hook for the zero-downtime layer and --burst: adjust the spec of each child before
  // it is started (extra env, pass_fds, stdout/stderr pipes).
  std::function<void(ChildSpec&)> prepare_child{};
  // Extra fds for the loop: when `fd` is readable, `on_ready` is called on the run()
  // thread (e.g. the --burst pipe, a readiness socket).
  struct ExtraFd {
    int fd{};
    std::function<void()> on_ready{};
  };
  std::vector<ExtraFd> extra_fds{};
  // Called once the last child tree is gone, before run() returns (flush output).
  std::function<void()> on_shutdown{};

  // Zero-downtime restarts (docs/zero-downtime.md).
  // `sockets`: --socket specs ("8080", "tcp:0.0.0.0:80", "unix:/run/a.sock"), bound once
  // by create() and handed to every child with systemd's LISTEN_FDS protocol.
  std::vector<std::string> sockets{};
  // `graceful`: overlapped restart. The new child starts while the old one still runs;
  // once the new one is ready the old one is stopped (stop signal, drain up to
  // stop_timeout, SIGKILL). A new child that exits or is not ready within
  // `ready_timeout` is stopped, the old one keeps running, and the failure is printed
  // with the new child's last lines of output.
  bool graceful = false;
  // How readiness is known: "" or "notify" (READY=1 on NOTIFY_SOCKET), "tcp:PORT",
  // "http://HOST:PORT/PATH" or "delay:MS". Used by graceful restarts.
  std::string ready{};
  std::chrono::milliseconds ready_timeout{30000};

  // Standard input (`relive -- CMD`; off by default for a library, which owns its stdin):
  // the process's stdin is read and passed on to the current generation through a pipe
  // of its own (its stdin is then a pipe, not a terminal); a line `rs` is a restart by
  // hand; on EOF the program's stdin is closed (a terminal's Ctrl-D: for the current
  // generation only). A terminal is read in canonical mode, and only while the process
  // is in its foreground group (SIGTTIN is ignored). Off: the program inherits stdin.
  bool forward_stdin = false;
};

// The signals a Supervisor takes over (read through its signalfd, so they must be blocked
// in every thread of the process — block them before starting any thread):
//   SIGINT, SIGTERM, SIGHUP, SIGQUIT  stop the whole tree and exit (Ctrl-C: SIGINT to the
//                                     tree; a second Ctrl-C kills it at once)
//   SIGUSR1, SIGUSR2                  forwarded to the program's main process
//   SIGWINCH                          the new window size to the programs' pseudo-terminals,
//                                     and SIGWINCH to the running generations' groups
//   SIGCHLD                           the loop's own
//   SIGALRM, SIGVTALRM, SIGPROF, SIGIO, SIGPWR, SIGSTKFLT, SIGXCPU, SIGXFSZ and the
//   real-time signals                 ignored (their default would end relive and orphan
//                                     the program)
//   SIGSEGV, SIGBUS, SIGFPE, SIGILL,  sent by a process (kill(2)): ignored, with a line
//   SIGABRT, SIGTRAP, SIGSYS          naming the sender. A real fault of relive's own
//                                     still ends it: the kernel unblocks a blocked signal
//                                     that it raises for a fault (and abort() unblocks
//                                     SIGABRT) and applies the default action.
// SIGPIPE is ignored (SIG_IGN). SIGTSTP,
// SIGTTIN and SIGTTOU keep their default (job control stops relive, it does not end it) — except that with
// Options::forward_stdin on a terminal SIGTTIN is ignored (a read in the background fails
// instead of stopping relive).
// Example: `sigset_t m = relive::supervisor::handled_signals(); sigprocmask(SIG_BLOCK, &m, nullptr);`
sigset_t handled_signals();

class Supervisor {
 public:
  // Checks the command exists (PATH lookup; Error of kind NotFound "command not found:
  // NAME", for which the command exits 127) — unless there is a `build`, which may be what
  // creates it: then the lookup happens at each start, after the build. Parses `ready`
  // and binds `sockets` (Error naming the spec), becomes a child subreaper, blocks
  // handled_signals() and reads them through its signalfd. Takes ownership of `watcher`
  // (may be null: no restarts on change).
  static Result<std::unique_ptr<Supervisor>> create(Options options,
                                                    std::unique_ptr<watch::Watcher> watcher);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Starts the command (after the build, if any) and runs until SIGINT, SIGTERM, SIGHUP
  // or SIGQUIT, or request_exit(). Then stops the whole tree (SIGINT on Ctrl-C, else the
  // stop signal; in stop_mode order; SIGKILL after the stop timeout or a second signal),
  // reaps every process, and returns the exit status: the child's own status (shell
  // style) when it exited with a code of its own during the shutdown, else 128 + the
  // signal received (130/143/129/131); 0 after request_exit().
  // Call from the thread that called create().
  int run();

  // Async-signal-safe and thread-safe: makes run() shut down as on SIGTERM, returning 0.
  void request_exit();

 private:
  friend struct SupervisorAccess;  // internal test hooks (src/supervisor/supervisor_access.hpp)
  Supervisor() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace relive::supervisor
