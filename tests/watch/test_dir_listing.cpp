// Reading a directory: the one reader (for_each_dir_entry) behind the tree's listings and
// the poll backend's snapshots, on a real temp directory.
#include <dirent.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <string>

#include "../../src/watch/poll_backend.hpp"
#include "../../src/watch/tree.hpp"
#include "test_support.hpp"

namespace relive::test {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

TEST(DirListing, ListsEveryEntryButDotAndDotDotWithItsType) {
  TempDir dir;
  write_file(dir / "a.txt", "a");
  write_file(dir / ".hidden", "h");
  fs::create_directory(dir / "sub");
  fs::create_symlink("a.txt", dir / "link");
  std::vector<watch::internal::DirEntry> entries;
  ASSERT_TRUE(watch::internal::list_dir(dir.path().string(), entries));
  std::map<std::string, unsigned char> types;
  for (const auto& e : entries) types[e.name] = e.type;
  EXPECT_THAT(types, ElementsAre(Pair(".hidden", DT_REG), Pair("a.txt", DT_REG), Pair("link", DT_LNK),
                                 Pair("sub", DT_DIR)));
}

TEST(DirListing, SnapshotStatsEachEntryAndSortsByName) {
  TempDir dir;
  write_file(dir / "b", "12345");
  fs::create_directory(dir / "a");
  watch::internal::PollSnapshot snapshot;
  ASSERT_TRUE(watch::internal::take_snapshot(dir.path().string(), snapshot));
  ASSERT_EQ(snapshot.entries.size(), 2u);
  EXPECT_EQ(snapshot.entries[0].name, "a");
  EXPECT_TRUE(snapshot.entries[0].is_dir);
  EXPECT_EQ(snapshot.entries[1].name, "b");
  EXPECT_EQ(snapshot.entries[1].size, 5);
  EXPECT_FALSE(snapshot.entries[1].is_dir);
}

TEST(DirListing, MissingDirectoryAndSymlinkToADirectoryAreNotListed) {
  TempDir dir;
  fs::create_directory(dir / "real");
  write_file(dir / "real" / "inside", "x");
  fs::create_directory_symlink("real", dir / "alias");
  int calls = 0;
  auto count = [&](int, const char*, unsigned char) { ++calls; };
  EXPECT_FALSE(watch::internal::for_each_dir_entry((dir / "missing").string(), count));
  EXPECT_FALSE(watch::internal::for_each_dir_entry((dir / "alias").string(), count))
      << "a symlinked directory is not followed";
  EXPECT_EQ(calls, 0);
  EXPECT_TRUE(watch::internal::for_each_dir_entry((dir / "real").string(), count));
  EXPECT_EQ(calls, 1);
  watch::internal::PollSnapshot snapshot;
  EXPECT_FALSE(watch::internal::take_snapshot((dir / "missing").string(), snapshot));
}

}  // namespace
}  // namespace relive::test
