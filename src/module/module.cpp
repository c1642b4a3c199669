// relive::module host side: the five steps of a swap (stage, inspect, preflight, load and
// publish, retire) and the optional build-on-change.
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <system_error>

#include "elf_inspect.hpp"
#include "identity_check.hpp"
#include "preflight.hpp"
#include "relive/module.hpp"
#include "relive/watch.hpp"
#include "spawn.hpp"

namespace relive::module {

const char* to_string(Cause cause) { return detail::cause_token(cause); }
std::string describe(const Identity& identity) { return detail::describe(identity); }

namespace module_internal {
namespace {

using Clock = std::chrono::steady_clock;
using detail::Problem;

double us_since(Clock::time_point t) { return std::chrono::duration<double, std::micro>(Clock::now() - t).count(); }

std::string ms(double us) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f ms", us / 1000.0);
  return buf;
}

// Whether the dynamic loader still has `path` mapped (after a dlclose).
bool still_mapped(const fs::path& path) {
  if (void* h = ::dlopen(path.c_str(), RTLD_LAZY | RTLD_NOLOAD)) {
    ::dlclose(h);
    return true;
  }
  struct Search {
    const char* name;
    bool found;
  } search{path.c_str(), false};
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* data) {
        auto* s = static_cast<Search*>(data);
        if (info->dlpi_name && std::strcmp(info->dlpi_name, s->name) == 0) s->found = true;
        return 0;
      },
      &search);
  return search.found;
}

// Copies `from` to a new file (fresh name, fresh inode) at `to`.
Problem copy_fresh(const fs::path& from, const fs::path& to) {
  int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return {Cause::NotFound, errno_message(errno, from.string())};
  struct stat st {};
  if (::fstat(in, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(in);
    return {Cause::NotFound, from.string() + ": not a regular file"};
  }
  int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0700);
  if (out < 0) {
    int e = errno;
    ::close(in);
    return {Cause::LoadFailed, errno_message(e, "staging " + to.string())};
  }
  bool ok = true;
  off_t left = st.st_size;
  while (left > 0) {
    ssize_t n = ::copy_file_range(in, nullptr, out, nullptr, static_cast<std::size_t>(left), 0);
    if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL)) {
      char buf[65536];
      n = ::read(in, buf, sizeof buf);
      if (n > 0 && ::write(out, buf, static_cast<std::size_t>(n)) != n) n = -1;
    }
    if (n <= 0) {
      ok = n == 0;  // the file shrank meanwhile: inspection will find it truncated
      break;
    }
    left -= n;
  }
  int e = errno;
  ::close(in);
  ::close(out);
  if (!ok) {
    ::unlink(to.c_str());
    return {Cause::LoadFailed, errno_message(e, "staging " + from.string())};
  }
  return {};
}

// How long the last retire on this thread took (read by the swap that published, when
// the old generation was retired right inside publish()).
thread_local double t_last_retire_us = 0;

void default_message(const std::string& line) { std::fprintf(stderr, "relive: module: %s\n", line.c_str()); }

}  // namespace

// What keeps one generation's code loaded.
struct Loaded {
  void* handle = nullptr;
  const Entry* entry = nullptr;
  fs::path staged;
  std::vector<std::string> warnings;
  std::shared_ptr<Shared> shared;
};

// State shared by the core, its generations (which may outlive it) and the watch thread.
struct Shared {
  Options options;
  Identity expected{};
  fs::path stage_dir;
  bool own_stage_dir = false;
  fs::path helper;
  std::atomic<std::uint64_t> staged_count{0};

  mutable std::mutex mu;  // guards status
  Status status;

  std::mutex reload_mu;  // one swap at a time
  std::unique_ptr<watch::Watcher> watcher;

  void message(const std::string& line) const {
    if (options.on_message) options.on_message(line); else default_message(line);
  }
  ~Shared() {
    if (own_stage_dir) {
      std::error_code ec;
      fs::remove(stage_dir, ec);  // only if empty: a file that stayed mapped is kept
    }
  }
};

Generation::Generation() = default;
Generation::Generation(void* inst, std::uint64_t n, std::unique_ptr<Loaded> l)
    : instance(inst), number(n), loaded(std::move(l)) {}

