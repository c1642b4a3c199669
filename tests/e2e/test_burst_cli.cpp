// `relive burst` as a user runs it: filtering stdin, running a real child and filtering its
// output, passing on its exit status and signals, and refusing bad options with one line.
#include <gtest/gtest.h>
#include <signal.h>

#include <string>

#include "test_support.hpp"

namespace relive::test {
namespace {

using namespace std::chrono_literals;

Process::Options with_stdin() {
  Process::Options options;
  options.stdin_pipe = true;
  return options;
}

// The output once it ends with `tail`: a process's exit can be seen before the reader
// thread has taken its last output from the pipe.
std::string output_ending_with(const Process& process, std::string_view tail) {
  eventually([&] { return process.output().ends_with(tail); }, 10s);
  return process.output();
}

std::vector<std::string> burst_argv(std::vector<std::string> args) {
  std::vector<std::string> argv = {relive_bin(), "burst"};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

TEST(BurstCli, FiltersStdinToStdout) {
  Process relive(burst_argv({}), with_stdin());
  relive.write_stdin("DEBUG:app:d1\nINFO:app:i1\nDEBUG:app:d2\nERROR:app:boom\n"
                     "Traceback (most recent call last):\n  File \"a.py\", line 1\nValueError: x\n"
                     "DEBUG:app:d3\nplain line\nDEBUG:app:d4\n");
  relive.close_stdin();
  ASSERT_EQ(relive.wait(10s), 0) << relive.output();
  EXPECT_EQ(output_ending_with(relive, "plain line\n"),
            "INFO:app:i1\nDEBUG:app:d2\nERROR:app:boom\n"
            "Traceback (most recent call last):\n  File \"a.py\", line 1\nValueError: x\n"
            "plain line\n");
}

TEST(BurstCli, OptionsReachTheFilter) {
  Process relive(burst_argv({"--keep", "1", "--pass-level", "warn", "--trigger-level", "warning",
                             "--max-age", "10m", "--level-regex", R"(^lvl=(\w) )"}),
                 with_stdin());
  relive.write_stdin("lvl=D one\nlvl=I two\nINFO:app:three\nlvl=W four\nlvl=D five\n");
  relive.close_stdin();
  ASSERT_EQ(relive.wait(10s), 0) << relive.output();
  // keep 1: of "one", "two", "three" only "three" is left when the warning triggers.
  EXPECT_EQ(output_ending_with(relive, "four\n"), "INFO:app:three\nlvl=W four\n");
}

TEST(BurstCli, WritesPassingLinesWhileInputIsStillOpen) {
  Process relive(burst_argv({}), with_stdin());
  relive.write_stdin("DEBUG:app:held\nINFO:app:ready\n");
  EXPECT_TRUE(relive.wait_for_output("INFO:app:ready\n", 10s)) << relive.output();
  relive.write_stdin("ERROR:app:e\n");
  EXPECT_TRUE(relive.wait_for_output("ERROR:app:e\n", 10s)) << relive.output();
  relive.close_stdin();
  ASSERT_EQ(relive.wait(10s), 0);
  EXPECT_EQ(relive.output(), "INFO:app:ready\nERROR:app:e\n");
}

TEST(BurstCli, RunsACommandAndFiltersItsMergedOutputWithItsExitStatus) {
  std::string program =
      "import logging, sys\n"
      "logging.basicConfig(level=logging.DEBUG, stream=sys.stdout)\n"
      "log = logging.getLogger('child')\n"
      "log.debug('not needed')\n"
      "log.info('working')\n"
      "log.debug('needed 1')\n"
      "sys.stdout.flush()\n"
      "print('DEBUG:child:needed 2 (on stderr)', file=sys.stderr, flush=True)\n"
      "try:\n"
      "    1 / 0\n"
      "except ZeroDivisionError:\n"
      "    log.exception('failed')\n"
      "log.debug('dropped at exit')\n"
      "sys.exit(3)\n";
  Process relive(burst_argv({"--", "python3", "-c", program}));
  ASSERT_EQ(relive.wait(20s), 3) << relive.output();
  std::string out = output_ending_with(relive, "ZeroDivisionError: division by zero\n");
  EXPECT_EQ(out.find("not needed"), std::string::npos) << out;
  EXPECT_EQ(out.find("dropped at exit"), std::string::npos) << out;
  auto working = out.find("INFO:child:working\n");
  auto needed1 = out.find("DEBUG:child:needed 1\n");
  auto needed2 = out.find("DEBUG:child:needed 2 (on stderr)\n");
  auto failed = out.find("ERROR:child:failed\nTraceback (most recent call last):\n");
  auto exception = out.find("ZeroDivisionError: division by zero\n");
  ASSERT_NE(working, std::string::npos) << out;
  ASSERT_NE(needed1, std::string::npos) << out;
  ASSERT_NE(needed2, std::string::npos) << out;
  ASSERT_NE(failed, std::string::npos) << out;
  ASSERT_NE(exception, std::string::npos) << out;
  EXPECT_LT(working, needed1);
  EXPECT_LT(needed1, needed2);
  EXPECT_LT(needed2, failed);
  EXPECT_LT(failed, exception);
}

TEST(BurstCli, ChildKilledByASignalGives128PlusSignal) {
  Process relive(burst_argv({"--", "sh", "-c", "echo INFO:x:up; kill -KILL $$"}));
  EXPECT_EQ(relive.wait(10s), 128 + SIGKILL) << relive.output();
  EXPECT_EQ(output_ending_with(relive, "\n"), "INFO:x:up\n");
}

TEST(BurstCli, TerminatingReliveTerminatesTheChild) {
  Process relive(burst_argv({"--", "sh", "-c", "echo INFO:x:waiting; exec sleep 60"}));
  ASSERT_TRUE(relive.wait_for_output("INFO:x:waiting\n", 10s)) << relive.output();
  relive.signal(SIGTERM);
  EXPECT_EQ(relive.wait(10s), 128 + SIGTERM) << relive.output();
}

TEST(BurstCli, ExitsWhenTheChildExitsEvenIfAGrandchildHoldsTheOutput) {
  // The grandchild keeps the pipe open for a minute; relive must not wait for it.
  Process relive(burst_argv({"--", "sh", "-c", "sleep 60 & echo INFO:x:bye; exit 4"}));
  EXPECT_EQ(relive.wait(20s), 4) << relive.output();
  EXPECT_EQ(output_ending_with(relive, "\n"), "INFO:x:bye\n");
}

TEST(BurstCli, MissingCommandIsReportedWith127) {
  Process relive(burst_argv({"--", "relive-test-no-such-command"}));
  EXPECT_EQ(relive.wait(10s), 127);
  EXPECT_EQ(output_ending_with(relive, "\n"), "relive burst: cannot run 'relive-test-no-such-command': No such file or directory\n");
}

// Each bad input: exit status 2 and exactly one line naming the problem.
void expect_one_line_error(std::vector<std::string> args, std::string_view must_contain) {
  Process relive(burst_argv(std::move(args)));
  EXPECT_EQ(relive.wait(10s), 2) << relive.output();
  std::string out = output_ending_with(relive, "\n");
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  EXPECT_NE(out.find(must_contain), std::string::npos) << out;
  EXPECT_EQ(out.rfind("relive burst: ", 0), 0u) << out;
}

TEST(BurstCli, BadInputIsOneLineAndExitStatus2) {
  expect_one_line_error({"--bogus"}, "--bogus");
  expect_one_line_error({"--keep", "many"}, "--keep");
  expect_one_line_error({"--max-age", "fast"}, "--max-age 'fast'");
  expect_one_line_error({"--pass-level", "loud"}, "--pass-level 'loud'");
  expect_one_line_error({"--trigger-level", "5x"}, "--trigger-level '5x'");
  expect_one_line_error({"--level-regex", "(unclosed"}, "--level-regex '(unclosed'");
  expect_one_line_error({"--level-regex", "^[A-Z]+"}, "capture group");
  expect_one_line_error({"--"}, "'--' must be followed by a command");
}

}  // namespace
}  // namespace relive::test
