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
 * Writes are idempotent: each update either re-checks the condition that
 * selected the document or recomputes the same value, so a batch redone
 * after a crash changes nothing more.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "mongo_int.h"

#define BATCH_FIRST 1000
#define BATCH_MIN 100
#define BATCH_MAX 20000

typedef struct batch batch_t;

struct batch {
	mongo_conn_t *c;
	const bson_t *step;
	const char *table;
	char what[200]; /* "backfill jobs", for messages */
	bson_t select;  /* the documents still to visit */
	bson_t fields;  /* client mode: projection, or $project with expressions */
	bool aggregate; /* read with aggregate (fields holds expressions) */
	bool server;    /* server mode: one update command per _id range */
	bool guard;     /* client mode: per-document filters re-check the selecting condition */
	/* Server mode: the update command for the documents matching `range`. */
	int (*per_range)(batch_t *b, const bson_t *range, bson_t *cmd, migrate_error_t *err);
	/* Client mode: optional look-ups for a whole batch (count expressions). */
	int (*prepare)(batch_t *b, bson_t **docs, size_t n, migrate_error_t *err);
	/* Client mode: the selector and update of one document; *skip when none. */
	int (*per_doc)(batch_t *b, const bson_t *doc, bson_t *selector, bson_t *update, bool *skip,
		       migrate_error_t *err);
	void *op;
};

static void batch_init(batch_t *b, mongo_conn_t *c, const bson_t *step, const char *opname)
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
}

static void batch_free(batch_t *b)
{
	bson_destroy(&b->select);
	bson_destroy(&b->fields);
}

/* Range writes pay off only where the server walks _id ranges by index. */
static bool range_updates(mongo_conn_t *c)
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
 */
static void build_query(bson_t *out, const bson_t *select, const bson_value_t *after, const bson_value_t *upto)
{
	bson_t range = BSON_INITIALIZER, id;
	bool has_range = after || upto;

	if (has_range) {
		bson_append_document_begin(&range, "_id", -1, &id);
		if (after)
			bson_append_value(&id, "$gt", -1, after);
		if (upto)
			bson_append_value(&id, "$lte", -1, upto);
		bson_append_document_end(&range, &id);
	}
	if (!has_range) {
		bson_concat(out, select);
	} else if (bson_empty(select) || !bson_has_field(select, "_id")) {
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
		mongo__log_command("aggregate", pipeline);
		cur = mongoc_collection_aggregate(coll, MONGOC_QUERY_NONE, pipeline, &opts, NULL);
		bson_destroy(pipeline);
	} else {
		BCON_APPEND(&opts, "sort", "{", "_id", BCON_INT32(1), "}");
		if (b->server)
			BCON_APPEND(&opts, "projection", "{", "_id", BCON_INT32(1), "}");
		else if (!bson_empty(&b->fields))
			BSON_APPEND_DOCUMENT(&opts, "projection", &b->fields);
		mongo__log_command("find", &q);
		cur = mongoc_collection_find_with_opts(coll, &q, &opts, NULL);
	}
	bson_destroy(&q);
	bson_destroy(&opts);
	return cur;
}

/* ---- checkpoints ---- */

static int parse_checkpoint(const char *ck, bson_value_t *after, bool *has_after, int64_t *done, migrate_error_t *err)
{
	bson_t d;
	bson_error_t e;
	bson_iter_t it;

	*has_after = false;
	*done = 0;
	if (!ck || !*ck)
		return 0;
	if (!bson_init_from_json(&d, ck, -1, &e))
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ESTATE, "bad checkpoint \"%s\": %s", ck,
				    e.message);
	if (bson_iter_init_find(&it, &d, "after")) {
		bson_value_copy(bson_iter_value(&it), after);
		*has_after = true;
	}
	*done = migrate__doc_int(&d, "done", 0);
	bson_destroy(&d);
	return 0;
}

static int journal(migrate_exec_t *exec, const bson_value_t *after, int64_t done, migrate_error_t *err)
{
	bson_t d = BSON_INITIALIZER;
	char *json;
	int rc;

	bson_append_value(&d, "after", -1, after);
	BSON_APPEND_INT64(&d, "done", done);
	json = bson_as_canonical_extended_json(&d, NULL);
	rc = migrate_exec_journal(exec, json, err);
	bson_free(json);
	bson_destroy(&d);
	return rc;
}

/* ---- one batch ---- */

static int write_range(batch_t *b, const bson_value_t *after, const bson_value_t *upto, migrate_error_t *err)
{
	bson_t range = BSON_INITIALIZER, cmd = BSON_INITIALIZER;
	int rc;

	build_query(&range, &b->select, after, upto);
	rc = b->per_range(b, &range, &cmd, err);
	if (rc == 0)
		rc = mongo__command(b->c, &cmd, NULL, b->what, err);
	bson_destroy(&range);
	bson_destroy(&cmd);
	return rc;
}

