// The README's `relive -- CMD` examples ("Use" → "Restart a program on change"), each run as
// written: the line is read from README.md and given to /bin/sh in a fresh directory that
// holds what the line names (app.py is the bundled examples/hello/app.py; app.js, main.go,
// main.c are the smallest such programs), with a fresh machine's PATH (Debian's default,
// behind the relive just built). Each must start its program and restart it on a save. A
// line that cannot run as written is a README bug: fix the line, not this test. node, go
// and cc are test prerequisites (scripts/install-deps); a missing one fails.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <map>
#include <memory>

#include "run_test_util.hpp"

namespace relive::test {
namespace {

// The example lines of the README's "Restart a program on change" block, as written.
std::vector<std::string> readme_lines() {
  std::ifstream in(source_dir() / "README.md");
  std::vector<std::string> lines;
  bool in_section = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("### ", 0) == 0) in_section = line.find("Restart a program on change") != std::string::npos;
    if (in_section && line.rfind("    relive ", 0) == 0) lines.push_back(line.substr(4));
  }
  return lines;
}

std::string readme_line(const std::string& key) {
  for (const auto& l : readme_lines())
    if (l.find(key) != std::string::npos) return l;
  ADD_FAILURE() << "no README example line contains \"" << key << "\"";
  return "";
}

// Each example: a line of the README (found by a part of it) and what it needs.
struct Example {
  std::string key;                                    // part of the README line
  std::map<std::string, std::string> files;           // what the line needs, by path
  std::string save_path;                              // a save that must restart
  std::string save_text;
};

// Each program prints "app-up <pid>" once it runs, then waits.
const char* kNodeApp = "console.log(`app-up ${process.pid}`);\nsetInterval(() => {}, 1 << 30);\n";
const char* kGoMod = "module example.com/app\n\ngo 1.19\n";
const char* kGoMain =
    "package main\n\nimport (\n\t\"fmt\"\n\t\"os\"\n\t\"time\"\n)\n\n"
    "func main() {\n\tfmt.Printf(\"app-up %d\\n\", os.Getpid())\n\tfor {\n\t\ttime.Sleep(time.Hour)\n\t}\n}\n";
const char* kCMain =
    "#include <stdio.h>\n#include <unistd.h>\n"
    "int main(void) { printf(\"app-up %d\\n\", (int)getpid()); fflush(stdout); for (;;) pause(); }\n";

std::vector<Example> examples() {
  std::string hello = read_file(source_dir() / "examples" / "hello" / "app.py");
  return {
      {"python3 app.py", {{"app.py", hello}}, "app.py", hello + "# saved\n"},
      {"-e js,json -- node app.js", {{"app.js", kNodeApp}, {"package.json", "{}\n"}}, "package.json", "{\"a\": 1}\n"},
      {"-e go --build", {{"go.mod", kGoMod}, {"main.go", kGoMain}}, "main.go", std::string(kGoMain) + "// saved\n"},
      {"-e c --build", {{"main.c", kCMain}}, "main.c", std::string(kCMain) + "/* saved */\n"},
      {"-w src -i '*.md' --json-events -", {{"app.js", kNodeApp}, {"src/lib.js", "1\n"}}, "src/lib.js", "2\n"},
  };
}

// How often the program said it runs: "app-up <pid>" from ours, hello/app.py its greeting.
size_t program_starts(const Process& relive) {
  return relive.count("app-up ") + relive.count("Hello from relive's example (pid ");
}

// The line given to /bin/sh in `dir` with a fresh machine's PATH (Debian's default, the relive
// just built first); "exec" so that relive is the process the test signals.
std::unique_ptr<Process> start_line(const std::string& line, const fs::path& dir) {
  Process::Options o = in_dir(dir);
  o.env = {"PATH=" + fs::path(relive_bin()).parent_path().string() +
           ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
  return std::make_unique<Process>(std::vector<std::string>{"/bin/sh", "-c", "exec " + line}, o);
}

void run_example(const Example& ex) {
  std::string line = readme_line(ex.key);
  ASSERT_FALSE(line.empty());
  TempDir dir;
  for (const auto& [path, text] : ex.files) {
    fs::create_directories((dir / path).parent_path());
    write_file(dir / path, text);
  }
  for (const char* tool : {"/usr/bin/node", "/usr/bin/go", "/usr/bin/cc"})
    ASSERT_TRUE(fs::exists(tool)) << tool << " is a test prerequisite (scripts/install-deps)";
  auto p = start_line(line, dir.path());
  Process& relive = *p;
  ASSERT_TRUE(eventually([&] { return program_starts(relive) >= 1; }, 60s)) << line << "\n" << relive.output();
  save_plain(dir / ex.save_path, ex.save_text);
  ASSERT_TRUE(eventually([&] { return program_starts(relive) >= 2; }, 60s)) << line << "\n" << relive.output();
  EXPECT_TRUE(relive.wait_for_output(ex.save_path + " changed")) << line << "\n" << relive.output();
  relive.signal(SIGINT);
  EXPECT_EQ(relive.wait(20s), 130) << line << "\n" << relive.output();
  EXPECT_EQ(program_starts(relive), 2u) << line << "\n" << relive.output();
}

TEST(ReadmeExamples, EveryLineIsTested) {
  auto lines = readme_lines();
  auto all = examples();
  EXPECT_EQ(lines.size(), all.size());
  for (const auto& l : lines) {
    bool covered = false;
    for (const auto& ex : all) covered = covered || l.find(ex.key) != std::string::npos;
    EXPECT_TRUE(covered) << "README example without a test here: " << l;
  }
}

TEST(ReadmeExamples, Python) { run_example(examples()[0]); }
TEST(ReadmeExamples, Node) { run_example(examples()[1]); }
TEST(ReadmeExamples, GoBuiltBinary) { run_example(examples()[2]); }
TEST(ReadmeExamples, CWithBuild) { run_example(examples()[3]); }

// The same line also writes its events as JSON lines to stdout, and a .md is not a change.
TEST(ReadmeExamples, NodeWithWatchIgnoreAndJsonEvents) {
  auto ex = examples()[4];
  std::string line = readme_line(ex.key);
  ASSERT_FALSE(line.empty());
  TempDir dir;
  for (const auto& [path, text] : ex.files) {
    fs::create_directories((dir / path).parent_path());
    write_file(dir / path, text);
  }
  auto p = start_line(line, dir.path());
  Process& relive = *p;
  ASSERT_TRUE(eventually([&] { return relive.count("\"event\":\"start\"") >= 1 && program_starts(relive) >= 1; }, 30s))
      << relive.output();
  save_plain(dir / "src" / "notes.md", "ignored\n");  // -i '*.md'
  save_plain(dir / "app.js", kNodeApp);               // outside -w src
  save_plain(dir / ex.save_path, ex.save_text);       // the one that counts
  ASSERT_TRUE(eventually([&] { return relive.count("\"event\":\"start\"") >= 2 && program_starts(relive) >= 2; }, 30s))
      << relive.output();
  EXPECT_TRUE(relive.wait_for_output("\"paths\":[\"src/lib.js\"],\"count\":1")) << relive.output();
  relive.signal(SIGINT);
  EXPECT_EQ(relive.wait(20s), 130) << relive.output();
  EXPECT_EQ(relive.count("\"event\":\"start\""), 2u) << relive.output();
}

}  // namespace
}  // namespace relive::test
