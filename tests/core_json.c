/*
 * JSON steps: migrate_version_add_step_json() and migrate_step_to_json()
 * round trip through one canonical form (sorted keys, no whitespace), keep
 * numbers, Unicode and escapes exact, and refuse anything that is not
 * exactly one JSON object, including text crafted to break out of the
 * library's internal {"v": ...} wrapper.
 */
#include "harness.h"

static void fresh_err(migrate_error_t *err)
{
	memset(err, 0, sizeof *err);
}

static migrate_plan_t *plan_with_version(migrate_version_t **v)
{
	migrate_plan_t *plan = NULL;
	migrate_error_t err;

	fresh_err(&err);
	CHECK_OK(migrate_plan_new(&plan, "app", &err), &err);
	CHECK_OK(migrate_plan_add_version(plan, 1, "one", v, &err), &err);
	return plan;
}

/* Adds `json` as a step and checks its canonical form is `canon` (and is a fixed point). */
static void check_canonical(const char *json, const char *canon)
{
	migrate_version_t *v = NULL;
	migrate_plan_t *plan = plan_with_version(&v);
	migrate_step_t *s = NULL, *again = NULL;
	migrate_error_t err;
	char *out, *out2;

	fresh_err(&err);
	CHECK_OK(migrate_version_add_step_json(v, json, &s, &err), &err);
	CHECK(s != NULL);
	out = migrate_step_to_json(s);
	if (!out || strcmp(out, canon) != 0)
		harness_fail(__FILE__, __LINE__, "canonical form of %s\n  is %s\n  expected %s", json,
			     out ? out : "(null)", canon);
	CHECK_OK(migrate_version_add_step_json(v, out, &again, &err), &err);
	out2 = migrate_step_to_json(again);
	CHECK_STR(out2, canon);
	migrate_free(out);
	migrate_free(out2);
	migrate_plan_destroy(plan);
}

/* The canonical form of a backfill setting c to the JSON value `value`. */
static void check_value(const char *value, const char *canon_value)
{
	char json[2048], canon[2048];

	snprintf(json, sizeof json, "{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"value\":%s}}}", value);
	snprintf(canon, sizeof canon, "{\"op\":\"backfill\",\"set\":{\"c\":{\"value\":%s}},\"table\":\"t\"}",
		 canon_value);
	check_canonical(json, canon);
}

TEST(round_trip)
{
	check_canonical("  {\n  \"op\" : \"rename_table\" ,\n\t\"to\": \"jobs\", \"from\":\"sessions\"}\n",
			"{\"from\":\"sessions\",\"op\":\"rename_table\",\"to\":\"jobs\"}");
	check_canonical(
		"{\"table\":\"t\",\"op\":\"create_table\",\"primary_key\":[\"id\"],\"columns\":[{\"type\":\"integer\","
		"\"name\":\"id\",\"nullable\":false},{\"unique\":true,\"name\":\"e\",\"type\":\"enum:state\","
		"\"references\":{\"on_delete\":\"set null\",\"table\":\"u\",\"column\":\"id\"}}]}",
		"{\"columns\":[{\"name\":\"id\",\"nullable\":false,\"type\":\"integer\"},{\"name\":\"e\",\"references\":"
		"{\"column\":\"id\",\"on_delete\":\"set null\",\"table\":\"u\"},\"type\":\"enum:state\",\"unique\":true}],"
		"\"op\":\"create_table\",\"primary_key\":[\"id\"],\"table\":\"t\"}");
	/* Array order is kept; object keys are sorted at every depth. */
	check_canonical("{\"op\":\"create_enum\",\"name\":\"s\",\"values\":[\"z\",\"a\",\"m\"]}",
			"{\"name\":\"s\",\"op\":\"create_enum\",\"values\":[\"z\",\"a\",\"m\"]}");
	check_canonical("{\"op\":\"assert\",\"no_match\":{\"where\":{\"$or\":[{\"b\":1},{\"a\":{\"$in\":[3,1,2]}}]},"
			"\"table\":\"t\"}}",
			"{\"no_match\":{\"table\":\"t\",\"where\":{\"$or\":[{\"b\":1},{\"a\":{\"$in\":[3,1,2]}}]}},"
			"\"op\":\"assert\"}");
}

