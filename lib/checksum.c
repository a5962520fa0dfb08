/*
 * Version checksums: SHA-256 over the canonical JSON of the step documents
 * and the transactional flag. Key order and whitespace of a plan file do
 * not reach the canonical form, so cosmetic edits keep the checksum.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* Is `key` of `doc` a bool equal to `value`? */
static bool is_bool(const bson_iter_t *it, bool value)
{
	return BSON_ITER_HOLDS_BOOL(it) && bson_iter_bool(it) == value;
}

/* A column without the fields that only restate a default. */
static void column_sans_defaults(const bson_t *col, bson_t *out)
{
	bson_iter_t it;

	bson_iter_init(&it, col);
	while (bson_iter_next(&it)) {
		const char *k = bson_iter_key(&it);
		if ((!strcmp(k, "nullable") && is_bool(&it, true)) || (!strcmp(k, "unique") && is_bool(&it, false)))
			continue;
		bson_append_iter(out, k, -1, &it);
	}
}

static void step_sans_defaults(const bson_t *step, bson_t *out);

/* Rebuilds an array, passing each document element through `fn`. */
static void map_array(const bson_iter_t *arr, bson_t *out, const char *key, void (*fn)(const bson_t *, bson_t *))
{
	bson_iter_t it;
	bson_t dst, sub, elem;
	const uint8_t *data;
	uint32_t len;
	char idx[16];
	const char *ik;
	uint32_t i = 0;

	bson_append_array_begin(out, key, -1, &dst);
	bson_iter_recurse(arr, &it);
	while (bson_iter_next(&it)) {
		bson_uint32_to_string(i++, &ik, idx, sizeof idx);
		if (!BSON_ITER_HOLDS_DOCUMENT(&it)) {
			bson_append_iter(&dst, ik, -1, &it);
			continue;
		}
		bson_iter_document(&it, &len, &data);
		bson_init_static(&sub, data, len);
		bson_append_document_begin(&dst, ik, -1, &elem);
		fn(&sub, &elem);
		bson_append_document_end(&dst, &elem);
	}
	bson_append_array_end(out, &dst);
}

static void key_sans_defaults(const bson_t *key, bson_t *out)
{
	bson_iter_t it;

	bson_iter_init(&it, key);
	while (bson_iter_next(&it))
		if (strcmp(bson_iter_key(&it), "order") || !BSON_ITER_HOLDS_UTF8(&it) ||
		    strcmp(bson_iter_utf8(&it, NULL), "asc"))
			bson_append_iter(out, NULL, 0, &it);
}

bool migrate__canonical_create_table(const bson_t *step, const bson_iter_t *field, bson_t *out)
{
	(void)step;
	if (!strcmp(bson_iter_key(field), "validate") && is_bool(field, false))
		return true; /* the default, left out */
	if (strcmp(bson_iter_key(field), "columns") != 0 || !BSON_ITER_HOLDS_ARRAY(field))
		return false;
	map_array(field, out, "columns", column_sans_defaults);
	return true;
}

bool migrate__canonical_add_column(const bson_t *step, const bson_iter_t *field, bson_t *out)
{
	bson_t col, dst;

	if (strcmp(bson_iter_key(field), "column") != 0 || !BSON_ITER_HOLDS_DOCUMENT(field))
		return false;
	migrate__doc_sub(step, "column", &col);
	bson_append_document_begin(out, "column", -1, &dst);
	column_sans_defaults(&col, &dst);
	bson_append_document_end(out, &dst);
	return true;
}

bool migrate__canonical_create_index(const bson_t *step, const bson_iter_t *field, bson_t *out)
{
	const char *k = bson_iter_key(field);

	(void)step;
	if ((!strcmp(k, "unique") || !strcmp(k, "online")) && is_bool(field, false))
		return true; /* the default, left out */
	if (strcmp(k, "keys") != 0 || !BSON_ITER_HOLDS_ARRAY(field))
		return false;
	map_array(field, out, "keys", key_sans_defaults);
	return true;
}

