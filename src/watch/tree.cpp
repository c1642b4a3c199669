#include "tree.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "backend.hpp"

namespace relive::watch::internal {

Node::Node() = default;
Node::~Node() = default;

uint32_t name_hash(std::string_view name) {
  // FNV-1a: cheap, and good enough to tell apart the names within one directory.
  uint32_t h = 2166136261u;
  for (char c : name) {
    h ^= static_cast<unsigned char>(c);
    h *= 16777619u;
  }
  return h;
}

Node* Node::child(std::string_view child_name) const {
  for (const auto& c : children) {
    if (c->name == child_name) return c.get();
  }
  return nullptr;
}

bool Node::has_file(std::string_view file_name) const {
  return std::binary_search(file_hashes.begin(), file_hashes.end(), name_hash(file_name));
}

void Node::add_file(std::string_view file_name) {
  uint32_t h = name_hash(file_name);
  auto it = std::lower_bound(file_hashes.begin(), file_hashes.end(), h);
  if (it == file_hashes.end() || *it != h) file_hashes.insert(it, h);
}

void Node::remove_file(std::string_view file_name) {
  uint32_t h = name_hash(file_name);
  auto it = std::lower_bound(file_hashes.begin(), file_hashes.end(), h);
  if (it != file_hashes.end() && *it == h) file_hashes.erase(it);
}

Tree::Tree() : root_(std::make_unique<Node>()) {}

std::string Tree::join(std::string_view dir, std::string_view name) {
  std::string out;
  out.reserve(dir.size() + name.size() + 1);
  out.append(dir);
  if (!dir.empty() && !name.empty()) out.push_back('/');
  out.append(name);
  return out;
}

bool Tree::attached(const Node* node) const {
  while (node && node != root_.get()) {
    if (node->detached || !node->parent) return false;
    node = node->parent;
  }
  return node == root_.get();
}

std::string Tree::rel_path(const Node* node) const {
  const Node* parts[256];
  size_t n = 0;
  size_t len = 0;
  std::vector<const Node*> deep;  // only used for trees deeper than 256
  for (const Node* p = node; p && p != root_.get(); p = p->parent) {
    if (n < 256) parts[n++] = p;
    else deep.push_back(p);
    len += p->name.size() + 1;
  }
  std::string out;
  out.reserve(len);
  for (auto it = deep.rbegin(); it != deep.rend(); ++it) {
    if (!out.empty()) out.push_back('/');
    out.append((*it)->name);
  }
  while (n > 0) {
    if (!out.empty()) out.push_back('/');
    out.append(parts[--n]->name);
  }
  return out;
}

Node* Tree::add_child(Node* parent, std::string name) {
  auto node = std::make_unique<Node>();
  node->parent = parent;
  node->name = std::move(name);
  Node* raw = node.get();
  parent->children.push_back(std::move(node));
  ++node_count_;
  return raw;
}

std::unique_ptr<Node> Tree::detach(Node* node) {
  Node* parent = node->parent;
  auto& siblings = parent->children;
  auto it = std::find_if(siblings.begin(), siblings.end(), [&](const auto& c) { return c.get() == node; });
  std::unique_ptr<Node> owned = std::move(*it);
  siblings.erase(it);
  owned->detached = true;
  return owned;
}

void Tree::attach(Node* parent, std::unique_ptr<Node> node, std::string name) {
  node->parent = parent;
  node->name = std::move(name);
  node->detached = false;
  parent->children.push_back(std::move(node));
}

void Tree::for_each(Node& node, const std::function<void(Node&)>& fn) {
  fn(node);
  for (auto& c : node.children) for_each(*c, fn);
}

void Tree::erase(Node* node, const std::function<void(Node&)>& on_node) {
  std::unique_ptr<Node> owned = node->detached ? nullptr : detach(node);
  for_each(*node, [&](Node& n) {
    on_node(n);
    unindex_wd(&n);
    --node_count_;
  });
  // `owned` (or the caller's detached pointer) frees the subtree.
}

void Tree::clear(const std::function<void(Node&)>& on_node) {
  for_each(*root_, [&](Node& n) {
    on_node(n);
    unindex_wd(&n);
  });
  root_ = std::make_unique<Node>();
  by_wd_.clear();
  node_count_ = 1;
}

void Tree::index_wd(Node* node, int wd) {
  if (node->wd >= 0) unindex_wd(node);
  node->wd = wd;
  if (wd >= 0) by_wd_[wd] = node;
}

void Tree::unindex_wd(Node* node) {
  if (node->wd < 0) return;
  auto it = by_wd_.find(node->wd);
  if (it != by_wd_.end() && it->second == node) by_wd_.erase(it);
  node->wd = -1;
}

Node* Tree::by_wd(int wd) const {
  auto it = by_wd_.find(wd);
  return it == by_wd_.end() ? nullptr : it->second;
}

bool for_each_dir_entry(const std::string& dir,
                        const std::function<void(int dir_fd, const char* name, unsigned char d_type)>& each) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return false;
  DIR* d = fdopendir(fd);
  if (!d) {
    int err = errno;
    ::close(fd);
    errno = err;
    return false;
  }
  while (dirent* e = readdir(d)) {
    const char* n = e->d_name;
    if (n[0] == '.' && (n[1] == 0 || (n[1] == '.' && n[2] == 0))) continue;
    each(fd, n, e->d_type);
  }
  closedir(d);  // closes fd too
  return true;
}

bool list_dir(const std::string& dir, std::vector<DirEntry>& out) {
  out.clear();
  return for_each_dir_entry(dir, [&](int dir_fd, const char* name, unsigned char type) {
    if (type == DT_UNKNOWN) {
      struct stat st;
      if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return;  // vanished meanwhile
      type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISLNK(st.st_mode) ? DT_LNK : DT_REG;
    }
    out.push_back(DirEntry{name, type});
  });
}

}  // namespace relive::watch::internal
