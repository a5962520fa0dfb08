/*
 * The drift scenario every driver runs (`migrate check --schema`): one plan
 * in the portable vocabulary, and the lookups that assert a report. Each
 * driver's test applies the plan, checks that a clean database reports
 * nothing, changes the database behind the library's back with its own
 * statements or commands (checked by querying the catalog), and checks
 * that every change is reported with the version that made the object.
 */
#ifndef MIGRATE_TEST_DRIFT_H
#define MIGRATE_TEST_DRIFT_H

#include "harness.h"

/*
 * Version 1: enum jobstatus (when `enums`), table jobs, index
 * jobs_status_idx. Version 2: column jobs.note, unique index jobs_name_idx,
 * table extra_t.
 */
static inline migrate_plan_t *drift_plan(int enums)
{
	migrate_plan_t *p = NULL;
	migrate_version_t *v = NULL;
	migrate_error_t err;

	CHECK_OK(migrate_plan_new(&p, "drift", &err), &err);
	CHECK_OK(migrate_plan_add_version(p, 1, "jobs", &v, &err), &err);
	if (enums)
		CHECK_OK(migrate_version_add_step_json(v,
						       "{\"op\":\"create_enum\",\"name\":\"jobstatus\","
						       "\"values\":[\"pending\",\"running\",\"done\"]}",
						       NULL, &err),
			 &err);
	CHECK_OK(
		migrate_version_add_step_json(
			v,
			enums ? "{\"op\":\"create_table\",\"table\":\"jobs\",\"primary_key\":[\"id\"],\"columns\":["
				"{\"name\":\"id\",\"type\":\"integer\",\"nullable\":false},"
				"{\"name\":\"status\",\"type\":\"enum:jobstatus\",\"default\":{\"value\":\"pending\"}},"
				"{\"name\":\"name\",\"type\":\"text\",\"nullable\":false},"
				"{\"name\":\"n\",\"type\":\"integer\"}]}"
			      : "{\"op\":\"create_table\",\"table\":\"jobs\",\"columns\":["
				"{\"name\":\"status\",\"type\":\"text\"},{\"name\":\"name\",\"type\":\"text\"},"
				"{\"name\":\"n\",\"type\":\"integer\"}]}",
			NULL, &err),
		&err);
	CHECK_OK(migrate_version_add_step_json(
			 v,
			 "{\"op\":\"create_index\",\"table\":\"jobs\",\"name\":\"jobs_status_idx\","
			 "\"keys\":[{\"column\":\"status\"}]}",
			 NULL, &err),
		 &err);
	CHECK_OK(migrate_plan_add_version(p, 2, "more", &v, &err), &err);
	CHECK_OK(migrate_version_add_step_json(
			 v,
			 "{\"op\":\"add_column\",\"table\":\"jobs\",\"column\":{\"name\":\"note\",\"type\":\"text\"}}",
			 NULL, &err),
		 &err);
	CHECK_OK(migrate_version_add_step_json(v,
					       "{\"op\":\"create_index\",\"table\":\"jobs\",\"name\":\"jobs_name_idx\","
					       "\"unique\":true,\"keys\":[{\"column\":\"name\",\"order\":\"desc\"}]}",
					       NULL, &err),
		 &err);
	CHECK_OK(
		migrate_version_add_step_json(
			v,
			"{\"op\":\"create_table\",\"table\":\"extra_t\",\"columns\":[{\"name\":\"a\",\"type\":\"text\"}]}",
			NULL, &err),
		&err);
	return p;
}

/*
 * Version 3 of the drift plan: `raw_json`, a sql or command step that makes
 * the index jobs_raw_idx on jobs (n) and the table raw_t (a text), declaring
 * both, so the model stays complete.
 */
static inline void drift_add_declared(migrate_plan_t *p, const char *raw_json)
{
	migrate_version_t *v = NULL;
	migrate_step_t *s = NULL;
	migrate_error_t err;

	CHECK_OK(migrate_plan_add_version(p, 3, "declared", &v, &err), &err);
	CHECK_OK(migrate_version_add_step_json(v, raw_json, &s, &err), &err);
	CHECK_OK(
		migrate_step_set_declares_json(
			s,
			"[{\"op\":\"create_index\",\"table\":\"jobs\",\"name\":\"jobs_raw_idx\","
			"\"keys\":[{\"column\":\"n\"}]},"
			"{\"op\":\"create_table\",\"table\":\"raw_t\",\"columns\":[{\"name\":\"a\",\"type\":\"text\"}]}]",
			&err),
		&err);
}

