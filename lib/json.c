/*
 * JSON at the edges, BSON inside: parsing (one pass in json_read.c, libbson
 * for what it declines), accessors for
 * step fields, and the canonical serialisation that checksums are taken
 * over (sorted keys, no whitespace, integral doubles written as integers).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static uint32_t le32_at(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/*
 * bson_iter_init_find() by a walk over the raw bytes: libbson's iterator
 * checks each element it passes, and a step's validation looks up some
 * eighty fields, most of them absent. An element of a kind this walk does
 * not size, or bytes that do not add up, go to libbson's own find.
 */
bool migrate__doc_find(bson_iter_t *it, const bson_t *doc, const char *key)
{
	const uint8_t *d = bson_get_data(doc);
	uint32_t len = doc->len, off = 4;
	size_t klen = strlen(key);

	while (off + 1 < len && d[off] != 0) {
		const char *k = (const char *)d + off + 1;
		size_t kl = strnlen(k, len - off - 1);
		uint32_t v = off + 1 + (uint32_t)kl + 1;
		uint64_t size; /* 64 bits: a length near 2^32 plus its header must not wrap */
		if (v > len)
			break;
		if (kl == klen && memcmp(k, key, klen) == 0)
			return bson_iter_init_from_data_at_offset(it, d, len, off, (uint32_t)kl);
		switch (d[off]) {
		case BSON_TYPE_UNDEFINED:
		case BSON_TYPE_NULL:
		case BSON_TYPE_MAXKEY:
		case BSON_TYPE_MINKEY: size = 0; break;
		case BSON_TYPE_BOOL: size = 1; break;
		case BSON_TYPE_INT32: size = 4; break;
		case BSON_TYPE_DOUBLE:
		case BSON_TYPE_DATE_TIME:
		case BSON_TYPE_TIMESTAMP:
		case BSON_TYPE_INT64: size = 8; break;
		case BSON_TYPE_OID: size = 12; break;
		case BSON_TYPE_DECIMAL128: size = 16; break;
		case BSON_TYPE_UTF8:
		case BSON_TYPE_CODE:
		case BSON_TYPE_SYMBOL:
		case BSON_TYPE_DOCUMENT:
		case BSON_TYPE_ARRAY:
		case BSON_TYPE_CODEWSCOPE:
		case BSON_TYPE_BINARY:
			if (v + 4 > len)
				return bson_iter_init_find(it, doc, key);
			size = le32_at(d + v);
			if (d[off] == BSON_TYPE_UTF8 || d[off] == BSON_TYPE_CODE || d[off] == BSON_TYPE_SYMBOL)
				size += 4;
			else if (d[off] == BSON_TYPE_BINARY)
				size += 5;
			if (size < 5)
				return bson_iter_init_find(it, doc, key);
			break;
		default: return bson_iter_init_find(it, doc, key);
		}
		if (size > len - v)
			return bson_iter_init_find(it, doc, key);
		off = v + (uint32_t)size;
	}
	return false;
}

const char *migrate__doc_str(const bson_t *doc, const char *key)
{
	bson_iter_t it;

	if (doc && migrate__doc_find(&it, doc, key) && BSON_ITER_HOLDS_UTF8(&it))
		return bson_iter_utf8(&it, NULL);
	return NULL;
}

bool migrate__doc_bool(const bson_t *doc, const char *key, bool dflt)
{
	bson_iter_t it;

	if (doc && migrate__doc_find(&it, doc, key) && BSON_ITER_HOLDS_BOOL(&it))
		return bson_iter_bool(&it);
	return dflt;
}

int64_t migrate__doc_int(const bson_t *doc, const char *key, int64_t dflt)
{
	bson_iter_t it;

	if (!doc || !migrate__doc_find(&it, doc, key))
		return dflt;
	if (BSON_ITER_HOLDS_INT32(&it))
		return bson_iter_int32(&it);
	if (BSON_ITER_HOLDS_INT64(&it))
		return bson_iter_int64(&it);
	if (BSON_ITER_HOLDS_DOUBLE(&it) && floor(bson_iter_double(&it)) == bson_iter_double(&it))
		return (int64_t)bson_iter_double(&it);
	return dflt;
}

