// Every editor's save pattern is ONE batch naming the saved file, with its final state.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "watch_test_util.hpp"

namespace relive::watch::testing {
namespace {

using relive::test::TempDir;
using relive::test::write_file;

void write_all(int fd, std::string_view s) {
  ASSERT_EQ(::write(fd, s.data(), s.size()), static_cast<ssize_t>(s.size()));
}

void expect_only_modified(const std::optional<Batch>& b, const std::string& path) {
  ASSERT_TRUE(b);
  const PathChange* c = find(*b, path);
  ASSERT_NE(c, nullptr) << describe(*b);
  EXPECT_EQ(c->change, Change::Modified) << describe(*b);
  EXPECT_FALSE(b->rescan);
  // Temp files, probes and backups never show.
  for (const auto& other : b->changes) EXPECT_EQ(other.path, path) << describe(*b);
}

TEST(SavePatterns, PlainWrite) {
  TempDir dir;
  write_file(dir / "app.py", "v1\n");
  Collector w(dir.path());
  ASSERT_TRUE(w.ok()) << w.error();
  int fd = ::open((dir / "app.py").c_str(), O_WRONLY | O_APPEND);
  write_all(fd, "more\n");
  ::close(fd);
  expect_only_modified(w.exactly_one(), "app.py");
}

TEST(SavePatterns, TruncateThenWrite) {
  TempDir dir;
  write_file(dir / "app.py", "v1\n");
  Collector w(dir.path());
  ASSERT_TRUE(w.ok()) << w.error();
  int fd = ::open((dir / "app.py").c_str(), O_WRONLY | O_TRUNC);
  // A slow writer: the file is empty for a while, then written. Still one change, since
  // the file is open for writing until it is complete.
  std::this_thread::sleep_for(30ms);
  write_all(fd, "v2 line 1\n");
  std::this_thread::sleep_for(30ms);
  write_all(fd, "v2 line 2\n");
  ::close(fd);
  expect_only_modified(w.exactly_one(), "app.py");
}

TEST(SavePatterns, NewFileIsCreatedOnce) {
  TempDir dir;
  Collector w(dir.path());
  ASSERT_TRUE(w.ok()) << w.error();
  write_file(dir / "new.py", "x\n");  // IN_CREATE, IN_MODIFY, IN_CLOSE_WRITE
  auto b = w.exactly_one();
  ASSERT_TRUE(b);
  ASSERT_EQ(b->changes.size(), 1u) << describe(*b);
  EXPECT_EQ(b->changes[0].change, Change::Created);
  EXPECT_EQ(b->changes[0].path, "new.py");
  EXPECT_EQ(b->changes[0].full_path(), dir / "new.py");
}

// vim with `backup writebackup` and the default backupcopy=auto on a file it may rename:
// the exact system calls, in order.
TEST(SavePatterns, VimSaveSequence) {
  TempDir dir;
  write_file(dir / "app.py", "v1\n");
  Collector w(dir.path());
  ASSERT_TRUE(w.ok()) << w.error();
  // 1. Probe whether the directory allows creating a file with the same owner: "4913".
  int probe = ::open((dir / "4913").c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0100644);
  ASSERT_GE(probe, 0);
  ::fchown(probe, ::getuid(), ::getgid());
  ::close(probe);
  ::unlink((dir / "4913").c_str());
  // 2. Rename the original to the backup name, 3. write the new file, 4. drop the backup.
  ASSERT_EQ(::rename((dir / "app.py").c_str(), (dir / "app.py~").c_str()), 0);
  int fd = ::open((dir / "app.py").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0);
  write_all(fd, "v2\n");
  ::fsync(fd);
  ::close(fd);
  ::unlink((dir / "app.py~").c_str());
  expect_only_modified(w.exactly_one(), "app.py");
}

TEST(SavePatterns, RealVim) {
  if (::access("/usr/bin/vim", X_OK) != 0) FAIL() << "vim is not installed (scripts/install-deps)";
  TempDir dir;
  write_file(dir / "app.py", "v1\n");
  Collector w(dir.path());
  ASSERT_TRUE(w.ok()) << w.error();
  // Headless: -es (silent Ex mode), no vimrc, no viminfo, no swap file; backup by rename.
  ASSERT_EQ(run({"vim", "-es", "-u", "NONE", "-i", "NONE", "-n", "-N", "-c", "set backup writebackup backupcopy=no",
                 "-c", "call append(line('$'), 'v2')", "-c", "wq", "app.py"},
                dir.path()),
            0);
  ASSERT_EQ(relive::test::read_file(dir / "app.py"), "v1\nv2\n");
  expect_only_modified(w.exactly_one(), "app.py");
}

TEST(SavePatterns, JetBrainsSafeWrite) {
  TempDir dir;
  write_file(dir / "app.py", "v1\n");
  Collector w(dir.path());
  ASSERT_TRUE(w.ok()) << w.error();
  write_file(dir / "app.py___jb_tmp___", "v2\n");
  ASSERT_EQ(::rename((dir / "app.py").c_str(), (dir / "app.py___jb_old___").c_str()), 0);
  ASSERT_EQ(::rename((dir / "app.py___jb_tmp___").c_str(), (dir / "app.py").c_str()), 0);
  ASSERT_EQ(::unlink((dir / "app.py___jb_old___").c_str()), 0);
  expect_only_modified(w.exactly_one(), "app.py");
}

TEST(SavePatterns, RealSedInPlace) {
  TempDir dir;
  write_file(dir / "app.py", "value = 1\n");
  Collector w(dir.path());
  ASSERT_TRUE(w.ok()) << w.error();
  ASSERT_EQ(run({"sed", "-i", "s/1/2/", "app.py"}, dir.path()), 0);
  ASSERT_EQ(relive::test::read_file(dir / "app.py"), "value = 2\n");
  expect_only_modified(w.exactly_one(), "app.py");
}

// Kubernetes mounts a ConfigMap as: config.yaml -> ..data/config.yaml, ..data ->
// ..<timestamp>/ ; an update writes a new timestamped directory, points a new symlink at it
// and renames that over ..data, then removes the old directory.
TEST(SavePatterns, ConfigMapDataSwap) {
  TempDir dir;
  write_file(dir / "..2026_01_01_00_00_00.1" / "config.yaml", "v: 1\n");
  fs::create_directory_symlink("..2026_01_01_00_00_00.1", dir / "..data");
  fs::create_symlink("..data/config.yaml", dir / "config.yaml");
  Collector w(dir.path());
  ASSERT_TRUE(w.ok()) << w.error();

  write_file(dir / "..2026_01_01_00_00_00.2" / "config.yaml", "v: 2\n");
  fs::create_directory_symlink("..2026_01_01_00_00_00.2", dir / "..data_tmp");
  ASSERT_EQ(::rename((dir / "..data_tmp").c_str(), (dir / "..data").c_str()), 0);
  fs::remove_all(dir / "..2026_01_01_00_00_00.1");
  ASSERT_EQ(relive::test::read_file(dir / "config.yaml"), "v: 2\n");

  auto b = w.exactly_one();
  ASSERT_TRUE(b);
  const PathChange* c = find(*b, "config.yaml");
  ASSERT_NE(c, nullptr) << describe(*b);
  EXPECT_EQ(c->change, Change::Modified) << describe(*b);
}

// The same swap seen by a watcher whose root is the single file config.yaml.
TEST(SavePatterns, ConfigMapSwapWithFileRoot) {
  TempDir dir;
  write_file(dir / "..2026_01_01_00_00_00.1" / "config.yaml", "v: 1\n");
  fs::create_directory_symlink("..2026_01_01_00_00_00.1", dir / "..data");
  fs::create_symlink("..data/config.yaml", dir / "config.yaml");
  Collector w(dir / "config.yaml");
  ASSERT_TRUE(w.ok()) << w.error();
  write_file(dir / "unrelated.txt", "x");  // not the root: never reported

  write_file(dir / "..2026_01_01_00_00_00.2" / "config.yaml", "v: 2\n");
  fs::create_directory_symlink("..2026_01_01_00_00_00.2", dir / "..data_tmp");
  ASSERT_EQ(::rename((dir / "..data_tmp").c_str(), (dir / "..data").c_str()), 0);
  fs::remove_all(dir / "..2026_01_01_00_00_00.1");

  auto b = w.exactly_one();
  ASSERT_TRUE(b);
  ASSERT_EQ(b->changes.size(), 1u) << describe(*b);
  EXPECT_EQ(b->changes[0].path, "");
  EXPECT_EQ(b->changes[0].change, Change::Modified);
  EXPECT_EQ(b->changes[0].full_path(), dir / "config.yaml");
}

TEST(SavePatterns, SymlinkOutOfTreeIsNotFollowed) {
  TempDir outside;
  TempDir dir;
  write_file(outside / "lib" / "x.py", "1");
  fs::create_directory_symlink(outside / "lib", dir / "lib");
  Collector w(dir.path());
  ASSERT_TRUE(w.ok()) << w.error();
  EXPECT_EQ(w.watcher().watch_count(), 1u);  // the root only: lib/ is a symlink, not descended
  write_file(outside / "lib" / "x.py", "2");
  write_file(dir / "marker", "m");  // something in the tree, to know the watcher has caught up
  auto b = w.exactly_one();
  ASSERT_TRUE(b);
  EXPECT_EQ(find(*b, "lib/x.py"), nullptr) << describe(*b);
  EXPECT_NE(find(*b, "marker"), nullptr) << describe(*b);
}

}  // namespace
}  // namespace relive::watch::testing
