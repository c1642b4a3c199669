#include "module_test_util.hpp"

#include <dirent.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "sanitizers.hpp"
#if RELIVE_TEST_ASAN
#include <sanitizer/allocator_interface.h>
#endif

extern "C" [[gnu::visibility("default")]] void relive_test_probe_event(int event, const void* instance, int tag) {
  relive::test::ProbeTracker::get().event(event, instance, tag);
}

namespace relive::test {

fs::path module_file(const std::string& name) { return fs::path(RELIVE_TEST_MODULES_DIR) / ("lib" + name + ".so"); }

module::Options probe_options(const TempDir& dir, const fs::path& file, std::vector<std::string>* messages,
                              std::chrono::milliseconds timeout) {
  module::Options o;
  o.path = file;
  o.preflight_helper = RELIVE_TEST_PREFLIGHT;
  o.preflight_timeout = timeout;
  o.stage_directory = dir / "stage";
  if (messages) {
    auto mu = std::make_shared<std::mutex>();
    o.on_message = [messages, mu](const std::string& m) {
      std::lock_guard<std::mutex> lock(*mu);
      messages->push_back(m);
    };
  } else {
    o.on_message = [](const std::string&) {};
  }
  return o;
}

std::unique_ptr<module::Module<Probe>> open_probe(module::Options options) {
  auto m = module::Module<Probe>::open(std::move(options));
  if (!m) {
    ADD_FAILURE() << "open failed: " << m.error().message;
    return nullptr;
  }
  return std::move(*m);
}

std::size_t files_in(const fs::path& dir) {
  std::error_code ec;
  std::size_t n = 0;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) ++n;
  return n;
}

std::size_t file_mapping_count() {
  std::ifstream in("/proc/self/maps");
  std::string line;
  std::size_t n = 0;
  while (std::getline(in, line)) n += line.find(" /") != std::string::npos;
  return n;
}

std::size_t mapping_count() {
  if (under_asan()) return file_mapping_count();
  std::ifstream in("/proc/self/maps");
  std::string line;
  std::size_t n = 0;
  while (std::getline(in, line)) ++n;
  return n;
}

bool under_asan() {
#if RELIVE_TEST_ASAN
  return true;
#else
  return false;
#endif
}

std::size_t mappings_of(const std::string& needle) {
  std::ifstream in("/proc/self/maps");
  std::string line;
  std::size_t n = 0;
  while (std::getline(in, line)) n += line.find(needle) != std::string::npos;
  return n;
}

std::size_t open_fd_count() { return files_in("/proc/self/fd"); }

std::size_t memory_in_use() {
#if RELIVE_TEST_ASAN
  return __sanitizer_get_current_allocated_bytes();
#else
  std::ifstream in("/proc/self/statm");
  std::size_t size = 0, resident = 0;
  in >> size >> resident;
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
#endif
}

ProbeTracker& ProbeTracker::get() {
  static ProbeTracker* t = new ProbeTracker;  // never destroyed: probes may report at exit
  return *t;
}

void ProbeTracker::event(int event, const void* instance, int tag) {
  std::lock_guard<std::mutex> lock(mu_);
  if (event == 0) {
    lives_.push_back({instance, tag, 0});
    return;
  }
  for (auto it = lives_.rbegin(); it != lives_.rend(); ++it) {
    if (it->instance == instance) {
      if (it->destroyed++ != 0) ++double_destroys_;
      return;
    }
  }
  ++double_destroys_;  // destroyed without being created: as bad
}

bool ProbeTracker::alive(const void* instance) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = lives_.rbegin(); it != lives_.rend(); ++it) {
    if (it->instance == instance) return it->destroyed == 0;
  }
  return false;
}

std::vector<ProbeLife> ProbeTracker::lives() {
  std::lock_guard<std::mutex> lock(mu_);
  return lives_;
}

void ProbeTracker::clear() {
  std::lock_guard<std::mutex> lock(mu_);
  lives_.clear();
  double_destroys_ = 0;
}

std::size_t ProbeTracker::double_destroys() {
  std::lock_guard<std::mutex> lock(mu_);
  return double_destroys_;
}

Process::Options with_preflight_env() {
  Process::Options o;
  o.env.push_back(std::string("RELIVE_MODULE_PREFLIGHT=") + RELIVE_TEST_PREFLIGHT);
  return o;
}

bool reclaim_all() {
  return eventually([] { return relive::reclaim_retired() == 0; }, std::chrono::seconds(10));
}

}  // namespace relive::test
