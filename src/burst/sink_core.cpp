// relive::burst_sink (relive/burst_sink.hpp): the logic behind the spdlog sink, compiled
// once. Every method runs under the sink's lock (spdlog's base_sink takes it).
#include <spdlog/details/os.h>
#include <spdlog/formatter.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <unordered_map>

#include "relive/burst_sink.hpp"

namespace relive::burst::detail {

namespace {

// A buffered message: the log_msg with its text and logger name copied (in a log_msg they
// point into the logger's own buffer, which is reused by the next message).
struct SinkRecord {
  spdlog::log_clock::time_point time;
  spdlog::level::level_enum level;
  spdlog::source_loc source;  // pointers to static strings (__FILE__, __func__)
  std::string logger_name;
  std::string payload;
};

// The newest `max` records, oldest first. Slots are reused, so once the ring is full a
// buffered message costs no allocation unless its text outgrows the slot's string.
class RecordRing {
 public:
  explicit RecordRing(size_t max) : max_(std::max<size_t>(1, max)) {}
  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  void clear() {
    first_ = 0;
    count_ = 0;
  }
  void push(const spdlog::details::log_msg& msg) {
    size_t index;
    if (count_ == max_) {  // full: the oldest makes room
      index = first_;
      first_ = (first_ + 1) % max_;
    } else {
      index = (first_ + count_) % max_;
      ++count_;
      if (index == slots_.size()) slots_.emplace_back();
    }
    SinkRecord& r = slots_[index];
    r.time = msg.time;
    r.level = msg.level;
    r.source = msg.source;
    r.logger_name.assign(msg.logger_name.data(), msg.logger_name.size());
    r.payload.assign(msg.payload.data(), msg.payload.size());
  }
  template <class F>
  void for_each(F&& f) const {
    for (size_t i = 0; i < count_; ++i) f(slots_[(first_ + i) % max_]);
  }

 private:
  size_t max_;
  std::vector<SinkRecord> slots_;
  size_t first_ = 0;
  size_t count_ = 0;
};

struct SinkThread {
  explicit SinkThread(size_t max) : own(max) {}
  RecordRing own;
  std::vector<std::unique_ptr<RecordRing>> scopes;  // innermost last
  std::vector<std::unique_ptr<RecordRing>> spare;
  spdlog::log_clock::time_point last_written{};

  RecordRing& active() { return scopes.empty() ? own : *scopes.back(); }
  bool idle() const { return own.empty() && scopes.empty(); }
  void drop_buffered() {
    own.clear();
    for (auto& ring : scopes) ring->clear();
  }
};

}  // namespace

struct SinkCore::Impl {
  std::vector<spdlog::sink_ptr> sinks;
  Options options;
  std::unordered_map<size_t, std::unique_ptr<SinkThread>> threads;
  size_t prune_at = 64;

  SinkThread* find(size_t thread_id) {
    auto it = threads.find(thread_id);
    return it == threads.end() ? nullptr : it->second.get();
  }
  SinkThread& get(size_t thread_id) {
    if (SinkThread* t = find(thread_id)) return *t;
    // Threads come and go; forget those with nothing buffered once the map has grown.
    if (threads.size() >= prune_at) {
      std::erase_if(threads, [](const auto& entry) { return entry.second->idle(); });
      prune_at = std::max<size_t>(64, 2 * threads.size());
    }
    return *threads.emplace(thread_id, std::make_unique<SinkThread>(options.max_messages)).first->second;
  }
  void write_ring(SinkThread& thread, const RecordRing& ring, size_t thread_id, spdlog::log_clock::time_point now);
  void forward(const spdlog::details::log_msg& msg) {
    for (auto& sink : sinks) {
      if (sink->should_log(msg.level)) sink->log(msg);
    }
  }
};

SinkCore::SinkCore(std::vector<spdlog::sink_ptr> sinks, Options options)
    : impl_(std::make_unique<Impl>()) {
  impl_->sinks = std::move(sinks);
  impl_->options = options;
}

SinkCore::~SinkCore() {
  if (!impl_->options.flush_on_exit) return;
  try {
    flush_buffers();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "[relive burst] burst sink: writing the buffers at exit: %s\n", e.what());
  }
}

