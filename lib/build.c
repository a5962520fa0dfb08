/*
 * The typed builders: each makes the same step document a plan file would
 * hold, then hands it to the one path every step takes (add_doc), which
 * validates it in place and appends it.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int add_doc(migrate_version_t *v, bson_t *doc, migrate_step_t **out, migrate_error_t *err)
{
	migrate_step_t *s;
	char place[512];
	int rc;

	if (out)
		*out = NULL;
	if (!v) {
		bson_destroy(doc);
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL, "version is NULL");
	}
	snprintf(place, sizeof place, "version %llu (\"%s\"), step %zu (%s)", (unsigned long long)v->id,
		 v->name ? v->name : "", v->nsteps + 1,
		 migrate__doc_str(doc, "op") ? migrate__doc_str(doc, "op") : "?");
	rc = migrate__step_validate(doc, place, err);
	if (rc == 0) {
		s = migrate__step_new(doc);
		if (!s)
			rc = migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_ENOMEM, "out of memory");
		else if ((rc = migrate__version_push(v, s, err)) == 0 && out)
			*out = s;
	}
	bson_destroy(doc);
	return rc;
}

/* Re-validates a step after an edit; on failure the edit is undone. */
static int replace_doc(migrate_step_t *s, bson_t *doc, migrate_error_t *err)
{
	char place[512];
	int rc;

	migrate__step_place(s, place, sizeof place);
	rc = migrate__step_validate(doc, place, err);
	if (rc == 0) {
		bson_destroy(&s->doc);
		bson_copy_to(doc, &s->doc);
		migrate__version_changed(s->version);
	}
	bson_destroy(doc);
	return rc;
}

/* Prefixes err's message with the step's place (version, step, op). */
static void step_fail_place(const migrate_step_t *s, migrate_error_t *err)
{
	char place[512];

	migrate__step_place(s, place, sizeof place);
	migrate__err_prefix(err, "%s: ", place);
}

/* Copies `s` into `doc` without the key `skip`. */
static void copy_except(const migrate_step_t *s, bson_t *doc, const char *skip)
{
	bson_init(doc);
	bson_copy_to_excluding_noinit(&s->doc, doc, skip, NULL);
}

static void put_str(bson_t *doc, const char *key, const char *val)
{
	if (val)
		BSON_APPEND_UTF8(doc, key, val);
}

static void put_strings(bson_t *doc, const char *key, const char *const *vals, size_t n)
{
	bson_t arr;
	char idx[16];
	const char *k;
	size_t i;

	BSON_APPEND_ARRAY_BEGIN(doc, key, &arr);
	for (i = 0; i < n; i++) {
		bson_uint32_to_string((uint32_t)i, &k, idx, sizeof idx);
		bson_append_utf8(&arr, k, -1, vals[i] ? vals[i] : "", -1);
	}
	bson_append_array_end(doc, &arr);
}

/* Appends parsed JSON under `key`; `array` selects the expected shape. */
static int put_json(bson_t *doc, const char *key, const char *json, bool array, migrate_error_t *err)
{
	bson_t parsed;
	int rc = migrate__json_parse(json, array, &parsed, err);

	if (rc == 0) {
		if (array)
			BSON_APPEND_ARRAY(doc, key, &parsed);
		else
			BSON_APPEND_DOCUMENT(doc, key, &parsed);
	} else {
		migrate__err_prefix(err, "%s: ", key);
	}
	bson_destroy(&parsed);
	return rc;
}

/* A JSON value of any kind (scalar, object, array) under `key`. */
static int put_json_value(bson_t *doc, const char *key, const char *json, migrate_error_t *err)
{
	migrate_buf_t *w = migrate__buf_new("{\"v\":");
	bson_t parsed;
	int rc;

	migrate_buf_append(w, json ? json : "null");
	migrate_buf_append(w, "}");
	rc = migrate__json_parse(w->str, false, &parsed, err);
	migrate__buf_free(w, true);
	if (rc == 0) {
		bson_iter_t it;
		if (bson_count_keys(&parsed) == 1 && migrate__doc_find(&it, &parsed, "v"))
			bson_append_iter(doc, key, -1, &it);
		else
			rc = migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EJSON, "%s: malformed JSON value", key);
	} else {
		migrate__err_prefix(err, "%s: ", key);
	}
	bson_destroy(&parsed);
	return rc;
}

