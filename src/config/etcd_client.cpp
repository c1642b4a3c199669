// The etcd v3 JSON gateway client: wire format, failover, tokens.
#include "etcd_client.hpp"

#include <algorithm>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace relive::config::etcd_wire {
namespace {

using json = nlohmann::json;

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// int64 fields arrive as JSON strings ("42"); zero values are omitted.
std::int64_t int_field(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end()) return 0;
  if (it->is_number_integer()) return it->get<std::int64_t>();
  if (it->is_string()) {
    try {
      return std::stoll(it->get<std::string>());
    } catch (const std::exception&) {
      throw std::runtime_error(fmt::format("field {} is not an integer: {}", name, it->dump()));
    }
  }
  throw std::runtime_error(fmt::format("field {} is not an integer: {}", name, it->dump()));
}
std::uint64_t uint_field(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end()) return 0;
  if (it->is_number_unsigned()) return it->get<std::uint64_t>();
  if (it->is_string()) {
    try {
      return std::stoull(it->get<std::string>());
    } catch (const std::exception&) {
    }
  }
  throw std::runtime_error(fmt::format("field {} is not an unsigned integer: {}", name, it->dump()));
}
bool bool_field(const json& j, const char* name) {
  auto it = j.find(name);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}
std::string bytes_field(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end()) return {};
  if (!it->is_string()) throw std::runtime_error(fmt::format("field {} is not a string", name));
  auto r = base64_decode(it->get<std::string>());
  if (!r) throw std::runtime_error(fmt::format("field {}: {}", name, r.error().message));
  return *r;
}
Header header_of(const json& j) {
  Header h;
  if (auto it = j.find("header"); it != j.end() && it->is_object()) {
    h.cluster_id = uint_field(*it, "cluster_id");
    h.revision = int_field(*it, "revision");
  }
  return h;
}
KeyValue kv_of(const json& j) {
  KeyValue kv;
  kv.key = bytes_field(j, "key");
  kv.value = bytes_field(j, "value");
  kv.mod_revision = int_field(j, "mod_revision");
  return kv;
}
// The message of a gateway error body: {"error":"...","code":N} or {"error":{"message":...}}.
std::string error_text(const json& j) {
  const json& e = j.at("error");
  if (e.is_string()) return e.get<std::string>();
  if (e.is_object() && e.contains("message") && e["message"].is_string()) return e["message"].get<std::string>();
  return e.dump();
}
std::string clip(std::string_view s) {
  return std::string(s.substr(0, 200)) + (s.size() > 200 ? "..." : "");
}

}  // namespace

std::string base64_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (static_cast<unsigned>(static_cast<unsigned char>(in[i])) << 16) |
                 (static_cast<unsigned>(static_cast<unsigned char>(in[i + 1])) << 8) |
                 static_cast<unsigned>(static_cast<unsigned char>(in[i + 2]));
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i < in.size()) {
    unsigned v = static_cast<unsigned>(static_cast<unsigned char>(in[i])) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned>(static_cast<unsigned char>(in[i + 1])) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

Result<std::string> base64_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size() / 4 * 3);
  unsigned acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    const char* p = std::char_traits<char>::find(kAlphabet, 64, c);
    if (!p) return Error{"invalid base64"};
    acc = (acc << 6) | static_cast<unsigned>(p - kAlphabet);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

std::string prefix_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last < 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key
}

Result<RangeResult> parse_range(std::string_view body) {
  try {
    json j = json::parse(body);
    if (!j.is_object()) return Error{"range: not a JSON object: " + clip(body)};
    if (j.contains("error")) return Error{error_text(j)};
    RangeResult r;
    r.header = header_of(j);
    r.more = bool_field(j, "more");
    r.count = int_field(j, "count");
    if (auto it = j.find("kvs"); it != j.end()) {
      if (!it->is_array()) return Error{"range: kvs is not an array"};
      for (const auto& kv : *it) r.kvs.push_back(kv_of(kv));
    }
    return r;
  } catch (const std::exception& e) {
    return Error{fmt::format("range: unreadable answer ({}): {}", e.what(), clip(body))};
  }
}

