// How `relive -- CMD` words the supervisor's status lines (cmd_run.cpp hands render() to
// Options::on_status): the wording, the colours, --quiet and --clear live here, not in
// the library, which reports only facts (relive::supervisor::Status).
#pragma once

#include <string>

#include "relive/supervisor.hpp"

namespace relive::cli {

struct RenderOptions {
  bool quiet = false;  // --quiet: informational lines go; errors and the stop notice stay
  bool color = false;  // stderr is a terminal and NO_COLOR is unset
  bool clear = false;  // --clear: clear the screen when a cycle begins
};

// The text for stderr ("relive: ...\n", possibly coloured; "" for nothing). Pure; any thread.
std::string render(const supervisor::Status& status, const RenderOptions& options);

}  // namespace relive::cli
