/*
 * The engine: validate, lock, compare, then apply (or revert) version by
 * version with a journal write after every transaction group, step and
 * backfill batch, so that any later run resumes exactly where one stopped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int migrate_run_options_init(migrate_run_options_t *opts, unsigned version)
{
	migrate_run_options_t dflt = MIGRATE_RUN_OPTIONS_INIT;

	if (!opts)
		return MIGRATE_EINVAL;
	if (version != MIGRATE_RUN_OPTIONS_VERSION)
		return MIGRATE_EVERSION;
	*opts = dflt;
	return 0;
}

static int run_begin(migrate_run *r, const migrate_run_options_t *opts, migrate_target_t *t, const migrate_plan_t *plan,
		     int direction, migrate_error_t *err)
{
	memset(r, 0, sizeof *r);
	if (!t || !plan)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL, "target and plan are required");
	if (opts && opts->version != MIGRATE_RUN_OPTIONS_VERSION)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EVERSION,
				    "run options: struct version %u is unknown (this library: %d)", opts->version,
				    MIGRATE_RUN_OPTIONS_VERSION);
	if (opts)
		r->opts = *opts;
	else
		migrate_run_options_init(&r->opts, MIGRATE_RUN_OPTIONS_VERSION);
	r->t = t;
	r->plan = plan;
	r->err = err;
	r->direction = direction;
	migrate__applied_by(r->applied_by, sizeof r->applied_by);
	return 0;
}

/* ---- journal ---- */

static int journal(migrate_run *r)
{
	return migrate__history_write(r->t, r->plan->name, r->rec, r->err);
}

static int history_delete(migrate_run *r)
{
	int rc = migrate__fault(MIGRATE__FAULT_JOURNAL, "history_delete", r->err);

	return rc ? rc : r->t->driver->history_delete(r->t->conn, r->plan->name, r->v->id, r->err);
}

/*
 * After a failure the journal in memory may be ahead of the database: a
 * batch journaled its checkpoint and then its commit failed, or a journal
 * write failed after the driver sent it. The database holds the truth, so
 * the failure record takes its steps and checkpoint from there: a
 * checkpoint is only ever recorded together with the rows it covers.
 */
static int reload_journal(migrate_run *r, migrate_error_t *err)
{
	migrate__history h;
	const migrate__rec *db;
	int rc;

	if ((rc = migrate__history_load(r->t, r->plan->name, &h, err)))
		return rc;
	db = migrate__history_find(&h, r->rec->version);
	r->rec->steps_done = db ? db->steps_done : 0;
	rc = migrate__rec_set(r->rec, &r->rec->checkpoint, db ? db->checkpoint : NULL);
	migrate__history_free(&h);
	return rc;
}

/* Records a failure outside any transaction, keeping the error message. */
static void record_failure(migrate_run *r, int rc)
{
	migrate_error_t ignored;

	if (rc == MIGRATE_ECANCELED)
		migrate__rec_set(r->rec, &r->rec->error, "canceled");
	else
		migrate__rec_set(r->rec, &r->rec->error, r->err ? r->err->message : migrate_strerror(rc));
	if (r->direction == MIGRATE_DIRECTION_UP)
		r->rec->state = MIGRATE_STATE_FAILED;
	if (rc == MIGRATE_ELOCKLOST || rc == MIGRATE_ECONNECT)
		return; /* not ours to write any more, or nothing to write with */
	if (reload_journal(r, &ignored)) {
		/* The record stays as the database has it, which the next run resumes from. */
		migrate__log(MIGRATE_LOG_ERROR, "recording the failure of version %llu: %s",
			     (unsigned long long)r->rec->version, ignored.message);
		return;
	}
	if (migrate__history_write(r->t, r->plan->name, r->rec, &ignored))
		migrate__log(MIGRATE_LOG_ERROR, "recording the failure of version %llu: %s",
			     (unsigned long long)r->rec->version, ignored.message);
}

static bool step_no_txn(const migrate_run *r, const migrate_step_t *s)
{
	const migrate_target_t *t = r->t;
	unsigned flags;

	if (!t->driver->begin)
		return true;
	if (s->op == MIGRATE_OP_CUSTOM || !t->driver->step_flags)
		return false;
	flags = migrate__driver_flags(t->driver, t->conn, s);
	if (flags & MIGRATE_STEP_NO_TXN)
		return true;
	return !r->v->transactional && (flags & MIGRATE_STEP_AUTOCOMMIT);
}

/*
 * Runs one step document (a plan step, or an inverse on the way down);
 * `orig` is the plan step it belongs to, for events and messages.
 */
