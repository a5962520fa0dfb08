# SQLite driver tests: every op up and down, rebuilds, enums, batched
# updates, crash recovery, concurrent runs, locks and hostile input, each
# asserting the database's state with plain SQLite queries.
if(MIGRATE_WITH_SQLITE_ENABLED)
  foreach(suite ops backfill crash concurrency hostile journal lint)
    migrate_test(sqlite_${suite}
      SOURCES sqlite_${suite}.c sqlite_util.c
      LIBS PkgConfig::MIGRATE_WITH_SQLITE_DEP
      LABELS sqlite)
  endforeach()
endif()

# The conformance suite (tests/conformance.c) against SQLite. INTERNAL: it
# arms the library's fault points.
if(MIGRATE_WITH_SQLITE_ENABLED)
  migrate_test(conformance_sqlite
    SOURCES conformance.c conformance_sqlite.c sqlite_util.c
    LIBS PkgConfig::MIGRATE_WITH_SQLITE_DEP
    LABELS sqlite conformance
    INTERNAL)
endif()
