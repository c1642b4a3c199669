// A module whose entry point claims a module ABI version this relive does not speak (a
// module built against a future relive/module.hpp): the host must refuse it.
#include "probe.hpp"

namespace {
class Impl final : public Probe {
 public:
  int tag() const override { return 99; }
  long call(long x) override { return x; }
  long counter() const override { return 0; }
};

constexpr relive::module::Entry future_entry() {
  relive::module::Entry e = relive::module::entry_internal::make_entry<Probe, Impl>("future");
  e.identity.abi_version = 99;
  return e;
}
}  // namespace

extern "C" {
[[gnu::visibility("default")]] extern const relive::module::Entry relive_module_entry_v1;
const relive::module::Entry relive_module_entry_v1 = future_entry();
}
