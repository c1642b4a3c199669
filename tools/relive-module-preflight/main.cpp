// relive-module-preflight — tries a relive module in a process of its own, so that a
// module that crashes, hangs, throws or does not link takes down this helper, not the host.
//
//   relive-module-preflight [--interface NAME [--hash HEX]] [--memory BYTES] [--state] -- FILE.so
//
// The host (relive::module, `relive module check`) spawns it with posix_spawn. It limits
// itself (RLIMIT_CORE 0, RLIMIT_AS BYTES, killed if the host dies), then: dlopen(FILE,
// RTLD_NOW | RTLD_LOCAL), looks up relive_module_entry_v1, checks the identity against the
// expected interface and this build's ABI, runs create() — with the state read from stdin
// if --state (4 bytes little-endian version, then the bytes) — and destroy(), dlcloses
// and checks whether the library really left the address space.
//
// Protocol, on fd 3, one line each:
//   step\t<what it is about to do>        (so a crash or a hang names the step)
//   identity\t<describe(identity)>
//   unloads\t1|0
//   verdict\t<cause token>\t<message>     ("ok" when it would load)
// The host reads a signal death or its own timeout as the cause when no verdict came.
// Exit status: 0 ok, 1 rejected, 2 bad usage.
#include <dlfcn.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "identity_check.hpp"

namespace {

namespace mod = relive::module;
namespace detail = relive::module::detail;

void say(const std::string& line) {
  std::string l = line;
  for (char& c : l) {
    if (c == '\n') c = ' ';
  }
  l += '\n';
  // fd 3 may be missing when run by hand: then print to stdout.
  if (::write(3, l.data(), l.size()) < 0) {
    if (::write(1, l.data(), l.size()) < 0) {
    }
  }
}

int verdict(mod::Cause cause, const std::string& message) {
  say(std::string("verdict\t") + detail::cause_token(cause) + "\t" + message);
  return cause == mod::Cause::None ? 0 : 1;
}

int usage() {
  std::fputs("usage: relive-module-preflight [--interface NAME [--hash HEX]] [--memory BYTES] [--state] -- FILE.so\n",
             stderr);
  return 2;
}

std::string read_all_stdin() {
  std::string data;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(0, buf, sizeof buf)) > 0) data.append(buf, static_cast<std::size_t>(n));
  return data;
}

}  // namespace

int main(int argc, char** argv) {
  std::string interface_name, file;
  std::uint64_t hash = 0;
  unsigned long long memory = 0;
  bool with_state = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (a == "--interface") {
      const char* v = next();
      if (!v) return usage();
      interface_name = v;
    } else if (a == "--hash") {
      const char* v = next();
      if (!v) return usage();
      hash = std::strtoull(v, nullptr, 16);
    } else if (a == "--memory") {
      const char* v = next();
      if (!v) return usage();
      memory = std::strtoull(v, nullptr, 10);
    } else if (a == "--state") {
      with_state = true;
    } else if (a == "--") {
      if (i + 2 != argc) return usage();
      file = argv[i + 1];
      break;
    } else if (!a.empty() && a[0] != '-' && i + 1 == argc) {
      file = a;
    } else {
      return usage();
    }
  }
  if (file.empty()) return usage();

  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);
  // A module that blocks SIGALRM still dies by the host's SIGKILL at its timeout.
  if (memory) {
    rlimit as{static_cast<rlim_t>(memory), static_cast<rlim_t>(memory)};
    ::setrlimit(RLIMIT_AS, &as);
  }

  mod::StateView state{};
  std::string state_bytes;
  if (with_state) {
    state_bytes = read_all_stdin();
    if (state_bytes.size() < 4) return verdict(mod::Cause::PreflightFailed, "the state on stdin is shorter than 4 bytes");
    std::uint32_t version = 0;
    std::memcpy(&version, state_bytes.data(), 4);
    state = {1, version, state_bytes.data() + 4, state_bytes.size() - 4};
  }

  say("step\tdlopen");
  void* handle = ::dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* e = ::dlerror();
    auto p = detail::classify_dlerror(file, e ? e : "unknown dlopen error");
    return verdict(p.cause, p.message);
  }
  const auto* entry = static_cast<const mod::Entry*>(::dlsym(handle, mod::kEntrySymbol));
  if (!entry) {
    return verdict(mod::Cause::NotReliveModule, std::string("not a relive module: no ") + mod::kEntrySymbol +
                                                    " symbol (export one with RELIVE_MODULE(Interface, Implementation))");
  }
  mod::Identity expected{};
  expected.abi_version = mod::kAbiVersion;
  expected.cxx11_abi = mod::entry_internal::kCxx11Abi;
  expected.interface_hash = hash;
  mod::entry_internal::copy_text(expected.interface_name, interface_name);
  if (entry->identity.magic == mod::kMagic) say("identity\t" + detail::describe(entry->identity));
  if (auto p = detail::check_identity(expected, entry->identity)) return verdict(p.cause, p.message);
  if (!entry->create || !entry->destroy) return verdict(mod::Cause::NotReliveModule, "the entry point has no create/destroy");

  say("step\tcreate()");
  void* instance = nullptr;
  char error[1024] = {0};
  int rc = entry->create(with_state ? &state : nullptr, &instance, error, sizeof error);
  switch (rc) {
    case mod::kCreated: break;
    case mod::kStateRejected: return verdict(mod::Cause::StateRejected, std::string("the state was rejected: ") + error);
    case mod::kStateMismatch: return verdict(mod::Cause::StateMismatch, error);
    default: return verdict(mod::Cause::Threw, std::string("create() threw: ") + error);
  }
  say("step\tdestroy()");
  entry->destroy(instance);
  say("step\tdlclose");
  ::dlclose(handle);
  void* again = ::dlopen(file.c_str(), RTLD_NOW | RTLD_NOLOAD);
  say(again ? "unloads\t0" : "unloads\t1");
  if (again) ::dlclose(again);
  return verdict(mod::Cause::None, "would load");
}
