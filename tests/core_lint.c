/*
 * Lint without a database: for every rule of the library's table, a plan
 * that triggers it and one that does not (the case table below; one test
 * checks that no rule lacks either), silencing a rule with the step's
 * "lint" field (and its checksum staying the same), the validation errors
 * of that field, and the options and arguments migrate_lint() refuses.
 */
#include "lint.h"

/* A version made earlier: jobs (id primary key, name, status) and a table without a primary key. */
#define BASE                                                                                                   \
	"{\"id\":1,\"name\":\"base\",\"steps\":["                                                              \
	"{\"op\":\"create_table\",\"table\":\"jobs\",\"primary_key\":[\"id\"],\"columns\":[{\"name\":\"id\","  \
	"\"type\":\"integer\",\"nullable\":false},{\"name\":\"name\",\"type\":\"text\"},{\"name\":\"status\"," \
	"\"type\":\"text\"},{\"name\":\"tool_ids\",\"type\":\"json\"}]},"                                      \
	"{\"op\":\"create_table\",\"table\":\"log\",\"columns\":[{\"name\":\"line\",\"type\":\"text\"}]}]}"

#define V2(steps) "{\"id\":2,\"name\":\"change\",\"steps\":[" steps "]}"
#define V2_NOTXN(steps) "{\"id\":2,\"name\":\"change\",\"transactional\":false,\"steps\":[" steps "]}"

#define INDEX(extra) \
	"{\"op\":\"create_index\",\"table\":\"jobs\",\"name\":\"jobs_name\",\"keys\":[{\"column\":\"name\"}]" extra "}"
#define NEW_TABLE "{\"op\":\"create_table\",\"table\":\"fresh\",\"columns\":[{\"name\":\"name\",\"type\":\"text\"}]}"
#define UNIQUE_CHECK "{\"op\":\"assert\",\"unique\":{\"table\":\"jobs\",\"columns\":[\"name\"]}}"

typedef struct lint_case {
	const char *rule;
	const char *driver;
	const char *v2;       /* version 2, after BASE */
	const char *expected; /* "version:step:rule:severity" lines; "" when the rule must not fire */
} lint_case;