// Retire: destroy the instance, dlclose, confirm it is unmapped, delete the staged file.
Generation::~Generation() {
  if (!loaded) return;
  const auto start = Clock::now();
  Loaded& l = *loaded;
  if (instance) l.entry->destroy(instance);
  ::dlclose(l.handle);
  const bool mapped = still_mapped(l.staged);
  std::string why;
  if (mapped) {
    why = l.warnings.empty() ? "unknown reason (something still references it)" : l.warnings.front();
  } else {
    ::unlink(l.staged.c_str());
  }
  {
    std::lock_guard<std::mutex> lock(l.shared->mu);
    l.shared->status.retired++;
    if (mapped) {
      l.shared->status.stayed_mapped++;
      l.shared->status.last_stayed_mapped = l.staged.string() + ": " + why;
    }
  }
  t_last_retire_us = us_since(start);
  if (mapped) {
    l.shared->message("generation " + std::to_string(number) + " stayed mapped after dlclose (" + why + "); keeping " +
                      l.staged.string());
  }
}

ModuleCore::ModuleCore(Options options, const Identity& expected)
    : shared_(std::make_shared<Shared>()), cell_(std::make_unique<const Generation>()) {
  shared_->options = std::move(options);
  shared_->expected = expected;
}

ModuleCore::~ModuleCore() {
  if (shared_->watcher) shared_->watcher->stop();
  std::lock_guard<std::mutex> lock(shared_->reload_mu);  // a swap in progress finishes first
  shared_->watcher.reset();
}

Status ModuleCore::status() const {
  std::lock_guard<std::mutex> lock(shared_->mu);
  return shared_->status;
}

Result<void> ModuleCore::start() {
  Shared& s = *shared_;
  if (s.options.path.empty()) return Error{"relive::module: Options::path is empty"};
  if (s.options.preflight) {
    std::string looked;
    s.helper = detail::find_preflight_helper(s.options.preflight_helper, &looked);
    if (s.helper.empty()) {
      return Error{"relive::module: the preflight helper relive-module-preflight was not found (looked at " + looked +
                   "); set Options::preflight_helper or RELIVE_MODULE_PREFLIGHT, or Options::preflight = false"};
    }
  }
  if (!s.options.stage_directory.empty()) {
    s.stage_dir = s.options.stage_directory;
    std::error_code ec;
    fs::create_directories(s.stage_dir, ec);
    if (ec) return Error{"relive::module: stage directory " + s.stage_dir.string() + ": " + ec.message()};
  } else {
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/relive-module-XXXXXX";
    if (!::mkdtemp(templ.data())) return errno_error("relive::module: mkdtemp " + templ);
    s.stage_dir = templ;
    s.own_stage_dir = true;
  }
  if (auto r = reload_from({}); !r) return r;
  if (!s.options.watch_paths.empty()) {
    watch::Options wo;
    wo.roots = s.options.watch_paths;
    wo.on_warning = [sh = shared_.get()](const std::string& w) { sh->message(w); };
    auto w = watch::Watcher::open(std::move(wo));
    if (!w) return Error{"relive::module: watching: " + w.error().message};
    s.watcher = std::move(*w);
    s.watcher->start([this](const watch::Batch&) { rebuild_and_reload(); });
  }
  return {};
}

void ModuleCore::rebuild_and_reload() {
  Shared& s = *shared_;
  if (!s.options.build_command.empty()) {
    {
      std::lock_guard<std::mutex> lock(s.mu);
      s.status.building = true;
    }
    s.message("building: " + s.options.build_command);
    detail::SpawnOptions so;
    so.cwd = s.options.build_directory;
    so.output_limit = 8192;
    auto run = detail::spawn_and_wait({"/bin/sh", "-c", s.options.build_command}, so);
    std::string failure;
    if (!run) {
      failure = run.error().message;
    } else if (!WIFEXITED(run->wait_status) || WEXITSTATUS(run->wait_status) != 0) {
      failure = detail::describe_wait_status(run->wait_status) + ": " + detail::last_lines(run->output, 6);
    }
    std::uint64_t serving;
    {
      std::lock_guard<std::mutex> lock(s.mu);
      s.status.building = false;
      serving = s.status.generation;
      if (!failure.empty()) {
        s.status.error = "build failed (" + failure + ")";
        s.status.cause = Cause::BuildFailed;
        s.status.failures++;
      }
    }
    if (!failure.empty()) {
      s.message("build failed (" + failure + "); keeping generation " + std::to_string(serving));
      return;
    }
  }
  (void)reload_from({});
}

