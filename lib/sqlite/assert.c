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

int migrate__sq_exists_query(migrate_sql_t *q, const char *table, const char *column, const char *index,
			     migrate_error_t *err)
{
	(void)err;
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

/* The answer as one integer: unique counts the groups of rows sharing values. */
static int build(migrate_sql_t *q, const char *kind, const bson_t *arg, migrate_error_t *err)
{
	int unique = !strcmp(kind, "unique"), rc;

	if (unique)
		migrate__sql_append(q, "SELECT count(*) FROM (");
	if ((rc = migrate__sql_assert_query(q, kind, arg, err)))
		return rc;
	if (unique)
		migrate__sql_append(q, ")");
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
	int rc;

	bson_iter_init_find(&want, step, "expect");
	if ((rc = migrate__sq_prepare(c, migrate__doc_str(step, "sql"), &st, err)))
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
			migrate_buf_printf(out,
					   "-- assert: the first value of this query equals the expectation\n%s;\n",
					   migrate__doc_str(step, "sql"));
			return 0;
		}
		return assert_sql(c, step, err);
	}
	migrate__sql_init(&q, &migrate__sq_dialect, c);
	if ((rc = build(&q, migrate__assert_kind(step, &sub), &sub, err)))
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
