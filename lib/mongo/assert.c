/*
 * assert steps on MongoDB: count, unique, no_match, exists and command,
 * each one query. A failed assertion is MIGRATE_EASSERT with what was found
 * and the step's own message.
 */
#include <stdio.h>
#include <string.h>

#include "mongo_int.h"

/* The columns of a unique assertion become keys and "$column" paths of a $group: fields, not paths. */
static int check_unique_columns(const bson_t *arg, migrate_error_t *err)
{
	bson_t cols;
	bson_iter_t it;
	char where[48];
	int rc;

	migrate__doc_sub(arg, "columns", &cols);
	bson_iter_init(&it, &cols);
	while (bson_iter_next(&it)) {
		snprintf(where, sizeof(where), "unique.columns[%s]", bson_iter_key(&it));
		if ((rc = migrate__mongo_check_field(bson_iter_utf8(&it, NULL), where, err)))
			return rc;
	}
	return 0;
}

int migrate__mongo_check_assert(const bson_t *step, migrate_error_t *err)
{
	bson_t arg, where;
	const char *kind = migrate__assert_kind(step, &arg);
	int rc;

	if (!strcmp(kind, "sql"))
		return migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EUNSUPPORTED,
				    "assert: sql assertions have no meaning on MongoDB (use a command assertion)");
	if (!strcmp(kind, "command"))
		return 0;
	if ((rc = migrate__mongo_check_collection(migrate__doc_str(&arg, "table"), kind, err)))
		return rc;
	if (migrate__doc_sub(&arg, "where", &where) && (rc = migrate__mongo_check_filter(&where, err)))
		return rc;
	if (!strcmp(kind, "exists") && migrate__doc_str(&arg, "column"))
		return migrate__mongo_check_field(migrate__doc_str(&arg, "column"), "exists.column", err);
	if (!strcmp(kind, "unique"))
		return check_unique_columns(&arg, err);
	return 0;
}

/* Fails with the step's message appended. */
static int failed(const bson_t *step, migrate_error_t *err, const char *found)
{
	const char *msg = migrate__doc_str(step, "message");

	return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EASSERT, "assertion failed: %s%s%s", found,
			    msg ? ": " : "", msg ? msg : "");
}

static int lowered_where(const bson_t *arg, bson_t *out, migrate_error_t *err)
{
	bson_t where;

	bson_init(out);
	if (migrate__doc_sub(arg, "where", &where))
		return migrate__mongo_filter(&where, out, err);
	return 0;
}

static int assert_count(mongo_conn_t *c, const bson_t *step, const bson_t *arg, migrate_error_t *err)
{
	const char *table = migrate__doc_str(arg, "table");
	bson_t q;
	int64_t n = 0;
	char why[100], found[300];
	int rc;

	if ((rc = lowered_where(arg, &q, err)) == 0)
		rc = migrate__mongo_count(c, table, &q, &n, err);
	bson_destroy(&q);
	if (rc)
		return rc;
	if (migrate__expect_holds(step, n, why, sizeof(why)))
		return 0;
	snprintf(found, sizeof(found), "count of \"%s\" is %lld, expected %s", table, (long long)n, why);
	return failed(step, err, found);
}

/*
 * Whether a unique index of `table` already guarantees that `keys` are
 * unique: one on some of these fields (any order), neither sparse nor
 * partial, so that every document is in it (a missing field counts as
 * null, as $group counts it). Then the assertion needs no scan, which on
 * FerretDB groups the whole collection in the server's memory (beyond 300 s
 * at 100,000 documents on its SQLite backend).
 */
