// Internal: reading the process table from /proc, and small pidfd helpers.
#pragma once

#include <sys/types.h>
#include <sys/wait.h>  // before the P_PIDFD fallback: glibc names it in an enum

#include <optional>
#include <vector>

#include "relive/supervisor.hpp"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace relive::supervisor::proc {

struct Stat {
  pid_t pid = 0;
  pid_t ppid = 0;
  pid_t pgid = 0;
  pid_t sid = 0;
  char state = '?';                 // 'R', 'S', 'Z', ...
  unsigned long long start_ticks = 0;  // field 22: start time in clock ticks since boot
};

// /proc/PID/stat, or nullopt when the process is gone.
std::optional<Stat> read_stat(pid_t pid);
// Every process visible in /proc (a snapshot; processes come and go while it is read).
std::vector<Stat> list_all();

// pidfd_open(pid) with CLOEXEC, or -1 (errno set).
int pidfd_open(pid_t pid);
// Whether the process behind the pidfd has exited (readable without blocking).
bool pidfd_readable(int pidfd);
// pidfd_send_signal; false if the process is gone.
bool pidfd_signal(int pidfd, int sig);
// Reaps the process behind `pidfd` (whose pid is `pid`) if it has exited (waitid P_PIDFD,
// WNOHANG) and returns how it ended: exit code, or terminating signal and whether it
// dumped core. nullopt while it runs (waitid then reports pid 0), when it is not our
// child, or when it was reaped already (by waitpid(-1), say). Any thread.
std::optional<ExitStatus> reap_pidfd(int pidfd, pid_t pid);
// Like reap_pidfd but leaves the zombie in place (WNOWAIT): the status is read, the pid
// stays taken, so neither it nor its process group id can be handed to a new process.
std::optional<ExitStatus> peek_pidfd(int pidfd, pid_t pid);
// If the child behind `pidfd` was stopped by a signal since the last call, that signal
// (the stop report is consumed: waitid WSTOPPED); else 0. Non-blocking.
int take_stop_signal(int pidfd);
// This process's children (running or zombie), from /proc/self/task/*/children, or from a
// walk of /proc where that file does not exist.
std::vector<pid_t> list_children();

}  // namespace relive::supervisor::proc
