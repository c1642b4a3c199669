// Built-in defaults (editors' temp files, VCS directories) and command-line globs, and
// where they sit in the precedence order.
#include <gtest/gtest.h>

#include "ignore_test_util.hpp"

namespace relive::ignore {
namespace {
using namespace relive::test;
using testing::open_ok;

Options defaults_only() {
  Options o;
  o.vcs_ignore = false;
  o.reloadignore = false;
  return o;
}

TEST(Defaults, EditorsAndToolsTemporaryFiles) {
  TempDir t;
  auto m = open_ok(t.path(), defaults_only());
  for (const char* dir : {".git", ".hg", ".svn", "__pycache__", "a/.git"}) EXPECT_TRUE(m->ignored(dir, true)) << dir;
  EXPECT_TRUE(m->ignored(".git/index.lock", false));
  for (const char* file : {"main.py.swp", ".main.c.swp", ".main.c.swx", "4913", "main.c~", ".#main.c", "#main.c#",
                           "main.c___jb_tmp___", "main.c___jb_old___", "sedAb12Cd", "x.pyc", "sub/4913"}) {
    EXPECT_TRUE(m->ignored(file, false)) << file;
  }
  for (const char* file : {"main.c", "notes.tmp", "build.log", "sed", "sedAb12C", "4913.c", ".gitignore", "a.git"}) {
    EXPECT_FALSE(m->ignored(file, false)) << file;
  }
  auto d = m->explain("x.swp", false);
  EXPECT_EQ(d.source, "<default>");
  EXPECT_EQ(d.pattern, "*.swp");
}

TEST(Defaults, CanBeTurnedOff) {
  TempDir t;
  Options o = defaults_only();
  o.default_ignores = false;
  auto m = open_ok(t.path(), o);
  EXPECT_FALSE(m->ignored(".git", true));
  EXPECT_FALSE(m->ignored("x.swp", false));
}

TEST(Defaults, GitignoreCanReIncludeADefault) {
  TempDir t;
  write_file(t / ".gitignore", "!keep.swp\n");
  Options o = defaults_only();
  o.vcs_ignore = true;
  o.excludes_file = "/nonexistent/relive-test";
  auto m = open_ok(t.path(), o);
  EXPECT_FALSE(m->ignored("keep.swp", false));
  EXPECT_TRUE(m->ignored("other.swp", false));
}

TEST(Globs, GitignoreSyntaxRelativeToTheRoot) {
  TempDir t;
  Options o = defaults_only();
  o.default_ignores = false;
  o.globs = {"*.o", "/dist", "logs/"};
  auto m = open_ok(t.path(), o);
  EXPECT_TRUE(m->ignored("a/b.o", false));
  EXPECT_TRUE(m->ignored("dist", false));
  EXPECT_FALSE(m->ignored("a/dist", false));
  EXPECT_TRUE(m->ignored("a/logs/x", false));
  auto d = m->explain("a/b.o", false);
  EXPECT_EQ(d.source, "<command line>");
  EXPECT_EQ(d.line, 1);
}

TEST(Globs, BeatEveryFileSource) {
  TempDir t;
  write_file(t / ".gitignore", "!*.o\n");
  write_file(t / ".reloadignore", "!\\.o$\n");
  Options o;
  o.excludes_file = "/nonexistent/relive-test";
  o.globs = {"*.o"};
  auto m = open_ok(t.path(), o);
  EXPECT_TRUE(m->ignored("x.o", false));
  // and a negated glob re-includes what a file ignored
  write_file(t / ".gitignore", "*.c\n");
  o.globs = {"!keep.c"};
  auto m2 = open_ok(t.path(), o);
  EXPECT_FALSE(m2->ignored("keep.c", false));
  EXPECT_TRUE(m2->ignored("other.c", false));
}

}  // namespace
}  // namespace relive::ignore
