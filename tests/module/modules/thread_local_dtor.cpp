// A module with a thread_local object that has a destructor, touched by call(): glibc keeps
// the library mapped until every thread that touched it has exited.
#include <string>

#include "probe.hpp"

namespace {
struct PerThread {
  std::string scratch = std::string(64, 'x');
  ~PerThread() { scratch.clear(); }
};
thread_local PerThread per_thread;

class Impl final : public Probe {
 public:
  int tag() const override { return 6; }
  long call(long x) override { return x + static_cast<long>(per_thread.scratch.size()); }
  long counter() const override { return 0; }
};
}  // namespace

RELIVE_MODULE(Probe, Impl)
