// Hostile configuration files: each is rejected with one line naming file:line:column and
// what is wrong, and under live reload the last good version keeps serving. None of them
// may crash, stall or bloat the process.
#include <gtest/gtest.h>

#include <malloc.h>
#include <pthread.h>

#include <algorithm>
#include <functional>
#include <new>

#include "sanitizers.hpp"  // RELIVE_TEST_ASAN: whether the allocator is ASan's
#if RELIVE_TEST_ASAN
#include <sanitizer/allocator_interface.h>
#endif

#include "config_test_util.hpp"

namespace hostile_app {
// A converter that throws something that is not a std::exception (`throw 42`).
struct Mode {
  std::string name;
};
void from_config(const relive::config::Node& n, Mode& m) {
  m.name = n.get("name", std::string("normal"));
  if (m.name == "int-binding") throw 42;
}
}  // namespace hostile_app

namespace relive::config {
namespace {

using namespace relive::config::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::string repeat(std::string_view s, size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

std::string error_of(std::string_view text, Format f, const std::string& name, const Limits& limits = {}) {
  auto r = parse(text, f, name, limits);
  return r ? std::string("(parsed)") : r.error().message;
}

// --- nesting ----------------------------------------------------------------------------

TEST(ConfigHostile, DeepJsonStopsAtTheNestingLimit) {
  std::string deep = repeat("[", 50000) + repeat("]", 50000);
  EXPECT_EQ(error_of(deep, Format::Json, "deep.json"), "deep.json:1:257: nesting deeper than 256 levels");
  std::string objects = repeat("{\"a\":", 50000) + "1" + repeat("}", 50000);
  EXPECT_EQ(error_of(objects, Format::Json, "deep.json"), "deep.json:1:1281: nesting deeper than 256 levels");
}

TEST(ConfigHostile, DeepYamlStopsAtTheNestingLimit) {
  std::string flow = "a: " + repeat("[", 50000) + repeat("]", 50000) + "\n";
  EXPECT_EQ(error_of(flow, Format::Yaml, "deep.yaml"), "deep.yaml:1:259: nesting deeper than 256 levels");
  std::string block;  // a:\n b:\n  c: ... one level per line
  for (int i = 0; i < 3000; ++i) block += std::string(static_cast<size_t>(i), ' ') + "k:\n";
  EXPECT_EQ(error_of(block, Format::Yaml, "block.yaml"), "block.yaml:257:257: nesting deeper than 256 levels");
}

TEST(ConfigHostile, DeepTomlStopsAtTheNestingLimit) {
  std::string arrays = "a = " + repeat("[", 50000) + repeat("]", 50000) + "\n";
  EXPECT_EQ(error_of(arrays, Format::Toml, "deep.toml"), "deep.toml:1:261: nesting deeper than 256 levels");
  std::string dotted = repeat("k.", 5000) + "k = 1\n";  // tables nested by a dotted key
  EXPECT_EQ(error_of(dotted, Format::Toml, "dotted.toml"), "dotted.toml:1:10003: nesting deeper than 256 levels");
  std::string header = "[" + repeat("t.", 300) + "t]\nk = 1\n";
  EXPECT_EQ(error_of(header, Format::Toml, "header.toml"), "header.toml:1:603: nesting deeper than 256 levels");
  std::string both = "[" + repeat("t.", 200) + "t]\n" + repeat("k.", 100) + "k = 1\n";  // 201 + 101 levels
  EXPECT_EQ(error_of(both, Format::Toml, "both.toml"), "both.toml:2:203: nesting deeper than 256 levels");
}

TEST(ConfigHostile, NestingLimitIsConfigurable) {
  Limits l;
  l.max_depth = 3;
  EXPECT_TRUE(parse("{\"a\": {\"b\": [1]}}", Format::Json, "ok.json", l));
  EXPECT_EQ(error_of("{\"a\": {\"b\": [[1]]}}", Format::Json, "x.json", l), "x.json:1:14: nesting deeper than 3 levels");
  EXPECT_EQ(error_of("a:\n  b:\n    c:\n      d: 1\n", Format::Yaml, "x.yaml", l),
            "x.yaml:4:7: nesting deeper than 3 levels");
  l.max_depth = 1000;
  std::string deep = repeat("[", 900) + repeat("]", 900);
  EXPECT_TRUE(parse("{\"a\": " + deep + "}", Format::Json, "ok.json", l));
}

TEST(ConfigHostile, DeepFileUnderLiveReloadKeepsTheLastGoodVersion) {
  TempDir dir;
  write_file(dir / "app.json", "{\"a\": 1}");
  auto cfg = Config::open(manual({file(dir / "app.json")}));
  ASSERT_TRUE(cfg) << cfg.error().message;
  write_file(dir / "app.json", repeat("[", 50000) + repeat("]", 50000));
  auto r = cfg->reload();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("app.json:1:257: nesting deeper than 256 levels"), std::string::npos)
      << r.error().message;
  EXPECT_EQ(cfg->get<int>("a", 0), 1);
}

TEST(ConfigHostile, ConfigCheckOfADeepFileExitsWithTheMessage) {
  TempDir dir;
  write_file(dir / "deep.json", repeat("[", 50000) + repeat("]", 50000) + "\n");
  ASSERT_TRUE(fs::exists(relive_bin())) << "relive is not built: " << relive_bin();
  Process p({relive_bin(), "config", "check", (dir / "deep.json").string()});
  int status = p.wait(std::chrono::seconds(20));
  EXPECT_NE(status, 0) << p.output();
  EXPECT_LT(status, 128) << "killed by a signal: " << p.output();
  EXPECT_NE(p.output().find("deep.json:1:257: nesting deeper than 256 levels"), std::string::npos) << p.output();
}

// --- aliases ----------------------------------------------------------------------------

// Nine levels of nine aliases each: 9^9 (387 million) leaves if expanded.
std::string alias_bomb() {
  std::string y = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n";
  for (char c = 'b'; c <= 'i'; ++c) {
    std::string prev(1, static_cast<char>(c - 1));
    y += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 9; ++i) y += (i ? ",*" : "*") + prev;
    y += "]\n";
  }
  return y;
}

TEST(ConfigHostile, YamlAliasBombIsRejectedNamingTheLine) {
  std::string m = error_of(alias_bomb(), Format::Yaml, "bomb.yaml");
  // Line 6 ("f") is where the expansion first passes 100000 nodes: the aliases of lines 2-5
  // make 90 + 819 + 7380 + 66429 = 74718 nodes, and the first *e on line 6 (column 8) adds
  // another 66430 (each *e is the 66430-node array of line 5).
  EXPECT_TRUE(m.starts_with("bomb.yaml:6:8: alias *e (anchored on line 5) expands the file past the limit of "
                            "100000 nodes"))
      << m;
}

// Few nodes, long strings: the byte limit catches what the node limit cannot (21 nodes of
// 1 MiB each would be 21 MiB made from a 1 MiB file).
TEST(ConfigHostile, AliasByteLimitStopsFewNodesWithLongStrings) {
  std::string y = "s: &s \"" + std::string(1 << 20, 'x') + "\"\nlist: [*s";
  for (int i = 1; i < 20; ++i) y += ", *s";
  y += "]\n";
  std::string m = error_of(y, Format::Yaml, "long.yaml");
  // 1 MiB per alias: the 17th passes 16 MiB, at column 8 + 4 * 16.
  EXPECT_TRUE(m.starts_with("long.yaml:2:72: alias *s (anchored on line 1) expands the file past the limit of "
                            "100000 nodes / 16777216 bytes"))
      << m.substr(0, 300);

  Limits l;
  l.max_alias_bytes = 1000;  // few nodes, well under max_alias_nodes
  std::string small = "s: &s \"" + std::string(300, 'y') + "\"\nlist: [*s, *s, *s, *s]\n";
  EXPECT_TRUE(error_of(small, Format::Yaml, "small.yaml", l).starts_with("small.yaml:2:20: alias *s"))
      << error_of(small, Format::Yaml, "small.yaml", l).substr(0, 300);
  l.max_alias_bytes = 4000;
  EXPECT_TRUE(parse(small, Format::Yaml, "small.yaml", l));
}

TEST(ConfigHostile, AliasLimitsAreConfigurableAndOrdinaryAliasesWork) {
  std::string y = "base: &b {host: h, port: 1}\none: *b\ntwo: *b\n";
  auto ok = parse(y, Format::Yaml, "ok.yaml");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->at("two.host").as_string(), "h");
  EXPECT_EQ(ok->at("two.host").key(), "two.host");
  Limits l;
  l.max_alias_nodes = 4;
  EXPECT_EQ(error_of(y, Format::Yaml, "x.yaml", l).substr(0, 14), "x.yaml:3:6: al") << error_of(y, Format::Yaml, "x.yaml", l);
}

