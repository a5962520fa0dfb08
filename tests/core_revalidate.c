/*
 * Every run validates the whole plan again before writing anything, so a
 * step document made invalid behind the builders' back (which only code
 * inside the library can do: this test is INTERNAL for that one reason)
 * is refused with the same message, and the database stays untouched.
 */
#include "harness.h"

#include "core_cases.h"
#include "custom_driver.h"
#include "internal.h"

static migrate_target_t *open_dir(const char *name, char *dir, size_t size)
{
	migrate_target_t *t = NULL;
	migrate_error_t err;
	char url[1200];

	memset(&err, 0, sizeof err);
	CHECK_OK(jsondir_register(&err), &err);
	snprintf(dir, size, "%s", harness_path(name));
	snprintf(url, sizeof url, "jsondir:%s", dir);
	CHECK_OK(migrate_target_open(&t, url, &err), &err);
	return t;
}

static void check_nothing_written(const char *what, const char *dir)
{
	char *names = jsondir_list(dir);

	if (strcmp(names, "") != 0)
		harness_fail(__FILE__, __LINE__, "%s: the database holds \"%s\"", what, names);
	bson_free(names);
}

/* Version 1 creates users; version 2 ("second") renames it and has a placeholder step 2. */
static migrate_plan_t *base_plan(migrate_version_t **v2)
{
	migrate_plan_t *plan = NULL;
	migrate_version_t *v1 = NULL;
	migrate_error_t err;

	memset(&err, 0, sizeof err);
	CHECK_OK(migrate_plan_new(&plan, "app", &err), &err);
	CHECK_OK(migrate_plan_add_version(plan, 1, "first", &v1, &err), &err);
	CHECK_OK(
		migrate_version_add_step_json(
			v1,
			"{\"op\":\"create_table\",\"table\":\"users\",\"columns\":[{\"name\":\"id\",\"type\":\"integer\"}]}",
			NULL, &err),
		&err);
	CHECK_OK(migrate_plan_add_version(plan, 2, "second", v2, &err), &err);
	CHECK_OK(migrate_rename_table(*v2, "users", "people", NULL, &err), &err);
	CHECK_OK(migrate_drop_table(*v2, "placeholder", NULL, &err), &err);
	return plan;
}

/* Replaces the document of step 2 of version 2 as a careless caller could not. */
static void smuggle(migrate_version_t *v2, const char *json)
{
	migrate_step_t *s = v2->steps[1];
	bson_error_t berr;
	bson_iter_t it;

	bson_destroy(&s->doc);
	if (!bson_init_from_json(&s->doc, json, -1, &berr))
		harness_fail(__FILE__, __LINE__, "test case is not JSON: %s: %s", json, berr.message);
	s->op = migrate__op_find(bson_iter_init_find(&it, &s->doc, "op") && BSON_ITER_HOLDS_UTF8(&it)
					 ? bson_iter_utf8(&it, NULL)
					 : NULL);
}

static void check_refused(const char *what, int rc, int code, const migrate_error_t *err, const char *has)
{
	if (rc != code || err->code != code)
		harness_fail(__FILE__, __LINE__, "%s: returned %d (%s), expected %d", what, rc, err->message, code);
	if (!strstr(err->message, "version 2 (\"second\"), step 2") || !strstr(err->message, has))
		harness_fail(__FILE__, __LINE__, "%s: message \"%s\" does not name version 2, step 2 and \"%s\"", what,
			     err->message, has);
}

