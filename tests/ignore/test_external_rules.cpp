// Matcher::external_rules_files() and reload_file(): the rules files a watcher must watch
// itself (.git/info/exclude inside the ignored .git/, the global excludes file outside the
// root), and re-reading one of them after an edit.
#include "ignore_test_util.hpp"

namespace relive::ignore::testing {
namespace {

using relive::test::TempDir;
using relive::test::write_file;
namespace fs = std::filesystem;

TEST(ExternalRules, NamesInfoExcludeAndTheGlobalFile) {
  TempDir repo;
  TempDir home;
  write_file(repo / ".git" / "HEAD", "ref: refs/heads/main\n");
  Options o = only_vcs();
  o.excludes_file = home / "ignore";  // need not exist yet
  auto m = open_ok(repo.path(), o);
  ASSERT_TRUE(m);
  auto files = m->external_rules_files();
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0], fs::canonical(repo.path()) / ".git" / "info" / "exclude");
  EXPECT_EQ(files[1], home / "ignore");
  o.vcs_ignore = false;
  auto without_vcs = open_ok(repo.path(), o);
  ASSERT_TRUE(without_vcs);
  EXPECT_TRUE(without_vcs->external_rules_files().empty());
}

TEST(ExternalRules, ReloadFileAppliesAnEditAndIgnoresOtherPaths) {
  TempDir repo;
  TempDir home;
  write_file(repo / ".git" / "HEAD", "ref: refs/heads/main\n");
  write_file(repo / ".git" / "info" / "exclude", "secret.txt\n");
  Options o = only_vcs();
  o.excludes_file = home / "ignore";
  auto m = open_ok(repo.path(), o);
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->ignored("secret.txt", false));
  EXPECT_FALSE(m->ignored("app.log", false));

  write_file(repo / ".git" / "info" / "exclude", "other.txt\n");
  write_file(home / "ignore", "*.log\n");
  EXPECT_TRUE(m->ignored("secret.txt", false)) << "rules changed before reload_file()";
  ASSERT_TRUE(m->reload_file(repo / "unrelated.txt"));  // not a rules file: no effect
  EXPECT_TRUE(m->ignored("secret.txt", false));
  for (const auto& f : m->external_rules_files()) ASSERT_TRUE(m->reload_file(f));
  EXPECT_FALSE(m->ignored("secret.txt", false));
  EXPECT_TRUE(m->ignored("other.txt", false));
  EXPECT_TRUE(m->ignored("app.log", false));
  EXPECT_EQ(m->explain("app.log", false).source, (home / "ignore").string());

  fs::remove(home / "ignore");
  ASSERT_TRUE(m->reload_file(home / "ignore"));
  EXPECT_FALSE(m->ignored("app.log", false));
}

}  // namespace
}  // namespace relive::ignore::testing
