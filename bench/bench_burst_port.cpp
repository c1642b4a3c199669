// The burst port's throughput: 50 senders at once over unix datagram, UDP and TCP, into
// `relive burst --listen ...` and into `socat` on the same traffic (the floor: a receiver
// that only copies bytes). Lines per second received and CPU seconds per million lines
// (user+sys of the receiver and its children, from /proc), median of RUNS runs.
//
//   build/bench/bench_burst_port build/relive [LINES_PER_SENDER=20000] [RUNS=3]
//
// Traffic: each sender sends its lines as fast as the socket takes them: 90% debug
// ("<15>..."), 10% info, then one error "<11>done-N". The receiver's stdout is read here;
// a run is complete when every sender's "done" marker came out (relive writes them, being
// errors, and socat copies everything). UDP may lose datagrams in the kernel when a
// receiver falls behind, so UDP senders are paced (see below). The machine is shared: the
// load average is printed with the table.
//   build/bench/bench_burst_port build/relive 10000 3 udp    # one transport only
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kSenders = 50;

struct Receiver {
  pid_t pid = -1;
  int out = -1;
};

Receiver spawn(const std::vector<std::string>& args) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) std::exit(2);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, p[1], 1);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  Receiver r;
  if (posix_spawnp(&r.pid, argv[0], &fa, nullptr, argv.data(), environ) != 0) {
    std::fprintf(stderr, "cannot run %s\n", argv[0]);
    std::exit(2);
  }
  posix_spawn_file_actions_destroy(&fa);
  close(p[1]);
  r.out = p[0];
  return r;
}

double cpu_seconds(pid_t pid) {  // utime+stime+cutime+cstime
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), {});
  size_t close = s.rfind(')');
  std::vector<std::string> fields;
  size_t i = close + 2;
  while (i < s.size()) {
    size_t j = s.find(' ', i);
    fields.push_back(s.substr(i, j - i));
    if (j == std::string::npos) break;
    i = j + 1;
  }
  double ticks = 0;
  for (int k = 11; k <= 14; ++k) ticks += std::stod(fields[static_cast<size_t>(k)]);
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

