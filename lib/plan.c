/* Plans and versions: ownership, ordering and whole-plan validation. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int migrate_plan_new(migrate_plan_t **out, const char *name, migrate_error_t *err)
{
	migrate_plan_t *p;
	const char *why;

	if (!out)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL, "migrate_plan_new: out is NULL");
	*out = NULL;
	if (!name || !migrate__ident_ok(name, strlen(name), &why))
		return migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EPLAN, "plan name: %s", name ? why : "is NULL");
	p = migrate__calloc(1, sizeof *p);
	if (!p || !(p->name = migrate__strdup(name))) {
		free(p);
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_ENOMEM, "out of memory");
	}
	*out = p;
	return 0;
}

static void version_destroy(migrate_version_t *v)
{
	size_t i;

	for (i = 0; i < v->nsteps; i++)
		migrate__step_destroy(v->steps[i]);
	free(v->steps);
	free(v->name);
	if (v->down)
		bson_destroy(v->down);
	free(v);
}

void migrate_plan_destroy(migrate_plan_t *plan)
{
	size_t i;

	if (!plan)
		return;
	for (i = 0; i < plan->nversions; i++)
		version_destroy(plan->versions[i]);
	free(plan->versions);
	migrate__idmap_free(&plan->ids);
	for (i = 0; i < plan->nblocks; i++)
		free(plan->blocks[i]);
	free(plan->blocks);
	free(plan->source);
	free(plan->name);
	free(plan);
}

#define PLAN_BLOCK (64u << 10)

void *migrate__plan_alloc(migrate_plan_t *plan, size_t size)
{
	void *at;

	if (size > PLAN_BLOCK || size % 128)
		return NULL;
	if (!plan->nblocks || plan->used + size > PLAN_BLOCK) {
		void *block;
		if (plan->nblocks == plan->capblocks) {
			size_t cap = plan->capblocks ? plan->capblocks * 2 : 8;
			void **grown = migrate__realloc(plan->blocks, cap * sizeof *grown);
			if (!grown)
				return NULL;
			plan->blocks = grown;
			plan->capblocks = cap;
		}
		if (migrate__fault_alloc() || !(block = aligned_alloc(128, PLAN_BLOCK)))
			return NULL;
		plan->blocks[plan->nblocks++] = block;
		plan->used = 0;
	}
	at = (unsigned char *)plan->blocks[plan->nblocks - 1] + plan->used;
	plan->used += size;
	memset(at, 0, size);
	return at;
}

const char *migrate_plan_name(const migrate_plan_t *plan)
{
	return plan ? plan->name : NULL;
}

size_t migrate_plan_version_count(const migrate_plan_t *plan)
{
	return plan ? plan->nversions : 0;
}

const migrate_version_t *migrate_plan_version_at(const migrate_plan_t *plan, size_t i)
{
	return plan && i < plan->nversions ? plan->versions[i] : NULL;
}

migrate_version_t *migrate__plan_find(const migrate_plan_t *plan, uint64_t id)
{
	size_t i;

	return migrate__idmap_get(&plan->ids, id, &i) ? plan->versions[i] : NULL;
}

int migrate_plan_add_version(migrate_plan_t *plan, uint64_t id, const char *name, migrate_version_t **out,
			     migrate_error_t *err)
{
	migrate_version_t *v;

	if (out)
		*out = NULL;
	if (!plan)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL, "migrate_plan_add_version: plan is NULL");
	if (id == 0)
		return migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EPLAN, "version 0: ids start at 1");
	if (migrate__plan_find(plan, id))
		return migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EPLAN, "version %llu: duplicate version id",
				    (unsigned long long)id);
	/* Printed in every status line and message: a newline or an escape there would forge or garble them. */
	if (name && migrate__has_control(name))
		return migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EPLAN,
				    "version %llu: the name contains a control character (a newline, tab or escape; a "
				    "name is one line, the description takes the rest)",
				    (unsigned long long)id);
	if (plan->nversions == plan->capversions) {
		size_t cap = plan->capversions ? plan->capversions * 2 : 8;
		migrate_version_t **grown = migrate__realloc(plan->versions, cap * sizeof *grown);
		if (!grown)
			return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_ENOMEM, "out of memory");
		plan->versions = grown;
		plan->capversions = cap;
	}
	v = migrate__calloc(1, sizeof *v);
	if (!v || (name && !(v->name = migrate__strdup(name))) || migrate__idmap_put(&plan->ids, id, plan->nversions)) {
		if (v)
			free(v->name);
		free(v);
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_ENOMEM, "out of memory");
	}
	v->id = id;
	v->transactional = 1;
	v->plan = plan;
	plan->versions[plan->nversions++] = v;
	if (out)
		*out = v;
	return 0;
}

