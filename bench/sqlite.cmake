# Backfill over SQLite tables: libmigrate's batches against the single
# UPDATE statement. Run: build/bench/bench_sqlite_backfill [DIR] [ROWS ...].
if(NOT MIGRATE_WITH_SQLITE_ENABLED)
  return()
endif()
add_executable(bench_sqlite_backfill ${CMAKE_CURRENT_LIST_DIR}/sqlite_backfill.c ${CMAKE_CURRENT_LIST_DIR}/backfill_run.c)
target_compile_options(bench_sqlite_backfill PRIVATE ${MIGRATE_WARNINGS})
target_compile_definitions(bench_sqlite_backfill PRIVATE _GNU_SOURCE)
target_link_libraries(bench_sqlite_backfill PRIVATE migrate PkgConfig::MIGRATE_WITH_SQLITE_DEP)
