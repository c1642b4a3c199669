// The burst port (relive/burst_port.hpp): one epoll loop over the listening sockets, the
// stream connections, a signalfd and a stats timer, feeding one LineFilter.
//
//   Listener        one bound socket: a datagram receiver (unix dgram, UDP) or an acceptor
//                   (unix stream, TCP)
//   Connection      one accepted stream: its StreamFramer and its LineFilter::Source
//   Output          where the filter's lines go: stdout / a file (reopened on SIGHUP), or
//                   a forward to another syslog receiver
//   PortCounters    what the port itself drops (oversized, malformed, refused, ...), printed
//                   with the filter's counters in the stats line
// Fairness: every wakeup reads at most kReadBudget bytes (or kDatagramBudget datagrams)
// from one socket, so a flood from one sender cannot starve the others (epoll is
// level-triggered: what is left is read on the next round).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "port_framer.hpp"
#include "relive/burst_port.hpp"
#include "relive/error.hpp"
#include "relive/listen_fds.hpp"

namespace relive::burst {

namespace {

using port_internal::FrameSink;
using port_internal::StreamFramer;

constexpr size_t kReadBudget = 256 * 1024;
constexpr int kDatagramBudget = 256;

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

struct PortCounters {
  size_t records = 0;
  size_t oversized = 0;
  size_t malformed = 0;
  size_t binary = 0;
  size_t connections = 0;  // accepted so far
  size_t refused = 0;      // over max_connections
  size_t forward_dropped = 0;
};

// --- addresses ---------------------------------------------------------------------------

struct Endpoint {
  enum class Kind { unix_dgram, unix_stream, udp, tcp } kind;
  std::string path;  // unix
  sockaddr_in inet{};
  std::string text;
};

Result<Endpoint> parse_endpoint(const std::string& text, bool for_listen) {
  Endpoint e;
  e.text = text;
  auto inet = [&](std::string_view rest) -> Result<void> {
    const size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos) return Error{"'" + text + "': expected HOST:PORT"};
    std::string host(rest.substr(0, colon));
    std::string port(rest.substr(colon + 1));
    if (host == "localhost") host = "127.0.0.1";
    char* end = nullptr;
    const long n = std::strtol(port.c_str(), &end, 10);
    if (port.empty() || *end != '\0' || n < 0 || n > 65535 || (!for_listen && n == 0)) {
      return Error{"'" + text + "': bad port '" + port + "'"};
    }
    e.inet.sin_family = AF_INET;
    e.inet.sin_port = htons(static_cast<uint16_t>(n));
    if (inet_pton(AF_INET, host.c_str(), &e.inet.sin_addr) != 1) {
      return Error{"'" + text + "': '" + host + "' is not an IPv4 address (or localhost)"};
    }
    return {};
  };
  auto starts = [&](std::string_view p) { return text.starts_with(p); };
  if (starts("unix-stream:")) {
    e.kind = Endpoint::Kind::unix_stream;
    e.path = text.substr(12);
  } else if (starts("unix:")) {
    e.kind = Endpoint::Kind::unix_dgram;
    e.path = text.substr(5);
  } else if (starts("udp:")) {
    e.kind = Endpoint::Kind::udp;
    if (auto r = inet(std::string_view(text).substr(4)); !r) return r.error();
  } else if (starts("tcp:")) {
    e.kind = Endpoint::Kind::tcp;
    if (auto r = inet(std::string_view(text).substr(4)); !r) return r.error();
  } else {
    return Error{"'" + text + "': expected unix:PATH, unix-stream:PATH, udp:HOST:PORT or tcp:HOST:PORT"};
  }
  if ((e.kind == Endpoint::Kind::unix_dgram || e.kind == Endpoint::Kind::unix_stream) &&
      (e.path.empty() || e.path.size() >= sizeof(sockaddr_un::sun_path))) {
    return Error{"'" + text + "': the socket path must be 1 to 107 bytes"};
  }
  return e;
}

sockaddr_un unix_address(const std::string& path, socklen_t* len) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.data(), path.size());
  *len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  return a;
}

bool is_stream(Endpoint::Kind k) { return k == Endpoint::Kind::unix_stream || k == Endpoint::Kind::tcp; }

