#include <gtest/gtest.h>

#include <cerrno>

#include "relive/error.hpp"

namespace {

relive::Result<int> parse_positive(int v) {
  if (v <= 0) return relive::Error{"expected a positive number, got " + std::to_string(v)};
  return v;
}

TEST(Result, CarriesValueOrError) {
  auto good = parse_positive(3);
  ASSERT_TRUE(good);
  EXPECT_EQ(*good, 3);
  auto bad = parse_positive(-1);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "expected a positive number, got -1");
}

TEST(Result, VoidResult) {
  relive::Result<void> ok;
  EXPECT_TRUE(ok);
  relive::Result<void> failed = relive::Error{"nope"};
  EXPECT_FALSE(failed);
  EXPECT_EQ(failed.error().message, "nope");
}

TEST(ErrnoMessage, NamesWhatFailedAndWhy) {
  EXPECT_EQ(relive::errno_message(ENOENT, "open /x"), "open /x: No such file or directory");
}

}  // namespace
