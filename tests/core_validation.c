/*
 * Plan validation: every bad input is refused with the right code, a
 * message that names the place (version, step, field path), and nothing
 * written to the database. Runs go through the "jsondir" driver
 * (custom_driver.c), whose whole state is a directory we can list.
 */
#include "harness.h"

#include "core_cases.h"
#include "custom_driver.h"

#ifdef MIGRATE_TEST_SQLITE
#include <sqlite3.h>
#endif

/* ---- helpers ---- */

static void fresh_err(migrate_error_t *err)
{
	memset(err, 0, sizeof *err);
}

/* Opens "jsondir:<tmp>/<name>"; the directory path goes to `dir`. */
static migrate_target_t *open_dir(const char *name, char *dir, size_t size)
{
	migrate_target_t *t = NULL;
	migrate_error_t err;
	char url[1200];

	fresh_err(&err);
	CHECK_OK(jsondir_register(&err), &err);
	snprintf(dir, size, "%s", harness_path(name));
	snprintf(url, sizeof url, "jsondir:%s", dir);
	CHECK_OK(migrate_target_open(&t, url, &err), &err);
	CHECK_STR(migrate_target_driver_name(t), "jsondir");
	return t;
}

/* The database holds nothing: no history store, no table, no lock. */
static void check_nothing_written(const char *dir)
{
	char *names = jsondir_list(dir);

	CHECK_STR(names, "");
	bson_free(names);
}

/* A version 1 ("first") that creates users, and a version 2 ("second") with one step. */
static migrate_plan_t *base_plan(migrate_version_t **v2)
{
	migrate_plan_t *plan = NULL;
	migrate_version_t *v1 = NULL;
	migrate_error_t err;

	fresh_err(&err);
	CHECK_OK(migrate_plan_new(&plan, "app", &err), &err);
	CHECK_OK(migrate_plan_add_version(plan, 1, "first", &v1, &err), &err);
	CHECK_OK(
		migrate_version_add_step_json(
			v1,
			"{\"op\":\"create_table\",\"table\":\"users\",\"columns\":[{\"name\":\"id\",\"type\":\"integer\"}]}",
			NULL, &err),
		&err);
	CHECK_OK(migrate_plan_add_version(plan, 2, "second", v2, &err), &err);
	CHECK_OK(migrate_version_add_step_json(*v2, "{\"op\":\"rename_table\",\"from\":\"users\",\"to\":\"people\"}",
					       NULL, &err),
		 &err);
	return plan;
}

/* The error names version 2, step 2, and holds `has`. */
static void check_place(const char *what, int rc, int code, const migrate_error_t *err, const char *has)
{
	if (rc != code)
		harness_fail(__FILE__, __LINE__, "%s: returned %d (%s), expected %d", what, rc, err->message, code);
	if (err->code != code)
		harness_fail(__FILE__, __LINE__, "%s: err.code %d, expected %d", what, err->code, code);
	if (!strstr(err->message, "version 2") || !strstr(err->message, "step 2") || !strstr(err->message, has))
		harness_fail(__FILE__, __LINE__, "%s: message \"%s\" does not name version 2, step 2 and \"%s\"", what,
			     err->message, has);
}

/* Adds every case of `group` as step 2 of version 2: refused, and the version keeps one step. */
static void run_group(const char *group)
{
	const core_case *c;
	int n = 0;

	for (c = core_cases; c->group; c++) {
		migrate_version_t *v2 = NULL;
		migrate_step_t *step = (migrate_step_t *)&n;
		migrate_plan_t *plan;
		migrate_error_t err;
		int rc;
		if (strcmp(c->group, group) != 0)
			continue;
		n++;
		plan = base_plan(&v2);
		fresh_err(&err);
		rc = migrate_version_add_step_json(v2, c->json, &step, &err);
		check_place(c->json, rc, c->code, &err, c->has);
		if (step != NULL)
			harness_fail(__FILE__, __LINE__, "%s: *out not reset to NULL", c->json);
		CHECK_INT(migrate_version_step_count(v2), 1);
		/* The error class is stable: the domain says who refused it. */
		CHECK_INT(err.domain, MIGRATE_DOMAIN_PLAN);
		migrate_plan_destroy(plan);
	}
	CHECK(n > 0);
}

TEST(bad_ops)
{
	run_group("ops");
}

TEST(bad_required_fields)
{
	run_group("required");
}

TEST(bad_field_types)
{
	run_group("types");
}

TEST(bad_unknown_keys)
{
	run_group("unknown_keys");
}

TEST(bad_identifiers)
{
	run_group("identifiers");
}

TEST(bad_column_types)
{
	run_group("column_types");
}

TEST(bad_defaults)
{
	run_group("defaults");
}

TEST(bad_filters)
{
	run_group("filters");
}

TEST(bad_backfill_expressions)
{
	run_group("expressions");
}

TEST(bad_shapes)
{
	run_group("shapes");
}

TEST(bad_asserts)
{
	run_group("asserts");
}

TEST(bad_declarations)
{
	run_group("declares");
}

TEST(bad_explicit_downs)
{
	run_group("downs");
}

TEST(malformed_json)
{
	run_group("json");
}