// Binds (and for streams listens on) `e`. A unix path with a socket on it already is
// replaced (a stale one from a previous run); anything else there is an error.
Result<int> bind_endpoint(const Endpoint& e) {
  const bool unix_socket = e.kind == Endpoint::Kind::unix_dgram || e.kind == Endpoint::Kind::unix_stream;
  const int type = is_stream(e.kind) ? SOCK_STREAM : SOCK_DGRAM;
  int fd = ::socket(unix_socket ? AF_UNIX : AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Error{errno_text("--listen " + e.text + ": socket")};
  int rc;
  if (unix_socket) {
    struct stat st {};
    if (::lstat(e.path.c_str(), &st) == 0) {
      if (!S_ISSOCK(st.st_mode)) {
        ::close(fd);
        return Error{"--listen " + e.text + ": " + e.path + " exists and is not a socket"};
      }
      ::unlink(e.path.c_str());
    }
    socklen_t len;
    sockaddr_un a = unix_address(e.path, &len);
    rc = ::bind(fd, reinterpret_cast<sockaddr*>(&a), len);
    if (rc == 0 && e.kind == Endpoint::Kind::unix_dgram) {
      int on = 1;
      ::setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on);  // the sender's pid names its buffer
      ::chmod(e.path.c_str(), 0666);  // like /dev/log: any local program may send
    } else if (rc == 0) {
      ::chmod(e.path.c_str(), 0666);
    }
  } else {
    int on = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    rc = ::bind(fd, reinterpret_cast<const sockaddr*>(&e.inet), sizeof e.inet);
  }
  if (rc != 0) {
    std::string message = errno_text("--listen " + e.text + ": bind");
    ::close(fd);
    return Error{message};
  }
  if (type == SOCK_DGRAM) {
    int size = 8 << 20;  // bursts from many senders queue in the kernel, not on the floor
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  }
  if (type == SOCK_STREAM && ::listen(fd, 1024) != 0) {
    std::string message = errno_text("--listen " + e.text + ": listen");
    ::close(fd);
    return Error{message};
  }
  return fd;
}

std::string inet_name(const char* kind, const sockaddr_in& a) {
  char host[INET_ADDRSTRLEN] = "?";
  ::inet_ntop(AF_INET, &a.sin_addr, host, sizeof host);
  return std::string("<") + kind + " " + host + ":" + std::to_string(ntohs(a.sin_port)) + ">";
}

// --- output ------------------------------------------------------------------------------

class Output {
 public:
  virtual ~Output() = default;
  virtual void write(std::string_view lines) = 0;
  virtual void flush() {}
  virtual void reopen() {}
};

// stdout or a file, written in large blocks after each round of the loop.
class FileOutput final : public Output {
 public:
  static Result<std::unique_ptr<FileOutput>> open(const std::string& path) {
    auto out = std::unique_ptr<FileOutput>(new FileOutput(path));
    if (auto r = out->open_file(); !r) return r.error();
    return out;
  }
  ~FileOutput() override {
    flush();
    if (fd_ > STDERR_FILENO) ::close(fd_);
  }
  void write(std::string_view lines) override {
    buf_.append(lines);
    if (buf_.size() >= (size_t{1} << 20)) flush();
  }
  void flush() override {
    const char* p = buf_.data();
    size_t left = buf_.size();
    while (left > 0) {
      ssize_t n = ::write(fd_, p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (!reported_) std::fprintf(stderr, "relive burst: writing %s: %s\n", shown(), std::strerror(errno));
        reported_ = true;
        break;
      }
      p += n;
      left -= static_cast<size_t>(n);
    }
    buf_.clear();
  }
  void reopen() override {  // SIGHUP: logrotate moved the file
    if (path_.empty()) return;
    flush();
    int old = fd_;
    if (auto r = open_file(); !r) {
      std::fprintf(stderr, "relive burst: %s (still writing to the old file)\n", r.error().message.c_str());
      return;
    }
    ::close(old);
  }

 private:
  explicit FileOutput(std::string path) : path_(path == "-" ? "" : std::move(path)) {}
  const char* shown() const { return path_.empty() ? "stdout" : path_.c_str(); }
  Result<void> open_file() {
    if (path_.empty()) {
      fd_ = STDOUT_FILENO;
      return {};
    }
    int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return Error{errno_text("--output " + path_)};
    fd_ = fd;
    reported_ = false;
    return {};
  }
  std::string path_;
  int fd_ = STDOUT_FILENO;
  std::string buf_;
  bool reported_ = false;
};

