/*
 * Step documents: the shape every op must have. Validation here is
 * driver-independent; a driver then refuses what it cannot express. Every
 * error names the place: "<version, step>: <field path>: <problem>".
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

typedef migrate__vctx vctx;

static int fail(vctx *c, const char *path, const char *problem, const char *detail)
{
	/* A plan file's place is a JSON path ("versions[3].steps[2]"): continue it; "" is a version file's top. */
	size_t n = strlen(c->where);
	const char *sep = n == 0 ? "" : c->where[n - 1] == ']' ? "." : ": ";

	return migrate__err(c->err, MIGRATE_DOMAIN_PLAN, MIGRATE_EPLAN, "%s%s%s: %s%s%s%s", c->where, sep, path,
			    problem, detail ? " \"" : "", detail ? detail : "", detail ? "\"" : "");
}

/* `out` may be `prefix` itself (callers extend a path in place): format into a copy first. */
/* out = prefix + sep + key, truncated to fit; `out` may be `prefix`. */
static void concat(char *out, size_t size, const char *prefix, const char *sep, const char *key)
{
	char tmp[512];
	size_t n = 0, len;
	const char *parts[3];
	int i;

	parts[0] = prefix ? prefix : "";
	parts[1] = prefix && *prefix ? sep : "";
	parts[2] = key;
	for (i = 0; i < 3; i++) {
		len = strlen(parts[i]);
		if (n + len >= sizeof tmp)
			len = sizeof tmp - n - 1;
		memcpy(tmp + n, parts[i], len);
		n += len;
	}
	tmp[n] = '\0';
	if (n >= size)
		n = size - 1;
	memcpy(out, tmp, n);
	out[n] = '\0';
}

/* "<what>: it <why>", e.g. "invalid identifier: it is longer than 63 bytes". */
static int fail_why(vctx *c, const char *path, const char *what, const char *why)
{
	char problem[128];

	snprintf(problem, sizeof problem, "%s: it %s", what, why);
	return fail(c, path, problem, NULL);
}

static void join(char *out, size_t size, const char *prefix, const char *key)
{
	concat(out, size, prefix, ".", key);
}

