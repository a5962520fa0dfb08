/*
 * The rewrite path of the steps that touch every document (batch.c): the
 * collection is copied, in _id order and in batches, into a shadow
 * collection of the step's own, each selected document rewritten on the
 * way by the op's per-document update; then the shadow replaces the
 * collection. Used where the server's updates cost far more than its
 * inserts: FerretDB 1.x updates a document by scanning the collection
 * (SQLite backend, and the PostgreSQL backend beyond a few thousand
 * documents), so updating n documents costs O(n^2) while copying them
 * costs O(n).
 *
 * Converges from any interruption. The source is never written until the
 * swap, so every batch is recomputed identically from it:
 *
 *   - no checkpoint: the shadow (if a killed run left one) is dropped and
 *     made anew, with the source's indexes;
 *   - {"after": id, "done": n}: the shadow holds every document up to id;
 *     anything past id (a batch inserted but not journaled) is deleted,
 *     and the copy goes on after id;
 *   - {"after": id, "done": n, "copied": true}: the copy is complete. The
 *     swap drops the source and renames the shadow in its place; a run
 *     killed between the two finds the shadow alone and renames it, one
 *     killed after the rename finds no shadow and is done.
 *
 * Documents the application writes to the collection while the step runs
 * are not carried over (see docs/operations.md): run such versions with
 * the collection's writers stopped, or use the in-place path
 * (migrate_rewrite=0 in the URL).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"

/*
 * Batches are as large as memory allows, not sized by the time budget: the
 * copy holds no lock anyone waits on (the source is only read, the shadow
 * is read by no one), and on FerretDB every batch costs a scan of the
 * collection or more (a find by a list of _ids, a where) whatever its
 * size. A batch ends at REWRITE_MAX documents or REWRITE_MAX_BYTES bytes;
 * one that times out is retried smaller, down to REWRITE_MIN.
 */
#define REWRITE_FIRST 500 /* the cursor's first reply */
#define REWRITE_MIN 100
#define REWRITE_MAX 20000
#define REWRITE_MAX_BYTES ((size_t)8 * 1024 * 1024)

bool migrate__mongo_rewrites(const batch_t *b)
{
	const char *env = getenv("MIGRATE_MONGO_REWRITE");
	bool want;

	if (b->server || b->aggregate)
		return false;
	if (b->c->rewrite >= 0)
		want = b->c->rewrite > 0;
	else if (env && *env)
		want = strcmp(env, "0") != 0;
	else
		want = b->c->caps.ferretdb;
	return want;
}

/* The shadow collection of a step: "_migrate_rw_" and its key's first 16 digits. */
static void shadow_name(const char *key, char *out, size_t size)
{
	snprintf(out, size, "_migrate_rw_%.16s", key);
}

/* ---- a document rewritten by an update of $set, $unset and $rename on top-level fields ---- */