TEST(ConfigHostile, AliasBombUnderLiveReloadKeepsTheLastGoodVersion) {
  TempDir dir;
  write_file(dir / "app.yaml", "a: 1\n");
  auto cfg = Config::open(manual({file(dir / "app.yaml")}));
  ASSERT_TRUE(cfg) << cfg.error().message;
  write_file(dir / "app.yaml", alias_bomb());
  auto r = cfg->reload();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("app.yaml:"), std::string::npos) << r.error().message;
  EXPECT_EQ(cfg->get<int>("a", 0), 1);
  EXPECT_EQ(cfg->version(), 1u);
}

// A source whose load() throws: the reload fails with the source's name, nothing escapes.
class ThrowingSource : public Source {
 public:
  std::string name() const override { return "flaky"; }
  Result<Node> load() override {
    if (++calls_ > 1) throw std::bad_alloc();
    Node n = Node::object();
    n.set("a", Node::integer(1));
    return n;
  }
 private:
  int calls_ = 0;
};

TEST(ConfigHostile, AnExceptionFromLoadIsAnErrorNamingTheSource) {
  auto cfg = Config::open(manual({std::make_shared<ThrowingSource>()}));
  ASSERT_TRUE(cfg) << cfg.error().message;
  auto r = cfg->reload();
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().message.starts_with("flaky: loading failed: ")) << r.error().message;
  EXPECT_EQ(cfg->get<int>("a", 0), 1);
  EXPECT_NE(cfg->status().error.value_or("").find("flaky"), std::string::npos);
}

