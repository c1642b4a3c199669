// relive::burst::Logger (relive/burst.hpp): the parts off the hot path — attaching a thread,
// scopes, and writing (formatting records and handing them to the spdlog sinks).
#include <fmt/format.h>
#include <spdlog/details/log_msg.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/sink.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "relive/burst.hpp"

namespace relive::burst {

namespace {

std::atomic<uint64_t> next_logger_id{1};

// A thread's state for one Logger: its own buffer and the buffers of its active scopes.
// Touched only by that thread (the Logger holds a reference just to own the memory).
// Cache-line aligned so that two threads' ring positions never share a line.
struct alignas(64) ThreadStateImpl : detail::ThreadState {
  explicit ThreadStateImpl(const Options& logger_options)
      : options(logger_options), own(logger_options.max_bytes, logger_options.max_messages) {
    active = &own;
  }
  Options options;
  detail::Ring own;
  std::vector<std::unique_ptr<detail::Ring>> scopes;  // innermost last
  std::vector<std::unique_ptr<detail::Ring>> spare;   // rings of ended scopes, for reuse

  // The chronological rule: whatever is buffered is older than a message just written.
  void drop_buffered() {
    own.clear();
    for (auto& ring : scopes) ring->clear();
  }
};

// Every Logger's state for the calling thread. The hot path only reads detail::thread_cache;
// this is the slow-path lookup behind it, and what releases the states at thread exit.
struct ThreadRegistry {
  std::vector<std::pair<uint64_t, std::shared_ptr<ThreadStateImpl>>> states;
  ~ThreadRegistry() { detail::thread_cache = {}; }

  ThreadStateImpl* find(uint64_t logger_id) {
    for (auto& [id, state] : states) {
      if (id == logger_id) {
        detail::thread_cache = {logger_id, state.get()};
        return state.get();
      }
    }
    return nullptr;
  }
};
thread_local ThreadRegistry thread_registry;

// Time of the last message this thread wrote (through any Logger): the floor for the coarse
// stamps of messages buffered after it, so that printed times never go backwards.
thread_local int64_t last_written_ns = 0;

ThreadStateImpl* find_thread_state(uint64_t logger_id) {
  const detail::ThreadCache cache = detail::thread_cache;
  if (cache.logger_id == logger_id) return static_cast<ThreadStateImpl*>(cache.state);
  return thread_registry.find(logger_id);
}

int64_t to_ns(spdlog::log_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
spdlog::log_clock::time_point from_ns(int64_t ns) {
  return spdlog::log_clock::time_point(
      std::chrono::duration_cast<spdlog::log_clock::duration>(std::chrono::nanoseconds(ns)));
}

// Kept in the ring in place of a message whose captured arguments do not fit in it.
void format_oversized(fmt::string_view format, const std::byte*, fmt::appender out) {
  fmt::format_to(out, "[relive burst: message too large for the buffer (Options::max_bytes); format: \"{}\"]",
                 format);
}

// Records stamped before this are older than max_age at `now_ns`.
int64_t age_cutoff(const Options& options, int64_t now_ns) {
  return options.max_age.count() > 0 ? now_ns - std::chrono::nanoseconds(options.max_age).count() : INT64_MIN;
}

}  // namespace

struct Logger::Impl {
  std::vector<spdlog::sink_ptr> sinks;
  std::mutex states_mutex;
  std::vector<std::shared_ptr<ThreadStateImpl>> states;  // owned with the threads' registries
  std::mutex write_mutex;  // one burst is written as one block

  void report(const std::string& logger_name, std::string_view what) noexcept {
    std::fprintf(stderr, "[relive burst] logger '%s': %.*s\n", logger_name.c_str(),
                 static_cast<int>(what.size()), what.data());
  }