static bool in_doc(const bson_t *d, const char *key)
{
	bson_iter_t it;

	return d && bson_iter_init_find(&it, d, key);
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The $set fields `doc` lacks, appended in byte order of their names, as the server appends them. */
static void append_new_fields(const bson_t *doc, const bson_t *set, bson_t *out)
{
	const char *keys[MIGRATE__KEEP_MAX * 2] = {NULL};
	size_t n = 0;
	bson_iter_t it;

	bson_iter_init(&it, set);
	while (bson_iter_next(&it))
		if (!in_doc(doc, bson_iter_key(&it))) {
			if (n == sizeof(keys) / sizeof(keys[0])) {
				bson_append_iter(out, bson_iter_key(&it), -1, &it); /* past the sort's room: in order */
				continue;
			}
			keys[n++] = bson_iter_key(&it);
		}
	qsort(keys, n, sizeof(keys[0]), cmp_keys);
	for (size_t i = 0; i < n; i++)
		if (bson_iter_init_find(&it, set, keys[i]))
			bson_append_iter(out, keys[i], -1, &it);
}

/* The field a $rename moves to `to`, or NULL. */
static const char *rename_source(const bson_t *rename, const char *to)
{
	bson_iter_t r;

	bson_iter_init(&r, rename);
	while (bson_iter_next(&r))
		if (BSON_ITER_HOLDS_UTF8(&r) && !strcmp(bson_iter_utf8(&r, NULL), to))
			return bson_iter_key(&r);
	return NULL;
}

/*
 * `doc` with `upd` applied, as the server would: a $set field keeps its
 * place (new ones are appended in order), an $unset one goes, a $rename
 * moves the value to the new name (in the new name's place when it
 * exists, else at the end). Field names are top-level (the driver refuses
 * paths), so no key is a path.
 */
static void apply_update(const bson_t *doc, const bson_t *upd, bson_t *out)
{
	bson_t set = BSON_INITIALIZER, unset = BSON_INITIALIZER, rename = BSON_INITIALIZER, sub;
	bson_t *parts[3] = {&set, &unset, &rename};
	const char *ops[3] = {"$set", "$unset", "$rename"};
	bson_iter_t it, r;

	for (int i = 0; i < 3; i++) {
		bson_destroy(parts[i]);
		if (!migrate__doc_sub(upd, ops[i], &sub))
			bson_init(parts[i]);
		else
			bson_copy_to(&sub, parts[i]);
	}
	bson_iter_init(&it, doc);
	while (bson_iter_next(&it)) {
		const char *key = bson_iter_key(&it), *from;
		bson_iter_t v;
		if (in_doc(&unset, key) || in_doc(&rename, key))
			continue; /* gone, or moved below */
		/* A $set value, or the moved value an existing rename target takes, or the field as it is. */
		if (bson_iter_init_find(&v, &set, key) ||
		    ((from = rename_source(&rename, key)) && bson_iter_init_find(&v, doc, from)))
			bson_append_iter(out, key, -1, &v);
		else
			bson_append_iter(out, key, -1, &it);
	}
	append_new_fields(doc, &set, out);
	bson_iter_init(&r, &rename);
	while (bson_iter_next(&r)) {
		bson_iter_t v;
		const char *to = BSON_ITER_HOLDS_UTF8(&r) ? bson_iter_utf8(&r, NULL) : NULL;
		if (to && !in_doc(doc, to) && bson_iter_init_find(&v, doc, bson_iter_key(&r)))
			bson_append_iter(out, to, -1, &v);
	}
	for (int i = 0; i < 3; i++)
		bson_destroy(parts[i]);
}

/*
 * With a `where`, which documents of the batch the step selects: one find
 * of the batch's _ids under the step's selector (the filter is the
 * server's to evaluate). sel[i] is set for the selected docs[i].
 */
static int select_batch(batch_t *b, mongoc_collection_t *coll, bson_t **docs, size_t n, bool *sel, migrate_error_t *err)
{
	bson_t q = BSON_INITIALIZER, and, part, id, in, opts = BSON_INITIALIZER;
	const bson_t *hit;
	mongoc_cursor_t *cur;
	size_t i = 0;
	int rc;

	if ((rc = migrate__fault(MIGRATE__FAULT_STMT, "find", err)))
		return rc;
	bson_append_array_begin(&q, "$and", -1, &and);
	bson_append_document_begin(&and, "0", -1, &part);
	bson_append_document_begin(&part, "_id", -1, &id);
	bson_append_array_begin(&id, "$in", -1, &in);
	for (size_t k = 0; k < n; k++) {
		char key[16];
		const char *ks;
		bson_iter_t it;
		bson_uint32_to_string((uint32_t)k, &ks, key, sizeof(key));
		if (bson_iter_init_find(&it, docs[k], "_id"))
			bson_append_iter(&in, ks, -1, &it);
	}
	bson_append_array_end(&id, &in);
	bson_append_document_end(&part, &id);
	bson_append_document_end(&and, &part);
	BSON_APPEND_DOCUMENT(&and, "1", &b->select);
	bson_append_array_end(&q, &and);
	BCON_APPEND(&opts, "sort", "{", "_id", BCON_INT32(1), "}", "projection", "{", "_id", BCON_INT32(1), "}");
	migrate__mongo_log_command("find", &q);
	cur = mongoc_collection_find_with_opts(coll, &q, &opts, NULL);
	/* Both lists are in the server's _id order: one merge. */
	while (mongoc_cursor_next(cur, &hit)) {
		while (i < n && !migrate__mongo_same_id(docs[i], hit))
			i++;
		if (i < n)
			sel[i++] = true;
	}
	rc = migrate__mongo_cursor_error(cur, b->what, err);
	mongoc_cursor_destroy(cur);
	bson_destroy(&q);
	bson_destroy(&opts);
	return rc;
}

/* ---- the shadow collection ---- */

/* A new, empty shadow with the source's indexes (but _id's, which every collection has). */
static int make_shadow(batch_t *b, mongoc_collection_t *coll, const char *shadow, migrate_error_t *err)
{
	bson_t *drop = migrate__mongo_cmd_drop(shadow), *create = migrate__mongo_cmd_create(shadow);
	bson_t cmd = BSON_INITIALIZER, arr;
	const bson_t *spec;
	mongoc_cursor_t *cur = NULL;
	bson_error_t e;
	uint32_t n = 0;
	int rc = 0;

	if (!migrate__mongo_run(b->c, drop, NULL, &e) && migrate__mongo_server_code(&e) != MONGO_NAMESPACE_NOT_FOUND)
		rc = migrate__mongo_fail(err, &e, "%s: drop \"%s\"", b->what, shadow);
	if (rc == 0)
		rc = migrate__mongo_command(b->c, create, NULL, b->what, err);
	if (rc == 0)
		rc = migrate__fault(MIGRATE__FAULT_STMT, "listIndexes", err);
	if (rc)
		goto done;
	BSON_APPEND_UTF8(&cmd, "createIndexes", shadow);
	bson_append_array_begin(&cmd, "indexes", -1, &arr);
	cur = mongoc_collection_find_indexes_with_opts(coll, NULL);
	while (mongoc_cursor_next(cur, &spec)) {
		const char *name = migrate__doc_str(spec, "name");
		char key[16];
		const char *ks;
		bson_t copy;
		bson_iter_t it;
		if (!name || !strcmp(name, "_id_"))
			continue;
		bson_uint32_to_string(n++, &ks, key, sizeof(key));
		bson_append_document_begin(&arr, ks, -1, &copy);
		bson_iter_init(&it, spec);
		while (bson_iter_next(&it))
			if (strcmp(bson_iter_key(&it), "v") && strcmp(bson_iter_key(&it), "ns"))
				bson_append_iter(&copy, bson_iter_key(&it), -1, &it);
		bson_append_document_end(&arr, &copy);
	}
	bson_append_array_end(&cmd, &arr);
	if ((rc = migrate__mongo_cursor_error(cur, b->what, err)) == 0 && n > 0)
		rc = migrate__mongo_command(b->c, &cmd, NULL, b->what, err);
done:
	if (cur)
		mongoc_cursor_destroy(cur);
	bson_destroy(&cmd);
	bson_destroy(drop);
	bson_destroy(create);
	return rc;
}

/*
 * A cursor over every document of `name`, whole, in _id order, advanced
 * past the checkpoint's _id when there is one. Not {_id: {$gt: after}}:
 * the server compares only values of one type there, so _ids of other
 * types would never be read. The checkpoint's document must be there: if it
 * is not, the collection changed while the step ran.
 */
static int open_after(batch_t *b, mongoc_collection_t *coll, const char *name, const checkpoint_t *ck, uint32_t size,
		      mongoc_cursor_t **out, migrate_error_t *err)
{
	bson_t q = BSON_INITIALIZER, opts = BSON_INITIALIZER, mark = BSON_INITIALIZER;
	const bson_t *doc;
	bool found = !ck->has_after;
	int rc;

	*out = NULL;
	if ((rc = migrate__fault(MIGRATE__FAULT_STMT, "find", err)))
		return rc;
	BCON_APPEND(&opts, "sort", "{", "_id", BCON_INT32(1), "}", "batchSize", BCON_INT32((int32_t)size));
	migrate__mongo_log_command(name, &q);
	*out = mongoc_collection_find_with_opts(coll, &q, &opts, NULL);
	if (ck->has_after) {
		bson_append_value(&mark, "_id", -1, &ck->after);
		while (!found && mongoc_cursor_next(*out, &doc))
			found = migrate__mongo_same_id(doc, &mark);
		rc = migrate__mongo_cursor_error(*out, b->what, err);
	}
	if (rc == 0 && !found)
		rc = migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ESTATE,
				  "%s: \"%s\" no longer holds the last document copied: the collection changed while "
				  "the step ran; stop its writers and run again",
				  b->what, name);
	bson_destroy(&q);
	bson_destroy(&opts);
	bson_destroy(&mark);
	return rc;
}