static int column_doc(const migrate_column_t *col, bson_t *out, migrate_error_t *err)
{
	bson_init(out);
	if (!col || col->version != MIGRATE_COLUMN_VERSION)
		return migrate__err(err, MIGRATE_DOMAIN_API, col ? MIGRATE_EVERSION : MIGRATE_EINVAL, "column: %s",
				    col ? "unknown struct version" : "is NULL");
	put_str(out, "name", col->name);
	if (col->sql_type) {
		bson_t t;
		BSON_APPEND_DOCUMENT_BEGIN(out, "type", &t);
		BSON_APPEND_UTF8(&t, "sql", col->sql_type);
		bson_append_document_end(out, &t);
	} else {
		put_str(out, "type", col->type);
	}
	if (col->default_json && put_json_value(out, "default", col->default_json, err))
		return err ? err->code : MIGRATE_EJSON;
	if (!col->nullable)
		BSON_APPEND_BOOL(out, "nullable", false);
	if (col->unique)
		BSON_APPEND_BOOL(out, "unique", true);
	if (col->references_table || col->references_column) {
		bson_t r;
		BSON_APPEND_DOCUMENT_BEGIN(out, "references", &r);
		put_str(&r, "table", col->references_table);
		put_str(&r, "column", col->references_column);
		put_str(&r, "on_delete", col->on_delete);
		bson_append_document_end(out, &r);
	}
	return 0;
}

int migrate_column_init(migrate_column_t *col, unsigned version)
{
	migrate_column_t dflt = MIGRATE_COLUMN_INIT;

	if (!col)
		return MIGRATE_EINVAL;
	if (version != MIGRATE_COLUMN_VERSION)
		return MIGRATE_EVERSION;
	*col = dflt;
	return 0;
}

int migrate_version_add_step_json(migrate_version_t *v, const char *json, migrate_step_t **out, migrate_error_t *err)
{
	bson_t doc;
	int rc = migrate__json_parse(json, false, &doc, err);

	if (rc) {
		if (out)
			*out = NULL;
		if (v)
			migrate__err_prefix(err, "version %llu, step %zu: ", (unsigned long long)v->id, v->nsteps + 1);
		bson_destroy(&doc);
		return rc;
	}
	return add_doc(v, &doc, out, err);
}

static void begin_doc(bson_t *doc, const char *op)
{
	bson_init(doc);
	BSON_APPEND_UTF8(doc, "op", op);
}

/*
 * create_table and backfill start without their list (columns, set): such a
 * step is only valid once the first entry is added, so it is pushed as is
 * and validated again by every edit and every run.
 */
static int open_step(migrate_version_t *v, const char *op, const char *table, const char *list, bool array,
		     migrate_step_t **out, migrate_error_t *err)
{
	migrate_step_t *s;
	bson_t doc, sub;
	const char *why;

	if (out)
		*out = NULL;
	if (!v)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL, "version is NULL");
	if (!table || !migrate__ident_ok(table, strlen(table), &why))
		return migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EPLAN,
				    "version %llu, step %zu (%s): table: invalid identifier: it %s",
				    (unsigned long long)v->id, v->nsteps + 1, op, table ? why : "is NULL");
	begin_doc(&doc, op);
	BSON_APPEND_UTF8(&doc, "table", table);
	if (array) {
		BSON_APPEND_ARRAY_BEGIN(&doc, list, &sub);
		bson_append_array_end(&doc, &sub);
	} else {
		BSON_APPEND_DOCUMENT_BEGIN(&doc, list, &sub);
		bson_append_document_end(&doc, &sub);
	}
	s = migrate__step_new(&doc);
	bson_destroy(&doc);
	if (!s)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_ENOMEM, "out of memory");
	if (migrate__version_push(v, s, err))
		return MIGRATE_ENOMEM;
	if (out)
		*out = s;
	return 0;
}

int migrate_create_table(migrate_version_t *v, const char *table, migrate_step_t **out, migrate_error_t *err)
{
	return open_step(v, "create_table", table, "columns", true, out, err);
}

