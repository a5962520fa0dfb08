/*
 * "jsondir": a storage driver for libmigrate written the way a third party
 * would write one, against the public <migrate/driver.h> only (no
 * lib/internal.h). See custom_driver.h for the layout of a database.
 */
#include "custom_driver.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

/* A lock directory without a pid file this old was left by a crash between mkdir and write. */
#define LOCK_UNBORN_STALE_S 5

/* Room is left after the directory for the driver's own names. */
typedef struct jd {
	char dir[PATH_MAX - 256];
} jd;

/* ---- errors ---- */

/* Heap text buffers over the public migrate_buf_t (the driver uses the public API only). */
static migrate_buf_t *buf_new(const char *init)
{
	migrate_buf_t *b = malloc(sizeof *b);

	if (!b)
		abort();
	migrate_buf_init(b);
	migrate_buf_append(b, init);
	return b;
}

/* Frees `b`; unless `free_text`, returns its text (caller frees). */
static char *buf_free(migrate_buf_t *b, bool free_text)
{
	char *text = NULL;

	if (b->failed)
		abort();
	if (!free_text)
		text = strdup(b->str);
	migrate_buf_release(b);
	free(b);
	return text;
}

static int fail(migrate_error_t *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(migrate_error_t *err, int code, const char *fmt, ...)
{
	char msg[MIGRATE_ERROR_MESSAGE_SIZE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return migrate_error_set(err, MIGRATE_DOMAIN_DRIVER, code, msg);
}

static int fail_errno(migrate_error_t *err, const char *what, const char *path)
{
	return fail(err, MIGRATE_EDB, "jsondir: %s %s: %s", what, path, strerror(errno));
}

/* ---- compact JSON, keys in document order ---- */

static void put_doc(migrate_buf_t *out, const bson_t *doc, bool array);

static void put_string(migrate_buf_t *out, const char *s, uint32_t len)
{
	uint32_t i;

	migrate_buf_append_c(out, '"');
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			migrate_buf_append_c(out, '\\');
			migrate_buf_append_c(out, (char)c);
		} else if (c < 0x20 || c == 0x7f) {
			migrate_buf_printf(out, "\\u%04x", c);
		} else {
			migrate_buf_append_c(out, (char)c);
		}
	}
	migrate_buf_append_c(out, '"');
}

static void put_double(migrate_buf_t *out, double d)
{
	char buf[64];

	if (!isfinite(d)) {
		migrate_buf_append(out, "null");
		return;
	}
	snprintf(buf, sizeof buf, "%.17g", d);
	/* Keep a double a double when the file is read back. */
	if (!strpbrk(buf, ".eE"))
		strcat(buf, ".0");
	migrate_buf_append(out, buf);
}

static void put_value(migrate_buf_t *out, const bson_iter_t *cit)
{
	bson_iter_t it = *cit;
	const uint8_t *data;
	uint32_t len;
	bson_t sub;

	switch (bson_iter_type(&it)) {
	case BSON_TYPE_UTF8: {
		const char *s = bson_iter_utf8(&it, &len);
		put_string(out, s, len);
		break;
	}
	case BSON_TYPE_INT32: migrate_buf_printf(out, "%d", bson_iter_int32(&it)); break;
	case BSON_TYPE_INT64: migrate_buf_printf(out, "%lld", (long long)bson_iter_int64(&it)); break;
	case BSON_TYPE_DOUBLE: put_double(out, bson_iter_double(&it)); break;
	case BSON_TYPE_BOOL: migrate_buf_append(out, bson_iter_bool(&it) ? "true" : "false"); break;
	case BSON_TYPE_DOCUMENT:
	case BSON_TYPE_ARRAY:
		if (BSON_ITER_HOLDS_ARRAY(&it))
			bson_iter_array(&it, &len, &data);
		else
			bson_iter_document(&it, &len, &data);
		if (bson_init_static(&sub, data, len))
			put_doc(out, &sub, BSON_ITER_HOLDS_ARRAY(&it));
		break;
	default: migrate_buf_append(out, "null"); break;
	}
}

static void put_doc(migrate_buf_t *out, const bson_t *doc, bool array)
{
	bson_iter_t it;
	int n = 0;

	migrate_buf_append_c(out, array ? '[' : '{');
	if (bson_iter_init(&it, doc))
		while (bson_iter_next(&it)) {
			if (n++)
				migrate_buf_append_c(out, ',');
			if (!array) {
				put_string(out, bson_iter_key(&it), (uint32_t)strlen(bson_iter_key(&it)));
				migrate_buf_append_c(out, ':');
			}
			put_value(out, &it);
		}
	migrate_buf_append_c(out, array ? ']' : '}');
}

static char *to_json(const bson_t *doc, bool array)
{
	migrate_buf_t *s = buf_new(NULL);

	put_doc(s, doc, array);
	return buf_free(s, false);
}

/* ---- files ---- */

char *jsondir_read_text(const char *path)
{
	struct stat st;
	migrate_buf_t *s;
	char buf[4097];
	size_t n;
	FILE *f;

	if (stat(path, &st) != 0 || S_ISDIR(st.st_mode) || !(f = fopen(path, "rb")))
		return NULL;
	s = buf_new(NULL);
	while ((n = fread(buf, 1, sizeof buf - 1, f)) > 0) {
		buf[n] = '\0';
		migrate_buf_append(s, buf);
	}
	fclose(f);
	return buf_free(s, false);
}

int jsondir_write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");
	int ok;

	if (!f)
		return -1;
	ok = fputs(text, f) >= 0;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* Replaces `path` atomically: a reader sees the old file or the new one. */
static int write_atomic(const char *path, const char *text, migrate_error_t *err)
{
	char tmp[PATH_MAX + 16];

	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if (jsondir_write_text(tmp, text) != 0)
		return fail_errno(err, "cannot write", tmp);
	if (rename(tmp, path) != 0)
		return fail_errno(err, "cannot rename into", path);
	return 0;
}

static int save_doc(const char *path, const bson_t *doc, migrate_error_t *err)
{
	char *text = to_json(doc, false);
	int rc = write_atomic(path, text, err);

	bson_free(text);
	return rc;
}

/* Loads a JSON object; *exists false (and 0 returned) when the file is missing. */
static int load_doc(const char *path, bson_t *out, bool *exists, migrate_error_t *err)
{
	char *text = jsondir_read_text(path);
	bson_error_t berr;

	bson_init(out);
	*exists = text != NULL;
	if (!text)
		return 0;
	bson_destroy(out);
	if (!bson_init_from_json(out, text, -1, &berr)) {
		bson_free(text);
		bson_init(out);
		return fail(err, MIGRATE_EDB, "jsondir: %s is not valid JSON: %s", path, berr.message);
	}
	bson_free(text);
	return 0;
}

static bool file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static int mkdir_if_missing(const char *path, migrate_error_t *err)
{
	if (mkdir(path, 0777) == 0 || errno == EEXIST)
		return 0;
	return fail_errno(err, "cannot create directory", path);
}

/* ---- names ---- */

/*
 * Identifiers reach the driver well formed (1..63 bytes, no control
 * characters), but a table or plan name becomes a file name here: a slash,
 * a leading dot or a leading underscore (the driver's own files) cannot.
 */
static int check_name(const char *name, const char *what, migrate_error_t *err)
{
	if (!name || !*name || strchr(name, '/') || name[0] == '.' || name[0] == '_')
		return fail(err, MIGRATE_EUNSUPPORTED,
			    "jsondir: %s \"%s\" cannot be a file name (no '/', no leading '.' or '_')", what,
			    name ? name : "");
	return 0;
}

static int table_path(const jd *c, const char *table, char *out, size_t size, migrate_error_t *err)
{
	if ((size_t)snprintf(out, size, "%s/%s.json", c->dir, table) >= size)
		return fail(err, MIGRATE_EDB, "jsondir: path too long for table %s", table);
	return 0;
}

/* ---- documents ---- */

static const char *doc_str(const bson_t *doc, const char *key)
{
	bson_iter_t it;

	if (bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_UTF8(&it))
		return bson_iter_utf8(&it, NULL);
	return NULL;
}

static int64_t doc_int(const bson_t *doc, const char *key)
{
	bson_iter_t it;

	if (bson_iter_init_find(&it, doc, key) && (BSON_ITER_HOLDS_INT32(&it) || BSON_ITER_HOLDS_INT64(&it)))
		return bson_iter_as_int64(&it);
	return 0;
}

/* A sub-document or array at `key` (borrowed from `doc`). */
static bool doc_sub(const bson_t *doc, const char *key, bson_t *out)
{
	bson_iter_t it;
	const uint8_t *data;
	uint32_t len;

	if (!bson_iter_init_find(&it, doc, key))
		return false;
	if (BSON_ITER_HOLDS_DOCUMENT(&it))
		bson_iter_document(&it, &len, &data);
	else if (BSON_ITER_HOLDS_ARRAY(&it))
		bson_iter_array(&it, &len, &data);
	else
		return false;
	return bson_init_static(out, data, len);
}

