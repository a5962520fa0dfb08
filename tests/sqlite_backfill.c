/*
 * Batched updates on SQLite: backfill expressions, map_values, progress,
 * cancellation and resumption from the journaled checkpoint.
 */
#include <time.h>
#include <unistd.h>

#include "sqlite_util.h"

static migrate_error_t err;

typedef struct events {
	int progress;  /* PROGRESS events seen */
	int cancel_at; /* cancel at this PROGRESS event (0: never) */
	int64_t last_processed, last_total;
	int step;                    /* the step of the last PROGRESS */
	int64_t batches, longest_ms; /* of the last STEP_END */
	int64_t t0;                  /* the wall clock at the run's start */
} events_t;

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int on_event(const migrate_event_t *e, void *payload)
{
	events_t *ev = payload;

	if (e->type == MIGRATE_EVENT_STEP_END) {
		ev->batches = e->batches;
		ev->longest_ms = e->longest_batch_ms;
		/* no batch outlasts the run */
		CHECK(e->longest_batch_ms >= 0 && e->longest_batch_ms <= wall_ms() - ev->t0 + 1);
	}
	if (e->type == MIGRATE_EVENT_STEP_START)
		ev->batches = ev->longest_ms = -1;
	if (e->type != MIGRATE_EVENT_PROGRESS)
		return 0;
	ev->progress++;
	/* processed grows within a step */
	CHECK(e->step_index != ev->step || e->processed >= ev->last_processed);
	ev->step = e->step_index;
	ev->last_processed = e->processed;
	ev->last_total = e->total;
	return ev->cancel_at && ev->progress == ev->cancel_at;
}

static migrate_run_options_t options(events_t *ev, uint32_t batch_size)
{
	migrate_run_options_t o;

	migrate_run_options_init(&o, MIGRATE_RUN_OPTIONS_VERSION);
	o.batch_size = batch_size;
	o.on_event = on_event;
	o.event_payload = ev;
	ev->t0 = wall_ms();
	return o;
}