int migrate_create_table_add_column(migrate_step_t *step, const migrate_column_t *col, migrate_error_t *err)
{
	bson_t doc, cols, newcols, coldoc;
	bson_iter_t it;
	char idx[16];
	const char *k;
	uint32_t n = 0;
	int rc;

	if (!step || step->op != MIGRATE_OP_CREATE_TABLE)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL,
				    "migrate_create_table_add_column: not a create_table step");
	if ((rc = column_doc(col, &coldoc, err))) {
		bson_destroy(&coldoc);
		return rc;
	}
	copy_except(step, &doc, "columns");
	BSON_APPEND_ARRAY_BEGIN(&doc, "columns", &newcols);
	if (migrate__doc_sub(&step->doc, "columns", &cols) && bson_iter_init(&it, &cols))
		while (bson_iter_next(&it)) {
			bson_uint32_to_string(n++, &k, idx, sizeof idx);
			bson_append_iter(&newcols, k, -1, &it);
		}
	bson_uint32_to_string(n, &k, idx, sizeof idx);
	bson_append_document(&newcols, k, -1, &coldoc);
	bson_append_array_end(&doc, &newcols);
	bson_destroy(&coldoc);
	/* primary_key is validated against columns: keep it last in the doc. */
	return replace_doc(step, &doc, err);
}

int migrate_create_table_set_primary_key(migrate_step_t *step, const char *const *columns, size_t n,
					 migrate_error_t *err)
{
	bson_t doc;

	if (!step || step->op != MIGRATE_OP_CREATE_TABLE || (!columns && n))
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL,
				    "migrate_create_table_set_primary_key: not a create_table step");
	copy_except(step, &doc, "primary_key");
	put_strings(&doc, "primary_key", columns, n);
	return replace_doc(step, &doc, err);
}

/* A step whose fields are all strings: `kv` holds n key/value pairs (NULL values are left out). */
static int string_step(migrate_version_t *v, const char *op, const char *const *kv, size_t n, migrate_step_t **out,
		       migrate_error_t *err)
{
	bson_t doc;
	size_t i;

	begin_doc(&doc, op);
	for (i = 0; i < n; i++)
		put_str(&doc, kv[2 * i], kv[2 * i + 1]);
	return add_doc(v, &doc, out, err);
}

int migrate_drop_table(migrate_version_t *v, const char *table, migrate_step_t **out, migrate_error_t *err)
{
	const char *kv[] = {"table", table};

	return string_step(v, "drop_table", kv, 1, out, err);
}

int migrate_drop_table_keep(migrate_version_t *v, const char *table, const char *keep, migrate_step_t **out,
			    migrate_error_t *err)
{
	const char *kv[] = {"table", table, "keep", keep};

	if (!keep)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL,
				    "migrate_drop_table_keep: keep is required");
	return string_step(v, "drop_table", kv, 2, out, err);
}

int migrate_rename_table(migrate_version_t *v, const char *from, const char *to, migrate_step_t **out,
			 migrate_error_t *err)
{
	const char *kv[] = {"from", from, "to", to};

	return string_step(v, "rename_table", kv, 2, out, err);
}

int migrate_add_column(migrate_version_t *v, const char *table, const migrate_column_t *col, migrate_step_t **out,
		       migrate_error_t *err)
{
	bson_t doc, coldoc;
	int rc;

	if ((rc = column_doc(col, &coldoc, err))) {
		bson_destroy(&coldoc);
		return rc;
	}
	begin_doc(&doc, "add_column");
	put_str(&doc, "table", table);
	BSON_APPEND_DOCUMENT(&doc, "column", &coldoc);
	bson_destroy(&coldoc);
	return add_doc(v, &doc, out, err);
}

int migrate_drop_column(migrate_version_t *v, const char *table, const char *column, migrate_step_t **out,
			migrate_error_t *err)
{
	const char *kv[] = {"table", table, "column", column};

	return string_step(v, "drop_column", kv, 2, out, err);
}

int migrate_drop_column_keep(migrate_version_t *v, const char *table, const migrate_column_t *col, const char *keep,
			     migrate_step_t **out, migrate_error_t *err)
{
	bson_t doc, coldoc;
	int rc;

	if (!keep)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL,
				    "migrate_drop_column_keep: keep is required");
	if ((rc = column_doc(col, &coldoc, err))) {
		bson_destroy(&coldoc);
		return rc;
	}
	begin_doc(&doc, "drop_column");
	put_str(&doc, "table", table);
	put_str(&doc, "column", migrate__doc_str(&coldoc, "name"));
	BSON_APPEND_UTF8(&doc, "keep", keep);
	BSON_APPEND_DOCUMENT(&doc, "definition", &coldoc);
	bson_destroy(&coldoc);
	return add_doc(v, &doc, out, err);
}

