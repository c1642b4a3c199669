// subscriptions.hpp — Config.subscribe() for Python: the C++ Config's dispatcher thread only
// queues each update here (no GIL, so it never waits on Python and fork() never finds it
// holding the Config's locks while it waits for the GIL); one Python thread per process
// (relive's "relive-subscribers" thread, see relive/__init__.py) takes them in publish order
// and calls the callbacks, holding the GIL only while they run.
#pragma once

#include <pybind11/pybind11.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "convert.hpp"
#include "relive/config.hpp"

namespace relive::python {

// One subscription. Its Python objects are dropped under the GIL by close(), so the last
// reference to it may be released anywhere.
struct Subscriber {
  std::string prefix;
  py::object callback;
  py::object last;                       // the relive.Snapshot the previous update showed
  std::shared_ptr<SnapshotCache> cache;  // the Config's (shared by its subscribers)
  config::Subscription subscription;
  std::atomic<bool> closed{false};

  // GIL held. Ends the C++ subscription (releasing the GIL while it waits for a callback
  // in flight) and drops the Python objects.
  void close();
};

// A queued update for one subscriber, or (no subscriber) a line the C++ Config logged,
// for the `logging` logger "relive.config" (see log_bridge.hpp).
struct PendingUpdate {
  std::shared_ptr<Subscriber> subscriber;
  config::Update update;
  int log_level = 0;  // logging's levels: 10 debug ... 50 critical
  std::string log_text;
};

// The process-wide queue between C++ dispatcher threads and the Python subscriber thread.
namespace update_queue {
// Any thread, no GIL needed; never blocks on Python.
void push(PendingUpdate update);
// GIL held; releases it while waiting. The next update of a live subscriber, or nullopt
// once stop() was called.
std::optional<PendingUpdate> next();
// Any thread: next() returns nullopt from now on (interpreter exit).
void stop();
// Makes the queue survive fork(): its lock is held across fork() and the child gets a
// fresh lock and condition variable. Call once, before any Config opens (so that this
// prepare handler runs after the Config's own, which takes the dispatcher's lock first).
void install_fork_handlers();
}  // namespace update_queue

// GIL held. The (callback, relive.Update) for a queued update, (level, text) for a log
// line, or None for a subscriber closed meanwhile.
py::object deliver(PendingUpdate& pending);

}  // namespace relive::python
