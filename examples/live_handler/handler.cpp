// The live part of examples/live_handler: edit the answer below and save while the server
// runs; it rebuilds this file, tries it in a helper process and swaps it in. The request
// counter is handed from each generation to the next.
#include <atomic>
#include <string>

#include "handler_api.hpp"

namespace {

class HelloHandler final : public Handler {
 public:
  static constexpr std::uint32_t state_version = 1;

  explicit HelloHandler(const relive::module::PreviousState& previous) {
    if (previous.present) served_ = relive::module::read_pod<long>(previous, "request counter");
  }
  relive::module::State save_state() const { return relive::module::pod_state(state_version, served_.load()); }

  std::string handle(const std::string& path) override {
    const long n = ++served_;
    return "hello from the live handler, version 1 (request " + std::to_string(n) + ", path " + path + ")\n";
  }
  long served() const override { return served_.load(); }

 private:
  std::atomic<long> served_{0};
};

}  // namespace

RELIVE_MODULE(Handler, HelloHandler)
