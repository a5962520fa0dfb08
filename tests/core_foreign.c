/*
 * Other tools' migration directories read as plans (docs/switching.md):
 * the directories of tests/foreign/ load with the ids, steps and transaction
 * rules of their format, survive `import` (migrate_plan_save_dir) with the
 * same checksums, and bad files are refused naming the file. No database.
 */
#include <sys/stat.h>

#include "harness.h"

static migrate_plan_t *load(const char *format, const char *dir)
{
	migrate_plan_t *plan = NULL;
	migrate_error_t err;
	char path[1024];

	snprintf(path, sizeof path, "%s/tests/foreign/%s", MIGRATE_SOURCE_DIR, dir);
	CHECK_OK(migrate_plan_load_dir_format(&plan, path, format, &err), &err);
	return plan;
}

TEST(flyway_ids_sort_as_flyway_does)
{
	static const uint64_t ids[] = {1000000000ull, 1001000000ull, 2000000000ull, 2000001000ull};
	migrate_plan_t *plan = load("flyway", "flyway");
	size_t i;

	CHECK_STR(migrate_plan_name(plan), "flyway");
	CHECK_INT((int)migrate_plan_version_count(plan), 4);
	for (i = 0; i < 4; i++)
		CHECK_INT((long long)migrate_version_id(migrate_plan_version_at(plan, i)), (long long)ids[i]);
	CHECK_STR(migrate_version_name(migrate_plan_version_at(plan, 1)), "V1.1__create_orders");
	/* executeInTransaction=false: one step per statement. */
	CHECK_INT((int)migrate_version_step_count(migrate_plan_version_at(plan, 3)), 2);
	CHECK_INT((int)migrate_version_step_count(migrate_plan_version_at(plan, 0)), 1);
	migrate_plan_destroy(plan);
}

TEST(goose_statements_and_blocks)
{
	migrate_plan_t *plan = load("goose", "goose");

	CHECK_INT((int)migrate_plan_version_count(plan), 4);
	CHECK_INT((long long)migrate_version_id(migrate_plan_version_at(plan, 0)), 20240101090000ll);
	/* A table and its index; then a table, an index, two inserts, the function's block and a trigger. */
	CHECK_INT((int)migrate_version_step_count(migrate_plan_version_at(plan, 0)), 2);
	CHECK_INT((int)migrate_version_step_count(migrate_plan_version_at(plan, 1)), 6);
	CHECK_INT((int)migrate_version_step_count(migrate_plan_version_at(plan, 3)), 2);
	migrate_plan_destroy(plan);
}

TEST(golang_migrate_files)
{
	migrate_plan_t *plan = load("golang-migrate", "golang-migrate");
	size_t i;

	CHECK_INT((int)migrate_plan_version_count(plan), 4);
	for (i = 0; i < 4; i++) {
		CHECK_INT((int)migrate_version_id(migrate_plan_version_at(plan, i)), (int)i + 1);
		CHECK_INT((int)migrate_version_step_count(migrate_plan_version_at(plan, i)), 1);
	}
	CHECK_STR(migrate_version_name(migrate_plan_version_at(plan, 3)), "000004_orders_status_index");
	migrate_plan_destroy(plan);
	plan = load("golang-migrate", "golang-migrate-mongo");
	CHECK_INT((int)migrate_plan_version_count(plan), 3);
	migrate_plan_destroy(plan);
}

/* import: the plan directory written loads with the same names, ids and checksums. */
TEST(save_dir_keeps_checksums)
{
	static const char *const dirs[][2] = {{"golang-migrate", "golang-migrate"},
					      {"golang-migrate", "golang-migrate-mongo"},
					      {"goose", "goose"},
					      {"flyway", "flyway"}};
	migrate_error_t err;
	char out[1024], ca[65], cb[65], path[1100];
	size_t d, i;

	for (d = 0; d < 4; d++) {
		migrate_plan_t *plan = load(dirs[d][0], dirs[d][1]), *again = NULL;
		snprintf(out, sizeof out, "%s", harness_path(dirs[d][1]));
		CHECK_OK(migrate_plan_save_dir(plan, out, &err), &err);
		CHECK_OK(migrate_plan_load_file(&again, out, &err), &err);
		CHECK_STR(migrate_plan_name(again), migrate_plan_name(plan));
		CHECK_INT((int)migrate_plan_version_count(again), (int)migrate_plan_version_count(plan));
		for (i = 0; i < migrate_plan_version_count(plan); i++) {
			const migrate_version_t *a = migrate_plan_version_at(plan, i),
						*b = migrate_plan_version_at(again, i);
			CHECK_INT((long long)migrate_version_id(a), (long long)migrate_version_id(b));
			CHECK_OK(migrate_version_checksum(a, ca, sizeof ca, &err), &err);
			CHECK_OK(migrate_version_checksum(b, cb, sizeof cb, &err), &err);
			CHECK_STR(ca, cb);
		}
		/* A directory that is not empty is refused. */
		memset(&err, 0, sizeof err);
		CHECK_INT(migrate_plan_save_dir(plan, out, &err), MIGRATE_EIO);
		CHECK_HAS(err.message, "exists and is not empty");
		migrate_plan_destroy(again);
		migrate_plan_destroy(plan);
	}
	/* The goose version run without a transaction says so, and keeps its comments' SQL. */
	snprintf(path, sizeof path, "%s/20240104090000_orders_status_index.json", harness_path("goose"));
	{
		char *text = harness_read_text(path);
		CHECK_HAS(text, "\"transactional\" : false");
		CHECK_HAS(text, "CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_status_idx");
		free(text);
	}
}

