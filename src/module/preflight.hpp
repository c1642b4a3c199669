// Internal: the host's side of the preflight — spawning relive-module-preflight on a
// staged module and reading its verdict (the helper's protocol is described in
// tools/relive-module-preflight/main.cpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include "identity_check.hpp"
#include "relive/module.hpp"

namespace relive::module::detail {

struct PreflightRequest {
  std::filesystem::path helper;
  std::filesystem::path module;
  std::string interface_name;        // "" = do not check the interface
  std::uint64_t interface_hash = 0;  // 0 = check the name only
  const State* state = nullptr;      // handed to create(); null = none
  std::chrono::milliseconds timeout{10000};
  std::size_t memory_limit = 0;      // RLIMIT_AS in bytes; 0 = none
};

struct PreflightVerdict {
  Problem problem;
  bool unloads = true;   // the helper saw the module leave its address space after dlclose
  std::string output;    // what the module printed (tail)
  double elapsed_us = 0;
};

PreflightVerdict run_preflight(const PreflightRequest& request);

// The helper to use: `configured` if set, else $RELIVE_MODULE_PREFLIGHT, else next to the
// running executable, else the path relive was built with. Empty if none exists; `looked`
// lists where it looked.
std::filesystem::path find_preflight_helper(const std::filesystem::path& configured, std::string* looked);

}  // namespace relive::module::detail
