/*
 * Every op of the step catalog lowered to MongoDB commands: its check,
 * rendering and application, and the table of every op (at the end). The
 * steps that touch every document of a collection live in batch.c and the
 * files it names, the assertions in assert.c.
 *
 * MongoDB has no transactions here, so every step is MIGRATE_STEP_NO_TXN
 * and each is idempotent: an existing identical collection, index or enum
 * is success, a rename already done is recognised, a drop of something
 * absent is success.
 */
#include <stdio.h>
#include <string.h>

#include "mongo_int.h"

/* ---- command builders, shared by render and apply ---- */

bson_t *migrate__mongo_cmd_create(const char *table)
{
	return BCON_NEW("create", BCON_UTF8(table));
}

/* The BSON types a column of `type` holds (none: any, a json column). */
static size_t column_bson_types(const char *type, const char **out)
{
	static const struct {
		const char *type;
		const char *bson[4];
	} map[] = {
		{"text", {"string"}},
		{"integer", {"int", "long"}},
		{"bigint", {"int", "long"}},
		{"double", {"double", "int", "long", "decimal"}},
		{"boolean", {"bool"}},
		{"uuid", {"binData", "string"}}, /* a "uuid" default writes binary subtype 4 */
		{"timestamp", {"date"}},
		{"bytes", {"binData"}},
	};
	size_t i, n = 0;

	if (!strncmp(type, "enum:", 5))
		type = "text";
	for (i = 0; i < sizeof map / sizeof map[0]; i++)
		if (!strcmp(map[i].type, type))
			while (n < 4 && map[i].bson[n]) {
				out[n] = map[i].bson[n];
				n++;
			}
	return n;
}

/*
 * The validator of a create_table with "validate": true, a $jsonSchema of
 * its columns: each one's BSON types (and null when nullable), the NOT
 * NULL ones required. Other fields stay allowed. False when the step has
 * none.
 */
static bool table_validator(const bson_t *s, bson_t *out)
{
	bson_t cols, schema, required, props;
	bson_iter_t it;
	uint32_t nreq = 0;

	if (!migrate__doc_bool(s, "validate", false) || !migrate__doc_sub(s, "columns", &cols))
		return false;
	bson_init(out);
	BSON_APPEND_DOCUMENT_BEGIN(out, "$jsonSchema", &schema);
	BSON_APPEND_UTF8(&schema, "bsonType", "object");
	bson_init(&required);
	BSON_APPEND_DOCUMENT_BEGIN(&schema, "properties", &props);
	bson_iter_init(&it, &cols);
	while (bson_iter_next(&it)) {
		bson_t col, prop, types;
		const char *bt[5], *name;
		const uint8_t *data;
		uint32_t len;
		bool nullable;
		size_t n, i;
		char key[16];
		const char *k;

		if (!BSON_ITER_HOLDS_DOCUMENT(&it))
			continue;
		bson_iter_document(&it, &len, &data);
		bson_init_static(&col, data, len);
		name = migrate__doc_str(&col, "name");
		nullable = migrate__doc_bool(&col, "nullable", true);
		if (!nullable) {
			bson_uint32_to_string(nreq++, &k, key, sizeof key);
			BSON_APPEND_UTF8(&required, k, name);
		}
		n = migrate__doc_str(&col, "type") ? column_bson_types(migrate__doc_str(&col, "type"), bt) : 0;
		if (n == 0 || !strcmp(name, "_id"))
			continue; /* json: any value; _id: the server's ObjectId when the application gives none */
		if (nullable)
			bt[n++] = "null";
		BSON_APPEND_DOCUMENT_BEGIN(&props, name, &prop);
		BSON_APPEND_ARRAY_BEGIN(&prop, "bsonType", &types);
		for (i = 0; i < n; i++) {
			bson_uint32_to_string((uint32_t)i, &k, key, sizeof key);
			BSON_APPEND_UTF8(&types, k, bt[i]);
		}
		bson_append_array_end(&prop, &types);
		bson_append_document_end(&props, &prop);
	}
	bson_append_document_end(&schema, &props);
	if (nreq)
		BSON_APPEND_ARRAY(&schema, "required", &required);
	bson_destroy(&required);
	bson_append_document_end(out, &schema);
	return true;
}

/* create, with the step's validator when it has one (`validator` NULL: without). */
static bson_t *cmd_create_table(const char *table, const bson_t *validator)
{
	bson_t *cmd = migrate__mongo_cmd_create(table);

	if (validator) {
		BSON_APPEND_DOCUMENT(cmd, "validator", validator);
		BSON_APPEND_UTF8(cmd, "validationLevel", "strict");
		BSON_APPEND_UTF8(cmd, "validationAction", "error");
	}
	return cmd;
}

bson_t *migrate__mongo_cmd_drop(const char *table)
{
	return BCON_NEW("drop", BCON_UTF8(table));
}

bson_t *migrate__mongo_cmd_rename(const char *db, const char *from, const char *to)
{
	char a[300], b[300];

	snprintf(a, sizeof(a), "%s.%s", db, from);
	snprintf(b, sizeof(b), "%s.%s", db, to);
	return BCON_NEW("renameCollection", BCON_UTF8(a), "to", BCON_UTF8(b));
}

