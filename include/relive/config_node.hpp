// relive/config_node.hpp — one value of a configuration tree (relive::config::Node): its
// kind, its name and dotted key, where it was set (Origin), strict typed conversions that
// throw TypeError naming file:line:column and key, and from_config() for your own types.
// Included by relive/config.hpp; include this alone where only values are handled.
//
// Example:
//   auto n = relive::config::parse("db:\n  port: 5432\n", Format::Yaml, "app.yaml");
//   int port = n->at("db.port").as<int>();     // TypeError if not an integer
//   auto timeout = n->get("db.timeout", std::chrono::milliseconds(500));
//
// Threads: a Node is immutable once published; every const member may be called from
// any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace relive::config {

// ---------------------------------------------------------------------------------------
// Where a value came from. `source` is a file path as given ("config/app.yaml"),
// "env APP_DB__TIMEOUT", "override db.timeout=5s" or "" (no source, e.g. a missing key).
// line/column are 1-based; 0 when the source has no positions (env, overrides).
struct Origin {
  std::string source;
  int line = 0;
  int column = 0;
  // "config/app.yaml:12:9", "env APP_DB__TIMEOUT", "override db.timeout=5s", "<none>".
  std::string to_string() const;
};

// A type error found while converting a Node ("app.yaml:12:9: db.timeout: expected a
// duration, got \"fast\""). Thrown by Node conversions; caught by the loader, which turns
// it into a rejected snapshot (values of secret keys are redacted in what it logs).
class TypeError : public std::runtime_error {
 public:
  TypeError(Origin origin, std::string key, std::string expected, std::string got);
  const Origin& origin() const { return origin_; }
  const std::string& key() const { return key_; }
  const std::string& expected() const { return expected_; }  // "a duration"
  const std::string& got() const { return got_; }            // "\"fast\"" (as written)
 private:
  Origin origin_;
  std::string key_, expected_, got_;
};

// A size in bytes, parsed from "64MiB", "10KB", "1GiB", "512" (KB/MB/GB are powers of
// 1000, KiB/MiB/GiB powers of 1024, B/K/M/G accepted too: K = KiB).
struct ByteSize {
  std::uint64_t bytes = 0;
  friend bool operator==(const ByteSize&, const ByteSize&) = default;
};

// Parsers behind Node::as_duration()/as_size(), exposed for flags and tests.
// Durations: "250ms", "5s", "1m30s", "2h", "1.5s", "100us", "10ns"; a bare number is
// seconds. Return nullopt when the text is not one.
std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text);
std::optional<ByteSize> parse_size(std::string_view text);

// ---------------------------------------------------------------------------------------
// One value of the merged configuration tree: null, bool, integer, double, string, array or
// object. Immutable once published. Every node knows its name and, through its parent's
// path (shared, stored once), its full dotted key ("db.timeout", "servers.0.host"; "" for
// the root) and its Origin, so conversions report precise errors.
class Node {
 public:
  enum class Kind : std::uint8_t { Null, Bool, Int, Double, String, Array, Object };

