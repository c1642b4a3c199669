// The coalescer on its own: the final state of each path, and when a batch is worth holding
// for a replace-on-save (has_gone_paths) — the hold that config's save-to-visible latency
// depends on, so it must not trigger for a directory removed with its files.
#include <gtest/gtest.h>

#include "../../src/watch/coalescer.hpp"

namespace relive::watch::internal {
namespace {

TEST(Coalescer, AFileRenamedAwayIsAGonePath) {
  Coalescer c;
  c.renamed(0, "app.py", "app.py~", false, false);  // vim: the original moved aside
  EXPECT_TRUE(c.has_gone_paths());
  c.created(0, "app.py", false);  // ...and written back
  c.removed(0, "app.py~", false);
  EXPECT_FALSE(c.has_gone_paths());
}

TEST(Coalescer, AFileRemovedWithItsDirectoryIsNotAGonePath) {
  Coalescer c;
  c.removed(0, "..2026_11_21/app.yaml", false);  // a ConfigMap's previous generation
  EXPECT_TRUE(c.has_gone_paths()) << "its directory is still there: this may be a save";
  c.removed(0, "..2026_11_21", true);
  EXPECT_FALSE(c.has_gone_paths());
}

TEST(Coalescer, ADeepTreeRemovedIsNotAGonePathButAFileBesideItIs) {
  Coalescer c;
  c.removed(0, "build/obj/a/x.o", false);
  c.removed(0, "build/obj/a", true);
  c.removed(0, "build/obj", true);
  c.removed(0, "build", true);
  EXPECT_FALSE(c.has_gone_paths());
  c.removed(0, "src/main.cpp", false);  // src/ itself is not gone
  EXPECT_TRUE(c.has_gone_paths());
}

TEST(Coalescer, SameNameInAnotherRootIsNotConfused) {
  Coalescer c;
  c.removed(0, "d/f", false);
  c.removed(1, "d", true);  // a different root's d/
  EXPECT_TRUE(c.has_gone_paths());
}

TEST(Coalescer, CreatedThenRemovedCancelsOut) {
  Coalescer c;
  c.created(0, "4913", false);
  c.removed(0, "4913", false);
  EXPECT_FALSE(c.has_gone_paths());
  Batch b = c.take({"/r"});
  EXPECT_TRUE(b.changes.empty());
}

}  // namespace
}  // namespace relive::watch::internal
