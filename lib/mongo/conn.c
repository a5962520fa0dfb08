/*
 * The MongoDB driver's connection: library initialisation, the state of one
 * target, command helpers that turn server replies into libmigrate errors,
 * and capability detection.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mongo_int.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init(void)
{
	/* mongoc_cleanup() is deliberately never called: other users of
	 * libmongoc in the process may still need it at exit. */
	mongoc_init();
}

void migrate__mongo_init_once(void)
{
	pthread_once(&init_once, init);
}

/* libmongoc's log lines, as libmigrate's (quiet unless a handler is set). */
static void forward_log(mongoc_log_level_t level, const char *domain, const char *message, void *payload)
{
	int to = level <= MONGOC_LOG_LEVEL_CRITICAL  ? MIGRATE_LOG_ERROR
		 : level == MONGOC_LOG_LEVEL_WARNING ? MIGRATE_LOG_WARNING
		 : level <= MONGOC_LOG_LEVEL_INFO    ? MIGRATE_LOG_INFO
						     : MIGRATE_LOG_DEBUG;

	(void)payload;
	if (level == MONGOC_LOG_LEVEL_TRACE || !migrate__log_enabled(to))
		return;
	migrate__log(to, "mongoc: %s: %s", domain ? domain : "?", message ? message : "");
}

static pthread_once_t log_once = PTHREAD_ONCE_INIT;

static void route_log(void)
{
	mongoc_log_set_handler(forward_log, NULL);
}

void migrate__mongo_route_log_once(void)
{
	pthread_once(&log_once, route_log);
}

int migrate__mongo_conn_new(mongo_conn_t **out, mongoc_client_t *client, bool owned, const char *dbname,
			    migrate_error_t *err)
{
	mongo_conn_t *c = migrate__calloc(1, sizeof(*c));

	if (!c || !(c->dbname = migrate__strdup(dbname))) {
		free(c);
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ENOMEM, "out of memory");
	}
	c->client = client;
	c->owned = owned;
	c->db = mongoc_client_get_database(client, dbname);
	c->lock.lease_ms = MONGO_LEASE_MS;
	snprintf(c->history, sizeof c->history, "%s", MONGO_HISTORY);
	c->rewrite = -1;
	atomic_init(&c->lock.lost, 0);
	atomic_init(&c->lock.confirmed_ms, 0);
	pthread_mutex_init(&c->lock.mu, NULL);
	migrate__cond_init_monotonic(&c->lock.cv);
	*out = c;
	return 0;
}

void migrate__mongo_conn_free(mongo_conn_t *c)
{
	if (!c)
		return;
	if (c->lock.plan)
		migrate__mongo_lock_release(c, c->lock.plan, NULL);
	migrate__mongo_lock_stop(c);
	pthread_mutex_destroy(&c->lock.mu);
	pthread_cond_destroy(&c->lock.cv);
	mongoc_database_destroy(c->db);
	if (c->owned)
		mongoc_client_destroy(c->client);
	free(c->dbname);
	free(c);
}

static bool network_error(const bson_error_t *e)
{
	return e->domain == MONGOC_ERROR_STREAM || e->domain == MONGOC_ERROR_SERVER_SELECTION ||
	       (e->domain == MONGOC_ERROR_CLIENT && e->code == MONGOC_ERROR_CLIENT_AUTHENTICATE);
}

int migrate__mongo_fail(migrate_error_t *err, const bson_error_t *e, const char *fmt, ...)
{
	char what[400];
	va_list ap;
	int code = network_error(e) ? MIGRATE_ECONNECT : MIGRATE_EDB;
	uint32_t server = migrate__mongo_server_code(e);

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (server)
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, code, "%s: %s (server error %u)", what, e->message,
				    (unsigned)server);
	return migrate__err(err, MIGRATE_DOMAIN_DRIVER, code, "%s: %s", what, e->message);
}

uint32_t migrate__mongo_server_code(const bson_error_t *e)
{
	switch (e->domain) {
	case MONGOC_ERROR_SERVER:
	case MONGOC_ERROR_QUERY:
	case MONGOC_ERROR_COMMAND:
	case MONGOC_ERROR_WRITE_CONCERN: return e->code;
	default: return 0;
	}
}

void migrate__mongo_log_command(const char *what, const bson_t *cmd)
{
	char *json;

	if (!migrate__log_enabled(MIGRATE_LOG_DEBUG))
		return;
	json = bson_as_relaxed_extended_json(cmd, NULL);
	migrate__log(MIGRATE_LOG_DEBUG, "mongo: %s %s", what, json ? json : "?");
	bson_free(json);
}

