// Secrets are shown as *** in show, diffs and error messages.
#include <gtest/gtest.h>

#include "config_test_util.hpp"

namespace relive::config {
namespace {

using namespace relive::config::test;

TEST(ConfigSecrets, DefaultPatterns) {
  Redactor r;
  EXPECT_TRUE(r.is_secret("db.password"));
  EXPECT_TRUE(r.is_secret("db.PASSWORD_file"));
  EXPECT_TRUE(r.is_secret("client_secret"));
  EXPECT_TRUE(r.is_secret("auth.token"));
  EXPECT_TRUE(r.is_secret("aws.access_key"));
  EXPECT_TRUE(r.is_secret("secrets.a"));
  EXPECT_FALSE(r.is_secret("db.host"));
  EXPECT_FALSE(r.is_secret("keys.count"));
  EXPECT_EQ(r.show("db.password", "hunter2"), "***");
  EXPECT_EQ(r.show("db.host", "h"), "h");
  Redactor custom({"*.pin"});
  EXPECT_TRUE(custom.is_secret("card.pin"));
  EXPECT_FALSE(custom.is_secret("db.password"));
}

TEST(ConfigSecrets, RedactedInShowJsonAndDiff) {
  auto a = Config::load(manual({overrides({"db.password=hunter2", "db.host=h1", "api.token=t0k3n", "n=1"})}));
  auto b = Config::load(manual({overrides({"db.password=swordfish", "db.host=h2", "api.token=t0k3n", "n=1"})}));
  ASSERT_TRUE(a && b);
  Redactor r;
  std::string flat = format_flat(*a, r, true);
  EXPECT_EQ(flat.find("hunter2"), std::string::npos) << flat;
  EXPECT_NE(flat.find("db.password = ***  # override db.password"), std::string::npos) << flat;
  EXPECT_NE(flat.find("db.host = h1"), std::string::npos) << flat;
  std::string json = format_json(*a, r);
  EXPECT_EQ(json.find("hunter2"), std::string::npos) << json;
  EXPECT_EQ(json.find("t0k3n"), std::string::npos) << json;
  EXPECT_NE(json.find("\"***\""), std::string::npos) << json;

  auto changes = diff(*a, *b);
  ASSERT_EQ(changes.size(), 2u);  // db.host and db.password; the token did not change
  EXPECT_EQ(changes[0].key, "db.host");
  EXPECT_EQ(changes[1].key, "db.password");
  EXPECT_EQ(*changes[1].new_value, "swordfish");  // raw values for the program...
  std::string text = format_diff(changes, r);     // ...redacted for people
  EXPECT_EQ(text, "~ db.host: h1 -> h2\n~ db.password: *** -> ***\n");
  EXPECT_EQ(diff(*a, *b, "db.host").size(), 1u);
  EXPECT_EQ(diff(*a, *b, "db.h").size(), 0u);  // a prefix is whole segments
}

TEST(ConfigSecrets, RedactedInTypeErrors) {
  auto cfg = Config::open(manual({overrides({"db.password=12345"})}));
  ASSERT_TRUE(cfg);
  auto as_bool = cfg->bind<bool>("db.password");
  ASSERT_FALSE(as_bool);
  EXPECT_EQ(as_bool.error().message, "override db.password: db.password: expected a boolean (true/false), got ***");
}

}  // namespace
}  // namespace relive::config
