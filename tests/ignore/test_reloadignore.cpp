// .reloadignore: one RE2 expression a line, searched (unanchored) in the path relative to
// the file's directory; directories are seen as "dir/"; `!` re-includes; errors name
// file, line, expression and RE2's reason.
#include <gtest/gtest.h>

#include "ignore_test_util.hpp"

namespace relive::ignore {
namespace {
using namespace relive::test;
using testing::open_ok;

Options only_reloadignore() {
  Options o;
  o.vcs_ignore = false;
  o.default_ignores = false;
  return o;
}

TEST(Reloadignore, ExpressionsSearchTheRelativePath) {
  TempDir t;
  write_file(t / ".reloadignore", "# generated code\n\n\\.gen\\.go$\n^docs/\ntmp\n");
  auto m = open_ok(t.path(), only_reloadignore());
  EXPECT_TRUE(m->ignored("pkg/a.gen.go", false));
  EXPECT_FALSE(m->ignored("pkg/a.gen.go.txt", false));
  EXPECT_TRUE(m->ignored("docs", true));  // seen as "docs/"
  EXPECT_FALSE(m->ignored("docs", false));
  EXPECT_TRUE(m->ignored("docs/x.md", false));
  EXPECT_FALSE(m->ignored("src/docs/x.md", false));  // ^ anchors at the file's directory
  EXPECT_TRUE(m->ignored("a/mytmpfile", false));     // unanchored, like grep
  auto d = m->explain("pkg/a.gen.go", false);
  EXPECT_EQ(d.source, ".reloadignore");
  EXPECT_EQ(d.line, 3);
  EXPECT_EQ(d.pattern, "\\.gen\\.go$");
}

TEST(Reloadignore, PathsAreRelativeToTheFilesDirectory) {
  TempDir t;
  write_file(t / "web/.reloadignore", "^dist/\n");
  auto m = open_ok(t.path(), only_reloadignore());
  EXPECT_TRUE(m->ignored("web/dist/app.js", false));
  EXPECT_FALSE(m->ignored("dist/app.js", false));
  EXPECT_EQ(m->explain("web/dist", true).source, "web/.reloadignore");
}

TEST(Reloadignore, BangReIncludesWhatGitignoreIgnores) {
  TempDir t;
  write_file(t / ".gitignore", "*.generated.h\n");
  write_file(t / ".reloadignore", "!\\.generated\\.h$\n");
  Options o = only_reloadignore();
  o.vcs_ignore = true;
  o.excludes_file = "/nonexistent/relive-test";
  auto m = open_ok(t.path(), o);
  EXPECT_FALSE(m->ignored("api.generated.h", false));
  auto d = m->explain("api.generated.h", false);
  EXPECT_TRUE(d.matched);
  EXPECT_EQ(d.pattern, "!\\.generated\\.h$");
}

TEST(Reloadignore, InvalidExpressionFailsOpenNamingFileLineAndReason) {
  TempDir t;
  write_file(t / ".reloadignore", "ok\n# comment\nbad(\n");
  auto m = Matcher::open(t.path(), only_reloadignore());
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().message, ".reloadignore:3: invalid regular expression 'bad(': missing ): bad(");
}

TEST(Reloadignore, InvalidExpressionMetLaterIsReportedAndValidLinesApply) {
  TempDir t;
  write_file(t / "sub/.reloadignore", "[z-a]\n\\.log$\n");
  auto m = open_ok(t.path(), only_reloadignore());
  EXPECT_TRUE(m->ignored("sub/x.log", false));
  auto errors = m->take_errors();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].message.rfind("sub/.reloadignore:1: invalid regular expression '[z-a]': ", 0), 0u)
      << errors[0].message;
  EXPECT_TRUE(m->take_errors().empty());  // each error once
}

TEST(Reloadignore, NoPatternTakesMoreThanLinearTime) {
  // The classic catastrophic-backtracking expression; RE2 runs it in linear time.
  TempDir t;
  write_file(t / ".reloadignore", "^(a+)+$\n");
  auto m = open_ok(t.path(), only_reloadignore());
  EXPECT_FALSE(m->ignored(std::string(5000, 'a') + "!", false));
  EXPECT_TRUE(m->ignored(std::string(5000, 'a'), false));
}

TEST(Reloadignore, OffMeansNotRead) {
  TempDir t;
  write_file(t / ".reloadignore", "bad(\n");
  Options o = only_reloadignore();
  o.reloadignore = false;
  auto m = open_ok(t.path(), o);
  EXPECT_FALSE(m->ignored("bad(", false));
}

}  // namespace
}  // namespace relive::ignore