/* The document held by an iterator (borrowed). */
static bool iter_doc(const bson_iter_t *it, bson_t *out)
{
	const uint8_t *data;
	uint32_t len;

	if (!BSON_ITER_HOLDS_DOCUMENT(it))
		return false;
	bson_iter_document(it, &len, &data);
	return bson_init_static(out, data, len);
}

static void array_push_doc(bson_t *arr, uint32_t *n, const bson_t *doc)
{
	char idx[16];
	const char *key;

	bson_uint32_to_string((*n)++, &key, idx, sizeof idx);
	bson_append_document(arr, key, -1, doc);
}

/* ---- tables ---- */

typedef struct table {
	bson_t file;    /* the whole file */
	bson_t columns; /* borrowed from file */
	bson_t rows;    /* borrowed from file */
	bson_t indexes; /* borrowed from file; empty when it has none */
} table;

static int table_load(const jd *c, const char *name, table *t, bool *exists, migrate_error_t *err)
{
	char path[PATH_MAX];
	int rc;

	if ((rc = table_path(c, name, path, sizeof path, err)) || (rc = load_doc(path, &t->file, exists, err)))
		return rc;
	if (!*exists)
		return 0;
	if (!doc_sub(&t->file, "columns", &t->columns) || !doc_sub(&t->file, "rows", &t->rows)) {
		bson_destroy(&t->file);
		return fail(err, MIGRATE_EDB, "jsondir: %s lacks columns or rows", path);
	}
	if (!doc_sub(&t->file, "indexes", &t->indexes))
		bson_init(&t->indexes);
	return 0;
}

/*
 * Replaces a table file. `indexes` may be NULL or empty (the file then has
 * none); `stamp` is a batch's own journal entry (see run_batches) or NULL:
 * any other write of the table drops it.
 */
static int table_save(const jd *c, const char *name, const bson_t *columns, const bson_t *rows, const bson_t *indexes,
		      const bson_t *stamp, migrate_error_t *err)
{
	char path[PATH_MAX];
	bson_t doc = BSON_INITIALIZER;
	int rc;

	if ((rc = table_path(c, name, path, sizeof path, err)))
		return rc;
	BSON_APPEND_ARRAY(&doc, "columns", columns);
	BSON_APPEND_ARRAY(&doc, "rows", rows);
	if (indexes && !bson_empty(indexes))
		BSON_APPEND_ARRAY(&doc, "indexes", indexes);
	if (stamp)
		BSON_APPEND_DOCUMENT(&doc, "batch", stamp);
	rc = save_doc(path, &doc, err);
	bson_destroy(&doc);
	return rc;
}

/* Loads a table that must exist. */
static int table_need(const jd *c, const char *name, table *t, migrate_error_t *err)
{
	bool exists;
	int rc;

	if ((rc = table_load(c, name, t, &exists, err)))
		return rc;
	if (!exists)
		return fail(err, MIGRATE_EDB, "jsondir: no table \"%s\"", name);
	return 0;
}

static bool has_column(const table *t, const char *name)
{
	bson_iter_t it;
	bson_t col;

	bson_iter_init(&it, &t->columns);
	while (bson_iter_next(&it))
		if (iter_doc(&it, &col) && doc_str(&col, "name") && !strcmp(doc_str(&col, "name"), name))
			return true;
	return false;
}

/*
 * Copies `row` (or a column doc) into `out`: the key `drop` left out, the key
 * `from` renamed to `to` (keeping its place).
 */
static void copy_edit(const bson_t *row, bson_t *out, const char *drop, const char *from, const char *to)
{
	bson_iter_t it;

	bson_iter_init(&it, row);
	while (bson_iter_next(&it)) {
		const char *k = bson_iter_key(&it);
		if (drop && !strcmp(k, drop))
			continue;
		bson_append_iter(out, from && !strcmp(k, from) ? to : k, -1, &it);
	}
}

/* Copies a column doc with its "name" replaced by `name`, in place. */
static void copy_renamed(const bson_t *col, bson_t *out, const char *name)
{
	bson_iter_t it;

	bson_iter_init(&it, col);
	while (bson_iter_next(&it)) {
		if (!strcmp(bson_iter_key(&it), "name"))
			BSON_APPEND_UTF8(out, "name", name);
		else
			bson_append_iter(out, NULL, 0, &it);
	}
}

/* ---- ops ---- */

static int op_create_table(jd *c, const bson_t *step, migrate_error_t *err)
{
	const char *name = doc_str(step, "table");
	bson_t cols, rows = BSON_INITIALIZER;
	table t;
	bool exists;
	int rc;

	doc_sub(step, "columns", &cols);
	if ((rc = table_load(c, name, &t, &exists, err)))
		return rc;
	if (exists) {
		/* Done already (a resumed run) if it has exactly these columns. */
		char *a = to_json(&t.columns, true), *b = to_json(&cols, true);
		rc = strcmp(a, b) ? fail(err, MIGRATE_EDB, "jsondir: table \"%s\" already exists", name) : 0;
		bson_free(a);
		bson_free(b);
		bson_destroy(&t.file);
		return rc;
	}
	rc = table_save(c, name, &cols, &rows, NULL, NULL, err);
	bson_destroy(&rows);
	return rc;
}

static int op_drop_table(jd *c, const bson_t *step, migrate_error_t *err)
{
	char path[PATH_MAX];
	int rc;

	if ((rc = table_path(c, doc_str(step, "table"), path, sizeof path, err)))
		return rc;
	if (unlink(path) != 0 && errno != ENOENT)
		return fail_errno(err, "cannot remove", path);
	return 0;
}

static int op_rename_table(jd *c, const bson_t *step, migrate_error_t *err)
{
	const char *from = doc_str(step, "from"), *to = doc_str(step, "to");
	char a[PATH_MAX], b[PATH_MAX];
	bool has_a, has_b;
	int rc;

	if ((rc = table_path(c, from, a, sizeof a, err)) || (rc = table_path(c, to, b, sizeof b, err)))
		return rc;
	has_a = file_exists(a);
	has_b = file_exists(b);
	if (!has_a && has_b)
		return 0; /* renamed by an interrupted run */
	if (!has_a)
		return fail(err, MIGRATE_EDB, "jsondir: no table \"%s\" to rename", from);
	if (has_b)
		return fail(err, MIGRATE_EDB, "jsondir: cannot rename \"%s\": \"%s\" exists", from, to);
	if (rename(a, b) != 0)
		return fail_errno(err, "cannot rename", a);
	return 0;
}

static int op_add_column(jd *c, const bson_t *step, migrate_error_t *err)
{
	const char *name = doc_str(step, "table");
	bson_t col, dflt, cols = BSON_INITIALIZER, rows = BSON_INITIALIZER;
	bson_iter_t it, value;
	uint32_t nc = 0, nr = 0;
	bool has_value;
	table t;
	int rc;

	doc_sub(step, "column", &col);
	if ((rc = table_need(c, name, &t, err)))
		return rc;
	if (has_column(&t, doc_str(&col, "name"))) {
		bson_destroy(&t.file);
		return 0; /* added by an interrupted run: files are replaced whole */
	}
	has_value = doc_sub(&col, "default", &dflt) && bson_iter_init_find(&value, &dflt, "value");
	bson_iter_init(&it, &t.columns);
	while (bson_iter_next(&it)) {
		bson_t one;
		if (iter_doc(&it, &one))
			array_push_doc(&cols, &nc, &one);
	}
	array_push_doc(&cols, &nc, &col);
	bson_iter_init(&it, &t.rows);
	while (bson_iter_next(&it)) {
		bson_t row, out = BSON_INITIALIZER;
		if (!iter_doc(&it, &row))
			continue;
		copy_edit(&row, &out, NULL, NULL, NULL);
		if (has_value)
			bson_append_iter(&out, doc_str(&col, "name"), -1, &value);
		else
			bson_append_null(&out, doc_str(&col, "name"), -1);
		array_push_doc(&rows, &nr, &out);
		bson_destroy(&out);
	}
	rc = table_save(c, name, &cols, &rows, &t.indexes, NULL, err);
	bson_destroy(&cols);
	bson_destroy(&rows);
	bson_destroy(&t.file);
	return rc;
}

/* A copy of an index key ({"column": c, ...}) naming `to` instead of `from`. */
static void copy_key_renamed(const bson_t *key, bson_t *out, const char *from, const char *to)
{
	bson_iter_t it;

	bson_iter_init(&it, key);
	while (bson_iter_next(&it)) {
		if (!strcmp(bson_iter_key(&it), "column") && BSON_ITER_HOLDS_UTF8(&it) &&
		    !strcmp(bson_iter_utf8(&it, NULL), from))
			BSON_APPEND_UTF8(out, "column", to);
		else
			bson_append_iter(out, NULL, 0, &it);
	}
}

