// JSON, YAML and TOML text -> Node trees whose every node knows its file:line:column.
// The format libraries stay in here: the public header never sees their types.
#include <algorithm>
#include <iterator>
#include <sstream>
#include <unordered_map>

#include <nlohmann/json.hpp>
#include <toml++/toml.h>
#include <yaml.h>

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
  JsonBuilder(std::string_view text, std::string name, const Limits& limits)
      : text_(text), lines_(text), name_(std::move(name)), limits_(limits) {}

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
    // The input ended inside a container: say where that container starts. (A bad last
    // byte also sits at the end — `{"b": }` — so the test is what was wrong, not where.)
    const bool ended_early = what.find("unexpected end of input") != std::string::npos;
    if (ended_early && !stack_.empty()) {
      size_t start = stack_.back().start;
      auto [line, col] = lines_.at(start);
      error_ = fmt::format("{}:{}:{}: '{}' is never closed", name_, line, col, text_[start]);
      return false;
    }
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
    if (!stack_.empty() && stack_.back().node->is_object()) return key_origin_;
    size_t end = std::min(read_, text_.size());
    if (is_string) return at(string_start(end));
    auto token = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '+' || c == '-'; };
    while (end > 0 && !token(text_[end - 1])) --end;
    size_t start = end;
    while (start > 0 && token(text_[start - 1])) --start;
    return at(start);
  }
  Origin container_origin() const {
    if (!stack_.empty() && stack_.back().node->is_object()) return key_origin_;
    return at(read_ > 0 ? read_ - 1 : 0);
  }
  // Stores n in the container on top; false (with error_) for a duplicate member.
  Node* store(Node n) {
    Node* top = stack_.back().node;
    if (!top->is_object()) return &top->push_back(std::move(n));
    if (const Node* first = NodeAccess::child(*top, key_)) {
      error_ = fmt::format("{}: duplicate key \"{}\" (first on line {})", key_origin_.to_string(), key_,
                           first->origin().line);
      return nullptr;
    }
    return &top->set(key_, std::move(n));
  }
  bool add(Node n) {
    if (stack_.empty()) {
      root_ = std::move(n);
      return true;
    }
    return store(std::move(n)) != nullptr;
  }
  bool open(Node n) {
    size_t start = read_ > 0 ? read_ - 1 : 0;  // the '[' or '{' just read
    if (stack_.size() >= limits_.max_depth) {
      auto [line, col] = lines_.at(start);
      error_ = fmt::format("{}:{}:{}: nesting deeper than {} levels", name_, line, col, limits_.max_depth);
      return false;
    }
    if (stack_.empty()) {
      root_ = std::move(n);
      stack_.push_back({&*root_, start});
      return true;
    }
    Node* stored = store(std::move(n));
    if (!stored) return false;
    stack_.push_back({stored, start});
    return true;
  }
  bool close() {
    stack_.pop_back();
    return true;
  }

  std::string_view text_;
  LineIndex lines_;
  std::string name_;
  const Limits& limits_;
  struct Open {
    Node* node;    // stays valid: a container is only appended to while it is on top
    size_t start;  // offset of its '[' or '{'
  };
  std::vector<Open> stack_;
  std::string key_;
  Origin key_origin_;
};

Result<Node> parse_json(std::string_view text, const std::string& name, const Limits& limits) {
  JsonBuilder builder(text, name, limits);
  CountingIterator first{text.data(), text.data(), &builder.read_};
  CountingIterator last{text.data() + text.size(), text.data(), &builder.read_};
  bool ok = nlohmann::json::sax_parse(first, last, &builder, nlohmann::json::input_format_t::json, true, false);
  if (!ok || !builder.root_) return Error{builder.error_.empty() ? name + ": invalid JSON" : builder.error_};
  return std::move(*builder.root_);
}

// --- YAML ---------------------------------------------------------------------------------
// libyaml's event parser: no recursion (a deep file cannot overflow the stack), aliases as
// explicit events (so their expansion is counted), every event with its start mark, and
// errors that name the construct a problem is inside ("while parsing a flow sequence").