  // Formats and emits the records of `ring` younger than `cutoff`. Caller holds write_mutex.
  void emit_ring(const std::string& logger_name, const detail::Ring& ring, int64_t cutoff) {
    fmt::memory_buffer record_text;
    ring.for_each([&](const detail::RecordHeader& record) {
      if (record.time_ns < cutoff) return;  // the age bound, checked when written
      record_text.clear();
      try {
        record.format_fn({record.format_data, record.format_size},
                         reinterpret_cast<const std::byte*>(&record + 1), fmt::appender(record_text));
      } catch (const std::exception& e) {
        record_text.clear();
        fmt::format_to(fmt::appender(record_text), "[relive burst: cannot format \"{}\": {}]",
                       fmt::string_view(record.format_data, record.format_size), e.what());
      }
      // Coarse stamps may lag the precise one of the last written line; never go back.
      emit(logger_name, static_cast<Level>(record.prefix.level), from_ns(std::max(record.time_ns, last_written_ns)),
           SourceLocation{record.file, record.function, record.line}, {record_text.data(), record_text.size()});
    });
  }

  void flush_sinks(const std::string& logger_name) {
    for (auto& sink : sinks) {
      try {
        sink->flush();
      } catch (const std::exception& e) {
        report(logger_name, e.what());
      }
    }
  }

