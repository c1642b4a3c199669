#include "symlinks.hpp"

#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

namespace relive::watch::internal {

namespace fs = std::filesystem;

namespace {

// `path` relative to `base` if it lies inside it ("" for base itself).
bool relative_inside(const fs::path& path, const std::string& base, std::string& out) {
  fs::path rel = path.lexically_relative(base);
  if (rel.empty()) return false;
  std::string s = rel.generic_string();
  if (s == ".") s.clear();
  if (s == ".." || s.starts_with("../")) return false;
  out = std::move(s);
  return true;
}

bool inside(const std::string& x, const std::string& base) {
  return x == base || (x.size() > base.size() && x.starts_with(base) && (base == "/" || x[base.size()] == '/'));
}

bool overlaps(const std::string& a, const std::string& b) { return inside(a, b) || inside(b, a); }

}  // namespace

void LinkDependents::set_root(std::string dir_abs, std::string root_canonical) {
  dir_abs_ = std::move(dir_abs);
  root_canonical_ = std::move(root_canonical);
}

void LinkDependents::track(const std::string& rel, const std::string& link_abs, const std::string& parent_abs) {
  char buf[PATH_MAX];
  ssize_t n = ::readlink(link_abs.c_str(), buf, sizeof buf);
  if (n <= 0) return;
  std::string target(buf, static_cast<size_t>(n));
  Link link{rel, {}};
  std::string dep;
  fs::path lexical = target.front() == '/' ? fs::path(target) : fs::path(parent_abs) / target;
  lexical = lexical.lexically_normal();
  if (relative_inside(lexical, dir_abs_, dep) || relative_inside(lexical, root_canonical_, dep)) {
    link.deps.push_back(dep);
  }
  char real[PATH_MAX];
  if (::realpath(link_abs.c_str(), real) && relative_inside(fs::path(real), root_canonical_, dep)) {
    if (std::find(link.deps.begin(), link.deps.end(), dep) == link.deps.end()) link.deps.push_back(dep);
  }
  untrack(rel);
  if (!link.deps.empty()) links_.push_back(std::move(link));
}

void LinkDependents::untrack(std::string_view rel) {
  std::erase_if(links_, [&](const Link& l) { return l.rel == rel; });
}

std::vector<std::string> LinkDependents::dependents_of(std::string_view changed) const {
  std::vector<std::string> hit;
  for (const Link& link : links_) {
    if (link.rel == changed) continue;
    for (const std::string& dep : link.deps) {
      if (dep == changed || (dep.size() > changed.size() && dep.starts_with(changed) && dep[changed.size()] == '/')) {
        hit.push_back(link.rel);
        break;
      }
    }
  }
  return hit;
}

std::string FollowedDirs::target_of(const std::string& link_abs) const {
  std::error_code ec;
  fs::path target = fs::canonical(link_abs, ec);
  if (ec || !fs::is_directory(target, ec)) return "";
  std::string t = target.string();
  if (overlaps(t, root_canonical_)) return "";  // inside the tree (watched already) or around it (a loop)
  for (const auto& f : followed_) {
    if (overlaps(t, f)) return "";
  }
  return t;
}

void FollowedDirs::remove(const std::string& target) { std::erase(followed_, target); }

}  // namespace relive::watch::internal
