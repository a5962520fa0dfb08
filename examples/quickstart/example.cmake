# The quick start: seed 000 (sessions -> jobs) applied to an embedded SQLite
# database, verified, and rolled back. scripts/quickstart.sh builds and runs it.
if(NOT MIGRATE_WITH_SQLITE_ENABLED)
  message(STATUS "libmigrate: example quickstart off (it needs the SQLite driver)")
  return()
endif()

add_executable(quickstart ${CMAKE_CURRENT_LIST_DIR}/quickstart.c)
target_compile_options(quickstart PRIVATE ${MIGRATE_WARNINGS})
# sqlite3 directly too: the program fills and inspects the database itself.
target_link_libraries(quickstart PRIVATE migrate PkgConfig::MIGRATE_WITH_SQLITE_DEP)

if(MIGRATE_TESTS)
  # The top level adds examples/ before it enables testing.
  enable_testing()
  # Runs in a fresh temporary directory, so its database never meets another run's.
  add_test(NAME example.quickstart
    COMMAND ${CMAKE_COMMAND} -DPROGRAM=$<TARGET_FILE:quickstart> -DWORK_ROOT=${CMAKE_CURRENT_BINARY_DIR}
            -P ${CMAKE_CURRENT_LIST_DIR}/run-in-tempdir.cmake)
  set_tests_properties(example.quickstart PROPERTIES TIMEOUT 120 LABELS example)
endif()