static int run_step(migrate_run *r, const migrate_step_t *s, const migrate_step_t *orig, bool in_txn,
		    const char *checkpoint)
{
	migrate_exec_t exec;
	char place[512];
	int rc;

	r->step_batches = r->step_longest_ms = 0;
	if (s->op == MIGRATE_OP_CUSTOM) {
		migrate_custom_fn fn = r->direction == MIGRATE_DIRECTION_UP ? s->custom_up : s->custom_down;
		migrate_error_t cerr;
		if (!in_txn)
			migrate__emit(r, MIGRATE_EVENT_WARNING, (int)orig->index, s->op, 0, -1,
				      "a custom step outside a transaction runs at least once: its journal write "
				      "follows it, so a run killed between the two runs it again when resumed");
		memset(&cerr, 0, sizeof cerr);
		rc = fn(r->t, migrate_target_native_handle(r->t), &cerr, s->custom_payload);
		if (rc == 0)
			return 0;
		migrate__step_place(orig, place, sizeof place);
		return migrate__err(r->err, MIGRATE_DOMAIN_CALLBACK, MIGRATE_ECALLBACK,
				    "%s: custom step \"%s\" failed: %s", place, migrate__doc_str(&s->doc, "name"),
				    cerr.message[0] ? cerr.message : "the callback returned an error");
	}
	memset(&exec, 0, sizeof exec);
	exec.in_txn = in_txn;
	exec.direction = r->direction;
	/* A copy: journaling replaces the record's string while the step runs. */
	exec.checkpoint = checkpoint ? migrate__strdup(checkpoint) : NULL;
	if (checkpoint && !exec.checkpoint)
		return migrate__err(r->err, MIGRATE_DOMAIN_RUN, MIGRATE_ENOMEM, "out of memory");
	exec.batch_size = (uint32_t)migrate__doc_int(&s->doc, "batch_size", 0);
	if (!exec.batch_size)
		exec.batch_size = r->opts.batch_size;
	exec.pause_ms = r->opts.batch_pause_ms;
	exec.batch_time_ms = r->opts.batch_time_ms;
	exec.run = r;
	exec.step_index = (int)orig->index;
	exec.op = s->op;
	exec.batch_start_ms = migrate__now_ms();
	migrate__log(MIGRATE_LOG_DEBUG, "version %llu step %zu: %s", (unsigned long long)r->v->id, orig->index + 1,
		     migrate__ops[s->op].name);
	rc = migrate__fault(MIGRATE__FAULT_DRIVER, "apply_step", r->err);
	if (rc == 0) {
		migrate_step_t tmp;
		const migrate_step_t *ds = migrate__driver_step(s, &tmp);
		rc = r->t->driver->apply_step(r->t->conn, ds, &exec, r->err);
		migrate__driver_step_done(ds, &tmp);
	}
	r->step_batches = exec.batches;
	r->step_longest_ms = exec.longest_ms;
	free((char *)exec.checkpoint);
	if (rc) {
		migrate__step_place(orig, place, sizeof place);
		migrate__err_prefix(r->err, "%s: ", place);
	}
	return rc;
}

static int txn(migrate_run *r, int (*fn)(void *, migrate_error_t *))
{
	const migrate_driver_t *d = r->t->driver;
	int rc = migrate__fault(MIGRATE__FAULT_DRIVER, fn == d->begin ? "begin" : "commit", r->err);

	return rc ? rc : fn(r->t->conn, r->err);
}

static void rollback(migrate_run *r)
{
	migrate_error_t ignored;

	if (r->t->driver->rollback(r->t->conn, &ignored))
		migrate__log(MIGRATE_LOG_WARNING, "rollback failed: %s", ignored.message);
}

static void mark_applied(migrate_run *r)
{
	r->rec->state = MIGRATE_STATE_APPLIED;
	r->rec->finished_at_ms = migrate__now_ms();
	/* The duration is this run's: a version resumed after an interruption
	 * counts from the resume (started_at keeps the first start, so the
	 * total is finished_at - started_at). */
	r->rec->duration_ms =
		r->rec->finished_at_ms - (r->version_started_ms ? r->version_started_ms : r->rec->started_at_ms);
	migrate__rec_set(r->rec, &r->rec->error, NULL);
	migrate__rec_set(r->rec, &r->rec->checkpoint, NULL);
}

/* Steps [i, j) in one transaction together with their journal write. */
static int up_group(migrate_run *r, size_t i, size_t j)
{
	const migrate_version_t *v = r->v;
	size_t k;
	int rc;

	if ((rc = txn(r, r->t->driver->begin)))
		return rc;
	for (k = i; k < j; k++) {
		const migrate_step_t *s = v->steps[k];
		migrate__emit(r, MIGRATE_EVENT_STEP_START, (int)k, s->op, 0, -1, NULL);
		if ((rc = run_step(r, s, s, true, NULL)))
			goto fail;
		migrate__emit(r, MIGRATE_EVENT_STEP_END, (int)k, s->op, 0, -1, NULL);
	}
	r->rec->steps_done = (uint32_t)j;
	migrate__rec_set(r->rec, &r->rec->checkpoint, NULL);
	if (j == v->nsteps)
		mark_applied(r);
	if ((rc = journal(r)) || (rc = txn(r, r->t->driver->commit)))
		goto fail;
	return 0;
fail:
	/* The journal in memory is now ahead of the database: record_failure reloads it. */
	rollback(r);
	return rc;
}

