// relive/watch.hpp — recursive watching of directory trees that misses nothing and wastes
// nothing: inotify, with a polling fallback.
//
// A Watcher reports *batches*: the events of one save (or one `git checkout`) coalesced,
// each path once with its final state. Ignored directories (relive/ignore.hpp) are never
// descended into and cost no watch. Lost events (queue overflow) end in a rescan that the
// consumer is told about. Running out of inotify watches is reported once and the rest is
// polled. Idle costs nothing: no timer runs while nothing happens.
//
// Two ways to use it:
//   // 1. Its own thread, with a callback:
//   auto w = relive::watch::Watcher::open({.roots = {"src"}});
//   (*w)->start([](const relive::watch::Batch& b) { for (auto& c : b.changes) ...; });
//   ...; (*w)->stop();
//
//   // 2. The caller's poll loop: wait for fd() to be readable, then call read_batches().
//   pollfd p{(*w)->fd(), POLLIN, 0};
//   while (poll(&p, 1, -1) > 0) for (auto& b : (*w)->read_batches()) handle(b);
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "relive/error.hpp"
#include "relive/ignore.hpp"

namespace relive::watch {

enum class Change { Created, Modified, Removed, Renamed };
const char* to_string(Change change);  // "created", "modified", "removed", "renamed"

struct PathChange {
  std::filesystem::path root;  // the watched root this path is under, as given in Options
  std::string path;            // relative to root, '/'-separated
  Change change = Change::Modified;
  std::string old_path;        // for Renamed: where it was (relative to root)
  bool is_dir = false;

  // root/path as one path; the root itself when `path` is empty (a root that is a single
  // file, or a root directory that was removed or re-created).
  std::filesystem::path full_path() const { return path.empty() ? root : root / path; }
};

struct Batch {
  std::vector<PathChange> changes;   // each path once, in first-seen order
  bool rescan = false;               // events were lost; consumers should treat all as changed
  std::string rescan_reason;         // e.g. "events were lost (inotify queue overflow)"
};

struct Options {
  std::vector<std::filesystem::path> roots{"."};  // directories (or single files) to watch
  ignore::Options ignore;                          // rules applied under every root
  // Force polling at this interval (network filesystems, container mounts).
  std::optional<std::chrono::milliseconds> poll_interval;
  // Coalescing: a batch is delivered once no event arrived for `quiet` (adaptive within
  // [quiet, max_quiet] while events keep coming), and at most `max_delay` after its first
  // event. Events are held while a VCS lock (.git/index.lock, ...) exists.
  std::chrono::milliseconds quiet{5};
  std::chrono::milliseconds max_quiet{50};
  std::chrono::milliseconds max_delay{1000};
  // One-line warnings meant for the user (ENOSPC, unreadable directory, bad ignore rule
  // after a reload). Default: printed to stderr prefixed "relive: ".
  std::function<void(const std::string&)> on_warning;
  // How often directories that could not get an inotify watch (out of watches) are polled.
  std::chrono::milliseconds fallback_poll_interval{1000};
  // While a VCS lock exists, events are held for at most this long (a stale lock left by a
  // crashed git must not silence the watcher forever).
  std::chrono::milliseconds max_vcs_hold{10000};
  // Also watch the directories that symlinks inside a root point to, when they lie outside
  // every root (changes through `inner/linked/a.py` are reported under that path). A link
  // whose target is an ancestor or a descendant of the root, or of another followed
  // target, is not followed (no loops, no watch twice). Links present at the start or at
  // a rescan are followed; with inotify only (polling does not follow).
  bool follow_symlinks = false;
};

class Watcher {
 public:
  // Sets up watches on every root (after which no change is missed) and returns.
  // Fails if a root does not exist or its ignore rules are invalid.
  static Result<std::unique_ptr<Watcher>> open(Options options);
  virtual ~Watcher() = default;

  // Poll-loop use: an fd that becomes readable when read_batches() has work to do.
  virtual int fd() const = 0;
  // Non-blocking: processes pending events and returns the batches that are complete.
  virtual std::vector<Batch> read_batches() = 0;

  // Thread use: runs the loop on a thread of its own; `on_batch` is called on that thread,
  // one batch at a time, in order. stop() (or destruction) ends and joins the thread.
  virtual void start(std::function<void(const Batch&)> on_batch) = 0;
  virtual void stop() = 0;

  // How many inotify watches are in use, and how many directories are polled instead, as
  // of the last processed events (updated before batches are handed out). Any thread.
  virtual size_t watch_count() const = 0;
  virtual size_t polled_count() const = 0;
};

}  // namespace relive::watch
