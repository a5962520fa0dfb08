/*
 * The services the engine gives drivers (<migrate/driver.h>): what a step
 * runs under (transaction, checkpoint, batch settings), journaling its
 * batches, progress events and cancellation. Drivers depend on these, not
 * on the runner; the runner fills migrate_exec_t for each step it runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int migrate__emit(migrate_run *r, int type, int step_index, migrate_op_t op, int64_t processed, int64_t total,
		  const char *message)
{
	migrate_event_t ev;

	if (!r->opts.on_event)
		return 0;
	memset(&ev, 0, sizeof ev);
	ev.type = type;
	ev.direction = r->direction;
	ev.version_id = r->v ? r->v->id : 0;
	ev.version_name = r->v && r->v->name ? r->v->name : (r->v ? "" : NULL);
	ev.step_index = step_index;
	ev.step_count = r->v ? (int)r->v->nsteps : 0;
	ev.op = migrate_op_name(op);
	ev.processed = processed;
	ev.total = total;
	ev.elapsed_ms = r->v                 ? migrate__now_ms() - r->version_started_ms
			: r->wait_started_ms ? migrate__now_ms() - r->wait_started_ms
					     : 0;
	ev.message = message;
	ev.processed_before = type == MIGRATE_EVENT_PROGRESS ? r->done_before : 0;
	if (type == MIGRATE_EVENT_STEP_END) {
		ev.batches = r->step_batches;
		ev.longest_batch_ms = r->step_longest_ms;
	}
	if (r->opts.on_event(&ev, r->opts.event_payload) != 0)
		r->cancel = 1;
	return r->cancel;
}

int migrate_exec_in_transaction(const migrate_exec_t *exec)
{
	return exec->in_txn;
}

const char *migrate_exec_checkpoint(const migrate_exec_t *exec)
{
	return exec->checkpoint;
}

uint32_t migrate_exec_batch_size(const migrate_exec_t *exec)
{
	return exec->batch_size;
}

uint32_t migrate_exec_batch_pause_ms(const migrate_exec_t *exec)
{
	return exec->pause_ms;
}

uint32_t migrate_exec_batch_time_ms(const migrate_exec_t *exec)
{
	return exec->batch_time_ms ? exec->batch_time_ms : 200;
}

int migrate_exec_direction(const migrate_exec_t *exec)
{
	return exec->direction;
}

int migrate_exec_step_key(const migrate_exec_t *exec, char *out, size_t size)
{
	const migrate_run *r;
	char text[160], plan[65], sum[65];
	int n;

	if (!exec || !out || size < 33)
		return MIGRATE_EINVAL;
	r = exec->run;
	/* The plan name by its hash, so that every part keeps its place whatever the name's length. */
	migrate__sha256_hex(r->plan->name, strlen(r->plan->name), plan);
	n = snprintf(text, sizeof text, "%s:%llu:%d:%d", plan, (unsigned long long)r->v->id, exec->step_index,
		     exec->direction);
	migrate__sha256_hex(text, (size_t)n, sum);
	memcpy(out, sum, 32);
	out[32] = '\0';
	return 0;
}

int migrate_exec_journal(migrate_exec_t *exec, const char *checkpoint, migrate_error_t *err)
{
	migrate_run *r = exec->run;
	int rc;

	/* No checkpoint would read as "start from the beginning": never journal one by accident. */
	if (!checkpoint || !*checkpoint)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL,
				    "migrate_exec_journal: the checkpoint is empty (out of memory building it?)");
	if ((rc = migrate__rec_set(r->rec, &r->rec->checkpoint, checkpoint)))
		return migrate__err(err, MIGRATE_DOMAIN_RUN, rc, "out of memory journaling a checkpoint");
	return migrate__history_write(r->t, r->plan->name, r->rec, err);
}

void migrate_exec_resumed(migrate_exec_t *exec, int64_t done_before)
{
	if (exec)
		exec->done_before = done_before > 0 ? done_before : 0;
}

void migrate_exec_batch_start(migrate_exec_t *exec)
{
	if (exec)
		exec->batch_start_ms = migrate__now_ms();
}

int migrate_exec_batch_done(migrate_exec_t *exec, int64_t processed, int64_t total, migrate_error_t *err)
{
	migrate_run *r = exec->run;
	int64_t took = migrate__now_ms() - exec->batch_start_ms;

	exec->batches++;
	if (took > exec->longest_ms)
		exec->longest_ms = took;

	r->done_before = exec->done_before < processed ? exec->done_before : processed;
	migrate__emit(r, MIGRATE_EVENT_PROGRESS, exec->step_index, exec->op, processed, total, NULL);
	r->done_before = 0;
	if (r->cancel)
		return migrate__err(err, MIGRATE_DOMAIN_RUN, MIGRATE_ECANCELED, "canceled after a batch");
	if (exec->pause_ms)
		migrate__sleep_ms(exec->pause_ms);
	exec->batch_start_ms = migrate__now_ms(); /* unless the driver marks the next batch's start */
	return 0;
}

int migrate_exec_event(migrate_exec_t *exec, int type, const char *message)
{
	return migrate__emit(exec->run, type, exec->step_index, exec->op, 0, -1, message);
}

/* ---- running steps ---- */

/* Whether step s of the current version runs outside the engine's transaction. */
