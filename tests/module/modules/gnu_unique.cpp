// A module built WITHOUT relive_add_module (default visibility, GNU unique objects on):
// the static in the inline function becomes an STB_GNU_UNIQUE symbol, which glibc never
// unloads. The host must say "will not unload" and strict mode must refuse it.
#include "probe.hpp"

inline long& shared_calls() {
  static long calls = 0;
  return calls;
}

namespace {
class Impl final : public Probe {
 public:
  int tag() const override { return 5; }
  long call(long x) override { return x + ++shared_calls(); }
  long counter() const override { return shared_calls(); }
};
}  // namespace

RELIVE_MODULE(Probe, Impl)
