// A child's output passed through, with its last lines kept (output_tail.hpp).
#include "output_tail.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>

namespace relive::supervisor {
namespace {

constexpr size_t kMaxLineBytes = 500;

void write_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // relive's own output is gone: nothing better to do
    data += n;
    size -= static_cast<size_t>(n);
  }
}

// A pseudo-terminal pair for a child's stream, so that the program sees a terminal
// (isatty, colours, line buffering) as it would on relive's own `like_fd`: its window size,
// and output passed through byte for byte (no "\n" -> "\r\n": relive's terminal does
// that). Returns false (errno set) if there is none to be had.
bool open_pty(int like_fd, int* master, int* slave) {
  int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0) return false;
  char name[64];
  if (grantpt(m) != 0 || unlockpt(m) != 0 || ptsname_r(m, name, sizeof name) != 0) {
    int e = errno;
    close(m);
    errno = e;
    return false;
  }
  int s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (s < 0) {
    int e = errno;
    close(m);
    errno = e;
    return false;
  }
  termios t{};
  if (tcgetattr(s, &t) == 0) {
    t.c_oflag &= ~static_cast<tcflag_t>(OPOST);
    t.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(s, TCSANOW, &t);
  }
  winsize ws{};
  if (ioctl(like_fd, TIOCGWINSZ, &ws) == 0) ioctl(m, TIOCSWINSZ, &ws);
  *master = m;
  *slave = s;
  return true;
}

}  // namespace

Result<std::unique_ptr<OutputTail>> OutputTail::create(size_t max_lines, int forward_stdout, int forward_stderr) {
  std::unique_ptr<OutputTail> tail(new OutputTail());
  tail->max_lines_ = max_lines;
  tail->forward_[0] = forward_stdout;
  tail->forward_[1] = forward_stderr;
  for (int i = 0; i < 2; ++i) {
    int p[2];
    // A terminal stays a terminal for the program; anything else (a file, a pipe) a pipe.
    if (isatty(tail->forward_[i]) == 1 && open_pty(tail->forward_[i], &p[0], &p[1])) {
      tail->read_fds_[i] = p[0];
      tail->write_fds_[i] = p[1];
      tail->pty_[i] = true;
      fcntl(p[0], F_SETFL, O_NONBLOCK);
      continue;
    }
    if (pipe2(p, O_CLOEXEC) != 0) return errno_error("pipe2 (child output)");
    tail->read_fds_[i] = p[0];
    tail->write_fds_[i] = p[1];
    fcntl(p[0], F_SETFL, O_NONBLOCK);  // the child's end stays blocking, like a terminal
  }
  return tail;
}

OutputTail::~OutputTail() {
  for (int fd : {read_fds_[0], read_fds_[1], write_fds_[0], write_fds_[1]})
    if (fd >= 0) close(fd);
}

void OutputTail::close_child_ends() {
  for (int& fd : write_fds_) {
    if (fd >= 0) close(fd);
    fd = -1;
  }
}

std::vector<int> OutputTail::fds() const {
  std::vector<int> out;
  for (int fd : read_fds_)
    if (fd >= 0) out.push_back(fd);
  return out;
}

bool OutputTail::on_readable(int fd) {
  int stream = fd == read_fds_[0] ? 0 : fd == read_fds_[1] ? 1 : -1;
  if (stream < 0) return false;
  char buf[16384];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return true;
    if (n <= 0) {  // EOF; from a pseudo-terminal, EIO once every slave end is closed
      if (!partial_[stream].empty()) {
        lines_.push_back(std::move(partial_[stream]));
        partial_[stream].clear();
        if (lines_.size() > max_lines_) lines_.pop_front();
      }
      close(fd);
      read_fds_[stream] = -1;
      return false;
    }
    if (sink_) {
      if (forward_[stream] >= 0) sink_(forward_[stream], std::string_view(buf, static_cast<size_t>(n)));
    } else {
      write_all(forward_[stream], buf, static_cast<size_t>(n));
    }
    add(stream, buf, static_cast<size_t>(n));
  }
}

void OutputTail::copy_window_size() {
  for (int i = 0; i < 2; ++i) {
    winsize ws{};
    if (pty_[i] && read_fds_[i] >= 0 && ioctl(forward_[i], TIOCGWINSZ, &ws) == 0) ioctl(read_fds_[i], TIOCSWINSZ, &ws);
  }
}

void OutputTail::drain() {
  for (int fd : fds()) on_readable(fd);
}

void OutputTail::add(int stream, const char* data, size_t size) {
  std::string& partial = partial_[stream];
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == '\n') {
      lines_.push_back(std::move(partial));
      partial.clear();
      if (lines_.size() > max_lines_) lines_.pop_front();
    } else if (partial.size() < kMaxLineBytes) {
      partial += data[i];
    }
  }
}

std::vector<std::string> OutputTail::last_lines() const {
  std::vector<std::string> out(lines_.begin(), lines_.end());
  for (const auto& p : partial_)
    if (!p.empty()) out.push_back(p);
  while (out.size() > max_lines_) out.erase(out.begin());
  return out;
}

}  // namespace relive::supervisor