/*
 * Deletes what a killed run inserted into the shadow past the last
 * journaled _id: the shadow holds ck->done documents up to it, in the same
 * order as the source, so what follows it there is at most one batch.
 */
static int trim_shadow(batch_t *b, mongoc_collection_t *out, const char *shadow, const checkpoint_t *ck,
		       migrate_error_t *err)
{
	bson_t cmd = BSON_INITIALIZER, arr, st, q, id, in;
	mongoc_cursor_t *cur = NULL;
	const bson_t *doc;
	int64_t n = 0;
	uint32_t extra = 0;
	int rc;

	if ((rc = migrate__mongo_count(b->c, shadow, NULL, &n, err)) || n == ck->done)
		return rc;
	BSON_APPEND_UTF8(&cmd, "delete", shadow);
	bson_append_array_begin(&cmd, "deletes", -1, &arr);
	bson_append_document_begin(&arr, "0", -1, &st);
	bson_append_document_begin(&st, "q", -1, &q);
	bson_append_document_begin(&q, "_id", -1, &id);
	bson_append_array_begin(&id, "$in", -1, &in);
	if ((rc = open_after(b, out, shadow, ck, REWRITE_FIRST, &cur, err)) == 0) {
		while (mongoc_cursor_next(cur, &doc)) {
			char key[16];
			const char *k;
			bson_iter_t it;
			bson_uint32_to_string(extra++, &k, key, sizeof(key));
			if (bson_iter_init_find(&it, doc, "_id"))
				bson_append_iter(&in, k, -1, &it);
		}
		rc = migrate__mongo_cursor_error(cur, b->what, err);
	}
	bson_append_array_end(&id, &in);
	bson_append_document_end(&q, &id);
	bson_append_document_end(&st, &q);
	BSON_APPEND_INT32(&st, "limit", 0);
	bson_append_document_end(&arr, &st);
	bson_append_array_end(&cmd, &arr);
	if (rc == 0 && extra > 0)
		rc = migrate__mongo_command(b->c, &cmd, NULL, b->what, err);
	if (cur)
		mongoc_cursor_destroy(cur);
	bson_destroy(&cmd);
	return rc;
}

