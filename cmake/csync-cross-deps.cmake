# Test and benchmark dependencies that a cross build (the `windows` preset:
# mingw-w64, cmake/toolchains/mingw-w64-wine.cmake) cannot take from the host
# as packages. Included by the top-level CMakeLists.txt; never installed.
#
#   csync_require_gtest()
#       Makes GTest::gtest and GTest::gtest_main exist: find_package(GTest)
#       when that works (native builds: Debian's libgtest-dev), otherwise
#       googletest built from source -- CSYNC_GTEST_SOURCE_DIR, Debian's
#       `googletest` package at /usr/src/googletest by default -- which is
#       how the mingw build gets a Windows gtest. Idempotent; the targets it
#       builds are global, so every directory sees them.
#
#   csync_require_host_headers(<target> <subdir> <what>)
#       Cross builds only: an INTERFACE IMPORTED target whose include
#       directory holds just <subdir> of the host's header-only package
#       (CSYNC_HOST_INCLUDE_DIR, default /usr/include), through a symbolic
#       link in the build tree. Putting the host's /usr/include itself on a
#       mingw compile line would shadow the mingw C library with glibc's.
#       Used for nlohmann-json (nlohmann/) and CLI11 (CLI/), both header-only.
include_guard(GLOBAL)

set(CSYNC_GTEST_SOURCE_DIR "/usr/src/googletest" CACHE PATH
    "googletest sources, built when find_package(GTest) finds no usable GTest (cross builds)")
set(CSYNC_HOST_INCLUDE_DIR "/usr/include" CACHE PATH
    "Where a cross build takes header-only host packages (nlohmann-json, CLI11) from")

function(csync_require_gtest)
  if(TARGET GTest::gtest_main)
    return()
  endif()
  if(NOT CMAKE_CROSSCOMPILING)
    find_package(GTest QUIET)
    if(TARGET GTest::gtest_main)
      return()
    endif()
  endif()
  if(NOT EXISTS "${CSYNC_GTEST_SOURCE_DIR}/CMakeLists.txt")
    message(FATAL_ERROR "csync: the tests need GoogleTest: no GTest package for this "
                        "toolchain and no sources at CSYNC_GTEST_SOURCE_DIR="
                        "'${CSYNC_GTEST_SOURCE_DIR}' (Debian: apt-get install googletest)")
  endif()
  message(STATUS "csync: building GoogleTest from ${CSYNC_GTEST_SOURCE_DIR}")
  set(BUILD_GMOCK OFF CACHE BOOL "" FORCE)
  set(INSTALL_GTEST OFF CACHE BOOL "" FORCE)
  add_subdirectory("${CSYNC_GTEST_SOURCE_DIR}" "${PROJECT_BINARY_DIR}/_deps/googletest"
                   EXCLUDE_FROM_ALL)  # gtest marks its own include directory SYSTEM
  if(NOT TARGET GTest::gtest_main)  # googletest >= 1.11 defines these aliases itself
    add_library(GTest::gtest ALIAS gtest)
    add_library(GTest::gtest_main ALIAS gtest_main)
  endif()
endfunction()

function(csync_require_host_headers target subdir what)
  if(TARGET ${target})
    return()
  endif()
  set(source "${CSYNC_HOST_INCLUDE_DIR}/${subdir}")
  if(NOT IS_DIRECTORY "${source}")
    message(FATAL_ERROR "csync: ${what} headers not found at ${source} "
                        "(set CSYNC_HOST_INCLUDE_DIR, or install the Debian package)")
  endif()
  set(stage "${PROJECT_BINARY_DIR}/_deps/host-headers/${subdir}")
  file(MAKE_DIRECTORY "${stage}")
  if(NOT EXISTS "${stage}/${subdir}")
    file(CREATE_LINK "${source}" "${stage}/${subdir}" SYMBOLIC)
  endif()
  add_library(${target} INTERFACE IMPORTED GLOBAL)
  set_target_properties(${target} PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${stage}"
    INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${stage}")
  message(STATUS "csync: ${what} from ${source} (header-only, cross build)")
endfunction()
