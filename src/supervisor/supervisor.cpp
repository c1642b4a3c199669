// The restart-on-change loop: one epoll loop, an ordered queue of controls.
//
// Controls run one at a time: Build (the old child keeps running meanwhile), Stop (until
// every process of the old tree is gone and reaped), Start. A change arriving while a
// Build or Stop is under way is handled by --on-busy-update; a change arriving when idle
// queues [Build?, Stop, Start] and runs it at once — nothing waits on a timer, so the
// latency from the watcher's batch to the new child is one stop plus one fork+exec.
#include "relive/supervisor.hpp"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <deque>
#include <set>

#include <fmt/format.h>

#include "output_tail.hpp"
#include "changes.hpp"
#include "proc.hpp"
#include "tree.hpp"
#include "readiness.hpp"
#include "relive/watch.hpp"
#include "sockets.hpp"
#include "stdin_relay.hpp"
#include "supervisor_access.hpp"
#include "terminal_writer.hpp"

namespace relive::supervisor {

namespace {

enum Tag : uint64_t {
  kWatcher = 1,
  kSignal,
  kWake,
  kBackoff,
  kChildPidfd,
  kBuildPidfd,
  kStopTimer,
  kStopPidfd,
  kNextPidfd,  // --graceful: the new child, until it is ready
  kReady,      // --graceful: its readiness wait
  kStdin,      // StdinRelay: relive's stdin, the program's stdin pipe, its re-check timer
  kExtraBase = 1000,
  kTapBase = 1ull << 32,  // + fd: a pipe carrying a child's output (OutputTail)
};

// StartNext: --graceful's overlapped start (the old child keeps running until the new
// one is ready).
enum class Control { Build, Stop, Start, StartNext };

// False (errno set) if the timer could not be armed.
bool arm_timer(int fd, std::chrono::milliseconds delay) {
  itimerspec spec{};
  auto ms = std::max<long long>(delay.count(), 1);
  spec.it_value.tv_sec = static_cast<time_t>(ms / 1000);
  spec.it_value.tv_nsec = static_cast<long>((ms % 1000) * 1000000);
  return timerfd_settime(fd, 0, &spec, nullptr) == 0;
}

void disarm_timer(int fd) {
  itimerspec spec{};
  timerfd_settime(fd, 0, &spec, nullptr);  // cannot fail on a valid timerfd with a zero value
}

bool is_shutdown_signal(int sig) { return sig == SIGINT || sig == SIGTERM || sig == SIGHUP || sig == SIGQUIT; }

double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

struct Supervisor::Impl {
  Options opt;
  std::unique_ptr<watch::Watcher> watcher;
  int epfd = -1;
  int sigfd = -1;
  int wakefd = -1;
  int backoff_fd = -1;
  std::string command_text;
  TerminalWriter out;  // status lines and forwarded output: never a blocking write in the loop
  std::filesystem::path cwd = current_dir();  // changed paths are shown relative to it

  std::unique_ptr<Child> child;
  // Zero-downtime (docs/zero-downtime.md): sockets bound once for relive's life; during
  // an overlapped restart `next` is the new child until it is ready, then it becomes
  // `child`; `retiring` is the generation being stopped (the old child, or a next that
  // failed), so that `child` keeps serving meanwhile.
  ListenSockets sockets;
  ReadySpec ready_spec;
  std::unique_ptr<Child> next;
  std::unique_ptr<ReadinessWait> next_ready;
  std::unique_ptr<OutputTail> next_tail;
  std::vector<std::unique_ptr<OutputTail>> taps;  // output pipes still being forwarded
  std::unique_ptr<Child> retiring;
  // Options::forward_stdin: relive's stdin to the current generation, `rs` restarts.
  std::unique_ptr<StdinRelay> stdin_relay;
  bool child_exit_handled = false;
  std::unique_ptr<Child> build;
  std::chrono::steady_clock::time_point build_started;
  bool build_cancelled = false;
  bool stopping_build = false;  // `stop` is taking a cancelled build's tree down
  std::unique_ptr<TreeStop> stop;
  std::chrono::steady_clock::time_point stop_started;
  bool stop_is_final = false;
  pid_t stop_pid = 0;
  bool stop_after_exit = false;  // the stopped program had already exited on its own
  bool killed_by_user = false;   // a second Ctrl-C sent SIGKILL (reported then)
  // The final stop says "stopping… (Ctrl-C again to kill)" once it takes this long.
  static constexpr std::chrono::milliseconds kStopNoticeAfter{500};
  std::optional<std::chrono::steady_clock::time_point> stop_notice_at;
  std::set<int> stop_fds_registered;

  std::deque<Control> controls;
  ChangeSet current;   // what the next Start reports in RELIVE_CHANGED_PATHS
  ChangeSet pending;   // changes queued during a busy cycle (on-busy-update=queue)
  bool pending_run = false;
  std::chrono::milliseconds backoff{0};

