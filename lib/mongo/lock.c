/*
 * The plan lock on MongoDB: a document per plan in `_migrate_locks`,
 * {_id: plan, owner: token, host, pid, acquired_at, expires_at}.
 *
 * It is taken when absent (insert) or expired (findAndModify filtering on
 * expires_at < now), so a dead holder keeps it at most one lease (the URL's
 * migrate_lease_ms, default 30 s). While a run holds it, a thread renews
 * the lease every migrate_lease_renew_ms (a third of the lease) on a client
 * of its own (a mongoc_client_t is single-threaded), so a long index build
 * or batch never loses it. Every history write first renews the lease filtering on
 * the owner token (fencing): a run whose lease was taken over stops with
 * MIGRATE_ELOCKLOST instead of writing. So does a step or batch that
 * starts when the lease was last confirmed half a lease ago or more (the
 * process was stopped, or the renewals failed) and the server says it is
 * no longer ours. Without transactions, a process stopped in the middle of
 * a step can still finish that one write after losing the lease.
 *
 * Expiry uses the clients' clocks; hosts running migrations are assumed to
 * agree on the time to well within a lease.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mongo_int.h"

int64_t migrate__mongo_default_lease_ms(void)
{
	const char *env = getenv("MIGRATE_MONGO_LEASE_MS");
	long long v = env ? strtoll(env, NULL, 10) : 0;

	return v >= MIGRATE__LEASE_MIN_MS ? (int64_t)v : MONGO_LEASE_MS;
}

static void iso_time(int64_t ms, char *out, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Describes the holder of a lock document: "host:pid until <time>". */
static void describe_holder(const bson_t *doc, char *out, size_t size)
{
	bson_iter_t it;
	char until[40] = "?";

	if (bson_iter_init_find(&it, doc, "expires_at") && BSON_ITER_HOLDS_DATE_TIME(&it))
		iso_time(bson_iter_date_time(&it), until, sizeof(until));
	snprintf(out, size, "%s:%lld (lease until %s)",
		 migrate__doc_str(doc, "host") ? migrate__doc_str(doc, "host") : "?",
		 (long long)migrate__doc_int(doc, "pid", 0), until);
}

/* Renews the lease if `token` still owns it; *owned false when it does not. */
static bool renew(mongoc_client_t *client, const char *db, const char *plan, const char *token, int64_t lease,
		  bool *owned, bson_error_t *e)
{
	bson_t *cmd = BCON_NEW("update", BCON_UTF8(MONGO_LOCKS), "updates", "[", "{", "q", "{", "_id", BCON_UTF8(plan),
			       "owner", BCON_UTF8(token), "}", "u", "{", "$set", "{", "expires_at",
			       BCON_DATE_TIME(migrate__now_ms() + lease), "}", "}", "multi", BCON_BOOL(true), "}", "]",
			       "writeConcern", "{", "w", BCON_UTF8("majority"), "}");
	bson_t reply;

	/* multi: see migrate__mongo_history_write (FerretDB leaks connections on multi: false). */
	bool ok = mongoc_client_command_with_opts(client, db, cmd, NULL, NULL, &reply, e);

	*owned = ok && migrate__doc_int(&reply, "n", 0) > 0;
	bson_destroy(&reply);
	bson_destroy(cmd);
	return ok;
}

