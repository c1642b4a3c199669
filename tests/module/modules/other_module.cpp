// A relive module for another interface: a Probe host must refuse it.
#include <relive/module_entry.hpp>

RELIVE_INTERFACE(Other,
  virtual int value() const = 0;
);

namespace {
class OtherImpl final : public Other {
 public:
  int value() const override { return 7; }
};
}  // namespace

RELIVE_MODULE(Other, OtherImpl)
