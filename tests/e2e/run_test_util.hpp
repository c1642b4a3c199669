// Helpers for the `relive -- CMD` end-to-end tests: editors' save patterns done the way the
// editors do them, a log the child appends to (outside the watched tree), pid checks.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace relive::test {

using namespace std::chrono_literals;

inline std::vector<std::string> relive_argv(std::vector<std::string> args) {
  std::vector<std::string> argv = {relive_bin()};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

// Process options: run in `cwd`.
inline Process::Options in_dir(const fs::path& cwd) {
  Process::Options o;
  o.cwd = cwd;
  return o;
}

// relive run to completion in `cwd`: its exit status and everything it printed.
struct Outcome {
  int status;
  std::string output;
};
inline Outcome run_relive(std::vector<std::string> args, const fs::path& cwd) {
  Process p(relive_argv(std::move(args)), in_dir(cwd));
  int status = p.wait(10s);
  p.wait_for_output("\n", 5s);  // the reader may still be catching up after the exit
  return {status, p.output()};
}

// Lines of a file (the last one only if it ends in a newline).
inline std::vector<std::string> file_lines(const fs::path& path) { return read_complete_lines(path); }

inline bool in_proc_table(pid_t pid) { return fs::exists("/proc/" + std::to_string(pid)); }

// ---- save patterns, as the editors do them ------------------------------------------------

// A plain write: open with O_TRUNC, write, close.
inline void save_plain(const fs::path& file, const std::string& text) { write_file(file, text); }

// Truncate, close, then open again and write (VS Code-style).
inline void save_truncate_then_write(const fs::path& file, const std::string& text) {
  if (truncate(file.c_str(), 0) != 0) throw std::runtime_error("truncate failed");
  int fd = open(file.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0 || write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) throw std::runtime_error("write failed");
  close(fd);
}

// vim with writebackup: probe file 4913, rename to file~, write a new file, drop file~.
inline void save_vim(const fs::path& file, const std::string& text) {
  auto dir = file.parent_path();
  write_file(dir / "4913", "");
  fs::remove(dir / "4913");
  auto backup = file.string() + "~";
  fs::rename(file, backup);
  write_file(file, text);
  fs::remove(backup);
}

// JetBrains safe write: write name___jb_tmp___, rename the file to name___jb_old___,
// rename the temp over the name, delete the old one.
inline void save_jetbrains(const fs::path& file, const std::string& text) {
  auto tmp = file.string() + "___jb_tmp___";
  auto old = file.string() + "___jb_old___";
  write_file(tmp, text);
  fs::rename(file, old);
  fs::rename(tmp, file);
  fs::remove(old);
}

// The real sed -i (a temp file renamed over the original). `text` is one line without '/'.
inline void save_sed(const fs::path& file, const std::string& text) {
  std::string line = text.substr(0, text.find('\n'));
  std::string script = "sed -i 's/.*/" + line + "/' '" + file.string() + "'";
  if (std::system(script.c_str()) != 0) throw std::runtime_error("sed -i failed");
}

// Debian's python3 (a pyenv shim on PATH would add a second of startup to every restart).
inline std::string python3() { return fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3"; }

// A free TCP port on loopback (bound and released; fine for tests that bind it next).
int free_port();

}  // namespace relive::test
