#include "vcs_lock.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

namespace relive::watch::internal {

namespace fs = std::filesystem;

namespace {
constexpr uint32_t kVcsMask =
    mask::kCreate | mask::kDelete | mask::kMovedFrom | mask::kMovedTo | mask::kOnlyDir | mask::kMaskAdd;
}  // namespace

void VcsLock::open(const std::string& dir, Backend& backend) {
  for (fs::path p(dir);; p = p.parent_path()) {
    std::string git = (p / ".git").string();
    struct stat st;
    if (::stat(git.c_str(), &st) == 0) {
      if (S_ISDIR(st.st_mode)) {
        repo_dir_ = git;
      } else {
        // A worktree or submodule: ".git" is a file saying "gitdir: <dir>".
        std::ifstream in(git);
        std::string line;
        std::getline(in, line);
        if (line.starts_with("gitdir: ")) {
          fs::path gitdir = line.substr(8);
          repo_dir_ = (gitdir.is_absolute() ? gitdir : p / gitdir).lexically_normal().string();
        }
      }
      lock_name_ = "index.lock";
      break;
    }
    std::string hg = (p / ".hg").string();
    if (::stat(hg.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      repo_dir_ = hg;
      lock_name_ = "wlock";
      break;
    }
    if (p == p.root_path() || p.empty()) break;
  }
  if (repo_dir_.empty()) return;
  read_lock();
  wd_ = backend.add_watch(repo_dir_, kVcsMask);
}

void VcsLock::read_lock() {
  struct stat st;
  // lstat: Mercurial's wlock is a symlink to "host:pid", dangling by design.
  locked_ = ::lstat((repo_dir_ + "/" + lock_name_).c_str(), &st) == 0;
}

bool VcsLock::on_event(const RawEvent& ev) {
  if (wd_ < 0 || ev.wd != wd_) return false;
  if (ev.mask & mask::kIgnored) {
    wd_ = -1;
    locked_ = false;
    return false;
  }
  if (ev.name == lock_name_) read_lock();
  return (ev.mask & (mask::kCreate | mask::kMovedTo)) != 0;
}

}  // namespace relive::watch::internal
