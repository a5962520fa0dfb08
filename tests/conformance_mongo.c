/* The conformance suite's MongoDB backend: a database per scenario run on the test FerretDB. */
#include <mongoc/mongoc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance.h"
#include "harness.h"
#include "internal.h"
#include "mongo_util.h"

/* A killed run's lease must lapse quickly for the sweep's rerun. */
__attribute__((constructor)) static void short_lease(void)
{
	setenv("MIGRATE_MONGO_LEASE_MS", "300", 1);
}

static const char *fresh(const char *tag)
{
	return mt_fresh_db(tag);
}

/* The database name of a test URL: between the last '/' and the '?'. */
static void db_of(const char *url, char *out, size_t size)
{
	const char *slash = strrchr(url, '/'), *q = strchr(slash, '?');

	snprintf(out, size, "%.*s", (int)(q ? q - slash - 1 : (long)strlen(slash + 1)), slash + 1);
}

static void seed(const char *url, int rows)
{
	static const char *const tags[] = {"[]", "[1]", "[1,2]", "[1,2,3]"};
	static const char *const status[] = {"a", "b", "c"};
	migrate_buf_t *docs = migrate__buf_new("[");
	mongoc_client_t *c = mt_client(url);
	char db[200];
	int i;

	db_of(url, db, sizeof db);
	for (i = 1; i <= rows; i++)
		migrate_buf_printf(docs, "%s{\"_id\":%d,\"id\":%d,\"tags\":%s,\"status\":\"%s\",\"counter\":%d}",
				   i > 1 ? "," : "", i, i, tags[i % 4], status[i % 3], i * 10);
	migrate_buf_append(docs, "]");
	mt_insert(c, db, "legacy", docs->str);
	migrate__buf_free(docs, true);
	mongoc_client_destroy(c);
}

/*
 * Seed 000's old sessions collection (as examples/sessions_to_jobs makes
 * it): every status the plan folds and two it keeps; tool_ids and
 * tool_failure_ids missing, null, empty or with ids.
 */
static void seed_sessions(const char *url)
{
	static const char *const status[] = {"pending",   "planning",  "searching", "implementing",
					     "executing", "completed", "failed"};
	static const char *const tools[] = {NULL, "null", "[]", "[\"tool_a\"]", "[\"tool_a\",\"tool_b\",\"tool_c\"]"};
	static const char *const failures[] = {NULL, "null", "[]", "[\"fail_a\"]"};
	migrate_buf_t *docs = migrate__buf_new("[");
	mongoc_client_t *c = mt_client(url);
	char db[200];
	int i;

	db_of(url, db, sizeof db);
	for (i = 1; i <= 24; i++) {
		migrate_buf_printf(docs,
				   "%s{\"_id\":%d,\"job_id\":\"job_%d\",\"user_id\":\"user_%d\","
				   "\"operation_type\":\"generate\",\"status\":\"%s\","
				   "\"tool_requirements\":[{\"description\":\"Predict solubility\"}],"
				   "\"error_message\":null,\"created_at\":{\"$date\":{\"$numberLong\":\"%d\"}}",
				   i > 1 ? "," : "", i, i, i % 5, status[i % 7], 1700000000 + i);
		if (tools[i % 5])
			migrate_buf_printf(docs, ",\"tool_ids\":%s", tools[i % 5]);
		if (failures[i % 4])
			migrate_buf_printf(docs, ",\"tool_failure_ids\":%s", failures[i % 4]);
		migrate_buf_append(docs, "}");
	}
	migrate_buf_append(docs, "]");
	mt_insert(c, db, "sessions", docs->str);
	migrate__buf_free(docs, true);
	mongoc_client_destroy(c);
}

/*
 * Small, for FerretDB's slow commands: 24 sessions in batches of 7, so the
 * status map and the counter backfill run four batches each. Seed 004 starts
 * from an empty database, as the seed's script does.
 */
static const conf_seed seeds[] = {
	{"000_sessions_to_jobs.mongo.json", seed_sessions, 7, NULL},
	{"004_chat_collections.mongo.json", NULL, 7, NULL},
};

/* One collection's documents in _id order, each with sorted keys (a rename moves a field to the end). */
static void dump_docs(mongoc_client_t *c, const char *db, const char *coll, const char *projection, migrate_buf_t *out)
{
	mongoc_collection_t *col = mongoc_client_get_collection(c, db, coll);
	bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER, sort, proj;
	const bson_t *doc;
	mongoc_cursor_t *cur;
	bson_error_t e;

	BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &sort);
	BSON_APPEND_INT32(&sort, "_id", 1);
	bson_append_document_end(&opts, &sort);
	if (projection) {
		CHECK(bson_init_from_json(&proj, projection, -1, &e));
		BSON_APPEND_DOCUMENT(&opts, "projection", &proj);
		bson_destroy(&proj);
	}
	cur = mongoc_collection_find_with_opts(col, &filter, &opts, NULL);
	migrate_buf_printf(out, "== %s\n", coll);
	while (mongoc_cursor_next(cur, &doc)) {
		migrate__json_canonical(doc, false, out);
		migrate_buf_append_c(out, '\n');
	}
	CHECK(!mongoc_cursor_error(cur, &e));
	migrate_buf_printf(out, "indexes: %s\n", mt_indexes(c, db, coll));
	mongoc_cursor_destroy(cur);
	bson_destroy(&opts);
	bson_destroy(&filter);
	mongoc_collection_destroy(col);
}