  bool epoll_degraded = false;
  bool shutting_down = false;
  bool final_stop_begun = false;
  bool finished = false;
  int shutdown_signal = 0;
  bool child_running_at_shutdown = false;
  std::optional<ExitStatus> child_status_at_shutdown;

  ~Impl() {
    for (int fd : {epfd, sigfd, wakefd, backoff_fd}) {
      if (fd >= 0) close(fd);
    }
  }

  // ---- output ---------------------------------------------------------------------------
  void print(std::string_view line, const char* color) {
    out.write(2, opt.color ? fmt::format("{}relive: {}\x1b[0m\n", color, line) : fmt::format("relive: {}\n", line));
  }
  void info(std::string_view line) {
    if (!opt.quiet) print(line, "\x1b[36m");
  }
  void error(std::string_view line) { print(line, "\x1b[31m"); }
  void emit(const Event& e) {
    if (opt.on_event) opt.on_event(e);
  }

  // ---- epoll ----------------------------------------------------------------------------
  // An fd that cannot join the epoll set (ENOMEM, ENOSPC: max_user_watches) would never
  // wake the loop: say so once, and from then on the loop also wakes every 100 ms to check
  // children and the stop by itself.
  void add_fd(int fd, uint64_t tag, bool oneshot) {
    if (fd < 0) return;
    epoll_event ev{};
    ev.events = EPOLLIN | (oneshot ? EPOLLONESHOT : 0u);
    ev.data.u64 = tag;
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == 0 || errno == EEXIST) return;
    if (!epoll_degraded) error(errno_message(errno, "epoll_ctl") + "; checking every 100 ms instead");
    epoll_degraded = true;
  }
  void remove_fd(int fd) { epoll_ctl(epfd, EPOLL_CTL_DEL, fd, nullptr); }

  bool busy() const { return build || stop || next; }
  bool idle() const { return !busy() && controls.empty(); }

  // ---- the queue of controls ------------------------------------------------------------
  void start_cycle() {
    if (opt.clear) {
      out.write(2, "\x1b[H\x1b[2J\x1b[3J");
    }
    bool running = child && !child->status();
    // With a build, nothing restarts unless it succeeds: say what happens now.
    const char* next_step = !opt.build.empty() ? "building" : running ? "restarting" : "starting";
    // No changed path: `rs` asked for it (on_restart_request).
    info(fmt::format("{}, {}", current.empty() ? "restart requested" : current.summary() + " changed", next_step));
    if (!opt.build.empty()) controls.push_back(Control::Build);
    if (opt.graceful && running) {
      controls.push_back(Control::StartNext);
    } else {
      controls.push_back(Control::Stop);
      controls.push_back(Control::Start);
    }
  }

  void advance() {
    for (;;) {
      if (busy() || finished) return;
      if (controls.empty()) {
        if (shutting_down) {
          if (final_stop_begun) return;
          final_stop_begun = true;
          begin_stop(/*final=*/true);
          continue;
        }
        if (pending_run) {
          pending_run = false;
          current.merge(pending);
          pending = ChangeSet{};
          start_cycle();
          continue;
        }
        return;
      }
      Control c = controls.front();
      controls.pop_front();
      switch (c) {
        case Control::Build: start_build(); break;
        case Control::Stop: begin_stop(/*final=*/false); break;
        case Control::Start: start_child(); break;
        case Control::StartNext: start_next(); break;
      }
    }
  }

  // ---- build ----------------------------------------------------------------------------
  void start_build() {
    ChildSpec spec;
    spec.argv = {opt.build};
    spec.shell = true;
    spec.unset_env = {"RELIVE_CHANGED_PATHS"};
    if (!current.paths.empty()) spec.env.push_back("RELIVE_CHANGED_PATHS=" + join(current.paths, "\n"));
    auto b = Child::start(spec);
    if (!b) {
      error(fmt::format("cannot run the build: {}; waiting for changes", b.error().message));
      emit(Event{.kind = Event::Kind::Error, .message = b.error().message});
      controls.clear();
      return;
    }
    build = std::move(*b);
    build_started = std::chrono::steady_clock::now();
    add_fd(build->pidfd(), kBuildPidfd, true);
    emit(Event{.kind = Event::Kind::BuildStart, .pid = build->pid(), .message = opt.build});
  }

  void check_build_exit() {
    if (!build || !build->status() || stopping_build) return;  // a cancelled build: finish_stop()
    ExitStatus status = *build->status();
    bool ok = status.signal == 0 && status.code == 0;
    emit(Event{.kind = Event::Kind::BuildEnd, .pid = build->pid(), .status = status, .success = ok,
               .duration_ms = ms_since(build_started)});
    build.reset();
    if (shutting_down) return;
    if (build_cancelled) {
      build_cancelled = false;
      controls.clear();
      start_cycle();
    } else if (!ok) {
      bool running = child && !child->status();
      error(fmt::format("build failed ({}); {}; waiting for changes", status.describe(),
                        running ? "the program keeps running" : "nothing started"));
      controls.clear();
    }
  }

