/*
 * Version checksums: stable across runs and platforms, blind to cosmetic
 * edits (key order, whitespace, the way a step was built), and changed by
 * every real edit.
 */
#include "harness.h"

#include <openssl/evp.h>

static void fresh_err(migrate_error_t *err)
{
	memset(err, 0, sizeof *err);
}

static migrate_plan_t *new_plan(void)
{
	migrate_plan_t *plan = NULL;
	migrate_error_t err;

	fresh_err(&err);
	CHECK_OK(migrate_plan_new(&plan, "app", &err), &err);
	return plan;
}

static migrate_version_t *new_version(migrate_plan_t *plan, uint64_t id)
{
	migrate_version_t *v = NULL;
	migrate_error_t err;

	fresh_err(&err);
	CHECK_OK(migrate_plan_add_version(plan, id, "v", &v, &err), &err);
	return v;
}

static void sum_of(const migrate_version_t *v, char out[65])
{
	migrate_error_t err;

	fresh_err(&err);
	CHECK_OK(migrate_version_checksum(v, out, 65, &err), &err);
	CHECK_INT(strlen(out), 64);
	CHECK(strspn(out, "0123456789abcdef") == 64);
}

/* The checksum of a version holding the given JSON steps (NULL-terminated). */
static void sum_json(const char *const *steps, int transactional, char out[65])
{
	migrate_plan_t *plan = new_plan();
	migrate_version_t *v = new_version(plan, 1);
	migrate_error_t err;
	size_t i;

	fresh_err(&err);
	for (i = 0; steps[i]; i++)
		CHECK_OK(migrate_version_add_step_json(v, steps[i], NULL, &err), &err);
	CHECK_OK(migrate_version_set_transactional(v, transactional), &err);
	sum_of(v, out);
	migrate_plan_destroy(plan);
}

static void sum_one(const char *step, char out[65])
{
	const char *steps[] = {step, NULL};

	sum_json(steps, 1, out);
}

