/*
 * `migrate lint`: what the plan's steps will do to the database, found
 * without running them (migrate_lint()): one line per finding with its
 * rule, severity, version and step, why, and the safer form.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void json_findings(cli_t *c, const migrate_lint_report_t *r)
{
	size_t i, n = migrate_lint_report_count(r);
	char key[16];
	const char *k;
	bson_t arr, d;

	BSON_APPEND_UTF8(c->doc, "plan", migrate_plan_name(c->plan));
	BSON_APPEND_UTF8(c->doc, "driver", c->target ? migrate_target_driver_name(c->target) : c->driver);
	BSON_APPEND_BOOL(c->doc, "live_sizes", c->target != NULL);
	BSON_APPEND_ARRAY_BEGIN(c->doc, "findings", &arr);
	for (i = 0; i < n; i++) {
		const migrate_lint_finding_t *f = migrate_lint_report_finding(r, i);
		bson_uint32_to_string((uint32_t)i, &k, key, sizeof key);
		BSON_APPEND_DOCUMENT_BEGIN(&arr, k, &d);
		BSON_APPEND_UTF8(&d, "rule", migrate_lint_finding_rule(f));
		BSON_APPEND_UTF8(&d, "severity", migrate_lint_severity_name(migrate_lint_finding_severity(f)));
		BSON_APPEND_INT64(&d, "version", (int64_t)migrate_lint_finding_version(f));
		/* Numbered from 1, as the step of every other event and message. */
		BSON_APPEND_INT64(&d, "step", (int64_t)migrate_lint_finding_step(f) + 1);
		BSON_APPEND_UTF8(&d, "message", migrate_lint_finding_message(f));
		BSON_APPEND_UTF8(&d, "safer", migrate_lint_finding_safer(f));
		bson_append_document_end(&arr, &d);
	}
	bson_append_array_end(c->doc, &arr);
	BSON_APPEND_INT64(c->doc, "silenced", (int64_t)migrate_lint_report_silenced(r));
}

static void print_findings(cli_t *c, const migrate_lint_report_t *r)
{
	size_t i, n = migrate_lint_report_count(r), silenced = migrate_lint_report_silenced(r);

	for (i = 0; i < n; i++) {
		const migrate_lint_finding_t *f = migrate_lint_report_finding(r, i);
		printf("%s %s: version %llu, step %zu: %s\n  safer: %s\n",
		       migrate_lint_severity_name(migrate_lint_finding_severity(f)), migrate_lint_finding_rule(f),
		       (unsigned long long)migrate_lint_finding_version(f), migrate_lint_finding_step(f) + 1,
		       migrate_lint_finding_message(f), migrate_lint_finding_safer(f));
	}
	if (c->quiet)
		return;
	printf("plan \"%s\" for %s: %zu finding%s", migrate_plan_name(c->plan),
	       c->target ? migrate_target_driver_name(c->target) : c->driver, n, n == 1 ? "" : "s");
	if (silenced)
		printf(", %zu silenced by the plan", silenced);
	printf("%s\n", c->target ? "" : " (sizes unknown: --url gives live ones)");
}

int cmd_lint(cli_t *c)
{
	migrate_lint_options_t opts;
	migrate_lint_report_t *report = NULL;
	migrate_error_t err = {0};
	int rc, code;

	migrate_lint_options_init(&opts, MIGRATE_LINT_OPTIONS_VERSION);
	opts.driver = c->driver;
	if (c->large_rows)
		opts.large_rows = c->large_rows;
	if ((rc = migrate_lint(c->plan, c->target, &opts, &report, &err)))
		return cli_fail(c, rc, &err);
	code = migrate_lint_report_max_severity(report) >= MIGRATE_LINT_ERROR ? EXIT_LINT_ERROR : 0;
	if (c->json)
		json_findings(c, report);
	else
		print_findings(c, report);
	migrate_lint_report_destroy(report);
	return c->json ? cli_json_end(c, code) : code;
}
