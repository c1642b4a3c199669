// `relive config show|check|watch` with etcd:// and http:// sources, run as a user runs it.
#include <gtest/gtest.h>
#include <signal.h>

#include "fleet_support.hpp"

namespace relive::fleet_test {
namespace {

std::string bin() {
  const std::string b = relive_bin();
  EXPECT_FALSE(b.empty()) << "RELIVE_BIN is not set (run through ctest)";
  return b;
}

TEST(FleetCommand, ShowExplainNamesEtcdKeysAndRevisions) {
  Etcd etcd;
  const auto rev = etcd.put("/app/db/timeout", "5s");
  etcd.put("/app/db/password", "hunter2");
  const std::string url = "etcd://127.0.0.1:" + std::to_string(etcd.port()) + "/app";
  Process p({bin(), "config", "show", "--explain", url});
  ASSERT_EQ(p.wait(20s), 0) << p.output();
  EXPECT_NE(p.output().find("db.timeout = 5s  # etcd://127.0.0.1:" + std::to_string(etcd.port()) +
                            "/app/db/timeout (mod_revision " + std::to_string(rev) + ")"),
            std::string::npos)
      << p.output();
  EXPECT_NE(p.output().find("db.password = ***"), std::string::npos);
  EXPECT_EQ(p.output().find("hunter2"), std::string::npos);

  Process empty({bin(), "config", "check", "etcd://127.0.0.1:" + std::to_string(etcd.port()) + "/nothing"});
  EXPECT_EQ(empty.wait(20s), 1);
  EXPECT_NE(empty.output().find("no keys under /nothing/"), std::string::npos) << empty.output();
}

TEST(FleetCommand, EtcdUserFromTheEnvironmentLikeEtcdctl) {
  Etcd etcd;
  etcd.put("/app/a", "1");
  etcd.enable_auth();
  const std::string url = "etcd://127.0.0.1:" + std::to_string(etcd.port()) + "/app/";
  Process::Options good;
  good.env = {"ETCDCTL_USER=app:apppw"};
  Process ok({bin(), "config", "show", url}, good);
  EXPECT_EQ(ok.wait(20s), 0) << ok.output();
  EXPECT_NE(ok.output().find("a = 1"), std::string::npos) << ok.output();
  Process bad({bin(), "config", "show", "--etcd-user", "app:nope", url});
  EXPECT_EQ(bad.wait(20s), 1);
  EXPECT_NE(bad.output().find("invalid user ID or password"), std::string::npos) << bad.output();
}

TEST(FleetCommand, WatchJsonPrintsOneLinePerVersionWithSecretsRedacted) {
  Etcd etcd;
  etcd.put("/app/db/timeout", "5s");
  etcd.put("/app/db/password", "hunter2");
  const std::string url = "etcd://127.0.0.1:" + std::to_string(etcd.port()) + "/app/";
  Process w({bin(), "config", "watch", "--json", url});
  ASSERT_TRUE(w.wait_for_output("watching 1 source(s)", 20s)) << w.output();
  etcd.put("/app/db/timeout", "7s");
  ASSERT_TRUE(w.wait_for_output(R"({"version":2,)", 20s)) << w.output();
  etcd.put("/app/db/password", "other");
  ASSERT_TRUE(w.wait_for_output(R"({"version":3,)", 20s)) << w.output();
  EXPECT_NE(w.output().find(R"("changes":[{"key":"db.timeout","old":"5s","new":"7s"}]})"), std::string::npos)
      << w.output();
  EXPECT_NE(w.output().find(R"("changes":[{"key":"db.password","old":"***","new":"***"}]})"), std::string::npos)
      << w.output();
  EXPECT_EQ(w.output().find("hunter2"), std::string::npos);
  w.signal(SIGTERM);
  EXPECT_EQ(w.wait(10s), 0);
}

TEST(FleetCommand, ShowReadsAnHttpDocument) {
  TempDir www;
  write_file(www / "app.yaml", "log:\n  level: debug\n");
  Nginx nginx(www.path());
  Process p({bin(), "config", "show", "--explain", nginx.url("/app.yaml")});
  ASSERT_EQ(p.wait(20s), 0) << p.output();
  EXPECT_NE(p.output().find("log.level = debug  # " + nginx.url("/app.yaml") + ":2:"), std::string::npos) << p.output();
}

}  // namespace
}  // namespace relive::fleet_test
