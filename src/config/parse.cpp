// JSON, YAML and TOML text -> Node trees whose every node knows its file:line:column.
// The format libraries stay in here: the public header never sees their types.
#include <algorithm>
#include <iterator>
#include <sstream>

#include <nlohmann/json.hpp>
#include <toml++/toml.h>
#include <yaml-cpp/yaml.h>

#include <fmt/format.h>

#include "internal.hpp"

namespace relive::config {
namespace {

// Byte offset -> 1-based line and column.
class LineIndex {
 public:
  explicit LineIndex(std::string_view text) {
    starts_.push_back(0);
    for (size_t i = 0; i < text.size(); ++i)
      if (text[i] == '\n') starts_.push_back(i + 1);
  }
  std::pair<int, int> at(size_t offset) const {
    auto it = std::upper_bound(starts_.begin(), starts_.end(), offset);
    size_t line = static_cast<size_t>(it - starts_.begin());  // 1-based
    return {static_cast<int>(line), static_cast<int>(offset - starts_[line - 1] + 1)};
  }
 private:
  std::vector<size_t> starts_;
};

// --- JSON ---------------------------------------------------------------------------------
// nlohmann's SAX interface reports no positions, so the input is fed through an iterator
// that records how far the lexer has read; each event then finds its token's start.

struct CountingIterator {
  using iterator_category = std::forward_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;
  const char* p = nullptr;
  const char* base = nullptr;
  size_t* read = nullptr;
  reference operator*() const { return *p; }
  CountingIterator& operator++() {
    ++p;
    *read = static_cast<size_t>(p - base);
    return *this;
  }
  CountingIterator operator++(int) {
    CountingIterator c = *this;
    ++*this;
    return c;
  }
  bool operator==(const CountingIterator& o) const { return p == o.p; }
  bool operator!=(const CountingIterator& o) const { return p != o.p; }
};

class JsonBuilder : public nlohmann::json_sax<nlohmann::json> {
 public:
  JsonBuilder(std::string_view text, std::string name) : text_(text), lines_(text), name_(std::move(name)) {}

  bool null() override { return add(Node::null(value_origin(false))); }
  bool boolean(bool v) override { return add(Node::boolean(v, value_origin(false))); }
  bool number_integer(number_integer_t v) override { return add(Node::integer(v, value_origin(false))); }
  bool number_unsigned(number_unsigned_t v) override {
    if (v > static_cast<number_unsigned_t>(std::numeric_limits<std::int64_t>::max()))
      return add(Node::real(static_cast<double>(v), value_origin(false)));
    return add(Node::integer(static_cast<std::int64_t>(v), value_origin(false)));
  }
  bool number_float(number_float_t v, const string_t&) override { return add(Node::real(v, value_origin(false))); }
  bool string(string_t& v) override { return add(Node::string(v, value_origin(true))); }
  bool binary(binary_t&) override { return add(Node::null(value_origin(false))); }
  bool start_object(std::size_t) override { return open(Node::object(container_origin())); }
  bool start_array(std::size_t) override { return open(Node::array(container_origin())); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }
  bool key(string_t& k) override {
    key_ = k;
    key_origin_ = at(string_start(read_));
    return true;
  }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& ex) override {
    std::string what = ex.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 5: syntax error ..."
    auto colon = what.find(": ", what.find("parse error"));
    std::string reason = colon == std::string::npos ? what : what.substr(colon + 2);
    size_t offset = position > 0 ? position - 1 : 0;
    auto [line, col] = lines_.at(std::min(offset, text_.size()));
    error_ = fmt::format("{}:{}:{}: {}", name_, line, col, reason);
    return false;
  }

  size_t read_ = 0;
  std::optional<Node> root_;
  std::string error_;

 private:
  Origin at(size_t offset) const {
    auto [line, col] = lines_.at(offset);
    return Origin{name_, line, col};
  }
  // Start of the string token that ends just before `end`.
  size_t string_start(size_t end) const {
    if (end < 2) return 0;
    size_t i = end - 2;  // before the closing quote
    while (i > 0) {
      if (text_[i] == '"') {
        size_t bs = 0;
        while (i >= bs + 1 && text_[i - bs - 1] == '\\') ++bs;
        if (bs % 2 == 0) return i;
      }
      --i;
    }
    return 0;
  }
  // Members of an object are located at their key; array items at their own token.
  Origin value_origin(bool is_string) const {
    if (!stack_.empty() && stack_.back()->is_object()) return key_origin_;
    size_t end = std::min(read_, text_.size());
    if (is_string) return at(string_start(end));
    auto token = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '+' || c == '-'; };
    while (end > 0 && !token(text_[end - 1])) --end;
    size_t start = end;
    while (start > 0 && token(text_[start - 1])) --start;
    return at(start);
  }
  Origin container_origin() const {
    if (!stack_.empty() && stack_.back()->is_object()) return key_origin_;
    return at(read_ > 0 ? read_ - 1 : 0);
  }
  bool add(Node n) {
    if (stack_.empty()) {
      root_ = std::move(n);
      return true;
    }
    Node* top = stack_.back();
    if (top->is_object()) top->set(key_, std::move(n));
    else top->push_back(std::move(n));
    return true;
  }
  bool open(Node n) {
    if (stack_.empty()) {
      root_ = std::move(n);
      stack_.push_back(&*root_);
      return true;
    }
    Node* top = stack_.back();
    Node& stored = top->is_object() ? top->set(key_, std::move(n)) : top->push_back(std::move(n));
    stack_.push_back(&stored);
    return true;
  }
  bool close() {
    stack_.pop_back();
    return true;
  }

