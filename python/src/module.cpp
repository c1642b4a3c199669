// module.cpp — relive._relive, the native half of the Python package `relive` (the Python
// half, python/relive/, is what users import; see docs/python.md).
//
// Threads and the GIL: every call into the C++ Config that may wait (open, reload, close)
// releases the GIL, because the Config's own threads may need it: a Python validator runs
// on the loader thread and takes the GIL for the call. Subscriber callbacks never run on a
// C++ thread (see subscriptions.hpp).
//
// fork(): CPython's os.fork() calls fork() holding the GIL, and the C++ Config's
// pthread_atfork handler takes the loader's lock. A loader inside a Python validator, waiting
// for the GIL while holding that lock, would deadlock the fork. So the before-fork hook
// waits (GIL released) until no validator runs, and a validation that would start while a
// fork is pending is turned down without calling Python; its Config reloads right after the
// fork, in the parent and in the child (relive/__init__.py registers the hooks).
#include <pybind11/chrono.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "convert.hpp"
#include "log_bridge.hpp"
#include "relive/config.hpp"
#include "relive/listen_fds.hpp"
#include "source_spec.hpp"
#include "subscriptions.hpp"

namespace relive::python {
namespace {

// A failure to open or reload, with the C++ message ("app.yaml:3:12: db.timeout: ...").
struct ConfigFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// relive.directory()/env()/overrides() results: a source to pass to Config.open().
struct PySource {
  std::shared_ptr<config::Source> source;
};

// --- the fork gate (see the top of this file) ---------------------------------------------
std::atomic<bool> fork_pending{false};
std::atomic<int> validators_running{0};

void before_fork() {
  fork_pending.store(true);
  py::gil_scoped_release nogil;
  while (validators_running.load() > 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
}
// After fork(), in the parent and in the child (GIL held): new validations run again. A
// validation that saw the fork pending may still be on its way out; once none runs, every
// turned-down one has marked its Config, which the caller then reloads.
void after_fork() {
  fork_pending.store(false);
  py::gil_scoped_release nogil;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (validators_running.load() > 0 && std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(std::chrono::microseconds(200));
}

bool interpreter_exiting() {
#if PY_VERSION_HEX >= 0x030D0000
  return Py_IsFinalizing();
#else
  return _Py_IsFinalizing();
#endif
}

std::string describe_python_error(py::error_already_set& e) {
  std::string text = py::str(e.value());
  if (e.matches(PyExc_ValueError)) return text;
  std::string type = py::str(py::handle(e.type()).attr("__name__"));
  return text.empty() ? type : type + ": " + text;
}

// A Python validator as a C++ one. `fn` is owned by the LiveConfig (which outlives its C++
// Config's threads); `deferred` is set when a fork turned a validation down.
config::Validator python_validator(PyObject* fn, std::shared_ptr<std::atomic<bool>> deferred,
                                   std::shared_ptr<const config::Redactor> redactor) {
  return [fn, deferred, redactor](const config::Snapshot& candidate) -> Result<void> {
    validators_running.fetch_add(1);
    struct Leave { ~Leave() { validators_running.fetch_sub(1); } } leave;
    if (fork_pending.load() || interpreter_exiting()) {
      deferred->store(true);
      return Error{"validation deferred: a fork() is in progress (reloaded right after it)"};
    }
    py::gil_scoped_acquire gil;
    try {
      py::handle validate(fn);
      validate(make_snapshot(candidate, redactor));
      return {};
    } catch (py::error_already_set& e) {
      return Error{"validator rejected version " + std::to_string(candidate.version()) + ": " +
                   describe_python_error(e)};
    } catch (const std::exception& e) {
      return Error{std::string("validator failed: ") + e.what()};
    }
  };
}

std::shared_ptr<config::Source> to_source(const py::handle& item) {
  if (py::isinstance<PySource>(item)) return item.cast<const PySource&>().source;
  py::object path;
  try {
    path = py::module_::import("os").attr("fsdecode")(item);  // str, bytes or PathLike
  } catch (py::error_already_set&) {
    throw py::type_error("a configuration source is a path, a URL string or relive.directory()/"
                         "env()/overrides(), not " + std::string(py::str(py::type::of(item).attr("__name__"))));
  }
  auto source = source_from_spec(path.cast<std::string>());
  if (!source) throw ConfigFailure(source.error().message);
  return *source;
}

// relive.Config (its docstrings are in the bindings below).
class LiveConfig {
 public:
  static std::unique_ptr<LiveConfig> open(const py::iterable& sources, const py::object& validate,
                                        const std::vector<std::string>& secrets, bool watch,
                                        double quiet) {
    auto self = std::unique_ptr<LiveConfig>(new LiveConfig());
    config::Options options;
    for (py::handle item : sources) options.sources.push_back(to_source(item));
    if (options.sources.empty()) throw py::value_error("Config.open() needs at least one source");
    for (const std::string& pattern : secrets) options.secret_patterns.push_back(pattern);
    options.watch = watch;
    options.logger = kBridgeLogger;
    options.quiet = std::chrono::milliseconds(static_cast<long>(quiet * 1000));
    self->redactor_ = std::make_shared<const config::Redactor>(options.secret_patterns);
    if (!validate.is_none()) {
      if (PyCallable_Check(validate.ptr())) self->validators_.push_back(validate);
      else for (py::handle fn : validate) self->validators_.push_back(py::reinterpret_borrow<py::object>(fn));
    }
    for (const py::object& fn : self->validators_) {
      if (!PyCallable_Check(fn.ptr())) throw py::type_error("validate: expected a callable or a list of them");
      options.validators.push_back(python_validator(fn.ptr(), self->deferred_, self->redactor_));
    }
    std::optional<Result<config::Config>> opened;
    {
      py::gil_scoped_release nogil;
      opened.emplace(config::Config::open(std::move(options)));
    }
    if (!*opened) throw ConfigFailure(opened->error().message);
    self->config_ = std::make_unique<config::Config>(std::move(**opened));
    self->cache_ = std::make_shared<SnapshotCache>(self->redactor_);
    return self;
  }

  ~LiveConfig() {
    try {
      close();
    } catch (...) {
    }
  }

  py::object pin() { return cache_->get(*live().pin()); }

  py::object get(const std::string& key, const py::object& fallback) {
    py::object snap = pin();
    PyObject* v = PyDict_GetItemWithError(snap.ptr(), py::str(key).ptr());
    if (!v) {
      if (PyErr_Occurred()) throw py::error_already_set();
      return fallback;
    }
    return py::reinterpret_borrow<py::object>(v);
  }

  std::uint64_t version() { return live().version(); }

  bool reload() {
    config::Config& cfg = live();
    std::optional<Result<bool>> r;
    {
      py::gil_scoped_release nogil;
      r.emplace(cfg.reload());
    }
    if (!*r) throw ConfigFailure(r->error().message);
    return **r;
  }

  // After a fork: reload if a validation was turned down while it was pending, or always
  // (in the child: a save that landed between the parent's last reload and the child's new
  // watcher would otherwise be missed until the next one).
  void reload_after_fork(bool always) {
    const bool deferred = deferred_->exchange(false);
    if (!config_ || !(deferred || always)) return;
    py::gil_scoped_release nogil;
    (void)config_->reload();  // a failure is logged and shown by status()
  }

  py::object status() {
    config::Status s = live().status();
    return types().status(s.version, s.loaded_at, s.error ? py::cast(*s.error) : py::none(), s.reloads,
                          s.failures);
  }

  std::shared_ptr<Subscriber> subscribe(std::string prefix, py::object callback) {
    if (!PyCallable_Check(callback.ptr())) throw py::type_error("subscribe: callback must be callable");
    config::Config& cfg = live();
    auto sub = std::make_shared<Subscriber>();
    sub->prefix = prefix;
    sub->callback = std::move(callback);
    sub->cache = cache_;
    sub->last = pin();
    std::weak_ptr<Subscriber> weak = sub;
    sub->subscription = cfg.subscribe(std::move(prefix), [weak](const config::Update& u) {
      if (auto s = weak.lock()) update_queue::push(PendingUpdate{std::move(s), u, 0, {}});
    });
    subscribers_.push_back(sub);
    return sub;
  }

  bool is_secret(const std::string& key) const { return redactor_->is_secret(key); }

  void close() {
    for (auto& sub : subscribers_) sub->close();
    subscribers_.clear();
    if (config_) {
      std::unique_ptr<config::Config> cfg = std::move(config_);
      py::gil_scoped_release nogil;  // joins the Config's threads, which may want the GIL
      cfg.reset();
    }
    if (cache_) cache_->clear();
    validators_.clear();  // after the Config: no thread calls them any more
  }

  bool closed() const { return !config_; }

 private:
  LiveConfig() = default;
  config::Config& live() {
    if (!config_) throw py::value_error("this relive.Config is closed");
    return *config_;
  }

  std::vector<py::object> validators_;
  std::shared_ptr<std::atomic<bool>> deferred_ = std::make_shared<std::atomic<bool>>(false);
  std::shared_ptr<const config::Redactor> redactor_;
  std::unique_ptr<config::Config> config_;
  std::shared_ptr<SnapshotCache> cache_;
  std::vector<std::shared_ptr<Subscriber>> subscribers_;
};

const config::Node* find_node(const NativeSnapshot& s, const std::string& key) {
  const config::Node* n = s.snapshot.find(key);
  return (n && !n->is_null()) ? n : nullptr;
}

PyObject* fast_pin(PyObject* self, PyObject*) {
  try {
    return py::handle(self).cast<LiveConfig&>().pin().release().ptr();
  } catch (py::error_already_set& e) {
    e.restore();
  } catch (const py::builtin_exception& e) {
    e.set_error();
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
  }
  return nullptr;
}

// snap[k] and `k in snap` at the cost of a dict's. A Python subclass of dict does not inherit
// dict's C subscript and contains slots: dict's __getitem__/__contains__ are methods (not slot
// wrappers), so CPython fills the subclass's slots with generic ones that look the method up
// and call it (~10 ns more than a dict per read, measured in bench/python/bench_read.py).
// Pointing the class's own slots back at dict's functions gives exactly dict.__getitem__'s
// behaviour (including __missing__) without that detour. Only relive.Snapshot and
// relive.Section (heap types whose slot tables are their own) are changed.
void give_dict_read_slots(const py::object& cls) {
  auto* type = reinterpret_cast<PyTypeObject*>(cls.ptr());
  if (!PyType_Check(cls.ptr()) || !PyType_IsSubtype(type, &PyDict_Type) ||
      !(type->tp_flags & Py_TPFLAGS_HEAPTYPE) || !type->tp_as_mapping || !type->tp_as_sequence)
    throw py::type_error("_init_types: Snapshot and Section must be dict subclasses");
  type->tp_as_mapping->mp_subscript = PyDict_Type.tp_as_mapping->mp_subscript;
  type->tp_as_sequence->sq_contains = PyDict_Type.tp_as_sequence->sq_contains;
  PyType_Modified(type);
}

template <class F>
auto converting(F&& f) {
  try {
    return f();
  } catch (const config::TypeError& e) {
    throw py::value_error(e.what());
  }
}

}  // namespace
}  // namespace relive::python

PYBIND11_MODULE(_relive, m) {
  using namespace relive;
  using namespace relive::python;
  m.doc() = "The native half of the relive package (import relive, not this module).";
  update_queue::install_fork_handlers();
  register_log_bridge();

  auto& config_error = py::register_exception<ConfigFailure>(m, "ConfigError", PyExc_ValueError);
  config_error.doc() =
      "A configuration that could not be loaded: the message names file:line:column and key "
      "(\"config/app.yaml:3:12: db.timeout: expected a duration, got \\\"fast\\\"\").";

  m.def("_init_types",
        [](py::object snapshot, py::object section, py::object change, py::object update, py::object status,
           py::object origin) {
          types() = Types{snapshot, section, change, update, status, origin};
          give_dict_read_slots(snapshot);
          give_dict_read_slots(section);
        },
        "Hands the Python classes to the native module (done once by relive/__init__.py).");

  py::class_<PySource>(m, "Source", "A configuration source for Config.open().")
      .def_property_readonly("name", [](const PySource& s) { return s.source->name(); },
                             "Its name in messages: the path, \"env APP_*\", \"overrides\".")
      .def("__repr__", [](const PySource& s) { return "<relive.Source " + s.source->name() + ">"; });

  m.def("file", [](const std::string& path) { return PySource{config::file(path)}; }, py::arg("path"),
        "A JSON/YAML/TOML file (by extension). Same as passing the path as a string.");
  m.def("directory", [](const std::string& path) { return PySource{config::directory(path)}; },
        py::arg("path"),
        "Every *.json/*.yaml/*.yml/*.toml in a directory (not recursive), merged in name order.");
  m.def("env", [](const std::string& prefix) { return PySource{config::env(prefix)}; }, py::arg("prefix"),
        "Environment variables PREFIX_A__B=v as a.b (lower-cased; \"__\" separates levels).");
  m.def("overrides", [](const std::vector<std::string>& items) { return PySource{config::overrides(items)}; },
        py::arg("assignments"), "Explicit \"dotted.key=value\" overrides (command-line flags).");
  m.def("source", [](const std::string& spec) {
          auto s = source_from_spec(spec);
          if (!s) throw ConfigFailure(s.error().message);
          return PySource{*s};
        },
        py::arg("spec"), "The source a string names: a path, or a URL (etcd://, http://) if this build has it.");

  py::class_<NativeSnapshot>(m, "NativeSnapshot", "The C++ side of a relive.Snapshot (internal).")
      .def("duration",
           [](const NativeSnapshot& s, const std::string& key) -> std::optional<std::chrono::nanoseconds> {
             const config::Node* n = find_node(s, key);
             if (!n) return std::nullopt;
             return converting([&] { return n->as_duration(); });
           })
      .def("size",
           [](const NativeSnapshot& s, const std::string& key) -> std::optional<std::uint64_t> {
             const config::Node* n = find_node(s, key);
             if (!n) return std::nullopt;
             return converting([&] { return n->as_size().bytes; });
           })
      .def("origin", [](const NativeSnapshot& s, const std::string& key) {
             return origin_to_python(s.snapshot.origin(key));
           })
      .def("is_secret", [](const NativeSnapshot& s, const std::string& key) { return s.redactor->is_secret(key); })
      .def("entries", [](const NativeSnapshot& s) {
             py::list out;
             for (const config::Entry& e : s.snapshot.entries())
               out.append(py::make_tuple(e.key, s.redactor->show(e.key, e.value)));
             return out;
           });

  py::class_<Subscriber, std::shared_ptr<Subscriber>>(m, "Subscription",
                                                      "Returned by Config.subscribe(); close() ends it.")
      .def_property_readonly("prefix", [](const Subscriber& s) { return s.prefix; },
                             "The prefix subscribed to (\"\" for every key).")
      .def_property_readonly("closed", [](const Subscriber& s) { return s.closed.load(); },
                             "Whether close() ended it (its own or its Config's).")
      .def("close", &Subscriber::close, "Ends the subscription: the callback is not called again.")
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](Subscriber& s, py::args) { s.close(); });