// Each written line becomes one message to another receiver: a datagram (unix, UDP), or
// a newline-framed line over TCP. Never blocks: what the receiver cannot take is dropped
// and counted (a TCP receiver that is gone is retried at most once a second).
class ForwardOutput final : public Output {
 public:
  static Result<std::unique_ptr<ForwardOutput>> open(const std::string& text, size_t& dropped) {
    auto e = parse_endpoint(text, false);
    if (!e) return Error{"--forward " + e.error().message};
    auto out = std::unique_ptr<ForwardOutput>(new ForwardOutput(std::move(*e), dropped));
    if (auto r = out->connect_now(); !r) return r.error();
    return out;
  }
  ~ForwardOutput() override {
    flush();
    if (fd_ >= 0) ::close(fd_);
  }
  void write(std::string_view lines) override {
    const bool stream = is_stream(e_.kind);
    while (!lines.empty()) {
      size_t nl = lines.find('\n');
      std::string_view line = lines.substr(0, nl == std::string_view::npos ? lines.size() : nl + 1);
      lines.remove_prefix(line.size());
      if (stream) {
        if (pending_.size() + line.size() > kMaxPending) {
          ++dropped_;
          continue;
        }
        pending_.append(line);
        if (!line.ends_with('\n')) pending_.push_back('\n');
      } else {
        if (line.ends_with('\n')) line.remove_suffix(1);
        if (fd_ < 0 || ::send(fd_, line.data(), line.size(), MSG_DONTWAIT | MSG_NOSIGNAL) < 0) ++dropped_;
      }
    }
    if (stream) flush();
  }
  void flush() override {
    if (!is_stream(e_.kind) || pending_.empty()) return;
    if (fd_ < 0) {
      const auto now = std::chrono::steady_clock::now();
      if (now - last_try_ < std::chrono::seconds(1)) return;
      last_try_ = now;
      if (!connect_now()) return;
    }
    while (!pending_.empty()) {
      ssize_t n = ::send(fd_, pending_.data(), pending_.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        ::close(fd_);
        fd_ = -1;
        return;
      }
      pending_.erase(0, static_cast<size_t>(n));
    }
  }

 private:
  static constexpr size_t kMaxPending = size_t{4} << 20;
  ForwardOutput(Endpoint e, size_t& dropped) : e_(std::move(e)), dropped_(dropped) {}
  Result<void> connect_now() {
    const bool unix_socket = e_.kind == Endpoint::Kind::unix_dgram || e_.kind == Endpoint::Kind::unix_stream;
    int fd = ::socket(unix_socket ? AF_UNIX : AF_INET, (is_stream(e_.kind) ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
    if (fd < 0) return Error{errno_text("--forward " + e_.text + ": socket")};
    int rc;
    if (unix_socket) {
      socklen_t len;
      sockaddr_un a = unix_address(e_.path, &len);
      rc = ::connect(fd, reinterpret_cast<sockaddr*>(&a), len);
    } else {
      rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&e_.inet), sizeof e_.inet);
    }
    if (rc != 0) {
      std::string message = errno_text("--forward " + e_.text + ": connect");
      ::close(fd);
      return Error{message};
    }
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    fd_ = fd;
    return {};
  }
  Endpoint e_;
  size_t& dropped_;
  int fd_ = -1;
  std::string pending_;
  std::chrono::steady_clock::time_point last_try_{};
};

// --- the loop ----------------------------------------------------------------------------

class Port;

// One accepted stream connection.
class Connection final : public FrameSink {
 public:
  Connection(Port& port, int fd, std::string name);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  // Reads what is there, up to the budget. False: the sender closed (or failed).
  bool on_readable();
  int fd() const { return fd_; }

  void line(std::string_view line) override;
  void frame(std::string_view frame) override;

 private:
  Port& port_;
  int fd_;
  std::string name_;
  StreamFramer framer_;
  LineFilter::SourcePtr source_;
};

class Port {
 public:
  explicit Port(const PortOptions& options) : options_(options) {}

  // Where written lines go; the stats line counts the forward's drops.
  Result<void> open_output() {
    if (!options_.forward.empty()) {
      auto f = ForwardOutput::open(options_.forward, counters_.forward_dropped);
      if (!f) return f.error();
      output_ = std::move(*f);
    } else {
      auto f = FileOutput::open(options_.output);
      if (!f) return f.error();
      output_ = std::move(*f);
    }
    return {};
  }
  Result<void> make_filter(FilterOptions filter_options) {
    auto f = LineFilter::create(std::move(filter_options), [this](std::string_view lines) { output_->write(lines); });
    if (!f) return f.error();
    filter_ = std::move(*f);
    return {};
  }

