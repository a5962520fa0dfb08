# Seed 002 (collections) on PostgreSQL: a thin program taking a URL.
if(NOT MIGRATE_WITH_POSTGRES_ENABLED)
  message(STATUS "libmigrate: example collections off (it needs the PostgreSQL driver)")
  return()
endif()
add_executable(collections ${CMAKE_CURRENT_LIST_DIR}/main.c ${CMAKE_CURRENT_LIST_DIR}/plan.c
  ${CMAKE_CURRENT_LIST_DIR}/../pg_common/cli.c)
target_compile_options(collections PRIVATE ${MIGRATE_WARNINGS})
target_link_libraries(collections PRIVATE migrate PkgConfig::MIGRATE_WITH_POSTGRES_DEP)
if(MIGRATE_TESTS)
  enable_testing()
  add_test(NAME example.collections
    COMMAND ${CMAKE_CURRENT_LIST_DIR}/../pg_common/run.sh $<TARGET_FILE:collections>
            ${CMAKE_BINARY_DIR}/pg-server ex_collections --cycle)
  set_tests_properties(example.collections PROPERTIES FIXTURES_REQUIRED pg_server SKIP_RETURN_CODE 77
    TIMEOUT 300 LABELS "example;postgres")
endif()
