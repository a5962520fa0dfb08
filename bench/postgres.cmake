# Counter backfill over PostgreSQL tables: libmigrate's batches against the
# single UPDATE statement. Run: scripts/bench-postgres.sh (starts a server).
if(NOT MIGRATE_WITH_POSTGRES_ENABLED)
  return()
endif()
add_executable(bench_postgres_backfill ${CMAKE_CURRENT_LIST_DIR}/postgres_backfill.c ${CMAKE_CURRENT_LIST_DIR}/backfill_run.c)
target_compile_options(bench_postgres_backfill PRIVATE ${MIGRATE_WARNINGS})
target_compile_definitions(bench_postgres_backfill PRIVATE _GNU_SOURCE)
target_link_libraries(bench_postgres_backfill PRIVATE migrate PkgConfig::MIGRATE_WITH_POSTGRES_DEP)