/* 63 bytes is the limit; 64 and 10,000 are refused wherever an identifier goes. */
TEST(long_identifiers)
{
	static char id63[64], id64[65], huge[10001];
	char json[10200];
	migrate_version_t *v2 = NULL;
	migrate_plan_t *plan, *p2 = NULL;
	migrate_column_t col = MIGRATE_COLUMN_INIT;
	migrate_error_t err;
	const char *vals[2];
	int rc;

	memset(id63, 'a', 63);
	memset(id64, 'b', 64);
	memset(huge, 'c', 10000);
	plan = base_plan(&v2);
	fresh_err(&err);
	CHECK_OK(migrate_drop_table(v2, id63, NULL, &err), &err);
	CHECK_INT(migrate_version_step_count(v2), 2);

	snprintf(json, sizeof json, "{\"op\":\"drop_table\",\"table\":\"%s\"}", id64);
	rc = migrate_version_add_step_json(v2, json, NULL, &err);
	CHECK_INT(rc, MIGRATE_EPLAN);
	CHECK_HAS(err.message,
		  "version 2 (\"second\"), step 3 (drop_table): table: invalid identifier: it is longer than 63 bytes");

	snprintf(json, sizeof json, "{\"op\":\"drop_table\",\"table\":\"%s\"}", huge);
	rc = migrate_version_add_step_json(v2, json, NULL, &err);
	CHECK_INT(rc, MIGRATE_EPLAN);
	CHECK_HAS(err.message, "step 3 (drop_table): table: invalid identifier");
	CHECK(strlen(err.message) < 300); /* the message does not echo 10,000 bytes */

	rc = migrate_rename_table(v2, "people", huge, NULL, &err);
	CHECK_INT(rc, MIGRATE_EPLAN);
	CHECK_HAS(err.message, "step 3 (rename_table): to: invalid identifier");
	rc = migrate_rename_column(v2, "people", id64, "x", NULL, &err);
	CHECK_INT(rc, MIGRATE_EPLAN);
	CHECK_HAS(err.message, "step 3 (rename_column): from: invalid identifier");
	col.name = id64;
	col.type = "text";
	rc = migrate_add_column(v2, "people", &col, NULL, &err);
	CHECK_INT(rc, MIGRATE_EPLAN);
	CHECK_HAS(err.message, "step 3 (add_column): column.name: invalid identifier");
	rc = migrate_create_table(v2, huge, NULL, &err);
	CHECK_INT(rc, MIGRATE_EPLAN);
	CHECK_HAS(err.message, "version 2, step 3 (create_table): table: invalid identifier");
	vals[0] = "ok";
	vals[1] = id64;
	rc = migrate_create_enum(v2, "e", vals, 2, NULL, &err);
	CHECK_INT(rc, MIGRATE_EPLAN);
	CHECK_HAS(err.message, "step 3 (create_enum): values[1]: invalid enum value");
	CHECK_INT(migrate_version_step_count(v2), 2);

	rc = migrate_plan_new(&p2, id64, &err);
	CHECK_INT(rc, MIGRATE_EPLAN);
	CHECK(p2 == NULL);
	CHECK_HAS(err.message, "plan name");
	CHECK_OK(migrate_plan_new(&p2, id63, &err), &err);
	migrate_plan_destroy(p2);
	migrate_plan_destroy(plan);
}

/* Typed builders refuse bad arguments with the same places as the JSON form. */
TEST(builders_name_the_place)
{
	migrate_version_t *v2 = NULL;
	migrate_plan_t *plan = base_plan(&v2);
	migrate_step_t *s = NULL;
	migrate_column_t col;
	migrate_error_t err;
	const char *pk[] = {"idd"};
	char *before, *after;
	int rc;

	fresh_err(&err);
	rc = migrate_rename_table(v2, "", "b", NULL, &err);
	check_place("rename_table", rc, MIGRATE_EPLAN, &err, "(rename_table): from: invalid identifier");
	rc = migrate_drop_table(v2, NULL, NULL, &err);
	check_place("drop_table", rc, MIGRATE_EPLAN, &err, "table: is required");
	CHECK_INT(migrate_column_init(&col, MIGRATE_COLUMN_VERSION), 0);
	col.name = "c";
	col.type = "uuuid";
	rc = migrate_add_column(v2, "people", &col, NULL, &err);
	check_place("add_column", rc, MIGRATE_EPLAN, &err, "column.type: unknown type \"uuuid\"");
	col.type = "text";
	col.default_json = "{\"value\": 1, \"sql\": \"2\"}";
	rc = migrate_add_column(v2, "people", &col, NULL, &err);
	check_place("add_column default", rc, MIGRATE_EPLAN, &err, "column.default: must be");
	col.default_json = "{\"value\": ";
	rc = migrate_add_column(v2, "people", &col, NULL, &err);
	CHECK_INT(rc, MIGRATE_EJSON);
	CHECK_HAS(err.message, "default");
	rc = migrate_map_values(v2, "people", "status", "[1]", NULL, &err);
	CHECK_INT(rc, MIGRATE_EJSON);
	CHECK_HAS(err.message, "map");
	rc = migrate_map_values(v2, "people", "status", "{\"a\": [1]}", NULL, &err);
	check_place("map_values", rc, MIGRATE_EPLAN, &err, "map.a: must be a string, number, boolean or null");
	rc = migrate_assert_count(v2, "people", "{\"a\": {\"$in\": 3}}", 0, NULL, &err);
	check_place("assert_count", rc, MIGRATE_EPLAN, &err, "count.where.a.$in: must be an array");
	rc = migrate_create_index(v2, "people", "i", NULL, 0, 0, NULL, &err);
	check_place("create_index", rc, MIGRATE_EPLAN, &err, "keys: must not be empty");
	rc = migrate_create_enum(v2, "e", NULL, 0, NULL, &err);
	check_place("create_enum", rc, MIGRATE_EPLAN, &err, "values: must not be empty");
	rc = migrate_sql(v2, "", NULL, NULL, &err);
	check_place("sql", rc, MIGRATE_EPLAN, &err, "up: must not be empty");
	rc = migrate_command(v2, "{\"ping\": 1} x", NULL, NULL, &err);
	CHECK_INT(rc, MIGRATE_EJSON);
	rc = migrate_custom(v2, "seed", "", (migrate_custom_fn)NULL, NULL, NULL, NULL, &err);
	CHECK_INT(rc, MIGRATE_EINVAL);
	CHECK_INT(migrate_version_step_count(v2), 1);

	/* A refused edit of an existing step leaves it as it was. */
	CHECK_OK(migrate_create_table(v2, "things", &s, &err), &err);
	col.type = "integer";
	col.default_json = NULL;
	col.name = "id";
	CHECK_OK(migrate_create_table_add_column(s, &col, &err), &err);
	before = migrate_step_to_json(s);
	rc = migrate_create_table_set_primary_key(s, pk, 1, &err);
	check_place("set_primary_key", rc, MIGRATE_EPLAN, &err,
		    "primary_key[0]: is not a column of the table: \"idd\"");
	rc = migrate_create_table_add_column(s, &col, &err);
	check_place("add duplicate column", rc, MIGRATE_EPLAN, &err, "columns[1]: duplicate column \"id\"");
	rc = migrate_step_set_down_json(s, "{\"op\": \"drop_table\"}", &err);
	CHECK_INT(rc, MIGRATE_EJSON);
	rc = migrate_step_set_down_json(s, "[{\"op\": \"drop_tabel\", \"table\": \"things\"}]", &err);
	check_place("set_down_json", rc, MIGRATE_EPLAN, &err, "down[0].op: unknown op \"drop_tabel\"");
	after = migrate_step_to_json(s);
	CHECK_STR(after, before);
	migrate_free(before);
	migrate_free(after);
	migrate_plan_destroy(plan);
}