  // ---- stop -----------------------------------------------------------------------------
  void begin_stop(bool final) {
    // --graceful: a retiring generation is stopped while `child` keeps running.
    Child* target = (!final && retiring) ? retiring.get() : child.get();
    if (!final && !target) return;
    TreeStop::Options so;
    so.stop_signal = (final && shutdown_signal == SIGINT) ? SIGINT : opt.stop_signal;
    so.timeout = opt.stop_timeout;
    so.mode = opt.stop_mode;
    so.everything = final;
    if (build) so.exclude_roots.push_back(build->pid());
    if (target == retiring.get() && child) {
      // The generation that keeps running is not part of the one being stopped; orphans
      // that started after it are its own.
      so.exclude_roots.push_back(child->pid());
      if (child->start_ticks() >= retiring->start_ticks()) so.newer_generation_ticks = child->start_ticks();
    }
    stop_is_final = final;
    stop_pid = target ? target->pid() : 0;
    // A program that already exited on its own was reported then (Exit event); its stop
    // only sweeps what it may have left behind, and says nothing unless that had to be killed.
    stop_after_exit = target && target->status().has_value();
    if (stdin_relay && target) stdin_relay->close_for(target->pid());  // no more input for it
    start_tree_stop(target, std::move(so));
    if (final && !finished) stop_notice_at = stop_started + kStopNoticeAfter;
  }

  // Both kinds of stop (a program generation, a cancelled build) run through `stop`.
  void start_tree_stop(const Child* target, TreeStop::Options so) {
    so.on_reaped = [this](pid_t pid, ExitStatus s) { route_status(pid, s); };
    stop_started = std::chrono::steady_clock::now();
    stop = std::make_unique<TreeStop>(target, std::move(so));
    add_fd(stop->timeout_fd(), kStopTimer, false);
    poll_stop();
  }

  void poll_stop() {
    if (!stop) return;
    if (stop->poll()) {
      finish_stop();
      return;
    }
    for (int fd : stop->fds()) {
      if (stop_fds_registered.insert(fd).second) add_fd(fd, kStopPidfd, true);
    }
  }

  // --on-busy-update restart: the build's whole tree goes, as a program's does (stop
  // signal, SIGKILL after --stop-timeout), and the next cycle starts only once it is gone,
  // so two builds never run at once. `stop` is free: a build runs only while nothing else does.
  void cancel_build() {
    TreeStop::Options so;
    so.stop_signal = opt.stop_signal;
    so.timeout = opt.stop_timeout;
    so.mode = opt.stop_mode;
    if (child) so.exclude_roots.push_back(child->pid());
    stop_is_final = false;
    stop_pid = 0;  // not the program: no Stop event
    stopping_build = true;
    start_tree_stop(build.get(), std::move(so));
  }

  void finish_build_cancel() {
    stop.reset();
    stop_fds_registered.clear();
    stopping_build = false;
    ExitStatus status = build->status().value_or(ExitStatus{.signal = opt.stop_signal});
    emit(Event{.kind = Event::Kind::BuildEnd, .pid = build->pid(), .status = status, .success = false,
               .duration_ms = ms_since(build_started)});
    build.reset();
    build_cancelled = false;
    controls.clear();
    if (!shutting_down) start_cycle();
  }

  void finish_stop() {
    if (stopping_build) {
      finish_build_cancel();
      return;
    }
    bool killed = stop->killed();
    int killed_count = stop->killed_count();
    double took = ms_since(stop_started);
    stop_notice_at.reset();
    stop.reset();  // closes its fds, which takes them out of the epoll set
    stop_fds_registered.clear();
    Child* target = retiring ? retiring.get() : child.get();
    if (!retiring && child && !child_exit_handled && child->status()) {
      child_exit_handled = true;  // we stopped it: the Stop event says so
      if (shutting_down && child_running_at_shutdown) child_status_at_shutdown = child->status();
    }
    if (stop_pid && stop_after_exit) {
      if (killed && !killed_by_user) {
        info(fmt::format("{} process{} left behind by pid {} did not stop within {} ms of the stop signal; killed",
                         killed_count, killed_count == 1 ? "" : "es", stop_pid, opt.stop_timeout.count()));
      }
    } else if (stop_pid) {
      Event e{.kind = Event::Kind::Stop, .pid = stop_pid, .killed = killed, .duration_ms = took};
      if (target && target->status()) e.status = target->status();
      emit(e);
      if (killed && !killed_by_user) {
        info(fmt::format("{} did not stop within {} ms of the stop signal; killed", command_text,
                         opt.stop_timeout.count()));
      }
    }
    if (retiring) retiring.reset();
    else child.reset();
    if (stop_is_final) finished = true;
  }