/*
 * Before the swap: the shadow holds every document copied, and the source
 * as many (unless the swap dropped it already). A collection that gained
 * or lost documents while it was copied is not replaced: the copy starts
 * over on the next run.
 */
static int verify_copy(batch_t *b, migrate_exec_t *exec, const char *shadow, checkpoint_t *ck, migrate_error_t *err)
{
	int64_t in_shadow = 0, in_source = 0;
	bool source = true;
	int rc;
	int64_t copied = ck->done;

	if ((rc = migrate__mongo_count(b->c, shadow, NULL, &in_shadow, err)) ||
	    (rc = migrate__mongo_collection_exists(b->c, b->table, &source, err)) ||
	    (source && (rc = migrate__mongo_count(b->c, b->table, NULL, &in_source, err))))
		return rc;
	if (in_shadow == copied && (!source || in_source == copied))
		return 0;
	/* The next run copies anew (a fresh shadow); this one stops without touching the collection. */
	migrate__mongo_checkpoint_free(ck);
	ck->done = 0;
	ck->copied = false;
	if ((rc = migrate__mongo_checkpoint_write(exec, ck, err)))
		return rc;
	return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ESTATE,
			    "%s: the collection changed while it was copied (%lld documents copied, %lld in \"%s\" "
			    "now, %lld in the copy); it was not replaced: stop its writers and run again, which copies "
			    "it anew",
			    b->what, (long long)copied, (long long)in_source, b->table, (long long)in_shadow);
}

