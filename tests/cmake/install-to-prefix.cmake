# cmake -D BUILD_DIR=<csync build dir> -D PREFIX=<scratch prefix> -P install-to-prefix.cmake
#
# CTest fixture for the find-package and pkg-config tests: a fresh
# `cmake --install` of the current build tree into PREFIX, then a check that
# the package files landed.
foreach(_var BUILD_DIR PREFIX)
  if(NOT DEFINED ${_var})
    message(FATAL_ERROR "install-to-prefix.cmake: -D ${_var}=... is required")
  endif()
endforeach()

file(REMOVE_RECURSE "${PREFIX}")
execute_process(
  COMMAND "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${PREFIX}"
  RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "cmake --install ${BUILD_DIR} --prefix ${PREFIX} failed (${_rc})")
endif()

file(GLOB_RECURSE _configs "${PREFIX}/*/csync-config.cmake")
file(GLOB_RECURSE _versions "${PREFIX}/*/csync-config-version.cmake")
file(GLOB_RECURSE _targets "${PREFIX}/*/csync-targets.cmake")
if(NOT _configs OR NOT _versions OR NOT _targets)
  message(FATAL_ERROR "install into ${PREFIX} lacks csync-config / -config-version / -targets .cmake")
endif()
file(GLOB_RECURSE _pcs "${PREFIX}/*/csync.pc")
if(NOT _pcs)
  message(FATAL_ERROR "install into ${PREFIX} lacks csync.pc (pkg-config)")
endif()
if(NOT IS_DIRECTORY "${PREFIX}/include/csync")
  message(FATAL_ERROR "install into ${PREFIX} lacks include/csync/")
endif()
message(STATUS "csync installed into ${PREFIX}")