// Writes `thread`'s active buffer (the records younger than max_age at `now`).
void SinkCore::Impl::write_ring(SinkThread& thread, const RecordRing& ring, size_t thread_id,
                                spdlog::log_clock::time_point now) {
  const auto cutoff = options.max_age.count() > 0 ? now - options.max_age : spdlog::log_clock::time_point::min();
  ring.for_each([&](const SinkRecord& r) {
    if (r.time < cutoff) return;
    spdlog::details::log_msg m(std::max(r.time, thread.last_written), r.source, r.logger_name, r.level, r.payload);
    m.thread_id = thread_id;
    forward(m);
  });
}

void SinkCore::trigger(size_t thread_id) {
  SinkThread* thread = impl_->find(thread_id);
  if (thread == nullptr) return;
  const auto now = spdlog::log_clock::now();
  impl_->write_ring(*thread, thread->active(), thread_id, now);
  thread->drop_buffered();
  thread->last_written = std::max(thread->last_written, now);
  flush();
}

void SinkCore::flush_buffers() {
  const auto now = spdlog::log_clock::now();
  for (auto& [id, thread] : impl_->threads) {
    impl_->write_ring(*thread, thread->own, id, now);
    for (auto& ring : thread->scopes) impl_->write_ring(*thread, *ring, id, now);
    thread->drop_buffered();
  }
  flush();
}

void SinkCore::on_message(const spdlog::details::log_msg& msg) {
  const Options& options = impl_->options;
  const int level = static_cast<int>(msg.level);
  if (level < static_cast<int>(options.level)) return;
  if (level < static_cast<int>(options.pass_level)) {
    impl_->get(msg.thread_id).active().push(msg);
    return;
  }
  SinkThread* thread = impl_->find(msg.thread_id);
  if (thread == nullptr) {
    impl_->forward(msg);
    return;
  }
  // Whatever happens in the wrapped sinks, what was buffered is now older than a written
  // message (the chronological rule).
  struct DropAfter {
    SinkThread* thread;
    spdlog::log_clock::time_point time;
    ~DropAfter() {
      thread->drop_buffered();
      thread->last_written = std::max(thread->last_written, time);
    }
  } drop_after{thread, msg.time};
  if (level >= static_cast<int>(options.trigger_level)) {
    const auto cutoff = options.max_age.count() > 0 ? msg.time - options.max_age
                                                    : spdlog::log_clock::time_point::min();
    thread->active().for_each([&](const SinkRecord& r) {
      if (r.time < cutoff) return;  // the age bound, checked when written
      spdlog::details::log_msg m(std::max(r.time, thread->last_written), r.source, r.logger_name, r.level,
                                 r.payload);
      m.thread_id = msg.thread_id;
      impl_->forward(m);
    });
  }
  impl_->forward(msg);
}

void SinkCore::flush() {
  for (auto& sink : impl_->sinks) sink->flush();
}

void SinkCore::set_formatter(const spdlog::formatter& formatter) {
  for (auto& sink : impl_->sinks) sink->set_formatter(formatter.clone());
}

void* SinkCore::enter_scope(size_t thread_id) {
  SinkThread& thread = impl_->get(thread_id);
  std::unique_ptr<RecordRing> ring;
  if (!thread.spare.empty()) {
    ring = std::move(thread.spare.back());
    thread.spare.pop_back();
  } else {
    ring = std::make_unique<RecordRing>(impl_->options.max_messages);
  }
  thread.scopes.push_back(std::move(ring));
  return thread.scopes.back().get();
}

void SinkCore::leave_scope(size_t thread_id, void* token) noexcept {
  SinkThread* thread = impl_->find(thread_id);
  if (thread == nullptr || thread->scopes.empty() || thread->scopes.back().get() != token) {
    std::fprintf(stderr,
                 "relive::burst::Scope of a burst_sink ended on a thread that did not start it, or "
                 "out of order (scopes must end on their thread, innermost first)\n");
    std::abort();
  }
  std::unique_ptr<RecordRing> ring = std::move(thread->scopes.back());
  thread->scopes.pop_back();
  ring->clear();  // ended without an error: its messages are dropped
  if (thread->spare.size() < 4) thread->spare.push_back(std::move(ring));
}

size_t SinkCore::buffered(size_t thread_id) const {
  SinkThread* thread = impl_->find(thread_id);
  return thread == nullptr ? 0 : thread->active().size();
}

const std::vector<spdlog::sink_ptr>& SinkCore::sinks() const { return impl_->sinks; }

size_t current_thread_id() { return spdlog::details::os::thread_id(); }

}  // namespace relive::burst::detail
