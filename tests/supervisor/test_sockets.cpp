// --socket: parsing, binding once, and the LISTEN_FDS handoff as a real child sees it.
#include <arpa/inet.h>
#include <dirent.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <sstream>
#include <string>

#include "handoff_test_helpers.hpp"
#include "relive/listen_fds.hpp"
#include "test_support.hpp"

using relive::supervisor::ChildHandoff;
using relive::supervisor::ListenSockets;
using relive::supervisor::parse_socket_spec;
using relive::supervisor::SocketKind;
using relive::supervisor::SocketSpec;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

// ---------------------------------------------------------------------------------------
// Helper modes: this binary re-executed as the child (RELIVE_TEST_HELPER=<mode>). Runs
// before gtest's main, prints what it sees and exits.
// ---------------------------------------------------------------------------------------

std::string open_fds_of_self() {
  std::set<int> fds;
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return "?";
  int own = dirfd(dir);
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    int fd = std::atoi(e->d_name);
    if (fd != own) fds.insert(fd);
  }
  closedir(dir);
  std::string out;
  for (int fd : fds) out += (out.empty() ? "" : ",") + std::to_string(fd);
  return out;
}

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v ? v : fallback;
}

int helper_main(const std::string& mode) {
  if (mode == "list-fds") {
    // What any exec'd program sees.
    std::printf("pid=%d fds=%s LISTEN_FDS=%s LISTEN_PID=%s LISTEN_FDNAMES=%s\n", getpid(),
                open_fds_of_self().c_str(), env_or("LISTEN_FDS", "-").c_str(),
                env_or("LISTEN_PID", "-").c_str(), env_or("LISTEN_FDNAMES", "-").c_str());
    return 0;
  }
  if (mode == "take-fds") {
    // A C++ server using relive/listen_fds.hpp, which then starts a grandchild.
    auto fds = relive::take_listen_fds();
    std::string list, names, cloexec;
    for (auto& f : fds) {
      list += (list.empty() ? "" : ",") + std::to_string(f.fd);
      names += (names.empty() ? "" : ",") + f.name;
      cloexec += (cloexec.empty() ? "" : ",") + std::to_string((fcntl(f.fd, F_GETFD) & FD_CLOEXEC) ? 1 : 0);
    }
    std::printf("taken=%s names=%s cloexec=%s env_after=%s\n", list.c_str(), names.c_str(), cloexec.c_str(),
                env_or("LISTEN_FDS", "-").c_str());
    // Accept one connection on the first socket if asked (proves it is a working listener).
    if (!fds.empty() && std::getenv("RELIVE_TEST_ACCEPT")) {
      int c = accept(fds[0].fd, nullptr, nullptr);
      if (c >= 0) {
        (void)!write(c, "hello from child\n", 17);
        close(c);
      }
    }
    std::fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
      setenv("RELIVE_TEST_HELPER", "list-fds", 1);
      std::string self = relive::test::self_exe();
      execl(self.c_str(), self.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    return 0;
  }
  if (mode == "notify") {
    // A server that becomes ready after RELIVE_TEST_DELAY_MS, then waits to be killed.
    if (const char* delay = std::getenv("RELIVE_TEST_DELAY_MS")) usleep(static_cast<useconds_t>(std::atoi(delay)) * 1000);
    bool sent = relive::notify("STATUS=warming done\nREADY=1");
    std::printf("notified=%d pid=%d\n", sent ? 1 : 0, getpid());
    std::fflush(stdout);
    alarm(30);  // never outlive a broken test
    pause();
    return 0;
  }
  if (mode == "never-ready") {
    alarm(30);
    pause();
    return 0;
  }
  std::fprintf(stderr, "unknown helper mode %s\n", mode.c_str());
  return 2;
}

[[maybe_unused]] const int kHelperDispatch = [] {
  if (const char* mode = std::getenv("RELIVE_TEST_HELPER")) std::exit(helper_main(mode));
  return 0;
}();

// ---------------------------------------------------------------------------------------

std::vector<std::string> env_with(std::vector<std::string> extra) {
  auto env = relive::supervisor::current_environment();
  for (auto& e : extra) env.push_back(std::move(e));
  return env;
}

SocketSpec spec(std::string_view text) {
  auto s = parse_socket_spec(text);
  if (!s) ADD_FAILURE() << s.error().message;
  return s ? *s : SocketSpec{};
}

std::string read_line(int fd) {
  std::string out;
  char c;
  pollfd p{fd, POLLIN, 0};
  while (poll(&p, 1, 10000) > 0 && read(fd, &c, 1) == 1 && c != '\n') out += c;
  return out;
}

// "key=value" from a line of helper output.
std::string field(const std::string& text, const std::string& key) {
  auto pos = text.find(key + "=");
  if (pos == std::string::npos) return "<missing " + key + ">";
  pos += key.size() + 1;
  return text.substr(pos, text.find_first_of(" \n", pos) - pos);
}

}  // namespace

