// relive/module.hpp — live code: hot-swap a shared-library module inside a running process.
//
// A module is a `.so` that implements an abstract C++ interface the host and the module
// share. The host opens it with Module<Interface>::open(); each new build is staged under a
// fresh name, inspected, tried in a separate process (preflight), loaded, created from the
// previous generation's state and published atomically; a call pins one generation, and a
// generation is destroyed, dlclose()d and its staged file deleted once its last pin goes.
// Any failure keeps the old generation serving (status() says why). docs/module.md has the
// whole story; this header has both sides.
//
// ---- The interface (a header both sides include) --------------------------------------
//   #include <relive/module_entry.hpp>   // the light author-side part of this header
//   RELIVE_INTERFACE(Handler,
//     virtual std::string handle(std::string_view path) = 0;
//     virtual long served() const = 0;
//   );
// RELIVE_INTERFACE declares `class Handler` with a virtual destructor, the members given,
// and its identity: the name "Handler" and a 64-bit hash (FNV-1a) of the name and of the
// member declarations as the preprocessor spells them (whitespace and comments do not
// count, any other change to a declaration does). A host refuses a module whose interface
// name or hash differs from its own. Types the members use that are defined elsewhere are
// not part of the hash: when one of them changes layout, change the interface too (for
// example a `static constexpr int revision = 2;` member). A hand-written class can declare
// its identity with RELIVE_INTERFACE_IDENTITY(Handler, "handler v2") inside its body
// (hash of the name and that text: bump the text when the class changes).
//
// ---- The module author's side (one .cpp, built with relive_add_module or plain g++) ----
//   #include "handler.hpp"
//   class MyHandler final : public Handler {
//    public:
//     static constexpr std::uint32_t state_version = 1;            // optional
//     explicit MyHandler(const relive::module::PreviousState& prev) {  // or MyHandler()
//       if (prev.present) n_ = relive::module::read_pod<long>(prev, "served counter");
//     }
//     relive::module::State save_state() const { return relive::module::pod_state(state_version, n_.load()); }
//     std::string handle(std::string_view) override { ++n_; return "hello"; }
//     long served() const override { return n_; }
//    private:
//     std::atomic<long> n_{0};
//   };
//   RELIVE_MODULE(Handler, MyHandler)
// RELIVE_MODULE exports one symbol, `relive_module_entry_v1` (a relive::module::Entry):
// identity (magic, module ABI version, interface name and hash, _GLIBCXX_USE_CXX11_ABI,
// libstdc++ release, state version, a build id) as plain bytes that `relive module info`
// reads from the file without running anything, and noexcept create/destroy/save_state.
// It needs nothing but this header: a module links nothing of relive's.
//
// State handoff (versioned bytes): before a swap the host asks the serving instance for
// its state (`State save_state() const`, optional; it may run while other threads call the
// instance, so make it thread-safe) and copies the bytes. The new Implementation receives
// them if it has a constructor taking `const PreviousState&` (otherwise it is default-
// constructed and the state is dropped). If Implementation declares `state_version` and the
// previous state carries another version, create fails ("state version mismatch") and the
// old generation keeps serving; without `state_version` the constructor sees every version
// and may migrate. A constructor that throws RejectState (or anything else) rejects the new
// build: the old generation keeps serving, the message names the reason.
//
// ---- The host's side ----------------------------------------------------------------
//   auto mod = relive::module::Module<Handler>::open({.path = "build/libhandler.so",
//       .build_command = "cmake --build build --target handler",
//       .watch_paths = {"handler"}});
//   if (!mod) { fprintf(stderr, "%s\n", mod.error().message.c_str()); return 1; }
//   // per request, any thread:
//   auto h = (*mod)->pin();            // one generation for the whole request
//   reply(h->handle(path));            // ... until `h` goes out of scope
//
// Boundary: a crash in module code *after* publish is not caught (no signal tricks); the
// process dies — run the host under `relive -- host` or systemd to be restarted. The
// preflight catches the crashes, hangs and throws of create() before they reach the host.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "relive/cell.hpp"
#include "relive/error.hpp"
#include "relive/module_entry.hpp"

// ======================= The host's side ================================================

