// Swapping: many swaps leave nothing behind; state is handed over (or refused); modules that
// cannot be unloaded are reported; pins keep one generation per call under concurrency.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "module_test_util.hpp"

namespace relive::test {
namespace {

using module::Cause;

TEST(ModuleSwaps, AThousandSwapsLeaveNoMappingsFdsFilesOrMemoryBehind) {
  TempDir dir;
  auto o = probe_options(dir, module_file("probe_a"));
  o.preflight = false;  // 1,000 swaps of the load path; the preflight path is measured below
  auto m = open_probe(std::move(o));
  ASSERT_TRUE(m);
  const fs::path variants[2] = {module_file("probe_b"), module_file("probe_a")};
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(m->reload_from(variants[i % 2]).ok());  // warm up
  ASSERT_TRUE(reclaim_all());
  const std::size_t maps = mapping_count(), file_maps = file_mapping_count(), fds = open_fd_count(),
                    memory = memory_in_use();
  for (int i = 0; i < 1000; ++i) {
    auto r = m->reload_from(variants[i % 2]);
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_EQ(m->pin()->tag(), i % 2 == 0 ? 2 : 1);
  }
  ASSERT_TRUE(reclaim_all());
  EXPECT_EQ(mapping_count(), maps);
  EXPECT_EQ(file_mapping_count(), file_maps);
  EXPECT_EQ(mappings_of((dir / "stage").string()), mappings_of(m->status().staged_path));
  EXPECT_EQ(open_fd_count(), fds);
  EXPECT_EQ(files_in(dir / "stage"), 1u);
  const std::size_t after = memory_in_use();
  EXPECT_LT(after, memory + (1u << 20)) << "memory grew by " << (after - memory) << " bytes";
  auto st = m->status();
  EXPECT_EQ(st.generation, 1021u);
  EXPECT_EQ(st.stayed_mapped, 0u);
  EXPECT_GE(st.retired, 1020u);
}

TEST(ModuleSwaps, FiftySwapsWithPreflightLeaveNothingBehind) {
  TempDir dir;
  auto m = open_probe(probe_options(dir, module_file("probe_a")));
  ASSERT_TRUE(m);
  const fs::path variants[2] = {module_file("probe_b"), module_file("probe_a")};
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(m->reload_from(variants[i % 2]).ok());
  ASSERT_TRUE(reclaim_all());
  const std::size_t maps = mapping_count(), fds = open_fd_count();
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(m->reload_from(variants[i % 2]).ok());
  ASSERT_TRUE(reclaim_all());
  EXPECT_EQ(mapping_count(), maps);
  EXPECT_EQ(open_fd_count(), fds);
  EXPECT_EQ(files_in(dir / "stage"), 1u);
  EXPECT_GT(m->status().timings.preflight_us, 0.0);
}

TEST(ModuleSwaps, RetireHappensAfterTheLastPinAndDeletesTheStagedFile) {
  TempDir dir;
  auto o = probe_options(dir, module_file("probe_a"));
  o.preflight = false;
  auto m = open_probe(std::move(o));
  ASSERT_TRUE(m);
  auto old_pin = m->pin();
  const std::string old_staged = m->status().staged_path;
  ASSERT_TRUE(m->reload_from(module_file("probe_b")).ok());
  EXPECT_EQ(m->pin()->tag(), 2);
  EXPECT_EQ(old_pin->tag(), 1);  // still on its own generation
  relive::reclaim_retired();
  EXPECT_TRUE(fs::exists(old_staged));  // pinned: still mapped, still on disk
  EXPECT_EQ(mappings_of(old_staged) > 0, true);
  old_pin.reset();
  ASSERT_TRUE(reclaim_all());
  EXPECT_FALSE(fs::exists(old_staged));
  EXPECT_EQ(mappings_of(old_staged), 0u);
  // Destroying the host retires the last generation and removes the stage directory
  // (when the stage directory is its own).
  auto own = module::Module<Probe>::open([] {
    module::Options x;
    x.path = module_file("probe_a");
    x.preflight = false;
    x.on_message = [](const std::string&) {};
    return x;
  }());
  ASSERT_TRUE(own.ok());
  const fs::path own_dir = fs::path((*own)->status().staged_path).parent_path();
  EXPECT_TRUE(fs::exists(own_dir));
  own = Error{"closed"};
  ASSERT_TRUE(reclaim_all());
  EXPECT_FALSE(fs::exists(own_dir));
}

TEST(ModuleState, CarriedAcrossASwap) {
  TempDir dir;
  auto m = open_probe(probe_options(dir, module_file("probe_a")));
  ASSERT_TRUE(m);
  for (int i = 0; i < 5; ++i) m->pin()->call(i);
  ASSERT_TRUE(m->reload_from(module_file("probe_b")).ok());
  auto p = m->pin();
  EXPECT_EQ(p->tag(), 2);
  EXPECT_EQ(p->counter(), 5);
}

TEST(ModuleState, RejectedStateKeepsTheOldGenerationServing) {
  TempDir dir;
  auto m = open_probe(probe_options(dir, module_file("probe_a")));
  ASSERT_TRUE(m);
  for (int i = 0; i < 3; ++i) m->pin()->call(i);
  auto r = m->reload_from(module_file("probe_reject_state"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("the state was rejected: probe: this build refuses the previous state"),
            std::string::npos)
      << r.error().message;
  EXPECT_EQ(m->status().cause, Cause::StateRejected);
  EXPECT_EQ(m->pin()->tag(), 1);
  EXPECT_EQ(m->pin()->counter(), 3);
  // The same refusal in the host when there is no preflight.
  TempDir dir2;
  auto o = probe_options(dir2, module_file("probe_a"));
  o.preflight = false;
  auto n = open_probe(std::move(o));
  ASSERT_TRUE(n);
  EXPECT_FALSE(n->reload_from(module_file("probe_reject_state")).ok());
  EXPECT_EQ(n->status().cause, Cause::StateRejected);
  EXPECT_EQ(n->pin()->tag(), 1);
}

TEST(ModuleState, AVersionMismatchIsRefusedWithBothVersions) {
  TempDir dir;
  auto m = open_probe(probe_options(dir, module_file("probe_a")));
  ASSERT_TRUE(m);
  m->pin()->call(1);
  auto r = m->reload_from(module_file("probe_state_v2"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("state version mismatch: the previous generation handed over version 1, this "
                                   "module accepts version 2"),
            std::string::npos)
      << r.error().message;
  EXPECT_EQ(m->status().cause, Cause::StateMismatch);
  EXPECT_EQ(m->pin()->tag(), 1);
  EXPECT_EQ(m->pin()->counter(), 1);
  // A first generation has no previous state: v2 loads fine on its own.
  TempDir dir2;
  auto fresh = open_probe(probe_options(dir2, module_file("probe_state_v2")));
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->pin()->tag(), 3);
}

TEST(ModuleUnload, GnuUniqueSymbolIsReportedAndStrictModeRefusesIt) {
  TempDir dir;
  std::vector<std::string> messages;
  auto m = open_probe(probe_options(dir, module_file("probe_a"), &messages));
  ASSERT_TRUE(m);
  ASSERT_TRUE(m->reload_from(module_file("gnu_unique")).ok());
  auto st = m->status();
  ASSERT_FALSE(st.warnings.empty());
  EXPECT_NE(st.warnings[0].find("will not unload: GNU unique symbol `_ZZ12shared_callsvE5calls`"), std::string::npos)
      << st.warnings[0];
  EXPECT_NE(st.warnings[0].find("-fno-gnu-unique"), std::string::npos);
  ASSERT_FALSE(messages.empty());
  // Swapping away: it stays mapped, and that is counted with its reason; its file is kept.
  const std::string staged = st.staged_path;
  ASSERT_TRUE(m->reload_from(module_file("probe_b")).ok());
  ASSERT_TRUE(reclaim_all());
  st = m->status();
  EXPECT_EQ(st.stayed_mapped, 1u);
  EXPECT_NE(st.last_stayed_mapped.find("GNU unique symbol"), std::string::npos) << st.last_stayed_mapped;
  EXPECT_TRUE(fs::exists(staged));

  TempDir sdir;
  auto o = probe_options(sdir, module_file("probe_a"));
  o.strict = true;
  auto s = open_probe(std::move(o));
  ASSERT_TRUE(s);
  auto r = s->reload_from(module_file("gnu_unique"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(s->status().cause, Cause::WillNotUnload);
  EXPECT_NE(r.error().message.find("GNU unique symbol"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("strict mode"), std::string::npos) << r.error().message;
  EXPECT_EQ(s->pin()->tag(), 1);
}

TEST(ModuleUnload, ThreadLocalDestructorTouchedOnALongLivedThreadIsReported) {
  TempDir dir;
  auto o = probe_options(dir, module_file("probe_a"));
  auto m = open_probe(o);
  ASSERT_TRUE(m);
  ASSERT_TRUE(m->reload_from(module_file("thread_local_dtor")).ok());
  auto st = m->status();
  ASSERT_FALSE(st.warnings.empty());
  EXPECT_NE(st.warnings[0].find("thread_local object with a destructor"), std::string::npos) << st.warnings[0];
  // A long-lived thread touches the thread_local; the swap away cannot unmap it.
  std::atomic<bool> touched{false}, done{false};
  std::thread worker([&] {
    m->pin()->call(1);
    touched = true;
    while (!done) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  });
  ASSERT_TRUE(eventually([&] { return touched.load(); }));
  ASSERT_TRUE(m->reload_from(module_file("probe_b")).ok());
  ASSERT_TRUE(reclaim_all());
  st = m->status();
  EXPECT_EQ(st.stayed_mapped, 1u);
  EXPECT_NE(st.last_stayed_mapped.find("thread_local"), std::string::npos) << st.last_stayed_mapped;
  done = true;
  worker.join();

  TempDir sdir;
  auto so = probe_options(sdir, module_file("probe_a"));
  so.strict = true;
  auto s = open_probe(std::move(so));
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->reload_from(module_file("thread_local_dtor")).ok());
  EXPECT_EQ(s->status().cause, Cause::WillNotUnload);
}

TEST(ModuleConcurrency, PinsSeeOneGenerationPerCallWhileAnotherThreadSwaps) {
  ProbeTracker::get().clear();
  TempDir dir;
  auto o = probe_options(dir, module_file("probe_a"));
  o.preflight = false;
  auto m = open_probe(std::move(o));
  ASSERT_TRUE(m);
  std::atomic<bool> stop{false};
  std::atomic<long> calls{0}, mixed{0}, dead{0};
  auto reader = [&] {
    while (!stop.load(std::memory_order_relaxed)) {
      auto p = m->pin();
      const int tag = p->tag();
      if (!ProbeTracker::get().alive(p.get())) dead++;
      const long r = p->call(1);
      if (r != 10 + tag || p->tag() != tag) mixed++;
      if (!ProbeTracker::get().alive(p.get())) dead++;
      calls++;
    }
  };
  std::thread r1(reader), r2(reader);
  std::thread swapper([&] {
    const fs::path variants[2] = {module_file("probe_b"), module_file("probe_a")};
    for (int i = 0; i < 200; ++i) {
      auto r = m->reload_from(variants[i % 2]);
      if (!r.ok()) ADD_FAILURE() << r.error().message;
    }
  });
  swapper.join();
  stop = true;
  r1.join();
  r2.join();
  EXPECT_GT(calls.load(), 0);
  EXPECT_EQ(mixed.load(), 0);
  EXPECT_EQ(dead.load(), 0);
  m.reset();
  ASSERT_TRUE(reclaim_all());
  auto lives = ProbeTracker::get().lives();
  EXPECT_EQ(lives.size(), 201u);
  for (const auto& l : lives) EXPECT_EQ(l.destroyed, 1) << "instance tag " << l.tag;
  EXPECT_EQ(ProbeTracker::get().double_destroys(), 0u);
}

}  // namespace
}  // namespace relive::test
