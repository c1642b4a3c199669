// relive — entry point: dispatches to a subcommand, or to the supervisor (`relive -- CMD`).
#include <cstring>
#include <string_view>

#include "commands.hpp"

int main(int argc, char** argv) {
  using namespace relive::cli;
  struct Subcommand {
    std::string_view name;
    int (*run)(int, char**);
  };
  static constexpr Subcommand subcommands[] = {
      {"watch", run_watch},
      {"check-ignore", run_check_ignore},
      {"config", run_config},
      {"burst", run_burst},
      {"module", run_module},
  };
  if (argc >= 2) {
    for (const auto& sub : subcommands) {
      if (sub.name == argv[1]) return sub.run(argc - 1, argv + 1);
    }
  }
  // Anything else is the restart-on-change command: `relive [OPTIONS] -- CMD [ARGS...]`.
  return run_supervise(argc, argv);
}
