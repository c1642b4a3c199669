// `relive -- CMD` under hostile conditions: a recycled pid, stray signals, a SIGKILLed
// relive, an absurd --stop-timeout, a --build that creates the program, and the order in
// which a master/worker tree hears the stop signal (--stop-mode).
#include <gtest/gtest.h>
#include <signal.h>

#include "run_test_util.hpp"

namespace relive::test {
namespace {

// Runs `script` as the init process of a new PID namespace (with its own /proc), so that
// the test can choose the next pid through /proc/sys/kernel/ns_last_pid. Needs root (the
// test machine's CI runs as root); a failure to unshare fails the test.
// Waits for a pid file a test script writes (one complete line); 0 if it never appears.
pid_t read_pid_after(const fs::path& path) {
  pid_t pid = 0;
  eventually([&] {
    auto lines = file_lines(path);
    if (lines.empty()) return false;
    pid = static_cast<pid_t>(std::stol(lines[0]));
    return pid > 0;
  }, 10s);
  return pid;
}

int run_in_pid_namespace(const fs::path& script, std::string* output) {
  Process p({"unshare", "-p", "-f", "--mount-proc", "sh", script.string()});
  int status = p.wait(30s);
  *output = p.output();
  return status;
}

// The defect: relive reaped a generation's leader when it exited and, at the next change,
// stopped "its" process group with kill(-pgid) — a group id that an unrelated process had
// recycled meanwhile. Here the unrelated process is a `setsid sleep` started right where
// the next pid is the dead leader's.
TEST(RunHostile, ARecycledPidOfAnExitedProgramIsNeverSignalled) {
  TempDir dir;
  fs::create_directories(dir / "src");
  write_file(dir / "src" / "app.py", "0\n");
  const std::string d = dir.path().string();
  write_file(dir / "driver.sh",
             "cd '" + d + "'\n"
             "'" + relive_bin() + "' -w src -- sh -c 'echo $$ >> child.pids; exit 3' > relive.log 2>&1 &\n"
             "relive=$!\n"
             "wait_for() { i=0; while ! eval \"$1\"; do sleep 0.02; i=$((i+1)); "
             "if [ $i -gt 750 ]; then echo \"timeout: $1\"; cat relive.log; kill $relive; exit 3; fi; done; }\n"
             "wait_for '[ \"$(grep -c \"waiting for changes\" relive.log)\" = 1 ]'\n"
             "cp=$(cat child.pids)\n"
             // The next process in this namespace gets the dead leader's pid, unless its
             // zombie still holds it.
             "echo $((cp - 1)) > /proc/sys/kernel/ns_last_pid || exit 4\n"
             "setsid sleep 1000 &\n"
             "stranger=$!\n"
             "echo \"leader $cp stranger $stranger\"\n"
             "echo 1 > src/app.py\n"
             "wait_for '[ \"$(grep -c \"waiting for changes\" relive.log)\" = 2 ]'\n"
             "if kill -0 $stranger 2>/dev/null; then echo stranger-alive; else echo stranger-killed; fi\n"
             "kill -TERM $relive; wait $relive\n"
             "kill $stranger 2>/dev/null\n"
             "cat relive.log\n");
  std::string out;
  int status = run_in_pid_namespace(dir / "driver.sh", &out);
  ASSERT_EQ(status, 0) << out;
  EXPECT_NE(out.find("stranger-alive"), std::string::npos) << out;
}

// relive's output goes to a pipe whose reader never reads (a stopped pager): once the pipe is
// full, relive's own writes would block — they must not block its event loop, or SIGTERM
// (and Ctrl-C) would never be handled. The second generation's output passes through relive
// (--graceful keeps its last lines), 1 MB of it.
TEST(RunHostile, AStalledTerminalDoesNotStopSignalHandling) {
  TempDir dir;
  fs::create_directories(dir / "src");
  write_file(dir / "src" / "app.py", "0\n");
  const std::string d = dir.path().string();
  write_file(dir / "child.sh",
             "n=$(( $(cat count 2>/dev/null || echo 0) + 1 )); echo $n > count\n"
             "if [ $n -ge 2 ]; then head -c 1000000 /dev/zero | tr '\\0' x; echo; echo $n > loud; fi\n"
             "exec sleep 1000\n");
  write_file(dir / "driver.sh",
             "cd '" + d + "'\n"
             "mkfifo stalled\n"
             "sleep 1000 < stalled &\n"
             "reader=$!\n"
             "'" + relive_bin() + "' -w src --graceful --ready delay:0 -- sh child.sh > stalled 2>&1 &\n"
             "relive=$!\n"
             "i=0; while [ \"$(cat count 2>/dev/null)\" != 1 ]; do sleep 0.02; i=$((i+1)); [ $i -gt 500 ] && break; done\n"
             "echo 1 > src/app.py\n"
             // The second generation is writing its megabyte: relive's pipe is full.
             "i=0; while [ \"$(cat count 2>/dev/null)\" != 2 ]; do sleep 0.02; i=$((i+1)); [ $i -gt 500 ] && break; done\n"
             "sleep 0.5\n"
             "kill -TERM $relive\n"
             "i=0; while kill -0 $relive 2>/dev/null; do sleep 0.05; i=$((i+1)); "
             "if [ $i -gt 200 ]; then echo relive-hung; kill -9 $relive; kill $reader; exit 1; fi; done\n"
             "wait $relive; echo relive-exited-$?\n"
             "kill $reader\n");
  Process driver({"sh", (dir / "driver.sh").string()});
  EXPECT_EQ(driver.wait(30s), 0) << driver.output();
  EXPECT_NE(driver.output().find("relive-exited-143"), std::string::npos) << driver.output();
}

TEST(RunHostile, StrayUsr1Usr2AreForwardedAndOtherSignalsDoNotKillRelive) {
  TempDir src, out;
  write_file(src / "app.py", "0\n");
  auto log = (out / "signals.log").string();
  write_file(out / "child.sh", "trap 'echo USR1 >> " + log + "' USR1\ntrap 'echo USR2 >> " + log +
                                   "' USR2\necho $$ > " + (out / "child.pid").string() +
                                   "\nwhile :; do sleep 0.05; done\n");
  Process relive(relive_argv({"-w", src.path().string(), "--", "sh", (out / "child.sh").string()}));
  pid_t child = read_pid_after(out / "child.pid");
  ASSERT_GT(child, 0) << relive.output();
  relive.signal(SIGUSR1);
  ASSERT_TRUE(eventually([&] { return file_lines(log).size() == 1; }, 10s)) << relive.output();
  relive.signal(SIGUSR2);
  ASSERT_TRUE(eventually([&] { return file_lines(log).size() == 2; }, 10s)) << relive.output();
  EXPECT_EQ(file_lines(log), (std::vector<std::string>{"USR1", "USR2"}));
  for (int sig : {SIGALRM, SIGVTALRM, SIGPROF, SIGIO, SIGPWR, SIGXCPU, SIGRTMIN + 1, SIGRTMAX}) {
    relive.signal(sig);
  }
  // A marker signal after them: once it is forwarded, every earlier one was handled.
  relive.signal(SIGUSR1);
  ASSERT_TRUE(eventually([&] { return file_lines(log).size() == 3; }, 10s)) << relive.output();
  EXPECT_TRUE(relive.running()) << relive.output();
  EXPECT_TRUE(process_alive(child));
  relive.signal(SIGQUIT);
  EXPECT_EQ(relive.wait(10s), 128 + SIGQUIT) << relive.output();
  EXPECT_FALSE(in_proc_table(child)) << "the program outlived relive";
}

TEST(RunHostile, AKilledReliveTakesItsProgramAlong) {
  TempDir src, out;
  write_file(src / "app.py", "0\n");
  Process relive(relive_argv({"-w", src.path().string(), "--", "sh", "-c",
                              "echo $$ > " + (out / "child.pid").string() + "; exec sleep 1000"}));
  pid_t child = read_pid_after(out / "child.pid");
  ASSERT_GT(child, 0) << relive.output();
  relive.signal(SIGKILL);
  relive.wait(10s);
  EXPECT_TRUE(eventually([&] { return !process_alive(child); }, 10s)) << "pid " << child << " outlived relive";
  if (process_alive(child)) kill(child, SIGKILL);
}

TEST(RunHostile, AHugeStopTimeoutIsRejectedOrNeverKillsAtOnce) {
  TempDir src;
  write_file(src / "app.py", "0\n");
  // Seconds beyond what a duration can hold: rejected like "10000000000s".
  auto r = run_relive({"-w", src.path().string(), "--stop-timeout", "10000000000", "--", "true"}, src.path());
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("--stop-timeout"), std::string::npos) << r.output;

