/*
 * backfill on MongoDB: every portable expression ({value}, {column},
 * {array_length}, {count} from another collection) and raw {mongo}
 * aggregation expressions, in batches by _id (batch.c). Where the server
 * runs update pipelines over _id ranges, each batch is one update; else
 * (FerretDB) the client computes the values from the documents it read,
 * with the same results: a missing column copies as null, array_length of
 * a missing or null field is 0, counts come from one $group per batch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"

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
	int64_t longest; /* array_length by value: the longest array (-1: not read yet) */
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
	bson_iter_recurse(it, &sub);
	bson_iter_next(&sub);
	kind = bson_iter_key(&sub);
	x->arg = sub;
	if (!strcmp(kind, "value")) {
		char field[96];
		int rc;
		x->kind = EXPR_VALUE;
		snprintf(field, sizeof field, "set.%s.value", target);
		if ((rc = migrate__mongo_check_value(&sub, field, err)))
			return rc;
	} else if (!strcmp(kind, "column") || !strcmp(kind, "array_length")) {
		x->kind = kind[0] == 'c' ? EXPR_COLUMN : EXPR_ARRAY_LENGTH;
		x->src = BSON_ITER_HOLDS_UTF8(&sub) ? bson_iter_utf8(&sub, NULL) : NULL;
		return migrate__mongo_check_field(x->src, kind, err);
	} else if (!strcmp(kind, "mongo")) {
		x->kind = EXPR_MONGO;
	} else if (!strcmp(kind, "count")) {
		bson_t cdoc, match, where;
		bson_iter_t m;
		uint32_t len;
		const uint8_t *data;
		int rc;
		x->kind = EXPR_COUNT;
		bson_iter_document(&sub, &len, &data);
		bson_init_static(&cdoc, data, len);
		x->ctable = migrate__doc_str(&cdoc, "table");
		if ((rc = migrate__mongo_check_collection(x->ctable, "count.table", err)))
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
		if ((rc = migrate__mongo_check_field(x->their, "count.match", err)) ||
		    (rc = migrate__mongo_check_field(x->src, "count.match", err)))
			return rc;
		if (migrate__doc_sub(&cdoc, "where", &where))
			return migrate__mongo_filter(&where, &x->cwhere, err);
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
	migrate__doc_sub(step, "set", &set);
	bf->e = migrate__calloc(bson_count_keys(&set), sizeof(*bf->e));
	if (!bf->e)
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ENOMEM, "out of memory");
	bson_iter_init(&it, &set);
	while (rc == 0 && bson_iter_next(&it)) {
		const char *target = bson_iter_key(&it);
		expr_t *x = &bf->e[bf->n];
		if ((rc = migrate__mongo_check_field(target, "set", err)))
			break;
		/* Counted only once parse_expr has initialised it, so that backfill_free may destroy it. */
		rc = parse_expr(target, &it, x, err);
		bf->n++;
		if (rc == 0 && !strcmp(target, "_id"))
			rc = migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EUNSUPPORTED,
					  "backfill: set._id: _id cannot be set");
		snprintf(x->alias, sizeof(x->alias), "__migrate_e%zu", bf->n - 1);
	}
	return rc;
}

int migrate__mongo_check_backfill(mongo_conn_t *c, const bson_t *step, migrate_error_t *err)
{
	backfill_t bf;
	bson_t where;
	int rc;

	if ((rc = migrate__mongo_check_collection(migrate__doc_str(step, "table"), "table", err)) ||
	    (bson_has_field(step, "keep") &&
	     (rc = migrate__mongo_check_collection(migrate__doc_str(step, "keep"), "keep", err))))
		return rc;
	if (migrate__doc_sub(step, "where", &where) && (rc = migrate__mongo_check_filter(&where, err)))
		return rc;
	rc = parse_backfill(step, &bf, err);
	backfill_free(&bf);
	return rc;
}

/*
 * The aggregation expression of `x` for the server-side pipeline. Built
 * with bson_append_*, never BCON: BCON reads a key starting with '{', '}',
 * '[' or ']' as a marker, and the target is the plan's own name.
 */
