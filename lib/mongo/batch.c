/*
 * Steps that touch every matching document of a collection: add_column,
 * drop_column, rename_column, map_values and backfill.
 *
 * One cursor reads the matching documents in _id order (resuming after the
 * journaled _id), in batches sized by the run's time budget. Each batch is
 * written either by the server, as updates over the batch's _id range (on
 * MongoDB, where ranges use the _id index, and with aggregation pipelines
 * for backfills when the server has them), or by the client, which computes
 * the new values and sends unordered bulk updates by _id (FerretDB, whose
 * SQLite backend scans a collection for every range query, and backfills
 * the server cannot express). Both give the same documents. After every
 * batch the checkpoint {"after": <last _id>, "done": n} is journaled, and
 * memory stays bounded by one batch.
 *
 * Writes take effect once. Most updates are idempotent by construction:
 * each either re-checks the condition that selected the document or
 * recomputes the same value, so a batch redone after a crash (killed
 * between its write and its journal) changes nothing more. An update that
 * is not (a backfill that reads a field it writes, or a raw aggregation
 * expression) marks what it writes with the step's key (b->mark); the reads
 * skip marked documents, and one update removes the marks at the end. That
 * removal is idempotent too, so a crash during it is redone harmlessly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"

/* Range updates start at BATCH_FIRST; per-document updates, far slower on some servers, start small. */
#define BATCH_FIRST 1000
#define BATCH_FIRST_DOCS 50
#define BATCH_MIN 10
#define BATCH_MAX 20000

void migrate__mongo_batch_init(batch_t *b, mongo_conn_t *c, const bson_t *step, const char *opname)
{
	memset(b, 0, sizeof(*b));
	b->c = c;
	b->step = step;
	b->table = migrate__doc_str(step, "table");
	/*
	 * FerretDB's SQLite backend finds a document by index only when the
	 * filter is {_id: <string or ObjectId>} alone; any other condition makes
	 * every per-document update decode the whole collection. There the
	 * updates filter on _id only, so a write made by the application to
	 * the same field between a batch's read and its write may be
	 * overwritten.
	 */
	b->guard = !c->caps.ferretdb;
	snprintf(b->what, sizeof(b->what), "%s \"%s\"", opname, b->table);
	bson_init(&b->select);
	bson_init(&b->fields);
	b->keep = migrate__doc_str(step, "keep");
	if (b->keep)
		b->nkept = migrate__kept_columns(step, b->kept, sizeof(b->kept) / sizeof(b->kept[0]));
}

/*
 * A step that keeps reads the fields it keeps (when it reads a projection)
 * and writes document by document: the old values are known only there.
 */
static void keep_setup(batch_t *b)
{
	if (!b->keep)
		return;
	b->server = false;
	if (bson_empty(&b->fields))
		return; /* whole documents */
	for (size_t i = 0; i < b->nkept; i++)
		if (!bson_has_field(&b->fields, b->kept[i]))
			BSON_APPEND_INT32(&b->fields, b->kept[i], 1);
}

bson_t *migrate__mongo_kept_doc(const batch_t *b, const bson_t *doc)
{
	bson_t *kept = bson_new();
	bson_iter_t it;

	if (bson_iter_init_find(&it, doc, "_id"))
		bson_append_iter(kept, "_id", -1, &it);
	for (size_t i = 0; i < b->nkept; i++)
		if (bson_iter_init_find(&it, doc, b->kept[i]))
			bson_append_iter(kept, b->kept[i], -1, &it);
	return kept;
}

/* Whether every write error of a bulk's reply is a duplicate _id. */
static bool only_duplicates(const bson_t *reply)
{
	bson_iter_t it, e;
	bool any = false;

	if (!bson_iter_init_find(&it, reply, "writeErrors") || !BSON_ITER_HOLDS_ARRAY(&it) ||
	    !bson_iter_recurse(&it, &e))
		return false;
	while (bson_iter_next(&e)) {
		bson_iter_t code;
		if (!BSON_ITER_HOLDS_DOCUMENT(&e) || !bson_iter_recurse(&e, &code) || !bson_iter_find(&code, "code") ||
		    bson_iter_as_int64(&code) != MONGO_DUPLICATE_KEY)
			return false;
		any = true;
	}
	return any;
}