/* "key[i]" into `out` (the key cut short if need be), without printf: every element of every step names its place. */
static void indexed(char *out, size_t size, const char *key, int i)
{
	char digits[12], *d = digits + sizeof digits;
	unsigned u = (unsigned)i;
	size_t k, n;

	*--d = '\0';
	*--d = ']';
	do {
		*--d = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	n = (size_t)(digits + sizeof digits - d); /* with the NUL */
	for (k = 0; key[k] && k + 1 + n < size; k++)
		out[k] = key[k];
	out[k] = '[';
	memcpy(out + k + 1, d, n);
}

static int check_keys(vctx *c, const bson_t *doc, const char *prefix, const char *const *allowed)
{
	bson_iter_t it;
	char path[256];
	size_t i;

	bson_iter_init(&it, doc);
	while (bson_iter_next(&it)) {
		for (i = 0; allowed[i]; i++)
			if (migrate__streq(allowed[i], bson_iter_key(&it)))
				break;
		/* Every step may silence lint rules (lint.c checks the field). */
		if (!allowed[i] && !(*prefix == '\0' && !strcmp(bson_iter_key(&it), "lint"))) {
			join(path, sizeof path, prefix, bson_iter_key(&it));
			return fail(c, path, "unknown field", NULL);
		}
	}
	return 0;
}

/* An identifier at `key`: required or optional. */
static int check_ident_iter(vctx *c, const bson_iter_t *it, const char *path)
{
	const char *s, *why;
	uint32_t len;

	if (!BSON_ITER_HOLDS_UTF8(it))
		return fail(c, path, "must be a string", NULL);
	s = bson_iter_utf8(it, &len);
	if (!migrate__ident_ok(s, len, &why))
		return fail_why(c, path, "invalid identifier", why);
	return 0;
}

static int check_ident(vctx *c, const bson_t *doc, const char *prefix, const char *key, bool required)
{
	bson_iter_t it;
	char path[256];

	/* The path is made only to be named: validation looks up far more fields than it refuses. */
	if (!migrate__doc_find(&it, doc, key)) {
		if (!required)
			return 0;
		join(path, sizeof path, prefix, key);
		return fail(c, path, "is required", NULL);
	}
	if (BSON_ITER_HOLDS_UTF8(&it)) {
		const char *why;
		uint32_t len;
		const char *v = bson_iter_utf8(&it, &len);
		if (migrate__ident_ok(v, len, &why))
			return 0;
	}
	join(path, sizeof path, prefix, key);
	return check_ident_iter(c, &it, path);
}

static int check_string(vctx *c, const bson_t *doc, const char *prefix, const char *key, bool required)
{
	bson_iter_t it;
	char path[256];
	uint32_t len = 0;
	const char *problem;

	if (!migrate__doc_find(&it, doc, key)) {
		if (!required)
			return 0;
		problem = "is required";
	} else if (!BSON_ITER_HOLDS_UTF8(&it)) {
		problem = "must be a string";
	} else if (bson_iter_utf8(&it, &len), len == 0) {
		problem = "must not be empty";
	} else {
		return 0;
	}
	join(path, sizeof path, prefix, key);
	return fail(c, path, problem, NULL);
}

static int check_bool(vctx *c, const bson_t *doc, const char *prefix, const char *key)
{
	bson_iter_t it;
	char path[256];

	if (!migrate__doc_find(&it, doc, key) || BSON_ITER_HOLDS_BOOL(&it))
		return 0;
	join(path, sizeof path, prefix, key);
	return fail(c, path, "must be true or false", NULL);
}

/* A sub-document (object, or array when `array`) at `key`. */
static int get_sub(vctx *c, const bson_t *doc, const char *prefix, const char *key, bool array, bool required,
		   bson_t *out, bool *found)
{
	bson_iter_t it;
	char path[256];
	const uint8_t *data;
	uint32_t len;

	*found = false;
	if (!migrate__doc_find(&it, doc, key)) {
		if (!required)
			return 0;
		join(path, sizeof path, prefix, key);
		return fail(c, path, "is required", NULL);
	}
	if (array ? !BSON_ITER_HOLDS_ARRAY(&it) : !BSON_ITER_HOLDS_DOCUMENT(&it)) {
		join(path, sizeof path, prefix, key);
		return fail(c, path, array ? "must be an array" : "must be an object", NULL);
	}
	if (array)
		bson_iter_array(&it, &len, &data);
	else
		bson_iter_document(&it, &len, &data);
	*found = bson_init_static(out, data, len);
	return 0;
}

static bool is_scalar(const bson_iter_t *it)
{
	switch (bson_iter_type(it)) {
	case BSON_TYPE_UTF8:
	case BSON_TYPE_INT32:
	case BSON_TYPE_INT64:
	case BSON_TYPE_DOUBLE:
	case BSON_TYPE_BOOL:
	case BSON_TYPE_NULL: return true;
	default: return false;
	}
}

static const char *const portable_types[] = {"text", "integer", "bigint",    "double", "boolean",
					     "uuid", "json",    "timestamp", "bytes",  NULL};

static int check_type(vctx *c, const bson_t *col, const char *path)
{
	bson_iter_t it;
	char p[256];
	size_t i;

	if (migrate__doc_find(&it, col, "type") && BSON_ITER_HOLDS_UTF8(&it)) {
		/* The common case, told before the field's path is made. */
		const char *t = bson_iter_utf8(&it, NULL);
		for (i = 0; portable_types[i]; i++)
			if (strcmp(t, portable_types[i]) == 0)
				return 0;
	}
	join(p, sizeof p, path, "type");
	if (!migrate__doc_find(&it, col, "type"))
		return fail(c, p, "is required", NULL);
	if (BSON_ITER_HOLDS_DOCUMENT(&it)) {
		bson_t sub;
		static const char *const keys[] = {"sql", NULL};
		migrate__doc_sub(col, "type", &sub);
		if (check_keys(c, &sub, p, keys) || check_string(c, &sub, p, "sql", true))
			return c->err ? c->err->code : MIGRATE_EPLAN;
		return 0;
	}
	if (!BSON_ITER_HOLDS_UTF8(&it))
		return fail(c, p, "must be a type name or {\"sql\": ...}", NULL);
	{
		const char *t = bson_iter_utf8(&it, NULL), *why;
		for (i = 0; portable_types[i]; i++)
			if (strcmp(t, portable_types[i]) == 0)
				return 0;
		if (strncmp(t, "enum:", 5) == 0) {
			if (!migrate__ident_ok(t + 5, strlen(t + 5), &why))
				return fail_why(c, p, "invalid enum name", why);
			return 0;
		}
		return fail(c, p, "unknown type", t);
	}
}

static int check_default(vctx *c, const bson_t *col, const char *path)
{
	bson_iter_t it;
	char p[256];

	if (!migrate__doc_find(&it, col, "default"))
		return 0;
	join(p, sizeof p, path, "default");
	if (BSON_ITER_HOLDS_UTF8(&it)) {
		const char *s = bson_iter_utf8(&it, NULL);
		if (strcmp(s, "now") == 0 || strcmp(s, "uuid") == 0)
			return 0;
		return fail(c, p, "must be \"now\", \"uuid\", {\"value\": v} or {\"sql\": expr}, not", s);
	}
	if (BSON_ITER_HOLDS_DOCUMENT(&it)) {
		bson_t sub;
		migrate__doc_sub(col, "default", &sub);
		if (bson_count_keys(&sub) == 1 && bson_has_field(&sub, "value"))
			return 0;
		if (bson_count_keys(&sub) == 1 && bson_has_field(&sub, "sql"))
			return check_string(c, &sub, p, "sql", true);
	}
	return fail(c, p, "must be \"now\", \"uuid\", {\"value\": v} or {\"sql\": expr}", NULL);
}

static int check_column(vctx *c, const bson_t *col, const char *path)
{
	static const char *const keys[] = {"name", "type", "default", "nullable", "unique", "references", NULL};
	static const char *const ref_keys[] = {"table", "column", "on_delete", NULL};
	static const char *const actions[] = {"cascade", "set null", "restrict", "no action", "set default", NULL};
	bson_t ref;
	bool found;
	char p[256];
	int rc;

	if ((rc = check_keys(c, col, path, keys)) || (rc = check_ident(c, col, path, "name", true)) ||
	    (rc = check_type(c, col, path)) || (rc = check_default(c, col, path)) ||
	    (rc = check_bool(c, col, path, "nullable")) || (rc = check_bool(c, col, path, "unique")))
		return rc;
	if ((rc = get_sub(c, col, path, "references", false, false, &ref, &found)) || !found)
		return rc;
	join(p, sizeof p, path, "references");
	if ((rc = check_keys(c, &ref, p, ref_keys)) || (rc = check_ident(c, &ref, p, "table", true)) ||
	    (rc = check_ident(c, &ref, p, "column", true)))
		return rc;
	if (migrate__doc_str(&ref, "on_delete")) {
		const char *a = migrate__doc_str(&ref, "on_delete");
		size_t i;
		for (i = 0; actions[i]; i++)
			if (strcmp(a, actions[i]) == 0)
				return 0;
		join(p, sizeof p, p, "on_delete");
		return fail(c, p, "unknown action", a);
	}
	if (bson_has_field(&ref, "on_delete")) {
		join(p, sizeof p, p, "on_delete");
		return fail(c, p, "must be a string", NULL);
	}
	return 0;
}

/* Filters: the MongoDB-style subset of docs/steps.md. */
static int check_filter(vctx *c, const bson_t *f, const char *path);

static int check_condition(vctx *c, const bson_iter_t *cond, const char *path)
{
	bson_t ops;
	bson_iter_t it;
	char p[256];
	const uint8_t *data;
	uint32_t len;

	if (is_scalar(cond))
		return 0;
	if (!BSON_ITER_HOLDS_DOCUMENT(cond))
		return fail(c, path, "must be a value or an object of operators", NULL);
	bson_iter_document(cond, &len, &data);
	bson_init_static(&ops, data, len);
	if (bson_count_keys(&ops) == 0)
		return fail(c, path, "has no operator", NULL);
	bson_iter_init(&it, &ops);
	while (bson_iter_next(&it)) {
		const char *op = bson_iter_key(&it);
		join(p, sizeof p, path, op);
		if (!strcmp(op, "$eq") || !strcmp(op, "$ne") || !strcmp(op, "$lt") || !strcmp(op, "$lte") ||
		    !strcmp(op, "$gt") || !strcmp(op, "$gte")) {
			if (!is_scalar(&it))
				return fail(c, p, "must be a scalar value", NULL);
		} else if (!strcmp(op, "$in") || !strcmp(op, "$nin")) {
			bson_iter_t a;
			if (!BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &a))
				return fail(c, p, "must be an array", NULL);
			while (bson_iter_next(&a))
				if (!is_scalar(&a))
					return fail(c, p, "must hold scalar values", NULL);
		} else if (!strcmp(op, "$exists")) {
			if (!BSON_ITER_HOLDS_BOOL(&it))
				return fail(c, p, "must be true or false", NULL);
		} else {
			return fail(c, p, "unknown operator", op);
		}
	}
	return 0;
}

