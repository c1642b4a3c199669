// What the Config watches: the directory of every source file and of every hop of a file
// that is a symlink (edited where it lives); one inotify watch per directory, never its
// subdirectories. And fork(): from inside a callback it does not deadlock, and a child
// starts the Config's threads only when it uses the Config.
#include <gtest/gtest.h>

#include <dirent.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "config_test_util.hpp"
#include "relive/ignore.hpp"
#include "relive/watch.hpp"
#include "../../src/config/internal.hpp"

// ThreadSanitizer refuses to start threads after a multi-threaded fork unless told not to
// (test_fork.cpp defines __tsan_default_options for this binary).

namespace relive::config {
namespace {

using namespace relive::config::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

Options watching(std::vector<std::shared_ptr<Source>> sources) {
  Options o;
  o.sources = std::move(sources);
  return o;
}

// Edits like `sed -i`: a temporary file in the same directory renamed over the target.
void sed_i(const fs::path& path, const std::string& from, const std::string& to) {
  Process sed({"sed", "-i", "s/" + from + "/" + to + "/", path.string()});
  ASSERT_EQ(sed.wait(10s), 0) << sed.output();
}

TEST(ConfigWatchScope, SymlinkToAnotherDirectoryIsWatchedWhereTheTargetLives) {
  TempDir app, shared;
  write_file(shared / "real.yaml", "n: 1\n");
  fs::create_symlink(shared / "real.yaml", app / "app.yaml");
  auto cfg = Config::open(watching({file(app / "app.yaml")}));
  ASSERT_TRUE(cfg) << cfg.error().message;
  sed_i(shared / "real.yaml", "n: 1", "n: 2");
  EXPECT_TRUE(eventually([&] { return cfg->get<int>("n", 0) == 2; }, 10s)) << "the target's edit was not seen";
}

TEST(ConfigWatchScope, EveryHopOfALinkChainIsWatched) {
  TempDir a, b, c;
  write_file(c / "real.yaml", "n: 1\n");
  fs::create_symlink(c / "real.yaml", b / "middle.yaml");
  fs::create_symlink((b / "middle.yaml").lexically_relative(a.path()), a / "app.yaml");  // a relative hop
  auto cfg = Config::open(watching({file(a / "app.yaml")}));
  ASSERT_TRUE(cfg) << cfg.error().message;
  sed_i(c / "real.yaml", "n: 1", "n: 2");
  ASSERT_TRUE(eventually([&] { return cfg->get<int>("n", 0) == 2; }, 10s)) << "the last hop's edit was not seen";
  // The middle hop re-pointed to a file in yet another directory: followed there too.
  TempDir d;
  write_file(d / "other.yaml", "n: 3\n");
  fs::remove(b / "middle.yaml");
  fs::create_symlink(d / "other.yaml", b / "middle.yaml");
  ASSERT_TRUE(eventually([&] { return cfg->get<int>("n", 0) == 3; }, 10s)) << "the re-pointed hop was not seen";
  sed_i(d / "other.yaml", "n: 3", "n: 4");
  EXPECT_TRUE(eventually([&] { return cfg->get<int>("n", 0) == 4; }, 10s)) << "the new target's edit was not seen";
}

// inotify watches this process holds: the "inotify wd:" lines of its inotify fds.
size_t inotify_watches() {
  size_t n = 0;
  for (const auto& e : fs::directory_iterator("/proc/self/fdinfo")) {
    std::ifstream in(e.path());
    for (std::string line; std::getline(in, line);)
      if (line.starts_with("inotify wd:")) ++n;
  }
  return n;
}

TEST(ConfigWatchScope, TheConfigDirectoryIsWatchedWithoutItsSubdirectories) {
  TempDir dir;
  write_file(dir / "app.yaml", "n: 1\n");
  for (int i = 0; i < 300; ++i) fs::create_directories(dir / ("sub" + std::to_string(i)) / "deeper");
  write_file(dir / "conf.d/10.yaml", "m: 1\n");
  for (int i = 0; i < 50; ++i) fs::create_directories(dir / "conf.d" / ("sub" + std::to_string(i)));
  size_t before = inotify_watches();
  auto cfg = Config::open(watching({file(dir / "app.yaml"), directory(dir / "conf.d")}));
  ASSERT_TRUE(cfg) << cfg.error().message;
  size_t used = inotify_watches() - before;
  EXPECT_EQ(used, 2u) << "one watch per directory of interest (the file's, the conf.d)";
  // And it still sees what it should.
  write_file(dir / "conf.d/20.yaml", "m: 2\n");
  EXPECT_TRUE(eventually([&] { return cfg->get<int>("m", 0) == 2; }, 10s));
}

// A file next to the config that is open for writing (the service's own log) must not hold
// back reloads: the watch engine holds a batch while a file *it watches* is being written,
// so the config's watch must cover only the config files. Asserted on what the Config hands
// the watch engine (deterministic, no timing): while the log is open and being written, its
// rules keep the log and every subdirectory out, and keep the config file in.
TEST(ConfigWatchScope, AFileBeingWrittenNextToTheConfigIsNotWatched) {
  TempDir dir;
  write_file(dir / "app.yaml", "n: 1\n");
  for (int i = 0; i < 900; ++i) fs::create_directories(dir / ("sub" + std::to_string(i)));
  std::ofstream log(dir / "app.log");
  log << "a log line\n" << std::flush;  // open for writing for the whole test
  auto plans = detail::watch_options_for(watching({file(dir / "app.yaml")}));
  ASSERT_EQ(plans.size(), 1u) << "one watch: the config file's directory";
  ASSERT_EQ(plans[0].roots.size(), 1u);
  EXPECT_EQ(plans[0].roots[0], dir.path());
  auto matcher = ignore::Matcher::open(dir.path(), plans[0].ignore);
  ASSERT_TRUE(matcher) << matcher.error().message;
  EXPECT_FALSE((*matcher)->ignored("app.yaml", false)) << "the config file itself must be watched";
  EXPECT_TRUE((*matcher)->ignored("app.log", false)) << "a file being written next to the config holds reloads";
  EXPECT_TRUE((*matcher)->ignored("sub7", true)) << "a subdirectory costs a watch and its files hold reloads";
  EXPECT_TRUE((*matcher)->ignored("app.yaml.tmp", false));
  // And the Config built from it still reloads while the log keeps being written.
  auto cfg = Config::open(watching({file(dir / "app.yaml")}));
  ASSERT_TRUE(cfg) << cfg.error().message;
  write_file(dir / "app.yaml", "n: 2\n");
  EXPECT_TRUE(eventually([&] {
    log << "another line\n" << std::flush;
    return cfg->get<int>("n", 0) == 2;
  }, 10s));
}

// The same, as behaviour: the watch engine holds a batch while a file it watches is being
// written, for up to max_delay. With the plan the Config hands the engine and max_delay
// raised to 30 s, an edit of the config arrives well within 10 s although app.log, next to
// it, keeps being written — a hold would take 30 s. The control: the same directory watched
// without the Config's rules does hold (nothing within 2 s), so the hold is real and this
// test would see it.
TEST(ConfigWatchScope, AnEditArrivesWhileALogNextToTheConfigIsBeingWritten) {
  TempDir dir;
  write_file(dir / "app.yaml", "n: 1\n");
  auto plans = detail::watch_options_for(watching({file(dir / "app.yaml")}));
  ASSERT_EQ(plans.size(), 1u);
  int edits = 0;
  auto run = [&](watch::Options plan, std::chrono::milliseconds wait) {
    plan.max_delay = 30s;
    auto w = watch::Watcher::open(std::move(plan));
    if (!w) {
      ADD_FAILURE() << w.error().message;
      return false;
    }
    std::atomic<bool> seen{false};
    (*w)->start([&](const watch::Batch& b) {
      for (const auto& c : b.changes)
        if (c.path == "app.yaml") seen = true;
    });
    std::ofstream log(dir / "app.log", std::ios::app);  // opened after the watch: its writes are events
    log << "a log line\n" << std::flush;
    write_file(dir / "app.yaml", "n: " + std::to_string(++edits + 1) + "\n");
    bool arrived = eventually([&] {
      log << "another line\n" << std::flush;  // still open, still being written
      return seen.load();
    }, wait);
    (*w)->stop();
    return arrived;
  };
  EXPECT_TRUE(run(plans[0], 10s)) << "the config's edit was held back by the log being written";

  watch::Options everything = plans[0];
  everything.ignore.globs.clear();  // the whole directory, as before the config's rules
  EXPECT_FALSE(run(everything, 2s)) << "control: without the rules the log's writes hold the batch";
}

// Number of threads of this process (/proc/self/status).
int thread_count() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("Threads:")) return std::atoi(line.c_str() + 8);
  return -1;
}