/* SHA-256 of `text` in lowercase hex, computed here, independently of the library. */
static void sha256_hex(const char *text, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;

	CHECK(EVP_Digest(text, strlen(text), md, &len, EVP_sha256(), NULL) == 1);
	CHECK_INT(len, 32);
	for (i = 0; i < len; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/*
 * Cross-platform stability vectors: the canonical serialisation written by
 * hand, its SHA-256 computed by OpenSSL here and, once, by sha256sum(1):
 *   printf '%s' '<canonical>' | sha256sum
 * A change to either is a change of every stored checksum in the field.
 */
TEST(stability_vector)
{
	const char *canon =
		"{\"transactional\":true,\"steps\":[{\"from\":\"sessions\",\"op\":\"rename_table\",\"to\":\"jobs\"}]}";
	const char *expected = "64572d47849e6226caa5d22c494c95e535cc773a1fec673bc95f8cf565611a8b";
	migrate_plan_t *plan = new_plan();
	migrate_version_t *v = new_version(plan, 1);
	migrate_error_t err;
	char lib[65], mine[65];

	fresh_err(&err);
	CHECK_OK(migrate_rename_table(v, "sessions", "jobs", NULL, &err), &err);
	sum_of(v, lib);
	sha256_hex(canon, mine);
	CHECK_STR(mine, expected);
	CHECK_STR(lib, expected);
	migrate_plan_destroy(plan);
}

TEST(stability_vector_rich)
{
	const char *canon =
		"{\"transactional\":false,\"steps\":[{\"columns\":[{\"name\":\"id\",\"nullable\":false,\"type\":\"integer\"},"
		"{\"default\":{\"value\":0},\"name\":\"n\",\"type\":\"bigint\"}],\"op\":\"create_table\",\"primary_key\":[\"id\"],"
		"\"table\":\"t\"},{\"name\":\"seed\",\"op\":\"custom\",\"revision\":\"r1\"}]}";
	const char *expected = "fffd09b09e95b944ee6e5bfd07ec4ba0e466a9b92d2eef53806207988ea1abea";
	const char *steps[] = {
		"{ \"table\": \"t\", \"primary_key\": [\"id\"], \"op\": \"create_table\",\n"
		"  \"columns\": [ {\"type\": \"integer\", \"nullable\": false, \"name\": \"id\"},\n"
		"               {\"type\": \"bigint\", \"name\": \"n\", \"default\": {\"value\": 0.0}} ] }",
		"{\"revision\": \"r1\", \"op\": \"custom\", \"name\": \"seed\"}", NULL};
	char lib[65], mine[65];

	sha256_hex(canon, mine);
	CHECK_STR(mine, expected);
	sum_json(steps, 0, lib);
	CHECK_STR(lib, expected);
}

/* The same version built twice, in two plans, gives the same checksum. */
TEST(stable_across_runs)
{
	char a[65], b[65], c[65];
	const char *step = "{\"op\":\"add_column\",\"table\":\"jobs\",\"column\":{\"name\":\"n\",\"type\":\"integer\","
			   "\"default\":{\"value\":0}}}";
	migrate_plan_t *plan = new_plan();
	migrate_version_t *v = new_version(plan, 1);
	migrate_error_t err;

	sum_one(step, a);
	sum_one(step, b);
	CHECK_STR(a, b);
	fresh_err(&err);
	CHECK_OK(migrate_version_add_step_json(v, step, NULL, &err), &err);
	sum_of(v, c);
	CHECK_STR(a, c);
	sum_of(v, c); /* computing it does not change it */
	CHECK_STR(a, c);
	/* The version id and name are not part of it (they identify, not describe). */
	{
		migrate_version_t *v9 = new_version(plan, 9);
		CHECK_OK(migrate_version_add_step_json(v9, step, NULL, &err), &err);
		sum_of(v9, c);
		CHECK_STR(a, c);
	}
	migrate_plan_destroy(plan);
}

TEST(key_order_and_whitespace_ignored)
{
	char a[65], b[65], c[65], d[65];

	sum_one("{\"op\":\"map_values\",\"table\":\"jobs\",\"column\":\"status\",\"map\":{\"pending\":\"processing\","
		"\"planning\":\"processing\"},\"where\":{\"$and\":[{\"a\":1},{\"b\":{\"$in\":[1,2]}}]}}",
		a);
	sum_one("\n\t{ \"where\" : { \"$and\" : [ { \"a\" : 1 } , { \"b\" : { \"$in\" : [ 1 , 2 ] } } ] } ,\r\n"
		"   \"map\" : { \"planning\" : \"processing\" , \"pending\" : \"processing\" },\n"
		"   \"column\" : \"status\", \"table\" : \"jobs\", \"op\" : \"map_values\" }\n",
		b);
	CHECK_STR(a, b);
	/* Array order is meaningful, object key order is not: reorder $and members differs. */
	sum_one("{\"op\":\"map_values\",\"table\":\"jobs\",\"column\":\"status\",\"map\":{\"pending\":\"processing\","
		"\"planning\":\"processing\"},\"where\":{\"$and\":[{\"b\":{\"$in\":[1,2]}},{\"a\":1}]}}",
		c);
	CHECK(strcmp(a, c) != 0);
	/* Equivalent JSON spellings of one value: escapes, 1 vs 1.0. */
	sum_one("{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"value\":\"\\u00e9/\"}},\"batch_size\":100}", c);
	sum_one("{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"value\":\"\xc3\xa9\\/\"}},\"batch_size\":100}",
		d);
	CHECK_STR(c, d);
	sum_one("{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"value\":1}}}", c);
	sum_one("{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"value\":1.0}}}", d);
	CHECK_STR(c, d);
}

/* A custom callback that does nothing. */
static int noop(migrate_target_t *t, void *native, migrate_error_t *err, void *payload)
{
	return 0;
}

/* Each typed builder makes exactly the document of its JSON form. */
TEST(builder_equals_json)
{
	migrate_plan_t *plan = new_plan();
	migrate_version_t *vb = new_version(plan, 1), *vj = new_version(plan, 2);
	migrate_column_t id = MIGRATE_COLUMN_INIT, n = MIGRATE_COLUMN_INIT, ref = MIGRATE_COLUMN_INIT;
	const char *pk[] = {"id"}, *vals[] = {"a", "b"}, *ucols[] = {"id", "n"};
	migrate_index_key_t keys[] = {{"n", 1}, {"id", 0}};
	migrate_step_t *bs[32], *js[32];
	migrate_error_t err;
	char a[65], b[65];
	size_t i, k = 0;
	static const char *const json[] = {
		"{\"op\":\"create_table\",\"table\":\"t\",\"columns\":[{\"name\":\"id\",\"type\":\"integer\",\"nullable\":false},"
		"{\"name\":\"n\",\"type\":\"bigint\",\"default\":{\"value\":0},\"unique\":true}],\"primary_key\":[\"id\"]}",
		"{\"op\":\"drop_table\",\"table\":\"old\"}",
		"{\"op\":\"rename_table\",\"from\":\"sessions\",\"to\":\"jobs\"}",
		"{\"op\":\"add_column\",\"table\":\"t\",\"column\":{\"name\":\"owner\",\"type\":{\"sql\":\"varchar(10)\"},"
		"\"references\":{\"table\":\"users\",\"column\":\"id\",\"on_delete\":\"cascade\"}}}",
		"{\"op\":\"drop_column\",\"table\":\"t\",\"column\":\"x\"}",
		"{\"op\":\"rename_column\",\"table\":\"t\",\"from\":\"a\",\"to\":\"b\"}",
		"{\"op\":\"create_index\",\"table\":\"t\",\"name\":\"t_n\",\"keys\":[{\"column\":\"n\",\"order\":\"desc\"},"
		"{\"column\":\"id\",\"order\":\"asc\"}],\"unique\":true,\"online\":true,\"where\":{\"n\":{\"$gt\":0}}}",
		"{\"op\":\"drop_index\",\"table\":\"t\",\"name\":\"t_old\"}",
		"{\"op\":\"create_enum\",\"name\":\"e\",\"values\":[\"a\",\"b\"]}",
		"{\"op\":\"drop_enum\",\"name\":\"e_old\"}",
		"{\"op\":\"map_values\",\"table\":\"t\",\"column\":\"s\",\"map\":{\"a\":\"b\",\"c\":null},\"batch_size\":50}",
		"{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"n\":{\"array_length\":\"ids\"},\"m\":{\"value\":[1,\"x\"]}},"
		"\"where\":{\"n\":null},\"batch_size\":500}",
		"{\"op\":\"sql\",\"up\":\"UPDATE t SET n = 1\",\"down\":\"UPDATE t SET n = 0\"}",
		"{\"op\":\"command\",\"up\":[{\"ping\":1},{\"ping\":2}]}",
		"{\"op\":\"assert\",\"count\":{\"table\":\"t\",\"where\":{\"n\":{\"$lt\":0}}},\"expect\":0}",
		"{\"op\":\"assert\",\"unique\":{\"table\":\"t\",\"columns\":[\"id\",\"n\"]}}",
		"{\"op\":\"assert\",\"no_match\":{\"table\":\"t\",\"where\":{\"n\":null}}}",
		"{\"op\":\"assert\",\"exists\":{\"table\":\"t\",\"index\":\"t_n\"}}",
		"{\"op\":\"assert\",\"sql\":\"SELECT count(*) FROM t\",\"expect\":3}",
		"{\"op\":\"assert\",\"command\":{\"count\":\"t\"},\"expect\":{\"n\":3}}",
		"{\"op\":\"custom\",\"name\":\"seed\",\"revision\":\"2024-01\"}",
		"{\"op\":\"drop_table\",\"table\":\"gone\",\"down\":[{\"op\":\"create_table\",\"table\":\"gone\","
		"\"columns\":[{\"name\":\"id\",\"type\":\"integer\"}]}]}",
		NULL};

	fresh_err(&err);
	id.name = "id";
	id.type = "integer";
	id.nullable = 0;
	n.name = "n";
	n.type = "bigint";
	n.default_json = "{\"value\": 0}";
	n.unique = 1;
	ref.name = "owner";
	ref.sql_type = "varchar(10)";
	ref.references_table = "users";
	ref.references_column = "id";
	ref.on_delete = "cascade";
	CHECK_OK(migrate_create_table(vb, "t", &bs[k++], &err), &err);
	CHECK_OK(migrate_create_table_add_column(bs[k - 1], &id, &err), &err);
	CHECK_OK(migrate_create_table_add_column(bs[k - 1], &n, &err), &err);
	CHECK_OK(migrate_create_table_set_primary_key(bs[k - 1], pk, 1, &err), &err);
	CHECK_OK(migrate_drop_table(vb, "old", &bs[k++], &err), &err);
	CHECK_OK(migrate_rename_table(vb, "sessions", "jobs", &bs[k++], &err), &err);
	CHECK_OK(migrate_add_column(vb, "t", &ref, &bs[k++], &err), &err);
	CHECK_OK(migrate_drop_column(vb, "t", "x", &bs[k++], &err), &err);
	CHECK_OK(migrate_rename_column(vb, "t", "a", "b", &bs[k++], &err), &err);
	CHECK_OK(migrate_create_index(vb, "t", "t_n", keys, 2, MIGRATE_INDEX_UNIQUE | MIGRATE_INDEX_ONLINE, &bs[k++],
				      &err),
		 &err);
	CHECK_OK(migrate_step_set_where(bs[k - 1], "{\"n\": {\"$gt\": 0}}", &err), &err);
	CHECK_OK(migrate_drop_index(vb, "t", "t_old", &bs[k++], &err), &err);
	CHECK_OK(migrate_create_enum(vb, "e", vals, 2, &bs[k++], &err), &err);
	CHECK_OK(migrate_drop_enum(vb, "e_old", &bs[k++], &err), &err);
	CHECK_OK(migrate_map_values(vb, "t", "s", "{\"a\": \"b\", \"c\": null}", &bs[k++], &err), &err);
	CHECK_OK(migrate_step_set_batch_size(bs[k - 1], 50, &err), &err);
	CHECK_OK(migrate_backfill(vb, "t", &bs[k++], &err), &err);
	CHECK_OK(migrate_backfill_set_expr(bs[k - 1], "n", "{\"array_length\": \"ids\"}", &err), &err);
	CHECK_OK(migrate_backfill_set_expr(bs[k - 1], "m", "{\"value\": [1, \"x\"]}", &err), &err);
	CHECK_OK(migrate_step_set_where(bs[k - 1], "{\"n\": null}", &err), &err);
	CHECK_OK(migrate_step_set_batch_size(bs[k - 1], 500, &err), &err);
	CHECK_OK(migrate_sql(vb, "UPDATE t SET n = 1", "UPDATE t SET n = 0", &bs[k++], &err), &err);
	CHECK_OK(migrate_command(vb, "[{\"ping\": 1}, {\"ping\": 2}]", NULL, &bs[k++], &err), &err);
	CHECK_OK(migrate_assert_count(vb, "t", "{\"n\": {\"$lt\": 0}}", 0, &bs[k++], &err), &err);
	CHECK_OK(migrate_assert_unique(vb, "t", ucols, 2, &bs[k++], &err), &err);
	CHECK_OK(migrate_assert_no_match(vb, "t", "{\"n\": null}", &bs[k++], &err), &err);
	CHECK_OK(migrate_assert_exists(vb, "t", NULL, "t_n", &bs[k++], &err), &err);
	CHECK_OK(migrate_assert_sql(vb, "SELECT count(*) FROM t", "3", &bs[k++], &err), &err);
	CHECK_OK(migrate_assert_command(vb, "{\"count\": \"t\"}", "{\"n\": 3}", &bs[k++], &err), &err);
	CHECK_OK(migrate_custom(vb, "seed", "2024-01", noop, NULL, NULL, &bs[k++], &err), &err);
	CHECK_OK(migrate_drop_table(vb, "gone", &bs[k++], &err), &err);
	CHECK_OK(
		migrate_step_set_down_json(
			bs[k - 1],
			"[{\"op\":\"create_table\",\"table\":\"gone\",\"columns\":[{\"name\":\"id\",\"type\":\"integer\"}]}]",
			&err),
		&err);

	for (i = 0; json[i]; i++)
		CHECK_OK(migrate_version_add_step_json(vj, json[i], &js[i], &err), &err);
	CHECK_INT(i, k);
	CHECK_INT(migrate_version_step_count(vb), migrate_version_step_count(vj));
	/* Step by step first, so that a difference names the op. */
	for (i = 0; i < k; i++) {
		char *x = migrate_step_to_json(bs[i]), *y = migrate_step_to_json(js[i]);
		CHECK_STR(migrate_step_op_name(bs[i]), migrate_step_op_name(js[i]));
		CHECK_STR(x, y);
		migrate_free(x);
		migrate_free(y);
	}
	sum_of(vb, a);
	sum_of(vj, b);
	CHECK_STR(a, b);
	migrate_plan_destroy(plan);
}

/* A custom step built with migrate_custom has the checksum of its JSON document. */
TEST(custom_builder_equals_json)
{
	migrate_plan_t *plan = new_plan();
	migrate_version_t *vb = new_version(plan, 1);
	migrate_error_t err;
	char a[65], b[65];

	fresh_err(&err);
	CHECK_OK(migrate_custom(vb, "seed", "r7", noop, noop, NULL, NULL, &err), &err);
	sum_of(vb, a);
	sum_one("{\"revision\":\"r7\",\"name\":\"seed\",\"op\":\"custom\"}", b);
	CHECK_STR(a, b);
	migrate_plan_destroy(plan);
}

/* Every real edit changes the checksum. */
TEST(real_edits_change_it)
{
	const char *base = "{\"op\":\"add_column\",\"table\":\"jobs\",\"column\":{\"name\":\"n\",\"type\":\"integer\","
			   "\"default\":{\"value\":0}}}";
	static const char *const edits[] = {
		/* a value */
		"{\"op\":\"add_column\",\"table\":\"jobs\",\"column\":{\"name\":\"n\",\"type\":\"integer\",\"default\":{\"value\":1}}}",
		/* the same value as another type */
		"{\"op\":\"add_column\",\"table\":\"jobs\",\"column\":{\"name\":\"n\",\"type\":\"integer\",\"default\":{\"value\":\"0\"}}}",
		"{\"op\":\"add_column\",\"table\":\"jobs\",\"column\":{\"name\":\"n\",\"type\":\"integer\",\"default\":{\"value\":false}}}",
		"{\"op\":\"add_column\",\"table\":\"jobs\",\"column\":{\"name\":\"n\",\"type\":\"integer\",\"default\":{\"value\":null}}}",
		"{\"op\":\"add_column\",\"table\":\"jobs\",\"column\":{\"name\":\"n\",\"type\":\"integer\",\"default\":{\"value\":0.5}}}",
		/* a type, a name, a table, a flag */
		"{\"op\":\"add_column\",\"table\":\"jobs\",\"column\":{\"name\":\"n\",\"type\":\"bigint\",\"default\":{\"value\":0}}}",
		"{\"op\":\"add_column\",\"table\":\"jobs\",\"column\":{\"name\":\"N\",\"type\":\"integer\",\"default\":{\"value\":0}}}",
		"{\"op\":\"add_column\",\"table\":\"job\",\"column\":{\"name\":\"n\",\"type\":\"integer\",\"default\":{\"value\":0}}}",
		"{\"op\":\"add_column\",\"table\":\"jobs\",\"column\":{\"name\":\"n\",\"type\":\"integer\",\"default\":{\"value\":0},"
		"\"nullable\":false}}",
		/* no default at all */
		"{\"op\":\"add_column\",\"table\":\"jobs\",\"column\":{\"name\":\"n\",\"type\":\"integer\"}}",
		/* an explicit down */
		"{\"op\":\"add_column\",\"table\":\"jobs\",\"column\":{\"name\":\"n\",\"type\":\"integer\",\"default\":{\"value\":0}},"
		"\"down\":[]}",
		NULL};
	char a[65], b[65], c[65];
	size_t i, j;
	char sums[16][65];

	sum_one(base, a);
	for (i = 0; edits[i]; i++) {
		sum_one(edits[i], sums[i]);
		if (!strcmp(sums[i], a))
			harness_fail(__FILE__, __LINE__, "edit not seen by the checksum: %s", edits[i]);
		for (j = 0; j < i; j++)
			if (!strcmp(sums[i], sums[j]))
				harness_fail(__FILE__, __LINE__, "two edits share a checksum: %s and %s", edits[i],
					     edits[j]);
	}

	/* The op. */
	sum_one("{\"op\":\"rename_table\",\"from\":\"a\",\"to\":\"b\"}", b);
	sum_one("{\"op\":\"rename_column\",\"table\":\"t\",\"from\":\"a\",\"to\":\"b\"}", c);
	CHECK(strcmp(b, c) != 0);

	/* The transactional flag. */
	{
		const char *steps[] = {base, NULL};
		sum_json(steps, 0, b);
		CHECK(strcmp(a, b) != 0);
		sum_json(steps, 1, c);
		CHECK_STR(a, c);
	}

	/* Step order and step count. */
	{
		const char *s1 = "{\"op\":\"drop_table\",\"table\":\"x\"}",
			   *s2 = "{\"op\":\"drop_table\",\"table\":\"y\"}";
		const char *ab[] = {s1, s2, NULL}, *ba[] = {s2, s1, NULL}, *aa[] = {s1, s1, NULL}, *one[] = {s1, NULL};
		sum_json(ab, 1, b);
		sum_json(ba, 1, c);
		CHECK(strcmp(b, c) != 0);
		sum_json(aa, 1, b);
		sum_json(one, 1, c);
		CHECK(strcmp(b, c) != 0);
	}
}

/* The checksum of a version of these steps as they stand now, built anew from their JSON. */
static void sum_anew(migrate_step_t *const *steps, size_t n, int transactional, char out[65])
{
	migrate_plan_t *plan = new_plan();
	migrate_version_t *copy = new_version(plan, 1);
	migrate_error_t err;
	size_t i;

	fresh_err(&err);
	for (i = 0; i < n; i++) {
		char *json = migrate_step_to_json(steps[i]);
		CHECK(json != NULL);
		CHECK_OK(migrate_version_add_step_json(copy, json, NULL, &err), &err);
		migrate_free(json);
	}
	CHECK_OK(migrate_version_set_transactional(copy, transactional), &err);
	sum_of(copy, out);
	migrate_plan_destroy(plan);
}

/*
 * A version keeps its checksum once computed (a plan checked at every
 * start-up hashes once); every edit after that must still be seen: of the
 * version, and of a step through its own setters.
 */
TEST(edits_after_a_checksum_change_it)
{
	migrate_plan_t *plan = new_plan();
	migrate_version_t *v = new_version(plan, 1);
	migrate_step_t *steps[2] = {NULL, NULL}, *step;
	migrate_error_t err;
	char before[65], after[65], anew[65];
	int transactional = 1;
	size_t n = 1;

	fresh_err(&err);
	CHECK_OK(migrate_backfill(v, "jobs", &steps[0], &err), &err);
	step = steps[0];
	CHECK_OK(migrate_backfill_set_expr(step, "n", "{\"value\": 0}", &err), &err);
#define EDIT(call)                                       \
	do {                                             \
		sum_of(v, before);                       \
		CHECK_OK(call, &err);                    \
		sum_of(v, after);                        \
		CHECK(strcmp(before, after) != 0);       \
		sum_anew(steps, n, transactional, anew); \
		CHECK_STR(after, anew);                  \
	} while (0)
	EDIT(migrate_backfill_set_expr(step, "m", "{\"value\": 1}", &err));
	EDIT(migrate_step_set_where(step, "{\"n\": {\"$eq\": 0}}", &err));
	EDIT(migrate_step_set_batch_size(step, 500, &err));
	EDIT(migrate_step_set_down_json(step, "[]", &err));
	n = 2;
	EDIT(migrate_version_add_step_json(v, "{\"op\":\"drop_table\",\"table\":\"x\"}", &steps[1], &err));
	transactional = 0;
	EDIT(migrate_version_set_transactional(v, 0));
#undef EDIT
	/* The version's own down is in the checksum too (not in sum_anew's copy). */
	sum_of(v, before);
	CHECK_OK(migrate_version_set_down_json(v, "[{\"op\":\"drop_table\",\"table\":\"y\"}]", &err), &err);
	sum_of(v, after);
	CHECK(strcmp(before, after) != 0);
	migrate_plan_destroy(plan);
}

TEST(custom_revision_changes_it)
{
	migrate_plan_t *plan = new_plan();
	migrate_version_t *v1 = new_version(plan, 1), *v2 = new_version(plan, 2), *v3 = new_version(plan, 3);
	migrate_error_t err;
	char a[65], b[65], c[65];

	fresh_err(&err);
	CHECK_OK(migrate_custom(v1, "seed", "r1", noop, NULL, NULL, NULL, &err), &err);
	CHECK_OK(migrate_custom(v2, "seed", "r2", noop, NULL, NULL, NULL, &err), &err);
	/* The callbacks themselves are not part of it: only name and revision are. */
	CHECK_OK(migrate_custom(v3, "seed", "r1", noop, noop, &err, NULL, &err), &err);
	sum_of(v1, a);
	sum_of(v2, b);
	sum_of(v3, c);
	CHECK(strcmp(a, b) != 0);
	CHECK_STR(a, c);
	migrate_plan_destroy(plan);
}

TEST(empty_version_and_bad_arguments)
{
	migrate_plan_t *plan = new_plan();
	migrate_version_t *v = new_version(plan, 1);
	migrate_error_t err;
	char out[65], small[64], mine[65];

	fresh_err(&err);
	sum_of(v, out);
	sha256_hex("{\"transactional\":true,\"steps\":[]}", mine);
	CHECK_STR(out, mine);
	CHECK_INT(migrate_version_checksum(v, small, sizeof small, &err), MIGRATE_EINVAL);
	CHECK_INT(migrate_version_checksum(NULL, out, sizeof out, &err), MIGRATE_EINVAL);
	CHECK_INT(migrate_version_checksum(v, NULL, 65, NULL), MIGRATE_EINVAL);
	migrate_plan_destroy(plan);
}

/* Writing a field's default value, or leaving it out, is a cosmetic choice. */
TEST(restated_defaults_ignored)
{
	char a[65], b[65];

	sum_one("{\"op\":\"create_index\",\"table\":\"t\",\"name\":\"i\",\"keys\":[{\"column\":\"a\"}]}", a);
	sum_one("{\"op\":\"create_index\",\"table\":\"t\",\"name\":\"i\",\"keys\":[{\"column\":\"a\",\"order\":\"asc\"}],"
		"\"unique\":false,\"online\":false}",
		b);
	CHECK_STR(a, b);
	sum_one("{\"op\":\"create_index\",\"table\":\"t\",\"name\":\"i\",\"keys\":[{\"column\":\"a\",\"order\":\"desc\"}]}",
		b);
	CHECK(strcmp(a, b) != 0);
	sum_one("{\"op\":\"create_index\",\"table\":\"t\",\"name\":\"i\",\"keys\":[{\"column\":\"a\"}],\"unique\":true}",
		b);
	CHECK(strcmp(a, b) != 0);

	sum_one("{\"op\":\"create_table\",\"table\":\"t\",\"columns\":[{\"name\":\"a\",\"type\":\"text\"}]}", a);
	sum_one("{\"op\":\"create_table\",\"table\":\"t\",\"columns\":[{\"name\":\"a\",\"type\":\"text\",\"nullable\":true,"
		"\"unique\":false}]}",
		b);
	CHECK_STR(a, b);
	sum_one("{\"op\":\"create_table\",\"table\":\"t\",\"columns\":[{\"name\":\"a\",\"type\":\"text\",\"nullable\":false}]}",
		b);
	CHECK(strcmp(a, b) != 0);

	sum_one("{\"op\":\"add_column\",\"table\":\"t\",\"column\":{\"name\":\"a\",\"type\":\"text\"},"
		"\"down\":[{\"op\":\"create_index\",\"table\":\"t\",\"name\":\"i\",\"keys\":[{\"column\":\"a\"}]}]}",
		a);
	sum_one("{\"op\":\"add_column\",\"table\":\"t\",\"column\":{\"name\":\"a\",\"type\":\"text\",\"nullable\":true},"
		"\"down\":[{\"op\":\"create_index\",\"table\":\"t\",\"name\":\"i\",\"keys\":[{\"column\":\"a\",\"order\":\"asc\"}]}]}",
		b);
	CHECK_STR(a, b);
	/* a default inside user data is data: a map's values are kept */
	sum_one("{\"op\":\"map_values\",\"table\":\"t\",\"column\":\"c\",\"map\":{\"x\":false}}", a);
	sum_one("{\"op\":\"map_values\",\"table\":\"t\",\"column\":\"c\",\"map\":{\"x\":true}}", b);
	CHECK(strcmp(a, b) != 0);
}

/* A command's documents, and literal values, are read in order: their key order counts. */
TEST(ordered_documents_keep_their_key_order)
{
	char a[65], b[65];

	sum_one("{\"op\":\"command\",\"up\":{\"createIndexes\":\"c\",\"indexes\":[{\"key\":{\"a\":1,\"b\":1},\"name\":\"i\"}]}}",
		a);
	sum_one("{\"op\":\"command\",\"up\":{\"createIndexes\":\"c\",\"indexes\":[{\"key\":{\"b\":1,\"a\":1},\"name\":\"i\"}]}}",
		b);
	CHECK(strcmp(a, b) != 0);
	sum_one("{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"value\":{\"x\":1,\"y\":2}}}}", a);
	sum_one("{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"value\":{\"y\":2,\"x\":1}}}}", b);
	CHECK(strcmp(a, b) != 0);
	/* the catalog's own objects still ignore key order */
	sum_one("{\"op\":\"backfill\",\"set\":{\"c\":{\"value\":{\"x\":1,\"y\":2}}},\"table\":\"t\"}", b);
	CHECK_STR(a, b);
}

/* A raw step's declaration says what it made and runs nothing: an applied version may gain one. */
TEST(declarations_ignored)
{
	migrate_plan_t *plan = new_plan();
	migrate_version_t *v = new_version(plan, 1);
	migrate_step_t *s = NULL;
	migrate_error_t err;
	char a[65], b[65], c[65];

	fresh_err(&err);
	CHECK_OK(migrate_version_add_step_json(v, "{\"op\":\"sql\",\"up\":\"CREATE TABLE t (a text)\"}", &s, &err),
		 &err);
	sum_of(v, a);
	CHECK_OK(migrate_step_set_declares_json(
			 s,
			 "[{\"op\":\"create_table\",\"table\":\"t\",\"columns\":[{\"name\":\"a\",\"type\":\"text\"}]}]",
			 &err),
		 &err);
	sum_of(v, b);
	CHECK_STR(a, b);
	/* What runs still counts. */
	sum_one("{\"op\":\"sql\",\"up\":\"CREATE TABLE t (a integer)\",\"declares\":[]}", c);
	CHECK(strcmp(a, c) != 0);
	/* Only raw steps declare; a bad declaration is refused and leaves the step as it was. */
	CHECK_INT(migrate_step_set_declares_json(s, "[{\"op\":\"backfill\",\"table\":\"t\",\"set\":{}}]", &err),
		  MIGRATE_EPLAN);
	CHECK(strstr(err.message, "declares[0]") != NULL);
	{
		char *json = migrate_step_to_json(s);
		CHECK(json && strstr(json, "create_table") != NULL);
		migrate_free(json);
	}
	CHECK_INT(migrate_step_set_declares_json(s, NULL, &err), MIGRATE_EINVAL);
	/* Malformed JSON names the step too. */
	CHECK_INT(migrate_step_set_declares_json(s, "{", &err), MIGRATE_EJSON);
	CHECK(strstr(err.message, "version 1") != NULL && strstr(err.message, "declares") != NULL);
	migrate_plan_destroy(plan);
}

/*
 * An object of more members than the writer sorts on its stack (64): its
 * keys are sorted all the same, in any order written, to the canonical text
 * written here by hand (a map of 100 values, given in two orders).
 */
TEST(large_objects_sorted)
{
	char step[4096], canon[4096], lib[65], mine[65];
	size_t n, c;
	int order, i;

	c = (size_t)snprintf(canon, sizeof canon, "{\"transactional\":true,\"steps\":[{\"column\":\"c\",\"map\":{");
	for (i = 0; i < 100; i++)
		c += (size_t)snprintf(canon + c, sizeof canon - c, "%s\"k%02d\":%d", i ? "," : "", i, i);
	snprintf(canon + c, sizeof canon - c, "},\"op\":\"map_values\",\"table\":\"t\"}]}");
	sha256_hex(canon, mine);
	CHECK_STR(mine, "d35dd1a34666c3454da1ec8a995a118b8c01abcfbc4adcda5b941f8927016d22");
	for (order = 0; order < 3; order++) {
		n = (size_t)snprintf(step, sizeof step,
				     "{\"op\":\"map_values\",\"table\":\"t\",\"column\":\"c\",\"map\":{");
		for (i = 0; i < 100; i++) {
			int k = order == 0 ? 99 - i : order == 1 ? (i * 37) % 100 : i;
			n += (size_t)snprintf(step + n, sizeof step - n, "%s\"k%02d\":%d", i ? "," : "", k, k);
		}
		snprintf(step + n, sizeof step - n, "}}");
		sum_one(step, lib);
		CHECK_STR(lib, mine);
	}
}
