#include "coalescer.hpp"

namespace relive::watch::internal {

namespace {
std::string key_of(uint32_t root, std::string_view path) {
  std::string key;
  key.reserve(path.size() + 4);
  key.append(reinterpret_cast<const char*>(&root), sizeof root);
  key.append(path);
  return key;
}
}  // namespace

Coalescer::Entry& Coalescer::entry(uint32_t root, std::string_view path, bool is_dir, bool existed_before) {
  auto [it, inserted] = index_.try_emplace(key_of(root, path), entries_.size());
  if (inserted) {
    entries_.push_back(Entry{root, std::string(path), existed_before, existed_before, is_dir});
  }
  Entry& e = entries_[it->second];
  e.is_dir = is_dir;
  return e;
}

void Coalescer::created(uint32_t root, std::string_view path, bool is_dir, bool existed_before) {
  Entry& e = entry(root, path, is_dir, existed_before);
  e.exists_now = true;
}

void Coalescer::modified(uint32_t root, std::string_view path, bool is_dir) {
  Entry& e = entry(root, path, is_dir, /*existed_before=*/true);
  e.exists_now = true;
}

void Coalescer::removed(uint32_t root, std::string_view path, bool is_dir) {
  Entry& e = entry(root, path, is_dir, /*existed_before=*/true);
  e.exists_now = false;
  e.renamed_from = -1;
}

void Coalescer::renamed(uint32_t root, std::string_view from, std::string_view to, bool is_dir, bool to_existed) {
  removed(root, from, is_dir);
  int64_t from_index = static_cast<int64_t>(index_.at(key_of(root, from)));
  bool fresh = index_.find(key_of(root, to)) == index_.end();
  Entry& e = entry(root, to, is_dir, to_existed);
  e.exists_now = true;
  // Only a target that did not exist before the batch can be "the same thing, renamed".
  e.renamed_from = (fresh && !to_existed) ? from_index : -1;
}

void Coalescer::mark_rescan(std::string reason) {
  rescan_ = true;
  rescan_reason_ = std::move(reason);
}

bool Coalescer::has_gone_paths() const {
  // A file gone together with its directory (`rm -rf old/`, a ConfigMap's previous
  // timestamped directory) is not a save in progress: nothing will be written back there.
  // Newest first: while a tree is being removed, its latest files' directories still
  // exist, so the answer comes from the first entries looked at.
  for (auto e = entries_.rbegin(); e != entries_.rend(); ++e) {
    if (is_gone(*e) && !e->is_dir && !in_gone_directory(*e)) return true;
  }
  return false;
}

bool Coalescer::in_gone_directory(const Entry& e) const {
  for (auto slash = e.path.rfind('/'); slash != std::string::npos && slash > 0; slash = e.path.rfind('/', slash - 1)) {
    auto it = index_.find(key_of(e.root, std::string_view(e.path).substr(0, slash)));
    if (it != index_.end() && is_gone(entries_[it->second])) return true;
  }
  return false;
}

bool Coalescer::only_new_directories() const {
  if (entries_.empty() || rescan_) return false;
  for (const auto& e : entries_) {
    if (!(e.is_dir && !e.existed_before && e.exists_now)) return false;
  }
  return true;
}

Batch Coalescer::take(const std::vector<std::filesystem::path>& roots) {
  Batch batch;
  batch.rescan = rescan_;
  batch.rescan_reason = rescan_reason_;
  std::vector<bool> consumed(entries_.size(), false);
  auto final_state = [](const Entry& e) -> int {  // 0 nothing, 1 created, 2 modified, 3 removed
    if (!e.existed_before) return e.exists_now ? 1 : 0;
    return e.exists_now ? 2 : 3;
  };
  for (const auto& e : entries_) {
    if (e.renamed_from >= 0 && final_state(e) == 1 && final_state(entries_[static_cast<size_t>(e.renamed_from)]) == 3) {
      consumed[static_cast<size_t>(e.renamed_from)] = true;
    }
  }
  batch.changes.reserve(entries_.size());
  for (size_t i = 0; i < entries_.size(); ++i) {
    const Entry& e = entries_[i];
    int state = final_state(e);
    if (state == 0 || consumed[i]) continue;
    PathChange change;
    change.root = roots.at(e.root);
    change.path = e.path;
    change.is_dir = e.is_dir;
    if (state == 1 && e.renamed_from >= 0 && consumed[static_cast<size_t>(e.renamed_from)]) {
      change.change = Change::Renamed;
      change.old_path = entries_[static_cast<size_t>(e.renamed_from)].path;
    } else {
      change.change = state == 1 ? Change::Created : state == 2 ? Change::Modified : Change::Removed;
    }
    batch.changes.push_back(std::move(change));
  }
  entries_.clear();
  index_.clear();
  rescan_ = false;
  rescan_reason_.clear();
  return batch;
}

}  // namespace relive::watch::internal
