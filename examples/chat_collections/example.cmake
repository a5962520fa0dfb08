# Seed 004 (chat collections) on MongoDB: the program takes only a URL. Its
# ctest entry runs it against the FerretDB of the MongoDB test fixture
# (tests/mongo.cmake), in a database of its own, through run.sh.
if(NOT MIGRATE_WITH_MONGO_ENABLED)
  message(STATUS "libmigrate: example chat_collections off (it needs the MongoDB driver)")
  return()
endif()

add_executable(chat_collections ${CMAKE_CURRENT_LIST_DIR}/main.c ${CMAKE_CURRENT_LIST_DIR}/plan.c)
target_compile_options(chat_collections PRIVATE ${MIGRATE_WARNINGS})
target_link_libraries(chat_collections PRIVATE migrate)

if(MIGRATE_TESTS)
  enable_testing()
  add_test(NAME example.chat_collections
    COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/run.sh $<TARGET_FILE:chat_collections>)
  set_tests_properties(example.chat_collections PROPERTIES TIMEOUT 300 LABELS "example;mongo"
    FIXTURES_REQUIRED mongo_server SKIP_RETURN_CODE 77
    ENVIRONMENT "MIGRATE_MONGO_URL_FILE=${CMAKE_BINARY_DIR}/ferretdb-server/url")
endif()