/* {column: 1 | -1, ...} from the step's keys [{column, order}]. */
static void index_keys(const bson_t *step, bson_t *out)
{
	bson_t keys;
	bson_iter_t it;

	if (!migrate__doc_sub(step, "keys", &keys))
		return;
	bson_iter_init(&it, &keys);
	while (bson_iter_next(&it)) {
		bson_t k;
		uint32_t len;
		const uint8_t *data;
		const char *order;
		if (!BSON_ITER_HOLDS_DOCUMENT(&it))
			continue;
		bson_iter_document(&it, &len, &data);
		bson_init_static(&k, data, len);
		order = migrate__doc_str(&k, "order");
		BSON_APPEND_INT32(out, migrate__doc_str(&k, "column"), order && !strcmp(order, "desc") ? -1 : 1);
	}
}

static bson_t *cmd_create_index(const char *table, const char *name, const bson_t *keys, bool unique,
				const bson_t *partial)
{
	bson_t *cmd = bson_new();
	bson_t arr, idx;

	BSON_APPEND_UTF8(cmd, "createIndexes", table);
	bson_append_array_begin(cmd, "indexes", -1, &arr);
	bson_append_document_begin(&arr, "0", -1, &idx);
	BSON_APPEND_DOCUMENT(&idx, "key", keys);
	BSON_APPEND_UTF8(&idx, "name", name);
	if (unique)
		BSON_APPEND_BOOL(&idx, "unique", true);
	if (partial)
		BSON_APPEND_DOCUMENT(&idx, "partialFilterExpression", partial);
	bson_append_document_end(&arr, &idx);
	bson_append_array_end(cmd, &arr);
	return cmd;
}

static bson_t *cmd_drop_index(const char *table, const char *name)
{
	return BCON_NEW("dropIndexes", BCON_UTF8(table), "index", BCON_UTF8(name));
}

static bson_t *cmd_enum_put(const bson_t *step)
{
	bson_t values;
	bson_t *cmd;

	migrate__doc_sub(step, "values", &values);
	/* multi: see migrate__mongo_history_write (FerretDB leaks connections on multi: false). */
	cmd = BCON_NEW("update", BCON_UTF8(MONGO_ENUMS), "updates", "[", "{", "q", "{", "_id",
		       BCON_UTF8(migrate__doc_str(step, "name")), "}", "u", "{", "$set", "{", "values",
		       BCON_ARRAY(&values), "}", "}", "upsert", BCON_BOOL(true), "multi", BCON_BOOL(true), "}", "]");
	return cmd;
}

static bson_t *cmd_enum_delete(const char *name)
{
	return BCON_NEW("delete", BCON_UTF8(MONGO_ENUMS), "deletes", "[", "{", "q", "{", "_id", BCON_UTF8(name), "}",
			"limit", BCON_INT32(1), "}", "]");
}

/* ---- check_step ---- */

static int check_column(const bson_t *col, const char *where, migrate_error_t *err)
{
	bson_iter_t it;
	int rc;

	if ((rc = migrate__mongo_check_field(migrate__doc_str(col, "name"), where, err)))
		return rc;
	if (bson_iter_init_find(&it, col, "type") && BSON_ITER_HOLDS_DOCUMENT(&it))
		return migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EUNSUPPORTED,
				    "%s: a raw {\"sql\": ...} type has no meaning on MongoDB", where);
	if (bson_iter_init_find(&it, col, "default") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
		bson_t d;
		bson_iter_t v;
		char field[96];
		if (migrate__doc_sub(col, "default", &d) && bson_has_field(&d, "sql"))
			return migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EUNSUPPORTED,
					    "%s: a raw {\"sql\": ...} default has no meaning on MongoDB", where);
		snprintf(field, sizeof field, "%s.default.value", where);
		if (bson_iter_init_find(&v, &d, "value") && (rc = migrate__mongo_check_value(&v, field, err)))
			return rc;
	}
	return 0;
}

static int check_create_table(migrate__lower *x)
{
	const bson_t *s = x->doc;
	migrate_error_t *err = x->err;
	bson_t cols, pk;
	bson_iter_t it;
	int rc;

	if ((rc = migrate__mongo_check_collection(migrate__doc_str(s, "table"), "table", err)))
		return rc;
	if (migrate__doc_sub(s, "columns", &cols)) {
		bson_iter_init(&it, &cols);
		while (bson_iter_next(&it)) {
			bson_t col;
			uint32_t len;
			const uint8_t *data;
			char where[48];
			if (!BSON_ITER_HOLDS_DOCUMENT(&it))
				continue;
			bson_iter_document(&it, &len, &data);
			bson_init_static(&col, data, len);
			snprintf(where, sizeof(where), "columns[%s]", bson_iter_key(&it));
			if ((rc = check_column(&col, where, err)))
				return rc;
		}
	}
	if (migrate__doc_sub(s, "primary_key", &pk)) {
		bson_iter_init(&it, &pk);
		while (bson_iter_next(&it))
			if (BSON_ITER_HOLDS_UTF8(&it) &&
			    (rc = migrate__mongo_check_field(bson_iter_utf8(&it, NULL), "primary_key", err)))
				return rc;
	}
	return 0;
}

