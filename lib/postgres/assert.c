/*
 * Assert steps on PostgreSQL: each form is one query whose answer is
 * compared with the expectation; a failure is MIGRATE_EASSERT with what
 * was found and the step's own message.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg.h"

static int failed(migrate_error_t *err, const bson_t *doc, const char *table, const char *fmt, const char *a,
		  const char *b)
{
	const char *message = migrate__doc_str(doc, "message");
	char text[700];

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#endif
	snprintf(text, sizeof text, fmt, a, b);
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
	return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EASSERT, "assertion failed%s%s%s: %s%s%s%s",
			    table ? " on table \"" : "", table ? table : "", table ? "\"" : "", text,
			    message ? " (" : "", message ? message : "", message ? ")" : "");
}

int migrate__pg_exists_query(migrate_sql_t *q, const char *table, const char *column, const char *index,
			     migrate_error_t *err)
{
	migrate_buf_t *qt = migrate__buf_new(NULL), *qi = migrate__buf_new(NULL);

	(void)err;
	migrate__pg_ident(qt, table);
	if (column) {
		migrate__sql_append(q, "SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(");
		migrate__sql_param_str(q, qt->str);
		migrate__sql_append(q, ") AND attname = ");
		migrate__sql_param_str(q, column);
		migrate__sql_append(q, " AND attnum > 0 AND NOT attisdropped)");
	} else if (index) {
		migrate__pg_ident(qi, index);
		migrate__sql_append(q, "SELECT EXISTS (SELECT 1 FROM pg_index WHERE indexrelid = to_regclass(");
		migrate__sql_param_str(q, qi->str);
		migrate__sql_append(q, ") AND indrelid = to_regclass(");
		migrate__sql_param_str(q, qt->str);
		migrate__sql_append(q, "))");
	} else {
		migrate__sql_append(q, "SELECT EXISTS (SELECT 1 FROM pg_class WHERE oid = to_regclass(");
		migrate__sql_param_str(q, qt->str);
		migrate__sql_append(q, ") AND relkind IN ('r', 'p', 'v', 'm', 'f'))");
	}
	migrate__buf_free(qt, true);
	migrate__buf_free(qi, true);
	return 0;
}

/* Builds the query of an assert into q. */
static int lower(const bson_t *doc, const char *kind, migrate_sql_t *q, migrate_error_t *err)
{
	bson_t arg;
	int rc;

	if (!strcmp(kind, "sql")) {
		migrate__sql_append(q, migrate__doc_str(doc, "sql"));
		return 0;
	}
	if (!strcmp(kind, "command"))
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EUNSUPPORTED,
				    "assert command is for MongoDB; use assert sql on PostgreSQL");
	migrate__doc_sub(doc, kind, &arg);
	if ((rc = migrate__sql_assert_query(q, kind, &arg, err)))
		return rc;
	/* The first duplicate group is enough to name the values. */
	if (!strcmp(kind, "unique"))
		migrate__sql_append(q, " LIMIT 1");
	return 0;
}

/* Compares the first value of a result with expect (any JSON value). */
static int expect_value(const PGresult *res, const bson_t *doc, migrate_buf_t *found)
{
	bson_iter_t it;
	const char *v;

	if (!bson_iter_init_find(&it, doc, "expect"))
		return 1;
	if (PQntuples(res) == 0 || PQnfields(res) == 0) {
		migrate_buf_append(found, "no row");
		return 0;
	}
	if (PQgetisnull(res, 0, 0)) {
		migrate_buf_append(found, "NULL");
		return BSON_ITER_HOLDS_NULL(&it);
	}
	v = PQgetvalue(res, 0, 0);
	migrate_buf_printf(found, "\"%.200s\"", v);
	switch (bson_iter_type(&it)) {
	case BSON_TYPE_BOOL:
		return bson_iter_bool(&it) ? (!strcmp(v, "t") || !strcmp(v, "true"))
					   : (!strcmp(v, "f") || !strcmp(v, "false"));
	case BSON_TYPE_INT32:
	case BSON_TYPE_INT64: {
		char *end;
		long long n = strtoll(v, &end, 10);
		return *end == '\0' && n == bson_iter_as_int64(&it);
	}
	case BSON_TYPE_DOUBLE: {
		char *end;
		double d = strtod(v, &end);
		return *end == '\0' && d == bson_iter_double(&it);
	}
	case BSON_TYPE_UTF8: return !strcmp(v, bson_iter_utf8(&it, NULL));
	case BSON_TYPE_DOCUMENT:
	case BSON_TYPE_ARRAY: {
		bson_t parsed;
		migrate_buf_t *a = migrate__buf_new(NULL), *b = migrate__buf_new(NULL);
		int same = 0;
		if (migrate__json_parse(v, BSON_ITER_HOLDS_ARRAY(&it), &parsed, NULL) == 0) {
			migrate__json_canonical(&parsed, BSON_ITER_HOLDS_ARRAY(&it), a);
			migrate__json_value(&it, b);
			same = !strcmp(a->str, b->str);
			bson_destroy(&parsed);
		}
		migrate__buf_free(a, true);
		migrate__buf_free(b, true);
		return same;
	}
	default: return 0;
	}
}

