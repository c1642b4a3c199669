// live_handler — an HTTP server that never stops while its request handling changes.
//
//   build/examples/live_handler/live_handler [--port 8080] [--module FILE.so]
//       [--build "CMD"] [--watch DIR]... [--no-live]
//
// Every GET is answered by the handler module (handler.cpp, interface handler_api.hpp),
// pinned for the whole request. With the defaults, saving examples/live_handler/handler.cpp
// rebuilds the module (`cmake --build <build> --target live_handler_module`), tries it in a
// helper process, and swaps it in: the next request gets the new code, requests in flight
// finish on the old one, and the request counter (the module's state) carries over. A
// broken edit (a compile error, a handler that crashes in its constructor) leaves the old
// code answering; the cause is printed on stderr.
//
// GET /__status answers "generation N served M last-error ..." from the server itself.
// --no-live loads the module once and never watches (to compare with restarting the whole
// server under `relive --socket 8080 --graceful -- live_handler --no-live`); a socket
// inherited that way (LISTEN_FDS) is used instead of binding --port.
#include <httplib.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "handler_api.hpp"
#include "relive/listen_fds.hpp"
#include "relive/module.hpp"

namespace {

class Server : public httplib::Server {
 public:
  bool listen_on(int fd) {
    svr_sock_ = fd;
    return listen_after_bind();
  }
};

int usage() {
  std::fprintf(stderr,
               "usage: live_handler [--port N] [--module FILE.so] [--build CMD] [--watch DIR]... [--no-live]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int port = 8080;
  relive::module::Options options;
  options.path = LIVE_HANDLER_MODULE;
  options.build_command = LIVE_HANDLER_BUILD;
  std::vector<std::filesystem::path> watch;
  bool live = true;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (a == "--port" && (v = value())) {
      port = std::atoi(v);
    } else if (a == "--module" && (v = value())) {
      options.path = v;
    } else if (a == "--build" && (v = value())) {
      options.build_command = v;
    } else if (a == "--watch" && (v = value())) {
      watch.emplace_back(v);
    } else if (a == "--no-live") {
      live = false;
    } else {
      return usage();
    }
  }
  if (watch.empty()) watch.emplace_back(LIVE_HANDLER_SOURCES);
  if (live) options.watch_paths = watch;
  // This build tree's preflight helper (an installed relive finds its own in libexec/).
  if (options.preflight_helper.empty()) options.preflight_helper = LIVE_HANDLER_PREFLIGHT;
  options.on_message = [](const std::string& m) {
    std::fprintf(stderr, "live_handler: %s\n", m.c_str());
    std::fflush(stderr);
  };
  auto inherited = relive::take_listen_fds();

  // SIGTERM/SIGINT are taken by a thread of their own (blocked before any thread starts).
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto module = relive::module::Module<Handler>::open(std::move(options));
  if (!module) {
    std::fprintf(stderr, "live_handler: %s\n", module.error().message.c_str());
    return 1;
  }
  auto& handler = *module;

  Server server;
  server.Get("/__status", [&](const httplib::Request&, httplib::Response& res) {
    auto st = handler->status();
    std::string body = "generation " + std::to_string(st.generation) + " served " +
                       std::to_string(handler->pin()->served()) + " failures " + std::to_string(st.failures);
    if (st.error) body += " last-error " + std::string(relive::module::to_string(st.cause)) + ": " + *st.error;
    res.set_content(body + "\n", "text/plain");
  });
  server.Get(R"(/.*)", [&](const httplib::Request& req, httplib::Response& res) {
    auto h = handler->pin();  // one generation for the whole request
    res.set_header("X-Generation", std::to_string(h.generation()));
    res.set_content(h->handle(req.path), "text/plain");
  });

  int fd = inherited.empty() ? -1 : inherited.front().fd;
  if (fd < 0 && !server.bind_to_port("127.0.0.1", port)) {
    std::fprintf(stderr, "live_handler: cannot listen on 127.0.0.1:%d: %s\n", port, std::strerror(errno));
    return 1;
  }
  std::thread signals([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    if (fd >= 0) {
      // Never shutdown(2) an inherited socket (it is shared with the next server): put a
      // stand-in in its place, then stop the accept loop.
      int standin = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      ::dup2(standin, fd);
      ::close(standin);
    }
    server.stop();
  });
  std::printf("live_handler: listening on 127.0.0.1:%d, generation %llu%s\n", port,
              static_cast<unsigned long long>(handler->status().generation), live ? ", live" : "");
  std::fflush(stdout);
  relive::notify_ready();
  bool ok = fd >= 0 ? server.listen_on(fd) : server.listen_after_bind();
  pthread_kill(signals.native_handle(), SIGTERM);
  signals.join();
  return ok ? 0 : 1;
}
