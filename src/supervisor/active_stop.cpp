// The supervisor's one stop under way (active_stop.hpp).
#include "active_stop.hpp"

#include <utility>

namespace relive::supervisor {

ActiveStop::ActiveStop(Of of, const Child* target, TreeStop::Options options, EventLoop& loop, Tags tags)
    : of_(of), loop_(loop), tags_(tags) {
  if (of != Of::Build && target) {
    program_pid_ = target->pid();
    after_exit_ = target->status().has_value();
  }
  tree_ = std::make_unique<TreeStop>(target, std::move(options));
  loop_.add(tree_->timeout_fd(), tags_.timer);
}

bool ActiveStop::poll() {
  if (tree_->poll()) return true;
  for (int fd : tree_->fds()) {
    if (registered_fds_.insert(fd).second) loop_.add(fd, tags_.pidfd, true);
  }
  return false;
}

int ActiveStop::kill_now_by_user() {
  int before = tree_->killed_count();
  tree_->kill_now();
  killed_by_user_ = true;
  return tree_->killed_count() - before;
}

ActiveStop::Report ActiveStop::report(std::optional<ExitStatus> program_status, const std::string& command_text,
                                      std::chrono::milliseconds timeout) const {
  Report r;
  if (!program_pid_) return r;
  const bool killed_by_timeout = tree_->killed() && !killed_by_user_;
  if (after_exit_) {
    if (killed_by_timeout) {
      r.status = Status{.kind = Status::Kind::LeftBehindKilled, .pid = program_pid_, .count = tree_->killed_count(),
                        .ms = timeout};
    }
    return r;
  }
  double took = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started_).count();
  r.event = Event{.kind = Event::Kind::Stop, .pid = program_pid_, .killed = tree_->killed(), .duration_ms = took};
  if (program_status) r.event->status = program_status;
  if (killed_by_timeout) r.status = Status{.kind = Status::Kind::StopKilled, .command = command_text, .ms = timeout};
  return r;
}

std::chrono::steady_clock::time_point ActiveStop::wake_at() const {
  auto at = next_deadline();
  if (auto notice = notice_at(); notice && *notice < at) at = *notice;
  return at;
}

std::optional<std::chrono::steady_clock::time_point> ActiveStop::notice_at() const {
  if (of_ != Of::Final || notice_shown_) return std::nullopt;
  return started_ + kNoticeAfter;
}

}  // namespace relive::supervisor
