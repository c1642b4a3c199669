// Internal: runs --build before each (re)start and reports its outcome (internal to the
// supervisor part).
//
// The build runs through /bin/sh -c with RELIVE_CHANGED_PATHS, in a process group of its
// own like the program, so that --on-busy-update=restart can stop its whole tree with a
// TreeStop (cancel_options()) — the Supervisor runs that stop in its one stop slot, since
// a build runs only while nothing else is being stopped.
//
// Example:
//   BuildRunner build("make");
//   if (auto pid = build.start(changes); !pid) report(pid.error());
//   ... once build.child()->status() is set:  on_event(build.finish());
//
// Single-threaded (the run() thread).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "changes.hpp"
#include "relive/supervisor.hpp"

namespace relive::supervisor {

class BuildRunner {
 public:
  // `input_is_the_programs`: relive reads its stdin for the program (Options::forward_stdin),
  // so the build gets /dev/null instead — a build inheriting the terminal would take lines
  // typed for the program (and `rs`), and one that prompts gets EOF rather than hanging.
  explicit BuildRunner(std::string command, bool input_is_the_programs = false)
      : command_(std::move(command)), null_stdin_(input_is_the_programs) {}

  bool configured() const { return !command_.empty(); }
  const std::string& command() const { return command_; }

  // Starts the build with `changes` in RELIVE_CHANGED_PATHS; returns its BuildStart event.
  // Fails (nothing running) if it cannot be started.
  Result<Event> start(const ChangeSet& changes);
  // The build under way, or null.
  Child* child() const { return child_.get(); }
  bool running() const { return child_ != nullptr; }
  // Its exit status, once it exited by itself (a failed build: !status.code == 0).
  std::optional<ExitStatus> status() const { return child_ ? child_->status() : std::nullopt; }

  // Ends tracking the build; returns its BuildEnd event. A cancelled build counts as
  // failed; its status is `cancelled_by` when it was never read (the stop reaped it).
  Event finish(bool cancelled = false, int cancelled_by = SIGTERM);
  // Forgets the build without an event (the final stop takes its processes with the rest).
  void forget() { child_.reset(); }

 private:
  std::string command_;
  bool null_stdin_ = false;
  std::unique_ptr<Child> child_;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace relive::supervisor