TEST(counters_from_arrays_and_counts)
{
	const char *path = harness_path("db.sqlite");
	migrate_target_t *t = tu_target(path);
	migrate_plan_t *p = tu_plan("app");
	sqlite3 *db = tu_open(path);
	events_t ev = {0};
	migrate_run_options_t o = options(&ev, 7);
	int i;

	tu_exec(db, "CREATE TABLE jobs (id INTEGER PRIMARY KEY, job_id TEXT, status TEXT, tool_ids TEXT,"
		    " tool_failure_ids TEXT, tools_completed INTEGER DEFAULT 0, tools_failed INTEGER DEFAULT 0,"
		    " sessions_done INTEGER DEFAULT 0, label TEXT, copy TEXT, tag TEXT);"
		    "CREATE TABLE sessions (id INTEGER PRIMARY KEY, job_id TEXT, state TEXT);");
	tu_exec(db, "BEGIN");
	for (i = 1; i <= 40; i++) {
		char sql[400];
		snprintf(
			sql, sizeof sql,
			"INSERT INTO jobs (job_id, status, tool_ids, tool_failure_ids, label) VALUES ('j%d', '%s', %s, %s, "
			"'l%d');"
			"INSERT INTO sessions (job_id, state) VALUES ('j%d', 'done'), ('j%d', 'run'), ('j%d', 'done');",
			i, i % 4 ? "run" : "skip",
			i % 5 == 0   ? "NULL"
			: i % 7 == 0 ? "'not json'"
			: i % 2      ? "'[1,2,3]'"
				     : "'[]'",
			i % 3 == 0 ? "'[\"a\"]'" : "NULL", i, i, i % 2 ? i : 0, i);
		tu_exec(db, sql);
	}
	tu_exec(db, "COMMIT");
	tu_version(p, 1, "counters",
		   "{\"op\":\"backfill\",\"table\":\"jobs\",\"where\":{\"status\":{\"$ne\":\"skip\"}},\"set\":{"
		   "\"tools_completed\":{\"array_length\":\"tool_ids\"},"
		   "\"tools_failed\":{\"array_length\":\"tool_failure_ids\"},"
		   "\"sessions_done\":{\"count\":{\"table\":\"sessions\",\"match\":{\"job_id\":\"job_id\"},"
		   "\"where\":{\"state\":\"done\"}}},"
		   "\"copy\":{\"column\":\"label\"},"
		   "\"tag\":{\"value\":\"it's \\\"v\\\"\"}}}",
		   NULL);
	CHECK_OK(migrate_up(t, p, 0, &o, &err), &err);
	/* 30 rows match the filter: 5 batches of 7 or fewer */
	CHECK_INT(ev.last_processed, 30);
	CHECK_INT(ev.last_total, 30);
	CHECK_INT(ev.progress, 5);
	/* the step's end reports its batches (the last, empty read commits nothing) */
	CHECK_INT(ev.batches, 5);
	CHECK(ev.longest_ms >= 0);
	CHECK_INT(tu_int(db, "SELECT count(*) FROM jobs WHERE status = 'run' AND tools_completed = CASE WHEN "
			     "tool_ids = '[1,2,3]' THEN 3 ELSE 0 END"),
		  30);
	CHECK_INT(tu_int(db, "SELECT count(*) FROM jobs WHERE status = 'run' AND tools_failed = CASE WHEN "
			     "tool_failure_ids IS NULL THEN 0 ELSE 1 END"),
		  30);
	CHECK_INT(tu_int(db, "SELECT count(*) FROM jobs j WHERE status = 'run' AND sessions_done = (SELECT count(*) "
			     "FROM sessions s WHERE s.job_id = j.job_id AND state = 'done')"),
		  30);
	CHECK_INT(tu_int(db, "SELECT count(*) FROM jobs WHERE status = 'run' AND sessions_done IN (1, 2)"), 30);
	CHECK_INT(tu_int(db, "SELECT count(*) FROM jobs WHERE status = 'run' AND copy = label AND tag = 'it''s \"v\"'"),
		  30);
	/* rows outside the filter are untouched */
	CHECK_INT(tu_int(db, "SELECT count(*) FROM jobs WHERE status = 'skip' AND tools_completed = 0 AND copy IS NULL "
			     "AND tag IS NULL"),
		  10);
	CHECK_STR(tu_text(db, "SELECT checkpoint FROM _migrate_history"), "(null)");
	CHECK_INT(tu_int(db, "SELECT state FROM _migrate_history"), MIGRATE_STATE_APPLIED);
	sqlite3_close(db);
	migrate_target_close(t);
	migrate_plan_destroy(p);
}

TEST(map_values_and_inverse)
{
	const char *path = harness_path("db.sqlite");
	migrate_target_t *t = tu_target(path);
	migrate_plan_t *p = tu_plan("app");
	sqlite3 *db = tu_open(path);
	events_t ev = {0};
	migrate_run_options_t o = options(&ev, 3);

	tu_exec(db, "CREATE TABLE jobs (id INTEGER PRIMARY KEY, status TEXT, kind TEXT, level INTEGER);"
		    "INSERT INTO jobs (status, kind, level) VALUES ('pending', 'a', 1), ('planning', 'a', 2), "
		    "('searching', 'b', 3), ('completed', 'a', 1), ('failed', 'a', 2), (NULL, 'a', 3), "
		    "('pending', 'z', 1), ('executing', 'a', 2);");
	tu_version(
		p, 1, "statuses",
		"{\"op\":\"map_values\",\"table\":\"jobs\",\"column\":\"status\",\"map\":{\"pending\":\"queued\","
		"\"planning\":\"processing\",\"searching\":\"scanning\",\"executing\":\"running\"},"
		"\"where\":{\"kind\":{\"$in\":[\"a\",\"b\"]}}}",
		"{\"op\":\"map_values\",\"table\":\"jobs\",\"column\":\"level\",\"map\":{\"1\":\"10\",\"2\":\"20\"}}",
		NULL);
	CHECK_OK(migrate_up(t, p, 0, &o, &err), &err);
	CHECK_STR(
		tu_text(db,
			"SELECT group_concat(coalesce(status, 'null'), ',') FROM (SELECT status FROM jobs ORDER BY id)"),
		"queued,processing,scanning,completed,failed,null,pending,running");
	CHECK_STR(tu_text(db, "SELECT group_concat(level, ',') FROM (SELECT level FROM jobs ORDER BY id)"),
		  "10,20,3,10,20,3,10,20");
	CHECK_INT(tu_int(db, "SELECT typeof(level) = 'integer' FROM jobs WHERE id = 1"), 1);
	/* one-to-one maps are undone by the inverse map */
	ev.step = -1;
	CHECK_OK(migrate_down(t, p, 0, &o, &err), &err);
	CHECK_STR(
		tu_text(db,
			"SELECT group_concat(coalesce(status, 'null'), ',') FROM (SELECT status FROM jobs ORDER BY id)"),
		"pending,planning,searching,completed,failed,null,pending,executing");
	CHECK_STR(tu_text(db, "SELECT group_concat(level, ',') FROM (SELECT level FROM jobs ORDER BY id)"),
		  "1,2,3,1,2,3,1,2");
	sqlite3_close(db);
	migrate_target_close(t);
	migrate_plan_destroy(p);
}