TEST(duplicate_version_ids)
{
	migrate_plan_t *plan = NULL;
	migrate_version_t *v = (migrate_version_t *)&plan;
	migrate_error_t err;
	int rc;

	fresh_err(&err);
	CHECK_OK(migrate_plan_new(&plan, "app", &err), &err);
	CHECK_OK(migrate_plan_add_version(plan, 7, "seven", NULL, &err), &err);
	rc = migrate_plan_add_version(plan, 7, "again", &v, &err);
	CHECK_INT(rc, MIGRATE_EPLAN);
	CHECK(v == NULL);
	CHECK_HAS(err.message, "version 7: duplicate version id");
	CHECK_INT(migrate_plan_version_count(plan), 1);
	CHECK_STR(migrate_version_name(migrate_plan_version_at(plan, 0)), "seven");
	/* The largest id is fine, and distinct from 7. */
	CHECK_OK(migrate_plan_add_version(plan, UINT64_MAX, "max", NULL, &err), &err);
	CHECK_INT(migrate_plan_version_count(plan), 2);
	migrate_plan_destroy(plan);
}

/* A name is printed on one line: a newline, tab or escape in it would forge or garble status lines. */
TEST(version_name_without_control_characters)
{
	static const char *const names[] = {"a\n 2  fake  applied", "a\tb", "a\x1b[31mred", "a\x7f", "a\r"};
	migrate_plan_t *plan = NULL;
	migrate_version_t *v = (migrate_version_t *)&plan;
	migrate_error_t err;
	size_t i;

	fresh_err(&err);
	CHECK_OK(migrate_plan_new(&plan, "app", &err), &err);
	for (i = 0; i < sizeof names / sizeof *names; i++) {
		CHECK_INT(migrate_plan_add_version(plan, 1, names[i], &v, &err), MIGRATE_EPLAN);
		CHECK(v == NULL);
		CHECK_HAS(err.message, "version 1: the name contains a control character");
	}
	CHECK_INT(migrate_plan_version_count(plan), 0);
	CHECK_OK(migrate_plan_add_version(plan, 1, "caf\xc3\xa9 \"quoted\" \\ ok", NULL, &err), &err);
	migrate_plan_destroy(plan);
}

TEST(version_id_zero)
{
	migrate_plan_t *plan = NULL;
	migrate_error_t err;
	int rc;

	fresh_err(&err);
	CHECK_OK(migrate_plan_new(&plan, "app", &err), &err);
	rc = migrate_plan_add_version(plan, 0, "zero", NULL, &err);
	CHECK_INT(rc, MIGRATE_EPLAN);
	CHECK_HAS(err.message, "version 0");
	CHECK_INT(migrate_plan_version_count(plan), 0);
	migrate_plan_destroy(plan);
}

/* An op the driver cannot express: refused by every run operation, nothing written. */
TEST(unsupported_op_nothing_written)
{
	char dir[1024];
	migrate_target_t *t = open_dir("db", dir, sizeof dir);
	migrate_version_t *v2 = NULL;
	migrate_plan_t *plan = base_plan(&v2);
	const char *const moods[] = {"calm", "busy"};
	migrate_error_t err;
	size_t changed = 99;
	char *text = (char *)dir;
	migrate_check_state_t state = -1;
	int rc;

	fresh_err(&err);
	CHECK_OK(migrate_create_enum(v2, "mood", moods, 2, NULL, &err), &err);
	rc = migrate_up(t, plan, 0, NULL, &err);
	CHECK_INT(rc, MIGRATE_EUNSUPPORTED);
	CHECK_HAS(err.message, "version 2 (\"second\"), step 2 (create_enum)");
	CHECK_HAS(err.message, "jsondir");
	CHECK_HAS(err.message, "no enum types");
	check_nothing_written(dir);

	rc = migrate_render(t, plan, 0, &text, &err);
	CHECK_INT(rc, MIGRATE_EUNSUPPORTED);
	CHECK(text == NULL);
	CHECK_HAS(err.message, "step 2 (create_enum)");
	rc = migrate_baseline(t, plan, 2, NULL, &err);
	CHECK_INT(rc, MIGRATE_EUNSUPPORTED);
	rc = migrate_repair(t, plan, NULL, &changed, &err);
	CHECK_INT(rc, MIGRATE_EUNSUPPORTED);
	CHECK_INT(changed, 0);
	rc = migrate_down(t, plan, 0, NULL, &err);
	CHECK_INT(rc, MIGRATE_EUNSUPPORTED);
	/* Even up to version 1 alone: the whole plan is validated first. */
	rc = migrate_up(t, plan, 1, NULL, &err);
	CHECK_INT(rc, MIGRATE_EUNSUPPORTED);
	check_nothing_written(dir);

	/* Reads are allowed and write nothing either. */
	CHECK_OK(migrate_check(t, plan, &state, &err), &err);
	CHECK_INT(state, MIGRATE_CHECK_PENDING);
	check_nothing_written(dir);
	migrate_plan_destroy(plan);
	migrate_target_close(t);
}

