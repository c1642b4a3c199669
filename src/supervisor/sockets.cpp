// Listening sockets handed to children with the LISTEN_FDS protocol (see sockets.hpp).
#include "sockets.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstring>

extern char** environ;

namespace relive::supervisor {
namespace {

Error spec_error(std::string_view spec, std::string_view reason) {
  return Error{"--socket " + std::string(spec) + ": " + std::string(reason)};
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A LISTEN_FDNAMES entry may not contain ':' (the separator) and should be printable.
bool valid_fd_name(std::string_view name) {
  if (name.empty() || name.size() > 255) return false;
  return std::all_of(name.begin(), name.end(),
                     [](unsigned char c) { return c > 32 && c < 127 && c != ':'; });
}

std::string default_name(const SocketSpec& s) {
  switch (s.kind) {
    case SocketKind::Tcp: return "tcp-" + std::to_string(s.port);
    case SocketKind::Udp: return "udp-" + std::to_string(s.port);
    case SocketKind::Unix: {
      std::string base = s.path.substr(s.path.find_last_of("/@") + 1);
      std::string name = "unix-";
      for (char c : base) name += (c > 32 && c < 127 && c != ':') ? c : '_';
      return name;
    }
  }
  return "socket";
}

// "HOST:PORT", "[V6]:PORT" or "PORT" (host defaults to loopback).
Result<void> parse_inet(std::string_view full, std::string_view addr, SocketSpec& out) {
  std::string_view host = "127.0.0.1";
  std::string_view port = addr;
  if (!addr.empty() && addr.front() == '[') {
    auto close = addr.find(']');
    if (close == std::string_view::npos) return spec_error(full, "missing ']' after IPv6 address");
    host = addr.substr(1, close - 1);
    if (close + 1 >= addr.size() || addr[close + 1] != ':')
      return spec_error(full, "expected :PORT after ]");
    port = addr.substr(close + 2);
  } else if (auto colon = addr.rfind(':'); colon != std::string_view::npos) {
    host = addr.substr(0, colon);
    port = addr.substr(colon + 1);
    if (host.find(':') != std::string_view::npos)
      return spec_error(full, "write IPv6 addresses in brackets, e.g. tcp:[::1]:8080");
  }
  if (port.empty()) return spec_error(full, "missing port");
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (!all_digits(port) || ec != std::errc() || end != port.data() + port.size() || value > 65535)
    return spec_error(full, "port must be a number 0..65535, got \"" + std::string(port) + "\"");
  if (host == "localhost") host = "127.0.0.1";
  in_addr v4{};
  in6_addr v6{};
  std::string h(host);
  if (inet_pton(AF_INET, h.c_str(), &v4) != 1 && inet_pton(AF_INET6, h.c_str(), &v6) != 1)
    return spec_error(full, "host \"" + h +
                                "\" is not a numeric address (use e.g. 127.0.0.1, 0.0.0.0, [::1] or [::])");
  out.host = h;
  out.port = static_cast<uint16_t>(value);
  return {};
}

// Fills a sockaddr for an inet spec; returns its length.
socklen_t inet_address(const SocketSpec& s, sockaddr_storage& storage) {
  std::memset(&storage, 0, sizeof storage);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
  if (inet_pton(AF_INET, s.host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(s.port);
    return sizeof(sockaddr_in);
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
  inet_pton(AF_INET6, s.host.c_str(), &v6->sin6_addr);  // validated by the parser
  v6->sin6_family = AF_INET6;
  v6->sin6_port = htons(s.port);
  return sizeof(sockaddr_in6);
}

socklen_t unix_address(const std::string& path, sockaddr_un& addr) {
  std::memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  if (path.front() == '@') addr.sun_path[0] = '\0';  // abstract namespace
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() +
                                (path.front() == '@' ? 0 : 1));
}

// A unix socket file left behind by a process that died: connecting is refused. Only
// such a file is removed; a live socket or any other kind of file is the user's.
Result<void> remove_stale_unix_socket(const SocketSpec& s) {
  struct stat st {};
  if (lstat(s.path.c_str(), &st) != 0) return {};  // nothing there
  if (!S_ISSOCK(st.st_mode))
    return spec_error(s.text, "\"" + s.path + "\" exists and is not a socket; not replacing it");
  int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (probe < 0) return spec_error(s.text, errno_message(errno, "socket"));
  sockaddr_un addr{};
  socklen_t len = unix_address(s.path, addr);
  int rc = connect(probe, reinterpret_cast<sockaddr*>(&addr), len);
  int err = errno;
  close(probe);
  if (rc == 0) return spec_error(s.text, "\"" + s.path + "\" is in use by another process");
  if (err != ECONNREFUSED) return spec_error(s.text, errno_message(err, "connect to existing " + s.path));
  if (unlink(s.path.c_str()) != 0 && errno != ENOENT)
    return spec_error(s.text, errno_message(errno, "unlink stale " + s.path));
  return {};
}

Result<int> bind_one(const SocketSpec& s) {
  int type = s.kind == SocketKind::Udp ? SOCK_DGRAM : SOCK_STREAM;
  sockaddr_storage storage{};
  socklen_t len = 0;
  int family = AF_UNIX;
  if (s.kind == SocketKind::Unix) {
    if (s.path.front() != '@') {
      auto removed = remove_stale_unix_socket(s);
      if (!removed) return removed.error();
    }
    len = unix_address(s.path, *reinterpret_cast<sockaddr_un*>(&storage));
  } else {
    len = inet_address(s, storage);
    family = storage.ss_family;
  }
  int fd = socket(family, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return spec_error(s.text, errno_message(errno, "socket"));
  int one = 1;
  if (s.kind != SocketKind::Unix && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) {
    int err = errno;
    close(fd);
    return spec_error(s.text, errno_message(err, "setsockopt SO_REUSEADDR"));
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&storage), len) != 0) {
    int err = errno;
    close(fd);
    return spec_error(s.text, errno_message(err, "bind"));
  }
  if (type == SOCK_STREAM && listen(fd, SOMAXCONN) != 0) {
    int err = errno;
    close(fd);
    return spec_error(s.text, errno_message(err, "listen"));
  }
  return fd;
}

constexpr std::string_view kProtocolVariables[] = {"LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES",
                                                   "NOTIFY_SOCKET"};

std::string_view variable_name(std::string_view entry) {
  return entry.substr(0, entry.find('='));
}

// `extra` followed by LISTEN_FDS and LISTEN_FDNAMES for the sockets (none without sockets).
std::vector<std::string> with_socket_variables(const ListenSockets* sockets, std::vector<std::string> extra) {
  if (sockets)
    for (auto& entry : sockets->child_env()) extra.push_back(std::move(entry));
  return extra;
}

}  // namespace

Result<SocketSpec> parse_socket_spec(std::string_view text) {
  SocketSpec out;
  out.text = std::string(text);
  std::string_view rest = text;
  if (rest.empty()) return spec_error(text, "empty socket spec");
  // NAME= prefix (a name never contains ':' or '/', an address may contain '=' only in
  // a unix path, which always follows "unix:").
  if (auto eq = rest.find('='); eq != std::string_view::npos && rest.substr(0, eq).find(':') == std::string_view::npos &&
                                rest.substr(0, eq).find('/') == std::string_view::npos) {
    out.name = std::string(rest.substr(0, eq));
    if (!valid_fd_name(out.name))
      return spec_error(text, "name \"" + out.name + "\" must be 1..255 printable characters without ':'");
    rest = rest.substr(eq + 1);
  }
  if (rest.starts_with("unix:")) {
    out.kind = SocketKind::Unix;
    out.path = std::string(rest.substr(5));
    if (out.path.empty() || out.path == "@") return spec_error(text, "missing unix socket path");
    if (out.path.size() >= sizeof(sockaddr_un::sun_path))
      return spec_error(text, "unix socket path is longer than " +
                                  std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes");
  } else {
    if (rest.starts_with("tcp:")) {
      rest = rest.substr(4);
    } else if (rest.starts_with("udp:")) {
      out.kind = SocketKind::Udp;
      rest = rest.substr(4);
    } else if (auto colon = rest.find(':'); colon != std::string_view::npos && colon > 0 && rest.front() != '[' &&
                                             rest.substr(0, colon).find('.') == std::string_view::npos &&
                                             !all_digits(rest.substr(0, colon)) && rest.substr(0, colon) != "localhost") {
      return spec_error(text, "unknown protocol \"" + std::string(rest.substr(0, colon)) +
                                  "\" (expected tcp:, udp: or unix:)");
    }
    auto parsed = parse_inet(text, rest, out);
    if (!parsed) return parsed.error();
  }
  if (out.name.empty()) out.name = default_name(out);
  return out;
}

Result<ListenSockets> ListenSockets::bind(const std::vector<SocketSpec>& specs) {
  ListenSockets result;
  for (const auto& spec : specs) {
    auto fd = bind_one(spec);
    if (!fd) return fd.error();  // `result` closes what was bound so far
    result.fds_.push_back(*fd);
    result.specs_.push_back(spec);
    if (spec.kind == SocketKind::Unix && spec.path.front() != '@') result.unlink_on_close_.push_back(spec.path);
  }
  return result;
}

ListenSockets::ListenSockets(ListenSockets&& other) noexcept
    : fds_(std::move(other.fds_)), specs_(std::move(other.specs_)),
      unlink_on_close_(std::move(other.unlink_on_close_)) {
  other.fds_.clear();
  other.unlink_on_close_.clear();
}

ListenSockets& ListenSockets::operator=(ListenSockets&& other) noexcept {
  if (this != &other) {
    close_all();
    fds_ = std::move(other.fds_);
    specs_ = std::move(other.specs_);
    unlink_on_close_ = std::move(other.unlink_on_close_);
    other.fds_.clear();
    other.unlink_on_close_.clear();
  }
  return *this;
}

ListenSockets::~ListenSockets() { close_all(); }

void ListenSockets::close_all() noexcept {
  for (int fd : fds_) close(fd);
  for (const auto& path : unlink_on_close_) unlink(path.c_str());
  fds_.clear();
  unlink_on_close_.clear();
}

uint16_t ListenSockets::bound_port(size_t i) const {
  if (i >= fds_.size() || specs_[i].kind == SocketKind::Unix) return 0;
  sockaddr_storage storage{};
  socklen_t len = sizeof storage;
  if (getsockname(fds_[i], reinterpret_cast<sockaddr*>(&storage), &len) != 0) return 0;
  if (storage.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
  return ntohs(reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port);
}

std::string ListenSockets::fd_names() const {
  std::string names;
  for (const auto& spec : specs_) {
    if (!names.empty()) names += ':';
    names += spec.name;
  }
  return names;
}

std::vector<std::string> ListenSockets::child_env() const {
  if (fds_.empty()) return {};
  return {"LISTEN_FDS=" + std::to_string(fds_.size()), "LISTEN_FDNAMES=" + fd_names()};
}

void ListenSockets::hand_to(ChildSpec& spec, bool unset_protocol) const {
  if (empty() && !unset_protocol) return;
  for (const auto& name : protocol_variables()) spec.unset_env.push_back(name);
  if (empty()) return;
  spec.pass_fds = fds_;
  spec.set_listen_pid = true;
  for (auto& e : child_env()) spec.env.push_back(std::move(e));
}

Result<ListenSockets> bind_sockets(const std::vector<std::string>& texts) {
  std::vector<SocketSpec> specs;
  for (const auto& text : texts) {
    auto spec = parse_socket_spec(text);
    if (!spec) return spec.error();
    specs.push_back(*spec);
  }
  if (specs.empty()) return ListenSockets{};
  return ListenSockets::bind(specs);
}

const std::vector<std::string>& protocol_variables() {
  static const std::vector<std::string> names(std::begin(kProtocolVariables), std::end(kProtocolVariables));
  return names;
}

std::vector<std::string> current_environment() {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) env.emplace_back(*e);
  return env;
}

ChildHandoff::ChildHandoff(const ListenSockets* sockets, std::vector<std::string> base_env,
                           std::vector<std::string> extra)
    : ChildHandoff(std::move(base_env), protocol_variables(), with_socket_variables(sockets, std::move(extra)),
                   sockets ? sockets->fds() : std::vector<int>{}, sockets && !sockets->empty()) {}

ChildHandoff::ChildHandoff(std::vector<std::string> base_env, const std::vector<std::string>& unset,
                           std::vector<std::string> extra, std::vector<int> fds, bool set_listen_pid)
    : fds_(std::move(fds)), moved_(fds_.size(), -1) {
  auto dropped = [&](std::string_view name) {
    if (set_listen_pid && name == "LISTEN_PID") return true;
    if (std::find(unset.begin(), unset.end(), name) != unset.end()) return true;
    return std::any_of(extra.begin(), extra.end(), [&](const std::string& e) { return variable_name(e) == name; });
  };
  for (auto& entry : base_env)
    if (!dropped(variable_name(entry))) entries_.push_back(std::move(entry));
  for (auto& entry : extra) entries_.push_back(std::move(entry));
  const size_t pid_index = entries_.size();
  // Room for any pid (at most 10 digits for pid_max <= 2^22, 20 to be safe); the digits
  // are written in the child, the only place its pid is known before exec.
  if (set_listen_pid) entries_.push_back("LISTEN_PID=" + std::string(20, '0'));
  // Pointers are taken only now: entries_ no longer grows, so they stay valid.
  for (auto& entry : entries_) envp_.push_back(entry.data());
  envp_.push_back(nullptr);
  if (set_listen_pid) listen_pid_digits_ = entries_[pid_index].data() + std::strlen("LISTEN_PID=");
}

int ChildHandoff::apply_in_child() const noexcept {
  const int n = static_cast<int>(fds_.size());
  // First move every fd above the target range: one may already sit at a target fd (dup2
  // onto itself would keep close-on-exec) or be overwritten by an earlier dup2. The
  // temporaries are close-on-exec and vanish at exec. moved_ was sized before fork.
  for (int i = 0; i < n; ++i) {
    moved_[static_cast<size_t>(i)] = fcntl(fds_[static_cast<size_t>(i)], F_DUPFD_CLOEXEC, 3 + n);
    if (moved_[static_cast<size_t>(i)] < 0) return errno;
  }
  for (int i = 0; i < n; ++i) {
    // dup2 leaves the new fd without FD_CLOEXEC: exactly these survive exec.
    if (dup2(moved_[static_cast<size_t>(i)], 3 + i) < 0) return errno;
  }
  if (listen_pid_digits_) {
    // LISTEN_PID: digits collected least significant first, then copied in order; no
    // allocation.
    char digits[24];
    int len = 0;
    for (pid_t pid = getpid(); pid > 0; pid /= 10) digits[len++] = static_cast<char>('0' + pid % 10);
    for (int i = 0; i < len; ++i) listen_pid_digits_[i] = digits[len - 1 - i];
    listen_pid_digits_[len] = '\0';
  }
  return 0;
}

}  // namespace relive::supervisor
