// A bad rule in a nested `.reloadignore` while `relive -- CMD` runs: the one in the root
// stops relive before it starts (exit 2, tested elsewhere); one in a subdirectory — there at
// the start, or in a directory copied in later — is read when the watcher first meets the
// directory, and must reach the user's terminal as one warning naming file, line and problem,
// while relive keeps running (issue 10 §2 "Silent drops").
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>

#include "run_test_util.hpp"

namespace relive::test {
namespace {

constexpr const char* kBadRule = "(bad\n";

// The child records each start outside the watched tree.
std::vector<std::string> recording_child(const fs::path& starts) {
  return {"sh", "-c", "echo $$ >> '" + starts.string() + "'; exec sleep 1000"};
}

std::vector<std::string> args_for(const fs::path& starts) {
  std::vector<std::string> args = {"-w", "."};
  args.push_back("--");
  for (auto& a : recording_child(starts)) args.push_back(a);
  return args;
}

TEST(RunIgnoreErrors, ABadNestedReloadignoreAtTheStartIsOneWarning) {
  TempDir dir, out;
  fs::create_directories(dir / "sub");
  write_file(dir / "sub" / ".reloadignore", kBadRule);
  write_file(dir / "sub" / "a.py", "0\n");
  auto starts = out / "starts";
  Process relive(relive_argv(args_for(starts)), in_dir(dir.path()));
  const std::string warning = "sub/.reloadignore:1: invalid regular expression '(bad'";
  ASSERT_TRUE(relive.wait_for_output(warning)) << relive.output();
  ASSERT_TRUE(eventually([&] { return file_lines(starts).size() == 1; }, 10s)) << relive.output();
  // The problem is said (RE2's words for it), on a line of its own, by relive.
  EXPECT_TRUE(relive.wait_for_output("relive: " + warning + ": missing )")) << relive.output();
  // relive keeps running and restarts on a save (its batch handled: no second warning).
  save_plain(dir / "sub" / "a.py", "1\n");
  ASSERT_TRUE(eventually([&] { return file_lines(starts).size() == 2; }, 10s)) << relive.output();
  EXPECT_EQ(relive.count(warning), 1u) << relive.output();
  relive.signal(SIGINT);
  EXPECT_EQ(relive.wait(10s), 130) << relive.output();
}

TEST(RunIgnoreErrors, ADirectoryCopiedInWithABadReloadignoreIsOneWarning) {
  TempDir dir, out, staging;
  write_file(dir / "app.py", "0\n");
  fs::create_directories(staging / "plugin" / "deep");
  write_file(staging / "plugin" / "deep" / ".reloadignore", "ok\\.txt\n" + std::string(kBadRule));
  write_file(staging / "plugin" / "deep" / "b.py", "0\n");
  auto starts = out / "starts";
  Process relive(relive_argv(args_for(starts)), in_dir(dir.path()));
  ASSERT_TRUE(eventually([&] { return file_lines(starts).size() == 1; }, 10s)) << relive.output();
  std::string cp = "cp -r '" + (staging / "plugin").string() + "' '" + dir.path().string() + "/'";
  ASSERT_EQ(std::system(cp.c_str()), 0);
  const std::string warning = "plugin/deep/.reloadignore:2: invalid regular expression '(bad'";
  ASSERT_TRUE(relive.wait_for_output(warning)) << relive.output();
  ASSERT_TRUE(eventually([&] { return file_lines(starts).size() == 2; }, 10s)) << relive.output();
  // Still running: a later save restarts, and the warning is not repeated.
  save_plain(dir / "app.py", "1\n");
  ASSERT_TRUE(eventually([&] { return file_lines(starts).size() == 3; }, 10s)) << relive.output();
  EXPECT_EQ(relive.count(warning), 1u) << relive.output();
  relive.signal(SIGINT);
  EXPECT_EQ(relive.wait(10s), 130) << relive.output();
}

}  // namespace
}  // namespace relive::test
