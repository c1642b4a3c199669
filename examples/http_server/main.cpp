// http_server — an HTTP server (cpp-httplib) that restarts without dropping a request
// under `relive --socket 8080 --graceful -- build/examples/http_server/http_server`.
//
//   * takes its listening socket from relive (relive/listen_fds.hpp: fd 3, LISTEN_FDS),
//     or binds --port itself when run on its own;
//   * says READY=1 on NOTIFY_SOCKET once it accepts, so relive stops the old server only
//     then;
//   * on SIGTERM stops accepting and drains: requests in flight are answered, keep-alive
//     connections get "Connection: close" on their next answer, then it exits.
//
// Routes: /         "hello from pid N"
//         /info     pid, LISTEN_PID/LISTEN_FDS/LISTEN_FDNAMES as received, and whether a
//                   process started from here holds the inherited socket (it must not)
//         /health   "ok" (also on --health-port, a port only this process answers, for
//                   `relive --ready http://127.0.0.1:PORT/health`)
//         /slow?ms=N answers after N ms (to watch a drain)
//
// Options: --port N (default 8080, when no socket is inherited), --health-port N,
//          --startup-ms N (pretend to warm up before serving),
//          --mode-file F: if F contains "crash" exit 3 at once; "never-ready" hang without
//          accepting or sending READY=1 until SIGTERM (end-to-end tests of failed restarts).
//
// Why not httplib's stop() for an inherited socket: it calls shutdown(2) on the listening
// socket, and shutdown acts on the socket shared with relive and the next server — it
// would stop them accepting too. Instead this process's fd is replaced by a stand-in that
// is not listening and the accept loop is interrupted with a signal.
#include <httplib.h>
#include <pthread.h>
#include <signal.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "relive/listen_fds.hpp"

namespace {

std::atomic<bool> g_draining{false};
std::atomic<bool> g_accept_loop_done{false};

// Adopts an already listening socket (httplib only binds its own otherwise).
class InheritedSocketServer : public httplib::Server {
 public:
  bool listen_on(int fd) {
    svr_sock_ = fd;
    return listen_after_bind();
  }
};

void on_interrupt(int) {}  // only there so that accept() returns EINTR

std::string read_mode(const char* path) {
  if (!path) return "";
  std::ifstream in(path);
  std::string mode;
  in >> mode;
  return mode;
}

// What this process was given, for /info (end-to-end tests read it).
struct StartupInfo {
  std::string listen_pid, listen_fds, listen_fdnames;
  unsigned long socket_inode = 0;  // of the inherited socket (0: none)
};
StartupInfo g_startup;

std::string env_or_dash(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "-";
}

// Whether a process started from here (a grandchild of relive) holds the inherited
// listening socket: it must not — the protocol handed it to this process only.
std::string grandchild_holds_listen_socket() {
  if (g_startup.socket_inode == 0) return "0";
  std::string cmd = "ls -l /proc/self/fd 2>/dev/null | grep -c 'socket:\\[" + std::to_string(g_startup.socket_inode) + "\\]'";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return "?";
  char buf[32] = {};
  std::string out = fgets(buf, sizeof buf, p) ? buf : "?";
  pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

void add_routes(httplib::Server& server) {
  server.Get("/info", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("pid=" + std::to_string(getpid()) + " listen_pid=" + g_startup.listen_pid +
                        " listen_fds=" + g_startup.listen_fds + " listen_fdnames=" + g_startup.listen_fdnames +
                        " grandchild_listen_sockets=" + grandchild_holds_listen_socket() + "\n",
                    "text/plain");
  });
  server.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("hello from pid " + std::to_string(getpid()) + "\n", "text/plain");
  });
  server.Get("/health", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  server.Get("/slow", [](const httplib::Request& req, httplib::Response& res) {
    int ms = req.has_param("ms") ? std::atoi(req.get_param_value("ms").c_str()) : 500;
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    res.set_content("slow hello from pid " + std::to_string(getpid()) + "\n", "text/plain");
  });
  // While draining, tell keep-alive clients to reconnect (to the next server) instead of
  // closing under them: closing an idle keep-alive connection races with their next
  // request, "Connection: close" on an answer does not.
  server.set_post_routing_handler([](const httplib::Request&, httplib::Response& res) {
    if (g_draining) res.set_header("Connection", "close");
  });
  // httplib writes headers and body separately: without TCP_NODELAY, Nagle's algorithm and
  // delayed ACKs add ~40 ms to every keep-alive answer.
  server.set_tcp_nodelay(true);
  server.set_keep_alive_max_count(100);
  server.set_keep_alive_timeout(1);  // an idle keep-alive connection delays the drain
  server.new_task_queue = [] { return new httplib::ThreadPool(16); };
}

}  // namespace