static int check_filter_list(vctx *c, const bson_iter_t *list, const char *path)
{
	bson_iter_t a;
	char p[256];
	int rc, i = 0;

	if (!BSON_ITER_HOLDS_ARRAY(list) || !bson_iter_recurse(list, &a))
		return fail(c, path, "must be an array of filters", NULL);
	while (bson_iter_next(&a)) {
		bson_t sub;
		const uint8_t *data;
		uint32_t len;
		char idx[24];
		snprintf(idx, sizeof idx, "[%d]", i++);
		concat(p, sizeof p, path, "", idx);
		if (!BSON_ITER_HOLDS_DOCUMENT(&a))
			return fail(c, p, "must be an object", NULL);
		bson_iter_document(&a, &len, &data);
		bson_init_static(&sub, data, len);
		if ((rc = check_filter(c, &sub, p)))
			return rc;
	}
	if (i == 0)
		return fail(c, path, "must not be empty", NULL);
	return 0;
}

static int check_filter(vctx *c, const bson_t *f, const char *path)
{
	bson_iter_t it;
	char p[256];
	int rc;

	bson_iter_init(&it, f);
	while (bson_iter_next(&it)) {
		const char *key = bson_iter_key(&it);
		join(p, sizeof p, path, key);
		if (!strcmp(key, "$and") || !strcmp(key, "$or")) {
			if ((rc = check_filter_list(c, &it, p)))
				return rc;
			continue;
		}
		if (key[0] == '$')
			return fail(c, p, "unknown operator", key);
		{
			const char *why;
			if (!migrate__ident_ok(key, strlen(key), &why))
				return fail_why(c, p, "invalid column name", why);
		}
		if ((rc = check_condition(c, &it, p)))
			return rc;
	}
	return 0;
}

static int check_where(vctx *c, const bson_t *doc, const char *prefix)
{
	bson_t f;
	bool found;
	char p[256];
	int rc;

	join(p, sizeof p, prefix, "where");
	if ((rc = get_sub(c, doc, prefix, "where", false, false, &f, &found)) || !found)
		return rc;
	return check_filter(c, &f, p);
}

static int check_batch(vctx *c, const bson_t *doc)
{
	bson_iter_t it;

	if (!migrate__doc_find(&it, doc, "batch_size"))
		return 0;
	if ((BSON_ITER_HOLDS_INT32(&it) || BSON_ITER_HOLDS_INT64(&it)) && bson_iter_as_int64(&it) >= 0 &&
	    bson_iter_as_int64(&it) <= 100000000)
		return 0;
	return fail(c, "batch_size", "must be an integer from 0 to 100000000", NULL);
}

static int check_expr(vctx *c, const bson_t *e, const char *path)
{
	static const char *const count_keys[] = {"table", "match", "where", NULL};
	bson_iter_t it;
	char p[256];
	int rc;

	if (bson_count_keys(e) != 1 || !bson_iter_init(&it, e) || !bson_iter_next(&it))
		return fail(c, path,
			    "must be an object with exactly one of value, column, array_length, count, sql, mongo",
			    NULL);
	join(p, sizeof p, path, bson_iter_key(&it));
	if (!strcmp(bson_iter_key(&it), "value") || !strcmp(bson_iter_key(&it), "mongo"))
		return 0;
	if (!strcmp(bson_iter_key(&it), "column") || !strcmp(bson_iter_key(&it), "array_length"))
		return check_ident_iter(c, &it, p);
	if (!strcmp(bson_iter_key(&it), "sql"))
		return check_string(c, e, path, "sql", true);
	if (!strcmp(bson_iter_key(&it), "count")) {
		bson_t cnt, match;
		bool found;
		bson_iter_t m;
		if ((rc = get_sub(c, e, path, "count", false, true, &cnt, &found)) ||
		    (rc = check_keys(c, &cnt, p, count_keys)) || (rc = check_ident(c, &cnt, p, "table", true)) ||
		    (rc = check_where(c, &cnt, p)))
			return rc;
		if ((rc = get_sub(c, &cnt, p, "match", false, true, &match, &found)))
			return rc;
		join(p, sizeof p, p, "match");
		if (bson_count_keys(&match) == 0)
			return fail(c, p, "must not be empty", NULL);
		bson_iter_init(&m, &match);
		while (bson_iter_next(&m)) {
			char mp[300];
			const char *why, *k = bson_iter_key(&m);
			snprintf(mp, sizeof mp, "%s.%s", p, k);
			if (!migrate__ident_ok(k, strlen(k), &why))
				return fail_why(c, mp, "invalid column name", why);
			if ((rc = check_ident_iter(c, &m, mp)))
				return rc;
		}
		return 0;
	}
	return fail(c, p, "unknown expression", bson_iter_key(&it));
}

/* ---- one checker per op ---- */

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Is `name` among the n sorted names? */
static bool among(const char *const *sorted, size_t n, const char *name)
{
	return bsearch(&name, sorted, n, sizeof *sorted, cmp_names) != NULL;
}

/*
 * The table's column names, sorted, in *names (caller frees), once every
 * column is valid: duplicates and the primary key are then told by sorted
 * order, not by comparing each column with each other. NULL when a column
 * holds no name string, or memory is short: the caller compares pairwise.
 */
static const char **sorted_names(const bson_t *cols, size_t *n)
{
	bson_iter_t it;
	const char **names;
	size_t count = 0;

	*n = 0;
	bson_iter_init(&it, cols);
	while (bson_iter_next(&it))
		count++;
	if (!count || !(names = malloc(count * sizeof *names)))
		return NULL;
	bson_iter_init(&it, cols);
	while (bson_iter_next(&it)) {
		bson_t col;
		const uint8_t *data;
		uint32_t len;
		bson_iter_document(&it, &len, &data);
		if (!bson_init_static(&col, data, len) || !(names[*n] = migrate__doc_str(&col, "name"))) {
			free(names);
			return NULL;
		}
		++*n;
	}
	qsort(names, *n, sizeof *names, cmp_names);
	return names;
}

/*
 * The first of the table's first `limit` columns (all valid) that repeats
 * the name of an earlier one, refused at its place; 0 when none does. Pairs
 * are compared: only when a repeat is known to be there, or when a column
 * was refused and a repeat before it is to be named first, as it always was.
 */
