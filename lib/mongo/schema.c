/*
 * Drift detection on MongoDB: the plan's collections from one
 * listCollections, and the indexes of each from listIndexes (the protocol
 * has no command that lists the indexes of several collections). A
 * collection has no column definitions and the driver keeps enums in its
 * own collection only: columns and enums are not compared. The indexes
 * that create_table makes for unique columns and primary keys, and _id_,
 * are marked "constraint" (never extra).
 */
#include <string.h>

#include "mongo_int.h"

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

/* _id_, <table>_pkey, or <table>_<column>_key on one column (create_table's names). */
static bool made_by_create_table(const char *name, bool unique, const bson_t *key)
{
	char suffix[200];
	bson_iter_t it;

	if (!strcmp(name, "_id_"))
		return true;
	if (!unique)
		return false;
	if (ends_with(name, "_pkey"))
		return true;
	if (bson_count_keys(key) != 1 || !bson_iter_init(&it, key) || !bson_iter_next(&it))
		return false;
	snprintf(suffix, sizeof suffix, "_%s_key", bson_iter_key(&it));
	return ends_with(name, suffix);
}

/* One index spec as {"keys": [{column, order}], "unique", "where", "constraint"}. */
static void index_doc(const bson_t *spec, bson_t *out)
{
	bson_t key, arr, k, partial;
	bson_iter_t it;
	char num[16];
	const char *idx;
	uint32_t i = 0;
	bool unique = migrate__doc_bool(spec, "unique", false);

	if (!migrate__doc_sub(spec, "key", &key))
		bson_init(&key);
	BSON_APPEND_ARRAY_BEGIN(out, "keys", &arr);
	if (bson_iter_init(&it, &key))
		while (bson_iter_next(&it)) {
			bool desc = (BSON_ITER_HOLDS_NUMBER(&it) && bson_iter_as_double(&it) < 0);
			bson_uint32_to_string(i++, &idx, num, sizeof num);
			BSON_APPEND_DOCUMENT_BEGIN(&arr, idx, &k);
			BSON_APPEND_UTF8(&k, "column", bson_iter_key(&it));
			BSON_APPEND_UTF8(&k, "order", desc ? "desc" : "asc");
			bson_append_document_end(&arr, &k);
		}
	bson_append_array_end(out, &arr);
	BSON_APPEND_BOOL(out, "unique", unique);
	BSON_APPEND_BOOL(out, "where", migrate__doc_sub(spec, "partialFilterExpression", &partial));
	BSON_APPEND_BOOL(out, "constraint", made_by_create_table(migrate__doc_str(spec, "name"), unique, &key));
}

static int collection_indexes(mongo_conn_t *c, const char *table, bson_t *tables, migrate_error_t *err)
{
	mongoc_collection_t *coll;
	mongoc_cursor_t *cur;
	const bson_t *spec;
	bson_t t, idxs, one;
	int rc;

	if ((rc = migrate__fault(MIGRATE__FAULT_STMT, "listIndexes", err)))
		return rc;
	coll = mongoc_database_get_collection(c->db, table);
	cur = mongoc_collection_find_indexes_with_opts(coll, NULL);
	BSON_APPEND_DOCUMENT_BEGIN(tables, table, &t);
	BSON_APPEND_DOCUMENT_BEGIN(&t, "indexes", &idxs);
	while (mongoc_cursor_next(cur, &spec)) {
		const char *name = migrate__doc_str(spec, "name");
		if (!name)
			continue;
		BSON_APPEND_DOCUMENT_BEGIN(&idxs, name, &one);
		index_doc(spec, &one);
		bson_append_document_end(&idxs, &one);
	}
	bson_append_document_end(&t, &idxs);
	bson_append_document_end(tables, &t);
	rc = migrate__mongo_cursor_error(cur, "listIndexes", err);
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(coll);
	return rc;
}

int migrate__mongo_schema_read(void *conn, const bson_t *wanted, bson_t *out, migrate_error_t *err)
{
	mongo_conn_t *c = conn;
	bson_t names, opts = BSON_INITIALIZER, filter, in, tables;
	mongoc_cursor_t *cur;
	const bson_t *spec;
	int rc;

	if (!migrate__doc_sub(wanted, "tables", &names))
		bson_init(&names);
	BSON_APPEND_DOCUMENT_BEGIN(&opts, "filter", &filter);
	BSON_APPEND_DOCUMENT_BEGIN(&filter, "name", &in);
	BSON_APPEND_ARRAY(&in, "$in", &names);
	bson_append_document_end(&filter, &in);
	bson_append_document_end(&opts, &filter);
	BSON_APPEND_UTF8(out, "table_kind", "collection");
	BSON_APPEND_DOCUMENT_BEGIN(out, "tables", &tables);
	if ((rc = migrate__fault(MIGRATE__FAULT_STMT, "listCollections", err)) == 0) {
		cur = mongoc_database_find_collections_with_opts(c->db, &opts);
		while (rc == 0 && mongoc_cursor_next(cur, &spec)) {
			const char *name = migrate__doc_str(spec, "name");
			const char *type = migrate__doc_str(spec, "type");
			if (name && (!type || !strcmp(type, "collection")))
				rc = collection_indexes(c, name, &tables, err);
		}
		if (rc == 0)
			rc = migrate__mongo_cursor_error(cur, "listCollections", err);
		mongoc_cursor_destroy(cur);
	}
	bson_append_document_end(out, &tables);
	bson_destroy(&opts);
	return rc;
}