/* One step that manages its own transactions (or a store without them). */
static int up_single(migrate_run *r, size_t i)
{
	const migrate_step_t *s = r->v->steps[i];
	int rc;

	migrate__emit(r, MIGRATE_EVENT_STEP_START, (int)i, s->op, 0, -1, NULL);
	if ((rc = run_step(r, s, s, false, r->rec->checkpoint)))
		return rc;
	r->rec->steps_done = (uint32_t)i + 1;
	migrate__rec_set(r->rec, &r->rec->checkpoint, NULL);
	if (i + 1 == r->v->nsteps)
		mark_applied(r);
	if ((rc = journal(r)))
		return rc;
	migrate__emit(r, MIGRATE_EVENT_STEP_END, (int)i, s->op, 0, -1, NULL);
	return 0;
}

static int canceled(migrate_run *r)
{
	return migrate__err(r->err, MIGRATE_DOMAIN_RUN, MIGRATE_ECANCELED,
			    "version %llu: canceled after step %u; the next run resumes there",
			    (unsigned long long)r->v->id, r->rec->steps_done);
}

static void start_record(migrate_run *r, const char *checksum, int state)
{
	const migrate_version_t *v = r->v;

	migrate__rec_set(r->rec, &r->rec->name, v->name ? v->name : "");
	migrate__rec_set(r->rec, &r->rec->checksum, checksum);
	migrate__rec_set(r->rec, &r->rec->applied_by, r->applied_by);
	migrate__rec_set(r->rec, &r->rec->lib_version, MIGRATE_VERSION_STRING);
	migrate__rec_set(r->rec, &r->rec->error, NULL);
	/* A resumed version keeps its first start; otherwise the run's own, so
	 * that the run's duration never exceeds the total. */
	if ((r->rec->state != MIGRATE_STATE_APPLYING && r->rec->state != MIGRATE_STATE_FAILED) ||
	    !r->rec->started_at_ms)
		r->rec->started_at_ms = r->version_started_ms ? r->version_started_ms : migrate__now_ms();
	r->rec->state = state;
}

static int up_version(migrate_run *r, const migrate_version_t *v, migrate__rec *rec)
{
	char sum[65];
	size_t i, j;
	int rc;

	r->v = v;
	r->rec = rec;
	r->version_started_ms = migrate__now_ms();
	if ((rc = migrate__version_checksum(v, sum, r->err)))
		return rc;
	if (rec->state == MIGRATE_STATE_REVERTING && rec->checkpoint && rec->steps_done > 0) {
		/* A down stopped inside step steps_done-1's inverse: run that step again. */
		rec->steps_done--;
		migrate__rec_set(rec, &rec->checkpoint, NULL);
	}
	start_record(r, sum, MIGRATE_STATE_APPLYING);
	if (v->nsteps == 0)
		mark_applied(r);
	/* A version that goes on with a transaction writes its record in
	 * that transaction, with the steps it covers: a record written before
	 * would say nothing a crash does not (the next run goes on from the
	 * first step not committed either way), and costs a round trip. */
	if (!(rec->steps_done < v->nsteps && r->t->driver->begin && !step_no_txn(r, v->steps[rec->steps_done])) &&
	    (rc = journal(r)))
		return rc;
	migrate__emit(r, MIGRATE_EVENT_VERSION_START, -1, MIGRATE_OP_UNKNOWN, 0, -1,
		      rec->steps_done || rec->checkpoint ? "resuming" : NULL);
	for (i = rec->steps_done; i < v->nsteps; i = rec->steps_done) {
		if (r->cancel) {
			rc = canceled(r);
			goto fail;
		}
		if (step_no_txn(r, v->steps[i])) {
			rc = up_single(r, i);
		} else {
			for (j = i + 1; v->transactional && j < v->nsteps && !step_no_txn(r, v->steps[j]); j++)
				;
			rc = up_group(r, i, j);
		}
		if (rc)
			goto fail;
	}
	if (rec->state != MIGRATE_STATE_APPLIED) {
		/* Every step was in effect already (a resumed or half-reverted version). */
		mark_applied(r);
		if ((rc = journal(r)))
			goto fail;
	}
	migrate__emit(r, MIGRATE_EVENT_VERSION_END, -1, MIGRATE_OP_UNKNOWN, 0, -1, NULL);
	return 0;
fail:
	record_failure(r, rc);
	return rc;
}

/* ---- comparing the plan with the history ---- */

