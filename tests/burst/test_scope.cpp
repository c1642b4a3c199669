// Per-scope buffers: a Scope is one unit of work (a request); an error in it writes that
// request's debug messages and no one else's; a scope ending without error drops its own.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/logger.h>

#include <future>
#include <thread>

#include "collecting_sink.hpp"
#include "relive/burst.hpp"
#include "relive/burst_sink.hpp"

namespace relive::burst {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// The same scenarios for the front end and for the spdlog sink.
struct FrontEndTarget {
  std::shared_ptr<test::collecting_sink_mt> sink = std::make_shared<test::collecting_sink_mt>();
  Logger log{"t", {sink}};
  ScopeTarget& target() { return log; }
  void debug(std::string_view m) { log.debug("{}", m); }
  void error(std::string_view m) { log.error("{}", m); }
  size_t buffered() { return log.buffered(); }
};
struct SinkTarget {
  std::shared_ptr<test::collecting_sink_mt> sink = std::make_shared<test::collecting_sink_mt>();
  std::shared_ptr<burst_sink_mt> burst = std::make_shared<burst_sink_mt>(sink);
  spdlog::logger logger{"t", burst};
  SinkTarget() { logger.set_level(spdlog::level::trace); }
  ScopeTarget& target() { return *burst; }
  void debug(std::string_view m) { logger.debug("{}", m); }
  void error(std::string_view m) { logger.error("{}", m); }
  size_t buffered() { return burst->buffered(); }
};

template <class T>
struct Scopes : ::testing::Test {
  T under_test;
};
using Targets = ::testing::Types<FrontEndTarget, SinkTarget>;
TYPED_TEST_SUITE(Scopes, Targets);

TYPED_TEST(Scopes, ErrorInARequestWritesThatRequestsMessagesOnly) {
  auto& t = this->under_test;
  t.debug("thread, before the requests");
  {
    Scope request(t.target());
    t.debug("request 1: step");
  }  // request 1 succeeded: its messages are dropped
  {
    Scope request(t.target());
    t.debug("request 2: step a");
    t.debug("request 2: step b");
    t.error("request 2 failed");
  }
  EXPECT_THAT(t.sink->lines(),
              ElementsAre("debug request 2: step a", "debug request 2: step b", "error request 2 failed"));
}

TYPED_TEST(Scopes, ThreadBufferResumesAfterAScopeWithoutError) {
  auto& t = this->under_test;
  t.debug("thread 1");
  {
    Scope request(t.target());
    t.debug("in request");
    EXPECT_EQ(t.buffered(), 1u);
  }
  t.debug("thread 2");
  EXPECT_EQ(t.buffered(), 2u);
  t.error("failed outside any request");
  EXPECT_THAT(t.sink->lines(), ElementsAre("debug thread 1", "debug thread 2", "error failed outside any request"));
}

TYPED_TEST(Scopes, NestedScopesWriteTheInnermost) {
  auto& t = this->under_test;
  Scope outer(t.target());
  t.debug("outer");
  {
    Scope inner(t.target());
    t.debug("inner");
    t.error("inner failed");
  }
  EXPECT_THAT(t.sink->lines(), ElementsAre("debug inner", "error inner failed"));
  // The written error was newer than "outer": the chronological rule dropped it.
  EXPECT_EQ(t.buffered(), 0u);
}

TYPED_TEST(Scopes, ScopesOnTwoThreadsAreSeparate) {
  auto& t = this->under_test;
  std::promise<void> other_logged, error_written;
  std::thread other([&] {
    Scope request(t.target());
    t.debug("other request");
    other_logged.set_value();
    error_written.get_future().wait();
    EXPECT_EQ(t.buffered(), 1u);
  });
  other_logged.get_future().wait();
  {
    Scope request(t.target());
    t.debug("this request");
    t.error("this request failed");
  }
  error_written.set_value();
  other.join();
  EXPECT_THAT(t.sink->lines(), ElementsAre("debug this request", "error this request failed"));
}

TYPED_TEST(Scopes, ManyRequestsReuseBuffers) {
  auto& t = this->under_test;
  for (int i = 0; i < 1000; ++i) {
    Scope request(t.target());
    t.debug("step");
    if (i % 100 == 99) t.error("failed");
  }
  auto lines = t.sink->lines();
  ASSERT_EQ(lines.size(), 20u);
  for (size_t i = 0; i < lines.size(); i += 2) {
    EXPECT_EQ(lines[i], "debug step");
    EXPECT_EQ(lines[i + 1], "error failed");
  }
}

TEST(ScopeDeathTest, EndingAScopeOnAnotherThreadAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        auto sink = std::make_shared<test::collecting_sink_mt>();
        Logger log("t", {sink});
        auto* scope = new Scope(log);
        std::thread([&] { delete scope; }).join();
      },
      "ended on a thread that did not start it");
}

}  // namespace
}  // namespace relive::burst
