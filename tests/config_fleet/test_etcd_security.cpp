// The etcd source with username/password auth and with TLS (certificates made by openssl
// per test): the right credentials work, the wrong ones fail with one clear line, an
// expired token is renewed.
#include <gtest/gtest.h>

#include "fleet_support.hpp"
#include "relive/config_remote.hpp"

namespace relive::fleet_test {
namespace {

namespace cfg = relive::config;

cfg::EtcdOptions fast(const std::string& endpoint) {
  cfg::EtcdOptions o;
  o.endpoints = {endpoint};
  o.prefix = "/app/";
  o.progress_interval = 300ms;
  o.check_interval = 0ms;
  o.backoff_initial = 100ms;
  o.backoff_max = 400ms;
  o.startup_wait = 1000ms;
  o.request_timeout = 2s;
  return o;
}
cfg::Options with(std::shared_ptr<cfg::Source> s) {
  cfg::Options o;
  o.sources = {std::move(s)};
  return o;
}

TEST(FleetEtcdAuth, WrongPasswordIsOneClearLine) {
  Etcd etcd;
  etcd.put("/app/a", "1");
  etcd.enable_auth();
  auto o = fast(etcd.endpoint());
  o.username = "app";
  o.password = "wrong";
  auto c = cfg::Config::open(with(cfg::etcd(o)));
  ASSERT_FALSE(c);
  const std::string& m = c.error().message;
  EXPECT_NE(m.find("authentication as \"app\" failed"), std::string::npos) << m;
  EXPECT_NE(m.find("invalid user ID or password"), std::string::npos) << m;
  EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  EXPECT_EQ(m.find("wrong"), std::string::npos) << "the password is never shown: " << m;
}

TEST(FleetEtcdAuth, ExpiredTokenIsRenewedAndARestartIsSurvived) {
  Etcd::Options eo;
  eo.auth_token_ttl = 1;
  Etcd etcd(eo);
  etcd.put("/app/a", "1");
  etcd.enable_auth();
  auto o = fast(etcd.endpoint());
  o.username = "app";
  o.password = "apppw";
  o.check_interval = 300ms;  // each check is a range with the (soon expired) token
  auto source = cfg::etcd(o);
  auto c = cfg::Config::open(with(source));
  ASSERT_TRUE(c) << c.error().message;
  const auto checks = source->stats().checks;
  std::this_thread::sleep_for(2500ms);  // past the token's TTL: that is the point of the test
  ASSERT_TRUE(eventually([&] { return source->stats().checks >= checks + 4; }, 15s));
  EXPECT_TRUE(c->status().source_problems.empty()) << c->status().source_problems[0];
  EXPECT_EQ(source->stats().full_reads, 1u) << "every check passed";
  etcd.etcdctl({"put", "/app/a", "2"});
  ASSERT_TRUE(eventually([&] { return c->get<std::string>("a", "") == "2"; }, 15s));
  // A restart forgets every token: the watch is re-created with a fresh one.
  etcd.kill();
  etcd.start();
  etcd.etcdctl({"put", "/app/a", "3"});
  ASSERT_TRUE(eventually([&] { return c->get<std::string>("a", "") == "3"; }, 15s))
      << (c->status().source_problems.empty() ? "" : c->status().source_problems[0]) << " rev "
      << source->stats().revision << " reconnects " << source->stats().reconnects
      << " events " << source->stats().events_applied << " reads " << source->stats().full_reads << " checks "
      << source->stats().checks;
}

TEST(FleetEtcdTls, ClientCertificateWorksAndABadCaIsOneClearLine) {
  TempDir dir;
  Certs certs = make_certs(dir.path());
  Etcd::Options eo;
  eo.tls = certs;
  Etcd etcd(eo);
  etcd.put("/app/a", "1");
  auto o = fast(etcd.endpoint());
  ASSERT_TRUE(o.endpoints[0].starts_with("https://"));
  o.tls.ca_file = certs.ca;
  o.tls.cert_file = certs.client_cert;
  o.tls.key_file = certs.client_key;
  auto c = cfg::Config::open(with(cfg::etcd(o)));
  ASSERT_TRUE(c) << c.error().message;
  etcd.put("/app/a", "2");
  ASSERT_TRUE(eventually([&] { return c->get<std::string>("a", "") == "2"; }, 15s));

  auto bad = o;
  bad.tls.ca_file = certs.other_ca;
  auto b = cfg::Config::open(with(cfg::etcd(bad)));
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().message.find("certificate"), std::string::npos) << b.error().message;
  EXPECT_EQ(b.error().message.find('\n'), std::string::npos);

  auto no_cert = o;
  no_cert.tls.cert_file.clear();
  no_cert.tls.key_file.clear();
  auto n = cfg::Config::open(with(cfg::etcd(no_cert)));
  ASSERT_FALSE(n) << "etcd requires a client certificate";
  EXPECT_TRUE(c->get<std::string>("a", "") == "2") << "the working client kept its values";
}

}  // namespace
}  // namespace relive::fleet_test
