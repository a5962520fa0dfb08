/*
 * The command line shared by the PostgreSQL seed examples:
 *
 *   NAME URL              prepare the database if the example needs it, apply the plan
 *   NAME URL --status     list every version with its state
 *   NAME URL --rollback   revert to the example's rollback point
 *   NAME URL --check      readiness probe: exit 0 when ready, 1 when not (the
 *                         library's check --schema: no version pending and the
 *                         schema the versions made is all there, unchanged)
 *   NAME URL --render     print the SQL that `up` would send
 *   NAME URL --cycle      up, down, up, with the readiness answer after each
 *
 * URL is a postgresql:// URL (libpq parameters and PG* variables apply).
 */
#ifndef EXAMPLE_PG_CLI_H
#define EXAMPLE_PG_CLI_H

#include <libpq-fe.h>

#include <migrate/migrate.h>
#include <migrate/postgres.h>

typedef struct example {
	const char *name;
	/* Builds the plan. */
	int (*plan)(migrate_plan_t **out, migrate_error_t *err);
	/* Optional: creates what the plan expects to find (sample data); 0 on success. */
	int (*prepare)(PGconn *c);
	/* --rollback reverts the versions above this one. */
	uint64_t rollback_to;
} example_t;

int example_main(const example_t *ex, int argc, char **argv);

/* Readiness: the plan is up to date and its schema has not drifted (migrate_check_schema). Prints why not. */
int example_ready(const example_t *ex, migrate_target_t *t, const migrate_plan_t *plan);

#endif
