# cmake -DPROGRAM=... -DWORK_ROOT=... -P run-in-tempdir.cmake
# Runs PROGRAM (without arguments, so it uses its default database path) in a
# new directory under WORK_ROOT, removes the directory, and fails unless the
# program exited 0.
string(RANDOM LENGTH 8 ALPHABET "abcdefghijklmnopqrstuvwxyz0123456789" suffix)
set(dir "${WORK_ROOT}/example-tmp-${suffix}")
file(MAKE_DIRECTORY "${dir}")
execute_process(COMMAND "${PROGRAM}" WORKING_DIRECTORY "${dir}" RESULT_VARIABLE result)
file(REMOVE_RECURSE "${dir}")
if(NOT result EQUAL 0)
  message(FATAL_ERROR "${PROGRAM} exited with ${result}")
endif()
