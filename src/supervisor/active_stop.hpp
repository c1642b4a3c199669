// Internal: the supervisor's one stop under way (internal to the supervisor part).
//
// Why one slot: a build runs only while nothing is being stopped and a stop only while no
// build runs, so a generation's stop, the final stop and a cancelled build's stop never
// overlap, and one ActiveStop serves them all; its kind says which (there are no flags
// for it). It wraps the TreeStop with what the Supervisor reports once the stop is done:
// the program's pid, whether it had exited on its own before the stop began, how long it
// took, and whether a second Ctrl-C did the killing (then the timeout is not blamed):
// report().
// The final stop's "stopping… (Ctrl-C again to kill)" notice is due kNoticeAfter after
// its start.
//
// Example:
//   stop = std::make_unique<ActiveStop>(ActiveStop::Of::Restart, child, options, loop, tags);
//   if (stop->poll()) finish();  // again after each of its fds and at wake_at()
//   // finish(): auto r = stop->report(status, command, timeout); emit(r.event); say(r.status);
//
// Single-threaded (the run() thread).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "event_loop.hpp"
#include "relive/supervisor.hpp"

namespace relive::supervisor {

class ActiveStop {
 public:
  enum class Of {
    Restart,  // a generation that is replaced (or that exited and left processes behind)
    Final,    // everything, relive is exiting
    Build,    // a build cancelled by --on-busy-update=restart
  };
  // The tags its fds get in the loop: the kill timer and the members' pidfds.
  struct Tags {
    uint64_t timer;
    uint64_t pidfd;
  };
  static constexpr std::chrono::milliseconds kNoticeAfter{500};

  // Signals `target`'s tree (null: a final stop with no program running) and adds the
  // stop's timer to `loop`, which must outlive it. Call poll() next.
  ActiveStop(Of of, const Child* target, TreeStop::Options options, EventLoop& loop, Tags tags);

  Of of() const { return of_; }
  // The program's main process being stopped (0: a build, or a final stop with none).
  pid_t program_pid() const { return program_pid_; }
  // The program had exited on its own and was reported then (Exit event): the stop only
  // sweeps what it may have left behind.
  bool after_exit() const { return after_exit_; }

  // Re-checks (after one of its fds was ready, or at its deadline) and adds the members'
  // new pidfds to the loop. True once every process of the tree is gone.
  bool poll();
  bool done() const { return tree_->done(); }
  // The deadline at which poll() is due even if no fd was ready (the kill deadline does
  // not depend on the timerfd having been created and armed).
  std::chrono::steady_clock::time_point next_deadline() const { return tree_->next_deadline(); }
  // When the loop must wake at the latest: next_deadline() or the notice, if sooner.
  std::chrono::steady_clock::time_point wake_at() const;
  // on-busy-update=signal: the stop signal again to every live member.
  void resignal(int sig) { tree_->resignal(sig); }
  // A second Ctrl-C: SIGKILL to every member now. Returns how many it reached.
  int kill_now_by_user();

  // What a done stop reports: the Stop event of the program (none for a build, nor for a
  // program that had exited on its own: its Exit event was reported then), then, if the
  // timeout ran out and SIGKILL was needed (not at the user's word), a Status saying so.
  struct Report {
    std::optional<Event> event;
    std::optional<Status> status;
  };
  // `program_status`: the program's exit status, if read; `command_text` and `timeout`
  // for the Status.
  Report report(std::optional<ExitStatus> program_status, const std::string& command_text,
                std::chrono::milliseconds timeout) const;

  // The final stop's notice: when it is due (none once shown, or for other stops), and
  // that it was shown.
  std::optional<std::chrono::steady_clock::time_point> notice_at() const;
  void notice_shown() { notice_shown_ = true; }

 private:
  Of of_;
  EventLoop& loop_;
  Tags tags_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  pid_t program_pid_ = 0;
  bool after_exit_ = false;
  std::unique_ptr<TreeStop> tree_;
  std::set<int> registered_fds_;
  bool killed_by_user_ = false;
  bool notice_shown_ = false;
};

}  // namespace relive::supervisor