/* A write command can "succeed" with per-statement errors in its reply. */
static bool reply_write_error(const bson_t *reply, bson_error_t *e)
{
	bson_iter_t it, sub;
	const char *msg = "write failed";
	int32_t code = 0;

	if (bson_iter_init_find(&it, reply, "writeErrors") && BSON_ITER_HOLDS_ARRAY(&it) &&
	    bson_iter_recurse(&it, &sub) && bson_iter_next(&sub) && BSON_ITER_HOLDS_DOCUMENT(&sub)) {
		bson_iter_t f;
		bson_iter_recurse(&sub, &f);
		while (bson_iter_next(&f)) {
			if (!strcmp(bson_iter_key(&f), "code") && BSON_ITER_HOLDS_INT(&f))
				code = (int32_t)bson_iter_as_int64(&f);
			else if (!strcmp(bson_iter_key(&f), "errmsg") && BSON_ITER_HOLDS_UTF8(&f))
				msg = bson_iter_utf8(&f, NULL);
		}
		bson_set_error(e, MONGOC_ERROR_SERVER, (uint32_t)code, "%s", msg);
		return true;
	}
	if (bson_iter_init_find(&it, reply, "writeConcernError") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
		bson_iter_t f;
		bson_iter_recurse(&it, &f);
		while (bson_iter_next(&f)) {
			if (!strcmp(bson_iter_key(&f), "code") && BSON_ITER_HOLDS_INT(&f))
				code = (int32_t)bson_iter_as_int64(&f);
			else if (!strcmp(bson_iter_key(&f), "errmsg") && BSON_ITER_HOLDS_UTF8(&f))
				msg = bson_iter_utf8(&f, NULL);
		}
		bson_set_error(e, MONGOC_ERROR_WRITE_CONCERN, (uint32_t)code, "write concern: %s", msg);
		return true;
	}
	return false;
}

bool migrate__mongo_run_on(mongo_conn_t *c, const char *db, const bson_t *cmd, bson_t *reply, bson_error_t *e)
{
	bson_t local = BSON_INITIALIZER;
	bson_t *r = reply ? reply : &local;
	bool ok;

	if (migrate__fault(MIGRATE__FAULT_STMT, "command", NULL)) {
		if (reply)
			bson_init(reply);
		bson_set_error(e, MONGOC_ERROR_COMMAND, MONGOC_ERROR_COMMAND_INVALID_ARG, "injected fault at command");
		return false;
	}
	migrate__mongo_log_command(db ? db : c->dbname, cmd);
	if (db)
		ok = mongoc_client_command_with_opts(c->client, db, cmd, NULL, NULL, r, e);
	else
		ok = mongoc_database_command_with_opts(c->db, cmd, NULL, NULL, r, e);
	if (ok && reply_write_error(r, e))
		ok = false;
	if (!reply)
		bson_destroy(&local);
	return ok;
}

bool migrate__mongo_run(mongo_conn_t *c, const bson_t *cmd, bson_t *reply, bson_error_t *e)
{
	return migrate__mongo_run_on(c, NULL, cmd, reply, e);
}

int migrate__mongo_command(mongo_conn_t *c, const bson_t *cmd, bson_t *reply, const char *what, migrate_error_t *err)
{
	bson_error_t e;

	if (migrate__mongo_run(c, cmd, reply, &e))
		return 0;
	return migrate__mongo_fail(err, &e, "%s", what);
}

int migrate__mongo_cursor_error(mongoc_cursor_t *cur, const char *what, migrate_error_t *err)
{
	bson_error_t e;

	if (mongoc_cursor_error(cur, &e))
		return migrate__mongo_fail(err, &e, "%s", what);
	return 0;
}

/* The server is FerretDB when buildInfo says so (it reports MongoDB's version too). */
static int detect_server(mongo_conn_t *c, migrate_error_t *err)
{
	bson_t cmd = BSON_INITIALIZER, reply;
	bson_iter_t it;
	const char *version = "?";
	int rc;

	BSON_APPEND_INT32(&cmd, "buildInfo", 1);
	rc = migrate__mongo_command(c, &cmd, &reply, "buildInfo", err);
	if (rc == 0) {
		if (bson_iter_init_find(&it, &reply, "version") && BSON_ITER_HOLDS_UTF8(&it))
			version = bson_iter_utf8(&it, NULL);
		snprintf(c->caps.server, sizeof(c->caps.server), "MongoDB %s", version);
		if (bson_iter_init_find(&it, &reply, "ferretdbVersion") && BSON_ITER_HOLDS_UTF8(&it)) {
			c->caps.ferretdb = true;
			snprintf(c->caps.server, sizeof(c->caps.server), "FerretDB %s", bson_iter_utf8(&it, NULL));
		}
	}
	bson_destroy(&reply);
	bson_destroy(&cmd);
	if (rc)
		return rc;

	bson_init(&cmd);
	BSON_APPEND_INT32(&cmd, "hello", 1);
	rc = migrate__mongo_command(c, &cmd, &reply, "hello", err);
	if (rc == 0 && bson_iter_init_find(&it, &reply, "maxWireVersion") && BSON_ITER_HOLDS_INT(&it))
		c->caps.max_wire = (int32_t)bson_iter_as_int64(&it);
	bson_destroy(&reply);
	bson_destroy(&cmd);
	return rc;
}

