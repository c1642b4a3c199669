// Non-blocking output for the event loop: a queue and one writer thread (terminal_writer.hpp).
#include "terminal_writer.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include <fmt/format.h>

namespace relive::supervisor {

struct TerminalWriter::State {
  struct Chunk {
    int fd;
    std::string data;
  };
  const size_t max_queued;
  mutable std::mutex mu;
  std::condition_variable wake;     // the writer: something queued, or stop
  std::condition_variable drained;  // flush(): the queue is empty and nothing is being written
  std::deque<Chunk> queue;
  size_t queued = 0;
  size_t dropped = 0;
  size_t dropped_reported = 0;
  bool writing = false;
  bool stop = false;
  bool started = false;

  explicit State(size_t max) : max_queued(max) {}

  static void write_all(int fd, std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::write(fd, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;  // the terminal is gone: nothing better to do
      data.remove_prefix(static_cast<size_t>(n));
    }
  }

  void run() {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    std::unique_lock lock(mu);
    for (;;) {
      wake.wait(lock, [&] { return stop || !queue.empty(); });
      if (queue.empty()) return;  // stop, and everything written
      Chunk chunk = std::move(queue.front());
      queue.pop_front();
      queued -= chunk.data.size();
      size_t lost = dropped - dropped_reported;
      dropped_reported = dropped;
      writing = true;
      lock.unlock();
      write_all(chunk.fd, chunk.data);
      if (lost > 0 && queue.empty()) {
        write_all(2, fmt::format("relive: {} bytes of output dropped: the terminal did not keep up\n", lost));
      }
      lock.lock();
      writing = false;
      if (queue.empty()) drained.notify_all();
    }
  }
};

TerminalWriter::TerminalWriter(size_t max_queued) : state_(std::make_shared<State>(max_queued)) {}

TerminalWriter::~TerminalWriter() {
  if (!state_->started) return;
  flush(std::chrono::milliseconds(2000));
  {
    std::lock_guard lock(state_->mu);
    state_->stop = true;
    // A writer stuck in write(2) keeps the state alive through its own reference.
    state_->queue.clear();
    state_->queued = 0;
  }
  state_->wake.notify_all();
}

void TerminalWriter::write(int fd, std::string_view data) {
  if (data.empty()) return;
  bool start = false;
  {
    std::lock_guard lock(state_->mu);
    if (state_->queued + data.size() > state_->max_queued) {
      state_->dropped += data.size();
      return;
    }
    state_->queue.push_back({fd, std::string(data)});
    state_->queued += data.size();
    if (!state_->started) start = state_->started = true;
  }
  if (start) {
    // Detached: it ends by itself once stopped and drained, and never holds up relive's
    // exit when a terminal stays stalled.
    std::thread([s = state_] { s->run(); }).detach();
  }
  state_->wake.notify_one();
}

bool TerminalWriter::flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(state_->mu);
  return state_->drained.wait_for(lock, timeout, [&] { return state_->queue.empty() && !state_->writing; });
}

size_t TerminalWriter::dropped() const {
  std::lock_guard lock(state_->mu);
  return state_->dropped;
}

}  // namespace relive::supervisor
