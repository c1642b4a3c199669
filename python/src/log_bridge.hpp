// log_bridge.hpp — what the C++ Config logs ("app.yaml:3:12: db.timeout: ...; keeping
// version 7") goes to Python's `logging` (logger "relive.config"), not to spdlog's stdout.
//
// The spdlog sink only queues the line (no GIL: the loader thread that logs may hold the
// Config's locks, see module.cpp on fork); relive's subscriber thread hands it to logging.
#pragma once

#include <string>

namespace relive::python {

// The name of the spdlog logger that Config.open() gives its Configs (config::Options::logger).
// Registered by register_log_bridge().
inline const std::string kBridgeLogger = "relive.python";

// Registers that spdlog logger (level: debug). Call once, at import.
void register_log_bridge();

}  // namespace relive::python