static int write_docs(batch_t *b, mongoc_collection_t *coll, bson_t **docs, size_t n, migrate_error_t *err)
{
	bson_t opts = BSON_INITIALIZER, reply;
	mongoc_bulk_operation_t *bulk;
	bson_error_t e;
	size_t i, ops = 0;
	int rc = 0;

	if (b->prepare && (rc = b->prepare(b, docs, n, err)))
		return rc;
	BSON_APPEND_BOOL(&opts, "ordered", false);
	bulk = mongoc_collection_create_bulk_operation_with_opts(coll, &opts);
	for (i = 0; rc == 0 && i < n; i++) {
		bson_t sel = BSON_INITIALIZER, upd = BSON_INITIALIZER;
		bool skip = false;
		rc = b->per_doc(b, docs[i], &sel, &upd, &skip, err);
		if (rc == 0 && !skip) {
			/* update_many on a filter by _id: FerretDB leaks a connection per updateOne. */
			if (!mongoc_bulk_operation_update_many_with_opts(bulk, &sel, &upd, NULL, &e))
				rc = mongo__fail(err, &e, "%s", b->what);
			ops++;
		}
		bson_destroy(&sel);
		bson_destroy(&upd);
	}
	if (rc == 0 && ops > 0) {
		migrate__log(MIGRATE_LOG_DEBUG, "mongo: %s: bulk of %zu updates", b->what, ops);
		if (!mongoc_bulk_operation_execute(bulk, &reply, &e))
			rc = mongo__fail(err, &e, "%s", b->what);
		bson_destroy(&reply);
	}
	mongoc_bulk_operation_destroy(bulk);
	bson_destroy(&opts);
	return rc;
}

/* The next batch size, so that a batch takes about the run's time budget. */
static uint32_t resize(uint32_t size, int64_t took_ms, uint32_t budget_ms)
{
	double next = took_ms > 0 ? (double)size * budget_ms / (double)took_ms : (double)size * 2;

	if (next > size * 2.0)
		next = size * 2.0;
	if (next < size / 2.0)
		next = size / 2.0;
	if (next < BATCH_MIN)
		next = BATCH_MIN;
	if (next > BATCH_MAX)
		next = BATCH_MAX;
	return (uint32_t)next;
}

static void free_docs(bson_t **docs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		bson_destroy(docs[i]);
}

static int run_batches(batch_t *b, migrate_exec_t *exec, migrate_error_t *err)
{
	uint32_t fixed = migrate_exec_batch_size(exec), size = fixed ? fixed : BATCH_FIRST;
	uint32_t budget = migrate_exec_batch_time_ms(exec);
	mongoc_collection_t *coll = mongoc_database_get_collection(b->c->db, b->table);
	mongoc_cursor_t *cur = NULL;
	bson_value_t after = {0};
	bool has_after = false, more = true;
	int64_t done = 0, total = -1;
	bson_t **docs = calloc(fixed ? fixed : BATCH_MAX, sizeof(*docs));
	size_t n = 0;
	int rc;

	if (!docs) {
		rc = migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ENOMEM, "out of memory");
		goto cleanup;
	}
	if ((rc = parse_checkpoint(migrate_exec_checkpoint(exec), &after, &has_after, &done, err)))
		goto cleanup;
	if (mongo__count(b->c, b->table, NULL, &total, NULL))
		total = -1;
	cur = open_cursor(b, coll, has_after ? &after : NULL, fixed ? fixed : BATCH_FIRST);
	while (more) {
		int64_t t0 = migrate__now_ms();
		const bson_t *doc;
		bson_iter_t it;

		if ((rc = mongo__lock_check(b->c, err)))
			goto cleanup;
		for (n = 0; n < size && mongoc_cursor_next(cur, &doc); n++)
			docs[n] = bson_copy(doc);
		if (n < size) {
			more = false;
			if ((rc = mongo__cursor_error(cur, b->what, err)))
				goto cleanup;
		}
		if (n == 0)
			break;
		if (!bson_iter_init_find(&it, docs[n - 1], "_id")) {
			rc = migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EDB, "%s: a document has no _id",
					  b->what);
			goto cleanup;
		}
		if (b->server)
			rc = write_range(b, has_after ? &after : NULL, bson_iter_value(&it), err);
		else
			rc = write_docs(b, coll, docs, n, err);
		if (rc)
			goto cleanup;
		if (has_after)
			bson_value_destroy(&after);
		bson_value_copy(bson_iter_value(&it), &after);
		has_after = true;
		done += (int64_t)n;
		free_docs(docs, n);
		n = 0;
		if ((rc = journal(exec, &after, done, err)))
			goto cleanup;
		if ((rc = migrate_exec_batch_done(exec, done, total, err)))
			goto cleanup;
		if (!fixed)
			size = resize(size, migrate__now_ms() - t0, budget ? budget : 200);
	}
cleanup:
	if (docs) {
		free_docs(docs, n);
		free(docs);
	}
	if (has_after)
		bson_value_destroy(&after);
	if (cur)
		mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(coll);
	return rc;
}

/* ---- helpers for ops ---- */

static void set_value_doc(bson_t *upd, const char *setop, const char *field, const bson_value_t *v)
{
	bson_t set;

	bson_append_document_begin(upd, setop, -1, &set);
	bson_append_value(&set, field, -1, v);
	bson_append_document_end(upd, &set);
}

static void copy_id(bson_t *sel, const bson_t *doc)
{
	bson_iter_t it;

	if (bson_iter_init_find(&it, doc, "_id"))
		bson_append_value(sel, "_id", -1, bson_iter_value(&it));
}

/* One statement {q, u, multi: true} in an update command. */
static void update_cmd(bson_t *cmd, const char *table, const bson_t *q, const bson_t *u, bool u_is_array)
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

/* ---- add_column ---- */

typedef struct add_column {
	const char *field;
	bool uuid; /* a new UUID per document */
	bson_value_t value;
	bool has_value;
} add_column_t;

static int add_column_range(batch_t *b, const bson_t *range, bson_t *cmd, migrate_error_t *err)
{
	add_column_t *a = b->op;
	bson_t u = BSON_INITIALIZER;

	set_value_doc(&u, "$set", a->field, &a->value);
	update_cmd(cmd, b->table, range, &u, false);
	bson_destroy(&u);
	return 0;
}

