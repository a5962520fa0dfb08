/* The conformance suite's PostgreSQL backend: a database per scenario run on the test server. */
#include <bson/bson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance.h"
#include "harness.h"
#include "postgres_util.h"

static const char *fresh(const char *tag)
{
	return pgt_fresh_db(tag);
}

static void seed(const char *url, int rows)
{
	PGconn *c = PQconnectdb(url);
	char sql[600];

	CHECK(PQstatus(c) == CONNECTION_OK);
	pgt_exec(c, "CREATE TABLE legacy (id integer PRIMARY KEY, tags jsonb, status text, counter integer)");
	snprintf(sql, sizeof sql,
		 "INSERT INTO legacy SELECT g, (ARRAY['[]','[1]','[1,2]','[1,2,3]'])[1 + g %% 4]::jsonb, "
		 "(ARRAY['a','b','c'])[1 + g %% 3], g * 10 FROM generate_series(1, %d) g",
		 rows);
	pgt_exec(c, sql);
	PQfinish(c);
}

/*
 * Seed 001's application tables, which the plan expects (its version 1
 * creates them only when absent): profiles, conversations (one without a
 * user) and messages (some without a conversation or content), whose rows
 * gain messages.job_id.
 */
static void seed_processing_jobs(const char *url)
{
	PGconn *c = pgt_connect(url);

	pgt_exec(c, "CREATE TABLE profiles (user_id uuid PRIMARY KEY DEFAULT gen_random_uuid(), display_name text); "
		    "CREATE TABLE conversations (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), "
		    "user_id uuid REFERENCES profiles(user_id), title text, created_at timestamptz DEFAULT now()); "
		    "CREATE TABLE messages (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), "
		    "conversation_id uuid REFERENCES conversations(id), role text, content text, "
		    "created_at timestamptz DEFAULT now())");
	pgt_exec(c, "INSERT INTO profiles SELECT md5('profile' || g)::uuid, CASE WHEN g = 3 THEN NULL ELSE "
		    "'user ' || g END FROM generate_series(1, 3) g; "
		    "INSERT INTO conversations SELECT md5('conv' || g)::uuid, CASE WHEN g = 6 THEN NULL ELSE "
		    "md5('profile' || (1 + g % 3))::uuid END, 'conversation ' || g, "
		    "timestamptz '2024-05-01 09:30:00+00' + g * interval '1 hour' FROM generate_series(1, 6) g; "
		    "INSERT INTO messages SELECT md5('msg' || g)::uuid, CASE WHEN g % 10 = 0 THEN NULL ELSE "
		    "md5('conv' || (1 + g % 6))::uuid END, (ARRAY['user', 'assistant', 'system'])[1 + g % 3], "
		    "CASE WHEN g % 9 = 0 THEN NULL ELSE 'message ' || g END, "
		    "timestamptz '2024-05-01 10:00:00+00' + g * interval '1 minute' FROM generate_series(1, 40) g");
	PQfinish(c);
}

/*
 * Seed 002's legacy jobs and documents (as examples/collections makes them):
 * jobs of every type (and none), completed, indexing, failed, pending or no
 * status, with a model, the default one (NULL) or a model no completed job
 * has (so no collection, and its documents stay unlinked); documents with a
 * job and without one.
 */
