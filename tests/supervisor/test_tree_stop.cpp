// TreeStop: the whole tree goes — group, descendants, and a double-forked setsid daemon —
// and a child that ignores the stop signal is killed after the timeout.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "../../src/supervisor/tree.hpp"
#include "relive/supervisor.hpp"
#include "supervisor_test_util.hpp"

namespace relive::test {
namespace {

using supervisor::Child;
using supervisor::TreeStop;

// Level 1 starts level 2, which starts a sleeper (level 3) and a daemon that double-forks
// and calls setsid (so it leaves the group and re-parents to us, the subreaper).
void write_tree_scripts(const TempDir& dir) {
  write_file(dir / "level1.sh", "echo $$ > l1.tmp && mv l1.tmp l1.pid\nsh ./level2.sh &\nwait\n");
  write_file(dir / "level2.sh",
             "echo $$ > l2.tmp && mv l2.tmp l2.pid\n"
             "sleep 1000 &\necho $! > l3.tmp && mv l3.tmp l3.pid\n"
             "( setsid sh ./daemon.sh & )\n"
             "wait\n");
  write_file(dir / "daemon.sh", "echo $$ > d.tmp && mv d.tmp daemon.pid\nexec sleep 1000\n");
}

class TreeStopTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0); }
};

TEST_F(TreeStopTest, StopsEveryLevelAndTheDaemonAndReapsThem) {
  TempDir dir;
  write_tree_scripts(dir);
  auto child = Child::start({.argv = {"sh", "./level1.sh"}, .cwd = dir.path()});
  ASSERT_TRUE(child) << child.error().message;
  std::vector<pid_t> pids;
  for (auto name : {"l1.pid", "l2.pid", "l3.pid", "daemon.pid"}) {
    pid_t pid = read_pid_file(dir / name);
    ASSERT_GT(pid, 0) << name << " never appeared";
    pids.push_back(pid);
  }
  pid_t daemon = pids.back();
  // The daemon left the group and (once its parent subshell is gone) re-parented to us.
  EXPECT_NE(getpgid(daemon), (*child)->pid());
  auto members = supervisor::find_tree(**child, {});
  for (pid_t pid : pids) {
    EXPECT_TRUE(std::any_of(members.begin(), members.end(), [&](auto& m) { return m.pid == pid; }))
        << "pid " << pid << " not found in the tree";
  }

  std::optional<supervisor::ExitStatus> main_status;
  TreeStop stop(child->get(), {.stop_signal = SIGTERM,
                               .timeout = std::chrono::milliseconds(5000),
                               .on_reaped = [&](pid_t pid, supervisor::ExitStatus s) {
                                 if (pid == (*child)->pid()) main_status = s;
                               }});
  ASSERT_TRUE(drive(stop));
  EXPECT_FALSE(stop.killed());
  for (pid_t pid : pids) EXPECT_FALSE(in_proc_table(pid)) << "pid " << pid << " left behind (or a zombie)";
  ASSERT_TRUE(main_status.has_value());
  EXPECT_EQ(main_status->signal, SIGTERM);
}

TEST_F(TreeStopTest, KillsWhatIgnoresTheStopSignalAfterTheTimeout) {
  TempDir dir;
  // The ignored disposition is inherited by the sleeps too.
  write_file(dir / "stubborn.sh", "trap '' TERM\necho $$ > p.tmp && mv p.tmp stubborn.pid\n"
                                  "while :; do sleep 1; done\n");
  auto child = Child::start({.argv = {"sh", "./stubborn.sh"}, .cwd = dir.path()});
  ASSERT_TRUE(child) << child.error().message;
  pid_t pid = read_pid_file(dir / "stubborn.pid");
  ASSERT_GT(pid, 0);
  TreeStop stop(child->get(), {.stop_signal = SIGTERM, .timeout = std::chrono::milliseconds(300)});
  ASSERT_TRUE(drive(stop));
  EXPECT_TRUE(stop.killed());
  EXPECT_FALSE(in_proc_table(pid));
}

TEST_F(TreeStopTest, AChildThatAlreadyExitedLeavesNothingToStop) {
  auto child = Child::start({.argv = {"true"}});
  ASSERT_TRUE(child) << child.error().message;
  pid_t pid = (*child)->pid();
  TreeStop stop(child->get(), {});
  ASSERT_TRUE(drive(stop));
  EXPECT_FALSE(stop.killed());
  EXPECT_FALSE(in_proc_table(pid));
}

TEST_F(TreeStopTest, LeavesOtherGenerationsAlone) {
  auto old_child = Child::start({.argv = {"sleep", "1000"}});
  ASSERT_TRUE(old_child) << old_child.error().message;
  auto new_child = Child::start({.argv = {"sleep", "1000"}});
  ASSERT_TRUE(new_child) << new_child.error().message;
  TreeStop stop(old_child->get(), {.exclude_roots = {(*new_child)->pid()},
                                   .newer_generation_ticks = (*new_child)->start_ticks()});
  ASSERT_TRUE(drive(stop));
  EXPECT_FALSE(in_proc_table((*old_child)->pid()));
  EXPECT_TRUE(process_alive((*new_child)->pid()));
  TreeStop stop_new(new_child->get(), {});
  ASSERT_TRUE(drive(stop_new));
  EXPECT_FALSE(in_proc_table((*new_child)->pid()));
}

}  // namespace
}  // namespace relive::test
