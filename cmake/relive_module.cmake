# relive_add_module(NAME SOURCES...): builds lib<NAME>.so as a relive module
# (relive/module.hpp), with what makes unloading it possible and correct:
#   -fvisibility=hidden (+ inlines hidden)   nothing but the entry point is exported
#   a version script exporting only relive_module_entry_v1
#   -Wl,-Bsymbolic     the module binds to its own symbols, never to an older version's
#   -Wl,-z,now         every symbol resolved at dlopen (a missing one fails the preflight,
#                      not a request)
#   -fno-gnu-unique    (g++) GNU unique symbols would keep the library mapped forever and
#                      make a new version silently share the old one's statics
# The module links nothing of relive's: it needs only the header. It is not built with
# the project's sanitizer flags (a plain module loads into a sanitized host).
#
# Example:  relive_add_module(handler handler.cpp)
#           # host: relive::module::Module<Handler>::open({.path = $<TARGET_FILE:handler>})
set(RELIVE_MODULE_INCLUDE_DIR "${CMAKE_CURRENT_LIST_DIR}/../include" CACHE PATH
    "Directory holding relive/module.hpp, for relive_add_module")

function(relive_add_module name)
  if(NOT ARGN)
    message(FATAL_ERROR "relive_add_module(${name}): no sources")
  endif()
  add_library(${name} MODULE ${ARGN})
  set_target_properties(${name} PROPERTIES
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    POSITION_INDEPENDENT_CODE ON)
  # relive/module_entry.hpp: from relive::module when it is known (an installed package, or
  # this source tree), else from RELIVE_MODULE_INCLUDE_DIR. Include directories only: a
  # module links nothing of relive's.
  if(TARGET relive::module)
    target_include_directories(${name} PRIVATE $<TARGET_PROPERTY:relive::module,INTERFACE_INCLUDE_DIRECTORIES>)
  else()
    target_include_directories(${name} PRIVATE ${RELIVE_MODULE_INCLUDE_DIR})
  endif()
  target_compile_features(${name} PRIVATE cxx_std_20)
  target_compile_options(${name} PRIVATE $<$<CXX_COMPILER_ID:GNU>:-fno-gnu-unique>)
  set(script "${CMAKE_CURRENT_BINARY_DIR}/${name}.relive-module.map")
  file(WRITE "${script}" "{\n  global: relive_module_entry_v1;\n  local: *;\n};\n")
  target_link_options(${name} PRIVATE
    "LINKER:--version-script=${script}" "LINKER:-Bsymbolic" "LINKER:-z,now")
  set_property(TARGET ${name} APPEND PROPERTY LINK_DEPENDS "${script}")
endfunction()