namespace relive::module {

namespace fs = std::filesystem;

// Why a load failed (or why a module will not unload). to_string() gives a stable token.
enum class Cause {
  None,
  NotFound,            // the path does not exist / cannot be read
  NotElf,              // not an ELF shared object for this machine
  Truncated,           // ELF headers point past the end of the file
  MissingDependency,   // a DT_NEEDED library cannot be found
  MissingSymbol,       // an undefined symbol cannot be resolved (name in the message)
  NotReliveModule,     // no relive_module_entry_v1 / wrong magic
  InterfaceMismatch,   // interface name or hash differs (expected vs found in the message)
  AbiMismatch,         // module ABI version or _GLIBCXX_USE_CXX11_ABI differs
  Threw,               // create() threw (what() in the message)
  StateRejected,       // the constructor threw RejectState
  StateMismatch,       // state version mismatch
  Crashed,             // the preflight was killed by a signal (named in the message)
  TimedOut,            // the preflight did not finish within the timeout
  WillNotUnload,       // strict mode: GNU unique symbol, NODELETE, thread_local destructors
  SaveStateFailed,     // the serving instance's save_state() failed
  BuildFailed,         // the build command failed (its last output lines in the message)
  PreflightFailed,     // the preflight helper could not be run or said something unexpected
  LoadFailed,          // dlopen in the host failed after a good preflight
};
const char* to_string(Cause cause);

struct Options {
  fs::path path;                      // the built .so
  // Optional: run with /bin/sh -c in `build_directory` (default: the current directory)
  // whenever something under watch_paths changes (one build per save, ignore rules as
  // for `relive -- CMD`); a good build is then loaded. Output goes to on_message.
  std::string build_command;
  fs::path build_directory;
  std::vector<fs::path> watch_paths;
  bool preflight = true;                                 // try each build in a helper process first
  std::chrono::milliseconds preflight_timeout{10000};
  std::size_t preflight_memory_limit = std::size_t{2} << 30;  // RLIMIT_AS of the helper; 0 = none
  // The helper executable. Empty: $RELIVE_MODULE_PREFLIGHT, else `relive-module-preflight`
  // next to the running executable, else the one relive was built with.
  fs::path preflight_helper;
  // Refuse modules that cannot be unloaded (GNU unique symbols, DF_1_NODELETE,
  // thread_local destructors) instead of loading them with a warning.
  bool strict = false;
  // Where staged copies live. Empty: a fresh private directory under $TMPDIR (or /tmp),
  // removed when the last generation is gone.
  fs::path stage_directory;
  // One-line messages for the user (swaps, failures, warnings). Default: stderr, prefixed
  // "relive: module: ". May be called on the swapping, watch or reclaimer thread.
  std::function<void(const std::string&)> on_message;
};

// Timings of the last successful swap, in microseconds. load: dlopen + identity check +
// create + publish; retire: destroying the old generation, dlclose, the unmapped check and
// deleting its file, when that happened within the swap (nobody pinned it), else 0.
struct SwapTimings {
  double stage_us = 0, inspect_us = 0, preflight_us = 0, load_us = 0, retire_us = 0;
};

struct Status {
  std::uint64_t generation = 0;       // serving generation (1 for the first load)
  std::string staged_path;            // where the serving generation was loaded from
  Identity identity{};                // the serving module's
  std::vector<std::string> warnings;  // why the serving module will not unload, if so
  std::optional<std::string> error;   // the last failure, until a good swap clears it
  Cause cause = Cause::None;          // ... and its cause
  std::uint64_t swaps = 0;            // successful loads after the first
  std::uint64_t failures = 0;         // failed loads and builds
  std::uint64_t retired = 0;          // generations destroyed and dlclosed
  std::uint64_t stayed_mapped = 0;    // ... of which stayed mapped after dlclose
  std::string last_stayed_mapped;     // the last such module and why
  bool building = false;              // the build command is running now
  SwapTimings timings;
};

// ---- Tools: what `relive module info` / `relive module check` print -------------------

struct Report {
  bool would_load = false;
  Cause cause = Cause::None;              // why it would not load
  std::string message;
  std::optional<Identity> identity;       // read from the file
  std::string gnu_build_id;               // NT_GNU_BUILD_ID, hex
  std::vector<std::string> needed;        // DT_NEEDED
  std::vector<std::string> unload_warnings;
  bool preflight_ran = false;
  bool unloads = true;                    // the preflight saw it unmapped after dlclose
  double preflight_us = 0;
};

struct CheckOptions {
  std::string interface_name;             // "" = any interface
  bool strict = false;                    // unload warnings reject
  std::chrono::milliseconds preflight_timeout{10000};
  std::size_t preflight_memory_limit = std::size_t{2} << 30;
  fs::path preflight_helper;              // as Options::preflight_helper
};

// The identity and unload blockers, read from the file; runs none of the module's code.
// Any thread.
Report info(const fs::path& file);
// info() plus the preflight (in a helper process) and the identity check: what a host
// would decide. Any thread.
Report check(const fs::path& file, const CheckOptions& options);
// One line: "interface Handler (hash ...), module ABI 1, ...".
std::string describe(const Identity& identity);

// Implementation details the templates below use (not API).
#include "relive/internal/module_core.hpp"  // IWYU pragma: export

// One generation of Interface, pinned: `->` calls into it; valid while the pin lives.
template <class Interface>
class ModulePin {
 public:
  ModulePin() noexcept = default;  // empty
  // Releases the generation now (the pin becomes empty).
  void reset() noexcept { pin_.reset(); }
  explicit operator bool() const noexcept { return static_cast<bool>(pin_); }
  Interface* get() const noexcept { return static_cast<Interface*>(pin_->instance); }
  Interface* operator->() const noexcept { return get(); }
  Interface& operator*() const noexcept { return *get(); }
  std::uint64_t generation() const noexcept { return pin_->number; }

 private:
  template <class>
  friend class Module;
  explicit ModulePin(Pin<module_internal::Generation> pin) noexcept : pin_(std::move(pin)) {}
  Pin<module_internal::Generation> pin_;
};

template <class Interface>
class Module {
 public:
  // Stages, inspects, preflights, loads and publishes options.path as generation 1, then
  // starts watching (if options.watch_paths). Fails with the cause if that first load
  // fails or watching cannot start. Any thread.
  static Result<std::unique_ptr<Module>> open(Options options) {
    std::unique_ptr<Module> m(new Module(std::move(options)));
    if (auto r = m->core_.start(); !r) return r.error();
    return m;
  }

  // The serving generation, for one call or one request. Any thread; as cheap as
  // Cell::pin() (no shared write).
  ModulePin<Interface> pin() const { return ModulePin<Interface>(core_.pin()); }

  // Swaps in options.path (or `path`) now. On failure the old generation keeps serving and
  // the Error (also in status()) names the cause. Any thread; serialized with the watcher.
  Result<void> reload() { return core_.reload_from({}); }
  Result<void> reload_from(const fs::path& path) { return core_.reload_from(path); }

  Status status() const { return core_.status(); }

  // The identity this host expects of a module.
  static constexpr Identity expected() {
    return entry_internal::expected_identity<Interface>(0, 0, "");
  }

 private:
  explicit Module(Options options) : core_(std::move(options), expected()) {}
  module_internal::ModuleCore core_;
};

}  // namespace relive::module
