/*
 * The history as the engine holds it during a run: read once, updated in
 * memory, and written record by record through the driver. status and
 * check are answered from one read, without a lock.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int migrate__rec_set(migrate__rec *rec, char **field, const char *value)
{
	char *copy = value ? migrate__strdup(value) : NULL;

	free(*field);
	*field = copy;
	if (value && !copy) {
		rec->oom = true;
		return MIGRATE_ENOMEM;
	}
	return 0;
}

static void rec_free(migrate__rec *r)
{
	free(r->name);
	free(r->checksum);
	free(r->checkpoint);
	free(r->applied_by);
	free(r->error);
	free(r->lib_version);
}

void migrate__history_free(migrate__history *h)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		rec_free(&h->recs[i]);
	free(h->recs);
	migrate__idmap_free(&h->ids);
	memset(h, 0, sizeof *h);
}

migrate__rec *migrate__history_find(migrate__history *h, uint64_t version)
{
	size_t i;

	return migrate__idmap_get(&h->ids, version, &i) ? &h->recs[i] : NULL;
}

migrate__rec *migrate__history_add(migrate__history *h, uint64_t version)
{
	migrate__rec *r;

	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 16;
		migrate__rec *grown = migrate__realloc(h->recs, cap * sizeof *grown);
		if (!grown)
			return NULL;
		h->recs = grown;
		h->cap = cap;
	}
	if (migrate__idmap_put(&h->ids, version, h->n))
		return NULL;
	r = &h->recs[h->n++];
	memset(r, 0, sizeof *r);
	r->version = version;
	return r;
}

static int load_one(const migrate_record_t *in, void *ctx)
{
	migrate__history *h = ctx;
	migrate__rec *r = migrate__history_find(h, in->version);

	if (!r && !(r = migrate__history_add(h, in->version)))
		return MIGRATE_ENOMEM;
	migrate__rec_set(r, &r->name, in->name);
	migrate__rec_set(r, &r->checksum, in->checksum);
	migrate__rec_set(r, &r->checkpoint, in->checkpoint);
	migrate__rec_set(r, &r->applied_by, in->applied_by);
	migrate__rec_set(r, &r->error, in->error);
	migrate__rec_set(r, &r->lib_version, in->lib_version);
	if (r->oom)
		return MIGRATE_ENOMEM;
	r->state = in->state;
	r->steps_done = in->steps_done;
	r->started_at_ms = in->started_at_ms;
	r->finished_at_ms = in->finished_at_ms;
	r->duration_ms = in->duration_ms;
	return 0;
}

/* states: only version, checksum and state are needed (check), read through
 * the module's smaller read where it has one. */
static int history_load(migrate_target_t *t, const char *plan, bool states, migrate__history *h, migrate_error_t *err)
{
	const migrate__module_t *m = states ? migrate__module_of(t->driver) : NULL;
	int rc;

	memset(h, 0, sizeof *h);
	if ((rc = migrate__fault(MIGRATE__FAULT_DRIVER, "history_read", err)))
		return rc;
	if (m && m->history_states)
		rc = m->history_states(t->conn, plan, load_one, h, err);
	else
		rc = t->driver->history_read(t->conn, plan, load_one, h, err);
	if (rc == MIGRATE_ENOMEM)
		migrate__err(err, MIGRATE_DOMAIN_RUN, rc, "out of memory reading the history");
	if (rc)
		migrate__history_free(h);
	return rc;
}

int migrate__history_load(migrate_target_t *t, const char *plan, migrate__history *h, migrate_error_t *err)
{
	return history_load(t, plan, false, h, err);
}

