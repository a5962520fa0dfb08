# The Python binding (bindings/python): its pytest suite against this
# build's shared library, as a few ctest entries so the servers' fixtures
# and the two cores are shared well:
#
#   python.core      everything that needs no server (SQLite, errors,
#                    callbacks, plans, loading, pip install)
#   python.leak      thousands of open/run/close cycles with flat memory
#                    (not in sanitized builds)
#   python.install   pip install in fresh venvs with no MIGRATE_LIBRARY: the
#                    pure package over this tree cmake --install'ed to a
#                    prefix (pkg-config, then LD_LIBRARY_PATH), and
#                    pip install bindings/python building and bundling the
#                    library (label install; not in sanitized builds). About
#                    20 s; the first run downloads scikit-build-core into
#                    python-wheels/ here, later runs need no network
#   python.postgres  the PostgreSQL tests (fixture pg_server)
#   python.mongo     the FerretDB tests (fixture mongo_server)
#   example.python.jobs_table   examples/python/jobs_table.py, like the C seeds
#
# A missing pytest or server skips them (exit 77), loudly, and fails them
# under CI=true. Run the suite by hand with
#   MIGRATE_LIBRARY=build/libmigrate.so python3 -m pytest bindings/python/tests
find_package(Python3 COMPONENTS Interpreter)
set(_py_dir ${PROJECT_SOURCE_DIR}/bindings/python)
if(NOT Python3_Interpreter_FOUND)
  message(STATUS "libmigrate: no Python 3 interpreter: the Python binding's tests are reported as skipped")
  add_test(NAME python.missing COMMAND sh -c
    "echo 'no python3 found at configure time'; if [ \"$CI\" = true ]; then exit 1; fi; exit 77")
  set_tests_properties(python.missing PROPERTIES SKIP_RETURN_CODE 77 LABELS python)
  return()
endif()

set(_py_env
  "MIGRATE_LIBRARY=$<TARGET_FILE:migrate>"
  "MIGRATE_WHEELHOUSE=${CMAKE_BINARY_DIR}/python-wheels"
  "PYTHONDONTWRITEBYTECODE=1"
  "PYTHONPATH=${_py_dir}")

# A sanitized library loads into an uninstrumented python only after its
# runtime: preload it. Python's own allocations are not ours to report.
if(MIGRATE_SANITIZE)
  set(_py_preload "")
  if(CMAKE_C_COMPILER_ID MATCHES "Clang")
    set(_py_runtimes libclang_rt.asan-${CMAKE_SYSTEM_PROCESSOR}.so)
  else()
    set(_py_runtimes libasan.so libubsan.so)
  endif()
  foreach(_rt ${_py_runtimes})
    execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=${_rt}
      OUTPUT_VARIABLE _rt_path OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(EXISTS "${_rt_path}")
      list(APPEND _py_preload ${_rt_path})
    endif()
  endforeach()
  list(JOIN _py_preload ":" _py_preload)
  set(_py_sanitize_env "LD_PRELOAD=${_py_preload}" "MIGRATE_SANITIZE=1"
    "ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0")
  list(APPEND _py_env ${_py_sanitize_env})
  # The example's launcher preloads for python alone (psql, run by the
  # scripts around it, hangs with the runtime preloaded).
  list(JOIN _py_sanitize_env "' '" _py_launcher_env)
  set(_py_launcher_env "'${_py_launcher_env}' ")
else()
  set(_py_launcher_env "")
endif()

# migrate_pytest(NAME PYTEST-ARGS...)
file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/python-tests)
function(migrate_pytest name)
  add_test(NAME python.${name}
    COMMAND ${Python3_EXECUTABLE} ${_py_dir}/tests/run_ctest.py
      -p no:cacheprovider -q -rs --basetemp=${CMAKE_BINARY_DIR}/python-tests/${name}
      --rootdir=${_py_dir} ${ARGN}
    WORKING_DIRECTORY ${_py_dir})
  set_tests_properties(python.${name} PROPERTIES ENVIRONMENT "${_py_env}" SKIP_RETURN_CODE 77
    TIMEOUT 900 LABELS python)
endfunction()

# The server-less tests run on SQLite.
if(MIGRATE_WITH_SQLITE_ENABLED)
  migrate_pytest(core tests -m "not postgres and not mongo" --ignore=tests/test_leak.py
    --ignore=tests/test_install.py)
  # Resident memory means nothing under AddressSanitizer (its quarantine holds freed blocks).
  # The installs load or build an uninstrumented library.
  if(NOT MIGRATE_SANITIZE)
    migrate_pytest(leak tests/test_leak.py)
    migrate_pytest(install tests/test_install.py)
    set_tests_properties(python.install PROPERTIES
      ENVIRONMENT "${_py_env};MIGRATE_BUILD_DIR=${CMAKE_BINARY_DIR};MIGRATE_CMAKE=${CMAKE_COMMAND}"
      TIMEOUT 900 LABELS "python;install")
  endif()
endif()

if(MIGRATE_WITH_POSTGRES_ENABLED)
  migrate_pytest(postgres tests -m postgres)
  set(_py_pg_env "${_py_env};MIGRATE_PG_URL_FILE=${CMAKE_BINARY_DIR}/pg-server/url")
  if(TARGET jobs_table)
    # The C seed 003 example, to show both programs share one history.
    list(APPEND _py_pg_env "MIGRATE_C_JOBS_TABLE=$<TARGET_FILE:jobs_table>")
  endif()
  set_tests_properties(python.postgres PROPERTIES FIXTURES_REQUIRED pg_server
    ENVIRONMENT "${_py_pg_env}" LABELS "python;postgres")

  # The seed 003 example the way a user runs it (examples/pg_common/run.sh),
  # through a launcher that pins this interpreter and library.
  file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/python/jobs_table
    CONTENT "#!/bin/sh\nexec env ${_py_launcher_env}MIGRATE_LIBRARY='$<TARGET_FILE:migrate>' \
PYTHONPATH='${_py_dir}' '${Python3_EXECUTABLE}' '${PROJECT_SOURCE_DIR}/examples/python/jobs_table.py' \"$@\"\n"
    FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
  add_test(NAME example.python.jobs_table
    COMMAND ${PROJECT_SOURCE_DIR}/examples/pg_common/run.sh ${CMAKE_BINARY_DIR}/python/jobs_table
            ${CMAKE_BINARY_DIR}/pg-server ex_py_jobs_table --render --cycle)
  set_tests_properties(example.python.jobs_table PROPERTIES FIXTURES_REQUIRED pg_server SKIP_RETURN_CODE 77
    TIMEOUT 300 LABELS "example;python;postgres")
endif()

if(MIGRATE_WITH_MONGO_ENABLED)
  migrate_pytest(mongo tests -m mongo)
  set_tests_properties(python.mongo PROPERTIES FIXTURES_REQUIRED mongo_server
    ENVIRONMENT "${_py_env};MIGRATE_MONGO_URL_FILE=${CMAKE_BINARY_DIR}/ferretdb-server/url" LABELS "python;mongo")
endif()
