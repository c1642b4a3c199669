// Sources in order, later overriding earlier; each key remembers its source; env parsing.
#include <gtest/gtest.h>

#include <cstdlib>

#include "config_test_util.hpp"

namespace relive::config {
namespace {

using namespace relive::config::test;

struct EnvVar {
  EnvVar(const char* name, const char* value) : name_(name) { setenv(name, value, 1); }
  ~EnvVar() { unsetenv(name_); }
  const char* name_;
};

TEST(ConfigLayering, LaterSourcesOverrideEarlierOnes) {
  TempDir dir;
  write_file(dir / "app.yaml", "db:\n  host: file\n  port: 1\n  timeout: 1s\n  user: file\nname: app\n");
  write_file(dir / "conf.d/10-a.yaml", "db:\n  port: 2\n  timeout: 2s\n");
  write_file(dir / "conf.d/20-b.json", "{\"db\": {\"timeout\": \"3s\"}}");
  write_file(dir / "conf.d/.hidden.yaml", "db: {port: 999}\n");
  write_file(dir / "conf.d/notes.txt", "ignored");
  EnvVar e1("RLTEST_DB__TIMEOUT", "4s");
  EnvVar e2("RLTEST_DB__USER", "env");
  auto cfg = Config::open(manual({file(dir / "app.yaml"), directory(dir / "conf.d"), env("RLTEST"),
                                  overrides({"db.user=flag"})}));
  ASSERT_TRUE(cfg) << cfg.error().message;
  auto s = cfg->pin();
  EXPECT_EQ(s->get<std::string>("db.host", ""), "file");
  EXPECT_EQ(s->get<int>("db.port", 0), 2);
  EXPECT_EQ(s->get<std::chrono::milliseconds>("db.timeout", {}), std::chrono::seconds(4));
  EXPECT_EQ(s->get<std::string>("db.user", ""), "flag");
  EXPECT_EQ(s->get("name", ""), "app");

  EXPECT_EQ(s->origin("db.host")->to_string(), (dir / "app.yaml").string() + ":2:3");
  EXPECT_EQ(s->origin("db.port")->to_string(), (dir / "conf.d/10-a.yaml").string() + ":2:3");
  EXPECT_EQ(s->origin("db.timeout")->to_string(), "env RLTEST_DB__TIMEOUT");
  EXPECT_EQ(s->origin("db.user")->to_string(), "override db.user");
  EXPECT_EQ(s->origin("nope"), nullptr);

  std::string explained = format_flat(*s, cfg->redactor(), true);
  EXPECT_NE(explained.find("db.timeout = 4s  # env RLTEST_DB__TIMEOUT"), std::string::npos) << explained;
}

TEST(ConfigLayering, EnvironmentNamesAndValues) {
  EnvVar a("RLENV_DB__TIMEOUT", "5");
  EnvVar b("RLENV_LOG_LEVEL", "debug");
  EnvVar c("RLENV_FEATURE__ON", "true");
  EnvVar d("RLENV_RATIO", "0.25");
  EnvVar e("RLENVX_OTHER", "1");  // a different prefix
  auto snap = Config::load(manual({env("RLENV")}));
  ASSERT_TRUE(snap) << snap.error().message;
  EXPECT_EQ(snap->find("db.timeout")->kind(), Node::Kind::Int);
  EXPECT_EQ(snap->get<int>("db.timeout", 0), 5);
  EXPECT_EQ(snap->get("log_level", ""), "debug");
  EXPECT_TRUE(snap->get<bool>("feature.on", false));
  EXPECT_EQ(snap->get<double>("ratio", 0), 0.25);
  EXPECT_EQ(snap->find("other"), nullptr);
  EXPECT_EQ(snap->find("x_other"), nullptr);
}

TEST(ConfigLayering, TypedErrorFromEnvNamesTheVariable) {
  EnvVar a("RLENV2_DB__TIMEOUT", "fast");
  TempDir dir;
  write_file(dir / "app.yaml", "db:\n  timeout: 1s\n");
  Options o = manual({file(dir / "app.yaml"), env("RLENV2")});
  auto cfg = Config::open(std::move(o));
  ASSERT_TRUE(cfg);
  auto bound = cfg->bind<std::chrono::milliseconds>("db.timeout");
  ASSERT_FALSE(bound);
  EXPECT_EQ(bound.error().message, "env RLENV2_DB__TIMEOUT: db.timeout: expected a duration, got \"fast\"");
}

TEST(ConfigLayering, BadOverrideAndMissingFileAreErrorsAtOpen) {
  TempDir dir;
  auto bad = Config::open(manual({overrides({"novalue"})}));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("novalue"), std::string::npos);
  auto missing = Config::open(manual({file(dir / "absent.yaml")}));
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("absent.yaml"), std::string::npos) << missing.error().message;
  write_file(dir / "app.ini", "a=1");
  auto unknown = Config::open(manual({file(dir / "app.ini")}));
  ASSERT_FALSE(unknown);
  auto stated = Config::open(manual({file(dir / "app.ini", Format::Toml)}));
  ASSERT_TRUE(stated) << stated.error().message;
  EXPECT_EQ(stated->get<int>("a", 0), 1);
}

TEST(ConfigLayering, ParseErrorAtOpenNamesFileLineColumn) {
  TempDir dir;
  write_file(dir / "app.yaml", "a: 1\nb: [1,\n");
  auto cfg = Config::open(manual({file(dir / "app.yaml")}));
  ASSERT_FALSE(cfg);
  EXPECT_TRUE(cfg.error().message.starts_with((dir / "app.yaml").string() + ":")) << cfg.error().message;
}

}  // namespace
}  // namespace relive::config