bool migrate__doc_sub(const bson_t *doc, const char *key, bson_t *out)
{
	bson_iter_t it;
	const uint8_t *data;
	uint32_t len;

	if (!doc || !migrate__doc_find(&it, doc, key))
		return false;
	if (BSON_ITER_HOLDS_DOCUMENT(&it))
		bson_iter_document(&it, &len, &data);
	else if (BSON_ITER_HOLDS_ARRAY(&it))
		bson_iter_array(&it, &len, &data);
	else
		return false;
	return bson_init_static(out, data, len);
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A key of `doc`'s own members given twice, or NULL. Small objects compare
 * pairs; large ones sort their keys (pairs again if that cannot allocate). */
static const char *repeated_member(const bson_t *doc)
{
	uint32_t n = bson_count_keys(doc), i = 0;
	const char *dup = NULL, **keys;
	bson_iter_t a, b;

	if (n > 32 && (keys = migrate__malloc(n * sizeof *keys)) != NULL) {
		if (bson_iter_init(&a, doc))
			while (i < n && bson_iter_next(&a))
				keys[i++] = bson_iter_key(&a);
		qsort(keys, i, sizeof *keys, cmp_keys);
		for (n = 1; !dup && n < i; n++)
			if (strcmp(keys[n - 1], keys[n]) == 0)
				dup = keys[n];
		free(keys);
		return dup;
	}
	if (!bson_iter_init(&a, doc))
		return NULL;
	while (bson_iter_next(&a)) {
		b = a;
		while (bson_iter_next(&b))
			if (strcmp(bson_iter_key(&a), bson_iter_key(&b)) == 0)
				return bson_iter_key(&a);
	}
	return NULL;
}

/* Finds a key repeated within one object, at any depth (an array's keys
 * are its indexes, never repeated). Linear in the size of the document
 * (n log n for an object's own members). */
static const char *duplicate_key(const bson_t *doc, bool is_array)
{
	bson_iter_t a;
	const char *dup = is_array ? NULL : repeated_member(doc);

	if (dup || !bson_iter_init(&a, doc))
		return dup;
	while (!dup && bson_iter_next(&a)) {
		if (BSON_ITER_HOLDS_DOCUMENT(&a) || BSON_ITER_HOLDS_ARRAY(&a)) {
			bson_t sub;
			const uint8_t *data;
			uint32_t len;
			bool arr = BSON_ITER_HOLDS_ARRAY(&a);
			if (arr)
				bson_iter_array(&a, &len, &data);
			else
				bson_iter_document(&a, &len, &data);
			if (bson_init_static(&sub, data, len))
				dup = duplicate_key(&sub, arr);
		}
	}
	return dup;
}

/*
 * What libbson's parser lets through once the syntax is checked
 * (migrate__json_syntax): integers beyond int64, some of which it wraps
 * silently (99999999999999999999). Returns where the first one starts, or
 * NULL. Strings are skipped.
 */
static const char *big_integer(const char *s)
{
	while (*s) {
		const char *start = s;
		if (*s == '"') {
			for (s++; *s && *s != '"'; s++)
				if (*s == '\\' && s[1])
					s++;
			if (*s)
				s++;
		} else if (*s == '-' || (*s >= '0' && *s <= '9')) {
			bool integral = true;
			for (s++; (*s >= '0' && *s <= '9') || (*s && strchr(".eE+-", *s)); s++)
				if (*s == '.' || *s == 'e' || *s == 'E')
					integral = false;
			if (integral) {
				errno = 0;
				(void)strtoll(start, NULL, 10);
				if (errno == ERANGE)
					return start;
			}
		} else {
			s++;
		}
	}
	return NULL;
}

/* Sets path[at..] to "[index]" (at = the container's own path length). */
static void path_index(char *path, size_t size, size_t at, int index)
{
	if (at < size)
		snprintf(path + at, size - at, "[%d]", index);
}

/* Sets path[at..] to ".key" (or "key" at the top), the key as written, escapes and all. */
static void path_key(char *path, size_t size, size_t at, const char *key, size_t len)
{
	if (at < size)
		snprintf(path + at, size - at, "%s%.*s", at ? "." : "", (int)len, key);
}

/*
 * The JSON path ("versions[2].id") of the value that starts at json[off],
 * for text the parser is still to read: a scan of brackets, commas and keys.
 */
static void json_path_at(const char *json, size_t off, char *path, size_t size)
{
	struct {
		char kind;
		int index;
		size_t base;
		bool want_key;
	} stack[64];
	int depth = 0;
	size_t i;

	path[0] = '\0';
	for (i = 0; i < off && json[i]; i++) {
		char c = json[i];
		if (c == '"') {
			size_t start = ++i;
			for (; json[i] && json[i] != '"'; i++)
				if (json[i] == '\\' && json[i + 1])
					i++;
			if (depth && depth <= 64 && stack[depth - 1].kind == '{' && stack[depth - 1].want_key) {
				path_key(path, size, stack[depth - 1].base, json + start, i - start);
				stack[depth - 1].want_key = false;
			}
			if (!json[i])
				break;
		} else if (c == '{' || c == '[') {
			if (depth < 64) {
				stack[depth].kind = c;
				stack[depth].index = 0;
				stack[depth].base = strlen(path);
				stack[depth].want_key = c == '{';
				if (c == '[')
					path_index(path, size, stack[depth].base, 0);
			}
			depth++;
		} else if ((c == '}' || c == ']') && depth > 0) {
			if (--depth < 64 && stack[depth].base < size)
				path[stack[depth].base] = '\0';
		} else if (c == ',' && depth && depth <= 64) {
			if (stack[depth - 1].kind == '[')
				path_index(path, size, stack[depth - 1].base, ++stack[depth - 1].index);
			else
				stack[depth - 1].want_key = true;
		}
	}
}

/* An integer beyond int64: said as such, at its JSON path. */
static int out_of_range(const char *json, const char *bad, migrate_error_t *err)
{
	char path[256];
	size_t n = strspn(bad, "-0123456789");

	json_path_at(json, (size_t)(bad - json), path, sizeof path);
	return migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EJSON, "%s%s%.*s%s is out of range (%s %s)", path,
			    path[0] ? ": " : "", (int)(n > 40 ? 40 : n), bad, n > 40 ? "..." : "",
			    bad[0] == '-' ? "the least whole number is" : "the greatest whole number is",
			    bad[0] == '-' ? "-9223372036854775808" : "9223372036854775807");
}