int migrate__pg_render_assert(pg_target_t *t, const bson_t *doc, migrate_buf_t *out, migrate_error_t *err)
{
	const char *kind = migrate__assert_kind(doc, NULL);
	migrate_sql_t q;
	int rc;

	migrate__sql_init(&q, &migrate__pg_dialect, t);
	rc = lower(doc, kind, &q, err);
	if (rc == 0) {
		migrate_buf_printf(out, "-- assert %s\n%s;\n", kind, migrate__sql_text(&q));
		if (q.nparams) {
			migrate_buf_t *p = migrate__buf_new(NULL);
			migrate__json_canonical(&q.params, true, p);
			migrate_buf_printf(out, "-- parameters $1..$%u: %s\n", q.nparams, p->str);
			migrate__buf_free(p, true);
		}
	}
	migrate__sql_free(&q);
	return rc;
}

int migrate__pg_assert(pg_target_t *t, const bson_t *doc, migrate_error_t *err)
{
	const char *kind = migrate__assert_kind(doc, NULL);
	bson_t sub;
	migrate_sql_t q;
	PGresult *res = NULL;
	char desc[64], n[32];
	const char *table;
	int rc;

	migrate__sql_init(&q, &migrate__pg_dialect, t);
	if ((rc = lower(doc, kind, &q, err)) || (rc = migrate__pg_exec_sql(t, &q, &res, NULL, "assert", err)))
		goto cleanup;
	table = NULL;
	if (strcmp(kind, "sql") != 0 && migrate__doc_sub(doc, kind, &sub))
		table = migrate__doc_str(&sub, "table");
	if (!strcmp(kind, "count")) {
		int64_t count = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		if (!migrate__expect_holds(doc, count, desc, sizeof desc)) {
			snprintf(n, sizeof n, "%" PRId64, count);
			rc = failed(err, doc, table, "%s rows counted, expected %s", n, desc);
		}
	} else if (!strcmp(kind, "no_match")) {
		if (PQgetvalue(res, 0, 0)[0] == 't')
			rc = failed(err, doc, table, "some row matches the no_match filter%s%s", "", "");
	} else if (!strcmp(kind, "unique")) {
		if (PQntuples(res) > 0)
			rc = failed(err, doc, table, "values (%s) occur %s times", PQgetvalue(res, 0, 0),
				    PQgetvalue(res, 0, 1));
	} else if (!strcmp(kind, "exists")) {
		if (PQgetvalue(res, 0, 0)[0] != 't') {
			const char *c = table ? migrate__doc_str(&sub, "column") : NULL;
			const char *i = table ? migrate__doc_str(&sub, "index") : NULL;
			if (c)
				rc = failed(err, doc, table, "column \"%s\" does not exist%s", c, "");
			else if (i)
				rc = failed(err, doc, table, "index \"%s\" does not exist%s", i, "");
			else
				rc = failed(err, doc, table, "the table does not exist%s%s", "", "");
		}
	} else {
		migrate_buf_t *found = migrate__buf_new(NULL);
		if (!expect_value(res, doc, found))
			rc = failed(err, doc, NULL, "the query returned %s%s, not the expected value", found->str, "");
		migrate__buf_free(found, true);
	}
cleanup:
	PQclear(res);
	migrate__sql_free(&q);
	return rc;
}
