/* The conformance suite's SQLite backend: a database file per scenario run. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conformance.h"
#include "harness.h"
#include "sqlite_util.h"

static const char *fresh(const char *tag)
{
	static char url[1200];
	static unsigned seq;
	char name[200];

	snprintf(name, sizeof name, "%s_%u.db", tag, ++seq);
	snprintf(url, sizeof url, "sqlite:%s", harness_path(name));
	unlink(url + 7);
	return url;
}

static void seed(const char *url, int rows)
{
	sqlite3 *db = tu_open(url + 7);
	char sql[600];

	tu_exec(db, "CREATE TABLE legacy (id INTEGER PRIMARY KEY NOT NULL, tags TEXT, status TEXT, counter INTEGER)");
	snprintf(sql, sizeof sql,
		 "WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < %d) "
		 "INSERT INTO legacy SELECT x, CASE x %% 4 WHEN 0 THEN '[]' WHEN 1 THEN '[1]' WHEN 2 THEN '[1,2]' "
		 "ELSE '[1,2,3]' END, CASE x %% 3 WHEN 0 THEN 'a' WHEN 1 THEN 'b' ELSE 'c' END, x * 10 FROM g",
		 rows);
	tu_exec(db, sql);
	sqlite3_close(db);
}

/*
 * Seed 000's old sessions table (as examples/quickstart makes it): every
 * status the plan folds and two it keeps, and tool_ids / tool_failure_ids
 * missing (NULL), JSON null, not JSON, empty, or with one to three ids.
 */
static void seed_sessions(const char *url)
{
	sqlite3 *db = tu_open(url + 7);

	tu_exec(db, "CREATE TABLE sessions (id INTEGER PRIMARY KEY, job_id TEXT NOT NULL, user_id TEXT NOT NULL, "
		    "operation_type TEXT, tool_requirements TEXT, status TEXT NOT NULL, tool_ids TEXT, "
		    "tool_failure_ids TEXT, error_message TEXT, created_at TEXT, updated_at TEXT)");
	tu_exec(db,
		"WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < 60) "
		"INSERT INTO sessions SELECT x, 'job_' || x, 'user_' || (x % 5), "
		"CASE x % 2 WHEN 0 THEN 'generate' ELSE 'analyze' END, "
		"CASE x % 3 WHEN 0 THEN NULL WHEN 1 THEN '[]' ELSE '[{\"description\":\"Predict solubility\"}]' END, "
		"CASE x % 7 WHEN 0 THEN 'pending' WHEN 1 THEN 'planning' WHEN 2 THEN 'searching' WHEN 3 THEN "
		"'implementing' WHEN 4 THEN 'executing' WHEN 5 THEN 'completed' ELSE 'failed' END, "
		"CASE x % 5 WHEN 0 THEN NULL WHEN 1 THEN '[]' WHEN 2 THEN '[\"tool_a\"]' WHEN 3 THEN "
		"'[\"tool_a\",\"tool_b\"]' ELSE '[\"tool_a\",\"tool_b\",\"tool_c\"]' END, "
		"CASE x % 6 WHEN 0 THEN NULL WHEN 1 THEN '[]' WHEN 2 THEN '[\"fail_a\"]' WHEN 3 THEN 'null' "
		"WHEN 4 THEN '' ELSE '[\"fail_a\",\"fail_b\"]' END, "
		"CASE WHEN x % 7 = 6 THEN 'tool generation timed out' END, "
		"printf('2024-05-%02dT09:30:00Z', 1 + x % 28), printf('2024-06-%02dT09:30:00Z', 1 + x % 28) FROM g");
	sqlite3_close(db);
}

/* 60 rows in batches of 7: the status map and the counter backfill run nine batches each. */
static const conf_seed seeds[] = {
	{"000_sessions_to_jobs.sqlite.json", seed_sessions, 7, NULL},
};

static char *dump(const char *url, const char *const *canon)
{
	sqlite3 *db = tu_open(url + 7);
	char *d = tu_dump_except(db, "audit"), *copy = strdup(d);

	CHECK(canon == NULL); /* SQLite seeds have no values that differ between runs */
	bson_free(d);
	sqlite3_close(db);
	return copy;
}

static long audit_runs(const char *url)
{
	sqlite3 *db = tu_open(url + 7);
	long n = tu_has_table(db, "audit") ? (long)tu_int(db, "SELECT count(*) FROM audit") : 0;

	sqlite3_close(db);
	return n;
}

static const conf_backend backend = {
	.name = "sqlite",
	.raw_exactly_once = 1,
	.fresh = fresh,
	.seed = seed,
	.dump = dump,
	.audit_runs = audit_runs,
	.audit_step = CONF_SQL_AUDIT_STEP,
	.bump_expr = CONF_SQL_BUMP,
	.drop_expr = CONF_SQL_DROP,
};

const conf_backend *conf_backend_get(void)
{
	return &backend;
}

TEST(seed000_sweep_fail)
{
	CHECK(conf_seed_sweep(&seeds[0], 0));
}

TEST(seed000_sweep_kill)
{
	CHECK(conf_seed_sweep(&seeds[0], 1));
}

/*
 * Batches sized by time, with the synthetic clock (a row "takes" 1 ms, the
 * budget is 120 ms, aimed at 70%), over ids 1..1100 and 1701..2000: the
 * rowid's values are dense enough for range batches, of 1,000 keys, 250
 * (a quarter, the most a batch shrinks; 100 rows), then a range in the gap
 * that writes no row, after which the next key is looked up and the batch
 * after it starts there; the same in every run. The backfill is not
 * idempotent and keeps the old values, so a batch done twice or lost shows
 * in the dump.
 */
static const char timed_plan[] = "{\"plan\":\"timed\",\"versions\":[{\"id\":1,\"name\":\"sized by time\",\"steps\":["
				 "{\"op\":\"backfill\",\"table\":\"legacy\",\"set\":{\"counter\":" CONF_SQL_BUMP "},"
				 "\"keep\":\"legacy_counter_kept\"}]}]}";

static void seed_timed(const char *url)
{
	sqlite3 *db;

	seed(url, 2000);
	db = tu_open(url + 7);
	tu_exec(db, "DELETE FROM legacy WHERE id BETWEEN 1101 AND 1700");
	sqlite3_close(db);
}

/* Range batches, of the sizes the synthetic clock gives, and the jumps over the gap. */
static const char *const timed_reaches[] = {
	"batches are ranges of rowid values",
	"a batch of 100 rows",
	"a batch of 0 rows",
	"up to 1700, the next batch starts there",
	"the first batch of the resumed step starts there",
	NULL,
};

static const conf_scenario timed = {
	.name = "timed",
	.plan_json = timed_plan,
	.seed = seed_timed,
	.batch_time_ms = 120,
	.ms_per_row = 1.0,
	.reaches = timed_reaches,
};

TEST(timed_sweep_fail)
{
	CHECK(conf_scenario_sweep(&timed, CONF_SWEEP_FAIL));
}

TEST(timed_sweep_kill)
{
	CHECK(conf_scenario_sweep(&timed, CONF_SWEEP_KILL));
}

TEST(timed_sweep_alloc)
{
	CHECK(conf_scenario_sweep(&timed, CONF_SWEEP_ALLOC));
}
