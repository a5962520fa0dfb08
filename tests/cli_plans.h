/*
 * The seed plan files of examples/plans/ against the C examples that build
 * the same seeds with the API (tests/cli_plans_*.c).
 */
#ifndef MIGRATE_TEST_CLI_PLANS_H
#define MIGRATE_TEST_CLI_PLANS_H

#include <migrate/migrate.h>

typedef int (*cli_build_fn)(migrate_plan_t **out, migrate_error_t *err);

/*
 * Loads examples/plans/`file` and builds the plan with `build`: every
 * version must have the same id, name, step count and checksum, so either
 * can run a database the other migrated. The plan names must match too
 * when `same_name` is non-zero.
 */
void cli_same_plan(const char *file, cli_build_fn build, int same_name);

#endif
