/*
 * The plan's lock. Advisory mode (the default) takes a session advisory
 * lock keyed by the history schema and the plan: the server releases it
 * when the holder's connection ends, so a killed process never keeps it.
 * Lease mode, for poolers in transaction mode where sessions are shared,
 * keeps a row in <schema>._migrate_lock with an owner token and an expiry
 * that every history write renews, and a thread on a connection of its own
 * every migrate_lease_renew_ms (a third of the lease); an expired lease is
 * taken over. Advisory mode
 * refuses a transaction pooler (pooler_probe).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pg.h"

/* FNV-1a over "libmigrate", the schema and the plan: the advisory lock key. */
static int64_t lock_key(const pg_target_t *t, const char *plan)
{
	uint64_t h = 14695981039346656037ULL;
	const char *parts[3] = {"libmigrate", t->schema, plan};
	int i;

	for (i = 0; i < 3; i++) {
		const unsigned char *p = (const unsigned char *)parts[i];
		for (; *p; p++) {
			h ^= *p;
			h *= 1099511628211ULL;
		}
		h ^= 0xff; /* separator */
		h *= 1099511628211ULL;
	}
	return (int64_t)h;
}

/* Describes the backend holding the advisory lock `key` into t->holder. */
static void advisory_holder(pg_target_t *t, int64_t key)
{
	char hi[16], lo[16];
	const char *p[2] = {hi, lo};
	PGresult *res = NULL;
	migrate_error_t e;

	/* pg_locks shows a bigint key as classid (high half) and objid (low half), objsubid 1. */
	snprintf(hi, sizeof hi, "%" PRIu32, (uint32_t)((uint64_t)key >> 32));
	snprintf(lo, sizeof lo, "%" PRIu32, (uint32_t)((uint64_t)key & 0xffffffffu));
	if (migrate__pg_exec(
		    t,
		    "SELECT l.pid, coalesce(a.application_name, ''), coalesce(host(a.client_addr), 'local socket'), "
		    "coalesce(to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS TZ'), '?'), coalesce(a.state, '?'), "
		    "coalesce(to_char(a.state_change, 'YYYY-MM-DD HH24:MI:SS TZ'), '?') "
		    "FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
		    "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
		    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
		    "AND l.classid = $1::oid AND l.objid = $2::oid LIMIT 1",
		    2, p, &res, "looking up the lock holder", &e) != 0) {
		snprintf(t->holder, sizeof t->holder, "another session (its details could not be read: %.400s)",
			 e.message);
		return;
	}
	if (PQntuples(res) == 0)
		snprintf(t->holder, sizeof t->holder, "another session (it has just released it)");
	else
		snprintf(
			t->holder, sizeof t->holder,
			"PostgreSQL backend pid %s (application_name \"%s\", client %s, connected since %s, %s since %s)",
			PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3),
			PQgetvalue(res, 0, 4), PQgetvalue(res, 0, 5));
	PQclear(res);
}

/* The server backend's pid, by a statement of its own (a transaction of its own outside ours). */
static int backend_pid(pg_target_t *t, long *pid, migrate_error_t *err)
{
	PGresult *res = NULL;
	int rc = migrate__pg_exec(t, "SELECT pg_backend_pid()", 0, NULL, &res, "probing for a connection pooler", err);

	if (rc == 0)
		*pid = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return rc;
}

/* The same on a plain connection; -1 when it fails. */
static long other_pid(PGconn *c)
{
	PGresult *res = PQexec(c, "SELECT pg_backend_pid()");
	long pid = PQresultStatus(res) == PGRES_TUPLES_OK ? strtol(PQgetvalue(res, 0, 0), NULL, 10) : -1;

	PQclear(res);
	return pid;
}

/* `v`, a libpq timeout setting, or `bound` (`bound_text`) when `v` is unset, 0 (none) or larger. */
static const char *bounded(const char *v, int64_t bound, const char *bound_text)
{
	char *end;
	long long n = v ? strtoll(v, &end, 10) : 0;

	return n <= 0 || n > bound ? bound_text : v;
}