static void fill(sqlite3 *db, int n)
{
	char sql[200];

	tu_exec(db, "CREATE TABLE items (id INTEGER PRIMARY KEY, counter INTEGER NOT NULL DEFAULT 0, grp INTEGER)");
	snprintf(sql, sizeof sql,
		 "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < %d) "
		 "INSERT INTO items (id, grp) SELECT i * 3, i %% 10 FROM s",
		 n);
	tu_exec(db, sql);
}

/* counter + 1 is not idempotent: a row updated twice or skipped shows. */
#define INCREMENT "{\"op\":\"backfill\",\"table\":\"items\",\"set\":{\"counter\":{\"sql\":\"\\\"counter\\\" + 1\"}}}"

TEST(cancel_and_resume_from_checkpoint)
{
	const char *path = harness_path("db.sqlite");
	migrate_target_t *t = tu_target(path);
	migrate_plan_t *p = tu_plan("app");
	sqlite3 *db = tu_open(path);
	events_t ev = {.cancel_at = 3};
	migrate_run_options_t o = options(&ev, 10);
	migrate_status_t *st = NULL;

	fill(db, 100);
	tu_version(p, 1, "increment", INCREMENT, "{\"op\":\"sql\",\"up\":\"CREATE TABLE after_backfill (x)\"}", NULL);
	CHECK_INT(migrate_up(t, p, 0, &o, &err), MIGRATE_ECANCELED);
	CHECK_INT(tu_int(db, "SELECT count(*) FROM items WHERE counter = 1"), 30);
	CHECK_INT(tu_int(db, "SELECT count(*) FROM items WHERE counter = 0"), 70);
	CHECK_INT(tu_int(db, "SELECT max(id) FROM items WHERE counter = 1"), 90);
	CHECK_STR(tu_text(db, "SELECT checkpoint FROM _migrate_history"), "{\"after\":[90],\"done\":30}");
	CHECK_INT(tu_int(db, "SELECT steps_done FROM _migrate_history"), 0);
	CHECK(!tu_has_table(db, "after_backfill"));
	CHECK_OK(migrate_status_get(t, p, &st, &err), &err);
	CHECK(migrate_status_entry(st, 0)->state != MIGRATE_STATE_APPLIED);
	migrate_status_destroy(st);

	/* the next run resumes after row 90 and counts from 30 */
	ev.cancel_at = 0;
	ev.progress = 0;
	ev.last_processed = 0;
	usleep(1200 * 1000);
	CHECK_OK(migrate_up(t, p, 0, &o, &err), &err);
	/* its duration is the resumed run's; started_at keeps the first start */
	CHECK(tu_int(db, "SELECT duration_ms FROM _migrate_history") < 1000);
	CHECK(tu_int(db, "SELECT finished_at_ms - started_at_ms FROM _migrate_history") >= 1200);
	CHECK_INT(tu_int(db, "SELECT count(*) FROM items WHERE counter = 1"), 100);
	CHECK_INT(ev.progress, 7);
	CHECK_INT(ev.last_processed, 100);
	CHECK_INT(ev.last_total, 100);
	CHECK(tu_has_table(db, "after_backfill"));
	CHECK_INT(tu_int(db, "SELECT state FROM _migrate_history"), MIGRATE_STATE_APPLIED);
	CHECK_STR(tu_text(db, "SELECT checkpoint FROM _migrate_history"), "(null)");
	sqlite3_close(db);
	migrate_target_close(t);
	migrate_plan_destroy(p);
}

