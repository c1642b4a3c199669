// output_tail.hpp — pass a child's output through while remembering its last lines
// (internal to the supervisor part).
//
// Why: when an overlapped restart fails (the new child exits or is never ready), relive
// keeps the old child and prints why — with the new child's last lines of output, which
// usually name the cause ("address in use", a stack trace). So the new child's stdout and
// stderr go through pipes that relive reads, forwards unchanged to its own stdout/stderr,
// and keeps a bounded tail of. Where relive's stdout or stderr is a terminal, that
// stream's pipe is a pseudo-terminal instead (same window size, output byte for byte), so
// the program keeps its colours and line buffering as when it writes to the terminal.
//
// Example:
//   auto tail = OutputTail::create(20);
//   spec.stdout_fd = (*tail)->child_stdout(); spec.stderr_fd = (*tail)->child_stderr();
//   Child::start(spec); (*tail)->close_child_ends();
//   // loop: when one of (*tail)->fds() is readable: (*tail)->on_readable(fd);
//   print((*tail)->last_lines());
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <string_view>
#include <string>
#include <vector>

#include "relive/error.hpp"

namespace relive::supervisor {

class OutputTail {
 public:
  // Two pipes (stdout, stderr; a pseudo-terminal for a forward fd that is a terminal).
  // relive's ends are non-blocking and close-on-exec. Keeps
  // at most `max_lines` lines (each cut at 500 bytes). Fails only if pipe2 fails.
  static Result<std::unique_ptr<OutputTail>> create(size_t max_lines = 20, int forward_stdout = 1,
                                                    int forward_stderr = 2);
  ~OutputTail();
  OutputTail(const OutputTail&) = delete;
  OutputTail& operator=(const OutputTail&) = delete;

  // Forward through `sink(fd, data)` instead of blocking writes to the forward fds (the
  // Supervisor's TerminalWriter: a stalled terminal must not block the event loop).
  void forward_through(std::function<void(int fd, std::string_view data)> sink) { sink_ = std::move(sink); }

  // The write ends, for the child's fd 1 and 2 (ChildSpec::stdout_fd/stderr_fd).
  int child_stdout() const { return write_fds_[0]; }
  int child_stderr() const { return write_fds_[1]; }
  // After the child started: closes relive's copies of the write ends, so the read ends
  // see EOF once the child's tree has exited.
  void close_child_ends();

  // The read ends still open (for the event loop).
  std::vector<int> fds() const;
  // Reads what is there, forwards it, updates the tail. Returns false once `fd` reached
  // EOF (it is then closed and no longer in fds(); remove it from the loop first).
  bool on_readable(int fd);
  // Reads everything still buffered in the pipes (non-blocking), e.g. right after the
  // child exited, so the tail is complete before it is printed.
  void drain();
  bool finished() const { return read_fds_[0] < 0 && read_fds_[1] < 0; }

  // relive's terminal was resized (SIGWINCH): the pseudo-terminals get its new size.
  void copy_window_size();

  // The remembered lines, oldest first (a last line without '\n' included).
  std::vector<std::string> last_lines() const;

 private:
  OutputTail() = default;
  void add(int stream, const char* data, size_t size);
  int read_fds_[2] = {-1, -1};
  int write_fds_[2] = {-1, -1};
  int forward_[2] = {1, 2};
  bool pty_[2] = {false, false};  // read_fds_[i] is a pseudo-terminal's master
  std::function<void(int, std::string_view)> sink_;
  size_t max_lines_ = 20;
  std::deque<std::string> lines_;
  std::string partial_[2];
};

}  // namespace relive::supervisor