TEST(SocketSpecTest, BarePortIsTcpOnLoopback) {
  auto s = spec("8080");
  EXPECT_EQ(s.kind, SocketKind::Tcp);
  EXPECT_EQ(s.host, "127.0.0.1");
  EXPECT_EQ(s.port, 8080);
  EXPECT_EQ(s.name, "tcp-8080");
}

TEST(SocketSpecTest, ExplicitForms) {
  auto any = spec("tcp:0.0.0.0:80");
  EXPECT_EQ(any.host, "0.0.0.0");
  EXPECT_EQ(any.port, 80);
  auto v6 = spec("tcp:[::1]:8080");
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.port, 8080);
  auto udp = spec("udp:127.0.0.1:5353");
  EXPECT_EQ(udp.kind, SocketKind::Udp);
  EXPECT_EQ(udp.name, "udp-5353");
  auto local = spec("tcp:localhost:9000");
  EXPECT_EQ(local.host, "127.0.0.1");
  auto unix_spec = spec("unix:/run/app.sock");
  EXPECT_EQ(unix_spec.kind, SocketKind::Unix);
  EXPECT_EQ(unix_spec.path, "/run/app.sock");
  EXPECT_EQ(unix_spec.name, "unix-app.sock");
  auto named = spec("http=tcp:8080");
  EXPECT_EQ(named.name, "http");
  EXPECT_EQ(named.port, 8080);
  auto no_proto = spec("127.0.0.1:81");
  EXPECT_EQ(no_proto.kind, SocketKind::Tcp);
  EXPECT_EQ(no_proto.port, 81);
}

TEST(SocketSpecTest, BadSpecsNameTheSpecAndTheReason) {
  struct Case {
    std::string text;
    const char* reason;
  } cases[] = {
      {"", "empty"},
      {"80800", "port must be a number 0..65535"},
      {"tcp:abc", "port must be a number"},
      {"tcp:example.com:80", "not a numeric address"},
      {"tcp:::1:80", "brackets"},
      {"tcp:[::1:80", "missing ']'"},
      {"tcp:127.0.0.1:", "missing port"},
      {"sctp:80", "unknown protocol \"sctp\""},
      {"unix:", "missing unix socket path"},
      {"unix:/" + std::string(200, 'a'), "longer than"},
      {"bad:name=tcp:80", "unknown protocol"},
  };
  for (const auto& c : cases) {
    auto s = parse_socket_spec(c.text);
    ASSERT_FALSE(s) << c.text;
    EXPECT_THAT(s.error().message, HasSubstr("--socket " + c.text)) << c.text;
    EXPECT_THAT(s.error().message, HasSubstr(c.reason)) << c.text;
  }
}

TEST(ListenSocketsTest, BindsOnceAndQueuesConnectionsWhileNobodyAccepts) {
  auto sockets = ListenSockets::bind({spec("tcp:127.0.0.1:0")});
  ASSERT_TRUE(sockets) << sockets.error().message;
  uint16_t port = sockets->bound_port(0);
  ASSERT_NE(port, 0);
  EXPECT_TRUE(fcntl(sockets->fds()[0], F_GETFD) & FD_CLOEXEC) << "relive's copy must not leak";
  // Nobody accepts: the connection still completes (kernel backlog), as during a restart.
  int client = relive::test::connect_loopback_tcp(port);
  ASSERT_GE(client, 0) << "connection refused while no child accepts";
  int accepted = accept4(sockets->fds()[0], nullptr, nullptr, SOCK_CLOEXEC);
  EXPECT_GE(accepted, 0);
  close(accepted);
  close(client);
}

