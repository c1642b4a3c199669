// The subcommands of `relive`, one file each (cmd_<name>.cpp). Each takes the arguments
// after its name (argv[0] is "relive <name>") and returns the process exit status.
#pragma once

namespace relive::cli {

int run_supervise(int argc, char** argv);      // relive [OPTIONS] -- CMD   (cmd_run.cpp)
int run_watch(int argc, char** argv);          // relive watch              (cmd_watch.cpp)
int run_check_ignore(int argc, char** argv);   // relive check-ignore       (cmd_check_ignore.cpp)
int run_config(int argc, char** argv);         // relive config check|show|watch (cmd_config.cpp)
int run_burst(int argc, char** argv);          // relive burst              (cmd_burst.cpp)
int run_module(int argc, char** argv);         // relive module check|info  (cmd_module.cpp)

}  // namespace relive::cli