/*
 * The indexes with column `from` renamed to `to` in their keys. When the
 * column is dropped (`to` NULL), an index on it makes this fail: *user
 * names the index.
 */
static bool indexes_renamed(const bson_t *indexes, const char *from, const char *to, bson_t *out, const char **user)
{
	bson_iter_t it, f;
	uint32_t n = 0;

	bson_iter_init(&it, indexes);
	while (bson_iter_next(&it)) {
		bson_t idx, keys, one = BSON_INITIALIZER;
		if (!iter_doc(&it, &idx))
			continue;
		bson_iter_init(&f, &idx);
		while (bson_iter_next(&f)) {
			bson_t key, renamed = BSON_INITIALIZER, arr;
			bson_iter_t k;
			uint32_t nk = 0;
			if (strcmp(bson_iter_key(&f), "keys") != 0) {
				bson_append_iter(&one, NULL, 0, &f);
				continue;
			}
			doc_sub(&idx, "keys", &keys);
			bson_append_array_begin(&one, "keys", -1, &arr);
			bson_iter_init(&k, &keys);
			while (bson_iter_next(&k)) {
				if (!iter_doc(&k, &key))
					continue;
				if (!to && doc_str(&key, "column") && !strcmp(doc_str(&key, "column"), from))
					*user = doc_str(&idx, "name");
				copy_key_renamed(&key, &renamed, from, to ? to : from);
				array_push_doc(&arr, &nk, &renamed);
				bson_reinit(&renamed);
			}
			bson_append_array_end(&one, &arr);
			bson_destroy(&renamed);
		}
		array_push_doc(out, &n, &one);
		bson_destroy(&one);
	}
	return *user == NULL;
}

/* Drops (to == NULL) or renames column `from` in the columns, every row and the index keys. */
static int edit_column(jd *c, const char *name, const char *from, const char *to, migrate_error_t *err)
{
	bson_t cols = BSON_INITIALIZER, rows = BSON_INITIALIZER, indexes = BSON_INITIALIZER;
	const char *user = NULL;
	bson_iter_t it;
	uint32_t nc = 0, nr = 0;
	table t;
	int rc;

	if ((rc = table_need(c, name, &t, err)))
		return rc;
	if (!has_column(&t, from)) {
		bool done = !to || has_column(&t, to); /* an interrupted run did it */
		rc = done ? 0 : fail(err, MIGRATE_EDB, "jsondir: table \"%s\" has no column \"%s\"", name, from);
		goto cleanup;
	}
	if (!indexes_renamed(&t.indexes, from, to, &indexes, &user)) {
		rc = fail(err, MIGRATE_EDB, "jsondir: cannot drop column \"%s\" of \"%s\": index \"%s\" uses it", from,
			  name, user);
		goto cleanup;
	}
	bson_iter_init(&it, &t.columns);
	while (bson_iter_next(&it)) {
		bson_t col, out = BSON_INITIALIZER;
		if (!iter_doc(&it, &col))
			continue;
		if (!strcmp(doc_str(&col, "name"), from)) {
			if (!to) {
				bson_destroy(&out);
				continue;
			}
			copy_renamed(&col, &out, to);
		} else {
			copy_edit(&col, &out, NULL, NULL, NULL);
		}
		array_push_doc(&cols, &nc, &out);
		bson_destroy(&out);
	}
	bson_iter_init(&it, &t.rows);
	while (bson_iter_next(&it)) {
		bson_t row, out = BSON_INITIALIZER;
		if (!iter_doc(&it, &row))
			continue;
		copy_edit(&row, &out, to ? NULL : from, to ? from : NULL, to);
		array_push_doc(&rows, &nr, &out);
		bson_destroy(&out);
	}
	rc = table_save(c, name, &cols, &rows, &indexes, NULL, err);
cleanup:
	bson_destroy(&cols);
	bson_destroy(&rows);
	bson_destroy(&indexes);
	bson_destroy(&t.file);
	return rc;
}

/* ---- filters: the where of docs/steps.md ("Filters") ---- */

static bool is_null(const bson_value_t *v)
{
	return !v || v->value_type == BSON_TYPE_NULL;
}

static bool is_number(const bson_value_t *v)
{
	return v && (v->value_type == BSON_TYPE_INT32 || v->value_type == BSON_TYPE_INT64 ||
		     v->value_type == BSON_TYPE_DOUBLE);
}

static double number(const bson_value_t *v)
{
	if (v->value_type == BSON_TYPE_INT32)
		return v->value.v_int32;
	if (v->value_type == BSON_TYPE_INT64)
		return (double)v->value.v_int64;
	return v->value.v_double;
}

/* -1, 0 or 1; 2 when the two cannot be ordered (different kinds, or a null). */
static int compare(const bson_value_t *a, const bson_value_t *b)
{
	if (is_number(a) && is_number(b))
		return number(a) < number(b) ? -1 : number(a) > number(b);
	if (a && b && a->value_type == BSON_TYPE_UTF8 && b->value_type == BSON_TYPE_UTF8) {
		int r = strcmp(a->value.v_utf8.str, b->value.v_utf8.str);
		return (r > 0) - (r < 0);
	}
	if (a && b && a->value_type == BSON_TYPE_BOOL && b->value_type == BSON_TYPE_BOOL)
		return (int)a->value.v_bool - (int)b->value.v_bool;
	return 2;
}

/* Equality, where a missing value is null and null equals null (as the SQL drivers' IS NULL). */
static bool equal(const bson_value_t *a, const bson_value_t *b)
{
	if (is_null(a) || is_null(b))
		return is_null(a) && is_null(b);
	return compare(a, b) == 0;
}

static bool in_list(const bson_value_t *v, bson_iter_t *list, bool *bad)
{
	bson_iter_t a;
	bool found = false;

	if (!BSON_ITER_HOLDS_ARRAY(list) || !bson_iter_recurse(list, &a)) {
		*bad = true;
		return false;
	}
	while (bson_iter_next(&a))
		found = found || equal(v, bson_iter_value(&a));
	return found;
}

/* One column's condition: a scalar (equality) or an object of operators, all of which must hold. */
static bool cond_holds(const bson_value_t *v, const bson_iter_t *cond, bool *bad)
{
	bson_iter_t c = *cond, op;
	bool ok = true;

	if (!BSON_ITER_HOLDS_DOCUMENT(&c))
		return equal(v, bson_iter_value(&c));
	bson_iter_recurse(&c, &op);
	while (bson_iter_next(&op)) {
		const char *k = bson_iter_key(&op);
		int r = compare(v, bson_iter_value(&op));
		bool h;
		if (!strcmp(k, "$eq") || !strcmp(k, "$ne"))
			h = equal(v, bson_iter_value(&op)) == (k[1] == 'e');
		else if (!strcmp(k, "$lt") || !strcmp(k, "$lte"))
			h = r == -1 || (r == 0 && k[3] == 'e');
		else if (!strcmp(k, "$gt") || !strcmp(k, "$gte"))
			h = r == 1 || (r == 0 && k[3] == 'e');
		else if (!strcmp(k, "$in") || !strcmp(k, "$nin"))
			h = in_list(v, &op, bad) == (k[1] == 'i');
		else if (!strcmp(k, "$exists") && BSON_ITER_HOLDS_BOOL(&op))
			h = bson_iter_bool(&op) == !is_null(v);
		else
			h = *bad = true;
		ok = ok && h;
	}
	return ok;
}

static bool filter_holds(const bson_t *row, const bson_t *filter, bool *bad);

/* $and / $or: every / any filter of the list. */
static bool list_holds(const bson_t *row, bson_iter_t *list, bool any, bool *bad)
{
	bson_iter_t a;
	bson_t sub;
	bool all = true, some = false;

	if (!BSON_ITER_HOLDS_ARRAY(list) || !bson_iter_recurse(list, &a)) {
		*bad = true;
		return false;
	}
	while (bson_iter_next(&a)) {
		bool h = iter_doc(&a, &sub) ? filter_holds(row, &sub, bad) : (*bad = true, false);
		all = all && h;
		some = some || h;
	}
	return any ? some : all;
}

/*
 * Whether `row` matches `filter`. Every part is evaluated (no short cut), so
 * that *bad reports any operator outside the catalog's filters.
 */