Result<WatchResponse> parse_watch_line(std::string_view line) {
  try {
    json j = json::parse(line);
    if (!j.is_object()) return Error{"watch: not a JSON object: " + clip(line)};
    if (j.contains("error")) return Error{"watch stream error: " + error_text(j)};
    auto it = j.find("result");
    if (it == j.end() || !it->is_object()) return Error{"watch: no result in " + clip(line)};
    const json& r = *it;
    WatchResponse w;
    w.header = header_of(r);
    w.created = bool_field(r, "created");
    w.canceled = bool_field(r, "canceled");
    if (auto c = r.find("cancel_reason"); c != r.end() && c->is_string()) w.cancel_reason = c->get<std::string>();
    w.compact_revision = int_field(r, "compact_revision");
    if (auto ev = r.find("events"); ev != r.end()) {
      if (!ev->is_array()) return Error{"watch: events is not an array"};
      for (const auto& e : *ev) {
        Event event;
        auto t = e.find("type");
        event.is_delete = t != e.end() && t->is_string() && t->get<std::string>() == "DELETE";
        if (auto kv = e.find("kv"); kv != e.end() && kv->is_object()) event.kv = kv_of(*kv);
        w.events.push_back(std::move(event));
      }
    }
    return w;
  } catch (const std::exception& e) {
    return Error{fmt::format("watch: unreadable line ({}): {}", e.what(), clip(line))};
  }
}

// --- Client ---------------------------------------------------------------------------

Client::Client(const EtcdOptions& options)
    : options_(options), unary_(transport::curl(options.tls)), streaming_(transport::curl(options.tls)) {}

void Client::interrupt() {
  unary_->interrupt();
  streaming_->interrupt();
}

std::string Client::authority_of(std::size_t endpoint) const {
  if (endpoint >= options_.endpoints.size()) return "?";
  std::string_view e = options_.endpoints[endpoint];
  if (auto p = e.find("://"); p != std::string_view::npos) e.remove_prefix(p + 3);
  while (!e.empty() && e.back() == '/') e.remove_suffix(1);
  return std::string(e);
}

Error Client::fail(Failure kind, std::string message) {
  last_failure_ = kind;
  return Error{std::move(message)};
}

std::vector<std::string> Client::headers() const {
  std::vector<std::string> h = {"Content-Type: application/json"};
  if (!token_.empty()) h.push_back("Authorization: " + token_);
  return h;
}

Result<void> Client::authenticate(std::chrono::milliseconds timeout) {
  transport::Request req;
  req.method = "POST";
  req.url = options_.endpoints[current_] + "/v3/auth/authenticate";
  req.body = json{{"name", options_.username}, {"password", options_.password}}.dump();
  req.headers = {"Content-Type: application/json"};
  req.timeout = timeout;
  auto r = unary_->send(req);
  if (!r) return fail(unary_->refused() ? Failure::Refused : Failure::Unreachable, r.error().message);
  try {
    json j = json::parse(r->body);
    if (j.contains("error"))
      return fail(Failure::Unauthorised, fmt::format("etcd {}: authentication as \"{}\" failed: {}", authority(),
                                                     options_.username, error_text(j)));
    token_ = j.at("token").get<std::string>();
    return {};
  } catch (const std::exception& e) {
    return fail(Failure::Protocol, fmt::format("etcd {}: unreadable authentication answer (HTTP {}): {}", authority(),
                                               r->status, clip(r->body)));
  }
}

Result<transport::Response> Client::post(const std::string& path, const std::string& body,
                                         std::chrono::milliseconds timeout) {
  std::string last_error;
  bool all_refused = true;
  // Each endpoint once, starting with the one that worked last.
  for (std::size_t tried = 0; tried < options_.endpoints.size(); ++tried) {
    bool renewed = false;
    for (;;) {
      if (!options_.username.empty() && token_.empty()) {
        auto a = authenticate(timeout);
        if (!a) {
          if (last_failure_ != Failure::Unreachable && last_failure_ != Failure::Refused) return a.error();
          all_refused = all_refused && unary_->refused();
          last_error = a.error().message;
          break;  // next endpoint
        }
      }
      transport::Request req;
      req.method = "POST";
      req.url = options_.endpoints[current_] + path;
      req.body = body;
      req.headers = headers();
      req.timeout = timeout;
      auto r = unary_->send(req);
      if (!r) {
        all_refused = all_refused && unary_->refused();
        last_error = r.error().message;
        break;  // next endpoint
      }
      if (r->status == 401 && !options_.username.empty() && !renewed) {
        token_.clear();  // expired: authenticate again, once
        renewed = true;
        continue;
      }
      return r;
    }
    if (last_error.find("interrupted") != std::string::npos) break;
    current_ = (current_ + 1) % options_.endpoints.size();
    token_.clear();  // tokens are per member
  }
  return fail(all_refused ? Failure::Refused : Failure::Unreachable, last_error);
}