static void *renewer(void *arg)
{
	mongo_conn_t *c = arg;
	mongo_lock_t *l = &c->lock;

	pthread_mutex_lock(&l->mu);
	while (!l->stop) {
		bson_error_t e;
		bool owned;
		migrate__cond_wait_ms(&l->cv, &l->mu, l->every_ms);
		if (l->stop)
			break;
		pthread_mutex_unlock(&l->mu);
		if (!renew(l->client, c->dbname, l->plan, l->token, l->lease_ms, &owned, &e)) {
			migrate__log(MIGRATE_LOG_WARNING, "mongo: renewing the lock of \"%s\" failed: %s", l->plan,
				     e.message);
		} else if (owned) {
			atomic_store(&l->confirmed_ms, migrate__mono_ms());
		} else {
			migrate__log(MIGRATE_LOG_ERROR,
				     "mongo: the lock of \"%s\" was taken over; this run's next history write stops it",
				     l->plan);
			atomic_store(&l->lost, 1);
			pthread_mutex_lock(&l->mu);
			break;
		}
		pthread_mutex_lock(&l->mu);
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

/*
 * The renewer's client: the target's URI with its network waits bounded by
 * the lease (a renewal that cannot finish within it is late anyway), so a
 * server that stops answering delays neither the next attempt nor the
 * release of the lock, which joins the thread.
 */
static mongoc_client_t *renewal_client(const mongoc_client_t *main, int64_t lease)
{
	mongoc_uri_t *uri = mongoc_uri_copy(mongoc_client_get_uri(main));
	const char *opts[] = {MONGOC_URI_SOCKETTIMEOUTMS, MONGOC_URI_SERVERSELECTIONTIMEOUTMS,
			      MONGOC_URI_CONNECTTIMEOUTMS};
	int32_t bound = lease > INT32_MAX ? INT32_MAX : (int32_t)lease;
	mongoc_client_t *client;

	if (!uri)
		return NULL;
	for (size_t i = 0; i < sizeof opts / sizeof *opts; i++) {
		int32_t now = mongoc_uri_get_option_as_int32(uri, opts[i], 0);
		if (now <= 0 || now > bound)
			mongoc_uri_set_option_as_int32(uri, opts[i], bound);
	}
	client = mongoc_client_new_from_uri(uri);
	mongoc_uri_destroy(uri);
	return client;
}

static int start_renewer(mongo_conn_t *c, migrate_error_t *err)
{
	mongo_lock_t *l = &c->lock;

	l->client = renewal_client(c->client, l->lease_ms);
	if (!l->client)
		return migrate__err(err, MIGRATE_DOMAIN_LOCK, MIGRATE_ECONNECT, "cannot open the lock renewal client");
	mongoc_client_set_error_api(l->client, MONGOC_ERROR_API_VERSION_2);
	mongoc_client_set_appname(l->client, "libmigrate-lock");
	l->stop = false;
	if (pthread_create(&l->thread, NULL, renewer, c) != 0) {
		mongoc_client_destroy(l->client);
		l->client = NULL;
		return migrate__err(err, MIGRATE_DOMAIN_LOCK, MIGRATE_EINTERNAL,
				    "cannot start the lock renewal thread");
	}
	l->thread_started = true;
	return 0;
}

void migrate__mongo_lock_stop(mongo_conn_t *c)
{
	mongo_lock_t *l = &c->lock;

	if (l->thread_started) {
		pthread_mutex_lock(&l->mu);
		l->stop = true;
		pthread_cond_signal(&l->cv);
		pthread_mutex_unlock(&l->mu);
		pthread_join(l->thread, NULL);
		l->thread_started = false;
	}
	if (l->client) {
		mongoc_client_destroy(l->client);
		l->client = NULL;
	}
}

static void lock_fields(bson_t *d, const char *token, int64_t now, int64_t lease)
{
	char host[256] = "?";

	gethostname(host, sizeof(host) - 1);
	BSON_APPEND_UTF8(d, "owner", token);
	BSON_APPEND_UTF8(d, "host", host);
	BSON_APPEND_INT64(d, "pid", (int64_t)getpid());
	BSON_APPEND_DATE_TIME(d, "acquired_at", now);
	BSON_APPEND_DATE_TIME(d, "expires_at", now + lease);
}

/* Reads the lock document of `plan` into `out` (empty when absent). */
static int read_lock(mongo_conn_t *c, const char *plan, bson_t *out, migrate_error_t *err)
{
	mongoc_collection_t *coll = mongoc_database_get_collection(c->db, MONGO_LOCKS);
	bson_t *q = BCON_NEW("_id", BCON_UTF8(plan));
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, q, NULL, NULL);
	const bson_t *doc;
	int rc = 0;

	bson_init(out);
	if (mongoc_cursor_next(cur, &doc))
		bson_concat(out, doc);
	else
		rc = migrate__mongo_cursor_error(cur, "reading " MONGO_LOCKS, err);
	mongoc_cursor_destroy(cur);
	bson_destroy(q);
	mongoc_collection_destroy(coll);
	return rc;
}

/* 1 when inserted, 0 when a lock document exists, < 0 on error. */
static int take_absent(mongo_conn_t *c, const char *plan, const char *token, int64_t now, migrate_error_t *err)
{
	bson_t doc = BSON_INITIALIZER;
	bson_t *cmd;
	bson_error_t e;
	int rc = 1;

	BSON_APPEND_UTF8(&doc, "_id", plan);
	lock_fields(&doc, token, now, c->lock.lease_ms);
	cmd = BCON_NEW("insert", BCON_UTF8(MONGO_LOCKS), "documents", "[", BCON_DOCUMENT(&doc), "]", "writeConcern",
		       "{", "w", BCON_UTF8("majority"), "}");
	if (!migrate__mongo_run(c, cmd, NULL, &e))
		rc = migrate__mongo_server_code(&e) == MONGO_DUPLICATE_KEY
			     ? 0
			     : migrate__mongo_fail(err, &e, "taking the lock");
	bson_destroy(cmd);
	bson_destroy(&doc);
	return rc;
}

/* 1 when an expired lock was taken over, 0 when the lock is live, < 0 on error. */
static int take_expired(mongo_conn_t *c, const char *plan, const char *token, int64_t now, migrate_error_t *err)
{
	bson_t set = BSON_INITIALIZER, reply, old;
	bson_t *cmd;
	char holder[300];
	int rc;

	lock_fields(&set, token, now, c->lock.lease_ms);
	cmd = BCON_NEW("findAndModify", BCON_UTF8(MONGO_LOCKS), "query", "{", "_id", BCON_UTF8(plan), "expires_at", "{",
		       "$lt", BCON_DATE_TIME(now), "}", "}", "update", "{", "$set", BCON_DOCUMENT(&set), "}", "new",
		       BCON_BOOL(false), "writeConcern", "{", "w", BCON_UTF8("majority"), "}");
	rc = migrate__mongo_command(c, cmd, &reply, "taking over the lock", err);
	if (rc == 0) {
		rc = migrate__doc_sub(&reply, "value", &old) ? 1 : 0;
		if (rc == 1) {
			describe_holder(&old, holder, sizeof(holder));
			migrate__log(MIGRATE_LOG_WARNING, "mongo: took over the expired lock of \"%s\" from %s", plan,
				     holder);
		}
	}
	bson_destroy(&reply);
	bson_destroy(cmd);
	bson_destroy(&set);
	return rc;
}

static void new_token(char *out, size_t size)
{
	bson_oid_t oid;
	char hex[25];

	bson_oid_init(&oid, NULL);
	bson_oid_to_string(&oid, hex);
	snprintf(out, size, "%s-%ld", hex, (long)getpid());
}

int migrate__mongo_lock_try(void *conn, const char *plan, migrate_error_t *err)
{
	mongo_conn_t *c = conn;
	mongo_lock_t *l = &c->lock;
	char token[64], holder[300];
	int64_t now = migrate__now_ms();
	bson_t cur;
	int rc;

	if (l->plan)
		return strcmp(l->plan, plan) == 0
			       ? 0
			       : migrate__err(err, MIGRATE_DOMAIN_LOCK, MIGRATE_EINVAL,
					      "this target already holds the lock of \"%s\"", l->plan);
	l->lease_ms = l->url_lease_ms ? l->url_lease_ms : migrate__mongo_default_lease_ms();
	/* The URL's period was checked against the lease at open; the environment's lease may be shorter. */
	l->every_ms = l->url_renew_ms && l->url_renew_ms < l->lease_ms ? l->url_renew_ms : l->lease_ms / 3;
	new_token(token, sizeof(token));
	rc = take_absent(c, plan, token, now, err);
	if (rc == 0)
		rc = take_expired(c, plan, token, now, err);
	if (rc < 0)
		return rc;
	if (rc == 0) {
		if ((rc = read_lock(c, plan, &cur, err)) == 0) {
			if (bson_empty(&cur))
				snprintf(holder, sizeof(holder), "another run (released just now)");
			else
				describe_holder(&cur, holder, sizeof(holder));
			rc = migrate__err(err, MIGRATE_DOMAIN_LOCK, MIGRATE_ELOCKED,
					  "the lock of plan \"%s\" is held by %s", plan, holder);
		}
		bson_destroy(&cur);
		return rc;
	}
	if (!(l->plan = migrate__strdup(plan)))
		return migrate__err(err, MIGRATE_DOMAIN_LOCK, MIGRATE_ENOMEM, "out of memory");
	snprintf(l->token, sizeof(l->token), "%s", token);
	atomic_store(&l->lost, 0);
	atomic_store(&l->confirmed_ms, migrate__mono_ms());
	if ((rc = start_renewer(c, err))) {
		migrate__mongo_lock_release(c, plan, NULL);
		return rc;
	}
	return 0;
}

int migrate__mongo_lock_release(void *conn, const char *plan, migrate_error_t *err)
{
	mongo_conn_t *c = conn;
	mongo_lock_t *l = &c->lock;
	bson_t *cmd;
	int rc;

	migrate__mongo_lock_stop(c);
	if (!l->plan)
		return 0;
	cmd = BCON_NEW("delete", BCON_UTF8(MONGO_LOCKS), "deletes", "[", "{", "q", "{", "_id", BCON_UTF8(l->plan),
		       "owner", BCON_UTF8(l->token), "}", "limit", BCON_INT32(1), "}", "]");
	rc = migrate__mongo_command(c, cmd, NULL, "releasing the lock", err);
	bson_destroy(cmd);
	free(l->plan);
	l->plan = NULL;
	return rc;
}

static int lost(mongo_conn_t *c, const char *plan, migrate_error_t *err)
{
	bson_t cur;
	char holder[300] = "another run";

	if (read_lock(c, plan, &cur, NULL) == 0 && !bson_empty(&cur))
		describe_holder(&cur, holder, sizeof(holder));
	bson_destroy(&cur);
	return migrate__err(err, MIGRATE_DOMAIN_LOCK, MIGRATE_ELOCKLOST,
			    "lost the lock of plan \"%s\" (its lease expired and it is now held by %s); stopped "
			    "without writing",
			    plan, holder);
}

int migrate__mongo_lock_check(mongo_conn_t *c, migrate_error_t *err)
{
	mongo_lock_t *l = &c->lock;

	if (!l->plan)
		return 0;
	if (atomic_load(&l->lost))
		return lost(c, l->plan, err);
	if (migrate__mono_ms() - atomic_load(&l->confirmed_ms) >= l->lease_ms / 2)
		return migrate__mongo_lock_fence(c, l->plan, err);
	return 0;
}

int migrate__mongo_lock_fence(mongo_conn_t *c, const char *plan, migrate_error_t *err)
{
	mongo_lock_t *l = &c->lock;
	bson_error_t e;
	bool owned;

	if (!l->plan || strcmp(l->plan, plan) != 0)
		return migrate__err(err, MIGRATE_DOMAIN_LOCK, MIGRATE_ELOCKLOST,
				    "history write for plan \"%s\" without holding its lock", plan);
	if (atomic_load(&l->lost))
		return lost(c, plan, err);
	migrate__log(MIGRATE_LOG_DEBUG, "mongo: fencing check of the lock of \"%s\"", plan);
	if (!renew(c->client, c->dbname, plan, l->token, l->lease_ms, &owned, &e))
		return migrate__mongo_fail(err, &e, "checking the lock before a history write");
	if (!owned) {
		atomic_store(&l->lost, 1);
		return lost(c, plan, err);
	}
	atomic_store(&l->confirmed_ms, migrate__mono_ms());
	return 0;
}