int migrate__mongo_keep_insert(batch_t *b, bson_t **kept, size_t n, migrate_error_t *err)
{
	mongoc_collection_t *coll;
	mongoc_bulk_operation_t *bulk;
	bson_t opts = BSON_INITIALIZER, reply;
	bson_error_t e;
	bool executed = false;
	int rc;

	if (n == 0)
		return 0;
	if ((rc = migrate__fault(MIGRATE__FAULT_STMT, "bulk insert (keep)", err)))
		return rc;
	coll = mongoc_database_get_collection(b->c->db, b->keep);
	BSON_APPEND_BOOL(&opts, "ordered", false);
	bulk = mongoc_collection_create_bulk_operation_with_opts(coll, &opts);
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (!mongoc_bulk_operation_insert_with_opts(bulk, kept[i], NULL, &e))
			rc = migrate__mongo_fail(err, &e, "%s: keep in \"%s\"", b->what, b->keep);
	if (rc == 0) {
		executed = true;
		if (!mongoc_bulk_operation_execute(bulk, &reply, &e) && !only_duplicates(&reply))
			rc = migrate__mongo_fail(err, &e, "%s: keep in \"%s\"", b->what, b->keep);
	}
	if (executed)
		bson_destroy(&reply);
	mongoc_bulk_operation_destroy(bulk);
	mongoc_collection_destroy(coll);
	bson_destroy(&opts);
	return rc;
}

uint32_t migrate__mongo_deadline_ms(uint32_t budget_ms)
{
	uint64_t ms = (uint64_t)budget_ms * MONGO_DEADLINE_FACTOR;

	return ms < MONGO_DEADLINE_MIN_MS ? MONGO_DEADLINE_MIN_MS : ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
}

bool migrate__mongo_is_timeout(const migrate_error_t *err)
{
	/* libmongoc's words for a socket that timed out (or closed): the server outlasted socketTimeoutMS. */
	if (err && err->code == MIGRATE_ECONNECT && strstr(err->message, ": socket error or timeout"))
		return true;
	/* The server's MaxTimeMSExpired (migrate__mongo_fail names the code). */
	return err && err->code == MIGRATE_EDB && strstr(err->message, "(server error 50)");
}

bool migrate__mongo_batch_timed_out(migrate_exec_t *exec, migrate_error_t *err, uint32_t *size, uint32_t min,
				    int *retries)
{
	char text[600];
	uint32_t pause;

	if (!migrate__mongo_is_timeout(err) || *retries >= MONGO_TIMEOUT_RETRIES)
		return false;
	/* The server may still be busy with what timed out: give it time, more each time. */
	pause = 250u << *retries;
	++*retries;
	*size = *size / 4 > min ? *size / 4 : min;
	snprintf(text, sizeof(text), "%.400s; the batch is written again, %u documents at a time, in %u ms",
		 err->message, (unsigned)*size, (unsigned)pause);
	migrate__log(MIGRATE_LOG_WARNING, "mongo: %s", text);
	migrate_exec_event(exec, MIGRATE_EVENT_RETRY, text);
	memset(err, 0, sizeof(*err));
	migrate__sleep_ms(pause);
	return true;
}

void migrate__mongo_render_keep(const batch_t *b, migrate_buf_t *out)
{
	if (!b->keep)
		return;
	migrate_buf_printf(out, "// per batch, first: the old values of");
	for (size_t i = 0; i < b->nkept; i++)
		migrate_buf_printf(out, "%s \"%s\"", i ? "," : "", b->kept[i]);
	migrate_buf_printf(out,
			   " of each document written, inserted into \"%s\" as {_id, field: value} "
			   "(an _id kept already keeps its first values)\n",
			   b->keep);
}

bool migrate__mongo_same_id(const bson_t *a, const bson_t *b)
{
	bson_iter_t x, y;
	bson_t da = BSON_INITIALIZER, db = BSON_INITIALIZER;
	bool same;

	if (!bson_iter_init_find(&x, a, "_id") || !bson_iter_init_find(&y, b, "_id"))
		return false;
	bson_append_iter(&da, "_id", -1, &x);
	bson_append_iter(&db, "_id", -1, &y);
	same = da.len == db.len && memcmp(bson_get_data(&da), bson_get_data(&db), da.len) == 0;
	bson_destroy(&da);
	bson_destroy(&db);
	return same;
}

void migrate__mongo_batch_free(batch_t *b)
{
	bson_destroy(&b->select);
	bson_destroy(&b->fields);
}

/* Range writes pay off only where the server walks _id ranges by index. */
bool migrate__mongo_range_updates(mongo_conn_t *c)
{
	const char *env = getenv("MIGRATE_MONGO_RANGE_UPDATES");

	if (env && *env)
		return strcmp(env, "0") != 0;
	return !c->caps.ferretdb;
}

/* ---- queries ---- */

/*
 * {select} AND _id > after AND _id <= upto; bounds may be NULL. A single
 * part is appended as it is, so simple queries stay simple.
 *
 * The server compares _ids of one type only ({$gt: 5} never matches "a"),
 * so a resumed read (after alone) also takes every _id of another type:
 * those are read again, and written again alike (every write is idempotent
 * or marked), rather than skipped.
 */