/*
 * Exactly one document: libbson's reader takes a stream of them, and
 * bson_init_from_json() silently ignores whatever follows the first.
 */
static bool parse_one(const char *text, size_t len, bson_t *out, bson_error_t *berr)
{
	bson_json_reader_t *reader = bson_json_data_reader_new(false, 1 << 14);
	bson_t extra = BSON_INITIALIZER;
	int r;

	bson_init(out);
	bson_json_data_reader_ingest(reader, (const uint8_t *)text, len);
	r = bson_json_reader_read(reader, out, berr);
	if (r == 1) {
		/* A second document (1), or broken text after the first (-1, berr set). */
		int next = bson_json_reader_read(reader, &extra, berr);
		if (next == 1)
			bson_set_error(berr, BSON_ERROR_JSON, 0, "text after the JSON value");
		if (next != 0)
			r = -1;
	} else if (r == 0) {
		bson_set_error(berr, BSON_ERROR_JSON, 0, "no JSON value");
	}
	bson_json_reader_destroy(reader);
	bson_destroy(&extra);
	if (r != 1)
		bson_destroy(out);
	return r == 1;
}

/*
 * libbson parses only objects at the top level, so the text is wrapped as
 * {"v": ...}; a wrapper holding anything but one key means the text was
 * not one JSON value.
 */
int migrate__json_parse(const char *json, bool array, bson_t *out, migrate_error_t *err)
{
	return migrate__json_parse_named(json, array, NULL, out, err);
}

