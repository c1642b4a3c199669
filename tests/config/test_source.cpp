// Source is an interface: a source that learns of changes by itself (as etcd will) plugs in
// as one more layer and triggers reloads through its `changed` callback.
#include <gtest/gtest.h>

#include <mutex>

#include "config_test_util.hpp"

namespace relive::config {
namespace {

using namespace relive::config::test;
using namespace std::chrono_literals;

class PushSource : public Source {
 public:
  std::string name() const override { return "push"; }
  Result<Node> load() override {
    std::lock_guard l(mu_);
    if (!error_.empty()) return Error{error_};
    Node root = Node::object();
    root.set("db", Node::object()).set("host", Node::string(host_, Origin{"push db/host", 0, 0}));
    return root;
  }
  void start(std::function<void()> changed) override {
    std::lock_guard l(mu_);
    changed_ = std::move(changed);
  }
  void stop() override {
    std::lock_guard l(mu_);
    changed_ = nullptr;
  }
  void put(std::string host, std::string error = "") {
    std::function<void()> notify;
    {
      std::lock_guard l(mu_);
      host_ = std::move(host);
      error_ = std::move(error);
      notify = changed_;
    }
    if (notify) notify();
  }

 private:
  std::mutex mu_;
  std::string host_ = "a";
  std::string error_;
  std::function<void()> changed_;
};

TEST(ConfigSource, PushSourceLayersAndTriggersReloads) {
  auto push = std::make_shared<PushSource>();
  Options o;
  o.sources = {overrides({"db.host=default", "db.port=1"}), push};
  auto cfg = Config::open(std::move(o));
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_EQ(cfg->get("db.host", ""), "a");
  EXPECT_EQ(cfg->pin()->origin("db.host")->to_string(), "push db/host");
  EXPECT_EQ(cfg->get<int>("db.port", 0), 1);
  push->put("b");
  EXPECT_EQ(cfg->get("db.host", ""), "b");  // the reload ran inside changed()
  push->put("c", "push: server unreachable");
  ASSERT_TRUE(cfg->status().error);
  EXPECT_TRUE(cfg->status().error->starts_with("push: server unreachable; keeping version 2 from "));
  EXPECT_EQ(cfg->get("db.host", ""), "b");
  push->put("d");
  EXPECT_EQ(cfg->get("db.host", ""), "d");
  EXPECT_FALSE(cfg->status().error);
}

}  // namespace
}  // namespace relive::config
