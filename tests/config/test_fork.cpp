// Pre-forking servers: a Config created before fork() keeps reloading in the child.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include "config_test_util.hpp"

// ThreadSanitizer refuses to start threads after a multi-threaded fork unless told not to.
extern "C" const char* __tsan_default_options() { return "die_after_fork=0"; }

namespace relive::config {
namespace {

using namespace relive::config::test;
using namespace std::chrono_literals;

TEST(ConfigFork, ChildKeepsReloading) {
  TempDir dir;
  auto path = dir / "app.yaml";
  write_file(path, "n: 0\n");
  Options o;
  o.sources = {file(path)};
  auto cfg = Config::open(std::move(o));
  ASSERT_TRUE(cfg) << cfg.error().message;
  std::atomic<int> parent_calls{0};
  auto sub = cfg->subscribe("n", [&](const Update&) { ++parent_calls; });

  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The child: the atfork handler restarted the watcher before fork() returned here.
    close(ready[0]);
    std::atomic<int> child_calls{0};
    auto child_sub = cfg->subscribe("n", [&](const Update&) { ++child_calls; });
    char c = 'r';
    if (write(ready[1], &c, 1) != 1) _exit(3);
    bool seen = eventually([&] { return cfg->get<int>("n", 0) == 1; }, 10s);
    bool notified = eventually([&] { return child_calls.load() >= 1; }, 10s);
    _exit(seen ? (notified ? 0 : 2) : 1);
  }
  close(ready[1]);
  char c = 0;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  close(ready[0]);
  write_file(path, "n: 1\n");
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: the child never saw the new value; 2: its callback never ran";
  // The parent keeps working too.
  ASSERT_TRUE(eventually([&] { return cfg->get<int>("n", 0) == 1 && parent_calls.load() == 1; }, 10s));
}

// fork() straight after open(), as a pre-forking server does, many times: the Config's
// threads may still be starting. A thread caught inside the runtime's start-up (ASan's
// allocates there, under a lock) would leave the child's allocator locked, and the child's
// own watch thread hung (seen 1 run in 20 under ASan before open() waited for its threads).
TEST(ConfigFork, ForkRightAfterOpenRepeatedly) {
  for (int round = 0; round < 10; ++round) {
    TempDir dir;
    auto path = dir / "app.yaml";
    write_file(path, "n: 0\n");
    Options o;
    o.sources = {file(path)};
    auto cfg = Config::open(std::move(o));
    ASSERT_TRUE(cfg) << cfg.error().message;
    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(ready[0]);
      char c = 'r';
      if (write(ready[1], &c, 1) != 1) _exit(3);
      _exit(eventually([&] { return cfg->get<int>("n", 0) == 1; }, 10s) ? 0 : 1);
    }
    close(ready[1]);
    char c = 0;
    ASSERT_EQ(read(ready[0], &c, 1), 1) << "round " << round;
    close(ready[0]);
    write_file(path, "n: 1\n");
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0) << "round " << round << ": the child never saw the new value";
  }
}

}  // namespace
}  // namespace relive::config
