// source_spec.hpp — one place that turns a source written as a string into a Source.
//
// Python users list their sources as strings ("config/app.yaml", "etcd://127.0.0.1:2379/app/");
// this is the only function that decides what a string means, so a new kind of source is
// one branch here.
#pragma once

#include <memory>
#include <string>

#include "relive/config.hpp"
#include "relive/error.hpp"

namespace relive::python {

// "path/to/app.yaml" (or "file://path") -> config::file(path); etcd:// and http(s):// ->
// config::remote_source_from_url in relive._remote, imported on the first URL (the same
// sources as `relive config`); another scheme -> an Error naming it. GIL held.
Result<std::shared_ptr<config::Source>> source_from_spec(const std::string& spec);

}  // namespace relive::python
