#include "inotify_backend.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>

namespace relive::watch::internal {

static_assert(kTreeMask == (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE |
                            IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK));

InotifyInstance::InotifyInstance() : fd_(inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {}

InotifyInstance::~InotifyInstance() {
  if (fd_ >= 0) ::close(fd_);
}

int InotifyInstance::add_watch(const std::string& path, uint32_t mask) {
  return inotify_add_watch(fd_, path.c_str(), mask);
}

void InotifyInstance::remove_watch(int wd) { inotify_rm_watch(fd_, wd); }

bool InotifyInstance::read_events(std::vector<RawEvent>& out) {
  alignas(inotify_event) static thread_local char buffer[64 * 1024];
  bool any = false;
  for (;;) {
    ssize_t n = ::read(fd_, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    any = true;
    for (char* p = buffer; p < buffer + n;) {
      auto* ev = reinterpret_cast<inotify_event*>(p);
      out.push_back(RawEvent{ev->wd, ev->mask, ev->cookie, ev->len ? std::string(ev->name) : std::string()});
      p += sizeof(inotify_event) + ev->len;
    }
  }
  return any;
}

}  // namespace relive::watch::internal
