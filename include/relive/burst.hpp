// relive/burst.hpp — burst logging for C++: debug messages are kept in a cheap bounded
// buffer and written only when an error follows them.
//
// A service cannot afford to write every debug message in production, yet the bug that only
// happens there needs the debug messages that came just before it. `relive::burst::Logger`
// is a hot-path front end that captures a debug message's format string and arguments
// without formatting them (about the cost of a few stores), and formats them — through fmt,
// to the spdlog sinks you already have, so your patterns apply — only if an error follows.
// For code that logs through spdlog already, `relive::burst_sink_mt` (relive/burst_sink.hpp)
// gives the same semantics as a one-line sink; it saves spdlog's pattern formatting and I/O,
// but spdlog has formatted the message text before any sink sees it.
//
// Example:
//   #include <relive/burst.hpp>
//   #include <spdlog/sinks/stdout_sinks.h>
//
//   relive::burst::Logger log("api", {std::make_shared<spdlog::sinks::stdout_sink_mt>()});
//   void handle(const Request& req) {
//     relive::burst::Scope scope(log);          // one buffer for this request
//     log.debug("request {} took {} ms on {}", req.id, req.ms, req.host);   // kept, not formatted
//     if (!ok) log.error("request {} failed", req.id);  // writes the debug lines above, then this
//   }                                           // no error: the request's debug lines are dropped
//
// Semantics (the same for the front end, the spdlog sink and `relive burst`):
//  - Messages at or above the pass level (default info) are written at once.
//  - Messages below it (debug, trace) are kept in a bounded buffer — by count (default 512)
//    and by age (default 60 s) — and are not formatted. When the buffer is full the oldest
//    message is dropped; messages older than the age bound are dropped when the buffer is
//    written (the age is checked lazily, there is no timer).
//  - When a message at or above the trigger level (default error) is logged, the buffered
//    messages are written first, oldest first, then the error.
//  - Output stays in chronological order: when a message is written, the buffered messages
//    older than it are dropped, since writing them later would put them out of order. So
//    after an error the output shows the debug messages logged since the last written
//    message, then the error. The order is kept per buffer — one thread's (or one scope's)
//    messages — so a busy thread writing info lines does not erase another thread's debug
//    context; lines of different threads interleave as with any multi-threaded logger.
//  - Formatting happens only for messages that are written: a debug message that is never
//    written costs no formatting.
//  - Buffers are per thread by default. A `Scope` gives one buffer per unit of work (a
//    request), so an error in one request writes that request's debug messages and no one
//    else's; a scope that ends without an error drops its buffered messages. Scopes nest:
//    messages go to the innermost scope of the thread.
//  - Levels: below `Options::level` a message is discarded; if the trigger level is below the
//    pass level, a message at the trigger level still writes the buffer and itself.
//
// Timestamps: a buffered message is stamped with the coarse real-time clock (a few ns
// instead of ~30 ns; resolution is the kernel tick, 1–4 ms). When written, its time is
// raised to at least the time of the last message the thread wrote, so the times printed
// in a thread's output never go backwards. Written messages carry the precise time.
//
// Arguments are captured by value when the message is logged: strings (std::string,
// std::string_view, const char*) are copied into the buffer, never referenced, so a string
// freed right after the call is still printed right. Other argument types must be trivially
// copyable (numbers, enums, pointers, std::chrono durations, small structs with a formatter);
// they are copied bitwise. A type that points to data elsewhere (a span, a pointer you
// dereference in the formatter) must keep that data alive until the message is written or
// dropped. Anything else is a compile error: pass `fmt::to_string(x)` instead.
#pragma once

#include <fmt/core.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "relive/burst_level.hpp"
#include "relive/burst_location.hpp"
// How a buffered message is captured (records, rings, argument capture): not API, but
// Logger::log() below expands it in the caller's code.
#include "relive/internal/burst_record.hpp"

namespace spdlog {
class logger;
namespace sinks { class sink; }
}  // namespace spdlog