/* Every invalid document of the shared table: up and render refuse it, nothing is written. */
static void run_group(const char *group, bool all_ops)
{
	const core_case *c;
	char dir[1024];
	migrate_target_t *t = open_dir("db", dir, sizeof dir);
	int n = 0;

	for (c = core_cases; c->group; c++) {
		migrate_version_t *v2 = NULL;
		migrate_plan_t *plan;
		migrate_error_t err;
		char *text = NULL;
		int rc;
		if (strcmp(c->group, group) != 0)
			continue;
		n++;
		plan = base_plan(&v2);
		smuggle(v2, c->json);
		memset(&err, 0, sizeof err);
		rc = migrate_up(t, plan, 0, NULL, &err);
		check_refused(c->json, rc, c->code, &err, c->has);
		check_nothing_written(c->json, dir);
		rc = migrate_render(t, plan, 0, &text, &err);
		check_refused(c->json, rc, c->code, &err, c->has);
		CHECK(text == NULL);
		if (all_ops) {
			rc = migrate_down(t, plan, 0, NULL, &err);
			check_refused(c->json, rc, c->code, &err, c->has);
			rc = migrate_baseline(t, plan, 2, NULL, &err);
			check_refused(c->json, rc, c->code, &err, c->has);
			rc = migrate_repair(t, plan, NULL, NULL, &err);
			check_refused(c->json, rc, c->code, &err, c->has);
			/* Even a run that stops before version 2 validates all of the plan. */
			rc = migrate_up(t, plan, 1, NULL, &err);
			check_refused(c->json, rc, c->code, &err, c->has);
		}
		check_nothing_written(c->json, dir);
		migrate_plan_destroy(plan);
	}
	CHECK(n > 0);
	migrate_target_close(t);
}

TEST(smuggled_ops)
{
	run_group("ops", true);
}

TEST(smuggled_required_fields)
{
	run_group("required", false);
}

TEST(smuggled_field_types)
{
	run_group("types", false);
}

TEST(smuggled_unknown_keys)
{
	run_group("unknown_keys", true);
}

TEST(smuggled_identifiers)
{
	run_group("identifiers", true);
}

TEST(smuggled_column_types)
{
	run_group("column_types", false);
}

TEST(smuggled_defaults)
{
	run_group("defaults", false);
}

TEST(smuggled_filters)
{
	run_group("filters", false);
}

TEST(smuggled_backfill_expressions)
{
	run_group("expressions", false);
}

TEST(smuggled_shapes)
{
	run_group("shapes", true);
}

TEST(smuggled_asserts)
{
	run_group("asserts", false);
}

TEST(smuggled_declarations)
{
	run_group("declares", false);
}

TEST(smuggled_explicit_downs)
{
	run_group("downs", false);
}

TEST(smuggled_huge_identifier)
{
	char dir[1024];
	migrate_target_t *t = open_dir("db", dir, sizeof dir);
	migrate_version_t *v2 = NULL;
	migrate_plan_t *plan = base_plan(&v2);
	static char json[10100];
	migrate_error_t err;
	int rc, n;

	n = snprintf(json, sizeof json, "{\"op\":\"drop_table\",\"table\":\"");
	memset(json + n, 'x', 10000);
	strcpy(json + n + 10000, "\"}");
	smuggle(v2, json);
	memset(&err, 0, sizeof err);
	rc = migrate_up(t, plan, 0, NULL, &err);
	check_refused("10,000-byte table name", rc, MIGRATE_EPLAN, &err,
		      "table: invalid identifier: it is longer than 63 bytes");
	check_nothing_written("10,000-byte table name", dir);
	migrate_plan_destroy(plan);
	migrate_target_close(t);
}

/* Version ids changed after the builders checked them. */
TEST(smuggled_version_ids)
{
	char dir[1024];
	migrate_target_t *t = open_dir("db", dir, sizeof dir);
	migrate_version_t *v2 = NULL;
	migrate_plan_t *plan = base_plan(&v2);
	migrate_error_t err;
	int rc;

	memset(&err, 0, sizeof err);
	v2->id = 1;
	rc = migrate_up(t, plan, 0, NULL, &err);
	CHECK_INT(rc, MIGRATE_EPLAN);
	CHECK_HAS(err.message, "version 1: duplicate version id");
	check_nothing_written("duplicate id", dir);
	rc = migrate_baseline(t, plan, 1, NULL, &err);
	CHECK_INT(rc, MIGRATE_EPLAN);
	check_nothing_written("duplicate id", dir);

	v2->id = 0;
	rc = migrate_up(t, plan, 0, NULL, &err);
	CHECK_INT(rc, MIGRATE_EPLAN);
	CHECK_HAS(err.message, "version 0");
	check_nothing_written("version 0", dir);
	migrate_plan_destroy(plan);
	migrate_target_close(t);
}
