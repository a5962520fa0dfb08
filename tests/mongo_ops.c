/*
 * Every step op of the catalog on MongoDB (FerretDB), up and down, checked
 * by querying the server; idempotence of re-runs; refused steps and names
 * with nothing written; render, check, borrowed clients and redaction.
 */
#include <stdlib.h>
#include <string.h>

#include "drift.h"
#include "harness.h"
#include "mongo_util.h"

/* A plan `name` with one version (id 1) of the given steps (NULL-terminated JSON). */
static migrate_plan_t *plan_of(const char *name, const char *const *steps)
{
	migrate_plan_t *p = NULL;
	migrate_version_t *v = NULL;
	migrate_error_t err;

	CHECK_OK(migrate_plan_new(&p, name, &err), &err);
	CHECK_OK(migrate_plan_add_version(p, 1, "v1", &v, &err), &err);
	for (size_t i = 0; steps[i]; i++)
		mt_step(v, steps[i]);
	return p;
}

static int up(const char *url, migrate_plan_t *p, migrate_error_t *err)
{
	migrate_target_t *t = mt_target(url);
	int rc = migrate_up(t, p, 0, NULL, err);
	migrate_target_close(t);
	return rc;
}

static int down(const char *url, migrate_plan_t *p, migrate_error_t *err)
{
	migrate_target_t *t = mt_target(url);
	int rc = migrate_down(t, p, 0, NULL, err);
	migrate_target_close(t);
	return rc;
}

static void has(mongoc_client_t *c, const char *coll, const char *filter, int64_t n)
{
	int64_t got = mt_count(c, mt_db(), coll, filter);
	if (got != n)
		harness_fail(__FILE__, __LINE__, "count(%s, %s) = %lld, expected %lld", coll, filter ? filter : "{}",
			     (long long)got, (long long)n);
}

TEST(collections_up_down)
{
	const char *url = mt_fresh_db("coll");
	mongoc_client_t *c = mt_client(url);
	migrate_error_t err;
	const char *steps[] = {
		"{\"op\":\"create_table\",\"table\":\"users\",\"primary_key\":[\"id\"],\"columns\":["
		"{\"name\":\"id\",\"type\":\"integer\",\"unique\":true},"
		"{\"name\":\"email\",\"type\":\"text\",\"unique\":true},{\"name\":\"name\",\"type\":\"text\"}]}",
		"{\"op\":\"rename_table\",\"from\":\"legacy\",\"to\":\"archive\"}",
		"{\"op\":\"drop_table\",\"table\":\"scratch\",\"down\":[{\"op\":\"create_table\",\"table\":\"scratch\","
		"\"columns\":[{\"name\":\"x\",\"type\":\"text\"}]}]}",
		NULL};
	migrate_plan_t *p = plan_of("coll", steps);
	char *doc;

	mt_insert(c, mt_db(), "legacy", "[{\"_id\":1,\"a\":\"kept\"}]");
	mt_insert(c, mt_db(), "scratch", "[{\"_id\":1}]");
	CHECK_OK(up(url, p, &err), &err);
	CHECK(mt_exists(c, mt_db(), "users"));
	CHECK_STR(mt_indexes(c, mt_db(), "users"), "_id_,users_email_key,users_pkey");
	doc = mt_index_spec(c, mt_db(), "users", "users_email_key");
	CHECK_STR(doc, "{ \"key\" : { \"email\" : 1 }, \"unique\" : true }");
	free(doc);
	CHECK(!mt_exists(c, mt_db(), "legacy"));
	doc = mt_find_one(c, mt_db(), "archive", NULL);
	CHECK_HAS(doc, "kept");
	free(doc);
	CHECK(!mt_exists(c, mt_db(), "scratch"));

	/* A second up does nothing; a second plan creating the same things is a no-op too. */
	CHECK_OK(up(url, p, &err), &err);
	migrate_plan_t *again = plan_of("coll_again", steps);
	CHECK_OK(up(url, again, &err), &err);
	migrate_plan_destroy(again);

	CHECK_OK(down(url, p, &err), &err);
	CHECK(!mt_exists(c, mt_db(), "users"));
	CHECK(mt_exists(c, mt_db(), "legacy"));
	CHECK(!mt_exists(c, mt_db(), "archive"));
	CHECK(mt_exists(c, mt_db(), "scratch"));
	has(c, "legacy", "{\"a\":\"kept\"}", 1);
	migrate_plan_destroy(p);
	mongoc_client_destroy(c);
}

TEST(fields_up_down)
{
	const char *url = mt_fresh_db("fields");
	mongoc_client_t *c = mt_client(url);
	migrate_error_t err;
	const char *steps[] = {
		"{\"op\":\"add_column\",\"table\":\"jobs\",\"column\":{\"name\":\"session_ids\",\"type\":\"json\","
		"\"default\":{\"value\":[]}}}",
		"{\"op\":\"add_column\",\"table\":\"jobs\",\"column\":{\"name\":\"n\",\"type\":\"integer\","
		"\"default\":{\"value\":0}}}",
		"{\"op\":\"add_column\",\"table\":\"jobs\",\"column\":{\"name\":\"token\",\"type\":\"uuid\","
		"\"default\":\"uuid\"}}",
		"{\"op\":\"add_column\",\"table\":\"jobs\",\"column\":{\"name\":\"seen\",\"type\":\"timestamp\","
		"\"default\":\"now\"}}",
		"{\"op\":\"add_column\",\"table\":\"jobs\",\"column\":{\"name\":\"note\",\"type\":\"text\"}}",
		"{\"op\":\"rename_column\",\"table\":\"jobs\",\"from\":\"title\",\"to\":\"label\"}",
		"{\"op\":\"drop_column\",\"table\":\"jobs\",\"column\":\"junk\",\"down\":[]}",
		NULL};
	migrate_plan_t *p = plan_of("fields", steps);

	mt_insert(c, mt_db(), "jobs",
		  "[{\"_id\":1,\"title\":\"a\",\"junk\":1},{\"_id\":2,\"title\":\"b\",\"n\":7},{\"_id\":3}]");
	CHECK_OK(up(url, p, &err), &err);
	has(c, "jobs", "{\"session_ids\":{\"$size\":0}}", 3);
	has(c, "jobs", "{\"n\":0}", 2);
	has(c, "jobs", "{\"n\":7}", 1); /* an existing value is kept */
	has(c, "jobs", "{\"token\":{\"$exists\":true,\"$type\":5}}", 3);
	has(c, "jobs", "{\"seen\":{\"$exists\":true,\"$type\":9}}", 3);
	has(c, "jobs", "{\"note\":{\"$exists\":true}}", 0);
	has(c, "jobs", "{\"label\":\"a\"}", 1);
	has(c, "jobs", "{\"title\":{\"$exists\":true}}", 0);
	has(c, "jobs", "{\"junk\":{\"$exists\":true}}", 0);
	/* Three distinct UUIDs. */
	{
		char *a = mt_find_one(c, mt_db(), "jobs", "{\"_id\":1}"),
		     *b = mt_find_one(c, mt_db(), "jobs", "{\"_id\":2}");
		CHECK(strstr(a, "token") && strcmp(strstr(a, "token"), strstr(b, "token")) != 0);
		free(a);
		free(b);
	}

	CHECK_OK(down(url, p, &err), &err);
	has(c, "jobs", "{\"session_ids\":{\"$exists\":true}}", 0);
	has(c, "jobs", "{\"n\":{\"$exists\":true}}", 0); /* drop_column is the inverse of add_column */
	has(c, "jobs", "{\"token\":{\"$exists\":true}}", 0);
	has(c, "jobs", "{\"title\":\"a\"}", 1);
	has(c, "jobs", "{\"label\":{\"$exists\":true}}", 0);
	migrate_plan_destroy(p);
	mongoc_client_destroy(c);
}