static int compare(migrate_run *r, migrate__history *h, migrate_version_t **sorted, uint64_t target)
{
	migrate_buf_t *bad = NULL;
	uint64_t max_applied = 0;
	size_t i;
	int rc = 0;

	for (i = 0; i < h->n; i++) {
		const migrate__rec *rec = &h->recs[i];
		const migrate_version_t *v = migrate__plan_find(r->plan, rec->version);
		char sum[65], msg[256];
		if (rec->state == MIGRATE_STATE_APPLIED && rec->version > max_applied)
			max_applied = rec->version;
		if (!v) {
			snprintf(msg, sizeof msg,
				 "version %llu (\"%s\") is recorded in the database but not in the plan",
				 (unsigned long long)rec->version, rec->name ? rec->name : "");
			migrate__emit(r, MIGRATE_EVENT_WARNING, -1, MIGRATE_OP_UNKNOWN, 0, -1, msg);
			continue;
		}
		if ((rc = migrate__version_checksum(v, sum, r->err)))
			return rc;
		if (rec->checksum && !strcmp(rec->checksum, sum))
			continue;
		if (rec->state != MIGRATE_STATE_APPLIED && rec->steps_done == 0 && !rec->checkpoint)
			continue; /* nothing of it ran: the edit is a fix, and the next run records it */
		if (r->opts.allow_amended) {
			snprintf(msg, sizeof msg, "version %llu changed since it was applied (allowed)",
				 (unsigned long long)v->id);
			migrate__emit(r, MIGRATE_EVENT_WARNING, -1, MIGRATE_OP_UNKNOWN, 0, -1, msg);
			continue;
		}
		if (!bad)
			bad = migrate__buf_new(NULL);
		migrate_buf_printf(bad, "%s%llu (\"%s\": recorded %.12s, plan %.12s)", bad->len ? ", " : "",
				   (unsigned long long)v->id, v->name ? v->name : "",
				   rec->checksum ? rec->checksum : "none", sum);
	}
	if (bad) {
		rc = migrate__err(r->err, MIGRATE_DOMAIN_RUN, MIGRATE_ECHECKSUM,
				  "versions changed since they were applied: %s; revert the edit, or run repair if "
				  "it was deliberate",
				  bad->str);
		migrate__buf_free(bad, true);
		return rc;
	}
	for (i = 0; !r->opts.allow_out_of_order && i < r->plan->nversions; i++) {
		const migrate_version_t *v = sorted[i];
		if (target && v->id > target)
			break;
		if (!migrate__history_find(h, v->id) && v->id < max_applied)
			return migrate__err(r->err, MIGRATE_DOMAIN_RUN, MIGRATE_EORDER,
					    "version %llu (\"%s\") is pending but version %llu is already applied; "
					    "allow out-of-order versions to apply it",
					    (unsigned long long)v->id, v->name ? v->name : "",
					    (unsigned long long)max_applied);
	}
	return 0;
}

/* Validation, history store, lock and one read: what every writing run starts with. */
static int prepare(migrate_run *r, migrate__history *h, migrate_version_t ***sorted, uint64_t target)
{
	int rc;

	memset(h, 0, sizeof *h);
	*sorted = NULL;
	if ((rc = migrate__plan_validate(r->plan, r->t, r->err)))
		return rc;
	if (target && !migrate__plan_find(r->plan, target))
		return migrate__err(r->err, MIGRATE_DOMAIN_API, MIGRATE_ENOTFOUND, "version %llu is not in plan \"%s\"",
				    (unsigned long long)target, r->plan->name);
	*sorted = migrate__plan_sorted(r->plan);
	if (!*sorted)
		return migrate__err(r->err, MIGRATE_DOMAIN_API, MIGRATE_ENOMEM, "out of memory");
	if (r->t->driver->history_ensure && ((rc = migrate__fault(MIGRATE__FAULT_DRIVER, "history_ensure", r->err)) ||
					     (rc = r->t->driver->history_ensure(r->t->conn, r->err))))
		return rc;
	if ((rc = migrate__lock(r)))
		return rc;
	return migrate__history_load(r->t, r->plan->name, h, r->err);
}

static int finish(migrate_run *r, migrate__history *h, migrate_version_t **sorted, int rc)
{
	rc = migrate__unlock(r, rc);
	migrate__history_free(h);
	free(sorted);
	return rc;
}

int migrate_up(migrate_target_t *target, const migrate_plan_t *plan, uint64_t target_version,
	       const migrate_run_options_t *opts, migrate_error_t *err)
{
	migrate_version_t **sorted = NULL;
	migrate__history h;
	migrate_run r;
	size_t i;
	int rc;

	if ((rc = run_begin(&r, opts, target, plan, MIGRATE_DIRECTION_UP, err)))
		return rc;
	if ((rc = prepare(&r, &h, &sorted, target_version)) || (rc = compare(&r, &h, sorted, target_version)))
		goto done;
	for (i = 0; i < plan->nversions && rc == 0; i++) {
		const migrate_version_t *v = sorted[i];
		migrate__rec *rec = migrate__history_find(&h, v->id);
		if (target_version && v->id > target_version)
			break;
		if (rec && rec->state == MIGRATE_STATE_APPLIED)
			continue;
		if (r.cancel) {
			rc = migrate__err(err, MIGRATE_DOMAIN_RUN, MIGRATE_ECANCELED, "canceled before version %llu",
					  (unsigned long long)v->id);
			break;
		}
		if (!rec && !(rec = migrate__history_add(&h, v->id))) {
			rc = migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_ENOMEM, "out of memory");
			break;
		}
		rc = up_version(&r, v, rec);
	}
done:
	return finish(&r, &h, sorted, rc);
}

