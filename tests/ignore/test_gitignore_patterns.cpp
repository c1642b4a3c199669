// gitignore pattern syntax, one rule family per test, on a plain folder (no repository):
// rules apply whether or not the root is in a git work tree.
#include <gtest/gtest.h>

#include "ignore_test_util.hpp"

namespace relive::ignore {
namespace {
using namespace relive::test;
using testing::only_vcs;
using testing::open_ok;

// A matcher over a fresh folder whose .gitignore is `rules`.
struct Rules {
  explicit Rules(std::string_view rules) {
    write_file(dir / ".gitignore", rules);
    m = open_ok(dir.path(), only_vcs());
  }
  bool file(std::string_view p) { return m->ignored(p, false); }
  bool dir_(std::string_view p) { return m->ignored(p, true); }
  TempDir dir;
  std::unique_ptr<Matcher> m;
};

TEST(GitignorePatterns, NoSlashMatchesTheNameAtAnyDepth) {
  Rules r("foo.o\n");
  EXPECT_TRUE(r.file("foo.o"));
  EXPECT_TRUE(r.file("a/b/foo.o"));
  EXPECT_TRUE(r.dir_("a/foo.o"));
  EXPECT_FALSE(r.file("foo.oo"));
  EXPECT_FALSE(r.file("xfoo.o"));
}

TEST(GitignorePatterns, LeadingOrMiddleSlashAnchorsToTheDirectory) {
  Rules r("/top\nsrc/gen\n");
  EXPECT_TRUE(r.file("top"));
  EXPECT_FALSE(r.file("a/top"));
  EXPECT_TRUE(r.file("src/gen"));
  EXPECT_FALSE(r.file("a/src/gen"));
}

TEST(GitignorePatterns, TrailingSlashMatchesDirectoriesOnly) {
  Rules r("build/\n");
  EXPECT_TRUE(r.dir_("build"));
  EXPECT_TRUE(r.dir_("x/build"));
  EXPECT_FALSE(r.file("build"));
  EXPECT_TRUE(r.file("build/out.o"));  // under an ignored directory
}

TEST(GitignorePatterns, StarAndQuestionMarkStopAtSlashes) {
  Rules r("/a/*.c\nd?t/x\n");
  EXPECT_TRUE(r.file("a/x.c"));
  EXPECT_FALSE(r.file("a/b/x.c"));
  EXPECT_TRUE(r.file("dot/x"));
  EXPECT_FALSE(r.file("d/t/x"));
}

TEST(GitignorePatterns, DoubleStarLeadingMiddleTrailing) {
  Rules r("**/logs\nsrc/**/gen\nout/**\n");
  EXPECT_TRUE(r.dir_("logs"));
  EXPECT_TRUE(r.dir_("a/b/logs"));
  EXPECT_TRUE(r.file("src/gen"));
  EXPECT_TRUE(r.file("src/a/b/gen"));
  EXPECT_FALSE(r.file("x/src/gen"));
  EXPECT_TRUE(r.file("out/a"));
  EXPECT_TRUE(r.file("out/a/b"));
  EXPECT_FALSE(r.dir_("out"));  // "out/**" matches inside, not the directory itself
}

TEST(GitignorePatterns, DoubleStarGluedToOtherCharactersIsASingleStar) {
  Rules r("/a**b\n");
  EXPECT_TRUE(r.file("axyb"));
  EXPECT_FALSE(r.file("ax/yb"));
}

TEST(GitignorePatterns, CharacterClassesRangesAndNegation) {
  Rules r("x[abc]\ny[a-c]\nz[!a]\nw[^a]\nv[[:digit:]]\n");
  EXPECT_TRUE(r.file("xb"));
  EXPECT_FALSE(r.file("xd"));
  EXPECT_TRUE(r.file("yc"));
  EXPECT_FALSE(r.file("yd"));
  EXPECT_TRUE(r.file("zb"));
  EXPECT_FALSE(r.file("za"));
  EXPECT_TRUE(r.file("wb"));
  EXPECT_FALSE(r.file("wa"));
  EXPECT_TRUE(r.file("v7"));
  EXPECT_FALSE(r.file("vx"));
}

TEST(GitignorePatterns, BackslashEscapesSpecialCharacters) {
  Rules r("\\#hash\n\\!bang\nstar\\*\nq\\?\n");
  EXPECT_TRUE(r.file("#hash"));
  EXPECT_TRUE(r.file("!bang"));
  EXPECT_TRUE(r.file("star*"));
  EXPECT_FALSE(r.file("starx"));
  EXPECT_TRUE(r.file("q?"));
  EXPECT_FALSE(r.file("qx"));
}

TEST(GitignorePatterns, CommentsAndBlankLinesAreSkipped) {
  Rules r("# comment\n\n   \n#hash\n");
  EXPECT_FALSE(r.file("# comment"));
  EXPECT_FALSE(r.file("#hash"));
  auto d = r.m->explain("#hash", false);
  EXPECT_FALSE(d.matched);
}

TEST(GitignorePatterns, TrailingSpacesTrimmedUnlessEscaped) {
  Rules r("trail   \nkeep\\ \n");
  EXPECT_TRUE(r.file("trail"));
  EXPECT_FALSE(r.file("trail "));
  EXPECT_TRUE(r.file("keep "));
  EXPECT_FALSE(r.file("keep"));
  EXPECT_EQ(r.m->explain("trail", false).pattern, "trail");
}

TEST(GitignorePatterns, CrLfLineEndingsAndBom) {
  Rules r("\xEF\xBB\xBF" "first\r\nsecond\r\n");
  EXPECT_TRUE(r.file("first"));
  EXPECT_TRUE(r.file("second"));
  EXPECT_EQ(r.m->explain("second", false).line, 2);
}

TEST(GitignorePatterns, NegationReIncludesAndLastMatchWins) {
  Rules r("*.log\n!keep.log\n");
  EXPECT_TRUE(r.file("a.log"));
  EXPECT_FALSE(r.file("keep.log"));
  auto d = r.m->explain("keep.log", false);
  EXPECT_TRUE(d.matched);
  EXPECT_FALSE(d.ignored);
  EXPECT_EQ(d.pattern, "!keep.log");
  EXPECT_EQ(d.line, 2);
  EXPECT_EQ(d.source, ".gitignore");
}

TEST(GitignorePatterns, CannotReIncludeAFileUnderAnExcludedDirectory) {
  Rules r("build/\n!build/keep\n");
  EXPECT_TRUE(r.file("build/keep"));
  auto d = r.m->explain("build/keep", false);
  EXPECT_EQ(d.pattern, "build/");  // the directory's rule decides, as git reports it
  // ...but excluding the contents, not the directory, lets a file back in.
  Rules r2("build/*\n!build/keep\n");
  EXPECT_FALSE(r2.file("build/keep"));
  EXPECT_TRUE(r2.file("build/other"));
}

}  // namespace
}  // namespace relive::ignore
