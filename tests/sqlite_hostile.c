/*
 * Hostile input: identifiers with quotes, semicolons and comment markers are
 * quoted and never executed; overlong identifiers and embedded NULs are
 * refused before anything is written; values with quotes are bound.
 */
#include "sqlite_util.h"

static migrate_error_t err;

static const char *const hostile[] = {
	"a\"b",
	"x; DROP TABLE victim; --",
	"\"; DROP TABLE victim; --",
	"Robert'); DROP TABLE victim;--",
	"[brackets]",
	"`ticks`",
	"/* c */ t",
	NULL,
};

/* JSON string content for s (quotes and backslashes escaped). */
static void json_escape(const char *s, char *out, size_t size)
{
	size_t n = 0;

	for (; *s && n + 3 < size; s++) {
		if (*s == '"' || *s == '\\')
			out[n++] = '\\';
		out[n++] = *s;
	}
	out[n] = '\0';
}

static sqlite3 *with_victim(const char *path)
{
	sqlite3 *db = tu_open(path);

	tu_exec(db, "CREATE TABLE victim (x); INSERT INTO victim VALUES (42)");
	return db;
}

static void victim_intact(sqlite3 *db)
{
	CHECK(tu_has_table(db, "victim"));
	CHECK_INT(tu_int(db, "SELECT x FROM victim"), 42);
}

TEST(hostile_identifiers_are_quoted)
{
	const char *path = harness_path("db.sqlite");
	sqlite3 *db = with_victim(path);
	migrate_target_t *t = tu_target(path);
	migrate_plan_t *p = tu_plan("app");
	char name[200], steps[6][1200];
	size_t i;

	for (i = 0; hostile[i]; i++) {
		json_escape(hostile[i], name, sizeof name);
		snprintf(steps[0], sizeof steps[0],
			 "{\"op\":\"create_table\",\"table\":\"%s\",\"columns\":[{\"name\":\"%s\",\"type\":\"text\","
			 "\"default\":{\"value\":\"%s\"}},{\"name\":\"n\",\"type\":\"integer\",\"unique\":true}],"
			 "\"primary_key\":[\"%s\"]}",
			 name, name, name, name);
		snprintf(steps[1], sizeof steps[1],
			 "{\"op\":\"create_index\",\"table\":\"%s\",\"name\":\"%s_idx\",\"keys\":[{\"column\":\"%s\","
			 "\"order\":\"desc\"}],\"where\":{\"%s\":{\"$ne\":\"%s\"}}}",
			 name, name, name, name, name);
		snprintf(steps[2], sizeof steps[2],
			 "{\"op\":\"add_column\",\"table\":\"%s\",\"column\":{\"name\":\"%s2\",\"type\":\"timestamp\","
			 "\"default\":\"now\"}}",
			 name, name);
		snprintf(steps[3], sizeof steps[3],
			 "{\"op\":\"backfill\",\"table\":\"%s\",\"set\":{\"%s2\":{\"column\":\"%s\"}},"
			 "\"where\":{\"%s\":\"%s\"}}",
			 name, name, name, name, name);
		snprintf(steps[4], sizeof steps[4], "{\"op\":\"drop_column\",\"table\":\"%s\",\"column\":\"n\"}", name);
		snprintf(steps[5], sizeof steps[5],
			 "{\"op\":\"rename_column\",\"table\":\"%s\",\"from\":\"%s2\",\"to\":\"%s3\"}", name, name,
			 name);
		tu_version(p, i + 1, hostile[i], steps[0], steps[1], steps[2], steps[3], steps[4], steps[5], NULL);
	}
	CHECK_OK(migrate_up(t, p, 0, NULL, &err), &err);
	victim_intact(db);
	for (i = 0; hostile[i]; i++) {
		char idx[200], col3[200];
		snprintf(idx, sizeof idx, "%s_idx", hostile[i]);
		snprintf(col3, sizeof col3, "%s3", hostile[i]);
		CHECK(tu_has_table(db, hostile[i]));
		CHECK(tu_has_index(db, idx));
		CHECK(tu_has_column(db, hostile[i], hostile[i]));
		CHECK(tu_has_column(db, hostile[i], col3));
		CHECK(!tu_has_column(db, hostile[i], "n"));
	}
	/* and back down: every table gone, the victim still there */
	CHECK_INT(migrate_down(t, p, 0, NULL, &err), MIGRATE_EIRREVERSIBLE);
	victim_intact(db);
	sqlite3_close(db);
	migrate_target_close(t);
	migrate_plan_destroy(p);
}

