# Install rules: what `cmake --install build [--prefix P]` puts where, and how a part is
# registered for it. Layout (GNUInstallDirs):
#
#   bin/relive                                  the command, stripped          component runtime
#   share/man/man1/relive.1, completions, docs                                component runtime
#   include/relive/                             every public header            component dev
#   LIBDIR/librelive_<part>.a (or .so.0.2.0)    one library per part           component dev
#   LIBDIR/cmake/relive/                        find_package(relive 0.2)       component dev
#   LIBDIR/pkgconfig/relive-<part>.pc           pkg-config --cflags --libs     component dev
# LIBDIR is lib/x86_64-linux-gnu on Debian (multiarch), lib elsewhere.
#
# A part is registered with one line, relive_install_part(NAME) (relive_add_part does it
# for every src/<part>). Everything else is derived once every part is defined (deferred to
# the end of the top-level CMakeLists.txt): each part's find_dependency() lines and its
# pkg-config Requires / Requires.private come from the targets it links, through the table
# of known dependencies below. Linking a third-party target that is not in the table is a
# configure error, so a new dependency cannot be forgotten in the package.
#
# Nothing installed points into the source or build tree: include directories are
# BUILD_INTERFACE/INSTALL_INTERFACE, the CMake package and the .pc files are relocatable
# (paths relative to their own location), and build-only targets (relive_build_flags,
# header-only libraries wrapped in $<BUILD_INTERFACE:...>) are not exported.

# On Debian and its derivatives, libraries go to the multiarch directory whatever the prefix
# (as debhelper does; /usr/local/lib/<triplet> is on the linker's, pkg-config's and CMake's
# search paths there too), so the .deb and a source install have the same layout.
if(NOT DEFINED CMAKE_INSTALL_LIBDIR AND CMAKE_LIBRARY_ARCHITECTURE AND EXISTS /etc/debian_version)
  set(CMAKE_INSTALL_LIBDIR "lib/${CMAKE_LIBRARY_ARCHITECTURE}" CACHE PATH "Object code libraries (lib)")
