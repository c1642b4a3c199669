#include "fleet_support.hpp"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace relive::fleet_test {

using json = nlohmann::json;

namespace {
size_t collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}
std::string from_b64(const std::string& s) {
  static const std::string a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (char c : s) {
    if (c == '=') break;
    acc = (acc << 6) | static_cast<unsigned>(a.find(c));
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}
void run_or_fail(std::vector<std::string> argv) {
  Process p(std::move(argv));
  int rc = p.wait(20s);
  ASSERT_EQ(rc, 0) << p.output();
}
}  // namespace

std::string b64(std::string_view in) {
  static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    auto byte = [&](size_t k) { return static_cast<unsigned>(static_cast<unsigned char>(in[k])); };
    unsigned v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    out += a[v >> 18 & 63]; out += a[v >> 12 & 63]; out += a[v >> 6 & 63]; out += a[v & 63];
  }
  if (i < in.size()) {
    unsigned v = static_cast<unsigned>(static_cast<unsigned char>(in[i])) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned>(static_cast<unsigned char>(in[i + 1])) << 8;
    out += a[v >> 18 & 63]; out += a[v >> 12 & 63];
    out += i + 1 < in.size() ? a[v >> 6 & 63] : '=';
    out += '=';
  }
  return out;
}

HttpAnswer http_post(const std::string& url, const std::string& body, const std::string& ca, const std::string& cert,
                     const std::string& key) {
  HttpAnswer a;
  CURL* c = curl_easy_init();
  char err[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
  if (!body.empty()) curl_easy_setopt(c, CURLOPT_COPYPOSTFIELDS, body.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &a.body);
  if (!ca.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, ca.c_str());
  if (!cert.empty()) curl_easy_setopt(c, CURLOPT_SSLCERT, cert.c_str());
  if (!key.empty()) curl_easy_setopt(c, CURLOPT_SSLKEY, key.c_str());
  if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a.status);
  else a.error = err;
  curl_easy_cleanup(c);
  return a;
}

Certs make_certs(const fs::path& dir) {
  Certs c{dir / "ca.pem", dir / "server.pem", dir / "server.key", dir / "client.pem", dir / "client.key",
          dir / "other-ca.pem"};
  const std::string d = dir.string();
  write_file(dir / "san.cnf", "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  run_or_fail({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=relive test CA",
               "-keyout", d + "/ca.key", "-out", c.ca.string()});
  run_or_fail({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=other CA",
               "-keyout", d + "/other-ca.key", "-out", c.other_ca.string()});
  for (auto [name, ext] : {std::pair{"server", true}, std::pair{"client", false}}) {
    const std::string n = name;
    run_or_fail({"openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=" + n, "-keyout", d + "/" + n + ".key",
                 "-out", d + "/" + n + ".csr"});
    std::vector<std::string> sign = {"openssl", "x509", "-req", "-in", d + "/" + n + ".csr", "-CA", c.ca.string(),
                                     "-CAkey", d + "/ca.key", "-CAcreateserial", "-days", "2", "-out",
                                     d + "/" + n + ".pem"};
    if (ext) { sign.push_back("-extfile"); sign.push_back(d + "/san.cnf"); }
    run_or_fail(sign);
  }
  return c;
}

// --- Etcd ---------------------------------------------------------------------------

Etcd::Etcd(Options options) : options_(std::move(options)) {
  client_port_ = free_loopback_port();
  peer_port_ = free_loopback_port();
  start();
}

Etcd::~Etcd() {
  if (process_) resume();
  process_.reset();
}

