/*
 * The single-pass JSON reader: text to BSON in one walk, with the syntax,
 * the range of whole numbers and repeated keys checked on the way. It
 * builds exactly the BSON libbson's reader builds for the same text (whole
 * numbers int32 where they fit, else int64; other numbers double; \u
 * escapes and surrogate pairs as UTF-8), so checksums do not depend on
 * which of the two read a plan.
 *
 * It takes only what it is sure of. Anything else (an error of any kind,
 * a key starting with "$", written or escaped, which libbson may read as
 * extended JSON, a NUL
 * in a key, a lone surrogate, a number beyond a double, deep nesting) is
 * declined, and the caller reads the text again through the checked path
 * of json.c, whose errors name the place. Valid plans are the common case;
 * a refused one costs one more read.
 *
 * Its memory is plain malloc, not the library's allocation fault points: a
 * failed allocation only declines, and the checked path, which has the
 * fault points, decides; a fault there must fail the call, not be read
 * around.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* libbson's reader nests at most 100 levels, its {"v": ...} wrapper one of them. */
#define READ_MAX_DEPTH 90

typedef struct reader {
	const char *s; /* the text */
	size_t i;      /* where the read is */
	uint8_t *buf;  /* the BSON being built */
	size_t len, cap;
	size_t *keys; /* offsets in buf of the keys of the objects open */
	size_t nkeys, capkeys;
	int depth;
	bool nul; /* a string value holds a NUL (\u0000) */
} reader_t;

static bool reserve(reader_t *r, size_t n)
{
	uint8_t *grown;
	size_t cap;

	if (r->cap - r->len >= n)
		return true;
	/* Past what a BSON document can hold: declined before memory grows for nothing. */
	if (r->len + n > INT32_MAX)
		return false;
	cap = r->cap * 2 > r->len + n ? r->cap * 2 : r->len + n + 64;
	if (!(grown = realloc(r->buf, cap)))
		return false;
	r->buf = grown;
	r->cap = cap;
	return true;
}

static bool put(reader_t *r, const void *data, size_t n)
{
	if (!reserve(r, n))
		return false;
	memcpy(r->buf + r->len, data, n);
	r->len += n;
	return true;
}

static bool put_byte(reader_t *r, uint8_t b)
{
	if (r->len == r->cap && !reserve(r, 1))
		return false;
	r->buf[r->len++] = b;
	return true;
}

static void set_le32(uint8_t *at, uint32_t v)
{
	at[0] = (uint8_t)v;
	at[1] = (uint8_t)(v >> 8);
	at[2] = (uint8_t)(v >> 16);
	at[3] = (uint8_t)(v >> 24);
}

static bool put_le32(reader_t *r, uint32_t v)
{
	if (!reserve(r, 4))
		return false;
	set_le32(r->buf + r->len, v);
	r->len += 4;
	return true;
}

static bool put_le64(reader_t *r, uint64_t v)
{
	int k;

	if (!reserve(r, 8))
		return false;
	for (k = 0; k < 8; k++)
		r->buf[r->len++] = (uint8_t)(v >> (8 * k));
	return true;
}

