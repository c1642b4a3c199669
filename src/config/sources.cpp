// The built-in sources: a file, a directory of files, environment variables, overrides.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>

#include <fmt/format.h>

#include "internal.hpp"

extern char** environ;

namespace relive::config {
namespace {

namespace fs = std::filesystem;

Format format_of(const fs::path& path) {
  std::string ext = path.extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext == ".json") return Format::Json;
  if (ext == ".toml") return Format::Toml;
  if (ext == ".yaml" || ext == ".yml") return Format::Yaml;
  return Format::Auto;
}

// Reads the whole file, following symlinks at this moment (a ConfigMap swap is seen).
// A file larger than max_bytes (when opened, or growing while read) is rejected unread.
Result<std::string> read_all(const fs::path& path, std::uint64_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Error{path.string() + ": file not found (deleted?)"};
    return errno_error("open " + path.string());
  }
  auto too_big = [&](std::uint64_t size) {
    ::close(fd);
    return Error{fmt::format("{}: {} bytes, more than the limit of {} (Limits::max_file_bytes)", path.string(), size,
                             max_bytes)};
  };
  struct stat st {};
  if (::fstat(fd, &st) == 0 && static_cast<std::uint64_t>(st.st_size) > max_bytes)
    return too_big(static_cast<std::uint64_t>(st.st_size));
  std::string out;
  if (st.st_size > 0) out.reserve(static_cast<size_t>(st.st_size));
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      Error e = errno_error("read " + path.string());
      ::close(fd);
      return e;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_bytes) return too_big(out.size());
  }
  ::close(fd);
  return out;
}

Result<Node> load_file(const fs::path& path, Format format, const Limits& limits) {
  if (format == Format::Auto) format = format_of(path);
  if (format == Format::Auto)
    return Error{path.string() + ": unknown configuration format (use .json, .yaml, .yml or .toml, or state it)"};
  auto text = read_all(path, limits.max_file_bytes);
  if (!text) return text.error();
  return parse(*text, format, path.string(), limits);
}

// Sets dotted `segments` under root to value, creating objects on the way (a scalar in the
// way is replaced: the later source wins). More than max_depth segments is an error.
Result<void> set_path(Node& root, const std::vector<std::string>& segments, Node value, const Origin& o) {
  if (segments.size() > Limits{}.max_depth)
    return Error{fmt::format("{}: nesting deeper than {} levels", o.to_string(), Limits{}.max_depth)};
  Node* cur = &root;
  for (size_t i = 0; i + 1 < segments.size(); ++i) {
    Node* next = NodeAccess::child(*cur, segments[i]);
    if (!next || !next->is_object()) next = &cur->set(segments[i], Node::object(o));
    cur = next;
  }
  cur->set(segments.back(), std::move(value));
  return {};
}

std::vector<std::string> split(std::string_view s, std::string_view sep) {
  std::vector<std::string> out;
  size_t pos = 0;
  for (;;) {
    size_t next = s.find(sep, pos);
    out.emplace_back(s.substr(pos, next == std::string_view::npos ? std::string_view::npos : next - pos));
    if (next == std::string_view::npos) break;
    pos = next + sep.size();
  }
  return out;
}

class FileSource : public Source {
 public:
  FileSource(fs::path p, Format f, Limits l) : path_(std::move(p)), format_(f), limits_(l) {}
  std::string name() const override { return path_.string(); }
  Result<Node> load() override {
    std::error_code ec;
    auto size = fs::file_size(path_, ec);
    // An editor that truncates and then writes shows an empty file for a moment: once this
    // file had content, an empty one is taken as a save in progress, not as "no settings".
    if (!ec && size == 0 && had_content_)
      return Error{path_.string() + ": file is empty (a save in progress?)"};
    auto r = load_file(path_, format_, limits_);
    if (r && !ec && size > 0) had_content_ = true;
    return r;
  }
  std::vector<fs::path> watch_files() const override { return {path_}; }
 private:
  fs::path path_;
  Format format_;
  Limits limits_;
  bool had_content_ = false;  // load() runs on one thread at a time
};