TEST(indexes)
{
	const char *url = mt_fresh_db("idx");
	mongoc_client_t *c = mt_client(url);
	migrate_error_t err;
	const char *steps[] = {"{\"op\":\"create_index\",\"table\":\"jobs\",\"name\":\"job_id_1\",\"unique\":true,"
			       "\"keys\":[{\"column\":\"job_id\"}]}",
			       "{\"op\":\"create_index\",\"table\":\"jobs\",\"name\":\"user_status\","
			       "\"keys\":[{\"column\":\"user_id\"},{\"column\":\"status\",\"order\":\"desc\"}]}",
			       "{\"op\":\"drop_index\",\"table\":\"jobs\",\"name\":\"old_idx\",\"down\":[]}", NULL};
	const char *same[] = {"{\"op\":\"create_index\",\"table\":\"jobs\",\"name\":\"job_id_1\",\"unique\":true,"
			      "\"keys\":[{\"column\":\"job_id\"}]}",
			      NULL};
	const char *conflict[] = {"{\"op\":\"create_index\",\"table\":\"jobs\",\"name\":\"job_id_1\","
				  "\"keys\":[{\"column\":\"job_id\"}]}",
				  NULL};
	const char *dupkeys[] = {"{\"op\":\"create_index\",\"table\":\"jobs\",\"name\":\"uniq_user\",\"unique\":true,"
				 "\"keys\":[{\"column\":\"user_id\"}]}",
				 NULL};
	migrate_plan_t *p = plan_of("idx", steps), *p2 = plan_of("idx_same", same),
		       *p3 = plan_of("idx_conflict", conflict), *p4 = plan_of("idx_dup", dupkeys);
	char *spec;

	mt_insert(
		c, mt_db(), "jobs",
		"[{\"_id\":1,\"job_id\":\"j1\",\"user_id\":\"u1\"},{\"_id\":2,\"job_id\":\"j2\",\"user_id\":\"u1\"}]");
	mt_cmd(c, mt_db(), "{\"createIndexes\":\"jobs\",\"indexes\":[{\"key\":{\"x\":1},\"name\":\"old_idx\"}]}", NULL);
	CHECK_OK(up(url, p, &err), &err);
	CHECK_STR(mt_indexes(c, mt_db(), "jobs"), "_id_,job_id_1,user_status");
	spec = mt_index_spec(c, mt_db(), "jobs", "user_status");
	CHECK_STR(spec, "{ \"key\" : { \"user_id\" : 1, \"status\" : -1 }, \"unique\" : false }");
	free(spec);

	/* An identical index is a no-op; the same name with other options is a clear error. */
	CHECK_OK(up(url, p2, &err), &err);
	CHECK_INT(up(url, p3, &err), MIGRATE_EDB);
	CHECK_HAS(err.message, "already exists with other keys or options");
	CHECK_HAS(err.message, "job_id_1");

	/* A unique build over duplicates shows them. */
	CHECK_INT(up(url, p4, &err), MIGRATE_EDB);
	CHECK_HAS(err.message, "duplicate keys");
	CHECK_HAS(err.message, "\"u1\"");
	CHECK_HAS(err.message, "2 documents");
	CHECK_STR(mt_indexes(c, mt_db(), "jobs"), "_id_,job_id_1,user_status");

	CHECK_OK(down(url, p, &err), &err);
	CHECK_STR(mt_indexes(c, mt_db(), "jobs"), "_id_");
	migrate_plan_destroy(p);
	migrate_plan_destroy(p2);
	migrate_plan_destroy(p3);
	migrate_plan_destroy(p4);
	mongoc_client_destroy(c);
}

TEST(enums_and_commands)
{
	const char *url = mt_fresh_db("enum");
	mongoc_client_t *c = mt_client(url);
	migrate_error_t err;
	const char *steps[] = {
		"{\"op\":\"create_enum\",\"name\":\"jobstatus\",\"values\":[\"pending\",\"processing\",\"done\"]}",
		"{\"op\":\"command\",\"up\":[{\"insert\":\"settings\",\"documents\":[{\"_id\":\"mode\",\"v\":1}]}],"
		"\"down\":{\"delete\":\"settings\",\"deletes\":[{\"q\":{\"_id\":\"mode\"},\"limit\":1}]}}",
		NULL};
	migrate_plan_t *p = plan_of("enum", steps);
	char *doc;

	CHECK_OK(up(url, p, &err), &err);
	doc = mt_find_one(c, mt_db(), "_migrate_enums", "{\"_id\":\"jobstatus\"}");
	CHECK_HAS(doc, "\"pending\", \"processing\", \"done\"");
	free(doc);
	has(c, "settings", "{\"_id\":\"mode\"}", 1);
	CHECK_OK(down(url, p, &err), &err);
	has(c, "_migrate_enums", NULL, 0);
	has(c, "settings", NULL, 0);
	migrate_plan_destroy(p);
	mongoc_client_destroy(c);
}

TEST(map_values_up_down)
{
	const char *url = mt_fresh_db("map");
	mongoc_client_t *c = mt_client(url);
	migrate_error_t err;
	const char *steps[] = {"{\"op\":\"map_values\",\"table\":\"jobs\",\"column\":\"status\","
			       "\"map\":{\"pending\":\"queued\",\"running\":\"active\"},\"where\":{\"kind\":\"a\"}}",
			       NULL};
	const char *chain[] = {"{\"op\":\"map_values\",\"table\":\"jobs\",\"column\":\"status\","
			       "\"map\":{\"a\":\"b\",\"b\":\"c\"}}",
			       NULL};
	migrate_plan_t *p = plan_of("map", steps), *bad = plan_of("chain", chain);

	mt_insert(
		c, mt_db(), "jobs",
		"[{\"_id\":1,\"status\":\"pending\",\"kind\":\"a\"},{\"_id\":2,\"status\":\"running\",\"kind\":\"a\"},"
		"{\"_id\":3,\"status\":\"pending\",\"kind\":\"b\"},{\"_id\":4,\"status\":\"done\",\"kind\":\"a\"}]");
	CHECK_OK(up(url, p, &err), &err);
	has(c, "jobs", "{\"_id\":1,\"status\":\"queued\"}", 1);
	has(c, "jobs", "{\"_id\":2,\"status\":\"active\"}", 1);
	has(c, "jobs", "{\"_id\":3,\"status\":\"pending\"}", 1);
	has(c, "jobs", "{\"_id\":4,\"status\":\"done\"}", 1);
	CHECK_OK(down(url, p, &err), &err);
	has(c, "jobs", "{\"status\":\"pending\"}", 2);
	has(c, "jobs", "{\"status\":\"running\"}", 1);

	CHECK_INT(up(url, bad, &err), MIGRATE_EUNSUPPORTED);
	CHECK_HAS(err.message, "both an old and a new value");
	migrate_plan_destroy(p);
	migrate_plan_destroy(bad);
	mongoc_client_destroy(c);
}

TEST(backfill_expressions)
{
	const char *url = mt_fresh_db("bf");
	mongoc_client_t *c = mt_client(url);
	migrate_error_t err;
	const char *steps[] = {
		"{\"op\":\"backfill\",\"table\":\"jobs\",\"set\":{"
		"\"done\":{\"array_length\":\"tool_ids\"},\"copy\":{\"column\":\"name\"},\"zero\":{\"value\":0},"
		"\"sessions\":{\"count\":{\"table\":\"sessions\",\"match\":{\"job_id\":\"job_id\"},"
		"\"where\":{\"status\":{\"$ne\":\"failed\"}}}}}}",
		"{\"op\":\"backfill\",\"table\":\"jobs\",\"where\":{\"name\":\"x\"},\"set\":{\"flag\":{\"value\":true}}}",
		NULL};
	migrate_plan_t *p = plan_of("bf", steps);

	mt_insert(c, mt_db(), "jobs",
		  "[{\"_id\":1,\"job_id\":\"j1\",\"name\":\"x\",\"tool_ids\":[1,2,3]},"
		  "{\"_id\":2,\"job_id\":\"j2\",\"tool_ids\":null},{\"_id\":3,\"job_id\":\"j3\",\"name\":\"y\"},"
		  "{\"_id\":4,\"name\":\"z\",\"tool_ids\":[]}]");
	mt_insert(c, mt_db(), "sessions",
		  "[{\"job_id\":\"j1\",\"status\":\"ok\"},{\"job_id\":\"j1\",\"status\":\"ok\"},"
		  "{\"job_id\":\"j1\",\"status\":\"failed\"},{\"job_id\":\"j3\",\"status\":\"ok\"}]");
	CHECK_OK(up(url, p, &err), &err);
	has(c, "jobs", "{\"_id\":1,\"done\":3,\"copy\":\"x\",\"zero\":0,\"sessions\":2,\"flag\":true}", 1);
	has(c, "jobs", "{\"_id\":2,\"done\":0,\"copy\":null,\"sessions\":0}", 1);
	has(c, "jobs", "{\"_id\":3,\"done\":0,\"copy\":\"y\",\"sessions\":1}", 1);
	has(c, "jobs", "{\"_id\":4,\"done\":0,\"sessions\":0}", 1);
	has(c, "jobs", "{\"flag\":{\"$exists\":true}}", 1);
	/* A backfill has no inverse: the down path is refused before anything runs. */
	CHECK_INT(down(url, p, &err), MIGRATE_EIRREVERSIBLE);
	migrate_plan_destroy(p);
	mongoc_client_destroy(c);
}

