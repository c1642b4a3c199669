// relive/burst_level.hpp — the log levels shared by burst logging's C++ front end
// (relive/burst.hpp) and its line filter (relive/burst_filter.hpp). Same order and names
// as spdlog's levels, so a relive level converts to spdlog::level::level_enum by value.
#pragma once

#include <optional>
#include <string_view>

namespace relive::burst {

enum class Level : int { trace = 0, debug = 1, info = 2, warn = 3, error = 4, critical = 5, off = 6 };

// Parses a level name as users write it: "trace", "debug", "info", "warn"/"warning",
// "error"/"err", "critical"/"crit"/"fatal", "off"; case-insensitive. nullopt otherwise.
constexpr std::optional<Level> parse_level(std::string_view name) {
  auto eq = [](std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      char c = a[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c != b[i]) return false;
    }
    return true;
  };
  if (eq(name, "trace")) return Level::trace;
  if (eq(name, "debug")) return Level::debug;
  if (eq(name, "info")) return Level::info;
  if (eq(name, "warn") || eq(name, "warning")) return Level::warn;
  if (eq(name, "error") || eq(name, "err")) return Level::error;
  if (eq(name, "critical") || eq(name, "crit") || eq(name, "fatal")) return Level::critical;
  if (eq(name, "off")) return Level::off;
  return std::nullopt;
}

constexpr std::string_view to_string(Level level) {
  constexpr std::string_view names[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
  return names[static_cast<int>(level)];
}

}  // namespace relive::burst
