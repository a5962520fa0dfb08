/*
 * Assert steps: one query each, compared with the expectation. A failed
 * assertion is MIGRATE_EASSERT with what was found, what was expected and
 * the step's own message.
 */
#include <math.h>
#include <string.h>

#include "sqlite_int.h"

static int failed(migrate_error_t *err, const bson_t *step, const char *what)
{
	const char *msg = migrate__doc_str(step, "message");

	return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EASSERT, "assertion failed: %s%s%s", what,
			    msg ? ": " : "", msg ? msg : "");
}

/* n compared with expect (an integer or {"$op": integer}); *desc describes the expectation. */
static int build_count(migrate_sql_t *q, const bson_t *sub, bool exists, migrate_error_t *err)
{
	bson_t where;
	const char *table = migrate__sql_doc_ident(sub, "table", err);
	int rc;

	if (!table)
		return MIGRATE_EPLAN;
	migrate__sql_append(q, exists ? "SELECT EXISTS (SELECT 1 FROM " : "SELECT count(*) FROM ");
	migrate__sql_ident(q, table);
	migrate__sql_append(q, " WHERE ");
	if ((rc = migrate__sql_where(q, migrate__doc_sub(sub, "where", &where) ? &where : NULL, NULL, err)))
		return rc;
	if (exists)
		migrate__sql_append(q, ")");
	return 0;
}

/* Groups of rows sharing the columns' values (rows with a NULL in them never collide, as in a UNIQUE index). */
static int build_unique(migrate_sql_t *q, const bson_t *sub, migrate_error_t *err)
{
	bson_t cols;
	bson_iter_t it;
	migrate_buf_t *list = migrate__buf_new(NULL);
	const char *table = migrate__sql_doc_ident(sub, "table", err);

	if (!table || !migrate__doc_sub(sub, "columns", &cols)) {
		migrate__buf_free(list, true);
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EPLAN,
				    "unique: table and columns are required");
	}
	migrate__sql_append(q, "SELECT count(*) FROM (SELECT 1 FROM ");
	migrate__sql_ident(q, table);
	migrate__sql_append(q, " WHERE 1 = 1");
	bson_iter_init(&it, &cols);
	while (bson_iter_next(&it)) {
		const char *col = BSON_ITER_HOLDS_UTF8(&it) ? bson_iter_utf8(&it, NULL) : "";
		migrate__sql_append(q, " AND ");
		migrate__sql_ident(q, col);
		migrate__sql_append(q, " IS NOT NULL");
		if (list->len)
			migrate_buf_append(list, ", ");
		migrate__sql_quote_ident(list, col);
	}
	migrate__sql_printf(q, " GROUP BY %s HAVING count(*) > 1)", list->str);
	migrate__buf_free(list, true);
	return 0;
}

static int build_exists(migrate_sql_t *q, const bson_t *sub, migrate_error_t *err)
{
	const char *table = migrate__sql_doc_ident(sub, "table", err);
	const char *column = migrate__doc_str(sub, "column"), *index = migrate__doc_str(sub, "index");

	if (!table)
		return MIGRATE_EPLAN;
	if (column) {
		migrate__sql_append(q, "SELECT count(*) FROM pragma_table_xinfo(");
		migrate__sql_param_str(q, table);
		migrate__sql_append(q, ") WHERE name = ");
		migrate__sql_param_str(q, column);
	} else if (index) {
		migrate__sql_append(q, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = ");
		migrate__sql_param_str(q, index);
		migrate__sql_append(q, " COLLATE NOCASE AND tbl_name = ");
		migrate__sql_param_str(q, table);
	} else {
		migrate__sql_append(q,
				    "SELECT count(*) FROM sqlite_master WHERE type IN ('table', 'view') AND name = ");
		migrate__sql_param_str(q, table);
	}
	migrate__sql_append(q, " COLLATE NOCASE");
	return 0;
}

/* Whether the current row's first column equals the JSON scalar at `want`. */
static bool value_equals(sqlite3_stmt *st, const bson_iter_t *want)
{
	int t = st ? sqlite3_column_type(st, 0) : SQLITE_NULL;

	switch (bson_iter_type(want)) {
	case BSON_TYPE_NULL: return t == SQLITE_NULL;
	case BSON_TYPE_BOOL: return t == SQLITE_INTEGER && (sqlite3_column_int64(st, 0) != 0) == bson_iter_bool(want);
	case BSON_TYPE_INT32:
	case BSON_TYPE_INT64:
		if (t == SQLITE_FLOAT)
			return sqlite3_column_double(st, 0) == (double)bson_iter_as_int64(want);
		return t == SQLITE_INTEGER && sqlite3_column_int64(st, 0) == bson_iter_as_int64(want);
	case BSON_TYPE_DOUBLE:
		return (t == SQLITE_FLOAT || t == SQLITE_INTEGER) &&
		       sqlite3_column_double(st, 0) == bson_iter_double(want);
	case BSON_TYPE_UTF8: {
		uint32_t len;
		const char *s = bson_iter_utf8(want, &len);
		return t == SQLITE_TEXT && (uint32_t)sqlite3_column_bytes(st, 0) == len &&
		       memcmp(sqlite3_column_text(st, 0), s, len) == 0;
	}
	default: return false;
	}
}

static int assert_sql(sq_conn_t *c, const bson_t *step, migrate_error_t *err)
{
	sqlite3_stmt *st = NULL;
	bson_iter_t want;
	migrate_buf_t *exp = migrate__buf_new(NULL), *what = NULL;
	const char *sql = migrate__doc_str(step, "sql");
	int rc;

	if (!sql || !bson_iter_init_find(&want, step, "expect")) {
		rc = migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EPLAN, "assert sql: sql and expect are required");
		goto cleanup;
	}
	if ((rc = migrate__sq_prepare(c, sql, &st, err)))
		goto cleanup;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		rc = migrate__sq_err(c, err, "assert sql");
		goto cleanup;
	}
	if (value_equals(rc == SQLITE_ROW ? st : NULL, &want)) {
		rc = 0;
		goto cleanup;
	}
	migrate__json_value(&want, exp);
	what = migrate__buf_new(NULL);
	if (rc != SQLITE_ROW)
		migrate_buf_append(what, "the query returned no row");
	else if (sqlite3_column_type(st, 0) == SQLITE_NULL)
		migrate_buf_append(what, "the query returned NULL");
	else
		migrate_buf_printf(what, "the query returned %.200s", (const char *)sqlite3_column_text(st, 0));
	migrate_buf_printf(what, ", expected %.200s", exp->str);
	rc = failed(err, step, what->str);
