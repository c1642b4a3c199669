// JSON, YAML and TOML: values, where each key was written, and parse errors with
// file:line:column.
#include <gtest/gtest.h>

#include "config_test_util.hpp"

namespace relive::config {
namespace {

TEST(ConfigFormats, JsonValuesAndPositions) {
  auto n = parse("{\n  \"db\": {\n    \"host\": \"h\",\n    \"port\": 5432,\n    \"ratio\": 0.5,\n"
                 "    \"on\": true,\n    \"tags\": [\"a\", 7]\n  }\n}\n",
                 Format::Json, "app.json");
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(n->at("db.host").as_string(), "h");
  EXPECT_EQ(n->at("db.port").as_int(), 5432);
  EXPECT_EQ(n->at("db.ratio").as_double(), 0.5);
  EXPECT_TRUE(n->at("db.on").as_bool());
  EXPECT_EQ(n->at("db.tags.1").as_int(), 7);
  EXPECT_EQ(n->at("db.port").origin().to_string(), "app.json:4:5");
  EXPECT_EQ(n->at("db").origin().to_string(), "app.json:2:3");
  EXPECT_EQ(n->at("db.tags.0").origin().to_string(), "app.json:7:14");
  EXPECT_EQ(n->at("db.tags.1").origin().to_string(), "app.json:7:19");
  EXPECT_EQ(n->at("db.port").key(), "db.port");
}

TEST(ConfigFormats, JsonErrorHasLineAndColumn) {
  auto n = parse("{\n  \"a\": 1,\n  \"b\": tru\n}\n", Format::Json, "app.json");
  ASSERT_FALSE(n);
  EXPECT_TRUE(n.error().message.starts_with("app.json:3:")) << n.error().message;
  EXPECT_NE(n.error().message.find("invalid literal"), std::string::npos) << n.error().message;
  auto half = parse("{\"a\": 1, \"b\": ", Format::Json, "half.json");
  ASSERT_FALSE(half);
  EXPECT_TRUE(half.error().message.starts_with("half.json:1:")) << half.error().message;
}

TEST(ConfigFormats, YamlValuesAndPositions) {
  auto n = parse("# comment\ndb:\n  host: \"5\"\n  port: 5432\n  timeout: 5s\n  empty:\n  list:\n    - 1\n    - x\n",
                 Format::Yaml, "app.yaml");
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(n->at("db.host").kind(), Node::Kind::String);  // quoted stays a string
  EXPECT_EQ(n->at("db.port").kind(), Node::Kind::Int);
  EXPECT_EQ(n->at("db.timeout").as_duration(), std::chrono::seconds(5));
  EXPECT_TRUE(n->at("db.empty").is_null());
  EXPECT_EQ(n->at("db.list.1").as_string(), "x");
  EXPECT_EQ(n->at("db.port").origin().to_string(), "app.yaml:4:3");
  EXPECT_EQ(n->at("db.list.1").origin().to_string(), "app.yaml:9:7");
}

TEST(ConfigFormats, YamlErrorHasLineAndColumn) {
  auto n = parse("a: 1\nb: [1, 2\nc: 3\n", Format::Yaml, "bad.yaml");
  ASSERT_FALSE(n);
  EXPECT_TRUE(n.error().message.starts_with("bad.yaml:")) << n.error().message;
  auto top = parse("- 1\n- 2\n", Format::Yaml, "list.yaml");
  ASSERT_FALSE(top);
  EXPECT_NE(top.error().message.find("top level must be a mapping"), std::string::npos) << top.error().message;
}

TEST(ConfigFormats, TomlValuesAndPositions) {
  auto n = parse("title = \"x\"\n\n[db]\nhost = \"h\"\nport = 5432\ntimeout = \"250ms\"\nwhen = 1979-05-27\n",
                 Format::Toml, "app.toml");
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(n->at("db.port").as_int(), 5432);
  EXPECT_EQ(n->at("db.timeout").as_duration(), std::chrono::milliseconds(250));
  EXPECT_EQ(n->at("db.when").as_string(), "1979-05-27");
  EXPECT_EQ(n->at("db.port").origin().to_string(), "app.toml:5:1");
}

TEST(ConfigFormats, TomlErrorHasLineAndColumn) {
  auto n = parse("a = 1\nb = = 2\n", Format::Toml, "bad.toml");
  ASSERT_FALSE(n);
  EXPECT_TRUE(n.error().message.starts_with("bad.toml:2:")) << n.error().message;
}

TEST(ConfigFormats, EmptyDocumentIsAnEmptyObject) {
  auto n = parse("", Format::Yaml, "e.yaml");
  ASSERT_TRUE(n);
  EXPECT_TRUE(n->is_object());
  EXPECT_EQ(n->size(), 0u);
}

}  // namespace
}  // namespace relive::config
