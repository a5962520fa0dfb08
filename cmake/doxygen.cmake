# Optional API reference: `ninja docs` (or `cmake --build BUILD --target docs`)
# runs Doxygen over the public headers into BUILD/docs/api/html, and as XML
# into BUILD/docs/api/xml for the test docs.api_reference (tests/docs.cmake).
# The target exists only when doxygen is found, is not part of `all`, and
# fails on any Doxygen warning (WARN_AS_ERROR in docs/Doxyfile.in).

option(MIGRATE_DOCS "Add the `docs` target (API reference) when Doxygen is found" ON)
if(NOT MIGRATE_DOCS)
  return()
endif()

find_package(Doxygen QUIET)
if(NOT DOXYGEN_FOUND)
  message(STATUS "libmigrate: no `docs` target: doxygen not found (install the doxygen package)")
  return()
endif()

set(MIGRATE_DOXYGEN_OUT ${CMAKE_CURRENT_BINARY_DIR}/docs/api)
set(MIGRATE_DOXYGEN_INPUT ${PROJECT_SOURCE_DIR}/include/migrate)
configure_file(${PROJECT_SOURCE_DIR}/docs/Doxyfile.in ${CMAKE_CURRENT_BINARY_DIR}/Doxyfile @ONLY)
file(GLOB _migrate_doc_headers CONFIGURE_DEPENDS ${MIGRATE_DOXYGEN_INPUT}/*.h)

add_custom_command(
  OUTPUT ${MIGRATE_DOXYGEN_OUT}/html/index.html ${MIGRATE_DOXYGEN_OUT}/xml/index.xml
  COMMAND ${CMAKE_COMMAND} -E make_directory ${MIGRATE_DOXYGEN_OUT}
  COMMAND Doxygen::doxygen ${CMAKE_CURRENT_BINARY_DIR}/Doxyfile
  DEPENDS ${_migrate_doc_headers} ${CMAKE_CURRENT_BINARY_DIR}/Doxyfile
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
  COMMENT "Generating the API reference with Doxygen"
  VERBATIM)
add_custom_target(docs DEPENDS ${MIGRATE_DOXYGEN_OUT}/html/index.html)
message(STATUS "libmigrate: `docs` target on (doxygen ${DOXYGEN_VERSION})")
