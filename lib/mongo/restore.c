/*
 * restore on MongoDB: the inverse of a map_values or backfill that kept
 * what it overwrote (batch.h, keep). The collection is visited in batches
 * (batch.c, in place or rewritten); each batch looks up its documents in
 * the kept collection by _id, and every document kept gets its kept fields
 * back ($set) and loses the ones it did not have ($unset). Then the kept
 * collection is dropped.
 *
 * Idempotent: setting the kept values again changes nothing, so a batch
 * redone after a crash is harmless; a kept collection that is gone was
 * restored and dropped already.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"

typedef struct restore {
	const char *from;
	bson_t columns;
	bson_t **kept; /* this batch's kept documents, in _id order */
	size_t n, next;
} restore_t;

static void free_kept(restore_t *r)
{
	for (size_t i = 0; i < r->n; i++)
		bson_destroy(r->kept[i]);
	free(r->kept);
	r->kept = NULL;
	r->n = r->next = 0;
}

/* The kept documents of a batch: one find by _id, sorted as the batch is. */
static int restore_prepare(batch_t *b, bson_t **docs, size_t n, migrate_error_t *err)
{
	restore_t *r = b->op;
	mongoc_collection_t *coll;
	mongoc_cursor_t *cur;
	bson_t q = BSON_INITIALIZER, id, in, opts = BSON_INITIALIZER;
	const bson_t *hit;
	int rc;

	free_kept(r);
	if ((rc = migrate__fault(MIGRATE__FAULT_STMT, "find (kept)", err)))
		return rc;
	if (!(r->kept = migrate__calloc(n ? n : 1, sizeof(*r->kept))))
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ENOMEM, "out of memory");
	bson_append_document_begin(&q, "_id", -1, &id);
	bson_append_array_begin(&id, "$in", -1, &in);
	for (size_t i = 0; i < n; i++) {
		char key[16];
		const char *k;
		bson_iter_t it;
		bson_uint32_to_string((uint32_t)i, &k, key, sizeof(key));
		if (bson_iter_init_find(&it, docs[i], "_id"))
			bson_append_iter(&in, k, -1, &it);
	}
	bson_append_array_end(&id, &in);
	bson_append_document_end(&q, &id);
	BCON_APPEND(&opts, "sort", "{", "_id", BCON_INT32(1), "}");
	coll = mongoc_database_get_collection(b->c->db, r->from);
	migrate__mongo_log_command("find (kept)", &q);
	cur = mongoc_collection_find_with_opts(coll, &q, &opts, NULL);
	while (r->n < n && mongoc_cursor_next(cur, &hit))
		r->kept[r->n++] = bson_copy(hit);
	rc = migrate__mongo_cursor_error(cur, b->what, err);
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(coll);
	bson_destroy(&q);
	bson_destroy(&opts);
	return rc;
}

/* The kept document of `doc`: both lists are in the server's _id order. */
static const bson_t *kept_of(restore_t *r, const bson_t *doc)
{
	if (r->next < r->n && migrate__mongo_same_id(r->kept[r->next], doc))
		return r->kept[r->next++];
	return NULL;
}

static int restore_doc(batch_t *b, const bson_t *doc, bson_t *sel, bson_t *upd, bool *skip, migrate_error_t *err)
{
	restore_t *r = b->op;
	const bson_t *kept = kept_of(r, doc);
	bson_t set = BSON_INITIALIZER, unset = BSON_INITIALIZER;
	bson_iter_t it, v;

	if (!kept) {
		*skip = true;
		return 0;
	}
	migrate__mongo_copy_id(sel, doc);
	bson_iter_init(&it, &r->columns);
	while (bson_iter_next(&it)) {
		const char *field = bson_iter_utf8(&it, NULL);
		if (bson_iter_init_find(&v, kept, field))
			bson_append_iter(&set, field, -1, &v);
		else
			BSON_APPEND_UTF8(&unset, field, "");
	}
	if (!bson_empty(&set))
		BSON_APPEND_DOCUMENT(upd, "$set", &set);
	if (!bson_empty(&unset))
		BSON_APPEND_DOCUMENT(upd, "$unset", &unset);
	bson_destroy(&set);
	bson_destroy(&unset);
	return 0;
}

/* Render: a sample document kept with its first column. */
static void restore_sample(batch_t *b, bson_t *doc)
{
	restore_t *r = b->op;
	bson_t *kept = bson_new();

	free_kept(r);
	bson_concat(kept, doc);
	if (!bson_empty(&r->columns)) {
		bson_iter_t it;
		bson_iter_init(&it, &r->columns);
		if (bson_iter_next(&it))
			BSON_APPEND_UTF8(kept, bson_iter_utf8(&it, NULL), "<kept value>");
	}
	r->kept = migrate__calloc(1, sizeof(*r->kept));
	if (r->kept) {
		r->kept[0] = kept;
		r->n = 1;
	} else {
		bson_destroy(kept);
	}
}

static void setup_restore(batch_t *b, restore_t *r)
{
	bson_iter_t it;

	memset(r, 0, sizeof(*r));
	r->from = migrate__doc_str(b->step, "from");
	migrate__doc_sub(b->step, "columns", &r->columns);
	snprintf(b->what, sizeof(b->what), "restore \"%s\" from \"%s\"", b->table, r->from);
	BSON_APPEND_INT32(&b->fields, "_id", 1);
	bson_iter_init(&it, &r->columns);
	while (bson_iter_next(&it))
		BSON_APPEND_INT32(&b->fields, bson_iter_utf8(&it, NULL), 1);
	b->prepare = restore_prepare;
	b->per_doc = restore_doc;
	b->sample = restore_sample;
	b->op = r;
}

/* Runs (exec) or renders (out) the step. */
static int restore(mongo_conn_t *c, const bson_t *step, migrate_exec_t *exec, migrate_buf_t *out, migrate_error_t *err)
{
	batch_t b;
	restore_t r;
	bson_t *drop = NULL;
	bson_error_t e;
	bool exists = true;
	int rc = 0;

	migrate__mongo_batch_init(&b, c, step, "restore");
	setup_restore(&b, &r);
	if (out) {
		if ((rc = migrate__mongo_render_batch(&b, out, err)) == 0)
			migrate_buf_printf(out, "// then: drop \"%s\"\n", r.from);
		goto done;
	}
	/* Gone with no run begun: restored and dropped already (the batches never look at it then). */
	if (!migrate_exec_checkpoint(exec) && (rc = migrate__mongo_collection_exists(c, r.from, &exists, err)))
		goto done;
	if (!exists) {
		migrate__log(MIGRATE_LOG_INFO, "mongo: %s: \"%s\" is gone: restored already", b.what, r.from);
		goto done;
	}
	if ((rc = migrate__mongo_run_batches(&b, exec, err)))
		goto done;
	drop = migrate__mongo_cmd_drop(r.from);
	if (!migrate__mongo_run(c, drop, NULL, &e) && migrate__mongo_server_code(&e) != MONGO_NAMESPACE_NOT_FOUND)
		rc = migrate__mongo_fail(err, &e, "%s: drop \"%s\"", b.what, r.from);
done:
	if (drop)
		bson_destroy(drop);
	free_kept(&r);
	migrate__mongo_batch_free(&b);
	return rc;
}

int migrate__mongo_restore(mongo_conn_t *c, const bson_t *step, migrate_exec_t *exec, migrate_error_t *err)
{
	return restore(c, step, exec, NULL, err);
}

int migrate__mongo_render_restore(mongo_conn_t *c, const bson_t *step, migrate_buf_t *out, migrate_error_t *err)
{
	return restore(c, step, NULL, out, err);
}