/* A directory of two files (the second may be NULL) that a format refuses with `needle`. */
typedef struct refusal {
	const char *format;
	const char *file, *text, *file2, *text2;
	int code;
	const char *needle;
} refusal_t;

static const refusal_t refusals[] = {
	{"flyway", "V1__a.sql", "SELECT 1;\n", "R__views.sql", "CREATE VIEW v AS SELECT 1;\n", MIGRATE_EPLAN,
	 "R__views.sql: repeatable Flyway migrations (R__) are not supported"},
	{"flyway", "V1.2.3.4.5__a.sql", "SELECT 1;\n", NULL, NULL, MIGRATE_EPLAN,
	 "V1.2.3.4.5__a.sql: version \"1.2.3.4.5\""},
	{"flyway", "V1.1000__a.sql", "SELECT 1;\n", NULL, NULL, MIGRATE_EPLAN,
	 "parts after the first must be below 1000"},
	{"flyway", "V0__a.sql", "SELECT 1;\n", NULL, NULL, MIGRATE_EPLAN, "ids start at 1"},
	{"flyway", "V1__a.sql", "CREATE TABLE ${prefix}_t (id int);\n", NULL, NULL, MIGRATE_EPLAN,
	 "V1__a.sql: Flyway placeholders"},
	{"flyway", "V1__a.sql", "SELECT 1;\n", "V1__a.sql.conf", "executeInTransaction=false\n", MIGRATE_EPLAN,
	 "V1__a.sql.conf: Flyway script config files are not read"},
	{"flyway", "V1__a.sql", "-- flyway:shouldExecute=false\nSELECT 1;\n", NULL, NULL, MIGRATE_EPLAN,
	 "unsupported script setting"},
	{"flyway", "U1__a.sql", "SELECT 1;\n", NULL, NULL, MIGRATE_EPLAN,
	 "U1__a.sql: a down (undo) file without its up file"},
	{"goose", "00002_code.go", "package migrations\n", NULL, NULL, MIGRATE_EPLAN,
	 "00002_code.go: goose Go migrations run Go code"},
	{"goose", "1_a.sql", "-- +goose Up\nSELECT 1;\n", "001_b.sql", "-- +goose Up\nSELECT 2;\n", MIGRATE_EPLAN,
	 "version 1 is also defined by"},
	{"goose", "1_a.sql", "-- +goose Up\n-- +goose StatementBegin\nSELECT 1;\n", NULL, NULL, MIGRATE_EPLAN,
	 "1_a.sql: the last statement is not finished"},
	{"goose", "1_a.sql", "-- +goose ENVSUB ON\n-- +goose Up\nSELECT 1;\n", NULL, NULL, MIGRATE_EPLAN,
	 "unsupported goose annotation \"+goose ENVSUB ON\""},
	{"goose", "1_a.sql", "SELECT 1;\n", NULL, NULL, MIGRATE_EPLAN, "1_a.sql: no -- +goose Up annotation"},
	{"golang-migrate", "1_a.sql", "SELECT 1;\n", NULL, NULL, MIGRATE_EPLAN,
	 "1_a.sql: not a golang-migrate file name"},
	{"golang-migrate", "1_a.up.json", "{\"create\": ", NULL, NULL, MIGRATE_EJSON, "1_a.up.json"},
	{"liquibase", "1_a.sql", "SELECT 1;\n", NULL, NULL, MIGRATE_EINVAL, "unknown plan format \"liquibase\""},
	/* A file that controls the transaction would cut across libmigrate's. */
	{"goose", "1_a.sql", "-- +goose Up\nBEGIN;\nCREATE TABLE t (id int);\nCOMMIT;\n", NULL, NULL, MIGRATE_EPLAN,
	 "1_a.sql: a statement controls the transaction"},
	{"goose", "1_a.sql", "-- +goose NO TRANSACTION\n-- +goose Up\nSTART TRANSACTION;\nSELECT 1;\nEND;\n", NULL,
	 NULL, MIGRATE_EPLAN, "1_a.sql: a statement controls the transaction"},
	{"flyway", "V1__a.sql", "CREATE TABLE t (id int);\nCOMMIT;\n", NULL, NULL, MIGRATE_EPLAN,
	 "V1__a.sql: a statement controls the transaction"},
};

