// sockets.hpp — listening sockets that relive binds once and hands to every child with
// systemd's socket-activation protocol (internal to the supervisor part).
//
// Why: a restart must not refuse connections. relive binds each `--socket` once, keeps it
// open for its whole life, and passes the same socket to each new child. While no child
// is accepting, connections wait in the kernel's backlog and the next child serves them.
//
// The protocol (sd_listen_fds(3)): the child finds the sockets at fds 3, 4, ... in the
// order of the specs, with LISTEN_FDS=<count>, LISTEN_PID=<its own pid> and
// LISTEN_FDNAMES=<name>:<name>... in its environment.
//
// Example:
//   auto spec = parse_socket_spec("tcp:0.0.0.0:8080");        // or "8080", "unix:/run/a.sock"
//   if (!spec) { fmt::print(stderr, "relive: {}\n", spec.error().message); return 2; }
//   auto sockets = ListenSockets::bind({*spec});               // once, for relive's life
//   ChildHandoff handoff(&*sockets, current_environment(), {"NOTIFY_SOCKET=@relive/1"});
//   pid_t pid = fork();
//   if (pid == 0) {
//     /* set up stdin/stdout/stderr first */
//     if (handoff.apply_in_child() != 0) _exit(126);
//     execve(path, argv, handoff.envp());
//     _exit(127);
//   }
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "relive/error.hpp"
#include "relive/supervisor.hpp"

namespace relive::supervisor {

enum class SocketKind { Tcp, Udp, Unix };

// One parsed `--socket [NAME=][tcp:|udp:|unix:]ADDR`.
struct SocketSpec {
  SocketKind kind = SocketKind::Tcp;
  std::string host;       // tcp/udp: a numeric IPv4 or IPv6 address, without brackets
  uint16_t port = 0;      // tcp/udp: 0 picks a free port (handy in tests)
  std::string path;       // unix: a filesystem path, or "@name" for the abstract namespace
  std::string name;       // its LISTEN_FDNAMES entry: given NAME, or e.g. "tcp-8080"
  std::string text;       // the spec as the user wrote it (for messages)
};

// Parses one spec. Accepted forms:
//   8080                   tcp on 127.0.0.1:8080 (loopback: safe default for development)
//   tcp:8080, udp:5353     the same address, explicit protocol
//   tcp:0.0.0.0:80         tcp:[::1]:8080   udp:127.0.0.1:5353   (also without "tcp:")
//   unix:/run/app.sock     unix:@abstract-name
//   http=tcp:8080          NAME= prefix sets the LISTEN_FDNAMES entry
// Hosts must be numeric addresses or "localhost" (= 127.0.0.1), so that what is bound
// never depends on name resolution. Pure function, any thread. On failure the Error
// names the spec and the reason, e.g. `--socket tcp:80800: port must be 0..65535`.
Result<SocketSpec> parse_socket_spec(std::string_view spec);

// The bound sockets, in spec order. Each fd is close-on-exec in relive (so no other
// process inherits it by accident); only ChildHandoff passes them on. Not copyable;
// closing happens on destruction (a unix socket's file is then removed).
class ListenSockets {
 public:
  // Binds and (for stream sockets) listens on every spec: SO_REUSEADDR, backlog
  // SOMAXCONN. A unix path holding a stale socket (nobody accepting) is replaced; a live
  // one, or a path that is not a socket, is an error. On failure nothing stays bound and
  // the Error names the spec: `--socket tcp:127.0.0.1:80: bind: Permission denied`.
  static Result<ListenSockets> bind(const std::vector<SocketSpec>& specs);

  ListenSockets() = default;
  ListenSockets(ListenSockets&& other) noexcept;
  ListenSockets& operator=(ListenSockets&& other) noexcept;
  ListenSockets(const ListenSockets&) = delete;
  ListenSockets& operator=(const ListenSockets&) = delete;
  ~ListenSockets();

