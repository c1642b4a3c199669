// --on-busy-update: what a save does while the --build step runs. Each build blocks until
// the test opens its gate, so "a save during build N" is a fact, not a timing guess.
//   restart     the running build's tree is stopped (stop signal, SIGKILL after the stop
//               timeout) and the cycle starts over: only the newest build's program runs;
//               with --graceful, a save while the new program is starting gets a cycle of its own
//   queue       the build finishes and its program starts; then exactly one more cycle
//   do-nothing  the save is dropped
//   signal      the build gets the stop signal; nothing is queued; the old program runs on
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>

#include "run_test_util.hpp"

namespace relive::test {
namespace {

// src/ is watched; out/ (not watched) holds the scripts, the gates and the logs.
struct BuildProject {
  TempDir src;
  TempDir out;
  fs::path builds() const { return out / "builds.log"; }
  fs::path runs() const { return out / "runs.log"; }
  fs::path gate(int n) const { return out / ("gate" + std::to_string(n)); }

  BuildProject() {
    write_file(src / "app.py", "x = 0\n");
    const std::string o = out.path().string();
    // Build N: "start N <changed>", waits for gateN, then "done N" and the product "built"
    // (N); on SIGTERM "stopped N". The changed paths are joined with ','.
    // (RELIVE_CHANGED_PATHS has no newline after the last path.)
    write_file(out / "build.sh",
               "cd '" + o + "'\n"
               "n=$(( $(cat counter 2>/dev/null || echo 0) + 1 )); echo $n > counter\n"
               // (its pid first: a test that saw "start N" reads pidN)
               "echo $$ > pid$n\n"
               "echo \"start $n $(printf '%s' \"$RELIVE_CHANGED_PATHS\" | tr '\\n' ',')\" >> builds.log\n"
               // A build step that ignores the stop signal when the test asks for one.
               "if [ -f stubborn ]; then trap '' TERM; else trap 'echo \"stopped $n\" >> builds.log; exit 143' TERM; fi\n"
               // (gives up if the test's directory is gone: a failed test leaves nothing behind)
               "while [ ! -f gate$n ]; do [ -f counter ] || exit 1; sleep 0.02; done\n"
               "echo $n > built\n"
               "echo \"done $n\" >> builds.log\n");
    // The program: "run <the build it came from> <changed>".
    write_file(out / "child.sh",
               "echo \"run $(cat '" + o + "/built') $(printf '%s' \"$RELIVE_CHANGED_PATHS\" | tr '\\n' ',')\" >> '" + o +
                   "/runs.log'\nexec sleep 1000\n");
  }

