// Finding and stopping the whole process tree of a child, daemons included.
//
// Why /proc and not only the process group: a daemon double-forks and calls setsid(), so
// it leaves the group; its parent exits, and the kernel re-parents it to the nearest child
// subreaper — us. Such orphans are attributed to the generation (Child) that was started
// most recently before them.
#include <signal.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <set>

#include "proc.hpp"
#include "tree.hpp"
#include "relive/supervisor.hpp"

namespace relive::supervisor {

namespace {

TreeMember to_member(const proc::Stat& s) { return TreeMember{s.pid, s.ppid, s.state == 'Z', s.start_ticks, s.pgid}; }

// Every process reachable from `roots` through parent links, never entering `excluded`.
std::vector<TreeMember> closure(const std::vector<proc::Stat>& all, std::set<pid_t> roots,
                                const std::set<pid_t>& excluded) {
  std::multimap<pid_t, const proc::Stat*> children;
  std::map<pid_t, const proc::Stat*> by_pid;
  for (const auto& s : all) {
    children.emplace(s.ppid, &s);
    by_pid.emplace(s.pid, &s);
  }
  std::vector<TreeMember> out;
  std::set<pid_t> seen;
  std::vector<pid_t> todo(roots.begin(), roots.end());
  const pid_t self = getpid();
  while (!todo.empty()) {
    pid_t pid = todo.back();
    todo.pop_back();
    if (pid == self || excluded.count(pid) || !seen.insert(pid).second) continue;
    auto it = by_pid.find(pid);
    if (it == by_pid.end()) continue;
    out.push_back(to_member(*it->second));
    auto [lo, hi] = children.equal_range(pid);
    for (auto c = lo; c != hi; ++c) todo.push_back(c->second->pid);
  }
  return out;
}

}  // namespace

std::vector<TreeMember> find_tree(const Child& child, const std::vector<pid_t>& exclude_roots,
                                  std::optional<unsigned long long> newer_generation_ticks) {
  const pid_t self = getpid();
  auto all = proc::list_all();
  std::set<pid_t> excluded(exclude_roots.begin(), exclude_roots.end());
  std::set<pid_t> roots;
  for (const auto& s : all) {
    // Start times guard against a recycled pid or group id.
    if (s.pid == child.pid() && s.start_ticks == child.start_ticks()) roots.insert(s.pid);
    if (s.pgid == child.pgid() && s.start_ticks >= child.start_ticks()) roots.insert(s.pid);
    // A re-parented orphan: ours, started after this generation and before the next.
    if (s.ppid == self && s.pid != child.pid() && s.start_ticks >= child.start_ticks() &&
        (!newer_generation_ticks || s.start_ticks < *newer_generation_ticks)) {
      roots.insert(s.pid);
    }
  }
  return closure(all, roots, excluded);
}

std::vector<TreeMember> find_all_descendants() {
  auto all = proc::list_all();
  std::set<pid_t> roots;
  const pid_t self = getpid();
  for (const auto& s : all) {
    if (s.ppid == self) roots.insert(s.pid);
  }
  return closure(all, roots, {});
}

int reap_children(const std::function<void(pid_t, ExitStatus)>& on_reaped, const std::vector<pid_t>& keep) {
  auto kept = [&](pid_t pid) { return std::find(keep.begin(), keep.end(), pid) != keep.end(); };
  auto reap_one = [&](pid_t pid) {
    int st = 0;
    if (waitpid(pid, &st, WNOHANG) != pid) return false;
    if (on_reaped) on_reaped(pid, ExitStatus::from_wait_status(st));
    return true;
  };
  int count = 0;
  for (;;) {
    // Cheap path: the kernel names one exited child without reaping it.
    siginfo_t info{};
    if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == 0) return count;
    if (kept(info.si_pid)) break;
    if (reap_one(info.si_pid)) ++count;
  }
  // A kept zombie (a generation's leader whose stop is not done) would be named again and
  // again: go through the list of children instead.
  for (pid_t pid : proc::list_children()) {
    if (!kept(pid) && reap_one(pid)) ++count;
  }
  return count;
}

namespace {
void arm(int fd, std::chrono::steady_clock::duration d) {
  auto ns = std::max<long long>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count(), 1);
  itimerspec spec{};
  spec.it_value.tv_sec = static_cast<time_t>(ns / 1000000000);
  spec.it_value.tv_nsec = static_cast<long>(ns % 1000000000);
  timerfd_settime(fd, 0, &spec, nullptr);
}
}  // namespace

namespace {
// A deadline that cannot overflow steady_clock (a --stop-timeout of years is "never").
std::chrono::steady_clock::time_point after(std::chrono::steady_clock::time_point now, std::chrono::milliseconds d) {
  constexpr auto kLongest = std::chrono::hours(24 * 365 * 10);
  return now + std::min<std::chrono::steady_clock::duration>(std::max(d, std::chrono::milliseconds(0)), kLongest);
}
}  // namespace