static const char *type_alias(bson_type_t t)
{
	switch (t) {
	case BSON_TYPE_DOUBLE:
	case BSON_TYPE_INT32:
	case BSON_TYPE_INT64:
	case BSON_TYPE_DECIMAL128: return "number";
	case BSON_TYPE_UTF8: return "string";
	case BSON_TYPE_OID: return "objectId";
	case BSON_TYPE_DATE_TIME: return "date";
	case BSON_TYPE_BINARY: return "binData";
	case BSON_TYPE_BOOL: return "bool";
	case BSON_TYPE_DOCUMENT: return "object";
	case BSON_TYPE_TIMESTAMP: return "timestamp";
	default: return NULL;
	}
}

/* Which _ids the server compares with each other: numbers together, else one type each. */
static int type_class(bson_type_t t)
{
	const char *alias = type_alias(t);

	return alias && !strcmp(alias, "number") ? 0 : (int)t;
}

static void build_query(bson_t *out, const bson_t *select, const bson_value_t *after, const bson_value_t *upto)
{
	bson_t range = BSON_INITIALIZER, id;
	bool has_range = after || upto;
	const char *alias = after && !upto ? type_alias(after->value_type) : NULL;

	if (alias) {
		bson_t or, a, b, cond, not ;
		bson_append_array_begin(&range, "$or", -1, & or);
		bson_append_document_begin(& or, "0", -1, &a);
		bson_append_document_begin(&a, "_id", -1, &cond);
		bson_append_value(&cond, "$gt", -1, after);
		bson_append_document_end(&a, &cond);
		bson_append_document_end(& or, &a);
		bson_append_document_begin(& or, "1", -1, &b);
		bson_append_document_begin(&b, "_id", -1, &cond);
		bson_append_document_begin(&cond, "$not", -1, &not );
		BSON_APPEND_UTF8(&not, "$type", alias);
		bson_append_document_end(&cond, &not );
		bson_append_document_end(&b, &cond);
		bson_append_document_end(& or, &b);
		bson_append_array_end(&range, & or);
	} else if (has_range) {
		bson_append_document_begin(&range, "_id", -1, &id);
		if (after)
			bson_append_value(&id, "$gt", -1, after);
		if (upto)
			bson_append_value(&id, "$lte", -1, upto);
		bson_append_document_end(&range, &id);
	}
	if (!has_range) {
		bson_concat(out, select);
	} else if (bson_empty(select) || (!alias && !bson_has_field(select, "_id"))) {
		bson_concat(out, &range);
		bson_concat(out, select);
	} else {
		bson_t and;
		bson_append_array_begin(out, "$and", -1, &and);
		BSON_APPEND_DOCUMENT(&and, "0", &range);
		BSON_APPEND_DOCUMENT(&and, "1", select);
		bson_append_array_end(out, &and);
	}
	bson_destroy(&range);
}

static mongoc_cursor_t *open_cursor(batch_t *b, mongoc_collection_t *coll, const bson_value_t *after,
				    uint32_t batch_size)
{
	bson_t q = BSON_INITIALIZER, opts = BSON_INITIALIZER;
	mongoc_cursor_t *cur;

	build_query(&q, &b->select, after, NULL);
	BSON_APPEND_INT32(&opts, "batchSize", (int32_t)batch_size);
	if (b->aggregate) {
		bson_t *pipeline =
			BCON_NEW("pipeline", "[", "{", "$match", BCON_DOCUMENT(&q), "}", "{", "$sort", "{", "_id",
				 BCON_INT32(1), "}", "}", "{", "$project", BCON_DOCUMENT(&b->fields), "}", "]");
		migrate__mongo_log_command("aggregate", pipeline);
		cur = mongoc_collection_aggregate(coll, MONGOC_QUERY_NONE, pipeline, &opts, NULL);
		bson_destroy(pipeline);
	} else {
		BCON_APPEND(&opts, "sort", "{", "_id", BCON_INT32(1), "}");
		if (b->server)
			BCON_APPEND(&opts, "projection", "{", "_id", BCON_INT32(1), "}");
		else if (!bson_empty(&b->fields))
			BSON_APPEND_DOCUMENT(&opts, "projection", &b->fields);
		migrate__mongo_log_command("find", &q);
		cur = mongoc_collection_find_with_opts(coll, &q, &opts, NULL);
	}
	bson_destroy(&q);
	bson_destroy(&opts);
	return cur;
}

/* ---- checkpoints ---- */