TEST(ConfigForkScope, ForkInsideACallbackDoesNotDeadlock) {
  TempDir dir;
  write_file(dir / "app.yaml", "n: 1\n");
  auto cfg = Config::open(watching({file(dir / "app.yaml")}));
  ASSERT_TRUE(cfg) << cfg.error().message;
  std::atomic<int> child_status{-1};
  auto sub = cfg->subscribe("n", [&](const Update&) {
    pid_t pid = ::fork();
    if (pid == 0) ::_exit(7);
    int status = 0;
    if (pid > 0 && ::waitpid(pid, &status, 0) == pid && WIFEXITED(status)) child_status = WEXITSTATUS(status);
  });
  write_file(dir / "app.yaml", "n: 2\n");
  if (!eventually([&] { return child_status.load() == 7; }, 20s)) {
    // The dispatcher is stuck in fork(): ~Config would wait for it forever.
    ADD_FAILURE() << "fork() inside a subscriber callback did not return";
    std::fflush(nullptr);
    std::_Exit(1);
  }
}

TEST(ConfigForkScope, ForkInsideAResourceFactoryDoesNotDeadlock) {
  TempDir dir;
  write_file(dir / "app.yaml", "db:\n  n: 1\n");
  auto cfg = Config::open(watching({file(dir / "app.yaml")}));
  ASSERT_TRUE(cfg) << cfg.error().message;
  std::atomic<int> forks{0};
  auto res = cfg->resource<int>("db", [&](const Node& n) {
    pid_t pid = ::fork();
    if (pid == 0) ::_exit(0);
    if (pid > 0) ::waitpid(pid, nullptr, 0);
    ++forks;
    return std::make_unique<int>(static_cast<int>(n.at("n").as_int()));
  });
  ASSERT_TRUE(res) << res.error().message;
  write_file(dir / "app.yaml", "db:\n  n: 2\n");  // rebuilt on the watch thread
  if (!eventually([&] { return *res->pin() == 2; }, 20s)) {
    ADD_FAILURE() << "fork() inside a resource factory did not return";
    std::fflush(nullptr);
    std::_Exit(1);
  }
  EXPECT_EQ(forks.load(), 2);
}