static int check_create_index(migrate__lower *x)
{
	mongo_conn_t *c = x->conn;
	const bson_t *s = x->doc;
	migrate_error_t *err = x->err;
	bson_t keys = BSON_INITIALIZER, where;
	bson_iter_t it;
	int rc;

	if ((rc = migrate__mongo_check_collection(migrate__doc_str(s, "table"), "table", err)) ||
	    (rc = migrate__mongo_check_index_name(migrate__doc_str(s, "name"), "name", err)))
		goto cleanup;
	index_keys(s, &keys);
	bson_iter_init(&it, &keys);
	while (bson_iter_next(&it))
		if ((rc = migrate__mongo_check_field(bson_iter_key(&it), "keys", err)))
			goto cleanup;
	if (migrate__doc_sub(s, "where", &where)) {
		if ((rc = migrate__mongo_check_filter(&where, err)) || (rc = migrate__mongo_caps(c, err)))
			goto cleanup;
		if (!c->caps.partial_indexes) {
			rc = migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EUNSUPPORTED,
					  "index \"%s\": partial indexes (where) are not supported by %s",
					  migrate__doc_str(s, "name"), c->caps.server);
			goto cleanup;
		}
	}
cleanup:
	bson_destroy(&keys);
	return rc;
}

/* Raw SQL has no meaning here. */
static int check_sql(migrate__lower *x)
{
	return migrate__err(x->err, MIGRATE_DOMAIN_PLAN, MIGRATE_EUNSUPPORTED,
			    "raw sql steps have no meaning on MongoDB (use a command step)");
}

static int check_table(migrate__lower *x)
{
	return migrate__mongo_check_collection(migrate__doc_str(x->doc, "table"), "table", x->err);
}

static int check_rename_table(migrate__lower *x)
{
	int rc;

	if ((rc = migrate__mongo_check_collection(migrate__doc_str(x->doc, "from"), "from", x->err)))
		return rc;
	return migrate__mongo_check_collection(migrate__doc_str(x->doc, "to"), "to", x->err);
}

static int check_add_column(migrate__lower *x)
{
	bson_t col;
	int rc;

	if ((rc = check_table(x)))
		return rc;
	migrate__doc_sub(x->doc, "column", &col);
	return check_column(&col, "column", x->err);
}

static int check_drop_column(migrate__lower *x)
{
	int rc;

	if ((rc = check_table(x)) ||
	    (rc = migrate__mongo_check_field(migrate__doc_str(x->doc, "column"), "column", x->err)))
		return rc;
	return bson_has_field(x->doc, "keep")
		       ? migrate__mongo_check_collection(migrate__doc_str(x->doc, "keep"), "keep", x->err)
		       : 0;
}

static int check_rename_column(migrate__lower *x)
{
	int rc;

	if ((rc = check_table(x)) ||
	    (rc = migrate__mongo_check_field(migrate__doc_str(x->doc, "from"), "from", x->err)))
		return rc;
	return migrate__mongo_check_field(migrate__doc_str(x->doc, "to"), "to", x->err);
}

static int check_drop_index(migrate__lower *x)
{
	int rc;

	if ((rc = check_table(x)))
		return rc;
	return migrate__mongo_check_index_name(migrate__doc_str(x->doc, "name"), "name", x->err);
}

/* ---- indexes ---- */

/* Same key fields in the same order and directions (1 and 1.0 are equal). */
static bool same_keys(const bson_t *a, const bson_t *b)
{
	bson_iter_t x, y;
	bool nx, ny;

	bson_iter_init(&x, a);
	bson_iter_init(&y, b);
	for (;;) {
		nx = bson_iter_next(&x);
		ny = bson_iter_next(&y);
		if (!nx || !ny)
			return nx == ny;
		if (strcmp(bson_iter_key(&x), bson_iter_key(&y)))
			return false;
		if (BSON_ITER_HOLDS_NUMBER(&x) && BSON_ITER_HOLDS_NUMBER(&y)) {
			if ((bson_iter_as_double(&x) < 0) != (bson_iter_as_double(&y) < 0))
				return false;
		} else if (!bson_iter_value(&x) || BSON_ITER_HOLDS_NUMBER(&x) != BSON_ITER_HOLDS_NUMBER(&y)) {
			return false;
		}
	}
}

static bool same_partial(const bson_t *spec, const bson_t *partial)
{
	bson_t have;
	bool has = migrate__doc_sub(spec, "partialFilterExpression", &have);

	if (!partial)
		return !has;
	return has && bson_equal(&have, partial);
}

typedef struct index_found {
	bool by_name, same, by_keys;
	char other[128];
	bson_t spec;
} index_found_t;

