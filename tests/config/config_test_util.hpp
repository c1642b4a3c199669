// Helpers shared by the config tests.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "relive/config.hpp"
#include "relive/watch.hpp"
#include "test_support.hpp"

namespace relive::config::test {

using namespace relive::test;

// Whether the watch engine can run here (before it landed, open() returned an error).
inline bool watching_available() {
  static const bool available = [] {
    TempDir d;
    relive::watch::Options o;
    o.roots = {d.path()};
    return relive::watch::Watcher::open(std::move(o)).ok();
  }();
  return available;
}

#define SKIP_WITHOUT_WATCHER()                                                           \
  do {                                                                                   \
    if (!::relive::config::test::watching_available()) GTEST_SKIP() << "watch engine not available"; \
  } while (0)

// Options with the given sources, not watching (reloads by hand with Config::reload()).
inline Options manual(std::vector<std::shared_ptr<Source>> sources) {
  Options o;
  o.sources = std::move(sources);
  o.watch = false;
  return o;
}

}  // namespace relive::config::test
