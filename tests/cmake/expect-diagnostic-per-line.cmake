# cmake -D BUILD_DIR=<dir> -D TARGET=<target> -D SOURCE=<file> -D MARKER=<text>
#       -D DIAGNOSTIC=<regex> -P expect-diagnostic-per-line.cmake
#
# Builds one (EXCLUDE_FROM_ALL) target of BUILD_DIR at test time; the build
# must fail, with an error matching DIAGNOSTIC on every line of SOURCE that
# contains MARKER, and no error anywhere else. One compile then checks many
# independent things (e.g. one [[nodiscard]] per marked line): a marked line
# without its error fails the test even though the other lines still break
# the build. Needs GCC/Clang-style "file:line:col: error: ..." diagnostics.
foreach(_var BUILD_DIR TARGET SOURCE MARKER DIAGNOSTIC)
  if(NOT DEFINED ${_var})
    message(FATAL_ERROR "expect-diagnostic-per-line.cmake: -D ${_var}=... is required")
  endif()
endforeach()

# The marked lines' numbers (1-based) and text. Characters that CMake lists
# treat specially are neutralised before splitting the file into lines.
file(READ "${SOURCE}" _text)
foreach(_special "\\" ";" "[" "]")
  string(REPLACE "${_special}" "_" _text "${_text}")
endforeach()
string(REPLACE "\n" ";" _lines "${_text}")
set(_marked "")
set(_n 0)
foreach(_line IN LISTS _lines)
  math(EXPR _n "${_n} + 1")
  string(FIND "${_line}" "${MARKER}" _at)
  if(NOT _at EQUAL -1)
    list(APPEND _marked ${_n})
    string(STRIP "${_line}" _line_text_${_n})
  endif()
endforeach()
list(LENGTH _marked _expected)
if(_expected EQUAL 0)
  message(FATAL_ERROR "${SOURCE} has no line marked '${MARKER}'")
endif()

execute_process(
  COMMAND "${CMAKE_COMMAND}" --build "${BUILD_DIR}" --target "${TARGET}"
  RESULT_VARIABLE _rc
  OUTPUT_VARIABLE _out
  ERROR_VARIABLE _out)
if(_rc EQUAL 0)
  message(FATAL_ERROR "${TARGET}: expected a compile error on each of the ${_expected} lines "
                      "marked '${MARKER}' in ${SOURCE}, but it built")
endif()

get_filename_component(_name "${SOURCE}" NAME)
string(REGEX REPLACE "([.+*?^$()])" "\\\\\\1" _name_re "${_name}")

set(_missing "")
foreach(_line IN LISTS _marked)
  if(NOT _out MATCHES "${_name_re}:${_line}:[0-9]+: error: ${DIAGNOSTIC}")
    string(APPEND _missing "\n  ${_name}:${_line}: ${_line_text_${_line}}")
  endif()
endforeach()

# Every error must be one of the expected ones: an error elsewhere means the
# file fails for some other reason as well.
# (Diagnostics hold ';' and brackets, e.g. "[with S = ...; ...]": flattened
# first, so that each error stays one list element.)
set(_unexpected "")
set(_flat "${_out}")
foreach(_special "\\" ";" "[" "]")
  string(REPLACE "${_special}" "_" _flat "${_flat}")
endforeach()
string(REGEX MATCHALL "[^\n]*:[0-9]+:[0-9]+: (fatal )?error: [^\n]*" _errors "${_flat}")
foreach(_error IN LISTS _errors)
  set(_ok FALSE)
  foreach(_line IN LISTS _marked)
    if(_error MATCHES "${_name_re}:${_line}:[0-9]+: error: ${DIAGNOSTIC}")
      set(_ok TRUE)
      break()
    endif()
  endforeach()
  if(NOT _ok)
    string(APPEND _unexpected "\n  ${_error}")
  endif()
endforeach()

if(_missing OR _unexpected)
  message("${_out}")
  if(_missing)
    message(SEND_ERROR "${TARGET}: no error matching '${DIAGNOSTIC}' on these marked lines:${_missing}")
  endif()
  if(_unexpected)
    message(SEND_ERROR "${TARGET}: errors other than the expected ones:${_unexpected}")
  endif()
  message(FATAL_ERROR "${TARGET}: see above")
endif()
message(STATUS "${TARGET}: failed to compile, as expected: '${DIAGNOSTIC}' on each of the "
               "${_expected} marked lines and nowhere else")
