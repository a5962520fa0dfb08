/*
 * Plan files: the loader, then for an accepted plan every version's
 * checksum, and the canonical JSON of every step, which must load again
 * into a version with the same checksum.
 */
#include <string.h>

#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_log_everything();
	return 0;
}

/* A command document, whose key order the checksum keeps (the server reads the first key as the command)? */
static int ordered_document(const bson_t *step)
{
	const char *op = migrate__doc_str(step, "op");

	return op && (!strcmp(op, "command") || (!strcmp(op, "assert") && bson_has_field(step, "command")));
}

/*
 * Canonical JSON sorts every key: only versions without command documents,
 * in their steps or their down, keep their checksum through it.
 */
static int has_ordered_documents(const migrate_version_t *v)
{
	bson_iter_t it;
	size_t i;

	for (i = 0; i < v->nsteps; i++)
		if (ordered_document(&v->steps[i]->doc) || bson_has_field(&v->steps[i]->doc, "down"))
			return 1;
	if (v->down && bson_iter_init(&it, v->down))
		while (bson_iter_next(&it)) {
			const uint8_t *data;
			uint32_t len;
			bson_t sub;
			if (!BSON_ITER_HOLDS_DOCUMENT(&it))
				continue;
			bson_iter_document(&it, &len, &data);
			if (bson_init_static(&sub, data, len) && ordered_document(&sub))
				return 1;
		}
	return 0;
}

/* Rebuilds `v` from the canonical JSON of its parts; aborts if that changes it. */
static void round_trip(const migrate_version_t *v, const char *sum)
{
	migrate_plan_t *copy = NULL;
	migrate_version_t *w = NULL;
	migrate_error_t err;
	char again[65];
	size_t i;

	memset(&err, 0, sizeof err);
	if (migrate_plan_new(&copy, "copy", &err))
		__builtin_trap();
	if (migrate_plan_add_version(copy, v->id, v->name, &w, &err)) {
		migrate_plan_destroy(copy);
		return;
	}
	migrate_version_set_transactional(w, v->transactional);
	for (i = 0; i < v->nsteps; i++) {
		char *json = migrate_step_to_json(v->steps[i]);
		if (!json || migrate_version_add_step_json(w, json, NULL, &err))
			__builtin_trap();
		migrate_free(json);
	}
	if (v->down) {
		migrate_buf_t *down = migrate__buf_new(NULL);
		migrate__json_canonical(v->down, true, down);
		if (migrate_version_set_down_json(w, down->str, &err))
			__builtin_trap();
		migrate__buf_free(down, true);
	}
	if (migrate_version_checksum(w, again, sizeof again, &err))
		__builtin_trap();
	if (!has_ordered_documents(v) && strcmp(sum, again))
		__builtin_trap();
	migrate_plan_destroy(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	migrate_plan_t *plan = fuzz_plan_from_input(data, size);
	size_t i, n;

	if (!plan)
		return 0;
	n = migrate_plan_version_count(plan);
	for (i = 0; i < n; i++) {
		const migrate_version_t *v = migrate_plan_version_at(plan, i);
		migrate_error_t err;
		char sum[65];
		memset(&err, 0, sizeof err);
		if (migrate_version_checksum(v, sum, sizeof sum, &err) != 0) {
			fuzz_check_error(&err);
			continue;
		}
		if (strlen(sum) != 64)
			__builtin_trap();
		round_trip(v, sum);
	}
	migrate_plan_destroy(plan);
	return 0;
}