/* A version-4 UUID from the kernel's generator. */
static void random_uuid(uint8_t bytes[16])
{
	size_t got = 0;

	while (got < 16) {
		ssize_t r = getrandom(bytes + got, 16 - got, 0);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	if (got < 16) {
		/* No entropy source: an ObjectId is still unique per process and time. */
		bson_oid_t oid;
		bson_oid_init(&oid, NULL);
		memset(bytes, 0, 16);
		memcpy(bytes, oid.bytes, 12);
	}
	bytes[6] = (uint8_t)((bytes[6] & 0x0f) | 0x40);
	bytes[8] = (uint8_t)((bytes[8] & 0x3f) | 0x80);
}

static int add_column_doc(batch_t *b, const bson_t *doc, bson_t *sel, bson_t *upd, bool *skip, migrate_error_t *err)
{
	add_column_t *a = b->op;
	bson_t cond;

	copy_id(sel, doc);
	if (b->guard) {
		bson_append_document_begin(sel, a->field, -1, &cond);
		BSON_APPEND_BOOL(&cond, "$exists", false);
		bson_append_document_end(sel, &cond);
	}
	if (a->uuid) {
		uint8_t bytes[16];
		bson_value_t v = {.value_type = BSON_TYPE_BINARY};
		random_uuid(bytes);
		v.value.v_binary.subtype = BSON_SUBTYPE_UUID;
		v.value.v_binary.data = bytes;
		v.value.v_binary.data_len = 16;
		set_value_doc(upd, "$set", a->field, &v);
	} else {
		set_value_doc(upd, "$set", a->field, &a->value);
	}
	return 0;
}

/* The default of a column as a value; *none when the column has no default. */
static int column_default(const bson_t *col, add_column_t *a, bool *none, migrate_error_t *err)
{
	bson_iter_t it;

	*none = false;
	if (!bson_iter_init_find(&it, col, "default")) {
		*none = true;
		return 0;
	}
	if (BSON_ITER_HOLDS_UTF8(&it)) {
		const char *s = bson_iter_utf8(&it, NULL);
		if (!strcmp(s, "uuid")) {
			a->uuid = true;
			return 0;
		}
		if (!strcmp(s, "now")) {
			a->value.value_type = BSON_TYPE_DATE_TIME;
			a->value.value.v_datetime = migrate__now_ms();
			a->has_value = true;
			return 0;
		}
	} else if (BSON_ITER_HOLDS_DOCUMENT(&it)) {
		bson_t d;
		bson_iter_t v;
		migrate__doc_sub(col, "default", &d);
		if (bson_iter_init_find(&v, &d, "value")) {
			bson_value_copy(bson_iter_value(&v), &a->value);
			a->has_value = true;
			return 0;
		}
	}
	return migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EUNSUPPORTED,
			    "add_column: default of \"%s\" cannot be expressed on MongoDB", a->field);
}

static int setup_add_column(batch_t *b, add_column_t *a, bool *none, migrate_error_t *err)
{
	bson_t col, cond;
	int rc;

	memset(a, 0, sizeof(*a));
	migrate__doc_sub(b->step, "column", &col);
	a->field = migrate__doc_str(&col, "name");
	if ((rc = column_default(&col, a, none, err)) || *none)
		return rc;
	snprintf(b->what, sizeof(b->what), "add_column \"%s.%s\"", b->table, a->field);
	bson_append_document_begin(&b->select, a->field, -1, &cond);
	BSON_APPEND_BOOL(&cond, "$exists", false);
	bson_append_document_end(&b->select, &cond);
	BCON_APPEND(&b->fields, "_id", BCON_INT32(1));
	b->server = range_updates(b->c) && !a->uuid;
	b->per_range = add_column_range;
	b->per_doc = add_column_doc;
	b->op = a;
	return 0;
}

int mongo__add_column(mongo_conn_t *c, const bson_t *step, migrate_exec_t *exec, migrate_error_t *err)
{
	batch_t b;
	add_column_t a;
	bool none;
	int rc;

	batch_init(&b, c, step, "add_column");
	rc = setup_add_column(&b, &a, &none, err);
	if (rc == 0 && !none)
		rc = run_batches(&b, exec, err);
	if (a.has_value)
		bson_value_destroy(&a.value);
	batch_free(&b);
	return rc;
}

/* ---- drop_column and rename_column ---- */

typedef struct field_op {
	const char *setop; /* $unset or $rename */
	const char *field;
	bson_value_t arg; /* "" or the new name */
} field_op_t;

static int field_op_range(batch_t *b, const bson_t *range, bson_t *cmd, migrate_error_t *err)
{
	field_op_t *f = b->op;
	bson_t u = BSON_INITIALIZER;

	set_value_doc(&u, f->setop, f->field, &f->arg);
	update_cmd(cmd, b->table, range, &u, false);
	bson_destroy(&u);
	return 0;
}

static int field_op_doc(batch_t *b, const bson_t *doc, bson_t *sel, bson_t *upd, bool *skip, migrate_error_t *err)
{
	field_op_t *f = b->op;
	bson_t cond;

	copy_id(sel, doc);
	if (b->guard) {
		bson_append_document_begin(sel, f->field, -1, &cond);
		BSON_APPEND_BOOL(&cond, "$exists", true);
		bson_append_document_end(sel, &cond);
	}
	set_value_doc(upd, f->setop, f->field, &f->arg);
	return 0;
}