/*
 * The write paths of batched steps (lib/mongo/batch.c): 0 per-document
 * updates, 1 range updates, 2 the rewrite into a shadow collection
 * (rewrite.c); -1 the default for the server.
 */
static void set_write_path(int mode)
{
	if (mode < 0) {
		unsetenv("MIGRATE_MONGO_RANGE_UPDATES");
		unsetenv("MIGRATE_MONGO_REWRITE");
		return;
	}
	setenv("MIGRATE_MONGO_RANGE_UPDATES", mode == 1 ? "1" : "0", 1);
	setenv("MIGRATE_MONGO_REWRITE", mode == 2 ? "1" : "0", 1);
}

/* The range-update (server), per-document (client) and rewrite paths give the same documents. */
TEST(both_paths_same_result)
{
	const char *steps[] = {
		"{\"op\":\"add_column\",\"table\":\"jobs\",\"column\":{\"name\":\"n\",\"type\":\"integer\","
		"\"default\":{\"value\":0}}}",
		"{\"op\":\"rename_column\",\"table\":\"jobs\",\"from\":\"a\",\"to\":\"b\"}",
		"{\"op\":\"drop_column\",\"table\":\"jobs\",\"column\":\"junk\"}",
		"{\"op\":\"map_values\",\"table\":\"jobs\",\"column\":\"s\",\"map\":{\"p\":\"q\",\"r\":\"t\"}}",
		"{\"op\":\"backfill\",\"table\":\"jobs\",\"set\":{\"len\":{\"array_length\":\"arr\"}}}",
		NULL};
	char *dumps3[4];
	migrate_error_t err;

	/* 3: in place with batches sized by time, where map_values writes one update per value. */
	for (int mode = 0; mode < 4; mode++) {
		char tag[16];
		const char *url;
		mongoc_client_t *c;
		migrate_plan_t *p = plan_of("paths", steps);
		migrate_run_options_t opts;
		migrate_target_t *t;
		snprintf(tag, sizeof tag, "paths%d", mode);
		url = mt_fresh_db(tag);
		c = mt_client(url);
		migrate_buf_t *docs = migrate__buf_new("[");
		for (int i = 0; i < 250; i++)
			migrate_buf_printf(docs, "%s{\"_id\":%d,\"a\":%d,\"junk\":1,\"s\":\"%s\",\"arr\":[%s]%s}",
					   i ? "," : "", i, i,
					   i % 3 == 0   ? "p"
					   : i % 3 == 1 ? "r"
							: "x",
					   i % 2 ? "1,2" : "", i % 5 == 0 ? ",\"n\":5" : "");
		migrate_buf_append(docs, "]");
		mt_insert(c, mt_db(), "jobs", docs->str);
		migrate__buf_free(docs, true);
		set_write_path(mode == 3 ? 0 : mode);
		migrate_run_options_init(&opts, MIGRATE_RUN_OPTIONS_VERSION);
		opts.batch_size = mode == 3 ? 0 : 40;
		t = mt_target(url);
		CHECK_OK(migrate_up(t, p, 0, &opts, &err), &err);
		migrate_target_close(t);
		set_write_path(-1);
		dumps3[mode] = mt_dump(c, mt_db());
		/* Documents and indexes must match; the history is that of another plan run. */
		{
			char *h = strstr(dumps3[mode], "== _migrate_history"), *next = h ? strstr(h + 3, "== ") : NULL;
			if (h && next)
				memmove(h, next, strlen(next) + 1);
		}
		migrate_plan_destroy(p);
		mongoc_client_destroy(c);
	}
	CHECK_HAS(dumps3[0], "\"n\" : { \"$numberInt\" : \"5\" }");
	CHECK_STR(dumps3[0], dumps3[1]);
	CHECK_STR(dumps3[0], dumps3[2]);
	CHECK_STR(dumps3[0], dumps3[3]);
	for (int i = 0; i < 4; i++)
		free(dumps3[i]);
}

/*
 * Names that libbson's BCON builders would read as document or array
 * markers ("{", "}", "[", "]" first) are ordinary names to MongoDB: every
 * op that builds documents from them works, on both write paths, and
 * renders.
 */
TEST(bracket_names)
{
	const char *steps[] = {
		"{\"op\":\"add_column\",\"table\":\"jobs\",\"column\":{\"name\":\"{a\",\"type\":\"integer\","
		"\"default\":{\"value\":7}}}",
		"{\"op\":\"rename_column\",\"table\":\"jobs\",\"from\":\"[b\",\"to\":\"]c\"}",
		"{\"op\":\"drop_column\",\"table\":\"jobs\",\"column\":\"}d\"}",
		"{\"op\":\"map_values\",\"table\":\"jobs\",\"column\":\"{s\",\"map\":{\"{\":\"}\",\"[\":\"]\"}}",
		"{\"op\":\"backfill\",\"table\":\"jobs\",\"set\":{\"{n\":{\"array_length\":\"[arr\"},"
		"\"]v\":{\"value\":\"{\"},\"[copy\":{\"column\":\"{s\"}}}",
		"{\"op\":\"assert\",\"exists\":{\"table\":\"jobs\",\"column\":\"{a\"}}",
		"{\"op\":\"assert\",\"unique\":{\"table\":\"jobs\",\"columns\":[\"{u\",\"]c\"]}}",
		"{\"op\":\"create_index\",\"table\":\"jobs\",\"name\":\"[i\",\"unique\":true,"
		"\"keys\":[{\"column\":\"{u\"}]}",
		NULL};
	migrate_error_t err;

	for (int mode = 0; mode < 3; mode++) {
		char tag[16];
		const char *url;
		mongoc_client_t *c;
		migrate_plan_t *p = plan_of("brackets", steps);
		migrate_target_t *t;
		char *out = NULL;
		snprintf(tag, sizeof tag, "brackets%d", mode);
		url = mt_fresh_db(tag);
		c = mt_client(url);
		mt_insert(c, mt_db(), "jobs",
			  "[{\"_id\":1,\"[b\":1,\"}d\":1,\"{s\":\"{\",\"[arr\":[1,2],\"{u\":1},"
			  "{\"_id\":2,\"[b\":2,\"{s\":\"[\",\"{u\":2},{\"_id\":3,\"{s\":\"x\",\"{u\":3}]");
		set_write_path(mode);
		t = mt_target(url);
		CHECK_OK(migrate_render(t, p, 0, &out, &err), &err);
		CHECK_HAS(out, "\"{s\"");
		CHECK_HAS(out, "\"]v\"");
		migrate_free(out);
		CHECK_OK(migrate_up(t, p, 0, NULL, &err), &err);
		migrate_target_close(t);
		set_write_path(-1);
		has(c, "jobs",
		    "{\"_id\":1,\"{a\":7,\"]c\":1,\"{s\":\"}\",\"{n\":2,\"]v\":\"{\",\"[copy\":\"}\","
		    "\"}d\":{\"$exists\":false},\"[b\":{\"$exists\":false}}",
		    1);
		has(c, "jobs", "{\"_id\":2,\"{a\":7,\"]c\":2,\"{s\":\"]\",\"{n\":0,\"[copy\":\"]\"}", 1);
		has(c, "jobs", "{\"_id\":3,\"{a\":7,\"{s\":\"x\",\"{n\":0,\"]v\":\"{\",\"[copy\":\"x\"}", 1);
		CHECK_HAS(mt_indexes(c, mt_db(), "jobs"), "[i");
		migrate_plan_destroy(p);
		mongoc_client_destroy(c);
	}
}

