// relive/burst_sink.hpp — burst logging as an spdlog sink: wraps the sinks you already have
// and writes debug messages to them only when an error follows.
//
// The semantics (pass level, trigger level, count and age bounds, the chronological rule,
// per-thread and per-scope buffers) are those documented in relive/burst.hpp. The sink is
// built like spdlog's own sinks (spdlog::sinks::base_sink<Mutex>, `_mt`/`_st` aliases).
//
// What it saves: spdlog formats the message text ({} placeholders) before any sink sees
// it, so with this sink a buffered debug message still costs that formatting and a copy of
// the text; it saves the pattern formatting (time, level, ...) and the I/O of the wrapped
// sinks, which are most of the cost of writing a message. For the full saving on hot paths,
// use the front end relive::burst::Logger (relive/burst.hpp), which defers the text too.
//
// Example — adopting it is one line (plus letting debug messages reach the sink):
//   auto logger = spdlog::default_logger();
//   auto burst = std::make_shared<relive::burst_sink_mt>(logger->sinks());
//   logger->sinks() = {burst};
//   logger->set_level(spdlog::level::trace);   // the logger lets everything through;
//                                              // the burst sink decides what is written
//   logger->debug("cache miss for {}", key);   // buffered
//   logger->error("lookup failed");            // writes the debug line, then the error
//
//   { relive::burst::Scope scope(*burst); handle(request); }   // one buffer per request
//
// Notes:
//  - The logger's level must let debug messages through (set it to debug or trace), or the
//    sink never sees them. The wrapped sinks' own levels still apply when writing.
//  - logger->set_pattern()/set_formatter() on a logger holding this sink reach the wrapped
//    sinks (as with spdlog's dist_sink).
//  - Buffers are keyed by the message's thread id, so with an async logger the messages are
//    still grouped by the thread that logged them; Scope needs a synchronous logger (the
//    scope's start and end are not ordered with messages still in the async queue).
//  - Thread-safety: burst_sink_mt may be shared by loggers on any threads (one mutex, as in
//    spdlog); burst_sink_st only from one thread at a time.
#pragma once

#include <spdlog/details/null_mutex.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>

#include <memory>
#include <mutex>
#include <vector>

#include "relive/burst.hpp"
// The sink's state and logic, compiled once in src/burst: not API.
#include "relive/internal/burst_sink_core.hpp"

namespace relive {

// An spdlog sink that buffers messages below the pass level and writes them to `sinks`
// only when a message at or above the trigger level follows (see relive/burst.hpp).
// Every method may be called from any thread for burst_sink_mt; see the notes above.
// Exceptions thrown by wrapped sinks propagate to the logger, as with any spdlog sink.
template <class Mutex>
class burst_sink final : public spdlog::sinks::base_sink<Mutex>, public burst::ScopeTarget {
 public:
  explicit burst_sink(std::vector<spdlog::sink_ptr> sinks, burst::Options options = {})
      : core_(std::move(sinks), options) {}
  explicit burst_sink(spdlog::sink_ptr wrapped, burst::Options options = {})
      : core_(std::vector<spdlog::sink_ptr>{std::move(wrapped)}, options) {}

  // Messages held in the calling thread's active buffer (innermost scope, or the thread's
  // own), for diagnostics such as a status page; reading it changes nothing.
  size_t buffered() {
    std::lock_guard<Mutex> lock(this->mutex_);
    return core_.buffered(burst::detail::current_thread_id());
  }
  // Writes the calling thread's active buffer now, as an error would but without a message
  // of its own (FingersCrossed's activate()).
  void trigger() {
    std::lock_guard<Mutex> lock(this->mutex_);
    core_.trigger(burst::detail::current_thread_id());
  }
  // Writes every thread's buffers now, thread by thread, and flushes the wrapped sinks
  // (MemoryHandler.flush()). spdlog's own flush() (flush_on, flush_every) only flushes the
  // wrapped sinks: it would otherwise write the debug messages burst logging holds back.
  // With Options::flush_on_exit (the default) the sink's destructor does the same.
  void flush_buffers() {
    std::lock_guard<Mutex> lock(this->mutex_);
    core_.flush_buffers();
  }
  // The wrapped sinks (the list is fixed at construction).
  const std::vector<spdlog::sink_ptr>& sinks() const { return core_.sinks(); }

  void* enter_scope() override {
    std::lock_guard<Mutex> lock(this->mutex_);
    return core_.enter_scope(burst::detail::current_thread_id());
  }
  void leave_scope(void* token) noexcept override {
    std::lock_guard<Mutex> lock(this->mutex_);
    core_.leave_scope(burst::detail::current_thread_id(), token);
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override { core_.on_message(msg); }
  void flush_() override { core_.flush(); }
  void set_pattern_(const std::string& pattern) override {
    set_formatter_(std::make_unique<spdlog::pattern_formatter>(pattern));
  }
  void set_formatter_(std::unique_ptr<spdlog::formatter> formatter) override {
    core_.set_formatter(*formatter);
    this->formatter_ = std::move(formatter);
  }

 private:
  burst::detail::SinkCore core_;
};

using burst_sink_mt = burst_sink<std::mutex>;
using burst_sink_st = burst_sink<spdlog::details::null_mutex>;

}  // namespace relive
