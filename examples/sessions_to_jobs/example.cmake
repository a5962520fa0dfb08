# Seed 000 (sessions -> jobs) on MongoDB: the program takes only a URL. Its
# ctest entries run it against the FerretDB of the MongoDB test fixture
# (tests/mongo.cmake), in a database of their own, through run.sh.
if(NOT MIGRATE_WITH_MONGO_ENABLED)
  message(STATUS "libmigrate: example sessions_to_jobs off (it needs the MongoDB driver)")
  return()
endif()

add_executable(sessions_to_jobs ${CMAKE_CURRENT_LIST_DIR}/main.c ${CMAKE_CURRENT_LIST_DIR}/plan.c)
target_compile_options(sessions_to_jobs PRIVATE ${MIGRATE_WARNINGS})
target_link_libraries(sessions_to_jobs PRIVATE migrate PkgConfig::MIGRATE_WITH_MONGO_DEP)

if(MIGRATE_TESTS)
  enable_testing()
  add_test(NAME example.sessions_to_jobs
    COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/run.sh $<TARGET_FILE:sessions_to_jobs>)
  set_tests_properties(example.sessions_to_jobs PROPERTIES TIMEOUT 600 LABELS "example;mongo"
    FIXTURES_REQUIRED mongo_server SKIP_RETURN_CODE 77
    ENVIRONMENT "MIGRATE_MONGO_URL_FILE=${CMAKE_BINARY_DIR}/ferretdb-server/url")
endif()