int main(int argc, char** argv) {
  int port = 8080;
  int health_port = 0;
  int startup_ms = 0;
  const char* mode_file = nullptr;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "http_server: %s needs a value\n", arg.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--port") port = std::atoi(value());
    else if (arg == "--health-port") health_port = std::atoi(value());
    else if (arg == "--startup-ms") startup_ms = std::atoi(value());
    else if (arg == "--mode-file") mode_file = value();
    else {
      std::fprintf(stderr, "http_server: unknown option %s\n", arg.c_str());
      return 2;
    }
  }
  std::string mode = read_mode(mode_file);
  if (mode == "crash") {
    std::fprintf(stderr, "http_server[%d]: crashing on start (mode file says crash)\n", getpid());
    return 3;
  }

  // SIGTERM/SIGINT are taken by a thread of their own (sigwait); every thread inherits
  // the blocked mask. SIGUSR1 interrupts the accept loop (no SA_RESTART).
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigaction(SIGUSR1, &sa, nullptr);

  g_startup.listen_pid = env_or_dash("LISTEN_PID");
  g_startup.listen_fds = env_or_dash("LISTEN_FDS");
  g_startup.listen_fdnames = env_or_dash("LISTEN_FDNAMES");
  if (mode == "never-ready") {
    // A server stuck while starting: holds the socket but never accepts or says READY=1.
    std::fprintf(stderr, "http_server[%d]: hanging in startup (mode file says never-ready)\n", getpid());
    int sig = 0;
    sigwait(&stop_signals, &sig);
    return 0;
  }
  auto inherited = relive::take_listen_fds();  // checks LISTEN_PID, clears LISTEN_*, CLOEXEC
  if (!inherited.empty()) {
    // Accepted sockets inherit TCP_NODELAY from the listening socket (httplib sets it
    // only on sockets it creates). Setting it on the shared socket is harmless.
    int one = 1;
    setsockopt(inherited[0].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct stat st {};
    if (fstat(inherited[0].fd, &st) == 0) g_startup.socket_inode = static_cast<unsigned long>(st.st_ino);
  }
  InheritedSocketServer server;
  add_routes(server);
  httplib::Server health;
  std::thread health_thread;
  if (health_port > 0) {
    health.Get("/health", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("ok " + std::to_string(getpid()) + "\n", "text/plain");
    });
    if (!health.bind_to_port("127.0.0.1", health_port)) {
      std::fprintf(stderr, "http_server[%d]: cannot bind health port %d\n", getpid(), health_port);
      return 1;
    }
  }
  if (inherited.empty() && !server.bind_to_port("127.0.0.1", port)) {
    std::fprintf(stderr, "http_server[%d]: cannot bind 127.0.0.1:%d\n", getpid(), port);
    return 1;
  }
  if (startup_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(startup_ms));

  pthread_t accept_thread = pthread_self();
  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    g_draining = true;
    if (health_port > 0) health.stop();  // its own socket: stop() is fine here
    if (inherited.empty()) {
      server.stop();
      return;
    }
    // Put a socket that is not listening in place of ours (dup2 closes only our
    // reference to the shared socket) and interrupt accept(): httplib retries accept on
    // EINTR, gets EINVAL from the stand-in and ends its loop. Repeat the signal: one
    // landing between two accepts would be lost.
    int stand_in = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    dup2(stand_in, inherited[0].fd);
    close(stand_in);
    while (!g_accept_loop_done) {
      pthread_kill(accept_thread, SIGUSR1);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  if (health_port > 0) health_thread = std::thread([&] { health.listen_after_bind(); });

  relive::notify_ready();  // accepting from here on (connections wait in the backlog)
  std::fprintf(stderr, "http_server[%d]: serving on %s\n", getpid(),
               inherited.empty() ? ("127.0.0.1:" + std::to_string(port)).c_str()
                                 : ("inherited fd " + std::to_string(inherited[0].fd) + " (" + inherited[0].name + ")").c_str());
  if (inherited.empty()) server.listen_after_bind();
  else server.listen_on(inherited[0].fd);  // returns after the drain: in-flight requests done
  g_accept_loop_done = true;
  if (!g_draining) {
    std::fprintf(stderr, "http_server[%d]: accept loop failed\n", getpid());
    pthread_kill(signal_thread.native_handle(), SIGTERM);
  }
  signal_thread.join();
  if (health_thread.joinable()) health_thread.join();
  std::fprintf(stderr, "http_server[%d]: drained, exiting\n", getpid());
  return 0;
}