static void setup_field_op(batch_t *b, field_op_t *f, const char *setop, const char *field, const char *arg)
{
	bson_t cond;

	f->setop = setop;
	f->field = field;
	f->arg.value_type = BSON_TYPE_UTF8;
	f->arg.value.v_utf8.str = (char *)arg;
	f->arg.value.v_utf8.len = (uint32_t)strlen(arg);
	bson_append_document_begin(&b->select, field, -1, &cond);
	BSON_APPEND_BOOL(&cond, "$exists", true);
	bson_append_document_end(&b->select, &cond);
	BCON_APPEND(&b->fields, "_id", BCON_INT32(1));
	b->server = range_updates(b->c);
	b->per_range = field_op_range;
	b->per_doc = field_op_doc;
	b->op = f;
}

int mongo__drop_column(mongo_conn_t *c, const bson_t *step, migrate_exec_t *exec, migrate_error_t *err)
{
	batch_t b;
	field_op_t f;
	int rc;

	batch_init(&b, c, step, "drop_column");
	setup_field_op(&b, &f, "$unset", migrate__doc_str(step, "column"), "");
	rc = run_batches(&b, exec, err);
	batch_free(&b);
	return rc;
}

int mongo__rename_column(mongo_conn_t *c, const bson_t *step, migrate_exec_t *exec, migrate_error_t *err)
{
	batch_t b;
	field_op_t f;
	int rc;

	batch_init(&b, c, step, "rename_column");
	setup_field_op(&b, &f, "$rename", migrate__doc_str(step, "from"), migrate__doc_str(step, "to"));
	rc = run_batches(&b, exec, err);
	batch_free(&b);
	return rc;
}

/* ---- map_values ---- */

int mongo__check_map_values(const bson_t *step, migrate_error_t *err)
{
	bson_t map, where;
	bson_iter_t it;
	int rc;

	if ((rc = mongo__check_collection(migrate__doc_str(step, "table"), "table", err)) ||
	    (rc = mongo__check_field(migrate__doc_str(step, "column"), "column", err)))
		return rc;
	if (migrate__doc_sub(step, "where", &where) && (rc = mongo__check_filter(&where, err)))
		return rc;
	if (!migrate__doc_sub(step, "map", &map))
		return 0;
	bson_iter_init(&it, &map);
	while (bson_iter_next(&it)) {
		if (BSON_ITER_HOLDS_UTF8(&it) && bson_has_field(&map, bson_iter_utf8(&it, NULL)))
			return migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EUNSUPPORTED,
					    "map_values: \"%s\" is both an old and a new value; without transactions "
					    "a batch redone after a crash could map it twice",
					    bson_iter_utf8(&it, NULL));
	}
	return 0;
}

typedef struct map_values {
	const char *field;
	bson_t map;
} map_values_t;

/* One statement per mapping, all in one update command (chains are refused, so order does not matter). */
static int map_range(batch_t *b, const bson_t *range, bson_t *cmd, migrate_error_t *err)
{
	map_values_t *m = b->op;
	bson_t arr;
	bson_iter_t it;
	uint32_t i = 0;

	BSON_APPEND_UTF8(cmd, "update", b->table);
	bson_append_array_begin(cmd, "updates", -1, &arr);
	bson_iter_init(&it, &m->map);
	while (bson_iter_next(&it)) {
		char key[16];
		const char *k;
		bson_t st, q, and, u;
		bson_uint32_to_string(i++, &k, key, sizeof(key));
		bson_append_document_begin(&arr, k, -1, &st);
		bson_append_document_begin(&st, "q", -1, &q);
		bson_append_array_begin(&q, "$and", -1, &and);
		BSON_APPEND_DOCUMENT(&and, "0", range);
		BCON_APPEND(&and, "1", "{", m->field, BCON_UTF8(bson_iter_key(&it)), "}");
		bson_append_array_end(&q, &and);
		bson_append_document_end(&st, &q);
		bson_init(&u);
		set_value_doc(&u, "$set", m->field, bson_iter_value(&it));
		BSON_APPEND_DOCUMENT(&st, "u", &u);
		bson_destroy(&u);
		BSON_APPEND_BOOL(&st, "multi", true);
		bson_append_document_end(&arr, &st);
	}
	bson_append_array_end(cmd, &arr);
	return 0;
}

static int map_doc(batch_t *b, const bson_t *doc, bson_t *sel, bson_t *upd, bool *skip, migrate_error_t *err)
{
	map_values_t *m = b->op;
	const char *old = migrate__doc_str(doc, m->field);
	bson_iter_t it;

	if (!old || !bson_iter_init_find(&it, &m->map, old)) {
		*skip = true;
		return 0;
	}
	copy_id(sel, doc);
	if (b->guard)
		BSON_APPEND_UTF8(sel, m->field, old);
	set_value_doc(upd, "$set", m->field, bson_iter_value(&it));
	return 0;
}

static int setup_map_values(batch_t *b, map_values_t *m, migrate_error_t *err)
{
	bson_t where, lowered = BSON_INITIALIZER, in, keys;
	bson_iter_t it;
	uint32_t i = 0;
	int rc = 0;

	m->field = migrate__doc_str(b->step, "column");
	migrate__doc_sub(b->step, "map", &m->map);
	snprintf(b->what, sizeof(b->what), "map_values \"%s.%s\"", b->table, m->field);
	/* Keys are compared as strings: the documents holding one of them. */
	bson_append_document_begin(&b->select, m->field, -1, &in);
	bson_append_array_begin(&in, "$in", -1, &keys);
	bson_iter_init(&it, &m->map);
	while (bson_iter_next(&it)) {
		char key[16];
		const char *k;
		bson_uint32_to_string(i++, &k, key, sizeof(key));
		BSON_APPEND_UTF8(&keys, k, bson_iter_key(&it));
	}
	bson_append_array_end(&in, &keys);
	bson_append_document_end(&b->select, &in);
	if (migrate__doc_sub(b->step, "where", &where)) {
		bson_t sel = BSON_INITIALIZER, and;
		if ((rc = mongo__filter(&where, &lowered, err)) == 0 && !bson_empty(&lowered)) {
			bson_append_array_begin(&sel, "$and", -1, &and);
			BSON_APPEND_DOCUMENT(&and, "0", &b->select);
			BSON_APPEND_DOCUMENT(&and, "1", &lowered);
			bson_append_array_end(&sel, &and);
			bson_destroy(&b->select);
			bson_copy_to(&sel, &b->select);
		}
		bson_destroy(&sel);
	}
	bson_destroy(&lowered);
	BCON_APPEND(&b->fields, "_id", BCON_INT32(1), m->field, BCON_INT32(1));
	b->server = range_updates(b->c);
	b->per_range = map_range;
	b->per_doc = map_doc;
	b->op = m;
	return rc;
}