static int first_repeat(vctx *c, const bson_t *cols, int limit)
{
	bson_iter_t it, o;
	char p[64];
	int n;

	bson_iter_init(&it, cols);
	for (n = 0; n < limit && bson_iter_next(&it); n++) {
		bson_t col;
		const uint8_t *data;
		uint32_t len;
		bson_iter_document(&it, &len, &data);
		bson_init_static(&col, data, len);
		bson_iter_init(&o, cols);
		while (bson_iter_next(&o) && strcmp(bson_iter_key(&o), bson_iter_key(&it)) != 0) {
			bson_t other;
			bson_iter_document(&o, &len, &data);
			bson_init_static(&other, data, len);
			if (!strcmp(migrate__doc_str(&other, "name"), migrate__doc_str(&col, "name"))) {
				snprintf(p, sizeof p, "columns[%d]", n);
				return fail(c, p, "duplicate column", migrate__doc_str(&col, "name"));
			}
		}
	}
	return 0;
}

/* The column an entry of a list names: the entry itself, or (with `field`) that field of it. */
static const char *entry_name(const bson_iter_t *at, const char *field)
{
	bson_t doc;
	const uint8_t *data;
	uint32_t len;

	if (!field)
		return BSON_ITER_HOLDS_UTF8(at) ? bson_iter_utf8(at, NULL) : NULL;
	if (!BSON_ITER_HOLDS_DOCUMENT(at))
		return NULL;
	bson_iter_document(at, &len, &data);
	if (!bson_init_static(&doc, data, len))
		return NULL;
	return migrate__doc_str(&doc, field);
}

/*
 * A column named twice in a list (a primary key, an index's keys): `at` is
 * the entry at `p` of `list`. The servers refuse it only when the step
 * runs, MongoDB after the version's earlier steps (a collection before its
 * key index).
 */
static int check_repeat(vctx *c, const bson_t *list, const bson_iter_t *at, const char *field, const char *p)
{
	const char *name = entry_name(at, field), *other;
	char where[80];
	bson_iter_t o;

	if (!name || !bson_iter_init(&o, list))
		return 0;
	while (bson_iter_next(&o) && strcmp(bson_iter_key(&o), bson_iter_key(at)) != 0)
		if ((other = entry_name(&o, field)) && !strcmp(other, name)) {
			if (field)
				join(where, sizeof where, p, field);
			return fail(c, field ? where : p, "duplicate column", name);
		}
	return 0;
}

int migrate__validate_create_table(vctx *c, const bson_t *d)
{
	bson_t cols, pk;
	bson_iter_t it, pi;
	bool found, distinct = false;
	char p[64];
	int rc, n = 0;
	const char **names;
	size_t nnames = 0, k;

	if ((rc = check_ident(c, d, "", "table", true)) || (rc = check_bool(c, d, "", "validate")) ||
	    (rc = get_sub(c, d, "", "columns", true, true, &cols, &found)))
		return rc;
	bson_iter_init(&it, &cols);
	while (bson_iter_next(&it)) {
		bson_t col;
		const uint8_t *data;
		uint32_t len;
		indexed(p, sizeof p, "columns", n++);
		if (!BSON_ITER_HOLDS_DOCUMENT(&it))
			return (rc = first_repeat(c, &cols, n - 1)) ? rc : fail(c, p, "must be an object", NULL);
		bson_iter_document(&it, &len, &data);
		bson_init_static(&col, data, len);
		if ((rc = check_column(c, &col, p))) {
			/* A repeat before this column is named first, as the order of the columns has it. */
			int earlier = first_repeat(c, &cols, n - 1);
			return earlier ? earlier : rc;
		}
	}
	if (n == 0)
		return fail(c, "columns", "must not be empty", NULL);
	/* Column names are unique within the table: sorted, equal neighbours are a repeat (pairs, for a few). */
	names = n > 8 ? sorted_names(&cols, &nnames) : NULL;
	for (k = 1, distinct = names != NULL; distinct && k < nnames; k++)
		distinct = strcmp(names[k - 1], names[k]) != 0;
	if (!distinct && (rc = first_repeat(c, &cols, n))) {
		free(names);
		return rc;
	}
	if ((rc = get_sub(c, d, "", "primary_key", true, false, &pk, &found)) || !found) {
		free(names);
		return rc;
	}
	n = 0;
	bson_iter_init(&pi, &pk);
	while (bson_iter_next(&pi)) {
		bson_iter_t o;
		bool known = false;
		indexed(p, sizeof p, "primary_key", n++);
		if ((rc = check_ident_iter(c, &pi, p)) || (rc = check_repeat(c, &pk, &pi, NULL, p))) {
			free(names);
			return rc;
		}
		if (names) {
			known = among(names, nnames, bson_iter_utf8(&pi, NULL));
		} else {
			bson_iter_init(&o, &cols);
			while (!known && bson_iter_next(&o)) {
				bson_t col;
				const uint8_t *data;
				uint32_t len;
				bson_iter_document(&o, &len, &data);
				bson_init_static(&col, data, len);
				known = !strcmp(migrate__doc_str(&col, "name"), bson_iter_utf8(&pi, NULL));
			}
		}
		if (!known) {
			free(names);
			return fail(c, p, "is not a column of the table:", bson_iter_utf8(&pi, NULL));
		}
	}
	free(names);
	if (n == 0)
		return fail(c, "primary_key", "must not be empty", NULL);
	return 0;
}

static int check_keep(vctx *c, const bson_t *d);

/* A drop_table that keeps renames the table to the kept name (migrate__drop_kept_as_rename). */
int migrate__validate_drop_table(vctx *c, const bson_t *d)
{
	int rc;

	if ((rc = check_ident(c, d, "", "table", true)))
		return rc;
	return check_keep(c, d);
}

int migrate__validate_from_to(vctx *c, const bson_t *d)
{
	int rc;

	if ((rc = check_ident(c, d, "", "from", true)) || (rc = check_ident(c, d, "", "to", true)))
		return rc;
	if (!strcmp(migrate__doc_str(d, "from"), migrate__doc_str(d, "to")))
		return fail(c, "to", "is the same as from", NULL);
	return 0;
}

int migrate__validate_rename_column(vctx *c, const bson_t *d)
{
	int rc;

	if ((rc = check_ident(c, d, "", "table", true)))
		return rc;
	return migrate__validate_from_to(c, d);
}

