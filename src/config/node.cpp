// The value tree (Node), its conversions, and the duration/size parsers.
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <limits>
#include <unordered_map>

#include <fmt/format.h>

#include "internal.hpp"
#include "relive/internal/json_string.hpp"

namespace relive::config {

std::string Origin::to_string() const {
  if (source.empty()) return "<none>";
  if (line <= 0) return source;
  if (column <= 0) return fmt::format("{}:{}", source, line);
  return fmt::format("{}:{}:{}", source, line, column);
}

namespace {
std::string type_error_message(const Origin& o, const std::string& key, const std::string& expected,
                               const std::string& got) {
  std::string m;
  if (!o.source.empty()) m += o.to_string() + ": ";
  m += key.empty() ? "(top level)" : key;
  if (got.empty()) return m + ": " + expected;
  return m + ": expected " + expected + ", got " + got;
}

std::string format_double(double d) {
  if (std::isnan(d)) return ".nan";
  if (std::isinf(d)) return d > 0 ? ".inf" : "-.inf";
  std::string s = fmt::format("{}", d);
  return s;
}

void write_compact(std::string& out, const Node& n) {
  switch (n.kind()) {
    case Node::Kind::String: relive::internal::append_json_string(out, n.as_string()); return;
    case Node::Kind::Array: {
      out += '[';
      bool first = true;
      for (const Node& c : n.children()) {
        if (!first) out += ',';
        first = false;
        write_compact(out, c);
      }
      out += ']';
      return;
    }
    case Node::Kind::Object: {
      out += '{';
      bool first = true;
      for (const Node& c : n.children()) {
        if (!first) out += ',';
        first = false;
        relive::internal::append_json_string(out, c.name());
        out += ':';
        write_compact(out, c);
      }
      out += '}';
      return;
    }
    default: out += n.to_string();
  }
}

bool parse_int(std::string_view t, std::int64_t& out) {
  if (t.empty()) return false;
  std::string_view digits = t;
  bool neg = false;
  if (digits[0] == '+' || digits[0] == '-') {
    neg = digits[0] == '-';
    digits.remove_prefix(1);
  }
  int base = 10;
  if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
    base = 16;
    digits.remove_prefix(2);
  } else if (digits.size() > 2 && digits[0] == '0' && digits[1] == 'o') {
    base = 8;
    digits.remove_prefix(2);
  }
  if (digits.empty()) return false;
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v, base);
  if (ec != std::errc() || p != digits.data() + digits.size()) return false;
  if (neg) {
    if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) + 1) return false;
    out = static_cast<std::int64_t>(0 - v);
  } else {
    if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return false;
    out = static_cast<std::int64_t>(v);
  }
  return true;
}

bool parse_real(std::string_view t, double& out) {
  if (t.empty()) return false;
  if (t == ".inf" || t == "+.inf" || t == ".Inf" || t == ".INF") { out = INFINITY; return true; }
  if (t == "-.inf" || t == "-.Inf" || t == "-.INF") { out = -INFINITY; return true; }
  if (t == ".nan" || t == ".NaN" || t == ".NAN") { out = NAN; return true; }
  // Only plain decimal notation: digits, one '.', optional exponent.
  bool digit = false;
  for (char c : t) {
    if (std::isdigit(static_cast<unsigned char>(c))) digit = true;
    else if (c != '.' && c != 'e' && c != 'E' && c != '+' && c != '-') return false;
  }
  if (!digit) return false;
  std::string s(t);
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

std::string lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}
}  // namespace

TypeError::TypeError(Origin origin, std::string key, std::string expected, std::string got)
    : std::runtime_error(type_error_message(origin, key, expected, got)),
      origin_(std::move(origin)), key_(std::move(key)), expected_(std::move(expected)), got_(std::move(got)) {}

std::string quoted(const Node& n) {
  switch (n.kind()) {
    case Node::Kind::String: {
      std::string s;
      relive::internal::append_json_string(s, n.as_string());
      return s;
    }
    case Node::Kind::Null: return "null";
    case Node::Kind::Array: return "an array";
    case Node::Kind::Object: return "an object";
    default: return n.to_string();
  }
}