TEST(ListenSocketsTest, PortInUseIsAClearError) {
  auto first = ListenSockets::bind({spec("tcp:127.0.0.1:0")});
  ASSERT_TRUE(first) << first.error().message;
  std::string text = "tcp:127.0.0.1:" + std::to_string(first->bound_port(0));
  auto second = ListenSockets::bind({spec("udp:127.0.0.1:0"), spec(text)});
  ASSERT_FALSE(second);
  EXPECT_THAT(second.error().message, HasSubstr("--socket " + text + ": bind: Address already in use"));
}

TEST(ListenSocketsTest, UnixSocketReplacesStaleFileButNotLiveSocketOrOtherFiles) {
  relive::test::TempDir dir;
  std::string path = (dir / "app.sock").string();
  // A stale socket file: bound, then its owner closed it without unlinking.
  {
    int stale = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, path.c_str());
    ASSERT_EQ(bind(stale, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    close(stale);
  }
  {
    auto sockets = ListenSockets::bind({spec("unix:" + path)});
    ASSERT_TRUE(sockets) << sockets.error().message;
    // While it lives, a second relive must not steal the path.
    auto again = ListenSockets::bind({spec("unix:" + path)});
    ASSERT_FALSE(again);
    EXPECT_THAT(again.error().message, HasSubstr("in use by another process"));
  }
  EXPECT_FALSE(relive::test::fs::exists(path)) << "socket file removed when relive closes it";
  relive::test::write_file(path, "precious");
  auto over_file = ListenSockets::bind({spec("unix:" + path)});
  ASSERT_FALSE(over_file);
  EXPECT_THAT(over_file.error().message, HasSubstr("is not a socket"));
  EXPECT_EQ(relive::test::read_file(path), "precious");
}

TEST(ChildHandoffTest, ChildSeesListenFdsWithItsOwnPidAndNoOtherFds) {
  auto sockets = ListenSockets::bind({spec("web=tcp:127.0.0.1:0"), spec("udp:127.0.0.1:0")});
  ASSERT_TRUE(sockets) << sockets.error().message;
  auto inherited = relive::test::inheritable_fds_of_this_process();
  // Protocol variables inherited from relive's own parent must not reach the child.
  ChildHandoff handoff(&*sockets,
                       env_with({"LISTEN_FDS=9", "LISTEN_PID=1", "NOTIFY_SOCKET=/run/systemd/notify",
                                 "RELIVE_TEST_HELPER=list-fds"}));
  relive::test::HandoffChild child(handoff, {relive::test::self_exe()});
  std::string out = child.read_all();
  EXPECT_EQ(child.wait(), 0) << out;
  EXPECT_EQ(field(out, "LISTEN_FDS"), "2") << out;
  EXPECT_EQ(field(out, "LISTEN_PID"), std::to_string(child.pid())) << out;
  EXPECT_EQ(field(out, "pid"), std::to_string(child.pid())) << out;
  EXPECT_EQ(field(out, "LISTEN_FDNAMES"), "web:udp-0") << out;  // default names use the spec as written
  std::set<int> expected = {0, 1, 2, 3, 4};
  for (int fd : inherited) expected.insert(fd);
  std::string want;
  for (int fd : expected) want += (want.empty() ? "" : ",") + std::to_string(fd);
  EXPECT_EQ(field(out, "fds"), want) << "only stdio and the handed sockets: " << out;
  EXPECT_THAT(out, Not(HasSubstr("NOTIFY_SOCKET")));
}

TEST(ChildHandoffTest, SocketsAlreadyAtTargetFdsArePassedWithoutCloexec) {
  // The supervisor's sockets may themselves sit at fd 3/4 (or be swapped); the handoff
  // must still end with socket i at fd 3+i and clear close-on-exec on it.
  auto sockets = ListenSockets::bind({spec("a=tcp:127.0.0.1:0"), spec("b=tcp:127.0.0.1:0")});
  ASSERT_TRUE(sockets) << sockets.error().message;
  ChildHandoff handoff(&*sockets, env_with({"RELIVE_TEST_HELPER=take-fds", "RELIVE_TEST_ACCEPT=1"}));
  relive::test::HandoffChild child(handoff, {relive::test::self_exe()});
  // The child accepts on fd 3: connect to the FIRST socket's port and get its greeting.
  int client = relive::test::connect_loopback_tcp(sockets->bound_port(0));
  ASSERT_GE(client, 0);
  EXPECT_EQ(read_line(client), "hello from child");
  close(client);
  std::string out = child.read_all();
  EXPECT_EQ(child.wait(), 0) << out;
  EXPECT_EQ(field(out, "taken"), "3,4") << out;
  EXPECT_EQ(field(out, "names"), "a,b") << out;
}

TEST(ChildHandoffTest, ListenFdsHeaderClearsVariablesAndKeepsSocketsFromGrandchildren) {
  auto sockets = ListenSockets::bind({spec("tcp:127.0.0.1:0")});
  ASSERT_TRUE(sockets) << sockets.error().message;
  auto inherited = relive::test::inheritable_fds_of_this_process();
  ChildHandoff handoff(&*sockets, env_with({"RELIVE_TEST_HELPER=take-fds"}));
  relive::test::HandoffChild child(handoff, {relive::test::self_exe()});
  std::string out = child.read_all();
  EXPECT_EQ(child.wait(), 0) << out;
  EXPECT_EQ(field(out, "taken"), "3") << out;
  EXPECT_EQ(field(out, "cloexec"), "1") << out;
  EXPECT_EQ(field(out, "env_after"), "-") << out;
  // The grandchild's line: no LISTEN_* variables, no fd 3.
  auto grandchild = out.substr(out.find("pid="));
  EXPECT_EQ(field(grandchild, "LISTEN_FDS"), "-") << out;
  EXPECT_EQ(field(grandchild, "LISTEN_PID"), "-") << out;
  std::string want;
  std::set<int> expected = {0, 1, 2};
  // An fd this test process inherited (from ctest, a shell, CI) stays open in the
  // grandchild — except where the handoff put the socket (fd 3), which replaced it.
  for (int fd : inherited) {
    if (fd != 3) expected.insert(fd);
  }
  for (int fd : expected) want += (want.empty() ? "" : ",") + std::to_string(fd);
  EXPECT_EQ(field(grandchild, "fds"), want) << "socket leaked into the grandchild: " << out;
}

TEST(ChildHandoffTest, ListenFdsHeaderIgnoresVariablesMeantForAnotherProcess) {
  // LISTEN_PID names someone else (e.g. inherited through a shell): take nothing, but
  // still clear the variables.
  auto sockets = ListenSockets::bind({spec("tcp:127.0.0.1:0")});
  ASSERT_TRUE(sockets) << sockets.error().message;
  ChildHandoff plain(nullptr, env_with({"RELIVE_TEST_HELPER=take-fds", "LISTEN_FDS=1", "LISTEN_PID=1"}));
  // Without sockets the handoff strips LISTEN_*; put them back through a shell that
  // exports them with the wrong pid.
  std::string self = relive::test::self_exe();
  relive::test::HandoffChild child(
      plain, {"/bin/sh", "-c", "LISTEN_FDS=1 LISTEN_PID=1 exec '" + self + "'"});
  std::string out = child.read_all();
  EXPECT_EQ(child.wait(), 0) << out;
  EXPECT_EQ(field(out, "taken"), "") << out;
  EXPECT_EQ(field(out, "env_after"), "-") << out;
}

TEST(ChildHandoffTest, NoSocketsMeansNoListenVariables) {
  ChildHandoff handoff(nullptr, env_with({"RELIVE_TEST_HELPER=list-fds", "LISTEN_FDS=2", "LISTEN_FDNAMES=x"}),
                       {"EXTRA=1"});
  relive::test::HandoffChild child(handoff, {relive::test::self_exe()});
  std::string out = child.read_all();
  EXPECT_EQ(child.wait(), 0) << out;
  EXPECT_EQ(field(out, "LISTEN_FDS"), "-") << out;
  EXPECT_EQ(field(out, "LISTEN_PID"), "-") << out;
  EXPECT_EQ(field(out, "LISTEN_FDNAMES"), "-") << out;
}
