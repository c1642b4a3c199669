// ELF inspection before load: identity, unload blockers, unresolvable dependencies.
#include "elf_inspect.hpp"

#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <mutex>
#include <set>
#include <system_error>

namespace relive::module::detail {
namespace {

namespace fs = std::filesystem;

#if defined(__x86_64__)
constexpr Elf64_Half kMachine = EM_X86_64;
#elif defined(__aarch64__)
constexpr Elf64_Half kMachine = EM_AARCH64;
#else
constexpr Elf64_Half kMachine = EM_NONE;  // any
#endif

// A read-only mapping of the whole file, unmapped on destruction.
class Mapping {
 public:
  explicit Mapping(const fs::path& file) {
    int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      error_ = errno;
      return;
    }
    struct stat st {};
    if (::fstat(fd, &st) == 0 && st.st_size > 0) {
      size_ = static_cast<std::size_t>(st.st_size);
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        error_ = errno;
        size_ = 0;
      } else {
        data_ = static_cast<const unsigned char*>(p);
      }
    }
    ::close(fd);
  }
  ~Mapping() {
    if (data_) ::munmap(const_cast<unsigned char*>(data_), size_);
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  int error() const { return error_; }
  const unsigned char* data() const { return data_; }
  std::size_t size() const { return size_; }
  bool has(std::uint64_t offset, std::uint64_t length) const {
    return offset <= size_ && length <= size_ - offset;
  }

 private:
  const unsigned char* data_ = nullptr;
  std::size_t size_ = 0;
  int error_ = 0;
};

// Virtual address -> file offset through the PT_LOAD segments.
struct Segments {
  std::vector<Elf64_Phdr> loads;
  std::optional<std::uint64_t> offset_of(std::uint64_t vaddr, std::uint64_t length) const {
    for (const auto& p : loads) {
      if (vaddr >= p.p_vaddr && vaddr - p.p_vaddr <= p.p_filesz && length <= p.p_filesz - (vaddr - p.p_vaddr)) {
        return p.p_offset + (vaddr - p.p_vaddr);
      }
    }
    return std::nullopt;
  }
};

std::string cstring_at(const Mapping& m, std::uint64_t offset) {
  if (offset >= m.size()) return {};
  const char* s = reinterpret_cast<const char*>(m.data() + offset);
  return std::string(s, strnlen(s, m.size() - offset));
}

// Directories from /etc/ld.so.conf.d/*.conf (plain directory lines), read once.
const std::vector<std::string>& system_library_dirs() {
  static const std::vector<std::string> dirs = [] {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/etc/ld.so.conf.d", ec)) {
      if (e.path().extension() != ".conf") continue;
      std::ifstream in(e.path());
      std::string line;
      while (std::getline(in, line)) {
        if (!line.empty() && line[0] == '/') out.push_back(line);
      }
    }
    for (const char* d : {"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu",
                          "/usr/lib/aarch64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib",
                          "/usr/local/lib"}) {
      out.emplace_back(d);
    }
    return out;
  }();
  return dirs;
}

// Basenames of every object loaded in this process now.
std::set<std::string> loaded_basenames() {
  std::set<std::string> names;
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* out) {
        if (info->dlpi_name && *info->dlpi_name) {
          static_cast<std::set<std::string>*>(out)->insert(fs::path(info->dlpi_name).filename().string());
        }
        return 0;
      },
      &names);
  return names;
}

void split_paths(const std::string& list, const fs::path& origin, std::vector<std::string>& out) {
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t end = list.find(':', start);
    if (end == std::string::npos) end = list.size();
    std::string dir = list.substr(start, end - start);
    for (const char* token : {"$ORIGIN", "${ORIGIN}"}) {
      if (auto at = dir.find(token); at != std::string::npos) dir.replace(at, std::strlen(token), origin.string());
    }
    if (!dir.empty()) out.push_back(dir);
    start = end + 1;
  }
}

bool resolvable(const std::string& needed, const std::vector<std::string>& dirs, const std::set<std::string>& loaded) {
  std::error_code ec;
  if (needed.find('/') != std::string::npos) return fs::exists(needed, ec);
  if (loaded.count(needed)) return true;
  for (const auto& d : dirs) {
    if (fs::exists(fs::path(d) / needed, ec)) return true;
  }
  for (const auto& d : system_library_dirs()) {
    if (fs::exists(fs::path(d) / needed, ec)) return true;
  }
  return false;
}

}  // namespace

