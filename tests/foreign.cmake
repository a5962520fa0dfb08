# Switching from golang-migrate, goose and Flyway (docs/switching.md):
# tests/foreign_test.py runs the original tools (installed by
# scripts/install-deps.sh) on the directories of tests/foreign/, then the
# `migrate` tool takes over. One ctest entry per case_<driver>_<name>.
migrate_test(core_foreign SOURCES core_foreign.c LABELS core planfile foreign)

# The environment of the CLI tests (tests/cli.cmake, included before this file).
if(NOT TARGET migrate_cli OR NOT MIGRATE_WITH_POSTGRES_ENABLED OR NOT TARGET cli_probe OR NOT DEFINED _cli_env)
  return()
endif()
set(_foreign_script ${CMAKE_CURRENT_SOURCE_DIR}/foreign_test.py)
file(STRINGS ${_foreign_script} _foreign_cases REGEX "^def case_(postgres|mongo)_[a-z0-9_]+\\(")
foreach(_line ${_foreign_cases})
  string(REGEX REPLACE "^def case_(([a-z]+)_[a-z0-9_]+)\\(.*" "\\1" _case "${_line}")
  string(REGEX REPLACE "^def case_([a-z]+)_.*" "\\1" _driver "${_line}")
  if(_driver STREQUAL "mongo")
    if(NOT MIGRATE_WITH_MONGO_ENABLED)
      continue()
    endif()
    set(_fixture mongo_server)
  else()
    set(_fixture pg_server)
  endif()
  add_test(NAME foreign.${_case} COMMAND ${Python3_EXECUTABLE} ${_foreign_script} ${_case})
  set_tests_properties(foreign.${_case} PROPERTIES ENVIRONMENT "${_cli_env}" SKIP_RETURN_CODE 77
    TIMEOUT 300 LABELS "cli;${_driver};foreign" FIXTURES_REQUIRED ${_fixture})
endforeach()