  std::vector<std::string> relive_args(const std::string& mode) const {
    return relive_argv({"-q", "-w", src.path().string(), "--build", "sh '" + (out / "build.sh").string() + "'",
                        "--on-busy-update", mode, "--json-events", (out / "events.jsonl").string(), "--", "sh",
                        (out / "child.sh").string()});
  }
  // relive has taken in a change of `path` (its "changes" event is out).
  bool wait_change_seen(const std::string& path) const {
    return eventually([&] {
      for (const auto& line : file_lines(out / "events.jsonl")) {
        if (line.find("\"changes\"") != std::string::npos && line.find("\"" + path + "\"") != std::string::npos) return true;
      }
      return false;
    }, 10s);
  }
  std::vector<std::string> build_log() const { return file_lines(builds()); }
  std::vector<std::string> run_log() const { return file_lines(runs()); }
  bool wait_build_line(const std::string& line) const {
    return eventually([&] {
      auto lines = build_log();
      return std::find(lines.begin(), lines.end(), line) != lines.end();
    }, 10s);
  }
  bool wait_runs(size_t n) const {
    return eventually([&] { return run_log().size() >= n; }, 10s);
  }
  void open_gate(int n) const { write_file(gate(n), ""); }
};

// Starts relive and takes it to "build 2 is running" (build 1 passed, its program runs).
void start_and_block_build_two(const BuildProject& p, Process& relive) {
  p.open_gate(1);
  ASSERT_TRUE(p.wait_runs(1)) << relive.output();
  save_plain(p.src / "app.py", "x = 1\n");
  ASSERT_TRUE(p.wait_build_line("start 2 app.py")) << read_file(p.builds()) << relive.output();
}

void stop_relive(Process& relive) {
  relive.signal(SIGINT);
  EXPECT_EQ(relive.wait(10s), 130) << relive.output();
}

std::string logs(const BuildProject& p) { return "builds:\n" + read_file(p.builds()) + "runs:\n" + read_file(p.runs()); }

TEST(RunBusyUpdate, RestartStopsTheRunningBuildAndOnlyTheNewBuildsProgramRuns) {
  BuildProject p;
  Process relive(p.relive_args("restart"), in_dir(p.src.path()));
  start_and_block_build_two(p, relive);
  save_plain(p.src / "lib.py", "y = 1\n");
  // Build 2 is stopped; build 3 starts over with every change since the last start.
  ASSERT_TRUE(p.wait_build_line("stopped 2")) << logs(p) << relive.output();
  ASSERT_TRUE(p.wait_build_line("start 3 app.py,lib.py")) << logs(p) << relive.output();
  // The old program kept running through all this.
  EXPECT_EQ(p.run_log().size(), 1u) << logs(p);
  p.open_gate(2);  // too late to matter: build 2 is gone
  p.open_gate(3);
  ASSERT_TRUE(p.wait_runs(2)) << logs(p) << relive.output();
  stop_relive(relive);
  EXPECT_EQ(p.build_log(), (std::vector<std::string>{"start 1 ", "done 1", "start 2 app.py", "stopped 2",
                                                     "start 3 app.py,lib.py", "done 3"}))
      << logs(p);
  EXPECT_EQ(p.run_log(), (std::vector<std::string>{"run 1 ", "run 3 app.py,lib.py"})) << logs(p);
}

// A build that ignores the stop signal is stopped like the program: SIGKILL after
// --stop-timeout, and the next build starts only once every process of the old one is gone
// (it used to start as soon as the build's top `sh -c` exited, beside the old build).
TEST(RunBusyUpdate, RestartWaitsUntilTheWholeBuildIsGone) {
  BuildProject p;
  write_file(p.out / "stubborn", "");
  auto args = p.relive_args("restart");
  args.insert(args.begin() + 1, {"--stop-timeout", "300ms"});
  Process relive(args, in_dir(p.src.path()));
  start_and_block_build_two(p, relive);
  pid_t build_two = std::stoi(read_file(p.out / "pid2"));
  save_plain(p.src / "lib.py", "y = 1\n");
  ASSERT_TRUE(p.wait_build_line("start 3 app.py,lib.py")) << logs(p) << relive.output();
  // Build 3 started: build 2 must be gone by now (killed after the stop timeout).
  EXPECT_FALSE(in_proc_table(build_two)) << "build 2 (pid " << build_two << ") still runs beside build 3";
  p.open_gate(3);
  ASSERT_TRUE(p.wait_runs(2)) << logs(p) << relive.output();
  stop_relive(relive);
  EXPECT_EQ(p.run_log(), (std::vector<std::string>{"run 1 ", "run 3 app.py,lib.py"})) << logs(p);
  auto lines = p.build_log();
  EXPECT_EQ(std::find(lines.begin(), lines.end(), "done 2"), lines.end()) << logs(p);
}

TEST(RunBusyUpdate, QueueLetsTheBuildFinishThenRunsOnceMore) {
  BuildProject p;
  Process relive(p.relive_args("queue"), in_dir(p.src.path()));
  start_and_block_build_two(p, relive);
  save_plain(p.src / "lib.py", "y = 1\n");
  save_plain(p.src / "more.py", "z = 1\n");
  // Both saves are taken in while build 2 still runs (relive's own record says so).
  ASSERT_TRUE(p.wait_change_seen("lib.py")) << read_file(p.out / "events.jsonl");
  ASSERT_TRUE(p.wait_change_seen("more.py")) << read_file(p.out / "events.jsonl");
  p.open_gate(2);
  ASSERT_TRUE(p.wait_runs(2)) << logs(p) << relive.output();
  ASSERT_TRUE(p.wait_build_line("done 2")) << logs(p);
  ASSERT_TRUE(eventually([&] { return p.build_log().size() >= 5; }, 10s)) << logs(p) << relive.output();
  p.open_gate(3);
  ASSERT_TRUE(p.wait_runs(3)) << logs(p) << relive.output();
  // One follow-up cycle, not one per save: a later save is build 4, with only its path.
  p.open_gate(4);
  save_plain(p.src / "sentinel.py", "s\n");
  ASSERT_TRUE(p.wait_runs(4)) << logs(p) << relive.output();
  stop_relive(relive);
  auto runs = p.run_log();
  ASSERT_EQ(runs.size(), 4u) << logs(p);
  EXPECT_EQ(runs[1], "run 2 app.py");
  EXPECT_EQ(runs[2].rfind("run 3 ", 0), 0u) << logs(p);
  EXPECT_NE(runs[2].find("lib.py"), std::string::npos) << logs(p);
  EXPECT_NE(runs[2].find("more.py"), std::string::npos) << logs(p);
  EXPECT_EQ(runs[3], "run 4 sentinel.py") << logs(p);
}

TEST(RunBusyUpdate, DoNothingDropsTheSave) {
  BuildProject p;
  Process relive(p.relive_args("do-nothing"), in_dir(p.src.path()));
  start_and_block_build_two(p, relive);
  save_plain(p.src / "lib.py", "y = 1\n");
  ASSERT_TRUE(p.wait_change_seen("lib.py")) << read_file(p.out / "events.jsonl");  // while build 2 runs
  p.open_gate(2);
  ASSERT_TRUE(p.wait_runs(2)) << logs(p) << relive.output();
  // The dropped save started nothing: the next build is the sentinel's alone.
  p.open_gate(3);
  save_plain(p.src / "sentinel.py", "s\n");
  ASSERT_TRUE(p.wait_runs(3)) << logs(p) << relive.output();
  stop_relive(relive);
  EXPECT_EQ(p.run_log(), (std::vector<std::string>{"run 1 ", "run 2 app.py", "run 3 sentinel.py"})) << logs(p);
  EXPECT_EQ(p.build_log().size(), 6u) << logs(p);  // start/done of builds 1, 2, 3
}

TEST(RunBusyUpdate, SignalStopsTheBuildAndTheOldProgramRunsOn) {
  BuildProject p;
  Process relive(p.relive_args("signal"), in_dir(p.src.path()));
  start_and_block_build_two(p, relive);
  save_plain(p.src / "lib.py", "y = 1\n");
  ASSERT_TRUE(p.wait_build_line("stopped 2")) << logs(p) << relive.output();
  ASSERT_TRUE(relive.wait_for_output("build failed")) << relive.output();
  EXPECT_EQ(p.run_log().size(), 1u) << logs(p);
  // Nothing was queued: the next build is the sentinel's. It reports every change since
  // the program last started except the one the signal answered: app.py (whose build
  // failed) and sentinel.py.
  p.open_gate(3);
  save_plain(p.src / "sentinel.py", "s\n");
  ASSERT_TRUE(p.wait_runs(2)) << logs(p) << relive.output();
  stop_relive(relive);
  EXPECT_EQ(p.run_log(), (std::vector<std::string>{"run 1 ", "run 3 app.py,sentinel.py"})) << logs(p);
}

// --graceful: a save while the new generation waits to be ready is not lost: it gets a
// cycle of its own once that one is in (it used to be merged into the starting one's
// changes and dropped).
TEST(RunBusyUpdate, RestartDuringAGracefulStartIsNotLost) {
  TempDir src;
  TempDir out;
  write_file(src / "app.py", "x = 0\n");
  const fs::path runs = out / "runs.log";
  write_file(out / "child.sh", "echo \"run $(printf '%s' \"$RELIVE_CHANGED_PATHS\" | tr '\\n' ',')\" >> '" +
                                   runs.string() + "'\nexec sleep 1000\n");
  Process relive(relive_argv({"-q", "-w", src.path().string(), "--graceful", "--ready", "delay:3000",
                              "--on-busy-update", "restart", "--", "sh", (out / "child.sh").string()}),
                 in_dir(src.path()));
  auto wait_runs = [&](size_t n) { return eventually([&] { return file_lines(runs).size() >= n; }, 15s); };
  ASSERT_TRUE(wait_runs(1)) << relive.output();
  save_plain(src / "app.py", "x = 1\n");
  ASSERT_TRUE(wait_runs(2)) << relive.output();  // the new generation: 3 s before it counts as ready
  save_plain(src / "lib.py", "y = 1\n");
  ASSERT_TRUE(wait_runs(3)) << read_file(runs) << relive.output();
  relive.signal(SIGINT);
  EXPECT_EQ(relive.wait(10s), 130) << relive.output();
  EXPECT_EQ(file_lines(runs), (std::vector<std::string>{"run ", "run app.py", "run lib.py"})) << read_file(runs);
}

}  // namespace
}  // namespace relive::test