TEST(asserts)
{
	const char *url = mt_fresh_db("assert");
	mongoc_client_t *c = mt_client(url);
	migrate_error_t err;
	const char *ok[] = {
		"{\"op\":\"assert\",\"count\":{\"table\":\"jobs\"},\"expect\":3}",
		"{\"op\":\"assert\",\"count\":{\"table\":\"jobs\",\"where\":{\"s\":{\"$in\":[\"a\",\"b\"]}}},"
		"\"expect\":{\"$gte\":2}}",
		"{\"op\":\"assert\",\"unique\":{\"table\":\"jobs\",\"columns\":[\"job_id\"]}}",
		"{\"op\":\"assert\",\"no_match\":{\"table\":\"jobs\",\"where\":{\"s\":\"zzz\"}}}",
		"{\"op\":\"assert\",\"exists\":{\"table\":\"jobs\",\"column\":\"s\"}}",
		"{\"op\":\"assert\",\"exists\":{\"table\":\"jobs\",\"index\":\"_id_\"}}",
		"{\"op\":\"assert\",\"command\":{\"count\":\"jobs\"},\"expect\":{\"n\":3,\"ok\":1}}",
		NULL};
	const char *fails[][2] = {
		{"{\"op\":\"assert\",\"count\":{\"table\":\"jobs\"},\"expect\":4,\"message\":\"need four\"}",
		 "count of \"jobs\" is 3"},
		{"{\"op\":\"assert\",\"unique\":{\"table\":\"jobs\",\"columns\":[\"s\"]}}",
		 "duplicates in \"jobs\": { \"s\" : \"a\" } (2 documents)"},
		{"{\"op\":\"assert\",\"no_match\":{\"table\":\"jobs\",\"where\":{\"s\":\"a\"}}}", "matches"},
		{"{\"op\":\"assert\",\"exists\":{\"table\":\"nope\"}}", "does not exist"},
		{"{\"op\":\"assert\",\"exists\":{\"table\":\"jobs\",\"column\":\"nope\"}}", "has the field"},
		{"{\"op\":\"assert\",\"command\":{\"count\":\"jobs\"},\"expect\":{\"n\":2}}", "does not hold"},
	};
	migrate_plan_t *p = plan_of("assert_ok", ok);

	mt_insert(c, mt_db(), "jobs",
		  "[{\"_id\":1,\"job_id\":\"j1\",\"s\":\"a\"},{\"_id\":2,\"job_id\":\"j2\",\"s\":\"a\"},"
		  "{\"_id\":3,\"job_id\":\"j3\",\"s\":\"b\"}]");
	CHECK_OK(up(url, p, &err), &err);
	migrate_plan_destroy(p);
	for (size_t i = 0; i < sizeof(fails) / sizeof(fails[0]); i++) {
		const char *one[] = {fails[i][0], NULL};
		char name[16];
		snprintf(name, sizeof name, "assert_%zu", i);
		p = plan_of(name, one);
		CHECK_INT(up(url, p, &err), MIGRATE_EASSERT);
		CHECK_HAS(err.message, fails[i][1]);
		if (i == 0)
			CHECK_HAS(err.message, "need four");
		migrate_plan_destroy(p);
	}
	/*
	 * A unique index answers a unique assertion on its fields or more
	 * without a scan, but not one on fewer: {job_id, s} unique says
	 * nothing about s alone.
	 */
	{
		const char *steps[] = {
			"{\"op\":\"create_index\",\"table\":\"jobs\",\"name\":\"job_s\",\"unique\":true,"
			"\"keys\":[{\"column\":\"job_id\"},{\"column\":\"s\"}]}",
			"{\"op\":\"assert\",\"unique\":{\"table\":\"jobs\",\"columns\":[\"s\",\"job_id\","
			"\"_id\"]}}",
			NULL};
		const char *fewer[] = {"{\"op\":\"assert\",\"unique\":{\"table\":\"jobs\",\"columns\":[\"s\"]}}", NULL};
		p = plan_of("assert_index", steps);
		CHECK_OK(up(url, p, &err), &err);
		migrate_plan_destroy(p);
		p = plan_of("assert_fewer", fewer);
		CHECK_INT(up(url, p, &err), MIGRATE_EASSERT);
		CHECK_HAS(err.message, "duplicates in \"jobs\": { \"s\" : \"a\" } (2 documents)");
		migrate_plan_destroy(p);
	}
	mongoc_client_destroy(c);
}

/* Steps with no meaning on MongoDB and hostile names are refused before anything is written. */
TEST(refused_before_writing)
{
	const char *url = mt_fresh_db("refused");
	mongoc_client_t *c = mt_client(url);
	migrate_error_t err;
	const char *bad[] = {
		"{\"op\":\"sql\",\"up\":\"CREATE TABLE x (a int)\"}",
		"{\"op\":\"create_table\",\"table\":\"t\",\"columns\":[{\"name\":\"a\",\"type\":{\"sql\":\"money\"}}]}",
		"{\"op\":\"add_column\",\"table\":\"t\",\"column\":{\"name\":\"a\",\"type\":\"text\","
		"\"default\":{\"sql\":\"now()\"}}}",
		"{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"a\":{\"sql\":\"1+1\"}}}",
		"{\"op\":\"assert\",\"sql\":\"SELECT 1\",\"expect\":1}",
		"{\"op\":\"create_table\",\"table\":\"bad$name\",\"columns\":[{\"name\":\"a\",\"type\":\"text\"}]}",
		"{\"op\":\"create_table\",\"table\":\"a.b\",\"columns\":[{\"name\":\"a\",\"type\":\"text\"}]}",
		"{\"op\":\"create_table\",\"table\":\"system.users\",\"columns\":[{\"name\":\"a\",\"type\":\"text\"}]}",
		"{\"op\":\"drop_table\",\"table\":\"_migrate_history\"}",
		"{\"op\":\"drop_table\",\"table\":\"a\\u0000b\"}",
		"{\"op\":\"drop_table\",\"table\":\"system\"}",
		"{\"op\":\"add_column\",\"table\":\"t\",\"column\":{\"name\":\"$set\",\"type\":\"text\"}}",
		"{\"op\":\"rename_column\",\"table\":\"t\",\"from\":\"a.b\",\"to\":\"c\"}",
		"{\"op\":\"map_values\",\"table\":\"t\",\"column\":\"s\",\"map\":{\"a\":\"b\"},\"where\":{\"$where\":\"1\"}}",
		"{\"op\":\"create_index\",\"table\":\"t\",\"name\":\"p\",\"keys\":[{\"column\":\"a\"}],"
		"\"where\":{\"a\":{\"$gt\":1}}}",
		"{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"$where\":{\"value\":1}}}",
		"{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"a.b\":{\"value\":1}}}",
		"{\"op\":\"assert\",\"unique\":{\"table\":\"t\",\"columns\":[\"$a\"]}}",
		"{\"op\":\"assert\",\"unique\":{\"table\":\"t\",\"columns\":[\"a.b\"]}}",
		"{\"op\":\"drop_index\",\"table\":\"t\",\"name\":\"*\"}",
		"{\"op\":\"drop_table\",\"table\":\"t\",\"keep\":\"a.b\"}",
		"{\"op\":\"drop_table\",\"table\":\"t\",\"keep\":\"_migrate_history\"}",
		NULL};

	for (size_t i = 0; bad[i]; i++) {
		/* A valid first version proves nothing runs when a later one is refused. */
		migrate_plan_t *p = NULL;
		migrate_version_t *v = NULL;
		migrate_target_t *t;
		int rc;
		CHECK_OK(migrate_plan_new(&p, "refused", &err), &err);
		CHECK_OK(migrate_plan_add_version(p, 1, "ok", &v, &err), &err);
		mt_step(v,
			"{\"op\":\"create_table\",\"table\":\"fine\",\"columns\":[{\"name\":\"a\",\"type\":\"text\"}]}");
		CHECK_OK(migrate_plan_add_version(p, 2, "bad", &v, &err), &err);
		if (migrate_version_add_step_json(v, bad[i], NULL, &err) != 0) {
			/* Refused by the core's own checks (NUL, control characters ...). */
			migrate_plan_destroy(p);
			continue;
		}
		t = mt_target(url);
		rc = migrate_up(t, p, 0, NULL, &err);
		if (rc != MIGRATE_EUNSUPPORTED && rc != MIGRATE_EPLAN)
			harness_fail(__FILE__, __LINE__, "step %s: up returned %d (%s)", bad[i], rc, err.message);
		CHECK_HAS(err.message, "version 2");
		/* A drop that keeps is checked as its rename: the message names keep, not the rename's "to". */
		if (strstr(bad[i], "\"keep\""))
			CHECK_HAS(err.message, "keep (the table is renamed to ");
		migrate_target_close(t);
		CHECK_STR(mt_collections(c, mt_db()), "");
		migrate_plan_destroy(p);
	}
	mongoc_client_destroy(c);
}

/* The warnings a run emits, joined. */
static int collect_warnings(const migrate_event_t *ev, void *payload)
{
	char *buf = payload;

	if (ev->type == MIGRATE_EVENT_WARNING && ev->message && strlen(buf) + strlen(ev->message) + 2 < 1024) {
		strcat(buf, ev->message);
		strcat(buf, "\n");
	}
	return 0;
}

/*
 * create_table with "validate": a $jsonSchema of its columns where the
 * server has validators; where it has none (FerretDB answers NotImplemented)
 * the collection is made without one and the run says so in a warning,
 * never silently. On a server with validators, a document without a NOT
 * NULL field is refused.
 */
