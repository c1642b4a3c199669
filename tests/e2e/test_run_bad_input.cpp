// `relive -- CMD` refuses bad input with one clear line and exit 2 (127: command not found).
#include <gtest/gtest.h>

#include "run_test_util.hpp"

namespace relive::test {
namespace {

// Exactly one line of output, starting "relive: " and containing `needle`.
void expect_one_line(const Outcome& o, int status, const std::string& needle) {
  EXPECT_EQ(o.status, status) << o.output;
  EXPECT_EQ(o.output.rfind("relive: ", 0), 0u) << o.output;
  EXPECT_EQ(std::count(o.output.begin(), o.output.end(), '\n'), 1) << o.output;
  EXPECT_NE(o.output.find(needle), std::string::npos) << "wanted \"" << needle << "\" in: " << o.output;
}

TEST(RunBadInput, UnknownOption) {
  TempDir dir;
  expect_one_line(run_relive({"--bogus", "--", "true"}, dir.path()), 2, "unknown option --bogus");
}

TEST(RunBadInput, NoCommand) {
  TempDir dir;
  expect_one_line(run_relive({"-w", "."}, dir.path()), 2, "no command given");
}

TEST(RunBadInput, WatchPathThatDoesNotExist) {
  TempDir dir;
  expect_one_line(run_relive({"-w", "no-such-dir", "--", "true"}, dir.path()), 2,
                  "watch path does not exist: no-such-dir");
}

TEST(RunBadInput, InvalidReloadignoreRegexNamesFileAndLine) {
  TempDir dir;
  write_file(dir / ".reloadignore", "# comment\nok\\.txt\n(unclosed\n");
  expect_one_line(run_relive({"--", "true"}, dir.path()), 2, ".reloadignore:3");
}

TEST(RunBadInput, UnreadableIgnoreFile) {
  TempDir dir;
  // A directory where the rules file should be cannot be read, even by root.
  fs::create_directories(dir / ".gitignore");
  auto o = run_relive({"--", "true"}, dir.path());
  expect_one_line(o, 2, ".gitignore");
}

TEST(RunBadInput, CommandNotFound) {
  TempDir dir;
  expect_one_line(run_relive({"--", "relive-no-such-command-xyz", "arg"}, dir.path()), 127,
                  "command not found: relive-no-such-command-xyz");
}

TEST(RunBadInput, BadValues) {
  TempDir dir;
  expect_one_line(run_relive({"--on-busy-update", "sometimes", "--", "true"}, dir.path()), 2, "--on-busy-update");
  expect_one_line(run_relive({"--stop-timeout", "fast", "--", "true"}, dir.path()), 2, "--stop-timeout");
  expect_one_line(run_relive({"--stop-signal", "SIGNOPE", "--", "true"}, dir.path()), 2, "--stop-signal");
  expect_one_line(run_relive({"--poll=abc", "--", "true"}, dir.path()), 2, "--poll");
}

TEST(RunBadInput, BadProjectFileNamesFileLineAndKey) {
  TempDir dir;
  write_file(dir / "relive.toml", "watch = [\"src\"]\nbogus = 1\n");
  expect_one_line(run_relive({"--", "true"}, dir.path()), 2, "relive.toml:2:1: unknown key `bogus`");
  write_file(dir / "relive.toml", "stop-timeout = true\n");
  expect_one_line(run_relive({"--", "true"}, dir.path()), 2, "relive.toml:1:");
  write_file(dir / "relive.toml", "watch = [\n");
  expect_one_line(run_relive({"--", "true"}, dir.path()), 2, "relive.toml:");
}

TEST(RunBadInput, HelpShowsExamples) {
  TempDir dir;
  auto o = run_relive({"--help"}, dir.path());
  EXPECT_EQ(o.status, 0);
  EXPECT_NE(o.output.find("Examples:"), std::string::npos);
  EXPECT_NE(o.output.find("relive -- python3 app.py"), std::string::npos);
}

}  // namespace
}  // namespace relive::test