void throw_type_error(const Node& n, std::string expected) {
  throw TypeError(n.origin(), n.key(), std::move(expected), quoted(n));
}

namespace {

// A number of seconds as nanoseconds, or nothing when it is negative, not finite or beyond
// what std::chrono::nanoseconds holds (~292 years): converting such a number would be
// undefined behaviour (std::chrono::seconds(n) overflowing, llround out of range), so every
// bare-number path (a string "10", an integer, a float) goes through this one check.
std::optional<std::chrono::nanoseconds> seconds_to_duration(long double seconds) {
  if (!(seconds >= 0) || !std::isfinite(seconds)) return std::nullopt;
  long double ns = seconds * 1e9L;
  if (ns > static_cast<long double>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
  return std::chrono::nanoseconds(static_cast<std::int64_t>(std::llroundl(ns)));
}

}  // namespace

std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  if (text.empty()) return std::nullopt;
  double bare = 0;
  // The same range as the suffixed forms: a bare number is seconds.
  if (parse_real(text, bare)) return seconds_to_duration(static_cast<long double>(bare));
  long double total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
    if (i == start) return std::nullopt;
    double number = 0;
    if (!parse_real(text.substr(start, i - start), number)) return std::nullopt;
    size_t ustart = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view unit = text.substr(ustart, i - ustart);
    long double scale;
    if (unit == "ns") scale = 1;
    else if (unit == "us") scale = 1e3;
    else if (unit == "ms") scale = 1e6;
    else if (unit == "s") scale = 1e9;
    else if (unit == "m") scale = 60e9;
    else if (unit == "h") scale = 3600e9;
    else if (unit == "d") scale = 86400e9;
    else return std::nullopt;
    total += number * scale;
  }
  if (total > static_cast<long double>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
  return std::chrono::nanoseconds(static_cast<std::int64_t>(std::llroundl(total)));
}

std::optional<ByteSize> parse_size(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
  if (i == 0) return std::nullopt;
  double number = 0;
  if (!parse_real(text.substr(0, i), number) || number < 0) return std::nullopt;
  std::string_view rest = text.substr(i);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  std::string unit = lower(rest);
  long double scale;
  if (unit.empty() || unit == "b") scale = 1;
  else if (unit == "kb") scale = 1e3;
  else if (unit == "mb") scale = 1e6;
  else if (unit == "gb") scale = 1e9;
  else if (unit == "tb") scale = 1e12;
  else if (unit == "k" || unit == "kib") scale = 1024.0L;
  else if (unit == "m" || unit == "mib") scale = 1024.0L * 1024;
  else if (unit == "g" || unit == "gib") scale = 1024.0L * 1024 * 1024;
  else if (unit == "t" || unit == "tib") scale = 1024.0L * 1024 * 1024 * 1024;
  else return std::nullopt;
  long double bytes = number * scale;
  if (bytes > static_cast<long double>(std::numeric_limits<std::uint64_t>::max()) / 2) return std::nullopt;
  return ByteSize{static_cast<std::uint64_t>(std::llroundl(bytes))};
}

// --- Node -------------------------------------------------------------------------------

Node Node::null(Origin o) { Node n; n.origin_ = std::move(o); return n; }
Node Node::boolean(bool v, Origin o) { Node n = null(std::move(o)); n.kind_ = Kind::Bool; n.bool_ = v; return n; }
Node Node::integer(std::int64_t v, Origin o) { Node n = null(std::move(o)); n.kind_ = Kind::Int; n.int_ = v; return n; }
Node Node::real(double v, Origin o) { Node n = null(std::move(o)); n.kind_ = Kind::Double; n.double_ = v; return n; }
Node Node::string(std::string v, Origin o) { Node n = null(std::move(o)); n.kind_ = Kind::String; n.string_ = std::move(v); return n; }
Node Node::array(Origin o) { Node n = null(std::move(o)); n.kind_ = Kind::Array; return n; }
Node Node::object(Origin o) { Node n = null(std::move(o)); n.kind_ = Kind::Object; return n; }