// `open_flow`: where the innermost flow collection still open starts, if one is ('[' or
// '{' at that offset); libyaml's own context often names only "a flow node".
std::string libyaml_message(const yaml_parser_t& p, const std::string& name, size_t text_size,
                            std::optional<std::pair<yaml_mark_t, char>> open_flow) {
  auto pos = [&](const yaml_mark_t& m) { return fmt::format("{}:{}:{}", name, m.line + 1, m.column + 1); };
  std::string problem = p.problem ? p.problem : "invalid YAML";
  std::string context = p.context ? p.context : "";
  bool at_end = p.problem_mark.index >= text_size || problem.find("end of stream") != std::string::npos;
  if (context.find("quoted scalar") != std::string::npos && at_end)
    return pos(p.context_mark) + ": unterminated quoted string";
  if (at_end && open_flow) return fmt::format("{}: '{}' is never closed", pos(open_flow->first), open_flow->second);
  if (!context.empty() && at_end) {
    if (context.find("flow sequence") != std::string::npos) return pos(p.context_mark) + ": '[' is never closed";
    if (context.find("flow mapping") != std::string::npos) return pos(p.context_mark) + ": '{' is never closed";
  }
  if (context.find("quoted scalar") != std::string::npos && p.context_mark.line != p.problem_mark.line)
    return pos(p.context_mark) + ": unterminated quoted string (" + problem + " on line " +
           std::to_string(p.problem_mark.line + 1) + ")";
  if (!context.empty())
    return fmt::format("{}: {} ({} started at line {})", pos(p.problem_mark), problem, context, p.context_mark.line + 1);
  return pos(p.problem_mark) + ": " + problem;
}

class YamlBuilder {
 public:
  YamlBuilder(std::string name, const Limits& limits) : name_(std::move(name)), limits_(limits) {}