static void seed_collections(const char *url)
{
	PGconn *c = pgt_connect(url);

	pgt_exec(c, "CREATE TABLE jobs (id uuid PRIMARY KEY, job_type text, status text, model_name text, "
		    "created_at timestamptz DEFAULT now()); "
		    "CREATE TABLE documents (id bigint PRIMARY KEY, job_id uuid REFERENCES jobs(id), path text)");
	pgt_exec(c, "INSERT INTO jobs SELECT ('00000000-0000-0000-0000-' || lpad(g::text, 12, '0'))::uuid, "
		    "(ARRAY['index', 'reindex', 'export', NULL])[1 + g % 4], "
		    "CASE WHEN g % 10 = 9 THEN 'failed' ELSE "
		    "(ARRAY['completed', 'indexing', 'failed', 'pending', NULL])[1 + g / 3 % 5] END, "
		    "CASE WHEN g % 10 = 9 THEN 'model-orphan' ELSE (ARRAY['model-a', 'model-b', NULL])[1 + g % 3] END, "
		    "timestamptz '2024-05-01 00:00:00+00' + g * interval '1 hour' FROM generate_series(1, 20) g; "
		    "INSERT INTO documents SELECT g, CASE WHEN g % 7 = 0 THEN NULL ELSE "
		    "('00000000-0000-0000-0000-' || lpad((1 + g % 20)::text, 12, '0'))::uuid END, "
		    "'/docs/file-' || g || '.md' FROM generate_series(1, 60) g");
	PQfinish(c);
}

/* Collections get random ids and now(): rows are compared through their model instead. */
static const char *const collections_canon[] = {
	"collections",
	"(SELECT name, model_name, created_at IS NOT NULL AS stamped FROM collections)",
	"operations",
	"(SELECT o.id, c.model_name, o.type, o.status, o.created_at FROM operations o "
	"LEFT JOIN collections c ON c.id = o.collection_id)",
	"documents",
	"(SELECT d.id, d.job_id, d.path, c.model_name FROM documents d LEFT JOIN collections c ON c.id = "
	"d.collection_id)",
	NULL,
};

/*
 * Batches of 7: seed 002's status map runs three batches over its 18
 * operations, its backfill nine over the 60 documents. Seed 003 starts from
 * an empty database, as the seed's revision does.
 */
static const conf_seed seeds[] = {
	{"001_processing_jobs.postgres.json", seed_processing_jobs, 7, NULL},
	{"002_collections.postgres.json", seed_collections, 7, collections_canon},
	{"003_jobs_table.postgres.json", NULL, 7, NULL},
};

/* The query of `table` in `canon`, or NULL. */
static const char *canon_query(const char *const *canon, const char *table)
{
	for (; canon && canon[0]; canon += 2)
		if (!strcmp(canon[0], table))
			return canon[1];
	return NULL;
}

