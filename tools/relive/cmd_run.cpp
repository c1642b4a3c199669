// relive [OPTIONS] -- COMMAND [ARGS...] — restart COMMAND whenever a watched file changes.
// A thin layer: parse options (run_options.cpp), open the watcher, hand both to the
// supervisor (relive/supervisor.hpp), which runs the loop. docs/run.md, docs/relive.1.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "commands.hpp"
#include "relive/burst_filter.hpp"
#include "relive/supervisor.hpp"
#include "relive/watch.hpp"
#include "run_options.hpp"
#include "run_render.hpp"
#include "version.hpp"
#include "run_support.hpp"

namespace relive::cli {

namespace {

namespace fs = std::filesystem;

int fail(const std::string& message, int status = 2) {
  fmt::print(stderr, "relive: {}\n", message);
  return status;
}

void write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    data.remove_prefix(static_cast<size_t>(n));
  }
}

// `file` relative to `root` when it lies under it (for an ignore rule), else "".
std::string relative_under(const fs::path& root, const fs::path& file) {
  std::error_code ec;
  auto r = fs::weakly_canonical(root, ec);
  auto f = fs::weakly_canonical(file, ec);
  if (ec) return "";
  auto rel = f.lexically_relative(r);
  if (rel.empty() || rel.native().rfind("..", 0) == 0) return "";
  return rel.generic_string();
}

}  // namespace

