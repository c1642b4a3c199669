// `relive -- CMD` on a real terminal (a pseudo-terminal, relive its foreground process
// group, as a shell starts it): what is typed reaches the program (input(), pdb), `rs`
// restarts by hand, Ctrl-C stops everything, and the program's stdout/stderr are
// terminals in every mode (its stdin is relive's pipe). Also relive's stdin when it is not
// a terminal, and --no-stdin.
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "run_test_util.hpp"
#include "terminal_session.hpp"

namespace relive::test {
namespace {

// Pids the program wrote as "pid=N" lines, in order.
std::vector<int> pids_on(const std::string& screen) {
  std::vector<int> out;
  std::regex re("pid=([0-9]+)");
  for (auto it = std::sregex_iterator(screen.begin(), screen.end(), re); it != std::sregex_iterator(); ++it)
    out.push_back(std::stoi((*it)[1]));
  return out;
}

std::vector<std::string> relive_on_terminal(std::vector<std::string> args) {
  return relive_argv(std::move(args));
}

// input() gets the typed line, echoed once (by the terminal, not by relive too); Ctrl-C
// then stops the whole tree and relive exits, nothing left.
TEST(RunTerminal, InputGetsTheTypedLineAndCtrlCStopsEverything) {
  TempDir dir, out;
  auto pids = out / "pids";
  write_file(dir / "app.py",
             "import os, subprocess, sys\n"
             "child = subprocess.Popen(['sleep', '1000'])\n"
             "open(sys.argv[1], 'w').write(f'{os.getpid()}\\n{child.pid}\\n')\n"
             "name = input('name? ')\n"
             "print(f'hello [{name}]', flush=True)\n"
             "input('again? ')\n");
  TerminalSession term(relive_on_terminal({"-w", "app.py", "--", python3(), "app.py", pids.string()}), dir.path());
  ASSERT_TRUE(term.wait_for("name? ")) << term.screen();
  term.type("world\r");
  ASSERT_TRUE(term.wait_for("hello [world]")) << term.screen();
  EXPECT_EQ(term.count("world"), 2u) << "echoed once, printed once:\n" << term.screen();
  ASSERT_TRUE(term.wait_for("again? ")) << term.screen();
  ASSERT_EQ(file_lines(pids).size(), 2u);
  term.type("\x03");
  EXPECT_EQ(term.wait(20s), 130) << term.screen();
  // Ended by the signal, not by an EOF racing it.
  EXPECT_EQ(term.screen().find("EOFError"), std::string::npos) << term.screen();
  for (const auto& p : file_lines(pids)) EXPECT_FALSE(process_alive(std::stoi(p))) << "left behind: " << p;
}

// pdb at breakpoint(): `p 6*7` answers 42, `c` continues.
TEST(RunTerminal, PdbAtABreakpointAnswersAndContinues) {
  TempDir dir;
  write_file(dir / "app.py",
             "x = 6\n"
             "breakpoint()\n"
             "print('continued', x * 7, flush=True)\n");
  TerminalSession term(relive_on_terminal({"-w", "app.py", "--", python3(), "app.py"}), dir.path());
  ASSERT_TRUE(term.wait_for("(Pdb) ")) << term.screen();
  size_t at = term.screen().size();
  term.type("p 6*7\r");
  ASSERT_TRUE(term.wait_for("42", 20s, at)) << term.screen();
  ASSERT_TRUE(term.wait_for("(Pdb) ", 20s, at)) << term.screen();
  term.type("c\r");
  ASSERT_TRUE(term.wait_for("continued 42")) << term.screen();
  // The program then ends by itself; Ctrl-C once relive has said so (before, a Ctrl-C
  // racing its exit passes its own status 0 on, which is right but not this test).
  ASSERT_TRUE(term.wait_for("exited successfully")) << term.screen();
  term.type("\x03");
  EXPECT_EQ(term.wait(20s), 130) << term.screen();
}

constexpr const char* kTtyProbe =
    "import os, sys\n"
    "print(f'pid={os.getpid()} tty in={sys.stdin.isatty()} out={sys.stdout.isatty()} err={sys.stderr.isatty()}',"
    " flush=True)\n"
    "for line in sys.stdin:\n"
    "    print(f'line [{line.strip()}] from {os.getpid()}', flush=True)\n"
    "print(f'eof {os.getpid()}', flush=True)\n"
    "import time; time.sleep(1000)\n";

// `rs` alone on a line restarts (a new pid) and does not reach the program; other lines
// do, to the new generation. stdout/stderr are the terminal, stdin is relive's pipe.
TEST(RunTerminal, RsRestartsAndIsNotForwarded) {
  TempDir dir;
  write_file(dir / "app.py", kTtyProbe);
  TerminalSession term(relive_on_terminal({"-w", "app.py", "--", python3(), "app.py"}), dir.path());
  ASSERT_TRUE(term.wait_for("pid=")) << term.screen();
  EXPECT_TRUE(term.wait_for("tty in=False out=True err=True")) << term.screen();
  term.type("first\r");
  ASSERT_TRUE(term.wait_for("line [first]")) << term.screen();
  term.type("  rs \r");
  ASSERT_TRUE(eventually([&] { return pids_on(term.screen()).size() == 2; }, 20s)) << term.screen();
  EXPECT_TRUE(term.wait_for("restart requested, restarting")) << term.screen();
  auto pids = pids_on(term.screen());
  EXPECT_NE(pids[0], pids[1]);
  term.type("second\r");
  ASSERT_TRUE(term.wait_for("line [second] from " + std::to_string(pids[1]))) << term.screen();
  EXPECT_EQ(term.screen().find("line [rs]"), std::string::npos) << term.screen();
  EXPECT_EQ(term.screen().find("line [  rs"), std::string::npos) << term.screen();
  // Ctrl-D ends the running program's input.
  term.type("\x04");
  ASSERT_TRUE(term.wait_for("eof " + std::to_string(pids[1]))) << term.screen();
  term.type("\x03");
  EXPECT_EQ(term.wait(20s), 130) << term.screen();
  for (int p : pids) EXPECT_FALSE(process_alive(p));
}

// --graceful: the new generation's output passes through relive, on a pseudo-terminal
// (stdout and stderr still terminals); input goes to the serving generation until the
// handover, then to the new one.
TEST(RunTerminal, GracefulGenerationWritesToATerminalAndGetsInputAfterTheHandover) {
  TempDir dir;
  write_file(dir / "app.py", kTtyProbe);
  TerminalSession term(
      relive_on_terminal({"-w", "app.py", "--graceful", "--ready", "delay:200", "--", python3(), "app.py"}),
      dir.path());
  ASSERT_TRUE(term.wait_for("pid=")) << term.screen();
  term.type("rs\r");
  ASSERT_TRUE(eventually([&] { return pids_on(term.screen()).size() == 2; }, 20s)) << term.screen();
  auto pids = pids_on(term.screen());
  ASSERT_TRUE(term.wait_for("ready after")) << term.screen();
  EXPECT_EQ(term.count("tty in=False out=True err=True"), 2u) << term.screen();
  term.type("next\r");
  ASSERT_TRUE(term.wait_for("line [next] from " + std::to_string(pids[1]))) << term.screen();
  term.type("\x03");
  EXPECT_EQ(term.wait(20s), 130) << term.screen();
  for (int p : pids) EXPECT_FALSE(process_alive(p));
}

// A resized terminal: the program hears SIGWINCH (it is not in the terminal's foreground
// group, so relive passes it on) and its terminal has the new size — relive's own in a
// plain start, the pseudo-terminal relive gave a --graceful generation.
TEST(RunTerminal, AResizeReachesTheProgramInEveryMode) {
  TempDir dir;
  write_file(dir / "app.py",
             "import os, signal, sys, time\n"
             "def winch(*_):\n"
             "    s = os.get_terminal_size(1)\n"
             "    print(f'size {s.columns}x{s.lines} from {os.getpid()}', flush=True)\n"
             "signal.signal(signal.SIGWINCH, winch)\n"
             "s = os.get_terminal_size(1)\n"
             "print(f'pid={os.getpid()} start {s.columns}x{s.lines}', flush=True)\n"
             "while True: time.sleep(1)\n");
  TerminalSession term(
      relive_on_terminal({"-w", "app.py", "--graceful", "--ready", "delay:200", "--", python3(), "app.py"}),
      dir.path());
  ASSERT_TRUE(term.wait_for("start 80x24")) << term.screen();
  auto first = pids_on(term.screen());
  term.resize(30, 100);
  ASSERT_TRUE(term.wait_for("size 100x30 from " + std::to_string(first[0]))) << term.screen();
  term.type("rs\r");
  ASSERT_TRUE(eventually([&] { return pids_on(term.screen()).size() == 2; }, 20s)) << term.screen();
  ASSERT_TRUE(term.wait_for("ready after")) << term.screen();
  EXPECT_EQ(term.count("start 100x30"), 1u) << "the pseudo-terminal has relive's size:\n" << term.screen();
  auto second = pids_on(term.screen());
  term.resize(40, 120);
  ASSERT_TRUE(term.wait_for("size 120x40 from " + std::to_string(second[1]))) << term.screen();
  term.type("\x03");
  EXPECT_EQ(term.wait(20s), 130) << term.screen();
}

// relive's stdin a pipe: lines are passed on the same way, `rs` restarts, EOF closes the
// program's stdin and every later start sees EOF at once.
TEST(RunTerminal, PipedStdinIsPassedOnAndItsEndIsEof) {
  TempDir dir;
  write_file(dir / "app.py", kTtyProbe);
  Process::Options po = in_dir(dir.path());
  po.stdin_pipe = true;
  Process relive(relive_argv({"-w", "app.py", "--", python3(), "app.py"}), po);
  ASSERT_TRUE(relive.wait_for_output("tty in=False out=False err=False")) << relive.output();
  relive.write_stdin("one\n");
  ASSERT_TRUE(relive.wait_for_output("line [one]")) << relive.output();
  relive.write_stdin("rs\n");
  ASSERT_TRUE(eventually([&] { return pids_on(relive.output()).size() == 2; }, 20s)) << relive.output();
  auto pids = pids_on(relive.output());
  relive.write_stdin("two\n");
  ASSERT_TRUE(relive.wait_for_output("line [two] from " + std::to_string(pids[1]))) << relive.output();
  relive.close_stdin();
  ASSERT_TRUE(relive.wait_for_output("eof " + std::to_string(pids[1]))) << relive.output();
  save_plain(dir / "app.py", std::string(kTtyProbe) + "\n");
  ASSERT_TRUE(eventually([&] { return pids_on(relive.output()).size() == 3; }, 20s)) << relive.output();
  pids = pids_on(relive.output());
  EXPECT_TRUE(relive.wait_for_output("eof " + std::to_string(pids[2]))) << relive.output();
  relive.signal(SIGINT);
  EXPECT_EQ(relive.wait(20s), 130) << relive.output();
}

// relive started with stdin closed: the program reads EOF (not relive's inotify fd, which
// would otherwise have taken fd 0).
TEST(RunTerminal, AClosedStdinIsAnEmptyOne) {
  TempDir dir;
  write_file(dir / "app.py", "import sys\nprint('read', repr(sys.stdin.read()), flush=True)\n");
  Process relive({"/bin/sh", "-c", "exec \"$0\" -w app.py -- \"$1\" app.py <&-", relive_bin(), python3()},
                 in_dir(dir.path()));
  EXPECT_TRUE(relive.wait_for_output("read ''")) << relive.output();
  // It ends by itself: Ctrl-C only once relive has seen that (a program still finishing
  // when Ctrl-C comes ends with its own status, 0 here, which relive passes on).
  ASSERT_TRUE(relive.wait_for_output("exited successfully")) << relive.output();
  relive.signal(SIGINT);
  EXPECT_EQ(relive.wait(20s), 130) << relive.output();
}

// --no-stdin: the program inherits relive's stdin (here a pipe it reads itself); `rs` is
// an ordinary line then.
TEST(RunTerminal, NoStdinLeavesStdinToTheProgram) {
  TempDir dir;
  write_file(dir / "app.py", kTtyProbe);
  Process::Options po = in_dir(dir.path());
  po.stdin_pipe = true;
  Process relive(relive_argv({"-w", "app.py", "--no-stdin", "--", python3(), "app.py"}), po);
  ASSERT_TRUE(relive.wait_for_output("pid=")) << relive.output();
  relive.write_stdin("rs\n");
  ASSERT_TRUE(relive.wait_for_output("line [rs]")) << relive.output();
  EXPECT_EQ(pids_on(relive.output()).size(), 1u) << relive.output();
  relive.signal(SIGINT);
  EXPECT_EQ(relive.wait(20s), 130) << relive.output();
}

// A program that never reads while a lot is pasted: relive keeps reading (so `rs` still
// works), drops what does not fit and says so once; nothing blocks, nothing grows.
TEST(RunTerminal, AProgramThatDoesNotReadCannotBlockRelive) {
  TempDir dir;
  write_file(dir / "app.py", "import os, time\nprint(f'pid={os.getpid()}', flush=True)\ntime.sleep(1000)\n");
  TerminalSession term(relive_on_terminal({"-w", "app.py", "--", python3(), "app.py"}), dir.path());
  ASSERT_TRUE(term.wait_for("pid=")) << term.screen();
  std::string line(1000, 'x');
  line += "\r";
  for (int i = 0; i < 200; ++i) term.type(line);  // 200 kB: more than the pipe and the queue
  ASSERT_TRUE(term.wait_for("does not read its standard input")) << term.screen().substr(0, 300);
  term.type("rs\r");
  ASSERT_TRUE(eventually([&] { return pids_on(term.screen()).size() == 2; }, 20s));
  EXPECT_EQ(term.count("does not read its standard input"), 1u);
  term.type("\x03");
  EXPECT_EQ(term.wait(20s), 130);
}

}  // namespace
}  // namespace relive::test
