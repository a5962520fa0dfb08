/* The fleet test on a SQLite file (tests/fleet_seed.h). */
#include <unistd.h>

#include "fleet_seed.h"
#include "sqlite_util.h"

static int64_t query(void *conn, const char *sql)
{
	return tu_int(conn, sql);
}

static void sums(const char *url, fleet_sums_t *out)
{
	sqlite3 *db = tu_open(url + 7);

	fleet_sql_sums(query, db, out);
	sqlite3_close(db);
}

/* Rows of the lock table, and the lock file beside the database. */
static int64_t locks_left(const char *url)
{
	sqlite3 *db = tu_open(url + 7);
	int64_t n = tu_int(db, "SELECT count(*) FROM _migrate_lock");
	char lock[1200];

	sqlite3_close(db);
	snprintf(lock, sizeof lock, "%s-migrate.lock", url + 7);
	return n + (access(lock, F_OK) == 0);
}

static const fleet_seed_driver_t driver = {
	.name = "SQLite file",
	.plan = fleet_seed_sql_plan,
	.rows = 200000,
	.sums = sums,
	.locks_left = locks_left,
};

/*
 * Waiters that give up only need a migration longer than their lock
 * timeout: a tenth of the rows.
 */
static const fleet_seed_driver_t timeout_driver = {
	.name = "SQLite file, 100 ms lock timeout",
	.plan = fleet_seed_sql_plan,
	.rows = 20000,
	.fewer = "a tenth: the migration need only outlast the timeout",
	.sums = sums,
	.locks_left = locks_left,
};

/* The file `name` of the test's directory, holding the old sessions of `d`; its URL (static buffer). */
static const char *old_sessions(const fleet_seed_driver_t *d, const char *name)
{
	static char url[1200];
	char sql[1000];
	sqlite3 *db;

	snprintf(url, sizeof url, "%s", tu_url(harness_path(name)));
	db = tu_open(url + 7);
	tu_exec(db, "CREATE TABLE sessions (id INTEGER PRIMARY KEY, job_id TEXT NOT NULL, user_id TEXT NOT NULL, "
		    "operation_type TEXT, status TEXT NOT NULL, tool_ids TEXT, tool_failure_ids TEXT, "
		    "error_message TEXT, created_at TEXT, updated_at TEXT)");
	snprintf(sql, sizeof sql,
		 "WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < %ld) "
		 "INSERT INTO sessions (id, job_id, user_id, operation_type, status, tool_ids, tool_failure_ids) "
		 "SELECT " FLEET_SQL_ROW " FROM g",
		 fleet_seed_rows(d));
	tu_exec(db, sql);
	sqlite3_close(db);
	return url;
}

TEST(sqlite_file)
{
	fleet_seed_run(&driver, NULL, old_sessions(&driver, "fleet.sqlite"), NULL, 0, NULL);
}

/*
 * Waiters that give up: with a lock timeout of 100 ms, shorter than the
 * migration, the waiters exit with the lock-timeout code (counted), none
 * with another, and the one that migrates still applies every version.
 */
TEST(sqlite_lock_timeout)
{
	fleet_figures_t fig;

	fleet_seed_run(&timeout_driver, NULL, old_sessions(&timeout_driver, "timeout.sqlite"), NULL, 100, &fig);
	CHECK(fig.locked >= 1);
	CHECK_INT(fig.ok + fig.locked, 64);
}
