// relive/internal/config_core.hpp — the non-template side of relive::config's templates
// (Config::bind, Config::resource, Subscription): the loader's state, Core, is defined
// only in src/config, and these functions are how the templates in relive/config.hpp reach
// it. Not part of the API: it is installed only because those templates call it; nothing
// outside relive includes it directly, and it may change in any release.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "relive/config_node.hpp"
#include "relive/error.hpp"

namespace relive::config {

class Snapshot;

namespace detail {

struct Core;  // the loader: sources, bindings, resources, subscribers (src/config)

// Registers a typed binding on core; returns its slot. Fails if the current snapshot
// does not convert.
Result<std::size_t> add_binding(Core& core, std::string key,
                                std::function<std::shared_ptr<const void>(const Node&)> build);
// Registers a resource rebuild hook: called with the new section of a version that changed
// it, before that version is published; builds (or throws) and returns what publishes the
// new T (empty: keep the old one), run only once the version is accepted.
void add_resource(Core& core, std::string key,
                  std::function<std::function<void()>(const Node&)> rebuild);
// The section at key, or a Null node with that key.
Node section(const Snapshot& snapshot, const std::string& key);
// Ends subscription `id` (Subscription's destructor); once it returns the callback never
// runs again, also when called from inside a callback.
void unsubscribe(Core& core, std::uint64_t id);

}  // namespace detail
}  // namespace relive::config
