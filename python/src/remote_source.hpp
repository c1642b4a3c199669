// remote_source.hpp — how a Source made by relive._remote reaches relive._relive.
//
// The etcd and HTTP sources need libcurl and its TLS stack (~40 shared libraries, most of
// the time `import relive` took), so they live in a second extension module, relive._remote,
// which relive._relive imports only when a source string has a URL scheme. The two modules
// each link relive's static libraries, so no C++ type passes between them through pybind11:
// _remote._source(url) returns either a PyCapsule named kSourceCapsule holding a heap
// std::shared_ptr<config::Source> (freed by the capsule's destructor, in _remote), or the
// error message as a str. Both modules are built from the same headers by the same compiler,
// and a Source is used only through its virtual functions.
#pragma once

namespace relive::python {

inline constexpr const char* kSourceCapsule = "relive._remote.Source";

}  // namespace relive::python
