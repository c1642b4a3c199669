// relive/internal/module_entry_abi.hpp — implementation detail of relive/module_entry.hpp: how the
// exported entry is filled in (identity, state handoff, noexcept create/destroy wrappers).
// Not part of the API: installed only because RELIVE_MODULE and RELIVE_INTERFACE expand to it; nothing outside relive
// includes it directly, and it may change in any release. relive/module_entry.hpp includes it
// inside its namespace, after the declarations it uses: it is not a standalone header.
#pragma once

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
