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
//   #include <relive/module.hpp>
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

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "relive/cell.hpp"
#include "relive/error.hpp"

namespace relive::module {

// ======================= ABI shared by host and module (keep C-compatible) ==============

inline constexpr std::uint32_t kMagic = 0x444d4c52;   // "RLMD" little-endian
inline constexpr std::uint32_t kAbiVersion = 1;       // layout of Entry / Identity
inline constexpr const char* kEntrySymbol = "relive_module_entry_v1";

// The identity of a module: plain bytes, no pointers, so it can be read from the file.
struct Identity {
  std::uint32_t magic;           // kMagic
  std::uint32_t abi_version;     // kAbiVersion of the header the module was built with
  std::uint32_t cxx11_abi;       // _GLIBCXX_USE_CXX11_ABI (0 or 1), 2 when not libstdc++
  std::uint32_t glibcxx;         // __GLIBCXX__ (libstdc++ release date, YYYYMMDD), 0 if none
  std::uint32_t state_version;   // Implementation::state_version, 0 when it declares none
  std::uint32_t flags;           // kTakesState | kSavesState
  std::uint64_t interface_hash;  // see RELIVE_INTERFACE
  char interface_name[96];       // NUL-terminated
  char build_id[64];             // RELIVE_MODULE_BUILD_ID if defined, else __DATE__ " " __TIME__
  char compiler[64];             // __VERSION__ (truncated)
};
inline constexpr std::uint32_t kTakesState = 1;  // Implementation(const PreviousState&)
inline constexpr std::uint32_t kSavesState = 2;  // State Implementation::save_state() const

// The previous generation's state as the new instance receives it (host-owned bytes,
// valid during the constructor only).
struct PreviousState {
  bool present = false;      // false for the first generation (or no save_state)
  std::uint32_t version = 0;
  std::string_view bytes;
};

// What an instance hands over (see "State handoff" at the top).
struct State {
  std::uint32_t version = 0;
  std::string bytes;
};

// create() result codes (Entry::create's return value).
enum CreateCode : int { kCreated = 0, kCreateThrew = 1, kStateRejected = 2, kStateMismatch = 3 };

// C view of the state crossing the boundary.
struct StateView {
  int present;
  std::uint32_t version;
  const char* data;
  std::size_t size;
};
using StateSink = void (*)(void* context, std::uint32_t version, const char* data, std::size_t size) noexcept;

// The single exported symbol of a module.
struct Entry {
  Identity identity;
  // Creates the instance (an Interface*, as void*) from `previous` (may be null: no state).
  // Returns a CreateCode; on failure writes a NUL-terminated reason into `error`.
  int (*create)(const StateView* previous, void** instance, char* error, std::size_t error_size) noexcept;
  // Destroys what create() made.
  void (*destroy)(void* instance) noexcept;
  // Calls sink once with the instance's state; returns 0, or 1 with a reason in `error`
  // (the swap is then refused). Null when the Implementation saves no state.
  int (*save_state)(const void* instance, StateSink sink, void* context, char* error, std::size_t error_size) noexcept;
};

// Thrown by an Implementation's constructor to refuse the previous state (the old
// generation keeps serving; `what()` is the reason shown).
class RejectState : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Helpers for the common case of a trivially copyable state.
template <class T>
State pod_state(std::uint32_t version, const T& value) {
  static_assert(std::is_trivially_copyable_v<T>);
  return State{version, std::string(reinterpret_cast<const char*>(&value), sizeof(T))};
}
// Reads a T from the previous state; throws RejectState naming `what` if the size differs.
template <class T>
T read_pod(const PreviousState& prev, const char* what) {
  static_assert(std::is_trivially_copyable_v<T>);
  if (prev.bytes.size() != sizeof(T)) {
    throw RejectState(std::string(what) + ": expected " + std::to_string(sizeof(T)) + " bytes of state, got " +
                      std::to_string(prev.bytes.size()));
  }
  T value;
  std::memcpy(&value, prev.bytes.data(), sizeof(T));
  return value;
}

// FNV-1a 64 over "name\0text": the interface hash (see RELIVE_INTERFACE).
constexpr std::uint64_t interface_hash(std::string_view name, std::string_view text) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&h](char c) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  };
  for (char c : name) mix(c);
  mix('\0');
  for (char c : text) mix(c);
  return h;
}

