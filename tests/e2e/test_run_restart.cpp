// `relive -- CMD` restarts the child once per editor save, tells it what changed, reports
// events as JSON lines, and honours -e and the ignore rules.
#include <gtest/gtest.h>
#include <signal.h>

#include <functional>

#include "run_test_util.hpp"

namespace relive::test {
namespace {

// A watched source tree and, outside it, a log the child appends "<pid> <changed>" to.
struct Project {
  TempDir src;
  TempDir out;
  fs::path log() const { return out / "starts.log"; }
  fs::path child_script() const { return out / "child.sh"; }
  Project() {
    write_file(src / "app.py", "x = 0\n");
    write_file(child_script(),
               "printf '%s %s\\n' $$ \"$(printf '%s' \"$RELIVE_CHANGED_PATHS\" | tr '\\n' ',')\" >> " +
                   log().string() + "\nexec sleep 1000\n");
  }
  size_t starts() const { return file_lines(log()).size(); }
  bool wait_starts(size_t n) const {
    return eventually([&] { return starts() >= n; }, 10s) && starts() == n;
  }
};

using SaveFn = std::function<void(const fs::path&, const std::string&)>;

void expect_one_restart_per_save(const SaveFn& save, const char* name) {
  Project p;
  Process relive(relive_argv({"-w", p.src.path().string(), "--", "sh", p.child_script().string()}), in_dir(p.src.path()));
  ASSERT_TRUE(p.wait_starts(1)) << name << ": " << relive.output();
  for (int i = 1; i <= 5; ++i) {
    save(p.src / "app.py", "x = " + std::to_string(i));
    ASSERT_TRUE(eventually([&] { return p.starts() >= static_cast<size_t>(i) + 1; }, 10s))
        << name << ": save " << i << " did not restart: " << relive.output();
  }
  // A sentinel save after the others: any extra restart from them has long happened.
  save_plain(p.src / "other.py", "sentinel");
  ASSERT_TRUE(eventually([&] { return p.starts() >= 7; }, 10s)) << relive.output();
  EXPECT_EQ(p.starts(), 7u) << name << ": a save caused more than one restart\n" << read_file(p.log());
  auto lines = file_lines(p.log());
  for (size_t i = 1; i < 6; ++i) {
    EXPECT_EQ(lines[i].substr(lines[i].find(' ') + 1), "app.py") << name << ": " << lines[i];
  }
  relive.signal(SIGINT);
  EXPECT_EQ(relive.wait(10s), 130) << relive.output();
  for (const auto& line : lines) EXPECT_FALSE(in_proc_table(std::stoi(line))) << line;
}

TEST(RunRestart, PlainWrite) { expect_one_restart_per_save(save_plain, "plain write"); }
TEST(RunRestart, TruncateThenWrite) { expect_one_restart_per_save(save_truncate_then_write, "truncate+write"); }
TEST(RunRestart, VimSave) { expect_one_restart_per_save(save_vim, "vim"); }
TEST(RunRestart, JetBrainsSafeWrite) { expect_one_restart_per_save(save_jetbrains, "jetbrains"); }
TEST(RunRestart, SedInPlace) { expect_one_restart_per_save(save_sed, "sed -i"); }

TEST(RunRestart, NamesWhatChangedAndPassesItOn) {
  Project p;
  Process relive(relive_argv({"-w", p.src.path().string(), "--", "sh", p.child_script().string()}), in_dir(p.src.path()));
  ASSERT_TRUE(p.wait_starts(1)) << relive.output();
  save_plain(p.src / "app.py", "x = 1\n");
  ASSERT_TRUE(p.wait_starts(2)) << relive.output();
  EXPECT_TRUE(relive.wait_for_output("app.py changed, restarting")) << relive.output();
  // Many files in one go: "and N more", and every path passed on. (Usually one restart;
  // on a loaded machine the shell's loop may pause longer than the quiet period and make
  // it two, so the paths are looked for in every restart since.)
  std::string script = "cd '" + p.src.path().string() + "' && for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo $i > f$i.py; done";
  ASSERT_EQ(std::system(script.c_str()), 0);
  EXPECT_TRUE(relive.wait_for_output(" more changed, restarting")) << relive.output();
  auto all_passed_on = [&] {
    auto lines = file_lines(p.log());
    std::string since;
    for (size_t i = 2; i < lines.size(); ++i) since += lines[i].substr(lines[i].find(' ') + 1) + ",";
    for (int i = 1; i <= 12; ++i) {
      if (since.find("f" + std::to_string(i) + ".py,") == std::string::npos) return false;
    }
    return true;
  };
  EXPECT_TRUE(eventually(all_passed_on, 10s)) << read_file(p.log());
  relive.signal(SIGTERM);
  EXPECT_EQ(relive.wait(10s), 143) << relive.output();
}

TEST(RunRestart, ExtsAndIgnoreGlobsFilterChanges) {
  Project p;
  Process relive(relive_argv({"-w", p.src.path().string(), "-e", "py,toml", "-i", "skip/", "--", "sh",
                              p.child_script().string()}),
                 in_dir(p.src.path()));
  ASSERT_TRUE(p.wait_starts(1)) << relive.output();
  save_plain(p.src / "notes.txt", "not watched");
  save_plain(p.src / "skip" / "x.py", "ignored by the glob");
  save_plain(p.src / "conf.toml", "a = 1");
  ASSERT_TRUE(eventually([&] { return p.starts() >= 2; }, 10s)) << relive.output();
  save_plain(p.src / "app.py", "sentinel");
  ASSERT_TRUE(eventually([&] { return p.starts() >= 3; }, 10s)) << relive.output();
  auto lines = file_lines(p.log());
  ASSERT_EQ(lines.size(), 3u) << read_file(p.log());
  EXPECT_EQ(lines[1].substr(lines[1].find(' ') + 1), "conf.toml");
  EXPECT_EQ(lines[2].substr(lines[2].find(' ') + 1), "app.py");
  // Ctrl-C stops the child too; killing relive alone (Process's destructor) would leave
  // the child, which runs in a process group of its own, behind.
  relive.signal(SIGINT);
  EXPECT_EQ(relive.wait(10s), 130) << relive.output();
}

TEST(RunRestart, JsonEventsDescribeTheCycle) {
  Project p;
  auto events = p.out / "events.jsonl";
  Process relive(relive_argv({"-w", p.src.path().string(), "-q", "--json-events", events.string(), "--", "sh",
                              p.child_script().string()}),
                 in_dir(p.src.path()));
  ASSERT_TRUE(p.wait_starts(1)) << relive.output();
  save_plain(p.src / "app.py", "x = 1\n");
  ASSERT_TRUE(p.wait_starts(2)) << relive.output();
  relive.signal(SIGINT);
  EXPECT_EQ(relive.wait(10s), 130);
  EXPECT_EQ(relive.output(), "");  // -q: nothing from relive
  auto lines = file_lines(events);
  std::vector<std::string> kinds;
  for (auto& l : lines) kinds.push_back(l.substr(0, l.find(',')));
  std::vector<std::string> want = {"{\"event\":\"start\"", "{\"event\":\"changes\"", "{\"event\":\"stop\"",
                                   "{\"event\":\"start\"", "{\"event\":\"stop\""};
  EXPECT_EQ(kinds, want) << read_file(events);
  EXPECT_NE(lines[1].find("\"paths\":[\"app.py\"]"), std::string::npos) << lines[1];
}

// `rs` on stdin: the restart says it was asked for, where a save's says what changed.
TEST(RunRestart, JsonEventsTellARestartByHandFromASave) {
  Project p;
  auto events = p.out / "events.jsonl";
  Process::Options po = in_dir(p.src.path());
  po.stdin_pipe = true;
  Process relive(relive_argv({"-w", p.src.path().string(), "-q", "--json-events", events.string(), "--", "sh",
                              p.child_script().string()}),
                 po);
  ASSERT_TRUE(p.wait_starts(1)) << relive.output();
  relive.write_stdin("rs\n");
  ASSERT_TRUE(p.wait_starts(2)) << relive.output();
  relive.signal(SIGINT);
  EXPECT_EQ(relive.wait(10s), 130);
  auto lines = file_lines(events);
  ASSERT_GE(lines.size(), 3u) << read_file(events);
  EXPECT_EQ(lines[1].substr(0, lines[1].find(',')), "{\"event\":\"restart_requested\"") << read_file(events);
  EXPECT_NE(lines[1].find("\"by\":\"rs\""), std::string::npos) << lines[1];
  for (const auto& l : lines) EXPECT_EQ(l.find("\"changes\""), std::string::npos) << read_file(events);
}

TEST(RunRestart, ChildExitIsReportedAndRelivWaitsForChanges) {
  Project p;
  write_file(p.out / "exits.sh", "echo $$ >> " + p.log().string() + "\nexit 3\n");
  Process relive(relive_argv({"-w", p.src.path().string(), "--", "sh", (p.out / "exits.sh").string()}));
  ASSERT_TRUE(relive.wait_for_output("exited with status 3; waiting for changes")) << relive.output();
  save_plain(p.src / "app.py", "x = 1\n");
  ASSERT_TRUE(eventually([&] { return p.starts() >= 2; }, 10s)) << relive.output();
  EXPECT_TRUE(relive.wait_for_output("app.py changed, starting")) << relive.output();
  // Ctrl-C only once relive has seen the second run end: a child still running at Ctrl-C
  // gives relive its own exit code (3), not 130.
  ASSERT_TRUE(eventually([&] { return relive.count("exited with status 3; waiting for changes") >= 2; }, 10s))
      << relive.output();
  relive.signal(SIGINT);
  EXPECT_EQ(relive.wait(10s), 130);
}

TEST(RunRestart, ProjectFileHoldsTheOptions) {
  Project p;
  write_file(p.src / "relive.toml", "command = [\"sh\", \"" + p.child_script().string() + "\"]\nexts = \"py\"\nquiet = true\n");
  Process relive(relive_argv({}), in_dir(p.src.path()));
  ASSERT_TRUE(p.wait_starts(1)) << relive.output();
  save_plain(p.src / "notes.txt", "not a .py");
  save_plain(p.src / "app.py", "x = 1\n");
  ASSERT_TRUE(eventually([&] { return p.starts() >= 2; }, 10s)) << relive.output();
  EXPECT_EQ(p.starts(), 2u);
  relive.signal(SIGINT);
  EXPECT_EQ(relive.wait(10s), 130);
  EXPECT_EQ(relive.output(), "");
}

TEST(RunRestart, BurstHoldsDebugLinesBackUntilAnError) {
  Project p;
  write_file(p.out / "chatty.sh",
             "echo $$ >> " + p.log().string() + "\n"
             "echo 'DEBUG:app:held back'\necho 'INFO:app:shown'\n"
             "if [ -f " + (p.src / "fail").string() + " ]; then echo 'DEBUG:app:context'; echo 'ERROR:app:boom'; fi\n"
             "exec sleep 1000\n");
  Process relive(relive_argv({"-w", p.src.path().string(), "-q", "--burst", "--", "sh", (p.out / "chatty.sh").string()}));
  ASSERT_TRUE(relive.wait_for_output("INFO:app:shown\n")) << relive.output();
  write_file(p.src / "fail", "");
  ASSERT_TRUE(relive.wait_for_output("ERROR:app:boom\n")) << relive.output();
  auto out = relive.output();
  EXPECT_EQ(out.find("held back"), std::string::npos) << out;
  EXPECT_NE(out.find("DEBUG:app:context\nERROR:app:boom\n"), std::string::npos) << out;
  relive.signal(SIGTERM);
  EXPECT_EQ(relive.wait(10s), 143);
}

}  // namespace
}  // namespace relive::test
