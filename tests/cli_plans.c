/*
 * The seed plan files of examples/plans/ against the C examples that build
 * the same seeds with the API: loaded from the file, every version has the
 * id, name, step count and checksum of the one the C code builds, so either
 * can run a database the other migrated. (Seed 000's SQLite file is checked
 * end to end by tests/cli_test.py against examples/quickstart's steps.)
 */
#include <libgen.h>

#include "harness.h"

#include "../examples/collections/plan.h"
#include "../examples/jobs_table/plan.h"
#include "../examples/processing_jobs/plan.h"

typedef int (*build_fn)(migrate_plan_t **out, migrate_error_t *err);

static const char *plan_file(const char *name)
{
	static char path[4096];
	char here[4096];

	snprintf(here, sizeof here, "%s", __FILE__);
	snprintf(path, sizeof path, "%s/../examples/plans/%s", dirname(here), name);
	return path;
}

static void same_plan(const char *file, build_fn build)
{
	migrate_plan_t *from_file = NULL, *from_code = NULL;
	migrate_error_t err;
	size_t i, n;

	CHECK_OK(migrate_plan_load_file(&from_file, plan_file(file), &err), &err);
	CHECK_OK(build(&from_code, &err), &err);
	CHECK_STR(migrate_plan_name(from_file), migrate_plan_name(from_code));
	n = migrate_plan_version_count(from_code);
	CHECK_INT(migrate_plan_version_count(from_file), n);
	for (i = 0; i < n; i++) {
		migrate_version_t *a = migrate_plan_version_at(from_file, i), *b = migrate_plan_version_at(from_code, i);
		char sa[65], sb[65];
		CHECK_INT(migrate_version_id(a), migrate_version_id(b));
		CHECK_STR(migrate_version_name(a), migrate_version_name(b));
		CHECK_INT(migrate_version_step_count(a), migrate_version_step_count(b));
		CHECK_OK(migrate_version_checksum(a, sa, sizeof sa, &err), &err);
		CHECK_OK(migrate_version_checksum(b, sb, sizeof sb, &err), &err);
		CHECK_STR(sa, sb);
	}
	migrate_plan_destroy(from_file);
	migrate_plan_destroy(from_code);
}

TEST(seed001_matches_processing_jobs)
{
	same_plan("001_processing_jobs.postgres.json", processing_jobs_plan);
}

TEST(seed002_matches_collections)
{
	same_plan("002_collections.postgres.json", collections_plan);
}

TEST(seed003_matches_jobs_table)
{
	same_plan("003_jobs_table.postgres.json", jobs_table_plan);
}
