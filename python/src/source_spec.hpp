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

// "path/to/app.yaml" (or "file://path") -> config::file(path); "scheme://..." for a scheme
// this build has no source for (etcd, http, https, consul) -> an Error saying so
// ("etcd://127.0.0.1:2379/app/: etcd sources are not supported in this build"). Any thread.
Result<std::shared_ptr<config::Source>> source_from_spec(const std::string& spec);

}  // namespace relive::python
