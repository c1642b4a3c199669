// Internal: the ignore rules files that lie outside the watched tree — `.git/info/exclude`
// and git's core.excludesFile — which the tree's own watches cannot report. Each gets one
// watch on its directory (never on all of .git/), through the root's backend; a directory
// that does not exist yet (no .git/info) is armed later, when the repository directory
// reports an entry created (VcsLock::on_event). What to do with a changed file (re-read
// it into the Matcher, reconcile the tree) is the caller's. Watcher's thread.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "backend.hpp"

namespace relive::watch::internal {

class ExternalRulesFiles {
 public:
  // Forgets every file (and its watch) and takes the Matcher's list.
  void reset(const std::vector<std::filesystem::path>& files);
  bool all_armed() const;
  // Watches the directory of each file not watched yet; appends to `armed` the files whose
  // watch was armed now. A missing directory is no error.
  void arm(Backend& backend, std::vector<std::string>& armed);
  // Appends to `changed` the files `ev` may have changed (written, created, moved in or
  // out, removed; or their directory's watch went away — then it is armed again).
  void on_event(Backend& backend, const RawEvent& ev, std::vector<std::string>& changed);

 private:
  struct File {
    std::string path;          // absolute
    std::string dir, name;     // its directory (watched) and its name there
    int wd = -1;
  };
  std::vector<File> files_;
};

}  // namespace relive::watch::internal