/* The report of `t` against `p`, printed for the test's log. */
static inline migrate_schema_report_t *drift_report(migrate_target_t *t, migrate_plan_t *p)
{
	migrate_schema_report_t *r = NULL;
	migrate_error_t err;
	size_t i;

	CHECK_OK(migrate_check_schema(t, p, &r, &err), &err);
	CHECK(r != NULL);
	for (i = 0; i < migrate_schema_report_count(r); i++) {
		const migrate_finding_t *f = migrate_schema_report_finding(r, i);
		printf("finding: %s %s %s (version %llu) %s: %s / %s\n",
		       migrate_drift_kind_name(migrate_finding_kind(f)), migrate_finding_object_type(f),
		       migrate_finding_object(f), (unsigned long long)migrate_finding_version(f),
		       migrate_finding_property(f) ? migrate_finding_property(f) : "-",
		       migrate_finding_expected(f) ? migrate_finding_expected(f) : "-",
		       migrate_finding_actual(f) ? migrate_finding_actual(f) : "-");
	}
	return r;
}

/* The finding of that kind about `object` (and `property` when not NULL), or NULL. */
static inline const migrate_finding_t *drift_find(const migrate_schema_report_t *r, int kind, const char *object,
						  const char *property)
{
	size_t i;

	for (i = 0; i < migrate_schema_report_count(r); i++) {
		const migrate_finding_t *f = migrate_schema_report_finding(r, i);
		const char *prop = migrate_finding_property(f);
		if (migrate_finding_kind(f) == kind && !strcmp(migrate_finding_object(f), object) &&
		    (!property || (prop && !strcmp(prop, property))))
			return f;
	}
	return NULL;
}

/* Checks that the finding is there and names `version`. */
#define CHECK_DRIFT(r, kind, object, property, version)                                                           \
	do {                                                                                                      \
		const migrate_finding_t *f_ = drift_find((r), (kind), (object), (property));                      \
		if (!f_)                                                                                          \
			harness_fail(__FILE__, __LINE__, "no %s finding about %s", migrate_drift_kind_name(kind), \
				     (object));                                                                   \
		CHECK_INT(migrate_finding_version(f_), (version));                                                \
	} while (0)

/*
 * What every SQL driver must report after the same changes made by hand:
 * extra_t dropped, jobs_status_idx dropped, jobs.note dropped, jobs.n
 * retyped from `want_n` to `have_n`, rogue_idx created, and a table the
 * plan never made (not_in_plan) created.
 */
static inline void drift_check_sql(const migrate_schema_report_t *r, const char *want_n, const char *have_n)
{
	const migrate_finding_t *n;

	CHECK_DRIFT(r, MIGRATE_DRIFT_MISSING, "extra_t", NULL, 2);
	CHECK_DRIFT(r, MIGRATE_DRIFT_MISSING, "jobs.jobs_status_idx", NULL, 1);
	CHECK_DRIFT(r, MIGRATE_DRIFT_MISSING, "jobs.note", NULL, 2);
	CHECK_DRIFT(r, MIGRATE_DRIFT_DIFFERENT, "jobs.n", "type", 1);
	n = drift_find(r, MIGRATE_DRIFT_DIFFERENT, "jobs.n", "type");
	CHECK_STR(migrate_finding_expected(n), want_n);
	CHECK_STR(migrate_finding_actual(n), have_n);
	CHECK_DRIFT(r, MIGRATE_DRIFT_EXTRA, "jobs.rogue_idx", NULL, 1);
	CHECK(!drift_find(r, MIGRATE_DRIFT_EXTRA, "not_in_plan", NULL));
}

/*
 * After drift_add_declared's version ran and, behind the library's back,
 * jobs_raw_idx and raw_t were dropped and rogue_idx made on jobs: the
 * declared objects are missing, named by version 3, and the extra index is
 * found, since a declaring raw step leaves jobs complete, not open.
 */
static inline void drift_check_declared(const migrate_schema_report_t *r)
{
	CHECK_INT(migrate_schema_report_partial(r), 0);
	CHECK_DRIFT(r, MIGRATE_DRIFT_MISSING, "jobs.jobs_raw_idx", NULL, 3);
	CHECK_DRIFT(r, MIGRATE_DRIFT_MISSING, "raw_t", NULL, 3);
	CHECK_DRIFT(r, MIGRATE_DRIFT_EXTRA, "jobs.rogue_idx", NULL, 1);
	CHECK_INT(migrate_schema_report_count(r), 3);
}

#endif
