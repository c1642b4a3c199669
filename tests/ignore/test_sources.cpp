// Where git's rules come from: nested .gitignore files (deeper wins), the top of an
// enclosing work tree, .git/info/exclude and the global excludes file.
#include <gtest/gtest.h>

#include "ignore_test_util.hpp"

namespace relive::ignore {
namespace {
using namespace relive::test;
using testing::only_vcs;
using testing::open_ok;
using testing::ScopedEnv;

TEST(Sources, DeeperGitignoreWinsAndIsRelativeToItsDirectory) {
  TempDir t;
  write_file(t / ".gitignore", "*.gen\n/top.txt\n");
  write_file(t / "sub/.gitignore", "!*.gen\n/local\n");
  auto m = open_ok(t.path(), only_vcs());
  EXPECT_TRUE(m->ignored("a.gen", false));
  EXPECT_FALSE(m->ignored("sub/a.gen", false));
  EXPECT_TRUE(m->ignored("sub/deeper/b.gen", false) == false);
  EXPECT_TRUE(m->ignored("sub/local", false));
  EXPECT_FALSE(m->ignored("local", false));
  EXPECT_FALSE(m->ignored("sub/top.txt", false));
  EXPECT_EQ(m->explain("sub/local", false).source, "sub/.gitignore");
}

TEST(Sources, GitignoreInsideAnIgnoredDirectoryIsNotRead) {
  TempDir t;
  write_file(t / ".gitignore", "vendor/\n");
  write_file(t / "vendor/.gitignore", "!*\n");
  auto m = open_ok(t.path(), only_vcs());
  EXPECT_TRUE(m->ignored("vendor/x", false));
}

TEST(Sources, InfoExcludeAppliesBelowGitignore) {
  TempDir t;
  write_file(t / ".git/HEAD", "ref: refs/heads/main\n");
  write_file(t / ".git/info/exclude", "*.local\nshared\n");
  write_file(t / ".gitignore", "!shared\n");
  auto m = open_ok(t.path(), only_vcs());
  EXPECT_TRUE(m->ignored("x.local", false));
  EXPECT_FALSE(m->ignored("shared", false));  // .gitignore beats info/exclude
  EXPECT_EQ(m->explain("x.local", false).source, ".git/info/exclude");
  EXPECT_TRUE(m->is_rules_file(".git/info/exclude"));
}

TEST(Sources, RootInsideAWorkTreeGetsTheRulesAboveIt) {
  TempDir t;
  write_file(t / ".git/HEAD", "ref: refs/heads/main\n");
  write_file(t / ".gitignore", "*.o\n/app/only-here\n");
  write_file(t / "app/.gitignore", "*.tmp\n");
  fs::create_directories(t / "app/src");
  auto m = open_ok(t / "app", only_vcs());
  EXPECT_TRUE(m->ignored("src/x.o", false));
  EXPECT_TRUE(m->ignored("only-here", false));  // anchored in the top .gitignore
  EXPECT_TRUE(m->ignored("x.tmp", false));
  EXPECT_EQ(m->explain("src/x.o", false).source, (t / ".gitignore").string());
}

TEST(Sources, WorktreeGitFilePointsToTheCommonDirectory) {
  TempDir t;
  write_file(t / "main/.git/HEAD", "ref: refs/heads/main\n");
  write_file(t / "main/.git/info/exclude", "from-common\n");
  write_file(t / "main/.git/worktrees/wt/commondir", "../..\n");
  write_file(t / "wt/.git", "gitdir: " + (t / "main/.git/worktrees/wt").string() + "\n");
  auto m = open_ok(t / "wt", only_vcs());
  EXPECT_TRUE(m->ignored("from-common", false));
}

TEST(Sources, GlobalExcludesFileFromOptions) {
  TempDir t;
  write_file(t / "global", "*.bak\n");
  Options o = only_vcs();
  o.excludes_file = t / "global";
  fs::create_directories(t / "root");
  auto m = open_ok(t / "root", o);
  EXPECT_TRUE(m->ignored("x.bak", false));
  EXPECT_EQ(m->explain("x.bak", false).source, (t / "global").string());
}

TEST(Sources, GlobalExcludesFileDefaultsToXdgConfigHome) {
  TempDir t;
  write_file(t / "xdg/git/ignore", "*.xdg\n");
  ScopedEnv xdg("XDG_CONFIG_HOME", (t / "xdg").string());
  ScopedEnv home("HOME", (t / "home").string());
  ScopedEnv nosys("GIT_CONFIG_NOSYSTEM", "1");
  ScopedEnv global("GIT_CONFIG_GLOBAL", std::nullopt);
  Options o = only_vcs();
  o.excludes_file.clear();
  fs::create_directories(t / "root");
  auto m = open_ok(t / "root", o);
  EXPECT_TRUE(m->ignored("a.xdg", false));
}

TEST(Sources, CoreExcludesFileFromGitconfigWithTildeExpansion) {
  TempDir t;
  write_file(t / "home/.gitconfig", "[user]\n\tname = x\n[core]\n\texcludesFile = \"~/my ignore\" ; comment\n");
  write_file(t / "home/my ignore", "*.mine\n");
  write_file(t / "xdg/git/ignore", "*.xdg\n");  // not used: core.excludesFile is set
  ScopedEnv xdg("XDG_CONFIG_HOME", (t / "xdg").string());
  ScopedEnv home("HOME", (t / "home").string());
  ScopedEnv nosys("GIT_CONFIG_NOSYSTEM", "1");
  ScopedEnv global("GIT_CONFIG_GLOBAL", std::nullopt);
  Options o = only_vcs();
  o.excludes_file.clear();
  fs::create_directories(t / "root");
  auto m = open_ok(t / "root", o);
  EXPECT_TRUE(m->ignored("a.mine", false));
  EXPECT_FALSE(m->ignored("a.xdg", false));
}

TEST(Sources, VcsIgnoreOffIgnoresGitRules) {
  TempDir t;
  write_file(t / ".gitignore", "*.o\n");
  Options o = only_vcs();
  o.vcs_ignore = false;
  auto m = open_ok(t.path(), o);
  EXPECT_FALSE(m->ignored("a.o", false));
  EXPECT_FALSE(m->is_rules_file(".gitignore"));
}

TEST(Sources, OpenFailsForAMissingRoot) {
  TempDir t;
  auto m = Matcher::open(t / "missing", only_vcs());
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message.find("missing"), std::string::npos);
}

}  // namespace
}  // namespace relive::ignore