TEST(validator_where_the_server_has_them)
{
	const char *url = mt_fresh_db("validator");
	mongoc_client_t *c = mt_client(url);
	migrate_error_t err;
	const char *steps[] = {
		"{\"op\":\"create_table\",\"table\":\"notes\",\"validate\":true,\"columns\":["
		"{\"name\":\"id\",\"type\":\"text\",\"nullable\":false},{\"name\":\"n\",\"type\":\"integer\"},"
		"{\"name\":\"at\",\"type\":\"timestamp\"},{\"name\":\"meta\",\"type\":\"json\"},"
		"{\"name\":\"_schema_version\",\"type\":\"text\",\"nullable\":false,\"default\":{\"value\":\"1.0.0\"}}]}",
		NULL};
	migrate_plan_t *p = plan_of("validator", steps);
	migrate_target_t *t = mt_target(url);
	migrate_run_options_t opts;
	char warnings[1024] = "", *out = NULL, msg[256];
	bson_t reply;
	bson_iter_t it, found;
	bool has_options;

	CHECK_OK(migrate_render(t, p, 0, &out, &err), &err);
	CHECK_HAS(out, "\"validator\" : { \"$jsonSchema\" : { \"bsonType\" : \"object\", \"properties\" : { "
		       "\"id\" : { \"bsonType\" : [ \"string\" ] }, \"n\" : { \"bsonType\" : [ \"int\", \"long\", "
		       "\"null\" ] }, \"at\" : { \"bsonType\" : [ \"date\", \"null\" ] }, \"_schema_version\" : { "
		       "\"bsonType\" : [ \"string\" ] } }, \"required\" : [ \"id\", \"_schema_version\" ] } }, "
		       "\"validationLevel\" : \"strict\", \"validationAction\" : \"error\"");
	migrate_free(out);

	migrate_run_options_init(&opts, MIGRATE_RUN_OPTIONS_VERSION);
	opts.on_event = collect_warnings;
	opts.event_payload = warnings;
	CHECK_OK(migrate_up(t, p, 0, &opts, &err), &err);
	CHECK(mt_exists(c, mt_db(), "notes"));
	mt_cmd(c, mt_db(), "{\"listCollections\":1,\"filter\":{\"name\":\"notes\"}}", &reply);
	CHECK(bson_iter_init(&it, &reply) && bson_iter_find_descendant(&it, "cursor.firstBatch.0.name", &found));
	CHECK_STR(bson_iter_utf8(&found, NULL), "notes");
	has_options = bson_iter_init(&it, &reply) &&
		      bson_iter_find_descendant(&it, "cursor.firstBatch.0.options.validator.$jsonSchema", &found);
	if (strstr(warnings, "was made without its validator")) {
		/* The server has none: nothing claims one. */
		CHECK(!has_options);
		CHECK(mt_try_cmd(c, mt_db(), "{\"insert\":\"notes\",\"documents\":[{\"n\":1}]}", msg, sizeof msg));
	} else {
		CHECK_STR(warnings, "");
		CHECK(has_options);
		CHECK(!mt_try_cmd(c, mt_db(), "{\"insert\":\"notes\",\"documents\":[{\"n\":1}]}", msg, sizeof msg));
		CHECK(mt_try_cmd(c, mt_db(),
				 "{\"insert\":\"notes\",\"documents\":[{\"id\":\"a\",\"_schema_version\":\"1.0.0\"}]}",
				 msg, sizeof msg));
	}
	bson_destroy(&reply);
	CHECK_INT(mt_state(t, p, 1), MIGRATE_STATE_APPLIED);
	CHECK_OK(migrate_down(t, p, 0, NULL, &err), &err);
	CHECK(!mt_exists(c, mt_db(), "notes"));
	migrate_target_close(t);
	migrate_plan_destroy(p);
	mongoc_client_destroy(c);
}

/*
 * A later drop_column or rename_column of a validated collection: where
 * the server has validators, the validator follows (else it would refuse
 * every document's $unset or $rename); where it has none, the steps run
 * as on any collection.
 */
TEST(validator_follows_dropped_and_renamed_fields)
{
	const char *url = mt_fresh_db("validator_follows");
	mongoc_client_t *c = mt_client(url);
	migrate_error_t err;
	const char *steps[] = {
		"{\"op\":\"create_table\",\"table\":\"notes\",\"validate\":true,\"columns\":["
		"{\"name\":\"id\",\"type\":\"text\",\"nullable\":false},{\"name\":\"name\",\"type\":\"text\","
		"\"nullable\":false},{\"name\":\"old\",\"type\":\"integer\",\"nullable\":false}]}",
		NULL};
	migrate_plan_t *p = plan_of("validator_follows", steps);
	migrate_version_t *v = NULL;
	migrate_target_t *t = mt_target(url);
	bson_t reply;
	bson_iter_t it, found;
	char *doc, msg[256];
	bool has_validator;

	CHECK_OK(migrate_plan_add_version(p, 2, "later", &v, &err), &err);
	mt_step(v, "{\"op\":\"rename_column\",\"table\":\"notes\",\"from\":\"name\",\"to\":\"title\"}");
	mt_step(v, "{\"op\":\"drop_column\",\"table\":\"notes\",\"column\":\"old\",\"keep\":\"notes_old\","
		   "\"definition\":{\"name\":\"old\",\"type\":\"integer\"}}");
	CHECK_OK(migrate_up(t, p, 1, NULL, &err), &err);
	mt_insert(c, mt_db(), "notes", "[{\"_id\":1,\"id\":\"a\",\"name\":\"first\",\"old\":7}]");
	CHECK_OK(migrate_up(t, p, 0, NULL, &err), &err);
	CHECK_INT(mt_state(t, p, 2), MIGRATE_STATE_APPLIED);
	doc = mt_find_one(c, mt_db(), "notes", "{\"_id\":1}");
	CHECK_STR(doc, "{ \"_id\" : 1, \"id\" : \"a\", \"title\" : \"first\" }");
	bson_free(doc);
	mt_cmd(c, mt_db(), "{\"listCollections\":1,\"filter\":{\"name\":\"notes\"}}", &reply);
	has_validator = bson_iter_init(&it, &reply) &&
			bson_iter_find_descendant(&it, "cursor.firstBatch.0.options.validator.$jsonSchema", &found);
	if (has_validator) {
		/* The validator requires the new name and no longer the dropped field. */
		bson_iter_init(&it, &reply);
		CHECK(bson_iter_find_descendant(&it, "cursor.firstBatch.0.options.validator.$jsonSchema.required.1",
						&found));
		CHECK_STR(bson_iter_utf8(&found, NULL), "title");
		bson_iter_init(&it, &reply);
		CHECK(!bson_iter_find_descendant(&it, "cursor.firstBatch.0.options.validator.$jsonSchema.required.2",
						 &found));
		CHECK(mt_try_cmd(c, mt_db(), "{\"insert\":\"notes\",\"documents\":[{\"id\":\"b\",\"title\":\"x\"}]}",
				 msg, sizeof msg));
	}
	bson_destroy(&reply);
	/* Back: the kept values return and the rename is undone (the validator follows again). */
	CHECK_OK(migrate_down(t, p, 1, NULL, &err), &err);
	doc = mt_find_one(c, mt_db(), "notes", "{\"_id\":1}");
	CHECK_STR(doc, "{ \"_id\" : 1, \"id\" : \"a\", \"old\" : 7, \"name\" : \"first\" }");
	bson_free(doc);
	migrate_target_close(t);
	migrate_plan_destroy(p);
	mongoc_client_destroy(c);
}

TEST(render_check_status)
{
	const char *url = mt_fresh_db("render");
	mongoc_client_t *c = mt_client(url);
	migrate_error_t err;
	const char *steps[] = {
		"{\"op\":\"rename_table\",\"from\":\"sessions\",\"to\":\"jobs\"}",
		"{\"op\":\"create_index\",\"table\":\"jobs\",\"name\":\"job_id_1\",\"unique\":true,\"keys\":[{\"column\":\"job_id\"}]}",
		"{\"op\":\"backfill\",\"table\":\"jobs\",\"set\":{\"n\":{\"array_length\":\"tool_ids\"}}}", NULL};
	migrate_plan_t *p = plan_of("render", steps);
	migrate_target_t *t = mt_target(url);
	char *out = NULL;
	migrate_check_state_t state = -1;

	mt_insert(c, mt_db(), "sessions", "[{\"_id\":1,\"job_id\":\"a\",\"tool_ids\":[1]}]");
	CHECK_OK(migrate_render(t, p, 0, &out, &err), &err);
	CHECK_HAS(out, "renameCollection");
	CHECK_HAS(out, "createIndexes");
	CHECK_HAS(out, "\"unique\" : true");
	CHECK_HAS(out, "tool_ids");
	migrate_free(out);
	CHECK(!mt_exists(c, mt_db(), "jobs")); /* render writes nothing */
	CHECK_OK(migrate_check(t, p, &state, &err), &err);
	CHECK_INT(state, MIGRATE_CHECK_PENDING);
	CHECK_OK(migrate_up(t, p, 0, NULL, &err), &err);
	CHECK_OK(migrate_check(t, p, &state, &err), &err);
	CHECK_INT(state, MIGRATE_CHECK_UP_TO_DATE);
	CHECK_INT(mt_state(t, p, 1), MIGRATE_STATE_APPLIED);
	has(c, "jobs", "{\"n\":1}", 1);
	has(c, "_migrate_history", "{\"plan\":\"render\",\"version\":1,\"state\":\"applied\",\"steps_done\":3}", 1);
	has(c, "_migrate_locks", NULL, 0); /* released */
	migrate_target_close(t);
	migrate_plan_destroy(p);
	mongoc_client_destroy(c);
}

