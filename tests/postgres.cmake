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
foreach(_name postgres_ops postgres_backfill postgres_resume postgres_lock postgres_seeds postgres_lint postgres_probe)
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

# Connection poolers: PgBouncer in transaction and in session pooling mode in
# front of the test server (scripts/pgbouncer-server.sh), for the fleet tests
# of tests/postgres_pooler.c. Static build only: 64 processes per test.
set(MIGRATE_PGBOUNCER_SCRIPT ${PROJECT_SOURCE_DIR}/scripts/pgbouncer-server.sh)
foreach(_mode transaction session)
  set(_state ${CMAKE_BINARY_DIR}/pgbouncer-${_mode})
  add_test(NAME postgres.pgbouncer_${_mode}.start
    COMMAND ${MIGRATE_PGBOUNCER_SCRIPT} start ${_state} ${MIGRATE_PG_STATE} ${_mode})
  set_tests_properties(postgres.pgbouncer_${_mode}.start PROPERTIES FIXTURES_SETUP pgbouncer_${_mode}
    FIXTURES_REQUIRED pg_server TIMEOUT 60 LABELS postgres)
  add_test(NAME postgres.pgbouncer_${_mode}.stop COMMAND ${MIGRATE_PGBOUNCER_SCRIPT} stop ${_state})
  set_tests_properties(postgres.pgbouncer_${_mode}.stop PROPERTIES FIXTURES_CLEANUP pgbouncer_${_mode}
    FIXTURES_REQUIRED pg_server
    TIMEOUT 60 LABELS postgres)
endforeach()
migrate_test(postgres_pooler SOURCES postgres_pooler.c fleet.c ${_pg_util}
  LIBS PkgConfig::MIGRATE_WITH_POSTGRES_DEP LABELS postgres INTERNAL)
# The tests of `prefix` need the server and the other fixtures given, with the environment given.
function(migrate_pg_more_fixtures prefix fixtures env)
  get_property(_tests DIRECTORY PROPERTY TESTS)
  foreach(_t ${_tests})
    if(_t MATCHES "^${prefix}\\.")
      set_tests_properties(${_t} PROPERTIES FIXTURES_REQUIRED "pg_server;${fixtures}"
        ENVIRONMENT "MIGRATE_PG_URL_FILE=${MIGRATE_PG_STATE}/url;${env}" LABELS postgres)
    endif()
  endforeach()
endfunction()
migrate_pg_more_fixtures(postgres_pooler "pgbouncer_transaction;pgbouncer_session"
  "MIGRATE_PGBOUNCER_TXN_URL_FILE=${CMAKE_BINARY_DIR}/pgbouncer-transaction/url;MIGRATE_PGBOUNCER_SESSION_URL_FILE=${CMAKE_BINARY_DIR}/pgbouncer-session/url")

# The fleet test's PostgreSQL cases (tests/fleet.cmake): straight to the
# server, and through the transaction pooler.
migrate_pg_fixture(fleet.postgres_advisory.static)
migrate_pg_more_fixtures(fleet.postgres_pgbouncer_lease pgbouncer_transaction
  "MIGRATE_PGBOUNCER_TXN_URL_FILE=${CMAKE_BINARY_DIR}/pgbouncer-transaction/url")

# A hot standby of the test server (scripts/pg-server.sh standby: pg_basebackup
# -R, streaming replication, another port), for tests/postgres_standby.c.
set(MIGRATE_PG_STANDBY_STATE ${CMAKE_BINARY_DIR}/pg-standby)
add_test(NAME postgres.standby.start COMMAND ${MIGRATE_PG_SCRIPT} standby ${MIGRATE_PG_STANDBY_STATE} ${MIGRATE_PG_STATE})
set_tests_properties(postgres.standby.start PROPERTIES FIXTURES_SETUP pg_standby FIXTURES_REQUIRED pg_server
  TIMEOUT 120 LABELS postgres)
add_test(NAME postgres.standby.stop COMMAND ${MIGRATE_PG_SCRIPT} stop ${MIGRATE_PG_STANDBY_STATE})
set_tests_properties(postgres.standby.stop PROPERTIES FIXTURES_CLEANUP pg_standby FIXTURES_REQUIRED pg_server
  TIMEOUT 120 LABELS postgres)
migrate_test(postgres_standby SOURCES postgres_standby.c ${_pg_util}
  LIBS PkgConfig::MIGRATE_WITH_POSTGRES_DEP LABELS postgres INTERNAL)
migrate_pg_more_fixtures(postgres_standby pg_standby "MIGRATE_PG_STANDBY_URL_FILE=${MIGRATE_PG_STANDBY_STATE}/url")
