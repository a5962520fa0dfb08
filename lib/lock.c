/*
 * Taking the plan's lock: drivers try once, the engine retries with a
 * growing, jittered backoff until the run's timeout, and reports each wait
 * with the holder's identity as an event.
 */
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define WAIT_EVENT_EVERY_MS 1000

/* The next of a xorshift sequence. rand() would not do: never seeded, it
 * gives every process the same sequence, so the processes would wait in step. */
static uint32_t next_jitter(uint32_t *state)
{
	uint32_t x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *state = x;
}

int migrate__lock(migrate_run *r)
{
	int64_t start = migrate__now_ms(), last_event = -WAIT_EVENT_EVERY_MS;
	int64_t timeout = r->opts.lock_timeout_ms;
	uint32_t backoff = 20;
	int64_t attempts = 0;
	/* Seeded per process and per start; xorshift needs a non-zero state. */
	uint32_t jitter = (((uint32_t)getpid() * 2654435761u) ^ (uint32_t)start) | 1u;
	migrate_error_t busy;
	int rc;

	r->wait_started_ms = start;
	for (;;) {
		memset(&busy, 0, sizeof busy);
		attempts++;
		rc = migrate__fault(MIGRATE__FAULT_DRIVER, "lock_try", &busy);
		if (rc == 0)
			rc = r->t->driver->lock_try(r->t->conn, r->plan->name, &busy);
		if (rc == 0) {
			r->locked = true;
			migrate__emit(r, MIGRATE_EVENT_LOCK_ACQUIRED, -1, MIGRATE_OP_UNKNOWN, attempts, -1, NULL);
			r->wait_started_ms = 0;
			return 0;
		}
		if (rc != MIGRATE_ELOCKED) {
			if (r->err)
				*r->err = busy;
			return rc;
		}
		int64_t waited = migrate__now_ms() - start;
		if (timeout >= 0 && waited >= timeout)
			return migrate__err(r->err, MIGRATE_DOMAIN_LOCK, MIGRATE_ELOCKED,
					    "lock of plan \"%s\" not acquired within %lld ms: %s", r->plan->name,
					    (long long)timeout, busy.message);
		if (waited - last_event >= WAIT_EVENT_EVERY_MS) {
			last_event = waited;
			migrate__emit(r, MIGRATE_EVENT_LOCK_WAIT, -1, MIGRATE_OP_UNKNOWN, attempts, -1, busy.message);
			if (r->cancel)
				return migrate__err(r->err, MIGRATE_DOMAIN_LOCK, MIGRATE_ECANCELED,
						    "canceled while waiting for the lock of plan \"%s\"",
						    r->plan->name);
		}
		/* Jitter keeps a fleet of starting processes from polling in step. */
		migrate__sleep_ms(backoff / 2 + next_jitter(&jitter) % (backoff / 2 + 1));
		if (backoff < 500)
			backoff *= 2;
	}
}

/*
 * The run's commits made durable (the driver's sync) before the lock lets
 * the next run read them: a run that had succeeded fails if that fails.
 */
static int sync_commits(migrate_run *r, int rc)
{
	const migrate_driver_t *d = r->t->driver;
	migrate_error_t e;
	int sc;

	if (d->version < 5 || !d->sync)
		return rc;
	memset(&e, 0, sizeof e);
	if (!(sc = migrate__fault(MIGRATE__FAULT_DRIVER, "sync", &e)))
		sc = d->sync(r->t->conn, &e);
	if (sc && rc)
		migrate__log(MIGRATE_LOG_WARNING, "making the run's commits durable: %s", e.message);
	else if (sc && r->err)
		*r->err = e;
	return rc ? rc : sc;
}

int migrate__unlock(migrate_run *r, int rc)
{
	migrate_error_t ignored;

	if (!r->locked)
		return rc;
	rc = sync_commits(r, rc);
	if (migrate__fault(MIGRATE__FAULT_DRIVER, "lock_release", &ignored) ||
	    r->t->driver->lock_release(r->t->conn, r->plan->name, &ignored))
		migrate__log(MIGRATE_LOG_WARNING, "releasing the lock of plan \"%s\": %s", r->plan->name,
			     ignored.message);
	r->locked = false;
	return rc;
}
