// Scalars: durations, sizes, scalar parsing and typed conversions with their messages.
#include <gtest/gtest.h>

#include "config_test_util.hpp"

namespace relive::config {
namespace {

using namespace std::chrono_literals;

TEST(ConfigValues, Durations) {
  EXPECT_EQ(parse_duration("250ms"), std::chrono::nanoseconds(250ms));
  EXPECT_EQ(parse_duration("5s"), std::chrono::nanoseconds(5s));
  EXPECT_EQ(parse_duration("1m30s"), std::chrono::nanoseconds(90s));
  EXPECT_EQ(parse_duration("2h"), std::chrono::nanoseconds(2h));
  EXPECT_EQ(parse_duration("1.5s"), std::chrono::nanoseconds(1500ms));
  EXPECT_EQ(parse_duration("100us"), std::chrono::nanoseconds(100us));
  EXPECT_EQ(parse_duration("3"), std::chrono::nanoseconds(3s));  // bare number: seconds
  EXPECT_FALSE(parse_duration("fast"));
  EXPECT_FALSE(parse_duration("5 parsecs"));
  EXPECT_FALSE(parse_duration(""));
  EXPECT_FALSE(parse_duration("-5s"));
  EXPECT_FALSE(parse_duration("5x"));
}

TEST(ConfigValues, Sizes) {
  EXPECT_EQ(parse_size("64MiB")->bytes, 64ull << 20);
  EXPECT_EQ(parse_size("10KB")->bytes, 10000u);
  EXPECT_EQ(parse_size("1GiB")->bytes, 1ull << 30);
  EXPECT_EQ(parse_size("512")->bytes, 512u);
  EXPECT_EQ(parse_size("4k")->bytes, 4096u);
  EXPECT_EQ(parse_size("1.5 MiB")->bytes, 1572864u);
  EXPECT_FALSE(parse_size("big"));
  EXPECT_FALSE(parse_size("10 parsecs"));
  EXPECT_FALSE(parse_size("-1KB"));
}

TEST(ConfigValues, ScalarParsing) {
  EXPECT_EQ(Node::parse_scalar("5").kind(), Node::Kind::Int);
  EXPECT_EQ(Node::parse_scalar("-12").as_int(), -12);
  EXPECT_EQ(Node::parse_scalar("true").kind(), Node::Kind::Bool);
  EXPECT_EQ(Node::parse_scalar("2.5").as_double(), 2.5);
  EXPECT_EQ(Node::parse_scalar("5s").kind(), Node::Kind::String);
  EXPECT_EQ(Node::parse_scalar("hello world").as_string(), "hello world");
  EXPECT_EQ(Node::parse_scalar("1.2.3").kind(), Node::Kind::String);
  EXPECT_EQ(Node::parse_scalar("").kind(), Node::Kind::String);
  EXPECT_TRUE(Node::parse_scalar("null").is_null());
  EXPECT_EQ(Node::parse_scalar("99999999999999999999").kind(), Node::Kind::String);  // overflow
}

TEST(ConfigValues, TypedErrorsNameFileLineColumnAndKey) {
  auto tree = parse("db:\n  host: example\n  timeout: fast\n  port: 80000\n", Format::Yaml, "config/app.yaml");
  ASSERT_TRUE(tree) << tree.error().message;
  const Node& root = *tree;
  const Node* db = root.find("db");
  ASSERT_TRUE(db);
  try {
    (void)db->at("timeout").as_duration();
    FAIL() << "expected a TypeError";
  } catch (const TypeError& e) {
    EXPECT_EQ(e.origin().to_string(), "config/app.yaml:3:3");
    EXPECT_EQ(e.key(), "db.timeout");
    EXPECT_STREQ(e.what(), "config/app.yaml:3:3: db.timeout: expected a duration, got \"fast\"");
  }
  EXPECT_THROW((void)db->at("port").as<std::uint16_t>(), TypeError);
  EXPECT_THROW((void)db->at("host").as<int>(), TypeError);
  EXPECT_THROW((void)db->at("missing"), TypeError);
  EXPECT_EQ(db->get("port", 1), 80000);
  EXPECT_EQ(db->get("absent", 7), 7);
  EXPECT_EQ(db->get("host", "x"), "example");
  std::vector<std::string> none = db->get("absent", std::vector<std::string>{"a"});
  EXPECT_EQ(none.size(), 1u);
}

// A number too large for std::chrono::nanoseconds (~292 years) is a TypeError naming the key,
// for every bare-number form: an integer (std::chrono::seconds(n) then nanoseconds overflowed,
// undefined behaviour, a negative or wrapped duration), a float (llround out of range) and a
// string. Under UBSan the old conversions abort; in release they gave a wrong duration.
TEST(ConfigValues, DurationsOutOfRangeAreTypeErrorsForEveryNumberForm) {
  auto tree = parse(
      "t_int: 10000000000\n"
      "t_float: 1e19\n"
      "t_float_small: 9.3e9\n"
      "t_string: \"10000000000\"\n"
      "t_max_int: 9223372036854775807\n"
      "t_neg: -1\n"
      "ok_int: 9223372036\n"
      "ok_float: 1.5\n",
      Format::Yaml, "app.yaml");
  ASSERT_TRUE(tree) << tree.error().message;
  const Node& root = *tree;
  for (const char* key : {"t_int", "t_float", "t_float_small", "t_string", "t_max_int", "t_neg"}) {
    SCOPED_TRACE(key);
    try {
      (void)root.at(key).as_duration();
      ADD_FAILURE() << "expected a TypeError";
    } catch (const TypeError& e) {
      EXPECT_EQ(e.key(), key);
      EXPECT_NE(std::string(e.what()).find("expected a duration"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(root.at("ok_int").as_duration(), std::chrono::nanoseconds(9223372036s));
  EXPECT_EQ(root.at("ok_float").as_duration(), std::chrono::nanoseconds(1500ms));
}

}  // namespace
}  // namespace relive::config
