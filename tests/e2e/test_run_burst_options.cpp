// `relive --burst-keep N ... -- CMD`: the burst filter's options on the run command and in
// relive.toml, checked by the same code as `relive burst`'s (tools/relive/burst_options.*).
#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>

#include "run_test_util.hpp"

namespace relive::test {
namespace {

// A child printing five debug lines, then an error, then staying up until stopped.
void write_chatty_script(const fs::path& file) {
  write_file(file,
             "for n in 1 2 3 4 5; do echo \"DEBUG:app:d$n\"; done\n"
             "echo 'ERROR:app:boom'\n"
             "exec sleep 1000\n");
}

// Runs relive with `args` in `dir` until the child's error is out, then stops it with
// SIGTERM (143); returns what it printed.
std::string output_until_error(const fs::path& dir, std::vector<std::string> args) {
  Process relive(relive_argv(std::move(args)), in_dir(dir));
  EXPECT_TRUE(relive.wait_for_output("ERROR:app:boom\n")) << relive.output();
  relive.signal(SIGTERM);
  EXPECT_EQ(relive.wait(10s), 143) << relive.output();
  return relive.output();
}

TEST(RunBurstOptions, KeepTwoShowsOnlyTheLastTwoDebugLines) {
  TempDir dir;
  write_chatty_script(dir / "chatty.sh");
  // --burst-keep implies --burst.
  auto out = output_until_error(dir.path(), {"--no-config", "-q", "--burst-keep", "2", "--", "sh", "chatty.sh"});
  EXPECT_EQ(out, "DEBUG:app:d4\nDEBUG:app:d5\nERROR:app:boom\n");
}

TEST(RunBurstOptions, WithoutOptionsTheDefaultKeepShowsAllFive) {
  TempDir dir;
  write_chatty_script(dir / "chatty.sh");
  auto out = output_until_error(dir.path(), {"--no-config", "-q", "--burst", "--", "sh", "chatty.sh"});
  EXPECT_EQ(out, "DEBUG:app:d1\nDEBUG:app:d2\nDEBUG:app:d3\nDEBUG:app:d4\nDEBUG:app:d5\nERROR:app:boom\n");
}

TEST(RunBurstOptions, PassLevelDebugWritesDebugLinesAtOnce) {
  TempDir dir;
  // No error at all: only a pass level of debug lets the debug lines through.
  write_file(dir / "quiet.sh", "echo 'DEBUG:app:early'\necho 'ERROR:app:boom'\nexec sleep 1000\n");
  auto out = output_until_error(dir.path(), {"--no-config", "-q", "--burst-pass-level", "debug", "--burst-trigger-level",
                                             "critical", "--", "sh", "quiet.sh"});
  EXPECT_EQ(out, "DEBUG:app:early\nERROR:app:boom\n");
}

TEST(RunBurstOptions, BurstTableInReliveToml) {
  TempDir dir;
  write_chatty_script(dir / "chatty.sh");
  write_file(dir / "relive.toml", "command = [\"sh\", \"chatty.sh\"]\nquiet = true\n[burst]\nkeep = 1\nmax-age = \"10m\"\n");
  EXPECT_EQ(output_until_error(dir.path(), {}), "DEBUG:app:d5\nERROR:app:boom\n");
  // The command line overrides the file.
  EXPECT_EQ(output_until_error(dir.path(), {"--burst-keep", "3"}), "DEBUG:app:d3\nDEBUG:app:d4\nDEBUG:app:d5\nERROR:app:boom\n");
}

TEST(RunBurstOptions, FlatKeysInReliveToml) {
  TempDir dir;
  write_chatty_script(dir / "chatty.sh");
  write_file(dir / "relive.toml", "command = [\"sh\", \"chatty.sh\"]\nquiet = true\nburst-keep = 2\n");
  EXPECT_EQ(output_until_error(dir.path(), {}), "DEBUG:app:d4\nDEBUG:app:d5\nERROR:app:boom\n");
}

// What a crashed program held is written when relive ends (as `relive burst -- CMD` does
// for a failed command); a program that exited cleanly keeps it held (dropped).
std::string output_after_program_exit(const fs::path& dir, const std::string& script) {
  write_file(dir / "app.sh", script);
  Process relive(relive_argv({"--no-config", "-q", "--burst", "--json-events", "events.jsonl", "--", "sh", "app.sh"}),
                 in_dir(dir));
  EXPECT_TRUE(eventually([&] { return read_file(dir / "events.jsonl").find("\"event\":\"exit\"") != std::string::npos; },
                         10s))
      << relive.output();
  relive.signal(SIGTERM);
  EXPECT_EQ(relive.wait(10s), 143) << relive.output();
  return relive.output();
}

TEST(RunBurstOptions, ACrashedProgramsHeldLinesAreWrittenWhenReliveEnds) {
  TempDir dir;
  auto crashed = output_after_program_exit(dir.path(), "echo 'DEBUG:app:context'\nexit 3\n");
  EXPECT_NE(crashed.find("DEBUG:app:context\n"), std::string::npos) << crashed;
  TempDir clean;
  auto exited = output_after_program_exit(clean.path(), "echo 'DEBUG:app:context'\nexit 0\n");
  EXPECT_EQ(exited.find("DEBUG:app:context"), std::string::npos) << exited;
}

// Exit 2 and exactly one line, "<prefix>" then containing `needle`.
void expect_one_line(const Outcome& o, const std::string& prefix, const std::string& needle) {
  EXPECT_EQ(o.status, 2) << o.output;
  EXPECT_EQ(o.output.rfind(prefix, 0), 0u) << o.output;
  EXPECT_EQ(std::count(o.output.begin(), o.output.end(), '\n'), 1) << o.output;
  EXPECT_NE(o.output.find(needle), std::string::npos) << "wanted \"" << needle << "\" in: " << o.output;
}

TEST(RunBurstOptions, BadValuesExitTwoWithOneLineLikeReliveBurst) {
  TempDir dir;
  // Nothing may start: the child would leave this file behind.
  auto run = [&](std::vector<std::string> flags) {
    flags.insert(flags.begin(), "--no-config");
    for (auto a : {"--", "touch", "started"}) flags.push_back(a);
    return run_relive(flags, dir.path());
  };
  expect_one_line(run({"--burst-pass-level", "loud"}), "relive: ", "--burst-pass-level 'loud': expected trace, debug");
  expect_one_line(run({"--burst-trigger-level", "5x"}), "relive: ", "--burst-trigger-level '5x'");
  expect_one_line(run({"--burst-keep", "many"}), "relive: ", "--burst-keep 'many'");
  expect_one_line(run({"--burst-max-age", "fast"}), "relive: ", "--burst-max-age 'fast'");
  expect_one_line(run({"--burst-level-regex", "(unclosed"}), "relive: ", "--burst-level-regex '(unclosed'");
  expect_one_line(run({"--burst-level-regex", "^[A-Z]+"}), "relive: ", "capture group");
  EXPECT_FALSE(fs::exists(dir / "started"));
  // The same words as `relive burst` for the same mistake.
  auto burst = run_relive({"burst", "--pass-level", "loud"}, dir.path());
  expect_one_line(burst, "relive burst: ", "--pass-level 'loud': expected trace, debug");
}

TEST(RunBurstOptions, BadValueInReliveTomlNamesFileLineAndKey) {
  TempDir dir;
  write_file(dir / "relive.toml", "command = [\"touch\", \"started\"]\n\n[burst]\ntrigger-level = \"loud\"\n");
  expect_one_line(run_relive({}, dir.path()), "relive: ", "relive.toml:4:1: burst.trigger-level 'loud'");
  write_file(dir / "relive.toml", "command = [\"touch\", \"started\"]\nburst-keep = -3\n");
  expect_one_line(run_relive({}, dir.path()), "relive: ", "relive.toml:2:1: burst-keep: expected a number");
  write_file(dir / "relive.toml", "command = [\"touch\", \"started\"]\n[burst]\nkep = 3\n");
  expect_one_line(run_relive({}, dir.path()), "relive: ", "relive.toml:3:1: unknown key `burst.kep`");
  EXPECT_FALSE(fs::exists(dir / "started"));
}

}  // namespace
}  // namespace relive::test
