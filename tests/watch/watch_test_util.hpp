// Helpers for the watch tests: a watcher running on its own thread whose batches are
// collected, and assertions on "exactly one batch" (wait for the first, then a generous
// settle during which no second may arrive — a correctness check, not a speed check).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "relive/watch.hpp"
#include "test_support.hpp"

namespace relive::watch::testing {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

inline std::string describe(const Batch& b) {
  std::string s = b.rescan ? "[rescan: " + b.rescan_reason + "] " : "";
  for (const auto& c : b.changes) {
    s += std::string(to_string(c.change)) + " " + c.path;
    if (c.change == Change::Renamed) s += " (from " + c.old_path + ")";
    s += c.is_dir ? "/; " : "; ";
  }
  return s;
}

inline const PathChange* find(const Batch& b, std::string_view path) {
  for (const auto& c : b.changes) {
    if (c.path == path) return &c;
  }
  return nullptr;
}

// Runs a Watcher on its own thread (start()) and keeps every batch it delivers.
class Collector {
 public:
  explicit Collector(Options options) {
    if (!options.on_warning) {
      options.on_warning = [this](const std::string& w) {
        std::lock_guard lock(mu_);
        warnings_.push_back(w);
      };
    }
    auto w = Watcher::open(std::move(options));
    if (!w) {
      error_ = w.error().message;
      return;
    }
    watcher_ = std::move(*w);
    watcher_->start([this](const Batch& b) {
      std::lock_guard lock(mu_);
      batches_.push_back(b);
      cv_.notify_all();
    });
  }
  explicit Collector(const fs::path& root) : Collector(options_for(root)) {}
  static Options options_for(const fs::path& root) {
    Options o;
    o.roots = {root};
    return o;
  }
  ~Collector() {
    if (watcher_) watcher_->stop();
  }

  bool ok() const { return watcher_ != nullptr; }
  const std::string& error() const { return error_; }
  Watcher& watcher() { return *watcher_; }

  // The next batch not yet taken, waiting up to `timeout`.
  std::optional<Batch> next(std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return taken_ < batches_.size(); })) return std::nullopt;
    return batches_[taken_++];
  }

  // Exactly one batch: the first within 10 s, then nothing more during `settle`.
  std::optional<Batch> exactly_one(std::chrono::milliseconds settle = 300ms) {
    auto first = next(10s);
    if (!first) {
      ADD_FAILURE() << "no batch within 10 s";
      return std::nullopt;
    }
    if (auto second = next(settle)) {
      ADD_FAILURE() << "a second batch arrived: first {" << describe(*first) << "} second {" << describe(*second) << "}";
    }
    return first;
  }

  // Waits (up to 10 s) until the batches taken so far include `path` with `change`;
  // returns every batch taken while waiting.
  std::vector<Batch> until(std::string_view path, Change change) {
    std::vector<Batch> seen;
    for (;;) {
      auto b = next(10s);
      if (!b) {
        ADD_FAILURE() << "no batch with " << to_string(change) << " " << path;
        return seen;
      }
      seen.push_back(*b);
      if (auto* c = find(*b, path); c && c->change == change) return seen;
    }
  }

  std::vector<std::string> warnings() {
    std::lock_guard lock(mu_);
    return warnings_;
  }

 private:
  std::unique_ptr<Watcher> watcher_;
  std::string error_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Batch> batches_;
  size_t taken_ = 0;
  std::vector<std::string> warnings_;
};

// Whether relive::ignore ignores a plain directory glob (a precondition of the rules tests).
inline bool ignore_rules_work() {
  relive::test::TempDir dir;
  ignore::Options o;
  o.globs = {"node_modules/"};
  auto m = ignore::Matcher::open(dir.path(), o);
  return m && (*m)->ignored("node_modules", true);
}

// Runs argv (no shell) in `cwd`, returns its exit status.
inline int run(std::vector<std::string> argv, const fs::path& cwd) {
  relive::test::Process::Options o;
  o.cwd = cwd;
  relive::test::Process p(std::move(argv), o);
  int status = p.wait(30s);
  if (status != 0) ADD_FAILURE() << "command failed (" << status << "): " << p.output();
  return status;
}

}  // namespace relive::watch::testing
