// relive/burst_location.hpp — where a burst message was logged. Shared by the front end's
// public surface (relive/burst.hpp) and the record format it captures into, so both see
// one definition; include relive/burst.hpp rather than this.
#pragma once

namespace relive::burst {

// Where a message was logged (for spdlog's %s, %#, %! pattern flags). Filled in by the
// compiler at the call site (__builtin_FILE etc., which g++ and clang 14 both have; clang
// 14 with libstdc++ lacks std::source_location).
struct SourceLocation {
  const char* file = "";
  const char* function = "";
  int line = 0;
};

}  // namespace relive::burst
