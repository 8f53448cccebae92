# cmake -D PC_DIR=<prefix>/share/pkgconfig -D CXX=<compiler> [-D CXX_FLAGS=<flags>]
#       -D SOURCE=<consumer.cpp> -D WORK_DIR=<dir> [-D EXPECT_DEFINITIONS=<a|b|...>]
#       -P pkg-config-consumer.cmake
#
# The pkg-config consumer test: with PKG_CONFIG_PATH pointing at the csync.pc
# of an installed csync (the packaging.install fixture), compiles SOURCE with
#   CXX CXX_FLAGS -std=c++20 SOURCE $(pkg-config --cflags --libs csync)
# -- nothing else: no -I, -D or -l of its own -- and runs it. The Cflags must
# carry each of EXPECT_DEFINITIONS ('|'-separated: csync::csync's
# INTERFACE_COMPILE_DEFINITIONS), so pkg-config and find_package(csync)
# consumers see the same configuration. Prints "skipped: ..." (the test's
# SKIP_REGULAR_EXPRESSION) where pkg-config is not installed.
cmake_policy(VERSION 3.21)  # IN_LIST
foreach(_var PC_DIR CXX SOURCE WORK_DIR)
  if(NOT DEFINED ${_var})
    message(FATAL_ERROR "pkg-config-consumer.cmake: -D ${_var}=... is required")
  endif()
endforeach()

find_program(_pkg_config NAMES pkg-config pkgconf)
if(NOT _pkg_config)
  message("skipped: pkg-config not found (Debian/Ubuntu: apt-get install pkg-config; "
          "scripts/install-deps.sh installs it)")
  return()
endif()

if(NOT EXISTS "${PC_DIR}/csync.pc")
  message(FATAL_ERROR "${PC_DIR}/csync.pc does not exist (did packaging.install run?)")
endif()
# Ours first; liburing.pc (csync.pc's Requires) stays on the default search path.
if(DEFINED ENV{PKG_CONFIG_PATH} AND NOT "$ENV{PKG_CONFIG_PATH}" STREQUAL "")
  set(ENV{PKG_CONFIG_PATH} "${PC_DIR}:$ENV{PKG_CONFIG_PATH}")
else()
  set(ENV{PKG_CONFIG_PATH} "${PC_DIR}")
endif()

function(_csync_pkg_config out)
  execute_process(COMMAND "${_pkg_config}" --print-errors ${ARGN} csync
                  RESULT_VARIABLE _rc OUTPUT_VARIABLE _stdout ERROR_VARIABLE _stderr
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "pkg-config ${ARGN} csync failed (${_rc}):\n${_stderr}")
  endif()
  set(${out} "${_stdout}" PARENT_SCOPE)
endfunction()

_csync_pkg_config(_cflags --cflags)
_csync_pkg_config(_libs --libs)
message(STATUS "pkg-config --cflags csync: ${_cflags}")
message(STATUS "pkg-config --libs csync:   ${_libs}")

if(DEFINED EXPECT_DEFINITIONS AND NOT EXPECT_DEFINITIONS STREQUAL "")
  string(REPLACE "|" ";" _defs "${EXPECT_DEFINITIONS}")
  separate_arguments(_cflag_list UNIX_COMMAND "${_cflags}")
  foreach(_def IN LISTS _defs)
    if(NOT "-D${_def}" IN_LIST _cflag_list)
      message(FATAL_ERROR "pkg-config --cflags csync lacks -D${_def}, which csync::csync "
                          "carries (INTERFACE_COMPILE_DEFINITIONS)")
    endif()
  endforeach()
endif()

separate_arguments(_flags UNIX_COMMAND "${CXX_FLAGS} -std=c++20 ${_cflags}")
separate_arguments(_link UNIX_COMMAND "${_libs}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(_exe "${WORK_DIR}/csync-pkg-config-consumer")
execute_process(COMMAND "${CXX}" ${_flags} "${SOURCE}" -o "${_exe}" ${_link}
                RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _out)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "compiling ${SOURCE} with pkg-config's flags alone failed (${_rc}):\n${_out}")
endif()

execute_process(COMMAND "${_exe}" RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _out)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "${_exe} failed (${_rc}):\n${_out}")
endif()
message(STATUS "built with pkg-config alone and ran ${SOURCE}")