  LineFilter& filter() { return *filter_; }
  PortCounters& counters() { return counters_; }
  const PortOptions& options() const { return options_; }
  std::string& scratch() { return scratch_; }
  Output& output() { return *output_; }

  // A record as received, checked and counted, then into the filter.
  void take_record(std::string_view source, std::string_view record) {
    ++counters_.records;
    scratch_.assign(record);
    while (!scratch_.empty() && (scratch_.back() == '\0' || scratch_.back() == '\n')) scratch_.pop_back();
    if (scratch_.empty()) return;
    count(port_internal::check_record(scratch_));
    filter_->feed_record(source, scratch_);
  }
  void count(port_internal::RecordCheck c) {
    counters_.binary += c.binary;
    counters_.malformed += c.malformed;
  }

  Result<void> add_listener(int fd, bool stream, Endpoint::Kind kind, std::string unlink_path) {
    listeners_.push_back({fd, stream, kind, std::move(unlink_path)});
    return watch(fd, static_cast<uint64_t>(listeners_.size() - 1) | kListenerTag);
  }

  int run();

 private:
  static constexpr uint64_t kListenerTag = uint64_t{1} << 62;
  static constexpr uint64_t kSignalTag = uint64_t{1} << 61;
  static constexpr uint64_t kTimerTag = uint64_t{1} << 60;

  struct Listener {
    int fd;
    bool stream;
    Endpoint::Kind kind;
    std::string unlink_path;
  };

  Result<void> watch(int fd, uint64_t tag) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = tag;
    if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev) != 0) return Error{errno_text("epoll_ctl")};
    return {};
  }
  void receive_datagrams(const Listener& l);
  void accept_connections(const Listener& l);
  void print_stats(const char* when);

  PortOptions options_;
  std::unique_ptr<LineFilter> filter_;
  std::unique_ptr<Output> output_;
  PortCounters counters_;
  std::vector<Listener> listeners_;
  std::unordered_map<int, std::unique_ptr<Connection>> connections_;
  std::string scratch_;
  std::vector<char> buf_ = std::vector<char>(64 * 1024 + 1);
  uint64_t next_connection_ = 0;

 public:
  int epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
  ~Port() {
    connections_.clear();
    for (auto& l : listeners_) {
      ::close(l.fd);
      if (!l.unlink_path.empty()) ::unlink(l.unlink_path.c_str());
    }
    if (epoll_ >= 0) ::close(epoll_);
  }
};

Connection::Connection(Port& port, int fd, std::string name)
    : port_(port), fd_(fd), name_(std::move(name)), framer_(port.options().max_record),
      source_(port.filter().open_source(name_)) {}

Connection::~Connection() {
  framer_.finish(*this);
  port_.filter().close_source(*source_);
  port_.counters().oversized += framer_.oversized();
  port_.counters().malformed += framer_.malformed();
  ::close(fd_);
}

bool Connection::on_readable() {
  char buf[64 * 1024];
  size_t total = 0;
  while (total < kReadBudget) {
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK;
    }
    if (n == 0) return false;
    framer_.feed(std::string_view(buf, static_cast<size_t>(n)), *this);
    total += static_cast<size_t>(n);
  }
  return true;
}

void Connection::line(std::string_view line) {
  ++port_.counters().records;
  std::string& s = port_.scratch();
  s.assign(line);
  port_.count(port_internal::check_record(s));
  port_.filter().feed(*source_, s);
}

void Connection::frame(std::string_view frame) { port_.take_record(name_, frame); }

