// Reloads driven by the watch engine: a deleted file keeps the last good values and says
// so; a re-created file is picked up; conf.d entries; the ConfigMap ..data swap.
#include <gtest/gtest.h>

#include <unistd.h>

#include "config_test_util.hpp"

namespace relive::config {
namespace {

using namespace relive::config::test;
using namespace std::chrono_literals;

Options watching(std::vector<std::shared_ptr<Source>> sources) {
  Options o;
  o.sources = std::move(sources);
  return o;
}

TEST(ConfigWatching, EditIsPickedUpAndBadEditKeepsTheWorkingVersion) {
  TempDir dir;
  auto path = dir / "app.yaml";
  write_file(path, "n: 1\n");
  auto cfg = Config::open(watching({file(path)}));
  ASSERT_TRUE(cfg) << cfg.error().message;
  write_file(path, "n: 2\n");
  ASSERT_TRUE(eventually([&] { return cfg->get<int>("n", 0) == 2; }, 10s));
  write_file(path, "n: [2,\n");
  ASSERT_TRUE(eventually([&] { return cfg->status().error.has_value(); }, 10s));
  EXPECT_TRUE(cfg->status().error->starts_with(path.string() + ":")) << *cfg->status().error;
  EXPECT_NE(cfg->status().error->find("keeping version 2 from"), std::string::npos);
  EXPECT_EQ(cfg->get<int>("n", 0), 2);
  write_file(path, "n: 3\n");
  ASSERT_TRUE(eventually([&] { return cfg->get<int>("n", 0) == 3 && !cfg->status().error; }, 10s));
}

TEST(ConfigWatching, DeletedFileKeepsValuesAndRecreatedFileIsPickedUp) {
  TempDir dir;
  auto path = dir / "app.yaml";
  write_file(path, "n: 1\n");
  auto cfg = Config::open(watching({file(path)}));
  ASSERT_TRUE(cfg) << cfg.error().message;
  std::filesystem::remove(path);
  ASSERT_TRUE(eventually([&] { return cfg->status().error.has_value(); }, 10s));
  EXPECT_NE(cfg->status().error->find("app.yaml: file not found (deleted?); keeping version 1"), std::string::npos)
      << *cfg->status().error;
  EXPECT_EQ(cfg->get<int>("n", 0), 1);
  write_file(path, "n: 5\n");
  ASSERT_TRUE(eventually([&] { return cfg->get<int>("n", 0) == 5 && !cfg->status().error; }, 10s));
}

TEST(ConfigWatching, ConfDirectoryEntriesAreMergedInNameOrder) {
  TempDir dir;
  write_file(dir / "conf.d/10-base.yaml", "n: 1\nm: 1\n");
  auto cfg = Config::open(watching({directory(dir / "conf.d")}));
  ASSERT_TRUE(cfg) << cfg.error().message;
  write_file(dir / "conf.d/20-override.yaml", "n: 2\n");
  ASSERT_TRUE(eventually([&] { return cfg->get<int>("n", 0) == 2; }, 10s));
  EXPECT_EQ(cfg->get<int>("m", 0), 1);
  std::filesystem::remove(dir / "conf.d/20-override.yaml");
  ASSERT_TRUE(eventually([&] { return cfg->get<int>("n", 0) == 1; }, 10s));
}

TEST(ConfigWatching, KubernetesConfigMapSwap) {
  TempDir dir;
  namespace fs = std::filesystem;
  write_file(dir / "..2024_01/app.yaml", "n: 1\n");
  fs::create_directory_symlink("..2024_01", dir / "..data");
  fs::create_symlink("..data/app.yaml", dir / "app.yaml");
  auto cfg = Config::open(watching({file(dir / "app.yaml")}));
  ASSERT_TRUE(cfg) << cfg.error().message;
  write_file(dir / "..2024_02/app.yaml", "n: 2\n");
  fs::create_directory_symlink("..2024_02", dir / "..data_tmp");
  fs::rename(dir / "..data_tmp", dir / "..data");
  fs::remove_all(dir / "..2024_01");
  ASSERT_TRUE(eventually([&] { return cfg->get<int>("n", 0) == 2; }, 10s));
  EXPECT_FALSE(cfg->status().error);
}

}  // namespace
}  // namespace relive::config