/*
 * Servers that report a recent wire version may still lack pipeline
 * updates (FerretDB reports 7.0's), so they are probed: an update that
 * matches nothing, with a pipeline, on the lock collection.
 */
static bool probe_pipeline_updates(mongo_conn_t *c)
{
	bson_t *cmd = BCON_NEW("update", BCON_UTF8(MONGO_LOCKS), "updates", "[", "{", "q", "{", "_id",
			       BCON_UTF8("\x01probe"), "}", "u", "[", "{", "$set", "{", "probe", BCON_INT32(1), "}",
			       "}", "]", "multi", BCON_BOOL(true), "}", "]");
	bson_error_t e;
	bool ok = migrate__mongo_run(c, cmd, NULL, &e);

	if (!ok)
		migrate__log(MIGRATE_LOG_INFO, "mongo: no pipeline updates on %s (%s); backfills compute in the client",
			     c->caps.server, e.message);
	bson_destroy(cmd);
	return ok;
}

int migrate__mongo_caps(mongo_conn_t *c, migrate_error_t *err)
{
	int rc;

	if (c->caps.known)
		return 0;
	if ((rc = detect_server(c, err)))
		return rc;
	/* Wire version 8 is MongoDB 4.2, the first with pipeline updates. */
	c->caps.pipeline_updates = c->caps.max_wire >= 8 && probe_pipeline_updates(c);
	c->caps.partial_indexes = !c->caps.ferretdb && c->caps.max_wire >= 5;
	if (getenv("MIGRATE_MONGO_NO_PIPELINE"))
		c->caps.pipeline_updates = false; /* tests force the client-side path */
	c->caps.known = true;
	migrate__log(MIGRATE_LOG_INFO, "mongo: %s, wire %d, pipeline updates %s, partial indexes %s", c->caps.server,
		     (int)c->caps.max_wire, c->caps.pipeline_updates ? "yes" : "no",
		     c->caps.partial_indexes ? "yes" : "no");
	return 0;
}

int migrate__mongo_collection_exists(mongo_conn_t *c, const char *name, bool *exists, migrate_error_t *err)
{
	bson_t *cmd = BCON_NEW("listCollections", BCON_INT32(1), "filter", "{", "name", BCON_UTF8(name), "}",
			       "nameOnly", BCON_BOOL(true));
	bson_t reply;
	bson_iter_t it;
	int rc = migrate__mongo_command(c, cmd, &reply, "listCollections", err);

	*exists = false;
	if (rc == 0 && bson_iter_init(&it, &reply) && bson_iter_find_descendant(&it, "cursor.firstBatch.0", &it))
		*exists = true;
	bson_destroy(&reply);
	bson_destroy(cmd);
	return rc;
}

int migrate__mongo_count(mongo_conn_t *c, const char *coll, const bson_t *filter, int64_t *n, migrate_error_t *err)
{
	bson_t cmd = BSON_INITIALIZER, reply;
	bson_iter_t it;
	int rc;

	BSON_APPEND_UTF8(&cmd, "count", coll);
	if (filter)
		BSON_APPEND_DOCUMENT(&cmd, "query", filter);
	rc = migrate__mongo_command(c, &cmd, &reply, "count", err);
	*n = 0;
	if (rc == 0 && bson_iter_init_find(&it, &reply, "n") && BSON_ITER_HOLDS_NUMBER(&it))
		*n = bson_iter_as_int64(&it);
	bson_destroy(&reply);
	bson_destroy(&cmd);
	return rc;
}

void migrate__mongo_append_json(migrate_buf_t *out, const bson_t *doc)
{
	char *json = bson_as_relaxed_extended_json(doc, NULL);

	migrate_buf_append(out, json ? json : "{}");
	bson_free(json);
}
