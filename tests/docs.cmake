# The API reference: the test docs.api_reference builds the `docs` target
# (Doxygen, which fails on any warning) and checks in its XML output that
# every public macro, typedef, enum value, function and struct member of the
# headers below has a description (tests/docs_check.py lists those without).
# Only when the `docs` target exists, that is when doxygen is found.
if(NOT TARGET docs)
  message(STATUS "libmigrate: API reference test off (no `docs` target: install doxygen)")
  return()
endif()
find_package(Python3 COMPONENTS Interpreter)
if(NOT Python3_Interpreter_FOUND)
  message(STATUS "libmigrate: API reference test off (no Python 3)")
  return()
endif()

# The headers held to it: every public header.
set(MIGRATE_DOCUMENTED_HEADERS common.h migrate.h plan.h run.h sqlite.h postgres.h mongo.h driver.h)

list(TRANSFORM MIGRATE_DOCUMENTED_HEADERS PREPEND ${PROJECT_SOURCE_DIR}/include/migrate/ OUTPUT_VARIABLE _docs_headers)
add_test(NAME docs.api_reference
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/docs_check.py ${MIGRATE_DOXYGEN_OUT}/xml ${_docs_headers}
    -- ${CMAKE_COMMAND} --build ${PROJECT_BINARY_DIR} --target docs)
set_tests_properties(docs.api_reference PROPERTIES TIMEOUT 300 LABELS docs)
