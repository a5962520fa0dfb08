/*
 * The MongoDB driver's own checks of names, without a server: a borrowed
 * client on an address where nothing listens, so that a plan the driver
 * refuses fails in validation, and a plan it accepts fails only when the
 * run first reaches the server (MIGRATE_ECONNECT).
 */
#include <string.h>

#include <migrate/migrate.h>
#include <migrate/mongo.h>

#include "harness.h"

/* Nothing listens on port 9 (discard) here; server selection gives up quickly. */
#define NOWHERE "mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=300&connectTimeoutMS=300"

/* Runs `up` for a one-step plan on a server that is not there; returns its code, message in `err`. */
static int up_one(const char *step_json, migrate_error_t *err)
{
	mongoc_client_t *client;
	migrate_target_t *t = NULL;
	migrate_plan_t *p = NULL;
	migrate_version_t *v = NULL;
	int rc;

	mongoc_init();
	client = mongoc_client_new(NOWHERE);
	CHECK(client != NULL);
	CHECK_OK(migrate_target_open_mongo(&t, client, "names", err), err);
	CHECK_OK(migrate_plan_new(&p, "names", err), err);
	CHECK_OK(migrate_plan_add_version(p, 1, "v1", &v, err), err);
	CHECK_OK(migrate_version_add_step_json(v, step_json, NULL, err), err);
	rc = migrate_up(t, p, 0, NULL, err);
	migrate_plan_destroy(p);
	migrate_target_close(t);
	mongoc_client_destroy(client);
	return rc;
}

static void refused(const char *step_json, const char *what, const char *name)
{
	migrate_error_t err;
	int rc = up_one(step_json, &err);

	if (rc != MIGRATE_EUNSUPPORTED && rc != MIGRATE_EPLAN)
		harness_fail(__FILE__, __LINE__, "step %s: up returned %d (%s), expected a refusal", step_json, rc,
			     err.message);
	CHECK_HAS(err.message, "version 1");
	CHECK_HAS(err.message, "step 1");
	CHECK_HAS(err.message, what);
	CHECK_HAS(err.message, name);
}

static void accepted(const char *step_json)
{
	migrate_error_t err;
	int rc = up_one(step_json, &err);

	if (rc != MIGRATE_ECONNECT)
		harness_fail(__FILE__, __LINE__, "step %s: up returned %d (%s), expected to reach the server",
			     step_json, rc, err.message);
}

/* A backfill target that MongoDB cannot store is refused, not a crash in the cleanup of a half-parsed set. */
TEST(backfill_set_names)
{
	refused("{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"$where\":{\"value\":1}}}", "set", "\"$where\"");
	refused("{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"a.b\":{\"value\":1}}}", "set", "\"a.b\"");
	refused("{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"ok\":{\"value\":1},\"$x\":{\"column\":\"ok\"}}}",
		"set", "\"$x\"");
	refused("{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"ok\":{\"column\":\"$y\"}}}", "column", "\"$y\"");
	refused("{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"ok\":{\"array_length\":\"p.q\"}}}", "array_length",
		"\"p.q\"");
	refused("{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"_id\":{\"value\":1}}}", "backfill", "_id");
	accepted("{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"ok\":{\"value\":1},\"n\":{\"column\":\"m\"}}}");
}

/*
 * A value written into documents (a backfill's value, an added column's
 * default) holds no key MongoDB cannot store: it was refused by the server
 * only when the step ran, after the version's earlier steps were written.
 */
TEST(value_keys)
{
	refused("{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"value\":{\"$x\":1}}}}", "set.c.value",
		"\"$x\"");
	refused("{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"value\":[1,{\"a\":{\"b.c\":1}}]}}}",
		"set.c.value", "\"b.c\"");
	refused("{\"op\":\"add_column\",\"table\":\"t\",\"column\":{\"name\":\"c\",\"type\":\"json\","
		"\"default\":{\"value\":{\"$x\":1}}}}",
		"column.default.value", "\"$x\"");
	refused("{\"op\":\"add_column\",\"table\":\"t\",\"column\":{\"name\":\"c\",\"type\":\"json\","
		"\"default\":{\"value\":{\"x.y\":1}}}}",
		"column.default.value", "\"x.y\"");
	accepted("{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"value\":{\"a$\":[{\"b\":\"$c.d\"}]}}}}");
	accepted("{\"op\":\"add_column\",\"table\":\"t\",\"column\":{\"name\":\"c\",\"type\":\"json\","
		 "\"default\":{\"value\":{\"a\":\"$b\"}}}}");
}

/* Every assertion that names fields checks them as MongoDB fields. */
TEST(assert_names)
{
	refused("{\"op\":\"assert\",\"unique\":{\"table\":\"t\",\"columns\":[\"$a\"]}}", "unique.columns", "\"$a\"");
	refused("{\"op\":\"assert\",\"unique\":{\"table\":\"t\",\"columns\":[\"ok\",\"a.b\"]}}", "unique.columns",
		"\"a.b\"");
	refused("{\"op\":\"assert\",\"exists\":{\"table\":\"t\",\"column\":\"$a\"}}", "exists.column", "\"$a\"");
	refused("{\"op\":\"assert\",\"count\":{\"table\":\"t\",\"where\":{\"a.b\":1}},\"expect\":1}", "where",
		"\"a.b\"");
	accepted("{\"op\":\"assert\",\"unique\":{\"table\":\"t\",\"columns\":[\"{a\",\"]b\"]}}");
}

/* "*" names every index to dropIndexes: an index cannot be called that. */
TEST(index_names)
{
	refused("{\"op\":\"drop_index\",\"table\":\"t\",\"name\":\"*\"}", "name", "\"*\"");
	refused("{\"op\":\"create_index\",\"table\":\"t\",\"name\":\"*\",\"keys\":[{\"column\":\"a\"}]}", "name",
		"\"*\"");
	accepted("{\"op\":\"drop_index\",\"table\":\"t\",\"name\":\"{i\"}");
}

/* A map_values chain through a value with a '.' is still a chain (the check must not read it as a path). */
TEST(map_values_dotted_chain)
{
	refused("{\"op\":\"map_values\",\"table\":\"t\",\"column\":\"s\",\"map\":{\"p\":\"a.b\",\"a.b\":\"q\"}}",
		"both an old and a new value", "\"a.b\"");
	accepted("{\"op\":\"map_values\",\"table\":\"t\",\"column\":\"s\",\"map\":{\"p\":\"a.b\"}}");
}

/* Names that BCON would read as document or array markers are ordinary names to MongoDB. */
TEST(bracket_names_accepted)
{
	const char *steps[] = {
		"{\"op\":\"add_column\",\"table\":\"t\",\"column\":{\"name\":\"{a\",\"type\":\"text\"}}",
		"{\"op\":\"rename_column\",\"table\":\"t\",\"from\":\"[b\",\"to\":\"]c\"}",
		"{\"op\":\"drop_column\",\"table\":\"t\",\"column\":\"}d\"}",
		"{\"op\":\"map_values\",\"table\":\"t\",\"column\":\"{s\",\"map\":{\"{\":\"}\"}}",
		"{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"{n\":{\"array_length\":\"[arr\"},\"]v\":{\"value\":1}}}",
		"{\"op\":\"assert\",\"exists\":{\"table\":\"t\",\"column\":\"{a\"}}",
		"{\"op\":\"create_index\",\"table\":\"t\",\"name\":\"[i\",\"keys\":[{\"column\":\"{a\"}]}",
		NULL};

	for (size_t i = 0; steps[i]; i++)
		accepted(steps[i]);
}