  // ---- start ----------------------------------------------------------------------------
  // What every generation is started with: the command, the changes that led to it (the
  // pending set is consumed here) and the listening sockets. The caller adds its own
  // environment and then lets opt.prepare_child have the last word.
  ChildSpec next_generation_spec() {
    ChildSpec spec;
    spec.argv = opt.command;
    spec.shell = opt.shell;
    spec.unset_env = {"RELIVE_CHANGED_PATHS"};
    if (!current.paths.empty()) spec.env.push_back("RELIVE_CHANGED_PATHS=" + join(current.paths, "\n"));
    current = ChangeSet{};
    hand_sockets(spec);
    if (stdin_relay) spec.stdin_fd = stdin_relay->child_end();  // a stdin pipe of its own
    return spec;
  }

  void start_child() {
    ChildSpec spec = next_generation_spec();
    if (opt.prepare_child) opt.prepare_child(spec);
    auto c = Child::start(spec);
    if (stdin_relay) stdin_relay->started(c ? (*c)->pid() : 0, /*current=*/true);
    if (!c) {
      error(fmt::format("cannot start: {}; waiting for changes", c.error().message));
      emit(Event{.kind = Event::Kind::Error, .message = c.error().message});
      return;
    }
    child = std::move(*c);
    child_exit_handled = false;
    add_fd(child->pidfd(), kChildPidfd, true);
    emit(Event{.kind = Event::Kind::Start, .pid = child->pid(), .message = command_text});
  }

  // ---- zero downtime (docs/zero-downtime.md) -------------------------------------------
  // The sockets (LISTEN_FDS protocol; LISTEN_PID is filled in by Child::start) and no
  // protocol variable relive itself inherited.
  void hand_sockets(ChildSpec& spec) {
    if (sockets.empty() && !opt.graceful) return;
    for (const auto& name : protocol_variables()) spec.unset_env.push_back(name);
    if (sockets.empty()) return;
    spec.pass_fds = sockets.fds();
    spec.set_listen_pid = true;
    for (auto& e : sockets.child_env()) spec.env.push_back(std::move(e));
  }

  // --graceful: start the new generation beside the running one.
  void start_next() {
    if (!child || child->status()) {  // nothing running to overlap with: a plain restart
      controls.push_front(Control::Start);
      controls.push_front(Control::Stop);
      return;
    }
    auto wait = ReadinessWait::create(ready_spec, ReadyOptions{.timeout = opt.ready_timeout});
    if (!wait) {
      error(fmt::format("cannot wait for readiness: {}; pid {} keeps running", wait.error().message, child->pid()));
      return;
    }
    ChildSpec spec = next_generation_spec();
    for (auto& e : (*wait)->child_env()) spec.env.push_back(std::move(e));
    if (opt.prepare_child) opt.prepare_child(spec);
    // Its output passes through relive, which keeps the last lines for a failure report
    // (unless --burst already pipes it).
    std::unique_ptr<OutputTail> tail;
    if (spec.stdout_fd < 0 && spec.stderr_fd < 0) {
      if (auto t = OutputTail::create(20)) {
        tail = std::move(*t);
        tail->forward_through([this](int fd, std::string_view data) { out.write(fd, data); });
        spec.stdout_fd = tail->child_stdout();
        spec.stderr_fd = tail->child_stderr();
      }
    }
    auto c = Child::start(spec);
    if (tail) tail->close_child_ends();
    // Input stays with the serving generation until the handover (promote_next).
    if (stdin_relay) stdin_relay->started(c ? (*c)->pid() : 0, /*current=*/false);
    if (!c) {
      error(fmt::format("cannot start: {}; pid {} keeps running", c.error().message, child->pid()));
      emit(Event{.kind = Event::Kind::Error, .message = c.error().message});
      return;
    }
    next = std::move(*c);
    next_ready = std::move(*wait);
    next_ready->start(next->pid());
    add_fd(next->pidfd(), kNextPidfd, true);
    add_fd(next_ready->fd(), kReady, false);
    if (tail) {
      for (int fd : tail->fds()) add_fd(fd, kTapBase + static_cast<uint64_t>(fd), false);
      next_tail = std::move(tail);
    }
    emit(Event{.kind = Event::Kind::Start, .pid = next->pid(), .message = command_text});
    info(fmt::format("started pid {} beside pid {}; waiting for {} (up to {} ms)", next->pid(), child->pid(),
                     next_ready->describe(), opt.ready_timeout.count()));
    on_ready_event();  // a delay:0 wait is ready at once
  }

