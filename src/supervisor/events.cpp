// Events of the restart loop as JSON lines (--json-events), and small parsers.
#include <ctime>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "relive/supervisor.hpp"

namespace relive::supervisor {

const char* to_string(Event::Kind kind) {
  switch (kind) {
    case Event::Kind::Changes: return "changes";
    case Event::Kind::RestartRequested: return "restart_requested";
    case Event::Kind::BuildStart: return "build_start";
    case Event::Kind::BuildEnd: return "build_end";
    case Event::Kind::Start: return "start";
    case Event::Kind::Stop: return "stop";
    case Event::Kind::Exit: return "exit";
    case Event::Kind::Error: return "error";
  }
  return "?";
}

Result<OnBusy> parse_on_busy(std::string_view text) {
  if (text == "queue") return OnBusy::Queue;
  if (text == "restart") return OnBusy::Restart;
  if (text == "do-nothing") return OnBusy::DoNothing;
  if (text == "signal") return OnBusy::Signal;
  return Error{fmt::format("--on-busy-update: expected restart, queue, do-nothing or signal, got \"{}\"", text)};
}

namespace {

std::string utc_now() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm parts{};
  gmtime_r(&ts.tv_sec, &parts);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", parts.tm_year + 1900, parts.tm_mon + 1,
                     parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec, ts.tv_nsec / 1000000);
}

nlohmann::ordered_json status_json(const ExitStatus& s) {
  nlohmann::ordered_json j;
  if (s.signal) {
    const char* abbrev = sigabbrev_np(s.signal);
    j["signal"] = abbrev ? std::string("SIG") + abbrev : std::to_string(s.signal);
  } else {
    j["code"] = s.code;
  }
  return j;
}

}  // namespace

std::string to_json_line(const Event& e) {
  nlohmann::ordered_json j;
  j["event"] = to_string(e.kind);
  j["time"] = utc_now();
  switch (e.kind) {
    case Event::Kind::Changes:
      j["paths"] = e.paths;
      j["count"] = e.path_count;
      if (e.rescan) j["rescan"] = true;
      break;
    case Event::Kind::RestartRequested:
      j["by"] = "rs";  // the only way today; a field so that another can be told apart
      break;
    case Event::Kind::BuildStart:
      j["pid"] = e.pid;
      j["command"] = e.message;
      break;
    case Event::Kind::BuildEnd:
      j["pid"] = e.pid;
      j["success"] = e.success;
      if (e.status) j["status"] = status_json(*e.status);
      j["duration_ms"] = e.duration_ms;
      break;
    case Event::Kind::Start:
      j["pid"] = e.pid;
      j["command"] = e.message;
      break;
    case Event::Kind::Stop:
      j["pid"] = e.pid;
      j["killed"] = e.killed;
      if (e.status) j["status"] = status_json(*e.status);
      j["duration_ms"] = e.duration_ms;
      break;
    case Event::Kind::Exit:
      j["pid"] = e.pid;
      if (e.status) j["status"] = status_json(*e.status);
      break;
    case Event::Kind::Error:
      j["message"] = e.message;
      break;
  }
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace relive::supervisor