/*
 * The step as the checksum sees it: fields that restate a default
 * (nullable: true, unique: false, online: false, order: "asc") are left
 * out, so writing them or not is a cosmetic choice. So is a raw step's
 * "declares": it says what the step made and changes nothing it runs, so
 * an applied version may gain one. `spec` is the step's op.
 */
static void op_sans_defaults(const bson_t *step, const migrate__op_spec *spec, bson_t *out)
{
	bson_iter_t it;

	bson_iter_init(&it, step);
	while (bson_iter_next(&it)) {
		const char *k = bson_iter_key(&it);
		/* What a raw step declares, and which lint rules a step silences, are no part of what it does. */
		if ((spec->canonical && spec->canonical(step, &it, out)) || !strcmp(k, "declares") ||
		    !strcmp(k, "lint"))
			continue;
		if (!strcmp(k, "down") && BSON_ITER_HOLDS_ARRAY(&it))
			map_array(&it, out, k, step_sans_defaults);
		else
			bson_append_iter(out, k, -1, &it);
	}
}

static void step_sans_defaults(const bson_t *step, bson_t *out)
{
	op_sans_defaults(step, &migrate__ops[migrate__op_find(migrate__doc_str(step, "op"))], out);
}

/*
 * The same leaving-out as the canonical functions and op_sans_defaults
 * above, done while the canonical form is written instead of on a copy:
 * filters for the writer (json.c), one per op with a canonical function.
 */
static bool column_omit(const bson_iter_t *m)
{
	const char *k = bson_iter_key(m);

	return (migrate__streq(k, "nullable") && is_bool(m, true)) ||
	       (migrate__streq(k, "unique") && is_bool(m, false));
}

static bool key_omit(const bson_iter_t *m)
{
	return migrate__streq(bson_iter_key(m), "order") && BSON_ITER_HOLDS_UTF8(m) &&
	       migrate__streq(bson_iter_utf8(m, NULL), "asc");
}

static const migrate__json_filter_t column_filter = {column_omit, NULL};
static const migrate__json_filter_t key_filter = {key_omit, NULL};

/* What no op's form keeps: a raw step's declarations and the lint rules a step silences. */
static bool step_omit(const bson_iter_t *m)
{
	const char *k = bson_iter_key(m);

	return migrate__streq(k, "declares") || migrate__streq(k, "lint");
}

static bool create_table_omit(const bson_iter_t *m)
{
	return (migrate__streq(bson_iter_key(m), "validate") && is_bool(m, false)) || step_omit(m);
}

static const migrate__json_filter_t *create_table_inner(const bson_iter_t *m)
{
	return migrate__streq(bson_iter_key(m), "columns") && BSON_ITER_HOLDS_ARRAY(m) ? &column_filter : NULL;
}

static const migrate__json_filter_t *add_column_inner(const bson_iter_t *m)
{
	return migrate__streq(bson_iter_key(m), "column") && BSON_ITER_HOLDS_DOCUMENT(m) ? &column_filter : NULL;
}

static bool create_index_omit(const bson_iter_t *m)
{
	const char *k = bson_iter_key(m);

	return ((migrate__streq(k, "unique") || migrate__streq(k, "online")) && is_bool(m, false)) || step_omit(m);
}

static const migrate__json_filter_t *create_index_inner(const bson_iter_t *m)
{
	return migrate__streq(bson_iter_key(m), "keys") && BSON_ITER_HOLDS_ARRAY(m) ? &key_filter : NULL;
}

static const migrate__json_filter_t plain_filter = {step_omit, NULL};
static const migrate__json_filter_t create_table_filter = {create_table_omit, create_table_inner};
static const migrate__json_filter_t add_column_filter = {step_omit, add_column_inner};
static const migrate__json_filter_t create_index_filter = {create_index_omit, create_index_inner};

/* The writer's filter of a step of `spec`, or NULL where the copy is built: a
 * canonical function without a filter, or a step with its own down steps. */
