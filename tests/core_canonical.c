/*
 * The canonical form the checksum takes, written through the writer's
 * filter (restated defaults, declarations and lint left out as it writes),
 * against the copy without them it was taken from before (and still is for
 * steps with their own down steps): byte for byte the same, for every step
 * of the shipped plans and for steps restating every default. INTERNAL:
 * both are hidden functions.
 */
#include <dirent.h>

#include "harness.h"

#include "internal.h"

/* Every step of `plan`: the same canonical form both ways; the number compared. */
static size_t compare_plan(const migrate_plan_t *plan, const char *what)
{
	size_t i, j, n = 0;

	for (i = 0; i < plan->nversions; i++)
		for (j = 0; j < plan->versions[i]->nsteps; j++) {
			migrate_buf_t *filtered = migrate__buf_new(NULL), *copy = migrate__buf_new(NULL);
			migrate__step_canonical(plan->versions[i]->steps[j], false, filtered);
			migrate__step_canonical(plan->versions[i]->steps[j], true, copy);
			CHECK(filtered && copy && !filtered->failed && !copy->failed);
			if (strcmp(filtered->str, copy->str) != 0)
				harness_fail(__FILE__, __LINE__,
					     "%s, version %zu, step %zu:\n  filtered: %s\n  copy:     %s", what, i, j,
					     filtered->str, copy->str);
			migrate__buf_free(filtered, true);
			migrate__buf_free(copy, true);
			n++;
		}
	return n;
}

static migrate_plan_t *plan_of_steps(const char *steps)
{
	char json[8192];
	migrate_plan_t *plan = NULL;
	migrate_error_t err;

	memset(&err, 0, sizeof err);
	snprintf(json, sizeof json, "{\"plan\": \"p\", \"versions\": [{\"id\": 1, \"steps\": [%s]}]}", steps);
	CHECK_OK(migrate_plan_load_json(&plan, json, &err), &err);
	return plan;
}

/* Every plan file shipped in examples/plans. */
TEST(shipped_plans_the_same_both_ways)
{
	char dir[1024];
	struct dirent *e;
	size_t n = 0;
	DIR *d;

	snprintf(dir, sizeof dir, "%s/examples/plans", MIGRATE_SOURCE_DIR);
	CHECK((d = opendir(dir)) != NULL);
	while ((e = readdir(d)) != NULL) {
		char path[2048];
		size_t len = strlen(e->d_name);
		migrate_plan_t *plan = NULL;
		migrate_error_t err;
		if (len < 5 || strcmp(e->d_name + len - 5, ".json") != 0)
			continue;
		memset(&err, 0, sizeof err);
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		CHECK_OK(migrate_plan_load_file(&plan, path, &err), &err);
		n += compare_plan(plan, e->d_name);
		migrate_plan_destroy(plan);
	}
	closedir(d);
	CHECK(n > 10);
}

/* Every default the checksum leaves out, restated and not, next to values that are kept. */
TEST(restated_defaults_the_same_both_ways)
{
	migrate_plan_t *plan = plan_of_steps(
		"{\"op\":\"create_table\",\"table\":\"t\",\"validate\":false,\"columns\":[{\"name\":\"id\",\"type\":"
		"\"bigint\",\"nullable\":true,\"unique\":false},{\"unique\":true,\"type\":\"text\",\"name\":\"b\","
		"\"nullable\":false}],\"primary_key\":[\"id\"]},"
		"{\"op\":\"create_index\",\"table\":\"t\",\"name\":\"i\",\"keys\":[{\"column\":\"b\",\"order\":\"asc\"},"
		"{\"order\":\"desc\",\"column\":\"id\"}],\"unique\":false,\"online\":false},"
		"{\"op\":\"create_index\",\"table\":\"t\",\"name\":\"j\",\"keys\":[{\"column\":\"b\"}],\"unique\":true,"
		"\"online\":true,\"lint\":{\"ignore\":[\"unique-index-unchecked\"],\"reason\":\"checked\"}},"
		"{\"op\":\"add_column\",\"table\":\"t\",\"column\":{\"type\":\"text\",\"name\":\"c\",\"nullable\":true,"
		"\"unique\":false}},"
		"{\"op\":\"add_column\",\"table\":\"t\",\"column\":{\"name\":\"d\",\"type\":\"text\"},"
		"\"down\":[{\"op\":\"create_index\",\"table\":\"t\",\"name\":\"k\",\"keys\":[{\"column\":\"d\","
		"\"order\":\"asc\"}]}]},"
		"{\"op\":\"sql\",\"up\":\"CREATE TABLE u (a text)\",\"declares\":[{\"op\":\"create_table\",\"table\":"
		"\"u\",\"columns\":[{\"name\":\"a\",\"type\":\"text\",\"nullable\":true}]}]},"
		"{\"op\":\"backfill\",\"set\":{\"c\":{\"value\":{\"y\":2,\"x\":1,\"nullable\":true}}},\"table\":\"t\"},"
		"{\"op\":\"map_values\",\"table\":\"t\",\"column\":\"c\",\"map\":{\"x\":false,\"nullable\":true}}");

	CHECK_INT((long long)compare_plan(plan, "restated defaults"), 8);
	migrate_plan_destroy(plan);
}