/* ---- down ---- */

typedef struct inverse_set {
	migrate_step_t **steps;
	size_t n;
	int replaced; /* by the version's explicit down */
} inverse_set;

static void free_inverses(inverse_set *inv, size_t n)
{
	size_t i, j;

	for (i = 0; inv && i < n; i++) {
		for (j = 0; j < inv[i].n; j++)
			migrate__step_destroy(inv[i].steps[j]);
		free(inv[i].steps);
	}
	free(inv);
}

/*
 * A fully applied version with an explicit down reverts through it: the
 * list runs where the last step is undone, the other steps undo nothing.
 */
static int version_down_for(const migrate_version_t *v, size_t i, inverse_set *out)
{
	bson_iter_t it;

	out->steps = NULL;
	out->n = 0;
	out->replaced = 1;
	if (i + 1 != v->nsteps)
		return 0;
	out->steps = migrate__calloc(bson_count_keys(v->down) + 1, sizeof *out->steps);
	if (!out->steps)
		return MIGRATE_ENOMEM;
	bson_iter_init(&it, v->down);
	while (bson_iter_next(&it)) {
		bson_t sub;
		const uint8_t *data;
		uint32_t len;
		migrate_step_t *s;
		bson_iter_document(&it, &len, &data);
		bson_init_static(&sub, data, len);
		if (!(s = migrate__step_new(&sub)))
			return MIGRATE_ENOMEM;
		s->version = v->steps[i]->version;
		s->index = i;
		out->steps[out->n++] = s;
	}
	return 0;
}

/* The inverses of the first `count` steps of `v`, each checked by the driver. */
static int inverses_of(migrate_run *r, const migrate_version_t *v, size_t count, bool whole, inverse_set **out)
{
	inverse_set *inv = migrate__calloc(count + 1, sizeof *inv);
	char place[512];
	size_t i, j;
	int rc = 0;

	*out = NULL;
	if (!inv)
		return migrate__err(r->err, MIGRATE_DOMAIN_API, MIGRATE_ENOMEM, "out of memory");
	for (i = 0; i < count && rc == 0; i++) {
		if (!v->down || !whole)
			rc = migrate__step_inverse(v->steps[i], &inv[i].steps, &inv[i].n, r->err);
		else if (version_down_for(v, i, &inv[i]))
			rc = migrate__err(r->err, MIGRATE_DOMAIN_API, MIGRATE_ENOMEM, "out of memory");
		for (j = 0; rc == 0 && j < inv[i].n; j++) {
			const migrate_step_t *s = inv[i].steps[j];
			if (r->t->driver->check_step && (rc = migrate__driver_check(r->t, s, r->err))) {
				migrate__step_place(v->steps[i], place, sizeof place);
				migrate__err_prefix(r->err, "%s: its down step (%s) on the %s driver: ", place,
						    migrate__ops[s->op].name, r->t->driver->name);
			}
		}
	}
	if (rc) {
		free_inverses(inv, count);
		return rc;
	}
	*out = inv;
	return 0;
}

/*
 * Steps a down must undo: those journaled as done, plus a batched step that
 * an interrupted up left part-way (its checkpoint says some batches
 * committed). Its inverse then covers every row, done or not.
 */
static uint32_t steps_in_effect(const migrate__rec *rec, const migrate_version_t *v)
{
	if (rec->state != MIGRATE_STATE_REVERTING && rec->checkpoint && rec->steps_done < v->nsteps)
		return rec->steps_done + 1;
	return rec->steps_done;
}

/*
 * What reverting `s` leaves as it is ("the values it overwrote"), or NULL
 * when its down gives it back: a step that destroys data (a drop, a
 * backfill, a map) reverted by an explicit or empty down (its own, or its
 * version's when `version_down`) instead of its computed inverse.
 */
static const char *lossy_down(const migrate_step_t *s, bool version_down)
{
	const migrate__op_spec *spec = &migrate__ops[s->op];

	if (!spec->loses || (!version_down && spec->inverse && !bson_has_field(&s->doc, "down")))
		return NULL;
	return spec->loses;
}

/* Before such a step is reverted: a warning event (and a log line) says what stays. */
static void warn_lossy_down(migrate_run *r, const migrate_step_t *orig, const inverse_set *inv)
{
	const char *table = migrate__doc_str(&orig->doc, "table"), *loses = lossy_down(orig, inv->replaced);
	char msg[300];

	if (!loses)
		return;
	snprintf(msg, sizeof msg, "%s%s%s: its down does not restore %s", migrate__ops[orig->op].name,
		 table ? " of " : "", table ? table : "", loses);
	migrate__log(MIGRATE_LOG_WARNING, "version %llu step %zu: %s", (unsigned long long)r->v->id, orig->index + 1,
		     msg);
	migrate__emit(r, MIGRATE_EVENT_WARNING, (int)orig->index, orig->op, 0, -1, msg);
}

