// What `relive [OPTIONS] -- COMMAND` adds around the supervisor (cmd_run.cpp): the start
// banner, ignore rules for relive's own output files, the child's workdir and environment,
// desktop notifications, and following edits to relive.toml. Each piece is small and lives
// here so that cmd_run.cpp stays a thin wiring of parts. All on the supervisor's thread.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "relive/supervisor.hpp"
#include "run_options.hpp"

namespace relive::watch {
class Watcher;
struct PathChange;
}

namespace relive::cli {

// `path` as a gitignore pattern that matches exactly it (glob characters escaped).
std::string literal_ignore_pattern(const std::string& path);

// Anchored ignore rules ("/out.log") for relive's own stdout and stderr when they are
// regular files under a watched root (`relive -- app > out.log` must not restart on every
// line the program writes). The file is the one the fd is open on: /proc/self/fd/N,
// checked against the fd's device and inode.
std::vector<std::string> own_output_ignores(const std::vector<std::filesystem::path>& roots);

// Anchored ignore rule for `file` under `root` ("" when it is not under it).
std::string ignore_under(const std::filesystem::path& root, const std::filesystem::path& file);

// The start banner, one line: what is watched (roots, how many directories), which ignore
// rules apply (`user_ignores`: how many of o.ignore are the user's), what runs. Printed to
// stderr unless --quiet.
void print_banner(const RunOptions& o, size_t user_ignores, const std::vector<std::filesystem::path>& roots, const watch::Watcher& watcher);

// -e: whether a change counts, when only files with one of `exts` (without the dot) do.
// A directory never counts; a file renamed away from a matching name does.
bool change_has_ext(const watch::PathChange& change, const std::vector<std::string>& exts);

// --notify: a desktop notification through notify-send, if it is installed (returns
// false, and does nothing, when it is not). The child is reaped by the supervisor.
bool desktop_notify(const std::string& summary, const std::string& body);
bool have_notify_send();

// Follows edits to relive.toml while relive runs: an inotify watch on the file's
// directory. `on_readable()` re-reads it; an edit that parses is `changed()` (the caller
// restarts relive with the new options), one that does not is reported and ignored.
class ConfigFollower {
 public:
  static std::unique_ptr<ConfigFollower> open(std::string path, int argc, char** argv);
  ~ConfigFollower();
  ConfigFollower(const ConfigFollower&) = delete;
  ConfigFollower& operator=(const ConfigFollower&) = delete;

  int fd() const { return fd_; }
  // Reads the inotify events; returns true when the file changed and the new options
  // (relive.toml with this command line over it) are valid.
  bool on_readable();

 private:
  ConfigFollower() = default;
  int fd_ = -1;
  std::string path_, name_, content_;
  int argc_ = 0;
  char** argv_ = nullptr;
};

}  // namespace relive::cli
