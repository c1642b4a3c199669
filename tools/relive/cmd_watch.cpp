// relive watch — prints what changes in a tree, one batch at a time, as relive's restart
// command would see it (same ignore rules, same coalescing).
//
//   relive watch [-w PATH]... [-i GLOB]... [--json] [--poll[=MS]]
//                [--no-default-ignore] [--no-vcs-ignore] [--no-reloadignore]
//
// Output (stdout, flushed after every batch): one line per path, "modified src/app.py",
// "renamed old.py -> new.py", directories with a trailing '/'; "rescan: events were lost
// (...)" when the watcher had to re-list the tree. With --json one JSON object per line:
// {"change":"modified","path":"src/app.py","dir":false} ({"rescan":true,"reason":...}).
// When watching has started, one line on stderr says what is watched. Bad input (missing
// path, unknown flag) is one line on stderr and exit status 2.
#include <poll.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "commands.hpp"
#include "relive/internal/json_string.hpp"
#include "relive/watch.hpp"

namespace relive::cli {
namespace {

namespace fs = std::filesystem;

constexpr int kUsage = 2;

// What the user typed, joined with the path below it: "src/app.py" under "." stays short.
std::string display(const fs::path& root, const std::string& path) {
  if (path.empty()) return root.generic_string();
  if (root == "." || root == "./") return path;
  return (root / path).generic_string();
}

void print_batch(const watch::Batch& batch, bool json) {
  if (batch.rescan) {
    if (json) std::printf("{\"rescan\":true,\"reason\":%s}\n", relive::internal::json_string(batch.rescan_reason).c_str());
    else std::printf("rescan: %s\n", batch.rescan_reason.c_str());
  }
  for (const auto& c : batch.changes) {
    std::string path = display(c.root, c.path);
    if (json) {
      std::string line = "{\"change\":\"" + std::string(watch::to_string(c.change)) + "\",\"path\":" + relive::internal::json_string(path);
      if (c.change == watch::Change::Renamed) line += ",\"old_path\":" + relive::internal::json_string(display(c.root, c.old_path));
      line += c.is_dir ? ",\"dir\":true}" : ",\"dir\":false}";
      std::printf("%s\n", line.c_str());
    } else {
      const char* slash = c.is_dir && !c.path.empty() ? "/" : "";
      if (c.change == watch::Change::Renamed) {
        std::printf("renamed %s%s -> %s%s\n", display(c.root, c.old_path).c_str(), slash, path.c_str(), slash);
      } else {
        std::printf("%s %s%s\n", watch::to_string(c.change), path.c_str(), slash);
      }
    }
  }
  std::fflush(stdout);
}

}  // namespace

int run_watch(int argc, char** argv) {
  CLI::App app{"Print what changes under the watched paths, one batch per save", "relive watch"};
  std::vector<std::string> paths;
  std::vector<std::string> globs;
  bool json = false;
  bool no_default_ignore = false;
  bool no_vcs_ignore = false;
  bool no_reloadignore = false;
  std::string poll_arg;
  app.add_option("-w,--watch", paths, "A directory or file to watch (repeatable; default: .)");
  app.add_option("-i,--ignore", globs, "Also ignore paths matching GLOB (gitignore syntax, repeatable)");
  app.add_flag("--json", json, "One JSON object per changed path");
  auto* poll = app.add_option("--poll", poll_arg, "Poll every MS milliseconds (default 1000) instead of inotify")
                   ->expected(0, 1);
  app.add_flag("--no-default-ignore", no_default_ignore, "Do not apply the built-in ignore list");
  app.add_flag("--no-vcs-ignore", no_vcs_ignore, "Do not apply .gitignore files and git's excludes");
  app.add_flag("--no-reloadignore", no_reloadignore, "Do not apply .reloadignore files");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "relive watch: %s (see relive watch --help)\n", e.what());
    return kUsage;
  }

  watch::Options options;
  if (!paths.empty()) options.roots.assign(paths.begin(), paths.end());
  options.ignore.globs = globs;
  options.ignore.default_ignores = !no_default_ignore;
  options.ignore.vcs_ignore = !no_vcs_ignore;
  options.ignore.reloadignore = !no_reloadignore;
  if (poll->count() > 0) {
    long ms = 1000;
    if (!poll_arg.empty()) {
      char* end = nullptr;
      errno = 0;
      ms = std::strtol(poll_arg.c_str(), &end, 10);
      if (errno != 0 || *end != '\0' || ms <= 0 || ms > 3600000) {
        std::fprintf(stderr, "relive watch: --poll: expected milliseconds between 1 and 3600000, got \"%s\"\n",
                     poll_arg.c_str());
        return kUsage;
      }
    }
    options.poll_interval = std::chrono::milliseconds(ms);
  }

  auto watcher = watch::Watcher::open(options);
  if (!watcher) {
    std::fprintf(stderr, "relive watch: %s\n", watcher.error().message.c_str());
    return kUsage;
  }
  std::string roots;
  for (const auto& r : options.roots) roots += (roots.empty() ? "" : ", ") + r.string();
  std::fprintf(stderr, "relive watch: watching %s (%zu inotify watches, %zu directories polled)\n", roots.c_str(),
               (*watcher)->watch_count(), (*watcher)->polled_count());
  pollfd p{(*watcher)->fd(), POLLIN, 0};
  for (;;) {
    if (::poll(&p, 1, -1) < 0 && errno != EINTR) {
      std::perror("relive watch: poll");
      return 1;
    }
    for (const auto& batch : (*watcher)->read_batches()) print_batch(batch, json);
  }
}

}  // namespace relive::cli