const char* to_string(StopMode mode) {
  switch (mode) {
    case StopMode::Group: return "group";
    case StopMode::Main: return "main";
    case StopMode::Mixed: return "mixed";
  }
  return "?";
}

Result<StopMode> parse_stop_mode(std::string_view text) {
  if (text == "group") return StopMode::Group;
  if (text == "main") return StopMode::Main;
  if (text == "mixed") return StopMode::Mixed;
  return Error{"--stop-mode: expected group, main or mixed, got \"" + std::string(text) + "\""};
}

TreeStop::TreeStop(const Child* child, Options options) : child_(child), options_(std::move(options)) {
  auto now = std::chrono::steady_clock::now();
  kill_deadline_ = after(now, options_.timeout);
  scan_deadline_ = now + kScanGrace;
  timer_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  const bool main_alive = child_ && !child_->status() && !proc::pidfd_readable(child_->pidfd());
  if (child_ && !options_.everything && options_.mode != StopMode::Group && main_alive) {
    // mixed/main: only the main process hears the stop signal now (it may stop its own
    // workers in order); the rest of the tree once it has exited (poll()).
    main_only_ = true;
    child_->signal(options_.stop_signal);
    if (options_.stop_signal != SIGKILL) child_->signal(SIGCONT);
  } else if (child_ && !options_.everything) {
    // The group first, at once; the walk of /proc for members outside the group (daemons)
    // waits until the main process has exited or kScanGrace passed — in the common case
    // the group signal ends everything and one walk then confirms it.
    child_->signal_group(options_.stop_signal);
    group_signal_ = options_.stop_signal;
    if (options_.stop_signal != SIGKILL) child_->signal_group(SIGCONT);
  } else {
    scan(options_.stop_signal);
    scanned_ = true;
  }
  rearm(now);
}

TreeStop::~TreeStop() {
  for (auto& m : members_) close(m.pidfd);
  if (timer_fd_ >= 0) close(timer_fd_);
}

std::chrono::steady_clock::time_point TreeStop::next_deadline() const {
  if (!scanned_ && !main_only_) return std::min(kill_deadline_, scan_deadline_);
  return kill_deadline_;
}

void TreeStop::rearm(std::chrono::steady_clock::time_point now) {
  // The timerfd is a convenience for a caller's poll loop; next_deadline() is the truth
  // (the Supervisor bounds its epoll_wait by it, so a failed timerfd loses nothing).
  if (timer_fd_ < 0 || kill_sent_) return;
  arm(timer_fd_, std::max<std::chrono::steady_clock::duration>(next_deadline() - now, std::chrono::milliseconds(1)));
}

int TreeStop::scan(int sig) {
  std::vector<TreeMember> tree =
      options_.everything || !child_
          ? find_all_descendants()
          : find_tree(*child_, options_.exclude_roots, options_.newer_generation_ticks);
  int signalled = 0;
  for (const auto& t : tree) {
    bool known = std::any_of(members_.begin(), members_.end(), [&](const Member& m) { return m.pid == t.pid; });
    if (known) continue;
    int fd = proc::pidfd_open(t.pid);
    if (fd < 0) continue;  // already gone
    // The pid may have been recycled between reading /proc and opening the pidfd.
    auto again = proc::read_stat(t.pid);
    if (!again || again->start_ticks != t.start_ticks) {
      close(fd);
      continue;
    }
    members_.push_back(Member{t.pid, fd});
    // A member of the group that already got this signal is not sent it twice (a second
    // SIGTERM or SIGINT means "hurry" to many programs).
    bool got_it = child_ && sig == group_signal_ && t.pgid == child_->pgid();
    if (t.zombie || sig == 0) continue;
    bool reached = got_it || proc::pidfd_signal(fd, sig);
    if (!got_it && sig != SIGKILL) proc::pidfd_signal(fd, SIGCONT);
    if (reached && !(child_ && t.pid == child_->pid())) ++signalled;  // the main one: alive_count()
  }
  return signalled;
}

bool TreeStop::all_known_exited() const {
  return std::all_of(members_.begin(), members_.end(), [](const Member& m) { return proc::pidfd_readable(m.pidfd); });
}

std::vector<int> TreeStop::fds() const {
  std::vector<int> out;
  if (!scanned_ && child_ && !proc::pidfd_readable(child_->pidfd())) out.push_back(child_->pidfd());
  for (const auto& m : members_) {
    if (!proc::pidfd_readable(m.pidfd)) out.push_back(m.pidfd);
  }
  return out;
}

