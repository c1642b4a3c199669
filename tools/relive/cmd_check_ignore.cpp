// relive check-ignore — which of the given paths relive's ignore rules leave alone, and
// why: `git check-ignore` with relive's extra sources (.reloadignore, -i globs, defaults).
//
//   relive check-ignore [-v [-n]] [-z] [--stdin] [-C DIR] [--no-default-ignore]
//                       [--no-vcs-ignore] [--no-reloadignore] [-i GLOB]... PATH...
//
// Output and exit status follow git: ignored paths one a line; with -v
// "SOURCE:LINE:PATTERN<TAB>PATH" for every path a rule matched (a `!` rule too), with -n
// also "::<TAB>PATH" for the rest. Exit 0 if some path was reported as matched, 1 if none,
// 128 on error (one line on stderr).
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "commands.hpp"
#include "relive/ignore.hpp"

namespace relive::cli {
namespace {
namespace fs = std::filesystem;

constexpr int kError = 128;

int fail(const std::string& message) {
  std::fprintf(stderr, "relive: check-ignore: %s\n", message.c_str());
  return kError;
}

// git's quote_c_style: quoted only when something needs escaping.
std::string c_quote(const std::string& s) {
  bool needs = false;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);  // bytes above 0x7f compare as such
    needs |= c < 0x20 || c == '"' || c == '\\' || c >= 0x7f;
  }
  if (!needs) return s;
  std::string out = "\"";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '\a': out += "\\a"; break;
      case '\b': out += "\\b"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\v': out += "\\v"; break;
      case '\f': out += "\\f"; break;
      case '\r': out += "\\r"; break;
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      default:
        if (c < 0x20 || c >= 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\%03o", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  return out + "\"";
}

struct Settings {
  bool verbose = false, non_matching = false, from_stdin = false, nul = false;
  fs::path root_dir = ".";
  fs::path root_canonical;
};

// The path relative to the root, '/'-separated, or an error for one outside it.
Result<std::string> relative_path(const Settings& s, const std::string& given) {
  fs::path p = given;
  fs::path rel = p.is_absolute() ? p.lexically_normal().lexically_relative(s.root_canonical) : p.lexically_normal();
  std::string r = rel.generic_string();
  while (!r.empty() && r.back() == '/') r.pop_back();
  if (r == ".") r.clear();
  if (rel.empty() && p.is_absolute()) return Error{given + ": outside the root " + s.root_canonical.string()};
  if (r == ".." || r.rfind("../", 0) == 0) return Error{given + ": outside the root " + s.root_canonical.string()};
  return r;
}

// Prints one path's result; returns whether it counts toward exit status 0.
Result<bool> check_one(ignore::Matcher& m, const Settings& s, const std::string& given) {
  auto rel = relative_path(s, given);
  if (!rel) return rel.error();
  struct stat st {};
  const bool is_dir = !rel->empty() && ::lstat((s.root_canonical / *rel).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  const ignore::Decision d = m.explain(*rel, is_dir);
  for (auto& e : m.take_errors()) return e;
  // As git: without -v a `!` match is not reported; with -v it is, and counts.
  const bool report = s.verbose ? d.matched : d.ignored;
  const char end = s.nul ? '\0' : '\n';
  std::string line;
  if (s.verbose && (report || s.non_matching)) {
    if (s.nul) {
      line = d.matched ? d.source + '\0' + std::to_string(d.line) + '\0' + d.pattern + '\0' : std::string("\0\0\0", 3);
      line += given;
    } else {
      line = d.matched ? c_quote(d.source) + ":" + std::to_string(d.line) + ":" + d.pattern + "\t" : "::\t";
      line += c_quote(given);
    }
  } else if (report) {
    line = s.nul ? given : c_quote(given);
  } else {
    return false;
  }
  line.push_back(end);
  std::fwrite(line.data(), 1, line.size(), stdout);
  if (s.from_stdin) std::fflush(stdout);
  return report;
}

}  // namespace

int run_check_ignore(int argc, char** argv) {
  CLI::App app{"Show which paths relive ignores, and by which rule (like git check-ignore)", "relive check-ignore"};
  Settings s;
  ignore::Options options;
  bool no_default = false, no_vcs = false, no_reloadignore = false;
  std::vector<std::string> paths;
  app.add_flag("-v,--verbose", s.verbose, "Show the matching rule: SOURCE:LINE:PATTERN<TAB>PATH");
  app.add_flag("-n,--non-matching", s.non_matching, "With -v, also show paths no rule matched (\"::<TAB>PATH\")");
  app.add_flag("--stdin", s.from_stdin, "Read paths from standard input, one a line");
  app.add_flag("-z", s.nul, "NUL-separated input and output fields (as git's -z)");
  app.add_option("-C", s.root_dir, "Root directory the rules apply under (default: the current directory)");
  app.add_flag("--no-default-ignore", no_default, "Do not apply the built-in patterns (.git/, *.swp, ...)");
  app.add_flag("--no-vcs-ignore", no_vcs, "Do not apply .gitignore, .git/info/exclude or core.excludesFile");
  app.add_flag("--no-reloadignore", no_reloadignore, "Do not apply .reloadignore files");
  app.add_option("-i,--ignore", options.globs, "Also ignore paths matching GLOB (gitignore syntax, relative to the root)")
      ->type_name("GLOB")
      ->allow_extra_args(false);  // one GLOB per -i: `-i 'src/' src/a.py` checks src/a.py
  app.add_option("paths", paths, "Paths to check (relative to the current directory, which must be the root, or absolute)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return fail(e.what());
  }
  options.default_ignores = !no_default;
  options.vcs_ignore = !no_vcs;
  options.reloadignore = !no_reloadignore;
  if (s.non_matching && !s.verbose) return fail("--non-matching is only valid with --verbose");
  if (s.from_stdin && !paths.empty()) return fail("cannot give paths both as arguments and with --stdin");
  if (!s.from_stdin && paths.empty()) return fail("no path given (see --help)");

  std::error_code ec;
  s.root_canonical = fs::canonical(s.root_dir, ec);
  if (ec) return fail(s.root_dir.string() + ": " + ec.message());
  auto matcher = ignore::Matcher::open(s.root_canonical, options);
  if (!matcher) return fail(matcher.error().message);

  bool any = false;
  auto handle = [&](const std::string& path) -> bool {
    auto r = check_one(**matcher, s, path);
    if (!r) {
      fail(r.error().message);
      return false;
    }
    any |= *r;
    return true;
  };
  if (s.from_stdin) {
    std::ios::sync_with_stdio(false);  // stdin is read only through std::cin
    for (std::string line; std::getline(std::cin, line, s.nul ? '\0' : '\n');) {
      if (!s.nul && !line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) continue;
      if (!handle(line)) return kError;
    }
  } else {
    for (const auto& p : paths) {
      if (!handle(p)) return kError;
    }
  }
  std::fflush(stdout);
  return any ? 0 : 1;
}

}  // namespace relive::cli
