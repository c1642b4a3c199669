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
  std::string out = output_ending_with(relive, "DEBUG:child:dropped at exit\n");
  EXPECT_EQ(out.find("not needed"), std::string::npos) << out;
  // The command failed (exit 3): what was held at its end is written (--flush-on-exit=failure).
  EXPECT_NE(out.find("DEBUG:child:dropped at exit"), std::string::npos) << out;
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

TEST(BurstCli, KeyRegexGivesEachRequestItsOwnBuffer) {
  Process relive(burst_argv({"--key-regex", R"(request_id=(\S+))"}), with_stdin());
  relive.write_stdin("DEBUG request_id=a parse\nDEBUG request_id=b parse\nINFO request_id=b done\n"
                     "DEBUG request_id=a query\nERROR request_id=a failed\n");
  relive.close_stdin();
  ASSERT_EQ(relive.wait(10s), 0) << relive.output();
  EXPECT_EQ(output_ending_with(relive, "failed\n"),
            "INFO request_id=b done\nDEBUG request_id=a parse\nDEBUG request_id=a query\nERROR request_id=a failed\n");
}

// Real programs dying with no level on their last words: each is a trigger, and the
// debug lines before it are written.
TEST(BurstCli, CrashesOfRealProgramsWriteTheContextBeforeThem) {
  const std::string setup =
      "import logging, sys, threading\n"
      "logging.basicConfig(level=logging.DEBUG, stream=sys.stderr, format='%(process)d %(levelname)s %(message)s')\n"
      "log = logging.getLogger('app')\n"
      "log.info('up')\n"
      "log.debug('context before the crash')\n";
  struct Case {
    std::string name;
    std::vector<std::string> command;
    std::string last_words;
  };
  const std::vector<Case> cases = {
      {"thread", {"/usr/bin/python3", "-c", setup + "t = threading.Thread(target=lambda: 1 / 0, name='Thread-1')\n"
                                                   "t.start(); t.join()\nlog.info('main goes on')\n"},
       "Exception in thread Thread-1"},
      {"uncaught", {"/usr/bin/python3", "-c", setup + "raise KeyError('k')\n"}, "KeyError: 'k'"},
      {"go panic", {"sh", "-c", "echo '1 INFO up'; echo '1 DEBUG context before the crash'; "
                                "printf 'panic: runtime error: index out of range [5] with length 3\\n\\n"
                                "goroutine 1 [running]:\\nmain.main()\\n\\t/tmp/x.go:8 +0x1d\\n'; exit 2"},
       "goroutine 1 [running]:"},
      {"java", {"sh", "-c", "echo '1 INFO up'; echo '1 DEBUG context before the crash'; "
                            "printf 'Exception in thread \"main\" java.lang.IllegalStateException: boom\\n"
                            "\\tat Main.main(Main.java:3)\\n'; exit 1"},
       "\tat Main.main(Main.java:3)"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args = {"--flush-on-exit", "never", "--"};
    args.insert(args.end(), c.command.begin(), c.command.end());
    Process relive(burst_argv(args));
    EXPECT_NE(relive.wait(20s), -1) << c.name;
    ASSERT_TRUE(relive.wait_for_output(c.last_words, 10s)) << c.name << ":\n" << relive.output();
    const std::string out = relive.output();
    const size_t context = out.find("DEBUG context before the crash");
    ASSERT_NE(context, std::string::npos) << c.name << ":\n" << out;
    EXPECT_LT(context, out.find(c.last_words)) << c.name << ":\n" << out;
  }
}

TEST(BurstCli, FlushOnExitWritesHeldLinesWhenTheCommandFailsOrAlways) {
  const std::string held = "echo DEBUG:x:held; echo INFO:x:i; echo DEBUG:x:held at end";
  struct Case {
    std::vector<std::string> options;
    std::string exit;
    bool written;
  };
  for (const Case& c : {Case{{}, "exit 0", false}, Case{{}, "exit 3", true}, Case{{"--flush-on-exit", "always"}, "exit 0", true},
                        Case{{"--flush-on-exit", "never"}, "exit 3", false}}) {
    std::vector<std::string> args = c.options;
    for (std::string a : {"--", "sh", "-c"}) args.push_back(a);
    args.push_back(held + "; " + c.exit);
    Process relive(burst_argv(args));
    EXPECT_NE(relive.wait(10s), -1);
    std::string out = output_ending_with(relive, "\n");
    if (c.written) out = output_ending_with(relive, "held at end\n");
    EXPECT_EQ(out, c.written ? "INFO:x:i\nDEBUG:x:held at end\n" : "INFO:x:i\n") << c.exit;
  }
}

TEST(BurstCli, Sigusr1WritesTheBufferAndSigtermWritesWhatIsHeld) {
  Process relive(burst_argv({"--after-trigger", "1"}), with_stdin());
  relive.write_stdin("INFO:app:up\nDEBUG:app:held 1\n");
  ASSERT_TRUE(relive.wait_for_output("INFO:app:up\n"));
  // SIGUSR1 may come before the debug line is read; send until it is written.
  ASSERT_TRUE(eventually([&] {
    relive.signal(SIGUSR1);
    return relive.output().find("DEBUG:app:held 1\n") != std::string::npos;
  }, 10s)) << relive.output();
  relive.write_stdin("ERROR:app:e\nDEBUG:app:passes after the trigger\nDEBUG:app:held 2\n");
  ASSERT_TRUE(relive.wait_for_output("passes after the trigger\n")) << relive.output();
  relive.signal(SIGTERM);
  EXPECT_EQ(relive.wait(10s), 128 + SIGTERM);
  EXPECT_EQ(output_ending_with(relive, "held 2\n"),
            "INFO:app:up\nDEBUG:app:held 1\nERROR:app:e\nDEBUG:app:passes after the trigger\nDEBUG:app:held 2\n");
}

TEST(BurstCli, NoTriggerRegexAndNewOptionErrors) {
  Process relive(burst_argv({"--no-trigger-regex", " 404 "}), with_stdin());
  relive.write_stdin("DEBUG:a:d\nERROR:a:GET / 404 \nDEBUG:a:d2\nERROR:a:GET / 500 \n");
  relive.close_stdin();
  ASSERT_EQ(relive.wait(10s), 0);
  EXPECT_EQ(output_ending_with(relive, "500 \n"), "ERROR:a:GET / 404 \nDEBUG:a:d2\nERROR:a:GET / 500 \n");
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
  expect_one_line_error({"--max-memory", "lots"}, "--max-memory 'lots'");
  expect_one_line_error({"--max-bytes", "12Q"}, "--max-bytes '12Q'");
  expect_one_line_error({"--after-trigger", "soon"}, "--after-trigger 'soon'");
  expect_one_line_error({"--flush-on-exit", "maybe"}, "--flush-on-exit 'maybe'");
  expect_one_line_error({"--key-regex", "req=\\S+"}, "--key-regex 'req=\\S+': needs a capture group");
  expect_one_line_error({"--no-trigger-regex", "(x"}, "--no-trigger-regex '(x'");
  expect_one_line_error({"--key", "a", "--key-regex", "(b)"}, "give one of them");
  expect_one_line_error({"--stats", "60s"}, "--stats needs --listen");
}

}  // namespace
}  // namespace relive::test