std::string Etcd::endpoint() const {
  return (options_.tls ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(client_port_);
}

void Etcd::start() {
  const std::string peer = "http://127.0.0.1:" + std::to_string(peer_port_);
  std::vector<std::string> argv = {"etcd", "--name", "t", "--data-dir", (dir_ / "data").string(),
                                   "--listen-client-urls", endpoint(), "--advertise-client-urls", endpoint(),
                                   "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                                   "--initial-cluster", "t=" + peer,
                                   "--experimental-watch-progress-notify-interval=" + options_.progress_interval,
                                   "--log-level", "warn"};
  if (options_.tls) {
    argv.insert(argv.end(), {"--cert-file", options_.tls->server_cert.string(), "--key-file",
                             options_.tls->server_key.string(), "--trusted-ca-file", options_.tls->ca.string(),
                             "--client-cert-auth"});
  }
  if (options_.auth_token_ttl > 0) argv.push_back("--auth-token-ttl=" + std::to_string(options_.auth_token_ttl));
  process_ = std::make_unique<Process>(argv);
  const bool up = eventually(
      [&] {
        std::string ca, cert, key;
        if (options_.tls) ca = options_.tls->ca, cert = options_.tls->client_cert, key = options_.tls->client_key;
        auto a = http_post(endpoint() + "/v3/kv/range", R"({"key":"AA=="})", ca, cert, key);
        return a.status == 200 || a.status == 401 || a.status == 400;
      },
      20s);
  ASSERT_TRUE(up) << "etcd did not start: " << process_->output();
}

void Etcd::kill() {
  resume();
  process_.reset();  // SIGKILL to its group, reaped
}
void Etcd::pause() { process_->signal(SIGSTOP); }
void Etcd::resume() {
  if (process_) process_->signal(SIGCONT);
}

// A freshly restarted etcd on a loaded machine may time a request out while it elects
// itself leader: retry for a while before failing the test.
std::string Etcd::post(const std::string& path, const std::string& body) {
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!post_once(path, body, out) && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(50ms);
  if (out.empty()) ADD_FAILURE() << path << " " << body << ": no answer from etcd";
  return out.empty() ? "{}" : out;
}

bool Etcd::post_once(const std::string& path, const std::string& body, std::string& out) {
  std::string ca, cert, key;
  if (options_.tls) ca = options_.tls->ca, cert = options_.tls->client_cert, key = options_.tls->client_key;
  HttpAnswer a;
  if (token_.empty()) {
    a = http_post(endpoint() + path, body, ca, cert, key);
  } else {
    // http_post has no header parameter: auth is done through etcdctl-free curl below.
    CURL* c = curl_easy_init();
    curl_slist* h = curl_slist_append(nullptr, ("Authorization: " + token_).c_str());
    curl_easy_setopt(c, CURLOPT_URL, (endpoint() + path).c_str());
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_COPYPOSTFIELDS, body.c_str());
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &a.body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a.status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
  }
  out = a.status == 200 ? a.body : "";
  return a.status == 200;
}

std::int64_t Etcd::put(const std::string& key, const std::string& value) {
  auto j = json::parse(post("/v3/kv/put", json{{"key", b64(key)}, {"value", b64(value)}}.dump()));
  return j.contains("header") ? std::stoll(j["header"]["revision"].get<std::string>()) : 0;
}
std::int64_t Etcd::del(const std::string& key) {
  auto j = json::parse(post("/v3/kv/deleterange", json{{"key", b64(key)}}.dump()));
  return j.contains("header") ? std::stoll(j["header"]["revision"].get<std::string>()) : 0;
}
void Etcd::compact(std::int64_t revision) {
  post("/v3/kv/compaction", json{{"revision", std::to_string(revision)}, {"physical", true}}.dump());
}
std::int64_t Etcd::revision() {
  auto j = json::parse(post("/v3/kv/range", json{{"key", b64("/")}, {"count_only", true}}.dump()));
  return j.contains("header") ? std::stoll(j["header"]["revision"].get<std::string>()) : 0;
}
std::map<std::string, std::string> Etcd::range(const std::string& prefix) {
  std::string end = prefix;
  end.back() = static_cast<char>(end.back() + 1);
  auto j = json::parse(post("/v3/kv/range", json{{"key", b64(prefix)}, {"range_end", b64(end)}}.dump()));
  std::map<std::string, std::string> out;
  if (j.contains("kvs"))
    for (auto& kv : j["kvs"]) out[from_b64(kv["key"])] = kv.contains("value") ? from_b64(kv["value"]) : "";
  return out;
}

std::string Etcd::etcdctl(std::vector<std::string> args) {
  std::vector<std::string> argv = {"etcdctl", "--endpoints", endpoint(), "--command-timeout=15s"};
  if (options_.tls)
    argv.insert(argv.end(), {"--cacert", options_.tls->ca.string(), "--cert", options_.tls->client_cert.string(),
                             "--key", options_.tls->client_key.string()});
  if (!token_.empty()) argv.insert(argv.end(), {"--user", "root:rootpw"});
  argv.insert(argv.end(), args.begin(), args.end());
  Process::Options po;
  po.env = {"ETCDCTL_API=3"};
  Process p(argv, po);
  int rc = p.wait(20s);
  EXPECT_EQ(rc, 0) << p.output();
  return p.output();
}

