// The libcurl transport: one multi handle per Transport (its connection cache keeps the
// connection to a server alive between requests; curl_multi_wakeup makes interrupt()
// prompt), one easy handle per request.
#include <curl/curl.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <mutex>

#include <fmt/format.h>

#include "transport.hpp"

namespace relive::config::transport {
namespace {

constexpr std::size_t kMaxBody = 64u << 20;  // a hostile or broken server cannot exhaust memory
constexpr int kTickMs = 50;  // a request's poll (interrupt() wakes it at once anyway)

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == '\r' || s.back() == '\n' || s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

// What the callbacks of one transfer write into.
struct Transfer {
  Response response;
  const std::function<Next(std::string_view)>* on_line = nullptr;  // null: collect body
  std::string partial;  // the incomplete last line of a stream
  bool stopped = false;  // on_line said Stop (curl then reports a write error)
  bool too_big = false;
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  if (!t->on_line) {
    if (t->response.body.size() + n > kMaxBody) { t->too_big = true; return 0; }
    t->response.body.append(data, n);
    return n;
  }
  if (t->partial.size() + n > kMaxBody) { t->too_big = true; return 0; }
  t->partial.append(data, n);
  size_t start = 0;
  for (;;) {
    size_t nl = t->partial.find('\n', start);
    if (nl == std::string::npos) break;
    std::string_view line(t->partial.data() + start, nl - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    start = nl + 1;
    if (!line.empty() && (*t->on_line)(line) == Next::Stop) {
      t->stopped = true;
      return 0;
    }
  }
  t->partial.erase(0, start);
  return n;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) {
    t->response.headers.clear();  // a new response (after 100 Continue or a redirect)
  } else if (auto colon = line.find(':'); colon != std::string_view::npos) {
    t->response.headers[lower(std::string(line.substr(0, colon)))] = trim(line.substr(colon + 1));
  }
  return size * count;
}

class CurlTransport final : public Transport {
 public:
  explicit CurlTransport(TlsOptions tls) : tls_(std::move(tls)) {
    global_init();
    multi_ = curl_multi_init();
  }
  ~CurlTransport() override { curl_multi_cleanup(multi_); }

  Result<Response> send(const Request& request) override {
    Transfer t;
    auto r = run(request, t, nullptr, /*stream=*/false);
    if (!r) return r.error();
    return std::move(t.response);
  }

  Result<long> stream(const Request& request, const std::function<Next(std::string_view)>& on_line,
                      const std::function<Next()>& tick) override {
    Transfer t;
    t.on_line = &on_line;
    auto r = run(request, t, &tick, /*stream=*/true);
    if (!r) return r.error();
    return t.response.status;
  }

  void interrupt() override {
    interrupted_.store(true);
    curl_multi_wakeup(multi_);
  }

  bool refused() const override { return refused_; }

 private:
  Result<void> run(const Request& request, Transfer& t, const std::function<Next()>* tick, bool stream) {
    const std::string what = fmt::format("{} {}", request.method, request.url);
    refused_ = false;
    if (interrupted_.load()) return Error{what + ": interrupted"};
    CURL* easy = curl_easy_init();
    if (!easy) return Error{what + ": cannot create a libcurl handle"};
    char errbuf[CURL_ERROR_SIZE] = {0};
    curl_slist* headers = nullptr;
    for (const auto& h : request.headers) headers = curl_slist_append(headers, h.c_str());
    headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
    curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(easy, CURLOPT_NOPROXY, "localhost,127.0.0.1,::1");
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.timeout.count()));
    if (!stream) curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
    if (request.method == "POST") curl_easy_setopt(easy, CURLOPT_COPYPOSTFIELDS, request.body.c_str());
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, &t);
    if (!tls_.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, tls_.ca_file.c_str());
    if (!tls_.cert_file.empty()) curl_easy_setopt(easy, CURLOPT_SSLCERT, tls_.cert_file.c_str());
    if (!tls_.key_file.empty()) curl_easy_setopt(easy, CURLOPT_SSLKEY, tls_.key_file.c_str());

    curl_multi_add_handle(multi_, easy);
    CURLcode result = CURLE_OK;
    bool done = false, interrupted = false, stopped_by_tick = false;
    while (!done) {
      int running = 0;
      curl_multi_perform(multi_, &running);
      int left = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
        if (msg->msg == CURLMSG_DONE && msg->easy_handle == easy) {
          result = msg->data.result;
          done = true;
        }
      }
      if (done) break;
      if (interrupted_.load()) { interrupted = true; break; }
      if (tick && (*tick)() == Next::Stop) { stopped_by_tick = true; break; }
      curl_multi_poll(multi_, nullptr, 0, tick ? static_cast<int>(std::max<std::int64_t>(1, request.tick_every.count())) : kTickMs, nullptr);
    }
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &t.response.status);
    if (result == CURLE_COULDNT_CONNECT) {
      long os_errno = 0;
      curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &os_errno);
      refused_ = os_errno == ECONNREFUSED;
    }
    curl_multi_remove_handle(multi_, easy);
    curl_easy_cleanup(easy);
    curl_slist_free_all(headers);
    if (interrupted) return Error{what + ": interrupted"};
    if (stopped_by_tick || t.stopped) return {};
    if (t.too_big) return Error{fmt::format("{}: the answer exceeds {} MiB", what, kMaxBody >> 20)};
    if (result != CURLE_OK) {
      std::string detail = errbuf[0] ? trim(errbuf) : curl_easy_strerror(result);
      return Error{fmt::format("{}: {}", what, detail)};
    }
    return {};
  }

  TlsOptions tls_;
  CURLM* multi_ = nullptr;
  std::atomic<bool> interrupted_{false};
  bool refused_ = false;  // the last run()'s connection was refused (calling thread only)
};

}  // namespace

std::unique_ptr<Transport> curl(const TlsOptions& tls) { return std::make_unique<CurlTransport>(tls); }

}  // namespace relive::config::transport
