/*
 * Lint with live sizes on PostgreSQL (tests/lint.h's scenario): the
 * planner's estimate (or a count where the table was never analysed)
 * decides which findings fire; linting writes nothing.
 */
#include "lint.h"
#include "postgres_util.h"

TEST(lint_live_sizes)
{
	const char *url = pgt_fresh_db("lint");
	migrate_target_t *t = pgt_target(url);
	migrate_plan_t *p = lint_live_setup(t);
	PGconn *c = PQconnectdb(url);

	pgt_exec(c, "INSERT INTO big (id, name) VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd'), (5, 'e');"
		    "INSERT INTO small (id, name) VALUES (1, 'a')");
	lint_live_check(t, p,
			"2:0:pg-index-not-concurrent:error\n"
			"2:0:unique-index-unchecked:error\n"
			"2:1:unique-index-unchecked:error\n"
			"2:3:add-column-not-null-no-default:error\n");
	/* Analysed, big's estimate is the planner's: the same findings. */
	pgt_exec(c, "ANALYZE big; ANALYZE small; ANALYZE empty");
	CHECK_INT(pgt_int(c, "SELECT reltuples::bigint FROM pg_class WHERE relname = 'big'"), 5);
	lint_live_check(t, p,
			"2:0:pg-index-not-concurrent:error\n"
			"2:0:unique-index-unchecked:error\n"
			"2:1:unique-index-unchecked:error\n"
			"2:3:add-column-not-null-no-default:error\n");
	/* Nothing was written: no index, no column, version 2 still pending. */
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM pg_indexes WHERE indexname LIKE '%_name'"), 0);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM information_schema.columns WHERE column_name = 'flag'"), 0);
	PQfinish(c);
	migrate_plan_destroy(p);
	migrate_target_close(t);
}
