// Secrets redaction, snapshot leaves, diffs and the renderings used by `relive config`.
#include <algorithm>
#include <cctype>
#include <map>

#include <nlohmann/json.hpp>

#include "internal.hpp"

namespace relive::config {
namespace {

bool glob_match(std::string_view pat, std::string_view s) {
  // Iterative * / ? matching with backtracking to the last star; case-insensitive.
  size_t p = 0, i = 0, star = std::string_view::npos, mark = 0;
  auto eq = [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  };
  while (i < s.size()) {
    if (p < pat.size() && (pat[p] == '?' || (pat[p] != '*' && eq(pat[p], s[i])))) {
      ++p;
      ++i;
    } else if (p < pat.size() && pat[p] == '*') {
      star = p++;
      mark = i;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      i = ++mark;
    } else {
      return false;
    }
  }
  while (p < pat.size() && pat[p] == '*') ++p;
  return p == pat.size();
}

void collect(const Node& n, std::vector<Entry>& out) {
  if ((n.is_object() || n.is_array()) && n.size() > 0) {
    for (const Node& c : n.children()) collect(c, out);
    return;
  }
  if (n.key().empty()) return;  // an empty root
  out.push_back(Entry{n.key(), n.to_string(), n.origin()});
}

// Leaf key -> value text with its kind (so 5 and "5" differ).
std::map<std::string, std::pair<std::string, std::string>> leaves(const Snapshot& s, std::string_view prefix) {
  std::map<std::string, std::pair<std::string, std::string>> m;
  std::vector<const Node*> stack{&s.root()};
  while (!stack.empty()) {
    const Node* n = stack.back();
    stack.pop_back();
    if ((n->is_object() || n->is_array()) && n->size() > 0) {
      for (const Node& c : n->children()) stack.push_back(&c);
      continue;
    }
    const std::string& k = n->key();
    if (k.empty()) continue;
    if (!prefix.empty() && !(k == prefix || (k.size() > prefix.size() && k.starts_with(prefix) && k[prefix.size()] == '.')))
      continue;
    m.emplace(k, std::make_pair(quoted(*n), n->to_string()));
  }
  return m;
}

nlohmann::json to_json(const Node& n, const Redactor& r) {
  switch (n.kind()) {
    case Node::Kind::Null: return nullptr;
    case Node::Kind::Bool: return r.is_secret(n.key()) ? nlohmann::json("***") : nlohmann::json(n.as_bool());
    case Node::Kind::Int: return r.is_secret(n.key()) ? nlohmann::json("***") : nlohmann::json(n.as_int());
    case Node::Kind::Double: return r.is_secret(n.key()) ? nlohmann::json("***") : nlohmann::json(n.as_double());
    case Node::Kind::String: return nlohmann::json(r.show(n.key(), n.as_string()));
    case Node::Kind::Array: {
      auto a = nlohmann::json::array();
      for (const Node& c : n.children()) a.push_back(to_json(c, r));
      return a;
    }
    case Node::Kind::Object: {
      auto o = nlohmann::json::object();
      for (const Node& c : n.children()) o[c.name()] = to_json(c, r);
      return o;
    }
  }
  return nullptr;
}

}  // namespace

std::vector<std::string> default_secret_patterns() { return {"*password*", "*secret*", "*token*", "*key"}; }

Redactor::Redactor(std::vector<std::string> patterns) : patterns_(std::move(patterns)) {}

bool Redactor::is_secret(std::string_view key) const {
  return std::any_of(patterns_.begin(), patterns_.end(), [&](const std::string& p) { return glob_match(p, key); });
}

std::string Redactor::show(std::string_view key, std::string_view value) const {
  return is_secret(key) ? std::string("***") : std::string(value);
}

Snapshot::Snapshot() : root_(std::make_shared<const Node>(Node::object())) {}

const Origin* Snapshot::origin(std::string_view key) const {
  const Node* n = find(key);
  return n ? &n->origin() : nullptr;
}

std::vector<Entry> Snapshot::entries() const {
  std::vector<Entry> out;
  collect(*root_, out);
  return out;
}

std::vector<KeyChange> diff(const Snapshot& before, const Snapshot& after, std::string_view prefix) {
  auto a = leaves(before, prefix);
  auto b = leaves(after, prefix);
  std::vector<KeyChange> out;
  auto ia = a.begin();
  auto ib = b.begin();
  while (ia != a.end() || ib != b.end()) {
    if (ib == b.end() || (ia != a.end() && ia->first < ib->first)) {
      out.push_back(KeyChange{ia->first, ia->second.second, std::nullopt});
      ++ia;
    } else if (ia == a.end() || ib->first < ia->first) {
      out.push_back(KeyChange{ib->first, std::nullopt, ib->second.second});
      ++ib;
    } else {
      if (ia->second.first != ib->second.first)
        out.push_back(KeyChange{ia->first, ia->second.second, ib->second.second});
      ++ia;
      ++ib;
    }
  }
  return out;
}

std::string format_diff(const std::vector<KeyChange>& changes, const Redactor& r) {
  std::string out;
  for (const auto& c : changes) {
    if (!c.old_value) out += "+ " + c.key + " = " + r.show(c.key, *c.new_value) + "\n";
    else if (!c.new_value) out += "- " + c.key + " = " + r.show(c.key, *c.old_value) + "\n";
    else out += "~ " + c.key + ": " + r.show(c.key, *c.old_value) + " -> " + r.show(c.key, *c.new_value) + "\n";
  }
  return out;
}

std::string format_flat(const Snapshot& s, const Redactor& r, bool explain) {
  std::string out;
  for (const Entry& e : s.entries()) {
    out += e.key + " = " + r.show(e.key, e.value);
    if (explain) out += "  # " + e.origin.to_string();
    out += "\n";
  }
  return out;
}

std::string format_json(const Snapshot& s, const Redactor& r) { return to_json(s.root(), r).dump(2) + "\n"; }

}  // namespace relive::config