static const migrate__json_filter_t *step_filter(const bson_t *step, const migrate__op_spec *spec)
{
	bson_iter_t it;

	if (migrate__doc_find(&it, step, "down") && BSON_ITER_HOLDS_ARRAY(&it))
		return NULL;
	if (!spec->canonical)
		return &plain_filter;
	if (spec->canonical == migrate__canonical_create_table)
		return &create_table_filter;
	if (spec->canonical == migrate__canonical_add_column)
		return &add_column_filter;
	if (spec->canonical == migrate__canonical_create_index)
		return &create_index_filter;
	return NULL;
}

/* A plan step: its op is known, looked up once when the step was made. */
void migrate__step_canonical(const migrate_step_t *step, bool copy, migrate_buf_t *canon)
{
	const migrate__op_spec *spec = &migrate__ops[step->op];
	const migrate__json_filter_t *f = copy ? NULL : step_filter(&step->doc, spec);
	bson_t plain = BSON_INITIALIZER;

	if (f) {
		migrate__json_canonical_filtered(&step->doc, spec->keep_order, f, canon);
		return;
	}
	op_sans_defaults(&step->doc, spec, &plain);
	migrate__json_canonical_keep(&plain, spec->keep_order, canon);
	bson_destroy(&plain);
}

enum {
	SUM_NONE,
	SUM_STORING,
	SUM_STORED
};

static void compute(const migrate_version_t *v, char out[65])
{
	migrate_buf_t text, *canon = &text;
	size_t j;

	/* Room for a version of a few small steps at once: one allocation, not one per doubling. */
	migrate_buf_init(canon);
	migrate__buf_reserve(canon, 480);
	migrate_buf_append(canon, v->transactional ? "{\"transactional\":true,\"steps\":["
						   : "{\"transactional\":false,\"steps\":[");

	for (j = 0; j < v->nsteps; j++) {
		if (j)
			migrate_buf_append_c(canon, ',');
		migrate__step_canonical(v->steps[j], false, canon);
	}
	migrate_buf_append(canon, "]");
	if (v->down) {
		bson_t wrapper = BSON_INITIALIZER, plain = BSON_INITIALIZER, list;
		BSON_APPEND_ARRAY(&wrapper, "down", v->down);
		step_sans_defaults(&wrapper, &plain);
		migrate__doc_sub(&plain, "down", &list);
		migrate_buf_append(canon, ",\"down\":");
		migrate__json_canonical(&list, true, canon);
		bson_destroy(&wrapper);
		bson_destroy(&plain);
	}
	migrate_buf_append(canon, "}");
	migrate__sha256_hex(canon->str, canon->len, out);
	migrate_buf_release(canon);
}

/*
 * Computed once and stored in the version: the first thread to finish
 * stores it, the others only use their own. The version is not const to
 * its owner; the stored checksum is no part of what the caller sees.
 */
int migrate__version_checksum(const migrate_version_t *v, char out[65], migrate_error_t *err)
{
	migrate_version_t *owned = (migrate_version_t *)v;
	int expected = SUM_NONE;

	(void)err;
	if (atomic_load_explicit(&owned->sum_state, memory_order_acquire) == SUM_STORED) {
		memcpy(out, v->sum, 65);
		return 0;
	}
	compute(v, out);
	if (atomic_compare_exchange_strong_explicit(&owned->sum_state, &expected, SUM_STORING, memory_order_acquire,
						    memory_order_relaxed)) {
		memcpy(owned->sum, out, 65);
		atomic_store_explicit(&owned->sum_state, SUM_STORED, memory_order_release);
	}
	return 0;
}

void migrate__version_changed(migrate_version_t *v)
{
	if (v)
		atomic_store_explicit(&v->sum_state, SUM_NONE, memory_order_release);
}

int migrate_version_checksum(const migrate_version_t *v, char *out, size_t out_size, migrate_error_t *err)
{
	char sum[65];
	int rc;

	if (!v || !out || out_size < 65)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL,
				    "migrate_version_checksum: needs a version and 65 bytes of output");
	if ((rc = migrate__version_checksum(v, sum, err)))
		return rc;
	memcpy(out, sum, 65);
	return 0;
}