// A node's name with its parent's path: the dotted key is derived by walking up, so a
// key is stored once however deep the tree (a full key per node is quadratic in depth).
struct Node::Path {
  std::shared_ptr<Path> parent;
  std::string name;
};

// name -> position in children_ for objects past kSmall members (below that a scan is
// cheaper). Views point into the children's Path names, which live on the heap and so
// survive the vector's reallocation; shared between copies until one of them changes.
struct Node::Index {
  std::unordered_map<std::string_view, std::uint32_t> pos;
};

namespace {
constexpr std::size_t kSmall = 16;
const std::string kNoName;
}  // namespace

std::shared_ptr<Node::Path> NodeAccess::make_path(std::shared_ptr<Node::Path> parent, std::string name) {
  return std::make_shared<Node::Path>(Node::Path{std::move(parent), std::move(name)});
}

void NodeAccess::set_key(Node& n, std::string_view key) {
  std::shared_ptr<Node::Path> p;
  for (;;) {
    auto dot = key.find('.');
    p = make_path(std::move(p), std::string(key.substr(0, dot)));
    if (dot == std::string_view::npos) break;
    key.remove_prefix(dot + 1);
  }
  n.path_ = std::move(p);
}

const std::string& Node::name() const { return path_ ? path_->name : kNoName; }

std::string Node::key() const {
  std::vector<const std::string*> names;
  for (const Path* p = path_.get(); p; p = p->parent.get()) names.push_back(&p->name);
  std::string out;
  for (auto it = names.rbegin(); it != names.rend(); ++it) {
    if (!out.empty()) out += '.';
    out += **it;
  }
  return out;
}

void Node::reindex() {
  if (kind_ != Kind::Object || children_.size() <= kSmall) {
    index_.reset();
    return;
  }
  auto idx = std::make_shared<Index>();
  idx->pos.reserve(children_.size());
  for (std::size_t i = 0; i < children_.size(); ++i)
    idx->pos[children_[i].name()] = static_cast<std::uint32_t>(i);
  index_ = std::move(idx);
}

const Node* Node::child(std::string_view name) const {
  if (index_) {
    auto it = index_->pos.find(name);
    return it == index_->pos.end() ? nullptr : &children_[it->second];
  }
  for (const Node& c : children_)
    if (c.name() == name) return &c;
  return nullptr;
}

Node& Node::push_back(Node child) {
  child.path_ = std::make_shared<Path>(Path{nullptr, std::to_string(children_.size())});
  children_.push_back(std::move(child));
  return children_.back();
}

Node& Node::set(std::string name, Node child) {
  if (!child.path_ || child.path_.use_count() > 1 || child.path_->name != name)
    child.path_ = std::make_shared<Path>(Path{nullptr, std::move(name)});
  const std::string& stored_name = child.path_->name;
  if (Node* existing = const_cast<Node*>(this->child(stored_name))) {
    std::size_t i = static_cast<std::size_t>(existing - children_.data());
    if (index_) {
      if (index_.use_count() > 1) index_ = std::make_shared<Index>(*index_);
      index_->pos.erase(stored_name);  // its view points into the child being replaced
    }
    *existing = std::move(child);
    if (index_) index_->pos[existing->name()] = static_cast<std::uint32_t>(i);
    return *existing;
  }
  children_.push_back(std::move(child));
  if (index_) {
    if (index_.use_count() > 1) index_ = std::make_shared<Index>(*index_);
    index_->pos[children_.back().name()] = static_cast<std::uint32_t>(children_.size() - 1);
  } else if (children_.size() > kSmall) {
    reindex();
  }
  return children_.back();
}

