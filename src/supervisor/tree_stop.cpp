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
#include "relive/supervisor.hpp"

namespace relive::supervisor {

namespace {

TreeMember to_member(const proc::Stat& s) { return TreeMember{s.pid, s.ppid, s.state == 'Z', s.start_ticks}; }

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

int reap_children(const std::function<void(pid_t, ExitStatus)>& on_reaped) {
  int count = 0;
  for (;;) {
    int st = 0;
    pid_t pid = waitpid(-1, &st, WNOHANG);
    if (pid <= 0) break;
    ++count;
    if (on_reaped) on_reaped(pid, ExitStatus::from_wait_status(st));
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

TreeStop::TreeStop(const Child* child, Options options) : child_(child), options_(std::move(options)) {
  auto now = std::chrono::steady_clock::now();
  kill_deadline_ = now + options_.timeout;
  scan_deadline_ = now + kScanGrace;
  timer_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (child_ && !options_.everything) {
    // The group first, at once; the walk of /proc for members outside the group (daemons)
    // waits until the main process has exited or kScanGrace passed — in the common case
    // the group signal ends everything and one walk then confirms it.
    child_->signal_group(options_.stop_signal);
    if (options_.stop_signal != SIGKILL) child_->signal_group(SIGCONT);
    if (timer_fd_ >= 0) arm(timer_fd_, std::min(options_.timeout, std::chrono::milliseconds(kScanGrace)));
  } else {
    scan(options_.stop_signal);
    scanned_ = true;
    if (timer_fd_ >= 0) arm(timer_fd_, options_.timeout);
  }
}

TreeStop::~TreeStop() {
  for (auto& m : members_) close(m.pidfd);
  if (timer_fd_ >= 0) close(timer_fd_);
}

void TreeStop::scan(int sig) {
  std::vector<TreeMember> tree =
      options_.everything || !child_
          ? find_all_descendants()
          : find_tree(*child_, options_.exclude_roots, options_.newer_generation_ticks);
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
    if (!t.zombie) {
      proc::pidfd_signal(fd, sig);
      if (sig != SIGKILL) proc::pidfd_signal(fd, SIGCONT);
    }
  }
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

void TreeStop::kill_now() {
  killed_ = true;
  for (auto& m : members_) proc::pidfd_signal(m.pidfd, SIGKILL);
  if (child_) child_->signal_group(SIGKILL);
  scan(SIGKILL);
  scanned_ = true;
}

void TreeStop::resignal(int sig) {
  for (auto& m : members_) proc::pidfd_signal(m.pidfd, sig);
  if (child_) child_->signal_group(sig);
}

bool TreeStop::poll() {
  if (done_) return true;
  auto now = std::chrono::steady_clock::now();
  if (timer_fd_ >= 0) {
    uint64_t expirations = 0;
    ssize_t ignored = read(timer_fd_, &expirations, sizeof expirations);
    (void)ignored;
  }
  if (!killed_ && now >= kill_deadline_) kill_now();
  const int sig = killed_ ? SIGKILL : options_.stop_signal;
  if (!scanned_) {
    bool main_gone = !child_ || child_->status() || proc::pidfd_readable(child_->pidfd());
    if (!main_gone && now < scan_deadline_) return false;
    if (main_gone && reap_and_check_no_children()) return done_ = true;
    scan(sig);
    scanned_ = true;
    if (timer_fd_ >= 0 && !killed_) arm(timer_fd_, kill_deadline_ - now);
    if (!all_known_exited()) return false;
    reap_members();  // the walk itself showed nothing of the tree alive
    return done_ = true;
  }
  if (!all_known_exited()) return false;
  if (reap_and_check_no_children()) return done_ = true;
  // Everyone we knew of has exited; a process forked just before its parent died (or a
  // daemon that re-parented since) would only show up in a fresh walk.
  scan(sig);
  if (!all_known_exited()) return false;
  reap_members();
  return done_ = true;
}

void TreeStop::reap(int pidfd, pid_t pid) {
  auto status = proc::reap_pidfd(pidfd, pid);
  if (status && options_.on_reaped) options_.on_reaped(pid, *status);
}

// Reaps the members that are our children (re-parented zombies included; a member whose
// parent is another member was re-parented to us when that parent exited).
void TreeStop::reap_members() {
  if (child_) reap(child_->pidfd(), child_->pid());
  for (auto& m : members_) reap(m.pidfd, m.pid);
}

// Every living process whose ancestry leads to us has an ancestor that is our direct child,
// so "no child at all" (ECHILD) proves that no process of the tree is left — without
// walking /proc. Only when we have other children (a build, a newer generation) does the
// caller fall back to the walk.
bool TreeStop::reap_and_check_no_children() {
  reap_members();
  siginfo_t info{};
  return waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == -1 && errno == ECHILD;
}

}  // namespace relive::supervisor
