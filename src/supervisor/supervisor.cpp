// The restart-on-change loop: the wiring of the supervisor's pieces.
//
// Controls run one at a time (control_queue.hpp): Build (the old program keeps running
// meanwhile; build_runner.hpp), Stop (until every process of the old tree is gone and
// reaped; the one ActiveStop, active_stop.hpp), Start (a Generation, generation.hpp), or
// with --graceful StartNext (the new generation beside the old one until it is ready;
// Overlap, overlap.hpp). A change arriving while a Build or Stop is under way is handled
// by --on-busy-update; a change arriving when idle queues [Build?, Stop, Start] and runs
// it at once — nothing waits on a timer, so the latency from the watcher's batch to the
// new program is one stop plus one clone+exec. Everything runs on the run() thread, woken
// by one epoll loop (event_loop.hpp).
#include "relive/supervisor.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>  // sigabbrev_np

#include "active_stop.hpp"
#include "build_runner.hpp"
#include "changes.hpp"
#include "control_queue.hpp"
#include "event_loop.hpp"
#include "generation.hpp"
#include "overlap.hpp"
#include "proc.hpp"
#include "readiness.hpp"
#include "relive/watch.hpp"
#include "restart_backoff.hpp"
#include "sockets.hpp"
#include "stdin_relay.hpp"
#include "supervisor_access.hpp"
#include "terminal_writer.hpp"
#include "tree.hpp"

namespace relive::supervisor {

namespace {

// What an fd in the loop is (EventLoop's own tags are 1 and 2).
enum Tag : uint64_t {
  kWatcher = 3,
  kBackoff,
  kCurrentPidfd,
  kBuildPidfd,
  kStopTimer,
  kStopPidfd,
  kNextPidfd,  // --graceful: the new generation, until it is ready
  kReady,      // --graceful: its readiness wait
  kStdin,      // StdinRelay: relive's stdin, the program's stdin pipe, its re-check timer
  kExtraBase = 1000,
  kTapBase = 1ull << 32,  // + fd: a pipe carrying a generation's output (OutputTail)
};
static_assert(kWatcher > EventLoop::kWakeTag && kWatcher > EventLoop::kSignalTag);

bool is_shutdown_signal(int sig) { return sig == SIGINT || sig == SIGTERM || sig == SIGHUP || sig == SIGQUIT; }

// The signals that report a fault; relive blocks them too (see handled_signals()).
constexpr int kFaultSignals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS};
bool is_fault_signal(int sig) { return std::find(std::begin(kFaultSignals), std::end(kFaultSignals), sig) != std::end(kFaultSignals); }

// Set once relive is exiting; what run() returns follows from it.
struct Shutdown {
  int signal = 0;                // 0: request_exit()
  bool program_running = false;  // the program was still running when it began
  std::optional<ExitStatus> program_status{};  // then its own exit during the shutdown
  bool finished = false;  // the final stop is done: run() returns

  void program_exited(ExitStatus status) {
    if (program_running) program_status = status;
  }
  // The program's own exit code when the signal made it exit normally, else 128 + signal.
  int exit_code() const {
    if (signal == 0) return 0;
    if (program_status && program_status->signal == 0) return program_status->code;
    return 128 + signal;
  }
};

}  // namespace

struct Supervisor::Impl {
  Options opt;
  std::unique_ptr<watch::Watcher> watcher;
  std::unique_ptr<EventLoop> loop;
  std::optional<RestartBackoff> backoff;  // --restart-on-exit
  std::string command_text;
  TerminalWriter out;  // status lines and forwarded output: never a blocking write in the loop
  std::filesystem::path cwd = current_dir();  // changed paths are shown relative to it

  // Zero-downtime (docs/zero-downtime.md): sockets bound once for relive's life. The
  // generations: `current` serves; with --graceful the new one starts beside it (Overlap)
  // and, once ready, becomes `current`; `retiring` is the one being stopped meanwhile (the
  // old one, or a new one that failed).
  ListenSockets sockets;
  std::unique_ptr<Generation> current;
  std::unique_ptr<Generation> retiring;
  std::optional<Overlap> overlap;
  // Options::forward_stdin: relive's stdin to the current generation; `rs` restarts.
  std::unique_ptr<StdinRelay> stdin_relay;

