// .git/info/exclude (and the global excludes file) edits apply live, like a .gitignore
// edit: the watcher keeps one watch on .git/info/ (not on all of .git/, which stays
// ignored) and re-reads the file when it changes.
#include <gtest/gtest.h>

#include "watch_test_util.hpp"

namespace relive::watch::testing {
namespace {

using relive::test::TempDir;
using relive::test::write_file;

// A repository as git discovery sees one: .git/ holding HEAD (and info/exclude if given).
void make_repo(const fs::path& root, const char* exclude) {
  write_file(root / ".git" / "HEAD", "ref: refs/heads/main\n");
  if (exclude) write_file(root / ".git" / "info" / "exclude", exclude);
}

// Options isolated from the user's own global excludes file.
Options options_for(const fs::path& root, const fs::path& global_excludes) {
  Options o = Collector::options_for(root);
  o.ignore.excludes_file = global_excludes;
  return o;
}

std::string describe_all(const std::vector<Batch>& batches) {
  std::string s;
  for (const auto& b : batches) s += "{" + describe(b) + "} ";
  return s;
}

bool seen_in(const std::vector<Batch>& batches, std::string_view path) {
  for (const auto& b : batches) {
    if (find(b, path)) return true;
  }
  return false;
}

// Writes `path` then a marker file; returns the batches up to the marker's. Events of one
// inotify instance arrive in order, so whether `path` is among them is decided by the rules
// in force when it was written — no waiting on a timer. (The marker may be reported as
// modified rather than created: the re-listing after a rules change can see it on disk
// before its own event is read.)
std::vector<Batch> write_then_marker(Collector& w, const fs::path& root, const std::string& path, const std::string& marker) {
  write_file(root / path, marker);
  write_file(root / marker, "x");
  std::vector<Batch> seen;
  while (auto b = w.next(10s)) {
    seen.push_back(*b);
    if (find(*b, marker)) return seen;
  }
  ADD_FAILURE() << "no batch with " << marker << " in 10 s; seen: " << describe_all(seen);
  return seen;
}

void check_removing_and_adding_lines(std::optional<std::chrono::milliseconds> poll) {
  TempDir dir;
  TempDir home;  // the global excludes file: outside the root, empty
  make_repo(dir.path(), "secret.txt\ngen/\n");
  write_file(dir / "secret.txt", "0");
  write_file(dir / "gen" / "out.txt", "0");
  Options o = options_for(dir.path(), home / "ignore");
  o.poll_interval = poll;
  Collector w(std::move(o));
  ASSERT_TRUE(w.ok()) << w.error();

  auto before = write_then_marker(w, dir.path(), "secret.txt", "m1");
  EXPECT_FALSE(seen_in(before, "secret.txt")) << describe_all(before);

  // Remove the lines: the file and the directory it ignored start producing batches.
  write_file(dir / ".git" / "info" / "exclude", "# nothing\n");
  auto after = write_then_marker(w, dir.path(), "secret.txt", "m2");
  EXPECT_TRUE(seen_in(after, "secret.txt")) << describe_all(after);
  auto in_dir = write_then_marker(w, dir.path(), "gen/out.txt", "m3");
  EXPECT_TRUE(seen_in(in_dir, "gen/out.txt")) << describe_all(in_dir);

  // And back: adding the line (an editor's rename-over save) silences it again.
  write_file(dir / ".git" / "info" / "exclude.tmp", "secret.txt\n");
  fs::rename(dir / ".git" / "info" / "exclude.tmp", dir / ".git" / "info" / "exclude");
  auto again = write_then_marker(w, dir.path(), "secret.txt", "m4");
  EXPECT_FALSE(seen_in(again, "secret.txt")) << describe_all(again);
  EXPECT_TRUE(w.warnings().empty());
}

TEST(GitExcludeLive, RemovingALineUnignoresAndAddingItIgnoresAgain) { check_removing_and_adding_lines(std::nullopt); }

TEST(GitExcludeLive, SameWhenPolling) { check_removing_and_adding_lines(std::chrono::milliseconds(50)); }

TEST(GitExcludeLive, InfoDirectoryCreatedAfterTheStart) {
  TempDir dir;
  TempDir home;
  make_repo(dir.path(), nullptr);  // no .git/info/ yet
  Collector w(options_for(dir.path(), home / "ignore"));
  ASSERT_TRUE(w.ok()) << w.error();
  auto before = write_then_marker(w, dir.path(), "secret.txt", "m1");
  EXPECT_TRUE(seen_in(before, "secret.txt")) << describe_all(before);
  write_file(dir / ".git" / "info" / "exclude", "secret.txt\n");
  auto after = write_then_marker(w, dir.path(), "secret.txt", "m2");
  EXPECT_FALSE(seen_in(after, "secret.txt")) << describe_all(after);
}

TEST(GitExcludeLive, GlobalExcludesFileEdits) {
  TempDir dir;
  TempDir home;
  make_repo(dir.path(), "");
  write_file(home / "ignore", "*.log\n");
  Collector w(options_for(dir.path(), home / "ignore"));
  ASSERT_TRUE(w.ok()) << w.error();
  auto before = write_then_marker(w, dir.path(), "app.log", "m1");
  EXPECT_FALSE(seen_in(before, "app.log")) << describe_all(before);
  write_file(home / "ignore", "*.tmp\n");
  // The global file is outside every watched tree: its event comes through another
  // watch of the same inotify instance, still in order.
  auto after = write_then_marker(w, dir.path(), "app.log", "m2");
  EXPECT_TRUE(seen_in(after, "app.log")) << describe_all(after);
}

TEST(GitExcludeLive, DotGitStaysUnwatched) {
  TempDir dir;
  TempDir home;
  make_repo(dir.path(), "secret.txt\n");
  fs::create_directories(dir / ".git" / "objects" / "ab");
  Collector w(options_for(dir.path(), home / "ignore"));
  ASSERT_TRUE(w.ok()) << w.error();
  EXPECT_EQ(w.watcher().watch_count(), 1u);  // the root; .git/info's watch is not the tree's
  // Writing inside .git/ (not info/exclude) is never a change.
  write_file(dir / ".git" / "objects" / "ab" / "cd", "x");
  write_file(dir / ".git" / "info" / "other", "x");
  auto batches = write_then_marker(w, dir.path(), "m0", "m1");
  for (const auto& b : batches) {
    for (const auto& c : b.changes) EXPECT_FALSE(c.path.starts_with(".git")) << describe(b);
  }
}

}  // namespace
}  // namespace relive::watch::testing