/* Whether the inverse steps of one plan step run in one transaction with their journal write. */
static bool down_group(const migrate_run *r, const inverse_set *inv)
{
	size_t k;

	if (!r->t->driver->begin)
		return false;
	for (k = 0; k < inv->n; k++)
		if (step_no_txn(r, inv->steps[k]))
			return false;
	return true;
}

/* Reverts plan step i (0-based) of the current version: its inverse steps, then the journal. */
static int down_step(migrate_run *r, size_t i, const inverse_set *inv)
{
	const migrate_step_t *orig = r->v->steps[i];
	bool group = down_group(r, inv), empty;
	size_t k;
	int rc;

	migrate__emit(r, MIGRATE_EVENT_STEP_START, (int)i, orig->op, 0, -1, NULL);
	warn_lossy_down(r, orig, inv);
	if (group && (rc = txn(r, r->t->driver->begin)))
		return rc;
	if (orig->op == MIGRATE_OP_CUSTOM && !inv->replaced)
		rc = run_step(r, orig, orig, group, NULL);
	else
		for (rc = 0, k = 0; rc == 0 && k < inv->n; k++)
			rc = run_step(r, inv->steps[k], orig, group, inv->n == 1 ? r->rec->checkpoint : NULL);
	if (rc == 0) {
		/* A version's own down undoes the whole version at once. */
		r->rec->steps_done = inv->replaced ? 0 : (uint32_t)i;
		migrate__rec_set(r->rec, &r->rec->checkpoint, NULL);
		if (r->rec->steps_done == 0)
			rc = history_delete(r);
		else
			rc = journal(r);
	}
	if (group) {
		if (rc == 0)
			rc = txn(r, r->t->driver->commit);
		if (rc)
			rollback(r);
	}
	/* An empty explicit down ("down": []) runs nothing: the event says so. */
	empty = inv->n == 0 && (orig->op != MIGRATE_OP_CUSTOM || inv->replaced);
	if (rc == 0)
		migrate__emit(r, MIGRATE_EVENT_STEP_END, (int)i, orig->op, 0, -1, empty ? "its down is empty" : NULL);
	return rc;
}

static int down_version(migrate_run *r, const migrate_version_t *v, migrate__rec *rec, const inverse_set *inv)
{
	size_t i;
	int rc;

	bool applied = rec->state == MIGRATE_STATE_APPLIED && !rec->checkpoint;

	r->v = v;
	r->rec = rec;
	r->version_started_ms = migrate__now_ms();
	rec->steps_done = steps_in_effect(rec, v);
	if (rec->state != MIGRATE_STATE_REVERTING)
		migrate__rec_set(rec, &rec->checkpoint, NULL); /* it was the up's, not the down's */
	rec->state = MIGRATE_STATE_REVERTING;
	migrate__rec_set(rec, &rec->error, NULL);
	if (rec->steps_done == 0)
		return history_delete(r);
	/* An applied version whose last step is undone in a transaction is
	 * marked reverting by that transaction's journal write: a mark written
	 * before would say nothing a crash does not (the record still says
	 * applied, and the next down starts over from the last step), and
	 * costs a round trip and, on a durable database, a flush. A version an
	 * up left part-way keeps the mark first: it moves the up's checkpoint
	 * out of the way of the down's. */
	if (!(applied && down_group(r, &inv[rec->steps_done - 1])) && (rc = journal(r)))
		return rc;
	migrate__emit(r, MIGRATE_EVENT_VERSION_START, -1, MIGRATE_OP_UNKNOWN, 0, -1, NULL);
	for (i = rec->steps_done; i > 0; i = rec->steps_done) {
		if (r->cancel) {
			rc = canceled(r);
			goto fail;
		}
		if ((rc = down_step(r, i - 1, &inv[i - 1])))
			goto fail;
	}
	migrate__emit(r, MIGRATE_EVENT_VERSION_END, -1, MIGRATE_OP_UNKNOWN, 0, -1, NULL);
	return 0;
fail:
	record_failure(r, rc);
	return rc;
}

/* The inverses of one version to revert. */
typedef struct version_inv {
	inverse_set *sets;
	size_t count;
} version_inv;