  auto config_class = py::class_<LiveConfig>(m, "Config", R"(Live configuration: layered sources merged into immutable, validated
snapshots, reloaded when a file changes (see docs/python.md).

Open with Config.open([...]); per request, snap = cfg.pin() and read snap["db.timeout"].)")
      .def_static("open", &LiveConfig::open, py::arg("sources"), py::kw_only(), py::arg("validate") = py::none(),
                  py::arg("secrets") = std::vector<std::string>{}, py::arg("watch") = true,
                  py::arg("quiet") = 0.005,
                  R"(Loads every source (later ones override earlier ones), validates, publishes version 1,
then watches the files. Raises relive.ConfigError naming file:line:column and key.

sources   paths (str/PathLike; .json .yaml .yml .toml), relive.directory(), relive.env(),
          relive.overrides(), or URL strings (etcd://...) when this build has them.
validate  a callable, or a list of them, called with each candidate Snapshot on the loader
          thread; raising (ValueError) rejects the whole version and the old one keeps
          serving. A validator must not call reload() (the loader is busy running it).
secrets   glob patterns of keys whose values are never shown (added to *password*,
          *secret*, *token*, *key).
watch     reload when a file changes (False: load once).
quiet     seconds of quiet that end one save (the events of one save make one reload).)")
      .def("pin", &LiveConfig::pin,
           "The current version as an immutable relive.Snapshot (hold it for one request). Any thread.")
      .def("get", &LiveConfig::get, py::arg("key"), py::arg("default") = py::none(),
           "pin().get(key, default).")
      .def_property_readonly("version", &LiveConfig::version, "The version serving (1 for the first load).")
      .def("reload", &LiveConfig::reload,
           "Re-reads every source now: True if a new version was published, False if nothing changed; "
           "raises relive.ConfigError (the current version keeps serving).")
      .def("status", &LiveConfig::status,
           "relive.Status: the version serving, the last error (with its position) until a good load, counts.")
      .def("subscribe", &LiveConfig::subscribe, py::arg("prefix"), py::arg("callback"),
           R"(Calls callback(update) after each version that changed a key equal to or under prefix
("" = all), in publish order, on relive's one subscriber thread. update.changes lists
relive.Change(key, old, new). An exception is logged (logger "relive") and does not stop
the other callbacks. The subscription lasts until close() (of it or of the Config).)")
      .def("is_secret", &LiveConfig::is_secret, py::arg("key"), "Whether the key's value is redacted in messages.")
      .def("close", &LiveConfig::close, "Stops watching and ends the subscriptions. Idempotent.")
      .def_property_readonly("closed", &LiveConfig::closed, "Whether close() was called.")
      .def("_reload_after_fork", &LiveConfig::reload_after_fork, py::arg("always"))
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](LiveConfig& c, py::args) { c.close(); });
  // pin() is the one call made per request: bound as a plain CPython method (METH_NOARGS),
  // which skips pybind11's overload dispatch (about half of what a pin cost through it).
  static PyMethodDef pin_method = {"pin", &fast_pin, METH_NOARGS,
                                   "The current version as an immutable relive.Snapshot (hold it for one "
                                   "request). Any thread."};
  py::object pin_descr = py::reinterpret_steal<py::object>(
      PyDescr_NewMethod(reinterpret_cast<PyTypeObject*>(config_class.ptr()), &pin_method));
  if (!pin_descr) throw py::error_already_set();
  config_class.attr("pin") = pin_descr;

  m.def("_next_update", []() -> py::object {
    for (;;) {
      auto pending = update_queue::next();
      if (!pending) return py::none();
      py::object item = deliver(*pending);
      if (!item.is_none()) return item;
    }
  });
  m.def("_stop_updates", &update_queue::stop);
  m.def("_before_fork", &before_fork);
  m.def("_after_fork", &after_fork);

  m.def("_take_listen_fds", [] {
    std::vector<std::pair<int, std::string>> out;
    for (auto& fd : relive::take_listen_fds()) out.emplace_back(fd.fd, fd.name);
    return out;
  });
  m.def("notify", [](const std::string& state) { return relive::notify(state); }, py::arg("state"),
        "Sends an sd_notify(3) state (\"READY=1\", \"STATUS=...\") to $NOTIFY_SOCKET; False if unset or failed.");
  m.def("parse_duration", [](const std::string& text) { return config::parse_duration(text); }, py::arg("text"),
        "\"250ms\", \"5s\", \"1m30s\" as a timedelta, or None.");
  m.def("parse_size", [](const std::string& text) -> std::optional<std::uint64_t> {
          auto s = config::parse_size(text);
          if (!s) return std::nullopt;
          return s->bytes;
        },
        py::arg("text"), "\"64MiB\", \"10KB\" as a number of bytes, or None.");
}
