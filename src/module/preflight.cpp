#include "preflight.hpp"

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <system_error>
#include <vector>

#include "spawn.hpp"

#ifndef RELIVE_MODULE_PREFLIGHT_BUILT
#define RELIVE_MODULE_PREFLIGHT_BUILT ""
#endif

namespace relive::module::detail {
namespace {

namespace fs = std::filesystem;

// The state as the helper reads it on stdin: a memfd (no pipe to keep fed while waiting).
int state_memfd(const State& state) {
  int fd = ::memfd_create("relive-module-state", MFD_CLOEXEC);
  if (fd < 0) return -1;
  std::uint32_t v = state.version;
  bool ok = ::write(fd, &v, sizeof v) == static_cast<ssize_t>(sizeof v);
  std::size_t done = 0;
  while (ok && done < state.bytes.size()) {
    ssize_t n = ::write(fd, state.bytes.data() + done, state.bytes.size() - done);
    if (n <= 0) ok = false; else done += static_cast<std::size_t>(n);
  }
  if (!ok || ::lseek(fd, 0, SEEK_SET) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::string step_of(const std::string& channel) {
  std::string step;
  std::size_t start = 0;
  while (start < channel.size()) {
    std::size_t end = channel.find('\n', start);
    if (end == std::string::npos) break;
    std::string line = channel.substr(start, end - start);
    if (line.rfind("step\t", 0) == 0) step = line.substr(5);
    start = end + 1;
  }
  return step;
}

}  // namespace

PreflightVerdict run_preflight(const PreflightRequest& req) {
  PreflightVerdict v;
  std::vector<std::string> argv{req.helper.string()};
  if (!req.interface_name.empty()) {
    argv.insert(argv.end(), {"--interface", req.interface_name});
    if (req.interface_hash) argv.insert(argv.end(), {"--hash", hex64(req.interface_hash)});
  }
  if (req.memory_limit) argv.insert(argv.end(), {"--memory", std::to_string(req.memory_limit)});
  int state_fd = -1;
  if (req.state) {
    state_fd = state_memfd(*req.state);
    if (state_fd < 0) {
      v.problem = {Cause::PreflightFailed, errno_message(errno, "preflight: memfd for the state")};
      return v;
    }
    argv.emplace_back("--state");
  }
  argv.push_back("--");
  argv.push_back(req.module.string());
  SpawnOptions so;
  so.stdin_fd = state_fd;
  so.channel = true;
  so.timeout = req.timeout;
  so.output_limit = 4096;
  auto run = spawn_and_wait(argv, so);
  if (state_fd >= 0) ::close(state_fd);
  if (!run) {
    v.problem = {Cause::PreflightFailed, "preflight: " + run.error().message};
    return v;
  }
  v.output = run->output;
  v.elapsed_us = run->elapsed_us;
  const std::string step = step_of(run->channel);
  const std::string printed = last_lines(run->output, 3);
  if (run->timed_out) {
    v.problem = {Cause::TimedOut, "preflight timed out after " + std::to_string(req.timeout.count()) + " ms" +
                                      (step.empty() ? "" : " in " + step) + " (an endless loop or a blocked call?)"};
    return v;
  }
  // Parse "verdict\tTOKEN\tMESSAGE" and "unloads\t0|1".
  std::optional<Cause> cause;
  std::string message;
  std::size_t start = 0;
  const std::string& ch = run->channel;
  while (start < ch.size()) {
    std::size_t end = ch.find('\n', start);
    if (end == std::string::npos) break;
    std::string line = ch.substr(start, end - start);
    start = end + 1;
    if (line.rfind("verdict\t", 0) == 0) {
      std::string rest = line.substr(8);
      std::size_t tab = rest.find('\t');
      cause = cause_from_token(rest.substr(0, tab));
      message = tab == std::string::npos ? "" : rest.substr(tab + 1);
    } else if (line == "unloads\t0") {
      v.unloads = false;
    }
  }
  const int st = run->wait_status;
  if (WIFSIGNALED(st)) {
    v.problem = {Cause::Crashed, "preflight " + describe_wait_status(st) + (step.empty() ? "" : " in " + step) +
                                     (printed.empty() ? "" : "; it printed: " + printed)};
    return v;
  }
  if (!cause) {
    v.problem = {Cause::PreflightFailed, "preflight " + describe_wait_status(st) + " without a verdict" +
                                             (step.empty() ? "" : " in " + step) +
                                             (printed.empty() ? "" : "; it printed: " + printed)};
    return v;
  }
  if (*cause != Cause::None) v.problem = {*cause, message};
  return v;
}

fs::path find_preflight_helper(const fs::path& configured, std::string* looked) {
  std::error_code ec;
  std::vector<fs::path> candidates;
  if (!configured.empty()) {
    candidates.push_back(configured);
  } else {
    if (const char* env = std::getenv("RELIVE_MODULE_PREFLIGHT"); env && *env) candidates.emplace_back(env);
    fs::path self = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
      candidates.push_back(self.parent_path() / "relive-module-preflight");
      candidates.push_back(self.parent_path().parent_path() / "libexec" / "relive" / "relive-module-preflight");
    }
    if (*RELIVE_MODULE_PREFLIGHT_BUILT) candidates.emplace_back(RELIVE_MODULE_PREFLIGHT_BUILT);
  }
  for (const auto& c : candidates) {
    if (::access(c.c_str(), X_OK) == 0) return c;
  }
  if (looked) {
    looked->clear();
    for (const auto& c : candidates) *looked += (looked->empty() ? "" : ", ") + c.string();
  }
  return {};
}

}  // namespace relive::module::detail