static bool filter_holds(const bson_t *row, const bson_t *filter, bool *bad)
{
	bson_iter_t it, v;
	bool ok = true;

	bson_iter_init(&it, filter);
	while (bson_iter_next(&it)) {
		const char *k = bson_iter_key(&it);
		bool h;
		if (!strcmp(k, "$and") || !strcmp(k, "$or"))
			h = list_holds(row, &it, k[1] == 'o', bad);
		else if (k[0] == '$')
			h = *bad = true;
		else
			h = cond_holds(bson_iter_init_find(&v, row, k) ? bson_iter_value(&v) : NULL, &it, bad);
		ok = ok && h;
	}
	return ok;
}

/* Whether `row` matches the `where` of `doc` (every row when it has none). */
static bool row_selected(const bson_t *row, const bson_t *doc)
{
	bson_t where;
	bool bad = false;

	return !doc_sub(doc, "where", &where) || filter_holds(row, &where, &bad);
}

/* ---- backfill expressions ---- */

/*
 * The one raw expression jsondir evaluates, in MongoDB's spelling since its
 * rows are JSON documents: {"mongo": {"$add": [terms]}}, a term being
 * "$column" (an integer) or an integer literal. Other raw expressions are
 * refused by check_step.
 */
static bool add_terms(const bson_t *expr, bson_iter_t *terms)
{
	bson_t raw;
	bson_iter_t it;

	if (!doc_sub(expr, "mongo", &raw) || bson_count_keys(&raw) != 1 || !bson_iter_init_find(&it, &raw, "$add") ||
	    !BSON_ITER_HOLDS_ARRAY(&it))
		return false;
	return bson_iter_recurse(&it, terms);
}

static bool add_terms_ok(const bson_t *expr)
{
	bson_iter_t t;
	int n = 0;

	if (!add_terms(expr, &t))
		return false;
	while (bson_iter_next(&t)) {
		n++;
		if (BSON_ITER_HOLDS_UTF8(&t) ? bson_iter_utf8(&t, NULL)[0] != '$' || !bson_iter_utf8(&t, NULL)[1]
					     : !(BSON_ITER_HOLDS_INT32(&t) || BSON_ITER_HOLDS_INT64(&t)))
			return false;
	}
	return n > 0;
}

/* Whether expression `expr` reads column `col`. */
static bool expr_reads(const bson_t *expr, const char *col)
{
	const char *src = doc_str(expr, "column") ? doc_str(expr, "column") : doc_str(expr, "array_length");
	bson_iter_t t;

	if (src)
		return !strcmp(src, col);
	if (add_terms(expr, &t))
		while (bson_iter_next(&t))
			if (BSON_ITER_HOLDS_UTF8(&t) && !strcmp(bson_iter_utf8(&t, NULL) + 1, col))
				return true;
	return false;
}

/* Appends `col` = `expr` evaluated on `row` to `out`. */
static void put_expr(bson_t *out, const char *col, const bson_t *expr, const bson_t *row)
{
	bson_iter_t e, src, t;
	int64_t sum = 0;
	bool null = false;

	if (bson_iter_init_find(&e, expr, "value")) {
		bson_append_iter(out, col, -1, &e);
	} else if (doc_str(expr, "column")) {
		if (bson_iter_init_find(&src, row, doc_str(expr, "column")))
			bson_append_iter(out, col, -1, &src);
		else
			bson_append_null(out, col, -1);
	} else if (doc_str(expr, "array_length")) {
		bson_t arr;
		bool is_array = bson_iter_init_find(&src, row, doc_str(expr, "array_length")) &&
				BSON_ITER_HOLDS_ARRAY(&src) && doc_sub(row, doc_str(expr, "array_length"), &arr);
		bson_append_int64(out, col, -1, is_array ? (int64_t)bson_count_keys(&arr) : 0);
	} else if (add_terms(expr, &t)) {
		while (bson_iter_next(&t)) {
			if (!BSON_ITER_HOLDS_UTF8(&t))
				sum += bson_iter_as_int64(&t);
			else if (bson_iter_init_find(&src, row, bson_iter_utf8(&t, NULL) + 1) &&
				 (BSON_ITER_HOLDS_INT32(&src) || BSON_ITER_HOLDS_INT64(&src)))
				sum += bson_iter_as_int64(&src);
			else
				null = true; /* as MongoDB: null when a term is */
		}
		if (null)
			bson_append_null(out, col, -1);
		else
			bson_append_int64(out, col, -1, sum);
	} else {
		bson_append_null(out, col, -1);
	}
}

/* ---- batched rewrites: backfill and map_values ---- */

typedef struct rewrite rewrite;

struct rewrite {
	const bson_t *step;
	bson_t arg; /* the backfill's set, or the map (borrowed from step) */
	/* The row's new contents, from the row as it was. */
	void (*row)(const rewrite *w, const bson_t *row, bson_t *out);
	/* Not idempotent: every batch carries its journal entry (run_batches). */
	bool stamped;
};

static void backfill_row(const rewrite *w, const bson_t *row, bson_t *out)
{
	bson_iter_t it;

	bson_iter_init(&it, row);
	while (bson_iter_next(&it))
		if (!bson_has_field(&w->arg, bson_iter_key(&it)))
			bson_append_iter(out, NULL, 0, &it);
	bson_iter_init(&it, &w->arg);
	while (bson_iter_next(&it)) {
		bson_t expr;
		if (iter_doc(&it, &expr))
			put_expr(out, bson_iter_key(&it), &expr, row);
	}
}

/* A backfill that reads a column it writes gives another result when a batch is redone. */
static bool backfill_idempotent(const bson_t *set)
{
	bson_iter_t it, w;
	bson_t expr;

	bson_iter_init(&it, set);
	while (bson_iter_next(&it)) {
		if (!iter_doc(&it, &expr))
			continue;
		bson_iter_init(&w, set);
		while (bson_iter_next(&w))
			if (expr_reads(&expr, bson_iter_key(&w)))
				return false;
	}
	return true;
}

/* The map's entry for a value: keys are strings, a number matches its decimal text. */
static bool map_find(const bson_t *map, const bson_iter_t *value, bson_iter_t *out)
{
	char num[32];

	if (BSON_ITER_HOLDS_UTF8(value))
		return bson_iter_init_find(out, map, bson_iter_utf8(value, NULL));
	if (BSON_ITER_HOLDS_INT32(value) || BSON_ITER_HOLDS_INT64(value)) {
		snprintf(num, sizeof num, "%lld", (long long)bson_iter_as_int64(value));
		return bson_iter_init_find(out, map, num);
	}
	return false;
}

static void map_row(const rewrite *w, const bson_t *row, bson_t *out)
{
	const char *col = doc_str(w->step, "column");
	bson_iter_t it, to;

	bson_iter_init(&it, row);
	while (bson_iter_next(&it))
		if (!strcmp(bson_iter_key(&it), col) && map_find(&w->arg, &it, &to))
			bson_append_iter(out, col, -1, &to);
		else
			bson_append_iter(out, NULL, 0, &it);
}

/* A map in which a new value is also an old one would map a redone batch twice. */
static bool map_idempotent(const bson_t *map)
{
	bson_iter_t it, hit;

	bson_iter_init(&it, map);
	while (bson_iter_next(&it))
		if (map_find(map, &it, &hit))
			return false;
	return true;
}

/*
 * Rewrites the rows [start, end) that match the step's where, in one atomic
 * replace of the table file; `from` is the checkpoint the batch starts from
 * ("" for none), recorded in the stamp of a stamped rewrite.
 */
static int write_batch(jd *c, const rewrite *w, const char *key, const char *from, uint32_t start, uint32_t end,
		       migrate_error_t *err)
{
	const char *name = doc_str(w->step, "table");
	bson_t rows = BSON_INITIALIZER, stamp = BSON_INITIALIZER;
	bson_iter_t it;
	uint32_t i = 0, n = 0;
	table t;
	int rc;

	if ((rc = table_need(c, name, &t, err)))
		return rc;
	bson_iter_init(&it, &t.rows);
	for (i = 0; bson_iter_next(&it); i++) {
		bson_t row, out = BSON_INITIALIZER;
		if (!iter_doc(&it, &row))
			continue;
		if (i >= start && i < end && row_selected(&row, w->step))
			w->row(w, &row, &out);
		else
			copy_edit(&row, &out, NULL, NULL, NULL);
		array_push_doc(&rows, &n, &out);
		bson_destroy(&out);
	}
	BSON_APPEND_UTF8(&stamp, "step", key);
	if (*from)
		BSON_APPEND_UTF8(&stamp, "from", from);
	else
		BSON_APPEND_NULL(&stamp, "from");
	BSON_APPEND_INT64(&stamp, "to", end);
	rc = table_save(c, name, &t.columns, &rows, &t.indexes, w->stamped ? &stamp : NULL, err);
	bson_destroy(&stamp);
	bson_destroy(&rows);
	bson_destroy(&t.file);
	return rc;
}

/*
 * Where a stamped rewrite really is: the stamp's end when the table's last
 * write was a batch of this step that started from the checkpoint this run
 * resumes from (its journal write was lost), else `start`.
 */