  Result<Node> run(std::string_view text) {
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) return Error{name_ + ": out of memory starting the YAML parser"};
    yaml_parser_set_input_string(&parser, reinterpret_cast<const unsigned char*>(text.data()), text.size());
    std::optional<Error> failure;
    for (bool done = false; !done && !failure;) {
      yaml_event_t event;
      if (!yaml_parser_parse(&parser, &event)) {
        std::optional<std::pair<yaml_mark_t, char>> open_flow;
        if (!stack_.empty() && stack_.back().flow)
          open_flow = {stack_.back().start, stack_.back().node.is_object() ? '{' : '['};
        failure = Error{libyaml_message(parser, name_, text.size(), open_flow)};
        break;
      }
      done = event.type == YAML_STREAM_END_EVENT;
      failure = on(event);
      yaml_event_delete(&event);
    }
    yaml_parser_delete(&parser);
    if (failure) return *failure;
    if (!root_) return Node::null(Origin{name_, 1, 1});
    return std::move(*root_);
  }

 private:
  struct Frame {
    Node node;
    std::string anchor;          // "" = not anchored
    bool have_key = false;       // a mapping between its key and its value
    std::string key;
    Origin key_origin;
    bool merge = false;          // the pending key is "<<"
    std::vector<Node> merges;    // mappings named by "<<", applied at the end
    bool flow = false;           // written [ ... ] or { ... }
    yaml_mark_t start{};
  };
  struct Anchored {
    Node node;
    std::size_t nodes = 0;   // its node count (what one alias to it adds)
    std::uint64_t bytes = 0;  // and its names' and strings' bytes
  };

  Origin origin(const yaml_mark_t& m) const {
    return Origin{name_, static_cast<int>(m.line + 1), static_cast<int>(m.column + 1)};
  }
  Error error_at(const yaml_mark_t& m, const std::string& what) const {
    return Error{origin(m).to_string() + ": " + what};
  }

  std::optional<Error> on(const yaml_event_t& e) {
    switch (e.type) {
      case YAML_DOCUMENT_START_EVENT:
        if (++documents_ > 1)
          return error_at(e.start_mark, "a second document ('---') in one file; a configuration file holds one document");
        return std::nullopt;
      case YAML_SCALAR_EVENT: return scalar(e);
      case YAML_ALIAS_EVENT: return alias(e);
      case YAML_SEQUENCE_START_EVENT:
      case YAML_MAPPING_START_EVENT: {
        if (auto err = expect_value(e.start_mark)) return err;
        if (stack_.size() >= limits_.max_depth)
          return error_at(e.start_mark, fmt::format("nesting deeper than {} levels", limits_.max_depth));
        Frame f;
        f.node = e.type == YAML_MAPPING_START_EVENT ? Node::object(origin(e.start_mark)) : Node::array(origin(e.start_mark));
        const char* anchor = e.type == YAML_MAPPING_START_EVENT
                                 ? reinterpret_cast<const char*>(e.data.mapping_start.anchor)
                                 : reinterpret_cast<const char*>(e.data.sequence_start.anchor);
        if (anchor) f.anchor = anchor;
        f.flow = e.type == YAML_MAPPING_START_EVENT ? e.data.mapping_start.style == YAML_FLOW_MAPPING_STYLE
                                                    : e.data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE;
        f.start = e.start_mark;
        stack_.push_back(std::move(f));
        return std::nullopt;
      }
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT: {
        Frame f = std::move(stack_.back());
        stack_.pop_back();
        if (!f.merges.empty()) apply_merges(f);
        if (!f.anchor.empty()) remember(f.anchor, f.node);
        return deliver(std::move(f.node), e.start_mark);
      }
      default: return std::nullopt;
    }
  }

  // A container or alias is about to become a value: it cannot be a mapping key.
  std::optional<Error> expect_value(const yaml_mark_t& m) {
    if (!stack_.empty() && stack_.back().node.is_object() && !stack_.back().have_key)
      return error_at(m, "a mapping key must be a scalar");
    return std::nullopt;
  }

  std::optional<Error> scalar(const yaml_event_t& e) {
    const auto& sc = e.data.scalar;
    std::string text(reinterpret_cast<const char*>(sc.value), sc.length);
    Origin o = origin(e.start_mark);
    if (!stack_.empty() && stack_.back().node.is_object() && !stack_.back().have_key) {
      Frame& f = stack_.back();
      if (sc.style == YAML_PLAIN_SCALAR_STYLE && text == "<<") {
        f.merge = true;
      } else if (const Node* first = NodeAccess::child(f.node, text)) {
        return error_at(e.start_mark, fmt::format("duplicate key \"{}\" (first on line {})", text, first->origin().line));
      }
      f.key = std::move(text);
      f.key_origin = o;
      f.have_key = true;
      return std::nullopt;
    }
    const char* tag = reinterpret_cast<const char*>(sc.tag);
    Node n;
    bool plain = sc.style == YAML_PLAIN_SCALAR_STYLE;
    if (tag && std::string_view(tag) == "tag:yaml.org,2002:str") n = Node::string(std::move(text), o);
    else if (!plain) n = Node::string(std::move(text), o);
    else if (text.empty()) n = Node::null(o);
    else n = Node::parse_scalar(text, o);
    if (sc.anchor) remember(reinterpret_cast<const char*>(sc.anchor), n);
    return deliver(std::move(n), e.start_mark);
  }

  std::optional<Error> alias(const yaml_event_t& e) {
    if (auto err = expect_value(e.start_mark)) return err;
    std::string name = reinterpret_cast<const char*>(e.data.alias.anchor);
    auto it = anchors_.find(name);
    if (it == anchors_.end()) return error_at(e.start_mark, fmt::format("alias *{} names no anchor", name));
    const Anchored& a = it->second;
    expanded_nodes_ += a.nodes;
    expanded_bytes_ += a.bytes;
    if (expanded_nodes_ > limits_.max_alias_nodes || expanded_bytes_ > limits_.max_alias_bytes)
      return error_at(e.start_mark,
                      fmt::format("alias *{} (anchored on line {}) expands the file past the limit of {} nodes / {} "
                                  "bytes made from aliases (an alias bomb?)",
                                  name, a.node.origin().line, limits_.max_alias_nodes, limits_.max_alias_bytes));
    if (stack_.size() + depth_of(a.node) > limits_.max_depth)
      return error_at(e.start_mark, fmt::format("nesting deeper than {} levels", limits_.max_depth));
    Node copy = a.node;
    return deliver(std::move(copy), e.start_mark);
  }

  // Hands a finished value to the container on top (or makes it the document).
  std::optional<Error> deliver(Node n, const yaml_mark_t&) {
    if (stack_.empty()) {
      root_ = std::move(n);
      return std::nullopt;
    }
    Frame& f = stack_.back();
    if (!f.node.is_object()) {
      f.node.push_back(std::move(n));
      return std::nullopt;
    }
    f.have_key = false;
    if (f.merge) {
      f.merge = false;
      if (n.is_object()) {
        f.merges.push_back(std::move(n));
      } else if (n.is_array()) {
        for (const Node& item : n.children()) {
          if (!item.is_object())
            return Error{f.key_origin.to_string() + ": \"<<\" merges mappings (or a list of them), got " + quoted(item)};
          f.merges.push_back(item);
        }
      } else {
        return Error{f.key_origin.to_string() + ": \"<<\" merges mappings (or a list of them), got " + quoted(n)};
      }
      return std::nullopt;
    }
    // A member is located at its key (where a reader looks for it).
    NodeAccess::set_origin(n, f.key_origin);
    f.node.set(std::move(f.key), std::move(n));
    return std::nullopt;
  }

  // "<<: *base" / "<<: [*a, *b]": members not set explicitly come from the merged
  // mappings, the first one that has them winning (as PyYAML and go-yaml do).
  static void apply_merges(Frame& f) {
    for (Node& m : f.merges)
      for (Node& member : NodeAccess::children(m))
        if (!NodeAccess::child(f.node, member.name())) f.node.set(member.name(), member);
  }

  void remember(const std::string& anchor, const Node& n) {
    Anchored a;
    a.node = n;
    std::vector<const Node*> todo{&n};
    while (!todo.empty()) {
      const Node* cur = todo.back();
      todo.pop_back();
      ++a.nodes;
      a.bytes += cur->name().size() + (cur->kind() == Node::Kind::String ? cur->as_string().size() : 8);
      for (const Node& c : cur->children()) todo.push_back(&c);
    }
    anchors_[anchor] = std::move(a);
  }

  static std::size_t depth_of(const Node& n) {
    std::size_t deepest = 0;
    std::vector<std::pair<const Node*, std::size_t>> todo{{&n, 0}};
    while (!todo.empty()) {
      auto [cur, d] = todo.back();
      todo.pop_back();
      if (cur->is_object() || cur->is_array()) {
        deepest = std::max(deepest, d + 1);
        for (const Node& c : cur->children()) todo.push_back({&c, d + 1});
      }
    }
    return deepest;
  }

  std::string name_;
  const Limits& limits_;
  std::vector<Frame> stack_;
  std::optional<Node> root_;
  std::unordered_map<std::string, Anchored> anchors_;
  int documents_ = 0;
  std::size_t expanded_nodes_ = 0;
  std::uint64_t expanded_bytes_ = 0;
};

