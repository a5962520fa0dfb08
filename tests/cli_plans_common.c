/* Compares a seed plan file with the plan a C example builds; see cli_plans.h. */
#include <libgen.h>

#include "cli_plans.h"
#include "harness.h"
#include "internal.h"

/* On a mismatch, the steps of both versions, to see the difference. */
static void dump_steps(const char *what, const migrate_version_t *v)
{
	size_t i;

	for (i = 0; i < v->nsteps; i++) {
		char *json = migrate_step_to_json(v->steps[i]);
		fprintf(stderr, "%s step %zu: %s\n", what, i + 1, json);
		migrate_free(json);
	}
	if (v->down) {
		char *json = bson_as_canonical_extended_json(v->down, NULL);
		fprintf(stderr, "%s down: %s\n", what, json);
		bson_free(json);
	}
	fprintf(stderr, "%s transactional: %d\n", what, v->transactional);
}

static const char *plan_file(const char *name)
{
	static char path[4096];
	char here[4096];

	snprintf(here, sizeof here, "%s", __FILE__);
	snprintf(path, sizeof path, "%s/../examples/plans/%s", dirname(here), name);
	return path;
}

/* Same versions (the plan name may differ when `same_name` is 0). */
void cli_same_plan(const char *file, cli_build_fn build, int same_name)
{
	migrate_plan_t *from_file = NULL, *from_code = NULL;
	migrate_error_t err;
	size_t i, j, n;

	CHECK_OK(migrate_plan_load_file(&from_file, plan_file(file), &err), &err);
	CHECK_OK(build(&from_code, &err), &err);
	if (same_name)
		CHECK_STR(migrate_plan_name(from_file), migrate_plan_name(from_code));
	n = migrate_plan_version_count(from_code);
	CHECK_INT(migrate_plan_version_count(from_file), n);
	for (i = 0; i < n; i++) {
		const migrate_version_t *a = migrate_plan_version_at(from_file, i),
					*b = migrate_plan_version_at(from_code, i);
		char sa[65], sb[65];
		CHECK_INT(migrate_version_id(a), migrate_version_id(b));
		CHECK_STR(migrate_version_name(a), migrate_version_name(b));
		CHECK_INT(migrate_version_step_count(a), migrate_version_step_count(b));
		CHECK_OK(migrate_version_checksum(a, sa, sizeof sa, &err), &err);
		CHECK_OK(migrate_version_checksum(b, sb, sizeof sb, &err), &err);
		if (strcmp(sa, sb) != 0) {
			dump_steps(file, a);
			dump_steps("C", b);
		}
		CHECK_STR(sa, sb);
		/* Every field, those the checksum leaves out too (a raw step's declares). */
		for (j = 0; j < migrate_version_step_count(b); j++) {
			char *ja = migrate_step_to_json(a->steps[j]), *jb = migrate_step_to_json(b->steps[j]);
			CHECK(ja && jb);
			CHECK_STR(ja, jb);
			migrate_free(ja);
			migrate_free(jb);
		}
	}
	migrate_plan_destroy(from_file);
	migrate_plan_destroy(from_code);
}