static int parse_checked(const char *json, bool array, bson_t *out, migrate_error_t *err);

/* The checked path: each of its errors names the place. */
static int parse_named_checked(const char *json, bool array, const char *name, bson_t *out, migrate_error_t *err)
{
	size_t line, col;
	char msg[200];
	int rc;

	bson_init(out);
	if (!json)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL, "JSON text is NULL");
	if (json[strspn(json, " \t\r\n")] == '\0')
		rc = migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EJSON, "malformed JSON: the text is empty");
	else if (migrate__json_syntax(json, array ? '[' : '{', &line, &col, msg, sizeof msg) != 0)
		return name ? migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EJSON, "%s:%zu:%zu: %s", name, line, col,
					   msg)
			    : migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EJSON,
					   "malformed JSON at line %zu, column %zu: %s", line, col, msg);
	else
		rc = parse_checked(json, array, out, err);
	if (rc && name)
		migrate__err_prefix(err, "%s: ", name);
	return rc;
}

/*
 * Valid text is read in one pass (json_read.c); text that pass declines,
 * every error among it, goes through the checked path for its message.
 */
int migrate__json_parse_named(const char *json, bool array, const char *name, bson_t *out, migrate_error_t *err)
{
	if (json && migrate__json_read(json, array, out) == 0)
		return 0;
	return parse_named_checked(json, array, name, out, err);
}

int migrate__json_parse_owned(const char *json, bool array, const char *name, bson_t *out, uint8_t **owned,
			      bool *nul_free, migrate_error_t *err)
{
	size_t len;
	bool nul;

	*owned = NULL;
	*nul_free = false;
	if (json && migrate__json_read_raw(json, array, owned, &len, &nul) == 0) {
		if (bson_init_static(out, *owned, len)) {
			*nul_free = !nul;
			return 0;
		}
		free(*owned);
		*owned = NULL;
	}
	return parse_named_checked(json, array, name, out, err);
}

int migrate__json_parse_checked(const char *json, bool array, bson_t *out, migrate_error_t *err)
{
	return parse_named_checked(json, array, NULL, out, err);
}

/* Byte offset in `text` to "line L, column C" (1-based). */
void migrate__text_position(const char *text, size_t offset, char *out, size_t out_size)
{
	size_t i, line = 1, col = 1;

	for (i = 0; i < offset && text[i]; i++) {
		if (text[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	snprintf(out, out_size, "line %zu, column %zu", line, col);
}

/* Text of valid JSON syntax: to BSON, refusing what BSON cannot hold and what a plan must not have. */
static int parse_checked(const char *json, bool array, bson_t *out, migrate_error_t *err)
{
	migrate_buf_t *wrapped;
	bson_error_t berr;
	bson_t tmp;
	bson_iter_t it;
	const char *dup, *bad;
	int rc = 0;

	if ((bad = big_integer(json)) != NULL)
		return out_of_range(json, bad, err);
	wrapped = migrate__buf_new("{\"v\":");
	migrate_buf_append(wrapped, json);
	migrate_buf_append(wrapped, "\n}");
	if (!parse_one(wrapped->str, wrapped->len, &tmp, &berr)) {
		/* libbson reports a byte offset in the wrapped text: show a line and column of the caller's. */
		const char *pos = strstr(berr.message, "position ");
		size_t off = pos ? strtoul(pos + 9, NULL, 10) : wrapped->len;
		char where[64];
		char *cut = strstr(berr.message, ", position ");
		migrate__text_position(json, off > 5 ? off - 5 : 0, where, sizeof where);
		if (cut && strchr(cut, ':')) /* the offset is of the wrapped text: drop it */
			memmove(cut, strchr(cut, ':'), strlen(strchr(cut, ':')) + 1);
		rc = migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EJSON, "malformed JSON at %s: %s", where,
				  berr.message);
		goto cleanup;
	}
	if (bson_count_keys(&tmp) != 1 || !migrate__doc_find(&it, &tmp, "v")) {
		rc = migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EJSON, "malformed JSON: not a single value");
	} else if (array ? !BSON_ITER_HOLDS_ARRAY(&it) : !BSON_ITER_HOLDS_DOCUMENT(&it)) {
		rc = migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EJSON, "malformed JSON: expected an %s",
				  array ? "array" : "object");
	} else {
		bson_t sub;
		migrate__doc_sub(&tmp, "v", &sub);
		bson_destroy(out);
		bson_copy_to(&sub, out);
		dup = duplicate_key(out, array);
		if (dup)
			rc = migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EJSON,
					  "malformed JSON: duplicate key \"%s\"", dup);
	}
	bson_destroy(&tmp);