int open_sender(const std::string& transport, const std::string& where, int index) {
  if (transport == "unix") {
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::string own = where + ".s" + std::to_string(index);
    unlink(own.c_str());
    std::strcpy(a.sun_path, own.c_str());
    bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);  // its own address: its own buffer
    std::strcpy(a.sun_path, where.c_str());
    for (int i = 0; i < 200 && connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0; ++i) usleep(20000);
    return fd;
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(std::stoi(where)));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = socket(AF_INET, (transport == "tcp" ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
  for (int i = 0; i < 200 && connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0; ++i) {
    close(fd);
    usleep(20000);
    fd = socket(AF_INET, (transport == "tcp" ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
  }
  return fd;
}

void send_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    off += static_cast<size_t>(n);
  }
}

struct Result {
  double seconds = 0;
  double cpu = 0;
  size_t done = 0;
};

Result run_once(const std::vector<std::string>& receiver_argv, const std::string& transport, const std::string& where,
                int lines) {
  Receiver r = spawn(receiver_argv);
  usleep(300000);  // both receivers bind within this; senders also retry their connect
  std::atomic<size_t> done{0};
  std::thread reader([&] {
    std::string tail;
    char buf[1 << 16];
    for (;;) {
      pollfd p{r.out, POLLIN, 0};
      if (poll(&p, 1, 30000) <= 0) break;
      ssize_t n = read(r.out, buf, sizeof buf);
      if (n <= 0) break;
      tail.append(buf, static_cast<size_t>(n));
      size_t at = 0;
      while ((at = tail.find("done-", at)) != std::string::npos) {
        ++done;
        at += 5;
      }
      // Keep fewer bytes than a marker, so that one is never counted twice.
      if (tail.size() > 4) tail.erase(0, tail.size() - 4);
      if (done >= kSenders) break;
    }
  });
  std::vector<int> fds;
  for (int i = 0; i < kSenders; ++i) fds.push_back(open_sender(transport, where, i));
  const auto start = Clock::now();
  std::vector<std::thread> senders;
  for (int i = 0; i < kSenders; ++i) {
    senders.emplace_back([&, i] {
      const bool stream = transport == "tcp";
      std::string batch;
      for (int n = 0; n < lines; ++n) {
        char line[128];
        int len = std::snprintf(line, sizeof line, "<%d>app[%d]: request %d step %d took 3 ms%s", n % 10 == 0 ? 14 : 15,
                                i, i, n, stream ? "\n" : "");
        if (stream) {
          batch.append(line, static_cast<size_t>(len));
          if (batch.size() > 16384) {
            send_all(fds[static_cast<size_t>(i)], batch);
            batch.clear();
          }
        } else {
          send(fds[static_cast<size_t>(i)], line, static_cast<size_t>(len), MSG_NOSIGNAL);
          if (transport == "udp") usleep(1000);  // paced: about 1,000 lines/s per sender
        }
      }
      std::string done_line = "<11>app[" + std::to_string(i) + "]: done-" + std::to_string(i) + (stream ? "\n" : "");
      if (stream) {
        send_all(fds[static_cast<size_t>(i)], batch + done_line);
      } else {
        send(fds[static_cast<size_t>(i)], done_line.data(), done_line.size(), MSG_NOSIGNAL);
      }
    });
  }
  for (auto& t : senders) t.join();
  reader.join();
  Result res;
  res.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  res.done = done;
  for (int fd : fds) close(fd);
  usleep(100000);  // socat's per-connection children exit and are reaped
  res.cpu = cpu_seconds(r.pid);
  kill(r.pid, SIGTERM);
  int status;
  waitpid(r.pid, &status, 0);
  close(r.out);
  return res;
}

double load1() {
  std::ifstream f("/proc/loadavg");
  double l = 0;
  f >> l;
  return l;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s RELIVE_BINARY [LINES_PER_SENDER] [RUNS]\n", argv[0]);
    return 2;
  }
  const std::string relive = argv[1];
  const int lines = argc > 2 ? std::atoi(argv[2]) : 20000;
  const int runs = argc > 3 ? std::atoi(argv[3]) : 3;
  const auto dir = std::filesystem::temp_directory_path() / ("bench-burst-port-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string sock = (dir / "log.sock").string();
  const std::string port = "5" + std::to_string(1000 + getpid() % 8000);
  std::printf("%d senders x %d lines (+1 error each; UDP: a fifth, paced); median of %d runs; load %.1f\n", kSenders,
              lines, runs, load1());
  std::printf("| transport | receiver | lines/s | CPU s per 1M lines | complete runs |\n|---|---|---|---|---|\n");
  const std::string only = argc > 4 ? argv[4] : "unix,udp,tcp";
  for (std::string transport : {"unix", "udp", "tcp"}) {
    if (only.find(transport) == std::string::npos) continue;
    // UDP has no back-pressure: a receiver that falls behind loses datagrams in the kernel.
    // So UDP senders are paced (50 x ~1,000 lines/s) and send a fifth of the lines: the
    // row compares CPU per line at the same offered rate, and lines/s is that rate.
    const int n_lines = transport == "udp" ? std::max(1, lines / 5) : lines;
    const std::string where = transport == "unix" ? sock : port;
    const std::string listen = transport == "unix" ? "unix:" + sock : transport + ":127.0.0.1:" + port;
    std::vector<std::string> socat_addr;
    if (transport == "unix") socat_addr = {"socat", "-u", "UNIX-RECV:" + sock, "STDOUT"};
    if (transport == "udp") socat_addr = {"socat", "-u", "UDP-RECV:" + port + ",bind=127.0.0.1", "STDOUT"};
    if (transport == "tcp") socat_addr = {"socat", "-u", "TCP-LISTEN:" + port + ",bind=127.0.0.1,fork,reuseaddr", "STDOUT"};
    // socat does not add a newline between datagrams: the markers are still found.
    for (int which = 0; which < 2; ++which) {
      std::vector<double> rates, cpus;
      int complete = 0;
      for (int r = 0; r < runs; ++r) {
        std::filesystem::remove(sock);
        auto argv_r = which == 0 ? std::vector<std::string>{relive, "burst", "--listen", listen} : socat_addr;
        Result res = run_once(argv_r, transport, where, n_lines);
        const double total = static_cast<double>(kSenders) * (n_lines + 1);
        rates.push_back(total / res.seconds);
        cpus.push_back(res.cpu / total * 1e6);
        complete += res.done >= kSenders;
      }
      std::sort(rates.begin(), rates.end());
      std::sort(cpus.begin(), cpus.end());
      std::printf("| %s | %s | %.0f | %.2f | %d/%d |\n", transport.c_str(), which == 0 ? "relive burst --listen" : "socat",
                  rates[rates.size() / 2], cpus[cpus.size() / 2], complete, runs);
      std::fflush(stdout);
    }
  }
  std::filesystem::remove_all(dir);
  return 0;
}
