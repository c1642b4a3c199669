// The small HTTP/1.1 transport the remote sources (etcd, http) speak through: one request
// and its response, or one streaming request whose body arrives as newline-delimited
// lines (etcd's watch). Behind an interface so that another transport (gRPC) can be added
// without touching the protocol code. Internal to the config part.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "relive/config_remote.hpp"
#include "relive/error.hpp"

namespace relive::config::transport {

struct Request {
  std::string method = "GET";  // GET or POST
  std::string url;
  std::string body;                  // POST body
  std::vector<std::string> headers;  // "Name: value"
  std::chrono::milliseconds timeout{5000};  // whole request (not used for streams)
};

struct Response {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-cased; last one wins
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// What a stream's line handler says.
enum class Next { Continue, Stop };

class Transport {
 public:
  virtual ~Transport() = default;
  // One request. Error: could not connect, timed out, interrupted, TLS failure (the
  // message names the URL). A non-2xx status is a Response, not an Error.
  virtual Result<Response> send(const Request& request) = 0;
  // A streaming request: on_line(line) for each complete line of the body (without '\n');
  // tick() at least every 50 ms (its Stop ends the stream: idle deadline, a check due).
  // Returns the HTTP status once the stream ends (by the server, or by Stop); Error as
  // for send(). Both callbacks run on the calling thread.
  virtual Result<long> stream(const Request& request, const std::function<Next(std::string_view)>& on_line,
                              const std::function<Next()>& tick) = 0;
  // From any thread: makes the current and every later send()/stream() return an Error
  // promptly ("interrupted"). Used by Source::stop().
  virtual void interrupt() = 0;
};

// libcurl (one multi handle per Transport, so interrupt() wakes it at once).
std::unique_ptr<Transport> curl(const TlsOptions& tls);

}  // namespace relive::config::transport