TEST(borrowed_client)
{
	const char *url = mt_fresh_db("borrowed");
	mongoc_client_t *c = mt_client(url);
	migrate_target_t *t = NULL;
	migrate_error_t err;
	const char *steps[] = {
		"{\"op\":\"create_table\",\"table\":\"a\",\"columns\":[{\"name\":\"x\",\"type\":\"text\"}]}", NULL};
	migrate_plan_t *p = plan_of("borrowed", steps);

	CHECK_INT(migrate_target_open_mongo(&t, NULL, "db", &err), MIGRATE_EINVAL);
	CHECK_INT(migrate_target_open_mongo(&t, c, "bad/db", &err), MIGRATE_EINVAL);
	CHECK_OK(migrate_target_open_mongo(&t, c, mt_db(), &err), &err);
	CHECK_STR(migrate_target_driver_name(t), "mongo");
	CHECK_OK(migrate_up(t, p, 0, NULL, &err), &err);
	migrate_target_close(t);
	/* The client is still the application's, and still works. */
	CHECK(mt_exists(c, mt_db(), "a"));
	migrate_plan_destroy(p);
	mongoc_client_destroy(c);
}

TEST(url_errors_hide_password)
{
	migrate_target_t *t = NULL;
	migrate_error_t err;

	mt_server_url();
	CHECK_INT(migrate_target_open(&t, "mongodb://bob:s3cretpw@127.0.0.1:1/db?serverSelectionTimeoutMS=300", &err),
		  MIGRATE_ECONNECT);
	CHECK(strstr(err.message, "s3cretpw") == NULL);
	CHECK_HAS(err.message, "127.0.0.1:1");
	CHECK(migrate_target_open(&t, "mongodb://bob:s3cretpw@127.0.0.1:1/", &err) != 0);
	CHECK(strstr(err.message, "s3cretpw") == NULL);
	CHECK_HAS(err.message, "names no database");
	CHECK(migrate_target_open(&t, "mongodb://bob:s3cretpw@[bad/db", &err) != 0);
	CHECK(strstr(err.message, "s3cretpw") == NULL);
	/* A bad database name says why (libmongoc only says "Invalid database name"). */
	CHECK_INT(migrate_target_open(&t, "mongodb://bob:s3cretpw@127.0.0.1:1/bad.name", &err), MIGRATE_EINVAL);
	CHECK(strstr(err.message, "s3cretpw") == NULL);
	CHECK_HAS(err.message, "contains '.'");
	CHECK_INT(migrate_target_open(&t, "mongodb://127.0.0.1:1/bad$name?appname=x", &err), MIGRATE_EINVAL);
	CHECK_HAS(err.message, "contains '$'");
	/* libmigrate's own options are checked too. */
	CHECK_INT(migrate_target_open(&t, "mongodb://127.0.0.1:1/db?migrate_rewrite=2", &err), MIGRATE_EINVAL);
	CHECK_HAS(err.message, "migrate_rewrite takes auto, 0 or 1");
}

/* Batches journal a checkpoint each; a cancel stops after a batch and the next run resumes. */
static int cancel_after(const migrate_event_t *ev, void *payload)
{
	int *left = payload;
	if (ev->type == MIGRATE_EVENT_PROGRESS && --*left == 0)
		return 1;
	return 0;
}

static int count_progress(const migrate_event_t *ev, void *payload)
{
	int *n = payload;
	if (ev->type == MIGRATE_EVENT_PROGRESS)
		++*n;
	return 0;
}

/* Counts the update commands of "jobs" logged with the step's server-side time limit (and without). */
typedef struct deadline_seen {
	int with, without;
} deadline_seen;

static void see_deadline(int level, const char *message, void *payload)
{
	deadline_seen *d = payload;
	(void)level;
	if (!strstr(message, "{ \"update\" : \"jobs\""))
		return;
	if (strstr(message, "\"maxTimeMS\" : 10000 }"))
		d->with++;
	else
		d->without++;
}

/*
 * map_values in place, with batches sized by time: one update_many per old
 * value, whatever the collection's size (one progress event each), journaled
 * one by one, so that a run stopped between two resumes with the next.
 */
TEST(map_values_by_value)
{
	const char *steps[] = {"{\"op\":\"map_values\",\"table\":\"jobs\",\"column\":\"s\","
			       "\"map\":{\"p\":\"q\",\"r\":\"t\",\"u\":\"v\"}}",
			       NULL};
	const char *url = mt_fresh_db("byvalue");
	mongoc_client_t *c = mt_client(url);
	migrate_plan_t *p = plan_of("byvalue", steps);
	migrate_buf_t *docs = migrate__buf_new("[");
	migrate_run_options_t opts;
	migrate_target_t *t;
	migrate_error_t err;
	int left = 1, n = 0;
	deadline_seen seen = {0, 0};
	char *h, *out = NULL;

	for (int i = 0; i < 600; i++)
		migrate_buf_printf(docs, "%s{\"_id\":\"d%04d\",\"s\":\"%s\"}", i ? "," : "", i,
				   (const char *[]){"p", "r", "u", "x"}[i % 4]);
	migrate_buf_append(docs, "]");
	mt_insert(c, mt_db(), "jobs", docs->str);
	migrate__buf_free(docs, true);
	set_write_path(0);
	t = mt_target(url);
	/* The plan shows the path: three updates, one per value. */
	CHECK_OK(migrate_render(t, p, 0, &out, &err), &err);
	CHECK_HAS(out, "one update per value");
	CHECK_HAS(out, "{ \"s\" : \"u\" } ] }, \"u\" : { \"$set\" : { \"s\" : \"v\" } }");
	migrate_free(out);
	migrate_run_options_init(&opts, MIGRATE_RUN_OPTIONS_VERSION);
	opts.on_event = cancel_after;
	opts.event_payload = &left;
	CHECK_INT(migrate_up(t, p, 0, &opts, &err), MIGRATE_ECANCELED);
	h = mt_find_one(c, mt_db(), "_migrate_history", "{\"plan\":\"byvalue\"}");
	CHECK_HAS(h, "\\\"part\\\" : { \\\"$numberLong\\\" : \\\"1\\\" }");
	free(h);
	has(c, "jobs", "{\"s\":\"q\"}", 150);
	has(c, "jobs", "{\"s\":\"r\"}", 150);
	opts.on_event = count_progress;
	opts.event_payload = &n;
	migrate_log_set_handler(see_deadline, &seen);
	CHECK_OK(migrate_up(t, p, 0, &opts, &err), &err);
	migrate_log_set_handler(NULL, NULL);
	set_write_path(-1);
	/* The resumed run sent the two statements left, each limited to 50 budgets of 200 ms. */
	CHECK_INT(n, 2);
	CHECK_INT(seen.with, 2);
	CHECK_INT(seen.without, 0);
	has(c, "jobs", "{\"s\":\"q\"}", 150);
	has(c, "jobs", "{\"s\":\"t\"}", 150);
	has(c, "jobs", "{\"s\":\"v\"}", 150);
	has(c, "jobs", "{\"s\":\"x\"}", 150);
	migrate_target_close(t);
	migrate_plan_destroy(p);
	mongoc_client_destroy(c);
}

/*
 * A backfill of arrays' lengths in place, with batches sized by time: per
 * array, one update for the documents without one and one per length up to
 * the longest (found by a few one-document finds), whatever the size.
 */