static void skip_space(reader_t *r)
{
	const char *s = r->s;
	size_t i = r->i;

	while (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r')
		i++;
	r->i = i;
}

/* Four hex digits at s, or -1. */
static long hex4(const char *s)
{
	long v = 0;
	int k, d;

	for (k = 0; k < 4; k++) {
		if ((d = migrate__hex_value(s[k])) < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

static bool put_utf8(reader_t *r, uint32_t cp)
{
	uint8_t b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (uint8_t)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (uint8_t)(0xc0 | (cp >> 6));
		b[1] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (uint8_t)(0xe0 | (cp >> 12));
		b[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (uint8_t)(0xf0 | (cp >> 18));
		b[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return put(r, b, n);
}

/*
 * The string at r->i (its opening quote), unescaped into buf: its bytes
 * only, no length and no NUL. *nul is set when it holds a NUL (\u0000).
 */
static bool read_string(reader_t *r, bool *nul)
{
	const char *s = r->s;
	size_t i = r->i + 1;

	*nul = false;
	for (;;) {
		size_t run = i;
		unsigned char c;
		while ((c = (unsigned char)s[i]) >= 0x20 && c < 0x80 && c != '"' && c != '\\')
			i++;
		if (i > run && !put(r, s + run, i - run))
			return false;
		if (c == '"') {
			r->i = i + 1;
			return true;
		}
		if (c == '\\') {
			char e = s[i + 1];
			long cp;
			static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
			const char *at;
			if (e == 'u') {
				if ((cp = hex4(s + i + 2)) < 0)
					return false;
				i += 6;
				if (cp >= 0xdc00 && cp <= 0xdfff)
					return false; /* a lone low surrogate */
				if (cp >= 0xd800 && cp <= 0xdbff) {
					long lo;
					if (s[i] != '\\' || s[i + 1] != 'u' || (lo = hex4(s + i + 2)) < 0xdc00 ||
					    lo > 0xdfff)
						return false; /* a high surrogate without its low half */
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					i += 6;
				}
				if (cp == 0)
					*nul = true;
				if (!put_utf8(r, (uint32_t)cp))
					return false;
				continue;
			}
			if (!e || !(at = strchr(from, e)))
				return false;
			if (!put_byte(r, (uint8_t)to[at - from]))
				return false;
			i += 2;
			continue;
		}
		if (c < 0x20)
			return false; /* a control character, or the end of the text */
		{
			size_t n = migrate__utf8_len((const unsigned char *)s + i);
			if (!n || !put(r, s + i, n))
				return false;
			i += n;
		}
	}
}

/* A number at r->i, written as an element of `type_at` (its type byte). */
static bool read_number(reader_t *r, size_t type_at)
{
	const char *s = r->s, *start = s + r->i;
	size_t i = r->i;
	bool neg = false, integral = true;
	uint64_t mag = 0;
	int digits = 0;

	if (s[i] == '-') {
		neg = true;
		i++;
	}
	if (s[i] < '0' || s[i] > '9' || (s[i] == '0' && s[i + 1] >= '0' && s[i + 1] <= '9'))
		return false;
	for (; s[i] >= '0' && s[i] <= '9'; i++, digits++)
		if (digits < 19)
			mag = mag * 10 + (uint64_t)(s[i] - '0');
	if (s[i] == '.') {
		integral = false;
		if (s[++i] < '0' || s[i] > '9')
			return false;
		while (s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (s[i] == 'e' || s[i] == 'E') {
		integral = false;
		i++;
		if (s[i] == '+' || s[i] == '-')
			i++;
		if (s[i] < '0' || s[i] > '9')
			return false;
		while (s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (!integral) {
		char *end;
		double d = strtod(start, &end);
		uint64_t bits;
		if (end != s + i || isinf(d) || isnan(d))
			return false;
		memcpy(&bits, &d, sizeof bits);
		r->buf[type_at] = BSON_TYPE_DOUBLE;
		r->i = i;
		return put_le64(r, bits);
	}
	/* Beyond int64: 20 digits or more (no leading zeros), or 19 above the bound. */
	if (digits > 19 || mag > (uint64_t)INT64_MAX + (neg ? 1u : 0u))
		return false;
	r->i = i;
	if (neg ? mag <= 2147483648u : mag <= 2147483647u) {
		r->buf[type_at] = BSON_TYPE_INT32;
		return put_le32(r, neg ? (uint32_t)(0 - (uint32_t)mag) : (uint32_t)mag);
	}
	r->buf[type_at] = BSON_TYPE_INT64;
	return put_le64(r, neg ? 0 - mag : mag);
}

static bool read_container(reader_t *r, bool array);

/* One element: its type byte is at type_at, its key written; the value at r->i. */
static bool read_value(reader_t *r, size_t type_at)
{
	const char *s = r->s + r->i;

	switch (*s) {
	case '{':
	case '[':
		r->buf[type_at] = *s == '{' ? BSON_TYPE_DOCUMENT : BSON_TYPE_ARRAY;
		return read_container(r, *s == '[');
	case '"': {
		size_t len_at = r->len;
		bool nul;
		r->buf[type_at] = BSON_TYPE_UTF8;
		if (!put_le32(r, 0) || !read_string(r, &nul) || !put_byte(r, 0))
			return false;
		r->nul |= nul;
		set_le32(r->buf + len_at, (uint32_t)(r->len - len_at - 4));
		return true;
	}
	case 't':
		if (strncmp(s, "true", 4) != 0)
			return false;
		r->buf[type_at] = BSON_TYPE_BOOL;
		r->i += 4;
		return put_byte(r, 1);
	case 'f':
		if (strncmp(s, "false", 5) != 0)
			return false;
		r->buf[type_at] = BSON_TYPE_BOOL;
		r->i += 5;
		return put_byte(r, 0);
	case 'n':
		if (strncmp(s, "null", 4) != 0)
			return false;
		r->buf[type_at] = BSON_TYPE_NULL;
		r->i += 4;
		return true;
	default:
		if (*s == '-' || (*s >= '0' && *s <= '9'))
			return read_number(r, type_at);
		return false;
	}
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Is a key of the object whose keys are keys[from..] given twice? */
static bool repeated_key(reader_t *r, size_t from)
{
	size_t n = r->nkeys - from, a, b;
	const char **sorted;
	bool dup = false;

	if (n <= 16) {
		for (a = from; a < r->nkeys; a++)
			for (b = a + 1; b < r->nkeys; b++)
				if (migrate__streq((const char *)r->buf + r->keys[a],
						   (const char *)r->buf + r->keys[b]))
					return true;
		return false;
	}
	if (!(sorted = malloc(n * sizeof *sorted)))
		return true; /* declined: the checked path decides */
	for (a = 0; a < n; a++)
		sorted[a] = (const char *)r->buf + r->keys[from + a];
	qsort(sorted, n, sizeof *sorted, cmp_keys);
	for (a = 1; !dup && a < n; a++)
		dup = strcmp(sorted[a - 1], sorted[a]) == 0;
	free(sorted);
	return dup;
}

static bool push_key(reader_t *r, size_t off)
{
	if (r->nkeys == r->capkeys) {
		size_t cap = r->capkeys ? r->capkeys * 2 : 64;
		size_t *grown = realloc(r->keys, cap * sizeof *grown);
		if (!grown)
			return false;
		r->keys = grown;
		r->capkeys = cap;
	}
	r->keys[r->nkeys++] = off;
	return true;
}

/*
 * Keys libbson's reader gives a meaning (extended JSON, libbson 1.x): a
 * member with one of them is declined; other "$" keys ("$schema", a
 * filter's "$in") libbson keeps as written, and so does the read.
 * core_json_read holds the two readers to the same bytes for every one.
 */
static bool extended_key(const char *k)
{
	static const char *const known[] = {"$oid",
					    "$binary",
					    "$type",
					    "$subType",
					    "$base64",
					    "$date",
					    "$regex",
					    "$options",
					    "$regularExpression",
					    "$pattern",
					    "$code",
					    "$scope",
					    "$timestamp",
					    "$t",
					    "$i",
					    "$minKey",
					    "$maxKey",
					    "$undefined",
					    "$numberLong",
					    "$numberInt",
					    "$numberDouble",
					    "$numberDecimal",
					    "$symbol",
					    "$dbPointer",
					    "$uuid",
					    "$ref",
					    "$id",
					    "$db",
					    NULL};

	for (size_t j = 0; known[j]; j++)
		if (!strcmp(k, known[j]))
			return true;
	return false;
}

/* An object's member's key at r->i, written as a cstring; declined for NUL and extended JSON's "$" keys. */
static bool read_key(reader_t *r)
{
	size_t at = r->len;
	bool nul;

	if (r->s[r->i] != '"' || !read_string(r, &nul) || nul || !put_byte(r, 0))
		return false;
	/* "$" as written or as an escape (\u0024): libbson reads the key after unescaping it. */
	if (r->buf[at] == '$' && extended_key((const char *)r->buf + at))
		return false;
	return push_key(r, at);
}

/* The object or array at r->i, as a BSON document (its length, elements, NUL). */
static bool read_container(reader_t *r, bool array)
{
	char close = array ? ']' : '}';
	size_t doc_at = r->len, keys_from = r->nkeys;
	uint32_t index = 0;

	if (++r->depth > READ_MAX_DEPTH || !put_le32(r, 0))
		return false;
	r->i++;
	skip_space(r);
	if (r->s[r->i] != close) {
		for (;;) {
			size_t type_at = r->len;
			if (!put_byte(r, 0))
				return false;
			if (array) {
				/* The index in decimal and its NUL, as libbson writes it (not by printf past 999). */
				char idx[12], *d = idx + sizeof idx;
				uint32_t u = index++;
				*--d = '\0';
				do {
					*--d = (char)('0' + u % 10);
					u /= 10;
				} while (u);
				if (!put(r, d, (size_t)(idx + sizeof idx - d)))
					return false;
			} else {
				if (!read_key(r))
					return false;
				skip_space(r);
				if (r->s[r->i] != ':')
					return false;
				r->i++;
				skip_space(r);
			}
			if (!read_value(r, type_at))
				return false;
			skip_space(r);
			if (r->s[r->i] == ',') {
				r->i++;
				skip_space(r);
				continue;
			}
			if (r->s[r->i] != close)
				return false;
			break;
		}
	}
	r->i++;
	r->depth--;
	if (!put_byte(r, 0))
		return false;
	set_le32(r->buf + doc_at, (uint32_t)(r->len - doc_at));
	if (!array && r->nkeys - keys_from > 1 && repeated_key(r, keys_from))
		return false;
	r->nkeys = keys_from;
	return true;
}

/* Declared in internal.h. */
int migrate__json_read_raw(const char *json, bool array, uint8_t **data, size_t *len, bool *nul)
{
	reader_t r;
	size_t n = strlen(json);
	bool ok;

	memset(&r, 0, sizeof r);
	r.s = json;
	skip_space(&r);
	if (json[r.i] != (array ? '[' : '{') || n > INT32_MAX / 2)
		return -1;
	r.cap = n + n / 2 + 64;
	if (!(r.buf = malloc(r.cap)))
		return -1;
	ok = read_container(&r, array);
	if (ok) {
		skip_space(&r);
		ok = json[r.i] == '\0';
	}
	free(r.keys);
	if (!ok) {
		free(r.buf);
		return -1;
	}
	/* What it does not use goes back (shrinking a block in place keeps it where it is). */
	{
		uint8_t *fit = realloc(r.buf, r.len);
		if (fit)
			r.buf = fit;
	}
	*data = r.buf;
	*len = r.len;
	*nul = r.nul;
	return 0;
}

/* Declared in internal.h. */
int migrate__json_read(const char *json, bool array, bson_t *out)
{
	uint8_t *data;
	size_t len;
	bson_t doc;
	bool ok, nul;

	if (migrate__json_read_raw(json, array, &data, &len, &nul))
		return -1;
	ok = bson_init_static(&doc, data, len);
	if (ok)
		bson_copy_to(&doc, out);
	free(data);
	return ok ? 0 : -1;
}
