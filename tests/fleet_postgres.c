/*
 * The fleet test on PostgreSQL (tests/fleet_seed.h): seed 000's plan (its
 * file written for SQLite: every step is portable) straight to the server
 * with the advisory lock, and through PgBouncer in transaction mode with
 * the lease lock.
 */
#include <stdio.h>
#include <unistd.h>

#include "fleet_seed.h"
#include "postgres_util.h"

static int64_t query(void *conn, const char *sql)
{
	return pgt_int(conn, sql);
}

static void sums(const char *url, fleet_sums_t *out)
{
	PGconn *c = pgt_connect(url);

	fleet_sql_sums(query, c, out);
	PQfinish(c);
}

/*
 * Leases left in the lock table, and advisory locks held on the database.
 * The lease row is what a fleet could strand; advisory locks end with
 * their sessions, so once every process has exited none can be left (that
 * count only proves no server session outlived its process).
 */
static int64_t locks_left(const char *url)
{
	PGconn *c = pgt_connect(url);
	int64_t n = pgt_int(c, PGT_ADVISORY_LOCKS_HERE);

	if (pgt_int(c, "SELECT count(*) FROM pg_tables WHERE tablename = '_migrate_lock'") > 0)
		n += pgt_int(c, "SELECT count(*) FROM _migrate_lock");
	PQfinish(c);
	return n;
}

/*
 * The transactions the server counted on the database. Backends flush
 * their counts as they exit, a moment after the client: the count is read
 * until it stays put for 100 ms.
 */
static int64_t server_count(const char *url)
{
	PGconn *c = pgt_connect(url);
	int64_t n = -1, last;
	int i;

	for (i = 0; i < 20; i++) {
		last = n;
		pgt_exec(c, "SELECT pg_stat_clear_snapshot()");
		n = pgt_int(c, "SELECT xact_commit + xact_rollback FROM pg_stat_database "
			       "WHERE datname = current_database()");
		if (n == last)
			break;
		usleep(100000);
	}
	PQfinish(c);
	return n;
}

/* A fresh database `tag` holding the old sessions; its URL (static buffer). */
static const char *old_sessions(const char *tag, long rows)
{
	const char *url = pgt_fresh_db(tag);
	PGconn *c = pgt_connect(url);
	char sql[1000];

	pgt_exec(c, "CREATE TABLE sessions (id integer PRIMARY KEY, job_id text NOT NULL, user_id text NOT NULL, "
		    "operation_type text, status text NOT NULL, tool_ids jsonb, tool_failure_ids jsonb, "
		    "error_message text, created_at timestamptz, updated_at timestamptz)");
	snprintf(sql, sizeof sql,
		 "INSERT INTO sessions (id, job_id, user_id, operation_type, status, tool_ids, tool_failure_ids) "
		 "SELECT a, b, c, d, e, t::jsonb, f::jsonb FROM (SELECT " FLEET_SQL_ROW
		 " FROM generate_series(1, %ld) AS g(x)) AS r(a, b, c, d, e, t, f)",
		 rows);
	pgt_exec(c, sql);
	pgt_exec(c, "ANALYZE sessions");
	PQfinish(c);
	return url;
}

static const fleet_seed_driver_t driver = {
	.name = "PostgreSQL",
	.plan = fleet_seed_sql_plan,
	.rows = 200000,
	.sums = sums,
	.locks_left = locks_left,
	.server_count = server_count,
};

TEST(postgres_advisory)
{
	static char url[600];

	snprintf(url, sizeof url, "%s", old_sessions("fleet_adv", fleet_seed_rows(&driver)));
	fleet_seed_run(&driver, "PostgreSQL, advisory lock", url, NULL, 0, NULL);
}

TEST(postgres_pgbouncer_lease)
{
	static char db[600];
	const char *url;

	snprintf(db, sizeof db, "%s", old_sessions("fleet_lease", fleet_seed_rows(&driver)));
	url = pgt_other_server("MIGRATE_PGBOUNCER_TXN_URL_FILE", db, "migrate_lock=lease",
			       "PgBouncer (scripts/install-deps.sh installs it)");
	fleet_seed_run(&driver, "PgBouncer transaction, lease", url, db, 0, NULL);
}
