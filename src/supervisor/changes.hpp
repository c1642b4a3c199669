// changes.hpp — the changed paths of a restart cycle, named as the user names them
// (internal to the supervisor part).
//
// Example:
//   ChangeSet changes;
//   for (const auto& c : batch.changes) changes.add(user_path(cwd, c));
//   spec.env.push_back("RELIVE_CHANGED_PATHS=" + join(changes.paths, "\n"));
//   print(changes.summary() + " changed, restarting");
#pragma once

#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "relive/supervisor.hpp"
#include "relive/watch.hpp"

namespace relive::supervisor {

// The current directory, or "/" if it is gone (changed paths are shown relative to it).
std::filesystem::path current_dir();

// A changed path as the user names it: relative to `cwd`, or absolute when it lies outside
// it; never empty, never with a trailing '/' (a watched root that is a single file, or a
// re-created watched directory, is the root itself).
std::string user_path(const std::filesystem::path& cwd, const watch::PathChange& change);

// The paths of one or more batches, each once, in first-seen order.
struct ChangeSet {
  std::vector<std::string> paths;  // as user_path() names them (RELIVE_CHANGED_PATHS, JSON)
  std::set<std::string> seen;
  bool rescan = false;
  bool requested = false;  // a restart asked for by hand (`rs`), with or without paths

  // The changes of `batch` that `accept` takes (every one when it is empty), named relative
  // to `cwd`.
  static ChangeSet from(const watch::Batch& batch, const std::filesystem::path& cwd,
                        const std::function<bool(const watch::PathChange&)>& accept);

  bool empty() const { return paths.empty() && !rescan && !requested; }
  void add(std::string path);
  void merge(const ChangeSet& other);
  // "src/app.py", "src/app.py and 11 more", "files (events were lost; rescanned)"; empty
  // when nothing changed and the restart was only asked for by hand.
  std::string summary() const;
  // The Changes event: how many paths, the first kEventPaths of them.
  static constexpr size_t kEventPaths = 100;
  Event event() const;
};

std::string join(const std::vector<std::string>& parts, std::string_view sep);

}  // namespace relive::supervisor
