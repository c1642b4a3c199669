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
  SKIP_WITHOUT_WATCHER();
#if defined(__SANITIZE_ADDRESS__)
  // Known defect, open: under ASan on a loaded machine the child once missed the reload
  // (1 run in ~8). Suspected: a lock held by one of the parent's threads at fork() (the
  // logger's or the watcher's) that the atfork handlers do not cover. Runs in the other builds.
  GTEST_SKIP() << "known fork-safety race under ASan; see the note in this test";
#endif
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

}  // namespace
}  // namespace relive::config