int mongo__map_values(mongo_conn_t *c, const bson_t *step, migrate_exec_t *exec, migrate_error_t *err)
{
	batch_t b;
	map_values_t m;
	int rc;

	batch_init(&b, c, step, "map_values");
	rc = setup_map_values(&b, &m, err);
	if (rc == 0)
		rc = run_batches(&b, exec, err);
	batch_free(&b);
	return rc;
}

/* ---- backfill ---- */

enum expr_kind {
	EXPR_VALUE,
	EXPR_COLUMN,
	EXPR_ARRAY_LENGTH,
	EXPR_COUNT,
	EXPR_MONGO
};

typedef struct count_hit {
	char *key; /* canonical JSON of the matched value */
	int64_t n;
} count_hit_t;

typedef struct expr {
	const char *target;
	enum expr_kind kind;
	bson_iter_t arg;    /* the expression's argument in the step */
	const char *src;    /* column / array_length source, count's our_col */
	const char *ctable; /* count: the other collection */
	const char *their;  /* count: its field */
	bson_t cwhere;      /* count: lowered where */
	char alias[32];     /* mongo on the client path: the projected result */
	count_hit_t *hits;  /* count: this batch's counts */
	size_t nhits;
} expr_t;

typedef struct backfill {
	expr_t *e;
	size_t n;
} backfill_t;

/* Parses one expression of `set`; validation and application share it. */
static int parse_expr(const char *target, bson_iter_t *it, expr_t *x, migrate_error_t *err)
{
	bson_iter_t sub;
	const char *kind;

	memset(x, 0, sizeof(*x));
	bson_init(&x->cwhere);
	x->target = target;
	if (!BSON_ITER_HOLDS_DOCUMENT(it) || !bson_iter_recurse(it, &sub) || !bson_iter_next(&sub))
		return migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EPLAN, "set.%s: not an expression", target);
	kind = bson_iter_key(&sub);
	x->arg = sub;
	if (!strcmp(kind, "value")) {
		x->kind = EXPR_VALUE;
	} else if (!strcmp(kind, "column") || !strcmp(kind, "array_length")) {
		x->kind = kind[0] == 'c' ? EXPR_COLUMN : EXPR_ARRAY_LENGTH;
		x->src = BSON_ITER_HOLDS_UTF8(&sub) ? bson_iter_utf8(&sub, NULL) : NULL;
		return mongo__check_field(x->src, kind, err);
	} else if (!strcmp(kind, "mongo")) {
		x->kind = EXPR_MONGO;
	} else if (!strcmp(kind, "count")) {
		bson_t cdoc, match, where;
		bson_iter_t m;
		uint32_t len;
		const uint8_t *data;
		int rc;
		x->kind = EXPR_COUNT;
		if (!BSON_ITER_HOLDS_DOCUMENT(&sub))
			return migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EPLAN, "set.%s: count needs an object",
					    target);
		bson_iter_document(&sub, &len, &data);
		bson_init_static(&cdoc, data, len);
		x->ctable = migrate__doc_str(&cdoc, "table");
		if ((rc = mongo__check_collection(x->ctable, "count.table", err)))
			return rc;
		if (!migrate__doc_sub(&cdoc, "match", &match) || bson_count_keys(&match) != 1)
			return migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EUNSUPPORTED,
					    "set.%s: count.match must hold exactly one {their_field: our_field} pair "
					    "on MongoDB",
					    target);
		bson_iter_init(&m, &match);
		bson_iter_next(&m);
		x->their = bson_iter_key(&m);
		x->src = BSON_ITER_HOLDS_UTF8(&m) ? bson_iter_utf8(&m, NULL) : NULL;
		if ((rc = mongo__check_field(x->their, "count.match", err)) ||
		    (rc = mongo__check_field(x->src, "count.match", err)))
			return rc;
		if (migrate__doc_sub(&cdoc, "where", &where))
			return mongo__filter(&where, &x->cwhere, err);
	} else {
		return migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EUNSUPPORTED,
				    "set.%s: expression \"%s\" has no meaning on MongoDB", target, kind);
	}
	return 0;
}

static void free_hits(expr_t *x)
{
	for (size_t i = 0; i < x->nhits; i++)
		free(x->hits[i].key);
	free(x->hits);
	x->hits = NULL;
	x->nhits = 0;
}

static void backfill_free(backfill_t *bf)
{
	for (size_t i = 0; i < bf->n; i++) {
		free_hits(&bf->e[i]);
		bson_destroy(&bf->e[i].cwhere);
	}
	free(bf->e);
}