TEST(bad_files_are_named)
{
	char name[32];
	size_t i;

	for (i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
		const refusal_t *r = &refusals[i];
		migrate_plan_t *plan = NULL;
		migrate_error_t err;
		const char *dir;
		snprintf(name, sizeof name, "refusal%zu", i);
		dir = harness_fresh_dir(name);
		harness_write_text(dir, r->file, r->text);
		if (r->file2)
			harness_write_text(dir, r->file2, r->text2);
		memset(&err, 0, sizeof err);
		CHECK_INT(migrate_plan_load_dir_format(&plan, dir, r->format, &err), r->code);
		CHECK_HAS(err.message, r->needle);
		CHECK(plan == NULL);
	}
}

/*
 * golang-migrate sends a file as one query, so its own BEGIN ... COMMIT is
 * the documented way to make it atomic: such a file runs as it is, outside
 * libmigrate's transaction (its COMMIT would end that one before the
 * journal write). A BEGIN inside a function body is not one.
 */
/* The checksum of a version of one sql step, run in a transaction or not. */
static void sql_sum(const char *up, int transactional, char out[65])
{
	migrate_plan_t *p = NULL;
	migrate_version_t *v = NULL;
	migrate_error_t err;

	CHECK_OK(migrate_plan_new(&p, "x", &err), &err);
	CHECK_OK(migrate_plan_add_version(p, 1, "x", &v, &err), &err);
	CHECK_OK(migrate_sql(v, up, NULL, NULL, &err), &err);
	CHECK_OK(migrate_version_set_transactional(v, transactional), &err);
	CHECK_OK(migrate_version_checksum(v, out, 65, &err), &err);
	migrate_plan_destroy(p);
}

TEST(golang_migrate_own_transaction)
{
	static const char own[] = "BEGIN;\nCREATE TYPE s AS ENUM ('a');\nCREATE TABLE t (x s);\nCOMMIT;\n";
	static const char body[] = "CREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END $$ LANGUAGE plpgsql;\n";
	migrate_plan_t *plan = NULL;
	migrate_error_t err;
	const char *dir = harness_fresh_dir("gm_txn");
	char got[65], want[65];

	harness_write_text(dir, "1_a.up.sql", own);
	harness_write_text(dir, "2_b.up.sql", body);
	CHECK_OK(migrate_plan_load_dir_format(&plan, dir, "golang-migrate", &err), &err);
	CHECK_OK(migrate_version_checksum(migrate_plan_version_at(plan, 0), got, sizeof got, &err), &err);
	sql_sum(own, 0, want);
	CHECK_STR(got, want);
	CHECK_OK(migrate_version_checksum(migrate_plan_version_at(plan, 1), got, sizeof got, &err), &err);
	sql_sum(body, 1, want);
	CHECK_STR(got, want);
	migrate_plan_destroy(plan);
}

/* Statements split at top-level semicolons only: quotes, dollar quotes and comments kept whole. */
TEST(flyway_statement_split)
{
	migrate_plan_t *plan = NULL;
	migrate_error_t err;
	const char *dir = harness_fresh_dir("split");

	harness_write_text(dir, "V1__a.sql",
			   "-- flyway:executeInTransaction=false\n"
			   "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;\n"
			   "/* a; comment */ INSERT INTO t VALUES ('a;b', \"c;\");\n"
			   "-- a trailing comment; with a semicolon\n");
	CHECK_OK(migrate_plan_load_dir_format(&plan, dir, "flyway", &err), &err);
	CHECK_INT((int)migrate_version_step_count(migrate_plan_version_at(plan, 0)), 2);
	migrate_plan_destroy(plan);
}
