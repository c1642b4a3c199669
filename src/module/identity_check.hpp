// Internal, header-only: what the host and the preflight helper (tools/relive-module-
// preflight) must agree on — cause tokens of the verdict protocol, the identity check and
// the reading of dlopen()'s error text. Header-only so that the helper links nothing of
// relive's (it is built without sanitizers: RLIMIT_AS and ASan's shadow memory exclude
// each other).
#pragma once

#include <cxxabi.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "relive/module.hpp"

namespace relive::module::detail {

inline const char* cause_token(Cause c) {
  switch (c) {
    case Cause::None: return "ok";
    case Cause::NotFound: return "not-found";
    case Cause::NotElf: return "not-elf";
    case Cause::Truncated: return "truncated";
    case Cause::MissingDependency: return "missing-dependency";
    case Cause::MissingSymbol: return "missing-symbol";
    case Cause::NotReliveModule: return "not-a-relive-module";
    case Cause::InterfaceMismatch: return "interface-mismatch";
    case Cause::AbiMismatch: return "abi-mismatch";
    case Cause::Threw: return "threw";
    case Cause::StateRejected: return "state-rejected";
    case Cause::StateMismatch: return "state-version-mismatch";
    case Cause::Crashed: return "crashed";
    case Cause::TimedOut: return "timed-out";
    case Cause::WillNotUnload: return "will-not-unload";
    case Cause::SaveStateFailed: return "save-state-failed";
    case Cause::BuildFailed: return "build-failed";
    case Cause::PreflightFailed: return "preflight-failed";
    case Cause::LoadFailed: return "load-failed";
  }
  return "unknown";
}

inline std::optional<Cause> cause_from_token(std::string_view token) {
  for (int i = 0; i <= static_cast<int>(Cause::LoadFailed); ++i) {
    if (token == cause_token(static_cast<Cause>(i))) return static_cast<Cause>(i);
  }
  return std::nullopt;
}

struct Problem {
  Cause cause = Cause::None;
  std::string message;
  explicit operator bool() const { return cause != Cause::None; }
};

inline std::string hex64(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// A bounded copy of a fixed-size, maybe unterminated, char array.
template <std::size_t N>
std::string text_of(const char (&a)[N]) {
  return std::string(a, strnlen(a, N));
}

// "interface Handler (hash 1f2e...), module ABI 1, C++11 ABI 1, libstdc++ 20230528, ..."
inline std::string describe(const Identity& id) {
  std::string s = "interface " + text_of(id.interface_name) + " (hash " + hex64(id.interface_hash) + ")";
  s += ", module ABI " + std::to_string(id.abi_version);
  s += ", _GLIBCXX_USE_CXX11_ABI " + std::to_string(id.cxx11_abi);
  s += ", libstdc++ " + std::to_string(id.glibcxx);
  if (id.flags & kTakesState) s += ", takes state";
  if (id.state_version) s += " version " + std::to_string(id.state_version);
  if (id.flags & kSavesState) s += ", saves state";
  s += ", build \"" + text_of(id.build_id) + "\"";
  s += ", compiler \"" + text_of(id.compiler) + "\"";
  return s;
}

// Compares a module's identity with what the host expects. An empty expected interface
// name skips the interface check; a zero expected hash checks the name only.
inline Problem check_identity(const Identity& expected, const Identity& found) {
  if (found.magic != kMagic) {
    return {Cause::NotReliveModule, std::string(kEntrySymbol) + " does not start with relive's magic number"};
  }
  if (found.abi_version != expected.abi_version) {
    return {Cause::AbiMismatch, "module ABI version mismatch: expected " + std::to_string(expected.abi_version) +
                                    ", found " + std::to_string(found.abi_version)};
  }
  if (found.cxx11_abi != expected.cxx11_abi) {
    return {Cause::AbiMismatch, "_GLIBCXX_USE_CXX11_ABI mismatch: expected " + std::to_string(expected.cxx11_abi) +
                                    ", found " + std::to_string(found.cxx11_abi)};
  }
  const std::string want = text_of(expected.interface_name);
  const std::string got = text_of(found.interface_name);
  if (!want.empty() && want != got) {
    return {Cause::InterfaceMismatch, "interface mismatch: expected " + want + ", found " + got};
  }
  if (!want.empty() && expected.interface_hash != 0 && expected.interface_hash != found.interface_hash) {
    return {Cause::InterfaceMismatch, "interface mismatch: expected " + want + " with hash " +
                                          hex64(expected.interface_hash) + ", found hash " +
                                          hex64(found.interface_hash) + " (the interface header changed)"};
  }
  return {};
}

inline std::string demangled(const std::string& name) {
  int status = 0;
  char* d = abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status);
  if (status != 0 || d == nullptr) return name;
  std::string out = d;
  std::free(d);
  return out;
}

// Reads dlopen()'s error text for `file` into a cause.
inline Problem classify_dlerror(std::string_view file, std::string_view text) {
  constexpr std::string_view undefined = "undefined symbol: ";
  if (auto at = text.find(undefined); at != std::string_view::npos) {
    std::string sym(text.substr(at + undefined.size()));
    if (auto comma = sym.find_first_of(", \t"); comma != std::string::npos) sym.resize(comma);
    std::string msg = "missing symbol `" + sym + "`";
    std::string pretty = demangled(sym);
    if (pretty != sym) msg += " (" + pretty + ")";
    return {Cause::MissingSymbol, msg};
  }
  if (text.find("cannot open shared object file") != std::string_view::npos) {
    std::string_view who = text.substr(0, text.find(':'));
    if (who == file) return {Cause::NotFound, std::string(text)};
    return {Cause::MissingDependency, "missing dependency " + std::string(who)};
  }
  if (text.find("invalid ELF header") != std::string_view::npos) return {Cause::NotElf, "not an ELF file"};
  if (text.find("file too short") != std::string_view::npos ||
      text.find("past end of file") != std::string_view::npos) {
    return {Cause::Truncated, "truncated: " + std::string(text)};
  }
  return {Cause::LoadFailed, "dlopen failed: " + std::string(text)};
}

}  // namespace relive::module::detail