Node Node::parse_scalar(std::string_view t, Origin o) {
  if (t == "true" || t == "True" || t == "TRUE") return boolean(true, std::move(o));
  if (t == "false" || t == "False" || t == "FALSE") return boolean(false, std::move(o));
  if (t == "null" || t == "Null" || t == "NULL" || t == "~") return null(std::move(o));
  std::int64_t i = 0;
  if (parse_int(t, i)) return integer(i, std::move(o));
  double d = 0;
  if (t.find_first_of(".eE") != std::string_view::npos && parse_real(t, d) &&
      t.find_first_of("0123456789") != std::string_view::npos)
    return real(d, std::move(o));
  if (t.starts_with(".") && parse_real(t, d)) return real(d, std::move(o));
  return string(std::string(t), std::move(o));
}

bool Node::as_bool() const {
  if (kind_ != Kind::Bool) throw_type_error(*this, "a boolean (true/false)");
  return bool_;
}

std::int64_t Node::as_int() const {
  if (kind_ == Kind::Int) return int_;
  if (kind_ == Kind::Double && std::isfinite(double_) && double_ == std::floor(double_) &&
      std::fabs(double_) < 9.2e18)
    return static_cast<std::int64_t>(double_);
  throw_type_error(*this, "an integer");
}

double Node::as_double() const {
  if (kind_ == Kind::Double) return double_;
  if (kind_ == Kind::Int) return static_cast<double>(int_);
  throw_type_error(*this, "a number");
}

std::string Node::as_string() const {
  switch (kind_) {
    case Kind::String: return string_;
    case Kind::Bool:
    case Kind::Int:
    case Kind::Double: return to_string();
    default: throw_type_error(*this, "a string");
  }
}

std::chrono::nanoseconds Node::as_duration() const {
  std::optional<std::chrono::nanoseconds> d;
  if (kind_ == Kind::String) d = parse_duration(string_);
  else if (kind_ == Kind::Int) d = seconds_to_duration(static_cast<long double>(int_));
  else if (kind_ == Kind::Double) d = seconds_to_duration(static_cast<long double>(double_));
  if (!d) throw_type_error(*this, "a duration");
  return *d;
}

ByteSize Node::as_size() const {
  std::optional<ByteSize> s;
  if (kind_ == Kind::String) s = parse_size(string_);
  else if (kind_ == Kind::Int && int_ >= 0) s = ByteSize{static_cast<std::uint64_t>(int_)};
  if (!s) throw_type_error(*this, "a size");
  return *s;
}

const Node* Node::find(std::string_view dotted) const {
  const Node* cur = this;
  while (!dotted.empty()) {
    size_t dot = dotted.find('.');
    std::string_view seg = dotted.substr(0, dot);
    dotted = dot == std::string_view::npos ? std::string_view{} : dotted.substr(dot + 1);
    const Node* next = nullptr;
    if (cur->kind_ == Kind::Object) {
      next = cur->child(seg);
    } else if (cur->kind_ == Kind::Array) {
      size_t idx = 0;
      auto [p, ec] = std::from_chars(seg.data(), seg.data() + seg.size(), idx);
      if (ec == std::errc() && p == seg.data() + seg.size() && idx < cur->children_.size())
        next = &cur->children_[idx];
    }
    if (!next) return nullptr;
    cur = next;
  }
  return cur;
}

const Node& Node::at(std::string_view dotted) const {
  if (const Node* n = find(dotted)) return *n;
  std::string own = key();
  std::string full = own.empty() ? std::string(dotted) : own + "." + std::string(dotted);
  throw TypeError(origin_, full, "missing (required)", "");
}

std::string Node::to_string() const {
  switch (kind_) {
    case Kind::Null: return "null";
    case Kind::Bool: return bool_ ? "true" : "false";
    case Kind::Int: return std::to_string(int_);
    case Kind::Double: return format_double(double_);
    case Kind::String: return string_;
    default: {
      std::string out;
      write_compact(out, *this);
      return out;
    }
  }
}

