// Internal: reading a module's ELF file without loading it (well under 1 ms for a typical
// module: one mmap, a walk over the program headers, the dynamic section and .dynsym).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "identity_check.hpp"
#include "relive/module.hpp"

namespace relive::module::detail {

struct ElfReport {
  Problem problem;                       // fatal: the file cannot be a loadable module
  std::optional<Identity> identity;      // read from relive_module_entry_v1's bytes
  std::vector<std::string> unload_warnings;  // "will not unload: ..." reasons
  std::vector<std::string> needed;       // DT_NEEDED
  std::string gnu_build_id;              // NT_GNU_BUILD_ID as hex, "" if none
};

// Inspects `file`. DT_NEEDED names are resolved as the dynamic loader would for a file in
// the directory of `file` ($ORIGIN), from already-loaded libraries, RPATH/RUNPATH,
// LD_LIBRARY_PATH, /etc/ld.so.conf.d and the default directories.
ElfReport inspect_elf(const std::filesystem::path& file);

}  // namespace relive::module::detail
