# PostgreSQL driver tests, against a real PostgreSQL 15 started once for the
# suite by scripts/pg-server.sh (a ctest fixture); its URL is written to
# ${MIGRATE_PG_STATE}/url and read by every test (tests/postgres_util.c).
# Each test works in a database of its own. Under CI=true a missing server
# fails the tests; elsewhere they are skipped, loudly.
if(NOT MIGRATE_WITH_POSTGRES_ENABLED)
  return()
endif()

set(MIGRATE_PG_STATE ${CMAKE_BINARY_DIR}/pg-server)
set(MIGRATE_PG_SCRIPT ${PROJECT_SOURCE_DIR}/scripts/pg-server.sh)

add_test(NAME postgres.server.start COMMAND ${MIGRATE_PG_SCRIPT} start ${MIGRATE_PG_STATE})
set_tests_properties(postgres.server.start PROPERTIES FIXTURES_SETUP pg_server TIMEOUT 120 LABELS postgres)
add_test(NAME postgres.server.stop COMMAND ${MIGRATE_PG_SCRIPT} stop ${MIGRATE_PG_STATE})
set_tests_properties(postgres.server.stop PROPERTIES FIXTURES_CLEANUP pg_server TIMEOUT 120 LABELS postgres)

# Tests and examples that need the server call this on their ctest names.
function(migrate_pg_fixture)
  set_tests_properties(${ARGN} PROPERTIES FIXTURES_REQUIRED pg_server
    ENVIRONMENT "MIGRATE_PG_URL_FILE=${MIGRATE_PG_STATE}/url" LABELS postgres)
endfunction()

set(_pg_util postgres_util.c)
foreach(_name postgres_ops postgres_resume postgres_lock postgres_seeds postgres_lint)
  if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${_name}.c)
    set(_extra "")
    if(_name STREQUAL "postgres_seeds")
      set(_extra ../examples/processing_jobs/plan.c ../examples/collections/plan.c ../examples/jobs_table/plan.c)
    endif()
    migrate_test(${_name} SOURCES ${_name}.c ${_pg_util} ${_extra}
      LIBS PkgConfig::MIGRATE_WITH_POSTGRES_DEP LABELS postgres)
  endif()
endforeach()

get_property(_all_tests DIRECTORY PROPERTY TESTS)
foreach(_t ${_all_tests})
  if(_t MATCHES "^postgres_")
    migrate_pg_fixture(${_t})
  endif()
endforeach()

# The conformance suite (tests/conformance.c) against PostgreSQL; INTERNAL: it arms the fault points.
migrate_test(conformance_postgres
  SOURCES conformance.c conformance_postgres.c postgres_util.c
  LIBS PkgConfig::MIGRATE_WITH_POSTGRES_DEP
  LABELS postgres conformance
  INTERNAL)
get_property(_all_tests DIRECTORY PROPERTY TESTS)
foreach(_t ${_all_tests})
  if(_t MATCHES "^conformance_postgres\\.")
    migrate_pg_fixture(${_t})
  endif()
endforeach()