int TreeStop::alive_count() const {
  int n = 0;
  if (child_ && !proc::pidfd_readable(child_->pidfd())) ++n;
  for (const auto& m : members_) {
    if (!proc::pidfd_readable(m.pidfd) && !(child_ && m.pid == child_->pid())) ++n;
  }
  return n;
}

void TreeStop::kill_now() {
  kill_sent_ = true;
  main_only_ = false;
  int alive = alive_count();
  for (auto& m : members_) proc::pidfd_signal(m.pidfd, SIGKILL);
  if (child_) child_->signal_group(SIGKILL);
  group_signal_ = SIGKILL;
  alive += scan(SIGKILL);
  scanned_ = true;
  // Reported only when something was there to kill: a tree already gone was not "killed".
  if (alive > 0) killed_ = true;
  killed_count_ += alive;
}

void TreeStop::resignal(int sig) {
  for (auto& m : members_) proc::pidfd_signal(m.pidfd, sig);
  if (main_only_ && child_) {
    child_->signal(sig);
  } else if (child_) {
    child_->signal_group(sig);
  }
}

bool TreeStop::poll() {
  if (done_) return true;
  auto now = std::chrono::steady_clock::now();
  if (timer_fd_ >= 0) {
    uint64_t expirations = 0;
    ssize_t ignored = read(timer_fd_, &expirations, sizeof expirations);
    (void)ignored;
  }
  if (main_only_) {
    bool main_gone = child_->status() || proc::pidfd_readable(child_->pidfd());
    if (!main_gone && now < kill_deadline_) return false;
    if (main_gone) {
      main_only_ = false;
      if (reap_and_check_no_children()) return done_ = true;  // the usual case: nothing else
      // The rest of the tree: the stop signal (mixed) or nothing but the deadline (main),
      // with a full --stop-timeout of its own.
      kill_deadline_ = after(now, options_.timeout);
      const int sig = options_.mode == StopMode::Mixed ? options_.stop_signal : 0;
      if (sig != 0) {
        child_->signal_group(sig);
        group_signal_ = sig;
        if (sig != SIGKILL) child_->signal_group(SIGCONT);
      }
      scan(sig);
      scanned_ = true;
      rearm(now);
      if (!all_known_exited()) return false;
      reap_members(/*with_main=*/true);
      return done_ = true;
    }
    // The main process ignored the stop signal for --stop-timeout: SIGKILL to everything.
  }
  if (!kill_sent_ && now >= kill_deadline_) kill_now();
  const int sig = kill_sent_ ? SIGKILL : options_.mode == StopMode::Main && child_ && !options_.everything ? 0 : options_.stop_signal;
  if (!scanned_) {
    bool main_gone = !child_ || child_->status() || proc::pidfd_readable(child_->pidfd());
    if (!main_gone && now < scan_deadline_) return false;
    if (main_gone && reap_and_check_no_children()) return done_ = true;
    scan(sig);
    scanned_ = true;
    rearm(now);
    if (!all_known_exited()) return false;
    reap_members(/*with_main=*/true);  // the walk itself showed nothing of the tree alive
    return done_ = true;
  }
  if (!all_known_exited()) return false;
  if (reap_and_check_no_children()) return done_ = true;
  // Everyone we knew of has exited; a process forked just before its parent died (or a
  // daemon that re-parented since) would only show up in a fresh walk.
  scan(sig);
  if (!all_known_exited()) return false;
  reap_members(/*with_main=*/true);
  return done_ = true;
}

void TreeStop::reap(int pidfd, pid_t pid) {
  if (pidfd < 0) return;
  auto status = proc::reap_pidfd(pidfd, pid);
  if (status && options_.on_reaped) options_.on_reaped(pid, *status);
}

// Reaps the members that are our children (re-parented zombies included; a member whose
// parent is another member was re-parented to us when that parent exited). The main
// process only at the end (`with_main`): until then its zombie keeps its pid, and so its
// process group id, from being handed to an unrelated process that we would then signal.
void TreeStop::reap_members(bool with_main) {
  for (auto& m : members_) {
    if (!child_ || m.pid != child_->pid()) reap(m.pidfd, m.pid);
  }
  if (with_main && child_) reap(child_->pidfd(), child_->pid());
}

// Every living process whose ancestry leads to us has an ancestor that is our direct child,
// so "no child but the exited main process" proves that no process of the tree is left —
// without walking /proc. Only when we have other children (a build, a newer generation)
// does the caller fall back to the walk.
bool TreeStop::reap_and_check_no_children() {
  reap_members(/*with_main=*/false);
  bool main_exited = !child_ || proc::pidfd_readable(child_->pidfd());
  for (pid_t pid : proc::list_children()) {
    if (!(child_ && pid == child_->pid() && main_exited)) return false;
  }
  reap_members(/*with_main=*/true);
  return true;
}

}  // namespace relive::supervisor