/* Looks for an index named `name` or with the same keys among the collection's. */
static int find_index(mongo_conn_t *c, const char *table, const char *name, const bson_t *keys, bool unique,
		      const bson_t *partial, index_found_t *f, migrate_error_t *err)
{
	mongoc_collection_t *coll = mongoc_database_get_collection(c->db, table);
	mongoc_cursor_t *cur = mongoc_collection_find_indexes_with_opts(coll, NULL);
	const bson_t *spec;
	bson_error_t e;
	int rc = 0;

	memset(f, 0, sizeof(*f));
	bson_init(&f->spec);
	while (mongoc_cursor_next(cur, &spec)) {
		bson_t key;
		const char *n = migrate__doc_str(spec, "name");
		bool is_same;
		if (!n || !migrate__doc_sub(spec, "key", &key))
			continue;
		is_same = same_keys(&key, keys) && migrate__doc_bool(spec, "unique", false) == unique &&
			  same_partial(spec, partial);
		if (!strcmp(n, name)) {
			f->by_name = true;
			f->same = is_same;
			bson_destroy(&f->spec);
			bson_copy_to(spec, &f->spec);
		} else if (same_keys(&key, keys) && !f->by_keys) {
			f->by_keys = true;
			snprintf(f->other, sizeof(f->other), "%s", n);
		}
	}
	if (mongoc_cursor_error(cur, &e) && migrate__mongo_server_code(&e) != MONGO_NAMESPACE_NOT_FOUND)
		rc = migrate__mongo_fail(err, &e, "listIndexes on \"%s\"", table);
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(coll);
	return rc;
}

static void duplicate_sample(mongo_conn_t *c, const char *table, const bson_t *keys, char *out, size_t size)
{
	migrate_buf_t *s = migrate__buf_new("");

	snprintf(out, size, "%s", migrate__mongo_duplicates(c, table, keys, s, NULL) > 0 ? s->str : "none found");
	migrate__buf_free(s, true);
}

static int create_index(mongo_conn_t *c, const char *table, const char *name, const bson_t *keys, bool unique,
			const bson_t *partial, migrate_error_t *err)
{
	index_found_t f;
	bson_t *cmd = NULL;
	bson_error_t e;
	char *have = NULL;
	int rc;

	if ((rc = find_index(c, table, name, keys, unique, partial, &f, err)))
		goto cleanup;
	if (f.by_name && f.same) {
		migrate__log(MIGRATE_LOG_INFO, "mongo: index \"%s\" on \"%s\" already exists", name, table);
		goto cleanup;
	}
	if (f.by_name) {
		have = bson_as_relaxed_extended_json(&f.spec, NULL);
		rc = migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EDB,
				  "index \"%s\" on \"%s\" already exists with other keys or options: %s", name, table,
				  have ? have : "?");
		goto cleanup;
	}
	if (f.by_keys) {
		rc = migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EDB,
				  "cannot create index \"%s\" on \"%s\": index \"%s\" already has the same keys", name,
				  table, f.other);
		goto cleanup;
	}
	cmd = cmd_create_index(table, name, keys, unique, partial);
	if (!migrate__mongo_run(c, cmd, NULL, &e)) {
		uint32_t code = migrate__mongo_server_code(&e);
		if (unique && code != MONGO_INDEX_OPTIONS_CONFLICT && code != MONGO_INDEX_KEY_SPECS_CONFLICT &&
		    migrate__mongo_server_code(&e)) {
			char sample[600];
			duplicate_sample(c, table, keys, sample, sizeof(sample));
			if (strcmp(sample, "none found") != 0) {
				rc = migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EDB,
						  "cannot build unique index \"%s\" on \"%s\": duplicate keys %s (%s)",
						  name, table, sample, e.message);
				goto cleanup;
			}
		}
		rc = migrate__mongo_fail(err, &e, "createIndexes \"%s\" on \"%s\"", name, table);
	}
cleanup:
	bson_free(have);
	bson_destroy(&f.spec);
	if (cmd)
		bson_destroy(cmd);
	return rc;
}

static int apply_create_index(mongo_conn_t *c, const bson_t *s, migrate_error_t *err)
{
	bson_t keys = BSON_INITIALIZER, where, partial = BSON_INITIALIZER;
	bool has_where = migrate__doc_sub(s, "where", &where);
	int rc = 0;

	index_keys(s, &keys);
	if (has_where)
		rc = migrate__mongo_filter(&where, &partial, err);
	if (rc == 0)
		rc = create_index(c, migrate__doc_str(s, "table"), migrate__doc_str(s, "name"), &keys,
				  migrate__doc_bool(s, "unique", false), has_where ? &partial : NULL, err);
	bson_destroy(&keys);
	bson_destroy(&partial);
	return rc;
}

static int apply_drop_index(mongo_conn_t *c, const bson_t *s, migrate_error_t *err)
{
	bson_t *cmd = cmd_drop_index(migrate__doc_str(s, "table"), migrate__doc_str(s, "name"));
	bson_error_t e;
	int rc = 0;

	if (!migrate__mongo_run(c, cmd, NULL, &e)) {
		uint32_t code = migrate__mongo_server_code(&e);
		if (code != MONGO_INDEX_NOT_FOUND && code != MONGO_NAMESPACE_NOT_FOUND)
			rc = migrate__mongo_fail(err, &e, "dropIndexes \"%s\"", migrate__doc_str(s, "name"));
	}
	bson_destroy(cmd);
	return rc;
}

/* ---- collections ---- */