TEST(op_name_and_null_arguments)
{
	migrate_version_t *v = NULL;
	migrate_plan_t *plan = plan_with_version(&v);
	migrate_step_t *s = NULL;
	migrate_error_t err;

	fresh_err(&err);
	CHECK_OK(migrate_version_add_step_json(v, "{\"op\":\"drop_enum\",\"name\":\"e\"}", &s, &err), &err);
	CHECK_STR(migrate_step_op_name(s), "drop_enum");
	CHECK(migrate_step_to_json(NULL) == NULL);
	CHECK(migrate_step_op_name(NULL) == NULL);
	CHECK_INT(migrate_version_add_step_json(v, NULL, NULL, &err), MIGRATE_EINVAL);
	CHECK_INT(migrate_version_add_step_json(NULL, "{\"op\":\"drop_enum\",\"name\":\"e\"}", NULL, &err),
		  MIGRATE_EINVAL);
	CHECK_INT(migrate_version_step_count(v), 1);
	migrate_plan_destroy(plan);
}

TEST(numbers)
{
	check_value("42", "42");
	check_value("-7", "-7");
	check_value("-0", "0");
	check_value("2147483647", "2147483647");
	check_value("2147483648", "2147483648");
	check_value("-2147483649", "-2147483649");
	/* int64 beyond a double's 53 bits stays exact. */
	check_value("9007199254740993", "9007199254740993");
	check_value("9223372036854775807", "9223372036854775807");
	check_value("-9223372036854775808", "-9223372036854775808");
	/* Integral doubles are written as integers, so 1.0 and 1 are one value. */
	check_value("1.0", "1");
	check_value("1e2", "100");
	check_value("1E2", "100");
	check_value("-0.0", "0");
	check_value("1.5", "1.5");
	check_value("-2.25e-3", "-0.0022499999999999998");
	check_value("0.1", "0.10000000000000001");
	check_value("1e300", "1.0000000000000001e+300");
	check_value("[1, 1.0, 1.25, -3]", "[1,1,1.25,-3]");
	/* A number is not a string. */
	check_value("\"1\"", "\"1\"");
}

TEST(unicode)
{
	/* Raw UTF-8 and \u escapes are the same text, written raw. */
	check_value("\"caf\xc3\xa9\"", "\"caf\xc3\xa9\"");
	check_value("\"caf\\u00e9\"", "\"caf\xc3\xa9\"");
	check_value("\"\\u65e5\\u672c\"", "\"\xe6\x97\xa5\xe6\x9c\xac\"");
	/* A surrogate pair is one code point of four bytes. */
	check_value("\"\\ud83d\\ude00\"", "\"\xf0\x9f\x98\x80\"");
	check_value("\"\xf0\x9f\x98\x80\"", "\"\xf0\x9f\x98\x80\"");
	/* Unicode identifiers are identifiers. */
	check_canonical("{\"op\":\"drop_table\",\"table\":\"\\u00e9t\\u00e9\"}",
			"{\"op\":\"drop_table\",\"table\":\"\xc3\xa9t\xc3\xa9\"}");
}

TEST(escapes)
{
	check_value("\"a\\\"b\\\\c\\nd\\te\\rf\\bg\\fh\\/i\\u001fj\\u007fk\"",
		    "\"a\\\"b\\\\c\\nd\\te\\rf\\u0008g\\u000ch/i\\u001fj\\u007fk\"");
	/* NUL ends C strings and SQL text: no string of a step may hold one, not even a value. */
	{
		migrate_version_t *v = NULL;
		migrate_plan_t *plan = plan_with_version(&v);
		migrate_error_t err;
		fresh_err(&err);
		CHECK_INT(migrate_version_add_step_json(
				  v, "{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"value\":\"a\\u0000b\"}}}",
				  NULL, &err),
			  MIGRATE_EPLAN);
		CHECK_HAS(err.message, "set.c.value: contains a NUL character");
		CHECK_INT(
			migrate_version_add_step_json(
				v,
				"{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"value\":[\"ok\",\"\\u0000\"]}}}",
				NULL, &err),
			MIGRATE_EPLAN);
		CHECK_HAS(err.message, "set.c.value.1: contains a NUL character");
		CHECK_INT(migrate_version_step_count(v), 0);
		migrate_plan_destroy(plan);
	}
	/* Escaped keys are keys like any other. */
	check_canonical(
		"{\"op\":\"map_values\",\"table\":\"t\",\"column\":\"c\",\"map\":{\"\\u0061\":\"b\",\"\\\"q\\\"\":1}}",
		"{\"column\":\"c\",\"map\":{\"\\\"q\\\"\":1,\"a\":\"b\"},\"op\":\"map_values\",\"table\":\"t\"}");
}

