/*
 * A hot standby of the test server (scripts/pg-server.sh standby: a
 * streaming replica made with pg_basebackup -R on another port): `check`
 * reports the version the standby has replayed and whether it is behind
 * or ahead of the plan; `up` refuses at once, read-only, writing nothing;
 * after an `up` on the primary the standby's check catches up.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "postgres_util.h"

/* The standby's URL on the database of `db_url` (a database of the primary, replicated). */
static const char *standby_url(const char *db_url)
{
	return pgt_other_server("MIGRATE_PG_STANDBY_URL_FILE", db_url, NULL, "PostgreSQL standby");
}

static migrate_plan_t *plan_of(int n)
{
	migrate_plan_t *plan = NULL;
	migrate_error_t err;
	char step[200];
	int i;

	CHECK_OK(migrate_plan_new(&plan, "replica", &err), &err);
	pgt_step(pgt_version(plan, 1, "table"),
		 "{\"op\":\"create_table\",\"table\":\"t\",\"columns\":[{\"name\":\"v\",\"type\":\"integer\"}]}");
	for (i = 2; i <= n; i++) {
		snprintf(
			step, sizeof step,
			"{\"op\":\"sql\",\"up\":\"INSERT INTO t VALUES (%d)\",\"down\":\"DELETE FROM t WHERE v = %d\"}",
			i, i);
		pgt_step(pgt_version(plan, (uint64_t)i, "row"), step);
	}
	return plan;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Polls the standby's check until it has replayed `version` (10 s at most); returns the time it took. */
static int64_t wait_replayed(migrate_target_t *standby, const migrate_plan_t *plan, uint64_t version)
{
	int64_t start = now_ms();
	migrate_check_details_t d = {.version = MIGRATE_CHECK_DETAILS_VERSION};
	migrate_check_state_t state;
	migrate_error_t err;

	for (;;) {
		int rc = migrate_check_details(standby, plan, &state, &d, &err);
		/* Before the history table is replayed the standby has no history: nothing applied. */
		CHECK_OK(rc, &err);
		if (d.database_version >= version)
			return now_ms() - start;
		if (now_ms() - start > 10000)
			harness_fail(__FILE__, __LINE__,
				     "the standby did not replay version %llu within 10 s (at %llu)",
				     (unsigned long long)version, (unsigned long long)d.database_version);
		usleep(20000);
	}
}

TEST(check_and_up_on_a_hot_standby)
{
	const char *primary = pgt_fresh_db("standby");
	PGconn *p = pgt_connect(primary);
	migrate_target_t *tp = pgt_target(primary), *ts;
	migrate_plan_t *two = plan_of(2), *three = plan_of(3);
	migrate_check_details_t d = {.version = MIGRATE_CHECK_DETAILS_VERSION};
	migrate_check_state_t state;
	migrate_error_t err;
	PGconn *s;
	int64_t took;
	int i;

	CHECK_OK(migrate_up(tp, two, 0, NULL, &err), &err);
	/* The new database reaches the standby through the WAL too: wait until it accepts connections. */
	for (i = 0; i < 500; i++) {
		s = PQconnectdb(standby_url(primary));
		if (PQstatus(s) == CONNECTION_OK)
			break;
		PQfinish(s);
		s = NULL;
		usleep(20000);
	}
	CHECK(s != NULL);
	CHECK_VALUE(s, "SELECT pg_is_in_recovery()", "t");
	ts = pgt_target(standby_url(primary));
	took = wait_replayed(ts, two, 2);
	fprintf(stderr, "the standby replayed versions 1-2 %lld ms after they were applied\n", (long long)took);

	/* Up to date for the plan of two versions; behind the plan of three. */
	CHECK_OK(migrate_check_details(ts, two, &state, &d, &err), &err);
	CHECK_INT(state, MIGRATE_CHECK_UP_TO_DATE);
	CHECK_INT(d.database_version, 2);
	CHECK_INT(d.plan_version, 2);
	CHECK_INT(d.pending, 0);
	CHECK_INT(d.ahead, 0);
	CHECK_OK(migrate_check_details(ts, three, &state, &d, &err), &err);
	CHECK_INT(state, MIGRATE_CHECK_PENDING);
	CHECK_INT(d.database_version, 2);
	CHECK_INT(d.plan_version, 3);
	CHECK_INT(d.pending, 1);

	/* up on the standby: refused before anything is tried, in either lock mode. */
	CHECK_INT(migrate_up(ts, three, 0, NULL, &err), MIGRATE_EDB);
	CHECK_HAS(err.message, "is read-only (a hot standby, in recovery): nothing was written; run migrations "
			       "against the primary");
	migrate_target_close(ts);
	{
		char lease[1000];
		snprintf(lease, sizeof lease, "%s?migrate_lock=lease", standby_url(primary));
		ts = pgt_target(lease);
		CHECK_INT(migrate_up(ts, three, 0, NULL, &err), MIGRATE_EDB);
		CHECK_HAS(err.message, "read-only (a hot standby, in recovery)");
		migrate_target_close(ts);
	}
	ts = pgt_target(standby_url(primary));
	CHECK_INT(pgt_int(p, "SELECT count(*) FROM _migrate_history WHERE plan = 'replica'"), 2);
	CHECK_INT(pgt_int(p, "SELECT count(*) FROM t"), 1);
	CHECK_INT(pgt_int(p, "SELECT count(*) FROM pg_tables WHERE tablename = '_migrate_lock'"), 0);

	/* up on the primary: the standby's check catches up; the old plan then sees the database ahead. */
	CHECK_OK(migrate_up(tp, three, 0, NULL, &err), &err);
	took = wait_replayed(ts, three, 3);
	fprintf(stderr, "the standby replayed version 3 %lld ms after it was applied\n", (long long)took);
	CHECK_OK(migrate_check_details(ts, three, &state, &d, &err), &err);
	CHECK_INT(state, MIGRATE_CHECK_UP_TO_DATE);
	CHECK_INT(d.pending, 0);
	CHECK_OK(migrate_check_details(ts, two, &state, &d, &err), &err);
	CHECK_INT(state, MIGRATE_CHECK_UP_TO_DATE);
	CHECK_INT(d.database_version, 3);
	CHECK_INT(d.plan_version, 2);
	CHECK_INT(d.ahead, 1);
	CHECK_VALUE(s, "SELECT string_agg(v::text, ',' ORDER BY v) FROM t", "2,3");

	/* An unknown details version is refused. */
	d.version = 99;
	CHECK_INT(migrate_check_details(ts, two, &state, &d, &err), MIGRATE_EVERSION);

	migrate_target_close(ts);
	migrate_target_close(tp);
	migrate_plan_destroy(two);
	migrate_plan_destroy(three);
	PQfinish(s);
	PQfinish(p);
}
