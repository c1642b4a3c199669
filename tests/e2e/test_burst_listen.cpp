// `relive burst --listen`: the local log port, with real senders — util-linux logger(1)
// over unix datagram and stream sockets, UDP and TCP (RFC 3164, RFC 5424, octet counting),
// and Python's logging.handlers.SysLogHandler — on loopback and in temp dirs.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "run_test_util.hpp"
#include "test_support.hpp"

namespace relive::test {
namespace {

constexpr const char* kPython = "/usr/bin/python3";  // not the pyenv shim on PATH

// A running port writing to DIR/out.log, ready once it says it listens.
struct PortRun {
  TempDir dir;
  fs::path out = dir / "out.log";
  std::unique_ptr<Process> relive;

  explicit PortRun(std::vector<std::string> args) {
    std::vector<std::string> argv = {relive_bin(), "burst", "--output", out.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    relive = std::make_unique<Process>(argv);
    EXPECT_TRUE(relive->wait_for_output("relive burst: listening on", 10s)) << relive->output();
  }
  std::string output() const { return fs::exists(out) ? read_file(out) : ""; }
  bool has(std::string_view text) const { return output().find(text) != std::string::npos; }
  bool wait_for(std::string_view text) const {
    return eventually([&] { return has(text); }, 15s);
  }
  // The stats line says this many records came in (needs --stats).
  bool wait_for_records(size_t n) const {
    return relive->wait_for_output("records " + std::to_string(n) + ",", 15s);
  }
  int stop() {
    relive->signal(SIGTERM);
    return relive->wait(15s);
  }
};

// Runs a command to completion; its status.
int run(std::vector<std::string> argv) {
  Process p(std::move(argv));
  int status = p.wait(15s);
  EXPECT_EQ(status, 0) << argv[0] << ": " << p.output();
  return status;
}

std::string port_of(uint16_t port) { return std::to_string(port); }

// logger(1) reading lines with <PRI> prefixes from its stdin, sending each.
std::unique_ptr<Process> logger_process(std::vector<std::string> args) {
  std::vector<std::string> argv = {"logger", "--prio-prefix", "-t", "app"};
  argv.insert(argv.end(), args.begin(), args.end());
  Process::Options o;
  o.stdin_pipe = true;
  return std::make_unique<Process>(argv, o);
}

void send_with_logger(std::vector<std::string> args, std::string_view lines) {
  auto p = logger_process(std::move(args));
  p->write_stdin(lines);
  p->close_stdin();
  EXPECT_EQ(p->wait(15s), 0) << p->output();
}

TEST(BurstListen, UnixDatagramOneBufferPerSenderSoAnotherSendersInfoKeepsTheContext) {
  TempDir dir;
  const std::string sock = (dir / "log.sock").string();
  PortRun p({"--listen", "unix:" + sock, "--stats", "20ms"});
  auto a = logger_process({"-u", sock, "-d"});
  a->write_stdin("<15>A: debug context 1\n<15>A: debug context 2\n");
  ASSERT_TRUE(p.wait_for_records(2)) << p.relive->output();
  send_with_logger({"-u", sock, "-d"}, "<15>B: debug of B\n<14>B: info of B\n");
  ASSERT_TRUE(p.wait_for_records(4)) << p.relive->output();
  a->write_stdin("<11>A: error\n");
  a->close_stdin();
  ASSERT_TRUE(p.wait_for("A: error")) << p.output();
  const std::string out = p.output();
  EXPECT_NE(out.find("B: info of B"), std::string::npos);
  EXPECT_EQ(out.find("debug of B"), std::string::npos) << out;  // B's own info superseded it
  const size_t c1 = out.find("A: debug context 1");
  const size_t c2 = out.find("A: debug context 2");
  ASSERT_NE(c1, std::string::npos) << out;
  ASSERT_NE(c2, std::string::npos) << out;
  EXPECT_LT(c1, c2);
  EXPECT_LT(c2, out.find("A: error"));
  EXPECT_EQ(p.stop(), 0);
}

TEST(BurstListen, UnixStreamFromLogger) {
  TempDir dir;
  const std::string sock = (dir / "log.sock").string();
  PortRun p({"--listen", "unix-stream:" + sock});
  send_with_logger({"-u", sock}, "<15>held then written\n<15>second\n<11>stream error\n");
  send_with_logger({"-u", sock}, "<15>never written\n<14>info\n");
  ASSERT_TRUE(p.wait_for("stream error")) << p.output();
  ASSERT_TRUE(p.wait_for("info")) << p.output();
  EXPECT_TRUE(p.has("held then written"));
  EXPECT_FALSE(p.has("never written"));
}

TEST(BurstListen, UdpAndTcpFromLoggerIn5424And3164AndOctetCounting) {
  const uint16_t udp = free_loopback_port();
  const uint16_t tcp = free_loopback_port();
  PortRun p({"--listen", "udp:127.0.0.1:" + port_of(udp), "--listen", "tcp:127.0.0.1:" + port_of(tcp)});
  const std::vector<std::vector<std::string>> senders = {
      {"-n", "127.0.0.1", "-P", port_of(udp), "-d", "--rfc5424"},
      {"-n", "127.0.0.1", "-P", port_of(udp), "-d", "--rfc3164"},
      {"-n", "127.0.0.1", "-P", port_of(tcp), "-T", "--rfc5424"},
      {"-n", "127.0.0.1", "-P", port_of(tcp), "-T", "--rfc3164"},
      {"-n", "127.0.0.1", "-P", port_of(tcp), "-T", "--octet-count"},
  };
  for (size_t i = 0; i < senders.size(); ++i) {
    const std::string n = std::to_string(i);
    send_with_logger(senders[i], "<15>ctx-" + n + "\n<11>err-" + n + "\n");
    send_with_logger(senders[i], "<15>dropped-" + n + "\n<14>info-" + n + "\n");
  }
  for (size_t i = 0; i < senders.size(); ++i) {
    const std::string n = std::to_string(i);
    ASSERT_TRUE(p.wait_for("err-" + n)) << "sender " << i << ":\n" << p.output();
    ASSERT_TRUE(p.wait_for("info-" + n)) << "sender " << i << ":\n" << p.output();
    EXPECT_TRUE(p.has("ctx-" + n)) << "sender " << i << ":\n" << p.output();
    EXPECT_FALSE(p.has("dropped-" + n)) << "sender " << i << ":\n" << p.output();
  }
  // The records are written as received: the 5424 ones with their version "1".
  EXPECT_NE(p.output().find("<11>1 "), std::string::npos) << p.output();
}

// The README's one-liner, over each transport; a logged exception's traceback is one
// record with its error.
TEST(BurstListen, PythonSysLogHandlerOverUnixUdpAndTcp) {
  TempDir dir;
  const std::string sock = (dir / "log.sock").string();
  const uint16_t udp = free_loopback_port();
  const uint16_t tcp = free_loopback_port();
  PortRun p({"--listen", "unix:" + sock, "--listen", "udp:127.0.0.1:" + port_of(udp), "--listen",
             "tcp:127.0.0.1:" + port_of(tcp)});
  write_file(dir / "app.py", R"(import logging, logging.handlers, socket, sys
kind = sys.argv[1]
if kind == "unix":
    handler = logging.handlers.SysLogHandler(address=sys.argv[2])
elif kind == "udp":
    handler = logging.handlers.SysLogHandler(address=("127.0.0.1", int(sys.argv[2])))
else:
    handler = logging.handlers.SysLogHandler(address=("127.0.0.1", int(sys.argv[2])), socktype=socket.SOCK_STREAM)
log = logging.getLogger("app")
log.addHandler(handler)
log.setLevel(logging.DEBUG)
log.debug("%s superseded", kind)
log.info("%s started", kind)
log.debug("%s context", kind)
try:
    1 / 0
except ZeroDivisionError:
    log.exception("%s failed", kind)
log.debug("%s after", kind)
handler.close()
)");
  run({kPython, (dir / "app.py").string(), "unix", sock});
  run({kPython, (dir / "app.py").string(), "udp", port_of(udp)});
  run({kPython, (dir / "app.py").string(), "tcp", port_of(tcp)});
  for (std::string kind : {"unix", "udp", "tcp"}) {
    ASSERT_TRUE(p.wait_for(kind + " failed")) << p.output();
    const std::string out = p.output();
    EXPECT_NE(out.find(kind + " started"), std::string::npos) << out;
    EXPECT_NE(out.find(kind + " context"), std::string::npos) << out;
    EXPECT_EQ(out.find(kind + " superseded"), std::string::npos) << out;
    EXPECT_EQ(out.find(kind + " after"), std::string::npos) << out;
  }
  const std::string out = p.output();
  EXPECT_NE(out.find("<11>unix failed\nTraceback (most recent call last):\n"), std::string::npos) << out;
  EXPECT_NE(out.find("ZeroDivisionError: division by zero"), std::string::npos) << out;
}

// 50 senders at once over unix datagram and TCP, each 200 debug lines then an error:
// within the bounds (keep 512 per sender), every line is written.
TEST(BurstListen, FiftySendersAtOnceLoseNothingTheBoundsKeep) {
  TempDir dir;
  const std::string sock = (dir / "log.sock").string();
  const uint16_t tcp = free_loopback_port();
  PortRun p({"--listen", "unix:" + sock, "--listen", "tcp:127.0.0.1:" + port_of(tcp)});
  write_file(dir / "senders.py", R"(import os, socket, sys
directory, path, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
unix, tcp = [], []
for i in range(50):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(os.path.join(directory, "s%d" % i))
    s.connect(path)
    unix.append(s)
    t = socket.create_connection(("127.0.0.1", port))
    tcp.append(t)
for n in range(200):
    for i in range(50):
        unix[i].send(b"<15>u%d debug %d" % (i, n))
        tcp[i].sendall(b"<15>t%d debug %d\n" % (i, n))
for i in range(50):
    unix[i].send(b"<11>u%d error" % i)
    tcp[i].sendall(b"<11>t%d error\n" % i)
for s in unix + tcp:
    s.close()
)");
  run({kPython, (dir / "senders.py").string(), dir.path().string(), sock, port_of(tcp)});
  auto count_lines = [&] {
    const std::string out = p.output();
    return static_cast<size_t>(std::count(out.begin(), out.end(), '\n'));
  };
  ASSERT_TRUE(eventually([&] { return count_lines() >= 2 * 50 * 201; }, 20s)) << count_lines();
  const std::string out = p.output();
  EXPECT_EQ(count_lines(), 2u * 50 * 201);
  for (int i = 0; i < 50; i += 7) {
    for (const char* kind : {"u", "t"}) {
      const std::string id = kind + std::to_string(i);
      size_t last = out.find("<15>" + id + " debug 0\n");
      ASSERT_NE(last, std::string::npos) << id;
      for (int n = 1; n < 200; ++n) {
        size_t at = out.find("<15>" + id + " debug " + std::to_string(n) + "\n");
        ASSERT_NE(at, std::string::npos) << id << " " << n;
        EXPECT_LT(last, at) << id << " " << n;  // each sender's lines in order
        last = at;
      }
      EXPECT_LT(last, out.find("<11>" + id + " error\n"));
    }
  }
}

int connect_tcp(uint16_t port) {
  int fd = connect_loopback_tcp(port);
  EXPECT_GE(fd, 0) << std::strerror(errno);
  return fd;
}

void send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    ASSERT_GT(n, 0) << std::strerror(errno);
    data.remove_prefix(static_cast<size_t>(n));
  }
}

TEST(BurstListen, GarbageOversizedAndStalledSendersDoNotStopTheOthers) {
  const uint16_t udp = free_loopback_port();
  const uint16_t tcp = free_loopback_port();
  PortRun p({"--listen", "udp:127.0.0.1:" + port_of(udp), "--listen", "tcp:127.0.0.1:" + port_of(tcp),
             "--max-record", "1k"});
  int stalled = connect_tcp(tcp);  // connects and never sends
  int partial = connect_tcp(tcp);  // sends half a line and stops
  send_all(partial, "<15>half a li");
  int garbage = connect_tcp(tcp);
  std::string junk;
  for (size_t i = 0; i < 300000; ++i) junk.push_back(static_cast<char>((i * 7919) % 256));
  send_all(garbage, junk);
  send_all(garbage, std::string(5000, 'x') + "\n<<<>>>not syslog\n<999>bad pri\n");
  send_with_logger({"-n", "127.0.0.1", "-P", port_of(udp), "-d"}, "<15>good ctx\n<11>good error\n");
  int good = connect_tcp(tcp);
  send_all(good, "<15>tcp ctx\n<11>tcp error\n");
  ASSERT_TRUE(p.wait_for("good error")) << p.output();
  ASSERT_TRUE(p.wait_for("tcp error")) << p.output();
  EXPECT_TRUE(p.has("good ctx"));
  EXPECT_TRUE(p.has("tcp ctx"));
  // Nothing longer than the limit was written; control bytes became '?'.
  for (const auto& line : file_lines(p.out)) EXPECT_LE(line.size(), 1024u);
  EXPECT_EQ(p.output().find('\x01'), std::string::npos);
  EXPECT_EQ(p.stop(), 0);
  const std::string stats = p.relive->output();
  EXPECT_NE(stats.find("stats at exit:"), std::string::npos) << stats;
  EXPECT_EQ(stats.find("oversized 0,"), std::string::npos) << stats;
  EXPECT_EQ(stats.find("malformed 0,"), std::string::npos) << stats;
  EXPECT_EQ(stats.find("binary 0,"), std::string::npos) << stats;
  for (int fd : {stalled, partial, garbage, good}) ::close(fd);
}

TEST(BurstListen, Sigusr1WritesEveryBufferAndStoppingWritesWhatIsHeld) {
  const uint16_t udp = free_loopback_port();
  PortRun p({"--listen", "udp:127.0.0.1:" + port_of(udp), "--stats", "20ms"});
  send_with_logger({"-n", "127.0.0.1", "-P", port_of(udp), "-d"}, "<15>held one\n");
  ASSERT_TRUE(p.wait_for_records(1)) << p.relive->output();
  EXPECT_FALSE(p.has("held one"));
  p.relive->signal(SIGUSR1);
  ASSERT_TRUE(p.wait_for("held one")) << p.output();
  send_with_logger({"-n", "127.0.0.1", "-P", port_of(udp), "-d"}, "<15>held at exit\n");
  ASSERT_TRUE(p.wait_for_records(2)) << p.relive->output();
  EXPECT_EQ(p.stop(), 0);
  EXPECT_TRUE(p.has("held at exit")) << p.output();
}

TEST(BurstListen, SighupReopensTheOutputFile) {
  const uint16_t udp = free_loopback_port();
  PortRun p({"--listen", "udp:127.0.0.1:" + port_of(udp)});
  send_with_logger({"-n", "127.0.0.1", "-P", port_of(udp), "-d"}, "<14>before rotation\n");
  ASSERT_TRUE(p.wait_for("before rotation"));
  fs::rename(p.out, p.dir / "out.log.1");
  p.relive->signal(SIGHUP);
  // The reopen is not observable by itself: send until a line lands in the new file.
  ASSERT_TRUE(eventually([&] {
    send_with_logger({"-n", "127.0.0.1", "-P", port_of(udp), "-d"}, "<14>after rotation\n");
    return p.has("after rotation");
  }, 15s));
  EXPECT_EQ(read_file(p.dir / "out.log.1").find("after rotation"), std::string::npos);
}

TEST(BurstListen, ForwardSendsWrittenLinesToAnotherSyslogReceiver) {
  int receiver = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(receiver, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ::getsockname(receiver, reinterpret_cast<sockaddr*>(&a), &len);
  timeval timeout{15, 0};
  ::setsockopt(receiver, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  const uint16_t udp = free_loopback_port();
  PortRun p({"--listen", "udp:127.0.0.1:" + port_of(udp), "--forward", "udp:127.0.0.1:" + port_of(ntohs(a.sin_port))});
  send_with_logger({"-n", "127.0.0.1", "-P", port_of(udp), "-d", "--rfc3164"}, "<15>fwd ctx\n<14>fwd info\n<15>fwd ctx 2\n<11>fwd error\n");
  std::vector<std::string> got;
  char buf[4096];
  for (int i = 0; i < 3; ++i) {
    ssize_t n = ::recv(receiver, buf, sizeof buf, 0);
    ASSERT_GT(n, 0) << "datagram " << i << ": " << std::strerror(errno);
    got.emplace_back(buf, static_cast<size_t>(n));
  }
  ::close(receiver);
  EXPECT_TRUE(got[0].starts_with("<14>") && got[0].ends_with("fwd info")) << got[0];
  EXPECT_TRUE(got[1].starts_with("<15>") && got[1].ends_with("fwd ctx 2")) << got[1];
  EXPECT_TRUE(got[2].starts_with("<11>") && got[2].ends_with("fwd error")) << got[2];
}

TEST(BurstListen, KeyRegexGroupsOneRequestAcrossSenders) {
  const uint16_t udp = free_loopback_port();
  PortRun p({"--listen", "udp:127.0.0.1:" + port_of(udp), "--key-regex", R"(req=(\S+))"});
  send_with_logger({"-n", "127.0.0.1", "-P", port_of(udp), "-d"}, "<15>frontend req=42 parsed\n<15>frontend req=7 parsed\n");
  send_with_logger({"-n", "127.0.0.1", "-P", port_of(udp), "-d"}, "<11>backend req=42 failed\n");
  ASSERT_TRUE(p.wait_for("backend req=42 failed")) << p.output();
  EXPECT_TRUE(p.has("frontend req=42 parsed"));
  EXPECT_FALSE(p.has("req=7"));
}

TEST(BurstListen, SocketActivationTakesTheSocketFromListenFds) {
  TempDir dir;
  const std::string sock = (dir / "log.sock").string();
  const fs::path out = dir / "out.log";
  Process activator({"systemd-socket-activate", "--datagram", "-l", sock, relive_bin(), "burst", "--listen", "systemd",
                     "--output", out.string()});
  ASSERT_TRUE(eventually([&] { return fs::exists(sock); }, 10s)) << activator.output();
  send_with_logger({"-u", sock, "-d"}, "<15>activated ctx\n<11>activated error\n");
  ASSERT_TRUE(eventually([&] { return fs::exists(out) && read_file(out).find("activated error") != std::string::npos; },
                         15s))
      << activator.output();
  EXPECT_NE(read_file(out).find("activated ctx"), std::string::npos);
}

TEST(BurstListen, BadOptionsAreOneLineErrors) {
  TempDir dir;
  auto expect_error = [&](std::vector<std::string> args, std::string_view message) {
    auto o = run_relive(std::move(args), dir.path());
    EXPECT_EQ(o.status, 2) << o.output;
    EXPECT_NE(o.output.find(message), std::string::npos) << o.output;
  };
  expect_error({"burst", "--listen", "ftp:x"}, "relive burst: --listen 'ftp:x': expected unix:PATH");
  expect_error({"burst", "--listen", "udp:127.0.0.1:99999"}, "bad port '99999'");
  expect_error({"burst", "--listen", "tcp:example.com:514"}, "is not an IPv4 address");
  write_file(dir / "file", "x");
  expect_error({"burst", "--listen", "unix:" + (dir / "file").string()}, "exists and is not a socket");
  expect_error({"burst", "--forward", "udp:127.0.0.1:9"}, "relive burst: --forward needs --listen");
  expect_error({"burst", "--listen", "systemd"}, "--listen systemd: no sockets passed");
  expect_error({"burst", "--listen", "udp:127.0.0.1:0", "--max-record", "lots"}, "--max-record 'lots'");
  expect_error({"burst", "--key-regex", "(", "--listen", "udp:127.0.0.1:0"}, "--key-regex '('");
}

}  // namespace
}  // namespace relive::test
