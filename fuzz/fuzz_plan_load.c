/*
 * Plan files: the loader, then for an accepted plan every version's
 * checksum and every step's canonical JSON.
 */
#include <string.h>

#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_log_everything();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	migrate_plan_t *plan = fuzz_plan_from_input(data, size);
	size_t i, j, n;

	if (!plan)
		return 0;
	n = migrate_plan_version_count(plan);
	for (i = 0; i < n; i++) {
		migrate_version_t *v = migrate_plan_version_at(plan, i);
		migrate_error_t err;
		char sum[65];
		memset(&err, 0, sizeof err);
		if (migrate_version_checksum(v, sum, sizeof sum, &err) != 0)
			fuzz_check_error(&err);
		else if (strlen(sum) != 64)
			__builtin_trap();
		for (j = 0; j < migrate_version_step_count(v); j++) {
			char *json = migrate_step_to_json(v->steps[j]);
			migrate_free(json);
		}
	}
	migrate_plan_destroy(plan);
	return 0;
}