/*
 * A connection with the parameters `info` (PQconninfo of the target's,
 * password included), or NULL. With bound_ms > 0 its waits are bounded by
 * it: connect_timeout (whole seconds, libpq's least is 2) and
 * tcp_user_timeout where libpq has it.
 */
static PGconn *connect_with(const PQconninfoOption *info, int64_t bound_ms)
{
	const PQconninfoOption *o;
	const char *keys[64], *vals[64];
	char connect_s[24], tcp_ms[24];
	int64_t seconds = bound_ms / 1000 > 2 ? (bound_ms + 999) / 1000 : 2;
	PGconn *c = NULL;
	int n = 0;

	if (!info)
		return NULL;
	snprintf(connect_s, sizeof connect_s, "%" PRId64, seconds);
	snprintf(tcp_ms, sizeof tcp_ms, "%" PRId64, bound_ms);
	for (o = info; o->keyword && n < 63; o++) {
		const char *v = o->val && *o->val ? o->val : NULL;
		if (bound_ms > 0 && strcmp(o->keyword, "connect_timeout") == 0)
			v = bounded(v, seconds, connect_s);
		else if (bound_ms > 0 && strcmp(o->keyword, "tcp_user_timeout") == 0)
			v = bounded(v, bound_ms, tcp_ms);
		if (v) {
			keys[n] = o->keyword;
			vals[n++] = v;
		}
	}
	keys[n] = vals[n] = NULL;
	c = PQconnectdbParams(keys, vals, 0);
	if (PQstatus(c) != CONNECTION_OK) {
		PQfinish(c);
		return NULL;
	}
	return c;
}

static PGconn *second_connection(pg_target_t *t, int64_t bound_ms)
{
	PQconninfoOption *info = PQconninfo(t->conn);
	PGconn *c = info ? connect_with(info, bound_ms) : NULL;

	PQconninfoFree(info);
	return c;
}

static int pooled_err(migrate_error_t *err, const char *plan, const char *why)
{
	return migrate__err(err, MIGRATE_DOMAIN_LOCK, MIGRATE_EINVAL,
			    "plan \"%s\": this connection goes through a connection pooler in transaction mode (%s), "
			    "where the default session advisory lock would not protect the run; add migrate_lock=lease "
			    "to the URL (the lease lock works through transaction poolers), or connect directly or "
			    "through session pooling",
			    plan, why);
}

/*
 * Advisory mode refuses a transaction pooler, where the session lock would
 * be taken on one pooled server connection while the run's transactions
 * go to others. Once per target: a pid from pg_backend_pid() equal to the
 * one of the connection's start-up message (PQbackendPID) means no pooler
 * at all, and costs one round trip. Through a pooler (PgBouncer sends a
 * pid of its own), the server must stay the same across transactions and
 * must not be handed to another client between them: four rounds of the
 * pid here and on a second connection. A transaction pooler hands the
 * server just released to the next client (PgBouncer's LIFO reuse), so
 * the second connection sees it even when nothing else runs; under load
 * the run's own transactions move instead.
 */
static int pooler_probe(pg_target_t *t, const char *plan, migrate_error_t *err)
{
	char why[160];
	long first, now;
	PGconn *c2;
	int i, rc;

	if ((rc = backend_pid(t, &first, err)) != 0)
		return rc;
	t->pool_probed = 1;
	if (first == (long)PQbackendPID(t->conn))
		return 0;
	t->pooled = 1;
	c2 = second_connection(t, 0);
	for (i = 0; i < 4; i++) {
		if ((rc = backend_pid(t, &now, err)) != 0)
			break;
		if (now != first) {
			snprintf(why, sizeof why,
				 "its server backend changed between two transactions: pid %ld, then %ld", first, now);
			rc = pooled_err(err, plan, why);
			break;
		}
		if (c2 && other_pid(c2) == first) {
			snprintf(why, sizeof why,
				 "its server backend, pid %ld, served another connection between two "
				 "of its transactions",
				 first);
			rc = pooled_err(err, plan, why);
			break;
		}
	}
	PQfinish(c2);
	if (rc)
		t->pool_probed = 0; /* probe again if the caller retries */
	return rc;
}

