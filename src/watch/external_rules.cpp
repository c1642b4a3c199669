#include "external_rules.hpp"

namespace relive::watch::internal {

namespace {
// A rules file's directory: whatever can leave the file with new contents, or remove it.
constexpr uint32_t kRulesDirMask = mask::kCloseWrite | mask::kCreate | mask::kDelete | mask::kMovedFrom |
                                   mask::kMovedTo | mask::kOnlyDir | mask::kMaskAdd;
}  // namespace

void ExternalRulesFiles::reset(const std::vector<std::filesystem::path>& files) {
  files_.clear();
  for (const auto& file : files) {
    files_.push_back(File{file.string(), file.parent_path().string(), file.filename().string(), -1});
  }
}

bool ExternalRulesFiles::all_armed() const {
  for (const auto& f : files_) {
    if (f.wd < 0) return false;
  }
  return true;
}

void ExternalRulesFiles::arm(Backend& backend, std::vector<std::string>& armed) {
  for (auto& f : files_) {
    if (f.wd >= 0) continue;
    f.wd = backend.add_watch(f.dir, kRulesDirMask);
    if (f.wd >= 0) armed.push_back(f.path);
  }
}

void ExternalRulesFiles::on_event(Backend& backend, const RawEvent& ev, std::vector<std::string>& changed) {
  for (auto& f : files_) {
    if (f.wd < 0 || ev.wd != f.wd) continue;
    if (ev.mask & mask::kIgnored) {
      // The directory went away (its file's rules with it), or the tree dropped the watch
      // it shared with us: re-read the file and watch again where the directory still is.
      f.wd = -1;
      changed.push_back(f.path);
      f.wd = backend.add_watch(f.dir, kRulesDirMask);
    } else if (ev.name == f.name) {
      changed.push_back(f.path);
    }
  }
}

}  // namespace relive::watch::internal