cleanup:
	sqlite3_finalize(st);
	migrate__buf_free(exp, true);
	if (what)
		migrate__buf_free(what, true);
	return rc;
}

int migrate__sq_assert(sq_conn_t *c, const bson_t *step, int render, migrate_buf_t *out, migrate_error_t *err)
{
	migrate_sql_t q;
	bson_t sub;
	int64_t n = 0;
	char desc[64], what[400];
	int rc;

	if (bson_has_field(step, "command"))
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EUNSUPPORTED,
				    "assert command is MongoDB only; use assert sql on SQLite");
	if (bson_has_field(step, "sql")) {
		if (render) {
			migrate_buf_printf(
				out, "-- assert: the first value of this query equals the expectation\n%s;\n",
				migrate__doc_str(step, "sql"));
			return 0;
		}
		return assert_sql(c, step, err);
	}
	migrate__sql_init(&q, &migrate__sq_dialect, c);
	if (migrate__doc_sub(step, "count", &sub))
		rc = build_count(&q, &sub, false, err);
	else if (migrate__doc_sub(step, "no_match", &sub))
		rc = build_count(&q, &sub, true, err);
	else if (migrate__doc_sub(step, "unique", &sub))
		rc = build_unique(&q, &sub, err);
	else if (migrate__doc_sub(step, "exists", &sub))
		rc = build_exists(&q, &sub, err);
	else
		rc = migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EPLAN, "assert: unknown kind");
	if (rc)
		goto cleanup;
	if (render) {
		migrate_buf_append(out, "-- assert:\n");
		migrate__sq_render_sql(&q, out);
		goto cleanup;
	}
	if ((rc = migrate__sq_query_int(c, &q, &n, err)))
		goto cleanup;
	if (bson_has_field(step, "count")) {
		if (!migrate__expect_holds(step, n, desc, sizeof desc)) {
			snprintf(what, sizeof what, "count of \"%s\" is %lld, expected %s",
				 migrate__doc_str(&sub, "table"), (long long)n, desc);
			rc = failed(err, step, what);
		}
	} else if (bson_has_field(step, "no_match")) {
		if (n) {
			snprintf(what, sizeof what, "rows of \"%s\" match the filter", migrate__doc_str(&sub, "table"));
			rc = failed(err, step, what);
		}
	} else if (bson_has_field(step, "unique")) {
		if (n) {
			snprintf(what, sizeof what, "%lld groups of rows of \"%s\" share the same values", (long long)n,
				 migrate__doc_str(&sub, "table"));
			rc = failed(err, step, what);
		}
	} else if (!n) {
		const char *col = migrate__doc_str(&sub, "column"), *idx = migrate__doc_str(&sub, "index");
		snprintf(what, sizeof what, "%s \"%s\"%s%s%s does not exist",
			 col   ? "column"
			 : idx ? "index"
			       : "table",
			 col   ? col
			 : idx ? idx
			       : migrate__doc_str(&sub, "table"),
			 col || idx ? " of \"" : "", col || idx ? migrate__doc_str(&sub, "table") : "",
			 col || idx ? "\"" : "");
		rc = failed(err, step, what);
	}
cleanup:
	migrate__sql_free(&q);
	return rc;
}
