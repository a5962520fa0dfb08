/*
 * Fleets through PgBouncer (scripts/pgbouncer-server.sh, ctest fixtures in
 * tests/postgres.cmake): 64 processes run `up` at once through a
 * transaction pooler in lease mode and through a session pooler in the
 * default advisory mode, and every version runs exactly once; the advisory
 * mode refuses a transaction pooler with a clear message and leaves no
 * lock behind. Each test prints its figures (last finish, lock polls);
 * tests/fleet.c runs the processes.
 */
#include <stdio.h>

#include "fleet.h"
#include "harness.h"
#include "postgres_util.h"

#define FLEET 64
#define VERSIONS 4
static const char *pooler_url(const char *env, const char *db_url, const char *params)
{
	return pgt_other_server(env, db_url, params, "PgBouncer (scripts/install-deps.sh installs it)");
}

static migrate_plan_t *fleet_plan(void)
{
	return pgt_log_plan("fleet", VERSIONS);
}

/* Checks that every version ran exactly once, by one process, and prints the fleet's figures. */
static void check_fleet(PGconn *c, const char *what, const fleet_t *f)
{
	fleet_figures_t fig;

	fleet_check(f, VERSIONS, &fig);
	CHECK_INT(fig.ok, f->processes);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM log"), VERSIONS);
	CHECK_INT(pgt_int(c, "SELECT count(DISTINCT version) FROM log"), VERSIONS);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM _migrate_history WHERE plan = 'fleet'"), VERSIONS);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM _migrate_history WHERE plan = 'fleet' AND state = 'applied'"),
		  VERSIONS);
	fleet_print(what, f, VERSIONS, -1, NULL, &fig);
}

/* 64 processes on the database `tag` through the pooler of `env`; `after` must count 0 then (no lock left). */
static void fleet_through(const char *tag, const char *env, const char *params, const char *what, const char *after)
{
	const char *db = pgt_fresh_db(tag);
	const char *url = pooler_url(env, db, params);
	PGconn *c = pgt_connect(db);
	static fleet_t f;

	f.url = url;
	f.plan = fleet_plan;
	f.processes = FLEET;
	fleet_run(&f);
	check_fleet(c, what, &f);
	CHECK_INT(pgt_int(c, after), 0);
	PQfinish(c);
}

TEST(lease_fleet_through_transaction_pooler)
{
	/* The lease is released: no row left in the lock table. */
	fleet_through("txpool", "MIGRATE_PGBOUNCER_TXN_URL_FILE", "migrate_lock=lease",
		      "lease lock through a transaction pooler", "SELECT count(*) FROM _migrate_lock");
}

TEST(advisory_fleet_through_session_pooler)
{
	fleet_through("sesspool", "MIGRATE_PGBOUNCER_SESSION_URL_FILE", NULL, "advisory lock through a session pooler",
		      PGT_ADVISORY_LOCKS_HERE);
}

/* The advisory lock through a transaction pooler: refused, by one process alone and by 16 at once. */
TEST(advisory_refuses_transaction_pooler)
{
	const char *db = pgt_fresh_db("txrefuse");
	const char *url = pooler_url("MIGRATE_PGBOUNCER_TXN_URL_FILE", db, NULL);
	PGconn *c = pgt_connect(db);
	migrate_target_t *t = pgt_target(url);
	migrate_plan_t *plan = fleet_plan();
	migrate_error_t err;
	static fleet_t f;
	int i;

	CHECK_INT(migrate_up(t, plan, 0, NULL, &err), MIGRATE_EINVAL);
	CHECK_HAS(err.message, "plan \"fleet\": this connection goes through a connection pooler in transaction mode");
	CHECK_HAS(err.message, "add migrate_lock=lease to the URL");
	migrate_target_close(t);
	migrate_plan_destroy(plan);

	f.url = url;
	f.plan = fleet_plan;
	f.processes = 16;
	fleet_run(&f);
	for (i = 0; i < f.processes; i++) {
		CHECK_INT(f.status[i], 1);
		CHECK_INT(f.reports[i].rc, MIGRATE_EINVAL);
		CHECK_HAS(f.reports[i].message, "connection pooler in transaction mode");
	}
	/* Nothing ran, nothing was recorded, and no advisory lock stays on a pooled server connection. */
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM pg_tables WHERE tablename = 'log'"), 0);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM _migrate_history"), 0);
	CHECK_INT(pgt_int(c, PGT_ADVISORY_LOCKS_HERE), 0);
	PQfinish(c);
}
