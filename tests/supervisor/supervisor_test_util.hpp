// Helpers for the supervisor tests: driving a TreeStop, checking that pids are gone.
#pragma once

#include <poll.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "relive/supervisor.hpp"
#include "test_support.hpp"

namespace relive::test {

// Whether /proc still lists the pid at all (running or zombie).
inline bool in_proc_table(pid_t pid) { return std::filesystem::exists("/proc/" + std::to_string(pid)); }

// Runs a TreeStop's loop the way the supervisor does: wait on its fds, call poll().
inline bool drive(supervisor::TreeStop& stop, std::chrono::milliseconds timeout = 10s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!stop.poll()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::vector<pollfd> fds;
    for (int fd : stop.fds()) fds.push_back({fd, POLLIN, 0});
    fds.push_back({stop.timeout_fd(), POLLIN, 0});
    ::poll(fds.data(), fds.size(), 100);
  }
  return true;
}

// Reads a pid written by a test script, waiting for the file to be complete.
inline pid_t read_pid_file(const std::filesystem::path& path) {
  pid_t pid = 0;
  eventually([&] {
    auto text = read_file(path);
    if (text.empty() || text.back() != '\n') return false;
    pid = static_cast<pid_t>(std::stol(text));
    return pid > 0;
  }, 10s);
  return pid;
}

}  // namespace relive::test