cleanup:
	migrate__buf_free(wrapped, true);
	return rc;
}

/* Runs of characters that need no escape go in whole: plans hash many strings. */
static void append_json_string(migrate_buf_t *out, const char *s, uint32_t len)
{
	uint32_t i, run = 0;

	migrate__buf_put_c(out, '"');
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != 0x7f && c != '"' && c != '\\')
			continue;
		migrate__buf_put(out, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"': migrate__buf_put(out, "\\\"", 2); break;
		case '\\': migrate__buf_put(out, "\\\\", 2); break;
		case '\n': migrate__buf_put(out, "\\n", 2); break;
		case '\r': migrate__buf_put(out, "\\r", 2); break;
		case '\t': migrate__buf_put(out, "\\t", 2); break;
		default: migrate_buf_printf(out, "\\u%04x", c);
		}
	}
	migrate__buf_put(out, s + run, len - run);
	migrate__buf_put_c(out, '"');
}

/* A whole number in decimal, without printf. */
static void append_int(migrate_buf_t *out, int64_t v)
{
	char digits[24], *p = digits + sizeof digits;
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	migrate__buf_put(out, p, (size_t)(digits + sizeof digits - p));
}

#define SORT_ON_STACK 64

static void append_double(migrate_buf_t *out, double d)
{
	if (isfinite(d) && floor(d) == d && fabs(d) < 9007199254740992.0)
		append_int(out, (int64_t)d);
	else if (isfinite(d))
		migrate_buf_printf(out, "%.17g", d);
	else
		migrate__buf_put(out, "null", 4);
}

static void write_doc(const bson_t *doc, bool is_array, bool sort, const char *const *keep,
		      const migrate__json_filter_t *f, migrate_buf_t *out);

/* `f`: the filter of the value, a document or the documents of an array. */
static void write_value(const bson_iter_t *cit, bool sort, const migrate__json_filter_t *f, migrate_buf_t *out)
{
	bson_iter_t it = *cit;
	uint32_t len;

	switch (bson_iter_type(&it)) {
	case BSON_TYPE_UTF8: {
		const char *s = bson_iter_utf8(&it, &len);
		append_json_string(out, s, len);
		break;
	}
	case BSON_TYPE_INT32: append_int(out, bson_iter_int32(&it)); break;
	case BSON_TYPE_INT64: append_int(out, bson_iter_int64(&it)); break;
	case BSON_TYPE_DOUBLE: append_double(out, bson_iter_double(&it)); break;
	case BSON_TYPE_BOOL:
		if (bson_iter_bool(&it))
			migrate__buf_put(out, "true", 4);
		else
			migrate__buf_put(out, "false", 5);
		break;
	case BSON_TYPE_NULL:
	case BSON_TYPE_UNDEFINED: migrate__buf_put(out, "null", 4); break;
	case BSON_TYPE_DOCUMENT:
	case BSON_TYPE_ARRAY: {
		bson_t sub;
		const uint8_t *data;
		bool arr = BSON_ITER_HOLDS_ARRAY(&it);
		if (arr)
			bson_iter_array(&it, &len, &data);
		else
			bson_iter_document(&it, &len, &data);
		if (bson_init_static(&sub, data, len))
			write_doc(&sub, arr, sort, NULL, f, out);
		break;
	}
	default: {
		/* Other BSON types (ObjectId, dates ...) in canonical extended JSON. */
		bson_t one = BSON_INITIALIZER;
		char *ej;
		bson_append_iter(&one, "v", 1, &it);
		ej = bson_as_canonical_extended_json(&one, NULL);
		if (ej && strlen(ej) > 9) {
			/* "{ "v" : X }" -> X */
			size_t n = strlen(ej);
			migrate_buf_printf(out, "%.*s", (int)(n - 9), ej + 7);
		}
		bson_free(ej);
		bson_destroy(&one);
	}
	}
}