class DirectorySource : public Source {
 public:
  DirectorySource(fs::path d, Limits l) : dir_(std::move(d)), limits_(l) {}
  std::string name() const override { return dir_.string(); }
  Result<Node> load() override {
    std::error_code ec;
    if (!fs::is_directory(dir_, ec)) return Error{dir_.string() + ": directory not found (deleted?)"};
    std::vector<fs::path> files;
    for (auto it = fs::directory_iterator(dir_, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
      const std::string fname = it->path().filename().string();
      if (fname.starts_with(".")) continue;  // editors' temp files, ConfigMap's ..data
      if (format_of(it->path()) == Format::Auto) continue;
      files.push_back(it->path());
    }
    if (ec) return Error{errno_message(ec.value(), "read directory " + dir_.string())};
    std::sort(files.begin(), files.end(), [](const fs::path& a, const fs::path& b) { return a.filename() < b.filename(); });
    Node merged = Node::object(Origin{dir_.string(), 0, 0});
    for (const auto& f : files) {
      auto n = load_file(f, Format::Auto, limits_);
      if (!n) {
        // A file that vanished between listing and reading was deleted or renamed by an
        // editor mid-save; the watcher will report the final state.
        return n.error();
      }
      merge_into(merged, std::move(*n));
    }
    return merged;
  }
  std::vector<fs::path> watch_dirs() const override { return {dir_}; }
 private:
  fs::path dir_;
  Limits limits_;
};

class EnvSource : public Source {
 public:
  explicit EnvSource(std::string prefix) : prefix_(std::move(prefix)) {
    if (!prefix_.empty() && !prefix_.ends_with("_")) prefix_ += "_";
  }
  std::string name() const override { return "env " + prefix_ + "*"; }
  Result<Node> load() override {
    Node root = Node::object(Origin{name(), 0, 0});
    std::vector<std::string> vars;
    for (char** e = environ; e && *e; ++e) vars.emplace_back(*e);
    std::sort(vars.begin(), vars.end());  // deterministic: APP_DB wins over nothing by order
    for (const std::string& var : vars) {
      auto eq = var.find('=');
      if (eq == std::string::npos) continue;
      std::string_view var_name(var.data(), eq);
      if (!var_name.starts_with(prefix_) || var_name.size() == prefix_.size()) continue;
      std::string rest(var_name.substr(prefix_.size()));
      for (char& c : rest) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      auto segments = split(rest, "__");
      if (std::any_of(segments.begin(), segments.end(), [](const std::string& s) { return s.empty(); })) continue;
      Origin o{"env " + std::string(var_name), 0, 0};
      if (auto r = set_path(root, segments, Node::parse_scalar(std::string_view(var).substr(eq + 1), o), o); !r)
        return r.error();
    }
    return root;
  }
 private:
  std::string prefix_;
};

class OverrideSource : public Source {
 public:
  explicit OverrideSource(std::vector<std::string> items) : items_(std::move(items)) {}
  std::string name() const override { return "overrides"; }
  Result<Node> load() override {
    Node root = Node::object(Origin{"overrides", 0, 0});
    for (const std::string& item : items_) {
      auto eq = item.find('=');
      if (eq == std::string::npos || eq == 0)
        return Error{fmt::format("override \"{}\": expected key=value (e.g. db.timeout=5s)", item)};
      auto segments = split(std::string_view(item).substr(0, eq), ".");
      if (std::any_of(segments.begin(), segments.end(), [](const std::string& s) { return s.empty(); }))
        return Error{fmt::format("override \"{}\": empty key segment", item)};
      Origin o{"override " + item.substr(0, eq), 0, 0};
      if (auto r = set_path(root, segments, Node::parse_scalar(std::string_view(item).substr(eq + 1), o), o); !r)
        return r.error();
    }
    return root;
  }
 private:
  std::vector<std::string> items_;
};

}  // namespace

std::shared_ptr<Source> file(std::filesystem::path path, Format format, Limits limits) {
  return std::make_shared<FileSource>(std::move(path), format, limits);
}
std::shared_ptr<Source> directory(std::filesystem::path dir, Limits limits) {
  return std::make_shared<DirectorySource>(std::move(dir), limits);
}
std::shared_ptr<Source> env(std::string prefix) { return std::make_shared<EnvSource>(std::move(prefix)); }
std::shared_ptr<Source> overrides(std::vector<std::string> assignments) {
  return std::make_shared<OverrideSource>(std::move(assignments));
}

}  // namespace relive::config
