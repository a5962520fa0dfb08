# Counter backfill over MongoDB (FerretDB) collections: libmigrate in place and
# rewriting, against seed 000's loop and the best script, with command counts.
# Run: scripts/bench-mongo.sh (starts
# a private FerretDB).
if(NOT MIGRATE_WITH_MONGO_ENABLED)
  return()
endif()
add_executable(bench_mongo_backfill ${CMAKE_CURRENT_LIST_DIR}/mongo_backfill.c)
target_compile_options(bench_mongo_backfill PRIVATE ${MIGRATE_WARNINGS})
target_compile_definitions(bench_mongo_backfill PRIVATE _GNU_SOURCE)
target_link_libraries(bench_mongo_backfill PRIVATE migrate PkgConfig::MIGRATE_WITH_MONGO_DEP)
