# The helpers of the consumer scripts (run.cmake, mongo_c_driver_2.cmake),
# included by each with include(${CMAKE_CURRENT_LIST_DIR}/common.cmake).

function(fail msg)
  message(FATAL_ERROR "${msg}")
endfunction()

# Runs a command; fails the test with its output unless it exits with 0.
function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    string(JOIN " " cmd ${ARGN})
    fail("${what} failed (${rc}):\n  ${cmd}\n${out}")
  endif()
  set(run_output "${out}" PARENT_SCOPE)
endfunction()