TEST(nested_default_values)
{
	check_canonical(
		"{\"op\":\"add_column\",\"table\":\"t\",\"column\":{\"name\":\"meta\",\"type\":\"json\","
		"\"default\":{\"value\":{\"b\":[1,{\"y\":2,\"x\":[true,false,null]}],\"a\":null,\"c\":{}}}}}",
		/* a literal value reaches the database as written: its key order is kept */
		"{\"column\":{\"default\":{\"value\":{\"b\":[1,{\"y\":2,\"x\":[true,false,null]}],\"a\":null,\"c\":{}}},"
		"\"name\":\"meta\",\"type\":\"json\"},\"op\":\"add_column\",\"table\":\"t\"}");
	check_canonical(
		"{\"op\":\"add_column\",\"table\":\"t\",\"column\":{\"name\":\"ids\",\"type\":\"json\","
		"\"default\":{\"value\":[]}}}",
		"{\"column\":{\"default\":{\"value\":[]},\"name\":\"ids\",\"type\":\"json\"},\"op\":\"add_column\","
		"\"table\":\"t\"}");
	check_value("[[[], {}], [[\"deep\"]]]", "[[[],{}],[[\"deep\"]]]");
}

TEST(large_value)
{
	size_t n = 1 << 20;
	char *json = malloc(n + 200), *canon = malloc(n + 200);
	int k;

	CHECK(json && canon);
	k = snprintf(json, 200, "{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"value\":\"");
	memset(json + k, 'x', n);
	strcpy(json + k + n, "\"}}}");
	k = snprintf(canon, 200, "{\"op\":\"backfill\",\"set\":{\"c\":{\"value\":\"");
	memset(canon + k, 'x', n);
	strcpy(canon + k + n, "\"}},\"table\":\"t\"}");
	check_canonical(json, canon);
	free(json);
	free(canon);
}

/* `call` must fail with MIGRATE_EJSON, leaving the version and the step as they were. */
#define CHECK_EJSON(call)                                                                                           \
	do {                                                                                                        \
		int rc_ = (call);                                                                                   \
		if (rc_ != MIGRATE_EJSON)                                                                           \
			harness_fail(__FILE__, __LINE__, "%s returned %d (%s), expected MIGRATE_EJSON", #call, rc_, \
				     err.message);                                                                  \
		CHECK_INT(err.code, MIGRATE_EJSON);                                                                 \
	} while (0)

TEST(malformed_step_json)
{
	static const char *const bad[] = {
		/* trailing garbage */
		"{\"op\":\"drop_table\",\"table\":\"t\"} junk", "{\"op\":\"drop_table\",\"table\":\"t\"}}",
		"{\"op\":\"drop_table\",\"table\":\"t\"}]",
		/* a second document after the first */
		"{\"op\":\"drop_table\",\"table\":\"t\"} {\"op\":\"drop_table\",\"table\":\"u\"}",
		/* breaking out of the {"v": ...} wrapper */
		"{\"op\":\"drop_table\",\"table\":\"t\"}, \"w\": 2", "1, \"w\": 2",
		"{\"op\":\"drop_table\",\"table\":\"t\"}}{", "{\"op\":\"drop_table\",\"table\":\"t\"}} {\"x\":1",
		"{\"op\":\"drop_table\",\"table\":\"t\"}, \"v\": {\"op\":\"drop_table\",\"table\":\"u\"}",
		/* not an object */
		"[{\"op\":\"drop_table\",\"table\":\"t\"}]", "\"op\"", "42", "true", "null", "", " \n ",
		/* not JSON */
		"{\"op\":\"drop_table\",\"table\":\"t\",}", "{'op':'drop_table'}",
		"{\"op\":\"drop_table\" \"table\":\"t\"}", "{\"op\":\"drop_table\",\"table\":\"t\" /* c */}",
		"{\"op\":\"drop_table\",\"table\":\"t\"",
		"{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"value\":NaN}}}",
		"{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"value\":Infinity}}}",
		"{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"value\":99999999999999999999}}}",
		"{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"value\":9223372036854775808}}}",
		"{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"value\":1e999}}}",
		/* duplicate keys, at the top and deep down */
		"{\"op\":\"drop_table\",\"table\":\"t\",\"op\":\"drop_enum\"}",
		"{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"value\":[{\"a\":1,\"a\":2}]}}}", NULL};
	migrate_version_t *v = NULL;
	migrate_plan_t *plan = plan_with_version(&v);
	migrate_error_t err;
	size_t i;

	for (i = 0; bad[i]; i++) {
		migrate_step_t *s = (migrate_step_t *)&i;
		int rc;
		fresh_err(&err);
		rc = migrate_version_add_step_json(v, bad[i], &s, &err);
		if (rc != MIGRATE_EJSON)
			harness_fail(__FILE__, __LINE__, "%s: returned %d (%s), expected MIGRATE_EJSON", bad[i], rc,
				     err.message);
		CHECK_HAS(err.message, "version 1, step 1");
		CHECK(s == NULL);
	}
	CHECK_INT(migrate_version_step_count(v), 0);
	migrate_plan_destroy(plan);
}

