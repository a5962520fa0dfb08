# The shell completions of the `migrate` tool (completion/): the bash one is
# sourced in bash and asked to complete a few command lines, and must offer
# every command and option `migrate --help` lists.
find_program(MIGRATE_BASH bash)
if(NOT MIGRATE_BASH)
  message(STATUS "libmigrate: completion test off (no bash)")
  return()
endif()
set(_completion_binary "")
if(TARGET migrate_cli)
  set(_completion_binary $<TARGET_FILE:migrate_cli>)
endif()
add_test(NAME completion.bash
  COMMAND ${MIGRATE_BASH} ${CMAKE_CURRENT_SOURCE_DIR}/completion_test.sh
    ${PROJECT_SOURCE_DIR}/completion/migrate.bash ${_completion_binary})
set_tests_properties(completion.bash PROPERTIES TIMEOUT 60 LABELS cli)