TEST(array_length_by_value)
{
	const char *steps[] = {"{\"op\":\"backfill\",\"table\":\"jobs\",\"set\":{\"len\":{\"array_length\":\"arr\"},"
			       "\"v\":{\"value\":2},\"tags_n\":{\"array_length\":\"tags\"}}}",
			       NULL};
	static const char *const arrays[] = {"[]", "[1,2]", "[1,2,3,4,5]", "null", "\"text\"", NULL};
	const char *url = mt_fresh_db("bylength");
	mongoc_client_t *c = mt_client(url);
	migrate_plan_t *p = plan_of("bylength", steps);
	migrate_buf_t *docs = migrate__buf_new("[");
	migrate_run_options_t opts;
	migrate_target_t *t;
	migrate_error_t err;
	int n = 0;

	for (int i = 0; i < 600; i++) {
		const char *a = arrays[i % 6];
		migrate_buf_printf(docs, "%s{\"_id\":\"d%04d\"%s%s%s}", i ? "," : "", i, a ? ",\"arr\":" : "",
				   a ? a : "", i % 2 ? ",\"tags\":[\"t\"]" : "");
	}
	migrate_buf_append(docs, "]");
	mt_insert(c, mt_db(), "jobs", docs->str);
	migrate__buf_free(docs, true);
	set_write_path(0);
	t = mt_target(url);
	migrate_run_options_init(&opts, MIGRATE_RUN_OPTIONS_VERSION);
	opts.on_event = count_progress;
	opts.event_payload = &n;
	CHECK_OK(migrate_up(t, p, 0, &opts, &err), &err);
	set_write_path(-1);
	/* arr: no array, then lengths 0 to 5; tags: no array, lengths 0 and 1. */
	CHECK_INT(n, 10);
	has(c, "jobs", "{\"len\":0,\"v\":2}", 400);
	has(c, "jobs", "{\"len\":2,\"v\":2}", 100);
	has(c, "jobs", "{\"len\":5,\"v\":2}", 100);
	has(c, "jobs", "{\"tags_n\":1}", 300);
	has(c, "jobs", "{\"tags_n\":0}", 300);
	migrate_target_close(t);
	migrate_plan_destroy(p);
	mongoc_client_destroy(c);
}

TEST(batches_cancel_resume)
{
	/* In place (0), the cancelled run's batches are in the collection; rewriting (2), in its shadow. */
	for (int mode = 0; mode <= 2; mode += 2) {
		char tag[16];
		const char *url;
		mongoc_client_t *c;
		migrate_error_t err;
		const char *steps[] = {
			"{\"op\":\"backfill\",\"table\":\"jobs\",\"set\":{\"len\":{\"array_length\":\"arr\"}}}", NULL};
		migrate_plan_t *p = plan_of("batches", steps);
		migrate_run_options_t opts;
		migrate_target_t *t;
		int left = 3;
		migrate_buf_t *docs = migrate__buf_new("[");
		char *h, *shadow = NULL;

		snprintf(tag, sizeof tag, "batches%d", mode);
		url = mt_fresh_db(tag);
		c = mt_client(url);
		/* String _ids: FerretDB finds those by index, integers by a scan. */
		for (int i = 0; i < 1000; i++)
			migrate_buf_printf(docs, "%s{\"_id\":\"d%04d\",\"arr\":[%d]}", i ? "," : "", i, i);
		migrate_buf_append(docs, "]");
		mt_insert(c, mt_db(), "jobs", docs->str);
		migrate__buf_free(docs, true);
		migrate_run_options_init(&opts, MIGRATE_RUN_OPTIONS_VERSION);
		opts.batch_size = 100;
		opts.on_event = cancel_after;
		opts.event_payload = &left;
		set_write_path(mode);
		t = mt_target(url);
		CHECK_INT(migrate_up(t, p, 0, &opts, &err), MIGRATE_ECANCELED);
		h = mt_find_one(c, mt_db(), "_migrate_history", "{\"plan\":\"batches\"}");
		CHECK_HAS(h, "\"checkpoint\" : \"{ \\\"after\\\" : \\\"d0299\\\"");
		free(h);
		if (mode == 0) {
			has(c, "jobs", "{\"len\":1}", 300);
		} else {
			/* The source is untouched until the swap; the shadow holds the first three batches. */
			has(c, "jobs", "{\"len\":{\"$exists\":true}}", 0);
			shadow = mt_dump(c, mt_db());
			CHECK_HAS(shadow, "== _migrate_rw_");
			free(shadow);
		}
		opts.on_event = NULL;
		CHECK_OK(migrate_up(t, p, 0, &opts, &err), &err);
		set_write_path(-1);
		has(c, "jobs", "{\"len\":1}", 1000);
		has(c, "jobs", "{}", 1000);
		shadow = mt_dump(c, mt_db());
		CHECK(strstr(shadow, "== _migrate_rw_") == NULL);
		free(shadow);
		CHECK_INT(mt_state(t, p, 1), MIGRATE_STATE_APPLIED);
		migrate_target_close(t);
		migrate_plan_destroy(p);
		mongoc_client_destroy(c);
	}
}

/*
 * _ids of several types (numbers, strings, ObjectIds): the server compares
 * only values of one type ({$gt: 5} never matches "a"), so a run resumed
 * after a batch must still reach every document, in place and rewriting.
 */
TEST(mixed_ids_resume)
{
	for (int mode = 0; mode <= 2; mode += 2) {
		char tag[16];
		const char *url;
		mongoc_client_t *c;
		migrate_error_t err;
		const char *steps[] = {
			"{\"op\":\"backfill\",\"table\":\"jobs\",\"set\":{\"len\":{\"array_length\":\"arr\"}}}", NULL};
		migrate_plan_t *p = plan_of("mixed", steps);
		migrate_run_options_t opts;
		migrate_target_t *t;
		int left = 2;

		snprintf(tag, sizeof tag, "mixed%d", mode);
		url = mt_fresh_db(tag);
		c = mt_client(url);
		mt_insert(
			c, mt_db(), "jobs",
			"[{\"_id\":1,\"arr\":[1]},{\"_id\":2,\"arr\":[1]},{\"_id\":3.5,\"arr\":[1]},{\"_id\":4,\"arr\":[1]},"
			"{\"_id\":\"a\",\"arr\":[1]},{\"_id\":\"b\",\"arr\":[1]},{\"_id\":\"c\",\"arr\":[1]},"
			"{\"_id\":{\"$oid\":\"650000000000000000000001\"},\"arr\":[1]},"
			"{\"_id\":{\"$oid\":\"650000000000000000000002\"},\"arr\":[1]}]");
		migrate_run_options_init(&opts, MIGRATE_RUN_OPTIONS_VERSION);
		opts.batch_size = 2;
		opts.on_event = cancel_after;
		opts.event_payload = &left;
		set_write_path(mode);
		t = mt_target(url);
		CHECK_INT(migrate_up(t, p, 0, &opts, &err), MIGRATE_ECANCELED);
		opts.on_event = NULL;
		CHECK_OK(migrate_up(t, p, 0, &opts, &err), &err);
		set_write_path(-1);
		has(c, "jobs", "{}", 9);
		has(c, "jobs", "{\"len\":1}", 9);
		migrate_target_close(t);
		migrate_plan_destroy(p);
		mongoc_client_destroy(c);
	}
}

/*
 * drop_column with keep, in place (0) and rewriting (2): the down gives
 * every document its field back as it was (null included), and documents
 * that lacked it still lack it.
 */
TEST(drop_column_keep)
{
	const char *steps[] = {"{\"op\":\"drop_column\",\"table\":\"jobs\",\"column\":\"note\",\"keep\":"
			       "\"jobs_note_kept\",\"definition\":{\"name\":\"note\",\"type\":\"text\"}}",
			       NULL};

	for (int mode = 0; mode <= 2; mode += 2) {
		char tag[16];
		const char *url;
		mongoc_client_t *c;
		migrate_plan_t *p = plan_of("dropkeep", steps);
		migrate_buf_t *docs = migrate__buf_new("[");
		migrate_target_t *t;
		migrate_error_t err;

		snprintf(tag, sizeof tag, "dropkeep%d", mode);
		url = mt_fresh_db(tag);
		c = mt_client(url);
		for (int i = 0; i < 300; i++)
			migrate_buf_printf(docs, "%s{\"_id\":\"d%04d\",\"n\":%d%s}", i ? "," : "", i, i,
					   i % 3 == 0   ? ",\"note\":\"hello\""
					   : i % 3 == 1 ? ",\"note\":null"
							: "");
		migrate_buf_append(docs, "]");
		mt_insert(c, mt_db(), "jobs", docs->str);
		migrate__buf_free(docs, true);
		set_write_path(mode);
		t = mt_target(url);
		CHECK_OK(migrate_up(t, p, 0, NULL, &err), &err);
		has(c, "jobs", "{\"note\":{\"$exists\":true}}", 0);
		has(c, "jobs_note_kept", "{}", 200);
		CHECK_OK(migrate_down(t, p, 0, NULL, &err), &err);
		set_write_path(-1);
		has(c, "jobs", "{\"note\":\"hello\"}", 100);
		has(c, "jobs", "{\"note\":{\"$type\":\"null\"}}", 100);
		has(c, "jobs", "{\"note\":{\"$exists\":false}}", 100);
		has(c, "jobs", "{}", 300);
		CHECK(!mt_exists(c, mt_db(), "jobs_note_kept"));
		migrate_target_close(t);
		migrate_plan_destroy(p);
		mongoc_client_destroy(c);
	}
}