endif()
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# Derived from LIBDIR (not cached, so they follow it).
set(RELIVE_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/relive")
set(RELIVE_INSTALL_PKGCONFIGDIR "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
# Where a Python extension module goes (Debian's path for python3 modules).
set(RELIVE_INSTALL_PYTHONDIR "lib/python3/dist-packages" CACHE STRING
  "Where a Python extension module is installed, relative to the prefix")
option(RELIVE_INSTALL_STRIP "Strip what is installed (debug info stays in the build tree)" ON)
# install() calls that name no component land in dev (headers, libraries, CMake files).
set(CMAKE_INSTALL_DEFAULT_COMPONENT_NAME dev)

# --- Known dependencies -----------------------------------------------------------------
# relive_known_dependency(TARGET t [PACKAGE "find_dependency args"]
#                         [PKG_CONFIG "VAR module"] [PC module] [LIBS flags])
#   PACKAGE     what the CMake package calls find_dependency() with to recreate TARGET
#   PKG_CONFIG  recreate TARGET (PkgConfig::VAR) with pkg_check_modules(VAR ... module)
#   PC          the Debian package's own .pc name, for Requires / Requires.private
#   LIBS        plain linker flags when there is no .pc (Libs / Libs.private)
function(relive_known_dependency)
  cmake_parse_arguments(ARG "" "TARGET;PACKAGE;PKG_CONFIG;PC;LIBS" "" ${ARGN})
  set_property(GLOBAL PROPERTY RELIVE_DEP_${ARG_TARGET}_KNOWN TRUE)
  foreach(field PACKAGE PKG_CONFIG PC LIBS)
    set_property(GLOBAL PROPERTY RELIVE_DEP_${ARG_TARGET}_${field} "${ARG_${field}}")
  endforeach()
endfunction()

relive_known_dependency(TARGET Threads::Threads PACKAGE "Threads" LIBS "-pthread")
relive_known_dependency(TARGET fmt::fmt PACKAGE "fmt" PC fmt)
relive_known_dependency(TARGET spdlog::spdlog PACKAGE "spdlog" PC spdlog)
relive_known_dependency(TARGET PkgConfig::LIBYAML PKG_CONFIG "LIBYAML yaml-0.1" PC yaml-0.1)
relive_known_dependency(TARGET nlohmann_json::nlohmann_json PACKAGE "nlohmann_json" PC nlohmann_json)
relive_known_dependency(TARGET CURL::libcurl PACKAGE "CURL" PC libcurl)
relive_known_dependency(TARGET PkgConfig::RE2 PKG_CONFIG "RE2 re2" PC re2)
relive_known_dependency(TARGET PkgConfig::TOMLPP PKG_CONFIG "TOMLPP tomlplusplus" PC tomlplusplus)
relive_known_dependency(TARGET dl LIBS "-ldl")

# --- Registering a part -----------------------------------------------------------------
# relive_install_part(NAME [TARGET t] [DESCRIPTION "one line"] [CMAKE_MODULES file...])
#   Installs the library target (default relive_NAME) as relive::NAME in the CMake package
#   and as relive-NAME.pc, with a SONAME and versioned symlinks when it is shared.
#   CMAKE_MODULES: CMake files shipped with the package and included by
#   find_package(relive), e.g. cmake/relive_module.cmake giving relive_add_module().
function(relive_install_part name)
  cmake_parse_arguments(ARG "" "TARGET;DESCRIPTION" "CMAKE_MODULES" ${ARGN})
  if(NOT ARG_TARGET)
    set(ARG_TARGET relive_${name})
  endif()
  if(NOT ARG_DESCRIPTION)
    set(ARG_DESCRIPTION "relive ${name} library")
  endif()
  set_target_properties(${ARG_TARGET} PROPERTIES
    EXPORT_NAME ${name}
    VERSION ${PROJECT_VERSION}
    # 0.x: every minor version may break the ABI (as the CMake package's SameMinorVersion).
    SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
  # Installed shared libraries find each other beside themselves (RUNPATH is not inherited
  # from the command); the build tree's RPATH is replaced on install.
  set_property(TARGET ${ARG_TARGET} PROPERTY INSTALL_RPATH "$ORIGIN")
  target_include_directories(${ARG_TARGET} INTERFACE $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  install(TARGETS ${ARG_TARGET} EXPORT relive-targets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev NAMELINK_COMPONENT dev
    RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT dev)
  relive_install_strip(${ARG_TARGET} ${CMAKE_INSTALL_LIBDIR} dev)
  foreach(module ${ARG_CMAKE_MODULES})
    get_filename_component(module "${module}" ABSOLUTE BASE_DIR "${PROJECT_SOURCE_DIR}")
    install(FILES "${module}" DESTINATION ${RELIVE_INSTALL_CMAKEDIR} COMPONENT dev)
    get_filename_component(module_name "${module}" NAME)
    set_property(GLOBAL APPEND PROPERTY RELIVE_PACKAGE_MODULES "${module_name}")
  endforeach()
  set_property(GLOBAL APPEND PROPERTY RELIVE_PARTS ${name})
  set_property(GLOBAL PROPERTY RELIVE_PART_${name}_TARGET ${ARG_TARGET})
  set_property(GLOBAL PROPERTY RELIVE_PART_${name}_DESCRIPTION "${ARG_DESCRIPTION}")
endfunction()

# relive_install_strip(TARGET DESTINATION COMPONENT): after installing TARGET's file, strip
# it (RELIVE_INSTALL_STRIP): executables and shared libraries of their symbol tables and
# debug info, static libraries of debug info only (their symbols are what links). The
# build tree keeps the full file, with the same build-id, for post-mortem debugging.
function(relive_install_strip target destination component)
  if(NOT RELIVE_INSTALL_STRIP OR NOT CMAKE_STRIP)
    return()
  endif()
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "STATIC_LIBRARY")
    set(flags "--strip-debug")
  elseif(type STREQUAL "SHARED_LIBRARY" OR type STREQUAL "MODULE_LIBRARY")
    set(flags "--strip-unneeded")
  else()
    set(flags "--strip-all")
  endif()
  install(CODE "
    set(_file \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${destination}/$<TARGET_FILE_NAME:${target}>\")
    execute_process(COMMAND \"${CMAKE_STRIP}\" ${flags} --remove-section=.comment --remove-section=.note \"\${_file}\"
                    RESULT_VARIABLE _rc)
    if(NOT _rc EQUAL 0)
      message(FATAL_ERROR \"strip failed on \${_file}\")
    endif()" COMPONENT ${component})
endfunction()

# --- Derived once every part exists ------------------------------------------------------

# Splits TARGET's direct link dependencies into the public ones (a user of TARGET links and
# includes them too) and the private ones, dropping build-only $<BUILD_INTERFACE:...>.
function(_relive_link_deps target out_public out_private)
  get_target_property(all ${target} LINK_LIBRARIES)
  get_target_property(iface ${target} INTERFACE_LINK_LIBRARIES)
  if(NOT all)
    set(all)
  endif()
  if(NOT iface)
    set(iface)
  endif()
  set(public)
  foreach(dep ${iface})
    if(NOT dep MATCHES "^\\$<")
      list(APPEND public ${dep})
    endif()
  endforeach()
  set(private)
  foreach(dep ${all})
    if(NOT dep MATCHES "^\\$<" AND NOT dep IN_LIST public)
      list(APPEND private ${dep})
    endif()
  endforeach()
  set(${out_public} ${public} PARENT_SCOPE)
  set(${out_private} ${private} PARENT_SCOPE)
endfunction()

# The relive part a target is (relive_x or relive::x), or "" if it is not one.
function(_relive_part_of dep out)
  set(part "")
  get_property(parts GLOBAL PROPERTY RELIVE_PARTS)
  foreach(p ${parts})
    get_property(t GLOBAL PROPERTY RELIVE_PART_${p}_TARGET)
    if(dep STREQUAL t OR dep STREQUAL "relive::${p}")
      set(part ${p})
    endif()
  endforeach()
  set(${out} "${part}" PARENT_SCOPE)
endfunction()

function(relive_install_package)
  get_property(parts GLOBAL PROPERTY RELIVE_PARTS)
  set(find_lines "")
  set(seen_packages)
  foreach(part ${parts})
    get_property(target GLOBAL PROPERTY RELIVE_PART_${part}_TARGET)
    get_target_property(type ${target} TYPE)
    _relive_link_deps(${target} public private)
    # A static library's private dependencies are linked by its users: the package must find
    # them, and the .pc lists them in Requires/Libs so that plain `pkg-config --libs` links
    # (`--static` is no answer: it also expands the dependencies' own Libs.private, e.g.
    # libcurl's nghttp2, rtmp, ssh2..., whose static libraries Debian does not ship).
    # A shared library carries them itself: Requires.private / Libs.private.
    set(package_deps ${public})
    set(static FALSE)
    if(type STREQUAL "STATIC_LIBRARY")
      list(APPEND package_deps ${private})
      set(static TRUE)
    endif()
    set(requires "")
    set(requires_private "")
    set(libs "")
    set(libs_private "")
    foreach(dep ${public} ${private})
      set(is_public ${static})
      if(dep IN_LIST public)
        set(is_public TRUE)
      endif()
      _relive_part_of(${dep} dep_part)
      if(NOT dep_part STREQUAL "")
        if(is_public)
          string(APPEND requires " relive-${dep_part}")
        else()
          string(APPEND requires_private " relive-${dep_part}")
        endif()
        continue()
      endif()
      get_property(known GLOBAL PROPERTY RELIVE_DEP_${dep}_KNOWN)
      if(NOT known)
        message(FATAL_ERROR "relive_install: part '${part}' links '${dep}', which "
          "cmake/relive_install.cmake does not know: add a relive_known_dependency() line "
          "for it (how the CMake package finds it, its .pc name).")
      endif()
      get_property(pc GLOBAL PROPERTY RELIVE_DEP_${dep}_PC)
      get_property(dep_libs GLOBAL PROPERTY RELIVE_DEP_${dep}_LIBS)
      if(pc AND is_public)
        string(APPEND requires " ${pc}")
      elseif(pc)
        string(APPEND requires_private " ${pc}")
      endif()
      if(dep_libs AND is_public)
        string(APPEND libs " ${dep_libs}")
      elseif(dep_libs)
        string(APPEND libs_private " ${dep_libs}")
      endif()
      if(dep IN_LIST package_deps AND NOT dep IN_LIST seen_packages)
        list(APPEND seen_packages ${dep})
        get_property(package GLOBAL PROPERTY RELIVE_DEP_${dep}_PACKAGE)
        get_property(pkg_config GLOBAL PROPERTY RELIVE_DEP_${dep}_PKG_CONFIG)
        if(package)
          string(APPEND find_lines "find_dependency(${package})\n")
        elseif(pkg_config)
          string(REPLACE " " ";" pkg_config "${pkg_config}")
          list(GET pkg_config 0 var)
          list(GET pkg_config 1 module)
          string(APPEND find_lines
            "if(NOT TARGET PkgConfig::${var})\n"
            "  find_dependency(PkgConfig)\n"
            "  pkg_check_modules(${var} QUIET IMPORTED_TARGET ${module})\n"
            "  if(NOT TARGET PkgConfig::${var})\n"
            "    set(relive_FOUND FALSE)\n"
            "    set(relive_NOT_FOUND_MESSAGE \"relive needs ${module} (pkg-config module '${module}' not found)\")\n"
            "    return()\n"
            "  endif()\n"
            "endif()\n")
        endif()
      endif()
    endforeach()
    string(STRIP "${requires}" RELIVE_PC_REQUIRES)
    string(STRIP "${requires_private}" RELIVE_PC_REQUIRES_PRIVATE)
    string(STRIP "${libs}" RELIVE_PC_LIBS)
    string(STRIP "${libs_private}" RELIVE_PC_LIBS_PRIVATE)
    get_property(RELIVE_PC_DESCRIPTION GLOBAL PROPERTY RELIVE_PART_${part}_DESCRIPTION)
    get_target_property(output_name ${target} OUTPUT_NAME)
    if(NOT output_name)
      set(output_name ${target})
    endif()
    set(RELIVE_PC_NAME relive-${part})
    set(RELIVE_PC_LIB ${output_name})
    file(RELATIVE_PATH RELIVE_PC_PREFIX_FROM_PCDIR "/p/${RELIVE_INSTALL_PKGCONFIGDIR}" "/p")
    string(REGEX REPLACE "/$" "" RELIVE_PC_PREFIX_FROM_PCDIR "${RELIVE_PC_PREFIX_FROM_PCDIR}")
    configure_file(${PROJECT_SOURCE_DIR}/cmake/relive-part.pc.in
      ${PROJECT_BINARY_DIR}/pkgconfig/relive-${part}.pc @ONLY)
    install(FILES ${PROJECT_BINARY_DIR}/pkgconfig/relive-${part}.pc
      DESTINATION ${RELIVE_INSTALL_PKGCONFIGDIR} COMPONENT dev)
  endforeach()

  set(RELIVE_FIND_DEPENDENCIES "${find_lines}")
  set(RELIVE_PARTS_LIST "${parts}")
  get_property(modules GLOBAL PROPERTY RELIVE_PACKAGE_MODULES)
  set(RELIVE_PACKAGE_MODULES "${modules}")
  configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/reliveConfig.cmake.in
    ${PROJECT_BINARY_DIR}/cmake-package/reliveConfig.cmake
    INSTALL_DESTINATION ${RELIVE_INSTALL_CMAKEDIR})
  # 0.x: a minor version may break the API, so 0.2 accepts 0.2.* only.
  write_basic_package_version_file(${PROJECT_BINARY_DIR}/cmake-package/reliveConfigVersion.cmake
    COMPATIBILITY SameMinorVersion)
  install(FILES ${PROJECT_BINARY_DIR}/cmake-package/reliveConfig.cmake
                ${PROJECT_BINARY_DIR}/cmake-package/reliveConfigVersion.cmake
    DESTINATION ${RELIVE_INSTALL_CMAKEDIR} COMPONENT dev)
  install(EXPORT relive-targets NAMESPACE relive:: FILE reliveTargets.cmake
    DESTINATION ${RELIVE_INSTALL_CMAKEDIR} COMPONENT dev)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/relive
    DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev FILES_MATCHING PATTERN "*.hpp" PATTERN "*.h")
endfunction()

# Everything a user of the command gets: the command itself, its man page, completions for
# bash, zsh and fish, and the documentation.
function(relive_install_command target)
  # With shared libraries the installed command finds them at bin/../LIBDIR.
  file(RELATIVE_PATH bin_to_lib "/p/${CMAKE_INSTALL_BINDIR}" "/p/${CMAKE_INSTALL_LIBDIR}")
  set_property(TARGET ${target} PROPERTY INSTALL_RPATH "$ORIGIN/${bin_to_lib}")
  install(TARGETS ${target} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
  relive_install_strip(${target} ${CMAKE_INSTALL_BINDIR} runtime)
  install(FILES ${PROJECT_SOURCE_DIR}/docs/relive.1
    DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT runtime)
  set(completions ${PROJECT_SOURCE_DIR}/packaging/completions)
  install(FILES ${completions}/relive.bash RENAME relive
    DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions COMPONENT runtime)
  install(FILES ${completions}/_relive
    DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions COMPONENT runtime)
  install(FILES ${completions}/relive.fish
    DESTINATION ${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d COMPONENT runtime)
  install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/CHANGELOG.md
    DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT runtime)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/
    DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT runtime FILES_MATCHING PATTERN "*.md")
endfunction()

cmake_language(DEFER DIRECTORY ${PROJECT_SOURCE_DIR} CALL relive_install_package)