Result<void> ModuleCore::reload_from(const fs::path& from_arg) {
  Shared& s = *shared_;
  std::lock_guard<std::mutex> reload_lock(s.reload_mu);
  const fs::path from = from_arg.empty() ? s.options.path : from_arg;
  std::uint64_t serving;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    serving = s.status.generation;
  }
  SwapTimings t;
  fs::path staged;

  auto fail = [&](const Problem& p) -> Result<void> {
    if (!staged.empty()) ::unlink(staged.c_str());
    std::string msg = p.message;
    {
      std::lock_guard<std::mutex> lock(s.mu);
      s.status.error = msg;
      s.status.cause = p.cause;
      s.status.failures++;
    }
    if (serving) {
      s.message(from.string() + ": " + msg + "; keeping generation " + std::to_string(serving));
    }
    return Error{from.string() + ": " + msg};
  };

  // 1. Stage under a fresh name and inode.
  auto t0 = Clock::now();
  std::error_code ec;
  if (!fs::exists(from, ec)) return fail({Cause::NotFound, "no such file"});
  staged = s.stage_dir / (from.stem().string() + "." + std::to_string(::getpid()) + "." +
                          std::to_string(++s.staged_count) + ".so");
  if (auto p = copy_fresh(from, staged)) {
    staged.clear();
    return fail(p);
  }
  t.stage_us = us_since(t0);

  // 2. Inspect the ELF.
  auto t1 = Clock::now();
  detail::ElfReport elf = detail::inspect_elf(staged);
  if (elf.problem) {
    // Name the user's file, not the staged copy.
    std::string m = elf.problem.message;
    if (m.rfind(staged.string(), 0) == 0) m.erase(0, staged.string().size() + 2);
    return fail({elf.problem.cause, m});
  }
  if (auto p = detail::check_identity(s.expected, *elf.identity)) return fail(p);
  std::vector<std::string> warnings = elf.unload_warnings;
  if (s.options.strict && !warnings.empty()) return fail({Cause::WillNotUnload, warnings.front() + " (strict mode)"});
  t.inspect_us = us_since(t1);

  // The serving instance's state, to hand over.
  Pin<Generation> current = cell_.pin();
  std::optional<State> state;
  if (current->loaded && current->loaded->entry->save_state) {
    State st;
    char err[512] = {0};
    auto sink = [](void* ctx, std::uint32_t version, const char* data, std::size_t size) noexcept {
      auto* out = static_cast<State*>(ctx);
      out->version = version;
      try {
        out->bytes.assign(data, size);
      } catch (...) {
        out->bytes.clear();
      }
    };
    if (current->loaded->entry->save_state(current->instance, sink, &st, err, sizeof err) != 0) {
      return fail({Cause::SaveStateFailed, std::string("the serving generation's save_state() failed: ") + err});
    }
    state = std::move(st);
  }
  current.reset();  // do not hold the old generation through the preflight

  // 3. Preflight in a helper process.
  if (s.options.preflight) {
    detail::PreflightRequest req;
    req.helper = s.helper;
    req.module = staged;
    req.interface_name = detail::text_of(s.expected.interface_name);
    req.interface_hash = s.expected.interface_hash;
    req.state = state ? &*state : nullptr;
    req.timeout = s.options.preflight_timeout;
    req.memory_limit = s.options.preflight_memory_limit;
    detail::PreflightVerdict v = detail::run_preflight(req);
    if (v.problem) return fail(v.problem);
    if (!v.unloads && warnings.empty()) {
      warnings.push_back("will not unload: the preflight saw it stay mapped after dlclose");
      if (s.options.strict) return fail({Cause::WillNotUnload, warnings.front() + " (strict mode)"});
    }
    t.preflight_us = v.elapsed_us;
  }

  // 4. Load in the host, create from the old state, publish.
  auto t3 = Clock::now();
  void* handle = ::dlopen(staged.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* e = ::dlerror();
    Problem p = detail::classify_dlerror(staged.string(), e ? e : "unknown dlopen error");
    if (p.cause == Cause::LoadFailed || p.cause == Cause::NotFound) p.cause = Cause::LoadFailed;
    return fail(p);
  }
  auto close_and_fail = [&](const Problem& p) {
    ::dlclose(handle);
    return fail(p);
  };
  const auto* entry = static_cast<const Entry*>(::dlsym(handle, kEntrySymbol));
  if (!entry) return close_and_fail({Cause::NotReliveModule, std::string("no ") + kEntrySymbol + " after dlopen"});
  if (auto p = detail::check_identity(s.expected, entry->identity)) return close_and_fail(p);
  StateView view{};
  if (state) view = {1, state->version, state->bytes.data(), state->bytes.size()};
  void* instance = nullptr;
  char err[1024] = {0};
  int rc = entry->create(state ? &view : nullptr, &instance, err, sizeof err);
  if (rc != kCreated) {
    switch (rc) {
      case kStateRejected: return close_and_fail({Cause::StateRejected, std::string("the state was rejected: ") + err});
      case kStateMismatch: return close_and_fail({Cause::StateMismatch, err});
      default: return close_and_fail({Cause::Threw, std::string("create() threw: ") + err});
    }
  }
  auto loaded = std::make_unique<Loaded>();
  loaded->handle = handle;
  loaded->entry = entry;
  loaded->staged = staged;
  loaded->warnings = warnings;
  loaded->shared = shared_;
  const std::uint64_t number = serving + 1;
  {
    // Status first, so that whoever pins generation N finds status().generation >= N.
    std::lock_guard<std::mutex> lock(s.mu);
    s.status.generation = number;
    s.status.staged_path = staged.string();
    s.status.identity = entry->identity;
    s.status.warnings = warnings;
    s.status.error.reset();
    s.status.cause = Cause::None;
    if (serving) s.status.swaps++;
  }
  t_last_retire_us = 0;
  cell_.publish(std::make_unique<const Generation>(instance, number, std::move(loaded)));
  t.retire_us = t_last_retire_us;
  t.load_us = us_since(t3) - t.retire_us;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    s.status.timings = t;
  }
  for (const auto& w : warnings) s.message(from.string() + ": " + w);
  if (serving) {
    s.message("generation " + std::to_string(number) + " serving from " + from.string() + " (stage " + ms(t.stage_us) +
              ", inspect " + ms(t.inspect_us) + ", preflight " + ms(t.preflight_us) + ", load " + ms(t.load_us) + ")");
  }
  return {};
}

}  // namespace module_internal