int migrate__validate_add_column(vctx *c, const bson_t *d)
{
	bson_t col;
	bool found;
	int rc;

	if ((rc = check_ident(c, d, "", "table", true)) ||
	    (rc = get_sub(c, d, "", "column", false, true, &col, &found)))
		return rc;
	return check_column(c, &col, "column");
}

/*
 * A drop_column that keeps its values carries the column's definition, so
 * that its down can add the column back before it sets them; one NOT NULL
 * without a default could not be added to a table with rows.
 */
int migrate__validate_drop_column(vctx *c, const bson_t *d)
{
	bson_t def;
	bool found, nullable = true;
	bson_iter_t it;
	int rc;

	if ((rc = check_ident(c, d, "", "table", true)) || (rc = check_ident(c, d, "", "column", true)) ||
	    (rc = check_keep(c, d)) ||
	    (rc = get_sub(c, d, "", "definition", false, bson_has_field(d, "keep"), &def, &found)) || !found)
		return rc;
	if (!bson_has_field(d, "keep"))
		return fail(c, "definition", "goes with keep: it is what the down adds back before the kept values",
			    NULL);
	if ((rc = check_column(c, &def, "definition")))
		return rc;
	if (strcmp(migrate__doc_str(&def, "name"), migrate__doc_str(d, "column")) != 0)
		return fail(c, "definition.name", "must be the dropped column's name", migrate__doc_str(&def, "name"));
	if (migrate__doc_find(&it, &def, "nullable"))
		nullable = bson_iter_as_bool(&it);
	if (!nullable && !bson_has_field(&def, "default"))
		return fail(c, "definition",
			    "is NOT NULL without a default: it could not be added back to a table with rows (give "
			    "it a default)",
			    NULL);
	return 0;
}

int migrate__validate_create_index(vctx *c, const bson_t *d)
{
	static const char *const key_keys[] = {"column", "order", NULL};
	bson_t keys;
	bson_iter_t it;
	bool found;
	char p[64];
	int rc, n = 0;

	if ((rc = check_ident(c, d, "", "table", true)) || (rc = check_ident(c, d, "", "name", true)) ||
	    (rc = check_bool(c, d, "", "unique")) || (rc = check_bool(c, d, "", "online")) ||
	    (rc = check_where(c, d, "")) || (rc = get_sub(c, d, "", "keys", true, true, &keys, &found)))
		return rc;
	bson_iter_init(&it, &keys);
	while (bson_iter_next(&it)) {
		bson_t k;
		const uint8_t *data;
		uint32_t len;
		const char *order;
		indexed(p, sizeof p, "keys", n++);
		if (!BSON_ITER_HOLDS_DOCUMENT(&it))
			return fail(c, p, "must be an object {\"column\": ..., \"order\": \"asc\"|\"desc\"}", NULL);
		bson_iter_document(&it, &len, &data);
		bson_init_static(&k, data, len);
		if ((rc = check_keys(c, &k, p, key_keys)) || (rc = check_ident(c, &k, p, "column", true)) ||
		    (rc = check_repeat(c, &keys, &it, "column", p)))
			return rc;
		order = migrate__doc_str(&k, "order");
		if (bson_has_field(&k, "order") && (!order || (strcmp(order, "asc") && strcmp(order, "desc")))) {
			join(p, sizeof p, p, "order");
			return fail(c, p, "must be \"asc\" or \"desc\"", NULL);
		}
	}
	if (n == 0)
		return fail(c, "keys", "must not be empty", NULL);
	return 0;
}

int migrate__validate_drop_index(vctx *c, const bson_t *d)
{
	int rc;

	if ((rc = check_ident(c, d, "", "table", true)))
		return rc;
	return check_ident(c, d, "", "name", true);
}

int migrate__validate_create_enum(vctx *c, const bson_t *d)
{
	bson_t vals;
	bson_iter_t it, o;
	bool found;
	char p[64];
	int rc, n = 0;

	if ((rc = check_ident(c, d, "", "name", true)) || (rc = get_sub(c, d, "", "values", true, true, &vals, &found)))
		return rc;
	bson_iter_init(&it, &vals);
	while (bson_iter_next(&it)) {
		const char *why;
		uint32_t len;
		const char *s;
		indexed(p, sizeof p, "values", n++);
		if (!BSON_ITER_HOLDS_UTF8(&it))
			return fail(c, p, "must be a string", NULL);
		s = bson_iter_utf8(&it, &len);
		if (!migrate__ident_ok(s, len, &why))
			return fail_why(c, p, "invalid enum value", why);
		bson_iter_init(&o, &vals);
		while (bson_iter_next(&o) && strcmp(bson_iter_key(&o), bson_iter_key(&it)) != 0)
			if (BSON_ITER_HOLDS_UTF8(&o) && !strcmp(bson_iter_utf8(&o, NULL), s))
				return fail(c, p, "duplicate value", s);
	}
	if (n == 0)
		return fail(c, "values", "must not be empty", NULL);
	return 0;
}

int migrate__validate_drop_enum(vctx *c, const bson_t *d)
{
	return check_ident(c, d, "", "name", true);
}

/*
 * "keep": the table (collection) that saves the old values of the columns
 * the step writes, so that its down restores them exactly. Another name
 * than the step's table.
 */
static int check_keep(vctx *c, const bson_t *d)
{
	const char *keep = migrate__doc_str(d, "keep"), *table = migrate__doc_str(d, "table");
	int rc;

	bson_t set;

	if ((rc = check_ident(c, d, "", "keep", false)) || !keep)
		return rc;
	/* SQLite compares names without case: "JOBS" is the table jobs. */
	if (table && !strcasecmp(keep, table))
		return fail(c, "keep", "must name another table than the step's", NULL);
	if (bson_has_field(d, "down"))
		return fail(c, "keep",
			    "goes without down: the down of a step that keeps gives back what it kept (a restore, or "
			    "for a drop_table the rename back)",
			    NULL);
	if (migrate__doc_sub(d, "set", &set) && bson_count_keys(&set) > MIGRATE__KEEP_MAX)
		return fail(c, "keep", "keeps at most 64 columns: split the backfill", NULL);
	return 0;
}

