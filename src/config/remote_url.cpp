// Remote sources named by URL: etcd://HOST:PORT/PREFIX and http(s)://..., shared by the
// command (relive config ... etcd://...) and the Python module (Config.open(["etcd://..."])).
#include <cstdlib>

#include "relive/config_remote.hpp"

namespace relive::config {

namespace {

std::string env_value(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace

Result<EtcdOptions> etcd_options_from_url(const std::string& url, bool document) {
  constexpr std::string_view scheme = "etcd://";
  if (!url.starts_with(scheme)) return Error{url + ": not an etcd://HOST:PORT/PREFIX URL"};
  const std::string rest = url.substr(scheme.size());
  const auto slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  if (authority.empty()) return Error{url + ": no HOST:PORT after etcd://"};
  EtcdOptions o;
  o.tls.ca_file = env_value("ETCDCTL_CACERT");
  o.tls.cert_file = env_value("ETCDCTL_CERT");
  o.tls.key_file = env_value("ETCDCTL_KEY");
  const bool tls = !o.tls.ca_file.empty() || !o.tls.cert_file.empty();
  o.endpoints = {(tls ? "https://" : "http://") + authority};
  const std::string path = slash == std::string::npos ? "/" : rest.substr(slash);
  if (document) o.document_key = path;
  else o.prefix = path;
  std::string user = env_value("ETCDCTL_USER");
  o.password = env_value("ETCDCTL_PASSWORD");
  if (auto colon = user.find(':'); colon != std::string::npos) {  // etcdctl's user:password
    o.password = user.substr(colon + 1);
    user.resize(colon);
  }
  o.username = user;
  return o;
}

Result<std::shared_ptr<Source>> remote_source_from_url(const std::string& url) {
  if (url.starts_with("etcd://")) {
    auto options = etcd_options_from_url(url);
    if (!options) return options.error();
    return std::shared_ptr<Source>(etcd(std::move(*options)));
  }
  if (url.starts_with("http://") || url.starts_with("https://")) {
    HttpOptions o;
    o.url = url;
    return std::shared_ptr<Source>(http(std::move(o)));
  }
  const auto end = url.find("://");
  return Error{url + ": " + (end == std::string::npos ? std::string("not a URL") : url.substr(0, end) + " sources are not supported")};
}

}  // namespace relive::config