namespace entry_internal {

template <std::size_t N>
constexpr void copy_text(char (&to)[N], std::string_view from) {
  std::size_t n = from.size() < N - 1 ? from.size() : N - 1;
  for (std::size_t i = 0; i < n; ++i) to[i] = from[i];
  to[n] = '\0';
}

inline void write_error(char* out, std::size_t size, std::string_view message) noexcept {
  if (size == 0) return;
  std::size_t n = message.size() < size - 1 ? message.size() : size - 1;
  std::memcpy(out, message.data(), n);
  out[n] = '\0';
}

template <class Impl>
constexpr bool takes_state = std::is_constructible_v<Impl, const PreviousState&>;
template <class Impl>
constexpr bool saves_state = requires(const Impl& i) {
  { i.save_state() } -> std::convertible_to<State>;
};
template <class Impl>
constexpr std::uint32_t state_version_of() {
  if constexpr (requires { Impl::state_version; }) {
    return static_cast<std::uint32_t>(Impl::state_version);
  } else {
    return 0;
  }
}

template <class Interface, class Impl>
int create(const StateView* previous, void** instance, char* error, std::size_t error_size) noexcept {
  try {
    PreviousState prev;
    if (previous && previous->present) {
      prev.present = true;
      prev.version = previous->version;
      prev.bytes = std::string_view(previous->data, previous->size);
    }
    if constexpr (takes_state<Impl>) {
      constexpr std::uint32_t expected = state_version_of<Impl>();
      if (expected != 0 && prev.present && prev.version != expected) {
        write_error(error, error_size,
                    "state version mismatch: the previous generation handed over version " +
                        std::to_string(prev.version) + ", this module accepts version " + std::to_string(expected));
        return kStateMismatch;
      }
      *instance = static_cast<void*>(static_cast<Interface*>(new Impl(prev)));
    } else {
      *instance = static_cast<void*>(static_cast<Interface*>(new Impl()));
    }
    return kCreated;
  } catch (const RejectState& e) {
    write_error(error, error_size, e.what());
    return kStateRejected;
  } catch (const std::exception& e) {
    write_error(error, error_size, e.what());
    return kCreateThrew;
  } catch (...) {
    write_error(error, error_size, "an exception that is not a std::exception");
    return kCreateThrew;
  }
}

template <class Interface, class Impl>
void destroy(void* instance) noexcept {
  delete static_cast<Impl*>(static_cast<Interface*>(instance));
}

template <class Interface, class Impl>
int save(const void* instance, StateSink sink, void* context, char* error, std::size_t error_size) noexcept {
  try {
    const Impl* self = static_cast<const Impl*>(static_cast<const Interface*>(instance));
    State s = self->save_state();
    sink(context, s.version, s.bytes.data(), s.bytes.size());
    return 0;
  } catch (const std::exception& e) {
    write_error(error, error_size, e.what());
    return 1;
  } catch (...) {
    write_error(error, error_size, "save_state threw an exception that is not a std::exception");
    return 1;
  }
}

#if defined(_GLIBCXX_USE_CXX11_ABI)
inline constexpr std::uint32_t kCxx11Abi = _GLIBCXX_USE_CXX11_ABI;
#else
inline constexpr std::uint32_t kCxx11Abi = 2;
#endif
#if defined(__GLIBCXX__)
inline constexpr std::uint32_t kGlibcxx = __GLIBCXX__;
#else
inline constexpr std::uint32_t kGlibcxx = 0;
#endif

template <class Interface>
constexpr Identity expected_identity(std::uint32_t state_version, std::uint32_t flags, std::string_view build_id) {
  Identity id{};
  id.magic = kMagic;
  id.abi_version = kAbiVersion;
  id.cxx11_abi = kCxx11Abi;
  id.glibcxx = kGlibcxx;
  id.state_version = state_version;
  id.flags = flags;
  id.interface_hash = Interface::relive_interface_hash;
  copy_text(id.interface_name, Interface::relive_interface_name);
  copy_text(id.build_id, build_id);
  copy_text(id.compiler, __VERSION__);
  return id;
}

template <class Interface, class Impl>
constexpr Entry make_entry(std::string_view build_id) {
  static_assert(std::is_base_of_v<Interface, Impl>, "RELIVE_MODULE: Implementation must derive from Interface");
  static_assert(takes_state<Impl> || std::is_default_constructible_v<Impl>,
                "RELIVE_MODULE: Implementation must be default-constructible or take const PreviousState&");
  Entry e{};
  e.identity = expected_identity<Interface>(state_version_of<Impl>(),
                                            (takes_state<Impl> ? kTakesState : 0u) | (saves_state<Impl> ? kSavesState : 0u),
                                            build_id);
  e.create = &create<Interface, Impl>;
  e.destroy = &destroy<Interface, Impl>;
  if constexpr (saves_state<Impl>) e.save_state = &save<Interface, Impl>;
  return e;
}

}  // namespace entry_internal
}  // namespace relive::module

