// `relive config check|show|watch` run as a user runs them: real process, real files in a
// temp dir, output read back. Good files, bad files in each format, layering, secrets,
// --explain, and watch following real save patterns.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include <string>
#include <vector>

#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using relive::test::Process;
using relive::test::TempDir;
using relive::test::write_file;

Process::Options in(const std::filesystem::path& cwd, std::vector<std::string> env = {}) {
  Process::Options o;
  o.cwd = cwd;
  o.env = std::move(env);
  return o;
}

std::vector<std::string> relive_config(std::vector<std::string> args) {
  std::vector<std::string> argv{relive::test::relive_bin(), "config"};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

constexpr const char* kAppYaml =
    "db:\n"
    "  host: db.internal\n"
    "  port: 5432\n"
    "  password: hunter2\n"
    "  timeout: 5s\n"
    "log:\n"
    "  level: info\n";

class ConfigCli : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(relive::test::relive_bin().empty()) << "RELIVE_BIN is not set"; }
  TempDir dir;
};

TEST_F(ConfigCli, CheckPrintsTheMergedResultOfLayeredSourcesAndExitsZero) {
  write_file(dir / "app.yaml", kAppYaml);
  write_file(dir / "conf.d" / "10-db.json", R"({"db": {"port": 6000, "pool": 8}})");
  write_file(dir / "conf.d" / "20-db.toml", "[db]\npool = 16\n");
  Process p(relive_config({"check", "app.yaml", "conf.d", "--env", "APP", "--set", "log.level=debug"}),
            in(dir.path(), {"APP_DB__HOST=override.internal"}));
  ASSERT_EQ(p.wait(), 0) << p.output();
  // The output is read by a background reader: wait for its last line, not just the exit.
  ASSERT_TRUE(p.wait_for_output("relive config: ok")) << p.output();
  const std::string out = p.output();
  EXPECT_NE(out.find("db.host = override.internal\n"), std::string::npos) << out;  // env over file
  EXPECT_NE(out.find("db.port = 6000\n"), std::string::npos) << out;               // conf.d over file
  EXPECT_NE(out.find("db.pool = 16\n"), std::string::npos) << out;                 // 20- over 10-
  EXPECT_NE(out.find("log.level = debug\n"), std::string::npos) << out;            // --set last
  EXPECT_NE(out.find("relive config: ok"), std::string::npos) << out;
}

TEST_F(ConfigCli, CheckRejectsAMalformedFileInEachFormatWithFileLineAndColumn) {
  struct Bad {
    const char* name;
    const char* text;
    const char* where;  // "file:line:" the message must start with
  };
  const std::vector<Bad> bad = {
      {"bad.yaml", "db:\n  host: a\n  port: [1, 2\n", "bad.yaml:3:9:"},
      {"bad.json", "{\n  \"db\": {\n    \"port\": 5432,,\n  }\n}\n", "bad.json:3:"},
      {"bad.toml", "[db]\nport = 5432\nport = 5433\n", "bad.toml:3:"},
  };
  for (const Bad& b : bad) {
    write_file(dir / b.name, b.text);
    Process p(relive_config({"check", b.name}), in(dir.path()));
    EXPECT_EQ(p.wait(), 1) << b.name << ": " << p.output();
    EXPECT_TRUE(p.wait_for_output(std::string("relive config: ") + b.where)) << b.name << ": " << p.output();
    EXPECT_EQ(p.output().find("ok:"), std::string::npos) << p.output();
  }
}

TEST_F(ConfigCli, CheckFailsOnAMissingFileAndOnOneBadLayerAmongGoodOnes) {
  write_file(dir / "app.yaml", kAppYaml);
  Process missing(relive_config({"check", "app.yaml", "nope.yaml"}), in(dir.path()));
  EXPECT_EQ(missing.wait(), 1) << missing.output();
  EXPECT_TRUE(missing.wait_for_output("nope.yaml")) << missing.output();

  write_file(dir / "conf.d" / "10-ok.yaml", "log:\n  level: warn\n");
  write_file(dir / "conf.d" / "20-broken.yaml", "log: [unclosed\n");
  Process broken(relive_config({"check", "app.yaml", "conf.d"}), in(dir.path()));
  EXPECT_EQ(broken.wait(), 1) << broken.output();
  EXPECT_TRUE(broken.wait_for_output("20-broken.yaml:")) << broken.output();
  // The merged result is not printed when anything is wrong.
  EXPECT_EQ(broken.output().find("db.host ="), std::string::npos) << broken.output();
}