int migrate__validate_restore(vctx *c, const bson_t *d)
{
	bson_t cols, def;
	bson_iter_t it;
	bool found;
	char p[64];
	int rc, i = 0;

	if ((rc = check_ident(c, d, "", "table", true)) || (rc = check_ident(c, d, "", "from", true)) ||
	    (rc = get_sub(c, d, "", "columns", true, true, &cols, &found)))
		return rc;
	if (!strcmp(migrate__doc_str(d, "from"), migrate__doc_str(d, "table")))
		return fail(c, "from", "must name another table than the step's", NULL);
	if (bson_count_keys(&cols) == 0)
		return fail(c, "columns", "must not be empty", NULL);
	if (bson_count_keys(&cols) > MIGRATE__KEEP_MAX)
		return fail(c, "columns", "holds at most 64 names", NULL);
	bson_iter_init(&it, &cols);
	while (bson_iter_next(&it)) {
		indexed(p, sizeof p, "columns", i++);
		if ((rc = check_ident_iter(c, &it, p)))
			return rc;
	}
	/* The definition of a column to add back first (that of a drop_column's down). */
	if ((rc = get_sub(c, d, "", "definition", false, false, &def, &found)) || !found ||
	    (rc = check_column(c, &def, "definition")))
		return rc;
	bson_iter_init(&it, &cols);
	while (bson_iter_next(&it))
		if (!strcmp(bson_iter_utf8(&it, NULL), migrate__doc_str(&def, "name")))
			return 0;
	return fail(c, "definition.name", "must be one of columns", migrate__doc_str(&def, "name"));
}

int migrate__validate_map_values(vctx *c, const bson_t *d)
{
	bson_t map;
	bson_iter_t it;
	bool found;
	char p[300];
	int rc;

	if ((rc = check_ident(c, d, "", "table", true)) || (rc = check_ident(c, d, "", "column", true)) ||
	    (rc = check_where(c, d, "")) || (rc = check_batch(c, d)) || (rc = check_keep(c, d)) ||
	    (rc = get_sub(c, d, "", "map", false, true, &map, &found)))
		return rc;
	if (bson_count_keys(&map) == 0)
		return fail(c, "map", "must not be empty", NULL);
	bson_iter_init(&it, &map);
	while (bson_iter_next(&it)) {
		snprintf(p, sizeof p, "map.%s", bson_iter_key(&it));
		if (!is_scalar(&it))
			return fail(c, p, "must be a string, number, boolean or null", NULL);
	}
	return 0;
}

int migrate__validate_backfill(vctx *c, const bson_t *d)
{
	bson_t set;
	bson_iter_t it;
	bool found;
	char p[300];
	int rc;

	if ((rc = check_ident(c, d, "", "table", true)) || (rc = check_where(c, d, "")) || (rc = check_batch(c, d)) ||
	    (rc = check_keep(c, d)) || (rc = get_sub(c, d, "", "set", false, true, &set, &found)))
		return rc;
	if (bson_count_keys(&set) == 0)
		return fail(c, "set", "must not be empty", NULL);
	bson_iter_init(&it, &set);
	while (bson_iter_next(&it)) {
		bson_t e;
		const uint8_t *data;
		uint32_t len;
		const char *why, *k = bson_iter_key(&it);
		snprintf(p, sizeof p, "set.%s", k);
		if (!migrate__ident_ok(k, strlen(k), &why))
			return fail_why(c, p, "invalid column name", why);
		if (!BSON_ITER_HOLDS_DOCUMENT(&it))
			return fail(c, p, "must be an expression object", NULL);
		bson_iter_document(&it, &len, &data);
		bson_init_static(&e, data, len);
		if ((rc = check_expr(c, &e, p)))
			return rc;
	}
	return 0;
}

int migrate__validate_sql(vctx *c, const bson_t *d)
{
	int rc;

	if ((rc = check_string(c, d, "", "up", true)))
		return rc;
	return check_string(c, d, "", "down", false);
}

/* A command is one object or a non-empty array of objects. */
static int check_command(vctx *c, const bson_t *d, const char *key, bool required)
{
	bson_iter_t it, a;
	int n = 0;

	if (!migrate__doc_find(&it, d, key))
		return required ? fail(c, key, "is required", NULL) : 0;
	if (BSON_ITER_HOLDS_DOCUMENT(&it))
		return 0;
	if (!BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &a))
		return fail(c, key, "must be a command object or an array of them", NULL);
	while (bson_iter_next(&a)) {
		n++;
		if (!BSON_ITER_HOLDS_DOCUMENT(&a))
			return fail(c, key, "must hold only command objects", NULL);
	}
	return n ? 0 : fail(c, key, "must not be empty", NULL);
}

int migrate__validate_command(vctx *c, const bson_t *d)
{
	int rc;

	if ((rc = check_command(c, d, "up", true)))
		return rc;
	return check_command(c, d, "down", false);
}

static int check_expect_number(vctx *c, const bson_t *d)
{
	bson_iter_t it;
	bson_t cmp;

	if (!migrate__doc_find(&it, d, "expect"))
		return fail(c, "expect", "is required", NULL);
	if (BSON_ITER_HOLDS_INT32(&it) || BSON_ITER_HOLDS_INT64(&it))
		return 0;
	if (BSON_ITER_HOLDS_DOCUMENT(&it)) {
		migrate__doc_sub(d, "expect", &cmp);
		if (bson_count_keys(&cmp) == 1 && bson_iter_init(&it, &cmp) && bson_iter_next(&it) &&
		    (BSON_ITER_HOLDS_INT32(&it) || BSON_ITER_HOLDS_INT64(&it)) &&
		    (!strcmp(bson_iter_key(&it), "$eq") || !strcmp(bson_iter_key(&it), "$ne") ||
		     !strcmp(bson_iter_key(&it), "$lt") || !strcmp(bson_iter_key(&it), "$lte") ||
		     !strcmp(bson_iter_key(&it), "$gt") || !strcmp(bson_iter_key(&it), "$gte")))
			return 0;
	}
	return fail(c, "expect", "must be an integer or {\"$gte\": n} (one of $eq $ne $lt $lte $gt $gte)", NULL);
}

