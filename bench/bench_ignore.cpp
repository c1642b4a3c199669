// Cost of one ignore decision, as the watcher pays it during its initial scan of a big
// tree (ignored_entry, rules cached), for a random event path (ignored, with the ancestor
// walk), and cold (first meeting of every directory: its rules files are opened).
//
//   build/bench/bench_ignore --benchmark_counters_tabular=true
// items_per_second is decisions per second; ns/decision = 1e9 / items_per_second.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "relive/ignore.hpp"

namespace {
namespace fs = std::filesystem;

// A project-like tree: src/dNNN/ with 10 files each, a typical .gitignore at the top and
// one nested .gitignore, the built-in defaults on.
struct Fixture {
  fs::path root;
  std::vector<std::string> paths;  // the scan order: a directory, then its entries
  std::vector<bool> is_dir;

  explicit Fixture(int dirs) {
    std::string tmpl = (fs::temp_directory_path() / "relive-bench-ignore-XXXXXX").string();
    root = mkdtemp(tmpl.data());
    std::ofstream(root / ".gitignore") << "# build products\n*.o\n*.so\n*.a\n/build/\n/dist\nnode_modules/\n"
                                          "*.log\n!important.log\ncoverage/\n.env\n*.gen.*\ndocs/**/*.tmp\n";
    fs::create_directories(root / "src");
    std::ofstream(root / "src" / ".gitignore") << "*.orig\n";
    const char* files[] = {"main.cpp", "main.hpp", "util.cpp", "util.o", "README.md",
                           "data.json", "x.log", "notes.txt", "a.gen.h", "b.swp"};
    paths.push_back("src");
    is_dir.push_back(true);
    for (int d = 0; d < dirs; ++d) {
      std::string dir = "src/d" + std::to_string(d);
      fs::create_directory(root / dir);
      paths.push_back(dir);
      is_dir.push_back(true);
      for (const char* f : files) {
        paths.push_back(dir + "/" + f);
        is_dir.push_back(false);
      }
    }
  }
  ~Fixture() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
};

Fixture& fixture() {
  static Fixture f(1000);
  return f;
}

std::unique_ptr<relive::ignore::Matcher> open_matcher(const fs::path& root) {
  relive::ignore::Options o;
  o.excludes_file = "/nonexistent/relive-bench";
  auto m = relive::ignore::Matcher::open(root, o);
  if (!m) std::abort();
  return std::move(*m);
}

void BM_IgnoredEntry_ScanWarm(benchmark::State& state) {
  Fixture& f = fixture();
  auto m = open_matcher(f.root);
  for (size_t i = 0; i < f.paths.size(); ++i) m->ignored_entry(f.paths[i], f.is_dir[i]);  // cache rules
  size_t ignored = 0;
  for (auto _ : state) {
    for (size_t i = 0; i < f.paths.size(); ++i) ignored += m->ignored_entry(f.paths[i], f.is_dir[i]);
  }
  benchmark::DoNotOptimize(ignored);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(f.paths.size()));
}
BENCHMARK(BM_IgnoredEntry_ScanWarm)->Unit(benchmark::kMillisecond);

void BM_Ignored_WithAncestorWalk(benchmark::State& state) {
  Fixture& f = fixture();
  auto m = open_matcher(f.root);
  for (size_t i = 0; i < f.paths.size(); ++i) m->ignored(f.paths[i], f.is_dir[i]);
  size_t ignored = 0;
  for (auto _ : state) {
    for (size_t i = 0; i < f.paths.size(); ++i) ignored += m->ignored(f.paths[i], f.is_dir[i]);
  }
  benchmark::DoNotOptimize(ignored);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(f.paths.size()));
}
BENCHMARK(BM_Ignored_WithAncestorWalk)->Unit(benchmark::kMillisecond);

// A fresh Matcher each iteration: every directory is met for the first time, so its
// .gitignore and .reloadignore are looked for on disk (two failed open()s each).
void BM_IgnoredEntry_ScanCold(benchmark::State& state) {
  Fixture& f = fixture();
  size_t ignored = 0;
  for (auto _ : state) {
    auto m = open_matcher(f.root);
    for (size_t i = 0; i < f.paths.size(); ++i) ignored += m->ignored_entry(f.paths[i], f.is_dir[i]);
  }
  benchmark::DoNotOptimize(ignored);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(f.paths.size()));
}
BENCHMARK(BM_IgnoredEntry_ScanCold)->Unit(benchmark::kMillisecond);

// The floor: what the scan pays anyway per entry to look at its name (a hash of the path).
void BM_Floor_HashEachPath(benchmark::State& state) {
  Fixture& f = fixture();
  size_t h = 0;
  for (auto _ : state) {
    for (size_t i = 0; i < f.paths.size(); ++i) h += std::hash<std::string>{}(f.paths[i]);
  }
  benchmark::DoNotOptimize(h);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(f.paths.size()));
}
BENCHMARK(BM_Floor_HashEachPath)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
