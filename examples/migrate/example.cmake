# The `migrate` command-line tool: runs JSON plan files (docs/plan-file.md)
# from a shell, a deployment script or a readiness probe. Built from the
# public API only, and installed as `migrate`. Manual: docs/cli.md.
add_executable(migrate_cli
  ${CMAKE_CURRENT_LIST_DIR}/migrate.c
  ${CMAKE_CURRENT_LIST_DIR}/commands.c
  ${CMAKE_CURRENT_LIST_DIR}/report.c
  ${CMAKE_CURRENT_LIST_DIR}/plandir.c
  ${CMAKE_CURRENT_LIST_DIR}/lint.c
  ${CMAKE_CURRENT_LIST_DIR}/password.c)
set_target_properties(migrate_cli PROPERTIES OUTPUT_NAME migrate)
target_compile_options(migrate_cli PRIVATE ${MIGRATE_WARNINGS})
# getopt_long, gmtime_r, strncasecmp and sigaction are POSIX/GNU, hidden by -std=c11.
target_compile_definitions(migrate_cli PRIVATE _GNU_SOURCE)
# The last line of --help points at the installed manual (docs/ in the doc directory).
target_compile_definitions(migrate_cli PRIVATE "MIGRATE_DOCDIR=\"${CMAKE_INSTALL_FULL_DOCDIR}\"")
# libbson (a public dependency of the library) builds the --json documents.
target_link_libraries(migrate_cli PRIVATE migrate Threads::Threads)
add_dependencies(migrate_cli migrate_libraries)
# Installed anywhere (a non-system prefix, /opt/x), the tool finds its
# library: a RUNPATH relative to its own directory.
file(RELATIVE_PATH _migrate_bin_to_lib ${CMAKE_INSTALL_FULL_BINDIR} ${CMAKE_INSTALL_FULL_LIBDIR})
set_target_properties(migrate_cli PROPERTIES INSTALL_RPATH "$ORIGIN/${_migrate_bin_to_lib}")
install(TARGETS migrate_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${PROJECT_SOURCE_DIR}/man/migrate.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

# Shell completions, in the directories bash-completion and zsh search.
install(FILES ${PROJECT_SOURCE_DIR}/completion/migrate.bash
  DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME migrate)
install(FILES ${PROJECT_SOURCE_DIR}/completion/_migrate
  DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/site-functions)
