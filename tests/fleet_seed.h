/*
 * The fleet test of every driver (tests/fleet_seed.c): 64 processes run
 * seed 000's plan (sessions -> jobs: status map and counter backfill) at
 * once over a large old sessions table, and the database must end as one
 * run leaves it. Each driver's file (fleet_sqlite.c, fleet_postgres.c,
 * fleet_mongo.c) makes the old data by the same formula and reads the
 * figures back; this part runs the fleet and compares.
 */
#ifndef MIGRATE_TEST_FLEET_SEED_H
#define MIGRATE_TEST_FLEET_SEED_H

#include <stdint.h>

#include "fleet.h"

/*
 * Old session x (1..n) of every driver's data: status x % 7 among pending,
 * planning, searching, implementing, executing (mapped to processing),
 * completed, failed; tool_ids with 0, 0, 1, 2, 3 ids for x % 5 = 0..4 (NULL
 * or missing for 0, empty for 1); tool_failure_ids with 0, 0, 1, 2 ids for
 * x % 4 = 0..3 (NULL for 0, empty for 1).
 */
#define FLEET_STATUS(x) fleet_statuses[(x) % 7]
#define FLEET_TOOLS(x) ((x) % 5 < 2 ? 0 : (x) % 5 - 1)
#define FLEET_FAILURES(x) ((x) % 4 < 2 ? 0 : (x) % 4 - 1)
extern const char *const fleet_statuses[7];

/* Figures of the jobs after the plan, summed over the rows; `*_by_id` weigh each row's value by its id. */
typedef struct fleet_sums {
	int64_t rows, processing, old_statuses, new_sessions;
	int64_t completed, completed_by_id, failed, failed_by_id, in_progress;
} fleet_sums_t;

/*
 * The SQL drivers' old sessions: the formula's columns for a row source of
 * `x` (a driver's generator of 1..n), as a SELECT list for an INSERT into
 * sessions (id, job_id, user_id, operation_type, status, tool_ids,
 * tool_failure_ids); a printf format (its % doubled).
 */
#define FLEET_SQL_ROW                                                                                                  \
	"x, 'job_' || x, 'user_' || (x %% 97), 'generate', "                                                           \
	"CASE x %% 7 WHEN 0 THEN 'pending' WHEN 1 THEN 'planning' WHEN 2 THEN 'searching' WHEN 3 THEN 'implementing' " \
	"WHEN 4 THEN 'executing' WHEN 5 THEN 'completed' ELSE 'failed' END, "                                          \
	"CASE x %% 5 WHEN 0 THEN NULL WHEN 1 THEN '[]' WHEN 2 THEN '[\"t1\"]' WHEN 3 THEN '[\"t1\",\"t2\"]' "          \
	"ELSE '[\"t1\",\"t2\",\"t3\"]' END, "                                                                          \
	"CASE x %% 4 WHEN 0 THEN NULL WHEN 1 THEN '[]' WHEN 2 THEN '[\"f1\"]' ELSE '[\"f1\",\"f2\"]' END"

/* Reads the sums of the SQL drivers, one query each, with `query` (the first value of the first row). */
void fleet_sql_sums(int64_t (*query)(void *conn, const char *sql), void *conn, fleet_sums_t *out);

/* A driver's side of the test. */
typedef struct fleet_seed_driver {
	const char *name; /* the line's label */
	migrate_plan_t *(*plan)(void);
	long rows;         /* old sessions to make: the 200,000, or fewer */
	const char *fewer; /* why fewer, or NULL */
	/* Reads the sums back from the database after the fleet. */
	void (*sums)(const char *url, fleet_sums_t *out);
	/* Locks of the plan still held or recorded (0 when none is stranded). */
	int64_t (*locks_left)(const char *url);
	/* Optional: a server-wide count of statements or transactions on the database, read before and after. */
	int64_t (*server_count)(const char *url);
} fleet_seed_driver_t;

/*
 * The old sessions to make: d->rows, a tenth of it in a sanitized tree, or
 * as many as MIGRATE_FLEET_ROWS says (to measure).
 */
long fleet_seed_rows(const fleet_seed_driver_t *d);

/* Seed 000's plan file for SQL drivers (the SQLite file: every step is portable), loaded or failing the test. */
migrate_plan_t *fleet_seed_sql_plan(void);
/* The same for MongoDB. */
migrate_plan_t *fleet_seed_mongo_plan(void);

/*
 * Runs the fleet on `url`, which holds fleet_seed_rows() old sessions,
 * and checks: every exit 0 (or the lock-timeout code), one process applied
 * all the versions and the history says so (each version applied, by that
 * process), the jobs' sums are the formula's, and no lock is left; the
 * checks' own connections go to `read_url` (NULL: `url`). Prints the line
 * of figures, labelled `label` (NULL: d->name), and returns them in `out`
 * (NULL: not). The processes wait `lock_timeout_ms` for the lock (0: 120 s).
 */
void fleet_seed_run(const fleet_seed_driver_t *d, const char *label, const char *url, const char *read_url,
		    int64_t lock_timeout_ms, fleet_figures_t *out);

#endif
