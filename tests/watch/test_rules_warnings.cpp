// Problems in rules files the watcher reads lazily — a subdirectory's .reloadignore, at the
// start or in a directory that appears later — are warnings (Options::on_warning), each
// file's once; the same file's later reload shares that "once".
#include <gtest/gtest.h>

#include <algorithm>

#include "watch_test_util.hpp"

namespace relive::watch::testing {
namespace {

using relive::test::TempDir;
using relive::test::write_file;

size_t count_containing(const std::vector<std::string>& warnings, const std::string& needle) {
  return static_cast<size_t>(std::count_if(warnings.begin(), warnings.end(),
                                           [&](const std::string& w) { return w.find(needle) != std::string::npos; }));
}

// Waits (up to 10 s) for a batch that names `path` in any way, or a rescan: after a rules
// file's event the watcher reconciles the tree, which may report a file created meanwhile
// as part of that reconcile rather than as its own Created.
bool until_seen(Collector& c, const std::string& path) {
  for (;;) {
    auto b = c.next(10s);
    if (!b) return false;
    if (b->rescan || find(*b, path)) return true;
  }
}

std::string all(const std::vector<std::string>& warnings) {
  std::string s;
  for (const auto& w : warnings) s += w + "\n";
  return s;
}

TEST(RulesWarnings, ABadNestedReloadignoreAtTheStartIsWarnedOnce) {
  TempDir dir;
  write_file(dir / "sub/.reloadignore", "\\.log$\n(bad\n");
  Collector c(dir.path());
  ASSERT_TRUE(c.ok()) << c.error();
  // open() has scanned the tree: the warning is there before any event.
  auto w = c.warnings();
  ASSERT_EQ(w.size(), 1u) << all(w);
  EXPECT_EQ(w[0].rfind("sub/.reloadignore:2: invalid regular expression '(bad': missing )", 0), 0u) << w[0];
  // The file's valid lines apply; a change in the directory is no reason to say it again.
  write_file(dir / "sub/x.log", "x");
  write_file(dir / "sub/a.py", "x");
  auto seen = c.until("sub/a.py", Change::Created);
  for (const auto& b : seen) EXPECT_EQ(find(b, "sub/x.log"), nullptr) << describe(b);
  EXPECT_EQ(c.warnings().size(), 1u) << all(c.warnings());
}

TEST(RulesWarnings, ADirectoryThatAppearsWithABadReloadignoreIsWarnedOnceAndAgainAfterAFix) {
  TempDir dir, staging;
  write_file(staging / "plugin/deep/.reloadignore", "(bad\n");
  write_file(staging / "plugin/deep/b.py", "0\n");
  Collector c(dir.path());
  ASSERT_TRUE(c.ok()) << c.error();
  ASSERT_TRUE(c.warnings().empty()) << all(c.warnings());
  fs::copy(staging / "plugin", dir / "plugin", fs::copy_options::recursive);
  const std::string bad = "plugin/deep/.reloadignore:1: invalid regular expression '(bad'";
  ASSERT_TRUE(relive::test::eventually([&] { return count_containing(c.warnings(), bad) >= 1; }, 10s))
      << all(c.warnings());
  c.until("plugin/deep/b.py", Change::Created);
  // An event for the file itself reloads it: the same problem, not a second warning. (A
  // touch: a rewrite could be read between its truncation and its write, an empty file.)
  fs::last_write_time(dir / "plugin/deep/.reloadignore", fs::file_time_type::clock::now());
  write_file(dir / "sentinel.py", "x");
  ASSERT_TRUE(until_seen(c, "sentinel.py")) << all(c.warnings());
  EXPECT_EQ(count_containing(c.warnings(), bad), 1u) << all(c.warnings());
  // Fixed, then broken again: a new problem, said again.
  write_file(dir / "plugin/deep/.reloadignore", "ok\n");
  write_file(dir / "sentinel2.py", "x");
  ASSERT_TRUE(until_seen(c, "sentinel2.py")) << all(c.warnings());
  write_file(dir / "plugin/deep/.reloadignore", "(bad\n");
  ASSERT_TRUE(relive::test::eventually([&] { return count_containing(c.warnings(), bad) == 2; }, 10s))
      << all(c.warnings());
}

}  // namespace
}  // namespace relive::watch::testing