static char *dump(const char *url, const char *const *canon)
{
	mongoc_client_t *c;
	migrate_buf_t *out = migrate__buf_new(NULL);
	char db[200], list[8192], *save = NULL, *name, *res;

	CHECK(canon == NULL); /* MongoDB seeds have no values that differ between runs */
	c = mt_client(url);
	db_of(url, db, sizeof db);
	snprintf(list, sizeof list, "%s", mt_collections(c, db));
	for (name = strtok_r(list, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		if (!strcmp(name, "_migrate_locks") || !strcmp(name, "audit") ||
		    (!strcmp(name, "_migrate_enums") && mt_count(c, db, name, "{}") == 0))
			continue;
		if (!strcmp(name, "_migrate_history")) {
			/* Times, hosts and pids differ between runs; a store emptied by a down is no state. */
			if (mt_count(c, db, name, "{}") > 0)
				dump_docs(c, db, name,
					  "{\"_id\":0,\"plan\":1,\"version\":1,\"name\":1,\"checksum\":1,"
					  "\"state\":1,\"steps_done\":1,\"checkpoint\":1,\"error\":1}",
					  out);
			continue;
		}
		dump_docs(c, db, name, NULL, out);
	}
	mongoc_client_destroy(c);
	res = strdup(out->str);
	migrate__buf_free(out, true);
	return res;
}

static long audit_runs(const char *url)
{
	mongoc_client_t *c = mt_client(url);
	char db[200], *doc;
	const char *runs;
	long n = 0;

	db_of(url, db, sizeof db);
	doc = mt_exists(c, db, "audit") ? mt_find_one(c, db, "audit", "{\"_id\":\"v4\"}") : NULL;
	if (doc && (runs = strstr(doc, "\"runs\"")) != NULL) {
		n = strtol(strchr(runs, ':') + 1, NULL, 10); /* relaxed JSON: "runs" : 1 */
	}
	free(doc);
	mongoc_client_destroy(c);
	return n;
}

static const conf_backend backend = {
	.name = "mongo",
	/* No transactions on the test server: a raw command is at least once, built-in steps exactly once. */
	.raw_exactly_once = 0,
	.fresh = fresh,
	.seed = seed,
	.dump = dump,
	.audit_runs = audit_runs,
	.audit_step = "{\"op\":\"command\",\"up\":{\"update\":\"audit\",\"updates\":[{\"q\":{\"_id\":\"v4\"},"
		      "\"u\":{\"$inc\":{\"runs\":1}},\"upsert\":true}]},"
		      "\"down\":{\"delete\":\"audit\",\"deletes\":[{\"q\":{\"_id\":\"v4\"},\"limit\":0}]}}",
	.bump_expr = "{\"mongo\":{\"$sum\":[\"$counter\",1]}}",
	.drop_expr = "{\"mongo\":{\"$sum\":[\"$counter\",-1]}}",
	/* Every write costs milliseconds on the test server: fewer, still several, batches per step. */
	.rows = 30,
	.batch = 8,
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
 * The in-place path with batches sized by time (migrate_rewrite=0, no
 * batch size): seed 000's status map by value, one update per old value.
 */
static const conf_seed in_place = {"../../tests/conformance/mongo_in_place.json", seed_sessions, 0, NULL};

TEST(in_place_by_value_sweep_fail)
{
	setenv("MIGRATE_MONGO_REWRITE", "0", 1);
	CHECK(conf_seed_sweep(&in_place, 0));
	unsetenv("MIGRATE_MONGO_REWRITE");
}

TEST(in_place_by_value_sweep_kill)
{
	setenv("MIGRATE_MONGO_REWRITE", "0", 1);
	CHECK(conf_seed_sweep(&in_place, 1));
	unsetenv("MIGRATE_MONGO_REWRITE");
}

TEST(seed004_sweep_fail)
{
	CHECK(conf_seed_sweep(&seeds[1], 0));
}

TEST(seed004_sweep_kill)
{
	CHECK(conf_seed_sweep(&seeds[1], 1));
}

/*
 * Batches sized by time on the in-place path, with the synthetic clock (a
 * document "takes" 2 ms, the budget is 120 ms, aimed at 70%): batches of
 * 50, 42, and the last 8, the same in every run (on the real clock the
 * test server, at several ms a document, makes them 50, 13, 10, ...).
 * The backfill is not idempotent and keeps the old values, so a batch
 * done twice or lost shows in the dump.
 */
static const char timed_plan[] =
	"{\"plan\":\"timed\",\"versions\":[{\"id\":1,\"name\":\"sized by time\",\"steps\":["
	"{\"op\":\"backfill\",\"table\":\"legacy\",\"set\":{\"counter\":{\"mongo\":{\"$sum\":[\"$counter\",1]}}},"
	"\"keep\":\"legacy_counter_kept\"}]}]}";

static void seed_timed(const char *url)
{
	seed(url, 100);
}

/* The batches after the first are of the sizes the synthetic clock gives. */
static const char *const timed_reaches[] = {"bulk of 42 updates", NULL};

static const conf_scenario timed = {
	.name = "timed",
	.plan_json = timed_plan,
	.seed = seed_timed,
	.batch_time_ms = 120,
	.ms_per_row = 2.0,
	.reaches = timed_reaches,
};

TEST(timed_sweep_fail)
{
	setenv("MIGRATE_MONGO_REWRITE", "0", 1);
	CHECK(conf_scenario_sweep(&timed, CONF_SWEEP_FAIL));
	unsetenv("MIGRATE_MONGO_REWRITE");
}

TEST(timed_sweep_kill)
{
	setenv("MIGRATE_MONGO_REWRITE", "0", 1);
	CHECK(conf_scenario_sweep(&timed, CONF_SWEEP_KILL));
	unsetenv("MIGRATE_MONGO_REWRITE");
}
