/*
 * map_values on MongoDB: old values (compared as strings) replaced by new
 * ones, in batches by _id (batch.c). A value both mapped from and mapped
 * to is refused, so that a batch redone after a crash cannot map twice.
 */
#include <stdio.h>
#include <string.h>

#include "batch.h"

int migrate__mongo_check_map_values(const bson_t *step, migrate_error_t *err)
{
	bson_t map, where;
	bson_iter_t it;
	int rc;

	if ((rc = migrate__mongo_check_collection(migrate__doc_str(step, "table"), "table", err)) ||
	    (rc = migrate__mongo_check_field(migrate__doc_str(step, "column"), "column", err)) ||
	    (bson_has_field(step, "keep") &&
	     (rc = migrate__mongo_check_collection(migrate__doc_str(step, "keep"), "keep", err))))
		return rc;
	if (migrate__doc_sub(step, "where", &where) && (rc = migrate__mongo_check_filter(&where, err)))
		return rc;
	if (!migrate__doc_sub(step, "map", &map))
		return 0;
	bson_iter_init(&it, &map);
	while (bson_iter_next(&it)) {
		bson_iter_t old;
		/* bson_iter_init_find, not bson_has_field: that one reads "a.b" as a path. */
		if (BSON_ITER_HOLDS_UTF8(&it) && bson_iter_init_find(&old, &map, bson_iter_utf8(&it, NULL)))
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
		bson_t st, q, and, match, u;
		bson_uint32_to_string(i++, &k, key, sizeof(key));
		bson_append_document_begin(&arr, k, -1, &st);
		bson_append_document_begin(&st, "q", -1, &q);
		bson_append_array_begin(&q, "$and", -1, &and);
		BSON_APPEND_DOCUMENT(&and, "0", range);
		bson_append_document_begin(&and, "1", -1, &match);
		BSON_APPEND_UTF8(&match, m->field, bson_iter_key(&it));
		bson_append_document_end(&and, &match);
		bson_append_array_end(&q, &and);
		bson_append_document_end(&st, &q);
		bson_init(&u);
		migrate__mongo_set_value_doc(&u, "$set", m->field, bson_iter_value(&it));
		BSON_APPEND_DOCUMENT(&st, "u", &u);
		bson_destroy(&u);
		BSON_APPEND_BOOL(&st, "multi", true);
		bson_append_document_end(&arr, &st);
	}
	bson_append_array_end(cmd, &arr);
	return 0;
}

/* By value: statement i maps the i-th old value over the whole selection (every i is one). */
static int map_value(batch_t *b, int64_t *part, /* NOLINT(readability-non-const-parameter): per_value's type */
		     bson_t *q, bson_t *u, bool *end, migrate_error_t *err)
{
	map_values_t *m = b->op;
	bson_iter_t it;
	bson_t and, match;
	int64_t k;

	(void)err;
	bson_iter_init(&it, &m->map);
	for (k = 0; k <= *part; k++)
		if (!bson_iter_next(&it)) {
			*end = true;
			return 0;
		}
	*end = false;
	bson_append_array_begin(q, "$and", -1, &and);
	BSON_APPEND_DOCUMENT(&and, "0", &b->select);
	bson_append_document_begin(&and, "1", -1, &match);
	BSON_APPEND_UTF8(&match, m->field, bson_iter_key(&it));
	bson_append_document_end(&and, &match);
	bson_append_array_end(q, &and);
	migrate__mongo_set_value_doc(u, "$set", m->field, bson_iter_value(&it));
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
	migrate__mongo_copy_id(sel, doc);
	if (b->guard)
		BSON_APPEND_UTF8(sel, m->field, old);
	migrate__mongo_set_value_doc(upd, "$set", m->field, bson_iter_value(&it));
	return 0;
}

/* Render: a document holding the first old value. */
static void map_sample(batch_t *b, bson_t *doc)
{
	map_values_t *m = b->op;
	bson_iter_t it;

	bson_iter_init(&it, &m->map);
	if (bson_iter_next(&it))
		BSON_APPEND_UTF8(doc, m->field, bson_iter_key(&it));
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
		if ((rc = migrate__mongo_filter(&where, &lowered, err)) == 0 && !bson_empty(&lowered)) {
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
	BSON_APPEND_INT32(&b->fields, "_id", 1);
	BSON_APPEND_INT32(&b->fields, m->field, 1);
	b->server = migrate__mongo_range_updates(b->c);
	b->per_range = map_range;
	b->per_value = map_value;
	b->per_doc = map_doc;
	b->sample = map_sample;
	b->op = m;
	return rc;
}

/* Runs (exec) or renders (out) the step. */
static int map_values(mongo_conn_t *c, const bson_t *step, migrate_exec_t *exec, migrate_buf_t *out,
		      migrate_error_t *err)
{
	batch_t b;
	map_values_t m;
	int rc;

	migrate__mongo_batch_init(&b, c, step, "map_values");
	if ((rc = setup_map_values(&b, &m, err)) == 0)
		rc = out ? migrate__mongo_render_batch(&b, out, err) : migrate__mongo_run_batches(&b, exec, err);
	migrate__mongo_batch_free(&b);
	return rc;
}

int migrate__mongo_map_values(mongo_conn_t *c, const bson_t *step, migrate_exec_t *exec, migrate_error_t *err)
{
	return map_values(c, step, exec, NULL, err);
}

int migrate__mongo_render_map_values(mongo_conn_t *c, const bson_t *step, migrate_buf_t *out, migrate_error_t *err)
{
	return map_values(c, step, NULL, out, err);
}
