/*
 * Seed 002: from job-centric to collection-centric on PostgreSQL. The
 * program first creates the legacy jobs and documents tables with sample
 * data when they are absent, then migrates them.
 *
 *   collections [--jobs-without-model=default] URL [--status|--rollback|--check|--render|--cycle]
 *
 * By default it follows the guide's SQL, which gives no operation to a job
 * whose model_name is NULL; --jobs-without-model=default puts such jobs in
 * the default model's collection instead (README.md).
 */
#include <stdio.h>
#include <string.h>

#include "../pg_common/cli.h"
#include "plan.h"

static int plan_all_jobs(migrate_plan_t **out, migrate_error_t *err)
{
	return collections_plan_with(out, COLLECTIONS_JOBS_WITHOUT_MODEL, err);
}

int main(int argc, char **argv)
{
	static const example_t guide = {"collections", collections_plan, collections_sample_data, 0};
	static const example_t all_jobs = {"collections", plan_all_jobs, collections_sample_data, 0};
	const example_t *ex = &guide;

	if (argc > 1 && !strncmp(argv[1], "--jobs-without-model=", 21)) {
		const char *how = argv[1] + 21;

		if (!strcmp(how, "default"))
			ex = &all_jobs;
		else if (strcmp(how, "skip") != 0) {
			fprintf(stderr, "collections: --jobs-without-model takes skip (the guide's SQL) or default\n");
			return 2;
		}
		argv[1] = argv[0];
		argc--;
		argv++;
	}
	return example_main(ex, argc, argv);
}