#define RELIVE_MODULE_STRINGIFY_(...) #__VA_ARGS__

// Declares an interface class (see the top of this file).
#define RELIVE_INTERFACE(Name, ...)                                                             \
  class Name {                                                                                 \
   public:                                                                                     \
    static constexpr const char* relive_interface_name = #Name;                                \
    static constexpr std::uint64_t relive_interface_hash =                                     \
        ::relive::module::interface_hash(#Name, RELIVE_MODULE_STRINGIFY_(__VA_ARGS__));        \
    virtual ~Name() = default;                                                                 \
    __VA_ARGS__                                                                                \
  }

// Inside a hand-written interface class: its identity from a text you keep current.
#define RELIVE_INTERFACE_IDENTITY(Name, version_text)              \
  static constexpr const char* relive_interface_name = #Name;      \
  static constexpr std::uint64_t relive_interface_hash = ::relive::module::interface_hash(#Name, version_text)

#ifndef RELIVE_MODULE_BUILD_ID
#define RELIVE_MODULE_BUILD_ID __DATE__ " " __TIME__
#endif

// Exports Implementation (a class derived from Interface) as this shared library's module.
// Use once per module, at namespace scope.
#define RELIVE_MODULE(Interface, Implementation)                                                    \
  extern "C" {                                                                                     \
  [[gnu::visibility("default")]] extern const ::relive::module::Entry relive_module_entry_v1; \
  const ::relive::module::Entry relive_module_entry_v1 =                                           \
      ::relive::module::entry_internal::make_entry<Interface, Implementation>(RELIVE_MODULE_BUILD_ID); \
  }

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

namespace module_internal {

struct Loaded;  // defined in src/module

// One generation: the instance and what keeps its code alive. Destroying it destroys the
// instance, dlcloses the library, checks it is unmapped and deletes the staged file.
struct Generation {
  void* instance = nullptr;  // an Interface*, or null before the first load
  std::uint64_t number = 0;
  std::unique_ptr<Loaded> loaded;
  Generation();
  Generation(void* instance, std::uint64_t number, std::unique_ptr<Loaded> loaded);
  ~Generation();
};

struct Shared;

// Everything that is not typed: staging, inspection, preflight, load, publish, watch.
class ModuleCore {
 public:
  ModuleCore(Options options, const Identity& expected);
  ~ModuleCore();  // stops watching; the serving generation is retired (destroyed when unpinned)
  ModuleCore(const ModuleCore&) = delete;
  ModuleCore& operator=(const ModuleCore&) = delete;

  Result<void> start();  // first load, then watching
  Pin<Generation> pin() const { return cell_.pin(); }
  Result<void> reload_from(const fs::path& path);
  Status status() const;

 private:
  void rebuild_and_reload();  // the watch thread, per batch
  std::shared_ptr<Shared> shared_;
  Cell<Generation> cell_;
};

}  // namespace module_internal

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
