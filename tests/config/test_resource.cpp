// Resources: built from a section, rebuilt only when it changes, new before old, old kept
// while pinned and destroyed after, a throwing factory keeps the old one.
#include <gtest/gtest.h>

#include <mutex>
#include <thread>

#include "config_test_util.hpp"

namespace relive::config {
namespace {

using namespace relive::config::test;
using namespace std::chrono_literals;

std::atomic<int> g_alive{0};

struct Pool {
  explicit Pool(std::string h) : host(std::move(h)) { ++g_alive; }
  ~Pool() { --g_alive; }
  std::string host;
};

TEST(ConfigResource, RebuiltOnlyOnChangeOldAliveWhilePinned) {
  TempDir dir;
  auto path = dir / "app.yaml";
  write_file(path, "db:\n  host: a\nother: 1\n");
  Options o = manual({file(path)});
  o.reject_version_on_resource_failure = false;  // the mode in which a failed rebuild publishes
  auto cfg = Config::open(std::move(o));
  ASSERT_TRUE(cfg);
  std::atomic<int> builds{0};
  auto pool = cfg->resource<Pool>("db", [&](const Node& n) {
    ++builds;
    std::string host = n.at("host").as_string();
    if (host == "bad") throw std::runtime_error("cannot connect to bad");
    return std::make_unique<Pool>(host);
  });
  ASSERT_TRUE(pool) << pool.error().message;
  EXPECT_EQ(pool->generation(), 1u);
  // Callbacks run after resources are rebuilt for the same version: use them as a barrier.
  std::atomic<std::uint64_t> dispatched{1};
  auto sub = cfg->subscribe("", [&](const Update& u) { dispatched = u.version; });
  auto settle = [&] { return eventually([&] { return dispatched.load() == cfg->version(); }, 10s); };

  Pin<Pool> held = pool->pin();
  EXPECT_EQ(held->host, "a");
  EXPECT_EQ(g_alive.load(), 1);

  write_file(path, "db:\n  host: b\nother: 1\n");
  ASSERT_TRUE(cfg->reload().ok());
  ASSERT_TRUE(settle());
  EXPECT_EQ(pool->generation(), 2u);
  EXPECT_EQ(pool->pin()->host, "b");
  EXPECT_EQ(held->host, "a");  // the old one is alive while pinned
  EXPECT_EQ(g_alive.load(), 2);
  held.reset();
  EXPECT_TRUE(eventually([] { relive::reclaim_retired(); return g_alive.load() == 1; }, 10s));

  // Another section changed: no rebuild.
  write_file(path, "db:\n  host: b\nother: 2\n");
  ASSERT_TRUE(cfg->reload().ok());
  ASSERT_TRUE(settle());
  EXPECT_EQ(builds.load(), 2);
  EXPECT_EQ(pool->generation(), 2u);

  // The factory throws: the config version is published (option off), the old resource stays.
  write_file(path, "db:\n  host: bad\nother: 2\n");
  ASSERT_TRUE(cfg->reload().ok());
  ASSERT_TRUE(settle());
  EXPECT_EQ(builds.load(), 3);
  EXPECT_EQ(pool->pin()->host, "b");
  EXPECT_FALSE(cfg->status().error);  // the configuration itself loaded fine
  ASSERT_TRUE(cfg->status().resource_error);
  EXPECT_EQ(*cfg->status().resource_error,
            "db: rebuilding the resource for version 4 failed: cannot connect to bad; keeping the previous one");

  write_file(path, "db:\n  host: c\nother: 2\n");
  ASSERT_TRUE(cfg->reload().ok());
  ASSERT_TRUE(settle());
  EXPECT_EQ(pool->pin()->host, "c");
  EXPECT_FALSE(cfg->status().resource_error);
  EXPECT_TRUE(eventually([] { relive::reclaim_retired(); return g_alive.load() == 1; }, 10s));
}

// One generation: a reader that sees version N finds the resource built from N (or later),
// never the one before — the resource is rebuilt before the version is published.
TEST(ConfigResource, AVersionIsPublishedOnlyAfterItsResources) {
  TempDir dir;
  auto path = dir / "app.yaml";
  write_file(path, "db:\n  host: '0'\n");
  auto cfg = Config::open(manual({file(path)}));
  ASSERT_TRUE(cfg);
  auto pool = cfg->resource<Pool>("db", [](const Node& n) { return std::make_unique<Pool>(n.at("host").as_string()); });
  ASSERT_TRUE(pool) << pool.error().message;
  constexpr int kVersions = 200;
  std::atomic<bool> done{false};
  std::atomic<int> behind{0};
  std::atomic<long> checks{0};
  std::thread reader([&] {
    while (!done.load()) {
      auto snapshot = cfg->pin();  // the version first, then the resource
      auto p = pool->pin();
      if (std::stoi(p->host) < std::stoi(snapshot->get("db.host", "0"))) ++behind;
      ++checks;
    }
  });
  for (int i = 1; i <= kVersions; ++i) {
    write_file(path, "db:\n  host: '" + std::to_string(i) + "'\n");
    ASSERT_TRUE(cfg->reload());
    // Right after reload() returns, the resource of this version is there.
    EXPECT_EQ(pool->pin()->host, std::to_string(i));
  }
  done = true;
  reader.join();
  EXPECT_EQ(behind.load(), 0) << "of " << checks.load() << " reads, a version was seen before its resource";
  EXPECT_EQ(pool->generation(), static_cast<std::uint64_t>(kVersions + 1));
}

TEST(ConfigResource, FirstBuildFailingIsAnError) {
  auto cfg = Config::open(manual({overrides({"db.host=x"})}));
  ASSERT_TRUE(cfg);
  auto r = cfg->resource<Pool>("db", [](const Node&) -> std::unique_ptr<Pool> { throw std::runtime_error("refused"); });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "db: building the resource failed: refused");
}

TEST(ConfigResource, DestroyedWithTheConfigOnceUnpinned) {
  int before = g_alive.load();
  {
    auto cfg = Config::open(manual({overrides({"db.host=x"})}));
    ASSERT_TRUE(cfg);
    auto r = cfg->resource<Pool>("db", [](const Node& n) { return std::make_unique<Pool>(n.at("host").as_string()); });
    ASSERT_TRUE(r);
    EXPECT_EQ(g_alive.load(), before + 1);
  }
  EXPECT_TRUE(eventually([&] { relive::reclaim_retired(); return g_alive.load() == before; }, 10s));
}

// The default: a version is published only with all its resources. A factory that throws
// rejects the version; readers keep the previous version beside the resources built from
// it, and no resource of the rejected version is published.
TEST(ConfigResource, AFailedRebuildRejectsTheVersionByDefault) {
  TempDir dir;
  auto path = dir / "app.yaml";
  write_file(path, "db:\n  pool_size: 5\ncache:\n  size: 1\n");
  auto cfg = Config::open(manual({file(path)}));
  ASSERT_TRUE(cfg);
  auto cache = cfg->resource<Pool>("cache", [](const Node& n) { return std::make_unique<Pool>(n.at("size").as_string()); });
  auto pool = cfg->resource<Pool>("db", [](const Node& n) {
    if (n.at("pool_size").as_int() > 1000) throw std::runtime_error("too many connections");
    return std::make_unique<Pool>(n.at("pool_size").as_string());
  });
  ASSERT_TRUE(cache && pool);
  write_file(path, "db:\n  pool_size: 5000\ncache:\n  size: 2\n");
  auto r = cfg->reload();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("db: rebuilding the resource failed: too many connections"), std::string::npos)
      << r.error().message;
  auto snap = cfg->pin();
  EXPECT_EQ(snap->version(), 1u);
  EXPECT_EQ(snap->get<int>("db.pool_size", 0), 5);
  EXPECT_EQ(pool->pin()->host, "5");
  EXPECT_EQ(cache->pin()->host, "1");  // built for the rejected version, never published
  EXPECT_EQ(cache->generation(), 1u);
  ASSERT_TRUE(cfg->status().error);