  void on_ready_event() {
    if (!next || !next_ready) return;
    switch (next_ready->process()) {
      case ReadinessWait::State::Waiting: return;
      case ReadinessWait::State::Ready: promote_next(); return;
      case ReadinessWait::State::Failed: abandon_next(next_ready->failure()); return;
    }
  }

  void end_readiness_wait() {
    if (!next_ready) return;
    remove_fd(next_ready->fd());
    next_ready.reset();
  }

  // The new generation is ready: it becomes `child`; the old one retires (stop, drain).
  void promote_next() {
    info(fmt::format("pid {} ready after {} ms; stopping pid {}", next->pid(), next_ready->elapsed().count(),
                     child->pid()));
    end_readiness_wait();
    if (next_tail) taps.push_back(std::move(next_tail));
    retiring = std::move(child);
    child = std::move(next);
    child_exit_handled = false;
    backoff = std::chrono::milliseconds{0};
    if (stdin_relay) stdin_relay->make_current(child->pid());
    begin_stop(/*final=*/false);
  }

  // The new generation failed (exited, or not ready in time): stop it, keep the old one,
  // and say why with its last output.
  void abandon_next(const std::string& reason) {
    if (next_tail) next_tail->drain();
    // Its output was forwarded as it came (OutputTail), so it is right above: point at it
    // rather than print it a second time.
    bool said_something = next_tail && !next_tail->last_lines().empty();
    error(fmt::format("restart failed: new pid {} {}{}; pid {} keeps running", next->pid(), reason,
                      said_something ? " (its output is above)" : "", child->pid()));
    emit(Event{.kind = Event::Kind::Error, .pid = next->pid(), .message = "restart failed: " + reason});
    if (next_tail) taps.push_back(std::move(next_tail));
    end_readiness_wait();
    retiring = std::move(next);
    begin_stop(/*final=*/false);
  }

  void check_next_exit() {
    if (!next || !next->status() || shutting_down) return;
    auto status = *next->status();
    emit(Event{.kind = Event::Kind::Exit, .pid = next->pid(), .status = status});
    abandon_next(status.describe() + " before it was ready");
  }

  void on_tap(int fd) {
    auto forward = [fd](OutputTail& tail) {
      for (int f : tail.fds())
        if (f == fd) return tail.on_readable(fd), true;
      return false;
    };
    if (next_tail && forward(*next_tail)) return;
    for (auto it = taps.begin(); it != taps.end(); ++it) {
      if (forward(**it)) {
        if ((*it)->finished()) taps.erase(it);
        return;
      }
    }
  }

  // ---- exits ----------------------------------------------------------------------------
  void route_status(pid_t pid, ExitStatus s) {
    if (next && pid == next->pid() && !next->status()) next->set_status(s);
    if (retiring && pid == retiring->pid() && !retiring->status()) retiring->set_status(s);
    if (child && pid == child->pid() && !child->status()) child->set_status(s);
    if (build && pid == build->pid() && !build->status()) build->set_status(s);
  }

  // The leaders of the generations we still track stay zombies (their status read with
  // WNOWAIT) until their stop is done: a reaped leader's pid and group id could be handed
  // to an unrelated process, which the stop would then signal.
  std::vector<pid_t> tracked_pids() const {
    std::vector<pid_t> out;
    for (const Child* c : {child.get(), next.get(), retiring.get(), build.get()})
      if (c) out.push_back(c->pid());
    return out;
  }

  void on_sigchld() {
    reap_children([this](pid_t pid, ExitStatus s) { route_status(pid, s); }, tracked_pids());
    for (Child* c : {child.get(), next.get(), retiring.get(), build.get()})
      if (c) c->peek_status();
    report_job_control_stops();
    check_child_exit();
    check_next_exit();
    check_build_exit();
    poll_stop();
  }

  // A program stopped by job control (SIGTTIN: it read the terminal, whose foreground
  // group is relive's; SIGTTOU, SIGTSTP, SIGSTOP) would otherwise sit there silently.
  void report_job_control_stops() {
    for (Child* c : {child.get(), next.get()}) {
      if (!c || c->status()) continue;
      if (int sig = proc::take_stop_signal(c->pidfd()); sig != 0) {
        const char* abbrev = sigabbrev_np(sig);
        std::string name = abbrev ? std::string("SIG") + abbrev : std::to_string(sig);
        std::string why = sig == SIGTTIN   ? " (it read from the terminal, which relive keeps)"
                          : sig == SIGTTOU ? " (it tried to change the terminal, which relive keeps)"
                                           : "";
        error(fmt::format("pid {} was stopped by {}{}; it waits until it gets SIGCONT or a change restarts it",
                          c->pid(), name, why));
        emit(Event{.kind = Event::Kind::Error, .pid = c->pid(), .message = "stopped by " + name});
      }
    }
  }

