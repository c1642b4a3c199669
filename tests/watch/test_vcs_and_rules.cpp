// A VCS operation is one batch (events are held while its lock exists); a changed rules
// file re-evaluates what is watched.
#include <unistd.h>

#include "watch_test_util.hpp"

namespace relive::watch::testing {
namespace {

using relive::test::TempDir;
using relive::test::write_file;

void git(const fs::path& repo, std::vector<std::string> args) {
  std::vector<std::string> argv{"git", "-c", "user.name=relive test", "-c", "user.email=test@relive.invalid",
                                "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false"};
  argv.insert(argv.end(), args.begin(), args.end());
  ASSERT_EQ(run(argv, repo), 0);
}

TEST(Vcs, GitCheckoutOfManyFilesIsOneBatch) {
  if (::access("/usr/bin/git", X_OK) != 0) FAIL() << "git is not installed (scripts/install-deps)";
  TempDir repo;
  constexpr int kFiles = 500;
  git(repo.path(), {"init", "-q"});
  for (int i = 0; i < kFiles; ++i) write_file(repo / "src" / ("m" + std::to_string(i % 20)) / ("f" + std::to_string(i) + ".py"), "main\n");
  git(repo.path(), {"add", "-A"});
  git(repo.path(), {"commit", "-q", "-m", "main"});
  git(repo.path(), {"checkout", "-q", "-b", "other"});
  for (int i = 0; i < kFiles; ++i) write_file(repo / "src" / ("m" + std::to_string(i % 20)) / ("f" + std::to_string(i) + ".py"), "other\n");
  git(repo.path(), {"commit", "-q", "-a", "-m", "other"});
  git(repo.path(), {"checkout", "-q", "main"});

  Collector w(repo.path());
  ASSERT_TRUE(w.ok()) << w.error();
  git(repo.path(), {"checkout", "-q", "other"});
  auto b = w.exactly_one(500ms);
  ASSERT_TRUE(b);
  size_t files = 0;
  for (const auto& c : b->changes) {
    if (c.path.starts_with("src/")) {
      ++files;
      EXPECT_EQ(c.change, Change::Modified) << c.path;
    }
  }
  EXPECT_EQ(files, static_cast<size_t>(kFiles));
}

TEST(Vcs, EventsAreHeldWhileTheIndexLockExists) {
  TempDir repo;
  fs::create_directories(repo / ".git");
  write_file(repo / "a.py", "1");
  Collector w(repo.path());
  ASSERT_TRUE(w.ok()) << w.error();
  write_file(repo / ".git" / "index.lock", "");
  write_file(repo / "a.py", "2");
  // Held: nothing arrives while the lock exists (well past every quiet window).
  EXPECT_FALSE(w.next(400ms)) << "a batch arrived while .git/index.lock existed";
  write_file(repo / "b.py", "2");
  fs::remove(repo / ".git" / "index.lock");
  auto b = w.exactly_one();
  ASSERT_TRUE(b);
  EXPECT_NE(find(*b, "a.py"), nullptr) << describe(*b);
  EXPECT_NE(find(*b, "b.py"), nullptr) << describe(*b);
}

TEST(Rules, EditingGitignoreReEvaluatesWhatIsWatched) {
  ASSERT_TRUE(ignore_rules_work()) << "relive::ignore does not ignore node_modules/";
  TempDir dir;
  write_file(dir / ".gitignore", "out/\n");
  write_file(dir / "out" / "deep" / "x.o", "1");
  write_file(dir / "src" / "app.py", "1");
  Collector w(dir.path());
  ASSERT_TRUE(w.ok()) << w.error();
  EXPECT_EQ(w.watcher().watch_count(), 2u);
  // Un-ignore out/: it gets watched (and listed).
  write_file(dir / ".gitignore", "src/\n");
  w.until(".gitignore", Change::Modified);
  EXPECT_EQ(w.watcher().watch_count(), 3u);  // root, out, out/deep; src/ dropped
  write_file(dir / "out" / "deep" / "x.o", "2");
  write_file(dir / "src" / "app.py", "2");
  auto b = w.exactly_one();
  ASSERT_TRUE(b);
  ASSERT_EQ(b->changes.size(), 1u) << describe(*b);
  EXPECT_EQ(b->changes[0].path, "out/deep/x.o");
}

// Writes `ignored` and `reported` (in that order) under dir and expects the watcher to
// report the second and never the first: the rules in force there are the ones expected.
void expect_rules_in_force(Collector& w, const fs::path& dir, const std::string& ignored, const std::string& reported) {
  write_file(dir / ignored, "2");
  write_file(dir / reported, "2");
  auto seen = w.until(reported, Change::Created);
  for (const auto& b : seen) EXPECT_EQ(find(b, ignored), nullptr) << describe(b);
}

// A directory moved away and another moved into its place (a deploy's swap): the
// newcomer's rules files decide, not those the watcher read for the one that left.
TEST(Rules, ADirectoryPutInThePlaceOfAnotherHasItsOwnRules) {
  TempDir dir, away, staging;
  write_file(dir / "plugin" / ".reloadignore", "\\.tmp$\n");
  write_file(dir / "plugin" / "a.py", "1");
  write_file(staging / "plugin" / ".reloadignore", "\\.py$\n");
  Collector w(dir.path());
  ASSERT_TRUE(w.ok()) << w.error();
  fs::rename(dir / "plugin", away / "plugin");
  w.until("plugin", Change::Removed);
  fs::rename(staging / "plugin", dir / "plugin");
  w.until("plugin", Change::Created);
  // Under the old rules x.tmp would be ignored and y.py not; under the new ones the reverse.
  expect_rules_in_force(w, dir.path(), "plugin/y.py", "plugin/x.tmp");
}

// The same within the tree: `a` renamed onto the place `b` left. Its rules go with it.
TEST(Rules, ADirectoryRenamedIntoThePlaceOfAnotherKeepsItsOwnRules) {
  TempDir dir, away;
  write_file(dir / "a" / ".reloadignore", "\\.tmp$\n");
  write_file(dir / "b" / ".reloadignore", "\\.py$\n");
  Collector w(dir.path());
  ASSERT_TRUE(w.ok()) << w.error();
  fs::rename(dir / "b", away / "b");
  w.until("b", Change::Removed);
  fs::rename(dir / "a", dir / "b");
  w.until("b", Change::Renamed);
  expect_rules_in_force(w, dir.path(), "b/x.tmp", "b/y.py");
}

}  // namespace
}  // namespace relive::watch::testing