TEST(adaptive_batches)
{
	const char *path = harness_path("db.sqlite");
	migrate_target_t *t = tu_target(path);
	migrate_plan_t *p = tu_plan("app");
	sqlite3 *db = tu_open(path);
	events_t ev = {0};
	migrate_run_options_t o = options(&ev, 0);

	fill(db, 20000);
	o.batch_time_ms = 5;
	tu_version(p, 1, "increment", INCREMENT, NULL);
	CHECK_OK(migrate_up(t, p, 0, &o, &err), &err);
	CHECK_INT(tu_int(db, "SELECT count(*) FROM items WHERE counter = 1"), 20000);
	CHECK_INT(ev.last_processed, 20000);
	CHECK_INT(ev.last_total, 20000);
	/* sized by the driver: more than one batch, and not a fixed 1000 */
	CHECK(ev.progress > 1);
	CHECK(ev.progress != 20);
	CHECK_INT(ev.batches, ev.progress);
	sqlite3_close(db);
	migrate_target_close(t);
	migrate_plan_destroy(p);
}

/*
 * The pause between batches leaves room to the application; it holds no
 * lock, so it must not count as the batch's time: a pause longer than the
 * budget once shrank every batch to the smallest, one row at a time.
 */
TEST(pause_is_not_batch_time)
{
	const char *path = harness_path("db.sqlite");
	migrate_target_t *t = tu_target(path);
	migrate_plan_t *p = tu_plan("app");
	sqlite3 *db = tu_open(path);
	events_t ev = {0};
	migrate_run_options_t o = options(&ev, 0);

	fill(db, 3000);
	o.batch_time_ms = 50;
	o.batch_pause_ms = 100;
	ev.cancel_at = 30; /* shrinking batches would take thousands */
	tu_version(p, 1, "increment", INCREMENT, NULL);
	CHECK_OK(migrate_up(t, p, 0, &o, &err), &err);
	CHECK_INT(tu_int(db, "SELECT count(*) FROM items WHERE counter = 1"), 3000);
	CHECK(ev.batches < 30);
	sqlite3_close(db);
	migrate_target_close(t);
	migrate_plan_destroy(p);
}

/* STEP_END tells a batched step's batches; a step of one statement has none. */
TEST(step_end_counts_batches)
{
	const char *path = harness_path("db.sqlite");
	migrate_target_t *t = tu_target(path);
	migrate_plan_t *p = tu_plan("app");
	sqlite3 *db = tu_open(path);
	events_t ev = {0};
	migrate_run_options_t o = options(&ev, 4);

	fill(db, 10);
	tu_version(
		p, 1, "index",
		"{\"op\":\"create_index\",\"table\":\"items\",\"name\":\"items_grp\",\"keys\":[{\"column\":\"grp\"}]}",
		NULL);
	CHECK_OK(migrate_up(t, p, 0, &o, &err), &err);
	CHECK_INT(ev.batches, 0);
	CHECK_INT(ev.longest_ms, 0);
	tu_version(p, 2, "increment", INCREMENT, NULL);
	CHECK_OK(migrate_up(t, p, 0, &o, &err), &err);
	CHECK_INT(ev.batches, 3); /* 4 + 4 + 2 rows */
	CHECK_INT(tu_int(db, "SELECT count(*) FROM items WHERE counter = 1"), 10);
	sqlite3_close(db);
	migrate_target_close(t);
	migrate_plan_destroy(p);
}

