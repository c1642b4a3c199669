// The Watcher: one epoll fd over the roots' inotify fds and two timerfds — the coalescing
// window (armed only while a batch is open, so an idle watcher never wakes up) and the poll
// tick (armed only while some directory is polled). Everything runs on the thread that
// calls read_batches(): the caller's, or the one start() creates.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <thread>

#include "relive/internal/watch_testing.hpp"
#include "relive/watch.hpp"
#include "root_watch.hpp"

namespace relive::watch {

namespace internal {
namespace {
std::atomic<size_t> g_max_watches_for_testing{0};
}  // namespace
void limit_watches_for_testing(size_t n) { g_max_watches_for_testing.store(n, std::memory_order_relaxed); }
}  // namespace internal
using internal::g_max_watches_for_testing;


const char* to_string(Change change) {
  switch (change) {
    case Change::Created: return "created";
    case Change::Modified: return "modified";
    case Change::Removed: return "removed";
    case Change::Renamed: return "renamed";
  }
  return "?";
}

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

void arm_timer(int tfd, Clock::time_point when) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(when.time_since_epoch()).count();
  if (ns <= 0) ns = 1;
  itimerspec spec{};
  spec.it_value.tv_sec = ns / 1000000000;
  spec.it_value.tv_nsec = ns % 1000000000;
  timerfd_settime(tfd, TFD_TIMER_ABSTIME, &spec, nullptr);
}

void arm_periodic(int tfd, std::chrono::milliseconds every) {
  itimerspec spec{};
  spec.it_interval.tv_sec = every.count() / 1000;
  spec.it_interval.tv_nsec = (every.count() % 1000) * 1000000;
  spec.it_value = spec.it_interval;
  timerfd_settime(tfd, 0, &spec, nullptr);
}

void disarm(int tfd) {
  itimerspec spec{};
  timerfd_settime(tfd, 0, &spec, nullptr);
}

bool drain(int fd) {
  uint64_t n;
  return ::read(fd, &n, sizeof n) == sizeof n;
}

std::string read_sysctl(const char* path) {
  std::ifstream in(path);
  std::string value;
  in >> value;
  return value.empty() ? "unknown" : value;
}

class WatcherImpl final : public Watcher {
 public:
  explicit WatcherImpl(Options options) : options_(std::move(options)) {
    if (!options_.on_warning) {
      options_.on_warning = [](const std::string& message) { std::fprintf(stderr, "relive: %s\n", message.c_str()); };
    }
    ctx_.warn = options_.on_warning;
    ctx_.force_poll = options_.poll_interval.has_value();
    ctx_.follow_symlinks = options_.follow_symlinks;
    ctx_.max_watches = g_max_watches_for_testing.load(std::memory_order_relaxed);
    if (options_.quiet <= 0ms) options_.quiet = 1ms;
    if (options_.max_quiet < options_.quiet) options_.max_quiet = options_.quiet;
    if (options_.max_delay < options_.max_quiet) options_.max_delay = options_.max_quiet;
  }

  ~WatcherImpl() override {
    stop();
    for (int fd : {flush_timer_, poll_timer_, stop_fd_, epoll_fd_}) {
      if (fd >= 0) ::close(fd);
    }
  }

