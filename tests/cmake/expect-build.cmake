# cmake -D BUILD_DIR=<dir> -D TARGET=<target> -D EXPECT=PASS|FAIL
#       [-D EXPECT_REGEX=<regex>] -P expect-build.cmake
#
# Builds one (EXCLUDE_FROM_ALL) target of BUILD_DIR at test time.
#   EXPECT=PASS  the build must succeed.
#   EXPECT=FAIL  the build must fail, and its output must match EXPECT_REGEX
#                when given (so an unrelated error doesn't count as a pass).
foreach(_var BUILD_DIR TARGET EXPECT)
  if(NOT DEFINED ${_var})
    message(FATAL_ERROR "expect-build.cmake: -D ${_var}=... is required")
  endif()
endforeach()

execute_process(
  COMMAND "${CMAKE_COMMAND}" --build "${BUILD_DIR}" --target "${TARGET}"
  RESULT_VARIABLE _rc
  OUTPUT_VARIABLE _out
  ERROR_VARIABLE _out)

if(EXPECT STREQUAL "PASS")
  if(NOT _rc EQUAL 0)
    message("${_out}")
    message(FATAL_ERROR "${TARGET}: expected to compile, but the build failed (${_rc})")
  endif()
  message(STATUS "${TARGET}: compiled, as expected")
elseif(EXPECT STREQUAL "FAIL")
  if(_rc EQUAL 0)
    message(FATAL_ERROR "${TARGET}: expected a compile error, but it built")
  endif()
  if(DEFINED EXPECT_REGEX AND NOT _out MATCHES "${EXPECT_REGEX}")
    message("${_out}")
    message(FATAL_ERROR "${TARGET}: failed to build, but the output does not mention "
                        "'${EXPECT_REGEX}'; it may be failing for another reason")
  endif()
  message(STATUS "${TARGET}: failed to compile, as expected (output mentions '${EXPECT_REGEX}')")
else()
  message(FATAL_ERROR "expect-build.cmake: EXPECT must be PASS or FAIL, not '${EXPECT}'")
endif()
