// The pieces `relive -- COMMAND` adds around the supervisor (run_support.hpp).
#include "run_support.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "relive/ignore.hpp"
#include "relive/watch.hpp"

extern char** environ;

namespace relive::cli {

namespace fs = std::filesystem;

std::string literal_ignore_pattern(const std::string& path) {
  std::string out;
  for (char c : path) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\' || c == ' ' || c == '!' || c == '#') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

std::string ignore_under(const fs::path& root, const fs::path& file) {
  std::error_code ec;
  auto r = fs::weakly_canonical(root, ec);
  if (ec) return "";
  auto f = fs::weakly_canonical(file, ec);
  if (ec) return "";
  auto rel = f.lexically_relative(r);
  if (rel.empty() || rel == "." || rel.native().rfind("..", 0) == 0) return "";
  return "/" + literal_ignore_pattern(rel.generic_string());
}

std::vector<std::string> own_output_ignores(const std::vector<fs::path>& roots) {
  std::vector<std::string> rules;
  for (int fd : {1, 2}) {
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) continue;
    std::error_code ec;
    fs::path file = fs::read_symlink("/proc/self/fd/" + std::to_string(fd), ec);
    if (ec) continue;
    // The name the fd was opened under must still be that file (not deleted or replaced).
    struct stat by_name {};
    if (stat(file.c_str(), &by_name) != 0 || by_name.st_dev != st.st_dev || by_name.st_ino != st.st_ino) continue;
    for (const auto& root : roots) {
      auto rule = ignore_under(root, file);
      if (!rule.empty() && std::find(rules.begin(), rules.end(), rule) == rules.end()) rules.push_back(rule);
    }
  }
  return rules;
}

void print_banner(const RunOptions& o, size_t user_ignores, const std::vector<fs::path>& roots, const watch::Watcher& watcher) {
  std::vector<std::string> shown_roots;
  for (const auto& r : roots) shown_roots.push_back(r.string());
  // Which ignore rules apply: the rules files found at each root (nested .gitignore files
  // apply too, as git applies them), the global ones, -i, the built-in list.
  std::vector<std::string> sources;
  auto add = [&](const std::string& s) {
    if (std::find(sources.begin(), sources.end(), s) == sources.end()) sources.push_back(s);
  };
  for (const auto& root : roots) {
    std::error_code ec;
    if (!fs::is_directory(root, ec)) continue;
    auto shown = [&](const char* name) { return (root == "." ? fs::path(name) : root / name).string(); };
    if (!o.no_vcs_ignore && fs::exists(root / ".gitignore", ec)) add(shown(".gitignore"));
    if (fs::exists(root / ".reloadignore", ec)) add(shown(".reloadignore"));
    ignore::Options io;
    io.vcs_ignore = !o.no_vcs_ignore;
    io.default_ignores = false;
    if (auto m = ignore::Matcher::open(root, io)) {
      for (const auto& f : (*m)->external_rules_files()) {
        if (fs::exists(f, ec)) add(f.string());
      }
    }
  }
  if (user_ignores > 0) add(fmt::format("{} -i pattern{}", user_ignores, user_ignores == 1 ? "" : "s"));
  if (!o.no_default_ignore) add("built-in defaults");
  size_t dirs = watcher.watch_count() + watcher.polled_count();
  std::string what;
  for (const auto& arg : o.command) {
    if (!what.empty()) what += ' ';
    bool plain = !arg.empty() && arg.find_first_of(" \t'\"$;&|<>()*?\\") == std::string::npos;
    what += (plain || o.shell) ? arg : "'" + arg + "'";
  }
  if (o.shell) what = "sh -c '" + what + "'";
  std::string filter = o.exts.empty() ? "" : fmt::format(" (only .{} files)", fmt::join(o.exts, ", ."));
  std::string line = fmt::format("relive: watching {} ({} director{}{}){}; ignoring by {}; {} {}\n", fmt::join(shown_roots, ", "),
                                 dirs, dirs == 1 ? "y" : "ies", o.poll_ms ? fmt::format(", polled every {} ms", *o.poll_ms) : "",
                                 filter, sources.empty() ? std::string("nothing") : fmt::format("{}", fmt::join(sources, ", ")),
                                 o.postpone ? "on the first change, runs" : "running", what);
  std::fputs(line.c_str(), stderr);
}

bool have_notify_send() { return static_cast<bool>(supervisor::find_program("notify-send")); }

namespace {

// Whether the file name in `path` ends in ".EXT" for one of `exts`.
bool has_ext(const std::string& path, const std::vector<std::string>& exts) {
  auto slash = path.rfind('/');
  auto name = path.substr(slash == std::string::npos ? 0 : slash + 1);
  auto dot = name.rfind('.');
  if (dot == std::string::npos || dot == 0) return false;
  auto ext = name.substr(dot + 1);
  return std::find(exts.begin(), exts.end(), ext) != exts.end();
}

}  // namespace

bool change_has_ext(const watch::PathChange& change, const std::vector<std::string>& exts) {
  if (!change.is_dir && has_ext(change.path, exts)) return true;
  return change.change == watch::Change::Renamed && has_ext(change.old_path, exts);
}

bool desktop_notify(const std::string& summary, const std::string& body) {
  auto path = supervisor::find_program("notify-send");
  if (!path) return false;
  std::string app = "--app-name=relive";
  std::vector<char*> argv = {const_cast<char*>(path->c_str()), app.data(), const_cast<char*>(summary.c_str()),
                             const_cast<char*>(body.c_str()), nullptr};
  // Its own process group (the terminal's Ctrl-C is relive's to handle); default signals.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, path->c_str(), nullptr, &attr, argv.data(), environ);
  posix_spawnattr_destroy(&attr);
  return rc == 0;
}

namespace {
std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}
}  // namespace

