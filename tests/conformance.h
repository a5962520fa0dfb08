/*
 * The conformance suite every driver runs: one set of scenarios
 * (conformance.c), one backend per driver (conformance_<driver>.c) that
 * makes fresh databases, seeds them, and dumps their whole state. A new
 * driver is done when it passes every scenario here, fault sweeps included.
 */
#ifndef MIGRATE_TEST_CONFORMANCE_H
#define MIGRATE_TEST_CONFORMANCE_H

#include <migrate/migrate.h>

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
	/* Schema, data and history (without times, hosts or the "audit" table), malloc'd. */
	char *(*dump)(const char *url);
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
} conf_backend;

/* The raw pieces of the SQL drivers. */
#define CONF_SQL_AUDIT_STEP                                                                                     \
	"{\"op\":\"sql\",\"up\":\"INSERT INTO audit (note) VALUES ('v4')\",\"down\":\"DELETE FROM audit WHERE " \
	"note = 'v4'\"}"
#define CONF_SQL_BUMP "{\"sql\":\"counter + 1\"}"
#define CONF_SQL_DROP "{\"sql\":\"counter - 1\"}"

/* Defined by each backend file. */
const conf_backend *conf_backend_get(void);

#endif
