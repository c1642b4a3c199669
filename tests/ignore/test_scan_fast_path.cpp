// ignored_entry(), the watcher's fast path for top-down scans, must agree with ignored()
// for every entry of a tree that a scan reaches (it never descends into ignored dirs).
#include <gtest/gtest.h>

#include <functional>
#include <random>

#include "ignore_test_util.hpp"

namespace relive::ignore {
namespace {
using namespace relive::test;
using testing::open_ok;

TEST(ScanFastPath, AgreesWithIgnoredOverAWholeTree) {
  TempDir t;
  std::mt19937 rng(7);
  const char* names[] = {"src", "build", "a.o", "b.c", "keep.o", "node_modules", "x.log", "gen", "lib", "t.swp"};
  std::function<void(const fs::path&, int)> fill = [&](const fs::path& dir, int depth) {
    for (const char* n : names) {
      if (rng() % 3 == 0) continue;
      if (depth < 3 && rng() % 2 == 0) {
        fs::create_directories(dir / n);
        fill(dir / n, depth + 1);
      } else {
        write_file(dir / n, "");
      }
    }
  };
  fill(t.path(), 0);
  write_file(t / ".gitignore", "*.o\n!keep.o\nbuild/\n/node_modules\n");
  write_file(t / "src/.gitignore", "!*.o\ngen/\n");
  write_file(t / "lib/.reloadignore", "\\.log$\n");
  Options o;
  o.excludes_file = "/nonexistent/relive-test";
  auto fast = open_ok(t.path(), o);
  auto full = open_ok(t.path(), o);
  size_t checked = 0, ignored = 0;
  std::function<void(const std::string&)> scan = [&](const std::string& rel_dir) {
    for (auto& e : fs::directory_iterator(rel_dir.empty() ? t.path() : t / rel_dir)) {
      std::string rel = rel_dir.empty() ? e.path().filename().string() : rel_dir + "/" + e.path().filename().string();
      bool is_dir = e.is_directory() && !e.is_symlink();
      bool a = fast->ignored_entry(rel, is_dir);
      EXPECT_EQ(a, full->ignored(rel, is_dir)) << rel;
      ++checked;
      if (a) {
        ++ignored;
        continue;
      }
      if (is_dir) scan(rel);
    }
  };
  scan("");
  EXPECT_GT(checked, 50u);
  EXPECT_GT(ignored, 5u);
}

}  // namespace
}  // namespace relive::ignore