  BuildRunner build{""};
  std::unique_ptr<ActiveStop> stop;

  ControlQueue controls;

  std::optional<Shutdown> shutdown;

  bool shutting_down() const { return shutdown.has_value(); }
  bool finished() const { return shutdown && shutdown->finished; }
  bool program_running() const { return current && current->running(); }
  bool cancelling_build() const { return stop && stop->of() == ActiveStop::Of::Build; }
  bool final_stop_running() const { return stop && stop->of() == ActiveStop::Of::Final; }

  // ---- output ---------------------------------------------------------------------------
  // The command words it (Options::on_status); the writer keeps the loop from blocking.
  void say(const Status& status) {
    if (!opt.on_status) return;
    if (std::string text = opt.on_status(status); !text.empty()) out.write(2, text);
  }
  void emit(const Event& e) {
    if (opt.on_event) opt.on_event(e);
  }

  bool busy() const { return build.running() || stop || overlap->active(); }
  bool idle() const { return !busy() && controls.empty(); }

  // ---- the queue of controls ------------------------------------------------------------
  void start_cycle() {
    bool running = program_running();
    // With a build, nothing restarts unless it succeeds: say what happens now.
    say(Status{.kind = Status::Kind::Cycle,
               .message = controls.current().summary(),
               .next = build.configured() ? Status::Next::Build : running ? Status::Next::Restart : Status::Next::Start});
    controls.push_restart(build.configured(), opt.graceful && running);
  }

  void advance() {
    for (;;) {
      if (busy() || finished()) return;
      auto c = controls.pop();
      if (!c) {
        // Nothing queued and nothing under way: a shutdown's final stop is done (else
        // finished() or busy()) or about to begin.
        if (shutting_down()) {
          begin_stop(/*final=*/true);
          continue;
        }
        if (controls.has_followup()) {
          controls.begin_followup();
          start_cycle();
          continue;
        }
        return;
      }
      switch (*c) {
        case Control::Build: start_build(); break;
        case Control::Stop: begin_stop(/*final=*/false); break;
        case Control::Start: start_current(); break;
        case Control::StartNext: start_next(); break;
      }
    }
  }

  // ---- build ----------------------------------------------------------------------------
  void start_build() {
    auto started = build.start(controls.current());
    if (!started) {
      say(Status{.kind = Status::Kind::BuildCannotRun, .message = started.error().message});
      emit(Event{.kind = Event::Kind::Error, .message = started.error().message});
      controls.clear();
      return;
    }
    loop->add(build.child()->pidfd(), kBuildPidfd, true);
    emit(*started);
  }

  void check_build_exit() {
    if (!build.status() || cancelling_build()) return;  // a cancelled build: finish_build_cancel()
    ExitStatus status = *build.status();
    Event end = build.finish();
    emit(end);
    if (shutting_down() || end.success) return;
    say(Status{.kind = Status::Kind::BuildFailed, .status = status, .program_running = program_running()});
    controls.clear();
  }

  // --on-busy-update restart: the build's whole tree goes, as a program's does (stop
  // signal, SIGKILL after --stop-timeout), and the next cycle starts only once it is gone,
  // so two builds never run at once.
  void cancel_build() {
    TreeStop::Options so = stop_options();
    if (current) so.exclude_roots.push_back(current->pid());
    start_tree_stop(ActiveStop::Of::Build, build.child(), std::move(so));
  }

  void finish_build_cancel() {
    stop.reset();
    emit(build.finish(/*cancelled=*/true, opt.stop_signal));
    controls.clear();
    if (!shutting_down()) start_cycle();
  }