  std::string_view text_;
  LineIndex lines_;
  std::string name_;
  std::vector<Node*> stack_;  // pointers stay valid: a container is only appended to while it is on top
  std::string key_;
  Origin key_origin_;
};

Result<Node> parse_json(std::string_view text, const std::string& name) {
  JsonBuilder builder(text, name);
  CountingIterator first{text.data(), text.data(), &builder.read_};
  CountingIterator last{text.data() + text.size(), text.data(), &builder.read_};
  bool ok = nlohmann::json::sax_parse(first, last, &builder, nlohmann::json::input_format_t::json, true, false);
  if (!ok || !builder.root_) return Error{builder.error_.empty() ? name + ": invalid JSON" : builder.error_};
  return std::move(*builder.root_);
}

// --- YAML ---------------------------------------------------------------------------------

Origin yaml_origin(const YAML::Node& n, const std::string& name) {
  YAML::Mark m = n.Mark();
  return Origin{name, m.line >= 0 ? m.line + 1 : 0, m.column >= 0 ? m.column + 1 : 0};
}

Node from_yaml(const YAML::Node& y, const std::string& name, const Origin& fallback) {
  Origin o = yaml_origin(y, name);
  if (o.line == 0) o = fallback;
  switch (y.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null: return Node::null(o);
    case YAML::NodeType::Scalar: {
      const std::string& tag = y.Tag();
      // "!" = quoted (non-plain) scalar; explicit !!str likewise a string; "?" = plain.
      if (tag == "!" || tag == "tag:yaml.org,2002:str") return Node::string(y.Scalar(), o);
      if (y.Scalar().empty()) return Node::null(o);
      return Node::parse_scalar(y.Scalar(), o);
    }
    case YAML::NodeType::Sequence: {
      Node arr = Node::array(o);
      for (const auto& item : y) arr.push_back(from_yaml(item, name, o));
      return arr;
    }
    case YAML::NodeType::Map: {
      Node obj = Node::object(o);
      for (const auto& kv : y) {
        Origin ko = yaml_origin(kv.first, name);
        Node child = from_yaml(kv.second, name, ko);
        // A member is located at its key (where a reader looks for it).
        if (ko.line > 0) NodeAccess::set_origin(child, ko);
        std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "?";
        obj.set(key, std::move(child));
      }
      return obj;
    }
  }
  return Node::null(o);
}

Result<Node> parse_yaml(std::string_view text, const std::string& name) {
  try {
    YAML::Node y = YAML::Load(std::string(text));
    return from_yaml(y, name, Origin{name, 1, 1});
  } catch (const YAML::Exception& e) {
    return Error{fmt::format("{}:{}:{}: {}", name, e.mark.line + 1, e.mark.column + 1, e.msg)};
  }
}

// --- TOML ---------------------------------------------------------------------------------

Origin toml_origin(const toml::node& n, const std::string& name) {
  const auto& b = n.source().begin;
  return Origin{name, static_cast<int>(b.line), static_cast<int>(b.column)};
}

Node from_toml(const toml::node& t, const std::string& name, const Origin& at) {
  Origin o = toml_origin(t, name);
  if (o.line == 0) o = at;
  if (auto tbl = t.as_table()) {
    Node obj = Node::object(o);
    for (auto&& [k, v] : *tbl) {
      Origin ko{name, static_cast<int>(k.source().begin.line), static_cast<int>(k.source().begin.column)};
      if (ko.line == 0) ko = toml_origin(v, name);
      Node child = from_toml(v, name, ko);
      NodeAccess::set_origin(child, ko);
      obj.set(std::string(k.str()), std::move(child));
    }
    return obj;
  }
  if (auto arr = t.as_array()) {
    Node a = Node::array(o);
    for (auto&& v : *arr) a.push_back(from_toml(v, name, o));
    return a;
  }
  if (auto s = t.as_string()) return Node::string(s->get(), o);
  if (auto i = t.as_integer()) return Node::integer(i->get(), o);
  if (auto d = t.as_floating_point()) return Node::real(d->get(), o);
  if (auto b = t.as_boolean()) return Node::boolean(b->get(), o);
  std::ostringstream text;  // dates and times: kept as their TOML text
  if (auto v = t.as_date()) text << v->get();
  else if (auto v2 = t.as_time()) text << v2->get();
  else if (auto v3 = t.as_date_time()) text << v3->get();
  return Node::string(text.str(), o);
}

Result<Node> parse_toml(std::string_view text, const std::string& name) {
  try {
    toml::table tbl = toml::parse(text, name);
    return from_toml(tbl, name, Origin{name, 1, 1});
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    return Error{fmt::format("{}:{}:{}: {}", name, b.line, b.column, e.description())};
  }
}

}  // namespace

Result<Node> parse(std::string_view text, Format format, std::string name) {
  Result<Node> r = Error{""};
  switch (format) {
    case Format::Json: r = parse_json(text, name); break;
    case Format::Toml: r = parse_toml(text, name); break;
    case Format::Yaml:
    case Format::Auto: r = parse_yaml(text, name); break;
  }
  if (!r) return r;
  if (r->is_null()) return Node::object(Origin{name, 1, 1});  // an empty document
  assign_keys(*r);
  if (!r->is_object())
    return Error{fmt::format("{}: the top level must be a mapping of keys to values, got {}", r->origin().to_string(),
                             quoted(*r))};
  return r;
}

}  // namespace relive::config
