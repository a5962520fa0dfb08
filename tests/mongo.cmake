# MongoDB driver tests, against a real FerretDB 1.24.2 (SQLite backend)
# built by scripts/install-ferretdb.sh and started once for the suite by
# scripts/ferretdb-server.sh (a ctest fixture); its URL is written to
# ${MIGRATE_MONGO_STATE}/url and read by every test (tests/mongo_util.c).
# Each test works in a database of its own; tests that kill or restart a
# server start private ones with the same script. Under CI=true a missing
# server fails the tests; elsewhere they are skipped, loudly.
if(NOT MIGRATE_WITH_MONGO_ENABLED)
  return()
endif()

set(MIGRATE_MONGO_STATE ${CMAKE_BINARY_DIR}/ferretdb-server)
set(MIGRATE_FERRETDB_SCRIPT ${PROJECT_SOURCE_DIR}/scripts/ferretdb-server.sh)

# Building FerretDB the first time takes minutes; later runs find it cached.
add_test(NAME mongo.server.start COMMAND bash -c
  "'${PROJECT_SOURCE_DIR}/scripts/install-ferretdb.sh' >/dev/null && '${MIGRATE_FERRETDB_SCRIPT}' start '${MIGRATE_MONGO_STATE}'")
set_tests_properties(mongo.server.start PROPERTIES FIXTURES_SETUP mongo_server TIMEOUT 1800 LABELS mongo)
add_test(NAME mongo.server.stop COMMAND ${MIGRATE_FERRETDB_SCRIPT} destroy ${MIGRATE_MONGO_STATE})
set_tests_properties(mongo.server.stop PROPERTIES FIXTURES_CLEANUP mongo_server TIMEOUT 120 LABELS mongo)

# Tests and examples that need the server call this on their ctest names.
function(migrate_mongo_fixture)
  set_tests_properties(${ARGN} PROPERTIES FIXTURES_REQUIRED mongo_server
    ENVIRONMENT "MIGRATE_MONGO_URL_FILE=${MIGRATE_MONGO_STATE}/url;MIGRATE_FERRETDB_SCRIPT=${MIGRATE_FERRETDB_SCRIPT}"
    LABELS mongo)
endfunction()

foreach(_name mongo_ops mongo_resume mongo_lock mongo_seeds mongo_lint)
  if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${_name}.c)
    set(_extra "")
    if(NOT _name STREQUAL "mongo_ops" AND NOT _name STREQUAL "mongo_lint")
      set(_extra ../examples/sessions_to_jobs/plan.c ../examples/chat_collections/plan.c)
    endif()
    migrate_test(${_name} SOURCES ${_name}.c mongo_util.c ${_extra}
      LIBS PkgConfig::MIGRATE_WITH_MONGO_DEP LABELS mongo)
  endif()
endforeach()

get_property(_all_tests DIRECTORY PROPERTY TESTS)
foreach(_t ${_all_tests})
  if(_t MATCHES "^mongo_")
    migrate_mongo_fixture(${_t})
  endif()
endforeach()
# The fleet test's case (tests/fleet.cmake), on the SQLite backend here and
# on the PostgreSQL backend below.
migrate_mongo_fixture(fleet.ferretdb.static)

# FerretDB's PostgreSQL backend (--handler=postgresql) over a private
# PostgreSQL server of its own: the seeds, the op tests and lint run there too
# (static builds only), since that backend's costs and gaps are its own.
if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/mongo_seeds.c)
  set(MIGRATE_MONGO_PG_STATE ${CMAKE_BINARY_DIR}/ferretdb-pg-server)
  set(_pg ${PROJECT_SOURCE_DIR}/scripts/pg-server.sh)
  add_test(NAME mongo_pgbackend.server.start COMMAND bash -c
    "set -e; '${PROJECT_SOURCE_DIR}/scripts/install-ferretdb.sh' >/dev/null; \
     '${_pg}' start '${MIGRATE_MONGO_PG_STATE}/postgres' >/dev/null; \
     url=$('${_pg}' createdb '${MIGRATE_MONGO_PG_STATE}/postgres' ferretdb); test -n \"$url\"; \
     FERRETDB_POSTGRESQL_URL=\"$url\" '${MIGRATE_FERRETDB_SCRIPT}' start '${MIGRATE_MONGO_PG_STATE}/ferretdb'")
  set_tests_properties(mongo_pgbackend.server.start PROPERTIES FIXTURES_SETUP mongo_pg_server TIMEOUT 1800
    LABELS mongo)
  add_test(NAME mongo_pgbackend.server.stop COMMAND bash -c
    "'${MIGRATE_FERRETDB_SCRIPT}' destroy '${MIGRATE_MONGO_PG_STATE}/ferretdb'; \
     '${_pg}' stop '${MIGRATE_MONGO_PG_STATE}/postgres'")
  set_tests_properties(mongo_pgbackend.server.stop PROPERTIES FIXTURES_CLEANUP mongo_pg_server TIMEOUT 120
    LABELS mongo)
  add_test(NAME fleet_pgbackend.ferretdb COMMAND test_fleet_static ferretdb)
  set_tests_properties(fleet_pgbackend.ferretdb PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600
    FIXTURES_REQUIRED mongo_pg_server LABELS "mongo;fleet"
    ENVIRONMENT "MIGRATE_MONGO_URL_FILE=${MIGRATE_MONGO_PG_STATE}/ferretdb/url;MIGRATE_FLEET_BACKEND=PostgreSQL backend")
  foreach(_name mongo_seeds mongo_ops mongo_lint)
    file(STRINGS ${CMAKE_CURRENT_SOURCE_DIR}/${_name}.c _lines REGEX "^TEST\\([A-Za-z0-9_]+\\)")
    foreach(_line ${_lines})
      string(REGEX REPLACE "^TEST\\(([A-Za-z0-9_]+)\\).*" "\\1" _case "${_line}")
      add_test(NAME ${_name}_pgbackend.${_case} COMMAND test_${_name}_static ${_case})
      set_tests_properties(${_name}_pgbackend.${_case} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600
        FIXTURES_REQUIRED mongo_pg_server LABELS mongo
        ENVIRONMENT "MIGRATE_MONGO_URL_FILE=${MIGRATE_MONGO_PG_STATE}/ferretdb/url;MIGRATE_FERRETDB_SCRIPT=${MIGRATE_FERRETDB_SCRIPT}")
    endforeach()
  endforeach()
endif()

# The driver's checks of names need no server (added after the loop above,
# so that they do not wait for the fixture).
migrate_test(mongo_validation SOURCES mongo_validation.c LIBS PkgConfig::MIGRATE_WITH_MONGO_DEP LABELS mongo)
# The validator that follows dropped and renamed fields, without a server (INTERNAL: a hidden function).
migrate_test(mongo_validator SOURCES mongo_validator.c LIBS PkgConfig::MIGRATE_WITH_MONGO_DEP LABELS mongo INTERNAL)

# The conformance suite (tests/conformance.c) against MongoDB; INTERNAL: it arms the fault points.
migrate_test(conformance_mongo
  SOURCES conformance.c conformance_mongo.c mongo_util.c
  LIBS PkgConfig::MIGRATE_WITH_MONGO_DEP
  LABELS mongo conformance
  INTERNAL)
get_property(_all_tests DIRECTORY PROPERTY TESTS)
foreach(_t ${_all_tests})
  if(_t MATCHES "^conformance_mongo\\.")
    migrate_mongo_fixture(${_t})
  endif()
endforeach()
