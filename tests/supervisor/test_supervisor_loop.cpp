// Supervisor: the restart loop driven through on_batch (no watcher), with real children.
// Each test runs the loop on the test's main thread and acts from a helper thread, which
// is started after Supervisor::create() blocked the loop's signals (so it inherits that).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "../../src/supervisor/supervisor_access.hpp"
#include "relive/supervisor.hpp"
#include "relive/watch.hpp"
#include "supervisor_test_util.hpp"

namespace relive::test {
namespace {

using supervisor::Event;
using supervisor::Supervisor;

// A Supervisor with an eventfd that makes it see a change to "app.py".
struct Harness {
  TempDir dir;
  int trigger = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  std::unique_ptr<Supervisor> sup;
  std::mutex mu;
  std::vector<Event> events;

  ~Harness() { close(trigger); }

  void create(supervisor::Options options) {
    options.on_event = [this](const Event& e) {
      std::lock_guard lock(mu);
      events.push_back(e);
    };
    options.extra_fds.push_back({trigger, [this] {
                                   uint64_t v;
                                   if (read(trigger, &v, sizeof v) != sizeof v) return;
                                   watch::Batch batch;
                                   watch::PathChange change;
                                   change.root = ".";
                                   change.path = "app.py";
                                   batch.changes.push_back(change);
                                   supervisor::SupervisorAccess::on_batch(*sup, batch);
                                 }});
    auto s = Supervisor::create(std::move(options), nullptr);
    ASSERT_TRUE(s) << s.error().message;
    sup = std::move(*s);
  }
  void change() {
    uint64_t one = 1;
    ASSERT_EQ(write(trigger, &one, sizeof one), 8);
  }
  size_t count(Event::Kind kind) {
    std::lock_guard lock(mu);
    return static_cast<size_t>(std::count_if(events.begin(), events.end(), [&](auto& e) { return e.kind == kind; }));
  }
  std::vector<std::string> lines(const char* name) { return read_complete_lines(dir / name); }
};

// The child appends "<pid> <RELIVE_CHANGED_PATHS>" to starts.log, then waits.
const char* kChild = "echo \"$$ ${RELIVE_CHANGED_PATHS:-none}\" >> starts.log; exec sleep 1000";

TEST(SupervisorLoop, RestartsOnChangeStoppingTheOldChildFirst) {
  Harness h;
  h.create({.command = {"sh", "-c", std::string("cd ") + h.dir.path().string() + " && " + kChild}});
  std::thread actor([&] {
    EXPECT_TRUE(eventually([&] { return h.lines("starts.log").size() == 1; }, 10s));
    h.change();
    EXPECT_TRUE(eventually([&] { return h.lines("starts.log").size() == 2; }, 10s));
    h.sup->request_exit();
  });
  int status = h.sup->run();
  actor.join();
  EXPECT_EQ(status, 0);
  auto starts = h.lines("starts.log");
  ASSERT_EQ(starts.size(), 2u);
  EXPECT_EQ(starts[0].substr(starts[0].find(' ') + 1), "none");
  EXPECT_EQ(starts[1].substr(starts[1].find(' ') + 1), "app.py");
  for (auto& s : starts) EXPECT_FALSE(in_proc_table(std::stoi(s))) << s;
  EXPECT_EQ(h.count(Event::Kind::Start), 2u);
  EXPECT_EQ(h.count(Event::Kind::Stop), 2u);  // the restart's and the final one
  EXPECT_EQ(h.count(Event::Kind::Changes), 1u);
}

TEST(SupervisorLoop, FailingBuildLeavesTheRunningChildAlone) {
  Harness h;
  std::string cd = "cd " + h.dir.path().string() + " && ";
  h.create({.command = {"sh", "-c", cd + kChild}, .build = cd + "test ! -f break-the-build"});
  std::thread actor([&] {
    EXPECT_TRUE(eventually([&] { return h.lines("starts.log").size() == 1; }, 10s));
    write_file(h.dir / "break-the-build", "");
    h.change();
    EXPECT_TRUE(eventually([&] { return h.count(Event::Kind::BuildEnd) == 2; }, 10s));
    // Now a good build restarts it.
    std::filesystem::remove(h.dir / "break-the-build");
    h.change();
    EXPECT_TRUE(eventually([&] { return h.lines("starts.log").size() == 2; }, 10s));
    h.sup->request_exit();
  });
  h.sup->run();
  actor.join();
  std::lock_guard lock(h.mu);
  std::vector<std::string> kinds;
  for (auto& e : h.events) {
    kinds.push_back(supervisor::to_string(e.kind));
    if (e.kind == Event::Kind::BuildEnd) kinds.back() += e.success ? ":ok" : ":failed";
  }
  std::vector<std::string> want = {"build_start", "build_end:ok",     "start", "changes",
                                   "build_start", "build_end:failed", "changes", "build_start",
                                   "build_end:ok", "stop",            "start", "stop"};
  EXPECT_EQ(kinds, want);
}

TEST(SupervisorLoop, ExitStatusFollowsTheSignalOrTheChild) {
  for (auto [sig, script, want] : {std::tuple{SIGTERM, "exec sleep 1000", 143},
                                   std::tuple{SIGINT, "exec sleep 1000", 130},
                                   std::tuple{SIGINT, "trap 'exit 3' INT; echo ready > ready.txt; while :; do sleep 0.05; done", 3}}) {
    Harness h;
    std::string cmd = "cd " + h.dir.path().string() + " && echo ready > ready.txt && " + script;
    h.create({.command = {"sh", "-c", cmd}});
    std::thread actor([&, sig = sig] {
      EXPECT_TRUE(eventually([&] { return std::filesystem::exists(h.dir / "ready.txt"); }, 10s));
      kill(getpid(), sig);
    });
    int status = h.sup->run();
    actor.join();
    EXPECT_EQ(status, want) << "signal " << sig << " with: " << script;
  }
}

TEST(SupervisorLoop, RestartOnExitBacksOff) {
  Harness h;
  h.create({.command = {"sh", "-c", "cd " + h.dir.path().string() + " && echo $$ >> starts.log; exit 1"},
            .restart_on_exit = true,
            .backoff_initial = std::chrono::milliseconds(20),
            .backoff_max = std::chrono::milliseconds(80)});
  std::thread actor([&] {
    EXPECT_TRUE(eventually([&] { return h.lines("starts.log").size() >= 4; }, 10s));
    h.sup->request_exit();
  });
  h.sup->run();
  actor.join();
  EXPECT_GE(h.count(Event::Kind::Exit), 3u);
}

}  // namespace
}  // namespace relive::test
