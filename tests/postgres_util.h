/*
 * Helpers of the PostgreSQL tests: the server started by the test fixture
 * (scripts/pg-server.sh, URL in the file named by MIGRATE_PG_URL_FILE, or
 * MIGRATE_PG_URL itself), a fresh database per test, and queries that
 * check the final state in the catalogs and the data.
 */
#ifndef MIGRATE_TEST_POSTGRES_UTIL_H
#define MIGRATE_TEST_POSTGRES_UTIL_H

#include <libpq-fe.h>
#include <stdint.h>

#include <migrate/migrate.h>
#include <migrate/postgres.h>

/* The server's URL; skips the test (fails under CI=true) when there is none. */
const char *pgt_server_url(void);
/*
 * Creates a fresh database for this test (named after `tag` and the pid)
 * and returns its URL in a static buffer.
 */
const char *pgt_fresh_db(const char *tag);
/* Connects or fails the test. */
PGconn *pgt_connect(const char *url);
/* Runs SQL that must succeed. */
void pgt_exec(PGconn *c, const char *sql);
/* The first value of the first row as a malloc'd string (NULL for SQL NULL or no row). */
char *pgt_value(PGconn *c, const char *sql);
/* The first value as an integer (-1 for NULL or no row). */
int64_t pgt_int(PGconn *c, const char *sql);
/* The first value of `sql` equals / contains `expected` (freed; NULL for SQL NULL). */
void pgt_check_value(PGconn *c, const char *sql, const char *expected, int contains, const char *file, int line);
#define CHECK_VALUE(c, sql, expected) pgt_check_value((c), (sql), (expected), 0, __FILE__, __LINE__)
#define CHECK_VALUE_HAS(c, sql, expected) pgt_check_value((c), (sql), (expected), 1, __FILE__, __LINE__)
/* Opens a target on `url` or fails the test. */
migrate_target_t *pgt_target(const char *url);
/* Appends a step given as JSON to `v` or fails the test. */
void pgt_step(migrate_version_t *v, const char *json);
/* A plan of `name` with one version `id` holding the given JSON steps (NULL-terminated). */
migrate_version_t *pgt_version(migrate_plan_t *plan, uint64_t id, const char *name);

/* The advisory locks held on the current database (other tests run beside it). */
#define PGT_ADVISORY_LOCKS_HERE                                                     \
	"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = " \
	"(SELECT oid FROM pg_database WHERE datname = current_database())"

/*
 * The URL of another server of the suite (a pooler, a standby) whose URL
 * is in the file named by the environment variable `env`, on the database
 * of the URL `on`, with `params` (NULL: none) as its query; static buffer.
 * Skips the test (fails under CI=true) when there is none; `what` names it.
 */
const char *pgt_other_server(const char *env, const char *on, const char *params, const char *what);
/*
 * A server of this test's own (scripts/pg-server.sh in the test's
 * temporary directory), for a test whose premise is that nothing else
 * writes to it; its URL in a static buffer. pgt_private_server_stop()
 * stops it before the test returns; a test that fails stops it through a
 * watchdog process that outlives the test's own. Skips like
 * pgt_server_url() without PostgreSQL.
 */
const char *pgt_private_server(void);
void pgt_private_server_stop(void);

/*
 * Plan `name`: version 1 makes the table log(version, pid) and every
 * version 1..versions inserts its row (2.. after a 50 ms sleep), so that
 * a version run twice shows.
 */
migrate_plan_t *pgt_log_plan(const char *name, int versions);

#endif
