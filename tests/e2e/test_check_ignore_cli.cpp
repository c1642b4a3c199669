// `relive check-ignore` run as a user runs it: output format and exit status as git's.
#include <gtest/gtest.h>

#include "test_support.hpp"

namespace relive::test {
namespace {

struct CliRun {
  int status;
  std::string output;
};

CliRun check_ignore(const fs::path& cwd, std::vector<std::string> args, std::string_view stdin_data = {}) {
  std::vector<std::string> argv = {relive_bin(), "check-ignore"};
  argv.insert(argv.end(), args.begin(), args.end());
  Process::Options options;
  options.cwd = cwd;
  options.stdin_pipe = !stdin_data.empty();
  // Keep the user's global excludes file out of the answers.
  options.env = {"HOME=" + (cwd / ".no-home").string(), "XDG_CONFIG_HOME=" + (cwd / ".no-xdg").string(),
                 "GIT_CONFIG_NOSYSTEM=1"};
  Process p(argv, options);
  if (!stdin_data.empty()) {
    p.write_stdin(stdin_data);
    p.close_stdin();
  }
  int status = p.wait(30s);
  return {status, p.output()};
}

class CheckIgnoreCli : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(relive_bin().empty()) << "RELIVE_BIN is not set";
    write_file(dir / ".gitignore", "*.o\n!keep.o\nbuild/\n");
    fs::create_directories(dir / "build");
  }
  TempDir dir;
};

TEST_F(CheckIgnoreCli, PrintsIgnoredPathsAndExitsZero) {
  CliRun r = check_ignore(dir.path(), {"a.o", "keep.o", "main.c", "build/x"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.output, "a.o\nbuild/x\n");
}

TEST_F(CheckIgnoreCli, ExitsOneWhenNothingIsIgnored) {
  CliRun r = check_ignore(dir.path(), {"main.c", "keep.o"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.output, "");
}

TEST_F(CheckIgnoreCli, VerboseShowsSourceLineAndPatternLikeGit) {
  CliRun r = check_ignore(dir.path(), {"-v", "-n", "a.o", "keep.o", "build/x", "main.c", "x.swp"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.output,
            ".gitignore:1:*.o\ta.o\n"
            ".gitignore:2:!keep.o\tkeep.o\n"
            ".gitignore:3:build/\tbuild/x\n"
            "::\tmain.c\n"
            "<default>:11:*.swp\tx.swp\n");
}

TEST_F(CheckIgnoreCli, StdinAndCommandLineGlobs) {
  CliRun r = check_ignore(dir.path(), {"--stdin", "-v", "-i", "*.c"}, "main.c\nREADME\n");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.output, "<command line>:1:*.c\tmain.c\n");
}

TEST_F(CheckIgnoreCli, DefaultsAndVcsRulesCanBeTurnedOff) {
  EXPECT_EQ(check_ignore(dir.path(), {"--no-default-ignore", ".git/config"}).status, 1);
  EXPECT_EQ(check_ignore(dir.path(), {".git/config"}).status, 0);
  EXPECT_EQ(check_ignore(dir.path(), {"--no-vcs-ignore", "a.o"}).status, 1);
}

TEST_F(CheckIgnoreCli, BadRegexIsOneLineNamingFileAndLineAndExits128) {
  write_file(dir / ".reloadignore", "ok\n(oops\n");
  CliRun r = check_ignore(dir.path(), {"a.o"});
  EXPECT_EQ(r.status, 128);
  EXPECT_EQ(r.output, "relive: check-ignore: .reloadignore:2: invalid regular expression '(oops': missing ): (oops\n");
}

TEST_F(CheckIgnoreCli, ErrorsExit128) {
  EXPECT_EQ(check_ignore(dir.path(), {"../outside"}).status, 128);
  EXPECT_EQ(check_ignore(dir.path(), {}).status, 128);
  EXPECT_EQ(check_ignore(dir.path(), {"--no-such-flag", "x"}).status, 128);
  EXPECT_EQ(check_ignore(dir.path(), {"-C", (dir / "missing").string(), "x"}).status, 128);
  EXPECT_EQ(check_ignore(dir.path(), {"-n", "x"}).status, 128);  // -n needs -v, as in git
}

}  // namespace
}  // namespace relive::test
