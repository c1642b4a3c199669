#include "log_bridge.hpp"

#include <spdlog/details/null_mutex.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <memory>

#include "subscriptions.hpp"

namespace relive::python {
namespace {

int python_level(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace: return 5;
    case spdlog::level::debug: return 10;
    case spdlog::level::info: return 20;
    case spdlog::level::warn: return 30;
    case spdlog::level::err: return 40;
    default: return 50;
  }
}

// No mutex of its own (the queue has one, made fork-safe): any thread may log.
class QueueSink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    PendingUpdate line;
    line.log_level = python_level(msg.level);
    line.log_text.assign(msg.payload.data(), msg.payload.size());
    update_queue::push(std::move(line));
  }
  void flush_() override {}
};

}  // namespace

void register_log_bridge() {
  if (spdlog::get(kBridgeLogger)) return;
  auto logger = std::make_shared<spdlog::logger>(kBridgeLogger, std::make_shared<QueueSink>());
  logger->set_level(spdlog::level::debug);
  spdlog::register_logger(logger);
}

}  // namespace relive::python
