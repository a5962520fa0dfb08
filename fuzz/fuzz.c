/*
 * The parts every fuzz target shares: loading the input as a plan and
 * running the checks of a run against a driver without writing anything.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static void read_line(int level, const char *message, void *payload)
{
	size_t *total = payload;

	*total += strlen(message) + (size_t)level;
}

void fuzz_log_everything(void)
{
	static size_t total;

	migrate_log_set_handler(read_line, &total);
}

void fuzz_check_error(const migrate_error_t *err)
{
	if (!memchr(err->message, '\0', sizeof err->message))
		abort();
}

migrate_plan_t *fuzz_plan_from_input(const uint8_t *data, size_t size)
{
	migrate_plan_t *plan = NULL;
	migrate_error_t err;
	char *text = malloc(size + 1);

	if (!text)
		return NULL;
	memcpy(text, data, size);
	text[size] = '\0';
	memset(&err, 0, sizeof err);
	if (migrate_plan_load_json(&plan, text, &err) != 0) {
		fuzz_check_error(&err);
		plan = NULL;
	}
	free(text);
	return plan;
}

/* The driver's check of one step; custom steps never reach a driver. */
static void check_one(migrate_target_t *t, const migrate_step_t *s)
{
	migrate_error_t err;

	if (!t->driver->check_step || s->op == MIGRATE_OP_CUSTOM)
		return;
	memset(&err, 0, sizeof err);
	if (migrate__driver_check(t, s, &err) != 0)
		fuzz_check_error(&err);
}

/* The computed inverse of `s`, each of its steps checked as a down would. */
static void check_inverse(migrate_target_t *t, const migrate_step_t *s)
{
	migrate_step_t **inv = NULL;
	migrate_error_t err;
	size_t i, n = 0;

	memset(&err, 0, sizeof err);
	if (migrate__step_inverse(s, &inv, &n, &err) != 0) {
		fuzz_check_error(&err);
		return;
	}
	for (i = 0; i < n; i++) {
		check_one(t, inv[i]);
		migrate__step_destroy(inv[i]);
	}
	free(inv);
}

/* A version's explicit down: an array of step documents, each checked. */
static void check_version_down(migrate_target_t *t, const migrate_version_t *v)
{
	bson_iter_t it;

	if (!v->down || !bson_iter_init(&it, v->down))
		return;
	while (bson_iter_next(&it)) {
		const uint8_t *data;
		uint32_t len;
		bson_t sub;
		migrate_step_t *s;
		if (!BSON_ITER_HOLDS_DOCUMENT(&it))
			continue;
		bson_iter_document(&it, &len, &data);
		if (!bson_init_static(&sub, data, len) || !(s = migrate__step_new(&sub)))
			continue;
		check_one(t, s);
		migrate__step_destroy(s);
	}
}

void fuzz_validate(migrate_target_t *t, const migrate_plan_t *plan)
{
	migrate_error_t err;
	size_t i, j;

	memset(&err, 0, sizeof err);
	if (migrate__plan_validate(plan, t, &err) != 0)
		fuzz_check_error(&err);
	for (i = 0; i < plan->nversions; i++) {
		const migrate_version_t *v = plan->versions[i];
		for (j = 0; j < v->nsteps; j++) {
			check_one(t, v->steps[j]);
			check_inverse(t, v->steps[j]);
		}
		check_version_down(t, v);
	}
}

void fuzz_render_steps(migrate_target_t *t, const migrate_plan_t *plan)
{
	migrate_error_t err;
	size_t i, j;

	if (!t->driver->render_step)
		return;
	for (i = 0; i < plan->nversions; i++) {
		const migrate_version_t *v = plan->versions[i];
		for (j = 0; j < v->nsteps; j++) {
			const migrate_step_t *s = v->steps[j];
			migrate_buf_t *out;
			if (s->op == MIGRATE_OP_CUSTOM ||
			    (t->driver->check_step && migrate__driver_check(t, s, &err) != 0))
				continue;
			out = migrate__buf_new(NULL);
			memset(&err, 0, sizeof err);
			if (migrate__driver_render(t, s, out, &err) != 0)
				fuzz_check_error(&err);
			migrate__buf_free(out, true);
		}
	}
}