/* The shadow takes the source's place; done already when the shadow is gone. */
static int swap(batch_t *b, const char *shadow, migrate_error_t *err)
{
	bson_t *drop = NULL, *rename = NULL;
	bson_error_t e;
	int rc = 0;

	drop = migrate__mongo_cmd_drop(b->table);
	if (!migrate__mongo_run(b->c, drop, NULL, &e) && migrate__mongo_server_code(&e) != MONGO_NAMESPACE_NOT_FOUND)
		rc = migrate__mongo_fail(err, &e, "%s: drop the original", b->what);
	if (rc == 0) {
		rename = migrate__mongo_cmd_rename(b->c->dbname, shadow, b->table);
		if (!migrate__mongo_run_on(b->c, "admin", rename, NULL, &e))
			rc = migrate__mongo_fail(err, &e, "%s: rename \"%s\" to \"%s\"", b->what, shadow, b->table);
	}
	bson_destroy(drop);
	if (rename)
		bson_destroy(rename);
	return rc;
}

/* ---- one batch ---- */

static int insert_batch(batch_t *b, mongoc_collection_t *shadow, bson_t **docs, const bool *sel, size_t n,
			migrate_error_t *err)
{
	bson_t opts = BSON_INITIALIZER, reply;
	mongoc_bulk_operation_t *bulk;
	bson_error_t e;
	bson_t **kept = NULL;
	size_t nkept = 0;
	int rc = 0;

	if (b->keep && !(kept = migrate__calloc(n ? n : 1, sizeof(*kept))))
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ENOMEM, "out of memory");
	BSON_APPEND_BOOL(&opts, "ordered", true);
	bulk = mongoc_collection_create_bulk_operation_with_opts(shadow, &opts);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		bson_t s = BSON_INITIALIZER, upd = BSON_INITIALIZER, out = BSON_INITIALIZER;
		bool skip = !sel[i];
		if (!skip)
			rc = b->per_doc(b, docs[i], &s, &upd, &skip, err);
		if (rc == 0 && !skip && kept)
			kept[nkept++] = migrate__mongo_kept_doc(b, docs[i]);
		if (rc == 0 && !skip)
			apply_update(docs[i], &upd, &out);
		if (rc == 0 && !mongoc_bulk_operation_insert_with_opts(bulk, skip ? docs[i] : &out, NULL, &e))
			rc = migrate__mongo_fail(err, &e, "%s", b->what);
		bson_destroy(&s);
		bson_destroy(&upd);
		bson_destroy(&out);
	}
	/* The source keeps its values until the swap, but the kept ones must be there before it. */
	if (rc == 0 && kept)
		rc = migrate__mongo_keep_insert(b, kept, nkept, err);
	if (rc == 0)
		rc = migrate__fault(MIGRATE__FAULT_STMT, "bulk insert", err);
	if (rc == 0 && n > 0) {
		migrate__log(MIGRATE_LOG_DEBUG, "mongo: %s: %zu documents copied", b->what, n);
		if (!mongoc_bulk_operation_execute(bulk, &reply, &e))
			rc = migrate__mongo_fail(err, &e, "%s", b->what);
		bson_destroy(&reply);
	}
	mongoc_bulk_operation_destroy(bulk);
	bson_destroy(&opts);
	for (size_t i = 0; i < nkept; i++)
		bson_destroy(kept[i]);
	free(kept);
	return rc;
}

