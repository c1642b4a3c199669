// Which changes count and how they are named to the program: RELIVE_CHANGED_PATHS and the
// JSON events' "paths" are one entry per change, never empty, relative to the current
// directory or absolute outside it (issue 11 defect 6) — after a watched directory is
// re-created, with two roots holding the same unicode name, for a root outside the current
// directory — and `-e .py` (defect 7's remaining spelling).
#include <gtest/gtest.h>
#include <signal.h>

#include <set>

#include "run_test_util.hpp"

namespace relive::test {
namespace {

bool has(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

// A child that appends one line per start to `log`: its RELIVE_CHANGED_PATHS with each
// newline as '|', between brackets (so that an empty entry shows as "||" or "[|" or "|]").
std::vector<std::string> paths_child(const fs::path& log) {
  return {"sh", "-c",
          "printf '[%s]\\n' \"$(printf '%s' \"$RELIVE_CHANGED_PATHS\" | tr '\\n' '|')\" >> '" + log.string() +
              "'; exec sleep 1000"};
}

std::vector<std::string> with_child(std::vector<std::string> args, const fs::path& log) {
  args.push_back("--");
  for (auto& a : paths_child(log)) args.push_back(a);
  return args;
}

// The entries of one logged start.
std::vector<std::string> entries(const std::string& line) {
  std::vector<std::string> out;
  std::string body = line.substr(1, line.size() - 2);
  if (body.empty()) return out;
  size_t start = 0;
  for (;;) {
    size_t bar = body.find('|', start);
    out.push_back(body.substr(start, bar == std::string::npos ? std::string::npos : bar - start));
    if (bar == std::string::npos) break;
    start = bar + 1;
  }
  return out;
}

// Checks every line of a --json-events file with Python's json module: valid JSON, each
// change event's "count" equal to its number of "paths", none empty. Prints, one line per
// change event, its paths joined by '|'; a problem as "BAD: ...".
std::string check_events(const fs::path& events) {
  std::string script =
      "import json, sys\n"
      "for line in open(sys.argv[1], encoding='utf-8'):\n"
      "    e = json.loads(line)\n"
      "    if 'paths' not in e: continue\n"
      "    if e.get('count') != len(e['paths']): print('BAD: count', line.strip())\n"
      "    if any(p == '' for p in e['paths']): print('BAD: empty path', line.strip())\n"
      "    print('|'.join(e['paths']))\n";
  TempDir t;
  write_file(t / "check.py", script);
  Process p({python3(), (t / "check.py").string(), events.string()});
  int status = p.wait(20s);
  p.wait_for_output("", 1s);
  EXPECT_EQ(status, 0) << p.output();
  return p.output();
}

void stop(Process& relive) {
  relive.signal(SIGINT);
  EXPECT_EQ(relive.wait(15s), 130) << relive.output();
}

TEST(RunChangedPaths, AReCreatedWatchedDirectoryGivesNoEmptyEntry) {
  TempDir dir, out;
  fs::create_directories(dir / "src");
  write_file(dir / "src" / "x.py", "0\n");
  auto log = out / "paths.log";
  auto events = out / "events.jsonl";
  Process relive(relive_argv(with_child({"-w", "src", "--json-events", events.string()}, log)), in_dir(dir.path()));
  ASSERT_TRUE(eventually([&] { return file_lines(log).size() == 1; }, 10s)) << relive.output();
  fs::remove_all(dir / "src");
  fs::create_directories(dir / "src");
  write_file(dir / "src" / "x.py", "1\n");
  // The removal and the re-creation: one restart or two, whatever the timing; then a save.
  ASSERT_TRUE(eventually(
      [&] {
        for (const auto& l : file_lines(log))
          if (has(l, "src/x.py")) return true;
        return false;
      },
      15s))
      << relive.output();
  size_t before = file_lines(log).size();
  save_plain(dir / "src" / "x.py", "2\n");
  ASSERT_TRUE(eventually([&] { return file_lines(log).size() > before; }, 15s)) << relive.output();
  stop(relive);
  auto lines = file_lines(log);
  for (size_t i = 1; i < lines.size(); ++i) {
    auto e = entries(lines[i]);
    EXPECT_FALSE(e.empty()) << lines[i];
    for (const auto& p : e) {
      EXPECT_FALSE(p.empty()) << "an empty entry: " << lines[i];
      EXPECT_TRUE(p == "src" || p.rfind("src/", 0) == 0) << p;
    }
  }
  EXPECT_EQ(entries(lines.back()), std::vector<std::string>{"src/x.py"}) << lines.back();
  auto checked = check_events(events);
  EXPECT_FALSE(has(checked, "BAD")) << checked << read_file(events);
}

TEST(RunChangedPaths, TwoRootsWithTheSameUnicodeNameGiveOnePathEach) {
  TempDir dir, out;
  const std::string name = "\xc3\xa9t\xc3\xa9-\xe6\x97\xa5\xe6\x9c\xac.py";  // "été-日本.py"
  for (auto sub : {"a", "b"}) {
    fs::create_directories(dir / sub);
    write_file(dir / sub / name, "0\n");
  }
  auto log = out / "paths.log";
  auto events = out / "events.jsonl";
  // --debounce: both saves are one batch, one restart.
  Process relive(relive_argv(with_child({"-w", "a", "-w", "b", "--debounce", "500ms", "--json-events", events.string()},
                                        log)),
                 in_dir(dir.path()));
  ASSERT_TRUE(eventually([&] { return file_lines(log).size() == 1; }, 10s)) << relive.output();
  save_plain(dir / "a" / name, "1\n");
  save_plain(dir / "b" / name, "1\n");
  ASSERT_TRUE(eventually(
      [&] {
        std::set<std::string> seen;
        for (const auto& l : file_lines(log))
          for (const auto& p : entries(l)) seen.insert(p);
        return seen.count("a/" + name) && seen.count("b/" + name);
      },
      15s))
      << relive.output() << read_file(log);
  stop(relive);
  auto lines = file_lines(log);
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(entries(lines[1]), (std::vector<std::string>{"a/" + name, "b/" + name})) << read_file(log);
  auto checked = check_events(events);
  EXPECT_FALSE(has(checked, "BAD")) << checked << read_file(events);
  EXPECT_TRUE(has(checked, "a/" + name + "|b/" + name)) << checked;
}

TEST(RunChangedPaths, ARootOutsideTheCurrentDirectoryIsNamedAbsolutely) {
  TempDir base, out;
  auto root = fs::canonical(base.path());
  fs::create_directories(root / "cwd");
  fs::create_directories(root / "other");
  fs::create_directories(root / "abs");
  write_file(root / "other" / "x.py", "0\n");
  write_file(root / "abs" / "y.py", "0\n");
  auto log = out / "paths.log";
  auto events = out / "events.jsonl";
  // One root given relative (../other), one absolute; neither is under the current directory.
  Process relive(relive_argv(with_child({"-w", "../other", "-w", (root / "abs").string(), "--json-events",
                                         events.string()},
                                        log)),
                 in_dir(root / "cwd"));
  ASSERT_TRUE(eventually([&] { return file_lines(log).size() == 1; }, 10s)) << relive.output();
  save_plain(root / "other" / "x.py", "1\n");
  ASSERT_TRUE(eventually([&] { return file_lines(log).size() == 2; }, 15s)) << relive.output();
  save_plain(root / "abs" / "y.py", "1\n");
  ASSERT_TRUE(eventually([&] { return file_lines(log).size() == 3; }, 15s)) << relive.output();
  stop(relive);
  auto lines = file_lines(log);
  EXPECT_EQ(entries(lines[1]), std::vector<std::string>{(root / "other" / "x.py").string()}) << read_file(log);
  EXPECT_EQ(entries(lines[2]), std::vector<std::string>{(root / "abs" / "y.py").string()}) << read_file(log);
  auto checked = check_events(events);
  EXPECT_FALSE(has(checked, "BAD")) << checked;
  EXPECT_TRUE(has(checked, (root / "other" / "x.py").string() + "\n")) << checked;
  EXPECT_TRUE(has(checked, (root / "abs" / "y.py").string() + "\n")) << checked;
  EXPECT_TRUE(has(relive.output(), (root / "other" / "x.py").string() + " changed, restarting")) << relive.output();
}

// `-e .py`: the leading dot is the extension's, not part of it.
TEST(RunChangedPaths, ExtsAcceptALeadingDot) {
  TempDir dir, out;
  auto log = out / "paths.log";
  Process relive(relive_argv(with_child({"-w", ".", "-e", ".py"}, log)), in_dir(dir.path()));
  ASSERT_TRUE(eventually([&] { return file_lines(log).size() == 1; }, 10s)) << relive.output();
  EXPECT_FALSE(has(relive.output(), "cannot match")) << relive.output();
  save_plain(dir / "notes.txt", "x");  // not a .py: no restart
  save_plain(dir / "a.py", "x");
  ASSERT_TRUE(eventually([&] { return file_lines(log).size() == 2; }, 15s)) << relive.output();
  save_plain(dir / "b.py", "x");
  ASSERT_TRUE(eventually([&] { return file_lines(log).size() == 3; }, 15s)) << relive.output();
  stop(relive);
  auto lines = file_lines(log);
  EXPECT_EQ(lines.size(), 3u) << read_file(log);
  EXPECT_EQ(entries(lines[1]), std::vector<std::string>{"a.py"}) << read_file(log);
  EXPECT_EQ(entries(lines[2]), std::vector<std::string>{"b.py"}) << read_file(log);
}

}  // namespace
}  // namespace relive::test