  size_t size() const { return fds_.size(); }
  bool empty() const { return fds_.empty(); }
  const std::vector<int>& fds() const { return fds_; }
  const std::vector<SocketSpec>& specs() const { return specs_; }
  // The port actually bound for socket i (resolves port 0); 0 for unix sockets.
  uint16_t bound_port(size_t i) const;
  // "LISTEN_FDNAMES" value: the names joined with ':'.
  std::string fd_names() const;
  // For a ChildSpec (relive/supervisor.hpp) instead of a ChildHandoff: {"LISTEN_FDS=n",
  // "LISTEN_FDNAMES=..."}; the caller passes fds() as pass_fds and sets set_listen_pid.
  // Empty when there are no sockets.
  std::vector<std::string> child_env() const;
  // Gives a generation's spec the sockets (pass_fds, child_env(), set_listen_pid: LISTEN_PID
  // is filled in by Child::start) and unsets every protocol variable relive inherited —
  // with no sockets too when `unset_protocol` (--graceful: NOTIFY_SOCKET is relive's).
  void hand_to(ChildSpec& spec, bool unset_protocol) const;

 private:
  void close_all() noexcept;
  std::vector<int> fds_;
  std::vector<SocketSpec> specs_;
  std::vector<std::string> unlink_on_close_;
};

// Parses each `--socket` text (parse_socket_spec) and binds them all; none: no sockets.
Result<ListenSockets> bind_sockets(const std::vector<std::string>& texts);

// The variables of the protocols relive speaks to its children (LISTEN_FDS, LISTEN_PID,
// LISTEN_FDNAMES, NOTIFY_SOCKET): never passed on from relive's own environment, where
// they were meant for relive.
const std::vector<std::string>& protocol_variables();

// relive's own environment as "NAME=value" strings (from environ).
std::vector<std::string> current_environment();

// Everything a child needs from the protocol, prepared before fork so that the child
// side does no allocation: an envp array (base environment without any inherited
// LISTEN_FDS / LISTEN_PID / LISTEN_FDNAMES / NOTIFY_SOCKET, plus `extra`, plus
// LISTEN_FDS/LISTEN_FDNAMES and a LISTEN_PID slot when there are sockets) and the fds.
// Build one per child start; it is single-use state for exactly one fork. It is the one
// place fds are handed to a child: Child::start uses it for ChildSpec::pass_fds too.
class ChildHandoff {
 public:
  // `sockets` may be null or empty (no socket handoff: no LISTEN_* variables at all).
  // `extra` entries ("NAME=value") replace base entries of the same name. The sockets
  // must outlive this object. Throws only std::bad_alloc.
  ChildHandoff(const ListenSockets* sockets, std::vector<std::string> base_env,
               std::vector<std::string> extra = {});
  // The general form, behind the one above and behind Child::start (for a ChildSpec):
  // `base_env` without the variables named in `unset`, those `extra` sets and, with
  // `set_listen_pid`, LISTEN_PID; then `extra`; then a LISTEN_PID slot if `set_listen_pid`.
  // `fds` go to 3, 4, ... in the child. Throws only std::bad_alloc.
  ChildHandoff(std::vector<std::string> base_env, const std::vector<std::string>& unset,
               std::vector<std::string> extra, std::vector<int> fds, bool set_listen_pid);
  ChildHandoff(const ChildHandoff&) = delete;
  ChildHandoff& operator=(const ChildHandoff&) = delete;

  // The environment to pass to execve. Valid while this object lives.
  char* const* envp() const { return envp_.data(); }

  // In the child, between fork and exec, after stdio is set up: moves the sockets (fds)
  // to fds 3, 4, ... (clearing close-on-exec on exactly those) and writes the child's pid
  // into LISTEN_PID. Async-signal-safe (fcntl, dup2, getpid; no allocation). Whatever
  // occupied fds 3..3+n-1 in the child is replaced. Returns 0, or the errno of the call
  // that failed (the caller should _exit). Call it in the forked child only: it writes
  // into this object's (then private) memory.
  int apply_in_child() const noexcept;

 private:
  std::vector<std::string> entries_;
  std::vector<char*> envp_;
  std::vector<int> fds_;
  mutable std::vector<int> moved_;     // scratch for apply_in_child, sized before fork
  char* listen_pid_digits_ = nullptr;  // points into entries_, after "LISTEN_PID="
};

}  // namespace relive::supervisor