uint64_t migrate_version_id(const migrate_version_t *v)
{
	return v ? v->id : 0;
}

const char *migrate_version_name(const migrate_version_t *v)
{
	return v && v->name ? v->name : "";
}

size_t migrate_version_step_count(const migrate_version_t *v)
{
	return v ? v->nsteps : 0;
}

int migrate_version_set_transactional(migrate_version_t *v, int transactional)
{
	if (!v)
		return migrate__err(NULL, MIGRATE_DOMAIN_API, MIGRATE_EINVAL, "version is NULL");
	v->transactional = transactional ? 1 : 0;
	migrate__version_changed(v);
	return 0;
}

int migrate_version_set_down_json(migrate_version_t *v, const char *down_json, migrate_error_t *err)
{
	bson_t parsed, wrapper = BSON_INITIALIZER;
	char where[256];
	int rc;

	if (!v)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL, "version is NULL");
	if ((rc = migrate__json_parse(down_json, true, &parsed, err))) {
		migrate__err_prefix(err, "version %llu: down: ", (unsigned long long)v->id);
		bson_destroy(&parsed);
		return rc;
	}
	/* The same checks as a step's own down list. */
	BSON_APPEND_UTF8(&wrapper, "op", "drop_table");
	BSON_APPEND_UTF8(&wrapper, "table", "x");
	BSON_APPEND_ARRAY(&wrapper, "down", &parsed);
	snprintf(where, sizeof where, "version %llu (\"%s\")", (unsigned long long)v->id, v->name ? v->name : "");
	rc = migrate__step_validate(&wrapper, where, err);
	bson_destroy(&wrapper);
	if (rc == 0) {
		if (v->down)
			bson_destroy(v->down);
		v->down = bson_copy(&parsed);
		migrate__version_changed(v);
	}
	bson_destroy(&parsed);
	return rc;
}

int migrate__version_push(migrate_version_t *v, migrate_step_t *step, migrate_error_t *err)
{
	if (v->nsteps == v->capsteps) {
		size_t cap = v->capsteps ? v->capsteps * 2 : 8;
		migrate_step_t **grown = migrate__realloc(v->steps, cap * sizeof *grown);
		if (!grown) {
			migrate__step_destroy(step);
			return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_ENOMEM, "out of memory");
		}
		v->steps = grown;
		v->capsteps = cap;
	}
	step->version = v;
	step->index = v->nsteps;
	v->steps[v->nsteps++] = step;
	migrate__version_changed(v);
	return 0;
}

static int cmp_versions(const void *a, const void *b)
{
	uint64_t x = (*(migrate_version_t *const *)a)->id, y = (*(migrate_version_t *const *)b)->id;
	return x < y ? -1 : x > y;
}

migrate_version_t **migrate__plan_sorted(const migrate_plan_t *plan)
{
	migrate_version_t **sorted = migrate__malloc((plan->nversions + 1) * sizeof *sorted);

	if (!sorted)
		return NULL;
	if (plan->nversions)
		memcpy(sorted, plan->versions, plan->nversions * sizeof *sorted);
	qsort(sorted, plan->nversions, sizeof *sorted, cmp_versions);
	return sorted;
}