// Two threads fork at the same moment, one from inside a subscriber callback: neither may
// wait for the other. The callback waits (bounded) until the other thread is inside fork()
// — that is, its atfork handlers run — before it forks itself.
TEST(ConfigForkScope, TwoThreadsForkingAtOnceOneInsideACallbackDoNotDeadlock) {
  TempDir dir;
  write_file(dir / "app.yaml", "n: 1\n");
  auto cfg = Config::open(watching({file(dir / "app.yaml")}));
  ASSERT_TRUE(cfg) << cfg.error().message;
  std::atomic<bool> in_callback{false}, other_forking{false};
  std::atomic<int> callback_child{-1}, other_child{-1};
  auto fork_and_reap = [](std::atomic<int>& out) {
    pid_t pid = ::fork();
    if (pid == 0) ::_exit(7);
    int status = 0;
    if (pid > 0 && ::waitpid(pid, &status, 0) == pid && WIFEXITED(status)) out = WEXITSTATUS(status);
  };
  auto sub = cfg->subscribe("n", [&](const Update&) {
    in_callback = true;
    // The other thread announces itself just before fork(); give it time to get inside.
    for (int i = 0; i < 2000 && !other_forking.load(); ++i) std::this_thread::sleep_for(1ms);
    std::this_thread::sleep_for(50ms);
    fork_and_reap(callback_child);
  });
  std::thread other([&] {
    while (!in_callback.load()) std::this_thread::sleep_for(1ms);
    other_forking = true;
    fork_and_reap(other_child);
  });
  write_file(dir / "app.yaml", "n: 2\n");
  if (!eventually([&] { return callback_child.load() == 7 && other_child.load() == 7; }, 20s)) {
    ADD_FAILURE() << "two simultaneous fork() calls, one inside a callback, did not return (callback: "
                  << callback_child.load() << ", other thread: " << other_child.load() << ")";
    std::fflush(nullptr);
    std::_Exit(1);  // a watchdog: the stuck threads would block ~Config and the join forever
  }
  other.join();
}

TEST(ConfigForkScope, AChildStartsTheConfigThreadsOnlyWhenItUsesTheConfig) {
  TempDir dir;
  write_file(dir / "app.yaml", "n: 1\n");
  auto cfg = Config::open(watching({file(dir / "app.yaml")}));
  ASSERT_TRUE(cfg) << cfg.error().message;
  int ready[2], go[2];
  ASSERT_EQ(::pipe(ready), 0);
  ASSERT_EQ(::pipe(go), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int before_use = thread_count();  // 1: only this thread; the Config is merely marked
    int seen = cfg->get<int>("n", 0);  // first use: the watcher and dispatcher start
    int after_use = thread_count();
    char c = 'r';
    if (::write(ready[1], &c, 1) != 1 || ::read(go[0], &c, 1) != 1) ::_exit(10);
    bool reloaded = eventually([&] { return cfg->get<int>("n", 0) == 2; }, 10s);
    if (before_use != 1) ::_exit(20 + std::min(before_use, 9));
    if (seen != 1 || after_use < 2) ::_exit(3);
    ::_exit(reloaded ? 0 : 4);
  }
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  write_file(dir / "app.yaml", "n: 2\n");
  ASSERT_EQ(::write(go[1], &c, 1), 1);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "2x: the child had x threads before using the Config; 3: no threads after its "
                                       "first use; 4: the child did not reload";
  for (int fd : {ready[0], ready[1], go[0], go[1]}) ::close(fd);
  EXPECT_TRUE(eventually([&] { return cfg->get<int>("n", 0) == 2; }, 10s));  // the parent too
}

}  // namespace
}  // namespace relive::config