int migrate__mongo_checkpoint_parse(const char *ck, checkpoint_t *out, migrate_error_t *err)
{
	bson_t d;
	bson_error_t e;
	bson_iter_t it;

	memset(out, 0, sizeof(*out));
	if (!ck || !*ck)
		return 0;
	if (!bson_init_from_json(&d, ck, -1, &e))
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ESTATE, "bad checkpoint \"%s\": %s", ck,
				    e.message);
	out->present = true;
	if (bson_iter_init_find(&it, &d, "after")) {
		bson_value_copy(bson_iter_value(&it), &out->after);
		out->has_after = true;
	}
	out->done = migrate__doc_int(&d, "done", 0);
	out->rewrite = bson_iter_init_find(&it, &d, "rewrite") && bson_iter_as_bool(&it);
	out->copied = bson_iter_init_find(&it, &d, "copied") && bson_iter_as_bool(&it);
	out->swapping = bson_iter_init_find(&it, &d, "swapping") && bson_iter_as_bool(&it);
	if ((out->by_value = bson_iter_init_find(&it, &d, "part")))
		out->part = bson_iter_as_int64(&it);
	bson_destroy(&d);
	return 0;
}

void migrate__mongo_checkpoint_free(checkpoint_t *ck)
{
	if (ck->has_after)
		bson_value_destroy(&ck->after);
	ck->has_after = false;
}

int migrate__mongo_checkpoint_write(migrate_exec_t *exec, const checkpoint_t *ck, migrate_error_t *err)
{
	bson_t d = BSON_INITIALIZER;
	char *json;
	int rc;

	if (ck->has_after)
		bson_append_value(&d, "after", -1, &ck->after);
	BSON_APPEND_INT64(&d, "done", ck->done);
	if (ck->rewrite)
		BSON_APPEND_BOOL(&d, "rewrite", true);
	if (ck->copied)
		BSON_APPEND_BOOL(&d, "copied", true);
	if (ck->swapping)
		BSON_APPEND_BOOL(&d, "swapping", true);
	if (ck->by_value)
		BSON_APPEND_INT64(&d, "part", ck->part);
	json = bson_as_canonical_extended_json(&d, NULL);
	rc = migrate_exec_journal(exec, json, err);
	bson_free(json);
	bson_destroy(&d);
	return rc;
}

/* Sets the checkpoint's last _id. */
static void checkpoint_after(checkpoint_t *ck, const bson_value_t *id)
{
	migrate__mongo_checkpoint_free(ck);
	bson_value_copy(id, &ck->after);
	ck->has_after = true;
}

/* ---- one batch ---- */

/* One range update over [first, last] (inclusive), both _ids of one type class. */
static int write_one_range(batch_t *b, const bson_value_t *first, const bson_value_t *last, migrate_error_t *err)
{
	bson_t range = BSON_INITIALIZER, cmd = BSON_INITIALIZER, sel = BSON_INITIALIZER, id;
	int rc;

	bson_append_document_begin(&range, "_id", -1, &id);
	bson_append_value(&id, "$gte", -1, first);
	bson_append_value(&id, "$lte", -1, last);
	bson_append_document_end(&range, &id);
	if (bson_empty(&b->select)) {
		bson_concat(&sel, &range);
	} else {
		bson_t and;
		bson_append_array_begin(&sel, "$and", -1, &and);
		BSON_APPEND_DOCUMENT(&and, "0", &range);
		BSON_APPEND_DOCUMENT(&and, "1", &b->select);
		bson_append_array_end(&sel, &and);
	}
	rc = b->per_range(b, &sel, &cmd, err);
	if (rc == 0 && b->deadline_ms)
		BSON_APPEND_INT64(&cmd, "maxTimeMS", b->deadline_ms);
	if (rc == 0)
		rc = migrate__mongo_command(b->c, &cmd, NULL, b->what, err);
	bson_destroy(&range);
	bson_destroy(&sel);
	bson_destroy(&cmd);
	return rc;
}

/*
 * The batch's documents as range updates: one per run of _ids the server
 * compares with each other (a range from 5 to "a" would match nothing).
 */
static int write_range(batch_t *b, bson_t **docs, size_t n, migrate_error_t *err)
{
	size_t start = 0;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < n; i++) {
		bson_iter_t a, z, next;
		bool end = i + 1 == n;
		if (!bson_iter_init_find(&a, docs[start], "_id") || !bson_iter_init_find(&z, docs[i], "_id"))
			continue;
		if (!end && bson_iter_init_find(&next, docs[i + 1], "_id") &&
		    type_class(bson_iter_type(&next)) == type_class(bson_iter_type(&z)))
			continue;
		rc = write_one_range(b, bson_iter_value(&a), bson_iter_value(&z), err);
		start = i + 1;
	}
	return rc;
}