TEST(without_rowid_composite_key)
{
	const char *path = harness_path("db.sqlite");
	migrate_target_t *t = tu_target(path);
	migrate_plan_t *p = tu_plan("app");
	sqlite3 *db = tu_open(path);
	events_t ev = {.cancel_at = 2};
	migrate_run_options_t o = options(&ev, 4);

	tu_exec(db,
		"CREATE TABLE kv (ns TEXT, k INTEGER, v INTEGER DEFAULT 0, PRIMARY KEY (ns, k)) WITHOUT ROWID;"
		"WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 21) "
		"INSERT INTO kv (ns, k) SELECT CASE WHEN i % 3 = 0 THEN 'a' WHEN i % 3 = 1 THEN 'b''c' ELSE 'z' END, "
		"i FROM s;");
	tu_version(p, 1, "increment", "{\"op\":\"backfill\",\"table\":\"kv\",\"set\":{\"v\":{\"sql\":\"v + 1\"}}}",
		   NULL);
	CHECK_INT(migrate_up(t, p, 0, &o, &err), MIGRATE_ECANCELED);
	CHECK_INT(tu_int(db, "SELECT count(*) FROM kv WHERE v = 1"), 8);
	CHECK_HAS(tu_text(db, "SELECT checkpoint FROM _migrate_history"), "\"after\":[\"b'c\",");
	ev.cancel_at = 0;
	CHECK_OK(migrate_up(t, p, 0, &o, &err), &err);
	CHECK_INT(tu_int(db, "SELECT count(*) FROM kv WHERE v = 1"), 21);
	sqlite3_close(db);
	migrate_target_close(t);
	migrate_plan_destroy(p);
}

TEST(backfill_in_memory_and_empty)
{
	migrate_target_t *t = NULL;
	migrate_plan_t *p = tu_plan("app");
	events_t ev = {0};
	migrate_run_options_t o = options(&ev, 0);
	sqlite3 *db;

	CHECK_OK(migrate_target_open(&t, "sqlite::memory:", &err), &err);
	db = migrate_target_native_handle(t);
	tu_exec(db, "CREATE TABLE e (a INTEGER)");
	tu_version(p, 1, "nothing to do", "{\"op\":\"backfill\",\"table\":\"e\",\"set\":{\"a\":{\"value\":1}}}",
		   "{\"op\":\"map_values\",\"table\":\"e\",\"column\":\"a\",\"map\":{\"1\":2}}", NULL);
	CHECK_OK(migrate_up(t, p, 0, &o, &err), &err);
	CHECK_INT(ev.progress, 0);
	CHECK_INT(tu_int(db, "SELECT state FROM _migrate_history"), MIGRATE_STATE_APPLIED);
	migrate_target_close(t);
	migrate_plan_destroy(p);
}

/*
 * An up stopped inside a batched step leaves some of its batches committed;
 * a down must undo them too, and must not hand that step's checkpoint to
 * the inverse of an earlier step.
 */
TEST(down_after_a_step_stopped_part_way)
{
	const char *path = harness_path("db.sqlite");
	migrate_target_t *t = tu_target(path);
	migrate_plan_t *p = tu_plan("app");
	sqlite3 *db = tu_open(path);
	events_t ev = {.cancel_at = 2};
	migrate_run_options_t o = options(&ev, 3);
	int i;

	tu_exec(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT)");
	for (i = 0; i < 9; i++)
		tu_exec(db, "INSERT INTO t (a, b) VALUES ('x', 'x')");
	tu_version(p, 1, "two maps",
		   "{\"op\":\"map_values\",\"table\":\"t\",\"column\":\"a\",\"map\":{\"x\":\"y\"},\"batch_size\":9}",
		   "{\"op\":\"map_values\",\"table\":\"t\",\"column\":\"b\",\"map\":{\"x\":\"y\"}}", NULL);
	/* PROGRESS 1: step 1's only batch; PROGRESS 2: step 2's first batch of 3 rows */
	CHECK_INT(migrate_up(t, p, 0, &o, &err), MIGRATE_ECANCELED);
	CHECK_INT(tu_int(db, "SELECT count(*) FROM t WHERE a = 'y'"), 9);
	CHECK_INT(tu_int(db, "SELECT count(*) FROM t WHERE b = 'y'"), 3);
	CHECK_INT(tu_int(db, "SELECT steps_done FROM _migrate_history"), 1);
	ev.cancel_at = 0;
	CHECK_OK(migrate_down(t, p, 0, &o, &err), &err);
	CHECK_INT(tu_int(db, "SELECT count(*) FROM t WHERE a = 'x' AND b = 'x'"), 9);
	CHECK_INT(tu_int(db, "SELECT count(*) FROM _migrate_history"), 0);
	sqlite3_close(db);
	migrate_target_close(t);
	migrate_plan_destroy(p);
}