/* The plan's objects only: not libmigrate's own tables, not the audit table (counted apart). */
static char *dump(const char *url, const char *const *canon)
{
	static const char schema_sql[] =
		"SELECT coalesce(string_agg(line, E'\\n' ORDER BY line), '') FROM ("
		"SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' "
		"|| coalesce(column_default, '') AS line FROM information_schema.columns WHERE table_schema = "
		"current_schema() AND (table_name NOT LIKE '\\_migrate\\_%' AND table_name <> 'audit') UNION ALL "
		"SELECT 'index ' || t.relname || ' valid=' || i.indisvalid || ' ' || pg_get_indexdef(i.indexrelid) "
		"FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid WHERE t.relnamespace = "
		"current_schema()::regnamespace AND (t.relname NOT LIKE '\\_migrate\\_%' AND t.relname <> 'audit') UNION ALL "
		"SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) "
		"FROM pg_constraint WHERE connamespace = current_schema()::regnamespace AND "
		"(conrelid::regclass::text NOT LIKE '\\_migrate\\_%' AND conrelid::regclass::text <> 'audit') UNION ALL "
		"SELECT 'trigger ' || pg_get_triggerdef(g.oid) FROM pg_trigger g JOIN pg_class t ON t.oid = g.tgrelid "
		"WHERE NOT g.tgisinternal AND t.relnamespace = current_schema()::regnamespace AND "
		"(t.relname NOT LIKE '\\_migrate\\_%' AND t.relname <> 'audit') UNION ALL "
		"SELECT 'function ' || p.proname || ' ' || md5(pg_get_functiondef(p.oid)) FROM pg_proc p WHERE "
		"p.pronamespace = current_schema()::regnamespace AND (p.proname NOT LIKE '\\_migrate\\_%' AND p.proname <> 'audit') UNION ALL "
		"SELECT 'enum ' || t.typname || ' ' || string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM "
		"pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY t.typname) x";
	PGconn *c = PQconnectdb(url);
	migrate_buf_t *out = migrate__buf_new("schema:\n");
	PGresult *tables;
	char *s, *res;
	int i;

	CHECK(PQstatus(c) == CONNECTION_OK);
	s = pgt_value(c, schema_sql);
	migrate_buf_printf(out, "%s\n", s);
	free(s);
	tables = PQexec(
		c, "SELECT quote_ident(table_name) FROM information_schema.tables WHERE table_schema = "
		   "current_schema() AND (table_name NOT LIKE '\\_migrate\\_%' AND table_name <> 'audit') ORDER BY 1");
	CHECK(PQresultStatus(tables) == PGRES_TUPLES_OK);
	for (i = 0; i < PQntuples(tables); i++) {
		const char *table = PQgetvalue(tables, i, 0), *query = canon_query(canon, table);
		char q[1024];
		snprintf(q, sizeof q, "SELECT coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '') FROM %s t",
			 query ? query : table);
		s = pgt_value(c, q);
		migrate_buf_printf(out, "table %s:\n%s\n", table, s);
		free(s);
	}
	PQclear(tables);
	if (pgt_int(c, "SELECT count(*) FROM information_schema.tables WHERE table_name = '_migrate_history' AND "
		       "table_schema = current_schema()") > 0) {
		s = pgt_value(c, "SELECT coalesce(string_agg(concat_ws(' ', plan, version, name, checksum, state, "
				 "steps_done, checkpoint, error), E'\\n' ORDER BY plan, version), '') FROM "
				 "_migrate_history");
		if (*s)
			migrate_buf_printf(out, "history:\n%s\n", s);
		free(s);
	}
	PQfinish(c);
	res = strdup(out->str);
	migrate__buf_free(out, true);
	return res;
}

static long audit_runs(const char *url)
{
	PGconn *c = PQconnectdb(url);
	long n;

	CHECK(PQstatus(c) == CONNECTION_OK);
	n = pgt_int(c, "SELECT (to_regclass('audit') IS NOT NULL)::int")
		    ? (long)pgt_int(c, "SELECT count(*) FROM audit")
		    : 0;
	PQfinish(c);
	return n;
}