static int write_docs(batch_t *b, mongoc_collection_t *coll, bson_t **docs, size_t n, migrate_error_t *err)
{
	bson_t opts = BSON_INITIALIZER, reply;
	mongoc_bulk_operation_t *bulk;
	bson_error_t e;
	size_t i, ops = 0;
	int rc = 0;

	bson_t **kept = NULL;
	size_t nkept = 0;

	if (b->prepare && (rc = b->prepare(b, docs, n, err)))
		return rc;
	if (b->keep && !(kept = migrate__calloc(n ? n : 1, sizeof(*kept))))
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ENOMEM, "out of memory");
	BSON_APPEND_BOOL(&opts, "ordered", false);
	bulk = mongoc_collection_create_bulk_operation_with_opts(coll, &opts);
	for (i = 0; rc == 0 && i < n; i++) {
		bson_t sel = BSON_INITIALIZER, upd = BSON_INITIALIZER;
		bool skip = false;
		rc = b->per_doc(b, docs[i], &sel, &upd, &skip, err);
		if (rc == 0 && !skip && kept)
			kept[nkept++] = migrate__mongo_kept_doc(b, docs[i]);
		if (rc == 0 && !skip) {
			/* update_many on a filter by _id: FerretDB leaks a connection per updateOne. */
			if (!mongoc_bulk_operation_update_many_with_opts(bulk, &sel, &upd, NULL, &e))
				rc = migrate__mongo_fail(err, &e, "%s", b->what);
			ops++;
		}
		bson_destroy(&sel);
		bson_destroy(&upd);
	}
	/* The old values are kept before they are overwritten. */
	if (rc == 0 && kept)
		rc = migrate__mongo_keep_insert(b, kept, nkept, err);
	if (rc == 0 && ops > 0)
		rc = migrate__fault(MIGRATE__FAULT_STMT, "bulk write", err);
	if (rc == 0 && ops > 0) {
		migrate__log(MIGRATE_LOG_DEBUG, "mongo: %s: bulk of %zu updates", b->what, ops);
		if (!mongoc_bulk_operation_execute(bulk, &reply, &e))
			rc = migrate__mongo_fail(err, &e, "%s", b->what);
		bson_destroy(&reply);
	}
	mongoc_bulk_operation_destroy(bulk);
	bson_destroy(&opts);
	for (i = 0; i < nkept; i++)
		bson_destroy(kept[i]);
	free(kept);
	return rc;
}

static void free_docs(bson_t **docs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		bson_destroy(docs[i]);
}

void migrate__mongo_append_mark(const batch_t *b, bson_t *set)
{
	if (b->mark)
		BSON_APPEND_UTF8(set, MONGO_MARK_FIELD, b->mark_key);
}

/* Reads skip the documents this step has marked already. */
static void skip_marked(batch_t *b)
{
	bson_t ne;

	bson_append_document_begin(&b->select, MONGO_MARK_FIELD, -1, &ne);
	BSON_APPEND_UTF8(&ne, "$ne", b->mark_key);
	bson_append_document_end(&b->select, &ne);
}

/* Removes this step's marks: after the last batch, and again on a resumed run (harmless). */
static int unmark(batch_t *b, migrate_error_t *err)
{
	bson_t q = BSON_INITIALIZER, u = BSON_INITIALIZER, unset, cmd = BSON_INITIALIZER;
	int rc;

	BSON_APPEND_UTF8(&q, MONGO_MARK_FIELD, b->mark_key);
	bson_append_document_begin(&u, "$unset", -1, &unset);
	BSON_APPEND_UTF8(&unset, MONGO_MARK_FIELD, "");
	bson_append_document_end(&u, &unset);
	migrate__mongo_update_cmd(&cmd, b->table, &q, &u, false);
	rc = migrate__mongo_command(b->c, &cmd, NULL, b->what, err);
	bson_destroy(&q);
	bson_destroy(&u);
	bson_destroy(&cmd);
	return rc;
}

/* Whether `table` is a plain collection: one with options (capped, a validator, a collation...) is not copied. */
static int plain_collection(batch_t *b, bool *plain, migrate_error_t *err)
{
	bson_t *opts = BCON_NEW("filter", "{", "name", BCON_UTF8(b->table), "}");
	mongoc_cursor_t *cur;
	const bson_t *spec;
	int rc;

	*plain = true;
	if ((rc = migrate__fault(MIGRATE__FAULT_STMT, "listCollections", err))) {
		bson_destroy(opts);
		return rc;
	}
	cur = mongoc_database_find_collections_with_opts(b->c->db, opts);
	while (mongoc_cursor_next(cur, &spec)) {
		bson_t o;
		const char *type = migrate__doc_str(spec, "type");
		if ((type && strcmp(type, "collection") != 0) ||
		    (migrate__doc_sub(spec, "options", &o) && !bson_empty(&o)))
			*plain = false;
	}
	rc = migrate__mongo_cursor_error(cur, b->what, err);
	mongoc_cursor_destroy(cur);
	bson_destroy(opts);
	return rc;
}

/*
 * A step's first run, before it writes anything: the path is chosen once
 * and journaled ({"done": 0, "rewrite": ...}), so that a resumed run
 * takes the same one whatever the server or the URL says then; and the
 * kept collection must be new (one of the application's, or one an earlier
 * step kept into, would mix its documents with these and be dropped by the
 * down). From here on, a resumed run knows the kept one is its own.
 */
