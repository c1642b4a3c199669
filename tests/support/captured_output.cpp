// A child's output collected by a reader thread (captured_output.hpp).
#include "captured_output.hpp"

#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace relive::test {

struct CapturedOutput::Shared {
  mutable std::mutex mu;
  mutable std::condition_variable cv;
  std::string text;
  bool eof = false;
  std::thread reader;
};

CapturedOutput::CapturedOutput(int fd, AtEnd at_end) : shared_(std::make_shared<Shared>()) {
  auto shared = shared_;
  shared_->reader = std::thread([shared, fd, at_end] {
    char buf[4096];
    for (;;) {
      ssize_t n = read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      std::lock_guard lock(shared->mu);
      if (n <= 0) {
        shared->eof = true;
        shared->cv.notify_all();
        break;
      }
      shared->text.append(buf, static_cast<size_t>(n));
      shared->cv.notify_all();
    }
    if (at_end == AtEnd::close) close(fd);
  });
}

CapturedOutput::~CapturedOutput() { finish(std::chrono::seconds(2)); }

std::string CapturedOutput::text() const {
  std::lock_guard lock(shared_->mu);
  return shared_->text;
}

bool CapturedOutput::wait_for(std::string_view needle, std::chrono::milliseconds timeout, size_t from) const {
  std::unique_lock lock(shared_->mu);
  return shared_->cv.wait_for(lock, timeout, [&] {
    return shared_->text.size() > from && shared_->text.find(needle, from) != std::string::npos;
  });
}

size_t CapturedOutput::count(std::string_view needle) const {
  std::lock_guard lock(shared_->mu);
  const std::string& s = shared_->text;
  size_t n = 0;
  for (size_t at = s.find(needle); at != std::string::npos; at = s.find(needle, at + needle.size())) ++n;
  return n;
}

bool CapturedOutput::wait_for_end(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(shared_->mu);
  return shared_->cv.wait_for(lock, timeout, [&] { return shared_->eof; });
}

bool CapturedOutput::finish(std::chrono::milliseconds timeout) {
  if (finished_) return ended_;
  finished_ = true;
  ended_ = wait_for_end(timeout);
  if (ended_) shared_->reader.join();
  else shared_->reader.detach();
  return ended_;
}

}  // namespace relive::test