static bool unique_index_covers(mongo_conn_t *c, const char *table, const bson_t *keys, migrate_error_t *err, int *rc)
{
	mongoc_collection_t *coll = mongoc_database_get_collection(c->db, table);
	mongoc_cursor_t *cur;
	const bson_t *spec;
	bool covered = false;

	*rc = migrate__fault(MIGRATE__FAULT_STMT, "listIndexes", err);
	if (*rc) {
		mongoc_collection_destroy(coll);
		return false;
	}
	cur = mongoc_collection_find_indexes_with_opts(coll, NULL);
	while (!covered && mongoc_cursor_next(cur, &spec)) {
		bson_iter_t it, k;
		bson_t key;
		bool all = true;
		if (!bson_iter_init_find(&it, spec, "unique") || !bson_iter_as_bool(&it) ||
		    (bson_iter_init_find(&it, spec, "sparse") && bson_iter_as_bool(&it)) ||
		    bson_has_field(spec, "partialFilterExpression") || !migrate__doc_sub(spec, "key", &key) ||
		    bson_empty(&key))
			continue;
		bson_iter_init(&k, &key);
		while (all && bson_iter_next(&k)) {
			bson_iter_t in;
			all = bson_iter_init_find(&in, keys, bson_iter_key(&k));
		}
		covered = all;
	}
	/* A collection that does not exist has no index: the $group decides (and finds nothing). */
	if (mongoc_cursor_error(cur, NULL))
		covered = false;
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(coll);
	return covered;
}

static int assert_unique(mongo_conn_t *c, const bson_t *step, const bson_t *arg, migrate_error_t *err)
{
	const char *table = migrate__doc_str(arg, "table");
	bson_t cols, keys = BSON_INITIALIZER;
	bson_iter_t it;
	migrate_buf_t *dups = migrate__buf_new("");
	int n, rc = 0;

	if (migrate__doc_sub(arg, "columns", &cols) && bson_iter_init(&it, &cols))
		while (bson_iter_next(&it))
			if (BSON_ITER_HOLDS_UTF8(&it))
				BSON_APPEND_INT32(&keys, bson_iter_utf8(&it, NULL), 1);
	if (unique_index_covers(c, table, &keys, err, &rc) || rc) {
		migrate__buf_free(dups, true);
		bson_destroy(&keys);
		return rc;
	}
	n = migrate__mongo_duplicates(c, table, &keys, dups, err);
	if (n < 0) {
		rc = n;
	} else if (n > 0) {
		char found[700];
		snprintf(found, sizeof(found), "duplicates in \"%s\": %s", table, dups->str);
		rc = failed(step, err, found);
	}
	migrate__buf_free(dups, true);
	bson_destroy(&keys);
	return rc;
}

static int assert_no_match(mongo_conn_t *c, const bson_t *step, const bson_t *arg, migrate_error_t *err)
{
	const char *table = migrate__doc_str(arg, "table");
	mongoc_collection_t *coll = mongoc_database_get_collection(c->db, table);
	bson_t q, *opts = BCON_NEW("limit", BCON_INT64(1), "projection", "{", "_id", BCON_INT32(1), "}");
	mongoc_cursor_t *cur = NULL;
	const bson_t *doc;
	int rc;

	if ((rc = lowered_where(arg, &q, err)) == 0) {
		migrate__mongo_log_command("find (assert no_match)", &q);
		cur = mongoc_collection_find_with_opts(coll, &q, opts, NULL);
		if (mongoc_cursor_next(cur, &doc)) {
			char *json = bson_as_relaxed_extended_json(doc, NULL);
			char found[300];
			snprintf(found, sizeof(found), "a document of \"%s\" matches: %s", table, json ? json : "?");
			bson_free(json);
			rc = failed(step, err, found);
		} else {
			rc = migrate__mongo_cursor_error(cur, "assert no_match", err);
		}
	}
	if (cur)
		mongoc_cursor_destroy(cur);
	bson_destroy(&q);
	bson_destroy(opts);
	mongoc_collection_destroy(coll);
	return rc;
}

static int index_exists(mongo_conn_t *c, const char *table, const char *name, bool *found, migrate_error_t *err)
{
	mongoc_collection_t *coll = mongoc_database_get_collection(c->db, table);
	mongoc_cursor_t *cur = mongoc_collection_find_indexes_with_opts(coll, NULL);
	const bson_t *spec;
	bson_error_t e;
	int rc = 0;

	*found = false;
	while (mongoc_cursor_next(cur, &spec)) {
		const char *n = migrate__doc_str(spec, "name");
		if (n && !strcmp(n, name))
			*found = true;
	}
	if (mongoc_cursor_error(cur, &e) && migrate__mongo_server_code(&e) != MONGO_NAMESPACE_NOT_FOUND)
		rc = migrate__mongo_fail(err, &e, "listIndexes on \"%s\"", table);
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(coll);
	return rc;
}

