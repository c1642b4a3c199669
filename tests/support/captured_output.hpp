// What a child writes to a pipe or a terminal, collected by a reader thread so a test can
// wait for a line instead of sleeping: Process (test_support.hpp) and TerminalSession
// (tests/e2e) each read their child's output through one.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace relive::test {

class CapturedOutput {
 public:
  // What happens to the fd once it reads end-of-file (or an error, such as EIO on a
  // terminal whose processes are all gone).
  enum class AtEnd {
    close,  // the reader closes it (a pipe nothing else uses)
    keep,   // the owner closes it after finish() returned true (a terminal it writes to)
  };
  // Starts the reader thread on `fd`.
  CapturedOutput(int fd, AtEnd at_end);
  // finish(2 s) if not done yet.
  ~CapturedOutput();
  CapturedOutput(const CapturedOutput&) = delete;
  CapturedOutput& operator=(const CapturedOutput&) = delete;

  // Everything read so far.
  std::string text() const;
  // Waits until text() contains `needle` after byte `from`; false on timeout.
  bool wait_for(std::string_view needle, std::chrono::milliseconds timeout, size_t from = 0) const;
  // Number of non-overlapping occurrences of `needle` in text().
  size_t count(std::string_view needle) const;
  // Waits at most `timeout` for end-of-file; whether it came.
  bool wait_for_end(std::chrono::milliseconds timeout) const;
  // Waits at most `timeout` for end-of-file, then joins the reader (true) or, if a leaked
  // process still holds the fd open, detaches it (false; the test reports the leak).
  // Idempotent: later calls return the first result.
  bool finish(std::chrono::milliseconds timeout);

 private:
  struct Shared;
  std::shared_ptr<Shared> shared_;  // shared with the reader, which may outlive us if detached
  bool finished_ = false;
  bool ended_ = false;
};

}  // namespace relive::test