  // Hands one message to every sink that wants its level. Caller holds write_mutex.
  void emit(const std::string& logger_name, Level level, spdlog::log_clock::time_point time,
            SourceLocation location, std::string_view payload) {
    spdlog::details::log_msg msg(
        time, spdlog::source_loc{location.file, location.line, location.function},
        logger_name, static_cast<spdlog::level::level_enum>(level), payload);
    for (auto& sink : sinks) {
      if (!sink->should_log(msg.level)) continue;
      try {
        sink->log(msg);
      } catch (const std::exception& e) {
        report(logger_name, e.what());
      }
    }
  }
};

Logger::Logger(std::string name, std::vector<spdlog::sink_ptr> sinks, Options options)
    : id_(next_logger_id.fetch_add(1)),
      name_(std::move(name)),
      options_(options),
      level_(static_cast<int>(options.level)),
      pass_level_(static_cast<int>(options.pass_level)),
      trigger_level_(static_cast<int>(options.trigger_level)),
      impl_(std::make_unique<Impl>()) {
  impl_->sinks = std::move(sinks);
}

Logger::Logger(const spdlog::logger& logger, Options options)
    : Logger(logger.name(), logger.sinks(), options) {}

Logger::~Logger() {
  if (!options_.flush_on_exit) return;
  // No other thread may log now (the lifetime rule), so every thread's buffers can be read.
  std::lock_guard lock(impl_->write_mutex);
  const int64_t cutoff = age_cutoff(options_, precise_now_ns());
  bool wrote = false;
  for (auto& state : impl_->states) {
    wrote = wrote || !state->own.empty();
    impl_->emit_ring(name_, state->own, cutoff);
    for (auto& ring : state->scopes) {
      wrote = wrote || !ring->empty();
      impl_->emit_ring(name_, *ring, cutoff);
    }
    state->drop_buffered();
  }
  if (wrote) impl_->flush_sinks(name_);
}

int64_t Logger::precise_now_ns() const {
  return options_.clock ? options_.clock() : to_ns(spdlog::log_clock::now());
}

detail::ThreadState* Logger::attach_thread() {
  if (ThreadStateImpl* found = thread_registry.find(id_)) return found;
  // First message of this thread through this logger. Forget the states of loggers that
  // are gone, and let the logger forget the states of threads that are gone.
  std::erase_if(thread_registry.states, [](const auto& entry) { return entry.second.use_count() == 1; });
  auto state = std::make_shared<ThreadStateImpl>(options_);
  {
    std::lock_guard lock(impl_->states_mutex);
    std::erase_if(impl_->states, [](const auto& s) { return s.use_count() == 1; });
    impl_->states.push_back(state);
  }
  thread_registry.states.emplace_back(id_, state);
  detail::thread_cache = {id_, state.get()};
  return state.get();
}

void Logger::buffer_oversized(Level level, fmt::string_view format, SourceLocation location,
                              size_t) {
  detail::ThreadState* state = find_thread_state(id_);
  if (state == nullptr) state = attach_thread();
  std::byte* p = state->active->allocate(sizeof(detail::RecordHeader));
  new (p) detail::RecordHeader{{static_cast<uint32_t>(sizeof(detail::RecordHeader)), 1, static_cast<uint8_t>(level), 0},
                               &format_oversized, format.data(), location.file, location.function,
                               static_cast<uint32_t>(format.size()), location.line,
                               options_.clock ? options_.clock() : detail::coarse_now_ns()};
}

void Logger::write_now(Level level, SourceLocation location, fmt::string_view format,
                       fmt::format_args args) {
  fmt::memory_buffer text;
  try {
    fmt::vformat_to(fmt::appender(text), format, args);
  } catch (const std::exception& e) {
    text.clear();
    fmt::format_to(fmt::appender(text), "[relive burst: cannot format \"{}\": {}]", format, e.what());
  }
  ThreadStateImpl* state = find_thread_state(id_);
  const bool trigger = static_cast<int>(level) >= trigger_level_.load(std::memory_order_relaxed);

  std::lock_guard lock(impl_->write_mutex);
  const int64_t now_ns = precise_now_ns();
  if (trigger && state != nullptr) impl_->emit_ring(name_, *state->active, age_cutoff(options_, now_ns));
  impl_->emit(name_, level, from_ns(now_ns), location, {text.data(), text.size()});
  if (state != nullptr) state->drop_buffered();
  last_written_ns = std::max(last_written_ns, now_ns);
  if (trigger) impl_->flush_sinks(name_);
}

void Logger::flush() {
  ThreadStateImpl* state = find_thread_state(id_);
  std::lock_guard lock(impl_->write_mutex);
  if (state != nullptr) {
    const int64_t now_ns = precise_now_ns();
    const int64_t cutoff = age_cutoff(options_, now_ns);
    impl_->emit_ring(name_, state->own, cutoff);
    for (auto& ring : state->scopes) impl_->emit_ring(name_, *ring, cutoff);
    state->drop_buffered();
    last_written_ns = std::max(last_written_ns, now_ns);
  }
  impl_->flush_sinks(name_);
}

void Logger::trigger() {
  ThreadStateImpl* state = find_thread_state(id_);
  if (state == nullptr) return;
  std::lock_guard lock(impl_->write_mutex);
  const int64_t now_ns = precise_now_ns();
  impl_->emit_ring(name_, *state->active, age_cutoff(options_, now_ns));
  state->drop_buffered();
  last_written_ns = std::max(last_written_ns, now_ns);
  impl_->flush_sinks(name_);
}

size_t Logger::buffered() const {
  ThreadStateImpl* state = find_thread_state(id_);
  return state == nullptr ? 0 : state->active->size();
}

void* Logger::enter_scope() {
  auto* state = static_cast<ThreadStateImpl*>(find_thread_state(id_));
  if (state == nullptr) state = static_cast<ThreadStateImpl*>(attach_thread());
  std::unique_ptr<detail::Ring> ring;
  if (!state->spare.empty()) {
    ring = std::move(state->spare.back());
    state->spare.pop_back();
  } else {
    ring = std::make_unique<detail::Ring>(options_.max_bytes, options_.max_messages);
  }
  state->active = ring.get();
  state->scopes.push_back(std::move(ring));
  return state->active;
}

void Logger::leave_scope(void* token) noexcept {
  ThreadStateImpl* state = find_thread_state(id_);
  if (state == nullptr || state->scopes.empty() || state->scopes.back().get() != token) {
    std::fprintf(stderr,
                 "relive::burst::Scope of logger '%s' ended on a thread that did not start it, or "
                 "out of order (scopes must end on their thread, innermost first)\n",
                 name_.c_str());
    std::abort();
  }
  std::unique_ptr<detail::Ring> ring = std::move(state->scopes.back());
  state->scopes.pop_back();
  ring->clear();  // ended without an error: its messages are dropped
  state->active = state->scopes.empty() ? &state->own : state->scopes.back().get();
  // Keep a few rings for the next scopes on this thread, so a request costs no allocation.
  if (state->spare.size() < 4) state->spare.push_back(std::move(ring));
}

}  // namespace relive::burst
