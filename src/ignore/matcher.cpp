// STUB — a matcher that ignores nothing, so dependants build and run until the real
// implementation replaces this file.
#include "relive/ignore.hpp"

namespace relive::ignore {
namespace {
class NothingIgnored final : public Matcher {
 public:
  explicit NothingIgnored(std::filesystem::path root) : root_(std::move(root)) {}
  bool ignored(std::string_view, bool) override { return false; }
  Decision explain(std::string_view, bool) override { return {}; }
  bool is_rules_file(std::string_view) const override { return false; }
  Result<void> reload(std::string_view) override { return {}; }
  const std::filesystem::path& root() const override { return root_; }

 private:
  std::filesystem::path root_;
};
}  // namespace

const std::vector<std::string>& default_patterns() {
  static const std::vector<std::string> patterns;
  return patterns;
}
Result<std::unique_ptr<Matcher>> Matcher::open(const std::filesystem::path& root, const Options&) {
  return std::unique_ptr<Matcher>(new NothingIgnored(root));
}
}  // namespace relive::ignore