  void check_child_exit() {
    if (!child || child_exit_handled || !child->status()) return;
    child_exit_handled = true;
    ExitStatus status = *child->status();
    if (shutting_down) {
      if (child_running_at_shutdown) child_status_at_shutdown = status;
      return;
    }
    if (stop && stop_pid == child->pid()) return;  // we stopped it: the Stop event says so
    emit(Event{.kind = Event::Kind::Exit, .pid = child->pid(), .status = status});
    bool failed = status.signal != 0 || status.code != 0;
    std::string line = fmt::format("{} {}", command_text, status.describe());
    if (opt.restart_on_exit) {
      auto uptime = std::chrono::steady_clock::now() - child->started_at();
      if (backoff.count() == 0 || uptime >= opt.backoff_reset) backoff = opt.backoff_initial;
      auto delay = backoff;
      backoff = std::min(backoff * 2, opt.backoff_max);
      if (arm_timer(backoff_fd, delay)) {
        line += fmt::format("; restarting in {:g} s", static_cast<double>(delay.count()) / 1000.0);
      } else {
        line += "; " + errno_message(errno, "cannot arm the restart timer (timerfd_settime)") + "; waiting for changes";
      }
    } else {
      line += "; waiting for changes";
    }
    if (failed) {
      print(line, "\x1b[31m");
    } else {
      info(line);
    }
  }

  void on_backoff() {
    uint64_t expirations;
    ssize_t ignored = read(backoff_fd, &expirations, sizeof expirations);
    (void)ignored;
    if (shutting_down || !idle()) return;  // a restart is already on its way
    controls.push_back(Control::Stop);     // whatever the old tree left behind
    controls.push_back(Control::Start);
  }

  // ---- changes --------------------------------------------------------------------------
  void on_batch(const watch::Batch& batch) {
    if (shutting_down) return;
    ChangeSet changes;
    changes.rescan = batch.rescan;
    for (const auto& c : batch.changes) {
      if (!opt.exts.empty() && (c.is_dir || !has_ext(c.path, opt.exts))) {
        if (!(c.change == watch::Change::Renamed && has_ext(c.old_path, opt.exts))) continue;
      }
      changes.add(user_path(cwd, c));
    }
    if (changes.empty()) return;
    Event e{.kind = Event::Kind::Changes, .path_count = changes.paths.size(), .rescan = batch.rescan};
    e.paths.assign(changes.paths.begin(), changes.paths.begin() + static_cast<long>(std::min<size_t>(changes.paths.size(), 100)));
    emit(e);
    disarm_timer(backoff_fd);
    if (idle()) {
      current.merge(changes);
      start_cycle();
      advance();
      return;
    }
    switch (opt.on_busy) {
      case OnBusy::Queue:
        pending.merge(changes);
        pending_run = true;
        break;
      case OnBusy::DoNothing:
        break;
      case OnBusy::Restart:
        if (build) {
          current.merge(changes);
          if (!build_cancelled) {
            build_cancelled = true;
            cancel_build();
          }
        } else if (next || std::find(controls.begin(), controls.end(), Control::Start) == controls.end()) {
          // The new generation is already on its way (--graceful: starting, waiting to be
          // ready): these changes need a cycle of their own after it, like `queue`.
          pending.merge(changes);
          pending_run = true;
        } else {
          current.merge(changes);  // the Start still queued will carry them
        }
        break;
      case OnBusy::Signal:
        if (build) build->signal_group(opt.stop_signal);
        if (stop) stop->resignal(opt.stop_signal);
        break;
    }
  }

  // `rs` typed alone on a line (StdinRelay): a restart by hand, now if idle, else once the
  // running cycle is done (whatever --on-busy-update says: the user asked for it).
  void on_restart_request() {
    if (shutting_down) return;
    disarm_timer(backoff_fd);
    if (idle()) {
      start_cycle();
    } else {
      pending_run = true;
    }
  }

  // ---- shutdown -------------------------------------------------------------------------
  void begin_shutdown(int sig) {
    if (shutting_down) {
      // A second Ctrl-C: do not make the user wait for the stop timeout.
      if (stop && stop_is_final && !stop->done()) {
        int before = stop->killed_count();
        stop->kill_now();
        killed_by_user = true;
        int n = stop->killed_count() - before;
        if (n > 0) {
          error(fmt::format("killed {} process{} that had not stopped yet (SIGKILL)", n, n == 1 ? "" : "es"));
        } else {
          info("nothing left to kill; finishing");
        }
      }
      poll_stop();
      return;
    }
    shutting_down = true;
    shutdown_signal = sig;
    // exited(), not status(): the signalfd may hand out this SIGINT before the child's own
    // exit is processed; a child already gone on its own was not stopped by the signal.
    child_running_at_shutdown = child && !child->exited();
    controls.clear();
    pending_run = false;
    disarm_timer(backoff_fd);
    // --graceful: a new generation still starting goes with the final stop like the rest;
    // its output keeps being forwarded until then.
    end_readiness_wait();
    if (next_tail) taps.push_back(std::move(next_tail));
    if (next) {
      remove_fd(next->pidfd());
      next.reset();
    }
    // The final stop takes every descendant, the build's processes included.
    if (build && !stopping_build) {  // a build being cancelled finishes that first
      remove_fd(build->pidfd());
      build.reset();
    }
  }

