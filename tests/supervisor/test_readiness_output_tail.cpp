// OutputTail: a failed new child is reported with its last lines; its output is passed on.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>

#include "../../src/supervisor/output_tail.hpp"
#include "handoff_test_helpers.hpp"
#include "test_support.hpp"

using relive::supervisor::OutputTail;

TEST(OutputTailTest, ForwardsEverythingAndKeepsTheLastLinesOfARealChild) {
  relive::test::TempDir dir;
  int out = open((dir / "out").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  int err = open((dir / "err").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  auto tail = OutputTail::create(5, out, err);
  ASSERT_TRUE(tail) << tail.error().message;
  pid_t pid = fork();
  if (pid == 0) {
    dup2((*tail)->child_stdout(), 1);
    dup2((*tail)->child_stderr(), 2);
    execl("/bin/sh", "sh", "-c", "for i in 1 2 3 4 5 6 7 8; do echo line$i; done; echo oops >&2; printf partial",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  (*tail)->close_child_ends();
  while (!(*tail)->finished()) {
    std::vector<pollfd> fds;
    for (int fd : (*tail)->fds()) fds.push_back({fd, POLLIN, 0});
    ASSERT_GT(poll(fds.data(), fds.size(), 10000), 0) << "no EOF from the child's pipes";
    for (auto& p : fds)
      if (p.revents) (*tail)->on_readable(p.fd);
  }
  int st;
  waitpid(pid, &st, 0);
  close(out);
  close(err);
  EXPECT_EQ(relive::test::read_file(dir / "out"), "line1\nline2\nline3\nline4\nline5\nline6\nline7\nline8\npartial");
  EXPECT_EQ(relive::test::read_file(dir / "err"), "oops\n");
  // stdout and stderr are two pipes: their relative order is whatever the reads saw.
  auto lines = (*tail)->last_lines();
  std::sort(lines.begin(), lines.end());
  EXPECT_EQ(lines, (std::vector<std::string>{"line6", "line7", "line8", "oops", "partial"}));
}

TEST(OutputTailTest, LongLinesAreCut) {
  auto tail = OutputTail::create(3, -1, -1);  // nothing forwarded
  ASSERT_TRUE(tail);
  std::string big(2000, 'x');
  big += "\n";
  ASSERT_EQ(write((*tail)->child_stdout(), big.data(), big.size()), static_cast<ssize_t>(big.size()));
  (*tail)->close_child_ends();
  (*tail)->drain();
  EXPECT_TRUE((*tail)->finished());
  ASSERT_EQ((*tail)->last_lines().size(), 1u);
  EXPECT_EQ((*tail)->last_lines()[0].size(), 500u);
}
