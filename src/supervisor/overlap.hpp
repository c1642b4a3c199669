// Internal: --graceful's overlapped restart — the new generation started beside the one
// serving, until it is ready or has failed (internal to the supervisor part).
//
// Why a piece of its own: a graceful restart must not drop a request, so the old program
// keeps serving on the shared sockets until the new one is ready (readiness.hpp), and a
// new one that fails leaves the old one as it was. Between the start and that verdict
// there is a state of its own — the new generation, its readiness wait, its output (which
// passes through relive, OutputTail, so that a failure can point at its last lines) — and
// Overlap holds it and says what happens (StartedBeside, Ready, RestartFailed). What
// follows the verdict is the Supervisor's: a ready generation becomes `current` and the
// old one is stopped; a failed one is stopped and the old one keeps serving.
//
// The output of a generation started this way is forwarded until its pipes reach
// end-of-file, also after the handover (while it serves, or while it is being stopped).
//
// Example (the Supervisor's loop):
//   Overlap overlap(loop, {kNextPidfd, kReady, kTapBase}, {ready_spec, timeout, command}, hooks);
//   settle(overlap.start(current->pid(), make_spec, started));
//   // the loop reported kReady:       settle(overlap.check_ready());
//   // SIGCHLD:                         settle(overlap.check_exit());
//   // kTapBase + fd:                   overlap.on_output(fd);
//
// Single-threaded (the run() thread).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "event_loop.hpp"
#include "generation.hpp"
#include "output_tail.hpp"
#include "readiness.hpp"
#include "relive/supervisor.hpp"

namespace relive::supervisor {

class Overlap {
 public:
  // The tags of the fds Overlap adds to the loop: the new generation's pidfd, its
  // readiness wait, and `output_base + fd` for each output pipe.
  struct Tags {
    uint64_t pidfd;
    uint64_t ready;
    uint64_t output_base;
  };
  struct Options {
    ReadySpec ready;
    std::chrono::milliseconds ready_timeout;
    std::string command_text;  // for the Start event
  };
  struct Hooks {
    std::function<void(const Status&)> say;
    std::function<void(const Event&)> emit;
    Generation::OutputSink output;  // where the output goes (never blocking)
  };
  // The wait is over: the generation goes back to the Supervisor, to serve (`ready`) or
  // to be stopped.
  struct Outcome {
    bool ready;
    std::unique_ptr<Generation> generation;
  };
  // Makes the child's spec: `ready_env` ("NOTIFY_SOCKET=…") is to be added to it.
  using SpecMaker = std::function<ChildSpec(std::vector<std::string> ready_env)>;

  Overlap(EventLoop& loop, Tags tags, Options options, Hooks hooks);

  // Starts the new generation beside `serving`. `make_spec` is not called when the
  // readiness wait cannot be created; `started(pid)` is called right after the start (0:
  // it failed). A failure is said and leaves nothing under way. Returns the Outcome when
  // the wait is over at once (delay:0).
  std::optional<Outcome> start(pid_t serving, const SpecMaker& make_spec, const std::function<void(pid_t)>& started);
  // A new generation is on its way (started, neither ready nor failed yet).
  bool active() const { return next_ != nullptr; }
  // That generation, or null.
  Generation* generation() const { return next_.get(); }

  // After Tags::ready: the wait's progress; the Outcome once it is ready or failed.
  std::optional<Outcome> check_ready();
  // After SIGCHLD: a (failed) Outcome if the new generation exited before it was ready.
  std::optional<Outcome> check_exit();
  // relive is exiting: the new generation is forgotten (the final stop takes every
  // process); its output keeps being forwarded until then.
  void drop();

  // Tags::output_base + `fd` is readable.
  void on_output(int fd);
  // relive's terminal was resized: the pseudo-terminals take its new size.
  void copy_window_size();
  // Before relive exits: forwards what is left in the pipes.
  void drain();

 private:
  Outcome promote();
  Outcome abandon(const std::string& reason);
  void end_readiness_wait();
  void keep_forwarding();

  EventLoop& loop_;
  Tags tags_;
  Options opt_;
  Hooks hooks_;
  pid_t serving_ = 0;               // the generation serving while next_ starts
  std::unique_ptr<Generation> next_;
  std::vector<std::unique_ptr<OutputTail>> forwarded_;  // output of generations handed back
};

}  // namespace relive::supervisor