/* The unique indexes that create_table adds: unique columns and a primary key other than _id. */
typedef int (*table_index_fn)(mongo_conn_t *c, const char *table, const char *name, const bson_t *keys, void *ctx,
			      migrate_error_t *err);

static int each_table_index(mongo_conn_t *c, const bson_t *s, table_index_fn fn, void *ctx, migrate_error_t *err)
{
	const char *table = migrate__doc_str(s, "table");
	bson_t cols, pk;
	bson_iter_t it;
	char name[160];
	const char *pk_column = NULL;
	int rc = 0;

	/* A single-column primary key gets its own index, not a second one as a unique column. */
	if (migrate__doc_sub(s, "primary_key", &pk) && bson_count_keys(&pk) == 1 && bson_iter_init(&it, &pk) &&
	    bson_iter_next(&it) && BSON_ITER_HOLDS_UTF8(&it))
		pk_column = bson_iter_utf8(&it, NULL);
	if (migrate__doc_sub(s, "columns", &cols)) {
		bson_iter_init(&it, &cols);
		while (rc == 0 && bson_iter_next(&it)) {
			bson_t col, keys = BSON_INITIALIZER;
			uint32_t len;
			const uint8_t *data;
			if (!BSON_ITER_HOLDS_DOCUMENT(&it))
				continue;
			bson_iter_document(&it, &len, &data);
			bson_init_static(&col, data, len);
			if (migrate__doc_bool(&col, "unique", false) &&
			    strcmp(migrate__doc_str(&col, "name"), "_id") != 0 &&
			    !(pk_column && !strcmp(pk_column, migrate__doc_str(&col, "name")))) {
				snprintf(name, sizeof(name), "%s_%s_key", table, migrate__doc_str(&col, "name"));
				BSON_APPEND_INT32(&keys, migrate__doc_str(&col, "name"), 1);
				rc = fn(c, table, name, &keys, ctx, err);
			}
			bson_destroy(&keys);
		}
	}
	if (rc == 0 && migrate__doc_sub(s, "primary_key", &pk)) {
		bson_t keys = BSON_INITIALIZER;
		bool only_id = true;
		bson_iter_init(&it, &pk);
		while (bson_iter_next(&it)) {
			const char *f = BSON_ITER_HOLDS_UTF8(&it) ? bson_iter_utf8(&it, NULL) : "_id";
			if (strcmp(f, "_id") != 0)
				only_id = false;
			BSON_APPEND_INT32(&keys, f, 1);
		}
		if (!only_id) {
			snprintf(name, sizeof(name), "%s_pkey", table);
			rc = fn(c, table, name, &keys, ctx, err);
		}
		bson_destroy(&keys);
	}
	return rc;
}

static int make_unique_index(mongo_conn_t *c, const char *table, const char *name, const bson_t *keys, void *ctx,
			     migrate_error_t *err)
{
	return create_index(c, table, name, keys, true, NULL, err);
}

/*
 * A collection that exists already (made by a run that died before its
 * journal write, or by hand) gets the step's validator by collMod.
 */
static int set_validator(mongo_conn_t *c, const char *table, const bson_t *validator, bson_error_t *e)
{
	bson_t *cmd = BCON_NEW("collMod", BCON_UTF8(table));
	bool ok;

	BSON_APPEND_DOCUMENT(cmd, "validator", validator);
	BSON_APPEND_UTF8(cmd, "validationLevel", "strict");
	BSON_APPEND_UTF8(cmd, "validationAction", "error");
	ok = migrate__mongo_run(c, cmd, NULL, e);
	bson_destroy(cmd);
	return ok ? 0 : -1;
}

/*
 * Whether the server refused a validator as a feature it lacks (FerretDB
 * 1.x: NotImplemented for create's validator and for collMod), rather
 * than as a bad one.
 */
static bool no_validators(const bson_error_t *e)
{
	return migrate__mongo_server_code(e) == MONGO_NOT_IMPLEMENTED;
}

static int apply_create_table(mongo_conn_t *c, const bson_t *s, migrate_exec_t *exec, migrate_error_t *err)
{
	const char *table = migrate__doc_str(s, "table");
	bson_t validator;
	bool has_validator = table_validator(s, &validator);
	bson_t *cmd = cmd_create_table(table, has_validator ? &validator : NULL);
	bool refused = false, ok;
	bson_error_t e;
	int rc = 0;

	ok = migrate__mongo_run(c, cmd, NULL, &e);
	if (!ok && has_validator && no_validators(&e)) {
		refused = true;
		bson_destroy(cmd);
		cmd = cmd_create_table(table, NULL);
		ok = migrate__mongo_run(c, cmd, NULL, &e);
	}
	if (!ok && migrate__mongo_server_code(&e) == MONGO_NAMESPACE_EXISTS) {
		migrate__log(MIGRATE_LOG_INFO, "mongo: collection \"%s\" already exists", table);
		if (has_validator && !refused && set_validator(c, table, &validator, &e) != 0) {
			if (no_validators(&e))
				refused = true;
			else
				rc = migrate__mongo_fail(err, &e, "collMod \"%s\" (its validator)", table);
		}
	} else if (!ok) {
		rc = migrate__mongo_fail(err, &e, "create \"%s\"", table);
	}
	if (rc == 0 && refused) {
		char msg[256];
		snprintf(msg, sizeof msg,
			 "collection \"%s\" was made without its validator: %s has no collection validators", table,
			 c->caps.server[0] ? c->caps.server : "this server");
		migrate__log(MIGRATE_LOG_WARNING, "mongo: %s", msg);
		migrate_exec_event(exec, MIGRATE_EVENT_WARNING, msg);
	}
	bson_destroy(cmd);
	if (has_validator)
		bson_destroy(&validator);
	if (rc == 0)
		rc = each_table_index(c, s, make_unique_index, NULL, err);
	return rc;
}