// ---- Tools ----

Report info(const fs::path& file) {
  Report r;
  detail::ElfReport elf = detail::inspect_elf(file);
  r.identity = elf.identity;
  r.gnu_build_id = elf.gnu_build_id;
  r.needed = elf.needed;
  r.unload_warnings = elf.unload_warnings;
  r.cause = elf.problem.cause;
  r.message = elf.problem.message;
  if (!elf.problem && elf.identity) {
    Identity expected{};
    expected.abi_version = kAbiVersion;
    expected.cxx11_abi = entry_internal::kCxx11Abi;
    if (auto p = detail::check_identity(expected, *elf.identity)) {
      r.cause = p.cause;
      r.message = p.message;
    }
  }
  r.would_load = r.cause == Cause::None;
  return r;
}

Report check(const fs::path& file, const CheckOptions& options) {
  Report r = info(file);
  if (r.cause != Cause::None) return r;
  Identity expected{};
  expected.abi_version = kAbiVersion;
  expected.cxx11_abi = entry_internal::kCxx11Abi;
  entry_internal::copy_text(expected.interface_name, options.interface_name);
  if (auto p = detail::check_identity(expected, *r.identity)) {
    r.cause = p.cause;
    r.message = p.message;
    r.would_load = false;
    return r;
  }
  std::string looked;
  fs::path helper = detail::find_preflight_helper(options.preflight_helper, &looked);
  if (helper.empty()) {
    r.cause = Cause::PreflightFailed;
    r.message = "the preflight helper relive-module-preflight was not found (looked at " + looked + ")";
    r.would_load = false;
    return r;
  }
  detail::PreflightRequest req;
  req.helper = helper;
  req.module = fs::absolute(file);
  req.interface_name = options.interface_name;
  req.timeout = options.preflight_timeout;
  req.memory_limit = options.preflight_memory_limit;
  detail::PreflightVerdict v = detail::run_preflight(req);
  r.preflight_ran = true;
  r.preflight_us = v.elapsed_us;
  r.unloads = v.unloads;
  if (!v.unloads && r.unload_warnings.empty()) {
    r.unload_warnings.push_back("will not unload: the preflight saw it stay mapped after dlclose");
  }
  if (v.problem) {
    r.cause = v.problem.cause;
    r.message = v.problem.message;
  } else if (options.strict && !r.unload_warnings.empty()) {
    r.cause = Cause::WillNotUnload;
    r.message = r.unload_warnings.front() + " (strict mode)";
  }
  r.would_load = r.cause == Cause::None;
  return r;
}

}  // namespace relive::module