int migrate__history_write(migrate_target_t *t, const char *plan, const migrate__rec *r, migrate_error_t *err)
{
	migrate_record_t out;
	int rc;

	/* A field whose copy failed would be written as NULL: write nothing instead. */
	if (r->oom)
		return migrate__err(err, MIGRATE_DOMAIN_RUN, MIGRATE_ENOMEM,
				    "out of memory preparing the history record of version %llu",
				    (unsigned long long)r->version);
	if ((rc = migrate__fault(MIGRATE__FAULT_JOURNAL, "history_write", err)))
		return rc;
	memset(&out, 0, sizeof out);
	out.version = r->version;
	out.name = r->name;
	out.checksum = r->checksum;
	out.state = r->state;
	out.steps_done = r->steps_done;
	out.checkpoint = r->checkpoint;
	out.started_at_ms = r->started_at_ms;
	out.finished_at_ms = r->finished_at_ms;
	out.duration_ms = r->duration_ms;
	out.applied_by = r->applied_by;
	out.error = r->error;
	out.lib_version = r->lib_version;
	return t->driver->history_write(t->conn, plan, &out, err);
}

/* ---- status ---- */

struct migrate_status {
	migrate_status_entry_t *entries;
	size_t n;
	migrate__history hist; /* owns the strings the entries point to */
};

static int cmp_entries(const void *a, const void *b)
{
	uint64_t x = ((const migrate_status_entry_t *)a)->id, y = ((const migrate_status_entry_t *)b)->id;
	return x < y ? -1 : x > y;
}

static void fill_from_rec(migrate_status_entry_t *e, const migrate__rec *r)
{
	e->state = r->state;
	e->steps_done = r->steps_done;
	e->started_at_ms = r->started_at_ms;
	e->finished_at_ms = r->finished_at_ms;
	e->duration_ms = r->duration_ms;
	e->applied_by = r->applied_by;
	e->error = r->error;
	e->checksum = r->checksum;
}

int migrate_status_get(migrate_target_t *target, const migrate_plan_t *plan, migrate_status_t **out,
		       migrate_error_t *err)
{
	migrate_status_t *s;
	size_t i, n = 0;
	int rc;

	if (!target || !plan || !out)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL,
				    "migrate_status_get: target, plan and out are required");
	*out = NULL;
	s = migrate__calloc(1, sizeof *s);
	if (!s)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_ENOMEM, "out of memory");
	if ((rc = migrate__history_load(target, plan->name, &s->hist, err))) {
		free(s);
		return rc;
	}
	s->entries = migrate__calloc(plan->nversions + s->hist.n + 1, sizeof *s->entries);
	if (!s->entries) {
		migrate_status_destroy(s);
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_ENOMEM, "out of memory");
	}
	for (i = 0; i < plan->nversions; i++) {
		const migrate_version_t *v = plan->versions[i];
		migrate_status_entry_t *e = &s->entries[n++];
		migrate__rec *r = migrate__history_find(&s->hist, v->id);
		char sum[65];
		e->id = v->id;
		e->name = v->name ? v->name : "";
		e->in_plan = 1;
		e->steps_total = (uint32_t)v->nsteps;
		e->state = MIGRATE_STATE_PENDING;
		e->checksum_matches = 1;
		if (!r)
			continue;
		fill_from_rec(e, r);
		if (migrate__version_checksum(v, sum, NULL) == 0)
			e->checksum_matches = r->checksum && !strcmp(r->checksum, sum);
	}
	for (i = 0; i < s->hist.n; i++) {
		const migrate__rec *r = &s->hist.recs[i];
		migrate_status_entry_t *e;
		/* hist.n > 0 only once hist.recs is allocated (migrate__history_add). */
		if (migrate__plan_find(plan, r->version)) /* NOLINT(clang-analyzer-core.NullDereference) */
			continue;
		e = &s->entries[n++];
		e->id = r->version;
		e->name = r->name ? r->name : "";
		e->in_plan = 0;
		e->checksum_matches = 0;
		fill_from_rec(e, r);
	}
	s->n = n;
	qsort(s->entries, n, sizeof *s->entries, cmp_entries);
	*out = s;
	return 0;
}

size_t migrate_status_count(const migrate_status_t *status)
{
	return status ? status->n : 0;
}

const migrate_status_entry_t *migrate_status_entry(const migrate_status_t *status, size_t i)
{
	return status && i < status->n ? &status->entries[i] : NULL;
}