Result<Node> parse_yaml(std::string_view text, const std::string& name, const Limits& limits) {
  return YamlBuilder(name, limits).run(text);
}

// --- TOML ---------------------------------------------------------------------------------

// A lexical pass before toml++: bounds the nesting of arrays and inline tables (toml++
// descends recursively) and gives the constructs that never end their start position
// (toml++ reports where the input ran out).
std::optional<Error> toml_precheck(std::string_view t, const std::string& name, const Limits& limits) {
  LineIndex lines(t);
  auto at = [&](size_t offset, const std::string& what) {
    auto [line, col] = lines.at(offset);
    return Error{fmt::format("{}:{}:{}: {}", name, line, col, what)};
  };
  std::vector<size_t> open;  // offsets of the '[' / '{' not yet closed
  bool line_start = true;
  constexpr size_t kNone = std::string_view::npos;
  size_t header = kNone;  // offset of a "[table]" header being read (must end on its line)
  // Dotted keys nest tables too (a.b.c = 1; [a.b.c]): their levels count toward the limit.
  bool in_key = true;
  size_t key_dots = 0, header_dots = 0, table_levels = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    char c = t[i];
    if (c == '\n') {
      if (header != kNone) return at(header, "unterminated table header (']' missing on its line)");
      line_start = true;
      in_key = open.empty();
      key_dots = 0;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r') continue;
    bool was_line_start = line_start;
    line_start = false;
    if (c == '#') {
      while (i + 1 < t.size() && t[i + 1] != '\n') ++i;
      continue;
    }
    if (c == '"' || c == '\'') {
      const std::string_view triple = c == '"' ? std::string_view("\"\"\"") : std::string_view("'''");
      size_t start = i;
      if (t.substr(i, 3) == triple) {
        auto end = t.find(triple, i + 3);
        while (c == '"' && end != std::string_view::npos) {  // an escaped quote does not end it
          size_t bs = 0;
          while (end > bs && t[end - bs - 1] == '\\') ++bs;
          if (bs % 2 == 0) break;
          end = t.find(triple, end + 1);
        }
        if (end == std::string_view::npos) return at(start, "unterminated multi-line string");
        i = end + 2;
        while (i + 1 < t.size() && t[i + 1] == c) ++i;  // up to two quotes may precede the end
        continue;
      }
      for (++i; i < t.size() && t[i] != c; ++i) {
        if (t[i] == '\n') return at(start, "unterminated string");
        if (c == '"' && t[i] == '\\') ++i;
      }
      if (i >= t.size()) return at(start, "unterminated string");
      continue;
    }
    if (c == '[' || c == '{') {
      if (c == '[' && was_line_start && open.empty()) {
        header = i;
        header_dots = 0;
        if (i + 1 < t.size() && t[i + 1] == '[') {
          ++i;
          ++header_dots;  // an array of tables is one level more
        }
        continue;
      }
      if (open.size() >= limits.max_depth) return at(i, fmt::format("nesting deeper than {} levels", limits.max_depth));
      open.push_back(i);
      if (c == '{') {
        in_key = true;
        key_dots = 0;
      }
      continue;
    }
    if (c == ']' || c == '}') {
      if (header != kNone && open.empty()) {
        header = kNone;
        table_levels = header_dots + 1;
        if (table_levels > limits.max_depth)
          return at(i, fmt::format("nesting deeper than {} levels", limits.max_depth));
        if (i + 1 < t.size() && t[i + 1] == ']') ++i;
        continue;
      }
      if (!open.empty()) open.pop_back();
      continue;
    }
    if (c == '.') {
      if (header != kNone) ++header_dots;
      else if (in_key) ++key_dots;
      continue;
    }
    if (c == ',' && !open.empty() && t[open.back()] == '{') {
      in_key = true;
      key_dots = 0;
      continue;
    }
    if (c == '=' && in_key && header == kNone) {
      if (table_levels + key_dots + open.size() + 1 > limits.max_depth)
        return at(i, fmt::format("nesting deeper than {} levels", limits.max_depth));
      in_key = false;
    }
  }
  if (header != kNone) return at(header, "unterminated table header (']' missing on its line)");
  if (!open.empty()) return at(open.back(), fmt::format("'{}' is never closed", t[open.back()]));
  return std::nullopt;
}

