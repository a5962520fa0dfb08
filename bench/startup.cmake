# Start-up: plan loading at 1k/10k/100k versions, process start, check at
# 1,000 applied versions and statements per version, per driver.
# Run: scripts/bench-startup.sh (starts PostgreSQL and FerretDB).
add_executable(bench_startup ${CMAKE_CURRENT_LIST_DIR}/startup.c)
target_compile_options(bench_startup PRIVATE ${MIGRATE_WARNINGS})
target_compile_definitions(bench_startup PRIVATE _GNU_SOURCE)
target_link_libraries(bench_startup PRIVATE migrate)
add_dependencies(bench_startup migrate_libraries)
# The floor of a program that uses a client library: it loads it and exits (no libmigrate).
add_executable(bench_load ${CMAKE_CURRENT_LIST_DIR}/load.c)
target_compile_options(bench_load PRIVATE ${MIGRATE_WARNINGS})
target_link_libraries(bench_load PRIVATE ${CMAKE_DL_LIBS})
add_dependencies(bench_startup bench_load)