std::unique_ptr<ConfigFollower> ConfigFollower::open(std::string path, int argc, char** argv) {
  std::unique_ptr<ConfigFollower> f(new ConfigFollower());
  fs::path p(path);
  f->name_ = p.filename().string();
  std::string dir = p.has_parent_path() ? p.parent_path().string() : ".";
  f->fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (f->fd_ < 0) return nullptr;
  // The directory, not the file: editors save by renaming a new file over the old one.
  if (inotify_add_watch(f->fd_, dir.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_ONLYDIR) < 0) return nullptr;
  f->path_ = std::move(path);
  f->content_ = slurp(f->path_);
  f->argc_ = argc;
  f->argv_ = argv;
  return f;
}

ConfigFollower::~ConfigFollower() {
  if (fd_ >= 0) close(fd_);
}

bool ConfigFollower::on_readable() {
  alignas(inotify_event) char buf[4096];
  bool ours = false;
  for (;;) {
    ssize_t n = read(fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (char* p = buf; p < buf + n;) {
      auto* ev = reinterpret_cast<inotify_event*>(p);
      if (ev->len > 0 && name_ == ev->name) ours = true;
      p += sizeof(inotify_event) + ev->len;
    }
  }
  if (!ours || access(path_.c_str(), F_OK) != 0) return false;
  std::string now = slurp(path_);
  if (now == content_) return false;  // saved unchanged
  content_ = now;
  auto parsed = parse_run_args(argc_, argv_);
  if (parsed) {
    // What cmd_run checks after parsing, so that the new relive does not fail to start.
    if (auto on_busy = supervisor::parse_on_busy(parsed->options.on_busy_update); !on_busy) parsed = on_busy.error();
  }
  if (!parsed) {
    std::fputs(fmt::format("relive: {} changed but cannot be used: {}; the running options stay\n", path_,
                           parsed.error().message)
                   .c_str(),
               stderr);
    return false;
  }
  std::fputs(fmt::format("relive: {} changed; restarting relive with the new options\n", path_).c_str(), stderr);
  return true;
}

}  // namespace relive::cli
