// TerminalWriter: writes never block the caller, in order, bounded (drops counted) when the
// reader stalls; flush() waits at most its timeout.
#include <fcntl.h>
#include <sys/socket.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "../../src/supervisor/terminal_writer.hpp"
#include "test_support.hpp"

namespace relive::test {
namespace {

using supervisor::TerminalWriter;

std::string read_all(int fd) {
  std::string out;
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

TEST(TerminalWriter, WritesInOrderFromSeveralThreads) {
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  std::string got;
  std::thread reader([&] { got = read_all(p[0]); });
  {
    TerminalWriter out;
    std::thread other([&] {
      for (int i = 0; i < 1000; ++i) out.write(p[1], "b\n");
    });
    for (int i = 0; i < 1000; ++i) out.write(p[1], "line " + std::to_string(i) + "\n");
    other.join();
    EXPECT_TRUE(out.flush(std::chrono::seconds(10)));
    EXPECT_EQ(out.dropped(), 0u);
  }
  close(p[1]);
  reader.join();
  close(p[0]);
  // This thread's lines keep their order.
  size_t pos = 0;
  for (int i = 0; i < 1000; ++i) {
    pos = got.find("line " + std::to_string(i) + "\n", pos);
    ASSERT_NE(pos, std::string::npos) << i;
  }
}

TEST(TerminalWriter, AStalledReaderNeverBlocksTheWriterAndDropsAreCounted) {
  int s[2];  // nobody reads s[0]: s[1] fills up
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s), 0);
  auto out = std::make_unique<TerminalWriter>(256 * 1024);
  std::string chunk(16 * 1024, 'x');
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 200; ++i) out->write(s[1], chunk);  // 3.2 MB
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5)) << "write() blocked";
  EXPECT_GT(out->dropped(), 0u);
  EXPECT_FALSE(out->flush(std::chrono::milliseconds(100)));
  out.reset();  // bounded even now: the stuck writer thread is left behind
  // The reader goes away: the stuck write fails (EPIPE) and the writer thread ends. s[1]
  // stays open: the detached thread may still be on its way out of write(2) on it.
  shutdown(s[0], SHUT_RDWR);
  close(s[0]);
}

}  // namespace
}  // namespace relive::test