namespace relive::burst {

// The bounds and levels of a burst buffer, and what happens to it at the end.
struct Options {
  Level level = Level::trace;          // below this a message is discarded outright
  Level pass_level = Level::info;      // at or above: written at once
  Level trigger_level = Level::error;  // at or above: the buffer is written first
  size_t max_messages = 512;           // per buffer (thread or scope); oldest dropped first
  std::chrono::milliseconds max_age = std::chrono::seconds(60);  // 0: no age bound
  // Front end only: bytes of captured arguments per buffer (strings are copied into it).
  // A message bigger than this is kept as a one-line notice naming its format string.
  size_t max_bytes = 64 * 1024;
  // Destroying the Logger (or the burst sink) writes every buffer still held, oldest
  // first, instead of dropping it — Python's MemoryHandler(flushOnClose=True). The process
  // ending normally runs that destructor; a crash or _exit() does not.
  bool flush_on_exit = true;
  // Front end only: the clock stamping buffered messages and measuring their age, in ns
  // since the epoch. Empty: CLOCK_REALTIME_COARSE for buffered messages and the precise
  // real-time clock for written ones. Tests inject their own; it is called on the logging
  // thread, on every message, so it must be cheap and thread-safe.
  std::function<int64_t()> clock = nullptr;
};

// Something that can hold per-scope buffers: the front end `Logger` and `burst_sink_mt/_st`.
class ScopeTarget {
 public:
  // Starts a scope on the calling thread; returns a token for leave_scope. May allocate.
  virtual void* enter_scope() = 0;
  // Ends the innermost scope of the calling thread, dropping what it buffered.
  virtual void leave_scope(void* token) noexcept = 0;

 protected:
  ~ScopeTarget() = default;
};

// RAII: while alive, the calling thread's buffered messages for `target` go to a buffer of
// their own (one unit of work, e.g. a request). An error logged on this thread while the
// scope is alive writes this scope's buffered messages, not those the thread logged before
// it. Destroyed without an error, the scope's messages are dropped.
// A Scope belongs to the thread that created it: create and destroy it on one thread, and
// destroy scopes in reverse order of creation (automatic for local variables). Destroying
// it on another thread is a programming error and aborts with a message.
class Scope {
 public:
  explicit Scope(ScopeTarget& target) : target_(&target), token_(target.enter_scope()) {}
  ~Scope() { target_->leave_scope(token_); }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  ScopeTarget* target_;
  void* token_;
};

// The format string argument of Logger's methods: checked at compile time against the
// arguments (like fmt::format), and it records the call's source location for spdlog's
// %s/%#/%! pattern flags.
template <class... Args>
using format_at = detail::FormatAt<std::type_identity_t<Args>...>;

// A burst logger: the hot-path front end. Buffers below the pass level are per thread (or
// per Scope); written messages go to `sinks` as spdlog log_msg values, so the sinks'
// patterns, levels and colours apply as usual.
//
// Thread-safety: every method may be called from any thread at the same time. Buffering
// touches only the calling thread's buffer (no lock, no shared write). Writing takes one
// lock per logger, so a burst (buffered lines plus the error) is written as one block.
// Failures: formatting errors and exceptions thrown by a sink are caught and reported on
// stderr; logging never throws.
// Lifetime: destroy the Logger after the last call through it; Scopes must end before it.
// With Options::flush_on_exit (the default) the destructor writes what is still buffered.
class Logger final : public ScopeTarget {
 public:
  Logger(std::string name, std::vector<std::shared_ptr<spdlog::sinks::sink>> sinks,
         Options options = {});
  // Uses the logger's name and (a copy of the list of) its sinks.
  explicit Logger(const spdlog::logger& logger, Options options = {});
  ~Logger();
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  // Logs a message at `level`. Below the pass level: captured into the calling thread's
  // buffer without formatting (never blocks, never allocates once the thread's buffer
  // exists; the first call on a thread allocates it). At or above: formatted and written;
  // at or above the trigger level the buffer is written first.
  template <class... Args>
  void log(Level level, format_at<Args...> format, Args&&... args) {
    if (static_cast<int>(level) < pass_level_.load(std::memory_order_relaxed)) {
      if (static_cast<int>(level) < level_.load(std::memory_order_relaxed)) return;
      buffer(level, format.format, format.location, args...);
    } else {
      write_now(level, format.location, format.format, fmt::make_format_args(args...));
    }
  }
  template <class... Args>
  void trace(format_at<Args...> f, Args&&... args) { log(Level::trace, f, std::forward<Args>(args)...); }
  template <class... Args>
  void debug(format_at<Args...> f, Args&&... args) { log(Level::debug, f, std::forward<Args>(args)...); }
  template <class... Args>
  void info(format_at<Args...> f, Args&&... args) { log(Level::info, f, std::forward<Args>(args)...); }
  template <class... Args>
  void warn(format_at<Args...> f, Args&&... args) { log(Level::warn, f, std::forward<Args>(args)...); }
  template <class... Args>
  void error(format_at<Args...> f, Args&&... args) { log(Level::error, f, std::forward<Args>(args)...); }
  template <class... Args>
  void critical(format_at<Args...> f, Args&&... args) { log(Level::critical, f, std::forward<Args>(args)...); }