static uint32_t stamp_end(const table *t, const char *key, const char *from, uint32_t start)
{
	bson_t stamp;
	const char *s;

	if (!doc_sub(&t->file, "batch", &stamp) || !(s = doc_str(&stamp, "step")) || strcmp(s, key) != 0)
		return start;
	s = doc_str(&stamp, "from");
	return !strcmp(s ? s : "", from) ? (uint32_t)doc_int(&stamp, "to") : start;
}

/*
 * Runs a rewrite in batches of migrate_exec_batch_size() rows (all at once
 * when 0), journaling {"after": n} once each batch is on disk, so that an
 * interrupted run resumes after the last batch it journaled.
 *
 * A batch redone after a crash between its write and its journal must
 * change nothing more. Most rewrites recompute the same values, so that
 * holds by itself. The others (w->stamped) write their own journal entry
 * into the table file, in the same atomic replace as the rows: {"step":
 * this step's key, "from": the checkpoint the batch started from, "to":
 * where it ended}. A run resuming from "from" then skips to "to", and
 * journals it before the next batch, whose stamp starts there.
 */
static int run_batches(jd *c, const rewrite *w, migrate_exec_t *exec, migrate_error_t *err)
{
	const char *cp = migrate_exec_checkpoint(exec);
	uint32_t start = 0, end, total, batch = migrate_exec_batch_size(exec);
	char key[33] = "", at[64] = "";
	table t;
	int rc;

	if (cp && sscanf(cp, "{\"after\":%u}", &start) != 1)
		return fail(err, MIGRATE_EDB, "jsondir: unreadable batch checkpoint %s", cp);
	snprintf(at, sizeof at, "%s", cp ? cp : "");
	if ((rc = migrate_exec_step_key(exec, key, sizeof key)) ||
	    (rc = table_need(c, doc_str(w->step, "table"), &t, err)))
		return rc;
	total = bson_count_keys(&t.rows);
	end = w->stamped ? stamp_end(&t, key, at, start) : start;
	bson_destroy(&t.file);
	if (end != start) {
		start = end;
		snprintf(at, sizeof at, "{\"after\":%u}", start);
		if ((rc = migrate_exec_journal(exec, at, err)))
			return rc;
	}
	while (start < total) {
		end = batch && start + batch < total ? start + batch : total;
		if ((rc = write_batch(c, w, key, at, start, end, err)))
			return rc;
		snprintf(at, sizeof at, "{\"after\":%u}", end);
		if ((rc = migrate_exec_journal(exec, at, err)) || (rc = migrate_exec_batch_done(exec, end, total, err)))
			return rc;
		start = end;
	}
	return 0;
}

static int op_backfill(jd *c, const bson_t *step, migrate_exec_t *exec, migrate_error_t *err)
{
	rewrite w = {step, BSON_INITIALIZER, backfill_row, false};

	doc_sub(step, "set", &w.arg);
	w.stamped = !backfill_idempotent(&w.arg);
	return run_batches(c, &w, exec, err);
}

static int op_map_values(jd *c, const bson_t *step, migrate_exec_t *exec, migrate_error_t *err)
{
	rewrite w = {step, BSON_INITIALIZER, map_row, false};

	doc_sub(step, "map", &w.arg);
	w.stamped = !map_idempotent(&w.arg);
	return run_batches(c, &w, exec, err);
}

/* ---- indexes: recorded in the table file, enforced when unique ---- */

/* The index document a create_index step records (how it is built, "online", is not kept). */
static void index_doc(const bson_t *step, bson_t *out)
{
	bson_t keys, where;
	bson_iter_t it;

	BSON_APPEND_UTF8(out, "name", doc_str(step, "name"));
	doc_sub(step, "keys", &keys);
	BSON_APPEND_ARRAY(out, "keys", &keys);
	BSON_APPEND_BOOL(out, "unique", bson_iter_init_find(&it, step, "unique") && bson_iter_as_bool(&it));
	if (doc_sub(step, "where", &where))
		BSON_APPEND_DOCUMENT(out, "where", &where);
}

static bool find_index(const table *t, const char *name, bson_t *out)
{
	bson_iter_t it;

	bson_iter_init(&it, &t->indexes);
	while (bson_iter_next(&it))
		if (iter_doc(&it, out) && doc_str(out, "name") && !strcmp(doc_str(out, "name"), name))
			return true;
	return false;
}

static bool same_json(const bson_t *a, const bson_t *b)
{
	char *x = to_json(a, false), *y = to_json(b, false);
	bool same = !strcmp(x, y);

	bson_free(x);
	bson_free(y);
	return same;
}

static int cmp_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A row's key tuple as JSON, or NULL when a key is null (nulls never collide, as in SQL). */
static char *key_tuple(const bson_t *row, const bson_t *keys)
{
	bson_t tuple = BSON_INITIALIZER, key;
	bson_iter_t k, v;
	char *json = NULL;
	uint32_t n = 0;
	char idx[16];
	const char *ik;

	bson_iter_init(&k, keys);
	while (bson_iter_next(&k)) {
		if (!iter_doc(&k, &key) || !bson_iter_init_find(&v, row, doc_str(&key, "column")) ||
		    BSON_ITER_HOLDS_NULL(&v))
			goto cleanup;
		bson_uint32_to_string(n++, &ik, idx, sizeof idx);
		bson_append_iter(&tuple, ik, -1, &v);
	}
	json = to_json(&tuple, true);
cleanup:
	bson_destroy(&tuple);
	return json;
}

/* A unique index must hold for the rows it covers when it is created. */
static int check_unique(const char *table_name, const table *t, const bson_t *idx, migrate_error_t *err)
{
	bson_iter_t it;
	bson_t row, keys;
	char **tuples = calloc(bson_count_keys(&t->rows) + 1, sizeof *tuples);
	size_t n = 0, i;
	int rc = 0;

	if (!tuples)
		return fail(err, MIGRATE_ENOMEM, "out of memory");
	if (!bson_iter_init_find(&it, idx, "unique") || !bson_iter_as_bool(&it))
		goto cleanup;
	doc_sub(idx, "keys", &keys);
	bson_iter_init(&it, &t->rows);
	while (bson_iter_next(&it))
		if (iter_doc(&it, &row) && row_selected(&row, idx) && (tuples[n] = key_tuple(&row, &keys)) != NULL)
			n++;
	qsort(tuples, n, sizeof *tuples, cmp_strings);
	for (i = 1; i < n && rc == 0; i++)
		if (!strcmp(tuples[i - 1], tuples[i]))
			rc = fail(err, MIGRATE_EDB, "jsondir: unique index \"%s\" of \"%s\": duplicate key %s",
				  doc_str(idx, "name"), table_name, tuples[i]);
cleanup:
	for (i = 0; i < n; i++)
		bson_free(tuples[i]);
	free(tuples);
	return rc;
}

static int check_index_columns(const char *table_name, const table *t, const bson_t *idx, migrate_error_t *err)
{
	bson_t keys, key;
	bson_iter_t it;

	doc_sub(idx, "keys", &keys);
	bson_iter_init(&it, &keys);
	while (bson_iter_next(&it))
		if (iter_doc(&it, &key) && !has_column(t, doc_str(&key, "column")))
			return fail(err, MIGRATE_EDB, "jsondir: index \"%s\": table \"%s\" has no column \"%s\"",
				    doc_str(idx, "name"), table_name, doc_str(&key, "column"));
	return 0;
}

static int op_create_index(jd *c, const bson_t *step, migrate_error_t *err)
{
	const char *name = doc_str(step, "table");
	bson_t want = BSON_INITIALIZER, have, indexes = BSON_INITIALIZER;
	bson_iter_t it;
	uint32_t n = 0;
	table t;
	int rc;

	if ((rc = table_need(c, name, &t, err)))
		goto out;
	index_doc(step, &want);
	if (find_index(&t, doc_str(step, "name"), &have)) {
		/* Made by an interrupted run when it is the same index. */
		if (!same_json(&have, &want))
			rc = fail(err, MIGRATE_EDB, "jsondir: table \"%s\" already has an index \"%s\"", name,
				  doc_str(step, "name"));
		goto cleanup;
	}
	if ((rc = check_index_columns(name, &t, &want, err)) || (rc = check_unique(name, &t, &want, err)))
		goto cleanup;
	bson_iter_init(&it, &t.indexes);
	while (bson_iter_next(&it))
		if (iter_doc(&it, &have))
			array_push_doc(&indexes, &n, &have);
	array_push_doc(&indexes, &n, &want);
	rc = table_save(c, name, &t.columns, &t.rows, &indexes, NULL, err);
cleanup:
	bson_destroy(&t.file);
out:
	bson_destroy(&want);
	bson_destroy(&indexes);
	return rc;
}

