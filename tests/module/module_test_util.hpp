// Shared by the module tests: where the built probe modules are, opening a Probe host with
// a private stage directory, the lifetime tracker the probes report to, and counters of
// this process's mappings, fds and memory.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "probe.hpp"
#include "relive/module.hpp"
#include "test_support.hpp"

namespace relive::test {

// lib<name>.so as built from tests/module/modules.
fs::path module_file(const std::string& name);

// Options for a Probe host on `file`: the built preflight helper, a stage directory inside
// `dir`, messages collected into `messages` (if given), preflight timeout `timeout`.
module::Options probe_options(const TempDir& dir, const fs::path& file, std::vector<std::string>* messages = nullptr,
                              std::chrono::milliseconds timeout = std::chrono::seconds(20));

// Opens it; fails the test (fatal) when that does not work.
std::unique_ptr<module::Module<Probe>> open_probe(module::Options options);

// Files now in a directory (0 if it does not exist).
std::size_t files_in(const fs::path& dir);
// Lines of /proc/self/maps that map a file (a library left loaded shows there), open fds.
std::size_t file_mapping_count();
// All lines of /proc/self/maps; under AddressSanitizer only the file-backed ones (its
// allocator maps anonymous regions as the heap and its quarantine grow).
std::size_t mapping_count();
std::size_t mappings_of(const std::string& needle);
std::size_t open_fd_count();
// The process's memory as a leak check sees it: resident bytes (/proc/self/statm); under
// AddressSanitizer the heap bytes in use instead, because ASan keeps freed blocks resident
// in its quarantine (hundreds of MiB by design) and RSS would measure that.
std::size_t memory_in_use();

bool under_asan();

// Lifetime records of every probe instance (from relive_test_probe_event).
struct ProbeLife {
  const void* instance;
  int tag;
  int destroyed;  // times destroyed (must end up 1)
};
class ProbeTracker {
 public:
  static ProbeTracker& get();
  void event(int event, const void* instance, int tag);
  // Whether `instance` is a live (created, not yet destroyed) probe.
  bool alive(const void* instance);
  std::vector<ProbeLife> lives();
  void clear();
  std::size_t double_destroys();

 private:
  std::mutex mu_;
  std::vector<ProbeLife> lives_;
  std::size_t double_destroys_ = 0;
};

// Process options with RELIVE_MODULE_PREFLIGHT naming the built helper.
Process::Options with_preflight_env();

// Pumps the Cell reclaimer until no retired generation is pending (or 10 s).
bool reclaim_all();

}  // namespace relive::test