void Port::receive_datagrams(const Listener& l) {
  for (int i = 0; i < kDatagramBudget; ++i) {
    sockaddr_storage from{};
    iovec iov{buf_.data(), buf_.size() - 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
    msghdr msg{};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof from;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = ::recvmsg(l.fd, &msg, MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0) return;  // EAGAIN: drained (the rest of the errors: the next round)
    size_t size = static_cast<size_t>(n);
    if ((msg.msg_flags & MSG_TRUNC) != 0 || size > options_.max_record) {
      ++counters_.oversized;
      size = std::min({size, buf_.size() - 1, options_.max_record});
    }
    std::string name;
    if (l.kind == Endpoint::Kind::udp && from.ss_family == AF_INET) {
      name = inet_name("udp", reinterpret_cast<const sockaddr_in&>(from));
    } else {
      const auto& un = reinterpret_cast<const sockaddr_un&>(from);
      if (msg.msg_namelen > offsetof(sockaddr_un, sun_path) && un.sun_path[0] != '\0') {
        name = std::string("<unix ") + un.sun_path + ">";
      } else {
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
          if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
            ucred cred;
            std::memcpy(&cred, CMSG_DATA(c), sizeof cred);
            name = "<unix pid " + std::to_string(cred.pid) + ">";
          }
        }
        if (name.empty()) name = "<unix>";
      }
    }
    take_record(name, std::string_view(buf_.data(), size));
  }
}

void Port::accept_connections(const Listener& l) {
  for (int i = 0; i < 64; ++i) {
    sockaddr_storage from{};
    socklen_t len = sizeof from;
    int fd = ::accept4(l.fd, reinterpret_cast<sockaddr*>(&from), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    if (connections_.size() >= options_.max_connections) {
      ++counters_.refused;
      ::close(fd);
      continue;
    }
    ++counters_.connections;
    const std::string id = " #" + std::to_string(++next_connection_);
    std::string name;
    if (from.ss_family == AF_INET) {
      name = inet_name("tcp", reinterpret_cast<const sockaddr_in&>(from));
      name.insert(name.size() - 1, id);
    } else {
      ucred cred{};
      socklen_t clen = sizeof cred;
      ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen);
      name = "<unix-stream pid " + std::to_string(cred.pid) + id + ">";
    }
    auto conn = std::make_unique<Connection>(*this, fd, std::move(name));
    if (!watch(fd, static_cast<uint64_t>(fd))) continue;  // conn's destructor closes it
    connections_.emplace(fd, std::move(conn));
  }
}

void Port::print_stats(const char* when) {
  const FilterStats s = filter_->stats();
  const PortCounters& c = counters_;
  std::fprintf(stderr,
               "relive burst: stats%s: records %zu, lines in %zu, written %zu, held %zu in %zu buffers (%zu bytes); "
               "dropped: superseded %zu, over keep %zu, over max-age %zu, over max-bytes %zu, evicted %zu "
               "(%zu buffers), at end %zu; triggers %zu; oversized %zu, malformed %zu, binary %zu, "
               "connections %zu (%zu open, %zu refused), forward dropped %zu\n",
               when, c.records, s.lines_in, s.lines_written, s.lines_buffered, s.buffers, s.memory,
               s.dropped_superseded, s.dropped_count, s.dropped_age, s.dropped_bytes, s.dropped_evicted,
               s.buffers_evicted, s.dropped_at_end, s.triggers, c.oversized, c.malformed, c.binary, c.connections,
               connections_.size(), c.refused, c.forward_dropped);
}

int Port::run() {
  sigset_t mask;
  sigemptyset(&mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGUSR1}) sigaddset(&mask, sig);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  int sfd = ::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0 || !watch(sfd, kSignalTag)) {
    std::fprintf(stderr, "relive burst: %s\n", std::strerror(errno));
    return 2;
  }
  int tfd = -1;
  if (options_.stats_every.count() > 0) {
    tfd = ::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    itimerspec spec{};
    const auto ms = options_.stats_every.count();
    spec.it_interval.tv_sec = ms / 1000;
    spec.it_interval.tv_nsec = (ms % 1000) * 1'000'000;
    spec.it_value = spec.it_interval;
    if (tfd < 0 || ::timerfd_settime(tfd, 0, &spec, nullptr) != 0 || !watch(tfd, kTimerTag)) {
      std::fprintf(stderr, "relive burst: --stats: %s\n", std::strerror(errno));
      return 2;
    }
  }
  bool running = true;
  epoll_event events[64];
  while (running) {
    output_->flush();
    int n = ::epoll_wait(epoll_, events, 64, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::fprintf(stderr, "relive burst: epoll_wait: %s\n", std::strerror(errno));
      break;
    }
    for (int i = 0; i < n; ++i) {
      const uint64_t tag = events[i].data.u64;
      if (tag == kSignalTag) {
        signalfd_siginfo info;
        while (::read(sfd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
          if (info.ssi_signo == SIGUSR1) {
            filter_->flush();
          } else if (info.ssi_signo == SIGHUP) {
            output_->reopen();
          } else {
            running = false;
          }
        }
      } else if (tag == kTimerTag) {
        uint64_t ticks;
        [[maybe_unused]] ssize_t r = ::read(tfd, &ticks, sizeof ticks);
        print_stats("");
      } else if ((tag & kListenerTag) != 0) {
        const Listener& l = listeners_[tag & ~kListenerTag];
        if (l.stream) {
          accept_connections(l);
        } else {
          receive_datagrams(l);
        }
      } else {
        auto it = connections_.find(static_cast<int>(tag));
        if (it == connections_.end()) continue;
        // Not on EPOLLHUP alone: a unix stream peer that closed may have left more unread
        // than one round's budget; read() says when it is all taken (0) or failed.
        if (!it->second->on_readable()) {
          ::epoll_ctl(epoll_, EPOLL_CTL_DEL, it->first, nullptr);
          connections_.erase(it);
        }
      }
    }
  }
  connections_.clear();  // their partial lines are handled
  filter_->finish(End::failure);  // stopped by a signal
  output_->flush();
  print_stats(" at exit");
  ::close(sfd);
  if (tfd >= 0) ::close(tfd);
  return 0;
}

}  // namespace