static int fresh_start(batch_t *b, migrate_exec_t *exec, bool fixed, checkpoint_t *ck, migrate_error_t *err)
{
	bool rewrite = migrate__mongo_rewrites(b), plain = true, exists = false;
	int rc;

	if (rewrite && (rc = plain_collection(b, &plain, err)))
		return rc;
	if (b->keep && (rc = migrate__mongo_collection_exists(b->c, b->keep, &exists, err)))
		return rc;
	if (exists)
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ESTATE,
				    "keep: collection \"%s\" exists already; a step keeps into a collection of its own "
				    "(name another, or drop it if an earlier run left it)",
				    b->keep);
	ck->present = true;
	ck->rewrite = rewrite && plain;
	ck->by_value = !ck->rewrite && migrate__mongo_by_value(b, fixed);
	return migrate__mongo_checkpoint_write(exec, ck, err);
}

bool migrate__mongo_by_value(const batch_t *b, bool fixed)
{
	return b->per_value && !fixed && !b->keep && !b->mark && !b->aggregate;
}

/*
 * The by-value path: the op's statements, each an update_many over the
 * whole collection limited to the step's deadline, journaled one by one.
 * One that times out hands the rest to batches by _id (*fallback): what it
 * wrote before the server stopped it is outside every statement's filter,
 * so the batches write only what is left.
 */
static int run_by_value(batch_t *b, migrate_exec_t *exec, checkpoint_t *ck, bool *fallback, migrate_error_t *err)
{
	int64_t total = -1;
	bool end = false;
	int rc = 0;

	*fallback = false;
	migrate_exec_resumed(exec, ck->done);
	if (migrate__mongo_count(b->c, b->table, NULL, &total, NULL))
		total = -1;
	while (rc == 0 && !end) {
		bson_t q = BSON_INITIALIZER, u = BSON_INITIALIZER, cmd = BSON_INITIALIZER, reply = BSON_INITIALIZER;
		migrate_exec_batch_start(exec);
		if ((rc = migrate__mongo_lock_check(b->c, err)) == 0)
			rc = b->per_value(b, &ck->part, &q, &u, &end, err);
		if (rc == 0 && !end) {
			migrate__mongo_update_cmd(&cmd, b->table, &q, &u, false);
			if (b->deadline_ms)
				BSON_APPEND_INT64(&cmd, "maxTimeMS", b->deadline_ms);
			bson_destroy(&reply);
			rc = migrate__mongo_command(b->c, &cmd, &reply, b->what, err);
			ck->part++;
			ck->done += migrate__doc_int(&reply, "nModified", 0);
		}
		bson_destroy(&q);
		bson_destroy(&u);
		bson_destroy(&cmd);
		bson_destroy(&reply);
		if (rc == 0 && !end && (rc = migrate__mongo_checkpoint_write(exec, ck, err)) == 0)
			rc = migrate_exec_batch_done(exec, ck->done, total, err);
	}
	if (rc && migrate__mongo_is_timeout(err)) {
		char text[600];
		snprintf(text, sizeof(text), "%.400s; the rest is written in batches by _id", err->message);
		migrate__log(MIGRATE_LOG_WARNING, "mongo: %s", text);
		migrate_exec_event(exec, MIGRATE_EVENT_RETRY, text);
		memset(err, 0, sizeof(*err));
		*fallback = true;
		ck->by_value = false;
		ck->part = 0;
		rc = migrate__mongo_checkpoint_write(exec, ck, err);
	}
	return rc;
}

