# The fleet test (tests/fleet_seed.c): 64 processes run seed 000's plan at
# once over 200,000 old rows, on every driver built, as one program. Static
# build only: 64 processes per test. The drivers' fragments (sqlite.cmake,
# postgres.cmake, mongo.cmake, included after this one) give the cases of
# their driver the server fixtures.
set(_fleet_sources fleet_seed.c fleet.c)
set(_fleet_libs "")
if(MIGRATE_WITH_SQLITE_ENABLED)
  list(APPEND _fleet_sources fleet_sqlite.c sqlite_util.c)
  list(APPEND _fleet_libs PkgConfig::MIGRATE_WITH_SQLITE_DEP)
endif()
if(MIGRATE_WITH_POSTGRES_ENABLED)
  list(APPEND _fleet_sources fleet_postgres.c postgres_util.c)
  list(APPEND _fleet_libs PkgConfig::MIGRATE_WITH_POSTGRES_DEP)
endif()
if(MIGRATE_WITH_MONGO_ENABLED)
  list(APPEND _fleet_sources fleet_mongo.c mongo_util.c)
  list(APPEND _fleet_libs PkgConfig::MIGRATE_WITH_MONGO_DEP)
endif()
migrate_test(fleet SOURCES ${_fleet_sources} LIBS ${_fleet_libs} LABELS fleet INTERNAL)