static const lint_case cases[] = {
	/* pg-index-not-concurrent */
	{"pg-index-not-concurrent", "postgres", V2(INDEX("")), "2:0:pg-index-not-concurrent:warning\n"},
	{"pg-index-not-concurrent", "postgres", V2_NOTXN(INDEX(",\"online\":true")), ""},
	{"pg-index-not-concurrent", "postgres",
	 V2(NEW_TABLE ",{\"op\":\"create_index\",\"table\":\"fresh\",\"name\":\"f\",\"keys\":[{\"column\":\"name\"}]}"),
	 ""},
	{"pg-index-not-concurrent", "sqlite", V2(INDEX("")), ""},
	/* add-column-not-null-no-default */
	{"add-column-not-null-no-default", "sqlite",
	 V2("{\"op\":\"add_column\",\"table\":\"jobs\",\"column\":{\"name\":\"n\",\"type\":\"integer\",\"nullable\":"
	    "false}}"),
	 "2:0:add-column-not-null-no-default:warning\n"},
	{"add-column-not-null-no-default", "sqlite",
	 V2("{\"op\":\"add_column\",\"table\":\"jobs\",\"column\":{\"name\":\"n\",\"type\":\"integer\",\"nullable\":"
	    "false,\"default\":{\"value\":0}}}"),
	 ""},
	{"add-column-not-null-no-default", "mongo",
	 V2("{\"op\":\"add_column\",\"table\":\"jobs\",\"column\":{\"name\":\"n\",\"type\":\"integer\",\"nullable\":"
	    "false}}"),
	 ""},
	/* column-type-rewrite */
	{"column-type-rewrite", "postgres",
	 V2("{\"op\":\"sql\",\"up\":\"ALTER TABLE public.\\\"jobs\\\" ALTER COLUMN status TYPE integer USING "
	    "status::integer\",\"down\":\"SELECT 1\"}"),
	 "2:0:column-type-rewrite:warning\n"},
	{"column-type-rewrite", "postgres",
	 V2("{\"op\":\"sql\",\"up\":\"alter table jobs alter column status set default 'x'; select 'alter table jobs "
	    "alter status type int'\",\"down\":\"SELECT 1\"}"),
	 ""},
	/* Truncated statements end the reading at their end (nothing read past it). */
	{"column-type-rewrite", "postgres", V2("{\"op\":\"sql\",\"up\":\"ALTER TABLE IF\",\"down\":\"SELECT 1\"}"), ""},
	{"column-type-rewrite", "postgres",
	 V2("{\"op\":\"sql\",\"up\":\"ALTER TABLE jobs ALTER COLUMN status SET\",\"down\":\"SELECT 1\"}"), ""},
	{"column-type-rewrite", "postgres",
	 V2("{\"op\":\"sql\",\"up\":\"ALTER TABLE IF EXISTS jobs ALTER status SET DATA TYPE bigint\",\"down\":"
	    "\"SELECT 1\"}"),
	 "2:0:column-type-rewrite:warning\n"},
	/* rename-or-drop-in-use */
	{"rename-or-drop-in-use", "sqlite",
	 V2("{\"op\":\"rename_column\",\"table\":\"jobs\",\"from\":\"name\",\"to\":\"title\"}"),
	 "2:0:rename-or-drop-in-use:warning\n"},
	{"rename-or-drop-in-use", "sqlite",
	 V2("{\"op\":\"add_column\",\"table\":\"jobs\",\"column\":{\"name\":\"tools\",\"type\":\"integer\"}},"
	    "{\"op\":\"backfill\",\"table\":\"jobs\",\"set\":{\"tools\":{\"array_length\":\"tool_ids\"}}},"
	    "{\"op\":\"drop_column\",\"table\":\"jobs\",\"column\":\"tool_ids\"}"),
	 "2:1:version-mixed-transaction:warning\n2:2:rename-or-drop-in-use:warning\n"},
	{"rename-or-drop-in-use", "sqlite", V2("{\"op\":\"drop_column\",\"table\":\"jobs\",\"column\":\"tool_ids\"}"),
	 ""},
	{"rename-or-drop-in-use", "sqlite", V2(NEW_TABLE ",{\"op\":\"drop_table\",\"table\":\"log\"}"),
	 "2:1:rename-or-drop-in-use:warning\n"},
	{"rename-or-drop-in-use", "sqlite", V2("{\"op\":\"drop_table\",\"table\":\"log\"}"), ""},
	{"rename-or-drop-in-use", "sqlite",
	 V2(NEW_TABLE ",{\"op\":\"rename_table\",\"from\":\"fresh\",\"to\":\"fresher\"}"), ""},
	/* backfill-not-batched */
	{"backfill-not-batched", "postgres",
	 V2_NOTXN("{\"op\":\"backfill\",\"table\":\"log\",\"set\":{\"line\":{\"value\":\"x\"}}}"),
	 "2:0:backfill-not-batched:warning\n"},
	{"backfill-not-batched", "sqlite",
	 V2("{\"op\":\"sql\",\"up\":\"-- all of them\\n/* at once */ UPDATE jobs SET status = 'done'\",\"down\":"
	    "\"SELECT 1\"}"),
	 "2:0:backfill-not-batched:warning\n"},
	{"backfill-not-batched", "postgres",
	 V2_NOTXN("{\"op\":\"backfill\",\"table\":\"jobs\",\"set\":{\"status\":{\"value\":\"x\"}}}"), ""},
	{"backfill-not-batched", "postgres",
	 V2("{\"op\":\"sql\",\"up\":\"CREATE TRIGGER t BEFORE UPDATE ON jobs FOR EACH ROW EXECUTE FUNCTION f()\","
	    "\"down\":\"DROP TRIGGER t ON jobs\"}"),
	 ""},
	{"backfill-not-batched", "sqlite",
	 V2_NOTXN("{\"op\":\"backfill\",\"table\":\"jobs\",\"batch_size\":500000,\"set\":{\"status\":{\"value\":"
		  "\"x\"}}}"),
	 "2:0:backfill-not-batched:warning\n"},
	{"backfill-not-batched", "sqlite",
	 V2_NOTXN("{\"op\":\"backfill\",\"table\":\"jobs\",\"batch_size\":5000,\"set\":{\"status\":{\"value\":"
		  "\"x\"}}}"),
	 ""},
	/* unique-index-unchecked */
	{"unique-index-unchecked", "sqlite", V2(INDEX(",\"unique\":true")), "2:0:unique-index-unchecked:warning\n"},
	{"unique-index-unchecked", "sqlite", V2(UNIQUE_CHECK "," INDEX(",\"unique\":true")), ""},
	/* version-mixed-transaction */
	{"version-mixed-transaction", "sqlite",
	 V2("{\"op\":\"add_column\",\"table\":\"jobs\",\"column\":{\"name\":\"n\",\"type\":\"integer\"}},"
	    "{\"op\":\"map_values\",\"table\":\"jobs\",\"column\":\"status\",\"map\":{\"a\":\"b\"}}"),
	 "2:1:version-mixed-transaction:warning\n"},
	{"version-mixed-transaction", "sqlite",
	 V2_NOTXN("{\"op\":\"add_column\",\"table\":\"jobs\",\"column\":{\"name\":\"n\",\"type\":\"integer\"}},"
		  "{\"op\":\"map_values\",\"table\":\"jobs\",\"column\":\"status\",\"map\":{\"a\":\"b\"}}"),
	 ""},
	{"version-mixed-transaction", "mongo",
	 V2("{\"op\":\"add_column\",\"table\":\"jobs\",\"column\":{\"name\":\"n\",\"type\":\"integer\"}},"
	    "{\"op\":\"map_values\",\"table\":\"jobs\",\"column\":\"status\",\"map\":{\"a\":\"b\"}}"),
	 ""},
	/* mongo-unique-index-unchecked */
	{"mongo-unique-index-unchecked", "mongo", V2(INDEX(",\"unique\":true")),
	 "2:0:mongo-unique-index-unchecked:warning\n"},
	{"mongo-unique-index-unchecked", "mongo", V2(UNIQUE_CHECK "," INDEX(",\"unique\":true")), ""},
};
#define NCASES (sizeof cases / sizeof cases[0])