int migrate__mongo_run_batches(batch_t *b, migrate_exec_t *exec, migrate_error_t *err)
{
	uint32_t fixed = migrate_exec_batch_size(exec), size;
	uint32_t budget = migrate_exec_batch_time_ms(exec);
	mongoc_collection_t *coll = NULL;
	mongoc_cursor_t *cur = NULL;
	checkpoint_t ck;
	bool more = true;
	int64_t total = -1, took, written;
	migrate__sizer sizer = {{0}, 0, 0};
	int retries = 0;
	bson_t **docs = NULL;
	size_t n = 0;
	int rc;

	keep_setup(b);
	size = fixed ? fixed : b->server ? BATCH_FIRST : BATCH_FIRST_DOCS;
	b->deadline_ms = fixed ? 0 : migrate__mongo_deadline_ms(budget);
	if ((rc = migrate__mongo_checkpoint_parse(migrate_exec_checkpoint(exec), &ck, err)))
		return rc;
	if (!ck.present && (rc = fresh_start(b, exec, fixed != 0, &ck, err)))
		goto cleanup;
	if (b->before && (rc = b->before(b, err)))
		goto cleanup;
	/* A resumed step keeps the path it started on. */
	if (ck.rewrite) {
		rc = migrate__mongo_run_rewrite(b, exec, &ck, err);
		goto cleanup;
	}
	if (ck.by_value) {
		bool fallback;
		if ((rc = run_by_value(b, exec, &ck, &fallback, err)) || !fallback)
			goto cleanup;
	}
	coll = mongoc_database_get_collection(b->c->db, b->table);
	if (!(docs = migrate__calloc(fixed ? fixed : BATCH_MAX, sizeof(*docs)))) {
		rc = migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ENOMEM, "out of memory");
		goto cleanup;
	}
	migrate_exec_resumed(exec, ck.done);
	if (b->mark) {
		if ((rc = migrate_exec_step_key(exec, b->mark_key, sizeof(b->mark_key))))
			goto cleanup;
		skip_marked(b);
	}
	if (migrate__mongo_count(b->c, b->table, NULL, &total, NULL))
		total = -1;
	cur = open_cursor(b, coll, ck.has_after ? &ck.after : NULL, fixed ? fixed : BATCH_FIRST);
	while (more) {
		int64_t t0 = migrate__now_ms();
		const bson_t *doc;
		bson_iter_t it;

		migrate_exec_batch_start(exec);
		if ((rc = migrate__mongo_lock_check(b->c, err)))
			goto cleanup;
		for (n = 0; n < size && mongoc_cursor_next(cur, &doc); n++)
			docs[n] = bson_copy(doc);
		if (n < size) {
			more = false;
			rc = migrate__mongo_cursor_error(cur, b->what, err);
		}
		if (n > 0 && rc == 0 && !bson_iter_init_find(&it, docs[n - 1], "_id"))
			rc = migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EDB, "%s: a document has no _id",
					  b->what);
		if (rc == 0 && n > 0) {
			if (b->server)
				rc = write_range(b, docs, n, err);
			else
				rc = write_docs(b, coll, docs, n, err);
		}
		if (rc && !fixed && migrate__mongo_batch_timed_out(exec, err, &size, BATCH_MIN, &retries)) {
			/* The connection is gone with its cursor: read again from the checkpoint. */
			free_docs(docs, n);
			n = 0;
			mongoc_cursor_destroy(cur);
			cur = open_cursor(b, coll, ck.has_after ? &ck.after : NULL, BATCH_FIRST);
			more = true;
			rc = 0;
			continue;
		}
		if (rc)
			goto cleanup;
		if (n == 0)
			break;
		retries = 0;
		checkpoint_after(&ck, bson_iter_value(&it));
		ck.done += (int64_t)n;
		free_docs(docs, n);
		written = (int64_t)n;
		n = 0;
		if ((rc = migrate__mongo_checkpoint_write(exec, &ck, err)))
			goto cleanup;
		took = migrate__now_ms() - t0; /* not the pause between batches (batch_done) */
		if ((rc = migrate_exec_batch_done(exec, ck.done, total, err)))
			goto cleanup;
		if (!fixed)
			size = (uint32_t)migrate__batch_next(&sizer, size, migrate__fault_took((double)took, written),
							     budget, BATCH_MIN, BATCH_MAX);
	}
	if (b->mark)
		rc = unmark(b, err);
cleanup:
	if (docs) {
		free_docs(docs, n);
		free(docs);
	}
	migrate__mongo_checkpoint_free(&ck);
	if (cur)
		mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(coll);
	return rc;
}

/* ---- helpers for ops ---- */

void migrate__mongo_set_value_doc(bson_t *upd, const char *setop, const char *field, const bson_value_t *v)
{
	bson_t set;

	bson_append_document_begin(upd, setop, -1, &set);
	bson_append_value(&set, field, -1, v);
	bson_append_document_end(upd, &set);
}

void migrate__mongo_copy_id(bson_t *sel, const bson_t *doc)
{
	bson_iter_t it;

	if (bson_iter_init_find(&it, doc, "_id"))
		bson_append_value(sel, "_id", -1, bson_iter_value(&it));
}

/* One statement {q, u, multi: true} in an update command. */
void migrate__mongo_update_cmd(bson_t *cmd, const char *table, const bson_t *q, const bson_t *u, bool u_is_array)
{
	bson_t arr, st;

	BSON_APPEND_UTF8(cmd, "update", table);
	bson_append_array_begin(cmd, "updates", -1, &arr);
	bson_append_document_begin(&arr, "0", -1, &st);
	BSON_APPEND_DOCUMENT(&st, "q", q);
	if (u_is_array)
		BSON_APPEND_ARRAY(&st, "u", u);
	else
		BSON_APPEND_DOCUMENT(&st, "u", u);
	BSON_APPEND_BOOL(&st, "multi", true);
	bson_append_document_end(&arr, &st);
	bson_append_array_end(cmd, &arr);
}