/* Duplicate keys in large objects (sorted, not compared in pairs) and
 * large arrays (whose keys are indexes) are told apart. */
TEST(duplicate_keys_in_large_objects)
{
	char json[16384];
	migrate_version_t *v = NULL;
	migrate_plan_t *plan = plan_with_version(&v);
	migrate_error_t err;
	size_t len;
	int i, dup;

	for (dup = 0; dup < 2; dup++) {
		/* a backfill of 200 columns; with dup, "k150" twice */
		len = (size_t)snprintf(json, sizeof json, "{\"op\":\"backfill\",\"table\":\"t\",\"set\":{");
		for (i = 0; i < 200; i++)
			len += (size_t)snprintf(json + len, sizeof json - len, "%s\"k%d\":{\"value\":1}", i ? "," : "",
						dup && i == 199 ? 150 : i);
		snprintf(json + len, sizeof json - len, "}}");
		fresh_err(&err);
		if (dup) {
			CHECK_INT(migrate_version_add_step_json(v, json, NULL, &err), MIGRATE_EJSON);
			CHECK_HAS(err.message, "duplicate key \"k150\"");
		} else {
			CHECK_OK(migrate_version_add_step_json(v, json, NULL, &err), &err);
		}
	}
	/* an array of 500 equal objects is no duplicate */
	len = (size_t)snprintf(json, sizeof json, "{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"value\":[");
	for (i = 0; i < 500; i++)
		len += (size_t)snprintf(json + len, sizeof json - len, "%s{\"a\":1}", i ? "," : "");
	snprintf(json + len, sizeof json - len, "]}}}");
	fresh_err(&err);
	CHECK_OK(migrate_version_add_step_json(v, json, NULL, &err), &err);
	migrate_plan_destroy(plan);
}

