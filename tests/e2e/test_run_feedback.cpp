// What `relive -- CMD` tells the user and the program: changed paths as the user names them,
// the build's wording, exec errors that name the real culprit, and Ctrl-C feedback.
#include <gtest/gtest.h>
#include <signal.h>

#include "run_test_util.hpp"

namespace relive::test {
namespace {

// A child that appends its RELIVE_CHANGED_PATHS (newlines as ',') to `log`, then waits.
std::string paths_child(const fs::path& log) {
  return "printf '%s\\n' \"$(printf '%s' \"$RELIVE_CHANGED_PATHS\" | tr '\\n' ',')\" >> '" + log.string() +
         "'; exec sleep 1000";
}

TEST(RunFeedback, ChangedPathsAreRelativeToTheCurrentDirectoryWithTwoRoots) {
  TempDir dir, out;
  for (auto sub : {"a", "b"}) {
    fs::create_directories(dir / sub);
    write_file(dir / sub / "x.py", "0\n");
  }
  auto log = out / "paths.log";
  auto events = out / "events.jsonl";
  Process relive(relive_argv({"-w", "a", "-w", "b", "--json-events", events.string(), "--", "sh", "-c",
                              paths_child(log)}),
                 in_dir(dir.path()));
  ASSERT_TRUE(eventually([&] { return file_lines(log).size() == 1; }, 10s)) << relive.output();
  save_plain(dir / "a" / "x.py", "1\n");
  ASSERT_TRUE(eventually([&] { return file_lines(log).size() == 2; }, 10s)) << relive.output();
  save_plain(dir / "b" / "x.py", "1\n");
  ASSERT_TRUE(eventually([&] { return file_lines(log).size() == 3; }, 10s)) << relive.output();
  relive.signal(SIGINT);
  relive.wait(10s);
  auto lines = file_lines(log);
  EXPECT_EQ(lines[1], "a/x.py");
  EXPECT_EQ(lines[2], "b/x.py");
  auto json = read_file(events);
  EXPECT_NE(json.find("\"paths\":[\"a/x.py\"],\"count\":1"), std::string::npos) << json;
  EXPECT_NE(json.find("\"paths\":[\"b/x.py\"],\"count\":1"), std::string::npos) << json;
  EXPECT_TRUE(relive.wait_for_output("a/x.py changed, restarting")) << relive.output();
}

TEST(RunFeedback, ASingleWatchedFileIsNamedAsGiven) {
  TempDir dir, out;
  write_file(dir / "app.py", "0\n");
  auto log = out / "paths.log";
  auto events = out / "events.jsonl";
  Process relive(relive_argv({"-w", "app.py", "--json-events", events.string(), "--", "sh", "-c", paths_child(log)}),
                 in_dir(dir.path()));
  ASSERT_TRUE(eventually([&] { return file_lines(log).size() == 1; }, 10s)) << relive.output();
  save_plain(dir / "app.py", "1\n");
  ASSERT_TRUE(eventually([&] { return file_lines(log).size() == 2; }, 10s)) << relive.output();
  relive.signal(SIGINT);
  relive.wait(10s);
  EXPECT_EQ(file_lines(log)[1], "app.py");
  auto json = read_file(events);
  EXPECT_NE(json.find("\"paths\":[\"app.py\"]"), std::string::npos) << json;
  EXPECT_EQ(json.find("\"\""), std::string::npos) << json;
  EXPECT_NE(relive.output().find("app.py changed, restarting"), std::string::npos) << relive.output();
  EXPECT_EQ(relive.output().find("app.py/"), std::string::npos) << relive.output();
}

TEST(RunFeedback, ABuildSaysBuildingAndAFailedOneThatTheProgramKeepsRunning) {
  TempDir dir, out;
  write_file(dir / "main.c", "0\n");
  auto starts = out / "starts";
  // The build fails while BROKEN exists.
  Process relive(relive_argv({"-w", ".", "--build", "test ! -f BROKEN", "--", "sh", "-c",
                              "echo $$ >> " + starts.string() + "; exec sleep 1000"}),
                 in_dir(dir.path()));
  ASSERT_TRUE(eventually([&] { return file_lines(starts).size() == 1; }, 10s)) << relive.output();
  write_file(dir / "BROKEN", "");
  ASSERT_TRUE(relive.wait_for_output("BROKEN changed, building")) << relive.output();
  ASSERT_TRUE(relive.wait_for_output("build failed (exited with status 1); the program keeps running"))
      << relive.output();
  EXPECT_EQ(relive.output().find("changed, restarting"), std::string::npos) << relive.output();
  relive.signal(SIGINT);
  EXPECT_EQ(relive.wait(10s), 130) << relive.output();
}

TEST(RunFeedback, AScriptWithoutShebangRunsWithBinSh) {
  TempDir dir;
  write_file(dir / "t", "echo ran-by-sh > marker\nexec sleep 1000\n");
  fs::permissions(dir / "t", fs::perms::owner_all);
  Process relive(relive_argv({"-w", ".", "--", "./t"}), in_dir(dir.path()));
  ASSERT_TRUE(eventually([&] { return file_lines(dir / "marker").size() == 1; }, 10s)) << relive.output();
  relive.signal(SIGINT);
  EXPECT_EQ(relive.wait(10s), 130) << relive.output();
}

TEST(RunFeedback, AMissingInterpreterIsNamed) {
  TempDir dir;
  write_file(dir / "t", "#!/nonexistent/python9 -u\nprint('x')\n");
  fs::permissions(dir / "t", fs::perms::owner_all);
  Process relive(relive_argv({"-w", ".", "--", "./t"}), in_dir(dir.path()));
  ASSERT_TRUE(relive.wait_for_output("/nonexistent/python9")) << relive.output();
  EXPECT_EQ(relive.output().find("command not found: ./t"), std::string::npos) << relive.output();
  relive.signal(SIGINT);
  relive.wait(10s);
}

// A program that ignores SIGINT: Ctrl-C waits for the stop timeout, and says so; a second
// Ctrl-C kills it and says what it killed.
TEST(RunFeedback, CtrlCSaysItIsStoppingAndASecondOneKills) {
  TempDir dir, out;
  auto pid_file = out / "pid";
  Process relive(relive_argv({"-w", ".", "--stop-timeout", "60s", "--", "sh", "-c",
                              "trap '' INT; echo $$ > " + pid_file.string() + "; exec sleep 1000"}),
                 in_dir(dir.path()));
  ASSERT_TRUE(eventually([&] { return file_lines(pid_file).size() == 1; }, 10s)) << relive.output();
  relive.signal(SIGINT);
  ASSERT_TRUE(relive.wait_for_output("stopping\u2026 (Ctrl-C again to kill)")) << relive.output();
  relive.signal(SIGINT);
  EXPECT_EQ(relive.wait(10s), 130) << relive.output();
  EXPECT_NE(relive.output().find("killed 1 process that had not stopped yet"), std::string::npos) << relive.output();
  EXPECT_EQ(relive.output().find("did not stop within"), std::string::npos) << relive.output();
  EXPECT_FALSE(in_proc_table(std::stoi(file_lines(pid_file)[0])));
}

// A program that reads the terminal is stopped by SIGTTIN (relive keeps the terminal's
// foreground): relive says so instead of leaving it stopped in silence. (A program that
// stops itself shows the same path without needing a terminal.)
TEST(RunFeedback, AProgramStoppedByJobControlIsReported) {
  TempDir dir, out;
  auto pid_file = out / "pid";
  Process relive(relive_argv({"-w", ".", "--", "sh", "-c",
                              "echo $$ > " + pid_file.string() + "; kill -TTIN $$; exec sleep 1000"}),
                 in_dir(dir.path()));
  ASSERT_TRUE(eventually([&] { return file_lines(pid_file).size() == 1; }, 10s)) << relive.output();
  EXPECT_TRUE(relive.wait_for_output("was stopped by SIGTTIN (it read from the terminal")) << relive.output();
  relive.signal(SIGINT);
  EXPECT_EQ(relive.wait(10s), 130) << relive.output();
  EXPECT_FALSE(in_proc_table(std::stoi(file_lines(pid_file)[0])));
}

}  // namespace
}  // namespace relive::test