/* Versions to revert, newest first: recorded, in the plan, above the target. */
static int down_targets(migrate_run *r, migrate__history *h, migrate_version_t **sorted, uint64_t target,
			version_inv **inv)
{
	size_t i, n = r->plan->nversions;
	int rc;

	for (i = 0; i < h->n; i++)
		if (h->recs[i].version > target && !migrate__plan_find(r->plan, h->recs[i].version))
			return migrate__err(
				r->err, MIGRATE_DOMAIN_RUN, MIGRATE_ESTATE,
				"version %llu is recorded in the database but not in the plan: it cannot be "
				"reverted with this plan",
				(unsigned long long)h->recs[i].version);
	*inv = migrate__calloc(n + 1, sizeof **inv);
	if (!*inv)
		return migrate__err(r->err, MIGRATE_DOMAIN_API, MIGRATE_ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		const migrate__rec *rec = migrate__history_find(h, sorted[i]->id);
		char sum[65];
		if (sorted[i]->id <= target || !rec)
			continue;
		/* Inverses come from the plan: an edited version would be undone by steps it never ran. */
		if ((rc = migrate__version_checksum(sorted[i], sum, r->err)))
			return rc;
		if (!r->opts.allow_amended && (!rec->checksum || strcmp(rec->checksum, sum) != 0))
			return migrate__err(
				r->err, MIGRATE_DOMAIN_RUN, MIGRATE_ECHECKSUM,
				"version %llu (\"%s\") changed since it was applied: its down would not undo "
				"what ran; revert the edit, or run repair if it was deliberate",
				(unsigned long long)sorted[i]->id, sorted[i]->name ? sorted[i]->name : "");
		uint32_t count = steps_in_effect(rec, sorted[i]);
		/* A version's own down serves a version wholly in effect, not one an up left part-way. */
		bool whole = count == sorted[i]->nsteps &&
			     (rec->state == MIGRATE_STATE_APPLIED || rec->state == MIGRATE_STATE_REVERTING);
		if ((rc = inverses_of(r, sorted[i], count, whole, &(*inv)[i].sets)))
			return rc;
		(*inv)[i].count = steps_in_effect(rec, sorted[i]);
	}
	return 0;
}

static void free_down_targets(const migrate_plan_t *plan, version_inv *inv)
{
	size_t i;

	for (i = 0; inv && i < plan->nversions; i++)
		free_inverses(inv[i].sets, inv[i].count);
	free(inv);
}

int migrate_down(migrate_target_t *target, const migrate_plan_t *plan, uint64_t target_version,
		 const migrate_run_options_t *opts, migrate_error_t *err)
{
	migrate_version_t **sorted = NULL;
	version_inv *inv = NULL;
	migrate__history h, pre;
	migrate_run r;
	size_t i;
	int rc;

	if ((rc = run_begin(&r, opts, target, plan, MIGRATE_DIRECTION_DOWN, err)))
		return rc;
	/* The down path is checked against a first read, before anything is written. */
	if ((rc = migrate__plan_validate(plan, target, err)))
		return rc;
	if ((sorted = migrate__plan_sorted(plan)) == NULL)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_ENOMEM, "out of memory");
	if ((rc = migrate__history_load(target, plan->name, &pre, err)) == 0) {
		rc = down_targets(&r, &pre, sorted, target_version, &inv);
		free_down_targets(plan, inv);
		migrate__history_free(&pre);
	}
	free(sorted);
	inv = NULL;
	if (rc)
		return rc;
	if ((rc = prepare(&r, &h, &sorted, target_version)) ||
	    (rc = down_targets(&r, &h, sorted, target_version, &inv)))
		goto done;
	for (i = plan->nversions; i > 0 && rc == 0; i--) {
		migrate__rec *rec = migrate__history_find(&h, sorted[i - 1]->id);
		if (sorted[i - 1]->id <= target_version || !rec)
			continue;
		if (r.cancel) {
			rc = migrate__err(err, MIGRATE_DOMAIN_RUN, MIGRATE_ECANCELED,
					  "canceled before reverting version %llu",
					  (unsigned long long)sorted[i - 1]->id);
			break;
		}
		rc = down_version(&r, sorted[i - 1], rec, inv[i - 1].sets);
	}
done:
	free_down_targets(plan, inv);
	return finish(&r, &h, sorted, rc);
}

/* ---- baseline and repair ---- */

int migrate_baseline(migrate_target_t *target, const migrate_plan_t *plan, uint64_t version,
		     const migrate_run_options_t *opts, migrate_error_t *err)
{
	migrate_version_t **sorted = NULL;
	migrate__history h;
	migrate_run r;
	size_t i, n;
	int rc;

	if ((rc = run_begin(&r, opts, target, plan, MIGRATE_DIRECTION_UP, err)))
		return rc;
	if (version == 0)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL, "baseline needs a version id");
	if ((rc = prepare(&r, &h, &sorted, version)))
		goto done;
	for (i = 0; i < plan->nversions && sorted[i]->id <= version; i++) {
		migrate__rec *rec = migrate__history_find(&h, sorted[i]->id);
		if (rec && rec->state != MIGRATE_STATE_APPLIED) {
			rc = migrate__err(
				err, MIGRATE_DOMAIN_RUN, MIGRATE_ESTATE,
				"version %llu is %s: finish it with up, or revert it with down, before a baseline",
				(unsigned long long)rec->version, migrate_state_name(rec->state));
			goto done;
		}
	}
	/*
	 * From the newest down, each record committed on its own: a baseline cut
	 * short leaves older versions without a record below a recorded one, so
	 * `up` refuses them as out of order instead of running them, and the
	 * same baseline again (or migrate_adopt) fills them in.
	 */
	for (n = 0; n < plan->nversions && sorted[n]->id <= version; n++)
		;
	for (i = n; i-- > 0 && rc == 0;) {
		const migrate_version_t *v = sorted[i];
		migrate__rec *rec = migrate__history_find(&h, v->id);
		char sum[65];
		if (rec)
			continue;
		if (!(rec = migrate__history_add(&h, v->id))) {
			rc = migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_ENOMEM, "out of memory");
			break;
		}
		r.v = v;
		r.rec = rec;
		if ((rc = migrate__version_checksum(v, sum, err)))
			break;
		start_record(&r, sum, MIGRATE_STATE_APPLIED);
		rec->steps_done = (uint32_t)v->nsteps;
		mark_applied(&r);
		migrate__rec_set(rec, &rec->error, MIGRATE__BASELINE_NOTE);
		rc = journal(&r);
	}