/* A hostile table name is a valid identifier but no file name: refused before anything. */
TEST(hostile_table_name_nothing_written)
{
	char dir[1024], parent_file[1100];
	migrate_target_t *t = open_dir("db", dir, sizeof dir);
	migrate_version_t *v2 = NULL;
	migrate_plan_t *plan = base_plan(&v2);
	migrate_error_t err;
	int rc;

	fresh_err(&err);
	CHECK_OK(migrate_rename_table(v2, "people", "../evil", NULL, &err), &err);
	rc = migrate_up(t, plan, 0, NULL, &err);
	CHECK_INT(rc, MIGRATE_EUNSUPPORTED);
	CHECK_HAS(err.message, "version 2 (\"second\"), step 2 (rename_table)");
	CHECK_HAS(err.message, "\"../evil\" cannot be a file name");
	check_nothing_written(dir);
	snprintf(parent_file, sizeof parent_file, "%s/../evil.json", dir);
	CHECK(jsondir_read_text(parent_file) == NULL);
	migrate_plan_destroy(plan);
	migrate_target_close(t);
}

static int never_called(migrate_target_t *t, void *native, migrate_error_t *err, void *payload)
{
	harness_fail(__FILE__, __LINE__, "a custom step ran");
}

/* A custom step from JSON has no callback: the plan is invalid, nothing runs. */
TEST(custom_without_callback_nothing_written)
{
	char dir[1024];
	migrate_target_t *t = open_dir("db", dir, sizeof dir);
	migrate_version_t *v2 = NULL;
	migrate_plan_t *plan = base_plan(&v2);
	migrate_error_t err;
	char *text = NULL;
	int rc;

	fresh_err(&err);
	CHECK_OK(migrate_custom(v2, "fine", "1", never_called, NULL, NULL, NULL, &err), &err);
	CHECK_OK(migrate_version_add_step_json(v2, "{\"op\":\"custom\",\"name\":\"seed\",\"revision\":\"r1\"}", NULL,
					       &err),
		 &err);
	CHECK_INT(migrate_version_step_count(v2), 3);
	rc = migrate_up(t, plan, 0, NULL, &err);
	CHECK_INT(rc, MIGRATE_EPLAN);
	CHECK_HAS(err.message, "version 2 (\"second\"), step 3 (custom): custom step has no callback");
	check_nothing_written(dir);
	rc = migrate_render(t, plan, 0, &text, &err);
	CHECK_INT(rc, MIGRATE_EPLAN);
	CHECK_HAS(err.message, "step 3 (custom)");
	rc = migrate_baseline(t, plan, 1, NULL, &err);
	CHECK_INT(rc, MIGRATE_EPLAN);
	check_nothing_written(dir);
	migrate_plan_destroy(plan);
	migrate_target_close(t);
}

/* Options of an unknown struct version are refused by every run, before anything. */
TEST(run_options_unknown_version)
{
	char dir[1024];
	migrate_target_t *t = open_dir("db", dir, sizeof dir);
	migrate_version_t *v2 = NULL;
	migrate_plan_t *plan = base_plan(&v2);
	migrate_run_options_t opts = MIGRATE_RUN_OPTIONS_INIT;
	migrate_error_t err;
	size_t changed = 5;
	int rc;

	fresh_err(&err);
	CHECK_INT(migrate_run_options_init(&opts, MIGRATE_RUN_OPTIONS_VERSION + 1), MIGRATE_EVERSION);
	CHECK_INT(migrate_run_options_init(&opts, 0), MIGRATE_EVERSION);
	CHECK_OK(migrate_run_options_init(&opts, MIGRATE_RUN_OPTIONS_VERSION), &err);
	CHECK_INT(opts.lock_timeout_ms, 60000);
	opts.version = 99;
	rc = migrate_up(t, plan, 0, &opts, &err);
	CHECK_INT(rc, MIGRATE_EVERSION);
	CHECK_INT(err.code, MIGRATE_EVERSION);
	CHECK_HAS(err.message, "99");
	rc = migrate_down(t, plan, 0, &opts, &err);
	CHECK_INT(rc, MIGRATE_EVERSION);
	rc = migrate_baseline(t, plan, 1, &opts, &err);
	CHECK_INT(rc, MIGRATE_EVERSION);
	rc = migrate_repair(t, plan, &opts, &changed, &err);
	CHECK_INT(rc, MIGRATE_EVERSION);
	CHECK_INT(changed, 0);
	opts.version = 0;
	rc = migrate_up(t, plan, 0, &opts, &err);
	CHECK_INT(rc, MIGRATE_EVERSION);
	check_nothing_written(dir);
	migrate_plan_destroy(plan);
	migrate_target_close(t);
}

TEST(target_version_not_in_plan)
{
	char dir[1024];
	migrate_target_t *t = open_dir("db", dir, sizeof dir);
	migrate_version_t *v2 = NULL;
	migrate_plan_t *plan = base_plan(&v2);
	migrate_error_t err;
	char *text = NULL;
	int rc;

	fresh_err(&err);
	rc = migrate_up(t, plan, 3, NULL, &err);
	CHECK_INT(rc, MIGRATE_ENOTFOUND);
	CHECK_HAS(err.message, "version 3");
	rc = migrate_render(t, plan, 3, &text, &err);
	CHECK_INT(rc, MIGRATE_ENOTFOUND);
	rc = migrate_baseline(t, plan, 3, NULL, &err);
	CHECK_INT(rc, MIGRATE_ENOTFOUND);
	check_nothing_written(dir);
	migrate_plan_destroy(plan);
	migrate_target_close(t);
}