  write_file(path, "db:\n  pool_size: 6\ncache:\n  size: 2\n");
  ASSERT_TRUE(cfg->reload().ok());
  EXPECT_EQ(cfg->version(), 2u);
  EXPECT_EQ(pool->pin()->host, "6");
  EXPECT_EQ(cache->pin()->host, "2");
  EXPECT_FALSE(cfg->status().resource_error);
}

// The option off: a failed rebuild does not reject the version. It is published (readers see
// pool_size: 5000) beside the old resource, the other resources of that version are
// published with it, and the status says which resource stayed behind, for which version.
TEST(ConfigResource, WithoutRejectionTheVersionIsPublishedBesideTheOldResource) {
  TempDir dir;
  auto path = dir / "app.yaml";
  write_file(path, "db:\n  pool_size: 5\ncache:\n  size: 1\n");
  Options o = manual({file(path)});
  o.reject_version_on_resource_failure = false;
  auto cfg = Config::open(std::move(o));
  ASSERT_TRUE(cfg);
  auto cache = cfg->resource<Pool>("cache", [](const Node& n) { return std::make_unique<Pool>(n.at("size").as_string()); });
  auto pool = cfg->resource<Pool>("db", [](const Node& n) {
    if (n.at("pool_size").as_int() > 1000) throw std::runtime_error("too many connections");
    return std::make_unique<Pool>(n.at("pool_size").as_string());
  });
  ASSERT_TRUE(cache && pool);
  write_file(path, "db:\n  pool_size: 5000\ncache:\n  size: 2\n");
  auto r = cfg->reload();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(*r) << "a new version was published";
  auto snap = cfg->pin();
  EXPECT_EQ(snap->version(), 2u);
  EXPECT_EQ(snap->get<int>("db.pool_size", 0), 5000);
  EXPECT_EQ(pool->pin()->host, "5");  // the old resource keeps serving
  EXPECT_EQ(pool->generation(), 1u);
  EXPECT_EQ(cache->pin()->host, "2");  // the version's other resources went out with it
  EXPECT_EQ(cache->generation(), 2u);
  Status st = cfg->status();
  EXPECT_EQ(st.version, 2u);
  EXPECT_FALSE(st.error) << *st.error;  // the configuration itself loaded fine
  ASSERT_TRUE(st.resource_error);
  EXPECT_EQ(*st.resource_error,
            "db: rebuilding the resource for version 2 failed: too many connections; keeping the previous one");

  // A later version whose section builds clears it.
  write_file(path, "db:\n  pool_size: 6\ncache:\n  size: 2\n");
  ASSERT_TRUE(cfg->reload().ok());
  EXPECT_EQ(pool->pin()->host, "6");
  EXPECT_EQ(pool->generation(), 2u);
  EXPECT_FALSE(cfg->status().resource_error);
}

}  // namespace
}  // namespace relive::config
