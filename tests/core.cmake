# Tests of the core engine: plan validation, checksums, JSON steps, and a
# third-party driver ("jsondir", tests/custom_driver.c) written against the
# public <migrate/driver.h> only, which runs whole plans through the engine.

migrate_test(core_validation SOURCES core_validation.c custom_driver.c LABELS core)
# Steps made invalid behind the builders' back (only possible from inside
# the library) must still be refused by every run before anything is written.
migrate_test(core_revalidate SOURCES core_revalidate.c custom_driver.c LABELS core INTERNAL)
migrate_test(core_batch SOURCES core_batch.c LABELS core INTERNAL)
migrate_test(core_buf SOURCES core_buf.c LABELS core)
migrate_test(core_checksum SOURCES core_checksum.c LIBS PkgConfig::CRYPTO LABELS core)
migrate_test(core_sha256 SOURCES core_sha256.c LIBS PkgConfig::CRYPTO LABELS core INTERNAL)
migrate_test(core_json SOURCES core_json.c LABELS core)
# The single-pass JSON read against the checked path, byte for byte (hidden functions: INTERNAL).
migrate_test(core_json_read SOURCES core_json_read.c LABELS core INTERNAL)
# The checksum's canonical form through the writer's filter against the copy it was taken from (INTERNAL).
migrate_test(core_canonical SOURCES core_canonical.c LABELS core INTERNAL)
migrate_test(core_lint SOURCES core_lint.c LABELS core lint)
# Every allocation of migrate_lint() failed in turn (fault points: INTERNAL).
migrate_test(core_lint_faults SOURCES core_lint_faults.c LABELS core lint INTERNAL)
migrate_test(core_build_faults SOURCES core_build_faults.c LABELS core INTERNAL)
migrate_test(custom_driver SOURCES custom_driver_test.c custom_driver.c LABELS core)

# The same "nothing written" checks against SQLite's own catalog, when that driver is built.
if(MIGRATE_WITH_SQLITE_ENABLED)
  foreach(_kind shared static)
    target_compile_definitions(test_core_validation_${_kind} PRIVATE MIGRATE_TEST_SQLITE)
    target_link_libraries(test_core_validation_${_kind} PRIVATE PkgConfig::MIGRATE_WITH_SQLITE_DEP)
  endforeach()
endif()

# The conformance suite (tests/conformance.c) against the jsondir driver.
# INTERNAL: it arms the library's fault points; the driver itself uses the
# public interface only.
migrate_test(conformance_jsondir
  SOURCES conformance.c conformance_jsondir.c custom_driver.c
  LABELS core conformance
  INTERNAL)

# Plan directories (one file per version) against their single-file form.
migrate_test(core_plandir SOURCES core_plandir.c LIBS PkgConfig::BSON LABELS core planfile)