/* keep refuses a collection that exists (the application's, or another step's): nothing is written. */
TEST(keep_into_existing_refused)
{
	const char *url = mt_fresh_db("keepexists");
	mongoc_client_t *c = mt_client(url);
	migrate_error_t err;
	const char *steps[] = {"{\"op\":\"map_values\",\"table\":\"jobs\",\"column\":\"s\",\"keep\":\"archive\","
			       "\"map\":{\"p\":\"q\"}}",
			       NULL};
	migrate_plan_t *p = plan_of("keepexists", steps);

	mt_insert(c, mt_db(), "jobs", "[{\"_id\":1,\"s\":\"p\"}]");
	mt_insert(c, mt_db(), "archive", "[{\"_id\":1,\"s\":\"mine\"}]");
	CHECK_INT(up(url, p, &err), MIGRATE_ESTATE);
	CHECK_HAS(err.message, "\"archive\" exists already");
	has(c, "jobs", "{\"_id\":1,\"s\":\"p\"}", 1);
	has(c, "archive", "{\"_id\":1,\"s\":\"mine\"}", 1);
	migrate_plan_destroy(p);
	mongoc_client_destroy(c);
}

/*
 * The rewrite path does not replace a collection that lost or gained
 * documents while it was copied: the run stops, and the next one copies
 * it anew and converges.
 */
TEST(rewrite_refuses_a_changed_collection)
{
	const char *url = mt_fresh_db("changed");
	mongoc_client_t *c = mt_client(url);
	migrate_error_t err;
	const char *steps[] = {"{\"op\":\"backfill\",\"table\":\"jobs\",\"set\":{\"len\":{\"array_length\":\"arr\"}}}",
			       NULL};
	migrate_plan_t *p = plan_of("changed", steps);
	migrate_run_options_t opts;
	migrate_target_t *t;
	int left = 1;

	mt_insert(c, mt_db(), "jobs",
		  "[{\"_id\":1,\"arr\":[1]},{\"_id\":2,\"arr\":[1]},{\"_id\":3,\"arr\":[1]},{\"_id\":4,\"arr\":[1]},"
		  "{\"_id\":5,\"arr\":[1]},{\"_id\":6,\"arr\":[1]}]");
	migrate_run_options_init(&opts, MIGRATE_RUN_OPTIONS_VERSION);
	opts.batch_size = 2;
	opts.on_event = cancel_after;
	opts.event_payload = &left;
	set_write_path(2);
	t = mt_target(url);
	CHECK_INT(migrate_up(t, p, 0, &opts, &err), MIGRATE_ECANCELED);
	/* A document already copied goes away behind the step's back. */
	mt_cmd(c, mt_db(), "{\"delete\":\"jobs\",\"deletes\":[{\"q\":{\"_id\":1},\"limit\":1}]}", NULL);
	opts.on_event = NULL;
	CHECK_INT(migrate_up(t, p, 0, &opts, &err), MIGRATE_ESTATE);
	CHECK_HAS(err.message, "changed while it was copied");
	has(c, "jobs", "{}", 5);
	has(c, "jobs", "{\"len\":{\"$exists\":true}}", 0);
	CHECK_OK(migrate_up(t, p, 0, &opts, &err), &err);
	set_write_path(-1);
	has(c, "jobs", "{\"len\":1}", 5);
	CHECK(strstr(mt_collections(c, mt_db()), "_migrate_rw_") == NULL);
	migrate_target_close(t);
	migrate_plan_destroy(p);
	mongoc_client_destroy(c);
}

/* A raw command that declares what it makes keeps the comparison complete. */
TEST(check_schema_declared)
{
	const char *url = mt_fresh_db("drift_declared");
	mongoc_client_t *c = mt_client(url);
	migrate_target_t *t = mt_target(url);
	migrate_plan_t *p = drift_plan(0);
	migrate_schema_report_t *r;
	migrate_error_t err;

	drift_add_declared(p, "{\"op\":\"command\",\"up\":[{\"createIndexes\":\"jobs\",\"indexes\":[{\"key\":"
			      "{\"n\":1},\"name\":\"jobs_raw_idx\"}]},{\"create\":\"raw_t\"}],"
			      "\"down\":[{\"drop\":\"raw_t\"},{\"dropIndexes\":\"jobs\",\"index\":\"jobs_raw_idx\"}]}");
	CHECK_OK(migrate_up(t, p, 0, NULL, &err), &err);
	r = drift_report(t, p);
	CHECK_INT(migrate_schema_report_count(r), 0);
	CHECK_INT(migrate_schema_report_partial(r), 0);
	migrate_schema_report_destroy(r);

	mt_cmd(c, mt_db(), "{\"drop\":\"raw_t\"}", NULL);
	mt_cmd(c, mt_db(), "{\"dropIndexes\":\"jobs\",\"index\":\"jobs_raw_idx\"}", NULL);
	mt_cmd(c, mt_db(), "{\"createIndexes\":\"jobs\",\"indexes\":[{\"key\":{\"name\":1},\"name\":\"rogue_idx\"}]}",
	       NULL);
	CHECK(!mt_exists(c, mt_db(), "raw_t"));
	CHECK_STR(mt_indexes(c, mt_db(), "jobs"), "_id_,jobs_name_idx,jobs_status_idx,rogue_idx");
	r = drift_report(t, p);
	drift_check_declared(r);
	migrate_schema_report_destroy(r);
	migrate_target_close(t);
	migrate_plan_destroy(p);
	mongoc_client_destroy(c);
}

/* Drift (check --schema): a clean database reports nothing; collections and indexes changed behind the library's back
 * are found. */
TEST(check_schema)
{
	const char *url = mt_fresh_db("drift");
	mongoc_client_t *c = mt_client(url);
	migrate_target_t *t = mt_target(url);
	migrate_plan_t *p = drift_plan(0);
	migrate_schema_report_t *r;
	migrate_error_t err;

	CHECK_OK(migrate_up(t, p, 0, NULL, &err), &err);
	r = drift_report(t, p);
	CHECK_INT(migrate_schema_report_count(r), 0);
	CHECK_INT(migrate_schema_report_state(r), MIGRATE_CHECK_UP_TO_DATE);
	migrate_schema_report_destroy(r);

	mt_cmd(c, mt_db(), "{\"drop\":\"extra_t\"}", NULL);
	mt_cmd(c, mt_db(), "{\"dropIndexes\":\"jobs\",\"index\":\"jobs_status_idx\"}", NULL);
	mt_cmd(c, mt_db(), "{\"dropIndexes\":\"jobs\",\"index\":\"jobs_name_idx\"}", NULL);
	mt_cmd(c, mt_db(),
	       "{\"createIndexes\":\"jobs\",\"indexes\":[{\"key\":{\"name\":-1},\"name\":\"jobs_name_idx\"},"
	       "{\"key\":{\"n\":1},\"name\":\"rogue_idx\"}]}",
	       NULL);
	mt_cmd(c, mt_db(), "{\"create\":\"not_in_plan\"}", NULL);
	CHECK(!mt_exists(c, mt_db(), "extra_t"));
	CHECK_STR(mt_indexes(c, mt_db(), "jobs"), "_id_,jobs_name_idx,rogue_idx");

	r = drift_report(t, p);
	CHECK_DRIFT(r, MIGRATE_DRIFT_MISSING, "extra_t", NULL, 2);
	CHECK_STR(migrate_finding_object_type(drift_find(r, MIGRATE_DRIFT_MISSING, "extra_t", NULL)), "collection");
	CHECK_DRIFT(r, MIGRATE_DRIFT_MISSING, "jobs.jobs_status_idx", NULL, 1);
	CHECK_DRIFT(r, MIGRATE_DRIFT_DIFFERENT, "jobs.jobs_name_idx", "unique", 2);
	CHECK_DRIFT(r, MIGRATE_DRIFT_EXTRA, "jobs.rogue_idx", NULL, 1);
	CHECK(!drift_find(r, MIGRATE_DRIFT_EXTRA, "not_in_plan", NULL));
	CHECK_INT(migrate_schema_report_count(r), 4);
	migrate_schema_report_destroy(r);
	migrate_target_close(t);
	migrate_plan_destroy(p);
	mongoc_client_destroy(c);
}