static char *lint_case_lines(const lint_case *c)
{
	const char *versions[] = {BASE, c->v2, NULL};
	migrate_plan_t *p = lint_plan(versions);
	migrate_lint_report_t *r = lint_run(p, NULL, c->driver, 100000);
	char *lines = lint_lines(r);

	migrate_lint_report_destroy(r);
	migrate_plan_destroy(p);
	return lines;
}

static void run_rule(const char *rule)
{
	size_t i, n = 0;

	for (i = 0; i < NCASES; i++) {
		char *lines;
		if (strcmp(cases[i].rule, rule) != 0)
			continue;
		lines = lint_case_lines(&cases[i]);
		if (strcmp(lines, cases[i].expected) != 0)
			harness_fail(__FILE__, __LINE__, "case %zu (%s on %s): findings\n%s, expected\n%s", i, rule,
				     cases[i].driver, lines, cases[i].expected);
		free(lines);
		n++;
	}
	CHECK(n >= 2);
}

TEST(lint_pg_index_not_concurrent)
{
	run_rule("pg-index-not-concurrent");
}

TEST(lint_add_column_not_null_no_default)
{
	run_rule("add-column-not-null-no-default");
}

TEST(lint_column_type_rewrite)
{
	run_rule("column-type-rewrite");
}

TEST(lint_rename_or_drop_in_use)
{
	run_rule("rename-or-drop-in-use");
}

TEST(lint_backfill_not_batched)
{
	run_rule("backfill-not-batched");
}

TEST(lint_unique_index_unchecked)
{
	run_rule("unique-index-unchecked");
}