int migrate_rename_column(migrate_version_t *v, const char *table, const char *from, const char *to,
			  migrate_step_t **out, migrate_error_t *err)
{
	const char *kv[] = {"table", table, "from", from, "to", to};

	return string_step(v, "rename_column", kv, 3, out, err);
}

int migrate_create_index(migrate_version_t *v, const char *table, const char *name, const migrate_index_key_t *keys,
			 size_t nkeys, unsigned flags, migrate_step_t **out, migrate_error_t *err)
{
	bson_t doc, arr, k;
	char idx[16];
	const char *key;
	size_t i;

	begin_doc(&doc, "create_index");
	put_str(&doc, "table", table);
	put_str(&doc, "name", name);
	BSON_APPEND_ARRAY_BEGIN(&doc, "keys", &arr);
	for (i = 0; keys && i < nkeys; i++) {
		bson_uint32_to_string((uint32_t)i, &key, idx, sizeof idx);
		bson_append_document_begin(&arr, key, -1, &k);
		put_str(&k, "column", keys[i].column);
		BSON_APPEND_UTF8(&k, "order", keys[i].descending ? "desc" : "asc");
		bson_append_document_end(&arr, &k);
	}
	bson_append_array_end(&doc, &arr);
	if (flags & MIGRATE_INDEX_UNIQUE)
		BSON_APPEND_BOOL(&doc, "unique", true);
	if (flags & MIGRATE_INDEX_ONLINE)
		BSON_APPEND_BOOL(&doc, "online", true);
	return add_doc(v, &doc, out, err);
}

int migrate_drop_index(migrate_version_t *v, const char *table, const char *name, migrate_step_t **out,
		       migrate_error_t *err)
{
	const char *kv[] = {"table", table, "name", name};

	return string_step(v, "drop_index", kv, 2, out, err);
}

int migrate_create_enum(migrate_version_t *v, const char *name, const char *const *values, size_t nvalues,
			migrate_step_t **out, migrate_error_t *err)
{
	bson_t doc;

	begin_doc(&doc, "create_enum");
	put_str(&doc, "name", name);
	put_strings(&doc, "values", values, values ? nvalues : 0);
	return add_doc(v, &doc, out, err);
}

int migrate_drop_enum(migrate_version_t *v, const char *name, migrate_step_t **out, migrate_error_t *err)
{
	const char *kv[] = {"name", name};

	return string_step(v, "drop_enum", kv, 1, out, err);
}

int migrate_map_values(migrate_version_t *v, const char *table, const char *column, const char *map_json,
		       migrate_step_t **out, migrate_error_t *err)
{
	bson_t doc;

	begin_doc(&doc, "map_values");
	put_str(&doc, "table", table);
	put_str(&doc, "column", column);
	if (put_json(&doc, "map", map_json, false, err)) {
		bson_destroy(&doc);
		return err ? err->code : MIGRATE_EJSON;
	}
	return add_doc(v, &doc, out, err);
}

int migrate_backfill(migrate_version_t *v, const char *table, migrate_step_t **out, migrate_error_t *err)
{
	return open_step(v, "backfill", table, "set", false, out, err);
}

int migrate_backfill_set_expr(migrate_step_t *step, const char *column, const char *expr_json, migrate_error_t *err)
{
	bson_t doc, set, newset;
	bson_iter_t it;

	if (!step || step->op != MIGRATE_OP_BACKFILL || !column)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL,
				    "migrate_backfill_set_expr: not a backfill step");
	copy_except(step, &doc, "set");
	BSON_APPEND_DOCUMENT_BEGIN(&doc, "set", &newset);
	if (migrate__doc_sub(&step->doc, "set", &set) && bson_iter_init(&it, &set))
		while (bson_iter_next(&it))
			if (strcmp(bson_iter_key(&it), column) != 0)
				bson_append_iter(&newset, NULL, 0, &it);
	if (put_json(&newset, column, expr_json, false, err)) {
		bson_append_document_end(&doc, &newset);
		bson_destroy(&doc);
		return err ? err->code : MIGRATE_EJSON;
	}
	bson_append_document_end(&doc, &newset);
	return replace_doc(step, &doc, err);
}

int migrate_step_set_batch_size(migrate_step_t *step, uint32_t batch_size, migrate_error_t *err)
{
	bson_t doc;

	if (!step || !migrate__op_has_key(step->op, "batch_size"))
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL,
				    "migrate_step_set_batch_size: not a backfill or map_values step");
	copy_except(step, &doc, "batch_size");
	BSON_APPEND_INT64(&doc, "batch_size", batch_size);
	return replace_doc(step, &doc, err);
}

