// The HTTP source against a real nginx (ETag/304, 404, empty, garbage) and against a
// Consul stand-in (blocking queries, index reset).
#include <gtest/gtest.h>

#include "fleet_support.hpp"
#include "relive/config_remote.hpp"

namespace relive::fleet_test {
namespace {

namespace cfg = relive::config;

cfg::Options with(std::shared_ptr<cfg::Source> s) {
  cfg::Options o;
  o.sources = {std::move(s)};
  return o;
}

std::string problem(const cfg::Config& c) {
  auto p = c.status().source_problems;
  return p.empty() ? "" : p[0];
}

TEST(FleetHttp, NginxDocumentPolledWithEtagAndOutagesKeepLastGood) {
  TempDir www;
  write_file(www / "app.json", R"({"db": {"host": "a"}})");
  Nginx nginx(www.path());
  cfg::HttpOptions o;
  o.url = nginx.url("/app.json");
  o.interval = 100ms;
  o.request_timeout = 3s;
  auto source = cfg::http(o);
  auto c = cfg::Config::open(with(source));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->get<std::string>("db.host", ""), "a");
  EXPECT_EQ(c->pin()->origin("db.host")->source, o.url);
  ASSERT_TRUE(eventually([&] { return source->stats().not_modified >= 2; }, 15s)) << "304s for an unchanged file";

  write_file(www / "app.json", R"({"db": {"host": "bb"}})");  // another size: another ETag
  ASSERT_TRUE(eventually([&] { return c->get<std::string>("db.host", "") == "bb"; }, 15s));

  fs::remove(www / "app.json");
  ASSERT_TRUE(eventually([&] { return problem(*c).find("HTTP 404") != std::string::npos; }, 15s)) << problem(*c);
  EXPECT_NE(problem(*c).find("keeping the last good version"), std::string::npos);
  EXPECT_EQ(c->get<std::string>("db.host", ""), "bb");

  write_file(www / "app.json", "");
  ASSERT_TRUE(eventually([&] { return problem(*c).find("empty body") != std::string::npos; }, 15s)) << problem(*c);
  EXPECT_EQ(c->get<std::string>("db.host", ""), "bb");

  write_file(www / "app.json", R"({"db": {"host": )");
  ASSERT_TRUE(eventually([&] { return c->status().error.has_value(); }, 15s));
  EXPECT_NE(c->status().error->find(o.url), std::string::npos) << *c->status().error;
  EXPECT_EQ(c->get<std::string>("db.host", ""), "bb");

  write_file(www / "app.json", R"({"db": {"host": "ccc"}})");
  ASSERT_TRUE(eventually([&] { return c->get<std::string>("db.host", "") == "ccc"; }, 15s));
  ASSERT_TRUE(eventually([&] { return problem(*c).empty() && !c->status().error; }, 15s));
}

TEST(FleetHttp, FirstLoadFailureFailsOpen) {
  TempDir www;
  Nginx nginx(www.path());
  cfg::HttpOptions o;
  o.url = nginx.url("/missing.yaml");
  auto c = cfg::Config::open(with(cfg::http(o)));
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("HTTP 404"), std::string::npos) << c.error().message;
}

TEST(FleetHttp, ConsulBlockingQueriesFollowChangesAndAnIndexReset) {
  ConsulStandin consul;
  consul.put("app/config", R"({"level": "info"})");
  cfg::HttpOptions o;
  o.url = consul.url("app/config");
  o.long_poll = true;
  o.long_poll_wait = 5s;
  o.backoff_initial = 50ms;
  auto source = cfg::http(o);
  auto c = cfg::Config::open(with(source));
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_TRUE(eventually([&] { return source->stats().index == consul.index(); }, 15s));
  const int before = consul.requests();
  consul.put("app/config", R"({"level": "debug"})");
  ASSERT_TRUE(eventually([&] { return c->get<std::string>("level", "") == "debug"; }, 15s));
  EXPECT_LE(consul.requests() - before, 3) << "one blocking query per change, not polling";

  consul.restore(1, "app/config", R"({"level": "warn"})");  // the index goes backwards
  ASSERT_TRUE(eventually([&] { return c->get<std::string>("level", "") == "warn"; }, 15s));
  ASSERT_TRUE(eventually([&] { return source->stats().index == 1; }, 15s));
  consul.put("app/config", R"({"level": "error"})");
  ASSERT_TRUE(eventually([&] { return c->get<std::string>("level", "") == "error"; }, 15s));

  consul.remove("app/config");
  ASSERT_TRUE(eventually([&] { return problem(*c).find("HTTP 404") != std::string::npos; }, 15s));
  EXPECT_EQ(c->get<std::string>("level", ""), "error");
}

}  // namespace
}  // namespace relive::fleet_test
