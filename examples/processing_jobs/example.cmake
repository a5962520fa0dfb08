# Seed 001 (processing_jobs) on PostgreSQL: a thin program taking a URL.
if(NOT MIGRATE_WITH_POSTGRES_ENABLED)
  message(STATUS "libmigrate: example processing_jobs off (it needs the PostgreSQL driver)")
  return()
endif()
add_executable(processing_jobs ${CMAKE_CURRENT_LIST_DIR}/main.c ${CMAKE_CURRENT_LIST_DIR}/plan.c
  ${CMAKE_CURRENT_LIST_DIR}/../pg_common/cli.c)
target_compile_options(processing_jobs PRIVATE ${MIGRATE_WARNINGS})
target_link_libraries(processing_jobs PRIVATE migrate PkgConfig::MIGRATE_WITH_POSTGRES_DEP)
if(MIGRATE_TESTS)
  enable_testing()
  add_test(NAME example.processing_jobs
    COMMAND ${CMAKE_CURRENT_LIST_DIR}/../pg_common/run.sh $<TARGET_FILE:processing_jobs>
            ${CMAKE_BINARY_DIR}/pg-server ex_processing_jobs --cycle)
  set_tests_properties(example.processing_jobs PROPERTIES FIXTURES_REQUIRED pg_server SKIP_RETURN_CODE 77
    TIMEOUT 300 LABELS "example;postgres")
endif()