/*
 * Through a pooler that passed the probe, the lock must still be held by
 * the backend of the next transaction; when it is not (the probe missed a
 * transaction pooler), the lock is released from the backend holding it,
 * or that backend ended, so that nothing is stranded on a pooled server.
 */
static int pooled_lock_check(pg_target_t *t, const char *plan, const char *key, long lock_pid, migrate_error_t *err)
{
	char pid[24], why[160];
	const char *p[2] = {key, pid};
	long now;
	int rc, i;

	if ((rc = backend_pid(t, &now, err)) != 0 || now == lock_pid)
		return rc;
	snprintf(pid, sizeof pid, "%ld", lock_pid);
	for (i = 0; i < 8; i++) {
		PGresult *res = NULL;
		if (migrate__pg_exec(
			    t, "SELECT CASE WHEN pg_backend_pid() = $2::int THEN pg_advisory_unlock($1::bigint) END", 2,
			    p, &res, "releasing the advisory lock", err) == 0 &&
		    PQgetvalue(res, 0, 0)[0] == 't') {
			PQclear(res);
			break;
		}
		PQclear(res);
	}
	if (i == 8)
		migrate__pg_exec(t, "SELECT pg_terminate_backend($1::int)", 1, p + 1, NULL,
				 "ending the pooled backend that holds the advisory lock", err);
	snprintf(why, sizeof why, "the lock was taken on server backend pid %ld, the next transaction ran on %ld",
		 lock_pid, now);
	return pooled_err(err, plan, why);
}

static int advisory_try(pg_target_t *t, const char *plan, migrate_error_t *err)
{
	char key[24];
	const char *p[1] = {key};
	PGresult *res = NULL;
	int64_t k = lock_key(t, plan);
	int rc, got;
	long lock_pid;

	if (!t->pool_probed && (rc = pooler_probe(t, plan, err)) != 0)
		return rc;
	snprintf(key, sizeof key, "%" PRId64, k);
	rc = migrate__pg_exec(t, "SELECT pg_try_advisory_lock($1::bigint), pg_backend_pid()", 1, p, &res,
			      "taking the advisory lock", err);
	if (rc)
		return rc;
	got = PQgetvalue(res, 0, 0)[0] == 't';
	lock_pid = strtol(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	if (got)
		return t->pooled ? pooled_lock_check(t, plan, key, lock_pid, err) : 0;
	advisory_holder(t, k);
	return migrate__err(err, MIGRATE_DOMAIN_LOCK, MIGRATE_ELOCKED, "plan \"%s\" is locked by %s", plan, t->holder);
}

/*
 * The lease's renewal thread: every migrate_lease_renew_ms (a third of the
 * lease by default), on a connection of its own whose waits are bounded by
 * the lease, it pushes the expiry forward while the run holds the lock, so
 * a statement longer than the lease (a large DDL, an index build) does not
 * lose it; a process that is stopped or hung renews nothing and is taken
 * over once its lease expires, and then its next history write is fenced
 * off. It stops when the lease is released or found taken over.
 */
typedef struct pg_renewer {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
	PGconn *conn;
	PQconninfoOption *info; /* the target's parameters, for a new connection when this one is lost */
	char *sql;
	char *plan;
	char owner[40];
	char lease[24];
	int64_t every_ms, lease_ms;
} pg_renewer_t;

static void renewer_free(pg_renewer_t *r)
{
	PQfinish(r->conn);
	PQconninfoFree(r->info);
	free(r->sql);
	free(r->plan);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
	free(r);
}

/*
 * One renewal, in a transaction of its own whose statement_timeout is the
 * lease (SET LOCAL: through a transaction pooler a session setting would
 * stay on a pooled server connection). The UPDATE's result, or the first
 * failure; NULL when the connection is lost.
 */
static PGresult *renew_once(pg_renewer_t *r, const char *const *p)
{
	char begin[96];
	PGresult *res, *end;

	snprintf(begin, sizeof begin, "BEGIN; SET LOCAL statement_timeout = %" PRId64, r->lease_ms);
	res = PQexec(r->conn, begin);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		if (PQtransactionStatus(r->conn) != PQTRANS_IDLE)
			PQclear(PQexec(r->conn, "ROLLBACK"));
		return res;
	}
	PQclear(res);
	res = PQexecParams(r->conn, r->sql, 3, NULL, p, NULL, NULL, 0);
	end = PQexec(r->conn, PQresultStatus(res) == PGRES_COMMAND_OK ? "COMMIT" : "ROLLBACK");
	if (PQresultStatus(res) == PGRES_COMMAND_OK && PQresultStatus(end) != PGRES_COMMAND_OK) {
		PQclear(res);
		return end;
	}
	PQclear(end);
	return res;
}