static int parse_backfill(const bson_t *step, backfill_t *bf, migrate_error_t *err)
{
	bson_t set;
	bson_iter_t it;
	int rc = 0;

	memset(bf, 0, sizeof(*bf));
	if (!migrate__doc_sub(step, "set", &set) || bson_count_keys(&set) == 0)
		return migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EPLAN, "backfill: set is empty");
	bf->e = calloc(bson_count_keys(&set), sizeof(*bf->e));
	if (!bf->e)
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ENOMEM, "out of memory");
	bson_iter_init(&it, &set);
	while (rc == 0 && bson_iter_next(&it)) {
		expr_t *x = &bf->e[bf->n++];
		if ((rc = mongo__check_field(bson_iter_key(&it), "set", err)) == 0)
			rc = parse_expr(bson_iter_key(&it), &it, x, err);
		if (rc == 0 && !strcmp(x->target, "_id"))
			rc = migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EUNSUPPORTED,
					  "backfill: _id cannot be set");
		snprintf(x->alias, sizeof(x->alias), "__migrate_e%zu", bf->n - 1);
	}
	return rc;
}

int mongo__check_backfill(mongo_conn_t *c, const bson_t *step, migrate_error_t *err)
{
	backfill_t bf;
	bson_t where;
	int rc;

	if ((rc = mongo__check_collection(migrate__doc_str(step, "table"), "table", err)))
		return rc;
	if (migrate__doc_sub(step, "where", &where) && (rc = mongo__check_filter(&where, err)))
		return rc;
	rc = parse_backfill(step, &bf, err);
	backfill_free(&bf);
	return rc;
}

/* The aggregation expression of `x` for the server-side pipeline. */
static void append_server_expr(bson_t *set, const expr_t *x)
{
	char path[80];

	if (x->src)
		snprintf(path, sizeof(path), "$%s", x->src);
	switch (x->kind) {
	case EXPR_VALUE: BCON_APPEND(set, x->target, "{", "$literal", BCON_ITER(&x->arg), "}"); break;
	case EXPR_COLUMN: BCON_APPEND(set, x->target, "{", "$ifNull", "[", BCON_UTF8(path), BCON_NULL, "]", "}"); break;
	case EXPR_ARRAY_LENGTH:
		BCON_APPEND(set, x->target, "{", "$cond", "{", "if", "{", "$isArray", BCON_UTF8(path), "}", "then", "{",
			    "$size", BCON_UTF8(path), "}", "else", BCON_INT32(0), "}", "}");
		break;
	case EXPR_MONGO: bson_append_iter(set, x->target, -1, &x->arg); break;
	case EXPR_COUNT: break; /* never on the server path */
	}
}

static int backfill_range(batch_t *b, const bson_t *range, bson_t *cmd, migrate_error_t *err)
{
	backfill_t *bf = b->op;
	bson_t pipeline = BSON_INITIALIZER, stage, set;

	bson_append_document_begin(&pipeline, "0", -1, &stage);
	bson_append_document_begin(&stage, "$set", -1, &set);
	for (size_t i = 0; i < bf->n; i++)
		append_server_expr(&set, &bf->e[i]);
	bson_append_document_end(&stage, &set);
	bson_append_document_end(&pipeline, &stage);
	update_cmd(cmd, b->table, range, &pipeline, true);
	bson_destroy(&pipeline);
	return 0;
}

static char *value_key(const bson_value_t *v)
{
	bson_t d = BSON_INITIALIZER;
	char *json, *out;

	bson_append_value(&d, "v", -1, v);
	json = bson_as_canonical_extended_json(&d, NULL);
	out = migrate__strdup(json);
	bson_free(json);
	bson_destroy(&d);
	return out;
}

static int cmp_hit(const void *a, const void *b)
{
	return strcmp(((const count_hit_t *)a)->key, ((const count_hit_t *)b)->key);
}

/* One aggregate per count expression and batch: {$match their in [...]}, {$group by their}. */
static int prepare_count(batch_t *b, expr_t *x, bson_t **docs, size_t n, migrate_error_t *err)
{
	mongoc_collection_t *coll = mongoc_database_get_collection(b->c->db, x->ctable);
	bson_t pipeline = BSON_INITIALIZER, arr, stage, match, in, vals, opts = BSON_INITIALIZER;
	mongoc_cursor_t *cur;
	const bson_t *doc;
	size_t i, cap = 0;
	uint32_t k = 0;
	char path[80];
	int rc = 0;

	free_hits(x);
	bson_append_array_begin(&pipeline, "pipeline", -1, &arr);
	bson_append_document_begin(&arr, "0", -1, &stage);
	bson_append_document_begin(&stage, "$match", -1, &match);
	bson_append_document_begin(&match, x->their, -1, &in);
	bson_append_array_begin(&in, "$in", -1, &vals);
	for (i = 0; i < n; i++) {
		bson_iter_t it;
		char key[16];
		const char *ks;
		if (!bson_iter_init_find(&it, docs[i], x->src) || BSON_ITER_HOLDS_NULL(&it))
			continue;
		bson_uint32_to_string(k++, &ks, key, sizeof(key));
		bson_append_value(&vals, ks, -1, bson_iter_value(&it));
	}
	bson_append_array_end(&in, &vals);
	bson_append_document_end(&match, &in);
	bson_append_document_end(&stage, &match);
	bson_append_document_end(&arr, &stage);
	if (!bson_empty(&x->cwhere))
		BCON_APPEND(&arr, "1", "{", "$match", BCON_DOCUMENT(&x->cwhere), "}");
	snprintf(path, sizeof(path), "$%s", x->their);
	BCON_APPEND(&arr, bson_empty(&x->cwhere) ? "1" : "2", "{", "$group", "{", "_id", BCON_UTF8(path), "n", "{",
		    "$sum", BCON_INT32(1), "}", "}", "}");
	bson_append_array_end(&pipeline, &arr);
	BSON_APPEND_INT32(&opts, "batchSize", 10000);
	if (k == 0)
		goto cleanup; /* nothing to count: every count is 0 */
	mongo__log_command("aggregate (count)", &pipeline);
	cur = mongoc_collection_aggregate(coll, MONGOC_QUERY_NONE, &pipeline, &opts, NULL);
	while (rc == 0 && mongoc_cursor_next(cur, &doc)) {
		bson_iter_t it;
		if (!bson_iter_init_find(&it, doc, "_id"))
			continue;
		if (x->nhits == cap) {
			count_hit_t *h = realloc(x->hits, (cap = cap ? cap * 2 : 64) * sizeof(*h));
			if (!h) {
				rc = migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ENOMEM, "out of memory");
				break;
			}
			x->hits = h;
		}
		x->hits[x->nhits].key = value_key(bson_iter_value(&it));
		x->hits[x->nhits].n = migrate__doc_int(doc, "n", 0);
		x->nhits++;
	}
	if (rc == 0)
		rc = mongo__cursor_error(cur, b->what, err);
	mongoc_cursor_destroy(cur);
	if (x->nhits)
		qsort(x->hits, x->nhits, sizeof(*x->hits), cmp_hit);