  // ---- stop -----------------------------------------------------------------------------
  TreeStop::Options stop_options() const {
    TreeStop::Options so;
    so.stop_signal = opt.stop_signal;
    so.timeout = opt.stop_timeout;
    so.mode = opt.stop_mode;
    return so;
  }

  void begin_stop(bool final) {
    // --graceful: a retiring generation is stopped while `current` keeps running.
    Generation* target = (!final && retiring) ? retiring.get() : current.get();
    if (!final && !target) return;
    TreeStop::Options so = stop_options();
    if (final && shutdown->signal == SIGINT) so.stop_signal = SIGINT;
    so.everything = final;
    if (build.running()) so.exclude_roots.push_back(build.child()->pid());
    if (target && target == retiring.get() && current) {
      // The generation that keeps running is not part of the one being stopped; orphans
      // that started after it are its own.
      so.exclude_roots.push_back(current->pid());
      if (current->child->start_ticks() >= retiring->child->start_ticks())
        so.newer_generation_ticks = current->child->start_ticks();
    }
    if (stdin_relay && target) stdin_relay->close_for(target->pid());  // no more input for it
    start_tree_stop(final ? ActiveStop::Of::Final : ActiveStop::Of::Restart, target ? target->child.get() : nullptr,
                    std::move(so));
  }

  // Every stop (a generation's, a cancelled build's) runs through here.
  void start_tree_stop(ActiveStop::Of of, const Child* target, TreeStop::Options so) {
    so.on_reaped = [this](pid_t pid, ExitStatus s) { route_status(pid, s); };
    stop = std::make_unique<ActiveStop>(of, target, std::move(so), *loop, ActiveStop::Tags{kStopTimer, kStopPidfd});
    poll_stop();
  }

  void poll_stop() {
    if (stop && stop->poll()) finish_stop();
  }

  void finish_stop() {
    if (cancelling_build()) {
      finish_build_cancel();
      return;
    }
    // The slot is free from here on; the stop goes (its fds close, leaving the epoll set)
    // before the generation it refers to.
    std::unique_ptr<ActiveStop> done = std::move(stop);
    Generation* target = retiring ? retiring.get() : current.get();
    if (!retiring && current && !current->exit_handled && current->child->status()) {
      current->exit_handled = true;  // we stopped it: the Stop event says so
      if (shutting_down()) shutdown->program_exited(*current->child->status());
    }
    auto report = done->report(target ? target->child->status() : std::nullopt, command_text, opt.stop_timeout);
    if (report.event) emit(*report.event);
    if (report.status) say(*report.status);
    const bool final = done->of() == ActiveStop::Of::Final;
    done.reset();
    if (retiring) retiring.reset();
    else current.reset();
    if (final) shutdown->finished = true;
  }

  // ---- start ----------------------------------------------------------------------------
  // What every generation is started with: the command, the changes that led to it (they
  // are consumed here) and the listening sockets. The caller adds its own environment and
  // then lets opt.prepare_child have the last word.
  ChildSpec next_generation_spec() {
    ChildSpec spec;
    spec.argv = opt.command;
    spec.shell = opt.shell;
    spec.unset_env = {"RELIVE_CHANGED_PATHS"};
    ChangeSet changes = controls.take_current();
    if (!changes.paths.empty()) spec.env.push_back("RELIVE_CHANGED_PATHS=" + join(changes.paths, "\n"));
    sockets.hand_to(spec, /*unset_protocol=*/opt.graceful);
    if (stdin_relay) spec.stdin_fd = stdin_relay->child_end();  // a stdin pipe of its own
    return spec;
  }

  void start_current() {
    ChildSpec spec = next_generation_spec();
    if (opt.prepare_child) opt.prepare_child(spec);
    auto gen = Generation::start(std::move(spec));
    if (stdin_relay) stdin_relay->started(gen ? (*gen)->pid() : 0, /*current=*/true);
    if (!gen) {
      say(Status{.kind = Status::Kind::StartFailed, .message = gen.error().message});
      emit(Event{.kind = Event::Kind::Error, .message = gen.error().message});
      return;
    }
    current = std::move(*gen);
    loop->add(current->child->pidfd(), kCurrentPidfd, true);
    emit(Event{.kind = Event::Kind::Start, .pid = current->pid(), .message = command_text});
  }