/* JSON arguments of the typed builders: the same rules, the step left as it was. */
TEST(malformed_builder_json)
{
	migrate_version_t *v = NULL;
	migrate_plan_t *plan = plan_with_version(&v);
	migrate_column_t col = MIGRATE_COLUMN_INIT;
	migrate_step_t *bf = NULL, *mv = NULL;
	migrate_error_t err;
	char *before_bf, *before_mv, *after;

	fresh_err(&err);
	CHECK_OK(migrate_backfill(v, "t", &bf, &err), &err);
	CHECK_OK(migrate_backfill_set_expr(bf, "c", "{\"value\": 1}", &err), &err);
	CHECK_OK(migrate_map_values(v, "t", "c", "{\"a\": \"b\"}", &mv, &err), &err);
	before_bf = migrate_step_to_json(bf);
	before_mv = migrate_step_to_json(mv);

	CHECK_EJSON(migrate_backfill_set_expr(bf, "c", "{\"value\": 2} junk", &err));
	CHECK_EJSON(migrate_backfill_set_expr(bf, "c", "{\"value\": 2}}{", &err));
	CHECK_EJSON(migrate_backfill_set_expr(bf, "c", "{\"value\": 2}, \"d\": {\"value\": 3}", &err));
	CHECK_EJSON(migrate_backfill_set_expr(bf, "c", "[{\"value\": 2}]", &err));
	CHECK_EJSON(migrate_step_set_where(bf, "{\"a\": 1}, \"w\": 2", &err));
	CHECK_EJSON(migrate_step_set_where(bf, "[{\"a\": 1}]", &err));
	CHECK_EJSON(migrate_step_set_where(bf, "{\"a\": 1, \"a\": 2}", &err));
	CHECK_EJSON(migrate_step_set_where(mv, "{\"a\": 1}} {", &err));
	CHECK_EJSON(migrate_step_set_down_json(bf, "[] []", &err));
	CHECK_EJSON(migrate_step_set_down_json(bf, "{\"op\": \"drop_table\", \"table\": \"t\"}", &err));
	after = migrate_step_to_json(bf);
	CHECK_STR(after, before_bf);
	migrate_free(after);
	after = migrate_step_to_json(mv);
	CHECK_STR(after, before_mv);
	migrate_free(after);

	CHECK_EJSON(migrate_map_values(v, "t", "c", "{\"a\": \"b\"}, \"w\": 1", NULL, &err));
	CHECK_EJSON(migrate_map_values(v, "t", "c", "[\"a\"]", NULL, &err));
	CHECK_EJSON(migrate_command(v, "{\"ping\": 1} x", NULL, NULL, &err));
	CHECK_EJSON(migrate_command(v, "[{\"ping\": 1}] [{\"ping\": 2}]", NULL, NULL, &err));
	CHECK_EJSON(migrate_command(v, "{\"ping\": 1}", "{\"ping\": 2}}{", NULL, &err));
	CHECK_EJSON(migrate_assert_count(v, "t", "{\"a\": 1} junk", 0, NULL, &err));
	CHECK_EJSON(migrate_assert_command(v, "{\"count\": \"t\"}", "{\"n\": 1}, \"m\": 2", NULL, &err));
	/* Scalars go through a second wrapper: neither may be escaped. */
	CHECK_EJSON(migrate_assert_sql(v, "SELECT 1", "1, \"w\": 2", NULL, &err));
	CHECK_EJSON(migrate_assert_sql(v, "SELECT 1", "1}, \"v\": {\"v\": 2", NULL, &err));
	CHECK_EJSON(migrate_assert_sql(v, "SELECT 1", "1} {", NULL, &err));
	CHECK_EJSON(migrate_assert_sql(v, "SELECT 1", "", NULL, &err));
	col.name = "n";
	col.type = "integer";
	col.default_json = "{\"value\": 1}, \"x\": 2";
	CHECK_EJSON(migrate_add_column(v, "t", &col, NULL, &err));
	col.default_json = "{\"value\": 1}} {";
	CHECK_EJSON(migrate_add_column(v, "t", &col, NULL, &err));
	col.default_json = "{\"value\": 1}, \"v\": {\"value\": 2}";
	CHECK_EJSON(migrate_add_column(v, "t", &col, NULL, &err));
	CHECK_INT(migrate_version_step_count(v), 2);

	/* The same builders with good JSON still work. */
	CHECK_OK(migrate_assert_sql(v, "SELECT 1", " 1 ", NULL, &err), &err);
	col.default_json = "\"now\"";
	CHECK_OK(migrate_add_column(v, "t", &col, NULL, &err), &err);
	CHECK_INT(migrate_version_step_count(v), 4);
	migrate_free(before_bf);
	migrate_free(before_mv);
	migrate_plan_destroy(plan);
}