static int op_drop_index(jd *c, const bson_t *step, migrate_error_t *err)
{
	const char *name = doc_str(step, "table"), *index = doc_str(step, "name");
	bson_t indexes = BSON_INITIALIZER, idx;
	bson_iter_t it;
	uint32_t n = 0;
	table t;
	int rc;

	if ((rc = table_need(c, name, &t, err)))
		return rc;
	if (find_index(&t, index, &idx)) {
		bson_iter_init(&it, &t.indexes);
		while (bson_iter_next(&it))
			if (iter_doc(&it, &idx) && strcmp(doc_str(&idx, "name"), index) != 0)
				array_push_doc(&indexes, &n, &idx);
		rc = table_save(c, name, &t.columns, &t.rows, &indexes, NULL, err);
	} /* else dropped already, by an interrupted run */
	bson_destroy(&indexes);
	bson_destroy(&t.file);
	return rc;
}

/* ---- raw commands ---- */

/*
 * jsondir's own JSON commands, for "command" steps (one object or an array):
 *   {"insert": table, "documents": [rows]}   appends the rows
 *   {"delete": table, "where": filter}       removes the matching rows
 * Each command is one atomic replace of the table file. A command step is
 * journaled after it ran, so a process that dies in between runs it again:
 * at least once, as raw steps are on stores without transactions.
 */
static int check_command(jd *c, const bson_t *cmd, migrate_error_t *err)
{
	const char *table_name = doc_str(cmd, "insert") ? doc_str(cmd, "insert") : doc_str(cmd, "delete");
	bson_t sub, empty = BSON_INITIALIZER;
	bson_iter_t it;
	bool bad = false;

	(void)c;
	if (!table_name || bson_count_keys(cmd) != 2)
		return fail(err, MIGRATE_EUNSUPPORTED,
			    "jsondir: a command is {\"insert\": table, \"documents\": [rows]} or "
			    "{\"delete\": table, \"where\": filter}");
	if (doc_str(cmd, "insert")) {
		if (!bson_iter_init_find(&it, cmd, "documents") || !BSON_ITER_HOLDS_ARRAY(&it) ||
		    !doc_sub(cmd, "documents", &sub))
			return fail(err, MIGRATE_EUNSUPPORTED, "jsondir: insert needs \"documents\": [rows]");
		bson_iter_init(&it, &sub);
		while (bson_iter_next(&it))
			if (!BSON_ITER_HOLDS_DOCUMENT(&it))
				return fail(err, MIGRATE_EUNSUPPORTED,
					    "jsondir: insert: every document must be an object");
	} else {
		if (!bson_iter_init_find(&it, cmd, "where") || !iter_doc(&it, &sub))
			return fail(err, MIGRATE_EUNSUPPORTED, "jsondir: delete needs \"where\": filter");
		filter_holds(&empty, &sub, &bad);
		if (bad)
			return fail(err, MIGRATE_EUNSUPPORTED,
				    "jsondir: delete: the where is not a filter of the catalog");
	}
	return check_name(table_name, "table", err);
}

static int run_command(jd *c, const bson_t *cmd, migrate_error_t *err)
{
	const char *name = doc_str(cmd, "insert") ? doc_str(cmd, "insert") : doc_str(cmd, "delete");
	bson_t rows = BSON_INITIALIZER, row, where, docs;
	bson_iter_t it;
	uint32_t n = 0;
	bool bad = false;
	table t;
	int rc;

	if ((rc = table_need(c, name, &t, err)))
		return rc;
	doc_sub(cmd, "where", &where);
	bson_iter_init(&it, &t.rows);
	while (bson_iter_next(&it))
		if (iter_doc(&it, &row) && !(doc_str(cmd, "delete") && filter_holds(&row, &where, &bad)))
			array_push_doc(&rows, &n, &row);
	if (doc_sub(cmd, "documents", &docs)) {
		bson_iter_init(&it, &docs);
		while (bson_iter_next(&it))
			if (iter_doc(&it, &row))
				array_push_doc(&rows, &n, &row);
	}
	rc = table_save(c, name, &t.columns, &rows, &t.indexes, NULL, err);
	bson_destroy(&rows);
	bson_destroy(&t.file);
	return rc;
}

/* Calls fn on the command object, or on each of an array of them, at `key` of a command step. */
static int each_command(jd *c, const bson_t *step, const char *key, int (*fn)(jd *, const bson_t *, migrate_error_t *),
			migrate_error_t *err)
{
	bson_iter_t it, a;
	bson_t cmd;
	int rc = 0;

	if (!bson_iter_init_find(&it, step, key))
		return 0;
	if (iter_doc(&it, &cmd))
		return fn(c, &cmd, err);
	if (bson_iter_recurse(&it, &a))
		while (rc == 0 && bson_iter_next(&a))
			rc = iter_doc(&a, &cmd) ? fn(c, &cmd, err)
						: fail(err, MIGRATE_EUNSUPPORTED, "jsondir: not a command");
	return rc;
}

/* ---- assertions ---- */

static int op_assert_count(jd *c, const bson_t *step, migrate_error_t *err)
{
	bson_t count, cmp, row;
	bson_iter_t it;
	const char *name, *op = "$eq", *msg = doc_str(step, "message");
	int64_t want, have = 0;
	bool ok;
	table t;
	int rc;

	doc_sub(step, "count", &count);
	name = doc_str(&count, "table");
	if ((rc = table_need(c, name, &t, err)))
		return rc;
	bson_iter_init(&it, &t.rows);
	while (bson_iter_next(&it))
		if (iter_doc(&it, &row) && row_selected(&row, &count))
			have++;
	bson_destroy(&t.file);
	if (doc_sub(step, "expect", &cmp) && bson_iter_init(&it, &cmp) && bson_iter_next(&it)) {
		op = bson_iter_key(&it);
		want = bson_iter_as_int64(&it);
	} else {
		want = doc_int(step, "expect");
	}
	if (!strcmp(op, "$eq"))
		ok = have == want;
	else if (!strcmp(op, "$ne"))
		ok = have != want;
	else if (!strcmp(op, "$lt"))
		ok = have < want;
	else if (!strcmp(op, "$lte"))
		ok = have <= want;
	else if (!strcmp(op, "$gt"))
		ok = have > want;
	else
		ok = have >= want;
	if (ok)
		return 0;
	return fail(err, MIGRATE_EASSERT, "jsondir: assert count(%s) %s %lld failed: %lld rows%s%s", name, op,
		    (long long)want, (long long)have, msg ? ": " : "", msg ? msg : "");
}

/* ---- the driver interface ---- */

static int jd_open(const char *url, void **conn, migrate_error_t *err)
{
	const char *path = url + strlen("jsondir:");
	struct stat st;
	jd *c;

	*conn = NULL;
	if (strncmp(url, "jsondir:", 8) != 0 || !*path)
		return fail(err, MIGRATE_ECONNECT, "jsondir: expected jsondir:/path/to/dir, got \"%s\"", url);
	if (strlen(path) >= sizeof c->dir)
		return fail(err, MIGRATE_ECONNECT, "jsondir: path too long");
	if (mkdir(path, 0777) != 0 && errno != EEXIST)
		return fail(err, MIGRATE_ECONNECT, "jsondir: cannot create %s: %s", path, strerror(errno));
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return fail(err, MIGRATE_ECONNECT, "jsondir: %s is not a directory", path);
	c = calloc(1, sizeof *c);
	if (!c)
		return fail(err, MIGRATE_ENOMEM, "out of memory");
	snprintf(c->dir, sizeof c->dir, "%s", path);
	*conn = c;
	return 0;
}

static void jd_close(void *conn)
{
	free(conn);
}

/* Custom steps get the directory path. */
static void *jd_native(void *conn)
{
	return ((jd *)conn)->dir;
}

static int unsupported(const char *op, const char *why, migrate_error_t *err)
{
	return fail(err, MIGRATE_EUNSUPPORTED, "jsondir cannot express %s: %s", op, why);
}

static int check_backfill(const bson_t *d, migrate_error_t *err)
{
	bson_t set, expr;
	bson_iter_t it;

	doc_sub(d, "set", &set);
	bson_iter_init(&it, &set);
	while (bson_iter_next(&it)) {
		if (!iter_doc(&it, &expr))
			return unsupported("backfill", "a set value that is not an expression", err);
		if (bson_has_field(&expr, "sql"))
			return unsupported("backfill",
					   "{\"sql\": ...} expressions (no SQL; see {\"mongo\": {\"$add\": ...}})",
					   err);
		if (bson_has_field(&expr, "count"))
			return unsupported("backfill", "{\"count\": ...} expressions", err);
		if (bson_has_field(&expr, "mongo") && !add_terms_ok(&expr))
			return unsupported(
				"backfill",
				"raw expressions other than {\"mongo\": {\"$add\": [\"$column\" or integer, ...]}}",
				err);
	}
	return 0;
}