static void *renew_loop(void *arg)
{
	pg_renewer_t *r = arg;
	const char *p[3] = {r->plan, r->lease, r->owner};

	pthread_mutex_lock(&r->mu);
	while (!r->stop) {
		PGresult *res;
		int lost;
		migrate__cond_wait_ms(&r->cv, &r->mu, r->every_ms);
		if (r->stop)
			break;
		pthread_mutex_unlock(&r->mu);
		if (!r->conn)
			r->conn = connect_with(r->info, r->lease_ms);
		res = r->conn ? renew_once(r, p) : NULL;
		lost = PQresultStatus(res) == PGRES_COMMAND_OK && strcmp(PQcmdTuples(res), "0") == 0;
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			migrate__log(MIGRATE_LOG_WARNING, "postgres: renewing the lease of plan \"%s\" failed: %s",
				     r->plan, r->conn ? PQerrorMessage(r->conn) : "cannot connect");
		PQclear(res);
		if (r->conn && PQstatus(r->conn) == CONNECTION_BAD) {
			/* A new connection next time, bounded as the first (a reset would drop its settings). */
			PQfinish(r->conn);
			r->conn = NULL;
		}
		pthread_mutex_lock(&r->mu);
		if (lost) {
			migrate__log(MIGRATE_LOG_ERROR,
				     "postgres: the lease of plan \"%s\" was taken over; this run's next history write "
				     "stops it",
				     r->plan);
			break;
		}
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/* Starts the renewal thread of a lease just taken; without one (no second connection), history writes still renew. */
static void lease_renewer_start(pg_target_t *t, const char *plan)
{
	pg_renewer_t *r;
	migrate_buf_t *s;

	if (t->renewer || !(r = migrate__calloc(1, sizeof *r)))
		return;
	pthread_mutex_init(&r->mu, NULL);
	migrate__cond_init_monotonic(&r->cv);
	s = migrate__buf_new(NULL);
	migrate_buf_printf(s,
			   /* The clock: the statement may have waited for the run's transaction to commit. */
			   "UPDATE %s SET expires_at = GREATEST(expires_at, clock_timestamp() + $2::bigint * "
			   "interval '1 millisecond') WHERE plan = $1 AND owner = $3",
			   t->lease_table);
	r->sql = migrate__buf_free(s, false);
	r->plan = migrate__strdup(plan);
	r->info = PQconninfo(t->conn);
	snprintf(r->owner, sizeof r->owner, "%s", t->owner);
	snprintf(r->lease, sizeof r->lease, "%" PRId64, t->lease_ms);
	r->lease_ms = t->lease_ms;
	r->every_ms = t->lease_every_ms;
	r->conn = r->info ? connect_with(r->info, t->lease_ms) : NULL;
	if (!r->sql || !r->plan || !r->conn || pthread_create(&r->thread, NULL, renew_loop, r) != 0) {
		migrate__log(MIGRATE_LOG_WARNING,
			     "postgres: cannot start the lease renewal of plan \"%s\" (%s); only history writes renew "
			     "it",
			     plan, r->conn ? "no thread" : "no second connection");
		renewer_free(r);
		return;
	}
	t->renewer = r;
}

void migrate__pg_lease_stop(pg_target_t *t)
{
	pg_renewer_t *r = t->renewer;

	if (!r)
		return;
	pthread_mutex_lock(&r->mu);
	r->stop = 1;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->thread, NULL);
	renewer_free(r);
	t->renewer = NULL;
}

static int lease_try(pg_target_t *t, const char *plan, migrate_error_t *err)
{
	char lease[24], holder[300], by[256];
	const char *p[4] = {plan, t->owner, holder, lease};
	migrate_buf_t *s = migrate__buf_new(NULL);
	PGresult *res = NULL;
	int rc;

	migrate__applied_by(by, sizeof by);
	snprintf(holder, sizeof holder, "%s", by);
	snprintf(lease, sizeof lease, "%" PRId64, t->lease_ms);
	migrate_buf_printf(s,
			   "INSERT INTO %s AS l (plan, owner, holder, acquired_at, expires_at) "
			   "VALUES ($1, $2, $3 || ' (' || current_setting('application_name') || ', pid ' || "
			   "pg_backend_pid() || ')', now(), now() + $4::bigint * interval '1 millisecond') "
			   "ON CONFLICT (plan) DO UPDATE SET owner = EXCLUDED.owner, holder = EXCLUDED.holder, "
			   "acquired_at = EXCLUDED.acquired_at, expires_at = EXCLUDED.expires_at "
			   "WHERE l.expires_at < now() OR l.owner = EXCLUDED.owner RETURNING 1",
			   t->lease_table);
	rc = migrate__pg_exec(t, s->str, 4, p, &res, "taking the lease", err);
	if (rc)
		goto cleanup;
	if (PQntuples(res) == 1) {
		lease_renewer_start(t, plan);
		goto cleanup;
	}
	PQclear(res);
	res = NULL;
	migrate_buf_truncate(s, 0);
	migrate_buf_printf(s,
			   "SELECT coalesce(holder, '?'), to_char(acquired_at, 'YYYY-MM-DD HH24:MI:SS TZ'), "
			   "to_char(expires_at, 'YYYY-MM-DD HH24:MI:SS TZ') FROM %s WHERE plan = $1",
			   t->lease_table);
	rc = migrate__pg_exec(t, s->str, 1, p, &res, "reading the lease", err);
	if (rc)
		goto cleanup;
	if (PQntuples(res) == 0)
		rc = migrate__err(err, MIGRATE_DOMAIN_LOCK, MIGRATE_ELOCKED,
				  "plan \"%s\" was locked by another run (its lease has just been released)", plan);
	else
		rc = migrate__err(err, MIGRATE_DOMAIN_LOCK, MIGRATE_ELOCKED,
				  "plan \"%s\" is locked by %s, since %s (lease in %s expires at %s unless renewed)",
				  plan, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), t->lease_table,
				  PQgetvalue(res, 0, 2));
cleanup:
	PQclear(res);
	migrate__buf_free(s, true);
	return rc;
}