int run_supervise(int argc, char** argv) {
  // A closed stdin (`relive ... <&-`) would hand fd 0 to the first file relive opens (the
  // watcher's inotify fd), which would then be read as input: /dev/null takes its place.
  if (fcntl(0, F_GETFD) < 0 && errno == EBADF) {
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd > 0) {
      dup2(null_fd, 0);
      close(null_fd);
    }
  }
  // Block the signals the supervisor reads through its signalfd before any thread exists
  // (a watcher may start one), so none of them can take a signal meant for the loop.
  sigset_t mask = supervisor::handled_signals();
  sigprocmask(SIG_BLOCK, &mask, nullptr);

  auto parsed = parse_run_args(argc, argv);
  if (!parsed) return fail(parsed.error().message);
  if (parsed->help) {
    std::fputs(kRunHelp, stdout);
    return 0;
  }
  if (parsed->version) {
    std::puts(version_line());
    return 0;
  }
  if (parsed->usage) {  // bare `relive`: what it is and how to use it
    std::fputs(kRunHelp, stdout);
    return 2;
  }
  RunOptions& o = parsed->options;
  for (const auto& w : o.warnings) fmt::print(stderr, "relive: {}\n", w);
  // --workdir: a relative program path (./run.sh) is relative to DIR, as in the child.
  if (!o.workdir.empty() && !o.shell && o.command[0].find('/') != std::string::npos && o.command[0][0] != '/') {
    o.command[0] = (fs::absolute(o.workdir) / o.command[0]).lexically_normal().string();
  }

  auto on_busy = supervisor::parse_on_busy(o.on_busy_update);
  if (!on_busy) return fail(on_busy.error().message);
  auto stop_signal = parse_signal("--stop-signal", o.stop_signal);
  if (!stop_signal) return fail(stop_signal.error().message);
  auto stop_timeout = parse_duration("--stop-timeout", o.stop_timeout);
  if (!stop_timeout) return fail(stop_timeout.error().message);
  auto stop_mode = supervisor::parse_stop_mode(o.stop_mode);
  if (!stop_mode) return fail(stop_mode.error().message);
  auto ready_timeout = parse_duration("--ready-timeout", o.ready_timeout);
  if (!ready_timeout) return fail(ready_timeout.error().message);

  std::vector<fs::path> roots;
  for (const auto& w : (o.watch.empty() ? std::vector<std::string>{"."} : o.watch)) {
    std::error_code ec;
    if (!fs::exists(w, ec)) return fail(fmt::format("watch path does not exist: {}", w));
    roots.emplace_back(w);
  }

  // With --build the program may be what the build makes: the supervisor looks it up
  // after each build instead.
  if (!o.shell && o.build.empty()) {
    auto found = supervisor::find_program(o.command[0]);
    if (!found) return fail(found.error().message, found.error().kind == ErrorKind::NotFound ? 127 : 126);
  }

  const size_t user_ignores = o.ignore.size();  // -i and relive.toml's, for the banner
  // --json-events: the file must not trigger restarts itself.
  int json_fd = -1;
  if (!o.json_events.empty()) {
    if (o.json_events == "-") {
      json_fd = fcntl(1, F_DUPFD_CLOEXEC, 3);
    } else {
      json_fd = open(o.json_events.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (json_fd < 0) return fail(errno_message(errno, "--json-events: cannot open " + o.json_events));
      for (const auto& root : roots) {
        auto rel = relative_under(root, o.json_events);
        if (!rel.empty()) o.ignore.push_back("/" + rel);
      }
    }
  }

  // relive's own output redirected into the tree (`relive -- app > out.log`), and the
  // relive.toml it follows (an edit restarts relive itself, or is reported, below).
  for (auto& rule : own_output_ignores(roots)) o.ignore.push_back(std::move(rule));
  if (!parsed->config_file.empty()) {
    for (const auto& root : roots) {
      if (auto rule = ignore_under(root, parsed->config_file); !rule.empty()) o.ignore.push_back(rule);
    }
  }

  watch::Options wo;
  wo.roots = roots;
  wo.ignore.vcs_ignore = !o.no_vcs_ignore;
  wo.ignore.default_ignores = !o.no_default_ignore;
  wo.ignore.globs = o.ignore;
  if (o.poll_ms) wo.poll_interval = std::chrono::milliseconds(*o.poll_ms);
  wo.follow_symlinks = o.follow_symlinks;
  if (!o.debounce.empty()) {
    // --debounce: a batch waits for this much quiet (a format-on-save's second write
    // joins the first), and for at most a few windows in all.
    auto d = *parse_duration("--debounce", o.debounce);
    wo.quiet = std::max(d, std::chrono::milliseconds{1});
    wo.max_quiet = std::max(wo.max_quiet, wo.quiet);
    wo.max_delay = std::max(wo.max_delay, 5 * wo.quiet);
  }
  auto watcher = watch::Watcher::open(std::move(wo));
  if (!watcher) return fail(watcher.error().message);
  if (!o.quiet) print_banner(o, user_ignores, roots, **watcher);

  supervisor::Options so;
  so.command = o.command;
  so.shell = o.shell;
  so.build = o.build;
  if (!o.exts.empty()) {
    so.accept_change = [exts = o.exts](const watch::PathChange& c) { return change_has_ext(c, exts); };
  }
  so.on_busy = *on_busy;
  so.stop_signal = *stop_signal;
  so.stop_timeout = *stop_timeout;
  so.stop_mode = *stop_mode;
  so.restart_on_exit = o.restart_on_exit;
  so.sockets = o.sockets;
  so.graceful = o.graceful;
  so.ready = o.ready;
  so.ready_timeout = *ready_timeout;
  const char* no_color = std::getenv("NO_COLOR");
  RenderOptions render_options{.quiet = o.quiet, .clear = o.clear};
  render_options.color = isatty(2) && !(no_color && *no_color);
  so.on_status = [render_options](const supervisor::Status& s) { return render(s, render_options); };
  if (json_fd >= 0) {
    so.on_event = [json_fd](const supervisor::Event& e) { write_all(json_fd, supervisor::to_json_line(e) + "\n"); };
  }
  // --exit-on-crash, --notify: reactions to events (the supervisor is created below).
  supervisor::Supervisor* running = nullptr;
  std::optional<supervisor::ExitStatus> crashed;
  if (o.notify && !have_notify_send()) fmt::print(stderr, "relive: --notify: notify-send is not installed; no desktop notifications\n");
  if (o.exit_on_crash || o.notify) {
    so.on_event = [inner = std::move(so.on_event), &running, &crashed, exit_on_crash = o.exit_on_crash,
                   notify = o.notify, build = o.build](const supervisor::Event& e) {
      if (inner) inner(e);
      bool failed = e.status && (e.status->signal != 0 || e.status->code != 0);
      if (notify && e.kind == supervisor::Event::Kind::BuildEnd && !e.success) {
        desktop_notify("relive: build failed", fmt::format("{}: {}", build, e.status ? e.status->describe() : "failed"));
      }
      if (exit_on_crash && e.kind == supervisor::Event::Kind::Exit && failed && !crashed) {
        crashed = e.status;
        if (running) running->request_exit();
      }
    };
  }
  // --workdir, -E: where and with what the command runs (the build runs where relive does).
  if (!o.workdir.empty() || !o.env.empty()) {
    so.prepare_child = [workdir = o.workdir, env = o.env](supervisor::ChildSpec& spec) {
      if (!workdir.empty()) spec.cwd = workdir;
      spec.env.insert(spec.env.end(), env.begin(), env.end());
    };
  }
  so.postpone = o.postpone;
  so.forward_stdin = !o.no_stdin;  // stdin to the program through a pipe; `rs` restarts

  // --burst: the child's stdout and stderr go through one pipe to the line filter, which
  // writes to relive's stdout. relive keeps the write end open for its whole life, so the
  // pipe outlives each child; the loop reads it as one of its fds.
  std::unique_ptr<burst::LineFilter> filter;
  int burst_pipe[2] = {-1, -1};
  if (o.burst) {
    auto filter_options = o.burst_settings.to_filter_options("--burst-");
    if (!filter_options) return fail(filter_options.error().message);
    auto f = burst::LineFilter::create(std::move(*filter_options), [](std::string_view lines) { write_all(1, lines); });
    if (!f) return fail(f.error().message);
    filter = std::move(*f);
    if (pipe2(burst_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return fail(errno_message(errno, "pipe2"));
    // The child's end must block like an ordinary stdout.
    fcntl(burst_pipe[1], F_SETFL, 0);
    int write_end = burst_pipe[1];
    so.prepare_child = [write_end, inner = std::move(so.prepare_child)](supervisor::ChildSpec& spec) {
      if (inner) inner(spec);
      spec.stdout_fd = write_end;
      spec.stderr_fd = write_end;
    };
    auto drain = [fd = burst_pipe[0], f = filter.get()] {
      char buf[65536];
      for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        f->feed({buf, static_cast<size_t>(n)});
      }
    };
    so.extra_fds.push_back({burst_pipe[0], drain});
    // What the last program held is written at the end when that program crashed (exited
    // non-zero or by a signal) and nothing started after it: the filter's End::failure.
    auto last_run_failed = std::make_shared<bool>(false);
    so.on_event = [inner = std::move(so.on_event), last_run_failed](const supervisor::Event& e) {
      if (inner) inner(e);
      if (e.kind == supervisor::Event::Kind::Start) *last_run_failed = false;
      if (e.kind == supervisor::Event::Kind::Exit && e.status)
        *last_run_failed = e.status->signal != 0 || e.status->code != 0;
    };
    so.on_shutdown = [drain, f = filter.get(), last_run_failed] {
      drain();
      f->finish(*last_run_failed ? burst::End::failure : burst::End::normal);
    };
  }

  // An edit to relive.toml while running restarts relive with the new options (or is
  // reported, when they are not valid, and the running options stay).
  std::unique_ptr<ConfigFollower> config_follower;
  bool reexec = false;
  if (!parsed->config_file.empty()) config_follower = ConfigFollower::open(parsed->config_file, argc, argv);
  if (config_follower) {
    so.extra_fds.push_back({config_follower->fd(), [&] {
                              if (config_follower->on_readable() && running) {
                                reexec = true;
                                running->request_exit();
                              }
                            }});
  }

  auto sup = supervisor::Supervisor::create(std::move(so), std::move(*watcher));
  if (!sup) return fail(sup.error().message);
  running = sup->get();
  int status = (*sup)->run();
  running = nullptr;
  sup->reset();
  if (json_fd >= 0) close(json_fd);
  for (int fd : burst_pipe) {
    if (fd >= 0) close(fd);
  }
  if (reexec) {
    execv("/proc/self/exe", argv);
    return fail(errno_message(errno, "cannot restart relive"), 1);
  }
  if (crashed) return crashed->shell_status();
  return status;
}

}  // namespace relive::cli