/* Hostile nesting is refused (or parsed) without exhausting the stack. */
TEST(deep_nesting)
{
	size_t depth = 100000, i;
	char *json = malloc(2 * depth + 200);
	migrate_version_t *v = NULL;
	migrate_plan_t *plan = plan_with_version(&v);
	migrate_error_t err;
	char *p;
	int rc;

	CHECK(json != NULL);
	p = json + sprintf(json, "{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"value\":");
	for (i = 0; i < depth; i++)
		*p++ = '[';
	for (i = 0; i < depth; i++)
		*p++ = ']';
	strcpy(p, "}}}");
	fresh_err(&err);
	rc = migrate_version_add_step_json(v, json, NULL, &err);
	CHECK_INT(rc, MIGRATE_EJSON);
	CHECK_INT(migrate_version_step_count(v), 0);
	free(json);

	/* Reasonable depth is fine. */
	check_value("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
		    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
	migrate_plan_destroy(plan);
}

/* Loads `json` as a plan file; it must fail with `code` and a message holding `has`. */
static void check_plan_refused(const char *json, int code, const char *has)
{
	migrate_plan_t *plan = NULL;
	migrate_error_t err;
	int rc;

	fresh_err(&err);
	rc = migrate_plan_load_json(&plan, json, &err);
	if (rc != code || !strstr(err.message, has))
		harness_fail(__FILE__, __LINE__, "%s: returned %d (%s), expected %d and \"%s\"", json, rc, err.message,
			     code, has);
	CHECK(plan == NULL);
}

/* A NUL would cut a C string short: plan "a\u0000b" would share plan "a"'s history and lock. */
TEST(plan_file_strings_hold_no_nul)
{
	check_plan_refused("{\"plan\":\"a\\u0000b\",\"versions\":[]}", MIGRATE_EPLAN, "plan: contains a NUL character");
	check_plan_refused("{\"plan\":\"a\",\"description\":\"x\\u0000\",\"versions\":[]}", MIGRATE_EPLAN,
			   "description: contains a NUL character");
	check_plan_refused("{\"plan\":\"a\",\"versions\":[{\"id\":1,\"steps\":[]},{\"id\":2,\"steps\":[]},"
			   "{\"id\":3,\"name\":\"v\\u0000\",\"steps\":[]}]}",
			   MIGRATE_EPLAN, "versions[2].name: contains a NUL character");
	check_plan_refused("{\"plan\":\"a\",\"versions\":[{\"id\":1,\"description\":\"\\u0000\",\"steps\":[]}]}",
			   MIGRATE_EPLAN, "versions[0].description: contains a NUL character");
	check_plan_refused("{\"plan\":\"a\",\"versions\":[{\"id\":1,\"steps\":[{\"op\":\"sql\",\"up\":\"SELECT "
			   "1\\u0000\"}]}]}",
			   MIGRATE_EPLAN, "versions[0].steps[0].up: contains a NUL character");
}

/* Whole numbers beyond int64 are out of range, said at their JSON path, not "malformed". */
TEST(plan_file_numbers_out_of_range)
{
	check_plan_refused(
		"{\"plan\":\"a\",\"versions\":[{\"id\":1,\"steps\":[]},{\"id\":9223372036854775808,\"steps\":[]}]}",
		MIGRATE_EJSON, "versions[1].id: 9223372036854775808 is out of range");
	check_plan_refused("{\"plan\":\"a\",\"versions\":[{\"id\":18446744073709551616,\"steps\":[]}]}", MIGRATE_EJSON,
			   "versions[0].id: 18446744073709551616 is out of range");
	check_plan_refused("{\"plan\":\"a\",\"versions\":[{\"id\":1,\"steps\":[{\"op\":\"backfill\",\"table\":\"t\","
			   "\"set\":{\"c\":{\"value\":[1,\"]\",{\"k,\":-9223372036854775809}]}}}]}]}",
			   MIGRATE_EJSON,
			   "versions[0].steps[0].set.c.value[2].k,: -9223372036854775809 is out of range");
	/* The largest id is fine. */
	{
		migrate_plan_t *plan = NULL;
		migrate_error_t err;
		fresh_err(&err);
		CHECK_OK(migrate_plan_load_json(
				 &plan, "{\"plan\":\"a\",\"versions\":[{\"id\":9223372036854775807,\"steps\":[]}]}",
				 &err),
			 &err);
		migrate_plan_destroy(plan);
	}
}

/* An empty plan file says so, and names the file. */
TEST(plan_file_empty)
{
	const char *path = "core_json_empty_plan.json";
	migrate_plan_t *plan = NULL;
	migrate_error_t err;
	FILE *f = fopen(path, "w");

	CHECK(f != NULL);
	fputs(" \n", f);
	fclose(f);
	fresh_err(&err);
	CHECK_INT(migrate_plan_load_file(&plan, path, &err), MIGRATE_EJSON);
	CHECK_HAS(err.message, "core_json_empty_plan.json: the file is empty");
	CHECK(strstr(err.message, "\"}\"") == NULL);
	CHECK(plan == NULL);
	remove(path);
	check_plan_refused("", MIGRATE_EJSON, "the text is empty");
}