int migrate_step_set_keep(migrate_step_t *step, const char *keep, migrate_error_t *err)
{
	bson_t doc;

	if (!step || !keep || !migrate__op_has_key(step->op, "keep"))
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL, "migrate_step_set_keep: %s",
				    !step || !keep
					    ? "step and keep are required"
					    : "not a step that keeps (map_values, backfill, drop_column, drop_table)");
	copy_except(step, &doc, "keep");
	BSON_APPEND_UTF8(&doc, "keep", keep);
	return replace_doc(step, &doc, err);
}

int migrate_step_set_where(migrate_step_t *step, const char *where_json, migrate_error_t *err)
{
	bson_t doc, sub, newsub;
	const char *kind = NULL;

	if (!step)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL, "step is NULL");
	if (step->op == MIGRATE_OP_ASSERT) {
		kind = bson_has_field(&step->doc, "count")      ? "count"
		       : bson_has_field(&step->doc, "no_match") ? "no_match"
								: NULL;
		if (!kind)
			return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL,
					    "migrate_step_set_where: only count and no_match asserts take a filter");
		copy_except(step, &doc, kind);
		migrate__doc_sub(&step->doc, kind, &sub);
		BSON_APPEND_DOCUMENT_BEGIN(&doc, kind, &newsub);
		bson_copy_to_excluding_noinit(&sub, &newsub, "where", NULL);
		if (put_json(&newsub, "where", where_json, false, err)) {
			bson_append_document_end(&doc, &newsub);
			bson_destroy(&doc);
			return err ? err->code : MIGRATE_EJSON;
		}
		bson_append_document_end(&doc, &newsub);
		return replace_doc(step, &doc, err);
	}
	if (!migrate__op_has_key(step->op, "where"))
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL,
				    "migrate_step_set_where: %s takes no filter", migrate__ops[step->op].name);
	copy_except(step, &doc, "where");
	if (put_json(&doc, "where", where_json, false, err)) {
		bson_destroy(&doc);
		return err ? err->code : MIGRATE_EJSON;
	}
	return replace_doc(step, &doc, err);
}

int migrate_sql(migrate_version_t *v, const char *up, const char *down, migrate_step_t **out, migrate_error_t *err)
{
	const char *kv[] = {"up", up, "down", down};

	return string_step(v, "sql", kv, 2, out, err);
}