/* ---- render ---- */

#define RENDER_VALUES 4 /* by-value statements shown */

static void placeholder(bson_value_t *v, const char *text)
{
	v->value_type = BSON_TYPE_UTF8;
	v->value.v_utf8.str = (char *)text;
	v->value.v_utf8.len = (uint32_t)strlen(text);
}

int migrate__mongo_render_batch(batch_t *b, migrate_buf_t *out, migrate_error_t *err)
{
	bson_t q = BSON_INITIALIZER, cmd = BSON_INITIALIZER;
	bson_value_t after, upto;
	int rc = 0;

	keep_setup(b);
	if (migrate__mongo_rewrites(b)) {
		bson_destroy(&q);
		bson_destroy(&cmd);
		return migrate__mongo_render_rewrite(b, out, err);
	}
	/* A run-wide batch size is not known here: the step's own decides. */
	if (migrate__mongo_by_value(b, bson_has_field(b->step, "batch_size"))) {
		bool end = false;
		migrate_buf_printf(out,
				   "// %s: one update per value, each with maxTimeMS (batches by _id take over from "
				   "one that passes it):\n",
				   b->what);
		int64_t part = 0;
		for (int shown = 0; rc == 0; shown++, part++) {
			bson_t sq = BSON_INITIALIZER, u = BSON_INITIALIZER, c = BSON_INITIALIZER;
			if ((rc = b->per_value(b, &part, &sq, &u, &end, err)) == 0 && !end && shown == RENDER_VALUES) {
				migrate_buf_append(out, "// ... and so on, one per value\n");
				end = true;
			} else if (rc == 0 && !end) {
				migrate__mongo_update_cmd(&c, b->table, &sq, &u, false);
				migrate__mongo_append_json(out, &c);
				migrate_buf_append(out, "\n");
			}
			bson_destroy(&sq);
			bson_destroy(&u);
			bson_destroy(&c);
			if (end)
				break;
		}
		bson_destroy(&q);
		bson_destroy(&cmd);
		return rc;
	}
	placeholder(&after, "<after>");
	placeholder(&upto, "<last _id of the batch>");
	migrate_buf_printf(out, "// %s: read in _id order, in batches:\n", b->what);
	build_query(&q, &b->select, &after, NULL);
	if (b->aggregate) {
		bson_t *p = BCON_NEW("aggregate", BCON_UTF8(b->table), "pipeline", "[", "{", "$match",
				     BCON_DOCUMENT(&q), "}", "{", "$sort", "{", "_id", BCON_INT32(1), "}", "}", "{",
				     "$project", BCON_DOCUMENT(&b->fields), "}", "]");
		migrate__mongo_append_json(out, p);
		bson_destroy(p);
	} else {
		bson_t *f = BCON_NEW("find", BCON_UTF8(b->table), "filter", BCON_DOCUMENT(&q), "sort", "{", "_id",
				     BCON_INT32(1), "}");
		if (b->server)
			BCON_APPEND(f, "projection", "{", "_id", BCON_INT32(1), "}");
		else if (!bson_empty(&b->fields))
			BSON_APPEND_DOCUMENT(f, "projection", &b->fields);
		migrate__mongo_append_json(out, f);
		bson_destroy(f);
	}
	migrate_buf_append(out, "\n");
	if (b->server) {
		bson_t range = BSON_INITIALIZER;
		migrate_buf_append(out, "// per batch:\n");
		build_query(&range, &b->select, &after, &upto);
		rc = b->per_range(b, &range, &cmd, err);
		bson_destroy(&range);
	} else {
		bson_t sel = BSON_INITIALIZER, upd = BSON_INITIALIZER, sample = BSON_INITIALIZER;
		bool skip = false;
		migrate__mongo_render_keep(b, out);
		migrate_buf_append(out, "// per batch, one unordered bulk of (per document, with values computed "
					"from the document read):\n");
		BSON_APPEND_UTF8(&sample, "_id", "<_id>");
		if (b->sample)
			b->sample(b, &sample);
		rc = b->per_doc(b, &sample, &sel, &upd, &skip, err);
		if (rc == 0)
			BCON_APPEND(&cmd, "update", BCON_UTF8(b->table), "updates", "[", "{", "q", BCON_DOCUMENT(&sel),
				    "u", BCON_DOCUMENT(&upd), "multi", BCON_BOOL(true), "}", "]", "ordered",
				    BCON_BOOL(false));
		bson_destroy(&sel);
		bson_destroy(&upd);
		bson_destroy(&sample);
	}
	if (rc == 0) {
		migrate__mongo_append_json(out, &cmd);
		migrate_buf_append(out, "\n");
	}
	bson_destroy(&q);
	bson_destroy(&cmd);
	return rc;
}