static int check_default(const bson_t *d, migrate_error_t *err)
{
	bson_t col, dflt;

	doc_sub(d, "column", &col);
	if (bson_has_field(&col, "default") && !(doc_sub(&col, "default", &dflt) && bson_has_field(&dflt, "value")))
		return unsupported("add_column", "defaults other than {\"value\": v}", err);
	return 0;
}

/* The table a step works on: "table", or an assert's count.table. */
static const char *step_table(const bson_t *d)
{
	bson_t count;

	if (doc_str(d, "table"))
		return doc_str(d, "table");
	return doc_sub(d, "count", &count) ? doc_str(&count, "table") : NULL;
}

static int jd_check_step(void *conn, const migrate_step_t *step, migrate_error_t *err)
{
	const bson_t *d = migrate_step_document(step);
	const char *op = migrate_step_op_name(step);
	int rc;

	if (!strcmp(op, "rename_table")) {
		if ((rc = check_name(doc_str(d, "from"), "table", err)))
			return rc;
		return check_name(doc_str(d, "to"), "table", err);
	}
	if (!strcmp(op, "command")) {
		if ((rc = each_command(conn, d, "up", check_command, err)))
			return rc;
		return each_command(conn, d, "down", check_command, err);
	}
	if (!strcmp(op, "assert") && !bson_has_field(d, "count"))
		return unsupported("assert", "only count assertions", err);
	if (!strcmp(op, "sql"))
		return unsupported(op, "there is no SQL; use a command step", err);
	if (!strcmp(op, "create_enum") || !strcmp(op, "drop_enum"))
		return unsupported(op, "JSON values have no enum types", err);
	if (strcmp(op, "create_table") && strcmp(op, "drop_table") && strcmp(op, "add_column") &&
	    strcmp(op, "drop_column") && strcmp(op, "rename_column") && strcmp(op, "create_index") &&
	    strcmp(op, "drop_index") && strcmp(op, "map_values") && strcmp(op, "backfill") && strcmp(op, "assert"))
		return unsupported(op, "not implemented by this driver", err);
	if ((rc = check_name(step_table(d), "table", err)))
		return rc;
	if (!strcmp(op, "add_column"))
		return check_default(d, err);
	if (!strcmp(op, "backfill"))
		return check_backfill(d, err);
	return 0;
}

/* Written from <migrate/driver.h> alone, as a third party would: a switch over migrate_op_t. */
static int jd_render_step(void *conn, const migrate_step_t *step, migrate_buf_t *out, migrate_error_t *err)
{
	const bson_t *d = migrate_step_document(step);
	char *json = to_json(d, false);

	(void)conn;
	(void)err;
	switch (migrate_step_op(step)) {
	case MIGRATE_OP_CREATE_TABLE: migrate_buf_printf(out, "create %s.json\n", doc_str(d, "table")); break;
	case MIGRATE_OP_DROP_TABLE: migrate_buf_printf(out, "remove %s.json\n", doc_str(d, "table")); break;
	case MIGRATE_OP_RENAME_TABLE:
		migrate_buf_printf(out, "rename %s.json to %s.json\n", doc_str(d, "from"), doc_str(d, "to"));
		break;
	case MIGRATE_OP_COMMAND: migrate_buf_printf(out, "run commands: %s\n", json); break;
	case MIGRATE_OP_ASSERT: migrate_buf_printf(out, "check %s.json: %s\n", step_table(d), json); break;
	default: migrate_buf_printf(out, "rewrite %s.json: %s\n", doc_str(d, "table"), json); break;
	}
	bson_free(json);
	return 0;
}

static int jd_apply_step(void *conn, const migrate_step_t *step, migrate_exec_t *exec, migrate_error_t *err)
{
	const bson_t *d = migrate_step_document(step);
	const char *op = migrate_step_op_name(step);

	if (!strcmp(op, "create_table"))
		return op_create_table(conn, d, err);
	if (!strcmp(op, "drop_table"))
		return op_drop_table(conn, d, err);
	if (!strcmp(op, "rename_table"))
		return op_rename_table(conn, d, err);
	if (!strcmp(op, "add_column"))
		return op_add_column(conn, d, err);
	if (!strcmp(op, "drop_column"))
		return edit_column(conn, doc_str(d, "table"), doc_str(d, "column"), NULL, err);
	if (!strcmp(op, "rename_column"))
		return edit_column(conn, doc_str(d, "table"), doc_str(d, "from"), doc_str(d, "to"), err);
	if (!strcmp(op, "create_index"))
		return op_create_index(conn, d, err);
	if (!strcmp(op, "drop_index"))
		return op_drop_index(conn, d, err);
	if (!strcmp(op, "map_values"))
		return op_map_values(conn, d, exec, err);
	if (!strcmp(op, "backfill"))
		return op_backfill(conn, d, exec, err);
	if (!strcmp(op, "assert"))
		return op_assert_count(conn, d, err);
	if (!strcmp(op, "command"))
		return each_command(conn, d, "up", run_command, err);
	return unsupported(op, "not implemented by this driver", err);
}

/* ---- history: one file per (plan, version) ---- */

static int history_dir(const jd *c, const char *plan, char *out, size_t size, migrate_error_t *err)
{
	int rc;

	if ((rc = check_name(plan, "plan", err)))
		return rc;
	snprintf(out, size, "%s/_history/%s", c->dir, plan);
	return 0;
}

static int jd_history_ensure(void *conn, migrate_error_t *err)
{
	char path[PATH_MAX];

	snprintf(path, sizeof path, "%s/_history", ((jd *)conn)->dir);
	return mkdir_if_missing(path, err);
}

static void put_opt_str(bson_t *doc, const char *key, const char *value)
{
	if (value)
		BSON_APPEND_UTF8(doc, key, value);
	else
		BSON_APPEND_NULL(doc, key);
}

static int jd_history_write(void *conn, const char *plan, const migrate_record_t *r, migrate_error_t *err)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];
	bson_t doc = BSON_INITIALIZER;
	int rc;

	if ((rc = history_dir(conn, plan, dir, sizeof dir, err)) || (rc = jd_history_ensure(conn, err)) ||
	    (rc = mkdir_if_missing(dir, err)))
		return rc;
	snprintf(path, sizeof path, "%s/%llu.json", dir, (unsigned long long)r->version);
	BSON_APPEND_INT64(&doc, "version", (int64_t)r->version);
	put_opt_str(&doc, "name", r->name);
	put_opt_str(&doc, "checksum", r->checksum);
	BSON_APPEND_INT32(&doc, "state", r->state);
	BSON_APPEND_INT64(&doc, "steps_done", r->steps_done);
	put_opt_str(&doc, "checkpoint", r->checkpoint);
	BSON_APPEND_INT64(&doc, "started_at_ms", r->started_at_ms);
	BSON_APPEND_INT64(&doc, "finished_at_ms", r->finished_at_ms);
	BSON_APPEND_INT64(&doc, "duration_ms", r->duration_ms);
	put_opt_str(&doc, "applied_by", r->applied_by);
	put_opt_str(&doc, "error", r->error);
	put_opt_str(&doc, "lib_version", r->lib_version);
	rc = save_doc(path, &doc, err);
	bson_destroy(&doc);
	return rc;
}

static int read_record(const char *path, migrate_record_fn fn, void *ctx, migrate_error_t *err)
{
	migrate_record_t r;
	bson_t doc;
	bool exists;
	int rc;

	if ((rc = load_doc(path, &doc, &exists, err)) || !exists) {
		bson_destroy(&doc);
		return rc;
	}
	memset(&r, 0, sizeof r);
	r.version = (uint64_t)doc_int(&doc, "version");
	r.name = doc_str(&doc, "name");
	r.checksum = doc_str(&doc, "checksum");
	r.state = (int)doc_int(&doc, "state");
	r.steps_done = (uint32_t)doc_int(&doc, "steps_done");
	r.checkpoint = doc_str(&doc, "checkpoint");
	r.started_at_ms = doc_int(&doc, "started_at_ms");
	r.finished_at_ms = doc_int(&doc, "finished_at_ms");
	r.duration_ms = doc_int(&doc, "duration_ms");
	r.applied_by = doc_str(&doc, "applied_by");
	r.error = doc_str(&doc, "error");
	r.lib_version = doc_str(&doc, "lib_version");
	rc = fn(&r, ctx);
	bson_destroy(&doc);
	return rc;
}