done:
	return finish(&r, &h, sorted, rc);
}

int migrate_repair(migrate_target_t *target, const migrate_plan_t *plan, const migrate_run_options_t *opts,
		   size_t *changed, migrate_error_t *err)
{
	migrate_version_t **sorted = NULL;
	migrate__history h;
	migrate_run r;
	size_t i, n = 0;
	int rc;

	if (changed)
		*changed = 0;
	if ((rc = run_begin(&r, opts, target, plan, MIGRATE_DIRECTION_UP, err)))
		return rc;
	if ((rc = prepare(&r, &h, &sorted, 0)))
		goto done;
	for (i = 0; i < h.n && rc == 0; i++) {
		migrate__rec *rec = &h.recs[i];
		const migrate_version_t *v = migrate__plan_find(plan, rec->version);
		char sum[65], msg[256];
		if (!v || (rc = migrate__version_checksum(v, sum, err)))
			continue;
		if (rec->checksum && !strcmp(rec->checksum, sum) && rec->name &&
		    !strcmp(rec->name, v->name ? v->name : ""))
			continue;
		migrate__rec_set(rec, &rec->checksum, sum);
		migrate__rec_set(rec, &rec->name, v->name ? v->name : "");
		r.v = v;
		r.rec = rec;
		snprintf(msg, sizeof msg, "version %llu: checksum realigned with the plan", (unsigned long long)v->id);
		migrate__emit(&r, MIGRATE_EVENT_WARNING, -1, MIGRATE_OP_UNKNOWN, 0, -1, msg);
		if ((rc = journal(&r)) == 0)
			n++;
	}
	if (changed)
		*changed = n;
done:
	return finish(&r, &h, sorted, rc);
}

/* ---- render ---- */

int migrate_render(migrate_target_t *target, const migrate_plan_t *plan, uint64_t target_version, char **out,
		   migrate_error_t *err)
{
	migrate_version_t **sorted = NULL;
	migrate__history h;
	migrate_buf_t *text;
	size_t i, j;
	int rc;

	if (!out)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL, "migrate_render: out is NULL");
	*out = NULL;
	if (!target || !plan)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL,
				    "migrate_render: target and plan are required");
	if ((rc = migrate__plan_validate(plan, target, err)))
		return rc;
	if (target_version && !migrate__plan_find(plan, target_version))
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_ENOTFOUND, "version %llu is not in plan \"%s\"",
				    (unsigned long long)target_version, plan->name);
	if ((rc = migrate__history_load(target, plan->name, &h, err)))
		return rc;
	if (!(sorted = migrate__plan_sorted(plan))) {
		migrate__history_free(&h);
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_ENOMEM, "out of memory");
	}
	text = migrate__buf_new(NULL);
	for (i = 0; i < plan->nversions && rc == 0; i++) {
		const migrate_version_t *v = sorted[i];
		const migrate__rec *rec = migrate__history_find(&h, v->id);
		if (target_version && v->id > target_version)
			break;
		if (rec && rec->state == MIGRATE_STATE_APPLIED)
			continue;
		migrate_buf_printf(text, "-- version %llu: %s%s\n", (unsigned long long)v->id, v->name ? v->name : "",
				   rec ? " (resuming)" : "");
		for (j = rec ? rec->steps_done : 0; j < v->nsteps && rc == 0; j++) {
			const migrate_step_t *s = v->steps[j];
			const char *loses = lossy_down(s, v->down != NULL);
			migrate_buf_printf(text, "-- step %zu: %s\n", j + 1, migrate__ops[s->op].name);
			/* Said before it runs: a revert will not give this back. */
			if (loses)
				migrate_buf_printf(text, "-- its down does not restore %s\n", loses);
			if (s->op == MIGRATE_OP_CUSTOM)
				migrate_buf_printf(text, "-- custom C callback \"%s\", revision \"%s\"\n",
						   migrate__doc_str(&s->doc, "name"),
						   migrate__doc_str(&s->doc, "revision"));
			else if (target->driver->render_step)
				rc = migrate__driver_render(target, s, text, err);
			else {
				char *json = migrate_step_to_json(s);
				migrate_buf_printf(text, "%s\n", json ? json : "");
				free(json);
			}
		}
	}
	/* A text that could not grow is incomplete: never hand it out. */
	if (rc == 0 && !text->failed)
		*out = migrate__strdup(text->str);
	migrate__buf_free(text, true);
	free(sorted);
	migrate__history_free(&h);
	if (rc == 0 && !*out)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_ENOMEM, "out of memory");
	return rc;
}
