// Every kind of bad build leaves the host up and the old generation serving, with the cause
// in status() and in the message.
#include <gtest/gtest.h>

#include <fstream>

#include "module_test_util.hpp"

namespace relive::test {
namespace {

using module::Cause;

struct BadBuild {
  std::string name;
  std::function<fs::path(const TempDir&)> make;  // the file to swap in
  Cause cause;
  std::string says;  // a substring of the message
};

fs::path built(const std::string& name) { return module_file(name); }

std::vector<BadBuild> bad_builds() {
  return {
      {"missing symbol", [](const TempDir&) { return built("probe_missing_symbol"); }, Cause::MissingSymbol,
       "missing symbol `relive_test_no_such_function`"},
      {"no entry point", [](const TempDir&) { return built("no_entry"); }, Cause::NotReliveModule,
       "no relive_module_entry_v1"},
      {"wrong interface", [](const TempDir&) { return built("other_module"); }, Cause::InterfaceMismatch,
       "expected Probe, found Other"},
      {"changed interface", [](const TempDir&) { return built("probe_changed_interface"); }, Cause::InterfaceMismatch,
       "the interface header changed"},
      {"ABI version", [](const TempDir&) { return built("abi_mismatch"); }, Cause::AbiMismatch,
       "module ABI version mismatch: expected 1, found 99"},
      {"throws in create", [](const TempDir&) { return built("probe_throws"); }, Cause::Threw,
       "create() threw: probe: create failed on purpose"},
      {"segfaults in create", [](const TempDir&) { return built("probe_segv"); }, Cause::Crashed,
       "killed by SIGSEGV"},
      {"aborts in create", [](const TempDir&) { return built("probe_abort"); }, Cause::Crashed, "killed by SIGABRT"},
      {"loops in create", [](const TempDir&) { return built("probe_loop"); }, Cause::TimedOut,
       "timed out after 1500 ms in create()"},
      {"truncated .so",
       [](const TempDir& d) {
         std::string whole = read_file(built("probe_b"));
         write_file(d / "truncated.so", whole.substr(0, whole.size() / 3));
         return d / "truncated.so";
       },
       Cause::Truncated, "truncated"},
      {"not ELF",
       [](const TempDir& d) {
         write_file(d / "text.so", "this is not a shared library\n");
         return d / "text.so";
       },
       Cause::NotElf, "not an ELF file"},
      {"empty file",
       [](const TempDir& d) {
         write_file(d / "empty.so", "");
         return d / "empty.so";
       },
       Cause::NotElf, "not an ELF file"},
      {"non-existent path", [](const TempDir& d) { return d / "nowhere" / "libgone.so"; }, Cause::NotFound,
       "no such file"},
  };
}

TEST(ModuleBadBuilds, EachLeavesTheOldGenerationServingWithTheCause) {
  for (const auto& bad : bad_builds()) {
    SCOPED_TRACE(bad.name);
    TempDir dir;
    std::vector<std::string> messages;
    auto m = open_probe(probe_options(dir, built("probe_a"), &messages, std::chrono::milliseconds(1500)));
    ASSERT_TRUE(m);
    m->pin()->call(1);
    const fs::path file = bad.make(dir);
    auto r = m->reload_from(file);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find(bad.says), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find(file.filename().string()), std::string::npos) << r.error().message;
    auto st = m->status();
    EXPECT_EQ(st.cause, bad.cause) << module::to_string(st.cause) << ": " << st.error.value_or("");
    ASSERT_TRUE(st.error);
    EXPECT_NE(st.error->find(bad.says), std::string::npos) << *st.error;
    EXPECT_EQ(st.generation, 1u);
    EXPECT_EQ(st.failures, 1u);
    // The old generation still answers, with its state.
    auto p = m->pin();
    EXPECT_EQ(p->tag(), 1);
    EXPECT_EQ(p->counter(), 1);
    EXPECT_EQ(p.generation(), 1u);
    // One message, naming the file, the cause and what kept serving.
    ASSERT_EQ(messages.size(), 1u);
    EXPECT_NE(messages[0].find(bad.says), std::string::npos) << messages[0];
    EXPECT_NE(messages[0].find("keeping generation 1"), std::string::npos) << messages[0];
    // Nothing of the bad build is left staged; a good build still swaps in afterwards.
    EXPECT_EQ(files_in(dir / "stage"), 1u);
    ASSERT_TRUE(m->reload_from(built("probe_b")).ok());
    EXPECT_EQ(m->pin()->tag(), 2);
    EXPECT_FALSE(m->status().error);
  }
}

TEST(ModuleBadBuilds, WithoutPreflightTheHostStillRefusesWhatDoesNotLoad) {
  // Without the helper process, what dlopen/create can report without crashing is still
  // caught in the host: a missing symbol, an interface mismatch, a create() that throws.
  for (auto [name, cause] : {std::pair{"probe_missing_symbol", Cause::MissingSymbol},
                             std::pair{"other_module", Cause::InterfaceMismatch},
                             std::pair{"probe_throws", Cause::Threw}}) {
    SCOPED_TRACE(name);
    TempDir dir;
    auto o = probe_options(dir, built("probe_a"));
    o.preflight = false;
    auto m = open_probe(std::move(o));
    ASSERT_TRUE(m);
    EXPECT_FALSE(m->reload_from(built(name)).ok());
    EXPECT_EQ(m->status().cause, cause);
    EXPECT_EQ(m->pin()->tag(), 1);
    EXPECT_EQ(files_in(dir / "stage"), 1u);
  }
}

TEST(ModuleBadBuilds, AFirstLoadThatFailsIsAnErrorFromOpen) {
  TempDir dir;
  auto m = module::Module<Probe>::open(probe_options(dir, built("probe_segv")));
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("killed by SIGSEGV"), std::string::npos) << m.error().message;
  auto missing = module::Module<Probe>::open(probe_options(dir, dir / "none.so"));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("none.so: no such file"), std::string::npos) << missing.error().message;
}

TEST(ModuleBadBuilds, AMissingPreflightHelperIsReportedNotSkipped) {
  TempDir dir;
  auto o = probe_options(dir, built("probe_a"));
  o.preflight_helper = dir / "no-helper";
  auto m = module::Module<Probe>::open(std::move(o));
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("relive-module-preflight was not found"), std::string::npos) << m.error().message;
}

}  // namespace
}  // namespace relive::test