int run_port(const PortOptions& options, FilterOptions filter_options) {
  auto port = std::make_unique<Port>(options);
  if (port->epoll_ < 0) {
    std::fprintf(stderr, "relive burst: epoll_create1: %s\n", std::strerror(errno));
    return 2;
  }
  if (auto r = port->open_output(); !r) {
    std::fprintf(stderr, "relive burst: %s\n", r.error().message.c_str());
    return 2;
  }
  if (auto r = port->make_filter(std::move(filter_options)); !r) {
    std::fprintf(stderr, "relive burst: %s\n", r.error().message.c_str());
    return 2;
  }
  for (const auto& text : options.listen) {
    if (text == "systemd") {
      auto fds = take_listen_fds();
      if (fds.empty()) {
        std::fprintf(stderr, "relive burst: --listen systemd: no sockets passed (LISTEN_FDS/LISTEN_PID unset)\n");
        return 2;
      }
      for (const auto& l : fds) {
        int type = 0, domain = 0;
        socklen_t len = sizeof type;
        ::getsockopt(l.fd, SOL_SOCKET, SO_TYPE, &type, &len);
        len = sizeof domain;
        ::getsockopt(l.fd, SOL_SOCKET, SO_DOMAIN, &domain, &len);
        ::fcntl(l.fd, F_SETFL, ::fcntl(l.fd, F_GETFL) | O_NONBLOCK);
        const bool stream = type == SOCK_STREAM;
        Endpoint::Kind kind = domain == AF_UNIX ? (stream ? Endpoint::Kind::unix_stream : Endpoint::Kind::unix_dgram)
                                                : (stream ? Endpoint::Kind::tcp : Endpoint::Kind::udp);
        if (kind == Endpoint::Kind::unix_dgram) {
          int on = 1;
          ::setsockopt(l.fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
        }
        if (auto r = port->add_listener(l.fd, stream, kind, ""); !r) {
          std::fprintf(stderr, "relive burst: %s\n", r.error().message.c_str());
          return 2;
        }
      }
      continue;
    }
    auto e = parse_endpoint(text, true);
    if (!e) {
      std::fprintf(stderr, "relive burst: --listen %s\n", e.error().message.c_str());
      return 2;
    }
    auto fd = bind_endpoint(*e);
    if (!fd) {
      std::fprintf(stderr, "relive burst: %s\n", fd.error().message.c_str());
      return 2;
    }
    const bool unix_socket = e->kind == Endpoint::Kind::unix_dgram || e->kind == Endpoint::Kind::unix_stream;
    if (auto r = port->add_listener(*fd, is_stream(e->kind), e->kind, unix_socket ? e->path : ""); !r) {
      std::fprintf(stderr, "relive burst: %s\n", r.error().message.c_str());
      return 2;
    }
  }
  std::string shown;
  for (const auto& text : options.listen) shown += (shown.empty() ? "" : ", ") + text;
  std::fprintf(stderr, "relive burst: listening on %s\n", shown.c_str());
  return port->run();
}

}  // namespace relive::burst