  void on_signalfd() {
    signalfd_siginfo si;
    while (read(sigfd, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
      int sig = static_cast<int>(si.ssi_signo);
      if (sig == SIGCHLD) {
        on_sigchld();
      } else if (is_shutdown_signal(sig)) {
        begin_shutdown(sig);
      } else if (sig == SIGUSR1 || sig == SIGUSR2) {
        forward_signal(sig);
      } else if (sig == SIGWINCH) {
        on_window_change();
      }
      // Everything else in handled_signals() is ignored: relive must outlive it.
    }
  }

  // relive's terminal was resized. The programs are not in its foreground group, so the
  // kernel told only relive: the pseudo-terminals (OutputTail) take the new size, and the
  // running generations' groups get SIGWINCH (whose default is to ignore it).
  void on_window_change() {
    if (next_tail) next_tail->copy_window_size();
    for (auto& tap : taps) tap->copy_window_size();
    for (Child* c : {child.get(), next.get()})
      if (c && !c->status()) c->signal_group(SIGWINCH);
  }

  // SIGUSR1/SIGUSR2 are the program's (a reload, a log reopen), as watchexec does.
  void forward_signal(int sig) {
    const char* name = sig == SIGUSR1 ? "SIGUSR1" : "SIGUSR2";
    if (!child || child->status()) {
      info(fmt::format("{} received; no program running to forward it to", name));
      return;
    }
    child->signal(sig);
    info(fmt::format("{} forwarded to pid {}", name, child->pid()));
  }

  void dispatch(uint64_t tag) {
    switch (tag) {
      case kWatcher:
        for (const auto& b : watcher->read_batches()) on_batch(b);
        break;
      case kSignal: on_signalfd(); break;
      case kWake: {
        uint64_t v;
        ssize_t ignored = read(wakefd, &v, sizeof v);
        (void)ignored;
        begin_shutdown(0);
        break;
      }
      case kBackoff: on_backoff(); break;
      case kChildPidfd:
      case kBuildPidfd: on_sigchld(); break;
      case kStopTimer:
      case kStopPidfd: on_sigchld(); break;
      case kNextPidfd: on_sigchld(); break;
      case kReady: on_ready_event(); break;
      case kStdin: stdin_relay->on_event(); break;
      default:
        if (tag >= kTapBase) {
          on_tap(static_cast<int>(tag - kTapBase));
          break;
        }
        if (tag >= kExtraBase && tag - kExtraBase < opt.extra_fds.size()) opt.extra_fds[tag - kExtraBase].on_ready();
        break;
    }
  }

  // How long epoll_wait may sleep: until the stop's next deadline (its kill deadline does
  // not depend on the timerfd having been created and armed) or the stop notice; a short
  // poll interval if an fd could not be added to the epoll set; else forever.
  int wait_timeout_ms() const {
    std::optional<std::chrono::steady_clock::time_point> at;
    if (stop) at = stop->next_deadline();
    if (stop_notice_at && (!at || *stop_notice_at < *at)) at = stop_notice_at;
    int limit = epoll_degraded ? 100 : -1;
    if (!at) return limit;
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(*at - std::chrono::steady_clock::now()).count();
    ms = std::clamp<long long>(ms, 0, 60000);
    return limit < 0 ? static_cast<int>(ms) : std::min(limit, static_cast<int>(ms));
  }

  void on_deadlines() {
    auto now = std::chrono::steady_clock::now();
    if (stop && (epoll_degraded || now >= stop->next_deadline())) poll_stop();
    if (epoll_degraded) on_sigchld();
    if (stop_notice_at && now >= *stop_notice_at) {
      stop_notice_at.reset();
      if (stop && stop_is_final) print("stopping\u2026 (Ctrl-C again to kill)", "\x1b[33m");
    }
  }

  int run() {
    if (!opt.postpone) {
      if (!opt.build.empty()) controls.push_back(Control::Build);
      controls.push_back(Control::Start);
    }
    advance();
    epoll_event events[16];
    while (!finished) {
      int n = epoll_wait(epfd, events, 16, wait_timeout_ms());
      if (n < 0) {
        if (errno == EINTR) continue;
        error(errno_message(errno, "epoll_wait"));
        break;
      }
      for (int i = 0; i < n && !finished; ++i) dispatch(events[i].data.u64);
      on_deadlines();
      advance();
    }
    for (auto& tap : taps) tap->drain();
    out.flush(std::chrono::milliseconds(2000));  // bounded: a stalled terminal does not keep relive
    if (opt.on_shutdown) opt.on_shutdown();
    if (shutdown_signal == 0) return 0;
    if (child_status_at_shutdown && child_status_at_shutdown->signal == 0) return child_status_at_shutdown->code;
    return 128 + shutdown_signal;
  }
};

sigset_t handled_signals() {
  sigset_t mask;
  sigemptyset(&mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM, SIGVTALRM, SIGPROF, SIGIO,
                  SIGPWR, SIGSTKFLT, SIGXCPU, SIGXFSZ, SIGWINCH})
    sigaddset(&mask, sig);
  for (int sig = SIGRTMIN; sig <= SIGRTMAX; ++sig) sigaddset(&mask, sig);
  return mask;
}

Result<std::unique_ptr<Supervisor>> Supervisor::create(Options options, std::unique_ptr<watch::Watcher> watcher) {
  if (options.command.empty()) return Error{"no command given (usage: relive [OPTIONS] -- COMMAND [ARGS...])"};
  // With a build, the program may not exist until the build made it (a fresh clone, after
  // `make clean`): it is looked up at each start instead.
  if (!options.shell && options.build.empty()) {
    auto found = find_program(options.command[0]);
    if (!found) return found.error();
  }
  std::unique_ptr<Supervisor> sup(new Supervisor());
  auto impl = std::make_unique<Impl>();
  impl->command_text = join(options.command, " ");
  impl->opt = std::move(options);
  // Zero downtime: a bad --ready or --socket is reported before anything starts; the
  // sockets are bound now, once, for relive's whole life.
  if (impl->opt.graceful || !impl->opt.ready.empty()) {
    auto ready = parse_ready_spec(impl->opt.ready.empty() ? "notify" : impl->opt.ready);
    if (!ready) return ready.error();
    impl->ready_spec = *ready;
  }
  if (impl->opt.ready_timeout <= std::chrono::milliseconds{0}) return Error{"--ready-timeout must be greater than 0"};
  std::vector<SocketSpec> socket_specs;
  for (const auto& text : impl->opt.sockets) {
    auto spec = parse_socket_spec(text);
    if (!spec) return spec.error();
    socket_specs.push_back(*spec);
  }
  if (!socket_specs.empty()) {
    auto bound = ListenSockets::bind(socket_specs);
    if (!bound) return bound.error();
    impl->sockets = std::move(*bound);
  }
  impl->watcher = std::move(watcher);

  // Orphans of the child's tree re-parent to us, so we can stop and reap them.
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) return errno_error("prctl(PR_SET_CHILD_SUBREAPER)");
  sigset_t mask = handled_signals();
  if (sigprocmask(SIG_BLOCK, &mask, nullptr) != 0) return errno_error("sigprocmask");
  // A closed --json-events pipe must not kill relive (children get SIGPIPE back).
  ::signal(SIGPIPE, SIG_IGN);