void Etcd::enable_auth() {
  etcdctl({"user", "add", "root:rootpw"});
  etcdctl({"user", "add", "app:apppw"});
  etcdctl({"role", "add", "app"});
  etcdctl({"role", "grant-permission", "app", "--prefix=true", "readwrite", "/app/"});
  etcdctl({"user", "grant-role", "app", "app"});
  etcdctl({"auth", "enable"});
  auto a = http_post(endpoint() + "/v3/auth/authenticate", R"({"name":"root","password":"rootpw"})");
  token_ = json::parse(a.body).at("token").get<std::string>();
}

// --- Partition ----------------------------------------------------------------------

Partition::Partition(std::uint16_t target) : target_(target) {
  listen_fd_ = bind_loopback_tcp(&port_, true);
  ::listen(listen_fd_, 64);
  if (::pipe(wake_) != 0) ADD_FAILURE() << "pipe";
  thread_ = std::thread([this] { run(); });
}
Partition::~Partition() {
  stop_ = true;
  [[maybe_unused]] auto n = ::write(wake_[1], "x", 1);
  thread_.join();
  ::close(listen_fd_);
  ::close(wake_[0]);
  ::close(wake_[1]);
}
void Partition::cut() {
  cut_ = true;
  const int g = generation_.load();
  [[maybe_unused]] auto n = ::write(wake_[1], "c", 1);
  while (generation_.load() == g) std::this_thread::sleep_for(1ms);  // connections dropped
}
void Partition::heal() { cut_ = false; }

void Partition::run() {
  std::vector<std::pair<int, int>> pairs;  // (client, upstream)
  auto drop_all = [&] {
    for (auto [a, b] : pairs) { ::close(a); ::close(b); }
    pairs.clear();
  };
  while (!stop_) {
    std::vector<pollfd> fds = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    for (auto [a, b] : pairs) { fds.push_back({a, POLLIN, 0}); fds.push_back({b, POLLIN, 0}); }
    if (::poll(fds.data(), fds.size(), 200) < 0) continue;
    if (fds[1].revents) {
      char buf[16];
      [[maybe_unused]] auto n = ::read(wake_[0], buf, sizeof buf);
      if (cut_) { drop_all(); generation_.fetch_add(1); }
      continue;
    }
    const size_t polled = pairs.size();  // a pair accepted below was not polled yet
    if (fds[0].revents) {
      int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c >= 0) {
        if (cut_) {
          ::close(c);
        } else {
          int u = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
          sockaddr_in addr{};
          addr.sin_family = AF_INET;
          addr.sin_port = htons(target_.load());
          addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
          if (::connect(u, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) pairs.emplace_back(c, u);
          else { ::close(c); ::close(u); }
        }
      }
    }
    for (size_t i = 0; i < polled; ++i) {
      bool dead = false;
      for (size_t side = 0; side < 2 && !dead; ++side) {
        const pollfd& p = fds[2 + 2 * i + side];
        if (!p.revents) continue;
        int from = side == 0 ? pairs[i].first : pairs[i].second;
        int to = side == 0 ? pairs[i].second : pairs[i].first;
        char buf[65536];
        ssize_t n = ::read(from, buf, sizeof buf);
        if (n <= 0) { dead = true; break; }
        for (ssize_t done = 0; done < n;) {
          ssize_t w = ::write(to, buf + done, static_cast<size_t>(n - done));
          if (w <= 0) { dead = true; break; }
          done += w;
        }
      }
      if (dead) {
        ::close(pairs[i].first);
        ::close(pairs[i].second);
        pairs[i] = {-1, -1};
      }
    }
    std::erase_if(pairs, [](const std::pair<int, int>& p) { return p.first < 0; });
  }
  drop_all();
}

// --- Nginx --------------------------------------------------------------------------

Nginx::Nginx(fs::path root) {
  port_ = free_loopback_port();
  const fs::path d = dir_.path();
  fs::create_directories(d / "logs");
  write_file(d / "nginx.conf",
             "daemon off;\nmaster_process off;\nworker_processes 1;\npid " + (d / "nginx.pid").string() +
                 ";\nerror_log " + (d / "logs/error.log").string() +
                 " warn;\nevents { worker_connections 64; }\nhttp {\n  access_log " + (d / "logs/access.log").string() +
                 ";\n  client_body_temp_path " + (d / "tmp").string() + ";\n  proxy_temp_path " + (d / "tmp").string() +
                 ";\n  fastcgi_temp_path " + (d / "tmp").string() + ";\n  uwsgi_temp_path " + (d / "tmp").string() +
                 ";\n  scgi_temp_path " + (d / "tmp").string() + ";\n  types { application/json json; application/yaml yaml; application/toml toml; }\n"
                 "  server {\n    listen 127.0.0.1:" + std::to_string(port_) + ";\n    root " + root.string() +
                 ";\n    open_file_cache off;\n  }\n}\n");
  process_ = std::make_unique<Process>(std::vector<std::string>{"nginx", "-p", d.string(), "-c", (d / "nginx.conf").string()});
  const bool up = eventually([&] { return http_post(url("/"), "").status != 0; }, 20s);
  EXPECT_TRUE(up) << "nginx did not start: " << process_->output();
}
Nginx::~Nginx() { process_.reset(); }
std::size_t Nginx::requests() const { return read_complete_lines(dir_ / "logs/access.log").size(); }
std::string Nginx::url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }

