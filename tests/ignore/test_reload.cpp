// Rules files change while a watcher runs: reload() applies edits, creations and removals
// without a restart, and a broken .reloadignore keeps the last good rules.
#include <gtest/gtest.h>

#include "ignore_test_util.hpp"

namespace relive::ignore {
namespace {
using namespace relive::test;
using testing::open_ok;

Options vcs_and_reloadignore() {
  Options o;
  o.default_ignores = false;
  o.excludes_file = "/nonexistent/relive-test";
  return o;
}

TEST(Reload, EditedGitignoreTakesEffect) {
  TempDir t;
  write_file(t / "sub/.gitignore", "*.a\n");
  auto m = open_ok(t.path(), vcs_and_reloadignore());
  EXPECT_TRUE(m->ignored("sub/x.a", false));
  write_file(t / "sub/.gitignore", "*.b\n");
  EXPECT_TRUE(m->ignored("sub/x.a", false));  // cached until told
  ASSERT_TRUE(m->reload("sub/.gitignore"));
  EXPECT_FALSE(m->ignored("sub/x.a", false));
  EXPECT_TRUE(m->ignored("sub/x.b", false));
}

TEST(Reload, RemovedRulesFileDropsItsRules) {
  TempDir t;
  write_file(t / ".gitignore", "*.a\n");
  auto m = open_ok(t.path(), vcs_and_reloadignore());
  EXPECT_TRUE(m->ignored("x.a", false));
  fs::remove(t / ".gitignore");
  ASSERT_TRUE(m->reload(".gitignore"));
  EXPECT_FALSE(m->ignored("x.a", false));
}

TEST(Reload, CreatedRulesFileInACachedDirectoryTakesEffectBelowIt) {
  TempDir t;
  write_file(t / ".gitignore", "*.a\n");
  write_file(t / "deep/er/.gitignore", "!keep.a\n");
  auto m = open_ok(t.path(), vcs_and_reloadignore());
  EXPECT_FALSE(m->ignored("p/q/r/x.c", false));  // caches p, p/q, p/q/r
  EXPECT_FALSE(m->ignored("deep/er/keep.a", false));
  write_file(t / "p/.gitignore", "*.c\n");
  write_file(t / "deep/.gitignore", "er/\n");
  ASSERT_TRUE(m->reload("p/.gitignore"));
  ASSERT_TRUE(m->reload("deep/.gitignore"));
  EXPECT_TRUE(m->ignored("p/q/r/x.c", false));
  EXPECT_TRUE(m->ignored("deep/er/keep.a", false));
  // the deeper file still applies under the new one
  write_file(t / "deep/.gitignore", "*.z\n");
  ASSERT_TRUE(m->reload("deep/.gitignore"));
  EXPECT_FALSE(m->ignored("deep/er/keep.a", false));
  EXPECT_TRUE(m->ignored("deep/er/other.a", false));
}

TEST(Reload, BrokenReloadignoreKeepsTheLastGoodRules) {
  TempDir t;
  write_file(t / ".reloadignore", "\\.log$\n");
  auto m = open_ok(t.path(), vcs_and_reloadignore());
  write_file(t / ".reloadignore", "\\.txt$\n(unclosed\n");
  auto r = m->reload(".reloadignore");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message.rfind(".reloadignore:2: invalid regular expression '(unclosed': ", 0), 0u)
      << r.error().message;
  EXPECT_TRUE(m->ignored("a.log", false));
  EXPECT_FALSE(m->ignored("a.txt", false));
  write_file(t / ".reloadignore", "\\.txt$\n");
  ASSERT_TRUE(m->reload(".reloadignore"));
  EXPECT_FALSE(m->ignored("a.log", false));
  EXPECT_TRUE(m->ignored("a.txt", false));
}

TEST(Reload, IsRulesFile) {
  TempDir t;
  auto m = open_ok(t.path(), vcs_and_reloadignore());
  EXPECT_TRUE(m->is_rules_file(".gitignore"));
  EXPECT_TRUE(m->is_rules_file("a/b/.gitignore"));
  EXPECT_TRUE(m->is_rules_file("a/.reloadignore"));
  EXPECT_FALSE(m->is_rules_file("a/gitignore"));
  EXPECT_FALSE(m->is_rules_file("x.gitignore"));
  EXPECT_FALSE(m->is_rules_file(".git/info/exclude"));  // not a repository
  EXPECT_TRUE(m->reload("src/main.c"));  // not a rules file: nothing to do
}

TEST(Reload, InfoExcludeAndGlobalFileUnderTheRoot) {
  TempDir t;
  write_file(t / ".git/HEAD", "ref: refs/heads/main\n");
  Options o = vcs_and_reloadignore();
  o.excludes_file = t / "global-ignore";
  auto m = open_ok(t.path(), o);
  EXPECT_TRUE(m->is_rules_file(".git/info/exclude"));
  EXPECT_TRUE(m->is_rules_file("global-ignore"));
  write_file(t / ".git/info/exclude", "*.x\n");
  write_file(t / "global-ignore", "*.y\n");
  ASSERT_TRUE(m->reload(".git/info/exclude"));
  ASSERT_TRUE(m->reload("global-ignore"));
  EXPECT_TRUE(m->ignored("a.x", false));
  EXPECT_TRUE(m->ignored("a.y", false));
}

}  // namespace
}  // namespace relive::ignore
