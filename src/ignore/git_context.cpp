#include "git_context.hpp"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace relive::ignore::detail {
namespace fs = std::filesystem;
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

bool env_true(const char* name) {
  std::string v = env(name);
  for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return v == "1" || v == "true" || v == "yes" || v == "on";
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string trim(std::string_view s) {
  const char* ws = " \t\r\n";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(ws);
  return std::string(s.substr(b, e - b + 1));
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The value part of a git config line (after '='): quotes removed, escapes resolved,
// an unquoted '#' or ';' starts a comment, unquoted trailing blanks dropped.
std::string config_value(std::string_view v) {
  std::string out;
  size_t keep = 0;  // length without unquoted trailing blanks
  bool quoted = false;
  size_t i = 0;
  while (i < v.size() && (v[i] == ' ' || v[i] == '\t')) ++i;
  for (; i < v.size(); ++i) {
    char c = v[i];
    if (c == '"') {
      quoted = !quoted;
      keep = out.size();
      continue;
    }
    if (!quoted && (c == '#' || c == ';')) break;
    if (c == '\\' && i + 1 < v.size()) {
      char n = v[++i];
      out.push_back(n == 'n' ? '\n' : n == 't' ? '\t' : n == 'b' ? '\b' : n);
      keep = out.size();
      continue;
    }
    out.push_back(c);
    if (quoted || (c != ' ' && c != '\t' && c != '\r')) keep = out.size();
  }
  out.resize(keep);
  return out;
}

// Applies `file`'s core.excludesFile, if set, to `value` (later files override earlier).
void read_excludes_setting(const fs::path& file, std::optional<std::string>& value) {
  std::error_code ec;
  if (file.empty() || !fs::is_regular_file(file, ec)) return;
  std::istringstream in(slurp(file));
  bool in_core = false;
  for (std::string raw; std::getline(in, raw);) {
    std::string_view line = raw;
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[') {
      size_t close = line.find(']');
      if (close == std::string_view::npos) continue;
      std::string header = trim(line.substr(1, close - 1));
      // "[core]" only: "[core \"x\"]" and "[core.x]" are subsections.
      in_core = lower(header) == "core";
      line.remove_prefix(close + 1);
      while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
      if (line.empty()) continue;
    }
    if (!in_core) continue;
    size_t eq = line.find('=');
    std::string key = lower(trim(line.substr(0, eq)));
    if (key != "excludesfile") continue;
    value = eq == std::string_view::npos ? std::string() : config_value(line.substr(eq + 1));
  }
}

}  // namespace

GitContext discover_git(const fs::path& canonical_root) {
  GitContext ctx;
  std::vector<std::string> ceilings;
  {
    std::string list = env("GIT_CEILING_DIRECTORIES");
    size_t start = 0;
    while (start <= list.size()) {
      size_t colon = list.find(':', start);
      std::string item = list.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
      if (!item.empty()) ceilings.push_back(fs::path(item).lexically_normal().string());
      if (colon == std::string::npos) break;
      start = colon + 1;
    }
  }
  const bool cross_fs = env_true("GIT_DISCOVERY_ACROSS_FILESYSTEM");
  struct stat root_st {};
  if (::stat(canonical_root.c_str(), &root_st) != 0) return ctx;
  std::error_code ec;
  for (fs::path dir = canonical_root;; dir = dir.parent_path()) {
    if (dir != canonical_root) {
      bool is_ceiling = false;
      for (auto& c : ceilings) is_ceiling |= (dir.string() == c || dir.string() + "/" == c);
      if (is_ceiling) break;
      struct stat st {};
      if (::stat(dir.c_str(), &st) != 0) break;
      if (!cross_fs && st.st_dev != root_st.st_dev) break;
    }
    fs::path dot_git = dir / ".git";
    fs::path git_dir;
    if (fs::is_directory(dot_git, ec)) {
      if (fs::exists(dot_git / "HEAD", ec)) git_dir = dot_git;
    } else if (fs::is_regular_file(dot_git, ec)) {
      std::string content = trim(slurp(dot_git));
      if (content.rfind("gitdir:", 0) == 0) {
        fs::path target = trim(std::string_view(content).substr(7));
        git_dir = target.is_absolute() ? target : dir / target;
      }
    }
    if (!git_dir.empty()) {
      ctx.top = dir;
      ctx.common_dir = git_dir;
      if (fs::path commondir_file = git_dir / "commondir"; fs::is_regular_file(commondir_file, ec)) {
        fs::path common = trim(slurp(commondir_file));
        ctx.common_dir = common.is_absolute() ? common : git_dir / common;
      }
      ctx.common_dir = ctx.common_dir.lexically_normal();
      ctx.info_exclude = ctx.common_dir / "info" / "exclude";
      return ctx;
    }
    if (dir == dir.root_path()) break;
  }
  return ctx;
}

fs::path global_excludes_file(const GitContext& git, const fs::path& base_dir) {
  const std::string home = env("HOME");
  const std::string xdg = env("XDG_CONFIG_HOME");
  std::optional<std::string> setting;
  if (!env_true("GIT_CONFIG_NOSYSTEM")) {
    std::string system = env("GIT_CONFIG_SYSTEM");
    read_excludes_setting(system.empty() ? fs::path("/etc/gitconfig") : fs::path(system), setting);
  }
  if (const char* global = std::getenv("GIT_CONFIG_GLOBAL")) {
    read_excludes_setting(global, setting);
  } else {
    if (!xdg.empty()) {
      read_excludes_setting(fs::path(xdg) / "git" / "config", setting);
    } else if (!home.empty()) {
      read_excludes_setting(fs::path(home) / ".config" / "git" / "config", setting);
    }
    if (!home.empty()) read_excludes_setting(fs::path(home) / ".gitconfig", setting);
  }
  if (!git.common_dir.empty()) read_excludes_setting(git.common_dir / "config", setting);

  if (setting) {
    std::string value = *setting;
    if (value.empty()) return {};
    if (value == "~" || value.rfind("~/", 0) == 0) value = home + value.substr(1);
    fs::path p = value;
    return p.is_absolute() ? p : base_dir / p;
  }
  if (!xdg.empty()) return fs::path(xdg) / "git" / "ignore";
  if (!home.empty()) return fs::path(home) / ".config" / "git" / "ignore";
  return {};
}

}  // namespace relive::ignore::detail