// --- exceptions that are not std::exception ---------------------------------------------

// `throw 42` from a validator, a binding's converter or a resource factory, on the watch
// thread: before, only std::exception was caught there and the process terminated. Each is
// now this version's error (naming the key, or the validator), and the last good version
// keeps serving.
TEST(ConfigHostile, ANonStdExceptionUnderLiveReloadIsAnErrorAndTheProcessLives) {
  TempDir dir;
  auto path = dir / "app.yaml";
  write_file(path, "mode:\n  name: normal\ndb:\n  host: a\n");
  Options o;
  o.sources = {file(path)};
  o.validators.push_back([](const Snapshot& s) -> Result<void> {
    if (s.get("mode.name", "") == "int-validator") throw 42;
    return {};
  });
  auto cfg = Config::open(std::move(o));
  ASSERT_TRUE(cfg) << cfg.error().message;
  auto mode = cfg->bind<hostile_app::Mode>("mode");
  ASSERT_TRUE(mode) << mode.error().message;
  auto pool = cfg->resource<std::string>("db", [](const Node& n) {
    if (n.at("host").as_string() == "int-factory") throw 42;
    return std::make_unique<std::string>(n.at("host").as_string());
  });
  ASSERT_TRUE(pool) << pool.error().message;
  // The first build too: an Error, not an exception out of resource().
  auto thrower = cfg->resource<std::string>("db", [](const Node&) -> std::unique_ptr<std::string> { throw 42; });
  ASSERT_FALSE(thrower);
  EXPECT_EQ(thrower.error().message, "db: building the resource failed: unknown exception (not a std::exception)");

  std::uint64_t good = cfg->version();
  auto error_contains = [&](const std::string& part) {
    auto e = cfg->status().error;
    return e && e->find(part) != std::string::npos;
  };
  struct Case {
    std::string yaml, expected;
  };
  for (const Case& c : {
           Case{"mode:\n  name: int-validator\ndb:\n  host: a\n",
                "rejected by a validator: unknown exception (not a std::exception)"},
           Case{"mode:\n  name: int-binding\ndb:\n  host: a\n", "mode: unknown exception (not a std::exception)"},
           Case{"mode:\n  name: normal\ndb:\n  host: int-factory\n",
                "db: rebuilding the resource failed: unknown exception (not a std::exception)"},
       }) {
    SCOPED_TRACE(c.expected);
    write_file(path, c.yaml);
    ASSERT_TRUE(eventually([&] { return error_contains(c.expected); }, 10s)) << cfg->status().error.value_or("(none)");
    EXPECT_EQ(cfg->version(), good);
    EXPECT_EQ(mode->pin()->name, "normal");
    EXPECT_EQ(*pool->pin(), "a");
    // A good edit recovers: the watch thread is still running.
    write_file(path, "mode:\n  name: normal\ndb:\n  host: a\nn: " + std::to_string(good) + "\n");
    ASSERT_TRUE(eventually([&] { return cfg->version() == good + 1 && !cfg->status().error; }, 10s))
        << cfg->status().error.value_or("(none)");
    good = cfg->version();
  }
}

