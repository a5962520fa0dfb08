# The manual page man/migrate.1: renders without a groff warning, carries
# docs/cli.md's exit-code table word for word, and names every command and
# option `migrate --help` lists.
find_program(MIGRATE_BASH bash)
find_program(MIGRATE_GROFF groff)
if(NOT MIGRATE_BASH OR NOT MIGRATE_GROFF)
  message(STATUS "libmigrate: man page test off (needs bash and groff: groff-base on Debian)")
  return()
endif()
set(_man_binary "")
if(TARGET migrate_cli)
  set(_man_binary $<TARGET_FILE:migrate_cli>)
endif()
add_test(NAME man.migrate_1
  COMMAND ${MIGRATE_BASH} ${CMAKE_CURRENT_SOURCE_DIR}/man_test.sh
    ${PROJECT_SOURCE_DIR}/man/migrate.1 ${PROJECT_SOURCE_DIR}/docs/cli.md ${_man_binary})
set_tests_properties(man.migrate_1 PROPERTIES TIMEOUT 60 LABELS cli)