/*
 * Double-quoted names are identifiers only: a misspelt column in a backfill
 * expression or a filter fails the step, naming it, instead of being read as
 * a string literal (SQLite's legacy DQS) and written to every row.
 */
static void typo_fails(sqlite3 *db, migrate_target_t *t, const char *step, const char *typo)
{
	migrate_plan_t *p = tu_plan("app");

	tu_version(p, 1, "typo", step, NULL);
	CHECK(migrate_up(t, p, 0, NULL, &err) != 0);
	CHECK_HAS(err.message, "version 1 (\"typo\"), step 1 (backfill)");
	CHECK_HAS(err.message, typo);
	CHECK_INT(tu_int(db, "SELECT count(*) FROM items WHERE counter = 0 AND label = 'l' || id"), 10);
	CHECK_INT(tu_int(db, "SELECT state FROM _migrate_history"), MIGRATE_STATE_FAILED);
	tu_exec(db, "DELETE FROM _migrate_history");
	migrate_plan_destroy(p);
}

static sqlite3 *typo_items(const char *path)
{
	sqlite3 *db = tu_open(path);

	tu_exec(db, "CREATE TABLE items (id INTEGER PRIMARY KEY, counter INTEGER NOT NULL DEFAULT 0, label TEXT);"
		    "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 10) "
		    "INSERT INTO items (id, label) SELECT i, 'l' || i FROM s");
	return db;
}

TEST(misspelt_columns_are_errors)
{
	const char *path = harness_path("db.sqlite");
	sqlite3 *db = typo_items(path);
	migrate_target_t *t = tu_target(path);

	typo_fails(db, t,
		   "{\"op\":\"backfill\",\"table\":\"items\",\"set\":{\"counter\":{\"sql\":\"\\\"cuont\\\" + 1\"}}}",
		   "cuont");
	typo_fails(db, t, "{\"op\":\"backfill\",\"table\":\"items\",\"set\":{\"label\":{\"column\":\"lable\"}}}",
		   "lable");
	typo_fails(db, t,
		   "{\"op\":\"backfill\",\"table\":\"items\",\"where\":{\"lable\":{\"$ne\":\"l3\"}},"
		   "\"set\":{\"counter\":{\"value\":1}}}",
		   "lable");
	migrate_target_close(t);
	sqlite3_close(db);
}

/*
 * A table named as the count subquery's alias of the counted table
 * (_migrate_c, in any case) is still the updated row's: its "our" column
 * was read from the counted table, so every row counted the rows whose
 * their_col equals their own our_col.
 */
