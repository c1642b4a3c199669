// Helpers shared by every relive test: a temp directory per test, file writes, waiting for
// a condition (never a bare sleep), and a child process with captured output.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "captured_output.hpp"

namespace relive::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
// The path is canonical (no symlinks), so paths reported by watchers compare equal.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  fs::path operator/(std::string_view rel) const { return path_ / rel; }

 private:
  fs::path path_;
};

// Writes `content` to `path` (creating parent directories), truncating any old content.
void write_file(const fs::path& path, std::string_view content);
std::string read_file(const fs::path& path);

// Polls `done` every few milliseconds until it returns true or `timeout` passes.
// Returns the last value of `done()`. For conditions with no fd to wait on.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout = 5s);

// A child process started with argv (no shell), stdout and stderr captured together into a
// buffer that a background reader fills. The destructor kills the process group and reaps.
class Process {
 public:
  struct Options {
    fs::path cwd;                             // empty: inherit
    std::vector<std::string> env;             // extra "NAME=value" entries
    bool new_session = true;                  // setsid(): own group, no terminal
    bool stdin_pipe = false;                  // give it a pipe for stdin (write_stdin)
  };
  Process(std::vector<std::string> argv, Options options);
  explicit Process(std::vector<std::string> argv) : Process(std::move(argv), Options{}) {}
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  // Everything the process printed so far (stdout and stderr interleaved).
  std::string output() const;
  // Waits until output() contains `needle` (counting from byte `from`); false on timeout.
  bool wait_for_output(std::string_view needle, std::chrono::milliseconds timeout = 10s,
                       size_t from = 0) const;
  // Number of non-overlapping occurrences of `needle` in output().
  size_t count(std::string_view needle) const;
  void write_stdin(std::string_view data);
  void close_stdin();
  void signal(int sig) const;  // to the process only
  // Waits for exit (and for its output to be read to the end, at most 2 s more); returns
  // the exit status as a shell reports it (128+N for signal N),
  // or -1 on timeout (the process is left running).
  int wait(std::chrono::milliseconds timeout = 10s);
  bool running();

 private:
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int status_ = -1;
  bool reaped_ = false;
  std::unique_ptr<CapturedOutput> output_;  // stdout and stderr
};

// Path of the built `relive` command (RELIVE_BIN, set by CTest), or "" if unknown.
std::string relive_bin();
// The repository's source directory (RELIVE_SOURCE_DIR, set by CTest).
fs::path source_dir();

// Whether a process with this pid still exists (and is not a zombie).
bool process_alive(pid_t pid);

// The lines of a file that end in a newline (a last line still being written is left out,
// so a test polling a log never sees half a line). Missing file: no lines.
std::vector<std::string> read_complete_lines(const fs::path& path);

// argv as the null-terminated array execv*() takes, pointing into `argv` (which must
// outlive it and not change). Build it before fork: the child must not allocate.
std::vector<char*> exec_argv(std::vector<std::string>& argv);

// A TCP socket (close-on-exec) bound to 127.0.0.1 on a port the kernel picked, not yet
// listening (connections are refused until listen()). Stores the port in `*port` and
// returns the fd, which the caller closes; -1 if socket() or bind() failed.
// `reuse_address` sets SO_REUSEADDR before binding.
int bind_loopback_tcp(uint16_t* port, bool reuse_address = false);

// A TCP connection (close-on-exec) to 127.0.0.1:`port`; with `io_timeout` > 0, sends and
// receives give up after it (SO_SNDTIMEO/SO_RCVTIMEO). -1 if it could not connect, with
// errno saying why.
int connect_loopback_tcp(uint16_t port, std::chrono::seconds io_timeout = std::chrono::seconds(0));

// A loopback TCP port that was free a moment ago (bound, read, closed again): for a server
// the test starts. Another process could take it in between; on loopback that is rare.
// 0 if no socket could be bound.
uint16_t free_loopback_port();

}  // namespace relive::test
