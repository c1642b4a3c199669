#include "subscriptions.hpp"

#include <pthread.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <new>

namespace relive::python {

void Subscriber::close() {
  closed.store(true);
  {
    py::gil_scoped_release nogil;  // unsubscribe waits for a C++ callback in flight
    subscription.reset();
  }
  if (callback) callback.release().dec_ref();
  if (last) last.release().dec_ref();
}

namespace update_queue {
namespace {

struct Queue {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<PendingUpdate> items;
  bool stopped = false;
};
// Never destroyed (C++ dispatcher threads may push during the interpreter's exit).
alignas(Queue) unsigned char storage[sizeof(Queue)];
Queue* queue = new (storage) Queue();

void prepare() { queue->mu.lock(); }
void parent() { queue->mu.unlock(); }
void child() {
  // The parent's lock and condition variable may be in any state here (a waiter of the
  // parent's is gone): build new ones, keep the queued updates.
  std::deque<PendingUpdate> items = std::move(queue->items);
  const bool stopped = queue->stopped;
  new (storage) Queue();
  queue->items = std::move(items);
  queue->stopped = stopped;
}

}  // namespace

void push(PendingUpdate update) {
  {
    std::lock_guard lock(queue->mu);
    queue->items.push_back(std::move(update));
  }
  queue->cv.notify_one();
}

std::optional<PendingUpdate> next() {
  std::optional<PendingUpdate> out;
  {
    py::gil_scoped_release nogil;
    std::unique_lock lock(queue->mu);
    for (;;) {
      queue->cv.wait(lock, [] { return queue->stopped || !queue->items.empty(); });
      if (queue->stopped) break;
      out.emplace(std::move(queue->items.front()));
      queue->items.pop_front();
      if (!out->subscriber || !out->subscriber->closed.load()) break;
      // Dropped here without the GIL: a closed subscriber holds no Python objects.
      out.reset();
    }
  }
  return out;
}

void stop() {
  {
    std::lock_guard lock(queue->mu);
    queue->stopped = true;
  }
  queue->cv.notify_all();
}

void install_fork_handlers() { pthread_atfork(prepare, parent, child); }

}  // namespace update_queue

py::object deliver(PendingUpdate& pending) {
  if (!pending.subscriber) return py::make_tuple(pending.log_level, pending.log_text);
  Subscriber& sub = *pending.subscriber;
  if (sub.closed.load() || !sub.callback) return py::none();
  py::object fresh = sub.cache->get(pending.update.snapshot);
  py::list changes;
  for (const config::KeyChange& c : pending.update.changes) {
    py::str key(c.key);
    auto value_in = [&](const py::object& snap) -> py::object {
      if (!snap) return py::none();
      PyObject* v = PyDict_GetItemWithError(snap.ptr(), key.ptr());
      if (!v) {
        if (PyErr_Occurred()) throw py::error_already_set();
        return py::none();
      }
      return py::reinterpret_borrow<py::object>(v);
    };
    changes.append(types().change(key, value_in(sub.last), value_in(fresh)));
  }
  sub.last = fresh;
  py::object update = types().update(pending.update.version, changes, fresh);
  return py::make_tuple(sub.callback, update);
}

}  // namespace relive::python
