// Internal: test hooks into a Supervisor (internal to the supervisor part and its tests).
#pragma once

#include "relive/supervisor.hpp"
#include "relive/watch.hpp"

namespace relive::supervisor {

struct SupervisorAccess {
  // Queues a restart as if `batch` had come from the watcher. Call on the run() thread
  // (e.g. from an ExtraFd callback).
  static void on_batch(Supervisor& sup, const watch::Batch& batch);
};

}  // namespace relive::supervisor