/* A command is an object or an array of objects. */
static int put_command(bson_t *doc, const char *key, const char *json, migrate_error_t *err)
{
	const char *p = json;

	while (p && (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r'))
		p++;
	return put_json(doc, key, json, p && *p == '[', err);
}

int migrate_command(migrate_version_t *v, const char *up_json, const char *down_json, migrate_step_t **out,
		    migrate_error_t *err)
{
	bson_t doc;

	begin_doc(&doc, "command");
	if (put_command(&doc, "up", up_json, err) || (down_json && put_command(&doc, "down", down_json, err))) {
		bson_destroy(&doc);
		return err ? err->code : MIGRATE_EJSON;
	}
	return add_doc(v, &doc, out, err);
}

static int assert_on_table(migrate_version_t *v, const char *kind, const char *table, const char *where_json,
			   bson_t *doc, migrate_error_t *err)
{
	bson_t sub;

	begin_doc(doc, "assert");
	BSON_APPEND_DOCUMENT_BEGIN(doc, kind, &sub);
	put_str(&sub, "table", table);
	if (where_json && put_json(&sub, "where", where_json, false, err)) {
		bson_append_document_end(doc, &sub);
		bson_destroy(doc);
		return err ? err->code : MIGRATE_EJSON;
	}
	bson_append_document_end(doc, &sub);
	(void)v;
	return 0;
}

int migrate_assert_count(migrate_version_t *v, const char *table, const char *where_json, int64_t expected,
			 migrate_step_t **out, migrate_error_t *err)
{
	bson_t doc;
	int rc;

	if ((rc = assert_on_table(v, "count", table, where_json, &doc, err)))
		return rc;
	BSON_APPEND_INT64(&doc, "expect", expected);
	return add_doc(v, &doc, out, err);
}

int migrate_assert_no_match(migrate_version_t *v, const char *table, const char *where_json, migrate_step_t **out,
			    migrate_error_t *err)
{
	bson_t doc;
	int rc;

	if ((rc = assert_on_table(v, "no_match", table, where_json, &doc, err)))
		return rc;
	return add_doc(v, &doc, out, err);
}

int migrate_assert_unique(migrate_version_t *v, const char *table, const char *const *columns, size_t n,
			  migrate_step_t **out, migrate_error_t *err)
{
	bson_t doc, sub;

	begin_doc(&doc, "assert");
	BSON_APPEND_DOCUMENT_BEGIN(&doc, "unique", &sub);
	put_str(&sub, "table", table);
	put_strings(&sub, "columns", columns, columns ? n : 0);
	bson_append_document_end(&doc, &sub);
	return add_doc(v, &doc, out, err);
}

int migrate_assert_exists(migrate_version_t *v, const char *table, const char *column, const char *index,
			  migrate_step_t **out, migrate_error_t *err)
{
	bson_t doc, sub;

	begin_doc(&doc, "assert");
	BSON_APPEND_DOCUMENT_BEGIN(&doc, "exists", &sub);
	put_str(&sub, "table", table);
	put_str(&sub, "column", column);
	put_str(&sub, "index", index);
	bson_append_document_end(&doc, &sub);
	return add_doc(v, &doc, out, err);
}

int migrate_assert_sql(migrate_version_t *v, const char *sql, const char *expected_json, migrate_step_t **out,
		       migrate_error_t *err)
{
	bson_t doc;

	begin_doc(&doc, "assert");
	put_str(&doc, "sql", sql);
	if (put_json_value(&doc, "expect", expected_json, err)) {
		bson_destroy(&doc);
		return err ? err->code : MIGRATE_EJSON;
	}
	return add_doc(v, &doc, out, err);
}

int migrate_assert_command(migrate_version_t *v, const char *command_json, const char *expected_json,
			   migrate_step_t **out, migrate_error_t *err)
{
	bson_t doc;

	begin_doc(&doc, "assert");
	if (put_json(&doc, "command", command_json, false, err) ||
	    (expected_json && put_json(&doc, "expect", expected_json, false, err))) {
		bson_destroy(&doc);
		return err ? err->code : MIGRATE_EJSON;
	}
	return add_doc(v, &doc, out, err);
}

int migrate_custom(migrate_version_t *v, const char *name, const char *revision, migrate_custom_fn up,
		   migrate_custom_fn down, void *payload, migrate_step_t **out, migrate_error_t *err)
{
	migrate_step_t *s = NULL;
	bson_t doc;
	int rc;

	if (!up) {
		if (out)
			*out = NULL;
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL, "migrate_custom: the up callback is NULL");
	}
	begin_doc(&doc, "custom");
	put_str(&doc, "name", name);
	put_str(&doc, "revision", revision);
	if ((rc = add_doc(v, &doc, &s, err)))
		return rc;
	s->custom_up = up;
	s->custom_down = down;
	s->custom_payload = payload;
	if (out)
		*out = s;
	return 0;
}

int migrate_step_set_down_json(migrate_step_t *step, const char *down_json, migrate_error_t *err)
{
	bson_t doc;

	if (!step)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL, "step is NULL");
	if (step->op == MIGRATE_OP_CUSTOM || (migrate__ops[step->op].flags & MIGRATE__OP_OWN_DOWN))
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL,
				    "migrate_step_set_down_json: %s steps take their down as their own argument",
				    migrate__ops[step->op].name);
	copy_except(step, &doc, "down");
	if (put_json(&doc, "down", down_json, true, err)) {
		step_fail_place(step, err);
		bson_destroy(&doc);
		return err ? err->code : MIGRATE_EJSON;
	}
	return replace_doc(step, &doc, err);
}

int migrate_step_set_declares_json(migrate_step_t *step, const char *declares_json, migrate_error_t *err)
{
	bson_t doc;

	if (!step || !declares_json)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL, "step or declares_json is NULL");
	if (!migrate__op_has_key(step->op, "declares"))
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL,
				    "migrate_step_set_declares_json: only sql, command and custom steps declare; a %s "
				    "step says what it makes itself",
				    migrate__ops[step->op].name);
	copy_except(step, &doc, "declares");
	if (put_json(&doc, "declares", declares_json, true, err)) {
		step_fail_place(step, err);
		bson_destroy(&doc);
		return err ? err->code : MIGRATE_EJSON;
	}
	return replace_doc(step, &doc, err);
}
