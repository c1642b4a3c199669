// relive::config measurements:
//  - save-to-visible latency: a 10 KB YAML file saved with each editor pattern; the time
//    from the start of the save until a reader's pin() shows the new value (median of 20
//    saves per pattern, reported as the counter median_ms; target <= 15 ms);
//  - read costs: Config::pin() + get, and Binding<T>::pin() + field read, against a plain
//    atomic pointer load (the floor), while a writer publishes ~1,000 versions a second.
// Run: build/bench/bench_config_reload --benchmark_repetitions=1
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "relive/config.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

struct Dir {
  Dir() {
    char tmpl[] = "/tmp/relive-bench-config-XXXXXX";
    path = fs::canonical(mkdtemp(tmpl));
  }
  ~Dir() { fs::remove_all(path); }
  fs::path path;
};

void write(const fs::path& p, const std::string& s) {
  std::ofstream out(p, std::ios::trunc | std::ios::binary);
  out << s;
}

std::string doc(int gen) {
  std::string s = "gen: " + std::to_string(gen) + "\n";
  for (int i = 0; s.size() < 10 * 1024; ++i) s += "key" + std::to_string(i) + ": \"" + std::string(60, 'v') + "\"\n";
  return s;
}

enum Pattern { Plain, Truncate, Vim, JetBrains, Sed, ConfigMap };

void save(Pattern p, const fs::path& dir, const std::string& content, int gen) {
  fs::path file = dir / "app.yaml";
  switch (p) {
    case Plain: write(file, content); break;
    case Truncate: write(file, ""); write(file, content); break;
    case Vim:
      write(dir / "4913", ""); fs::remove(dir / "4913");
      fs::rename(file, dir / "app.yaml~"); write(file, content); fs::remove(dir / "app.yaml~");
      break;
    case JetBrains:
      write(dir / "app.yaml___jb_tmp___", content);
      fs::rename(file, dir / "app.yaml___jb_old___");
      fs::rename(dir / "app.yaml___jb_tmp___", file);
      fs::remove(dir / "app.yaml___jb_old___");
      break;
    case Sed: write(dir / "sedX1", content); fs::rename(dir / "sedX1", file); break;
    case ConfigMap: {
      std::string next = "..g" + std::to_string(gen);
      fs::create_directory(dir / next);
      write(dir / next / "app.yaml", content);
      fs::create_directory_symlink(next, dir / "..data_tmp");
      fs::rename(dir / "..data_tmp", dir / "..data");
      fs::remove_all(dir / ("..g" + std::to_string(gen - 1)));
      break;
    }
  }
}

void BM_SaveToVisible(benchmark::State& state) {
  auto pattern = static_cast<Pattern>(state.range(0));
  spdlog::set_level(spdlog::level::warn);
  Dir dir;
  int gen = 0;
  if (pattern == ConfigMap) {
    fs::create_directory(dir.path / "..g0");
    write(dir.path / "..g0/app.yaml", doc(0));
    fs::create_directory_symlink("..g0", dir.path / "..data");
    fs::create_symlink("..data/app.yaml", dir.path / "app.yaml");
  } else {
    write(dir.path / "app.yaml", doc(0));
  }
  relive::config::Options o;
  o.sources = {relive::config::file(dir.path / "app.yaml")};
  auto cfg = relive::config::Config::open(std::move(o));
  if (!cfg) {
    state.SkipWithError(cfg.error().message.c_str());
    return;
  }
  std::vector<double> ms;
  for (auto _ : state) {
    ++gen;
    std::string content = doc(gen);
    auto t0 = std::chrono::steady_clock::now();
    save(pattern, dir.path, content, gen);
    auto deadline = t0 + 5s;
    while (cfg->pin()->get<int>("gen", -1) != gen && std::chrono::steady_clock::now() < deadline)
      std::this_thread::yield();
    auto dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    state.SetIterationTime(dt);
    ms.push_back(dt * 1e3);
    std::this_thread::sleep_for(30ms);  // saves are separate events, as a person makes them
  }
  std::sort(ms.begin(), ms.end());
  state.counters["median_ms"] = ms.empty() ? 0 : ms[ms.size() / 2];
  state.counters["max_ms"] = ms.empty() ? 0 : ms.back();
}
BENCHMARK(BM_SaveToVisible)->DenseRange(Plain, ConfigMap)->Iterations(20)->UseManualTime()->Unit(benchmark::kMillisecond);

// --- read costs -------------------------------------------------------------------------

struct Db {
  std::string host;
  int port = 0;
};
void from_config(const relive::config::Node& n, Db& db) {
  db.host = n.get("host", "");
  db.port = n.get("port", 0);
}

// A source whose content changes at every load, so that each reload() publishes.
class CounterSource : public relive::config::Source {
 public:
  std::string name() const override { return "counter"; }
  relive::Result<relive::config::Node> load() override {
    using relive::config::Node;
    Node root = Node::object();
    Node db = Node::object();
    db.set("host", Node::string("h"));
    db.set("port", Node::integer(1));
    root.set("db", std::move(db));
    root.set("n", Node::integer(++n_));
    return root;
  }
 private:
  std::int64_t n_ = 0;
};

struct Fixture {
  Fixture() {
    spdlog::set_level(spdlog::level::warn);
    relive::config::Options o;
    o.sources = {std::make_shared<CounterSource>()};
    o.watch = false;
    cfg.emplace(std::move(*relive::config::Config::open(std::move(o))));
    db.emplace(std::move(*cfg->bind<Db>("db")));
    writer = std::thread([this] {
      while (!stop) {  // ~1,000 published versions a second
        (void)cfg->reload();
        std::this_thread::sleep_for(1ms);
      }
    });
  }
  ~Fixture() {
    stop = true;
    writer.join();
  }
  std::optional<relive::config::Config> cfg;
  std::optional<relive::config::Binding<Db>> db;
  std::atomic<bool> stop{false};
  std::thread writer;
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

void BM_BindingPinRead(benchmark::State& state) {
  auto& f = fixture();
  for (auto _ : state) {
    auto d = f.db->pin();
    benchmark::DoNotOptimize(d->port);
  }
}
BENCHMARK(BM_BindingPinRead)->Threads(1)->Threads(2);

void BM_ConfigPinGet(benchmark::State& state) {
  auto& f = fixture();
  for (auto _ : state) {
    auto s = f.cfg->pin();
    benchmark::DoNotOptimize(s->get<int>("db.port", 0));
  }
}
BENCHMARK(BM_ConfigPinGet)->Threads(1)->Threads(2);

std::atomic<const Db*> g_plain{new Db{"h", 1}};
void BM_PlainPointerFloor(benchmark::State& state) {
  for (auto _ : state) {
    const Db* d = g_plain.load(std::memory_order_acquire);
    benchmark::DoNotOptimize(d->port);
  }
}
BENCHMARK(BM_PlainPointerFloor)->Threads(1)->Threads(2);

}  // namespace

BENCHMARK_MAIN();