void migrate_status_destroy(migrate_status_t *status)
{
	if (!status)
		return;
	migrate__history_free(&status->hist);
	free(status->entries);
	free(status);
}

const char *migrate_state_name(int state)
{
	switch (state) {
	case MIGRATE_STATE_PENDING: return "pending";
	case MIGRATE_STATE_APPLYING: return "applying";
	case MIGRATE_STATE_APPLIED: return "applied";
	case MIGRATE_STATE_FAILED: return "failed";
	case MIGRATE_STATE_REVERTING: return "reverting";
	default: return "unknown";
	}
}

int migrate__state_from_name(const char *name)
{
	int i;

	for (i = MIGRATE_STATE_APPLYING; name && i <= MIGRATE_STATE_REVERTING; i++)
		if (strcmp(name, migrate_state_name(i)) == 0)
			return i;
	return MIGRATE_STATE_FAILED;
}

/* ---- check ---- */

int migrate__check_state(const migrate_plan_t *plan, migrate__history *h)
{
	size_t i;
	int worst = MIGRATE_CHECK_UP_TO_DATE;

	for (i = 0; i < plan->nversions; i++) {
		const migrate_version_t *v = plan->versions[i];
		const migrate__rec *r = migrate__history_find(h, v->id);
		char sum[65];
		int s = MIGRATE_CHECK_PENDING;
		if (r && r->state == MIGRATE_STATE_APPLIED) {
			s = MIGRATE_CHECK_UP_TO_DATE;
			if (migrate__version_checksum(v, sum, NULL) == 0 && (!r->checksum || strcmp(r->checksum, sum)))
				s = MIGRATE_CHECK_MISMATCH;
		} else if (r) {
			s = MIGRATE_CHECK_FAILED;
		}
		if (s > worst)
			worst = s;
	}
	return worst;
}

/* Where the database stands against the plan: its highest applied version, pending and newer versions. */
static void check_details(const migrate_plan_t *plan, const migrate__history *h, migrate_check_details_t *d)
{
	size_t i;

	d->database_version = d->plan_version = 0;
	d->pending = d->ahead = 0;
	for (i = 0; i < plan->nversions; i++)
		if (plan->versions[i]->id > d->plan_version)
			d->plan_version = plan->versions[i]->id;
	for (i = 0; i < h->n; i++)
		if (h->recs[i].state == MIGRATE_STATE_APPLIED && h->recs[i].version > d->database_version)
			d->database_version = h->recs[i].version;
	for (i = 0; i < h->n; i++)
		if (h->recs[i].state == MIGRATE_STATE_APPLIED && h->recs[i].version > d->plan_version)
			d->ahead++;
	for (i = 0; i < plan->nversions; i++) {
		const migrate__rec *r = migrate__history_find((migrate__history *)h, plan->versions[i]->id);
		if (!r || r->state != MIGRATE_STATE_APPLIED)
			d->pending++;
	}
}

int migrate_check_details(migrate_target_t *target, const migrate_plan_t *plan, migrate_check_state_t *state,
			  migrate_check_details_t *details, migrate_error_t *err)
{
	migrate__history h;
	int rc;

	if (!target || !plan || !state)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL,
				    "migrate_check: target, plan and state are required");
	if (details && details->version != MIGRATE_CHECK_DETAILS_VERSION)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EVERSION,
				    "migrate_check_details: unknown details version %u (expected %u)", details->version,
				    MIGRATE_CHECK_DETAILS_VERSION);
	if ((rc = history_load(target, plan->name, true, &h, err)))
		return rc;
	*state = (migrate_check_state_t)migrate__check_state(plan, &h);
	if (details)
		check_details(plan, &h, details);
	migrate__history_free(&h);
	return 0;
}

int migrate_check(migrate_target_t *target, const migrate_plan_t *plan, migrate_check_state_t *state,
		  migrate_error_t *err)
{
	return migrate_check_details(target, plan, state, NULL, err);
}
