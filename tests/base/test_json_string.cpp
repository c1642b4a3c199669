// json_string: the one JSON string escaper shared by config and the command.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

#include "relive/internal/json_string.hpp"

namespace {

TEST(JsonString, QuotesAndEscapesWhatJsonRequires) {
  EXPECT_EQ(relive::internal::json_string(""), R"("")");
  EXPECT_EQ(relive::internal::json_string("src/app.py"), R"("src/app.py")");
  EXPECT_EQ(relive::internal::json_string("say \"hi\"\\now"), R"("say \"hi\"\\now")");
  EXPECT_EQ(relive::internal::json_string("a\nb\tc\rd"), R"("a\nb\tc\rd")");
  EXPECT_EQ(relive::internal::json_string(std::string("\x01\x1f\0", 3)), R"("\u0001\u001f\u0000")");
  // UTF-8 and DEL pass through unchanged.
  EXPECT_EQ(relive::internal::json_string("caf\xc3\xa9\x7f"), "\"caf\xc3\xa9\x7f\"");
}

TEST(JsonString, AppendsToWhatIsThere) {
  std::string out = "{\"k\":";
  relive::internal::append_json_string(out, "v");
  EXPECT_EQ(out, R"({"k":"v")");
}

TEST(JsonString, EveryAsciiByteRoundTripsThroughAJsonParser) {
  std::string all;
  for (int c = 0; c < 0x80; ++c) all += static_cast<char>(c);
  auto parsed = nlohmann::json::parse(relive::internal::json_string(all));
  ASSERT_TRUE(parsed.is_string());
  EXPECT_EQ(parsed.get<std::string>(), all);
}

}  // namespace