TEST_F(ConfigCli, UsageErrorsExitTwoWithOneLine) {
  for (std::vector<std::string> args : {std::vector<std::string>{"check"}, {"check", "--bogus", "a.yaml"},
                                        {"frobnicate", "a.yaml"}, {}}) {
    Process p(relive_config(args), in(dir.path()));
    EXPECT_EQ(p.wait(), 2) << p.output();
    EXPECT_TRUE(p.wait_for_output("relive config: ")) << p.output();
  }
}

TEST_F(ConfigCli, ShowRedactsSecretsAndExplainNamesEverySource) {
  write_file(dir / "app.yaml", kAppYaml);
  Process p(relive_config({"show", "--explain", "app.yaml", "--env", "APP", "--set", "log.level=debug",
                           "--secret", "*host*"}),
            in(dir.path(), {"APP_DB__PORT=6000", "APP_API_TOKEN=s3cr3t"}));
  ASSERT_EQ(p.wait(), 0) << p.output();
  ASSERT_TRUE(p.wait_for_output("log.level = debug  # override log.level\n")) << p.output();
  const std::string out = p.output();
  EXPECT_EQ(out.find("hunter2"), std::string::npos) << out;
  EXPECT_EQ(out.find("s3cr3t"), std::string::npos) << out;
  EXPECT_EQ(out.find("db.internal"), std::string::npos) << out;  // --secret *host*
  EXPECT_NE(out.find("db.password = ***  # app.yaml:4:"), std::string::npos) << out;
  EXPECT_NE(out.find("db.timeout = 5s  # app.yaml:5:"), std::string::npos) << out;
  EXPECT_NE(out.find("db.port = 6000  # env APP_DB__PORT"), std::string::npos) << out;
  EXPECT_NE(out.find("log.level = debug  # override log.level"), std::string::npos) << out;
}

TEST_F(ConfigCli, ShowJsonPrintsTheTree) {
  write_file(dir / "app.yaml", kAppYaml);
  Process p(relive_config({"show", "--json", "app.yaml"}), in(dir.path()));
  ASSERT_EQ(p.wait(), 0) << p.output();
  ASSERT_TRUE(p.wait_for_output("\"port\": 5432")) << p.output();
  EXPECT_NE(p.output().find("\"password\": \"***\""), std::string::npos) << p.output();
  Process both(relive_config({"show", "--json", "--explain", "app.yaml"}), in(dir.path()));
  EXPECT_EQ(both.wait(), 2) << both.output();
}

// Saves `content` the way vim does by default: probe file 4913, rename to backup, write
// the new file, remove the backup.
void vim_save(const std::filesystem::path& path, const std::string& content) {
  const auto probe = path.parent_path() / "4913";
  write_file(probe, "");
  ::unlink(probe.c_str());
  const auto backup = path.string() + "~";
  ASSERT_EQ(::rename(path.c_str(), backup.c_str()), 0);
  write_file(path, content);
  ::unlink(backup.c_str());
}

// JetBrains "safe write": new content to a temp file, old one renamed away, temp renamed in.
void jetbrains_save(const std::filesystem::path& path, const std::string& content) {
  const auto tmp = path.string() + "___jb_tmp___";
  const auto old = path.string() + "___jb_old___";
  write_file(tmp, content);
  ASSERT_EQ(::rename(path.c_str(), old.c_str()), 0);
  ASSERT_EQ(::rename(tmp.c_str(), path.c_str()), 0);
  ::unlink(old.c_str());
}

