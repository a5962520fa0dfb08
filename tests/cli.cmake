# End-to-end tests of the `migrate` tool (examples/migrate): every command,
# every exit code, --json parsed, progress on a pseudo-terminal, golden
# `plan` output for the seed plan files, and the broken-plan corpus of
# tests/planfiles/ (one ctest entry per file). tests/cli_test.py drives the
# binary; cli_probe reads PostgreSQL and MongoDB back with their own client
# libraries. SQLite cases always run; PostgreSQL and MongoDB cases use the
# servers of the pg_server and mongo_server fixtures (tests/postgres.cmake,
# tests/mongo.cmake), which write their URL to a file in the state folders
# below.
if(NOT TARGET migrate_cli OR NOT MIGRATE_WITH_SQLITE_ENABLED)
  message(STATUS "libmigrate: CLI tests off (they need the migrate tool and the SQLite driver)")
  return()
endif()
find_package(Python3 COMPONENTS Interpreter)
if(NOT Python3_Interpreter_FOUND)
  message(STATUS "libmigrate: CLI tests off (no python3)")
  return()
endif()

set(_cli_script ${CMAKE_CURRENT_SOURCE_DIR}/cli_test.py)
# The same folders as tests/postgres.cmake and tests/mongo.cmake (included after this file).
set(_cli_pg_state ${CMAKE_BINARY_DIR}/pg-server)
set(_cli_mongo_state ${CMAKE_BINARY_DIR}/ferretdb-server)

set(_cli_probe "")
if(MIGRATE_WITH_POSTGRES_ENABLED OR MIGRATE_WITH_MONGO_ENABLED)
  add_executable(cli_probe cli_probe.c)
  target_compile_options(cli_probe PRIVATE ${MIGRATE_WARNINGS})
  target_link_libraries(cli_probe PRIVATE PkgConfig::BSON)
  if(MIGRATE_WITH_POSTGRES_ENABLED)
    target_compile_definitions(cli_probe PRIVATE MIGRATE_HAVE_POSTGRES)
    target_link_libraries(cli_probe PRIVATE PkgConfig::MIGRATE_WITH_POSTGRES_DEP)
  endif()
  if(MIGRATE_WITH_MONGO_ENABLED)
    target_compile_definitions(cli_probe PRIVATE MIGRATE_HAVE_MONGO)
    target_link_libraries(cli_probe PRIVATE PkgConfig::MIGRATE_WITH_MONGO_DEP)
  endif()
  set(_cli_probe $<TARGET_FILE:cli_probe>)
endif()

set(_cli_env
  "MIGRATE_BIN=$<TARGET_FILE:migrate_cli>"
  "MIGRATE_SOURCE_DIR=${PROJECT_SOURCE_DIR}"
  "CLI_WORK=${CMAKE_CURRENT_BINARY_DIR}/cli-work"
  "CLI_PROBE=${_cli_probe}"
  "CLI_PG_STATE=${_cli_pg_state}"
  "CLI_MONGO_STATE=${_cli_mongo_state}")

# One entry per case_<driver>_<name> of the script.
file(STRINGS ${_cli_script} _cli_cases REGEX "^def case_[a-z]+_[a-z0-9_]+\\(")
foreach(_line ${_cli_cases})
  string(REGEX REPLACE "^def case_([a-z]+)_([a-z0-9_]+)\\(.*" "\\1" _driver "${_line}")
  string(REGEX REPLACE "^def case_([a-z]+_[a-z0-9_]+)\\(.*" "\\1" _case "${_line}")
  set(_labels cli)
  set(_fixture "")
  if(_driver STREQUAL "postgres")
    if(NOT MIGRATE_WITH_POSTGRES_ENABLED)
      continue()
    endif()
    set(_fixture pg_server)
  elseif(_driver STREQUAL "mongo")
    if(NOT MIGRATE_WITH_MONGO_ENABLED)
      continue()
    endif()
    set(_fixture mongo_server)
  endif()
  if(NOT _driver STREQUAL "any")
    list(APPEND _labels ${_driver})
  endif()
  add_test(NAME cli.${_case} COMMAND ${Python3_EXECUTABLE} ${_cli_script} ${_case})
  set_tests_properties(cli.${_case} PROPERTIES ENVIRONMENT "${_cli_env}" SKIP_RETURN_CODE 77 TIMEOUT 600
    LABELS "${_labels}")
  if(_fixture)
    set_tests_properties(cli.${_case} PROPERTIES FIXTURES_REQUIRED ${_fixture})
  endif()
endforeach()

# The broken-plan corpus: each file gives its expected error and writes nothing.
file(GLOB _cli_corpus CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/planfiles/*.json)
foreach(_file ${_cli_corpus})
  get_filename_component(_name ${_file} NAME_WE)
  add_test(NAME cli.planfile.${_name} COMMAND ${Python3_EXECUTABLE} ${_cli_script} planfile ${_file})
  set_tests_properties(cli.planfile.${_name} PROPERTIES ENVIRONMENT "${_cli_env}" TIMEOUT 120 LABELS "cli;planfile")
endforeach()

# The seed plan files build the same plans (same checksums) as the C
# examples of the same seeds: the quick start's (SQLite) and the PostgreSQL ones.
if(EXISTS ${PROJECT_SOURCE_DIR}/examples/quickstart/quickstart.c)
  migrate_test(cli_plans_quickstart SOURCES cli_plans_quickstart.c cli_plans_common.c
    LIBS PkgConfig::MIGRATE_WITH_SQLITE_DEP LABELS cli)
endif()
if(MIGRATE_WITH_POSTGRES_ENABLED AND EXISTS ${PROJECT_SOURCE_DIR}/examples/processing_jobs/plan.c
   AND EXISTS ${PROJECT_SOURCE_DIR}/examples/collections/plan.c AND EXISTS ${PROJECT_SOURCE_DIR}/examples/jobs_table/plan.c)
  migrate_test(cli_plans_postgres SOURCES cli_plans_postgres.c cli_plans_common.c ../examples/processing_jobs/plan.c
    ../examples/collections/plan.c ../examples/jobs_table/plan.c
    LIBS PkgConfig::MIGRATE_WITH_POSTGRES_DEP LABELS cli)
endif()