  Node() = default;  // a Null node with no key and no origin

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::Null; }
  bool is_object() const { return kind_ == Kind::Object; }
  bool is_array() const { return kind_ == Kind::Array; }
  bool is_scalar() const { return kind_ != Kind::Array && kind_ != Kind::Object; }
  std::string key() const;              // full dotted key (derived: O(depth))
  const std::string& name() const;      // last segment of key()
  const Origin& origin() const { return origin_; }

  // Strict scalar conversions; each throws TypeError on a mismatch. as_string() accepts
  // any scalar (5 -> "5"); as_double() accepts integers; as_duration() accepts a duration
  // string or a number of seconds; as_size() a size string or a number of bytes.
  bool as_bool() const;
  std::int64_t as_int() const;
  double as_double() const;
  std::string as_string() const;
  std::chrono::nanoseconds as_duration() const;
  ByteSize as_size() const;

  // Children: array items in order, or object members in source order (for objects each
  // child's name() is its member name).
  const std::vector<Node>& children() const { return children_; }
  std::size_t size() const { return children_.size(); }

  // Dotted lookup ("db.pool.size"; array indices as segments: "servers.0.host").
  // find() returns nullptr when absent; at() throws TypeError ("missing") instead.
  const Node* find(std::string_view dotted_key) const;
  const Node& at(std::string_view dotted_key) const;

  // Conversion to any T that has a from_config(const Node&, T&) overload (found by ADL):
  // the built-in scalars, std::string, std::chrono::duration, ByteSize, std::vector,
  // std::map<std::string, T>, std::optional, and your own structs. Throws TypeError.
  template <class T>
  T as() const {
    T value{};
    from_config(*this, value);
    return value;
  }
  // Missing key (or null) -> fallback; present but of the wrong type -> throws TypeError.
  template <class T>
  T get(std::string_view dotted_key, T fallback) const {
    const Node* n = find(dotted_key);
    return (n && !n->is_null()) ? n->as<T>() : std::move(fallback);
  }
  // Overload so that n.get("name", "default") yields a std::string.
  std::string get(std::string_view dotted_key, const char* fallback) const {
    return get<std::string>(dotted_key, std::string(fallback));
  }

  // Scalars as plain text ("5s", "true", "3"); arrays/objects as compact JSON.
  std::string to_string() const;
  // Deep equality of values (keys, origins ignored).
  bool same_value(const Node& other) const;

  // Building (used by sources; a published tree is never modified).
  static Node null(Origin o = {});
  static Node boolean(bool v, Origin o = {});
  static Node integer(std::int64_t v, Origin o = {});
  static Node real(double v, Origin o = {});
  static Node string(std::string v, Origin o = {});
  static Node array(Origin o = {});
  static Node object(Origin o = {});
  // Appends an array item, or sets an object member (replacing one of the same name;
  // amortized O(1): large objects keep a name index). Returns the stored child.
  Node& push_back(Node child);
  Node& set(std::string name, Node child);
  // Parses an environment/override value as a scalar: true/false -> bool, integers -> int,
  // decimals -> double, null/~ -> null, anything else -> string (kept as written).
  static Node parse_scalar(std::string_view text, Origin o = {});

 private:
  friend struct NodeAccess;
  Kind kind_ = Kind::Null;
  bool bool_ = false;
  std::int64_t int_ = 0;
  double double_ = 0;
  std::string string_;
  std::vector<Node> children_;
  struct Path;   // this node's name and its parent's Path (shared by all children)
  struct Index;  // name -> position, for objects with many members
  std::shared_ptr<Path> path_;
  std::shared_ptr<Index> index_;
  Origin origin_;
  const Node* child(std::string_view name) const;
  void reindex();
};

// Built-in conversions for Node::as<T>() (each throws TypeError on a mismatch).
void from_config(const Node& n, bool& out);
void from_config(const Node& n, short& out);
void from_config(const Node& n, unsigned short& out);
void from_config(const Node& n, int& out);
void from_config(const Node& n, long& out);
void from_config(const Node& n, long long& out);
void from_config(const Node& n, unsigned& out);
void from_config(const Node& n, unsigned long& out);
void from_config(const Node& n, unsigned long long& out);
void from_config(const Node& n, double& out);
void from_config(const Node& n, float& out);
void from_config(const Node& n, std::string& out);
void from_config(const Node& n, ByteSize& out);
void from_config(const Node& n, Node& out);  // the section itself, as a tree
template <class Rep, class Period>
void from_config(const Node& n, std::chrono::duration<Rep, Period>& out) {
  out = std::chrono::duration_cast<std::chrono::duration<Rep, Period>>(n.as_duration());
}
template <class T>
void from_config(const Node& n, std::optional<T>& out) {
  if (n.is_null()) out.reset(); else out = n.as<T>();
}
template <class T>
void from_config(const Node& n, std::vector<T>& out);
template <class T>
void from_config(const Node& n, std::map<std::string, T>& out);

// Throws the TypeError "expected <what>, got <value as written>" for n.
[[noreturn]] void throw_type_error(const Node& n, std::string expected);

template <class T>
void from_config(const Node& n, std::vector<T>& out) {
  if (n.is_null()) { out.clear(); return; }
  if (!n.is_array()) throw_type_error(n, "an array");
  out.clear();
  for (const Node& c : n.children()) out.push_back(c.as<T>());
}
template <class T>
void from_config(const Node& n, std::map<std::string, T>& out) {
  if (n.is_null()) { out.clear(); return; }
  if (!n.is_object()) throw_type_error(n, "an object");
  out.clear();
  for (const Node& c : n.children()) out.emplace(c.name(), c.as<T>());
}

}  // namespace relive::config
