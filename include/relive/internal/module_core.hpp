// relive/internal/module_core.hpp — implementation detail of relive/module.hpp: Generation and
// ModuleCore, the non-template core that Module<I> wraps (load, swap, retire).
// Not part of the API: installed only because Module<I> expands to it; nothing outside relive
// includes it directly, and it may change in any release. relive/module.hpp includes it
// inside its namespace, after the declarations it uses: it is not a standalone header.
#pragma once

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
