// Internal: turns the raw events of one burst (a save, a checkout) into one Batch in which
// each path appears once with its final state.
//
// The rule: a path's final state depends only on whether it existed when the batch began
// and whether it exists now. created+modified = created, created+removed = nothing,
// modified+removed = removed, removed+created = modified (an editor's replace-on-save).
// A rename pairs two paths; it is reported as one Renamed only if the source is gone at the
// end and the target is new, otherwise as the separate final states of both.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "relive/watch.hpp"

namespace relive::watch::internal {

class Coalescer {
 public:
  // `existed_before`: the path was already there (e.g. a rename replaced an existing file).
  void created(uint32_t root, std::string_view path, bool is_dir, bool existed_before = false);
  void modified(uint32_t root, std::string_view path, bool is_dir);
  void removed(uint32_t root, std::string_view path, bool is_dir);
  void renamed(uint32_t root, std::string_view from, std::string_view to, bool is_dir, bool to_existed);
  void mark_rescan(std::string reason);

  bool empty() const { return entries_.empty() && !rescan_; }
  // Some path that existed is gone for now: the middle of a replace-on-save (vim renames
  // app.py away before writing the new one), so the batch is worth holding a little longer.
  bool has_gone_paths() const;
  // Nothing but new directories so far: `mkdir -p a/b && touch a/b/f` is about to add the
  // file (after a fork and exec the quiet window may not cover).
  bool only_new_directories() const;
  size_t size() const { return entries_.size(); }

  // The finished batch (possibly with no changes when everything cancelled out); resets.
  Batch take(const std::vector<std::filesystem::path>& roots);

 private:
  struct Entry {
    uint32_t root;
    std::string path;
    bool existed_before;
    bool exists_now;
    bool is_dir;
    int64_t renamed_from = -1;  // index of the source entry of a paired rename
  };
  Entry& entry(uint32_t root, std::string_view path, bool is_dir, bool existed_before);
  static bool is_gone(const Entry& e) { return e.existed_before && !e.exists_now; }
  // Some directory above `e` (in the same root) is gone in this batch.
  bool in_gone_directory(const Entry& e) const;

  std::vector<Entry> entries_;                       // first-seen order
  std::unordered_map<std::string, size_t> index_;    // root byte + path -> entries_ index
  bool rescan_ = false;
  std::string rescan_reason_;
};

}  // namespace relive::watch::internal