TEST_F(ConfigCli, WatchPrintsEachNewVersionAsADiffAndErrorsKeepingTheLastGood) {
  write_file(dir / "app.yaml", "db:\n  port: 1\n  password: a\nlog:\n  level: info\n");
  Process p(relive_config({"watch", "app.yaml"}), in(dir.path()));
  ASSERT_TRUE(p.wait_for_output("watching")) << p.output();
  EXPECT_NE(p.output().find("version 1 at "), std::string::npos) << p.output();
  EXPECT_NE(p.output().find("db.port = 1\n"), std::string::npos) << p.output();

  vim_save(dir / "app.yaml", "db:\n  port: 2\n  password: b\nlog:\n  level: info\n");
  ASSERT_TRUE(p.wait_for_output("version 2 at ")) << p.output();
  ASSERT_TRUE(p.wait_for_output("~ db.port: 1 -> 2\n")) << p.output();
  EXPECT_TRUE(p.wait_for_output("~ db.password: *** -> ***\n")) << p.output();

  size_t mark = p.output().size();
  jetbrains_save(dir / "app.yaml", "db:\n  port: [2,\n");  // half-written / invalid
  ASSERT_TRUE(p.wait_for_output("keeping version 2", 10s, mark)) << p.output();
  EXPECT_NE(p.output().find("relive config: app.yaml:", mark), std::string::npos) << p.output();

  mark = p.output().size();
  write_file(dir / "app.yaml", "db:\n  port: 2\n  password: b\nlog:\n  level: debug\n");
  ASSERT_TRUE(p.wait_for_output("version 3 at ", 10s, mark)) << p.output();
  ASSERT_TRUE(p.wait_for_output("~ log.level: info -> debug\n", 10s, mark)) << p.output();
  // Only what changed since the last good version is listed.
  EXPECT_EQ(p.output().find("db.port", mark), std::string::npos) << p.output();
  EXPECT_EQ(p.output().find("hunter"), std::string::npos);

  p.signal(SIGINT);
  EXPECT_EQ(p.wait(), 0) << p.output();
}

TEST_F(ConfigCli, WatchWithABadFirstLoadExitsOne) {
  write_file(dir / "app.yaml", "db: [\n");
  Process p(relive_config({"watch", "app.yaml"}), in(dir.path()));
  EXPECT_EQ(p.wait(), 1) << p.output();
  EXPECT_TRUE(p.wait_for_output("relive config: app.yaml:")) << p.output();
}

// One HTTP/1.0 GET on loopback; returns the whole response ("" if it cannot connect).
std::string http_get(int port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
      char buf[4096];
      for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) response.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return response;
}

TEST(ConfigService, GreetingAndLimitsChangeLiveAndABadEditIsRejected) {
  ASSERT_FALSE(relive::test::relive_bin().empty()) << "RELIVE_BIN is not set";
  const auto service = std::filesystem::path(relive::test::relive_bin()).parent_path() / "examples" /
                       "config_service" / "config_service";
  ASSERT_TRUE(std::filesystem::exists(service)) << service;
  TempDir dir;
  write_file(dir / "config.yaml",
             "greeting:\n  text: Hello\n  audience: world\nlimits:\n  per_second: 0.01\n  burst: 1\n"
             "log:\n  level: info\n");
  Process p({service.string(), "--config", "config.yaml", "--port", "0"}, in(dir.path()));
  ASSERT_TRUE(p.wait_for_output(" (config config.yaml")) << p.output();  // after the port
  const std::string out = p.output();
  const int port = std::atoi(out.c_str() + out.find("127.0.0.1:") + 10);
  ASSERT_GT(port, 0) << out;

  EXPECT_NE(http_get(port, "/").find("Hello, world!"), std::string::npos);
  // burst 1, one token per 100 s: a second request is over the limit.
  EXPECT_NE(http_get(port, "/").find(" 429 "), std::string::npos);

  jetbrains_save(dir / "config.yaml",
                 "greeting:\n  text: Howdy\n  audience: world\nlimits:\n  per_second: 1000\n  burst: 1000\n"
                 "log:\n  level: info\n");
  ASSERT_TRUE(relive::test::eventually([&] { return http_get(port, "/config").find("version 2") != std::string::npos; },
                                       10s));
  EXPECT_NE(http_get(port, "/config").find("limiter generation 2"), std::string::npos);
  for (int i = 0; i < 5; ++i) EXPECT_NE(http_get(port, "/").find("Howdy, world!"), std::string::npos);

  // Rejected by the service's validator: the last good version keeps serving.
  vim_save(dir / "config.yaml",
           "greeting:\n  text: Broken\nlimits:\n  per_second: 0\n  burst: 1\nlog:\n  level: info\n");
  ASSERT_TRUE(relive::test::eventually(
      [&] { return http_get(port, "/config").find("rejected: ") != std::string::npos; }, 10s))
      << http_get(port, "/config");
  const std::string status = http_get(port, "/config");
  EXPECT_NE(status.find("limits.per_second: must be > 0; keeping version 2"), std::string::npos) << status;
  EXPECT_NE(http_get(port, "/").find("Howdy, world!"), std::string::npos);

  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(), 0) << p.output();
}

}  // namespace