static int apply_drop_table(mongo_conn_t *c, const bson_t *s, migrate_error_t *err)
{
	const char *table = migrate__doc_str(s, "table");
	bson_t *cmd = migrate__mongo_cmd_drop(table);
	bson_error_t e;
	int rc = 0;

	if (!migrate__mongo_run(c, cmd, NULL, &e) && migrate__mongo_server_code(&e) != MONGO_NAMESPACE_NOT_FOUND)
		rc = migrate__mongo_fail(err, &e, "drop \"%s\"", table);
	bson_destroy(cmd);
	return rc;
}

static int apply_rename_table(mongo_conn_t *c, const bson_t *s, migrate_error_t *err)
{
	const char *from = migrate__doc_str(s, "from"), *to = migrate__doc_str(s, "to");
	bool has_from, has_to;
	bson_t *cmd = NULL;
	bson_error_t e;
	int rc;

	if ((rc = migrate__mongo_collection_exists(c, from, &has_from, err)) ||
	    (rc = migrate__mongo_collection_exists(c, to, &has_to, err)))
		return rc;
	if (!has_from && has_to) {
		migrate__log(MIGRATE_LOG_INFO, "mongo: \"%s\" was already renamed to \"%s\"", from, to);
		return 0;
	}
	if (has_from && has_to)
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EDB,
				    "cannot rename \"%s\" to \"%s\": \"%s\" already exists", from, to, to);
	if (!has_from)
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EDB,
				    "cannot rename \"%s\" to \"%s\": \"%s\" does not exist", from, to, from);
	cmd = migrate__mongo_cmd_rename(c->dbname, from, to);
	if (!migrate__mongo_run_on(c, "admin", cmd, NULL, &e))
		rc = migrate__mongo_fail(err, &e, "renameCollection \"%s\" to \"%s\"", from, to);
	bson_destroy(cmd);
	return rc;
}

/* ---- enums and commands ---- */

static int apply_create_enum(mongo_conn_t *c, const bson_t *s, migrate_error_t *err)
{
	bson_t *cmd = cmd_enum_put(s);
	int rc = migrate__mongo_command(c, cmd, NULL, "create_enum: update " MONGO_ENUMS, err);

	bson_destroy(cmd);
	return rc;
}

static int apply_drop_enum(mongo_conn_t *c, const bson_t *s, migrate_error_t *err)
{
	bson_t *cmd = cmd_enum_delete(migrate__doc_str(s, "name"));
	int rc = migrate__mongo_command(c, cmd, NULL, "drop_enum: delete from " MONGO_ENUMS, err);

	bson_destroy(cmd);
	return rc;
}

/* Visits the command documents of a command step's `up` (one object or an array). */
typedef int (*command_fn)(mongo_conn_t *c, const bson_t *cmd, void *ctx, migrate_error_t *err);

static int each_command(mongo_conn_t *c, const bson_t *s, command_fn fn, void *ctx, migrate_error_t *err)
{
	bson_iter_t it, arr;
	bson_t cmd;
	uint32_t len;
	const uint8_t *data;
	int rc = 0;

	if (!bson_iter_init_find(&it, s, "up"))
		return 0;
	if (BSON_ITER_HOLDS_DOCUMENT(&it)) {
		bson_iter_document(&it, &len, &data);
		bson_init_static(&cmd, data, len);
		return fn(c, &cmd, ctx, err);
	}
	/* Validation made `up` an object or an array of objects. */
	bson_iter_recurse(&it, &arr);
	while (rc == 0 && bson_iter_next(&arr)) {
		bson_iter_document(&arr, &len, &data);
		bson_init_static(&cmd, data, len);
		rc = fn(c, &cmd, ctx, err);
	}
	return rc;
}

static int run_one_command(mongo_conn_t *c, const bson_t *cmd, void *ctx, migrate_error_t *err)
{
	bson_iter_t it;
	char what[120] = "command";

	if (bson_iter_init(&it, cmd) && bson_iter_next(&it))
		snprintf(what, sizeof(what), "command %s", bson_iter_key(&it));
	return migrate__mongo_command(c, cmd, NULL, what, err);
}

static int render_one_command(mongo_conn_t *c, const bson_t *cmd, void *ctx, migrate_error_t *err)
{
	migrate__mongo_append_json(ctx, cmd);
	migrate_buf_append(ctx, "\n");
	return 0;
}

/* ---- render ---- */

static void render_cmd(migrate_buf_t *out, const char *db, bson_t *cmd)
{
	if (db) {
		migrate_buf_append(out, db);
		migrate_buf_append(out, ": ");
	}
	migrate__mongo_append_json(out, cmd);
	migrate_buf_append(out, "\n");
	bson_destroy(cmd);
}