static void append_server_expr(bson_t *set, const expr_t *x)
{
	bson_t e, args, cond, is_array, size;
	char path[80];

	if (x->src)
		snprintf(path, sizeof(path), "$%s", x->src);
	switch (x->kind) {
	case EXPR_VALUE:
		bson_append_document_begin(set, x->target, -1, &e);
		bson_append_iter(&e, "$literal", -1, &x->arg);
		bson_append_document_end(set, &e);
		break;
	case EXPR_COLUMN:
		bson_append_document_begin(set, x->target, -1, &e);
		bson_append_array_begin(&e, "$ifNull", -1, &args);
		BSON_APPEND_UTF8(&args, "0", path);
		BSON_APPEND_NULL(&args, "1");
		bson_append_array_end(&e, &args);
		bson_append_document_end(set, &e);
		break;
	case EXPR_ARRAY_LENGTH:
		bson_append_document_begin(set, x->target, -1, &e);
		bson_append_document_begin(&e, "$cond", -1, &cond);
		bson_append_document_begin(&cond, "if", -1, &is_array);
		BSON_APPEND_UTF8(&is_array, "$isArray", path);
		bson_append_document_end(&cond, &is_array);
		bson_append_document_begin(&cond, "then", -1, &size);
		BSON_APPEND_UTF8(&size, "$size", path);
		bson_append_document_end(&cond, &size);
		BSON_APPEND_INT32(&cond, "else", 0);
		bson_append_document_end(&e, &cond);
		bson_append_document_end(set, &e);
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
	if (b->mark) {
		bson_t lit;
		bson_append_document_begin(&set, MONGO_MARK_FIELD, -1, &lit);
		BSON_APPEND_UTF8(&lit, "$literal", b->mark_key);
		bson_append_document_end(&set, &lit);
	}
	bson_append_document_end(&stage, &set);
	bson_append_document_end(&pipeline, &stage);
	migrate__mongo_update_cmd(cmd, b->table, range, &pipeline, true);
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
	migrate__mongo_log_command("aggregate (count)", &pipeline);
	cur = mongoc_collection_aggregate(coll, MONGOC_QUERY_NONE, &pipeline, &opts, NULL);
	while (rc == 0 && mongoc_cursor_next(cur, &doc)) {
		bson_iter_t it;
		if (!bson_iter_init_find(&it, doc, "_id"))
			continue;
		if (x->nhits == cap) {
			count_hit_t *h = migrate__realloc(x->hits, (cap = cap ? cap * 2 : 64) * sizeof(*h));
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
		rc = migrate__mongo_cursor_error(cur, b->what, err);
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
	count_hit_t probe = {NULL, 0}, *hit;

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

	migrate__mongo_copy_id(sel, doc);
	bson_append_document_begin(upd, "$set", -1, &set);
	for (size_t i = 0; i < bf->n; i++)
		append_client_value(&set, &bf->e[i], doc);
	migrate__mongo_append_mark(b, &set);
	bson_append_document_end(upd, &set);
	return 0;
}

/* Render: a document holding every field the expressions read. */
static void backfill_sample(batch_t *b, bson_t *doc)
{
	backfill_t *bf = b->op;

	for (size_t i = 0; i < bf->n; i++)
		if (bf->e[i].src && !bson_has_field(doc, bf->e[i].src))
			BSON_APPEND_UTF8(doc, bf->e[i].src, "<value>");
}

/* Whether `name` is one of the fields the backfill sets. */
static bool is_target(const backfill_t *bf, const char *name)
{
	for (size_t i = 0; name && i < bf->n; i++)
		if (!strcmp(bf->e[i].target, name))
			return true;
	return false;
}

/*
 * A backfill whose values do not depend on what it writes gives the same
 * documents when a batch is redone. One that reads a field it sets (n = n +
 * 1 through a raw expression, a = b with b = a, a count over its own
 * collection) does not, and marks what it writes (batch.h).
 */
static bool idempotent(const batch_t *b, const backfill_t *bf)
{
	for (size_t i = 0; i < bf->n; i++) {
		const expr_t *x = &bf->e[i];
		if (x->kind == EXPR_MONGO)
			return false;
		if ((x->kind == EXPR_COLUMN || x->kind == EXPR_ARRAY_LENGTH) && is_target(bf, x->src))
			return false;
		if (x->kind == EXPR_COUNT && !strcmp(x->ctable, b->table))
			return false;
	}
	return true;
}

/* Whether a selected document's array `src` is longer than `k`. */
static int longer_than(batch_t *b, const char *src, int64_t k, bool *yes, migrate_error_t *err)
{
	bson_t q = BSON_INITIALIZER, and, is_array, type, at, exists, opts = BSON_INITIALIZER;
	mongoc_collection_t *coll;
	mongoc_cursor_t *cur;
	const bson_t *doc;
	char path[96];
	int rc;

	if ((rc = migrate__fault(MIGRATE__FAULT_STMT, "find (longest array)", err)))
		return rc;
	snprintf(path, sizeof(path), "%s.%lld", src, (long long)k);
	bson_append_array_begin(&q, "$and", -1, &and);
	BSON_APPEND_DOCUMENT(&and, "0", &b->select);
	bson_append_document_begin(&and, "1", -1, &is_array);
	bson_append_document_begin(&is_array, src, -1, &type);
	BSON_APPEND_UTF8(&type, "$type", "array");
	bson_append_document_end(&is_array, &type);
	bson_append_document_end(&and, &is_array);
	bson_append_document_begin(&and, "2", -1, &at);
	bson_append_document_begin(&at, path, -1, &exists);
	BSON_APPEND_BOOL(&exists, "$exists", true);
	bson_append_document_end(&at, &exists);
	bson_append_document_end(&and, &at);
	bson_append_array_end(&q, &and);
	BCON_APPEND(&opts, "limit", BCON_INT64(1), "projection", "{", "_id", BCON_INT32(1), "}");
	coll = mongoc_database_get_collection(b->c->db, b->table);
	migrate__mongo_log_command("find (longest array)", &q);
	cur = mongoc_collection_find_with_opts(coll, &q, &opts, NULL);
	*yes = mongoc_cursor_next(cur, &doc);
	rc = migrate__mongo_cursor_error(cur, b->what, err);
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(coll);
	bson_destroy(&q);
	bson_destroy(&opts);
	return rc;
}

/* The longest selected array: doubling, then halving, a few finds of one document each. */
static int longest_array(batch_t *b, const char *src, int64_t *out, migrate_error_t *err)
{
	int64_t lo = 0, hi = 1;
	bool yes;
	int rc;

	*out = 0;
	if ((rc = longer_than(b, src, 0, &yes, err)) || !yes)
		return rc;
	for (;;) {
		if ((rc = longer_than(b, src, hi, &yes, err)))
			return rc;
		if (!yes)
			break;
		lo = hi;
		hi *= 2;
	}
	/* Some array is longer than lo, none longer than hi. */
	while (hi - lo > 1) {
		int64_t mid = lo + (hi - lo) / 2;
		if ((rc = longer_than(b, src, mid, &yes, err)))
			return rc;
		*(yes ? &lo : &hi) = mid;
	}
	*out = hi;
	return 0;
}

/* A by-value statement number: the array_length expression (its place in set) and the statement of it. */
#define BY_VALUE_STRIDE ((int64_t)1 << 32)

/*
 * By value (batch.c), for a backfill of array_length and constant
 * expressions: for each array_length, statement 0 writes 0 where the field
 * is no array (missing, null, a scalar) and statement 1 + k writes k where
 * the array has k elements, up to the longest one; the constants go with
 * every statement. A document written matches only one statement of each
 * expression, which writes the same values again.
 */
static int backfill_value(batch_t *b, int64_t *part, bson_t *q, bson_t *u, bool *end, migrate_error_t *err)
{
	backfill_t *bf = b->op;
	bson_t and, match, cond, set;
	expr_t *len;
	int64_t j = *part / BY_VALUE_STRIDE, k;
	int rc;

	for (;;) {
		if ((*end = j >= (int64_t)bf->n))
			return 0;
		len = &bf->e[j];
		if (len->kind == EXPR_ARRAY_LENGTH) {
			if (len->longest < 0 && (rc = longest_array(b, len->src, &len->longest, err)))
				return rc;
			if (*part % BY_VALUE_STRIDE <= len->longest + 1)
				break;
		}
		*part = ++j * BY_VALUE_STRIDE;
	}
	k = *part % BY_VALUE_STRIDE - 1;
	bson_append_array_begin(q, "$and", -1, &and);
	BSON_APPEND_DOCUMENT(&and, "0", &b->select);
	bson_append_document_begin(&and, "1", -1, &match);
	bson_append_document_begin(&match, len->src, -1, &cond);
	if (k < 0) {
		bson_t type;
		bson_append_document_begin(&cond, "$not", -1, &type);
		BSON_APPEND_UTF8(&type, "$type", "array");
		bson_append_document_end(&cond, &type);
	} else {
		BSON_APPEND_INT64(&cond, "$size", k);
	}
	bson_append_document_end(&match, &cond);
	bson_append_document_end(&and, &match);
	bson_append_array_end(q, &and);
	bson_append_document_begin(u, "$set", -1, &set);
	for (size_t i = 0; i < bf->n; i++) {
		if (&bf->e[i] == len)
			BSON_APPEND_INT32(&set, len->target, (int32_t)(k < 0 ? 0 : k));
		else if (bf->e[i].kind == EXPR_VALUE)
			bson_append_value(&set, bf->e[i].target, -1, bson_iter_value((bson_iter_t *)&bf->e[i].arg));
	}
	bson_append_document_end(u, &set);
	return 0;
}

/* Whether the backfill is of array_length (one or more) and constant expressions alone. */
static bool by_length(const backfill_t *bf)
{
	bool any = false;

	for (size_t i = 0; i < bf->n; i++) {
		any |= bf->e[i].kind == EXPR_ARRAY_LENGTH;
		if (bf->e[i].kind != EXPR_ARRAY_LENGTH && bf->e[i].kind != EXPR_VALUE)
			return false;
	}
	return any;
}

static int setup_backfill(batch_t *b, backfill_t *bf, migrate_error_t *err)
{
	bson_t where;
	bool has_count = false, has_mongo = false;
	int rc;

	if ((rc = parse_backfill(b->step, bf, err)))
		return rc;
	if (migrate__doc_sub(b->step, "where", &where) && (rc = migrate__mongo_filter(&where, &b->select, err)))
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
	b->mark = !idempotent(b, bf);
	b->server = migrate__mongo_range_updates(b->c) && b->c->caps.pipeline_updates && !has_count;
	b->aggregate = !b->server && has_mongo;
	b->per_range = backfill_range;
	for (size_t i = 0; i < bf->n; i++)
		bf->e[i].longest = -1;
	if (by_length(bf))
		b->per_value = backfill_value;
	b->prepare = backfill_prepare;
	b->per_doc = backfill_doc;
	b->sample = backfill_sample;
	b->op = bf;
	return 0;
}

/* Runs (exec) or renders (out) the step; a render also says what each count expression asks per batch. */
static int backfill(mongo_conn_t *c, const bson_t *step, migrate_exec_t *exec, migrate_buf_t *out, migrate_error_t *err)
{
	batch_t b;
	backfill_t bf;
	int rc;

	migrate__mongo_batch_init(&b, c, step, "backfill");
	if ((rc = setup_backfill(&b, &bf, err)) == 0 && !out)
		rc = migrate__mongo_run_batches(&b, exec, err);
	else if (rc == 0) {
		rc = migrate__mongo_render_batch(&b, out, err);
		for (size_t i = 0; rc == 0 && i < bf.n; i++)
			if (bf.e[i].kind == EXPR_COUNT)
				migrate_buf_printf(out,
						   "// per batch, for %s: aggregate on \"%s\": $match {%s: {$in: "
						   "[the batch's %s]}}, $group by %s with $sum 1\n",
						   bf.e[i].target, bf.e[i].ctable, bf.e[i].their, bf.e[i].src,
						   bf.e[i].their);
	}
	backfill_free(&bf);
	migrate__mongo_batch_free(&b);
	return rc;
}

int migrate__mongo_backfill(mongo_conn_t *c, const bson_t *step, migrate_exec_t *exec, migrate_error_t *err)
{
	return backfill(c, step, exec, NULL, err);
}

int migrate__mongo_render_backfill(mongo_conn_t *c, const bson_t *step, migrate_buf_t *out, migrate_error_t *err)
{
	return backfill(c, step, NULL, out, err);
}
