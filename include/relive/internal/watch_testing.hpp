// relive/internal/watch_testing.hpp — test hooks of the watch engine. Not part of the
// API: nothing outside relive's own tests includes this.
#pragma once

#include <cstddef>

namespace relive::watch::internal {

// Watchers opened from now on behave as if fs.inotify.max_user_watches allowed only `n`
// watches per root (0, the default: the system's limit), so the out-of-watches path runs
// without exhausting the real limit. Any thread; affects every Watcher opened after it.
void limit_watches_for_testing(std::size_t n);

}  // namespace relive::watch::internal