static int render_table_index(mongo_conn_t *c, const char *table, const char *name, const bson_t *keys, void *ctx,
			      migrate_error_t *err)
{
	render_cmd(ctx, NULL, cmd_create_index(table, name, keys, true, NULL));
	return 0;
}

static int render_create_table(migrate__lower *x)
{
	bson_t validator;
	bool has_validator = table_validator(x->doc, &validator);

	render_cmd(x->out, NULL,
		   cmd_create_table(migrate__doc_str(x->doc, "table"), has_validator ? &validator : NULL));
	if (has_validator)
		bson_destroy(&validator);
	return each_table_index(x->conn, x->doc, render_table_index, x->out, x->err);
}

static int render_drop_table(migrate__lower *x)
{
	render_cmd(x->out, NULL, migrate__mongo_cmd_drop(migrate__doc_str(x->doc, "table")));
	return 0;
}

static int render_rename_table(migrate__lower *x)
{
	mongo_conn_t *c = x->conn;

	render_cmd(
		x->out, "admin",
		migrate__mongo_cmd_rename(c->dbname, migrate__doc_str(x->doc, "from"), migrate__doc_str(x->doc, "to")));
	return 0;
}

static int render_create_index(migrate__lower *x)
{
	const bson_t *s = x->doc;
	bson_t keys = BSON_INITIALIZER, where, partial = BSON_INITIALIZER;
	bool has_where = migrate__doc_sub(s, "where", &where);
	int rc = 0;

	index_keys(s, &keys);
	if (has_where)
		rc = migrate__mongo_filter(&where, &partial, x->err);
	if (rc == 0)
		render_cmd(x->out, NULL,
			   cmd_create_index(migrate__doc_str(s, "table"), migrate__doc_str(s, "name"), &keys,
					    migrate__doc_bool(s, "unique", false), has_where ? &partial : NULL));
	bson_destroy(&keys);
	bson_destroy(&partial);
	return rc;
}

static int render_drop_index(migrate__lower *x)
{
	render_cmd(x->out, NULL, cmd_drop_index(migrate__doc_str(x->doc, "table"), migrate__doc_str(x->doc, "name")));
	return 0;
}

static int render_create_enum(migrate__lower *x)
{
	render_cmd(x->out, NULL, cmd_enum_put(x->doc));
	return 0;
}

static int render_drop_enum(migrate__lower *x)
{
	render_cmd(x->out, NULL, cmd_enum_delete(migrate__doc_str(x->doc, "name")));
	return 0;
}

static int render_command(migrate__lower *x)
{
	migrate_buf_printf(x->out, "// %s\n", MONGO_AT_LEAST_ONCE);
	return each_command(x->conn, x->doc, render_one_command, x->out, x->err);
}

static int apply_command(migrate__lower *x)
{
	migrate_exec_event(x->exec, MIGRATE_EVENT_WARNING, MONGO_AT_LEAST_ONCE);
	return each_command(x->conn, x->doc, run_one_command, NULL, x->err);
}

/* The steps that rewrite documents render what the server supports (its capabilities). */
#define WITH_CAPS(name, fn)                                           \
	static int name(migrate__lower *x)                            \
	{                                                             \
		int rc = migrate__mongo_caps(x->conn, x->err);        \
		return rc ? rc : fn(x->conn, x->doc, x->out, x->err); \
	}
WITH_CAPS(render_add_column, migrate__mongo_render_add_column)
WITH_CAPS(render_drop_column, migrate__mongo_render_drop_column)
WITH_CAPS(render_rename_column, migrate__mongo_render_rename_column)
WITH_CAPS(render_map_values, migrate__mongo_render_map_values)
WITH_CAPS(render_backfill, migrate__mongo_render_backfill)
WITH_CAPS(render_restore, migrate__mongo_render_restore)

/* Adapters from a row to the functions of this folder. */
#define CHECK(name, fn)                    \
	static int name(migrate__lower *x) \
	{                                  \
		return fn(x->doc, x->err); \
	}
#define RUN(name, fn)                               \
	static int name(migrate__lower *x)          \
	{                                           \
		return fn(x->conn, x->doc, x->err); \
	}
#define RENDER(name, fn)                                    \
	static int name(migrate__lower *x)                  \
	{                                                   \
		return fn(x->conn, x->doc, x->out, x->err); \
	}
#define RUN_EXEC(name, fn)                                   \
	static int name(migrate__lower *x)                   \
	{                                                    \
		return fn(x->conn, x->doc, x->exec, x->err); \
	}