/*
 * A collection has no columns: a field "exists" when some document has it,
 * or when the collection is empty (nothing contradicts the schema).
 */
static int assert_exists(mongo_conn_t *c, const bson_t *step, const bson_t *arg, migrate_error_t *err)
{
	const char *table = migrate__doc_str(arg, "table");
	const char *column = migrate__doc_str(arg, "column");
	const char *index = migrate__doc_str(arg, "index");
	char found[300];
	bool ok;
	int rc;

	if ((rc = migrate__mongo_collection_exists(c, table, &ok, err)))
		return rc;
	if (!ok) {
		snprintf(found, sizeof(found), "collection \"%s\" does not exist", table);
		return failed(step, err, found);
	}
	if (index) {
		if ((rc = index_exists(c, table, index, &ok, err)))
			return rc;
		snprintf(found, sizeof(found), "index \"%s\" on \"%s\" does not exist", index, table);
		return ok ? 0 : failed(step, err, found);
	}
	if (column) {
		bson_t q = BSON_INITIALIZER, cond;
		int64_t with = 0, all = 0;
		bson_append_document_begin(&q, column, -1, &cond);
		BSON_APPEND_BOOL(&cond, "$exists", true);
		bson_append_document_end(&q, &cond);
		rc = migrate__mongo_count(c, table, &q, &with, err);
		bson_destroy(&q);
		if (rc || (with == 0 && (rc = migrate__mongo_count(c, table, NULL, &all, err))))
			return rc;
		snprintf(found, sizeof(found), "no document of \"%s\" has the field \"%s\"", table, column);
		return with > 0 || all == 0 ? 0 : failed(step, err, found);
	}
	return 0;
}

/* Every field of `want` is in `have` with an equal value (numbers compared as numbers, documents recursively). */
static bool contains(const bson_t *have, const bson_t *want)
{
	bson_iter_t w, h;

	bson_iter_init(&w, want);
	while (bson_iter_next(&w)) {
		if (!bson_iter_init_find(&h, have, bson_iter_key(&w)))
			return false;
		if (BSON_ITER_HOLDS_NUMBER(&w) && BSON_ITER_HOLDS_NUMBER(&h)) {
			if (bson_iter_as_double(&w) != bson_iter_as_double(&h))
				return false;
		} else if (BSON_ITER_HOLDS_DOCUMENT(&w) && BSON_ITER_HOLDS_DOCUMENT(&h)) {
			bson_t a, b;
			uint32_t la, lb;
			const uint8_t *da, *db;
			bson_iter_document(&h, &la, &da);
			bson_iter_document(&w, &lb, &db);
			bson_init_static(&a, da, la);
			bson_init_static(&b, db, lb);
			if (!contains(&a, &b))
				return false;
		} else {
			bson_t a = BSON_INITIALIZER, b = BSON_INITIALIZER;
			bool eq;
			bson_append_iter(&a, "v", -1, &h);
			bson_append_iter(&b, "v", -1, &w);
			eq = bson_equal(&a, &b);
			bson_destroy(&a);
			bson_destroy(&b);
			if (!eq)
				return false;
		}
	}
	return true;
}

static int assert_command(mongo_conn_t *c, const bson_t *step, const bson_t *arg, migrate_error_t *err)
{
	bson_t reply, expect;
	char found[700];
	int rc = migrate__mongo_command(c, arg, &reply, "assert command", err);

	if (rc == 0 && migrate__doc_sub(step, "expect", &expect) && !contains(&reply, &expect)) {
		char *got = bson_as_relaxed_extended_json(&reply, NULL);
		char *want = bson_as_relaxed_extended_json(&expect, NULL);
		snprintf(found, sizeof(found), "reply %s does not hold %s", got ? got : "?", want ? want : "?");
		bson_free(got);
		bson_free(want);
		rc = failed(step, err, found);
	}
	bson_destroy(&reply);
	return rc;
}