Result<RangeResult> Client::range(const std::string& key, const std::string& end, std::int64_t revision,
                                  std::int64_t limit, bool count_only, std::chrono::milliseconds timeout) {
  last_failure_ = Failure::None;
  json body = {{"key", base64_encode(key)}};
  if (!end.empty()) body["range_end"] = base64_encode(end);
  if (revision > 0) body["revision"] = std::to_string(revision);
  if (limit > 0) body["limit"] = std::to_string(limit);
  if (count_only) body["count_only"] = true;
  auto r = post("/v3/kv/range", body.dump(), timeout);
  if (!r) return r.error();
  auto parsed = parse_range(r->body);
  if (!parsed) {
    const std::string& m = parsed.error().message;
    Failure kind = Failure::Protocol;
    if (m.find("compacted") != std::string::npos) kind = Failure::Compacted;
    else if (r->status == 401 || r->status == 403 || m.find("permission denied") != std::string::npos ||
             m.find("auth") != std::string::npos || m.find("user name is empty") != std::string::npos)
      kind = Failure::Unauthorised;
    return fail(kind, fmt::format("etcd {}: range {}: {} (HTTP {})", authority(), key, m, r->status));
  }
  if (r->status != 200)
    return fail(Failure::Protocol, fmt::format("etcd {}: range {}: HTTP {}", authority(), key, r->status));
  return parsed;
}

Result<void> Client::watch(const std::string& key, const std::string& end, std::int64_t start_revision,
                           const std::function<transport::Next(const WatchResponse&)>& on_response,
                           const std::function<transport::Next()>& tick) {
  last_failure_ = Failure::None;
  if (!options_.username.empty() && token_.empty()) {
    auto a = authenticate(options_.request_timeout);
    if (!a) {
      if (last_failure_ == Failure::Unreachable || last_failure_ == Failure::Refused)
        current_ = (current_ + 1) % options_.endpoints.size();
      return a.error();
    }
  }
  json create = {{"key", base64_encode(key)}, {"progress_notify", true}};
  if (!end.empty()) create["range_end"] = base64_encode(end);
  if (start_revision > 0) create["start_revision"] = std::to_string(start_revision);
  transport::Request req;
  req.method = "POST";
  req.url = options_.endpoints[current_] + "/v3/watch";
  req.body = json{{"create_request", create}}.dump();
  req.headers = headers();
  req.timeout = options_.request_timeout;  // to connect
  // The stream's deadlines (idle, the consistency check) are checked on each tick: an
  // eighth of the idle deadline is late by at most that, and 200 idle watchers then wake
  // a few times a second instead of 4,000 times (at 50 ms), which a put's wake-ups of all
  // of them would otherwise queue behind on a busy machine.
  using std::chrono::milliseconds;
  milliseconds every = std::clamp(options_.progress_interval * std::max(1, options_.idle_factor) / 8,
                                 milliseconds(50), milliseconds(1000));
  if (options_.check_interval.count() > 0) every = std::min(every, std::max(milliseconds(50), options_.check_interval / 4));
  req.tick_every = every;
  std::string line_error;
  auto status = streaming_->stream(
      req,
      [&](std::string_view line) {
        auto w = parse_watch_line(line);
        if (!w) {
          line_error = w.error().message;
          return transport::Next::Stop;
        }
        return on_response(*w);
      },
      tick);
  if (!status) {
    current_ = (current_ + 1) % options_.endpoints.size();  // fail over for the next try
    token_.clear();
    return fail(streaming_->refused() ? Failure::Refused : Failure::Unreachable, status.error().message);
  }
  if (!line_error.empty()) {
    Failure kind = line_error.find("auth") != std::string::npos ? Failure::Unauthorised : Failure::Protocol;
    if (kind == Failure::Unauthorised) token_.clear();
    return fail(kind, fmt::format("etcd {}: {}", authority(), line_error));
  }
  if (*status == 0) return {};  // ended by tick() before any answer: the caller knows why
  if (*status != 200) {
    if (*status == 401) token_.clear();
    return fail(*status == 401 ? Failure::Unauthorised : Failure::Protocol,
                fmt::format("etcd {}: watch: HTTP {}", authority(), *status));
  }
  return {};
}

}  // namespace relive::config::etcd_wire
