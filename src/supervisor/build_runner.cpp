// Runs --build and reports its outcome (build_runner.hpp).
#include "build_runner.hpp"

#include <fcntl.h>
#include <unistd.h>

namespace relive::supervisor {

Result<Event> BuildRunner::start(const ChangeSet& changes) {
  ChildSpec spec;
  spec.argv = {command_};
  spec.shell = true;
  spec.unset_env = {"RELIVE_CHANGED_PATHS"};
  if (!changes.paths.empty()) spec.env.push_back("RELIVE_CHANGED_PATHS=" + join(changes.paths, "\n"));
  // -1 (inherit) if not wanted or /dev/null cannot be opened.
  spec.stdin_fd = null_stdin_ ? open("/dev/null", O_RDONLY | O_CLOEXEC) : -1;
  auto started = Child::start(spec);
  if (spec.stdin_fd >= 0) close(spec.stdin_fd);  // the child has its own copy
  if (!started) return started.error();
  child_ = std::move(*started);
  started_ = std::chrono::steady_clock::now();
  return Event{.kind = Event::Kind::BuildStart, .pid = child_->pid(), .message = command_};
}

Event BuildRunner::finish(bool cancelled, int cancelled_by) {
  ExitStatus status = cancelled ? child_->status().value_or(ExitStatus{.signal = cancelled_by}) : *child_->status();
  bool ok = !cancelled && status.signal == 0 && status.code == 0;
  Event e{.kind = Event::Kind::BuildEnd, .pid = child_->pid(), .status = status, .success = ok,
          .duration_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started_).count()};
  child_.reset();
  return e;
}

}  // namespace relive::supervisor
