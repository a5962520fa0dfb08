/*
 * Building a plan through the API under allocation failures: each
 * allocation fails in turn (the library's fault points; INTERNAL for that
 * reason). Every run either builds the whole plan or returns
 * MIGRATE_ENOMEM, and nothing leaks (the sanitized tree checks); every
 * step the API makes passes a fault point of its own, so that a sweep
 * reaches it.
 */
#include "harness.h"
#include "internal.h"

/* A plan of one version with `steps` raw SQL steps. */
static int build(int steps, migrate_plan_t **out)
{
	migrate_plan_t *p = NULL;
	migrate_version_t *v = NULL;
	int rc, i;

	*out = NULL;
	if ((rc = migrate_plan_new(&p, "faults", NULL)))
		return rc;
	rc = migrate_plan_add_version(p, 1, "one", &v, NULL);
	for (i = 0; rc == 0 && i < steps; i++)
		rc = migrate_sql(v, "SELECT 1", "SELECT 2", NULL, NULL);
	if (rc) {
		migrate_plan_destroy(p);
		return rc;
	}
	*out = p;
	return 0;
}

/* The fault points one build passes. */
static long points(int steps)
{
	migrate_plan_t *p;
	long n;

	migrate__fault_arm(MIGRATE__FAULT_ALLOC, 0, MIGRATE__FAULT_FAIL);
	CHECK_INT(build(steps, &p), 0);
	n = migrate__fault_passed();
	migrate__fault_arm(0, 0, MIGRATE__FAULT_FAIL);
	migrate_plan_destroy(p);
	return n;
}

TEST(build_alloc_faults)
{
	long n, failed = 0;

	if (migrate__fault_passed() < 0)
		harness_skip("built without MIGRATE_FAULT_INJECTION");
	for (n = 1;; n++) {
		migrate_plan_t *p = NULL;
		int rc;

		migrate__fault_arm(MIGRATE__FAULT_ALLOC, n, MIGRATE__FAULT_FAIL);
		rc = build(3, &p);
		migrate__fault_arm(0, 0, MIGRATE__FAULT_FAIL);
		if (rc == 0) {
			CHECK_INT((long)migrate_plan_version_count(p), 1);
			CHECK_INT((long)migrate_version_step_count(migrate_plan_version_at(p, 0)), 3);
			migrate_plan_destroy(p);
			break;
		}
		CHECK_INT(rc, MIGRATE_ENOMEM);
		CHECK(p == NULL);
		failed++;
		CHECK(n < 10000);
	}
	CHECK(failed >= 3);
}

/* A step's own allocation is a fault point (it bypassed the fault layer once:
 * a step added to a version with room passed none). */
TEST(each_step_passes_a_fault_point)
{
	if (migrate__fault_passed() < 0)
		harness_skip("built without MIGRATE_FAULT_INJECTION");
	CHECK(points(2) > points(1));
	CHECK(points(3) > points(2));
}
