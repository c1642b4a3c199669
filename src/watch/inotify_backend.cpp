// The inotify backend: one inotify instance; its events read into plain RawEvents.
// (Counting the tree's watches, and the test-only watch limit, live with the root watch.)
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>

#include "backend.hpp"
#include "tree.hpp"

namespace relive::watch::internal {

static_assert(mask::kModify == IN_MODIFY && mask::kAttrib == IN_ATTRIB && mask::kCloseWrite == IN_CLOSE_WRITE &&
              mask::kMovedFrom == IN_MOVED_FROM && mask::kMovedTo == IN_MOVED_TO && mask::kCreate == IN_CREATE &&
              mask::kDelete == IN_DELETE && mask::kDeleteSelf == IN_DELETE_SELF && mask::kMoveSelf == IN_MOVE_SELF &&
              mask::kUnmount == IN_UNMOUNT && mask::kOverflow == IN_Q_OVERFLOW && mask::kIgnored == IN_IGNORED &&
              mask::kOnlyDir == IN_ONLYDIR && mask::kDontFollow == IN_DONT_FOLLOW &&
              mask::kExclUnlink == IN_EXCL_UNLINK && mask::kMaskAdd == IN_MASK_ADD && mask::kIsDir == IN_ISDIR);

Backend::~Backend() = default;

bool Backend::list(int /*wd*/, const std::string& path, std::vector<DirEntry>& out) { return list_dir(path, out); }

namespace {

class InotifyBackend final : public Backend {
 public:
  explicit InotifyBackend(int fd) : fd_(fd) {}
  ~InotifyBackend() override { ::close(fd_); }
  InotifyBackend(const InotifyBackend&) = delete;
  InotifyBackend& operator=(const InotifyBackend&) = delete;

  int fd() const override { return fd_; }
  bool notifies() const override { return true; }
  int add_watch(const std::string& path, uint32_t watch_mask) override {
    return inotify_add_watch(fd_, path.c_str(), watch_mask);
  }
  void remove_watch(int wd) override { inotify_rm_watch(fd_, wd); }
  void poll(std::vector<RawEvent>& /*out*/) override {}

  void read_events(std::vector<RawEvent>& out) override {
    alignas(inotify_event) static thread_local char buffer[64 * 1024];
    for (;;) {
      ssize_t n = ::read(fd_, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      for (char* p = buffer; p < buffer + n;) {
        auto* ev = reinterpret_cast<inotify_event*>(p);
        out.push_back(RawEvent{ev->wd, ev->mask, ev->cookie, ev->len ? std::string(ev->name) : std::string()});
        p += sizeof(inotify_event) + ev->len;
      }
    }
  }

 private:
  int fd_;
};

}  // namespace

Result<std::unique_ptr<Backend>> make_inotify_backend() {
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    if (errno == EMFILE) {
      return Error{errno_message(errno, "inotify_init1 (too many inotify instances: see fs.inotify.max_user_instances)")};
    }
    return errno_error("inotify_init1");
  }
  return std::unique_ptr<Backend>(std::make_unique<InotifyBackend>(fd));
}

}  // namespace relive::watch::internal
