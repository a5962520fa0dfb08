/*
 * verify: runs the assert steps of the versions already applied, again, as
 * a health check of the data (`migrate verify`). It takes no lock and writes
 * nothing: the history is read once, and on a driver with transactions each
 * assert runs in a transaction of its own that is rolled back, so even a raw
 * `sql` assert with side effects leaves no trace.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct verify_tally {
	unsigned run, failed;
	migrate_error_t first; /* the first failed assertion */
} verify_tally;

static int verify_step(migrate_run *r, const migrate_step_t *s, migrate_error_t *err)
{
	const migrate_driver_t *d = r->t->driver;
	bool txn = d->begin && !(d->step_flags && (d->step_flags(r->t->conn, s) & MIGRATE_STEP_NO_TXN));
	migrate_exec_t exec;
	migrate_error_t ignored;
	char place[512];
	int rc;

	memset(&exec, 0, sizeof exec);
	exec.in_txn = txn;
	exec.direction = MIGRATE_DIRECTION_UP;
	exec.batch_time_ms = r->opts.batch_time_ms;
	exec.run = r;
	exec.step_index = (int)s->index;
	exec.op = s->op;
	if (txn && (rc = d->begin(r->t->conn, err)))
		return rc;
	rc = d->apply_step(r->t->conn, s, &exec, err);
	if (txn && d->rollback(r->t->conn, &ignored))
		migrate__log(MIGRATE_LOG_WARNING, "verify: rollback failed: %s", ignored.message);
	if (rc) {
		migrate__step_place(s, place, sizeof place);
		migrate__err_prefix(err, "%s: ", place);
	}
	return rc;
}

static int verify_version(migrate_run *r, const migrate_version_t *v, verify_tally *tally)
{
	migrate_error_t serr;
	size_t i;
	int rc;

	r->v = v;
	r->version_started_ms = migrate__now_ms();
	for (i = 0; i < v->nsteps; i++) {
		const migrate_step_t *s = v->steps[i];
		if (s->op != MIGRATE_OP_ASSERT)
			continue;
		if (r->cancel)
			return migrate__err(r->err, MIGRATE_DOMAIN_RUN, MIGRATE_ECANCELED, "verify canceled");
		memset(&serr, 0, sizeof serr);
		migrate__emit(r, MIGRATE_EVENT_STEP_START, (int)i, s->op, 0, -1, NULL);
		tally->run++;
		rc = verify_step(r, s, &serr);
		if (rc == MIGRATE_EASSERT) {
			/* A failed assertion is a finding, not an accident: report it and go on. */
			if (tally->failed++ == 0)
				tally->first = serr;
			migrate__emit(r, MIGRATE_EVENT_WARNING, (int)i, s->op, 0, -1, serr.message);
			continue;
		}
		if (rc) {
			if (r->err)
				*r->err = serr;
			return rc;
		}
		migrate__emit(r, MIGRATE_EVENT_STEP_END, (int)i, s->op, 0, -1, NULL);
	}
	r->v = NULL;
	return 0;
}

int migrate_verify(migrate_target_t *target, const migrate_plan_t *plan, const migrate_run_options_t *opts,
		   migrate_error_t *err)
{
	migrate_version_t **sorted = NULL;
	migrate__history h;
	verify_tally tally;
	migrate_run r;
	size_t i;
	int rc;

	memset(&h, 0, sizeof h);
	memset(&tally, 0, sizeof tally);
	memset(&r, 0, sizeof r);
	if (!target || !plan)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL,
				    "migrate_verify: target and plan are required");
	if (opts && opts->version != MIGRATE_RUN_OPTIONS_VERSION)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EVERSION,
				    "run options: struct version %u is unknown (this library: %d)", opts->version,
				    MIGRATE_RUN_OPTIONS_VERSION);
	if (opts)
		r.opts = *opts;
	else
		migrate_run_options_init(&r.opts, MIGRATE_RUN_OPTIONS_VERSION);
	r.t = target;
	r.plan = plan;
	r.err = err;
	r.direction = MIGRATE_DIRECTION_UP;
	if ((rc = migrate__plan_validate(plan, target, err)) ||
	    (rc = migrate__history_load(target, plan->name, &h, err)))
		goto done;
	if (!(sorted = migrate__plan_sorted(plan))) {
		rc = migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < plan->nversions && rc == 0; i++) {
		const migrate__rec *rec = migrate__history_find(&h, sorted[i]->id);
		if (rec && rec->state == MIGRATE_STATE_APPLIED)
			rc = verify_version(&r, sorted[i], &tally);
	}
	if (rc == 0 && tally.failed)
		rc = migrate__err(err, MIGRATE_DOMAIN_RUN, MIGRATE_EASSERT, "%u of %u assertions failed; the first: %s",
				  tally.failed, tally.run, tally.first.message);
done:
	free(sorted);
	migrate__history_free(&h);
	return rc;
}