TEST(lint_version_mixed_transaction)
{
	run_rule("version-mixed-transaction");
}

TEST(lint_mongo_unique_index_unchecked)
{
	run_rule("mongo-unique-index-unchecked");
}

/* Every rule of the library has a case that fires it and one that does not, and a TEST above. */
TEST(lint_every_rule_has_cases)
{
	size_t i, j;

	CHECK(migrate_lint_rule_count() >= 8);
	for (i = 0; i < migrate_lint_rule_count(); i++) {
		const char *id = NULL, *summary = NULL;
		int severity = 0, fires = 0, quiet = 0;
		CHECK_OK(migrate_lint_rule_at(i, &id, &severity, &summary), &(migrate_error_t){0});
		CHECK(summary && *summary);
		CHECK(severity == MIGRATE_LINT_WARNING || severity == MIGRATE_LINT_ERROR);
		for (j = 0; j < NCASES; j++)
			if (!strcmp(cases[j].rule, id)) {
				fires += strstr(cases[j].expected, id) != NULL;
				quiet += strstr(cases[j].expected, id) == NULL;
			}
		if (!fires || !quiet)
			harness_fail(__FILE__, __LINE__, "rule %s: %d cases fire it, %d do not", id, fires, quiet);
	}
	CHECK_INT(migrate_lint_rule_at(migrate_lint_rule_count(), NULL, NULL, NULL), MIGRATE_EINVAL);
}

/* A step's "lint" field silences one rule there, counted, and leaves the checksum as it was. */
TEST(lint_silence)
{
	const char *loud[] = {BASE, V2(INDEX(",\"unique\":true")), NULL};
	const char *quiet[] = {BASE,
			       V2(INDEX(",\"unique\":true,\"lint\":{\"ignore\":[\"unique-index-unchecked\"],"
					"\"reason\":\"names are unique since version 1\"}")),
			       NULL};
	migrate_plan_t *a = lint_plan(loud), *b = lint_plan(quiet);
	migrate_lint_report_t *r = lint_run(b, NULL, "postgres", 100000);
	char *lines = lint_lines(r), sa[65], sb[65];
	migrate_error_t err = {0};
	migrate_version_t *v = NULL;
	migrate_step_t *s = NULL;

	CHECK_STR(lines, "2:0:pg-index-not-concurrent:warning\n");
	CHECK_INT(migrate_lint_report_silenced(r), 1);
	CHECK_INT(migrate_lint_report_max_severity(r), MIGRATE_LINT_WARNING);
	CHECK_OK(migrate_version_checksum(migrate_plan_version_at(a, 1), sa, sizeof sa, &err), &err);
	CHECK_OK(migrate_version_checksum(migrate_plan_version_at(b, 1), sb, sizeof sb, &err), &err);
	CHECK_STR(sa, sb);
	free(lines);
	migrate_lint_report_destroy(r);
	migrate_plan_destroy(b);
	/* The same through the C API, on a step built by the typed functions. */
	migrate_plan_destroy(a);
	CHECK_OK(migrate_plan_new(&a, "lint", &err), &err);
	CHECK_OK(migrate_plan_add_version(a, 1, "base", &v, &err), &err);
	CHECK_OK(
		migrate_version_add_step_json(
			v,
			"{\"op\":\"create_table\",\"table\":\"jobs\",\"columns\":[{\"name\":\"name\",\"type\":\"text\"}]}",
			NULL, &err),
		&err);
	CHECK_OK(migrate_plan_add_version(a, 2, "index", &v, &err), &err);
	CHECK_OK(migrate_version_add_step_json(v, INDEX(""), &s, &err), &err);
	CHECK_OK(migrate_version_checksum(v, sa, sizeof sa, &err), &err);
	CHECK_OK(migrate_step_lint_ignore(s, "pg-index-not-concurrent", "a table of ten rows", &err), &err);
	CHECK_OK(migrate_version_checksum(v, sb, sizeof sb, &err), &err);
	CHECK_STR(sa, sb);
	r = lint_run(a, NULL, "postgres", 100000);
	CHECK_INT(migrate_lint_report_count(r), 0);
	CHECK_INT(migrate_lint_report_silenced(r), 1);
	migrate_lint_report_destroy(r);
	CHECK_INT(migrate_step_lint_ignore(s, "no-such-rule", "why", &err), MIGRATE_EPLAN);
	CHECK_HAS(err.message, "version 2");
	CHECK_HAS(err.message, "no-such-rule");
	CHECK_INT(migrate_step_lint_ignore(s, "pg-index-not-concurrent", "", &err), MIGRATE_EINVAL);
	migrate_plan_destroy(a);
}

