# Start-up: plan loading at 1k/10k/100k versions, process start, check at
# 1,000 applied versions and statements per version, per driver.
# Run: scripts/bench-startup.sh (starts PostgreSQL and FerretDB).
add_executable(bench_startup ${CMAKE_CURRENT_LIST_DIR}/startup.c)
target_compile_options(bench_startup PRIVATE ${MIGRATE_WARNINGS})
target_compile_definitions(bench_startup PRIVATE _GNU_SOURCE)
target_link_libraries(bench_startup PRIVATE migrate)
add_dependencies(bench_startup migrate_libraries)