// --- size -------------------------------------------------------------------------------

TEST(ConfigHostile, FileLargerThanTheLimitIsRejected) {
  TempDir dir;
  write_file(dir / "big.yaml", "a: \"" + std::string(5000, 'x') + "\"\n");
  Limits l;
  l.max_file_bytes = 4096;
  auto r = Config::load(manual({file(dir / "big.yaml", Format::Auto, l)}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, (dir / "big.yaml").string() + ": 5006 bytes, more than the limit of 4096 (Limits::max_file_bytes)");
  EXPECT_TRUE(Config::load(manual({file(dir / "big.yaml")})));
}

TEST(ConfigHostile, ManyKeysLoadAndAreFound) {
  std::string y, j = "{", t;
  for (int i = 0; i < 50000; ++i) {
    y += "key" + std::to_string(i) + ": " + std::to_string(i) + "\n";
    j += std::string(i ? "," : "") + "\"key" + std::to_string(i) + "\":" + std::to_string(i);
    t += "key" + std::to_string(i) + " = " + std::to_string(i) + "\n";
  }
  j += "}";
  for (auto [text, f] : {std::pair{y, Format::Yaml}, {j, Format::Json}, {t, Format::Toml}}) {
    auto n = parse(text, f, "many");
    ASSERT_TRUE(n) << n.error().message;
    EXPECT_EQ(n->size(), 50000u);
    EXPECT_EQ(n->at("key49999").as_int(), 49999);
    EXPECT_EQ(n->at("key123").key(), "key123");
  }
}

TEST(ConfigHostile, KeysOfDeepNodesAreDerived) {
  std::string y;
  for (int i = 0; i < 200; ++i) y += std::string(static_cast<size_t>(i), ' ') + "k" + std::to_string(i) + ":\n";
  y += std::string(200, ' ') + "leaf: 1\n";
  auto n = parse(y, Format::Yaml, "deep.yaml");
  ASSERT_TRUE(n) << n.error().message;
  std::string key;
  for (int i = 0; i < 200; ++i) key += "k" + std::to_string(i) + ".";
  key += "leaf";
  ASSERT_NE(n->find(key), nullptr);
  EXPECT_EQ(n->find(key)->key(), key);
  EXPECT_EQ(n->find(key)->name(), "leaf");
}

// Live heap bytes: what the allocator has handed out and not got back. Under ASan that is
// its own allocator's count (mallinfo2 does not see it, and RSS there holds the quarantine
// and the shadow); otherwise glibc's.
std::size_t heap_in_use() {
#if RELIVE_TEST_ASAN
  return __sanitizer_get_current_allocated_bytes();
#else
  return mallinfo2().uordblks + mallinfo2().hblkhd;
#endif
}

// Memory linear in depth: a node stores its own name, the dotted key is derived. When every
// node stored its full key, a 60 KB file nested 30,000 deep held ~2.7 GB of keys (the sum of
// 30,000 keys of up to 60,000 characters); now it is a few MB. 50 MB separates the two by a
// factor of 50 either way.
//
// Run on a thread with a 512 MB stack: freeing (and copying) a tree recurses once per level
// — bounded by max_depth, which this test raises to 40,000 — and under ASan 30,000 levels of
// ~Node overflow the main thread's 8 MB. Only the touched part of that stack is ever mapped.
void on_deep_stack(const std::function<void()>& body) {
  pthread_attr_t attr;
  ASSERT_EQ(pthread_attr_init(&attr), 0);
  ASSERT_EQ(pthread_attr_setstacksize(&attr, std::size_t{512} << 20), 0);
  pthread_t thread;
  auto run = [](void* arg) -> void* {
    (*static_cast<const std::function<void()>*>(arg))();
    return nullptr;
  };
  ASSERT_EQ(pthread_create(&thread, &attr, run, const_cast<std::function<void()>*>(&body)), 0);
  pthread_attr_destroy(&attr);
  ASSERT_EQ(pthread_join(thread, nullptr), 0);
}

TEST(ConfigHostile, MemoryOfADeepFileIsLinearInItsDepth) {
  constexpr int kDepth = 30000;
  Limits l;
  l.max_depth = 40000;
  // Under a top-level key: YAML block sequences (60 KB), and JSON objects (the mappings:
  // YAML's only compact nesting of mappings is flow style, which libyaml's scanner takes
  // quadratic time over — 28 s for this depth — outside relive's code).
  const std::string sequence = "a:\n  " + repeat("- ", kDepth) + "1\n";
  const std::string mapping = "{\"a\": " + repeat("{\"a\": ", kDepth) + "1" + repeat("}", kDepth) + "}";
  for (auto [text, format] : {std::pair{&sequence, Format::Yaml}, std::pair{&mapping, Format::Json}}) {
    const std::size_t before = heap_in_use();
    on_deep_stack([&, text = text, format = format] {
      auto n = parse(*text, format, "deep", l);
      ASSERT_TRUE(n) << n.error().message;
      const std::size_t grown = heap_in_use() - std::min(before, heap_in_use());
      EXPECT_LT(grown, 50u << 20) << "a " << kDepth << "-deep tree holds " << (grown >> 20) << " MB";
      // It is that deep, and the deepest key is still right.
      const Node* cur = &*n;
      int depth = 0;
      while (cur->kind() == Node::Kind::Array || cur->kind() == Node::Kind::Object) {
        cur = &cur->at(cur->kind() == Node::Kind::Array ? "0" : "a");
        ++depth;
      }
      EXPECT_EQ(depth, kDepth + 1);
      EXPECT_EQ(cur->as_int(), 1);
      EXPECT_EQ(cur->key().size(), 2u * kDepth + 1);  // "a.0.0...0" or "a.a...a"
    });
  }
}

// --- YAML correctness -------------------------------------------------------------------

TEST(ConfigHostile, YamlMergeKeys) {
  auto n = parse("base: &base\n  host: h\n  port: 1\nprod:\n  <<: *base\n  port: 2\n"
                 "both:\n  <<: [*base, {extra: x, host: other}]\n",
                 Format::Yaml, "m.yaml");
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(n->find("prod.<<"), nullptr);
  EXPECT_EQ(n->at("prod.host").as_string(), "h");
  EXPECT_EQ(n->at("prod.port").as_int(), 2);
  EXPECT_EQ(n->at("both.host").as_string(), "h");  // the first merged mapping wins
  EXPECT_EQ(n->at("both.extra").as_string(), "x");
  EXPECT_EQ(n->at("prod.host").key(), "prod.host");
}

TEST(ConfigHostile, YamlSecondDocumentIsRejectedAtItsLine) {
  EXPECT_EQ(error_of("a: 1\n---\nb: 2\n", Format::Yaml, "multi.yaml"),
            "multi.yaml:2:1: a second document ('---') in one file; a configuration file holds one document");
}

TEST(ConfigHostile, YamlUnterminatedQuoteIsReportedWhereItOpens) {
  std::string m = error_of("a: 1\nb: \"open\nc: 3\n", Format::Yaml, "q.yaml");
  EXPECT_TRUE(m.starts_with("q.yaml:2:4: unterminated quoted string")) << m;
}

TEST(ConfigHostile, DuplicateKeysNameBothLines) {
  EXPECT_EQ(error_of("a: 1\nb: 2\na: 3\n", Format::Yaml, "d.yaml"), "d.yaml:3:1: duplicate key \"a\" (first on line 1)");
  EXPECT_EQ(error_of("{\n  \"a\": 1,\n  \"a\": 2\n}\n", Format::Json, "d.json"),
            "d.json:3:3: duplicate key \"a\" (first on line 2)");
  EXPECT_NE(error_of("a = 1\na = 2\n", Format::Toml, "d.toml").find("d.toml:2:"), std::string::npos);
}

// --- error positions --------------------------------------------------------------------

TEST(ConfigHostile, UnclosedConstructsAreReportedWhereTheyStart) {
  EXPECT_EQ(error_of("name: x\nserver:\n  timeout: [5s,\n  port: 1\n", Format::Yaml, "bad.yaml"),
            "bad.yaml:3:12: '[' is never closed");
  EXPECT_EQ(error_of("a: {b: 1,\n", Format::Yaml, "bad.yaml"), "bad.yaml:1:4: '{' is never closed");
  EXPECT_EQ(error_of("{\"a\": 1,\n \"b\": {\"c\": 2\n", Format::Json, "bad.json"), "bad.json:2:7: '{' is never closed");
  EXPECT_EQ(error_of("a = 1\nb = \"open\nc = 2\n", Format::Toml, "bad.toml"), "bad.toml:2:5: unterminated string");
  EXPECT_EQ(error_of("a = 1\n[server\nport = 1\n", Format::Toml, "bad.toml"),
            "bad.toml:2:1: unterminated table header (']' missing on its line)");
  EXPECT_EQ(error_of("a = [1,\n  2,\n", Format::Toml, "bad.toml"), "bad.toml:1:5: '[' is never closed");
  EXPECT_EQ(error_of("a = \"\"\"x\n", Format::Toml, "bad.toml"), "bad.toml:1:5: unterminated multi-line string");
}

TEST(ConfigHostile, TomlPrecheckAcceptsWhatTomlAllows) {
  auto n = parse("# [not a header\n[a]\nx = [1, [2, 3], {y = \"]\"}] # ]\n[[b]]\nz = '''\n[\n'''\n"
                 "w = \"\"\"q\\\"\"\"\"\"\n[c.'d]']\nv = 1\n",
                 Format::Toml, "ok.toml");
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(n->at("a.x.1.0").as_int(), 2);
  EXPECT_EQ(n->at("b.0.z").as_string(), "[\n");
}

}  // namespace
}  // namespace relive::config
