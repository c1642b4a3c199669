// The command without `--` (`relive --stop-mode group python3 app.py`): every option that
// takes a value must consume it, or the value would start the command. The options are read
// from `relive --help`, a list written apart from the parser, so an option added to both
// the help and the parser is checked without anyone adding it here.
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "run_test_util.hpp"

namespace relive::test {
namespace {

// A value the option accepts, from the help's placeholder (the burst options and -E are
// checked before --version returns).
std::string value_for(const std::string& placeholder) {
  if (placeholder == "N") return "3";
  if (placeholder == "TIME") return "2s";
  if (placeholder == "L") return "info";
  if (placeholder == "RE") return "(?P<level>[A-Z]+)";
  if (placeholder == "KEY=VALUE") return "A=1";
  if (placeholder == "LIST") return "py";
  if (placeholder == "SPEC") return "8080";
  return "x";
}

TEST(RunOptionValues, EveryOptionWithAValueInTheHelpConsumesItWithoutDoubleDash) {
  TempDir dir;
  write_file(dir / "relive.toml", "");  // for --config FILE
  auto help = run_relive({"--help"}, dir.path());
  ASSERT_EQ(help.status, 0) << help.output;
  // "  -w, --watch PATH", "      --stop-mode MODE", "      --burst-trigger-level L" (the
  // placeholder may be on the next line only for long names: then it is an upper-case word).
  std::regex option_with_value(R"((--[a-z][a-z-]+)(?:,\s*--[a-z-]+)? ([A-Z][A-Z=]*)\b)");
  std::set<std::string> checked;
  for (auto it = std::sregex_iterator(help.output.begin(), help.output.end(), option_with_value);
       it != std::sregex_iterator(); ++it) {
    const std::string name = (*it)[1], placeholder = (*it)[2];
    if (name == "--poll" || !checked.insert(name).second) continue;  // --poll's value is optional
    // With the value consumed, --version is relive's and it exits 0; if the value started
    // the command, CLI11 would see the option without a value and fail.
    const std::string value = name == "--config" ? "relive.toml" : value_for(placeholder);
    auto r = run_relive({name, value, "--version"}, dir.path());
    EXPECT_EQ(r.status, 0) << name << " " << value << ": " << r.output;
    EXPECT_NE(r.output.find("relive"), std::string::npos) << name << ": " << r.output;
  }
  // The help names at least the options this was written against.
  for (const char* expected : {"--watch", "--exts", "--stop-mode", "--stop-timeout", "--burst-keep", "--socket", "--env"}) {
    EXPECT_TRUE(checked.count(expected)) << expected << " not found in relive --help:\n" << help.output;
  }
}

// And the other way round: a flag must not swallow what follows it (`--graceful --ready x`).
TEST(RunOptionValues, NoFlagInTheHelpConsumesTheNextArgument) {
  TempDir dir;
  auto help = run_relive({"--help"}, dir.path());
  ASSERT_EQ(help.status, 0) << help.output;
  // "      --shell               run COMMAND ...": a long option, two spaces, the text.
  std::regex flag(R"(\n\s+(?:-[A-Za-z], )?(--[a-z][a-z-]+)  )");
  std::set<std::string> checked;
  for (auto it = std::sregex_iterator(help.output.begin(), help.output.end(), flag); it != std::sregex_iterator(); ++it) {
    const std::string name = (*it)[1];
    if (name == "--help" || name == "--version" || !checked.insert(name).second) continue;
    // If the flag took "--stop-mode" as its value, "group" would start the command and
    // --stop-mode would lack its value.
    auto r = run_relive({name, "--stop-mode", "group", "--version"}, dir.path());
    EXPECT_EQ(r.status, 0) << name << ": " << r.output;
  }
  for (const char* expected : {"--shell", "--graceful", "--no-default-ignore", "--postpone"}) {
    EXPECT_TRUE(checked.count(expected)) << expected << " not found in relive --help:\n" << help.output;
  }
}

}  // namespace
}  // namespace relive::test
