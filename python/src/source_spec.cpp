#include "source_spec.hpp"

#include <pybind11/pybind11.h>

#include <string_view>

#include "remote_source.hpp"

namespace relive::python {

namespace py = pybind11;

namespace {

// The etcd/HTTP source of a URL, from relive._remote (imported now, the first time).
Result<std::shared_ptr<config::Source>> remote_source(const std::string& url) {
  py::object made = py::module_::import("relive._remote").attr("_source")(url);
  if (py::isinstance<py::str>(made)) return Error{made.cast<std::string>()};
  auto* held = static_cast<std::shared_ptr<config::Source>*>(PyCapsule_GetPointer(made.ptr(), kSourceCapsule));
  if (!held) throw py::error_already_set();
  return *held;
}

}  // namespace

Result<std::shared_ptr<config::Source>> source_from_spec(const std::string& spec) {
  if (spec.empty()) return Error{"a configuration source must not be an empty string"};
  constexpr std::string_view file_scheme = "file://";
  if (spec.starts_with(file_scheme)) return config::file(spec.substr(file_scheme.size()));
  const auto scheme_end = spec.find("://");
  // A scheme is letters, digits, '+', '-', '.' before "://"; anything else is a path.
  bool has_scheme = scheme_end != std::string::npos && scheme_end > 0;
  for (size_t i = 0; has_scheme && i < scheme_end; ++i) {
    const char c = spec[i];
    has_scheme = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '+' || c == '-' || c == '.';
  }
  if (has_scheme) return remote_source(spec);  // etcd://, http(s)://; other schemes fail
  return config::file(spec);
}

}  // namespace relive::python