  // ---- zero downtime (docs/zero-downtime.md) -------------------------------------------
  // --graceful: the new generation starts beside the running one (Overlap).
  void start_next() {
    if (!program_running()) {  // nothing running to overlap with: a plain restart
      controls.push_front(Control::Start);
      controls.push_front(Control::Stop);
      return;
    }
    auto make_spec = [this](std::vector<std::string> ready_env) {
      ChildSpec spec = next_generation_spec();
      for (auto& e : ready_env) spec.env.push_back(std::move(e));
      if (opt.prepare_child) opt.prepare_child(spec);
      return spec;
    };
    // Input stays with the serving generation until the handover (settle).
    auto started = [this](pid_t pid) {
      if (stdin_relay) stdin_relay->started(pid, /*current=*/false);
    };
    settle(overlap->start(current->pid(), make_spec, started));
  }

  // The new generation's wait is over. Ready: it becomes `current` and the old one
  // retires (stop, while its output drains); failed: it is stopped, the old one stays.
  void settle(std::optional<Overlap::Outcome> outcome) {
    if (!outcome) return;
    if (outcome->ready) {
      retiring = std::move(current);
      current = std::move(outcome->generation);
      backoff->reset();
      if (stdin_relay) stdin_relay->make_current(current->pid());
    } else {
      retiring = std::move(outcome->generation);
    }
    begin_stop(/*final=*/false);
  }

  // ---- exits ----------------------------------------------------------------------------
  std::vector<Child*> tracked_children() const {
    std::vector<Child*> children;
    for (const Generation* g : {current.get(), overlap->generation(), retiring.get()})
      if (g) children.push_back(g->child.get());
    if (build.running()) children.push_back(build.child());
    return children;
  }

  void route_status(pid_t pid, ExitStatus s) {
    for (Child* c : tracked_children())
      if (pid == c->pid() && !c->status()) c->set_status(s);
  }

  // The leaders of the generations we still track stay zombies (their status read with
  // WNOWAIT) until their stop is done: a reaped leader's pid and group id could be handed
  // to an unrelated process, which the stop would then signal.
  std::vector<pid_t> tracked_pids() const {
    std::vector<pid_t> pids;
    for (const Child* c : tracked_children()) pids.push_back(c->pid());
    return pids;
  }

  void on_sigchld() {
    reap_children([this](pid_t pid, ExitStatus s) { route_status(pid, s); }, tracked_pids());
    for (Child* c : tracked_children()) c->peek_status();
    report_job_control_stops();
    check_current_exit();
    if (!shutting_down()) settle(overlap->check_exit());
    check_build_exit();
    poll_stop();
  }

  // A program stopped by job control (SIGTTIN: it read the terminal, whose foreground
  // group is relive's; SIGTTOU, SIGTSTP, SIGSTOP) would otherwise sit there silently.
  void report_job_control_stops() {
    for (const Generation* g : {current.get(), overlap->generation()}) {
      if (!g || !g->running()) continue;
      if (int sig = proc::take_stop_signal(g->child->pidfd()); sig != 0) {
        const char* abbrev = sigabbrev_np(sig);
        std::string name = abbrev ? std::string("SIG") + abbrev : std::to_string(sig);
        say(Status{.kind = Status::Kind::JobControlStop, .pid = g->pid(), .signal = sig});
        emit(Event{.kind = Event::Kind::Error, .pid = g->pid(), .message = "stopped by " + name});
      }
    }
  }