/*
 * Objects of the step catalog are written with sorted keys. Where the
 * database reads the keys in order (a MongoDB command or index key, a
 * literal value, an aggregation expression) the order is kept: `keep`
 * names such members at this level, and "value" and "mongo" are such
 * members everywhere.
 */
static bool keeps_order(const char *key, const char *const *keep)
{
	size_t i;

	if (migrate__streq(key, "value") || migrate__streq(key, "mongo"))
		return true;
	for (i = 0; keep && keep[i]; i++)
		if (migrate__streq(key, keep[i]))
			return true;
	return false;
}

/* One member of a sorted object, at `v`: the i-th written. */
static void write_member_at(const bson_iter_t *v, uint32_t i, const char *const *keep, const migrate__json_filter_t *f,
			    migrate_buf_t *out)
{
	const char *key = bson_iter_key(v);

	if (i)
		migrate__buf_put_c(out, ',');
	append_json_string(out, key, bson_iter_key_len(v));
	migrate__buf_put_c(out, ':');
	write_value(v, !keeps_order(key, keep), f && f->inner ? f->inner(v) : NULL, out);
}

/* Whether filter `f` leaves the member at `it` out. */
static bool omitted(const migrate__json_filter_t *f, const bson_iter_t *it)
{
	return f && f->omit && f->omit(it);
}

/* A member of an object to sort: where it is, so that it is not looked up again. */
typedef struct member {
	const char *key;
	uint32_t off, keylen;
} member_t;

/* Insertion sort: objects of steps have a handful of members. */
static void sort_members(member_t *m, uint32_t n)
{
	uint32_t i, j;

	for (i = 1; i < n; i++) {
		member_t cur = m[i];
		for (j = i; j > 0 && strcmp(m[j - 1].key, cur.key) > 0; j--)
			m[j] = m[j - 1];
		m[j] = cur;
	}
}

/* Orders members by key, equal keys in the order found (stable): the first is the one written. */
static int member_cmp(const member_t *a, const member_t *b)
{
	int c = strcmp(a->key, b->key);

	return c ? c : (a->off > b->off) - (a->off < b->off);
}

/* Merge sort of m[0..n) through tmp (n entries): objects of any size in n log n. */
static void merge_sort_members(member_t *m, member_t *tmp, uint32_t n)
{
	uint32_t width, lo;

	for (width = 1; width < n; width *= 2) {
		for (lo = 0; lo < n; lo += 2 * width) {
			uint32_t mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
			uint32_t a = lo, b = mid, k = lo;
			while (a < mid && b < hi)
				tmp[k++] = member_cmp(&m[b], &m[a]) < 0 ? m[b++] : m[a++];
			while (a < mid)
				tmp[k++] = m[a++];
			while (b < hi)
				tmp[k++] = m[b++];
		}
		memcpy(m, tmp, n * sizeof *m);
	}
}

/*
 * Objects with more members than fit on the stack: their members are
 * sorted on the heap in n log n. Where that memory cannot be had, they are
 * sorted by selection without allocating, which writes the same text: the
 * canonical form must never depend on memory. A key given twice is
 * written once, its first member not left out by the filter.
 */
