// The supervisor's small pieces on their own: the ordered control queue, the build
// runner (a real /bin/sh build) and the event loop (a real epoll set, signalfd, timerfd).
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <fcntl.h>

#include "../../src/supervisor/build_runner.hpp"
#include "../../src/supervisor/control_queue.hpp"
#include "../../src/supervisor/event_loop.hpp"
#include "supervisor_test_util.hpp"

namespace relive::test {
namespace {

using supervisor::Control;
using supervisor::ControlQueue;

std::vector<Control> drain(ControlQueue& q) {
  std::vector<Control> out;
  while (auto c = q.pop()) out.push_back(*c);
  return out;
}

TEST(SupervisorPieces, ControlQueueKeepsTheOrderOfARestart) {
  ControlQueue q;
  q.push_restart(/*with_build=*/true, /*overlapped=*/false);
  EXPECT_TRUE(q.contains(Control::Start));
  EXPECT_EQ(drain(q), (std::vector<Control>{Control::Build, Control::Stop, Control::Start}));
  q.push_restart(/*with_build=*/false, /*overlapped=*/true);
  EXPECT_FALSE(q.contains(Control::Start));
  EXPECT_EQ(drain(q), (std::vector<Control>{Control::StartNext}));
  EXPECT_TRUE(q.empty());
}

TEST(SupervisorPieces, ControlQueueFollowUpIsItsChangesAndBecomesTheCurrentOnes) {
  ControlQueue q;
  EXPECT_FALSE(q.has_followup());
  supervisor::ChangeSet a;
  a.add("a.py");
  q.current().merge(a);
  supervisor::ChangeSet b;
  b.add("b.py");
  q.queue_followup(b);
  EXPECT_TRUE(q.has_followup());
  EXPECT_EQ(q.take_current().paths, std::vector<std::string>{"a.py"});
  EXPECT_TRUE(q.current().empty());
  q.begin_followup();
  EXPECT_FALSE(q.has_followup());
  EXPECT_EQ(q.current().paths, std::vector<std::string>{"b.py"});
  supervisor::ChangeSet lost;
  lost.rescan = true;  // a rescan with no paths still needs its cycle
  q.queue_followup(lost);
  EXPECT_TRUE(q.has_followup());
  q.drop_followup();
  EXPECT_FALSE(q.has_followup());
}

TEST(SupervisorPieces, BuildRunnerReportsTheBuildsOutcomeWithTheChangedPaths) {
  TempDir dir;
  auto out = dir / "paths.txt";
  supervisor::BuildRunner build("printf '%s' \"$RELIVE_CHANGED_PATHS\" > " + out.string() + "; exit 3");
  ASSERT_TRUE(build.configured());
  supervisor::ChangeSet changes;
  changes.add("src/a.c");
  auto started = build.start(changes);
  ASSERT_TRUE(started) << started.error().message;
  EXPECT_EQ(started->kind, supervisor::Event::Kind::BuildStart);
  ASSERT_TRUE(build.running());
  EXPECT_TRUE(eventually([&] { return build.child()->peek_status().has_value(); }, 10s));
  auto end = build.finish();
  EXPECT_EQ(end.kind, supervisor::Event::Kind::BuildEnd);
  EXPECT_FALSE(end.success);
  ASSERT_TRUE(end.status);
  EXPECT_EQ(end.status->code, 3);
  EXPECT_FALSE(build.running());
  EXPECT_EQ(read_file(out), "src/a.c");
}

TEST(SupervisorPieces, ACancelledBuildIsAFailureWithTheStopSignal) {
  supervisor::BuildRunner build("exec sleep 1000");
  auto started = build.start({});
  ASSERT_TRUE(started) << started.error().message;
  ASSERT_TRUE(build.child()->signal_group(SIGKILL));
  EXPECT_TRUE(eventually([&] { return build.child()->exited(); }, 10s));
  auto end = build.finish(/*cancelled=*/true, SIGTERM);
  EXPECT_FALSE(end.success);
  ASSERT_TRUE(end.status);
  EXPECT_EQ(end.status->signal, SIGTERM);  // its status was never read: the stop's signal
}

TEST(SupervisorPieces, EventLoopReturnsTheTagsOfReadyFdsAndItsOwnWakeAndSignals) {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGUSR2);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &mask, nullptr), 0);
  auto loop = supervisor::EventLoop::create(mask);
  ASSERT_TRUE(loop) << loop.error().message;
  auto timer = supervisor::Timer::create();
  ASSERT_TRUE(timer) << timer.error().message;
  (*loop)->add(timer->fd(), 77);
  ASSERT_TRUE(timer->arm(std::chrono::milliseconds(1)));
  auto ready = (*loop)->wait(10000);
  ASSERT_TRUE(ready) << ready.error().message;
  EXPECT_EQ(*ready, std::vector<uint64_t>{77});
  timer->clear();
  timer->disarm();

  (*loop)->wake();
  ready = (*loop)->wait(10000);
  ASSERT_TRUE(ready);
  EXPECT_EQ(*ready, std::vector<uint64_t>{supervisor::EventLoop::kWakeTag});
  (*loop)->clear_wake();

  ASSERT_EQ(kill(getpid(), SIGUSR2), 0);
  ready = (*loop)->wait(10000);
  ASSERT_TRUE(ready);
  EXPECT_EQ(*ready, std::vector<uint64_t>{supervisor::EventLoop::kSignalTag});
  std::vector<int> signals;
  (*loop)->read_signals([&](int sig, pid_t) { signals.push_back(sig); });
  EXPECT_EQ(signals, std::vector<int>{SIGUSR2});
  EXPECT_FALSE((*loop)->degraded());
  ready = (*loop)->wait(0);  // nothing left
  ASSERT_TRUE(ready);
  EXPECT_TRUE(ready->empty());
}

TEST(SupervisorPieces, EventLoopSaysOnceWhenAnFdCannotJoinAndThenPolls) {
  sigset_t mask;
  sigemptyset(&mask);
  auto loop = supervisor::EventLoop::create(mask);
  ASSERT_TRUE(loop) << loop.error().message;
  std::vector<std::string> reports;
  (*loop)->on_degraded([&](const std::string& why) { reports.push_back(why); });
  TempDir dir;
  // A regular file cannot join an epoll set (EPERM): the same path as ENOSPC.
  int fd = ::open((dir / "f").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  (*loop)->add(fd, 5);
  (*loop)->add(fd, 6);
  close(fd);
  EXPECT_TRUE((*loop)->degraded());
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_NE(reports[0].find("epoll_ctl"), std::string::npos);
  auto ready = (*loop)->wait(-1);  // would sleep forever; degraded: at most 100 ms
  ASSERT_TRUE(ready);
  EXPECT_TRUE(ready->empty());
}

}  // namespace
}  // namespace relive::test
