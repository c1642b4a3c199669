// The changed paths of a restart cycle (changes.hpp).
#include "changes.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace relive::supervisor {

std::filesystem::path current_dir() {
  std::error_code ec;
  auto cwd = std::filesystem::current_path(ec);
  return ec ? std::filesystem::path("/") : cwd;
}

std::string user_path(const std::filesystem::path& cwd, const watch::PathChange& change) {
  std::filesystem::path full = change.full_path();
  if (full.is_relative()) full = cwd / full;
  full = full.lexically_normal();
  if (full.filename().empty() && full.has_parent_path() && full != full.root_path()) full = full.parent_path();
  auto rel = full.lexically_relative(cwd);
  if (!rel.empty() && *rel.begin() != "..") return rel.generic_string();
  return full.generic_string();
}

void ChangeSet::add(std::string path) {
  if (seen.insert(path).second) paths.push_back(std::move(path));
}

ChangeSet ChangeSet::from(const watch::Batch& batch, const std::filesystem::path& cwd,
                          const std::function<bool(const watch::PathChange&)>& accept) {
  ChangeSet changes;
  changes.rescan = batch.rescan;
  for (const auto& c : batch.changes) {
    if (accept && !accept(c)) continue;
    changes.add(user_path(cwd, c));
  }
  return changes;
}

Event ChangeSet::event() const {
  Event e{.kind = Event::Kind::Changes, .path_count = paths.size(), .rescan = rescan};
  e.paths.assign(paths.begin(), paths.begin() + static_cast<long>(std::min(paths.size(), kEventPaths)));
  return e;
}

void ChangeSet::merge(const ChangeSet& other) {
  for (const auto& p : other.paths) add(p);
  rescan = rescan || other.rescan;
  requested = requested || other.requested;
}

std::string ChangeSet::summary() const {
  if (paths.empty() && !rescan && requested) return "";
  if (paths.empty()) return rescan ? "files (events were lost; rescanned)" : "files";
  if (paths.size() == 1) return paths[0];
  return fmt::format("{} and {} more", paths[0], paths.size() - 1);
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

}  // namespace relive::supervisor
