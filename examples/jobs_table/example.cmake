# Seed 003 (jobs_table) on PostgreSQL: a thin program taking a URL.
if(NOT MIGRATE_WITH_POSTGRES_ENABLED)
  message(STATUS "libmigrate: example jobs_table off (it needs the PostgreSQL driver)")
  return()
endif()
add_executable(jobs_table ${CMAKE_CURRENT_LIST_DIR}/main.c ${CMAKE_CURRENT_LIST_DIR}/plan.c
  ${CMAKE_CURRENT_LIST_DIR}/../pg_common/cli.c)
target_compile_options(jobs_table PRIVATE ${MIGRATE_WARNINGS})
target_link_libraries(jobs_table PRIVATE migrate PkgConfig::MIGRATE_WITH_POSTGRES_DEP)
if(MIGRATE_TESTS)
  enable_testing()
  add_test(NAME example.jobs_table
    COMMAND ${CMAKE_CURRENT_LIST_DIR}/../pg_common/run.sh $<TARGET_FILE:jobs_table>
            ${CMAKE_BINARY_DIR}/pg-server ex_jobs_table --cycle)
  set_tests_properties(example.jobs_table PROPERTIES FIXTURES_REQUIRED pg_server SKIP_RETURN_CODE 77
    TIMEOUT 300 LABELS "example;postgres")
endif()