/* Snapshot of every file of a database directory: names and contents. */
static char *snapshot(const char *dir)
{
	char *names = jsondir_list(dir), *p, *save = NULL;
	migrate_buf_t *s = migrate__buf_new(names);

	for (p = strtok_r(names, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		char path[2048];
		char *text;
		snprintf(path, sizeof path, "%s/%s", dir, p);
		text = jsondir_read_text(path);
		migrate_buf_printf(s, "\n%s=%s", p, text ? text : "(dir)");
		bson_free(text);
	}
	bson_free(names);
	return migrate__buf_free(s, false);
}

/* A step with no inverse on the down path: nothing is reverted, not even later versions. */
TEST(irreversible_down_nothing_reverted)
{
	char dir[1024];
	migrate_target_t *t = open_dir("db", dir, sizeof dir);
	migrate_version_t *v2 = NULL, *v3 = NULL;
	migrate_plan_t *plan = base_plan(&v2);
	migrate_column_t col = MIGRATE_COLUMN_INIT;
	migrate_step_t *drop = NULL;
	migrate_error_t err;
	char *before, *after;
	int rc;

	fresh_err(&err);
	CHECK_OK(migrate_plan_add_version(plan, 3, "third", &v3, &err), &err);
	col.name = "email";
	col.type = "text";
	CHECK_OK(migrate_add_column(v2, "people", &col, NULL, &err), &err);
	CHECK_OK(migrate_drop_column(v2, "people", "email", &drop, &err), &err);
	CHECK_OK(migrate_add_column(v3, "people", &col, NULL, &err), &err);
	CHECK_OK(migrate_up(t, plan, 0, NULL, &err), &err);
	before = snapshot(dir);
	CHECK_HAS(
		before,
		"people.json={\"columns\":[{\"name\":\"id\",\"type\":\"integer\"},{\"name\":\"email\",\"type\":\"text\"}],\"rows\":[]}");

	rc = migrate_down(t, plan, 1, NULL, &err);
	CHECK_INT(rc, MIGRATE_EIRREVERSIBLE);
	CHECK_INT(err.code, MIGRATE_EIRREVERSIBLE);
	CHECK_HAS(err.message, "version 2 (\"second\"), step 3 (drop_column)");
	CHECK_HAS(err.message, "explicit down");
	after = snapshot(dir);
	CHECK_STR(after, before); /* version 3, above the bad step, was not reverted either */
	bson_free(after);
	rc = migrate_down(t, plan, 0, NULL, &err);
	CHECK_INT(rc, MIGRATE_EIRREVERSIBLE);
	after = snapshot(dir);
	CHECK_STR(after, before);
	bson_free(after);

	/* Reverting only version 3 does not cross the bad step. */
	CHECK_OK(migrate_down(t, plan, 2, NULL, &err), &err);
	after = snapshot(dir);
	CHECK_HAS(after, "people.json={\"columns\":[{\"name\":\"id\",\"type\":\"integer\"}],\"rows\":[]}");
	CHECK(strstr(after, "_history/app/3.json") == NULL);
	bson_free(after);

	/* An explicit down makes the path valid: "[]" says nothing is needed. */
	CHECK_OK(migrate_step_set_down_json(drop, "[]", &err), &err);
	CHECK_OK(migrate_repair(t, plan, NULL, NULL, &err), &err);
	CHECK_OK(migrate_down(t, plan, 0, NULL, &err), &err);
	after = snapshot(dir);
	CHECK_STR(after, "_history,_history/app\n_history=(dir)\n_history/app=(dir)");
	bson_free(after);
	bson_free(before);
	migrate_plan_destroy(plan);
	migrate_target_close(t);
}

/* A down step the driver cannot express is found before anything is reverted. */
TEST(unsupported_down_step_nothing_reverted)
{
	char dir[1024];
	migrate_target_t *t = open_dir("db", dir, sizeof dir);
	migrate_version_t *v2 = NULL;
	migrate_plan_t *plan = base_plan(&v2);
	migrate_step_t *s = NULL;
	migrate_error_t err;
	char *before, *after;
	int rc;

	fresh_err(&err);
	CHECK_OK(migrate_drop_table(v2, "people", &s, &err), &err);
	CHECK_OK(
		migrate_step_set_down_json(
			s,
			"[{\"op\":\"create_table\",\"table\":\"people\",\"columns\":[{\"name\":\"id\",\"type\":\"integer\"}]},"
			"{\"op\":\"create_enum\",\"name\":\"mood\",\"values\":[\"calm\",\"busy\"]}]",
			&err),
		&err);
	CHECK_OK(migrate_up(t, plan, 0, NULL, &err), &err);
	before = snapshot(dir);
	rc = migrate_down(t, plan, 0, NULL, &err);
	CHECK_INT(rc, MIGRATE_EUNSUPPORTED);
	CHECK_HAS(err.message, "version 2 (\"second\"), step 2 (drop_table): its down step (create_enum)");
	after = snapshot(dir);
	CHECK_STR(after, before);
	bson_free(before);
	bson_free(after);
	migrate_plan_destroy(plan);
	migrate_target_close(t);
}

TEST(struct_versions)
{
	migrate_version_t *v2 = NULL;
	migrate_plan_t *plan = base_plan(&v2);
	migrate_column_t col;
	migrate_driver_t bad = *jsondir_driver();
	migrate_target_t *t = (migrate_target_t *)&col;
	migrate_error_t err;
	int rc;

	fresh_err(&err);
	CHECK_INT(migrate_column_init(&col, 2), MIGRATE_EVERSION);
	CHECK_OK(migrate_column_init(&col, MIGRATE_COLUMN_VERSION), &err);
	CHECK_INT(col.nullable, 1);
	col.name = "c";
	col.type = "text";
	col.version = 2;
	rc = migrate_add_column(v2, "people", &col, NULL, &err);
	CHECK_INT(rc, MIGRATE_EVERSION);
	CHECK_HAS(err.message, "column");
	CHECK_INT(migrate_version_step_count(v2), 1);

	bad.version = MIGRATE_DRIVER_VERSION + 1;
	rc = migrate_driver_register(&bad, &err);
	CHECK_INT(rc, MIGRATE_EVERSION);
	CHECK_HAS(err.message, "jsondir");
	rc = migrate_target_from_driver(&t, &bad, NULL, &err);
	CHECK_INT(rc, MIGRATE_EVERSION);
	CHECK(t == NULL);
	/* Version 1 drivers rendered into a migrate_buf_t: refused, not called with a migrate_buf_t. */
	bad.version = 1;
	rc = migrate_driver_register(&bad, &err);
	CHECK_INT(rc, MIGRATE_EVERSION);
	CHECK_HAS(err.message, "interface version 1");
	bad.version = MIGRATE_DRIVER_VERSION;
	bad.lock_try = NULL;
	rc = migrate_driver_register(&bad, &err);
	CHECK_INT(rc, MIGRATE_EINVAL);
	bad = *jsondir_driver();
	bad.commit = NULL;
	bad.begin = bad.history_ensure; /* any function of that type: only its presence matters */
	rc = migrate_driver_register(&bad, &err);
	CHECK_INT(rc, MIGRATE_EINVAL);
	CHECK_HAS(err.message, "begin, commit and rollback go together");
	migrate_plan_destroy(plan);
}

TEST(unknown_scheme_hides_password)
{
	migrate_target_t *t = (migrate_target_t *)&t;
	migrate_error_t err;
	int rc;

	fresh_err(&err);
	rc = migrate_target_open(&t, "nosuch://admin:s3cr3t@db.example/prod", &err);
	CHECK_INT(rc, MIGRATE_ENOTFOUND);
	CHECK(t == NULL);
	CHECK_HAS(err.message, "nosuch://admin:");
	CHECK(strstr(err.message, "s3cr3t") == NULL);
	rc = migrate_target_open(&t, "jsondir", &err);
	CHECK(rc != 0);
}

/* Whether a file whose name contains `name` is mapped into this process. */
static bool mapped(const char *name)
{
	char line[4096];
	bool found = false;
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		harness_fail(__FILE__, __LINE__, "cannot read /proc/self/maps");
	while (!found && fgets(line, sizeof line, f))
		found = strstr(line, name) != NULL;
	fclose(f);
	return found;
}

/* migrate_driver_load() finds (and loads) the driver of a scheme and reaches no database. */
TEST(driver_load)
{
	migrate_error_t err;
	int rc;

	fresh_err(&err);
	CHECK_OK(migrate_driver_load("sqlite:/nonexistent-dir/never.db", &err), &err);
	/* Port 1 of loopback has no server: a load that connected would fail. */
	rc = migrate_driver_load("postgresql://admin:s3cr3t@127.0.0.1:1/db", &err);
	if (rc != 0) { /* only a build without the PostgreSQL driver (not a module that fails to load) */
		CHECK_INT(rc, MIGRATE_ENOTFOUND);
		CHECK_HAS(err.message, "no driver for \"postgresql://admin:****@");
		CHECK(strstr(err.message, "s3cr3t") == NULL);
	} else {
		/* Loaded: libpq is in the process (the shared library's module brings it). */
		CHECK(mapped("libpq.so"));
	}
	fresh_err(&err);
	CHECK_INT(migrate_driver_load("nosuch://admin:s3cr3t@db.example/prod", &err), MIGRATE_ENOTFOUND);
	CHECK_HAS(err.message, "nosuch://admin:");
	CHECK(strstr(err.message, "s3cr3t") == NULL);
	CHECK_INT(migrate_driver_load(NULL, &err), MIGRATE_EINVAL);
	CHECK_INT(migrate_driver_load("nosuch:x", NULL), MIGRATE_ENOTFOUND);
}

/* migrate_url_redact() shows `url` with `shown` in it and none of the `hidden` strings. */
static void check_redacted(const char *url, const char *shown, const char *hidden1, const char *hidden2)
{
	char out[512];

	migrate_url_redact(url, out, sizeof out);
	if (!strstr(out, shown) || (hidden1 && strstr(out, hidden1)) || (hidden2 && strstr(out, hidden2)))
		harness_fail(__FILE__, __LINE__, "%s is shown as \"%s\": expected \"%s\" and not \"%s\" nor \"%s\"",
			     url, out, shown, hidden1 ? hidden1 : "", hidden2 ? hidden2 : "");
}

/* Passwords are found in the parsed URL; what does not parse is hidden whole. */
TEST(url_redaction)
{
	char small[8];

	/* Every password parameter, in any case and however encoded. */
	check_redacted("postgresql://h/db?password=first&password=second", "password=****&password=****", "first",
		       "second");
	check_redacted("postgresql://h/db?sslmode=require&PassWord=x1y2&sslpassword=z3", "sslmode=require", "x1y2",
		       "z3");
	check_redacted("postgresql://h/db?pass%77ord=k9k9", "postgresql://h/db?pass%77ord=****", "k9k9", NULL);
	/* MONGODB-AWS's session token rides in authMechanismProperties. */
	check_redacted(
		"mongodb://AKIA:sk@h/db?authMechanism=MONGODB-AWS&authMechanismProperties=AWS_SESSION_TOKEN:t0k3n",
		"authMechanism=MONGODB-AWS&authMechanismProperties=****", "t0k3n", "sk@");
	/* Userinfo runs to the last '@' before the path. */
	check_redacted("postgresql://admin:p@ss@db.example/prod", "postgresql://admin:****@db.example/prod", "p@ss",
		       "ss@");
	check_redacted("postgresql://admin:s3%zz@db/prod", "postgresql://admin:****@db/prod", "s3", "%zz");
	check_redacted("postgresql://admin:s3%00x@db/prod", "postgresql://admin:****@db/prod", "s3", "%00");
	check_redacted("postgresql://admin:s3cr3t@[::1/prod", "postgresql://<redacted>", "s3cr3t", "admin");
	check_redacted("postgresql://admin:s3/cr3t@db/prod", "postgresql://<redacted>", "s3", "cr3t");
	check_redacted("mongodb://admin:s3?cr3t@db/prod", "mongodb://<redacted>", "s3", "cr3t");
	check_redacted("postgresql://admin:s3cr3t", "postgresql://<redacted>", "s3cr3t", NULL);
	check_redacted("postgresql://admin:s3cr3t@h/db?password=two", "postgresql://admin:****@h/db?password=****",
		       "s3cr3t", "two");
	check_redacted("host=h password='a b' dbname=x", "host=h password=**** dbname=x", "a b", NULL);
	/* libpq's key=value strings allow blanks around the '='. */
	check_redacted("host=h password = s3cr3t dbname=x", "host=h password = **** dbname=x", "s3cr3t", NULL);
	check_redacted("host=h password\t=\t'a b' dbname=x", "dbname=x", "a b", NULL);
	/* A scheme without "//" (a typo, or libpq's dbname) still hides what may be a user's password. */
	check_redacted("postgresql:admin:s3cr3t@db/prod", "postgresql:<redacted>", "s3cr3t", "admin");
	check_redacted("postgresql:/admin:s3cr3t@db/prod", "postgresql:<redacted>", "s3cr3t", NULL);
	check_redacted("mongodb:admin:s3cr3t@db", "mongodb:<redacted>", "s3cr3t", NULL);
	check_redacted("postgres:host=h password=s3cr3t", "postgres:host=h password=****", "s3cr3t", NULL);
	/* A "://" further on is no scheme's. */
	check_redacted("postgresql:admin:s3cr3t@h/db?application_name=a://b", "postgresql:<redacted>", "s3cr3t", NULL);
	check_redacted("host=h password=s3cr3t application_name=a://b", "host=h password=**** application_name=a://b",
		       "s3cr3t", NULL);
	/* Nothing to hide: shown as given. */
	check_redacted("postgresql://u@h1:5432,[::1]:5433/db?sslmode=require",
		       "postgresql://u@h1:5432,[::1]:5433/db?sslmode=require", NULL, NULL);
	check_redacted("postgresql://u:pw@h/db?application_name=me@home",
		       "postgresql://u:****@h/db?application_name=me@home", "pw", NULL);
	check_redacted("sqlite:/tmp/a:b.db", "sqlite:/tmp/a:b.db", NULL, NULL);
	check_redacted("", "", NULL, NULL);
	check_redacted(NULL, "", NULL, NULL);
	migrate_url_redact("postgresql://u:s3cr3t@h/db", small, sizeof small);
	CHECK_INT(strlen(small), 7);
	migrate_url_redact("postgresql://u:s3cr3t@h/db", small, 0);
	migrate_url_redact("postgresql://u:s3cr3t@h/db", NULL, 8);
}

/* A driver whose connection errors quote the URL and the decoded password, as libpq's can. */
static int echo_open(const char *url, void **conn, migrate_error_t *err)
{
	char msg[MIGRATE_ERROR_MESSAGE_SIZE];

	(void)conn;
	snprintf(msg, sizeof msg, "invalid URI \"%s\"; password \"p@ss%%\" rejected; token \"p@ss%%25\"", url);
	return migrate_error_set(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ECONNECT, msg);
}

/* Whatever a driver's message quotes, the URL and its password do not reach the caller. */
TEST(driver_errors_hide_password)
{
	static const char *const schemes[] = {"echo", NULL};
	static migrate_driver_t echo;
	migrate_target_t *t = NULL;
	migrate_error_t err;
	int rc;

	echo = *jsondir_driver();
	echo.name = "echo";
	echo.schemes = schemes;
	echo.open = echo_open;
	fresh_err(&err);
	CHECK_OK(migrate_driver_register(&echo, &err), &err);
	rc = migrate_target_open(&t, "echo://admin:p@ss%25@db.example/prod?sslpassword=k9k9", &err);
	CHECK_INT(rc, MIGRATE_ECONNECT);
	CHECK(t == NULL);
	CHECK_HAS(err.message, "echo://admin:****@db.example/prod?sslpassword=****");
	CHECK(strstr(err.message, "p@ss") == NULL);
	CHECK(strstr(err.message, "k9k9") == NULL);
}

#ifdef MIGRATE_TEST_SQLITE
static int sqlite_objects(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int n = -1;

	CHECK_INT(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	CHECK_INT(sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master", -1, &st, NULL), SQLITE_OK);
	CHECK_INT(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}
#endif

/* The same guarantees on SQLite, checked in its own catalog. */
TEST(sqlite_nothing_written)
{
#ifdef MIGRATE_TEST_SQLITE
	char path[1024], url[1100];
	migrate_target_t *t = NULL;
	migrate_version_t *v2 = NULL;
	migrate_plan_t *plan = base_plan(&v2);
	migrate_run_options_t opts = MIGRATE_RUN_OPTIONS_INIT;
	migrate_error_t err;
	int rc;

	fresh_err(&err);
	snprintf(path, sizeof path, "%s", harness_path("db.sqlite"));
	snprintf(url, sizeof url, "sqlite:%s", path);
	CHECK_OK(migrate_target_open(&t, url, &err), &err);
	CHECK_OK(migrate_version_add_step_json(v2, "{\"op\":\"custom\",\"name\":\"seed\",\"revision\":\"r1\"}", NULL,
					       &err),
		 &err);
	rc = migrate_up(t, plan, 0, NULL, &err);
	CHECK_INT(rc, MIGRATE_EPLAN);
	CHECK_HAS(err.message, "version 2 (\"second\"), step 2 (custom)");
	CHECK_INT(sqlite_objects(path), 0);
	opts.version = 42;
	rc = migrate_up(t, plan, 0, &opts, &err);
	CHECK_INT(rc, MIGRATE_EVERSION);
	CHECK_INT(sqlite_objects(path), 0);
	migrate_plan_destroy(plan);

	/* MongoDB commands cannot run on SQLite. */
	plan = base_plan(&v2);
	CHECK_OK(migrate_command(v2, "{\"ping\": 1}", NULL, NULL, &err), &err);
	rc = migrate_up(t, plan, 0, NULL, &err);
	CHECK_INT(rc, MIGRATE_EUNSUPPORTED);
	CHECK_HAS(err.message, "version 2 (\"second\"), step 2 (command)");
	CHECK_INT(sqlite_objects(path), 0);
	migrate_plan_destroy(plan);
	migrate_target_close(t);
#else
	harness_skip("the SQLite driver is not built");
#endif
}

/* A driver struct from the init function or macro: this header's version, every callback NULL. */
TEST(driver_init)
{
	migrate_driver_t d, m = MIGRATE_DRIVER_INIT;
	migrate_error_t err;

	memset(&d, 0xff, sizeof d);
	CHECK_INT(migrate_driver_init(&d, MIGRATE_DRIVER_VERSION), 0);
	CHECK_INT((int)d.version, MIGRATE_DRIVER_VERSION);
	CHECK(d.name == NULL && d.schemes == NULL && d.open == NULL && d.render_step == NULL && d.rollback == NULL);
	CHECK_INT((int)m.version, MIGRATE_DRIVER_VERSION);
	CHECK(m.apply_step == NULL && m.lock_release == NULL);
	CHECK_INT(migrate_driver_init(&d, 1), MIGRATE_EVERSION);
	CHECK_INT(migrate_driver_init(&d, MIGRATE_DRIVER_VERSION + 1), MIGRATE_EVERSION);
	CHECK_INT(migrate_driver_init(NULL, MIGRATE_DRIVER_VERSION), MIGRATE_EINVAL);
	/* An initialised driver without its required callbacks is refused by name. */
	fresh_err(&err);
	migrate_driver_init(&d, MIGRATE_DRIVER_VERSION);
	d.name = "empty";
	CHECK_INT(migrate_driver_register(&d, &err), MIGRATE_EINVAL);
	CHECK_HAS(err.message, "empty");
}

/* Every op has its own name, validation finds the op by it, and a step knows its op. */
TEST(op_catalog)
{
	migrate_plan_t *plan = NULL;
	migrate_version_t *v = NULL;
	migrate_step_t *s = NULL;
	migrate_error_t err;
	char json[128];
	int op, other;

	fresh_err(&err);
	CHECK_OK(migrate_plan_new(&plan, "ops", &err), &err);
	CHECK_OK(migrate_plan_add_version(plan, 1, "one", &v, &err), &err);
	for (op = MIGRATE_OP_UNKNOWN + 1; op < MIGRATE_OP_COUNT; op++) {
		const char *name = migrate_op_name((migrate_op_t)op);
		CHECK(name != NULL);
		for (other = MIGRATE_OP_UNKNOWN + 1; other < op; other++)
			CHECK(strcmp(name, migrate_op_name((migrate_op_t)other)) != 0);
		/* Known by name: refused for a missing field or as code-only, never as an unknown op. */
		snprintf(json, sizeof json, "{\"op\": \"%s\", \"unknown_field\": 1}", name);
		CHECK(migrate_version_add_step_json(v, json, &s, &err) != 0);
		CHECK(strstr(err.message, "unknown op") == NULL);
	}
	CHECK(migrate_op_name(MIGRATE_OP_UNKNOWN) == NULL);
	CHECK(migrate_op_name(MIGRATE_OP_COUNT) == NULL);
	CHECK(migrate_version_add_step_json(v, "{\"op\": \"create_tables\"}", &s, &err) != 0);
	CHECK_HAS(err.message, "unknown op");
	CHECK_OK(migrate_version_add_step_json(v, "{\"op\": \"rename_table\", \"from\": \"a\", \"to\": \"b\"}", &s,
					       &err),
		 &err);
	CHECK_INT((int)migrate_step_op(s), MIGRATE_OP_RENAME_TABLE);
	CHECK_STR(migrate_step_op_name(s), "rename_table");
	CHECK_INT((int)migrate_step_op(NULL), MIGRATE_OP_UNKNOWN);
	migrate_plan_destroy(plan);
}

/* A create_table step of `ncols` columns "c0".. (column `dup` named as column 0 when >= 0) and `bad` without a type. */
static int wide_table(int ncols, int dup, int bad, const char *pk, migrate_error_t *err)
{
	migrate_plan_t *plan = NULL;
	migrate_version_t *v = NULL;
	char *json = malloc((size_t)ncols * 64 + 256);
	size_t len;
	int i, rc;

	CHECK(json != NULL);
	CHECK_OK(migrate_plan_new(&plan, "wide", err), err);
	CHECK_OK(migrate_plan_add_version(plan, 1, "one", &v, err), err);
	len = (size_t)sprintf(json, "{\"op\":\"create_table\",\"table\":\"t\",\"columns\":[");
	for (i = 0; i < ncols; i++)
		len += (size_t)sprintf(json + len, "%s{\"name\":\"c%d\"%s}", i ? "," : "", i == dup ? 0 : i,
				       i == bad ? "" : ",\"type\":\"text\"");
	sprintf(json + len, "],\"primary_key\":[%s]}", pk);
	memset(err, 0, sizeof *err);
	rc = migrate_version_add_step_json(v, json, NULL, err);
	free(json);
	migrate_plan_destroy(plan);
	return rc;
}

/* Wide tables: repeats and the primary key told by sorted names, the first problem in column order named. */
TEST(wide_table_columns_and_primary_key)
{
	migrate_error_t err;

	CHECK_OK(wide_table(400, -1, -1, "\"c399\",\"c0\",\"c200\"", &err), &err);
	CHECK_INT(wide_table(400, 399, -1, "\"c1\"", &err), MIGRATE_EPLAN);
	CHECK_HAS(err.message, "columns[399]: duplicate column \"c0\"");
	CHECK_INT(wide_table(400, -1, -1, "\"c1\",\"c400\"", &err), MIGRATE_EPLAN);
	CHECK_HAS(err.message, "primary_key[1]: is not a column of the table: \"c400\"");
	/* A repeat before a refused column is named first; a refused column before a repeat, first. */
	CHECK_INT(wide_table(400, 2, 5, "\"c1\"", &err), MIGRATE_EPLAN);
	CHECK_HAS(err.message, "columns[2]: duplicate column \"c0\"");
	CHECK_INT(wide_table(400, 7, 5, "\"c1\"", &err), MIGRATE_EPLAN);
	CHECK_HAS(err.message, "columns[5].type: is required");
	CHECK_INT(wide_table(3, 2, -1, "\"c1\"", &err), MIGRATE_EPLAN);
	CHECK_HAS(err.message, "columns[2]: duplicate column \"c0\"");
}
