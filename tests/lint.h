/*
 * Lint scenarios shared by the core test (tests/core_lint.c, no database)
 * and each driver's live test (tests/<driver>_lint.c): building a plan from
 * JSON versions, and asserting a report's findings as "version:step:rule:
 * severity" lines.
 */
#ifndef MIGRATE_TEST_LINT_H
#define MIGRATE_TEST_LINT_H

#include "harness.h"

/* A plan "lint" of the versions `json[]` ({"id", "name", "steps", "transactional"} objects, NULL-ended). */
static inline migrate_plan_t *lint_plan(const char *const *json)
{
	migrate_buf_t *doc = migrate__buf_new("{\"plan\":\"lint\",\"versions\":[");
	migrate_plan_t *p = NULL;
	migrate_error_t err;
	size_t i;
	char *text;

	memset(&err, 0, sizeof err);
	for (i = 0; json[i]; i++) {
		if (i)
			migrate_buf_append_c(doc, ',');
		migrate_buf_append(doc, json[i]);
	}
	migrate_buf_append(doc, "]}");
	text = migrate__buf_free(doc, false);
	CHECK_OK(migrate_plan_load_json(&p, text, &err), &err);
	free(text);
	return p;
}

/* The findings as "version:step:rule:severity" lines, one per finding (caller frees). */
static inline char *lint_lines(const migrate_lint_report_t *r)
{
	migrate_buf_t *out = migrate__buf_new(NULL);
	size_t i;

	for (i = 0; i < migrate_lint_report_count(r); i++) {
		const migrate_lint_finding_t *f = migrate_lint_report_finding(r, i);
		migrate_buf_printf(out, "%llu:%zu:%s:%s\n", (unsigned long long)migrate_lint_finding_version(f),
				   migrate_lint_finding_step(f), migrate_lint_finding_rule(f),
				   migrate_lint_severity_name(migrate_lint_finding_severity(f)));
		CHECK(migrate_lint_finding_message(f) && *migrate_lint_finding_message(f));
		CHECK(migrate_lint_finding_safer(f) && *migrate_lint_finding_safer(f));
	}
	return migrate__buf_free(out, false);
}

/* Lints `plan` (for `driver` without a target) with a large-table threshold of `large` rows. */
static inline migrate_lint_report_t *lint_run(const migrate_plan_t *plan, migrate_target_t *t, const char *driver,
					      int64_t large)
{
	migrate_lint_options_t o;
	migrate_lint_report_t *r = NULL;
	migrate_error_t err;

	memset(&err, 0, sizeof err);
	CHECK_OK(migrate_lint_options_init(&o, MIGRATE_LINT_OPTIONS_VERSION), &err);
	o.driver = driver;
	o.large_rows = large;
	CHECK_OK(migrate_lint(plan, t, &o, &r, &err), &err);
	return r;
}

/*
 * The live scenario: version 1 makes tables big, small and empty (id
 * primary key, name); the test then puts 5 rows in big and 1 in small with
 * its own statements. Version 2 builds a unique index on each table's
 * name (no check before), then adds a NOT NULL column without a default to
 * big and to empty. Linted with large = 3.
 */
static const char *const lint_live_versions[] = {
	"{\"id\":1,\"name\":\"tables\",\"steps\":["
	"{\"op\":\"create_table\",\"table\":\"big\",\"primary_key\":[\"id\"],\"columns\":[{\"name\":\"id\",\"type\":"
	"\"integer\",\"nullable\":false},{\"name\":\"name\",\"type\":\"text\"}]},"
	"{\"op\":\"create_table\",\"table\":\"small\",\"primary_key\":[\"id\"],\"columns\":[{\"name\":\"id\",\"type\":"
	"\"integer\",\"nullable\":false},{\"name\":\"name\",\"type\":\"text\"}]},"
	"{\"op\":\"create_table\",\"table\":\"empty\",\"primary_key\":[\"id\"],\"columns\":[{\"name\":\"id\",\"type\":"
	"\"integer\",\"nullable\":false},{\"name\":\"name\",\"type\":\"text\"}]}]}",
	"{\"id\":2,\"name\":\"changes\",\"steps\":["
	"{\"op\":\"create_index\",\"table\":\"big\",\"name\":\"big_name\",\"unique\":true,\"keys\":[{\"column\":\"name\"}]},"
	"{\"op\":\"create_index\",\"table\":\"small\",\"name\":\"small_name\",\"unique\":true,\"keys\":[{\"column\":"
	"\"name\"}]},"
	"{\"op\":\"create_index\",\"table\":\"empty\",\"name\":\"empty_name\",\"unique\":true,\"keys\":[{\"column\":"
	"\"name\"}]},"
	"{\"op\":\"add_column\",\"table\":\"big\",\"column\":{\"name\":\"flag\",\"type\":\"integer\",\"nullable\":false}},"
	"{\"op\":\"add_column\",\"table\":\"empty\",\"column\":{\"name\":\"flag\",\"type\":\"integer\",\"nullable\":"
	"false}}]}",
	NULL};

/* Applies version 1 of the live scenario; the caller then fills big (5 rows) and small (1 row). */
static inline migrate_plan_t *lint_live_setup(migrate_target_t *t)
{
	migrate_plan_t *p = lint_plan(lint_live_versions);
	migrate_error_t err;

	memset(&err, 0, sizeof err);
	CHECK_OK(migrate_up(t, p, 1, NULL, &err), &err);
	return p;
}

/* Lints the live scenario and checks its findings are `expected`. */
static inline void lint_live_check(migrate_target_t *t, const migrate_plan_t *p, const char *expected)
{
	migrate_lint_report_t *r = lint_run(p, t, NULL, 3);
	char *lines = lint_lines(r);

	CHECK_STR(lines, expected);
	CHECK_HAS(migrate_lint_finding_message(migrate_lint_report_finding(r, 0)), "about 5 ");
	free(lines);
	migrate_lint_report_destroy(r);
}

#endif
