// The tree: new directories are watched then listed (what was created before the watch
// existed is reported once), moves in and out, rm -rf, renames, a removed and re-created
// root, and what a watch costs.
#include <unistd.h>

#include <algorithm>
#include <set>

#include "watch_test_util.hpp"

namespace relive::watch::testing {
namespace {

using relive::test::TempDir;
using relive::test::write_file;
using relive::test::eventually;

std::set<std::string> paths_with(const std::vector<Batch>& batches, Change change) {
  std::set<std::string> out;
  for (const auto& b : batches) {
    for (const auto& c : b.changes) {
      if (c.change == change) out.insert(c.path);
    }
  }
  return out;
}

TEST(Tree, MkdirPThenTouchIsOneBatchWithEachPathOnce) {
  TempDir dir;
  Collector w(dir.path());
  ASSERT_TRUE(w.ok()) << w.error();
  ASSERT_EQ(run({"sh", "-c", "mkdir -p a/b/c && touch a/b/c/f"}, dir.path()), 0);
  auto b = w.exactly_one();
  ASSERT_TRUE(b);
  std::vector<std::string> paths;
  for (const auto& c : b->changes) {
    EXPECT_EQ(c.change, Change::Created) << describe(*b);
    paths.push_back(c.path);
  }
  std::sort(paths.begin(), paths.end());
  EXPECT_EQ(paths, (std::vector<std::string>{"a", "a/b", "a/b/c", "a/b/c/f"})) << describe(*b);
  EXPECT_EQ(w.watcher().watch_count(), 4u);
  // And the new directories are watched: a later change deep inside is seen.
  write_file(dir / "a/b/c/f", "x");
  auto later = w.exactly_one();
  ASSERT_TRUE(later);
  ASSERT_NE(find(*later, "a/b/c/f"), nullptr) << describe(*later);
  EXPECT_EQ(find(*later, "a/b/c/f")->change, Change::Modified);
}

TEST(Tree, FilesCreatedBeforeTheWatchExistedAreReportedOnce) {
  TempDir dir;
  Collector w(dir.path());
  ASSERT_TRUE(w.ok()) << w.error();
  // Many files right after mkdir: some land before the new directory's watch, some after;
  // the listing finds the first kind, events the second, some both.
  fs::create_directory(dir / "burst");
  for (int i = 0; i < 200; ++i) write_file(dir / "burst" / ("f" + std::to_string(i)), "x");
  std::vector<Batch> batches = w.until("burst/f199", Change::Created);
  while (auto more = w.next(300ms)) batches.push_back(*more);
  // Created exactly once each. (On a loaded machine the batch may end while a file is still
  // being written; its close is then a later "modified", which is not a second creation.)
  std::multiset<std::string> seen;
  for (const auto& b : batches) {
    for (const auto& c : b.changes) {
      if (c.change == Change::Created) seen.insert(c.path);
    }
  }
  for (int i = 0; i < 200; ++i) {
    std::string path = "burst/f" + std::to_string(i);
    std::string where;
    for (const auto& b : batches) {
      if (find(b, path)) where += "{" + describe(b).substr(0, 300) + "} ";
    }
    EXPECT_EQ(seen.count(path), 1u) << path << " in " << where;
  }
  EXPECT_EQ(seen.count("burst"), 1u);
}

TEST(Tree, DirectoryMovedInIsWatchedAndItsFilesReported) {
  TempDir outside;
  TempDir dir;
  write_file(outside / "pkg" / "mod.py", "1");
  write_file(outside / "pkg" / "sub" / "deep.py", "1");
  Collector w(dir.path());
  ASSERT_TRUE(w.ok()) << w.error();
  ASSERT_EQ(::rename((outside / "pkg").c_str(), (dir / "pkg").c_str()), 0);
  auto b = w.exactly_one();
  ASSERT_TRUE(b);
  for (auto path : {"pkg", "pkg/mod.py", "pkg/sub", "pkg/sub/deep.py"}) {
    const PathChange* c = find(*b, path);
    ASSERT_NE(c, nullptr) << path << ": " << describe(*b);
    EXPECT_EQ(c->change, Change::Created) << describe(*b);
  }
  EXPECT_EQ(w.watcher().watch_count(), 3u);
  write_file(dir / "pkg/sub/deep.py", "2");
  auto later = w.exactly_one();
  ASSERT_TRUE(later);
  EXPECT_NE(find(*later, "pkg/sub/deep.py"), nullptr) << describe(*later);
}

TEST(Tree, DirectoryMovedOutIsRemovedAndNoLongerWatched) {
  TempDir outside;
  TempDir dir;
  write_file(dir / "pkg" / "sub" / "deep.py", "1");
  Collector w(dir.path());
  ASSERT_TRUE(w.ok()) << w.error();
  EXPECT_EQ(w.watcher().watch_count(), 3u);
  ASSERT_EQ(::rename((dir / "pkg").c_str(), (outside / "pkg").c_str()), 0);
  auto b = w.exactly_one();
  ASSERT_TRUE(b);
  ASSERT_NE(find(*b, "pkg"), nullptr) << describe(*b);
  EXPECT_EQ(find(*b, "pkg")->change, Change::Removed);
  EXPECT_TRUE(find(*b, "pkg")->is_dir);
  EXPECT_EQ(w.watcher().watch_count(), 1u);
  // Changes in the moved-away tree are not ours any more.
  write_file(outside / "pkg/sub/deep.py", "2");
  write_file(dir / "marker", "m");
  auto later = w.exactly_one();
  ASSERT_TRUE(later);
  ASSERT_EQ(later->changes.size(), 1u) << describe(*later);
  EXPECT_EQ(later->changes[0].path, "marker");
}

TEST(Tree, RenamedDirectoryKeepsItsWatchesUnderTheNewName) {
  TempDir dir;
  write_file(dir / "old" / "inner" / "x.py", "1");
  Collector w(dir.path());
  ASSERT_TRUE(w.ok()) << w.error();
  ASSERT_EQ(::rename((dir / "old").c_str(), (dir / "new").c_str()), 0);
  auto b = w.exactly_one();
  ASSERT_TRUE(b);
  ASSERT_EQ(b->changes.size(), 1u) << describe(*b);
  EXPECT_EQ(b->changes[0].change, Change::Renamed);
  EXPECT_EQ(b->changes[0].path, "new");
  EXPECT_EQ(b->changes[0].old_path, "old");
  EXPECT_EQ(w.watcher().watch_count(), 3u);
  write_file(dir / "new/inner/x.py", "2");
  auto later = w.exactly_one();
  ASSERT_TRUE(later);
  EXPECT_NE(find(*later, "new/inner/x.py"), nullptr) << describe(*later);
}

TEST(Tree, RenamedFile) {
  TempDir dir;
  write_file(dir / "a.py", "1");
  Collector w(dir.path());
  ASSERT_TRUE(w.ok()) << w.error();
  ASSERT_EQ(::rename((dir / "a.py").c_str(), (dir / "b.py").c_str()), 0);
  auto b = w.exactly_one();
  ASSERT_TRUE(b);
  ASSERT_EQ(b->changes.size(), 1u) << describe(*b);
  EXPECT_EQ(b->changes[0].change, Change::Renamed);
  EXPECT_EQ(b->changes[0].path, "b.py");
  EXPECT_EQ(b->changes[0].old_path, "a.py");
}

TEST(Tree, RmRfOfASubtreeIsOneBatch) {
  TempDir dir;
  for (int i = 0; i < 5; ++i) {
    for (int j = 0; j < 10; ++j) write_file(dir / "gone" / ("d" + std::to_string(i)) / ("f" + std::to_string(j)), "x");
  }
  write_file(dir / "kept.py", "k");
  Collector w(dir.path());
  ASSERT_TRUE(w.ok()) << w.error();
  EXPECT_EQ(w.watcher().watch_count(), 7u);
  ASSERT_EQ(run({"rm", "-rf", "gone"}, dir.path()), 0);
  auto b = w.exactly_one();
  ASSERT_TRUE(b);
  EXPECT_EQ(paths_with({*b}, Change::Removed).count("gone"), 1u) << describe(*b);
  EXPECT_EQ(paths_with({*b}, Change::Removed).count("gone/d3/f7"), 1u) << describe(*b);
  EXPECT_EQ(paths_with({*b}, Change::Removed).size(), b->changes.size()) << describe(*b);
  EXPECT_EQ(w.watcher().watch_count(), 1u);
}

TEST(Tree, RemovedAndRecreatedRootIsPickedUpAgain) {
  TempDir parent;
  fs::path root = parent / "project";
  write_file(root / "src" / "app.py", "1");
  Collector w(root);
  ASSERT_TRUE(w.ok()) << w.error();
  fs::remove_all(root);
  auto removed = w.until("", Change::Removed);
  // Re-created, with content: reported, and watched again.
  write_file(root / "src" / "app.py", "2");
  auto created = w.until("src/app.py", Change::Created);
  ASSERT_TRUE(eventually([&] { return w.watcher().watch_count() == 2; }));
  write_file(root / "src" / "app.py", "3");
  auto later = w.until("src/app.py", Change::Modified);
  EXPECT_FALSE(later.empty());
}

TEST(Tree, RemovedAndRecreatedSubdirectoryIsPickedUpAgain) {
  TempDir dir;
  write_file(dir / "src" / "app.py", "1");
  Collector w(dir.path());
  ASSERT_TRUE(w.ok()) << w.error();
  fs::remove_all(dir / "src");
  w.until("src", Change::Removed);
  write_file(dir / "src" / "app.py", "2");
  w.until("src/app.py", Change::Created);
  write_file(dir / "src" / "app.py", "3");
  w.until("src/app.py", Change::Modified);
  EXPECT_EQ(w.watcher().watch_count(), 2u);
}

TEST(Tree, MissingRootIsAnError) {
  TempDir dir;
  Options o;
  o.roots = {dir / "does-not-exist"};
  auto w = Watcher::open(o);
  ASSERT_FALSE(w);
  EXPECT_NE(w.error().message.find("does-not-exist"), std::string::npos) << w.error().message;
  EXPECT_NE(w.error().message.find("No such file"), std::string::npos) << w.error().message;
}

TEST(Tree, IgnoredDirectoriesCostNoWatch) {
  ASSERT_TRUE(ignore_rules_work()) << "relive::ignore does not ignore node_modules/";
  TempDir dir;
  write_file(dir / ".gitignore", "node_modules/\nbuild/\n");
  for (int i = 0; i < 20; ++i) write_file(dir / "node_modules" / ("p" + std::to_string(i)) / "index.js", "x");
  write_file(dir / "build" / "out" / "a.o", "x");
  write_file(dir / "src" / "app.py", "x");
  Collector w(dir.path());
  ASSERT_TRUE(w.ok()) << w.error();
  EXPECT_EQ(w.watcher().watch_count(), 2u);  // the root and src/
  write_file(dir / "node_modules" / "p1" / "index.js", "y");
  write_file(dir / "build" / "out" / "b.o", "y");
  write_file(dir / "src" / "app.py", "y");
  auto b = w.exactly_one();
  ASSERT_TRUE(b);
  ASSERT_EQ(b->changes.size(), 1u) << describe(*b);
  EXPECT_EQ(b->changes[0].path, "src/app.py");
  // A new ignored directory is not descended into either.
  fs::create_directories(dir / "build" / "more");
  write_file(dir / "node_modules" / "new" / "x.js", "x");
  write_file(dir / "marker", "m");
  auto c = w.exactly_one();
  ASSERT_TRUE(c);
  ASSERT_EQ(c->changes.size(), 1u) << describe(*c);
  EXPECT_EQ(w.watcher().watch_count(), 2u);
}

}  // namespace
}  // namespace relive::watch::testing