/* A bad "lint" field is a plan error naming the step (its JSON path) and the field. */
TEST(lint_field_errors)
{
	static const struct {
		const char *lint, *message;
	} bad[] = {
		{"\"x\"", "lint: must be an object"},
		{"{\"ignore\":[\"pg-index-not-concurrent\"]}", "lint.reason: is required"},
		{"{\"ignore\":[\"pg-index-not-concurrent\"],\"reason\":\"\"}", "lint.reason: is required"},
		{"{\"ignore\":[],\"reason\":\"r\"}", "lint.ignore: is required"},
		{"{\"reason\":\"r\"}", "lint.ignore: is required"},
		{"{\"ignore\":[\"nope\"],\"reason\":\"r\"}", "lint.ignore[0]: unknown lint rule \"nope\""},
		{"{\"ignore\":[\"pg-index-not-concurrent\"],\"reason\":\"r\",\"until\":3}",
		 "lint.until: unknown field"},
	};
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char json[1024];
		migrate_plan_t *p = NULL;
		migrate_error_t err = {0};
		snprintf(json, sizeof json,
			 "{\"plan\":\"lint\",\"versions\":[{\"id\":7,\"name\":\"v\",\"steps\":[{\"op\":\"drop_table\","
			 "\"table\":\"t\",\"lint\":%s}]}]}",
			 bad[i].lint);
		CHECK_INT(migrate_plan_load_json(&p, json, &err), MIGRATE_EPLAN);
		CHECK(p == NULL);
		CHECK_HAS(err.message, "versions[0].steps[0]: ");
		CHECK_HAS(err.message, bad[i].message);
	}
}

TEST(lint_arguments)
{
	const char *versions[] = {BASE, NULL};
	migrate_plan_t *p = lint_plan(versions);
	migrate_lint_report_t *r = (migrate_lint_report_t *)p;
	migrate_lint_options_t o;
	migrate_error_t err = {0};

	CHECK_INT(migrate_lint(p, NULL, NULL, &r, &err), MIGRATE_EINVAL);
	CHECK(r == NULL);
	CHECK_HAS(err.message, "driver");
	CHECK_OK(migrate_lint_options_init(&o, MIGRATE_LINT_OPTIONS_VERSION), &err);
	o.driver = "oracle";
	CHECK_INT(migrate_lint(p, NULL, &o, &r, &err), MIGRATE_ENOTFOUND);
	CHECK_HAS(err.message, "oracle");
	o.version = 99;
	CHECK_INT(migrate_lint(p, NULL, &o, &r, &err), MIGRATE_EVERSION);
	CHECK_INT(migrate_lint_options_init(&o, 99), MIGRATE_EVERSION);
	CHECK_INT(migrate_lint_options_init(NULL, MIGRATE_LINT_OPTIONS_VERSION), MIGRATE_EINVAL);
	CHECK_INT(migrate_lint(NULL, NULL, NULL, &r, &err), MIGRATE_EINVAL);
	CHECK_INT(migrate_lint_report_count(NULL), 0);
	CHECK(migrate_lint_report_finding(NULL, 0) == NULL);
	CHECK(migrate_lint_finding_rule(NULL) == NULL);
	CHECK_STR(migrate_lint_severity_name(MIGRATE_LINT_ERROR), "error");
	CHECK_STR(migrate_lint_severity_name(0), "unknown");
	migrate_lint_report_destroy(NULL);
	migrate_plan_destroy(p);
}