/* Runs prepare (count look-ups) over the selected documents of a batch. */
static int prepare_selected(batch_t *b, bson_t **docs, const bool *sel, size_t n, migrate_error_t *err)
{
	bson_t **picked;
	size_t m = 0;
	int rc;

	if (!b->prepare)
		return 0;
	if (!(picked = migrate__calloc(n ? n : 1, sizeof(*picked))))
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		if (sel[i])
			picked[m++] = docs[i];
	rc = m ? b->prepare(b, picked, m, err) : 0;
	free(picked);
	return rc;
}

int migrate__mongo_run_rewrite(batch_t *b, migrate_exec_t *exec, checkpoint_t *ck, migrate_error_t *err)
{
	uint32_t fixed = migrate_exec_batch_size(exec), size = fixed ? fixed : REWRITE_MAX;
	uint32_t cap = fixed ? fixed : REWRITE_MAX;
	mongoc_collection_t *coll = mongoc_database_get_collection(b->c->db, b->table), *out = NULL;
	mongoc_cursor_t *cur = NULL;
	bool exists = true, more = true, filtered = bson_has_field(b->step, "where");
	int64_t total = -1;
	int retries = 0;
	bson_t **docs = migrate__calloc(cap, sizeof(*docs));
	bool *sel = migrate__calloc(cap, sizeof(*sel));
	char key[33], shadow[64];
	size_t n = 0;
	int rc;

	b->rewrite = true;
	b->mark = false; /* the source is never written: every batch is recomputed alike */
	ck->rewrite = true;
	if (!docs || !sel) {
		rc = migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ENOMEM, "out of memory");
		goto cleanup;
	}
	if ((rc = migrate_exec_step_key(exec, key, sizeof(key))))
		goto cleanup;
	shadow_name(key, shadow, sizeof(shadow));
	migrate_exec_resumed(exec, ck->done);
	if (ck->copied)
		goto swap;
	out = mongoc_database_get_collection(b->c->db, shadow);
	if (!ck->has_after) {
		/* A step over a collection that does not exist changes nothing, as an update would. */
		if ((rc = migrate__mongo_collection_exists(b->c, b->table, &exists, err)) || !exists)
			goto cleanup;
		if ((rc = make_shadow(b, coll, shadow, err)))
			goto cleanup;
	} else if ((rc = trim_shadow(b, out, shadow, ck, err))) {
		goto cleanup;
	}
	if (migrate__mongo_count(b->c, b->table, NULL, &total, NULL))
		total = -1;
	if ((rc = open_after(b, coll, b->table, ck, size, &cur, err)))
		goto cleanup;
	while (more) {
		size_t bytes = 0;
		const bson_t *doc;
		bson_iter_t it;

		migrate_exec_batch_start(exec);
		if ((rc = migrate__mongo_lock_check(b->c, err)))
			goto cleanup;
		for (n = 0; n < size && bytes < REWRITE_MAX_BYTES && mongoc_cursor_next(cur, &doc); n++) {
			docs[n] = bson_copy(doc);
			bytes += doc->len;
			sel[n] = !filtered;
		}
		if (n < size && bytes < REWRITE_MAX_BYTES) {
			more = false;
			rc = migrate__mongo_cursor_error(cur, b->what, err);
		}
		if (rc == 0 && n > 0 && !bson_iter_init_find(&it, docs[n - 1], "_id"))
			rc = migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EDB, "%s: a document has no _id",
					  b->what);
		if (rc == 0 && n > 0 &&
		    ((filtered && (rc = select_batch(b, coll, docs, n, sel, err))) == 0 &&
		     (rc = prepare_selected(b, docs, sel, n, err)) == 0))
			rc = insert_batch(b, out, docs, sel, n, err);
		if (rc) {
			if (fixed || !migrate__mongo_batch_timed_out(exec, err, &size, REWRITE_MIN, &retries))
				goto cleanup;
			/* Read again after the checkpoint, into a shadow without what the batch inserted. */
			for (size_t i = 0; i < n; i++)
				bson_destroy(docs[i]);
			n = 0;
			mongoc_cursor_destroy(cur);
			cur = NULL;
			if ((ck->has_after && (rc = trim_shadow(b, out, shadow, ck, err))) ||
			    (!ck->has_after && (rc = make_shadow(b, coll, shadow, err))) ||
			    (rc = open_after(b, coll, b->table, ck, size, &cur, err)))
				goto cleanup;
			more = true;
			continue;
		}
		if (n == 0)
			break;
		migrate__mongo_checkpoint_free(ck);
		bson_value_copy(bson_iter_value(&it), &ck->after);
		ck->has_after = true;
		ck->done += (int64_t)n;
		for (size_t i = 0; i < n; i++)
			bson_destroy(docs[i]);
		n = 0;
		retries = 0;
		if ((rc = migrate__mongo_checkpoint_write(exec, ck, err)) ||
		    (rc = migrate_exec_batch_done(exec, ck->done, total, err)))
			goto cleanup;
	}
	/* The copy is complete: from here on a rerun only swaps. */
	ck->copied = true;
	if ((rc = migrate__mongo_checkpoint_write(exec, ck, err)))
		goto cleanup;
