// remote_module.cpp — relive._remote: the etcd:// and http(s):// sources (libcurl), imported
// by relive._relive on the first URL source (see remote_source.hpp). Plain CPython API: one
// function, nothing to dispatch.
#include <Python.h>

#include <exception>
#include <memory>

#include "relive/config_remote.hpp"
#include "remote_source.hpp"

namespace {

using SourcePtr = std::shared_ptr<relive::config::Source>;

void destroy_source(PyObject* capsule) {
  delete static_cast<SourcePtr*>(PyCapsule_GetPointer(capsule, relive::python::kSourceCapsule));
}

// _source(url: str) -> capsule | str (the error message, naming the URL or its scheme).
PyObject* source(PyObject*, PyObject* arg) {
  const char* url = PyUnicode_AsUTF8(arg);
  if (!url) return nullptr;
  try {
    auto made = relive::config::remote_source_from_url(url);
    if (!made) return PyUnicode_FromString(made.error().message.c_str());
    auto* held = new SourcePtr(std::move(*made));
    PyObject* capsule = PyCapsule_New(held, relive::python::kSourceCapsule, destroy_source);
    if (!capsule) delete held;
    return capsule;
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
    return nullptr;
  }
}

PyMethodDef methods[] = {
    {"_source", source, METH_O, "A capsule holding the Source a URL names, or the error message."},
    {nullptr, nullptr, 0, nullptr}};

PyModuleDef module = {PyModuleDef_HEAD_INIT, "_remote",
                      "The etcd and HTTP sources of relive.Config (internal; loaded on first use).", -1,
                      methods, nullptr, nullptr, nullptr, nullptr};

}  // namespace

PyMODINIT_FUNC PyInit__remote() { return PyModule_Create(&module); }