TEST(overlong_and_nul_identifiers_are_refused)
{
	const char *path = harness_path("db.sqlite");
	sqlite3 *db = with_victim(path);
	migrate_target_t *t = tu_target(path);
	migrate_plan_t *p = tu_plan("app");
	migrate_version_t *v = NULL;
	char *json = malloc(10100 + 200), *longname = malloc(10001);
	int rc;

	memset(longname, 'a', 10000);
	longname[10000] = '\0';
	CHECK_OK(migrate_plan_add_version(p, 1, "long", &v, &err), &err);
	snprintf(json, 10300,
		 "{\"op\":\"create_table\",\"table\":\"%s\",\"columns\":[{\"name\":\"x\",\"type\":\"text\"}]}",
		 longname);
	rc = migrate_version_add_step_json(v, json, NULL, &err);
	CHECK(rc == MIGRATE_EPLAN);
	rc = migrate_version_add_step_json(
		v,
		"{\"op\":\"create_table\",\"table\":\"a\\u0000; DROP TABLE victim\",\"columns\":[{\"name\":\"x\",\"type\":\"text\"}]}",
		NULL, &err);
	CHECK(rc == MIGRATE_EPLAN || rc == MIGRATE_EJSON);
	rc = migrate_version_add_step_json(
		v, "{\"op\":\"create_table\",\"table\":\"t\",\"columns\":[{\"name\":\"x\\u0000y\",\"type\":\"text\"}]}",
		NULL, &err);
	CHECK(rc == MIGRATE_EPLAN || rc == MIGRATE_EJSON);
	rc = migrate_version_add_step_json(v, "{\"op\":\"drop_table\",\"table\":\"victim\\u0000x\"}", NULL, &err);
	CHECK(rc == MIGRATE_EPLAN || rc == MIGRATE_EJSON);
	CHECK(migrate_create_table(v, longname, NULL, &err) != 0);
	/* nothing was added, so nothing runs and nothing is written */
	CHECK_INT(migrate_version_step_count(v), 0);
	CHECK_OK(migrate_up(t, p, 0, NULL, &err), &err);
	victim_intact(db);
	CHECK_INT(tu_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '_migrate%'"),
		  1);
	free(json);
	free(longname);
	sqlite3_close(db);
	migrate_target_close(t);
	migrate_plan_destroy(p);
}

TEST(values_with_quotes_are_bound)
{
	const char *path = harness_path("db.sqlite");
	sqlite3 *db = with_victim(path);
	migrate_target_t *t = tu_target(path);
	migrate_plan_t *p = tu_plan("app");
	char *render = NULL;

	tu_exec(db, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, kind TEXT, n INTEGER);"
		    "INSERT INTO notes (body, kind) VALUES ('x''); DROP TABLE victim; --', 'k'), ('plain', 'k''');");
	tu_version(
		p, 1, "values",
		"{\"op\":\"backfill\",\"table\":\"notes\",\"set\":{\"kind\":{\"value\":\"'); DROP TABLE victim; --\"}},"
		"\"where\":{\"body\":\"x'); DROP TABLE victim; --\"}}",
		"{\"op\":\"map_values\",\"table\":\"notes\",\"column\":\"kind\",\"map\":{\"k'\":\"\\\"; DROP TABLE "
		"victim; --\\ttail\"}}",
		"{\"op\":\"add_column\",\"table\":\"notes\",\"column\":{\"name\":\"d\",\"type\":\"text\",\"default\":"
		"{\"value\":\"it's '); DROP TABLE victim; --\"}}}",
		"{\"op\":\"create_enum\",\"name\":\"q\",\"values\":[\"a'b\",\"c\\\"d\"]}",
		"{\"op\":\"add_column\",\"table\":\"notes\",\"column\":{\"name\":\"e\",\"type\":\"enum:q\"}}",
		"{\"op\":\"assert\",\"count\":{\"table\":\"notes\",\"where\":{\"body\":{\"$in\":[\"x'); DROP TABLE "
		"victim; --\",\"'\"]}}},\"expect\":1}",
		NULL);
	CHECK_OK(migrate_render(t, p, 0, &render, &err), &err);
	/* the render shows the values in comments; a NUL or line break cannot end the comment */
	CHECK_HAS(render, "-- parameters: '''); DROP TABLE victim; --'");
	migrate_free(render);
	CHECK_OK(migrate_up(t, p, 0, NULL, &err), &err);
	victim_intact(db);
	CHECK_STR(tu_text(db, "SELECT kind FROM notes WHERE id = 1"), "'); DROP TABLE victim; --");
	/* a value with quotes and a tab is bound whole */
	CHECK_STR(tu_text(db, "SELECT kind FROM notes WHERE id = 2"), "\"; DROP TABLE victim; --\ttail");
	CHECK_STR(tu_text(db, "SELECT d FROM notes WHERE id = 2"), "it's '); DROP TABLE victim; --");
	tu_exec(db, "UPDATE notes SET e = 'a''b' WHERE id = 1; UPDATE notes SET e = 'c\"d' WHERE id = 2");
	CHECK(sqlite3_exec(db, "UPDATE notes SET e = 'a'", NULL, NULL, NULL) == SQLITE_CONSTRAINT);
	sqlite3_close(db);
	migrate_target_close(t);
	migrate_plan_destroy(p);
}

TEST(nul_in_a_ddl_literal_is_refused)
{
	const char *path = harness_path("db.sqlite");
	sqlite3 *db = with_victim(path);
	migrate_target_t *t = tu_target(path);
	migrate_plan_t *p = tu_plan("app");
	migrate_version_t *v = NULL;
	int rc;

	tu_exec(db, "CREATE TABLE notes (body TEXT)");
	CHECK_OK(migrate_plan_add_version(p, 1, "nul default", &v, &err), &err);
	rc = migrate_version_add_step_json(
		v,
		"{\"op\":\"add_column\",\"table\":\"notes\",\"column\":{\"name\":\"d\",\"type\":\"text\",\"default\":"
		"{\"value\":\"a\\u0000'); DROP TABLE victim; --\"}}}",
		NULL, &err);
	/* the plan is refused where it is built, naming the field */
	CHECK_INT(rc, MIGRATE_EPLAN);
	CHECK_HAS(err.message, "column.default.value: contains a NUL character");
	CHECK_INT(migrate_up(t, p, 0, NULL, &err), 0); /* the version has no steps left */
	victim_intact(db);
	CHECK(!tu_has_column(db, "notes", "d"));
	sqlite3_close(db);
	migrate_target_close(t);
	migrate_plan_destroy(p);
}
