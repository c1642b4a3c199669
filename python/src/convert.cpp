#include "convert.hpp"

#include <pybind11/chrono.h>

#include <utility>

namespace relive::python {

Types& types() {
  static Types* t = new Types();  // never destroyed: outlives the interpreter's teardown
  return *t;
}

namespace {

// Fills a dict (subclass) without going through its read-only __setitem__.
void put(PyObject* dict, const std::string& key, const py::object& value) {
  py::str k(key);
  if (PyDict_SetItem(dict, k.ptr(), value.ptr()) != 0) throw py::error_already_set();
}

// Converts `node`, and records it and everything under it in `flat` by full dotted key
// (when flat is not null). Containers are built once and shared by both views.
py::object convert(const config::Node& node, PyObject* flat) {
  using Kind = config::Node::Kind;
  switch (node.kind()) {
    case Kind::Null: return py::none();
    case Kind::Bool: return py::bool_(node.as_bool());
    case Kind::Int: return py::int_(node.as_int());
    case Kind::Double: return py::float_(node.as_double());
    case Kind::String: return py::str(node.as_string());
    case Kind::Array: {
      py::tuple items(node.size());
      size_t i = 0;
      for (const config::Node& child : node.children()) {
        py::object value = convert(child, flat);
        if (flat) put(flat, child.key(), value);
        items[i++] = std::move(value);
      }
      return items;
    }
    case Kind::Object: {
      py::object section = types().section();
      for (const config::Node& child : node.children()) {
        py::object value = convert(child, flat);
        if (flat) put(flat, child.key(), value);
        put(section.ptr(), child.name(), value);
      }
      return section;
    }
  }
  return py::none();
}

void set_slot(const py::object& obj, const char* name, const py::object& value) {
  py::str n(name);
  if (PyObject_GenericSetAttr(obj.ptr(), n.ptr(), value.ptr()) != 0) throw py::error_already_set();
}

}  // namespace

py::object to_python(const config::Node& node) { return convert(node, nullptr); }

py::object origin_to_python(const config::Origin* origin) {
  if (!origin) return py::none();
  return types().origin(origin->source, origin->line, origin->column);
}

py::object make_snapshot(const config::Snapshot& snapshot,
                         std::shared_ptr<const config::Redactor> redactor) {
  py::object snap = types().snapshot();
  const config::Node& root = snapshot.root();
  if (root.is_object()) {
    for (const config::Node& child : root.children()) put(snap.ptr(), child.key(), convert(child, snap.ptr()));
  }
  set_slot(snap, "version", py::int_(snapshot.version()));
  set_slot(snap, "loaded_at", py::cast(snapshot.loaded_at()));
  set_slot(snap, "_native", py::cast(NativeSnapshot{snapshot, std::move(redactor)}));
  return snap;
}

SnapshotCache::~SnapshotCache() {
  // Only ever destroyed after clear() or with the GIL held (see module.cpp).
}

py::object SnapshotCache::get(const config::Snapshot& snapshot) {
  if (cached_ && version_ == snapshot.version()) return cached_;
  py::object fresh = make_snapshot(snapshot, redactor_);
  version_ = snapshot.version();
  cached_ = fresh;
  return fresh;
}

void SnapshotCache::clear() {
  if (cached_) cached_.release().dec_ref();
  version_ = 0;
}

}  // namespace relive::python