  void check_current_exit() {
    if (!current || current->exit_handled || current->running()) return;
    current->exit_handled = true;
    ExitStatus status = *current->child->status();
    if (shutting_down()) {
      shutdown->program_exited(status);
      return;
    }
    if (stop && stop->program_pid() == current->pid()) return;  // we stopped it: the Stop event says so
    emit(Event{.kind = Event::Kind::Exit, .pid = current->pid(), .status = status});
    Status said{.kind = Status::Kind::Exited, .command = command_text, .status = status};
    if (opt.restart_on_exit) {
      auto delay = backoff->arm_after_exit(std::chrono::steady_clock::now() - current->child->started_at());
      if (delay) said.restart_in = *delay;
      else said.message = delay.error().message;
    }
    say(said);
  }

  void on_backoff() {
    backoff->clear();
    if (shutting_down() || !idle()) return;  // a restart is already on its way
    controls.push_back(Control::Stop);       // whatever the old tree left behind
    controls.push_back(Control::Start);
  }

  // ---- changes --------------------------------------------------------------------------
  void on_batch(const watch::Batch& batch) {
    if (shutting_down()) return;
    ChangeSet changes = ChangeSet::from(batch, cwd, opt.accept_change);
    if (changes.empty()) return;
    emit(changes.event());
    backoff->disarm();
    if (idle()) {
      controls.current().merge(changes);
      start_cycle();
      advance();
      return;
    }
    switch (opt.on_busy) {
      case OnBusy::Queue:
        controls.queue_followup(changes);
        break;
      case OnBusy::DoNothing:
        break;
      case OnBusy::Restart:
        if (build.running()) {
          controls.current().merge(changes);
          if (!cancelling_build()) cancel_build();
        } else if (overlap->active() || !controls.contains(Control::Start)) {
          // The new generation is already on its way (--graceful: starting, waiting to be
          // ready): these changes need a cycle of their own after it, like `queue`.
          controls.queue_followup(changes);
        } else {
          controls.current().merge(changes);  // the Start still queued will carry them
        }
        break;
      case OnBusy::Signal:
        if (build.running()) build.child()->signal_group(opt.stop_signal);
        if (stop) stop->resignal(opt.stop_signal);
        break;
    }
  }

  // `rs` typed alone on a line (StdinRelay): a restart by hand, now if idle, else once the
  // running cycle is done (whatever --on-busy-update says: the user asked for it).
  void on_restart_request() {
    if (shutting_down()) return;
    emit(Event{.kind = Event::Kind::RestartRequested});
    backoff->disarm();
    ChangeSet by_hand;
    by_hand.requested = true;
    if (idle()) {
      controls.current().merge(by_hand);
      start_cycle();
      advance();
    } else {
      controls.queue_followup(by_hand);
    }
  }

  // ---- shutdown -------------------------------------------------------------------------
  void begin_shutdown(int sig) {
    if (shutting_down()) {
      // A second Ctrl-C: do not make the user wait for the stop timeout.
      if (final_stop_running() && !stop->done()) {
        say(Status{.kind = Status::Kind::KilledByUser, .count = stop->kill_now_by_user()});
      }
      poll_stop();
      return;
    }
    // exited(), not status(): the signalfd may hand out this SIGINT before the program's
    // own exit is processed; a program already gone on its own was not stopped by the signal.
    shutdown = Shutdown{.signal = sig, .program_running = current && !current->child->exited()};
    controls.clear();
    controls.drop_followup();
    backoff->disarm();
    // --graceful: a new generation still starting goes with the final stop like the rest;
    // its output keeps being forwarded until then.
    overlap->drop();
    // The final stop takes every descendant, the build's processes included.
    if (build.running() && !cancelling_build()) {  // a build being cancelled finishes that first
      loop->remove(build.child()->pidfd());
      build.forget();
    }
  }

  void on_signal(int sig, pid_t sender) {
    if (sig == SIGCHLD) {
      on_sigchld();
    } else if (is_shutdown_signal(sig)) {
      begin_shutdown(sig);
    } else if (sig == SIGUSR1 || sig == SIGUSR2) {
      forward_signal(sig);
    } else if (sig == SIGWINCH) {
      on_window_change();
    } else if (is_fault_signal(sig)) {
      // Only one sent by a process gets here (a real fault is fatal before it is queued).
      say(Status{.kind = Status::Kind::SignalIgnored, .pid = sender, .signal = sig});
    }
    // Everything else in handled_signals() is ignored: relive must outlive it.
  }

