/*
 * The conformance suite every driver runs: one set of scenarios
 * (conformance.c), one backend per driver (conformance_<driver>.c) that
 * makes fresh databases, seeds them, and dumps their whole state. A new
 * driver is done when it passes every scenario here, fault sweeps included.
 */
#ifndef MIGRATE_TEST_CONFORMANCE_H
#define MIGRATE_TEST_CONFORMANCE_H

#include <stdint.h>

#include <migrate/migrate.h>

/*
 * A seed plan (examples/plans/<plan_file>) on the backend's driver, with the
 * data its seed starts from. The fault sweeps run it like the synthetic plan.
 */
typedef struct conf_seed {
	const char *plan_file;
	/* Creates the seed's starting data in a new, empty database; NULL: the plan starts from nothing. */
	void (*seed)(const char *url);
	/* Rows per batch of the batched steps without a batch_size of their own (0: the driver's). */
	uint32_t batch_size;
	/*
	 * For tables holding values no two runs share (random ids, now()): pairs of
	 * table and a query giving its rows without them, NULL-terminated; NULL: none.
	 */
	const char *const *canon;
} conf_seed;

typedef struct conf_backend {
	const char *name;
	/*
	 * Non-zero when the store has transactions: a raw step then takes effect
	 * exactly once even when the process dies right after it. Without them a
	 * raw step is at least once (documented), built-in steps still exactly once.
	 */
	int raw_exactly_once;
	/* A URL of a new, empty database (tag names it). */
	const char *(*fresh)(const char *tag);
	/* Creates table/collection "legacy" with `rows` rows: id, tags (array), status, counter. */
	void (*seed)(const char *url, int rows);
	/*
	 * Schema, data and history (without times, hosts or the "audit" table),
	 * malloc'd; a table named in `canon` (see conf_seed) dumps its query's rows.
	 */
	char *(*dump)(const char *url, const char *const *canon);
	/* How many times the raw audit step ran. */
	long (*audit_runs)(const char *url);
	/* Driver-specific step JSON: the raw audit step, counter + 1, counter - 1. */
	const char *audit_step;
	const char *bump_expr;
	const char *drop_expr;
	/* Rows seeded and the batch size of the batched steps (0: 60 and 7). */
	int rows, batch;
	/* Non-zero when the driver refuses create_enum (the plan then has none). */
	int no_enums;
	/* The driver has no restore op, so map_values cannot keep what it overwrites (the engine refuses keep). */
	int no_keep;
} conf_backend;

/* The raw pieces of the SQL drivers. */
#define CONF_SQL_AUDIT_STEP                                                                                     \
	"{\"op\":\"sql\",\"up\":\"INSERT INTO audit (note) VALUES ('v4')\",\"down\":\"DELETE FROM audit WHERE " \
	"note = 'v4'\"}"
#define CONF_SQL_BUMP "{\"sql\":\"counter + 1\"}"
#define CONF_SQL_DROP "{\"sql\":\"counter - 1\"}"

/* Defined by each backend file. */
const conf_backend *conf_backend_get(void);

/*
 * A scenario of a backend's own, for the paths a seed plan does not take:
 * its plan as JSON, how its batches are sized, where each run goes.
 */
#define CONF_REACHES_MAX 12

typedef struct conf_scenario {
	const char *name;
	const char *plan_json;
	/* Creates the starting data in a new, empty database. */
	void (*seed)(const char *url);
	/* The budget of batches sized by time (run option batch_time_ms; 0: the default). */
	uint32_t batch_time_ms;
	/*
	 * > 0: a batch sized by time is taken to have lasted this long per row
	 * (the synthetic clock of lib/fault.c, set for each run), so that its
	 * size, and the fault points a run passes, are the same in every run.
	 */
	double ms_per_row;
	/* A URL of a new database with nothing in it, for each run of the sweep; NULL: the backend's fresh(). */
	const char *(*fresh)(const char *tag);
	/*
	 * Substrings of log lines (any level), NULL-terminated (at most
	 * CONF_REACHES_MAX; NULL: none), each of which the fail sweep's runs must have logged at
	 * least once: the sweep went through the paths it is meant for.
	 */
	const char *const *reaches;
	/* The allocation sweep fails every alloc_stride-th allocation only (0: each), to bound its time. */
	long alloc_stride;
} conf_scenario;

#define CONF_SWEEP_FAIL 0  /* each store point (driver call, statement, journal write) fails in turn */
#define CONF_SWEEP_KILL 1  /* the process is killed at each store point in turn */
#define CONF_SWEEP_ALLOC 2 /* each allocation fails in turn */

/*
 * Sweeps `seed` (a CONF_SWEEP_* mode; 0 and 1 are the fail and kill sweep)
 * and prints its counts; true when every point converged to an
 * uninterrupted run's state with nothing repaired. Each backend has a TEST
 * per seed plan and sweep.
 */
int conf_seed_sweep(const conf_seed *seed, int mode);

/* The same for a scenario of the backend's own. */
int conf_scenario_sweep(const conf_scenario *cs, int mode);

#endif
