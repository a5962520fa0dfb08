/*
 * Lint with live sizes on SQLite (tests/lint.h's scenario): row counts
 * decide which findings fire; linting writes nothing.
 */
#include "lint.h"
#include "sqlite_util.h"

TEST(lint_live_sizes)
{
	const char *path = harness_path("lint.db");
	migrate_target_t *t = tu_target(path);
	migrate_plan_t *p = lint_live_setup(t);
	sqlite3 *db = tu_open(path);

	tu_exec(db, "INSERT INTO big (id, name) VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd'), (5, 'e');"
		    "INSERT INTO small (id, name) VALUES (1, 'a')");
	lint_live_check(t, p,
			"2:0:unique-index-unchecked:error\n"
			"2:1:unique-index-unchecked:error\n"
			"2:3:add-column-not-null-no-default:error\n");
	/* Nothing was written: no index, no column, version 2 still pending. */
	CHECK_INT(tu_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name LIKE '%_name'"), 0);
	CHECK_INT(tu_int(db, "SELECT count(*) FROM pragma_table_info('big') WHERE name = 'flag'"), 0);
	CHECK_INT(tu_int(db, "SELECT count(*) FROM big"), 5);
	sqlite3_close(db);
	migrate_plan_destroy(p);
	migrate_target_close(t);
}
