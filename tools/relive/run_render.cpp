// The wording of relive's status lines (run_render.hpp).
#include "run_render.hpp"

#include <signal.h>

#include <cstring>  // sigabbrev_np
#include <utility>

#include <fmt/format.h>

namespace relive::cli {

namespace {

using Kind = supervisor::Status::Kind;

enum class Tone { Info, Error, Notice };

std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : std::to_string(sig);
}

std::string plural(int n, const char* word, const char* suffix) {
  return fmt::format("{} {}{}", n, word, n == 1 ? "" : suffix);
}

// The line (without "relive: ") and how it is shown.
std::pair<std::string, Tone> words(const supervisor::Status& s) {
  switch (s.kind) {
    case Kind::Cycle: {
      const char* next = s.next == supervisor::Status::Next::Build     ? "building"
                         : s.next == supervisor::Status::Next::Restart ? "restarting"
                                                                       : "starting";
      if (s.message.empty()) return {fmt::format("restart requested, {}", next), Tone::Info};
      return {fmt::format("{} changed, {}", s.message, next), Tone::Info};
    }
    case Kind::BuildCannotRun:
      return {fmt::format("cannot run the build: {}; waiting for changes", s.message), Tone::Error};
    case Kind::BuildFailed:
      return {fmt::format("build failed ({}); {}; waiting for changes", s.status ? s.status->describe() : "failed",
                          s.program_running ? "the program keeps running" : "nothing started"),
              Tone::Error};
    case Kind::StartFailed:
      if (s.other_pid) return {fmt::format("cannot start: {}; pid {} keeps running", s.message, s.other_pid), Tone::Error};
      return {fmt::format("cannot start: {}; waiting for changes", s.message), Tone::Error};
    case Kind::ReadinessFailed:
      return {fmt::format("cannot wait for readiness: {}; pid {} keeps running", s.message, s.other_pid), Tone::Error};
    case Kind::StartedBeside:
      return {fmt::format("started pid {} beside pid {}; waiting for {} (up to {} ms)", s.pid, s.other_pid, s.message,
                          s.ms.count()),
              Tone::Info};
    case Kind::Ready:
      return {fmt::format("pid {} ready after {} ms; stopping pid {}", s.pid, s.ms.count(), s.other_pid), Tone::Info};
    case Kind::RestartFailed:
      // Its output was forwarded as it came, so it is right above: point at it.
      return {fmt::format("restart failed: new pid {} {}{}; pid {} keeps running", s.pid, s.message,
                          s.output_above ? " (its output is above)" : "", s.other_pid),
              Tone::Error};
    case Kind::JobControlStop: {
      std::string why = s.signal == SIGTTIN   ? " (it read from the terminal, which relive keeps)"
                        : s.signal == SIGTTOU ? " (it tried to change the terminal, which relive keeps)"
                                              : "";
      return {fmt::format("pid {} was stopped by {}{}; it waits until it gets SIGCONT or a change restarts it", s.pid,
                          signal_name(s.signal), why),
              Tone::Error};
    }
    case Kind::Exited: {
      std::string line = fmt::format("{} {}", s.command, s.status ? s.status->describe() : "exited");
      if (s.restart_in) {
        line += fmt::format("; restarting in {:g} s", static_cast<double>(s.restart_in->count()) / 1000.0);
      } else if (!s.message.empty()) {
        line += "; " + s.message + "; waiting for changes";
      } else {
        line += "; waiting for changes";
      }
      bool failed = s.status && (s.status->signal != 0 || s.status->code != 0);
      return {line, failed ? Tone::Error : Tone::Info};
    }
    case Kind::StopKilled:
      return {fmt::format("{} did not stop within {} ms of the stop signal; killed", s.command, s.ms.count()), Tone::Info};
    case Kind::LeftBehindKilled:
      return {fmt::format("{} left behind by pid {} did not stop within {} ms of the stop signal; killed",
                          plural(s.count, "process", "es"), s.pid, s.ms.count()),
              Tone::Info};
    case Kind::StopNotice: return {"stopping\u2026 (Ctrl-C again to kill)", Tone::Notice};
    case Kind::KilledByUser:
      if (s.count > 0)
        return {fmt::format("killed {} that had not stopped yet (SIGKILL)", plural(s.count, "process", "es")), Tone::Error};
      return {"nothing left to kill; finishing", Tone::Info};
    case Kind::SignalForwarded:
      if (!s.pid) return {fmt::format("{} received; no program running to forward it to", signal_name(s.signal)), Tone::Info};
      return {fmt::format("{} forwarded to pid {}", signal_name(s.signal), s.pid), Tone::Info};
    case Kind::SignalIgnored:
      return {fmt::format("{} from pid {} ignored (it was sent, not a fault of relive's; SIGTERM stops relive "
                          "and the program)",
                          signal_name(s.signal), s.pid),
              Tone::Notice};
    case Kind::LoopDegraded: return {s.message + "; checking every 100 ms instead", Tone::Error};
    case Kind::LoopFailed: return {s.message, Tone::Error};
    case Kind::Notice: return {s.message, Tone::Notice};
  }
  return {s.message, Tone::Error};
}

}  // namespace

std::string render(const supervisor::Status& status, const RenderOptions& options) {
  std::string text;
  if (status.kind == Kind::Cycle && options.clear) text = "\x1b[H\x1b[2J\x1b[3J";
  auto [line, tone] = words(status);
  if (tone == Tone::Info && options.quiet) return text;
  const char* color = tone == Tone::Error ? "\x1b[31m" : tone == Tone::Notice ? "\x1b[33m" : "\x1b[36m";
  text += options.color ? fmt::format("{}relive: {}\x1b[0m\n", color, line) : fmt::format("relive: {}\n", line);
  return text;
}

}  // namespace relive::cli
