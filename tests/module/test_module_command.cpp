// `relive module check` and `relive module info`, run as a user runs them.
#include <gtest/gtest.h>

#include "module_test_util.hpp"

namespace relive::test {
namespace {

struct Run {
  int status;
  std::string output;
};

Run relive_module(std::vector<std::string> args) {
  const std::string bin = relive_bin();
  EXPECT_FALSE(bin.empty()) << "RELIVE_BIN is not set";
  args.insert(args.begin(), {bin, "module"});
  Process p(args, with_preflight_env());
  int st = p.wait(std::chrono::seconds(30));
  return {st, p.output()};
}

TEST(ModuleCommand, CheckAcceptsAGoodModuleAndPrintsItsIdentity) {
  auto r = relive_module({"check", "--interface", "Probe", module_file("probe_a").string()});
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("identity: interface Probe (hash "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("module ABI 1"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("ok: would load"), std::string::npos) << r.output;
}

TEST(ModuleCommand, CheckRejectsWithTheCause) {
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  for (const auto& c : std::vector<Case>{
           {{"check", module_file("probe_segv").string()}, "killed by SIGSEGV"},
           {{"check", module_file("probe_throws").string()}, "create() threw: probe: create failed on purpose"},
           {{"check", module_file("probe_missing_symbol").string()}, "missing symbol `relive_test_no_such_function`"},
           {{"check", "--interface", "Probe", module_file("other_module").string()}, "expected Probe, found Other"},
           {{"check", module_file("no_entry").string()}, "no relive_module_entry_v1"},
           {{"check", "--strict", module_file("gnu_unique").string()}, "GNU unique symbol"},
           {{"check", "--timeout", "1000", module_file("probe_loop").string()}, "timed out after 1000 ms"},
       }) {
    auto r = relive_module(c.args);
    EXPECT_EQ(r.status, 1) << c.args.back() << "\n" << r.output;
    EXPECT_NE(r.output.find("rejected ("), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(c.says), std::string::npos) << r.output;
  }
}

TEST(ModuleCommand, InfoReadsTheIdentityWithoutRunningTheModule) {
  // probe_segv would crash if any of its code ran.
  auto r = relive_module({"info", module_file("probe_segv").string()});
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("identity: interface Probe"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("takes state version 1, saves state"), std::string::npos) << r.output;
  auto unique = relive_module({"info", module_file("gnu_unique").string()});
  EXPECT_NE(unique.output.find("warning: will not unload: GNU unique symbol"), std::string::npos) << unique.output;
  TempDir dir;
  write_file(dir / "junk.so", "junk");
  auto junk = relive_module({"info", (dir / "junk.so").string()});
  EXPECT_EQ(junk.status, 1) << junk.output;
  EXPECT_NE(junk.output.find("not an ELF file"), std::string::npos) << junk.output;
}

TEST(ModuleCommand, BadUsageExitsTwo) {
  EXPECT_EQ(relive_module({}).status, 2);
  EXPECT_EQ(relive_module({"check"}).status, 2);
  EXPECT_EQ(relive_module({"check", "--bogus", "x.so"}).status, 2);
  EXPECT_EQ(relive_module({"frobnicate", "x.so"}).status, 2);
}

}  // namespace
}  // namespace relive::test
