// Helpers shared by the config tests.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "relive/config.hpp"
#include "test_support.hpp"

namespace relive::config::test {

using namespace relive::test;

// Options with the given sources, not watching (reloads by hand with Config::reload()).
inline Options manual(std::vector<std::shared_ptr<Source>> sources) {
  Options o;
  o.sources = std::move(sources);
  o.watch = false;
  return o;
}

}  // namespace relive::config::test