TEST(count_of_a_table_named_as_the_alias)
{
	static const char *const tables[] = {"_migrate_c", "_MIGRATE_C"};
	const char *path = harness_path("db.sqlite");
	sqlite3 *db = tu_open(path);
	migrate_target_t *t = tu_target(path);
	char sql[400], step[400];
	size_t i;

	for (i = 0; i < 2; i++) {
		migrate_plan_t *p = tu_plan(i ? "upper" : "lower");
		snprintf(
			sql, sizeof sql,
			"DROP TABLE IF EXISTS \"%s\"; DROP TABLE IF EXISTS o; CREATE TABLE \"%s\" (id INTEGER PRIMARY "
			"KEY, n INTEGER); CREATE TABLE o (pid INTEGER, id INTEGER); INSERT INTO \"%s\" (id) VALUES (1), "
			"(2); INSERT INTO o VALUES (1, 1), (1, 2), (2, 2)",
			tables[i], tables[i], tables[i]);
		tu_exec(db, sql);
		snprintf(step, sizeof step,
			 "{\"op\":\"backfill\",\"table\":\"%s\",\"set\":{\"n\":{\"count\":{\"table\":\"o\","
			 "\"match\":{\"pid\":\"id\"}}}}}",
			 tables[i]);
		tu_version(p, 1, "count", step, NULL);
		CHECK_OK(migrate_up(t, p, 0, NULL, &err), &err);
		snprintf(sql, sizeof sql, "SELECT count(*) FROM \"%s\" WHERE (id, n) IN (VALUES (1, 2), (2, 1))",
			 tables[i]);
		CHECK_INT(tu_int(db, sql), 2);
		migrate_plan_destroy(p);
	}
	migrate_target_close(t);
	sqlite3_close(db);
}

/*
 * The restore of a kept table names it by an alias that is never the
 * restored table's: a table named _migrate_kept could not be reverted
 * ("ambiguous column name").
 */
TEST(restore_of_a_table_named_as_the_alias)
{
	const char *path = harness_path("db.sqlite");
	sqlite3 *db = tu_open(path);
	migrate_target_t *t = tu_target(path);
	migrate_plan_t *p = tu_plan("kept");

	tu_exec(db, "CREATE TABLE _migrate_kept (id INTEGER PRIMARY KEY, n INTEGER);"
		    "INSERT INTO _migrate_kept VALUES (1, 10), (2, 20)");
	tu_version(p, 1, "keep",
		   "{\"op\":\"backfill\",\"table\":\"_migrate_kept\",\"keep\":\"kk\",\"set\":{\"n\":{\"value\":0}}}",
		   NULL);
	CHECK_OK(migrate_up(t, p, 0, NULL, &err), &err);
	CHECK_INT(tu_int(db, "SELECT sum(n) FROM _migrate_kept"), 0);
	CHECK_OK(migrate_down(t, p, 0, NULL, &err), &err);
	CHECK_INT(tu_int(db, "SELECT count(*) FROM _migrate_kept WHERE (id, n) IN (VALUES (1, 10), (2, 20))"), 2);
	migrate_plan_destroy(p);
	migrate_target_close(t);
	sqlite3_close(db);
}

/* A borrowed connection is switched to identifiers-only while wrapped, and given back as it was. */
TEST(borrowed_connection_dqs_restored)
{
	const char *path = harness_path("db.sqlite");
	sqlite3 *db = typo_items(path);
	migrate_target_t *t = NULL;
	migrate_plan_t *p = tu_plan("app");
	int on = -1;

	CHECK_STR(tu_text(db, "SELECT \"no_such_column\" FROM items LIMIT 1"), "no_such_column");
	CHECK_OK(migrate_target_open_sqlite(&t, db, &err), &err);
	typo_fails(db, t,
		   "{\"op\":\"backfill\",\"table\":\"items\",\"set\":{\"counter\":{\"sql\":\"\\\"cuont\\\" + 1\"}}}",
		   "cuont");
	tu_version(p, 1, "right",
		   "{\"op\":\"backfill\",\"table\":\"items\",\"set\":{\"counter\":{\"sql\":\"\\\"counter\\\" + 1\"}}}",
		   NULL);
	CHECK_OK(migrate_up(t, p, 0, NULL, &err), &err);
	CHECK_INT(tu_int(db, "SELECT count(*) FROM items WHERE counter = 1"), 10);
	migrate_target_close(t);
	/* the application's settings are back */
	CHECK_STR(tu_text(db, "SELECT \"no_such_column\" FROM items LIMIT 1"), "no_such_column");

	/* and a connection that had them off keeps them off */
	sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DML, 0, NULL);
	CHECK_OK(migrate_target_open_sqlite(&t, db, &err), &err);
	migrate_target_close(t);
	sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DML, -1, &on);
	CHECK_INT(on, 0);
	sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DDL, -1, &on);
	CHECK_INT(on, 1);
	migrate_plan_destroy(p);
	sqlite3_close(db);
}

