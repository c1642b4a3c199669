// Internal: one start of the program — a generation (internal to the supervisor part).
//
// A generation is the Child, and for --graceful's overlapped start also its readiness
// wait (until it is ready) and its output tail (its output passes through relive, which
// keeps the last lines for a failure report). Up to three exist at once: the `current`
// one serving and the `retiring` one being stopped (the Supervisor's), and the new one
// starting beside `current` (--graceful; Overlap's, overlap.hpp, until it is ready or has
// failed). Stopping is TreeStop's job; a Generation only starts.
//
// Example:
//   auto gen = Generation::start(spec, std::move(ready_wait), forward_output);
//   if (!gen) report(gen.error());
//   loop.add((*gen)->child->pidfd(), kCurrentPidfd, true);
//
// Single-threaded (the run() thread).
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include "output_tail.hpp"
#include "readiness.hpp"
#include "relive/supervisor.hpp"

namespace relive::supervisor {

struct Generation {
  // Where a generation's output goes when it passes through relive (never blocking).
  using OutputSink = std::function<void(int fd, std::string_view data)>;

  // Starts `spec`. With `ready`, the wait is started for the new pid; with `sink` and no
  // stdout/stderr of the caller's own in `spec` (--burst), its output is piped through
  // an OutputTail into `sink`. Fails (nothing running) if the program cannot be started.
  static Result<std::unique_ptr<Generation>> start(ChildSpec spec, std::unique_ptr<ReadinessWait> ready = nullptr,
                                                   OutputSink sink = nullptr);

  std::unique_ptr<Child> child;
  std::unique_ptr<ReadinessWait> ready;  // until it is ready (or failed)
  std::unique_ptr<OutputTail> tail;      // until Overlap forwards it on its own (the handover)
  // Its exit was dealt with (reported, or it was stopped and the Stop event says so).
  bool exit_handled = false;
  // A place for what else belongs to one start (e.g. the write end of its stdin pipe).

  pid_t pid() const { return child->pid(); }
  // Still running, as far as the loop knows (no status read yet).
  bool running() const { return !child->status(); }
};

}  // namespace relive::supervisor
