# Switching from golang-migrate, goose and Flyway (docs/switching.md):
# tests/foreign_test.py runs the original tools (installed by
# scripts/install-deps.sh) on the directories of tests/foreign/, then the
# `migrate` tool takes over. One ctest entry per case_postgres_<name>.
if(NOT TARGET migrate_cli OR NOT MIGRATE_WITH_POSTGRES_ENABLED OR NOT TARGET cli_probe)
  return()
endif()
set(_foreign_script ${CMAKE_CURRENT_SOURCE_DIR}/foreign_test.py)
set(_foreign_env
  "MIGRATE_BIN=$<TARGET_FILE:migrate_cli>"
  "MIGRATE_SOURCE_DIR=${PROJECT_SOURCE_DIR}"
  "CLI_WORK=${CMAKE_CURRENT_BINARY_DIR}/foreign-work"
  "CLI_PROBE=$<TARGET_FILE:cli_probe>"
  "CLI_PG_STATE=${CMAKE_BINARY_DIR}/pg-server")
file(STRINGS ${_foreign_script} _foreign_cases REGEX "^def case_postgres_[a-z0-9_]+\\(")
foreach(_line ${_foreign_cases})
  string(REGEX REPLACE "^def case_(postgres_[a-z0-9_]+)\\(.*" "\\1" _case "${_line}")
  add_test(NAME foreign.${_case} COMMAND ${Python3_EXECUTABLE} ${_foreign_script} ${_case})
  set_tests_properties(foreign.${_case} PROPERTIES ENVIRONMENT "${_foreign_env}" SKIP_RETURN_CODE 77
    TIMEOUT 300 LABELS "cli;postgres;foreign" FIXTURES_REQUIRED pg_server)
endforeach()
