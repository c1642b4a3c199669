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