swap:
	if ((rc = migrate__mongo_collection_exists(b->c, shadow, &exists, err)) || !exists)
		goto cleanup; /* swapped already */
	/*
	 * Before the swap begins, the collection must hold what was copied;
	 * once it began, what has the name (nothing, or a collection an insert
	 * made in between) is not the original and gives way to the shadow.
	 */
	if (!ck->swapping) {
		if ((rc = verify_copy(b, exec, shadow, ck, err)))
			goto cleanup;
		ck->swapping = true;
		if ((rc = migrate__mongo_checkpoint_write(exec, ck, err)))
			goto cleanup;
	}
	rc = swap(b, shadow, err);
cleanup:
	if (docs) {
		for (size_t i = 0; i < n; i++)
			bson_destroy(docs[i]);
		free(docs);
	}
	free(sel);
	if (cur)
		mongoc_cursor_destroy(cur);
	if (out)
		mongoc_collection_destroy(out);
	mongoc_collection_destroy(coll);
	return rc;
}

int migrate__mongo_render_rewrite(batch_t *b, migrate_buf_t *out, migrate_error_t *err)
{
	bson_t sel = BSON_INITIALIZER, upd = BSON_INITIALIZER, sample = BSON_INITIALIZER;
	bool skip = false;
	int rc;

	b->mark = false;
	migrate_buf_printf(out,
			   "// %s: copied in _id order, in batches (bulk inserts), into the shadow collection "
			   "\"_migrate_rw_<step>\" with the same indexes; each document matching\n",
			   b->what);
	migrate__mongo_append_json(out, &b->select);
	migrate_buf_append(out, "\n");
	migrate__mongo_render_keep(b, out);
	if (bson_count_keys(&b->fields) > 1) {
		migrate_buf_append(out, "// rewritten from its fields ");
		migrate__mongo_append_json(out, &b->fields);
		migrate_buf_append(out, " as, for example:\n");
	} else {
		migrate_buf_append(out, "// rewritten as:\n");
	}
	BSON_APPEND_UTF8(&sample, "_id", "<_id>");
	if (b->sample)
		b->sample(b, &sample);
	rc = b->per_doc(b, &sample, &sel, &upd, &skip, err);
	if (rc == 0) {
		migrate__mongo_append_json(out, &upd);
		migrate_buf_printf(out, "\n// then: drop \"%s\", renameCollection the shadow to \"%s\"\n", b->table,
				   b->table);
	}
	bson_destroy(&sel);
	bson_destroy(&upd);
	bson_destroy(&sample);
	return rc;
}
