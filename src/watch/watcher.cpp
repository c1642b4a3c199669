// STUB — replaced by the watch implementation.
#include "relive/watch.hpp"

namespace relive::watch {
const char* to_string(Change change) {
  switch (change) {
    case Change::Created: return "created";
    case Change::Modified: return "modified";
    case Change::Removed: return "removed";
    case Change::Renamed: return "renamed";
  }
  return "?";
}
Result<std::unique_ptr<Watcher>> Watcher::open(Options) { return Error{"watch: not implemented yet"}; }
}  // namespace relive::watch
