/*
 * The fleet test on MongoDB (tests/fleet_seed.h), against FerretDB: seed
 * 000's MongoDB plan file over old session documents. FerretDB rewrites a
 * collection to update it (docs/steps.md), so its size is its own (ROWS);
 * tests/mongo.cmake runs the case on both FerretDB backends and names the
 * backend in MIGRATE_FLEET_BACKEND.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet_seed.h"
#include "mongo_util.h"

/*
 * FerretDB migrates about 8 ms a document here, alone or with 63 waiters
 * beside it (5,000 documents: 39.6 s for one process, 36.8 s for the fleet;
 * 3,000 took 42 s to 62 s on a busy machine):
 * 200,000 would take half an hour, so the fleet migrates 1,500 (the
 * PostgreSQL backend's run took 30 s at 2,000 on a busy machine).
 */
#define ROWS 1500
#define INSERT_BATCH 10000

/* `n` ids of a prefix as an array field `key` of `doc`. */
static void append_ids(bson_t *doc, const char *key, const char *prefix, int n)
{
	bson_t arr;
	char k[16], v[16];

	bson_append_array_begin(doc, key, -1, &arr);
	for (int i = 0; i < n; i++) {
		snprintf(k, sizeof k, "%d", i);
		snprintf(v, sizeof v, "%s%d", prefix, i + 1);
		BSON_APPEND_UTF8(&arr, k, v);
	}
	bson_append_array_end(doc, &arr);
}

/* The formula's sessions 1..rows, by bulk inserts. */
static void old_sessions(const char *url, long rows)
{
	mongoc_client_t *c = mt_client(url);
	mongoc_collection_t *coll = mongoc_client_get_collection(c, mt_db(), "sessions");
	bson_error_t e;

	for (long first = 1; first <= rows; first += INSERT_BATCH) {
		mongoc_bulk_operation_t *bulk = mongoc_collection_create_bulk_operation_with_opts(coll, NULL);
		bson_t reply;
		char buf[32];

		for (long x = first; x < first + INSERT_BATCH && x <= rows; x++) {
			bson_t doc = BSON_INITIALIZER;

			BSON_APPEND_INT64(&doc, "_id", x);
			snprintf(buf, sizeof buf, "job_%ld", x);
			BSON_APPEND_UTF8(&doc, "job_id", buf);
			snprintf(buf, sizeof buf, "user_%ld", x % 97);
			BSON_APPEND_UTF8(&doc, "user_id", buf);
			BSON_APPEND_UTF8(&doc, "operation_type", "generate");
			BSON_APPEND_UTF8(&doc, "status", FLEET_STATUS(x));
			if (x % 5) /* missing for 0 */
				append_ids(&doc, "tool_ids", "t", (int)FLEET_TOOLS(x));
			if (x % 4)
				append_ids(&doc, "tool_failure_ids", "f", (int)FLEET_FAILURES(x));
			else
				BSON_APPEND_NULL(&doc, "tool_failure_ids");
			mongoc_bulk_operation_insert(bulk, &doc);
			bson_destroy(&doc);
		}
		if (!mongoc_bulk_operation_execute(bulk, &reply, &e))
			harness_fail(__FILE__, __LINE__, "inserting the old sessions: %s", e.message);
		bson_destroy(&reply);
		mongoc_bulk_operation_destroy(bulk);
	}
	mongoc_collection_destroy(coll);
	mongoc_client_destroy(c);
}

static int64_t field_int(const bson_t *doc, const char *key)
{
	bson_iter_t it;

	return bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_NUMBER(&it) ? bson_iter_as_int64(&it) : -1000000;
}

/* The sums, read document by document (FerretDB's $group knows few expressions). */
static void sums(const char *url, fleet_sums_t *out)
{
	mongoc_client_t *c = mt_client(url);
	mongoc_collection_t *coll = mongoc_client_get_collection(c, mt_db(), "jobs");
	bson_t filter = BSON_INITIALIZER;
	const bson_t *doc;
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, &filter, NULL, NULL);
	bson_error_t e;

	memset(out, 0, sizeof *out);
	while (mongoc_cursor_next(cur, &doc)) {
		int64_t id = field_int(doc, "_id");
		bson_iter_t it;
		const char *status = bson_iter_init_find(&it, doc, "status") && BSON_ITER_HOLDS_UTF8(&it)
					     ? bson_iter_utf8(&it, NULL)
					     : "";

		out->rows++;
		out->processing += !strcmp(status, "processing");
		for (int s = 0; s < 5; s++)
			out->old_statuses += !strcmp(status, fleet_statuses[s]);
		out->completed += field_int(doc, "tools_completed");
		out->completed_by_id += id * field_int(doc, "tools_completed");
		out->failed += field_int(doc, "tools_failed");
		out->failed_by_id += id * field_int(doc, "tools_failed");
		out->in_progress += field_int(doc, "tools_in_progress");
	}
	if (mongoc_cursor_error(cur, &e))
		harness_fail(__FILE__, __LINE__, "reading the jobs: %s", e.message);
	out->new_sessions = mt_count(c, mt_db(), "sessions", NULL);
	mongoc_cursor_destroy(cur);
	bson_destroy(&filter);
	mongoc_collection_destroy(coll);
	mongoc_client_destroy(c);
}

static int64_t locks_left(const char *url)
{
	mongoc_client_t *c = mt_client(url);
	int64_t n = mt_count(c, mt_db(), "_migrate_locks", NULL);

	mongoc_client_destroy(c);
	return n;
}

static const fleet_seed_driver_t driver = {
	.name = "FerretDB",
	.plan = fleet_seed_mongo_plan,
	.rows = ROWS,
	.fewer = "not 200000: FerretDB takes ~8 ms a document",
	.sums = sums,
	.locks_left = locks_left,
};

TEST(ferretdb)
{
	static char url[600];
	char label[80];
	const char *backend = getenv("MIGRATE_FLEET_BACKEND");

	snprintf(label, sizeof label, "FerretDB, %s", backend ? backend : "SQLite backend");
	snprintf(url, sizeof url, "%s", mt_fresh_db("fleet"));
	old_sessions(url, fleet_seed_rows(&driver));
	fleet_seed_run(&driver, label, url, NULL, 0, NULL);
}
