// --build and relive's standard input: what is typed (or piped) is the program's, so the
// build runs with /dev/null as its stdin — inheriting relive's would let it take the
// program's lines (and `rs`), and a build that reads stdin would never end.
#include <gtest/gtest.h>
#include <signal.h>

#include "run_test_util.hpp"

namespace relive::test {
namespace {

TEST(RunBuildInput, TheBuildReadsNothingOfRelivesInputAndTheProgramGetsIt) {
  TempDir dir, out;
  auto build_got = out / "build_stdin.txt";
  write_file(dir / "app.py",
             "import os, sys\n"
             "print(f'pid={os.getpid()}', flush=True)\n"
             "for line in sys.stdin:\n"
             "    print(f'line [{line.strip()}]', flush=True)\n"
             "import time; time.sleep(1000)\n");
  Process::Options po = in_dir(dir.path());
  po.stdin_pipe = true;
  // `cat` ends at once on /dev/null; on an inherited stdin it would wait for relive's.
  Process relive(relive_argv({"-w", "app.py", "--build", "cat > '" + build_got.string() + "'", "--", python3(),
                              "app.py"}),
                 po);
  relive.write_stdin("one\n");
  ASSERT_TRUE(relive.wait_for_output("line [one]", 20s)) << relive.output();
  EXPECT_EQ(read_file(build_got), "") << "the build read the program's input";
  relive.signal(SIGINT);
  EXPECT_EQ(relive.wait(20s), 130) << relive.output();
}

}  // namespace
}  // namespace relive::test