Origin toml_origin(const toml::node& n, const std::string& name) {
  const auto& b = n.source().begin;
  return Origin{name, static_cast<int>(b.line), static_cast<int>(b.column)};
}

// Recursion bounded by max_depth: dotted keys (a.b.c = 1) nest tables without brackets.
Result<Node> from_toml(const toml::node& t, const std::string& name, const Origin& at, const Limits& limits,
                       std::size_t depth) {
  Origin o = toml_origin(t, name);
  if (o.line == 0) o = at;
  if ((t.is_table() || t.is_array()) && depth >= limits.max_depth)
    return Error{fmt::format("{}: nesting deeper than {} levels", o.to_string(), limits.max_depth)};
  if (auto tbl = t.as_table()) {
    Node obj = Node::object(o);
    for (auto&& [k, v] : *tbl) {
      Origin ko{name, static_cast<int>(k.source().begin.line), static_cast<int>(k.source().begin.column)};
      if (ko.line == 0) ko = toml_origin(v, name);
      auto child = from_toml(v, name, ko, limits, depth + 1);
      if (!child) return child;
      NodeAccess::set_origin(*child, ko);
      obj.set(std::string(k.str()), std::move(*child));
    }
    return obj;
  }
  if (auto arr = t.as_array()) {
    Node a = Node::array(o);
    for (auto&& v : *arr) {
      auto item = from_toml(v, name, o, limits, depth + 1);
      if (!item) return item;
      a.push_back(std::move(*item));
    }
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

Result<Node> parse_toml(std::string_view text, const std::string& name, const Limits& limits) {
  if (auto err = toml_precheck(text, name, limits)) return *err;
  try {
    toml::table tbl = toml::parse(text, name);
    return from_toml(tbl, name, Origin{name, 1, 1}, limits, 0);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    return Error{fmt::format("{}:{}:{}: {}", name, b.line, b.column, e.description())};
  }
}

}  // namespace

Result<Node> parse(std::string_view text, Format format, std::string name, const Limits& limits) {
  if (text.size() > limits.max_file_bytes)
    return Error{fmt::format("{}: {} bytes, more than the limit of {} (Limits::max_file_bytes)", name, text.size(),
                             limits.max_file_bytes)};
  Result<Node> r = Error{""};
  try {
    switch (format) {
      case Format::Json: r = parse_json(text, name, limits); break;
      case Format::Toml: r = parse_toml(text, name, limits); break;
      case Format::Yaml:
      case Format::Auto: r = parse_yaml(text, name, limits); break;
    }
  } catch (const std::bad_alloc&) {
    return Error{name + ": out of memory while parsing"};
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
