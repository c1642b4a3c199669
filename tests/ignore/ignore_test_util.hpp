// Helpers for the ignore tests: a Matcher over a TempDir with chosen sources, and a scoped
// environment variable (for git's config lookup).
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "relive/ignore.hpp"
#include "test_support.hpp"

namespace relive::ignore::testing {

inline Options only_vcs() {
  Options o;
  o.default_ignores = false;
  o.reloadignore = false;
  o.excludes_file = "/nonexistent/relive-test-global-ignore";
  return o;
}

inline std::unique_ptr<Matcher> open_ok(const std::filesystem::path& root, const Options& o) {
  auto m = Matcher::open(root, o);
  EXPECT_TRUE(m) << (m ? "" : m.error().message);
  return m ? std::move(*m) : nullptr;
}

class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::optional<std::string>& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) setenv(name, value->c_str(), 1);
    else unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_) setenv(name_, old_->c_str(), 1);
    else unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

}  // namespace relive::ignore::testing
