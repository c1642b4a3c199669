// examples/live_handler end to end over loopback: a real server, real g++ builds of an
// edited handler, real HTTP requests under a bounded load while it swaps.
#include <gtest/gtest.h>

#ifdef RELIVE_TEST_LIVE_HANDLER
#include <httplib.h>

#include <atomic>
#include <regex>
#include <thread>

#include "module_test_util.hpp"

namespace relive::test {
namespace {

struct LiveServer {
  TempDir dir;
  uint16_t port = 0;
  std::unique_ptr<Process> server;

  fs::path src() const { return dir / "src" / "handler.cpp"; }
  std::string build_command() const {
    return std::string(RELIVE_TEST_LIVE_HANDLER_DIR) + "/build_handler.sh " + src().string() + " " +
           (dir / "libhandler.so").string();
  }
  void edit(const std::string& from, const std::string& to) {
    std::string text = read_file(src());
    auto at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
    write_file(src(), text);
  }
  void start() {
    fs::create_directories(dir / "src");
    const fs::path example = RELIVE_TEST_LIVE_HANDLER_DIR;
    fs::copy_file(example / "handler.cpp", src());
    fs::copy_file(example / "handler_api.hpp", dir / "src" / "handler_api.hpp");
    Process build({"/bin/sh", "-c", build_command()});
    ASSERT_EQ(build.wait(std::chrono::seconds(120)), 0) << build.output();
    port = free_loopback_port();
    ASSERT_NE(port, 0);
    server = std::make_unique<Process>(std::vector<std::string>{
        RELIVE_TEST_LIVE_HANDLER, "--port", std::to_string(port), "--module", (dir / "libhandler.so").string(),
        "--build", build_command(), "--watch", (dir / "src").string()},
        with_preflight_env());
    ASSERT_TRUE(server->wait_for_output("listening on", std::chrono::seconds(20))) << server->output();
  }
  // The body of GET path, or "" on failure.
  std::string get(const std::string& path = "/") const {
    httplib::Client c("127.0.0.1", port);
    c.set_connection_timeout(5);
    c.set_read_timeout(10);
    auto r = c.Get(path);
    if (!r || r->status != 200) return "";
    return r->body;
  }
};

long request_number(const std::string& body) {
  std::smatch m;
  if (!std::regex_search(body, m, std::regex("request ([0-9]+)"))) return -1;
  return std::stol(m[1]);
}

TEST(LiveHandlerE2E, EditRebuildsAndSwapsUnderLoadBrokenEditsKeepTheOldCode) {
  LiveServer s;
  ASSERT_NO_FATAL_FAILURE(s.start());
  ASSERT_NE(s.get().find("version 1"), std::string::npos) << s.server->output();

  // A bounded load: two clients, each at most 20,000 requests, until told to stop.
  std::atomic<bool> stop{false};
  std::atomic<long> ok{0}, failed{0};
  auto client = [&] {
    httplib::Client c("127.0.0.1", s.port);
    c.set_keep_alive(true);
    c.set_read_timeout(10);
    for (int i = 0; i < 20000 && !stop; ++i) {
      auto r = c.Get("/load");
      if (r && r->status == 200 && r->body.find("hello from the live handler") != std::string::npos) ok++;
      else failed++;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  };
  std::thread c1(client), c2(client);

  // 1. An edit: the next answers come from the new code, the counter carried on.
  const long before = request_number(s.get());
  s.edit("version 1", "version 2");
  std::string body;
  EXPECT_TRUE(eventually([&] { return (body = s.get()).find("version 2") != std::string::npos; },
                         std::chrono::seconds(90)))
      << s.server->output();
  EXPECT_GT(request_number(body), before) << body;

  // 2. A compile error: the old code keeps answering, the cause is printed.
  s.edit("version 2", "version 3\" this does not compile");
  EXPECT_TRUE(s.server->wait_for_output("build failed", std::chrono::seconds(90))) << s.server->output();
  EXPECT_NE(s.get().find("version 2"), std::string::npos);
  EXPECT_NE(s.get("/__status").find("last-error build-failed"), std::string::npos) << s.get("/__status");

  // 3. A handler that crashes when created: refused by the preflight, old code answers.
  s.edit("version 3\" this does not compile", "version 4");
  s.edit("    if (previous.present)",
         "    static volatile std::uintptr_t bad = 8;\n    *reinterpret_cast<volatile int*>(bad) = 1;\n"
         "    if (previous.present)");
  EXPECT_TRUE(s.server->wait_for_output("killed by SIGSEGV", std::chrono::seconds(90))) << s.server->output();
  EXPECT_NE(s.get().find("version 2"), std::string::npos);

  stop = true;
  c1.join();
  c2.join();
  EXPECT_GT(ok.load(), 0);
  EXPECT_EQ(failed.load(), 0) << "failed requests while swapping";
  EXPECT_NE(s.get("/__status").find("generation 2 "), std::string::npos) << s.get("/__status");
}

}  // namespace
}  // namespace relive::test
#else
namespace relive::test {
TEST(LiveHandlerE2E, ExampleIsBuilt) {
  FAIL() << "examples/live_handler was not built (RELIVE_BUILD_EXAMPLES=OFF or cpp-httplib missing)";
}
}  // namespace relive::test
#endif
