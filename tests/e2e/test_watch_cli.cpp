// `relive watch` run as a user runs it: real process, real files, its output read back.
#include <gtest/gtest.h>

#include <unistd.h>

#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using relive::test::Process;
using relive::test::TempDir;
using relive::test::write_file;

Process::Options in(const std::filesystem::path& cwd) {
  Process::Options o;
  o.cwd = cwd;
  return o;
}

TEST(WatchCli, PrintsEachChangedPathOnce) {
  ASSERT_FALSE(relive::test::relive_bin().empty()) << "RELIVE_BIN is not set";
  TempDir dir;
  write_file(dir / "src" / "app.py", "1");
  Process p({relive::test::relive_bin(), "watch"}, in(dir.path()));
  ASSERT_TRUE(p.wait_for_output("watching")) << p.output();
  write_file(dir / "src" / "app.py", "2");
  ASSERT_TRUE(p.wait_for_output("modified src/app.py\n")) << p.output();
  size_t mark = p.output().size();
  // vim-style replace-on-save: still one line, "modified".
  ASSERT_EQ(::rename((dir / "src/app.py").c_str(), (dir / "src/app.py~").c_str()), 0);
  write_file(dir / "src" / "app.py", "3");
  ::unlink((dir / "src/app.py~").c_str());
  ASSERT_TRUE(p.wait_for_output("modified src/app.py\n", 10s, mark)) << p.output();
  write_file(dir / "marker", "m");
  ASSERT_TRUE(p.wait_for_output("created marker\n")) << p.output();
  EXPECT_EQ(p.count("modified src/app.py\n"), 2u) << p.output();
  EXPECT_EQ(p.output().find("app.py~"), std::string::npos) << p.output();
}

TEST(WatchCli, JsonLines) {
  TempDir dir;
  Process p({relive::test::relive_bin(), "watch", "--json", "-w", dir.path().string()});
  ASSERT_TRUE(p.wait_for_output("watching")) << p.output();
  write_file(dir / "a \"quoted\".txt", "1");
  std::string expected = "{\"change\":\"created\",\"path\":\"" + dir.path().string() + "/a \\\"quoted\\\".txt\",\"dir\":false}\n";
  ASSERT_TRUE(p.wait_for_output(expected)) << p.output();
}

TEST(WatchCli, IgnoreGlobAndPolling) {
  TempDir dir;
  Process p({relive::test::relive_bin(), "watch", "--poll=50", "-i", "*.log"}, in(dir.path()));
  ASSERT_TRUE(p.wait_for_output("1 directories polled")) << p.output();
  write_file(dir / "debug.log", "x");
  write_file(dir / "app.py", "x");
  ASSERT_TRUE(p.wait_for_output("created app.py\n")) << p.output();
  EXPECT_EQ(p.output().find("debug.log"), std::string::npos) << p.output();
}

TEST(WatchCli, MissingPathIsOneLineAndExit2) {
  TempDir dir;
  Process p({relive::test::relive_bin(), "watch", "-w", (dir / "nope").string()});
  EXPECT_EQ(p.wait(), 2);
  std::string out = p.output();
  EXPECT_NE(out.find("nope"), std::string::npos) << out;
  EXPECT_NE(out.find("No such file or directory"), std::string::npos) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
}

TEST(WatchCli, UnknownFlagIsOneLineAndExit2) {
  Process p({relive::test::relive_bin(), "watch", "--frobnicate"});
  EXPECT_EQ(p.wait(), 2);
  std::string out = p.output();
  EXPECT_NE(out.find("--frobnicate"), std::string::npos) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
}

TEST(WatchCli, BadPollIntervalIsExit2) {
  Process p({relive::test::relive_bin(), "watch", "--poll=soon"});
  EXPECT_EQ(p.wait(), 2);
  EXPECT_NE(p.output().find("--poll"), std::string::npos) << p.output();
}

}  // namespace
