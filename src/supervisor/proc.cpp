#include "proc.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace relive::supervisor::proc {

std::optional<Stat> read_stat(pid_t pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buf[1024];
  ssize_t n;
  do {
    n = read(fd, buf, sizeof buf - 1);
  } while (n < 0 && errno == EINTR);
  close(fd);
  if (n <= 0) return std::nullopt;
  buf[n] = '\0';
  // "pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime
  //  stime cutime cstime priority nice num_threads itrealvalue starttime ..."; comm may hold
  // spaces and parentheses, so parse from the last ')'.
  char* close_paren = std::strrchr(buf, ')');
  if (!close_paren || close_paren[1] == '\0') return std::nullopt;
  Stat s;
  s.pid = pid;
  char* p = close_paren + 2;
  s.state = *p;
  p += 1;
  // Fields after state: ppid(4) pgrp(5) session(6) ... starttime(22).
  unsigned long long fields[20] = {};
  for (int i = 4; i <= 22; ++i) {
    char* end;
    fields[i - 4] = std::strtoull(p, &end, 10);
    if (end == p) {
      // Negative numbers (tty_nr, tpgid can be -1): strtoull accepts '-' so only a truly
      // empty field ends here.
      return std::nullopt;
    }
    p = end;
  }
  s.ppid = static_cast<pid_t>(fields[0]);
  s.pgid = static_cast<pid_t>(fields[1]);
  s.sid = static_cast<pid_t>(fields[2]);
  s.start_ticks = fields[22 - 4];
  return s;
}

std::vector<Stat> list_all() {
  std::vector<Stat> out;
  DIR* dir = opendir("/proc");
  if (!dir) return out;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    pid_t pid = static_cast<pid_t>(std::strtol(e->d_name, nullptr, 10));
    if (auto s = read_stat(pid)) out.push_back(*s);
  }
  closedir(dir);
  return out;
}

int pidfd_open(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

bool pidfd_readable(int pidfd) {
  if (pidfd < 0) return true;
  pollfd p{pidfd, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLHUP)) != 0;
}

bool pidfd_signal(int pidfd, int sig) {
  return syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0) == 0;
}

namespace {
std::optional<ExitStatus> wait_pidfd(int pidfd, pid_t pid, int flags) {
  siginfo_t info{};
  if (waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info, WEXITED | WNOHANG | flags) != 0 ||
      info.si_pid != pid) {
    return std::nullopt;  // still running (si_pid stays 0), or not ours to reap
  }
  ExitStatus status;
  if (info.si_code == CLD_EXITED) {
    status.code = info.si_status;
  } else {  // CLD_KILLED or CLD_DUMPED: si_status is the signal
    status.signal = info.si_status;
    status.core = info.si_code == CLD_DUMPED;
  }
  return status;
}
}  // namespace

std::optional<ExitStatus> reap_pidfd(int pidfd, pid_t pid) { return wait_pidfd(pidfd, pid, 0); }

std::optional<ExitStatus> peek_pidfd(int pidfd, pid_t pid) { return wait_pidfd(pidfd, pid, WNOWAIT); }

int take_stop_signal(int pidfd) {
  siginfo_t info{};
  if (waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info, WSTOPPED | WNOHANG) != 0) return 0;
  return info.si_pid != 0 && info.si_code == CLD_STOPPED ? info.si_status : 0;
}

std::vector<pid_t> list_children() {
  std::vector<pid_t> out;
  const pid_t self = getpid();
  DIR* dir = opendir("/proc/self/task");
  bool found = false;
  if (dir) {
    while (dirent* e = readdir(dir)) {
      if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
      std::string path = std::string("/proc/self/task/") + e->d_name + "/children";
      FILE* f = std::fopen(path.c_str(), "re");
      if (!f) continue;
      found = true;
      long pid;
      while (std::fscanf(f, "%ld", &pid) == 1) out.push_back(static_cast<pid_t>(pid));
      std::fclose(f);
    }
    closedir(dir);
  }
  if (!found) {  // a kernel without CONFIG_PROC_CHILDREN
    for (const auto& s : list_all())
      if (s.ppid == self) out.push_back(s.pid);
  }
  return out;
}

}  // namespace relive::supervisor::proc