ElfReport inspect_elf(const fs::path& file) {
  ElfReport r;
  std::error_code ec;
  if (!fs::exists(file, ec)) {
    r.problem = {Cause::NotFound, file.string() + ": no such file"};
    return r;
  }
  Mapping m(file);
  if (m.error() != 0) {
    r.problem = {Cause::NotFound, file.string() + ": " + std::strerror(m.error())};
    return r;
  }
  const std::size_t size = m.size();
  if (size < 4 || std::memcmp(m.data(), ELFMAG, SELFMAG) != 0) {
    r.problem = {Cause::NotElf, file.string() + ": not an ELF file (" + std::to_string(size) + " bytes, no ELF magic)"};
    return r;
  }
  if (size < sizeof(Elf64_Ehdr)) {
    r.problem = {Cause::Truncated, file.string() + ": truncated: " + std::to_string(size) + " bytes, shorter than an ELF header"};
    return r;
  }
  Elf64_Ehdr eh;
  std::memcpy(&eh, m.data(), sizeof eh);
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
      (kMachine != EM_NONE && eh.e_machine != kMachine)) {
    r.problem = {Cause::NotElf, file.string() + ": an ELF file for another machine or word size"};
    return r;
  }
  if (eh.e_type != ET_DYN) {
    r.problem = {Cause::NotElf, file.string() + ": not a shared object (ELF type " + std::to_string(eh.e_type) + ")"};
    return r;
  }
  auto truncated = [&](const std::string& what, std::uint64_t end) {
    r.problem = {Cause::Truncated, file.string() + ": truncated: " + what + " ends at byte " + std::to_string(end) +
                                       ", the file has " + std::to_string(size)};
  };
  if (eh.e_phentsize != sizeof(Elf64_Phdr) || !m.has(eh.e_phoff, std::uint64_t{eh.e_phnum} * sizeof(Elf64_Phdr))) {
    truncated("the program header table", eh.e_phoff + std::uint64_t{eh.e_phnum} * sizeof(Elf64_Phdr));
    return r;
  }
  Segments segs;
  std::optional<Elf64_Phdr> dynamic;
  std::vector<Elf64_Phdr> notes;
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    std::memcpy(&ph, m.data() + eh.e_phoff + i * sizeof(Elf64_Phdr), sizeof ph);
    if (ph.p_type == PT_LOAD) {
      if (!m.has(ph.p_offset, ph.p_filesz)) {
        truncated("load segment " + std::to_string(segs.loads.size()), ph.p_offset + ph.p_filesz);
        return r;
      }
      segs.loads.push_back(ph);
    } else if (ph.p_type == PT_DYNAMIC) {
      dynamic = ph;
    } else if (ph.p_type == PT_NOTE) {
      notes.push_back(ph);
    }
  }
  if (eh.e_shoff != 0 &&
      (eh.e_shentsize != sizeof(Elf64_Shdr) || !m.has(eh.e_shoff, std::uint64_t{eh.e_shnum} * sizeof(Elf64_Shdr)))) {
    truncated("the section header table", eh.e_shoff + std::uint64_t{eh.e_shnum} * sizeof(Elf64_Shdr));
    return r;
  }
  if (!dynamic || !m.has(dynamic->p_offset, dynamic->p_filesz)) {
    r.problem = {Cause::NotElf, file.string() + ": no dynamic section (not a shared library)"};
    return r;
  }

  // Build id note.
  for (const auto& n : notes) {
    if (!m.has(n.p_offset, n.p_filesz)) continue;
    std::uint64_t at = n.p_offset, end = n.p_offset + n.p_filesz;
    while (at + sizeof(Elf64_Nhdr) <= end) {
      Elf64_Nhdr nh;
      std::memcpy(&nh, m.data() + at, sizeof nh);
      std::uint64_t name_at = at + sizeof nh;
      std::uint64_t desc_at = name_at + ((nh.n_namesz + 3u) & ~3u);
      std::uint64_t next = desc_at + ((nh.n_descsz + 3u) & ~3u);
      if (next > end) break;
      if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && std::memcmp(m.data() + name_at, "GNU", 4) == 0) {
        static const char* hex = "0123456789abcdef";
        for (std::uint32_t i = 0; i < nh.n_descsz; ++i) {
          unsigned char b = m.data()[desc_at + i];
          r.gnu_build_id += hex[b >> 4];
          r.gnu_build_id += hex[b & 15];
        }
      }
      at = next;
    }
  }

  // Dynamic section.
  std::uint64_t strtab = 0, strsz = 0, flags_1 = 0;
  std::vector<std::uint64_t> needed_offsets;
  std::vector<std::uint64_t> path_offsets;  // RPATH / RUNPATH
  for (std::uint64_t at = dynamic->p_offset; at + sizeof(Elf64_Dyn) <= dynamic->p_offset + dynamic->p_filesz;
       at += sizeof(Elf64_Dyn)) {
    Elf64_Dyn d;
    std::memcpy(&d, m.data() + at, sizeof d);
    if (d.d_tag == DT_NULL) break;
    switch (d.d_tag) {
      case DT_NEEDED: needed_offsets.push_back(d.d_un.d_val); break;
      case DT_STRTAB: strtab = d.d_un.d_ptr; break;
      case DT_STRSZ: strsz = d.d_un.d_val; break;
      case DT_FLAGS_1: flags_1 = d.d_un.d_val; break;
      case DT_RPATH:
      case DT_RUNPATH: path_offsets.push_back(d.d_un.d_val); break;
      default: break;
    }
  }
  auto strtab_off = segs.offset_of(strtab, strsz);
  if (!strtab_off) {
    r.problem = {Cause::Truncated, file.string() + ": truncated or corrupt: the dynamic string table is outside the file"};
    return r;
  }
  if (flags_1 & DF_1_NODELETE) {
    r.unload_warnings.push_back("will not unload: linked with -z nodelete (DF_1_NODELETE)");
  }

  // Dependencies.
  const fs::path origin = fs::absolute(file, ec).parent_path();
  std::vector<std::string> dirs;
  for (auto off : path_offsets) split_paths(cstring_at(m, *strtab_off + off), origin, dirs);
  if (const char* llp = std::getenv("LD_LIBRARY_PATH")) split_paths(llp, origin, dirs);
  std::set<std::string> loaded = loaded_basenames();
  for (auto off : needed_offsets) {
    std::string name = cstring_at(m, *strtab_off + off);
    r.needed.push_back(name);
    if (!resolvable(name, dirs, loaded)) {
      r.problem = {Cause::MissingDependency, file.string() + ": missing dependency " + name + " (not loaded, not found in " +
                                                 (dirs.empty() ? std::string("the library path") : "its RUNPATH or the library path") + ")"};
      return r;
    }
  }

  // Symbols (.dynsym through the section headers).
  bool have_dynsym = false;
  for (unsigned i = 0; eh.e_shoff != 0 && i < eh.e_shnum; ++i) {
    Elf64_Shdr sh;
    std::memcpy(&sh, m.data() + eh.e_shoff + i * sizeof(Elf64_Shdr), sizeof sh);
    if (sh.sh_type != SHT_DYNSYM || sh.sh_entsize != sizeof(Elf64_Sym)) continue;
    if (!m.has(sh.sh_offset, sh.sh_size) || sh.sh_link >= eh.e_shnum) {
      truncated("the dynamic symbol table", sh.sh_offset + sh.sh_size);
      return r;
    }
    Elf64_Shdr str;
    std::memcpy(&str, m.data() + eh.e_shoff + sh.sh_link * sizeof(Elf64_Shdr), sizeof str);
    if (!m.has(str.sh_offset, str.sh_size)) {
      truncated("the dynamic symbol names", str.sh_offset + str.sh_size);
      return r;
    }
    have_dynsym = true;
    bool thread_atexit_reported = false;
    int unique_reported = 0;
    for (std::uint64_t at = sh.sh_offset; at + sizeof(Elf64_Sym) <= sh.sh_offset + sh.sh_size; at += sizeof(Elf64_Sym)) {
      Elf64_Sym s;
      std::memcpy(&s, m.data() + at, sizeof s);
      if (s.st_name >= str.sh_size) continue;
      std::string name = cstring_at(m, str.sh_offset + s.st_name);
      const bool defined = s.st_shndx != SHN_UNDEF;
      if (defined && ELF64_ST_BIND(s.st_info) == STB_GNU_UNIQUE) {
        if (unique_reported++ < 3) {
          r.unload_warnings.push_back("will not unload: GNU unique symbol `" + name + "` (" + demangled(name) +
                                      "); build with relive_add_module or -fno-gnu-unique");
        }
      }
      if (!defined && !thread_atexit_reported && (name == "__cxa_thread_atexit_impl" || name == "__cxa_thread_atexit")) {
        thread_atexit_reported = true;
        r.unload_warnings.push_back(
            "will not unload while a thread that touched it lives: thread_local object with a destructor (" + name + ")");
      }
      if (defined && name == kEntrySymbol) {
        auto off = segs.offset_of(s.st_value, sizeof(Identity));
        if (s.st_size < sizeof(Entry) || !off) {
          r.problem = {Cause::NotReliveModule,
                       file.string() + ": " + kEntrySymbol + " is not a relive::module::Entry (size " + std::to_string(s.st_size) + ")"};
          return r;
        }
        Identity id;
        std::memcpy(&id, m.data() + *off, sizeof id);
        r.identity = id;
      }
    }
  }
  if (!have_dynsym) {
    r.problem = {Cause::NotReliveModule, file.string() + ": no dynamic symbol table"};
    return r;
  }
  if (!r.identity) {
    r.problem = {Cause::NotReliveModule, file.string() + ": not a relive module: no " + kEntrySymbol +
                                             " symbol (export one with RELIVE_MODULE(Interface, Implementation))"};
  }
  return r;
}

}  // namespace relive::module::detail
