// terminal_writer.hpp — relive's own output (status lines, forwarded child output) written
// without ever blocking the event loop (internal to the supervisor part).
//
// Why: a stopped pager (`relive ... | less`, then Ctrl-Z in less) or a full pipe makes a
// write(2) block; done from the event loop, that freezes signal handling, so Ctrl-C no
// longer stops anything. Here the loop only queues; one thread of its own does the
// blocking writes, in order. Past `max_queued` bytes, output is dropped (counted; a line
// saying how much follows once the terminal drains) rather than blocking or growing
// without bound.
//
// Example:
//   TerminalWriter out;
//   out.write(2, "relive: app.py changed, restarting\n");   // returns at once
//   out.flush(std::chrono::seconds(2));                      // at exit: bounded wait
//
// Thread use: write() and flush() from any thread. The writer thread blocks every signal.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string_view>

namespace relive::supervisor {

class TerminalWriter {
 public:
  static constexpr size_t kDefaultMaxQueued = 4 << 20;
  explicit TerminalWriter(size_t max_queued = kDefaultMaxQueued);
  // Waits for the queue to drain (at most 2 s); a writer stuck on a stalled terminal is
  // left behind (detached), never waited for.
  ~TerminalWriter();
  TerminalWriter(const TerminalWriter&) = delete;
  TerminalWriter& operator=(const TerminalWriter&) = delete;

  // Queues `data` for `fd` (1 or 2, or any fd that stays open). Never blocks. Starts the
  // writer thread on first use (after the caller blocked its signals, which it inherits).
  void write(int fd, std::string_view data);
  // Waits until everything queued was written, or `timeout`; true if it was.
  bool flush(std::chrono::milliseconds timeout);
  // Bytes dropped so far because the queue was full.
  size_t dropped() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace relive::supervisor