cleanup:
	bson_destroy(&pipeline);
	bson_destroy(&opts);
	mongoc_collection_destroy(coll);
	return rc;
}

static int backfill_prepare(batch_t *b, bson_t **docs, size_t n, migrate_error_t *err)
{
	backfill_t *bf = b->op;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < bf->n; i++)
		if (bf->e[i].kind == EXPR_COUNT)
			rc = prepare_count(b, &bf->e[i], docs, n, err);
	return rc;
}

static int64_t count_for(const expr_t *x, const bson_t *doc)
{
	bson_iter_t it;
	count_hit_t probe, *hit;

	if (!bson_iter_init_find(&it, doc, x->src) || BSON_ITER_HOLDS_NULL(&it) || !x->nhits)
		return 0;
	probe.key = value_key(bson_iter_value(&it));
	hit = bsearch(&probe, x->hits, x->nhits, sizeof(*x->hits), cmp_hit);
	free(probe.key);
	return hit ? hit->n : 0;
}

/* The client-side value of `x` for `doc`, appended to `set`; same results as the pipeline. */
static void append_client_value(bson_t *set, const expr_t *x, const bson_t *doc)
{
	bson_iter_t it;

	switch (x->kind) {
	case EXPR_VALUE: bson_append_value(set, x->target, -1, bson_iter_value((bson_iter_t *)&x->arg)); break;
	case EXPR_COLUMN:
		if (bson_iter_init_find(&it, doc, x->src))
			bson_append_value(set, x->target, -1, bson_iter_value(&it));
		else
			bson_append_null(set, x->target, -1);
		break;
	case EXPR_ARRAY_LENGTH:
		if (bson_iter_init_find(&it, doc, x->src) && BSON_ITER_HOLDS_ARRAY(&it)) {
			bson_iter_t a;
			int32_t len = 0;
			bson_iter_recurse(&it, &a);
			while (bson_iter_next(&a))
				len++;
			BSON_APPEND_INT32(set, x->target, len);
		} else {
			BSON_APPEND_INT32(set, x->target, 0);
		}
		break;
	case EXPR_COUNT: {
		int64_t n = count_for(x, doc);
		/* int32 when it fits, as $sum would give. */
		if (n <= INT32_MAX)
			BSON_APPEND_INT32(set, x->target, (int32_t)n);
		else
			BSON_APPEND_INT64(set, x->target, n);
		break;
	}
	case EXPR_MONGO:
		if (bson_iter_init_find(&it, doc, x->alias))
			bson_append_value(set, x->target, -1, bson_iter_value(&it));
		else
			bson_append_null(set, x->target, -1);
		break;
	}
}

static int backfill_doc(batch_t *b, const bson_t *doc, bson_t *sel, bson_t *upd, bool *skip, migrate_error_t *err)
{
	backfill_t *bf = b->op;
	bson_t set;

	copy_id(sel, doc);
	bson_append_document_begin(upd, "$set", -1, &set);
	for (size_t i = 0; i < bf->n; i++)
		append_client_value(&set, &bf->e[i], doc);
	bson_append_document_end(upd, &set);
	return 0;
}

static int setup_backfill(batch_t *b, backfill_t *bf, migrate_error_t *err)
{
	bson_t where;
	bool has_count = false, has_mongo = false;
	int rc;

	if ((rc = parse_backfill(b->step, bf, err)))
		return rc;
	if (migrate__doc_sub(b->step, "where", &where) && (rc = mongo__filter(&where, &b->select, err)))
		return rc;
	BCON_APPEND(&b->fields, "_id", BCON_INT32(1));
	for (size_t i = 0; i < bf->n; i++) {
		expr_t *x = &bf->e[i];
		has_count |= x->kind == EXPR_COUNT;
		has_mongo |= x->kind == EXPR_MONGO;
		if (x->src && !bson_has_field(&b->fields, x->src))
			BSON_APPEND_INT32(&b->fields, x->src, 1);
		if (x->kind == EXPR_MONGO)
			bson_append_iter(&b->fields, x->alias, -1, &x->arg);
	}
	b->server = range_updates(b->c) && b->c->caps.pipeline_updates && !has_count;
	b->aggregate = !b->server && has_mongo;
	b->per_range = backfill_range;
	b->prepare = backfill_prepare;
	b->per_doc = backfill_doc;
	b->op = bf;
	return 0;
}

