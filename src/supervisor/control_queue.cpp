// The supervisor's ordered queue of controls (control_queue.hpp).
#include "control_queue.hpp"

#include <algorithm>

namespace relive::supervisor {

void ControlQueue::push_restart(bool with_build, bool overlapped) {
  if (with_build) controls_.push_back(Control::Build);
  if (overlapped) {
    controls_.push_back(Control::StartNext);
  } else {
    controls_.push_back(Control::Stop);
    controls_.push_back(Control::Start);
  }
}

std::optional<Control> ControlQueue::pop() {
  if (controls_.empty()) return std::nullopt;
  Control c = controls_.front();
  controls_.pop_front();
  return c;
}

bool ControlQueue::contains(Control c) const { return std::find(controls_.begin(), controls_.end(), c) != controls_.end(); }

ChangeSet ControlQueue::take_current() {
  ChangeSet taken = std::move(current_);
  current_ = ChangeSet{};
  return taken;
}

void ControlQueue::begin_followup() {
  current_.merge(followup_);
  followup_ = ChangeSet{};
}

}  // namespace relive::supervisor
