// STUB — replaced by the ignore implementation.
#include "relive/ignore.hpp"

namespace relive::ignore {
const std::vector<std::string>& default_patterns() {
  static const std::vector<std::string> patterns;
  return patterns;
}
Result<std::unique_ptr<Matcher>> Matcher::open(const std::filesystem::path&, const Options&) {
  return Error{"ignore: not implemented yet"};
}
}  // namespace relive::ignore
