/*
 * The history on MongoDB: one document per (plan, version) in
 * `_migrate_history` (or the collection a URL's migrate_history names), unique on {plan, version}, with the fields of
 * every driver's history. Writes use majority write concern and are fenced by the plan's lock: a run that no longer
 * owns the lock cannot write.
 */
#include <string.h>

#include "mongo_int.h"

static int create_collection(mongo_conn_t *c, const char *name, migrate_error_t *err)
{
	bson_t *cmd = BCON_NEW("create", BCON_UTF8(name));
	bson_error_t e;
	int rc = 0;

	if (!migrate__mongo_run(c, cmd, NULL, &e) && migrate__mongo_server_code(&e) != MONGO_NAMESPACE_EXISTS)
		rc = migrate__mongo_fail(err, &e, "create \"%s\"", name);
	bson_destroy(cmd);
	return rc;
}

int migrate__mongo_history_ensure(void *conn, migrate_error_t *err)
{
	mongo_conn_t *c = conn;
	bson_t *cmd;
	int rc;

	if ((rc = create_collection(c, c->history, err)) || (rc = create_collection(c, MONGO_LOCKS, err)))
		return rc;
	cmd = BCON_NEW("createIndexes", BCON_UTF8(c->history), "indexes", "[", "{", "key", "{", "plan", BCON_INT32(1),
		       "version", BCON_INT32(1), "}", "name", BCON_UTF8("plan_version"), "unique", BCON_BOOL(true), "}",
		       "]");
	rc = migrate__mongo_command(c, cmd, NULL, "createIndexes on the history", err);
	bson_destroy(cmd);
	return rc;
}

static int64_t doc_time(const bson_t *doc, const char *key)
{
	bson_iter_t it;

	if (bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_DATE_TIME(&it))
		return bson_iter_date_time(&it);
	return 0;
}

int migrate__mongo_history_read(void *conn, const char *plan, migrate_record_fn fn, void *ctx, migrate_error_t *err)
{
	mongo_conn_t *c = conn;
	mongoc_collection_t *coll = mongoc_database_get_collection(c->db, c->history);
	bson_t *q = BCON_NEW("plan", BCON_UTF8(plan));
	/* One round trip for a whole plan's history (up to the 16 MB reply limit). */
	bson_t *opts = BCON_NEW("sort", "{", "version", BCON_INT32(1), "}", "batchSize", BCON_INT32(100000));
	mongoc_cursor_t *cur;
	const bson_t *doc;
	int rc = 0;

	migrate__mongo_log_command("find (history)", q);
	cur = mongoc_collection_find_with_opts(coll, q, opts, NULL);
	while (rc == 0 && mongoc_cursor_next(cur, &doc)) {
		migrate_record_t r;
		memset(&r, 0, sizeof(r));
		r.version = (uint64_t)migrate__doc_int(doc, "version", 0);
		r.name = migrate__doc_str(doc, "name");
		r.checksum = migrate__doc_str(doc, "checksum");
		r.state = migrate__state_from_name(migrate__doc_str(doc, "state"));
		r.steps_done = (uint32_t)migrate__doc_int(doc, "steps_done", 0);
		r.checkpoint = migrate__doc_str(doc, "checkpoint");
		r.started_at_ms = doc_time(doc, "started_at");
		r.finished_at_ms = doc_time(doc, "finished_at");
		r.duration_ms = migrate__doc_int(doc, "duration_ms", 0);
		r.applied_by = migrate__doc_str(doc, "applied_by");
		r.error = migrate__doc_str(doc, "error");
		r.lib_version = migrate__doc_str(doc, "lib_version");
		rc = fn(&r, ctx);
	}
	if (rc == 0)
		rc = migrate__mongo_cursor_error(cur, "reading the history", err);
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(coll);
	bson_destroy(q);
	bson_destroy(opts);
	return rc;
}

static void append_str(bson_t *d, const char *key, const char *v)
{
	if (v)
		BSON_APPEND_UTF8(d, key, v);
	else
		BSON_APPEND_NULL(d, key);
}

static void append_time(bson_t *d, const char *key, int64_t ms)
{
	if (ms)
		BSON_APPEND_DATE_TIME(d, key, ms);
	else
		BSON_APPEND_NULL(d, key);
}

static void record_doc(bson_t *d, const char *plan, const migrate_record_t *r)
{
	BSON_APPEND_UTF8(d, "plan", plan);
	BSON_APPEND_INT64(d, "version", (int64_t)r->version);
	append_str(d, "name", r->name);
	append_str(d, "checksum", r->checksum);
	BSON_APPEND_UTF8(d, "state", migrate_state_name(r->state));
	BSON_APPEND_INT64(d, "steps_done", r->steps_done);
	append_str(d, "checkpoint", r->checkpoint);
	append_time(d, "started_at", r->started_at_ms);
	append_time(d, "finished_at", r->finished_at_ms);
	BSON_APPEND_INT64(d, "duration_ms", r->duration_ms);
	append_str(d, "applied_by", r->applied_by);
	append_str(d, "error", r->error);
	append_str(d, "lib_version", r->lib_version);
}

/*
 * Every update statement is sent with multi: true, even where the filter
 * matches one document: FerretDB 1.24 leaks an SQLite connection for each
 * multi: false update until the client disconnects, and stops answering
 * after 100 of them on one connection.
 */
int migrate__mongo_history_write(void *conn, const char *plan, const migrate_record_t *record, migrate_error_t *err)
{
	mongo_conn_t *c = conn;
	bson_t doc = BSON_INITIALIZER, *cmd;
	int rc;

	if ((rc = migrate__mongo_lock_fence(c, plan, err)))
		return rc;
	record_doc(&doc, plan, record);
	cmd = BCON_NEW("update", BCON_UTF8(c->history), "updates", "[", "{", "q", "{", "plan", BCON_UTF8(plan),
		       "version", BCON_INT64((int64_t)record->version), "}", "u", "{", "$set", BCON_DOCUMENT(&doc), "}",
		       "upsert", BCON_BOOL(true), "multi", BCON_BOOL(true), "}", "]", "writeConcern", "{", "w",
		       BCON_UTF8("majority"), "}");
	rc = migrate__mongo_command(c, cmd, NULL, "writing the history", err);
	bson_destroy(cmd);
	bson_destroy(&doc);
	return rc;
}

int migrate__mongo_history_delete(void *conn, const char *plan, uint64_t version, migrate_error_t *err)
{
	mongo_conn_t *c = conn;
	bson_t *cmd;
	int rc;

	if ((rc = migrate__mongo_lock_fence(c, plan, err)))
		return rc;
	cmd = BCON_NEW("delete", BCON_UTF8(c->history), "deletes", "[", "{", "q", "{", "plan", BCON_UTF8(plan),
		       "version", BCON_INT64((int64_t)version), "}", "limit", BCON_INT32(0), "}", "]", "writeConcern",
		       "{", "w", BCON_UTF8("majority"), "}");
	rc = migrate__mongo_command(c, cmd, NULL, "deleting from the history", err);
	bson_destroy(cmd);
	return rc;
}