  // relive's terminal was resized. The programs are not in its foreground group, so the
  // kernel told only relive: the pseudo-terminals (OutputTail) take the new size, and the
  // running generations' groups get SIGWINCH (whose default is to ignore it).
  void on_window_change() {
    overlap->copy_window_size();
    for (Generation* g : {current.get(), overlap->generation()})
      if (g && g->running()) g->child->signal_group(SIGWINCH);
  }

  // SIGUSR1/SIGUSR2 are the program's (a reload, a log reopen), as watchexec does.
  void forward_signal(int sig) {
    if (!program_running()) {
      say(Status{.kind = Status::Kind::SignalForwarded, .signal = sig});
      return;
    }
    current->child->signal(sig);
    say(Status{.kind = Status::Kind::SignalForwarded, .pid = current->pid(), .signal = sig});
  }

  // One ready fd. Another fd of the loop's (e.g. relive's own standard input) gets a tag
  // in Tag and a case here.
  void dispatch(uint64_t tag) {
    switch (tag) {
      case kWatcher:
        for (const auto& b : watcher->read_batches()) on_batch(b);
        break;
      case EventLoop::kSignalTag: loop->read_signals([this](int sig, pid_t sender) { on_signal(sig, sender); }); break;
      case EventLoop::kWakeTag:
        loop->clear_wake();
        begin_shutdown(0);
        break;
      case kBackoff: on_backoff(); break;
      case kCurrentPidfd:
      case kBuildPidfd:
      case kStopTimer:
      case kStopPidfd:
      case kNextPidfd: on_sigchld(); break;
      case kReady: settle(overlap->check_ready()); break;
      case kStdin: stdin_relay->on_event(); break;
      default:
        if (tag >= kTapBase) {
          overlap->on_output(static_cast<int>(tag - kTapBase));
          break;
        }
        if (tag >= kExtraBase && tag - kExtraBase < opt.extra_fds.size()) opt.extra_fds[tag - kExtraBase].on_ready();
        break;
    }
  }

  // How long the loop may sleep: until the stop's next deadline or its notice; else
  // forever (the loop caps it at 100 ms once an fd could not join the epoll set).
  int wait_timeout_ms() const {
    if (!stop) return -1;
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(stop->wake_at() - std::chrono::steady_clock::now()).count();
    return static_cast<int>(std::clamp<long long>(ms, 0, 60000));
  }

  void on_deadlines() {
    auto now = std::chrono::steady_clock::now();
    if (stop && (loop->degraded() || now >= stop->next_deadline())) poll_stop();
    if (loop->degraded()) on_sigchld();
    if (auto notice = stop ? stop->notice_at() : std::nullopt; notice && now >= *notice) {
      stop->notice_shown();
      say(Status{.kind = Status::Kind::StopNotice});
    }
  }

  int run() {
    if (!opt.postpone) {
      if (build.configured()) controls.push_back(Control::Build);
      controls.push_back(Control::Start);
    }
    advance();
    while (!finished()) {
      auto ready = loop->wait(wait_timeout_ms());
      if (!ready) {
        say(Status{.kind = Status::Kind::LoopFailed, .message = ready.error().message});
        break;
      }
      for (size_t i = 0; i < ready->size() && !finished(); ++i) dispatch((*ready)[i]);
      on_deadlines();
      advance();
    }
    overlap->drain();
    out.flush(std::chrono::milliseconds(2000));  // bounded: a stalled terminal does not keep relive
    if (opt.on_shutdown) opt.on_shutdown();
    return shutdown ? shutdown->exit_code() : 0;
  }
};