/*
 * Validates every step again (documents may have been built by hand) and
 * asks the driver whether it can express each one, so that a run never
 * starts a plan it cannot finish.
 */
int migrate__driver_check(const migrate_target_t *t, const migrate_step_t *s, migrate_error_t *err)
{
	migrate_step_t tmp;
	const migrate_step_t *ds = migrate__driver_step(s, &tmp);
	int rc = t->driver->check_step(t->conn, ds, err);

	/* Its from and to are the step's table and keep. */
	if (rc && ds != s)
		migrate__err_prefix(err, "keep (the table is renamed to \"%s\"): ", migrate__doc_str(&s->doc, "keep"));
	migrate__driver_step_done(ds, &tmp);
	return rc;
}

unsigned migrate__driver_flags(const migrate_driver_t *d, void *conn, const migrate_step_t *s)
{
	migrate_step_t tmp;
	const migrate_step_t *ds = migrate__driver_step(s, &tmp);
	unsigned flags = d->step_flags(conn, ds);

	migrate__driver_step_done(ds, &tmp);
	return flags;
}

int migrate__driver_render(const migrate_target_t *t, const migrate_step_t *s, migrate_buf_t *out, migrate_error_t *err)
{
	migrate_step_t tmp;
	const migrate_step_t *ds = migrate__driver_step(s, &tmp);
	int rc = t->driver->render_step(t->conn, ds, out, err);

	migrate__driver_step_done(ds, &tmp);
	return rc;
}

/*
 * A step that keeps what it overwrites is only worth running where its
 * down (restore) runs too: a driver without restore refuses the step
 * itself, before anything is written, instead of keeping for nothing.
 */
static int check_kept_down(const migrate_target_t *t, const migrate_step_t *s, migrate_error_t *err)
{
	migrate_step_t **inv = NULL;
	size_t n = 0;
	int rc;

	if (!bson_has_field(&s->doc, "keep"))
		return 0;
	if ((rc = migrate__step_inverse(s, &inv, &n, err)))
		return rc;
	for (size_t i = 0; i < n; i++) {
		if (rc == 0 && (rc = migrate__driver_check(t, inv[i], err)))
			migrate__err_prefix(err, "keep: its down, ");
		migrate__step_destroy(inv[i]);
	}
	free(inv);
	return rc;
}

int migrate__plan_validate(const migrate_plan_t *plan, const migrate_target_t *t, migrate_error_t *err)
{
	size_t i, j, k;
	char place[512];
	int rc;

	for (i = 0; i < plan->nversions; i++) {
		const migrate_version_t *v = plan->versions[i];
		if (v->id == 0)
			return migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EPLAN, "version 0: ids start at 1");
		for (k = 0; k < i; k++)
			if (plan->versions[k]->id == v->id)
				return migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EPLAN,
						    "version %llu: duplicate version id", (unsigned long long)v->id);
		for (j = 0; j < v->nsteps; j++) {
			const migrate_step_t *s = v->steps[j];
			migrate__step_place(s, place, sizeof place);
			if ((rc = migrate__step_validate(&s->doc, place, err)))
				return rc;
			if (s->op == MIGRATE_OP_CUSTOM && !s->custom_up)
				return migrate__err(
					err, MIGRATE_DOMAIN_PLAN, MIGRATE_EPLAN,
					"%s: custom step has no callback (custom steps are built with migrate_custom)",
					place);
			if (!t || s->op == MIGRATE_OP_CUSTOM || !t->driver->check_step)
				continue;
			if ((rc = migrate__driver_check(t, s, err)) || (rc = check_kept_down(t, s, err))) {
				migrate__err_prefix(err, "%s: %s driver: ", place, t->driver->name);
				return rc;
			}
		}
	}
	return 0;
}