  // The largest that fits: a deadline almost 300 years away, not one in the past.
  TempDir out;
  auto starts = out / "starts";
  Process relive(relive_argv({"-w", src.path().string(), "--stop-timeout", "9223372036s", "--", "sh", "-c",
                              "echo $$ >> " + starts.string() + "; exec sleep 1000"}));
  ASSERT_TRUE(eventually([&] { return file_lines(starts).size() == 1; }, 10s)) << relive.output();
  save_plain(src / "app.py", "1\n");
  ASSERT_TRUE(eventually([&] { return file_lines(starts).size() == 2; }, 10s)) << relive.output();
  relive.signal(SIGINT);
  EXPECT_EQ(relive.wait(10s), 130) << relive.output();
  EXPECT_EQ(relive.output().find("killed"), std::string::npos) << relive.output();
}

TEST(RunHostile, AProgramThatExitedByItselfIsNotStoppedAgain) {
  TempDir src, out;
  write_file(src / "app.py", "0\n");
  auto starts = out / "starts";
  auto events = out / "events.jsonl";
  Process relive(relive_argv({"-w", src.path().string(), "--stop-timeout", "9223372036s", "--json-events",
                              events.string(), "--", "sh", "-c", "echo $$ >> " + starts.string() + "; exit 1"}));
  ASSERT_TRUE(relive.wait_for_output("waiting for changes")) << relive.output();
  save_plain(src / "app.py", "1\n");
  ASSERT_TRUE(eventually([&] { return file_lines(starts).size() == 2; }, 10s)) << relive.output();
  ASSERT_TRUE(relive.wait_for_output("waiting for changes", 10s, relive.output().find("waiting for changes") + 1))
      << relive.output();
  relive.signal(SIGINT);
  relive.wait(10s);
  EXPECT_EQ(relive.output().find("did not stop"), std::string::npos) << relive.output();
  EXPECT_EQ(read_file(events).find("\"event\":\"stop\""), std::string::npos) << read_file(events);
}

// The README's compiled-language example on a fresh tree: the program exists only once the
// build made it.
TEST(RunHostile, BuildRunsBeforeTheProgramIsLookedUp) {
  TempDir dir;
  write_file(dir / "main.c",
             "#include <stdio.h>\n#include <unistd.h>\n"
             "int main(void) { FILE* f = fopen(\"started\", \"a\"); fprintf(f, \"%d\\n\", (int)getpid()); "
             "fclose(f); for (;;) pause(); }\n");
  Process relive(relive_argv({"-e", "c", "--build", "mkdir -p build && cc -o build/server main.c", "--",
                              "build/server"}),
                 in_dir(dir.path()));
  ASSERT_TRUE(eventually([&] { return file_lines(dir / "started").size() == 1; }, 20s)) << relive.output();
  relive.signal(SIGINT);
  EXPECT_EQ(relive.wait(10s), 130) << relive.output();
}

TEST(RunHostile, BuildFromReliveTomlRunsBeforeTheProgramIsLookedUp) {
  TempDir dir;
  write_file(dir / "relive.toml",
             "build = \"mkdir -p build && printf '#!/bin/sh\\\\necho $$ >> started\\\\nexec sleep 1000\\\\n' > "
             "build/server && chmod +x build/server\"\ncommand = [\"build/server\"]\n");
  Process relive(relive_argv({}), in_dir(dir.path()));
  ASSERT_TRUE(eventually([&] { return file_lines(dir / "started").size() == 1; }, 20s)) << relive.output();
  relive.signal(SIGINT);
  EXPECT_EQ(relive.wait(10s), 130) << relive.output();
}

// A master that stops on SIGTERM (taking a moment, as a master finishing its requests does)
// and a worker that records, when SIGTERM reaches it, whether its master is still running.
std::string master_worker(const fs::path& log) {
  return "import os, signal, sys, time\n"
         "LOG = '" + log.string() + "'\n"
         "def say(s):\n"
         "    with open(LOG, 'a') as f: f.write(s + '\\n')\n"
         "master = os.getpid()\n"
         "if os.fork() == 0:\n"
         "    def worker_term(*_):\n"
         "        say('worker TERM master-running=%d' % (os.getppid() == master))\n"
         "        os._exit(0)\n"
         "    signal.signal(signal.SIGTERM, worker_term)\n"
         "    say('worker up')\n"
         "    while True: time.sleep(1)\n"
         "def master_term(*_):\n"
         "    say('master TERM')\n"
         "    time.sleep(1)\n"
         "    os._exit(0)\n"
         "signal.signal(signal.SIGTERM, master_term)\n"
         "say('master up')\n"
         "while True: signal.pause()\n";
}

std::vector<std::string> stop_order(const std::vector<std::string>& extra) {
  TempDir src, out;
  write_file(src / "app.py", "0\n");
  auto log = out / "order.log";
  write_file(out / "tree.py", master_worker(log));
  std::vector<std::string> args = {"-w", src.path().string()};
  args.insert(args.end(), extra.begin(), extra.end());
  for (const auto& a : {std::string("--"), python3(), (out / "tree.py").string()}) args.push_back(a);
  Process relive(relive_argv(args));
  auto up = [&] {
    auto l = file_lines(log);
    return std::count(l.begin(), l.end(), "worker up") == 1 && std::count(l.begin(), l.end(), "master up") == 1;
  };
  EXPECT_TRUE(eventually(up, 10s)) << relive.output();
  fs::remove(log);
  save_plain(src / "app.py", "1\n");
  EXPECT_TRUE(eventually(up, 20s)) << relive.output();
  std::vector<std::string> order;  // what the restart's stop did (the final stop comes next)
  for (auto& l : file_lines(log))
    if (l.find("TERM") != std::string::npos) order.push_back(l);
  relive.signal(SIGTERM);
  relive.wait(20s);
  return order;
}

TEST(RunHostile, StopModeMixedStopsTheMainProcessFirst) {
  EXPECT_EQ(stop_order({}), (std::vector<std::string>{"master TERM", "worker TERM master-running=0"}));
}

TEST(RunHostile, StopModeGroupSignalsTheWholeGroupAtOnce) {
  auto order = stop_order({"--stop-mode", "group"});
  ASSERT_EQ(order.size(), 2u);
  EXPECT_NE(std::find(order.begin(), order.end(), "worker TERM master-running=1"), order.end());
}

TEST(RunHostile, StopModeIsChecked) {
  TempDir src;
  auto r = run_relive({"-w", src.path().string(), "--stop-mode", "sideways", "--", "true"}, src.path());
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("--stop-mode: expected group, main or mixed"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace relive::test
