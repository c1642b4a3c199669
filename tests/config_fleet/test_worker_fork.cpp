// The remote sources' shared reconnect state (transport::Worker): the news that a server is
// back reaches a source whose own try was failing meanwhile, and a fork() child never
// inherits the process-wide list of sleepers locked by a thread it does not have.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <thread>

#include "../../src/config/transport.hpp"
#include "test_support.hpp"

namespace relive::fleet_test {
namespace {

using namespace std::chrono_literals;
using relive::config::transport::Worker;
using Clock = std::chrono::steady_clock;
using relive::test::eventually;

// News that came while a source's try was failing (after it read announcements()) ends
// its backoff before it begins; news from before its try does not.
TEST(FleetWorker, NewsDuringAFailedTryEndsTheBackoffAtOnce) {
  const std::string server = "test://news-during-try";
  Worker w;
  const auto seen = Worker::announcements(server);
  EXPECT_EQ(w.backoff(1ms, server, seen), Worker::Slept::Full);
  Worker::announce_back(server);  // while "the try" fails
  const auto t0 = Clock::now();
  EXPECT_EQ(w.backoff(30s, server, seen), Worker::Slept::Woken);
  EXPECT_LT(Clock::now() - t0, 20s);  // a bound for the test, not a speed assertion
  EXPECT_TRUE(Worker::announced_within(server, 60s));
  EXPECT_EQ(w.backoff(1ms, server, Worker::announcements(server)), Worker::Slept::Full);
}

// Waits (bounded) for a child; true if it exited with status 0.
bool child_exited_cleanly(pid_t pid, std::chrono::seconds bound) {
  int status = 0;
  const bool done = eventually([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, bound);
  if (!done) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    return false;
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// Another thread holds the sleepers' lock (a source in backoff() or announce_back()) at
// the moment of the fork: the child's sources back off and announce all the same.
TEST(FleetWorker, AForkChildDoesNotInheritTheSleepersLockHeld) {
  const std::string server = "test://fork";
  std::atomic<bool> held{false}, forked{false};
  std::thread holder([&] {
    Worker::with_sleepers_locked_for_test([&] {
      held = true;
      const auto until = Clock::now() + 20s;  // bounded, should the fork never come
      while (!forked.load() && Clock::now() < until) std::this_thread::sleep_for(1ms);
    });
  });
  ASSERT_TRUE(eventually([&] { return held.load(); }, 10s));
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::alarm(10);  // a deadlocked child ends by SIGALRM, not by the test's timeout
    Worker::announce_back(server);
    Worker w;
    const bool ok = w.backoff(1ms, server, Worker::announcements(server)) == Worker::Slept::Full &&
                    Worker::announced_within(server, 60s);
    ::_exit(ok ? 0 : 1);
  }
  forked = true;
  holder.join();
  EXPECT_TRUE(child_exited_cleanly(pid, 15s)) << "the child blocked on (or mishandled) the sleepers' lock";
  // The parent's lock and list are untouched by the child's fresh start.
  Worker::announce_back(server);
  EXPECT_TRUE(Worker::announced_within(server, 60s));
}

}  // namespace
}  // namespace relive::fleet_test
