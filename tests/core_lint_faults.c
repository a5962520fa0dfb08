/*
 * Lint under allocation failures: each allocation of migrate_lint() fails
 * in turn (the library's fault points; INTERNAL for that reason). Every
 * run either succeeds with the whole report or returns MIGRATE_ENOMEM with
 * no report, and nothing leaks (the sanitized tree checks).
 */
#include "internal.h"
#include "lint.h"

TEST(lint_alloc_faults)
{
	static const char *const versions[] = {
		"{\"id\":1,\"name\":\"base\",\"steps\":[{\"op\":\"create_table\",\"table\":\"jobs\",\"primary_key\":"
		"[\"id\"],\"columns\":[{\"name\":\"id\",\"type\":\"integer\"},{\"name\":\"name\",\"type\":\"text\"}]}]}",
		"{\"id\":2,\"name\":\"change\",\"steps\":[{\"op\":\"create_index\",\"table\":\"jobs\",\"name\":\"j\","
		"\"unique\":true,\"keys\":[{\"column\":\"name\"}]},{\"op\":\"rename_column\",\"table\":\"jobs\",\"from\":"
		"\"name\",\"to\":\"title\"},{\"op\":\"create_table\",\"table\":\"t\",\"columns\":[{\"name\":\"a\","
		"\"type\":\"text\"}]},{\"op\":\"rename_table\",\"from\":\"t\",\"to\":\"u\"}]}",
		NULL};
	migrate_plan_t *p = lint_plan(versions);
	migrate_lint_options_t o;
	long n;
	int failed = 0;

	if (migrate__fault_passed() < 0)
		harness_skip("built without MIGRATE_FAULT_INJECTION");
	migrate_lint_options_init(&o, MIGRATE_LINT_OPTIONS_VERSION);
	o.driver = "postgres";
	for (n = 1;; n++) {
		migrate_lint_report_t *r = NULL;
		migrate_error_t err = {0};
		int rc;
		migrate__fault_arm(MIGRATE__FAULT_ALLOC, n, MIGRATE__FAULT_FAIL);
		rc = migrate_lint(p, NULL, &o, &r, &err);
		migrate__fault_arm(0, 0, MIGRATE__FAULT_FAIL);
		if (rc == 0) {
			char *lines = lint_lines(r);
			CHECK_STR(lines, "2:0:pg-index-not-concurrent:warning\n2:0:unique-index-unchecked:warning\n"
					 "2:1:rename-or-drop-in-use:warning\n");
			free(lines);
			migrate_lint_report_destroy(r);
			break;
		}
		CHECK_INT(rc, MIGRATE_ENOMEM);
		CHECK(r == NULL);
		failed++;
		CHECK(n < 10000);
	}
	CHECK(failed > 3);
	migrate_plan_destroy(p);
}
