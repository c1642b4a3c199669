// relive/internal/burst_sink_core.hpp — the state and logic of relive::burst_sink
// (relive/burst_sink.hpp), compiled once in src/burst/sink_core.cpp so that the sink template
// only adds spdlog's locking around it. Not part of the API: it is installed only because
// that template names it; nothing outside relive includes it directly, and it may change
// in any release.
#pragma once

#include <spdlog/common.h>
#include <spdlog/details/log_msg.h>
#include <spdlog/formatter.h>

#include <cstddef>
#include <memory>
#include <vector>

#include "relive/burst.hpp"

namespace relive::burst::detail {

// Everything burst_sink does, without the locking: the caller holds the sink's lock.
class SinkCore {
 public:
  SinkCore(std::vector<spdlog::sink_ptr> sinks, Options options);
  ~SinkCore();
  SinkCore(const SinkCore&) = delete;
  SinkCore& operator=(const SinkCore&) = delete;

  void on_message(const spdlog::details::log_msg& msg);
  void flush();
  void trigger(size_t thread_id);
  void flush_buffers();
  void set_formatter(const spdlog::formatter& formatter);
  void* enter_scope(size_t thread_id);
  void leave_scope(size_t thread_id, void* token) noexcept;
  size_t buffered(size_t thread_id) const;
  const std::vector<spdlog::sink_ptr>& sinks() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

size_t current_thread_id();  // spdlog's id of the calling thread (as in log_msg::thread_id)

}  // namespace relive::burst::detail
