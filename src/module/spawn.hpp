// Internal: running a child with posix_spawn (never fork(): the host may be multithreaded
// and large; posix_spawn's vfork-style clone costs the same whatever its memory size),
// capturing its output, under a deadline.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "relive/error.hpp"

namespace relive::module::detail {

struct SpawnOptions {
  std::filesystem::path cwd;                  // empty: inherit
  int stdin_fd = -1;                          // -1: /dev/null
  bool channel = false;                       // give the child a pipe on fd 3 (read into `channel`)
  std::chrono::milliseconds timeout{0};       // 0: none; on expiry the child gets SIGKILL
  std::size_t output_limit = 16 * 1024;       // keep the last this-many bytes of stdout+stderr
};

struct SpawnOutcome {
  int wait_status = 0;     // as from waitpid
  bool timed_out = false;  // killed at the deadline
  std::string output;      // stdout and stderr interleaved (the tail)
  std::string channel;     // what the child wrote on fd 3
  double elapsed_us = 0;
};

// Spawns argv[0] (a path, not searched) with argv; fds above 3 are closed in the child.
// Fails only if the child could not be started.
Result<SpawnOutcome> spawn_and_wait(const std::vector<std::string>& argv, const SpawnOptions& options);

// "exited with status 2", "killed by SIGSEGV (Segmentation fault)".
std::string describe_wait_status(int wait_status);

// The last `n` non-empty lines of `text`, joined with " | ".
std::string last_lines(const std::string& text, int n);

}  // namespace relive::module::detail