int migrate__validate_assert(vctx *c, const bson_t *d)
{
	static const char *const kinds[] = {"count", "unique", "no_match", "exists", "sql", "command", NULL};
	static const char *const count_keys[] = {"table", "where", NULL};
	static const char *const unique_keys[] = {"table", "columns", NULL};
	static const char *const exists_keys[] = {"table", "column", "index", NULL};
	const char *kind = NULL;
	bson_t sub;
	bool found;
	size_t i;
	int rc, n = 0;

	for (i = 0; kinds[i]; i++)
		if (bson_has_field(d, kinds[i])) {
			kind = kinds[i];
			n++;
		}
	if (n != 1)
		return fail(c, "assert", "needs exactly one of count, unique, no_match, exists, sql, command", NULL);
	if ((rc = check_string(c, d, "", "message", false)))
		return rc;
	if (!strcmp(kind, "sql")) {
		if ((rc = check_string(c, d, "", "sql", true)))
			return rc;
		return bson_has_field(d, "expect") ? 0 : fail(c, "expect", "is required", NULL);
	}
	if (!strcmp(kind, "command")) {
		if ((rc = get_sub(c, d, "", "command", false, true, &sub, &found)))
			return rc;
		return bson_has_field(d, "expect") ? get_sub(c, d, "", "expect", false, true, &sub, &found) : 0;
	}
	if ((rc = get_sub(c, d, "", kind, false, true, &sub, &found)) ||
	    (rc = check_ident(c, &sub, kind, "table", true)))
		return rc;
	if (!strcmp(kind, "count") || !strcmp(kind, "no_match")) {
		if ((rc = check_keys(c, &sub, kind, count_keys)) || (rc = check_where(c, &sub, kind)))
			return rc;
		if (!strcmp(kind, "count"))
			return check_expect_number(c, d);
		return bson_has_field(d, "expect") ? fail(c, "expect", "is not used by no_match", NULL) : 0;
	}
	if (!strcmp(kind, "exists")) {
		if ((rc = check_keys(c, &sub, kind, exists_keys)) ||
		    (rc = check_ident(c, &sub, kind, "column", false)) ||
		    (rc = check_ident(c, &sub, kind, "index", false)))
			return rc;
		if (bson_has_field(&sub, "column") && bson_has_field(&sub, "index"))
			return fail(c, "exists", "takes column or index, not both", NULL);
		return 0;
	}
	/* unique */
	{
		bson_t cols;
		bson_iter_t it;
		char p[64];
		if ((rc = check_keys(c, &sub, kind, unique_keys)) ||
		    (rc = get_sub(c, &sub, "unique", "columns", true, true, &cols, &found)))
			return rc;
		n = 0;
		bson_iter_init(&it, &cols);
		while (bson_iter_next(&it)) {
			indexed(p, sizeof p, "unique.columns", n++);
			if ((rc = check_ident_iter(c, &it, p)))
				return rc;
		}
		return n ? 0 : fail(c, "unique.columns", "must not be empty", NULL);
	}
}

int migrate__validate_custom(vctx *c, const bson_t *d)
{
	int rc;

	if ((rc = check_string(c, d, "", "name", true)))
		return rc;
	return check_string(c, d, "", "revision", true);
}

/* The place of element `n` of a step list `key` nested in c's step, for its own messages. */
static void nested_where(const vctx *c, const char *key, int n, char *where, size_t size)
{
	snprintf(where, size, "%s%s%s[%d]", c->where,
		 !c->where[0]                            ? ""
		 : c->where[strlen(c->where) - 1] == ']' ? "."
							 : ": ",
		 key, n);
}

/*
 * A list of step objects under `key`: each valid on its own, and per
 * `declared` either a down step (any op but custom, no down of its own) or
 * a declared schema step.
 */
static int check_step_list(vctx *c, const bson_t *d, const char *key, bool declared)
{
	bson_t list;
	bson_iter_t it;
	bool found;
	char where[512];
	int rc, n = 0;

	if ((rc = get_sub(c, d, "", key, true, false, &list, &found)) || !found)
		return rc;
	bson_iter_init(&it, &list);
	while (bson_iter_next(&it)) {
		bson_t sub;
		const uint8_t *data;
		uint32_t len;
		char p[32];
		migrate_op_t op;
		snprintf(p, sizeof p, "%s[%d]", key, n);
		if (!BSON_ITER_HOLDS_DOCUMENT(&it))
			return fail(c, p, "must be a step object", NULL);
		bson_iter_document(&it, &len, &data);
		bson_init_static(&sub, data, len);
		op = migrate__op_find(migrate__doc_str(&sub, "op"));
		if (!declared && op == MIGRATE_OP_CUSTOM)
			return fail(c, p, "a custom step cannot be a down step", NULL);
		if (declared && op != MIGRATE_OP_UNKNOWN && !migrate__op_is_schema(op))
			return fail(
				c, p,
				"declares only schema steps (create_table, drop_table, rename_table, add_column, "
				"drop_column, rename_column, create_index, drop_index, create_enum, drop_enum), not",
				migrate__ops[op].name);
		nested_where(c, key, n++, where, sizeof where);
		if ((rc = migrate__step_validate(&sub, where, c->err)))
			return rc;
		if (bson_has_field(&sub, "down"))
			return fail(c, p,
				    declared ? "a declared step has no down: it only says what the raw step made"
					     : "a down step cannot have a down of its own",
				    NULL);
		if (declared && bson_has_field(&sub, "keep"))
			return fail(c, p, "a declared step keeps nothing: it only says what the raw step made", NULL);
		if (!declared && bson_has_field(&sub, "declares"))
			return fail(c, p, "a down step declares nothing: drift detection replays up steps only", NULL);
	}
	return 0;
}

/*
 * No string anywhere in a step may hold a NUL: C strings, SQL text and
 * PostgreSQL values all end there, so such a value would change meaning.
 */
/*
 * A NUL in a string or key of `doc`, at any depth: with `c`, refused at its
 * path; without, only told (1), no path made.
 */
static int nul_walk(vctx *c, const bson_t *doc, const char *prefix)
{
	bson_iter_t it;
	char path[256];
	int rc;

	path[0] = '\0'; /* stays empty without c */
	if (!bson_iter_init(&it, doc))
		return 0;
	while (bson_iter_next(&it)) {
		if (c)
			join(path, sizeof path, prefix, bson_iter_key(&it));
		if (BSON_ITER_HOLDS_UTF8(&it)) {
			uint32_t len;
			const char *s = bson_iter_utf8(&it, &len);
			if (strlen(s) != len)
				return c ? fail(c, path, "contains a NUL character", NULL) : 1;
		} else if (BSON_ITER_HOLDS_DOCUMENT(&it) || BSON_ITER_HOLDS_ARRAY(&it)) {
			bson_t sub;
			const uint8_t *data;
			uint32_t len;
			if (BSON_ITER_HOLDS_DOCUMENT(&it))
				bson_iter_document(&it, &len, &data);
			else
				bson_iter_array(&it, &len, &data);
			if (bson_init_static(&sub, data, len) && (rc = nul_walk(c, &sub, path)))
				return rc;
		}
		if (strlen(bson_iter_key(&it)) != bson_iter_key_len(&it))
			return c ? fail(c, path, "a key contains a NUL character", NULL) : 1;
	}
	return 0;
}

