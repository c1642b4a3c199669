// relive/listen_fds.hpp — for C++ servers run under `relive --socket ...`: take the
// listening sockets relive hands over, and tell relive when you are ready.
//
// relive (like systemd) binds the listening sockets once and passes them to each new
// server process at fds 3, 4, ... with LISTEN_FDS, LISTEN_PID and LISTEN_FDNAMES in the
// environment. A server that accepts on them never refuses a connection across restarts:
// while it restarts, connections wait in the kernel's backlog. With `--graceful`, relive
// starts the new server while the old one still serves and stops the old one only after
// the new one calls notify_ready().
//
// Header-only, no dependencies beyond libc; works the same under systemd.
//
// Example:
//   auto fds = relive::take_listen_fds();              // [] when not socket-activated
//   int listen_fd = fds.empty() ? bind_my_own_port(8080) : fds[0].fd;
//   start_accepting(listen_fd);
//   relive::notify_ready();                             // no-op without NOTIFY_SOCKET
//
// Caveat when stopping: the socket is shared with relive and with the next server.
// Close your fd, never shutdown(2) it: shutdown acts on the shared socket and would stop
// the next server from accepting too.
#pragma once

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace relive {

// One inherited socket: its fd (3, 4, ...) and its name from LISTEN_FDNAMES ("" when
// the list is absent or shorter; relive names them e.g. "tcp-8080" or as `NAME=spec`).
struct ListenFd {
  int fd = -1;
  std::string name;
};

// The sockets passed to this process, in order; empty unless LISTEN_PID is this very
// process (the variables may have leaked from a parent that meant them for someone else).
// Guarantees: the LISTEN_FDS, LISTEN_PID and LISTEN_FDNAMES variables are removed from
// the environment (so programs this server starts do not take them), and each returned
// fd is close-on-exec (so they do not inherit the socket). Call once, at startup, before
// starting threads (it calls unsetenv). Never fails: malformed variables yield [].
inline std::vector<ListenFd> take_listen_fds() {
  std::vector<ListenFd> result;
  const char* pid_text = std::getenv("LISTEN_PID");
  const char* count_text = std::getenv("LISTEN_FDS");
  const char* names_text = std::getenv("LISTEN_FDNAMES");
  std::string names = names_text ? names_text : "";
  bool for_us = false;
  long count = 0;
  if (pid_text && count_text) {
    char* end = nullptr;
    errno = 0;
    long pid = std::strtol(pid_text, &end, 10);
    for_us = errno == 0 && end != pid_text && *end == '\0' && pid == static_cast<long>(getpid());
    count = std::strtol(count_text, &end, 10);
    if (end == count_text || *end != '\0' || count < 0 || count > 1024) for_us = false;
  }
  unsetenv("LISTEN_PID");
  unsetenv("LISTEN_FDS");
  unsetenv("LISTEN_FDNAMES");
  if (!for_us) return result;
  size_t start = 0;
  for (long i = 0; i < count; ++i) {
    ListenFd entry;
    entry.fd = 3 + static_cast<int>(i);
    if (start <= names.size()) {
      size_t colon = names.find(':', start);
      entry.name = names.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
      start = colon == std::string::npos ? names.size() + 1 : colon + 1;
    }
    int flags = fcntl(entry.fd, F_GETFD);
    if (flags < 0) continue;  // not actually open: skip rather than hand out a dead fd
    fcntl(entry.fd, F_SETFD, flags | FD_CLOEXEC);
    result.push_back(std::move(entry));
  }
  return result;
}

// Sends `state` (sd_notify(3) format: "READY=1", "STATUS=warming up", lines joined by
// '\n') to $NOTIFY_SOCKET. A leading '@' means the abstract namespace. Returns true if
// sent, false if NOTIFY_SOCKET is unset or the send failed (a server should carry on
// either way). Thread-safe; does not block on a full queue (MSG_DONTWAIT).
inline bool notify(std::string_view state) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (!path || !*path) return false;
  size_t len = std::strlen(path);
  if ((path[0] != '/' && path[0] != '@') || len >= sizeof(sockaddr_un::sun_path)) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path, len);
  if (path[0] == '@') addr.sun_path[0] = '\0';
  auto addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len + (path[0] == '@' ? 0 : 1));
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  ssize_t sent = sendto(fd, state.data(), state.size(), MSG_NOSIGNAL | MSG_DONTWAIT,
                        reinterpret_cast<sockaddr*>(&addr), addr_len);
  close(fd);
  return sent == static_cast<ssize_t>(state.size());
}

// notify("READY=1"): call once the server accepts connections (after listen() or after
// taking the inherited sockets and starting the accept loop).
inline bool notify_ready() { return notify("READY=1"); }

}  // namespace relive
