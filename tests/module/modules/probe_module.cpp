// The probe module, built in several variants by tests/module/modules/CMakeLists.txt:
//   PROBE_TAG=N            what tag() returns (which build answered)
//   PROBE_CREATE=1|2|3|4   the constructor throws | segfaults | aborts | loops forever
//   PROBE_MISSING_SYMBOL   calls a function nothing defines (dlopen RTLD_NOW fails)
//   PROBE_REJECT_STATE     refuses any previous state
//   PROBE_STATE_VERSION=N  the state version it accepts and saves (default 1)
#include <atomic>
#include <cstdlib>
#include <stdexcept>

#include "probe.hpp"

#ifndef PROBE_TAG
#define PROBE_TAG 1
#endif
#ifndef PROBE_STATE_VERSION
#define PROBE_STATE_VERSION 1
#endif

#ifdef PROBE_MISSING_SYMBOL
extern "C" void relive_test_no_such_function();
#endif

namespace {

class ProbeImpl final : public Probe {
 public:
  static constexpr std::uint32_t state_version = PROBE_STATE_VERSION;

  explicit ProbeImpl(const relive::module::PreviousState& prev) {
#if defined(PROBE_CREATE) && PROBE_CREATE == 1
    throw std::runtime_error("probe: create failed on purpose");
#elif defined(PROBE_CREATE) && PROBE_CREATE == 2
    volatile int* nowhere = nullptr;
    *nowhere = 1;
#elif defined(PROBE_CREATE) && PROBE_CREATE == 3
    std::abort();
#elif defined(PROBE_CREATE) && PROBE_CREATE == 4
    for (;;) asm volatile("");
#endif
#ifdef PROBE_MISSING_SYMBOL
    relive_test_no_such_function();
#endif
#ifdef PROBE_REJECT_STATE
    if (prev.present) throw relive::module::RejectState("probe: this build refuses the previous state");
#endif
    if (prev.present) counter_ = relive::module::read_pod<long>(prev, "probe counter");
    if (relive_test_probe_event) relive_test_probe_event(0, static_cast<const Probe*>(this), PROBE_TAG);
  }
  ~ProbeImpl() override {
    if (relive_test_probe_event) relive_test_probe_event(1, static_cast<const Probe*>(this), PROBE_TAG);
  }

  relive::module::State save_state() const { return relive::module::pod_state(state_version, counter_.load()); }

  int tag() const override { return PROBE_TAG; }
  long call(long x) override {
    counter_.fetch_add(1, std::memory_order_relaxed);
    return x * 10 + PROBE_TAG;
  }
  long counter() const override { return counter_.load(); }
#ifdef PROBE_CHANGED_INTERFACE
  void added_later() override {}
#endif

 private:
  std::atomic<long> counter_{0};
};

}  // namespace

RELIVE_MODULE(Probe, ProbeImpl)
