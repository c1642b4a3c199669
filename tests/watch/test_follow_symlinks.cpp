// Options::follow_symlinks: symlinked directories whose targets lie outside the root are
// watched through the link; links around the root or to a target followed already are not.
#include <gtest/gtest.h>

#include "watch_test_util.hpp"

namespace relive::watch::testing {
namespace {

using relive::test::TempDir;
using relive::test::write_file;

TEST(FollowSymlinks, ChangesInALinkedDirectoryAreReportedThroughTheLink) {
  TempDir root, outside;
  write_file(outside / "pkg" / "sub" / "a.py", "1");
  fs::create_directories(root / "inner");
  fs::create_directory_symlink(outside / "pkg", root / "inner" / "linked");
  fs::create_directory_symlink(root.path(), root / "inner" / "up");  // around the root: a loop
  Options o = Collector::options_for(root.path());
  o.follow_symlinks = true;
  Collector c(o);
  ASSERT_TRUE(c.ok()) << c.error();
  // root, inner, inner/linked, inner/linked/sub — and nothing for the loop.
  EXPECT_EQ(c.watcher().watch_count(), 4u);
  write_file(outside / "pkg" / "sub" / "a.py", "2");
  c.until("inner/linked/sub/a.py", Change::Modified);
  // A directory created inside the target is watched too.
  write_file(outside / "pkg" / "new" / "b.py", "x");
  c.until("inner/linked/new/b.py", Change::Created);
  write_file(outside / "pkg" / "new" / "b.py", "y");
  c.until("inner/linked/new/b.py", Change::Modified);
}

TEST(FollowSymlinks, OverlappingTargetsAreWatchedOnce) {
  // Two links to one directory, and one to a directory around it: the first found (in
  // listing order) is followed, the others are not (one inotify watch per directory).
  TempDir root, outside;
  write_file(outside / "pkg" / "a.py", "1");
  fs::create_directory_symlink(outside / "pkg", root / "one");
  fs::create_directory_symlink(outside / "pkg", root / "two");
  fs::create_directory_symlink(outside.path(), root / "around");
  Options o = Collector::options_for(root.path());
  o.follow_symlinks = true;
  Collector c(o);
  ASSERT_TRUE(c.ok()) << c.error();
  size_t watches = c.watcher().watch_count();
  EXPECT_TRUE(watches == 2u || watches == 3u) << watches;  // root + pkg, or root + outside + pkg
  write_file(outside / "pkg" / "a.py", "2");
  auto b = c.next();
  ASSERT_TRUE(b);
  int reported = 0;
  for (const char* path : {"one/a.py", "two/a.py", "around/pkg/a.py"}) reported += find(*b, path) != nullptr;
  EXPECT_EQ(reported, 1) << describe(*b);
}

TEST(FollowSymlinks, OffByDefault) {
  TempDir root, outside;
  write_file(outside / "pkg" / "a.py", "1");
  fs::create_directory_symlink(outside / "pkg", root / "linked");
  Collector c(root.path());
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c.watcher().watch_count(), 1u);
}

}  // namespace
}  // namespace relive::watch::testing