static int jd_history_read(void *conn, const char *plan, migrate_record_fn fn, void *ctx, migrate_error_t *err)
{
	char dir[PATH_MAX], path[PATH_MAX + 300];
	struct dirent *e;
	DIR *d;
	int rc = 0;

	if ((rc = history_dir(conn, plan, dir, sizeof dir, err)))
		return rc;
	if (!(d = opendir(dir)))
		return errno == ENOENT ? 0 : fail_errno(err, "cannot read", dir);
	while (rc == 0 && (e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		if (n < 6 || strcmp(e->d_name + n - 5, ".json") != 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		rc = read_record(path, fn, ctx, err);
	}
	closedir(d);
	return rc;
}

static int jd_history_delete(void *conn, const char *plan, uint64_t version, migrate_error_t *err)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];
	int rc;

	if ((rc = history_dir(conn, plan, dir, sizeof dir, err)))
		return rc;
	snprintf(path, sizeof path, "%s/%llu.json", dir, (unsigned long long)version);
	if (unlink(path) != 0 && errno != ENOENT)
		return fail_errno(err, "cannot remove", path);
	return 0;
}

/* ---- the lock: a directory made with mkdir, holding the holder's pid ---- */

static int lock_paths(const jd *c, const char *plan, char *lock, char *pidfile, migrate_error_t *err)
{
	int rc;

	if ((rc = check_name(plan, "plan", err)))
		return rc;
	snprintf(lock, PATH_MAX, "%s/_lock_%s", c->dir, plan);
	snprintf(pidfile, PATH_MAX + 8, "%s/pid", lock);
	return 0;
}

/* The pid in a lock directory; 0 when none is written (yet). */
static long lock_pid(const char *pidfile)
{
	char *text = jsondir_read_text(pidfile);
	long pid = text ? strtol(text, NULL, 10) : 0;

	bson_free(text);
	return pid > 0 ? pid : 0;
}

static bool pid_alive(long pid)
{
	return kill((pid_t)pid, 0) == 0 || errno != ESRCH;
}

/*
 * Moves a dead holder's lock out of the way. Renaming is atomic, so of
 * several runs taking over at once one wins; a run that finds it moved a
 * live lock (taken over by a faster run in between) puts it back.
 */
static void lock_take_over(const char *lock, long dead)
{
	char stale[PATH_MAX + 64], pidfile[PATH_MAX + 80];

	snprintf(stale, sizeof stale, "%s.stale.%ld", lock, (long)getpid());
	if (rename(lock, stale) != 0)
		return;
	snprintf(pidfile, sizeof pidfile, "%s/pid", stale);
	if (lock_pid(pidfile) != dead) {
		if (rename(stale, lock) == 0)
			return;
	}
	unlink(pidfile);
	rmdir(stale);
}

static int jd_lock_try(void *conn, const char *plan, migrate_error_t *err)
{
	char lock[PATH_MAX], pidfile[PATH_MAX + 8], text[32], when[64];
	struct stat st;
	int attempt, rc;
	long pid;

	if ((rc = lock_paths(conn, plan, lock, pidfile, err)))
		return rc;
	for (attempt = 0; attempt < 2; attempt++) {
		if (mkdir(lock, 0777) == 0) {
			snprintf(text, sizeof text, "%ld\n", (long)getpid());
			if (write_atomic(pidfile, text, err)) {
				rmdir(lock);
				return MIGRATE_EDB;
			}
			return 0;
		}
		if (errno != EEXIST)
			return fail_errno(err, "cannot create lock", lock);
		pid = lock_pid(pidfile);
		if (stat(lock, &st) != 0)
			continue; /* released in between */
		if (pid == 0 && time(NULL) - st.st_mtime < LOCK_UNBORN_STALE_S)
			return fail(err, MIGRATE_ELOCKED, "jsondir: plan \"%s\" is being locked by another run", plan);
		if (pid != 0 && pid_alive(pid)) {
			strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime(&st.st_mtime));
			return fail(err, MIGRATE_ELOCKED, "jsondir: plan \"%s\" is locked by pid %ld since %s", plan,
				    pid, when);
		}
		lock_take_over(lock, pid);
	}
	return fail(err, MIGRATE_ELOCKED, "jsondir: plan \"%s\": lock taken over by another run", plan);
}

static int jd_lock_release(void *conn, const char *plan, migrate_error_t *err)
{
	char lock[PATH_MAX], pidfile[PATH_MAX + 8];
	long pid;
	int rc;

	if ((rc = lock_paths(conn, plan, lock, pidfile, err)))
		return rc;
	pid = lock_pid(pidfile);
	if (pid != (long)getpid())
		return fail(err, MIGRATE_ELOCKLOST,
			    "jsondir: the lock of plan \"%s\" is held by pid %ld, not this process", plan, pid);
	if (unlink(pidfile) != 0 || rmdir(lock) != 0)
		return fail_errno(err, "cannot remove lock", lock);
	return 0;
}

static const char *const jd_schemes[] = {"jsondir", NULL};

static const migrate_driver_t jd_driver = {
	MIGRATE_DRIVER_VERSION,
	"jsondir",
	jd_schemes,
	jd_open,
	jd_close,
	jd_native,
	jd_check_step,
	NULL, /* step_flags: without transactions every step runs on its own */
	jd_render_step,
	jd_apply_step,
	jd_history_ensure,
	jd_history_read,
	jd_history_write,
	jd_history_delete,
	jd_lock_try,
	jd_lock_release,
	NULL, /* begin */
	NULL, /* commit */
	NULL, /* rollback */
	NULL, /* schema_read: no drift detection */
	NULL, /* schema_type */
	NULL, /* table_rows: lint knows no sizes */
	NULL, /* sync: every write is in place when it returns */
};

const migrate_driver_t *jsondir_driver(void)
{
	return &jd_driver;
}

int jsondir_register(migrate_error_t *err)
{
	return migrate_driver_register(&jd_driver, err);
}

/* ---- helpers for custom steps ---- */

int jsondir_insert_row(const char *dir, const char *table_name, const char *row_json, migrate_error_t *err)
{
	bson_t row, rows = BSON_INITIALIZER;
	bson_error_t berr;
	bson_iter_t it;
	uint32_t n = 0;
	jd c;
	table t;
	int rc;

	snprintf(c.dir, sizeof c.dir, "%s", dir);
	if (!bson_init_from_json(&row, row_json, -1, &berr))
		return fail(err, MIGRATE_EJSON, "jsondir: bad row: %s", berr.message);
	if ((rc = table_need(&c, table_name, &t, err)) == 0) {
		bson_iter_init(&it, &t.rows);
		while (bson_iter_next(&it)) {
			bson_t one;
			if (iter_doc(&it, &one))
				array_push_doc(&rows, &n, &one);
		}
		array_push_doc(&rows, &n, &row);
		rc = table_save(&c, table_name, &t.columns, &rows, &t.indexes, NULL, err);
		bson_destroy(&t.file);
	}
	bson_destroy(&rows);
	bson_destroy(&row);
	return rc;
}

int jsondir_delete_rows(const char *dir, const char *table_name, const char *column, int64_t value,
			migrate_error_t *err)
{
	bson_t rows = BSON_INITIALIZER;
	bson_iter_t it;
	uint32_t n = 0;
	jd c;
	table t;
	int rc;

	snprintf(c.dir, sizeof c.dir, "%s", dir);
	if ((rc = table_need(&c, table_name, &t, err)) == 0) {
		bson_iter_init(&it, &t.rows);
		while (bson_iter_next(&it)) {
			bson_t one;
			bson_iter_t v;
			if (!iter_doc(&it, &one))
				continue;
			if (bson_iter_init_find(&v, &one, column) &&
			    (BSON_ITER_HOLDS_INT32(&v) || BSON_ITER_HOLDS_INT64(&v)) && bson_iter_as_int64(&v) == value)
				continue;
			array_push_doc(&rows, &n, &one);
		}
		rc = table_save(&c, table_name, &t.columns, &rows, &t.indexes, NULL, err);
		bson_destroy(&t.file);
	}
	bson_destroy(&rows);
	return rc;
}

/* ---- test support ---- */

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_into(const char *dir, const char *prefix, char ***names, size_t *n, size_t *cap)
{
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		char path[PATH_MAX], name[PATH_MAX];
		struct stat st;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		snprintf(name, sizeof name, "%s%s", prefix, e->d_name);
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 16;
			*names = realloc(*names, *cap * sizeof **names);
		}
		(*names)[(*n)++] = strdup(name);
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			char sub[PATH_MAX + 1];
			snprintf(sub, sizeof sub, "%s/", name);
			list_into(path, sub, names, n, cap);
		}
	}
	closedir(d);
}

char *jsondir_list(const char *dir)
{
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	migrate_buf_t *s = buf_new(NULL);

	list_into(dir, "", &names, &n, &cap);
	if (n)
		qsort(names, n, sizeof *names, cmp_names);
	for (i = 0; i < n; i++) {
		if (i)
			migrate_buf_append_c(s, ',');
		migrate_buf_append(s, names[i]);
		free(names[i]);
	}
	free(names);
	return buf_free(s, false);
}