sigset_t handled_signals() {
  sigset_t mask;
  sigemptyset(&mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM, SIGVTALRM, SIGPROF, SIGIO,
                  SIGPWR, SIGSTKFLT, SIGXCPU, SIGXFSZ, SIGWINCH})
    sigaddset(&mask, sig);
  // Blocking these costs nothing when they are real faults (the kernel unblocks a signal it
  // raises for a fault, and abort() unblocks SIGABRT, so relive still dies with its core
  // file), and turns one sent with kill(2) into a line instead of an orphaned program.
  for (int sig : kFaultSignals) sigaddset(&mask, sig);
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
  impl->build = BuildRunner(options.build, options.forward_stdin);
  impl->opt = std::move(options);
  // Zero downtime: a bad --ready or --socket is reported before anything starts; the
  // sockets are bound now, once, for relive's whole life.
  ReadySpec ready_spec;
  if (impl->opt.graceful || !impl->opt.ready.empty()) {
    auto ready = parse_ready_spec(impl->opt.ready.empty() ? "notify" : impl->opt.ready);
    if (!ready) return ready.error();
    ready_spec = *ready;
  }
  if (impl->opt.ready_timeout <= std::chrono::milliseconds{0}) return Error{"--ready-timeout must be greater than 0"};
  auto sockets = bind_sockets(impl->opt.sockets);
  if (!sockets) return sockets.error();
  impl->sockets = std::move(*sockets);
  impl->watcher = std::move(watcher);

  // Orphans of the program's tree re-parent to us, so we can stop and reap them.
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) return errno_error("prctl(PR_SET_CHILD_SUBREAPER)");
  sigset_t mask = handled_signals();
  if (sigprocmask(SIG_BLOCK, &mask, nullptr) != 0) return errno_error("sigprocmask");
  // A closed --json-events pipe must not kill relive (children get SIGPIPE back).
  ::signal(SIGPIPE, SIG_IGN);

  auto loop = EventLoop::create(mask);
  if (!loop) return loop.error();
  impl->loop = std::move(*loop);
  Impl* self = impl.get();
  impl->loop->on_degraded([self](const std::string& why) {
    self->say(Status{.kind = Status::Kind::LoopDegraded, .message = why});
  });
  auto backoff = RestartBackoff::create({impl->opt.backoff_initial, impl->opt.backoff_max, impl->opt.backoff_reset});
  if (!backoff) return backoff.error();
  impl->backoff.emplace(std::move(*backoff));
  impl->loop->add(impl->backoff->fd(), kBackoff);
  if (impl->watcher) impl->loop->add(impl->watcher->fd(), kWatcher);
  impl->overlap.emplace(*impl->loop, Overlap::Tags{kNextPidfd, kReady, kTapBase},
                        Overlap::Options{std::move(ready_spec), impl->opt.ready_timeout, impl->command_text},
                        Overlap::Hooks{.say = [self](const Status& st) { self->say(st); },
                                       .emit = [self](const Event& e) { self->emit(e); },
                                       .output = [self](int fd, std::string_view data) { self->out.write(fd, data); }});
  if (impl->opt.forward_stdin) {
    // The relay adds and removes its own fds (stdin, pipe ends, a timer) under one tag.
    auto relay = StdinRelay::create(
        impl->loop->epoll_fd(), kStdin, [self] { self->on_restart_request(); },
        [self](std::string_view m) { self->say(Status{.kind = Status::Kind::Notice, .message = std::string(m)}); });
    if (!relay) return relay.error();
    impl->stdin_relay = std::move(*relay);
  }
  for (size_t i = 0; i < impl->opt.extra_fds.size(); ++i) impl->loop->add(impl->opt.extra_fds[i].fd, kExtraBase + i);
  sup->impl_ = std::move(impl);
  return sup;
}

Supervisor::~Supervisor() = default;

int Supervisor::run() { return impl_->run(); }

void Supervisor::request_exit() { impl_->loop->wake(); }

void SupervisorAccess::on_batch(Supervisor& sup, const watch::Batch& batch) {
  sup.impl_->on_batch(batch);
  sup.impl_->advance();
}

}  // namespace relive::supervisor