  // Level thresholds; may be changed at any time from any thread (see Options).
  void set_level(Level level) { level_.store(static_cast<int>(level), std::memory_order_relaxed); }
  void set_pass_level(Level level) { pass_level_.store(static_cast<int>(level), std::memory_order_relaxed); }
  void set_trigger_level(Level level) { trigger_level_.store(static_cast<int>(level), std::memory_order_relaxed); }
  Level pass_level() const { return static_cast<Level>(pass_level_.load(std::memory_order_relaxed)); }
  Level trigger_level() const { return static_cast<Level>(trigger_level_.load(std::memory_order_relaxed)); }

  // Writes the calling thread's buffered messages now — its own buffer, then its scopes',
  // outermost first — and flushes the sinks (MemoryHandler.flush()). Other threads'
  // buffers are theirs: each thread flushes its own (they are written at destruction when
  // Options::flush_on_exit is set). Sinks are also flushed after each trigger.
  void flush();
  // Writes the calling thread's active buffer (innermost scope, or its own) as an error
  // would, without a message of its own (FingersCrossed's activate()).
  void trigger();
  const std::string& name() const { return name_; }
  const Options& options() const { return options_; }

  // Number of messages held in the calling thread's active buffer (innermost scope, or the
  // thread's own), for diagnostics such as a status page; reading it changes nothing.
  size_t buffered() const;

  // ScopeTarget (use relive::burst::Scope rather than these).
  void* enter_scope() override;
  void leave_scope(void* token) noexcept override;

 private:
  struct Impl;

  template <class... Args>
  void buffer(Level level, fmt::string_view text, SourceLocation location, const Args&... args) {
    detail::ThreadCache cache = detail::thread_cache;
    detail::ThreadState* state = cache.logger_id == id_ ? cache.state : attach_thread();
    const size_t bytes = detail::round_up8(sizeof(detail::RecordHeader) +
                                           (size_t{0} + ... + detail::CaptureOf<Args>::size(args)));
    detail::Ring& ring = *state->active;
    if (bytes > ring.capacity()) [[unlikely]] {
      buffer_oversized(level, text, location, bytes);
      return;
    }
    std::byte* p = ring.allocate(bytes);
    new (p) detail::RecordHeader{{static_cast<uint32_t>(bytes), 1, static_cast<uint8_t>(level), 0},
                                 &detail::format_record<detail::CaptureOf<Args>...>, text.data(),
                                 location.file, location.function, static_cast<uint32_t>(text.size()),
                                 location.line, options_.clock ? options_.clock() : detail::coarse_now_ns()};
    std::byte* a = p + sizeof(detail::RecordHeader);
    ((a = detail::CaptureOf<Args>::write(a, args)), ...);
    (void)a;
  }

  detail::ThreadState* attach_thread();
  void buffer_oversized(Level level, fmt::string_view format, SourceLocation location,
                        size_t bytes);
  void write_now(Level level, SourceLocation location, fmt::string_view format,
                 fmt::format_args args);
  int64_t precise_now_ns() const;

  const uint64_t id_;
  std::string name_;
  Options options_;
  std::atomic<int> level_;
  std::atomic<int> pass_level_;
  std::atomic<int> trigger_level_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace relive::burst

// Macros for those who prefer them; the same as logger.debug(...) etc.
#define RELIVE_TRACE(logger, ...) (logger).trace(__VA_ARGS__)
#define RELIVE_DEBUG(logger, ...) (logger).debug(__VA_ARGS__)
#define RELIVE_INFO(logger, ...) (logger).info(__VA_ARGS__)
#define RELIVE_WARN(logger, ...) (logger).warn(__VA_ARGS__)
#define RELIVE_ERROR(logger, ...) (logger).error(__VA_ARGS__)
#define RELIVE_CRITICAL(logger, ...) (logger).critical(__VA_ARGS__)