// --- ConsulStandin -----------------------------------------------------------------

ConsulStandin::ConsulStandin() {
  listen_fd_ = bind_loopback_tcp(&port_, true);
  ::listen(listen_fd_, 64);
  acceptor_ = std::thread([this] {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      std::lock_guard l(mu_);
      handlers_.emplace_back([this, c] { serve(c); });
    }
  });
}
ConsulStandin::~ConsulStandin() {
  stop_ = true;
  cv_.notify_all();
  acceptor_.join();
  std::vector<std::thread> hs;
  {
    std::lock_guard l(mu_);
    hs.swap(handlers_);
  }
  for (auto& t : hs) t.join();
  ::close(listen_fd_);
}
std::string ConsulStandin::url(const std::string& key) const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/v1/kv/" + key + "?raw";
}
void ConsulStandin::put(const std::string& key, const std::string& value) {
  std::lock_guard l(mu_);
  kv_[key] = value;
  ++index_;
  cv_.notify_all();
}
void ConsulStandin::remove(const std::string& key) {
  std::lock_guard l(mu_);
  kv_.erase(key);
  ++index_;
  cv_.notify_all();
}
void ConsulStandin::restore(std::uint64_t index, const std::string& key, const std::string& value) {
  std::lock_guard l(mu_);
  kv_[key] = value;
  index_ = index;
  cv_.notify_all();
}
std::uint64_t ConsulStandin::index() {
  std::lock_guard l(mu_);
  return index_;
}

void ConsulStandin::serve(int fd) {
  std::string in;
  char buf[4096];
  while (!stop_) {
    // One request (GET, no body) per loop; keep-alive like Consul.
    size_t end;
    while ((end = in.find("\r\n\r\n")) == std::string::npos) {
      pollfd p{fd, POLLIN, 0};
      if (stop_) { ::close(fd); return; }
      if (::poll(&p, 1, 100) <= 0) continue;
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) { ::close(fd); return; }
      in.append(buf, static_cast<size_t>(n));
    }
    std::string head = in.substr(0, end);
    in.erase(0, end + 4);
    ++requests_;
    std::string target = head.substr(head.find(' ') + 1);
    target = target.substr(0, target.find(' '));
    std::string path = target.substr(0, target.find('?'));
    std::string query = target.find('?') == std::string::npos ? "" : target.substr(target.find('?') + 1);
    auto param = [&](const std::string& name) -> std::optional<std::string> {
      for (size_t pos = 0; pos < query.size();) {
        size_t amp = query.find('&', pos);
        std::string item = query.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
        if (item.starts_with(name + "=")) return item.substr(name.size() + 1);
        if (amp == std::string::npos) break;
        pos = amp + 1;
      }
      return std::nullopt;
    };
    const std::string key = path.starts_with("/v1/kv/") ? path.substr(7) : "";
    std::unique_lock l(mu_);
    if (auto idx = param("index")) {
      const std::uint64_t want = std::stoull(*idx);
      std::chrono::milliseconds wait = 300s;
      if (auto w = param("wait")) wait = std::chrono::milliseconds(static_cast<long>(std::stod(*w) * 1000));
      // Blocks while the index equals the one the client has seen.
      cv_.wait_for(l, wait, [&] { return stop_ || index_ != want; });
    }
    auto it = kv_.find(key);
    std::string body = it == kv_.end() ? "" : it->second;
    std::string resp = std::string(it == kv_.end() ? "HTTP/1.1 404 Not Found" : "HTTP/1.1 200 OK") +
                       "\r\nContent-Type: application/json\r\nX-Consul-Index: " + std::to_string(index_) +
                       "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    l.unlock();
    if (::write(fd, resp.data(), resp.size()) < 0) { ::close(fd); return; }
  }
  ::close(fd);
}

}  // namespace relive::fleet_test
