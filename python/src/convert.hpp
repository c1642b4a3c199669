// convert.hpp — configuration values as Python objects.
//
// A published version is converted once, into a relive.Snapshot (a read-only dict subclass
// holding every dotted key, sections included), and that object is shared by every pin of
// the version: a read is then a dict lookup, with no lock and no conversion. Called with the
// GIL held, on any thread.
#pragma once

#include <pybind11/pybind11.h>

#include <cstdint>
#include <memory>

#include "relive/config.hpp"

namespace relive::python {

namespace py = pybind11;

// The Python classes the native module instantiates. They are defined in relive/__init__.py
// (so they are plain Python: a dict subclass reads at dict speed) and handed over once at
// import by _relive._init_types().
struct Types {
  py::object snapshot;  // relive.Snapshot(dict)
  py::object section;   // relive.Section(dict)
  py::object change;    // relive.Change(key, old, new)
  py::object update;    // relive.Update(version, changes, snapshot)
  py::object status;    // relive.Status(...)
  py::object origin;    // relive.Origin(source, line, column)
};
Types& types();

// What a relive.Snapshot keeps of the C++ side (its `_native` attribute): the snapshot, for
// origins, durations and sizes, and the secret patterns, for its repr.
struct NativeSnapshot {
  config::Snapshot snapshot;
  std::shared_ptr<const config::Redactor> redactor;
};

// One value: None, bool, int, float, str; arrays as tuples; objects as relive.Section.
py::object to_python(const config::Node& node);
// relive.Origin, or None for a key that has no source.
py::object origin_to_python(const config::Origin* origin);
// A new relive.Snapshot of `snapshot` (every key converted now).
py::object make_snapshot(const config::Snapshot& snapshot,
                         std::shared_ptr<const config::Redactor> redactor);

// The relive.Snapshot of the latest version a Config handed out, reused until the version
// changes (pin() of an unchanged Config allocates nothing). GIL held.
class SnapshotCache {
 public:
  explicit SnapshotCache(std::shared_ptr<const config::Redactor> redactor)
      : redactor_(std::move(redactor)) {}
  ~SnapshotCache();
  py::object get(const config::Snapshot& snapshot);
  // Drops the cached object (GIL held), so that destruction needs no GIL.
  void clear();
  const std::shared_ptr<const config::Redactor>& redactor() const { return redactor_; }

 private:
  std::shared_ptr<const config::Redactor> redactor_;
  std::uint64_t version_ = 0;
  py::object cached_;
};

}  // namespace relive::python