  Result<void> open() {
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    flush_timer_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    poll_timer_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    stop_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epoll_fd_ < 0 || flush_timer_ < 0 || poll_timer_ < 0 || stop_fd_ < 0) return errno_error("watch: epoll/timerfd/eventfd");
    if (options_.roots.empty()) return Error{"watch: no root to watch"};
    for (const auto& root : options_.roots) {
      root_paths_.push_back(root);
      roots_.push_back(std::make_unique<internal::RootWatch>(static_cast<uint32_t>(roots_.size()), root,
                                                             options_.ignore, ctx_));
      if (auto opened = roots_.back()->open(); !opened) return opened.error();
      if (int fd = roots_.back()->event_fd(); fd >= 0) add_to_epoll(fd);
    }
    add_to_epoll(flush_timer_);
    add_to_epoll(poll_timer_);
    add_to_epoll(stop_fd_);
    after_work();
    return {};
  }

  int fd() const override { return epoll_fd_; }

  std::vector<Batch> read_batches() override {
    std::vector<Batch> out;
    drain(flush_timer_);
    const bool poll_due = drain(poll_timer_);
    const uint64_t recorded_before = ctx_.recorded;
    for (auto& root : roots_) root->read_events();
    if (poll_due) {
      for (auto& root : roots_) root->poll();
    }
    const auto now = Clock::now();
    if (ctx_.recorded != recorded_before) {
      if (!batch_open_) {
        batch_open_ = true;
        batch_start_ = now;
      }
      last_event_ = now;
    }
    if (batch_open_ && (poll_due || now >= deadline())) {
      // A poll is a batch of its own: everything it found was already complete.
      for (auto& root : roots_) root->finish_batch();
      Batch batch = ctx_.coalescer.take(root_paths_);
      batch_open_ = false;
      if (!batch.changes.empty() || batch.rescan) out.push_back(std::move(batch));
    }
    after_work();
    return out;
  }

  void start(std::function<void(const Batch&)> on_batch) override {
    if (thread_.joinable()) return;
    stopping_ = false;
    thread_ = std::thread([this, on_batch = std::move(on_batch)] {
      epoll_event events[8];
      while (!stopping_.load(std::memory_order_acquire)) {
        int n = epoll_wait(epoll_fd_, events, 8, -1);
        if (n < 0 && errno != EINTR) break;
        if (stopping_.load(std::memory_order_acquire)) break;
        for (const Batch& batch : read_batches()) on_batch(batch);
      }
    });
  }

  void stop() override {
    if (!thread_.joinable()) return;
    stopping_.store(true, std::memory_order_release);
    uint64_t one = 1;
    [[maybe_unused]] auto ignored = ::write(stop_fd_, &one, sizeof one);
    thread_.join();
    drain(stop_fd_);
  }

  size_t watch_count() const override { return watch_count_.load(std::memory_order_relaxed); }
  size_t polled_count() const override { return polled_count_.load(std::memory_order_relaxed); }

 private:
  void add_to_epoll(int fd) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  }

  // When the open batch is due. The quiet window starts at `quiet` and widens with the
  // length of the burst (a checkout, a build writing many files) up to `max_quiet`; it is
  // at least `max_quiet` while a file is missing that was there (the middle of an editor's
  // replace-on-save); a file still being written, or a batch of nothing but new (still
  // empty) directories, holds the batch until it is closed or a file appears; all
  // capped by `max_delay` — except while a VCS lock is held (capped by max_vcs_hold).
  Clock::time_point deadline() const {
    auto burst = last_event_ - batch_start_;
    auto quiet = std::min<Clock::duration>(options_.max_quiet, options_.quiet + burst / 4);
    if (ctx_.coalescer.has_gone_paths()) quiet = options_.max_quiet;
    auto due = last_event_ + quiet;
    bool writers = false;
    bool locked = false;
    for (const auto& root : roots_) {
      writers = writers || root->has_writers();
      locked = locked || root->vcs_locked();
    }
    if (writers || ctx_.coalescer.only_new_directories()) due = batch_start_ + options_.max_delay;
    due = std::min(due, batch_start_ + Clock::duration(options_.max_delay));
    if (locked) due = std::max(due, batch_start_ + Clock::duration(options_.max_vcs_hold));
    return due;
  }

  void after_work() {
    if (batch_open_) {
      arm_timer(flush_timer_, deadline());
      flush_armed_ = true;
    } else if (flush_armed_) {
      disarm(flush_timer_);
      flush_armed_ = false;
    }
    size_t watched = 0;
    size_t polled = 0;
    for (const auto& root : roots_) {
      watched += root->watch_count();
      polled += root->polled_count();
    }
    // Published for other threads; read_batches() runs on one thread only.
    watch_count_.store(watched, std::memory_order_relaxed);
    polled_count_.store(polled, std::memory_order_relaxed);
    bool want_poll = polled > 0 || ctx_.force_poll;
    for (const auto& root : roots_) want_poll = want_poll || root->dir_count() == 0;
    if (want_poll != poll_armed_) {
      if (want_poll) arm_periodic(poll_timer_, options_.poll_interval.value_or(options_.fallback_poll_interval));
      else disarm(poll_timer_);
      poll_armed_ = want_poll;
    }
    if (ctx_.out_of_watches && !warned_out_of_watches_) {
      warned_out_of_watches_ = true;
      std::string limit = ctx_.max_watches > 0 ? std::to_string(ctx_.max_watches) + " (limited for testing)"
                                                  : read_sysctl("/proc/sys/fs/inotify/max_user_watches");
      options_.on_warning("out of inotify watches: fs.inotify.max_user_watches is " + limit + ", this tree needs " +
                          std::to_string(watched + polled) + " (one per directory); polling the " +
                          std::to_string(polled) + " directories that could not be watched every " +
                          std::to_string(options_.fallback_poll_interval.count()) +
                          " ms. To raise the limit: sysctl fs.inotify.max_user_watches=" +
                          std::to_string((watched + polled) * 2 + 8192));
    }
  }

  Options options_;
  internal::WatchContext ctx_;
  std::vector<std::filesystem::path> root_paths_;
  std::vector<std::unique_ptr<internal::RootWatch>> roots_;
  int epoll_fd_ = -1;
  int flush_timer_ = -1;
  int poll_timer_ = -1;
  int stop_fd_ = -1;
  bool batch_open_ = false;
  bool flush_armed_ = false;
  bool poll_armed_ = false;
  bool warned_out_of_watches_ = false;
  Clock::time_point batch_start_;
  Clock::time_point last_event_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> watch_count_{0};
  std::atomic<size_t> polled_count_{0};
};

}  // namespace

Result<std::unique_ptr<Watcher>> Watcher::open(Options options) {
  auto watcher = std::make_unique<WatcherImpl>(std::move(options));
  if (auto opened = watcher->open(); !opened) return opened.error();
  return std::unique_ptr<Watcher>(std::move(watcher));
}

}  // namespace relive::watch
