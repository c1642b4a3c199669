// relive/module_entry.hpp — the module author's side of relive/module.hpp: the entry
// point a module exports (relive::module::Entry), RELIVE_INTERFACE, RELIVE_MODULE and the
// state handoff types. Light on purpose (a module compiles it on every save); an interface
// header includes this one, a host includes relive/module.hpp. See relive/module.hpp for
// the whole story.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

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

// Implementation details the templates below use (not API).
#include "relive/internal/module_entry_abi.hpp"  // IWYU pragma: export
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

