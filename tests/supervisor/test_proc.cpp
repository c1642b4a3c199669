// proc::reap_pidfd: the one waitid(P_PIDFD) -> ExitStatus conversion that Child and TreeStop
// share, checked against real children (plain fork, no Child in between).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../src/supervisor/proc.hpp"
#include "supervisor_test_util.hpp"

namespace relive::test {
namespace {

namespace proc = supervisor::proc;

// A forked child that runs `body` and _exits with its result; reaped (if still unreaped)
// and killed on destruction so a failing test leaves nothing behind.
struct ForkedChild {
  pid_t pid = -1;
  int pidfd = -1;
  template <class Body>
  explicit ForkedChild(Body body) {
    pid = fork();
    if (pid == 0) _exit(body());
    pidfd = proc::pidfd_open(pid);
  }
  ~ForkedChild() {
    if (pidfd >= 0) close(pidfd);
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, WNOHANG);
  }
  // Waits (up to 10 s) until the child has exited; does not reap.
  bool exited() const {
    pollfd p{pidfd, POLLIN, 0};
    return ::poll(&p, 1, 10000) == 1;
  }
};

TEST(ReapPidfd, ReportsTheExitCodeOnceAndNothingWhileRunning) {
  int gate[2];
  ASSERT_EQ(pipe2(gate, O_CLOEXEC), 0);
  ForkedChild child([&] {
    char c;
    return read(gate[0], &c, 1) == 1 ? 3 : 99;  // exits 3 once the test lets it
  });
  ASSERT_GE(child.pidfd, 0);
  EXPECT_FALSE(proc::reap_pidfd(child.pidfd, child.pid)) << "still running";
  ASSERT_EQ(write(gate[1], "x", 1), 1);
  close(gate[0]);
  close(gate[1]);
  ASSERT_TRUE(child.exited());
  auto status = proc::reap_pidfd(child.pidfd, child.pid);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->code, 3);
  EXPECT_EQ(status->signal, 0);
  EXPECT_FALSE(status->core);
  EXPECT_FALSE(in_proc_table(child.pid)) << "reaped";
  EXPECT_FALSE(proc::reap_pidfd(child.pidfd, child.pid)) << "a second reap finds nothing";
}

TEST(ReapPidfd, ReportsTheSignalThatKilledIt) {
  ForkedChild child([] {
    pause();
    return 0;
  });
  ASSERT_GE(child.pidfd, 0);
  ASSERT_TRUE(proc::pidfd_signal(child.pidfd, SIGTERM));
  ASSERT_TRUE(child.exited());
  auto status = proc::reap_pidfd(child.pidfd, child.pid);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->signal, SIGTERM);
  EXPECT_EQ(status->code, 0);
  EXPECT_EQ(status->shell_status(), 128 + SIGTERM);
}

}  // namespace
}  // namespace relive::test