/* Statements sent, by kind: the lookups of a batch's last key, and the UPDATEs. */
typedef struct sent {
	int offsets, updates;
} sent_t;

static void count_sent(int level, const char *message, void *payload)
{
	sent_t *s = payload;

	if (level != MIGRATE_LOG_DEBUG)
		return;
	if (strstr(message, "LIMIT 1 OFFSET"))
		s->offsets++;
	if (strstr(message, "sqlite: UPDATE \"keys\""))
		s->updates++;
}

/* Runs `counter + 1` over table keys, sized by time; what was sent. */
static sent_t increment_keys(const char *path, const char *fill_sql)
{
	migrate_target_t *t = tu_target(path);
	migrate_plan_t *p = tu_plan("app");
	sqlite3 *db = tu_open(path);
	events_t ev = {0};
	migrate_run_options_t o = options(&ev, 0);
	sent_t s = {0, 0};
	long long rows;

	tu_exec(db, "CREATE TABLE keys (id INTEGER PRIMARY KEY, counter INTEGER NOT NULL DEFAULT 0)");
	tu_exec(db, fill_sql);
	rows = tu_int(db, "SELECT count(*) FROM keys");
	o.batch_time_ms = 20;
	tu_version(p, 1, "increment",
		   "{\"op\":\"backfill\",\"table\":\"keys\",\"set\":{\"counter\":{\"sql\":\"counter + 1\"}}}", NULL);
	migrate_log_set_handler(count_sent, &s);
	CHECK_OK(migrate_up(t, p, 0, &o, &err), &err);
	migrate_log_set_handler(NULL, NULL);
	CHECK_INT(tu_int(db, "SELECT count(*) FROM keys WHERE counter = 1"), rows);
	CHECK_INT(ev.last_processed, rows);
	CHECK_INT(ev.batches, s.updates);
	sqlite3_close(db);
	migrate_target_close(t);
	migrate_plan_destroy(p);
	unlink(path);
	return s;
}

/*
 * Sized by time over a rowid of dense values, batches are ranges of its
 * values: no statement looks a batch's last key up, gaps are jumped, and
 * keys at either end of the 64-bit range neither overflow nor are missed.
 * Sparse keys keep the lookups.
 */
TEST(range_batches_over_dense_rowids)
{
	const char *path = harness_path("ranges.sqlite");
	sent_t s;

	/* 1..20000 but for a gap of 6000. */
	s = increment_keys(path, "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 20000) "
				 "INSERT INTO keys (id) SELECT i FROM g WHERE i NOT BETWEEN 5001 AND 11000");
	CHECK_INT(s.offsets, 0);
	CHECK(s.updates > 1);
	/* The largest keys there are. */
	s = increment_keys(path, "WITH RECURSIVE g(i) AS (SELECT 9223372036854775807 UNION ALL SELECT i - 1 FROM g "
				 "WHERE i > 9223372036854765808) INSERT INTO keys (id) SELECT i FROM g");
	CHECK_INT(s.offsets, 0);
	/* Negative ones. */
	s = increment_keys(path, "WITH RECURSIVE g(i) AS (SELECT -10000 UNION ALL SELECT i + 1 FROM g WHERE i < -1) "
				 "INSERT INTO keys (id) SELECT i FROM g");
	CHECK_INT(s.offsets, 0);
	/* The smallest key there is: not ranges (the key before it does not exist), still every row. */
	s = increment_keys(path,
			   "WITH RECURSIVE g(i) AS (SELECT -9223372036854775807 - 1 UNION ALL SELECT i + 1 FROM g "
			   "WHERE i < -9223372036854770000) INSERT INTO keys (id) SELECT i FROM g");
	CHECK(s.offsets > 0);
	/* Sparse: one key in ten. */
	s = increment_keys(path, "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 5000) "
				 "INSERT INTO keys (id) SELECT i * 10 FROM g");
	CHECK(s.offsets > 0);
}