static void write_sorted_large(const bson_t *doc, uint32_t n, const char *const *keep, const migrate__json_filter_t *f,
			       migrate_buf_t *out)
{
	/* Plain malloc, not an allocation fault point: a failure is written around, to the same text. */
	member_t *m = malloc(2 * (size_t)n * sizeof *m);
	const char *prev = NULL;
	uint32_t i, count = 0, written = 0;
	bson_iter_t it;

	if (m) {
		if (bson_iter_init(&it, doc))
			while (count < n && bson_iter_next(&it))
				if (!omitted(f, &it)) {
					m[count].key = bson_iter_key(&it);
					m[count].off = bson_iter_offset(&it);
					m[count++].keylen = bson_iter_key_len(&it);
				}
		merge_sort_members(m, m + n, count);
		for (i = 0; i < count; i++) {
			bson_iter_t v;
			if (i && !strcmp(m[i].key, m[i - 1].key))
				continue;
			if (bson_iter_init_from_data_at_offset(&v, bson_get_data(doc), doc->len, m[i].off, m[i].keylen))
				write_member_at(&v, written++, keep, f, out);
		}
		free(m);
		return;
	}
	for (i = 0; i < n; i++) {
		const char *next = NULL;
		bson_iter_t at;
		if (!bson_iter_init(&it, doc))
			return;
		/* The first member of the least key after the last written. */
		while (bson_iter_next(&it)) {
			const char *k = bson_iter_key(&it);
			if ((!prev || strcmp(k, prev) > 0) && (!next || strcmp(k, next) < 0) && !omitted(f, &it)) {
				next = k;
				at = it;
			}
		}
		if (!next)
			return; /* duplicate keys: each is written once */
		write_member_at(&at, i, keep, f, out);
		prev = next;
	}
}

static void write_doc(const bson_t *doc, bool is_array, bool sort, const char *const *keep,
		      const migrate__json_filter_t *f, migrate_buf_t *out)
{
	member_t members[SORT_ON_STACK];
	bson_iter_t it;
	uint32_t n = 0, i = 0;

	migrate__buf_put_c(out, is_array ? '[' : '{');
	if (!bson_iter_init(&it, doc))
		goto done;
	if (is_array || !sort) {
		while (bson_iter_next(&it)) {
			const migrate__json_filter_t *inner = NULL;
			if (is_array) {
				/* An array's filter is its documents'. */
				inner = BSON_ITER_HOLDS_DOCUMENT(&it) ? f : NULL;
			} else if (omitted(f, &it)) {
				continue;
			} else if (f && f->inner) {
				inner = f->inner(&it);
			}
			if (i++)
				migrate__buf_put_c(out, ',');
			if (!is_array) {
				append_json_string(out, bson_iter_key(&it), bson_iter_key_len(&it));
				migrate__buf_put_c(out, ':');
			}
			write_value(&it, sort, inner, out);
		}
		goto done;
	}
	/* Sorted: the members as found, unless there are more than fit on the stack. */
	while (bson_iter_next(&it)) {
		if (n == SORT_ON_STACK) {
			write_sorted_large(doc, bson_count_keys(doc), keep, f, out);
			goto done;
		}
		if (omitted(f, &it))
			continue;
		members[n].key = bson_iter_key(&it);
		members[n].off = bson_iter_offset(&it);
		members[n++].keylen = bson_iter_key_len(&it);
	}
	sort_members(members, n);
	for (i = 0; i < n; i++) {
		bson_iter_t v;
		if (bson_iter_init_from_data_at_offset(&v, bson_get_data(doc), doc->len, members[i].off,
						       members[i].keylen))
			write_member_at(&v, i, keep, f, out);
	}
done:
	migrate__buf_put_c(out, is_array ? ']' : '}');
}

void migrate__json_value(const bson_iter_t *it, migrate_buf_t *out)
{
	write_value(it, true, NULL, out);
}

void migrate__json_canonical(const bson_t *doc, bool is_array, migrate_buf_t *out)
{
	write_doc(doc, is_array, true, NULL, NULL, out);
}

void migrate__json_canonical_keep(const bson_t *doc, const char *const *keep, migrate_buf_t *out)
{
	write_doc(doc, false, true, keep, NULL, out);
}

void migrate__json_canonical_filtered(const bson_t *doc, const char *const *keep, const migrate__json_filter_t *f,
				      migrate_buf_t *out)
{
	write_doc(doc, false, true, keep, f, out);
}