int migrate__mongo_assert(mongo_conn_t *c, const bson_t *step, migrate_error_t *err)
{
	bson_t arg;
	const char *kind = migrate__assert_kind(step, &arg);

	if (!strcmp(kind, "count"))
		return assert_count(c, step, &arg, err);
	if (!strcmp(kind, "unique"))
		return assert_unique(c, step, &arg, err);
	if (!strcmp(kind, "no_match"))
		return assert_no_match(c, step, &arg, err);
	if (!strcmp(kind, "exists"))
		return assert_exists(c, step, &arg, err);
	if (!strcmp(kind, "command"))
		return assert_command(c, step, &arg, err);
	return migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EUNSUPPORTED, "assert: %s is not supported on MongoDB",
			    kind);
}

int migrate__mongo_render_assert(mongo_conn_t *c, const bson_t *step, migrate_buf_t *out, migrate_error_t *err)
{
	bson_t arg, q;
	const char *kind = migrate__assert_kind(step, &arg);
	int rc = 0;

	if (!kind)
		return migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EPLAN, "assert: no assertion");
	migrate_buf_printf(out, "// assert %s\n", kind);
	if (!strcmp(kind, "count") || !strcmp(kind, "no_match")) {
		if ((rc = lowered_where(&arg, &q, err)) == 0) {
			bson_t *cmd = BCON_NEW("count", BCON_UTF8(migrate__doc_str(&arg, "table")), "query",
					       BCON_DOCUMENT(&q));
			migrate__mongo_append_json(out, cmd);
			bson_destroy(cmd);
		}
		bson_destroy(&q);
	} else {
		/* A command, and the other kinds, shown as their argument. */
		migrate__mongo_append_json(out, &arg);
	}
	migrate_buf_append(out, "\n");
	return rc;
}

/*
 * Up to five groups of documents of `table` that share the values of the
 * fields named by `keys`, written as "{key} (n documents), ..." to `out`.
 * Returns how many groups were found, or a negative code.
 */
int migrate__mongo_duplicates(mongo_conn_t *c, const char *table, const bson_t *keys, migrate_buf_t *out,
			      migrate_error_t *err)
{
	mongoc_collection_t *coll = mongoc_database_get_collection(c->db, table);
	bson_t pipeline = BSON_INITIALIZER, stage, group, id, arr;
	bson_iter_t it;
	mongoc_cursor_t *cur;
	const bson_t *doc;
	int n = 0, rc;

	bson_append_array_begin(&pipeline, "pipeline", -1, &arr);
	bson_append_document_begin(&arr, "0", -1, &stage);
	bson_append_document_begin(&stage, "$group", -1, &group);
	bson_append_document_begin(&group, "_id", -1, &id);
	bson_iter_init(&it, keys);
	while (bson_iter_next(&it)) {
		char path[80];
		snprintf(path, sizeof(path), "$%s", bson_iter_key(&it));
		BSON_APPEND_UTF8(&id, bson_iter_key(&it), path);
	}
	bson_append_document_end(&group, &id);
	BCON_APPEND(&group, "n", "{", "$sum", BCON_INT32(1), "}");
	bson_append_document_end(&stage, &group);
	bson_append_document_end(&arr, &stage);
	BCON_APPEND(&arr, "1", "{", "$match", "{", "n", "{", "$gt", BCON_INT32(1), "}", "}", "}");
	BCON_APPEND(&arr, "2", "{", "$limit", BCON_INT32(5), "}");
	bson_append_array_end(&pipeline, &arr);
	migrate__mongo_log_command("aggregate (duplicate keys)", &pipeline);
	cur = mongoc_collection_aggregate(coll, MONGOC_QUERY_NONE, &pipeline, NULL, NULL);
	while (mongoc_cursor_next(cur, &doc)) {
		bson_t key;
		char *json = NULL;
		if (migrate__doc_sub(doc, "_id", &key))
			json = bson_as_relaxed_extended_json(&key, NULL);
		migrate_buf_printf(out, "%s%s (%lld documents)", n++ ? ", " : "", json ? json : "?",
				   (long long)migrate__doc_int(doc, "n", 0));
		bson_free(json);
	}
	rc = migrate__mongo_cursor_error(cur, "looking for duplicate keys", err);
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(coll);
	bson_destroy(&pipeline);
	return rc ? rc : n;
}

/* Sample duplicate keys for the error of a unique index that could not be built. */
