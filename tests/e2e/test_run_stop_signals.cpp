// How `relive -- CMD` stops a tree and what signals to relive do (docs/run.md, "Stop modes"
// and "Signals"): --stop-mode main signals the main process alone and leaves the rest to
// it until --stop-timeout; SIGHUP stops the whole tree and exits 129; a fault signal sent
// to relive (SIGTRAP, SIGSEGV, ...) is reported and ignored.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <cstring>  // sigabbrev_np

#include "run_test_util.hpp"

namespace relive::test {
namespace {

// Running, not a zombie (an orphan's zombie waits for whoever reaps for pid 1 here).
bool alive(pid_t pid) {
  std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  auto paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z';
}

// A master that exits a moment after SIGTERM without touching its worker, and a worker
// that records SIGTERM if it ever gets one. Each start logs "master up PID" and "worker up PID".
std::string lazy_master(const fs::path& log) {
  return "import os, signal, time\n"
         "LOG = '" + log.string() + "'\n"
         "def say(s):\n"
         "    with open(LOG, 'a') as f: f.write(s + '\\n')\n"
         "if os.fork() == 0:\n"
         "    def worker_term(*_):\n"
         "        say('worker TERM')\n"
         "        os._exit(0)\n"
         "    signal.signal(signal.SIGTERM, worker_term)\n"
         "    say('worker up %d' % os.getpid())\n"
         "    while True: time.sleep(1)\n"
         "def master_term(*_):\n"
         "    say('master TERM')\n"
         "    time.sleep(0.5)\n"
         "    os._exit(0)\n"
         "signal.signal(signal.SIGTERM, master_term)\n"
         "say('master up %d' % os.getpid())\n"
         "while True: signal.pause()\n";
}

std::vector<std::string> with_prefix(const std::vector<std::string>& lines, const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto& l : lines)
    if (l.rfind(prefix, 0) == 0) out.push_back(l.substr(prefix.size()));
  return out;
}

TEST(RunStopSignals, StopModeMainSignalsTheMainProcessAloneAndKillsTheRestAfterTheTimeout) {
  TempDir src, out;
  write_file(src / "app.py", "0\n");
  auto log = out / "tree.log";
  write_file(out / "tree.py", lazy_master(log));
  Process relive(relive_argv({"-w", src.path().string(), "--stop-mode", "main", "--stop-timeout", "1s", "--", python3(),
                              (out / "tree.py").string()}));
  auto ups = [&] { return with_prefix(file_lines(log), "worker up ").size(); };
  ASSERT_TRUE(eventually([&] { return ups() == 1 && with_prefix(file_lines(log), "master up ").size() == 1; }, 10s))
      << relive.output();
  const pid_t old_worker = std::stoi(with_prefix(file_lines(log), "worker up ")[0]);
  save_plain(src / "app.py", "1\n");
  ASSERT_TRUE(eventually([&] { return ups() == 2; }, 20s)) << relive.output() << read_file(log);
  // By the time the next generation runs, the old worker is gone (SIGKILL after the
  // timeout) without ever hearing SIGTERM; the master heard it.
  EXPECT_FALSE(in_proc_table(old_worker));
  auto lines = file_lines(log);
  EXPECT_EQ(std::count(lines.begin(), lines.end(), "master TERM"), 1) << read_file(log);
  EXPECT_EQ(std::count(lines.begin(), lines.end(), "worker TERM"), 0) << read_file(log);
  relive.signal(SIGTERM);
  relive.wait(20s);
}

TEST(RunStopSignals, SighupStopsTheWholeTreeAndExits129) {
  TempDir dir, out;
  auto pids = out / "pids";
  // A shell with a background job: two processes in the tree.
  Process relive(relive_argv({"-w", ".", "--", "sh", "-c",
                              "sleep 1000 & echo $! >> " + pids.string() + "; echo $$ >> " + pids.string() + "; wait"}),
                 in_dir(dir.path()));
  ASSERT_TRUE(eventually([&] { return file_lines(pids).size() == 2; }, 10s)) << relive.output();
  relive.signal(SIGHUP);
  EXPECT_EQ(relive.wait(20s), 129) << relive.output();
  for (const auto& p : file_lines(pids)) EXPECT_FALSE(in_proc_table(std::stoi(p))) << "pid " << p << " outlived relive";
}

// SIGTRAP, SIGSYS and the fault signals sent with kill(2) are not faults of relive's: each
// is a line naming the signal and its sender, and relive goes on supervising (a save still
// restarts); SIGTERM then stops relive and the program as usual. (A real fault still ends
// relive: the kernel unblocks a signal it raises for a fault; docs/run.md, "Signals".)
TEST(RunStopSignals, AFaultSignalSentToReliveIsReportedAndIgnored) {
  TempDir dir, out;
  auto pids = out / "pids";
  write_file(dir / "app.txt", "0\n");
  std::string cmd = "ulimit -c 0; exec '" + relive_bin() + "' -w . -- sh -c 'echo $$ >> " + pids.string() +
                    "; exec sleep 1000'";
  Process relive({"sh", "-c", cmd}, in_dir(dir.path()));
  ASSERT_TRUE(eventually([&] { return file_lines(pids).size() == 1; }, 10s)) << relive.output();
  for (int sig : {SIGTRAP, SIGSYS, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) {
    std::string name = std::string("SIG") + sigabbrev_np(sig);
    relive.signal(sig);
    ASSERT_TRUE(relive.wait_for_output(name + " from pid " + std::to_string(getpid()) + " ignored"))
        << name << "\n" << relive.output();
  }
  EXPECT_TRUE(alive(std::stoi(file_lines(pids)[0]))) << relive.output();
  write_file(dir / "app.txt", "1\n");
  ASSERT_TRUE(eventually([&] { return file_lines(pids).size() == 2; }, 10s)) << "still supervising:\n" << relive.output();
  relive.signal(SIGTERM);
  EXPECT_EQ(relive.wait(20s), 143) << relive.output();
  for (const auto& p : file_lines(pids)) EXPECT_TRUE(eventually([&] { return !alive(std::stoi(p)); }, 10s)) << p;
}

}  // namespace
}  // namespace relive::test