int mongo__backfill(mongo_conn_t *c, const bson_t *step, migrate_exec_t *exec, migrate_error_t *err)
{
	batch_t b;
	backfill_t bf;
	int rc;

	batch_init(&b, c, step, "backfill");
	rc = setup_backfill(&b, &bf, err);
	if (rc == 0)
		rc = run_batches(&b, exec, err);
	backfill_free(&bf);
	batch_free(&b);
	return rc;
}

/* ---- render ---- */

static void placeholder(bson_value_t *v, const char *text)
{
	v->value_type = BSON_TYPE_UTF8;
	v->value.v_utf8.str = (char *)text;
	v->value.v_utf8.len = (uint32_t)strlen(text);
}

static int render_batch(batch_t *b, bson_string_t *out, migrate_error_t *err)
{
	bson_t q = BSON_INITIALIZER, cmd = BSON_INITIALIZER;
	bson_value_t after, upto;
	int rc = 0;

	placeholder(&after, "<after>");
	placeholder(&upto, "<last _id of the batch>");
	bson_string_append_printf(out, "// %s: read in _id order, in batches:\n", b->what);
	build_query(&q, &b->select, &after, NULL);
	if (b->aggregate) {
		bson_t *p = BCON_NEW("aggregate", BCON_UTF8(b->table), "pipeline", "[", "{", "$match",
				     BCON_DOCUMENT(&q), "}", "{", "$sort", "{", "_id", BCON_INT32(1), "}", "}", "{",
				     "$project", BCON_DOCUMENT(&b->fields), "}", "]");
		mongo__append_json(out, p);
		bson_destroy(p);
	} else {
		bson_t *f = BCON_NEW("find", BCON_UTF8(b->table), "filter", BCON_DOCUMENT(&q), "sort", "{", "_id",
				     BCON_INT32(1), "}");
		if (b->server)
			BCON_APPEND(f, "projection", "{", "_id", BCON_INT32(1), "}");
		else if (!bson_empty(&b->fields))
			BSON_APPEND_DOCUMENT(f, "projection", &b->fields);
		mongo__append_json(out, f);
		bson_destroy(f);
	}
	bson_string_append(out, "\n");
	if (b->server) {
		bson_t range = BSON_INITIALIZER;
		bson_string_append(out, "// per batch:\n");
		build_query(&range, &b->select, &after, &upto);
		rc = b->per_range(b, &range, &cmd, err);
		bson_destroy(&range);
	} else {
		bson_t sel = BSON_INITIALIZER, upd = BSON_INITIALIZER, sample = BSON_INITIALIZER;
		bool skip = false;
		bson_string_append(out, "// per batch, one unordered bulk of (per document, with values computed "
					"from the document read):\n");
		BSON_APPEND_UTF8(&sample, "_id", "<_id>");
		if (b->per_doc == map_doc) {
			map_values_t *m = b->op;
			bson_iter_t it;
			bson_iter_init(&it, &m->map);
			if (bson_iter_next(&it))
				BSON_APPEND_UTF8(&sample, m->field, bson_iter_key(&it));
		} else if (b->per_doc == backfill_doc) {
			backfill_t *bf = b->op;
			for (size_t i = 0; i < bf->n; i++)
				if (bf->e[i].src && !bson_has_field(&sample, bf->e[i].src))
					BSON_APPEND_UTF8(&sample, bf->e[i].src, "<value>");
		}
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
		mongo__append_json(out, &cmd);
		bson_string_append(out, "\n");
	}
	bson_destroy(&q);
	bson_destroy(&cmd);
	return rc;
}

int mongo__render_batched(mongo_conn_t *c, const bson_t *step, bson_string_t *out, migrate_error_t *err)
{
	const char *op = migrate__doc_str(step, "op");
	batch_t b;
	int rc;

	if ((rc = mongo__caps(c, err)))
		return rc;
	batch_init(&b, c, step, op);
	if (!strcmp(op, "add_column")) {
		add_column_t a;
		bool none;
		rc = setup_add_column(&b, &a, &none, err);
		if (rc == 0 && none)
			bson_string_append_printf(out, "// %s: no default, nothing to write\n", b.what);
		else if (rc == 0)
			rc = render_batch(&b, out, err);
		if (a.has_value)
			bson_value_destroy(&a.value);
	} else if (!strcmp(op, "drop_column") || !strcmp(op, "rename_column")) {
		field_op_t f;
		bool drop = op[0] == 'd';
		setup_field_op(&b, &f, drop ? "$unset" : "$rename", migrate__doc_str(step, drop ? "column" : "from"),
			       drop ? "" : migrate__doc_str(step, "to"));
		rc = render_batch(&b, out, err);
	} else if (!strcmp(op, "map_values")) {
		map_values_t m;
		if ((rc = setup_map_values(&b, &m, err)) == 0)
			rc = render_batch(&b, out, err);
	} else {
		backfill_t bf;
		if ((rc = setup_backfill(&b, &bf, err)) == 0) {
			rc = render_batch(&b, out, err);
			for (size_t i = 0; rc == 0 && i < bf.n; i++)
				if (bf.e[i].kind == EXPR_COUNT)
					bson_string_append_printf(
						out,
						"// per batch, for %s: aggregate on \"%s\": $match {%s: {$in: [the "
						"batch's %s]}}, $group by %s with $sum 1\n",
						bf.e[i].target, bf.e[i].ctable, bf.e[i].their, bf.e[i].src,
						bf.e[i].their);
		}
		backfill_free(&bf);
	}
	batch_free(&b);
	return rc;
}
