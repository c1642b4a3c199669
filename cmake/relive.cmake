# Shared build settings for every relive target.

add_library(relive_build_flags INTERFACE)
# Every relive target (command, tests, benchmarks, examples) is C++20, as the parts are.
target_compile_features(relive_build_flags INTERFACE cxx_std_20)
# -Wshadow: a local hiding a member or outer name; -Wconversion / -Wsign-conversion: an
# implicit narrowing or sign change (write the static_cast where it is intended).
target_compile_options(relive_build_flags INTERFACE -Wall -Wextra -Wpedantic
  -Wshadow -Wconversion -Wsign-conversion)
if(RELIVE_WERROR)
  target_compile_options(relive_build_flags INTERFACE -Werror)
endif()
if(RELIVE_SANITIZE)
  target_compile_options(relive_build_flags INTERFACE -fsanitize=${RELIVE_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(relive_build_flags INTERFACE -fsanitize=${RELIVE_SANITIZE})
endif()

# relive_add_part(NAME [DESCRIPTION "one line"] [DEPS ...] [CMAKE_MODULES file...]): the library relive_NAME
# (relive::NAME) from src/NAME/*.cpp, public headers in include/relive/, internal headers
# beside the sources (out of users' sight). DEPS are public: a user of the part gets them
# too; add private ones with target_link_libraries(relive_NAME PRIVATE ...) after this call.
# Static by default; shared (with a SONAME) when BUILD_SHARED_LIBS is ON. The part is
# installed and exported (relive_install_part, cmake/relive_install.cmake); CMAKE_MODULES
# are CMake files shipped with the package and included by find_package(relive).
function(relive_add_part name)
  cmake_parse_arguments(ARG "" "DESCRIPTION" "DEPS;CMAKE_MODULES" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  add_library(relive_${name} ${sources})
  add_library(relive::${name} ALIAS relive_${name})
  target_compile_features(relive_${name} PUBLIC cxx_std_20)
  set_target_properties(relive_${name} PROPERTIES POSITION_INDEPENDENT_CODE ON)  # linked into the Python module
  target_include_directories(relive_${name}
    PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(relive_${name} PUBLIC ${ARG_DEPS} PRIVATE $<BUILD_INTERFACE:relive_build_flags>)
  set(description_args)
  if(ARG_DESCRIPTION)
    set(description_args DESCRIPTION "${ARG_DESCRIPTION}")
  endif()
  relive_install_part(${name} ${description_args} CMAKE_MODULES ${ARG_CMAKE_MODULES})
endfunction()

# Test code is compiled for build time, not run time: -Og and line tables only (enough for
# a backtrace, gdb's `bt` and a sanitizer's report) halve its compile time against -O2 -g,
# and tests are more than half of the build. The libraries, the command and the benches
# under test keep the preset's flags; a Debug build keeps -O0. Per-file flags come after
# the configuration's, so these win.
set(RELIVE_TEST_COMPILE_OPTIONS $<$<NOT:$<CONFIG:Debug>>:-Og> -g1)

# relive_add_tests(PART [DEPS ...]): one GoogleTest binary per part from tests/PART/*.cpp,
# each test registered with CTest (discovered when ctest runs, so builds stay fast).
function(relive_add_tests part)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${part}/*.cpp)
  if(NOT sources)
    return()
  endif()
  add_executable(test_${part} ${sources})
  target_link_libraries(test_${part} PRIVATE ${ARG_DEPS} relive_test_support GTest::gtest_main GTest::gmock relive_build_flags)
  target_compile_options(test_${part} PRIVATE ${RELIVE_TEST_COMPILE_OPTIONS})
  gtest_discover_tests(test_${part}
    DISCOVERY_MODE PRE_TEST
    PROPERTIES LABELS ${part} TIMEOUT 120
    ENVIRONMENT "RELIVE_BIN=$<TARGET_FILE:relive>;RELIVE_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()