/* Paths are made only once a NUL is known to be there: validation is on every plan's load. */
static int check_no_nul(vctx *c, const bson_t *doc, const char *prefix)
{
	return nul_walk(NULL, doc, prefix) ? nul_walk(c, doc, prefix) : 0;
}

static int step_validate(const bson_t *doc, const char *where, bool nul_free, migrate_error_t *err)
{
	vctx c = {where, err};
	bson_iter_t it;
	migrate_op_t op;
	int rc;

	if (!migrate__doc_find(&it, doc, "op"))
		return fail(&c, "op", "is required", NULL);
	if (!BSON_ITER_HOLDS_UTF8(&it))
		return fail(&c, "op", "must be a string", NULL);
	if ((op = migrate__op_find(bson_iter_utf8(&it, NULL))) == MIGRATE_OP_UNKNOWN)
		return fail(&c, "op", "unknown op", bson_iter_utf8(&it, NULL));
	if ((rc = check_keys(&c, doc, "", migrate__ops[op].keys)) || (rc = migrate__lint_validate(&c, doc)) ||
	    (rc = migrate__ops[op].validate(&c, doc)) || (!nul_free && (rc = check_no_nul(&c, doc, ""))))
		return rc;
	/* Raw steps may say which schema objects they make (docs/steps.md, "declares"). */
	if ((rc = check_step_list(&c, doc, "declares", true)))
		return rc;
	/* sql and command carry their down as a field of their own kind. */
	if (migrate__ops[op].flags & MIGRATE__OP_OWN_DOWN)
		return 0;
	return check_step_list(&c, doc, "down", false);
}

int migrate__step_validate(const bson_t *doc, const char *where, migrate_error_t *err)
{
	return step_validate(doc, where, false, err);
}

int migrate__step_validate_nul_free(const bson_t *doc, const char *where, migrate_error_t *err)
{
	return step_validate(doc, where, true, err);
}

void migrate__step_place(const migrate_step_t *step, char *out, size_t out_size)
{
	const migrate_version_t *v = step->version;

	if (v)
		snprintf(out, out_size, "version %llu (\"%s\"), step %zu (%s)", (unsigned long long)v->id,
			 v->name ? v->name : "", step->index + 1, migrate__ops[step->op].name);
	else
		snprintf(out, out_size, "step (%s)", migrate__ops[step->op].name);
}

/* A step, its document zeroed (libbson wants a bson_t on a 128-byte boundary). */
static migrate_step_t *step_alloc(void)
{
	size_t size = (sizeof(migrate_step_t) + 127) / 128 * 128;
	/* bson_t wants 128-byte alignment; the fault point as for every allocation. */
	migrate_step_t *s = migrate__fault_alloc() ? NULL : aligned_alloc(128, size);

	if (s)
		memset(s, 0, size);
	return s;
}

migrate_step_t *migrate__step_new(const bson_t *doc)
{
	migrate_step_t *s = step_alloc();

	if (!s)
		return NULL;
	bson_copy_to(doc, &s->doc);
	s->op = migrate__op_find(migrate__doc_str(doc, "op"));
	return s;
}

migrate_step_t *migrate__step_view(const bson_t *doc, migrate_plan_t *plan)
{
	migrate_step_t *s = migrate__plan_alloc(plan, (sizeof(migrate_step_t) + 127) / 128 * 128);

	if (!s)
		return NULL;
	s->pooled = true;
	/* Read-only, and bson_destroy() leaves the bytes to their owner. */
	bson_init_static(&s->doc, bson_get_data(doc), doc->len);
	s->op = migrate__op_find(migrate__doc_str(doc, "op"));
	return s;
}

void migrate__step_destroy(migrate_step_t *step)
{
	if (!step)
		return;
	bson_destroy(&step->doc);
	if (!step->pooled)
		free(step);
}

const char *migrate_step_op_name(const migrate_step_t *step)
{
	return step ? migrate_op_name(step->op) : NULL;
}

migrate_op_t migrate_step_op(const migrate_step_t *step)
{
	return step ? step->op : MIGRATE_OP_UNKNOWN;
}

const bson_t *migrate_step_document(const migrate_step_t *step)
{
	return step ? &step->doc : NULL;
}

char *migrate_step_to_json(const migrate_step_t *step)
{
	migrate_buf_t *s;
	char *out;

	if (!step)
		return NULL;
	s = migrate__buf_new(NULL);
	migrate__json_canonical(&step->doc, false, s);
	out = migrate__strdup(s->str);
	migrate__buf_free(s, true);
	return out;
}

const char *migrate__assert_kind(const bson_t *step, bson_t *arg)
{
	static const char *const kinds[] = {"count", "unique", "no_match", "exists", "sql", "command", NULL};
	int i;

	for (i = 0; kinds[i]; i++)
		if (bson_has_field(step, kinds[i])) {
			if (arg && !migrate__doc_sub(step, kinds[i], arg))
				bson_init(arg);
			return kinds[i];
		}
	return NULL;
}

/*
 * An assert's `expect`: an integer, or {"$op": integer} with one of $eq $ne
 * $lt $lte $gt $gte (validation guarantees the shape). `desc` receives the
 * expectation ("= 3", ">= 2") for the driver's message.
 */
bool migrate__expect_holds(const bson_t *step, int64_t n, char *desc, size_t size)
{
	static const char *const ops[][2] = {{"$eq", "="},   {"$ne", "!="}, {"$lt", "<"},
					     {"$lte", "<="}, {"$gt", ">"},  {"$gte", ">="}};
	bson_iter_t it, op;
	const char *key = "$eq";
	int64_t want;
	size_t i;

	snprintf(desc, size, "a valid expect");
	if (!migrate__doc_find(&it, step, "expect"))
		return false;
	if (BSON_ITER_HOLDS_DOCUMENT(&it)) {
		if (!bson_iter_recurse(&it, &op) || !bson_iter_next(&op))
			return false;
		key = bson_iter_key(&op);
		want = bson_iter_as_int64(&op);
	} else {
		want = bson_iter_as_int64(&it);
	}
	for (i = 0; i < sizeof ops / sizeof ops[0] && strcmp(key, ops[i][0]); i++)
		;
	if (i == sizeof ops / sizeof ops[0])
		return false;
	snprintf(desc, size, "%s %lld", ops[i][1], (long long)want);
	switch (i) {
	case 0: return n == want;
	case 1: return n != want;
	case 2: return n < want;
	case 3: return n <= want;
	case 4: return n > want;
	default: return n >= want;
	}
}
