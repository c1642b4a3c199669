// `relive -- CMD` options and files as a user meets them: -e spellings, relive's own
// output inside the tree, --poll N, bare relive, relive.toml mistakes and edits, options
// that need each other, and the everyday features (--debounce, --postpone, --workdir,
// -E, --exit-on-crash, --notify, the banner, the command without --, default ignores).
#include <gtest/gtest.h>
#include <signal.h>

#include <thread>

#include "run_test_util.hpp"

namespace relive::test {
namespace {

bool has(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

// A watched tree, and outside it a log the child appends "<pid> <changed,names> <args>" to
// (the changed paths' file names: relive runs outside the tree, so its paths are absolute).
struct Project {
  TempDir src;
  TempDir out;
  fs::path log() const { return out / "starts.log"; }
  fs::path child() const { return out / "child.sh"; }
  Project() {
    write_file(child(), "printf '%s %s %s\\n' $$ \"$(printf '%s' \"$RELIVE_CHANGED_PATHS\" | sed 's|.*/||' | tr '\\n' ',')\" \"$*\" >> " +
                            log().string() + "\nexec sleep 1000\n");
  }
  size_t starts() const { return file_lines(log()).size(); }
  bool wait_starts(size_t n) const { return eventually([&] { return starts() >= n; }, 15s); }
  std::string line(size_t i) const { return file_lines(log()).at(i); }
};

void stop(Process& relive) {
  relive.signal(SIGINT);
  EXPECT_EQ(relive.wait(15s), 130) << relive.output();
}

// ---- -e ----------------------------------------------------------------------------------

TEST(RunOptions, ExtsAcceptSpacesDotsAndGlobsAndWarnAboutWhatCannotMatch) {
  Project p;
  Process relive(relive_argv({"-w", p.src.path().string(), "-e", "py, toml", "-e", "*.md", "-e", "*", "--", "sh",
                              p.child().string()}));
  ASSERT_TRUE(p.wait_starts(1)) << relive.output();
  EXPECT_TRUE(has(relive.output(), "\"*\" cannot match any file")) << relive.output();
  save_plain(p.src / "a.toml", "x");  // the " toml" after the comma
  ASSERT_TRUE(p.wait_starts(2)) << "a.toml did not restart: " << relive.output();
  save_plain(p.src / "b.md", "x");  // *.md
  ASSERT_TRUE(p.wait_starts(3)) << "b.md did not restart: " << relive.output();
  save_plain(p.src / "c.txt", "x");  // not listed
  save_plain(p.src / "d.py", "x");   // sentinel
  ASSERT_TRUE(p.wait_starts(4)) << relive.output();
  EXPECT_EQ(p.starts(), 4u) << read_file(p.log());
  EXPECT_TRUE(has(p.line(3), " d.py ")) << p.line(3);
  stop(relive);
}

TEST(RunOptions, ExtsWithNothingUsableIsAnError) {
  TempDir dir;
  auto o = run_relive({"-e", "*", "--", "true"}, dir.path());
  EXPECT_EQ(o.status, 2) << o.output;
  EXPECT_TRUE(has(o.output, "no usable extension")) << o.output;
}

// ---- relive's own output -----------------------------------------------------------------

TEST(RunOptions, OutputRedirectedIntoTheTreeDoesNotRestart) {
  Project p;
  auto events = p.out / "events.jsonl";
  // relive's stdout and stderr go to a file in the watched tree; the program writes to it.
  std::string cmd = "exec '" + relive_bin() + "' --json-events '" + events.string() +
                    "' -- sh -c 'while :; do echo tick; sleep 0.05; done' > out.log 2>&1";
  Process relive({"sh", "-c", cmd}, in_dir(p.src.path()));
  auto starts = [&] {
    size_t n = 0;
    for (const auto& l : file_lines(events)) n += has(l, "\"event\":\"start\"");
    return n;
  };
  ASSERT_TRUE(eventually([&] { return starts() >= 1; }, 15s));
  // Many lines written into the tree, each a change of out.log ...
  ASSERT_TRUE(eventually([&] { return relive::test::read_file(p.src / "out.log").size() > 200; }, 15s));
  // ... and a sentinel change after them: one restart, for it alone.
  save_plain(p.src / "app.py", "x");
  ASSERT_TRUE(eventually([&] { return starts() >= 2; }, 15s)) << read_file(p.src / "out.log");
  EXPECT_EQ(starts(), 2u) << read_file(p.src / "out.log");
  EXPECT_FALSE(has(read_file(p.src / "out.log"), "out.log changed")) << read_file(p.src / "out.log");
  relive.signal(SIGINT);
  relive.wait(15s);
}

// ---- options -----------------------------------------------------------------------------

TEST(RunOptions, PollTakesItsIntervalAsTheNextArgumentOrAfterAnEqualsSign) {
  for (const std::vector<std::string>& poll : {std::vector<std::string>{"--poll", "200"}, {"--poll=200"}, {"--poll"}}) {
    Project p;
    std::vector<std::string> args = {"-w", p.src.path().string()};
    args.insert(args.end(), poll.begin(), poll.end());
    args.insert(args.end(), {"--", "sh", p.child().string()});
    Process relive(relive_argv(args));
    ASSERT_TRUE(p.wait_starts(1)) << poll[0] << ": " << relive.output();
    save_plain(p.src / "a.py", "x");
    ASSERT_TRUE(p.wait_starts(2)) << poll[0] << ": " << relive.output();
    std::string interval = poll.back() == "--poll" ? "polled every 500 ms" : "polled every 200 ms";
    EXPECT_TRUE(has(relive.output(), interval)) << relive.output();
    stop(relive);
  }
}

TEST(RunOptions, BareRelivePrintsTheUsage) {
  TempDir dir;
  auto o = run_relive({}, dir.path());
  EXPECT_EQ(o.status, 2) << o.output;
  EXPECT_TRUE(has(o.output, "Usage: relive")) << o.output;
  EXPECT_FALSE(has(o.output, "missing")) << o.output;
}

TEST(RunOptions, HelpListsVersionAndTheNewOptions) {
  TempDir dir;
  auto o = run_relive({"--help"}, dir.path());
  EXPECT_EQ(o.status, 0);
  for (const char* opt : {"-V, --version", "--debounce", "--postpone", "--workdir", "-E, --env", "--exit-on-crash",
                          "--follow-symlinks", "--notify"}) {
    EXPECT_TRUE(has(o.output, opt)) << opt;
  }
  auto v = run_relive({"-V"}, dir.path());
  EXPECT_EQ(v.status, 0);
  EXPECT_EQ(v.output.rfind("relive ", 0), 0u) << v.output;
}

TEST(RunOptions, EmptyCommandInReliveTomlIsAnError) {
  TempDir dir;
  write_file(dir / "relive.toml", "watch = [\".\"]\ncommand = []\n");
  auto o = run_relive({}, dir.path());
  EXPECT_EQ(o.status, 2) << o.output;
  EXPECT_TRUE(has(o.output, "relive.toml:2:1: command: empty command")) << o.output;
}

TEST(RunOptions, ReadyNeedsGracefulAndGracefulWithoutSocketSaysWhatItDoes) {
  TempDir dir;
  auto o = run_relive({"--ready", "tcp:9", "--", "true"}, dir.path());
  EXPECT_EQ(o.status, 2) << o.output;
  EXPECT_TRUE(has(o.output, "--ready: only --graceful restarts")) << o.output;
  auto t = run_relive({"--ready-timeout", "5s", "--", "true"}, dir.path());
  EXPECT_EQ(t.status, 2) << t.output;
  // --graceful alone runs, and says what it means.
  Process relive(relive_argv({"--graceful", "--", "sleep", "1000"}), in_dir(dir.path()));
  ASSERT_TRUE(relive.wait_for_output("--graceful without --socket: the new program starts while the old one")) << relive.output();
  stop(relive);
}

TEST(RunOptions, CheckIgnoreGlobDoesNotTakeThePathAfterIt) {
  TempDir dir;
  write_file(dir / "src" / "a.py", "");
  auto o = run_relive({"check-ignore", "-i", "src/", "src/a.py"}, dir.path());
  EXPECT_EQ(o.status, 0) << o.output;
  EXPECT_EQ(o.output, "src/a.py\n");
}

// ---- relive.toml while running -----------------------------------------------------------

TEST(RunOptions, AnEditToReliveTomlRestartsWithTheNewOptionsOrIsReported) {
  Project p;
  auto toml = [&](const std::string& extra) {
    write_file(p.src / "relive.toml", "command = [\"sh\", \"" + p.child().string() + "\", \"first\"]\n" + extra);
  };
  toml("");
  Process relive(relive_argv({}), in_dir(p.src.path()));
  ASSERT_TRUE(p.wait_starts(1)) << relive.output();
  EXPECT_TRUE(has(p.line(0), " first")) << p.line(0);
  pid_t first = std::stoi(p.line(0));
  // A bad edit: reported, the program keeps running.
  write_file(p.src / "relive.toml", "command = [\"sh\", \"" + p.child().string() + "\"]\nstop-timeout = \"soon\"\n");
  ASSERT_TRUE(relive.wait_for_output("relive.toml changed but cannot be used")) << relive.output();
  EXPECT_TRUE(has(relive.output(), "stop-timeout")) << relive.output();
  EXPECT_TRUE(in_proc_table(first));
  // A good edit: relive restarts with it (the old program stopped, the new command runs).
  write_file(p.src / "relive.toml", "command = [\"sh\", \"" + p.child().string() + "\", \"second\"]\n");
  ASSERT_TRUE(relive.wait_for_output("relive.toml changed; restarting relive with the new options")) << relive.output();
  ASSERT_TRUE(eventually([&] { return p.starts() >= 2 && has(file_lines(p.log()).back(), " second"); }, 15s))
      << read_file(p.log()) << relive.output();
  EXPECT_TRUE(eventually([&] { return !in_proc_table(first); }, 10s));
  stop(relive);
}

// ---- everyday features -------------------------------------------------------------------

TEST(RunOptions, DebounceMakesTwoWritesApartOneRestart) {
  Project p;
  Process relive(relive_argv({"-w", p.src.path().string(), "--debounce", "600ms", "--", "sh", p.child().string()}));
  ASSERT_TRUE(p.wait_starts(1)) << relive.output();
  // A format-on-save: the editor writes, the formatter writes again 150 ms later.
  save_plain(p.src / "a.py", "x = 1");
  std::this_thread::sleep_for(150ms);  // the save pattern itself, not a wait
  save_plain(p.src / "a.py", "x = 1\n");
  ASSERT_TRUE(p.wait_starts(2)) << relive.output();
  save_plain(p.src / "sentinel.py", "x");
  ASSERT_TRUE(p.wait_starts(3)) << relive.output();
  EXPECT_EQ(p.starts(), 3u) << read_file(p.log());
  EXPECT_TRUE(has(p.line(1), " a.py ")) << p.line(1);
  stop(relive);
}

TEST(RunOptions, PostponeWaitsForTheFirstChange) {
  Project p;
  Process relive(relive_argv({"-w", p.src.path().string(), "--postpone", "--", "sh", p.child().string()}));
  ASSERT_TRUE(relive.wait_for_output("on the first change, runs")) << relive.output();
  EXPECT_EQ(p.starts(), 0u);
  save_plain(p.src / "a.py", "x");
  ASSERT_TRUE(p.wait_starts(1)) << relive.output();
  EXPECT_TRUE(has(p.line(0), " a.py ")) << p.line(0);
  stop(relive);
}

TEST(RunOptions, WorkdirAndEnvReachTheCommand) {
  TempDir dir;
  fs::create_directories(dir / "sub");
  write_file(dir / "sub" / "run.sh", "echo \"cwd=$(pwd) foo=$FOO two=$TWO\"\n");
  Process relive(relive_argv({"-w", (dir / "sub").string(), "--workdir", "sub", "-E", "FOO=bar baz", "--env=TWO=2",
                              "--", "sh", "./run.sh"}),
                 in_dir(dir.path()));
  ASSERT_TRUE(relive.wait_for_output("foo=")) << relive.output();
  EXPECT_TRUE(has(relive.output(), "cwd=" + (dir / "sub").string() + " foo=bar baz two=2")) << relive.output();
  // The script ends by itself: Ctrl-C only once relive has seen that (a program still
  // finishing when Ctrl-C comes ends with its own status, 0 here, which relive passes on).
  ASSERT_TRUE(relive.wait_for_output("exited successfully")) << relive.output();
  stop(relive);
  auto bad = run_relive({"-E", "NOEQUALS", "--", "true"}, dir.path());
  EXPECT_EQ(bad.status, 2) << bad.output;
  EXPECT_TRUE(has(bad.output, "expected KEY=VALUE")) << bad.output;
  auto missing = run_relive({"--workdir", "nope", "--", "true"}, dir.path());
  EXPECT_EQ(missing.status, 2) << missing.output;
}

TEST(RunOptions, ExitOnCrashEndsReliveWithTheProgramsStatus) {
  TempDir dir;
  auto o = run_relive({"--exit-on-crash", "--", "sh", "-c", "exit 3"}, dir.path());
  EXPECT_EQ(o.status, 3) << o.output;
}

TEST(RunOptions, BannerSaysWhatIsWatchedIgnoredAndRun) {
  TempDir dir;
  write_file(dir / ".gitignore", "*.log\n");
  fs::create_directories(dir / "a" / "b");
  Process relive(relive_argv({"-i", "*.tmp", "--", "sleep", "1000"}), in_dir(dir.path()));
  ASSERT_TRUE(relive.wait_for_output("running sleep 1000")) << relive.output();
  auto out = relive.output();
  EXPECT_TRUE(has(out, "watching . (3 directories)")) << out;
  EXPECT_TRUE(has(out, ".gitignore")) << out;
  EXPECT_TRUE(has(out, "1 -i pattern")) << out;
  EXPECT_TRUE(has(out, "built-in defaults")) << out;
  stop(relive);
}

TEST(RunOptions, CommandWithoutSeparator) {
  Project p;
  Process relive(relive_argv({"-w", p.src.path().string(), "-e", "py", "sh", p.child().string(), "-x", "--flag"}));
  ASSERT_TRUE(p.wait_starts(1)) << relive.output();
  EXPECT_TRUE(has(p.line(0), "-x --flag")) << p.line(0);
  stop(relive);
  TempDir dir;
  auto o = run_relive({"-w", "."}, dir.path());
  EXPECT_EQ(o.status, 2) << o.output;
  EXPECT_TRUE(has(o.output, "no command given")) << o.output;
}

TEST(RunOptions, DependencyAndCacheDirectoriesAreIgnoredByDefault) {
  const char* dirs[] = {"node_modules", ".venv", "venv", "target", ".tox", ".mypy_cache", ".pytest_cache"};
  Project p;
  for (const char* d : dirs) write_file(p.src / d / "x.py", "");
  Process relive(relive_argv({"-w", p.src.path().string(), "--", "sh", p.child().string()}));
  ASSERT_TRUE(p.wait_starts(1)) << relive.output();
  for (const char* d : dirs) save_plain(p.src / d / "x.py", "changed");
  save_plain(p.src / "sentinel.py", "x");
  ASSERT_TRUE(p.wait_starts(2)) << relive.output();
  EXPECT_EQ(p.starts(), 2u) << read_file(p.log());
  EXPECT_TRUE(has(p.line(1), " sentinel.py ")) << p.line(1);
  stop(relive);
  // relive check-ignore agrees, and names the built-in rule.
  std::vector<std::string> args = {"check-ignore", "-v"};
  for (const char* d : dirs) args.push_back(std::string(d) + "/x.py");
  auto o = run_relive(args, p.src.path());
  EXPECT_EQ(o.status, 0) << o.output;
  for (const char* d : dirs) EXPECT_TRUE(has(o.output, "<default>:") && has(o.output, std::string(d) + "/x.py")) << o.output;
  // A .gitignore can bring one back.
  write_file(p.src / ".gitignore", "!node_modules/\n");
  auto back = run_relive({"check-ignore", "-v", "node_modules"}, p.src.path());
  EXPECT_EQ(back.output, ".gitignore:1:!node_modules/\tnode_modules\n");
}

TEST(RunOptions, NotifyCallsNotifySendWhenABuildFails) {
  // notify-send needs a desktop session (D-Bus and a notification daemon), which a test
  // machine has not: a stand-in on PATH records how it was called.
  TempDir dir;
  auto record = dir / "notified";
  write_file(dir / "bin" / "notify-send", "#!/bin/sh\nprintf '%s|' \"$@\" >> " + record.string() + "\n");
  fs::permissions(dir / "bin" / "notify-send", fs::perms::owner_all);
  Process::Options po = in_dir(dir.path());
  po.env = {"PATH=" + (dir / "bin").string() + ":/usr/bin:/bin"};
  Process relive(relive_argv({"--notify", "--build", "exit 4", "--", "sleep", "1000"}), po);
  ASSERT_TRUE(eventually([&] { return fs::exists(record) && has(read_file(record), "build failed"); }, 15s))
      << relive.output();
  EXPECT_TRUE(has(read_file(record), "exit 4: exited with status 4")) << read_file(record);
  stop(relive);
}

}  // namespace
}  // namespace relive::test

namespace relive::test {
namespace {

// ---- each message once -------------------------------------------------------------------

TEST(RunMessages, ABadReloadignoreLineAddedWhileRunningIsReportedOnce) {
  Project p;
  Process relive(relive_argv({"-w", p.src.path().string(), "--", "sh", p.child().string()}));
  ASSERT_TRUE(p.wait_starts(1)) << relive.output();
  save_plain(p.src / ".reloadignore", "(unclosed\n");  // create, write, close: three events
  ASSERT_TRUE(relive.wait_for_output("invalid regular expression")) << relive.output();
  save_plain(p.src / "sentinel.py", "x");  // everything before it has been processed
  ASSERT_TRUE(eventually([&] { return has(file_lines(p.log()).back(), "sentinel.py"); }, 15s)) << relive.output();
  EXPECT_EQ(relive.count("invalid regular expression"), 1u) << relive.output();
  // Fixed and broken again: reported again.
  save_plain(p.src / ".reloadignore", "ok\\.txt\n");
  save_plain(p.src / ".reloadignore", "(again\n");
  EXPECT_TRUE(relive.wait_for_output("'(again'")) << relive.output();
  stop(relive);
}

TEST(RunMessages, TheOutputOfAFailedGracefulStartIsShownOnce) {
  TempDir dir;
  write_file(dir / "app.py", "import time\nprint('up', flush=True)\ntime.sleep(1000)\n");
  uint16_t port = free_loopback_port();
  Process relive(relive_argv({"--socket", "127.0.0.1:" + std::to_string(port), "--graceful", "--ready", "delay:200",
                              "--", python3(), "app.py"}),
                 in_dir(dir.path()));
  ASSERT_TRUE(relive.wait_for_output("up\n")) << relive.output();
  write_file(dir / "app.py", "def broken(:\n");
  ASSERT_TRUE(relive.wait_for_output("keeps running", 20s)) << relive.output();
  EXPECT_EQ(relive.count("SyntaxError"), 1u) << relive.output();
  EXPECT_TRUE(has(relive.output(), "(its output is above)")) << relive.output();
  stop(relive);
}

}  // namespace
}  // namespace relive::test

namespace relive::test {
namespace {

TEST(RunOptions, FollowSymlinksWatchesLinkedDirectoriesOutsideTheTree) {
  for (bool follow : {false, true}) {
    Project p;
    TempDir outside;
    write_file(outside / "pkg" / "a.py", "1");
    fs::create_directories(p.src / "inner");
    fs::create_directory_symlink(outside / "pkg", p.src / "inner" / "linked");
    fs::create_directory_symlink(p.src.path(), p.src / "inner" / "loop");  // around the tree: never followed
    std::vector<std::string> args = {"-w", p.src.path().string()};
    if (follow) args.push_back("--follow-symlinks");
    args.insert(args.end(), {"--", "sh", p.child().string()});
    Process relive(relive_argv(args));
    ASSERT_TRUE(p.wait_starts(1)) << relive.output();
    save_plain(p.src / "inner" / "linked" / "a.py", "2");  // through the link
    save_plain(p.src / "sentinel.py", "x");
    ASSERT_TRUE(eventually([&] { return has(file_lines(p.log()).back(), "sentinel.py"); }, 15s)) << relive.output();
    bool seen = has(read_file(p.log()), "a.py");  // only inner/linked/ has an a.py
    EXPECT_EQ(seen, follow) << (follow ? "--follow-symlinks" : "default") << ": " << read_file(p.log());
    stop(relive);
  }
}

}  // namespace
}  // namespace relive::test
