/* The conformance suite's MongoDB backend: a database per scenario run on the test FerretDB. */
#include <mongoc/mongoc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance.h"
#include "harness.h"
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
	bson_string_t *docs = bson_string_new("[");
	mongoc_client_t *c = mt_client(url);
	char db[200];
	int i;

	db_of(url, db, sizeof db);
	for (i = 1; i <= rows; i++)
		bson_string_append_printf(docs, "%s{\"_id\":%d,\"id\":%d,\"tags\":%s,\"status\":\"%s\",\"counter\":%d}",
					  i > 1 ? "," : "", i, i, tags[i % 4], status[i % 3], i * 10);
	bson_string_append(docs, "]");
	mt_insert(c, db, "legacy", docs->str);
	bson_string_free(docs, true);
	mongoc_client_destroy(c);
}

static char *dump(const char *url)
{
	mongoc_client_t *c = mt_client(url);
	char db[200], *d;

	db_of(url, db, sizeof db);
	d = mt_dump_except(c, db, "audit");
	mongoc_client_destroy(c);
	return d;
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
	.bump_expr = "{\"mongo\":{\"$add\":[\"$counter\",1]}}",
	.drop_expr = "{\"mongo\":{\"$subtract\":[\"$counter\",1]}}",
};

const conf_backend *conf_backend_get(void)
{
	return &backend;
}