bool Node::same_value(const Node& o) const {
  if (kind_ != o.kind_) return false;
  switch (kind_) {
    case Kind::Null: return true;
    case Kind::Bool: return bool_ == o.bool_;
    case Kind::Int: return int_ == o.int_;
    case Kind::Double: return double_ == o.double_ || (std::isnan(double_) && std::isnan(o.double_));
    case Kind::String: return string_ == o.string_;
    case Kind::Array:
      if (children_.size() != o.children_.size()) return false;
      for (size_t i = 0; i < children_.size(); ++i)
        if (!children_[i].same_value(o.children_[i])) return false;
      return true;
    case Kind::Object:
      // Member order is not content: reordering keys in a file publishes nothing.
      if (children_.size() != o.children_.size()) return false;
      for (size_t i = 0; i < children_.size(); ++i) {
        const Node& mine = children_[i];
        const Node* theirs = o.children_[i].name() == mine.name() ? &o.children_[i] : o.child(mine.name());
        if (!theirs || !mine.same_value(*theirs)) return false;
      }
      return true;
  }
  return false;
}

// --- conversions ------------------------------------------------------------------------

namespace {
template <class I>
void to_integer(const Node& n, I& out) {
  std::int64_t v = n.as_int();
  if constexpr (std::is_unsigned_v<I>) {
    if (v < 0 || static_cast<std::uint64_t>(v) > std::numeric_limits<I>::max())
      throw_type_error(n, "a non-negative integer");
  } else {
    if (v < std::numeric_limits<I>::min() || v > std::numeric_limits<I>::max())
      throw_type_error(n, fmt::format("an integer in [{}, {}]", std::numeric_limits<I>::min(), std::numeric_limits<I>::max()));
  }
  out = static_cast<I>(v);
}
}  // namespace

void from_config(const Node& n, bool& out) { out = n.as_bool(); }
void from_config(const Node& n, short& out) { to_integer(n, out); }
void from_config(const Node& n, unsigned short& out) { to_integer(n, out); }
void from_config(const Node& n, int& out) { to_integer(n, out); }
void from_config(const Node& n, long& out) { to_integer(n, out); }
void from_config(const Node& n, long long& out) { to_integer(n, out); }
void from_config(const Node& n, unsigned& out) { to_integer(n, out); }
void from_config(const Node& n, unsigned long& out) { to_integer(n, out); }
void from_config(const Node& n, unsigned long long& out) { to_integer(n, out); }
void from_config(const Node& n, double& out) { out = n.as_double(); }
void from_config(const Node& n, float& out) { out = static_cast<float>(n.as_double()); }
void from_config(const Node& n, std::string& out) { out = n.as_string(); }
void from_config(const Node& n, ByteSize& out) { out = n.as_size(); }
void from_config(const Node& n, Node& out) { out = n; }

// --- merging ----------------------------------------------------------------------------

void merge_into(Node& base, Node overlay) {
  if (base.is_object() && overlay.is_object()) {
    for (Node& child : NodeAccess::children(overlay)) {
      if (Node* existing = NodeAccess::child(base, child.name())) merge_into(*existing, std::move(child));
      else {
        std::string name = child.name();  // before the move (argument order is unspecified)
        base.set(std::move(name), std::move(child));
      }
    }
    return;
  }
  auto path = NodeAccess::path(base);
  base = std::move(overlay);
  NodeAccess::path(base) = std::move(path);
}

void assign_keys(Node& root) {
  NodeAccess::path(root).reset();
  // Iterative: the tree's depth is bounded by Limits::max_depth, but this walk need not be.
  std::vector<Node*> todo{&root};
  while (!todo.empty()) {
    Node* n = todo.back();
    todo.pop_back();
    auto& kids = NodeAccess::children(*n);
    const auto& parent = NodeAccess::path(*n);
    bool renamed = false;
    for (std::size_t i = 0; i < kids.size(); ++i) {
      auto& p = NodeAccess::path(kids[i]);
      std::string name = n->is_array() ? std::to_string(i) : kids[i].name();
      if (p && p.use_count() == 1 && p->name == name) {
        p->parent = parent;  // the common case: a freshly parsed tree, nothing shared
      } else {
        p = NodeAccess::make_path(parent, std::move(name));
        renamed = true;
      }
      todo.push_back(&kids[i]);
    }
    if (renamed) NodeAccess::reindex(*n);
  }
}

std::string clock_time(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  localtime_r(&tt, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return buf;
}

}  // namespace relive::config
