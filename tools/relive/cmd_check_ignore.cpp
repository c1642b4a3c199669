// STUB — replaced by the implementation of this subcommand.
#include <cstdio>

#include "commands.hpp"

namespace relive::cli {
int run_check_ignore(int, char**) {
  std::fputs("relive: not implemented yet\n", stderr);
  return 2;
}
}  // namespace relive::cli