static const conf_backend backend = {
	.name = "postgres",
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

TEST(seed001_sweep_fail)
{
	CHECK(conf_seed_sweep(&seeds[0], 0));
}

TEST(seed001_sweep_kill)
{
	CHECK(conf_seed_sweep(&seeds[0], 1));
}

TEST(seed002_sweep_fail)
{
	CHECK(conf_seed_sweep(&seeds[1], 0));
}

TEST(seed002_sweep_kill)
{
	CHECK(conf_seed_sweep(&seeds[1], 1));
}

TEST(seed003_sweep_fail)
{
	CHECK(conf_seed_sweep(&seeds[2], 0));
}

TEST(seed003_sweep_kill)
{
	CHECK(conf_seed_sweep(&seeds[2], 1));
}

/*
 * Batches sized by time, swept. The sweeps above run fixed batch sizes; here
 * the step has none, so the PostgreSQL batches take the paths only time
 * sizing has: the step's start reading the server's statement_timeout and
 * the key's range (step_start), range batches over a dense integer key,
 * the probe for the next key after a batch that wrote no row and the
 * re-read of the largest at the end (range_next), a batch cut by its
 * statement timeout and done again smaller, and a resumed step that jumps
 * a gap before its first batch. The synthetic clock (lib/fault.c) makes
 * every batch last 0.1 ms per row for the sizing, so that batch sizes, and
 * the fault points, are the same in every run.
 *
 * Table "ranged": keys 1..1000, 1201..1700, 2400..2450, 2900..2910 (dense
 * enough for range batches, with gaps: batches of 1000 keys, 660 (cut),
 * 440, 440, one that writes no row, after which the probe jumps to 2399,
 * 440, and the last up to the largest key). The backfill (counter + 1:
 * not idempotent) keeps the old values, so that each batch copies its rows
 * to the kept table before its UPDATE, and each of the two statements is
 * cut at 45% of the 120 ms budget. It writes row 1500 through stall(),
 * which sleeps two seconds the first time (a sequence counts, outside any
 * transaction): that batch is cut, its copy rolled back with it, and done
 * again smaller. It also counts each row's events, through the grouped
 * join of range batches (an integer column matched to the key): the
 * counted rows' range is the batch's.
 */
static const char timed_plan[] =
	"{\"plan\":\"timed\",\"versions\":[{\"id\":1,\"name\":\"sized by time\",\"steps\":["
	"{\"op\":\"backfill\",\"table\":\"ranged\",\"set\":{\"n\":{\"sql\":\"n + 1 + CASE WHEN id = 1500 THEN stall() ELSE 0 END\"},"
	"\"events\":{\"count\":{\"table\":\"ranged_events\",\"match\":{\"ref\":\"id\"}}}},"
	"\"keep\":\"ranged_n_kept\"}]}]}";

static void seed_timed(const char *url)
{
	PGconn *c = pgt_connect(url);

	pgt_exec(c, "CREATE TABLE ranged (id integer PRIMARY KEY, n integer NOT NULL DEFAULT 0, events bigint) "
		    "WITH (autovacuum_enabled = false); "
		    "INSERT INTO ranged SELECT g, g % 5 FROM ("
		    "SELECT generate_series(1, 1000) UNION ALL SELECT generate_series(1201, 1700) UNION ALL "
		    "SELECT generate_series(2400, 2450) UNION ALL SELECT generate_series(2900, 2910)) s(g); "
		    "ANALYZE ranged; "
		    "CREATE TABLE ranged_events (id integer PRIMARY KEY, ref integer); "
		    "INSERT INTO ranged_events SELECT g, 1 + (g * 7) % 2950 FROM generate_series(1, 4000) g; "
		    "CREATE INDEX ranged_events_ref ON ranged_events (ref); "
		    "CREATE SEQUENCE stalls; "
		    "CREATE FUNCTION stall() RETURNS integer LANGUAGE plpgsql AS $$ BEGIN "
		    "IF nextval('stalls') = 1 THEN PERFORM pg_sleep(2); END IF; RETURN 0; END $$");
	PQfinish(c);
}

/* One database for the whole sweep, emptied for each run: much quicker than a new database per run. */
static const char *fresh_schema(const char *tag)
{
	static char url[512];
	PGconn *c;

	(void)tag;
	if (!url[0])
		snprintf(url, sizeof url, "%s", pgt_fresh_db("timed"));
	c = pgt_connect(url);
	pgt_exec(c, "SET client_min_messages = warning; DROP SCHEMA public CASCADE; CREATE SCHEMA public");
	PQfinish(c);
	return url;
}

/* What the fail sweep's runs must have logged: the statements and events of the paths above. */
static const char *const timed_reaches[] = {
	"'statement_timeout'), min(\"id\")::text",          /* the step's start: timeout, range */
	"max(\"id\")::text FROM \"ranged\" WHERE \"id\" >", /* range_next */
	"SET LOCAL statement_timeout = 54",                 /* the cut */
	"backfill \"ranged\": a batch of",                  /* a batch cut */
	"the next batch starts there",                      /* a jump over a gap */
	"the next batch of the resumed step starts there",  /* and a resumed step's */
	"count(_migrate_c.\"ref\") AS _migrate_n",          /* the count, a grouped join */
	NULL,
};

static const conf_scenario timed = {
	.name = "timed",
	.plan_json = timed_plan,
	.seed = seed_timed,
	.batch_time_ms = 120,
	.ms_per_row = 0.1,
	.alloc_stride = 16,
	.fresh = fresh_schema,
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
