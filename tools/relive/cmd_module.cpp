// relive module — look at a live-code module (relive/module.hpp) the way a host would.
//
//   relive module check [--interface NAME] [--strict] [--timeout MS] FILE.so
//   relive module info FILE.so
//
// info   prints the module's identity (interface name and hash, module ABI, C++ ABI,
//        libstdc++ release, state version, build id, GNU build id, dependencies) and why it
//        would not unload, read from the file: none of the module's code runs. Exit 0 when
//        it is a relive module this relive speaks, 1 when not.
// check  does what a host does before loading: ELF inspection, then the preflight in a
//        helper process (relive-module-preflight, next to this command) that loads it,
//        checks the entry point (and the interface name with --interface), runs create()
//        and destroy(). Prints the identity and the verdict ("ok: would load" or the cause:
//        missing symbol, interface mismatch, killed by SIGSEGV, timed out, ...).
//        Exit 0 when it would load, 1 when it would be rejected (with --strict also when it
//        would not unload).
// Usage errors exit 2.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "commands.hpp"
#include "relive/module.hpp"

namespace relive::cli {
namespace {

namespace mod = relive::module;

constexpr int kWouldLoad = 0;
constexpr int kRejected = 1;
constexpr int kUsage = 2;

void print_identity(const std::string& file, const mod::Report& r) {
  std::printf("file: %s\n", file.c_str());
  if (r.identity) std::printf("identity: %s\n", mod::describe(*r.identity).c_str());
  if (!r.gnu_build_id.empty()) std::printf("gnu build id: %s\n", r.gnu_build_id.c_str());
  if (!r.needed.empty()) {
    std::string needed;
    for (const auto& n : r.needed) needed += (needed.empty() ? "" : ", ") + n;
    std::printf("needs: %s\n", needed.c_str());
  }
  for (const auto& w : r.unload_warnings) std::printf("warning: %s\n", w.c_str());
}

int verdict(const std::string& file, const mod::Report& r, bool preflight) {
  print_identity(file, r);
  if (r.preflight_ran) std::printf("preflight: %.1f ms\n", r.preflight_us / 1000.0);
  if (r.would_load) {
    std::printf(preflight ? "ok: would load\n" : "ok: a relive module\n");
    return kWouldLoad;
  }
  std::printf("rejected (%s): %s\n", mod::to_string(r.cause), r.message.c_str());
  return kRejected;
}

}  // namespace

int run_module(int argc, char** argv) {
  CLI::App app{"Check and describe live-code modules (relive/module.hpp)", "relive module"};
  app.require_subcommand(1);

  std::string check_file, info_file;
  mod::CheckOptions options;
  long timeout_ms = 10000;
  auto* check = app.add_subcommand("check", "Inspect and preflight FILE.so as a host would; exit 0 if it would load");
  check->add_option("FILE", check_file, "The module (.so)")->required();
  check->add_option("--interface", options.interface_name, "Require this interface name");
  check->add_flag("--strict", options.strict, "Also reject modules that cannot be unloaded");
  check->add_option("--timeout", timeout_ms, "Preflight timeout in milliseconds (default 10000)")
      ->check(CLI::PositiveNumber);
  auto* info = app.add_subcommand("info", "Print the module's identity without running its code");
  info->add_option("FILE", info_file, "The module (.so)")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "relive module: %s (see relive module --help)\n", e.what());
    return kUsage;
  }
  try {
    if (*info) return verdict(info_file, mod::info(info_file), false);
    options.preflight_timeout = std::chrono::milliseconds(timeout_ms);
    return verdict(check_file, mod::check(check_file, options), true);
  } catch (const std::exception& e) {  // a bug, but still one line and a non-zero exit
    std::fprintf(stderr, "relive module: %s\n", e.what());
    return kRejected;
  }
}

}  // namespace relive::cli
