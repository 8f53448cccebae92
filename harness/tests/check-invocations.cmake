# `csync-bench run --invocations 2`, end to end: two child processes, their
# reports kept, and one merged report whose cells carry both invocations'
# repetitions and summaries over the invocations' medians.
#   cmake -DBENCH=csync-bench -DSCENARIO=x.json -DOUT=dir/report.json -P check-invocations.cmake
get_filename_component(dir "${OUT}" DIRECTORY)
file(REMOVE_RECURSE "${dir}")
file(MAKE_DIRECTORY "${dir}")
execute_process(COMMAND "${BENCH}" run "${SCENARIO}" --smoke --seed 1 --invocations 2 -o "${OUT}"
                RESULT_VARIABLE rc ERROR_VARIABLE stderr)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "csync-bench --invocations 2 exited with ${rc}:\n${stderr}")
endif()
string(REGEX REPLACE "\\.json$" "" stem "${OUT}")
foreach(k 1 2)
  if(NOT EXISTS "${stem}.invocation-${k}.json")
    message(FATAL_ERROR "invocation ${k}'s report ${stem}.invocation-${k}.json is missing")
  endif()
endforeach()
file(READ "${OUT}" report)
string(JSON invocations GET "${report}" run invocations)
if(NOT invocations EQUAL 2)
  message(FATAL_ERROR "run.invocations is ${invocations}, not 2")
endif()
string(JSON cells LENGTH "${report}" results)
math(EXPR last "${cells} - 1")
set(checked 0)
foreach(i RANGE ${last})
  string(JSON status GET "${report}" results ${i} status)
  if(NOT status STREQUAL "ok")
    continue()
  endif()
  string(JSON repetitions LENGTH "${report}" results ${i} repetitions)
  string(JSON second GET "${report}" results ${i} repetitions 1 invocation)
  string(JSON method GET "${report}" results ${i} aggregates throughput ci_method)
  if(NOT repetitions EQUAL 2 OR NOT second EQUAL 2 OR
     NOT method STREQUAL "order_statistics_of_invocation_medians")
    string(JSON name GET "${report}" results ${i} name)
    message(FATAL_ERROR "${name}: ${repetitions} repetitions, the second from invocation "
                        "${second}, throughput interval by ${method}")
  endif()
  math(EXPR checked "${checked} + 1")
endforeach()
if(checked EQUAL 0)
  message(FATAL_ERROR "no ok cell in the merged report")
endif()
message(STATUS "${checked} merged cells checked")

# --resume keeps complete invocation reports made with the same settings...
execute_process(COMMAND "${BENCH}" run "${SCENARIO}" --smoke --seed 1 --invocations 2 -o "${OUT}" --resume
                RESULT_VARIABLE rc ERROR_VARIABLE stderr)
string(REGEX MATCHALL "is complete" kept "${stderr}")  # not "; kept": a CMake list separator
list(LENGTH kept kept_count)
if(NOT rc EQUAL 0 OR NOT kept_count EQUAL 2)
  message(FATAL_ERROR "--resume of two complete invocations: status ${rc}, ${kept_count} kept:\n${stderr}")
endif()
# ... and refuses them for other settings, naming the setting.
execute_process(COMMAND "${BENCH}" run "${SCENARIO}" --smoke --seed 1 --invocations 2 -o "${OUT}" --resume
                        --strategies futex
                RESULT_VARIABLE rc ERROR_VARIABLE stderr)
if(NOT rc EQUAL 2 OR NOT stderr MATCHES "strategies_filter")
  message(FATAL_ERROR "--resume with other --strategies: status ${rc}, not refused by name:\n${stderr}")
endif()
message(STATUS "--resume keeps and refuses invocation reports as it should")
