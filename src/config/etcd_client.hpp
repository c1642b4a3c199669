// The etcd v3 JSON gateway, as the etcd source uses it: paged ranges, count checks and watch
// streams, with endpoint failover and username/password tokens. Knows the wire format
// (snake_case, int64 as strings, zero values omitted, keys/values base64); knows nothing of
// configuration trees. Internal to the config part.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "relive/config_remote.hpp"
#include "transport.hpp"

namespace relive::config::etcd_wire {

struct Header {
  std::uint64_t cluster_id = 0;
  std::int64_t revision = 0;
};
struct KeyValue {
  std::string key, value;
  std::int64_t mod_revision = 0;
};
struct RangeResult {
  Header header;
  std::vector<KeyValue> kvs;
  bool more = false;
  std::int64_t count = 0;
};
struct Event {
  bool is_delete = false;
  KeyValue kv;  // for a delete: the key and the deletion's mod_revision
};
struct WatchResponse {
  Header header;
  bool created = false, canceled = false;
  std::string cancel_reason;
  std::int64_t compact_revision = 0;
  std::vector<Event> events;
};

std::string base64_encode(std::string_view bytes);
Result<std::string> base64_decode(std::string_view text);
// range_end covering every key that starts with prefix ("" -> "\0": all keys).
std::string prefix_end(std::string_view prefix);
Result<RangeResult> parse_range(std::string_view body);
// One line of a watch stream: {"result":...} or the {"error":...} a stream may end with.
Result<WatchResponse> parse_watch_line(std::string_view line);

// Why a call failed (beside the message).
// Refused: every endpoint refused the connection (ECONNREFUSED: nothing listens, the
// server is restarting); Unreachable: anything else that got no answer (timeout, reset,
// TLS), e.g. a partition.
enum class Failure { None, Refused, Unreachable, Unauthorised, Compacted, Protocol };

class Client {
 public:
  explicit Client(const EtcdOptions& options);
  // A range of [key, end) at `revision` (0 = current), at most `limit` keys (0 = all).
  Result<RangeResult> range(const std::string& key, const std::string& end, std::int64_t revision,
                            std::int64_t limit, bool count_only, std::chrono::milliseconds timeout);
  // A watch of [key, end) from start_revision with progress notifications; on_response for
  // each response until it says Stop, tick() as Transport::stream. Ends when the stream
  // ends (Ok) or cannot start / carries an error line (Error).
  Result<void> watch(const std::string& key, const std::string& end, std::int64_t start_revision,
                     const std::function<transport::Next(const WatchResponse&)>& on_response,
                     const std::function<transport::Next()>& tick);
  // The kind of the last failure of range()/watch().
  Failure last_failure() const { return last_failure_; }
  // Forget the token (the server said it expired): the next call authenticates again.
  void drop_token() { token_.clear(); }
  // "HOST:PORT" of the endpoint in use, and its index in options.endpoints.
  std::string authority() const { return authority_of(current_); }
  std::string authority_of(std::size_t endpoint) const;
  std::size_t current_endpoint() const { return current_; }
  // From any thread: every call in progress or later fails at once (Source::stop()).
  void interrupt();

 private:
  Result<transport::Response> post(const std::string& path, const std::string& body,
                                   std::chrono::milliseconds timeout);
  Result<void> authenticate(std::chrono::milliseconds timeout);
  std::vector<std::string> headers() const;
  Error fail(Failure kind, std::string message);

  const EtcdOptions& options_;
  std::unique_ptr<transport::Transport> unary_, streaming_;
  std::size_t current_ = 0;
  std::string token_;
  Failure last_failure_ = Failure::None;
};

}  // namespace relive::config::etcd_wire
