// A test sink shared by the burst tests, built like spdlog's own sinks: it keeps every
// message it is given (level, text, thread, time and the line its pattern formats), and
// counts flushes. Thread-safe (collecting_sink_mt).
#pragma once

#include <spdlog/details/null_mutex.h>
#include <spdlog/sinks/base_sink.h>

#include <mutex>
#include <string>
#include <vector>

namespace relive::test {

struct Collected {
  spdlog::level::level_enum level;
  std::string payload;    // the message text
  std::string formatted;  // as the sink's pattern formats it, without the newline
  size_t thread_id;
  spdlog::log_clock::time_point time;
};

template <class Mutex>
class collecting_sink : public spdlog::sinks::base_sink<Mutex> {
 public:
  collecting_sink() { this->set_pattern("%v"); }

  std::vector<Collected> entries() {
    std::lock_guard<Mutex> lock(this->mutex_);
    return entries_;
  }
  // "level text" for each message, e.g. "debug a-1": what most tests compare.
  std::vector<std::string> lines() {
    std::lock_guard<Mutex> lock(this->mutex_);
    std::vector<std::string> out;
    for (auto& e : entries_) {
      auto level = spdlog::level::to_string_view(e.level);
      out.push_back(std::string(level.data(), level.size()) + " " + e.payload);
    }
    return out;
  }
  std::vector<std::string> formatted() {
    std::lock_guard<Mutex> lock(this->mutex_);
    std::vector<std::string> out;
    for (auto& e : entries_) out.push_back(e.formatted);
    return out;
  }
  size_t count() {
    std::lock_guard<Mutex> lock(this->mutex_);
    return entries_.size();
  }
  size_t flushes() {
    std::lock_guard<Mutex> lock(this->mutex_);
    return flushes_;
  }
  void clear() {
    std::lock_guard<Mutex> lock(this->mutex_);
    entries_.clear();
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t buf;
    this->formatter_->format(msg, buf);
    std::string line(buf.data(), buf.size());
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    entries_.push_back(Collected{msg.level, std::string(msg.payload.data(), msg.payload.size()),
                                 std::move(line), msg.thread_id, msg.time});
  }
  void flush_() override { ++flushes_; }

 private:
  std::vector<Collected> entries_;
  size_t flushes_ = 0;
};

using collecting_sink_mt = collecting_sink<std::mutex>;
using collecting_sink_st = collecting_sink<spdlog::details::null_mutex>;

}  // namespace relive::test
