// Child: start in its own group, environment and fds handed over, exit statuses, errors.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include "relive/supervisor.hpp"
#include "supervisor_test_util.hpp"

namespace relive::test {
namespace {

using supervisor::Child;
using supervisor::ChildSpec;
using supervisor::ExitStatus;

ExitStatus wait_exit(Child& child) {
  pollfd p{child.pidfd(), POLLIN, 0};
  ::poll(&p, 1, 10000);
  std::optional<ExitStatus> s;
  eventually([&] { return (s = child.try_reap()).has_value(); }, 10s);
  EXPECT_TRUE(s.has_value()) << "child " << child.pid() << " did not exit";
  return s.value_or(ExitStatus{});
}

TEST(FindProgram, FindsOnPathAndNamesWhatIsMissing) {
  auto sh = supervisor::find_program("sh");
  ASSERT_TRUE(sh) << sh.error().message;
  EXPECT_EQ(access(sh->c_str(), X_OK), 0);
  auto missing = supervisor::find_program("relive-no-such-command-xyz");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "command not found: relive-no-such-command-xyz");
  auto missing_path = supervisor::find_program("./no/such/thing");
  ASSERT_FALSE(missing_path);
  EXPECT_EQ(missing_path.error().message, "command not found: ./no/such/thing");
}

TEST(Child, RunsInItsOwnProcessGroupAndReportsItsStatus) {
  auto child = Child::start({.argv = {"sh", "-c", "exit 3"}});
  ASSERT_TRUE(child) << child.error().message;
  // The group exists as soon as start() returns (both sides call setpgid).
  pid_t pgid = getpgid((*child)->pid());
  EXPECT_TRUE(pgid == (*child)->pid() || pgid < 0);  // < 0: already reaped-ready zombie
  auto status = wait_exit(**child);
  EXPECT_EQ(status.code, 3);
  EXPECT_EQ(status.signal, 0);
  EXPECT_EQ(status.describe(), "exited with status 3");
  EXPECT_FALSE(in_proc_table((*child)->pid()));
}

TEST(Child, GroupSignalReachesTheGroup) {
  auto child = Child::start({.argv = {"sleep", "1000"}});
  ASSERT_TRUE(child) << child.error().message;
  EXPECT_EQ(getpgid((*child)->pid()), (*child)->pid());
  EXPECT_NE(getpgid((*child)->pid()), getpgrp());
  EXPECT_TRUE((*child)->signal_group(SIGTERM));
  auto status = wait_exit(**child);
  EXPECT_EQ(status.signal, SIGTERM);
  EXPECT_EQ(status.shell_status(), 143);
  EXPECT_EQ(status.describe(), "was killed by SIGTERM");
}

TEST(Child, GetsEnvironmentFdsAndItsOwnListenPid) {
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  ChildSpec spec;
  spec.argv = {"sh", "-c", "echo \"$RELIVE_TEST_VAR $LISTEN_PID $$ ${GONE:-unset}\" >&3"};
  spec.env = {"RELIVE_TEST_VAR=hello"};
  spec.unset_env = {"GONE"};
  spec.pass_fds = {p[1]};
  spec.set_listen_pid = true;
  setenv("GONE", "still-here", 1);
  auto child = Child::start(spec);
  unsetenv("GONE");
  ASSERT_TRUE(child) << child.error().message;
  close(p[1]);
  std::string out;
  char buf[256];
  ssize_t n;
  while ((n = read(p[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(p[0]);
  auto pid = std::to_string((*child)->pid());
  EXPECT_EQ(out, "hello " + pid + " " + pid + " unset\n");
  EXPECT_EQ(wait_exit(**child).code, 0);
}

TEST(Child, ShellModeRunsThroughSh) {
  auto child = Child::start({.argv = {"exit", "$((2+5))"}, .shell = true});
  ASSERT_TRUE(child) << child.error().message;
  EXPECT_EQ(wait_exit(**child).code, 7);
}

TEST(Child, MissingOrUnrunnableProgramIsAnError) {
  auto missing = Child::start({.argv = {"relive-no-such-command-xyz"}});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "command not found: relive-no-such-command-xyz");
  TempDir dir;
  write_file(dir / "not-executable", "#!/bin/sh\n");
  auto denied = Child::start({.argv = {(dir / "not-executable").string()}});
  ASSERT_FALSE(denied);
  EXPECT_NE(denied.error().message.find("not-executable"), std::string::npos) << denied.error().message;
}

}  // namespace
}  // namespace relive::test