  impl->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (impl->epfd < 0) return errno_error("epoll_create1");
  impl->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (impl->sigfd < 0) return errno_error("signalfd");
  impl->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (impl->wakefd < 0) return errno_error("eventfd");
  impl->backoff_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (impl->backoff_fd < 0) return errno_error("timerfd_create");
  impl->add_fd(impl->sigfd, kSignal, false);
  impl->add_fd(impl->wakefd, kWake, false);
  impl->add_fd(impl->backoff_fd, kBackoff, false);
  if (impl->watcher) impl->add_fd(impl->watcher->fd(), kWatcher, false);
  if (impl->opt.forward_stdin) {
    Impl* self = impl.get();
    auto relay = StdinRelay::create(
        impl->epfd, kStdin, [self] { self->on_restart_request(); }, [self](std::string_view m) { self->error(m); });
    if (!relay) return relay.error();
    impl->stdin_relay = std::move(*relay);
  }
  for (size_t i = 0; i < impl->opt.extra_fds.size(); ++i) impl->add_fd(impl->opt.extra_fds[i].fd, kExtraBase + i, false);
  sup->impl_ = std::move(impl);
  return sup;
}

Supervisor::~Supervisor() = default;

int Supervisor::run() { return impl_->run(); }

void Supervisor::request_exit() {
  uint64_t one = 1;
  ssize_t ignored = ::write(impl_->wakefd, &one, sizeof one);
  (void)ignored;
}

void SupervisorAccess::on_batch(Supervisor& sup, const watch::Batch& batch) {
  sup.impl_->on_batch(batch);
  sup.impl_->advance();
}

}  // namespace relive::supervisor
