// The watch engine's internals on their own, on real directories: both backends through
// the one Backend interface (the same expectations for inotify and the poller), the VCS
// lock, the rules files outside the tree, and symlink dependents.
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "../../src/watch/backend.hpp"
#include "../../src/watch/external_rules.hpp"
#include "../../src/watch/symlinks.hpp"
#include "../../src/watch/tree.hpp"
#include "../../src/watch/vcs_lock.hpp"
#include "test_support.hpp"

namespace relive::watch::internal {
namespace {

using namespace std::chrono_literals;
using relive::test::TempDir;
using relive::test::write_file;
namespace fs = std::filesystem;

enum class Kind { Inotify, Poll };

std::unique_ptr<Backend> make_backend(Kind kind) {
  if (kind == Kind::Poll) return make_poll_backend(1);
  auto b = make_inotify_backend();
  if (!b) ADD_FAILURE() << b.error().message;
  return b ? std::move(*b) : nullptr;
}

// Gathers events (reading when the fd says so, or polling) until `done` holds or 10 s pass.
bool gather(Backend& backend, std::vector<RawEvent>& events, const std::function<bool()>& done) {
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    if (backend.fd() >= 0) {
      pollfd p{backend.fd(), POLLIN, 0};
      ::poll(&p, 1, 100);
      backend.read_events(events);
    } else {
      ::usleep(20 * 1000);
      backend.poll(events);
    }
  }
  return true;
}

bool has(const std::vector<RawEvent>& events, int wd, uint32_t bit, const std::string& name) {
  for (const auto& e : events) {
    if (e.wd == wd && (e.mask & bit) && e.name == name) return true;
  }
  return false;
}

class BackendTest : public ::testing::TestWithParam<Kind> {};

TEST_P(BackendTest, ReportsCreateWriteDeleteByName) {
  TempDir dir;
  auto backend = make_backend(GetParam());
  ASSERT_TRUE(backend);
  int wd = backend->add_watch(dir.path().string(), kTreeMask);
  ASSERT_GE(wd, 0) << std::strerror(errno);
  EXPECT_EQ(backend->add_watch(dir.path().string(), kTreeMask), wd) << "the same directory, the same watch";
  std::vector<RawEvent> events;
  write_file(dir / "a.txt", "1");
  ASSERT_TRUE(gather(*backend, events, [&] { return has(events, wd, mask::kCreate, "a.txt"); }));
  events.clear();
  // A different size: the poller sees it within one tick, whatever the clock's resolution.
  write_file(dir / "a.txt", "22");
  ASSERT_TRUE(gather(*backend, events, [&] { return has(events, wd, mask::kCloseWrite, "a.txt"); }));
  events.clear();
  fs::create_directory(dir / "sub");
  ASSERT_TRUE(gather(*backend, events, [&] { return has(events, wd, mask::kCreate | mask::kIsDir, "sub"); }));
  fs::remove(dir / "a.txt");
  ASSERT_TRUE(gather(*backend, events, [&] { return has(events, wd, mask::kDelete, "a.txt"); }));
}

TEST_P(BackendTest, MissingDirectoryIsENOENTAndRemovedWatchEndsWithIgnored) {
  TempDir dir;
  auto backend = make_backend(GetParam());
  ASSERT_TRUE(backend);
  errno = 0;
  EXPECT_EQ(backend->add_watch((dir / "missing").string(), kTreeMask), -1);
  EXPECT_EQ(errno, ENOENT);
  int wd = backend->add_watch(dir.path().string(), kTreeMask);
  ASSERT_GE(wd, 0);
  backend->remove_watch(wd);
  std::vector<RawEvent> events;
  ASSERT_TRUE(gather(*backend, events, [&] { return has(events, wd, mask::kIgnored, ""); }));
}

TEST_P(BackendTest, WatchedDirectoryRemovedEndsItsWatch) {
  TempDir dir;
  fs::create_directory(dir / "sub");
  auto backend = make_backend(GetParam());
  ASSERT_TRUE(backend);
  int wd = backend->add_watch((dir / "sub").string(), kTreeMask);
  ASSERT_GE(wd, 0);
  fs::remove(dir / "sub");
  std::vector<RawEvent> events;
  ASSERT_TRUE(gather(*backend, events, [&] { return has(events, wd, mask::kIgnored, ""); }));
  EXPECT_TRUE(has(events, wd, mask::kDeleteSelf, ""));
}

TEST_P(BackendTest, ListingOfAWatchedDirectoryHasItsEntries) {
  TempDir dir;
  write_file(dir / "f", "x");
  fs::create_directory(dir / "d");
  auto backend = make_backend(GetParam());
  ASSERT_TRUE(backend);
  int wd = backend->add_watch(dir.path().string(), kTreeMask);
  ASSERT_GE(wd, 0);
  std::vector<DirEntry> entries;
  ASSERT_TRUE(backend->list(wd, dir.path().string(), entries));
  ASSERT_EQ(entries.size(), 2u);
}

INSTANTIATE_TEST_SUITE_P(Watch, BackendTest, ::testing::Values(Kind::Inotify, Kind::Poll),
                         [](const auto& param_info) { return param_info.param == Kind::Inotify ? "Inotify" : "Poll"; });

class VcsLockTest : public ::testing::TestWithParam<Kind> {};

TEST_P(VcsLockTest, GitIndexLockIsHeldUntilRemoved) {
  TempDir repo;
  fs::create_directories(repo / ".git");
  fs::create_directories(repo / "src" / "deep");
  auto backend = make_backend(GetParam());
  ASSERT_TRUE(backend);
  VcsLock lock;
  lock.open((repo / "src" / "deep").string(), *backend);
  EXPECT_EQ(lock.repo_dir(), (repo / ".git").string());
  EXPECT_FALSE(lock.locked());
  std::vector<RawEvent> events;
  size_t applied = 0;
  auto apply_new = [&] {
    for (; applied < events.size(); ++applied) lock.on_event(events[applied]);
  };
  write_file(repo / ".git" / "index.lock", "");
  ASSERT_TRUE(gather(*backend, events, [&] { apply_new(); return lock.locked(); }));
  // git renames the lock over the index when done.
  fs::rename(repo / ".git" / "index.lock", repo / ".git" / "index");
  ASSERT_TRUE(gather(*backend, events, [&] { apply_new(); return !lock.locked(); }));
}

TEST_P(VcsLockTest, LockHeldAtTheStartIsSeen) {
  TempDir repo;
  fs::create_directories(repo / ".hg");
  // Mercurial's wlock is a symlink to "host:pid": dangling, and still a lock.
  fs::create_symlink("host:12345", repo / ".hg" / "wlock");
  auto backend = make_backend(GetParam());
  ASSERT_TRUE(backend);
  VcsLock lock;
  lock.open(repo.path().string(), *backend);
  EXPECT_EQ(lock.repo_dir(), (repo / ".hg").string());
  EXPECT_TRUE(lock.locked());
}

TEST_P(VcsLockTest, WorktreeGitFileIsFollowed) {
  TempDir top;
  fs::create_directories(top / "main.git" / "worktrees" / "wt");
  fs::create_directories(top / "wt");
  write_file(top / "wt" / ".git", "gitdir: ../main.git/worktrees/wt\n");
  write_file(top / "main.git" / "worktrees" / "wt" / "index.lock", "");
  auto backend = make_backend(GetParam());
  ASSERT_TRUE(backend);
  VcsLock lock;
  lock.open((top / "wt").string(), *backend);
  EXPECT_EQ(lock.repo_dir(), (top / "main.git" / "worktrees" / "wt").string());
  EXPECT_TRUE(lock.locked());
}

TEST_P(VcsLockTest, NoRepositoryIsNeverLocked) {
  TempDir dir;  // under /tmp: no repository above it on this machine's test runs
  auto backend = make_backend(GetParam());
  ASSERT_TRUE(backend);
  VcsLock lock;
  lock.open(dir.path().string(), *backend);
  if (!lock.repo_dir().empty()) GTEST_FAIL() << "a repository above the temp dir: " << lock.repo_dir();
  EXPECT_FALSE(lock.locked());
}

INSTANTIATE_TEST_SUITE_P(Watch, VcsLockTest, ::testing::Values(Kind::Inotify, Kind::Poll),
                         [](const auto& param_info) { return param_info.param == Kind::Inotify ? "Inotify" : "Poll"; });

class ExternalRulesTest : public ::testing::TestWithParam<Kind> {};

TEST_P(ExternalRulesTest, FileWhoseDirectoryAppearsLaterIsArmedThenReported) {
  TempDir dir;
  const fs::path file = dir / "info" / "exclude";
  auto backend = make_backend(GetParam());
  ASSERT_TRUE(backend);
  ExternalRulesFiles rules;
  rules.reset({file});
  std::vector<std::string> armed;
  rules.arm(*backend, armed);
  EXPECT_TRUE(armed.empty()) << "no directory yet";
  EXPECT_FALSE(rules.all_armed());
  fs::create_directory(dir / "info");
  rules.arm(*backend, armed);
  ASSERT_EQ(armed, std::vector<std::string>{file.string()});
  EXPECT_TRUE(rules.all_armed());
  write_file(dir / "info" / "other", "not ours");
  write_file(file, "*.log\n");
  std::vector<RawEvent> events;
  std::vector<std::string> changed;
  size_t applied = 0;
  ASSERT_TRUE(gather(*backend, events, [&] {
    for (; applied < events.size(); ++applied) rules.on_event(*backend, events[applied], changed);
    return !changed.empty();
  }));
  for (const auto& c : changed) EXPECT_EQ(c, file.string()) << "only the rules file itself";
}

INSTANTIATE_TEST_SUITE_P(Watch, ExternalRulesTest, ::testing::Values(Kind::Inotify, Kind::Poll),
                         [](const auto& param_info) { return param_info.param == Kind::Inotify ? "Inotify" : "Poll"; });

TEST(LinkDependents, ConfigMapStyleLinkDependsOnEveryHop) {
  TempDir dir;
  fs::create_directories(dir / "..2024_01_01");
  write_file(dir / "..2024_01_01" / "app.yaml", "a: 1");
  fs::create_directory_symlink("..2024_01_01", dir / "..data");
  fs::create_symlink("..data/app.yaml", dir / "app.yaml");
  const std::string root = dir.path().string();
  LinkDependents links;
  links.set_root(root, fs::canonical(dir.path()).string());
  links.track("app.yaml", root + "/app.yaml", root);
  EXPECT_EQ(links.dependents_of("..data"), std::vector<std::string>{"app.yaml"});
  EXPECT_EQ(links.dependents_of("..2024_01_01/app.yaml"), std::vector<std::string>{"app.yaml"});
  EXPECT_EQ(links.dependents_of("..2024_01_01"), std::vector<std::string>{"app.yaml"}) << "below a hop";
  EXPECT_TRUE(links.dependents_of("app.yaml").empty()) << "not its own dependent";
  EXPECT_TRUE(links.dependents_of("..data2").empty()) << "a prefix is not a parent";
  links.untrack("app.yaml");
  EXPECT_TRUE(links.empty());
}

TEST(LinkDependents, TargetOutsideTheRootIsNotTracked) {
  TempDir dir, elsewhere;
  write_file(elsewhere / "real.yaml", "a: 1");
  fs::create_symlink(elsewhere / "real.yaml", dir / "app.yaml");
  const std::string root = dir.path().string();
  LinkDependents links;
  links.set_root(root, fs::canonical(dir.path()).string());
  links.track("app.yaml", root + "/app.yaml", root);
  EXPECT_TRUE(links.empty());
}

TEST(FollowedDirs, NeverInsideAroundOrOverlappingAFollowedOne) {
  TempDir root, outside;
  fs::create_directories(outside / "lib" / "inner");
  fs::create_directories(root / "sub");
  fs::create_directory_symlink(outside / "lib", root / "lib");
  fs::create_directory_symlink(outside / "lib" / "inner", root / "inner");
  fs::create_directory_symlink(root / "sub", root / "loop_in");
  fs::create_directory_symlink(root.path().parent_path(), root / "loop_around");
  write_file(outside / "file", "");
  fs::create_symlink(outside / "file", root / "file");
  FollowedDirs followed;
  followed.set_root(fs::canonical(root.path()).string());
  const std::string lib = followed.target_of((root / "lib").string());
  EXPECT_EQ(lib, fs::canonical(outside / "lib").string());
  followed.add(lib);
  EXPECT_EQ(followed.target_of((root / "inner").string()), "") << "inside a followed one";
  EXPECT_EQ(followed.target_of((root / "loop_in").string()), "") << "inside the root";
  EXPECT_EQ(followed.target_of((root / "loop_around").string()), "") << "around the root";
  EXPECT_EQ(followed.target_of((root / "file").string()), "") << "not a directory";
  followed.remove(lib);
  EXPECT_NE(followed.target_of((root / "inner").string()), "");
}

}  // namespace
}  // namespace relive::watch::internal
