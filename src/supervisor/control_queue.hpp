// Internal: the supervisor's ordered queue of controls and the changes they carry
// (internal to the supervisor part).
//
// A restart is a short sequence run strictly in order — [Build?] Stop Start, or with
// --graceful [Build?] StartNext — so a stop never overlaps a start of the same kind and
// two builds never run at once. Changes that arrive while a sequence is under way wait
// as the "follow-up" (on-busy-update=queue) and become one sequence of their own after it.
//
// Example:
//   queue.current().merge(changes);
//   queue.push_restart(/*with_build=*/true, /*overlapped=*/false);   // Build Stop Start
//   while (auto c = queue.pop()) run(*c);
//
// Single-threaded (the run() thread).
#pragma once

#include <deque>
#include <optional>

#include "changes.hpp"

namespace relive::supervisor {

// StartNext: --graceful's overlapped start (the old program keeps running until the new
// one is ready).
enum class Control { Build, Stop, Start, StartNext };

class ControlQueue {
 public:
  // Appends one restart: Build (if `with_build`), then StartNext (if `overlapped`) or
  // Stop, Start.
  void push_restart(bool with_build, bool overlapped);
  void push_back(Control c) { controls_.push_back(c); }
  // Runs `c` next, before everything queued (StartNext falling back to Stop, Start).
  void push_front(Control c) { controls_.push_front(c); }
  std::optional<Control> pop();
  bool empty() const { return controls_.empty(); }
  bool contains(Control c) const;
  // Drops what is queued (a failed build, a shutdown); the changes stay.
  void clear() { controls_.clear(); }

  // What the next Build and Start report in RELIVE_CHANGED_PATHS.
  ChangeSet& current() { return current_; }
  // Hands the current changes to a Start and forgets them.
  ChangeSet take_current();

  // Changes that need a cycle of their own after the one under way.
  void queue_followup(const ChangeSet& changes) { followup_.merge(changes); }
  bool has_followup() const { return !followup_.empty(); }
  // The follow-up becomes the current changes (its cycle begins).
  void begin_followup();
  void drop_followup() { followup_ = ChangeSet{}; }

 private:
  std::deque<Control> controls_;
  ChangeSet current_;
  ChangeSet followup_;
};

}  // namespace relive::supervisor