CHECK(check_map_values, migrate__mongo_check_map_values)
CHECK(check_assert, migrate__mongo_check_assert)
RUN(check_backfill_, migrate__mongo_check_backfill)
RUN(apply_drop_table_, apply_drop_table)
RUN(apply_rename_table_, apply_rename_table)
RUN(apply_create_index_, apply_create_index)
RUN(apply_drop_index_, apply_drop_index)
RUN(apply_create_enum_, apply_create_enum)
RUN(apply_drop_enum_, apply_drop_enum)
RUN(apply_assert, migrate__mongo_assert)
RENDER(render_assert, migrate__mongo_render_assert)
RUN_EXEC(apply_create_table_, apply_create_table)
RUN_EXEC(apply_add_column, migrate__mongo_add_column)
RUN_EXEC(apply_drop_column, migrate__mongo_drop_column)
RUN_EXEC(apply_rename_column, migrate__mongo_rename_column)
RUN_EXEC(apply_map_values, migrate__mongo_map_values)
RUN_EXEC(apply_backfill, migrate__mongo_backfill)
RUN_EXEC(apply_restore, migrate__mongo_restore)

static int check_restore(migrate__lower *x)
{
	bson_t cols;
	bson_iter_t it;
	int rc;

	if ((rc = migrate__mongo_check_collection(migrate__doc_str(x->doc, "table"), "table", x->err)) ||
	    (rc = migrate__mongo_check_collection(migrate__doc_str(x->doc, "from"), "from", x->err)))
		return rc;
	migrate__doc_sub(x->doc, "columns", &cols);
	bson_iter_init(&it, &cols);
	while (bson_iter_next(&it)) {
		const char *field = bson_iter_utf8(&it, NULL);
		if ((rc = migrate__mongo_check_field(field, "columns", x->err)))
			return rc;
		if (!strcmp(field, "_id"))
			return migrate__err(x->err, MIGRATE_DOMAIN_PLAN, MIGRATE_EUNSUPPORTED,
					    "columns: _id is the key of the kept documents, not a field to restore");
	}
	return 0;
}

/* Every op on MongoDB: check, flags, render, apply. No transactions: every step journals on its own. */
#define NO_TXN migrate__lower_no_txn
static const migrate__lowering ops[MIGRATE_OP_COUNT] = {
	[MIGRATE_OP_CREATE_TABLE] = {check_create_table, NO_TXN, render_create_table, apply_create_table_},
	[MIGRATE_OP_DROP_TABLE] = {check_table, NO_TXN, render_drop_table, apply_drop_table_},
	[MIGRATE_OP_RENAME_TABLE] = {check_rename_table, NO_TXN, render_rename_table, apply_rename_table_},
	[MIGRATE_OP_ADD_COLUMN] = {check_add_column, NO_TXN, render_add_column, apply_add_column},
	[MIGRATE_OP_DROP_COLUMN] = {check_drop_column, NO_TXN, render_drop_column, apply_drop_column},
	[MIGRATE_OP_RENAME_COLUMN] = {check_rename_column, NO_TXN, render_rename_column, apply_rename_column},
	[MIGRATE_OP_CREATE_INDEX] = {check_create_index, NO_TXN, render_create_index, apply_create_index_},
	[MIGRATE_OP_DROP_INDEX] = {check_drop_index, NO_TXN, render_drop_index, apply_drop_index_},
	[MIGRATE_OP_CREATE_ENUM] = {NULL, NO_TXN, render_create_enum, apply_create_enum_},
	[MIGRATE_OP_DROP_ENUM] = {NULL, NO_TXN, render_drop_enum, apply_drop_enum_},
	[MIGRATE_OP_MAP_VALUES] = {check_map_values, NO_TXN, render_map_values, apply_map_values},
	[MIGRATE_OP_BACKFILL] = {check_backfill_, NO_TXN, render_backfill, apply_backfill},
	[MIGRATE_OP_SQL] = {check_sql, NULL, NULL, NULL},
	[MIGRATE_OP_COMMAND] = {NULL, NO_TXN, render_command, apply_command},
	[MIGRATE_OP_ASSERT] = {check_assert, NO_TXN, render_assert, apply_assert},
	[MIGRATE_OP_RESTORE] = {check_restore, NO_TXN, render_restore, apply_restore},
};

int migrate__mongo_check_step(void *conn, const migrate_step_t *step, migrate_error_t *err)
{
	static const char *const fields[] = {"table", "from", "to", "keep"};
	mongo_conn_t *c = conn;

	/* A history collection of the URL's (migrate_history) is not _migrate_-named: keep steps off it by name. */
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		const char *name = migrate__doc_str(migrate_step_document(step), fields[i]);
		if (name && !strcmp(name, c->history))
			return migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EUNSUPPORTED,
					    "%s: \"%s\" is the history collection of this target", fields[i], name);
	}
	return migrate__lower_check(ops, "mongo", conn, step, err);
}

unsigned migrate__mongo_step_flags(void *conn, const migrate_step_t *step)
{
	return migrate__lower_flags(ops, conn, step);
}

int migrate__mongo_render_step(void *conn, const migrate_step_t *step, migrate_buf_t *out, migrate_error_t *err)
{
	return migrate__lower_render(ops, "mongo", conn, step, out, err);
}

int migrate__mongo_apply_step(void *conn, const migrate_step_t *step, migrate_exec_t *exec, migrate_error_t *err)
{
	int rc;

	/* The lease is still ours, and what the server can do is known. */
	if ((rc = migrate__mongo_lock_check(conn, err)) || (rc = migrate__mongo_caps(conn, err)))
		return rc;
	return migrate__lower_apply(ops, "mongo", conn, step, exec, err);
}