int migrate__pg_lock_try(void *conn, const char *plan, migrate_error_t *err)
{
	pg_target_t *t = conn;
	int rc = t->lock_mode == MIGRATE_PG_LOCK_LEASE ? lease_try(t, plan, err) : advisory_try(t, plan, err);

	/* What the run reads may be a killed run's last commits, which did not
	 * wait for their WAL: its end waits (migrate__pg_sync) even when it
	 * commits nothing, before it reports them applied. */
	if (rc == 0)
		t->unflushed = 1;
	return rc;
}

int migrate__pg_lock_release(void *conn, const char *plan, migrate_error_t *err)
{
	pg_target_t *t = conn;
	migrate_buf_t *s;
	char key[24];
	const char *p[2] = {plan, t->owner};
	int rc;

	migrate__pg_lease_stop(t); /* first: a lease must not outlive its run, even on a lost connection */
	if (migrate__pg_lost(t))
		return 0; /* the server released a session lock with the connection; a lease expires */
	if (t->in_txn)
		migrate__pg_abort(t);
	if (t->lock_mode != MIGRATE_PG_LOCK_LEASE) {
		snprintf(key, sizeof key, "%" PRId64, lock_key(t, plan));
		p[0] = key;
		return migrate__pg_exec(t, "SELECT pg_advisory_unlock($1::bigint)", 1, p, NULL,
					"releasing the advisory lock", err);
	}
	s = migrate__buf_new(NULL);
	migrate_buf_printf(s, "DELETE FROM %s WHERE plan = $1 AND owner = $2", t->lease_table);
	rc = migrate__pg_exec(t, s->str, 2, p, NULL, "releasing the lease", err);
	migrate__buf_free(s, true);
	return rc;
}
