/*
 * Running statements on SQLite: preparing, binding every value with
 * sqlite3_bind_*, errors that carry SQLite's own message, and statement
 * lists that are either run or rendered.
 */
#include <stdlib.h>
#include <string.h>

#include "sqlite_int.h"

/* In parentheses: not the macro of sqlite_int.h. */
int(migrate__sq_err)(sq_conn_t *c, migrate_error_t *err, const char *what)
{
	return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EDB, "SQLite: %s: %s (code %d)", what,
			    sqlite3_errmsg(c->db), sqlite3_extended_errcode(c->db));
}

static void log_sql(const char *sql)
{
	if (migrate__log_enabled(MIGRATE_LOG_DEBUG))
		migrate__log(MIGRATE_LOG_DEBUG, "sqlite: %s", sql);
}

/* Shortens SQL for error messages. */
static void excerpt(const char *sql, char *out, size_t size)
{
	size_t n = strlen(sql);

	if (n < size) {
		memcpy(out, sql, n + 1);
		return;
	}
	memcpy(out, sql, size - 4);
	memcpy(out + size - 4, "...", 4);
}

int migrate__sq_exec(sq_conn_t *c, const char *sql, migrate_error_t *err)
{
	char *msg = NULL;
	char ex[200];
	int rc;

	if ((rc = migrate__fault(MIGRATE__FAULT_STMT, "sqlite3_exec", err)))
		return rc;
	log_sql(sql);
	rc = sqlite3_exec(c->db, sql, NULL, NULL, &msg);
	if (rc == SQLITE_OK)
		return 0;
	excerpt(sql, ex, sizeof ex);
	rc = migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EDB, "SQLite: %s (code %d) in: %s",
			  msg ? msg : sqlite3_errmsg(c->db), sqlite3_extended_errcode(c->db), ex);
	sqlite3_free(msg);
	return rc;
}

int migrate__sq_prepare(sq_conn_t *c, const char *sql, sqlite3_stmt **st, migrate_error_t *err)
{
	char ex[200];
	int rc;

	*st = NULL;
	if ((rc = migrate__fault(MIGRATE__FAULT_STMT, "sqlite3_prepare", err)))
		return rc;
	log_sql(sql);
	if (sqlite3_prepare_v2(c->db, sql, -1, st, NULL) == SQLITE_OK)
		return 0;
	excerpt(sql, ex, sizeof ex);
	return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EDB, "SQLite: %s (code %d) in: %s",
			    sqlite3_errmsg(c->db), sqlite3_extended_errcode(c->db), ex);
}

static int bind_one(sq_conn_t *c, sqlite3_stmt *st, int i, const bson_iter_t *it, migrate_error_t *err)
{
	const char *s;
	const uint8_t *bin;
	uint32_t len;
	bson_subtype_t sub;
	int rc;

	switch (bson_iter_type(it)) {
	case BSON_TYPE_NULL: rc = sqlite3_bind_null(st, i); break;
	case BSON_TYPE_BOOL: rc = sqlite3_bind_int(st, i, bson_iter_bool(it) ? 1 : 0); break;
	case BSON_TYPE_INT32:
	case BSON_TYPE_INT64: rc = sqlite3_bind_int64(st, i, bson_iter_as_int64(it)); break;
	case BSON_TYPE_DOUBLE: rc = sqlite3_bind_double(st, i, bson_iter_double(it)); break;
	case BSON_TYPE_UTF8:
		s = bson_iter_utf8(it, &len);
		rc = sqlite3_bind_text(st, i, s, (int)len, SQLITE_TRANSIENT);
		break;
	case BSON_TYPE_BINARY:
		bson_iter_binary(it, &sub, &len, &bin);
		rc = sqlite3_bind_blob(st, i, bin, (int)len, SQLITE_TRANSIENT);
		break;
	default:
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EINTERNAL,
				    "cannot bind a value of BSON type 0x%02x", (unsigned)bson_iter_type(it));
	}
	return rc == SQLITE_OK ? 0 : migrate__sq_err(c, err, "binding a value");
}

int migrate__sq_bind_all(sq_conn_t *c, sqlite3_stmt *st, const bson_t *params, migrate_error_t *err)
{
	bson_iter_t it;
	int i = 1, rc;

	if (!params || !bson_iter_init(&it, params))
		return 0;
	while (bson_iter_next(&it))
		if ((rc = bind_one(c, st, i++, &it, err)))
			return rc;
	return 0;
}

int migrate__sq_prepare_q(sq_conn_t *c, const migrate_sql_t *q, sqlite3_stmt **st, migrate_error_t *err)
{
	int rc;

	if ((rc = migrate__sq_prepare(c, migrate__sql_text(q), st, err)))
		return rc;
	if ((rc = migrate__sq_bind_all(c, *st, &q->params, err))) {
		sqlite3_finalize(*st);
		*st = NULL;
	}
	return rc;
}

int migrate__sq_run(sq_conn_t *c, const migrate_sql_t *q, int64_t *changes, migrate_error_t *err)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = migrate__sq_prepare_q(c, q, &st, err)))
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	if (rc != SQLITE_DONE) {
		char ex[200];
		excerpt(migrate__sql_text(q), ex, sizeof ex);
		rc = migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EDB, "SQLite: %s (code %d) in: %s",
				  sqlite3_errmsg(c->db), sqlite3_extended_errcode(c->db), ex);
		sqlite3_finalize(st);
		return rc;
	}
	if (changes)
		*changes = sqlite3_changes64(c->db);
	sqlite3_finalize(st);
	return 0;
}

int migrate__sq_query_int(sq_conn_t *c, const migrate_sql_t *q, int64_t *out, migrate_error_t *err)
{
	sqlite3_stmt *st;
	int rc;

	*out = 0;
	if ((rc = migrate__sq_prepare_q(c, q, &st, err)))
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		rc = migrate__sq_err(c, err, "query");
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		rc = 0;
	sqlite3_finalize(st);
	return rc;
}

int migrate__sq_column_to_bson(sqlite3_stmt *st, int i, bson_t *doc, const char *key, migrate_error_t *err)
{
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_INTEGER: bson_append_int64(doc, key, -1, sqlite3_column_int64(st, i)); return 0;
	case SQLITE_FLOAT: bson_append_double(doc, key, -1, sqlite3_column_double(st, i)); return 0;
	case SQLITE_TEXT: {
		const char *s = (const char *)sqlite3_column_text(st, i);
		bson_append_utf8(doc, key, -1, s ? s : "", sqlite3_column_bytes(st, i));
		return 0;
	}
	case SQLITE_NULL: bson_append_null(doc, key, -1); return 0;
	default:
		bson_append_binary(doc, key, -1, BSON_SUBTYPE_BINARY, sqlite3_column_blob(st, i),
				   (uint32_t)sqlite3_column_bytes(st, i));
		return 0;
	}
	(void)err;
}

int migrate__sq_exists(sq_conn_t *c, const char *type, const char *name, int *exists, migrate_error_t *err)
{
	migrate_sql_t q;
	int64_t n;
	int rc;

	migrate__sql_init(&q, &migrate__sq_dialect, c);
	migrate__sql_append(&q, "SELECT count(*) FROM sqlite_master WHERE type = ");
	migrate__sql_param_str(&q, type);
	migrate__sql_append(&q, " AND name = ");
	migrate__sql_param_str(&q, name);
	migrate__sql_append(&q, " COLLATE NOCASE");
	rc = migrate__sq_query_int(c, &q, &n, err);
	migrate__sql_free(&q);
	*exists = n > 0;
	return rc;
}

int migrate__sq_unless_absent(sq_conn_t *c, const char *table, int rc)
{
	int exists;

	if (rc == 0 || migrate__sq_exists(c, "table", table, &exists, NULL) != 0 || exists)
		return rc;
	return 0;
}

int migrate__sq_write(sq_conn_t *c, const migrate_sql_t *q, migrate_error_t *err)
{
	int rc, attempt;

	if (!sqlite3_get_autocommit(c->db))
		return migrate__sq_run(c, q, NULL, err);
	/*
	 * BEGIN IMMEDIATE takes the write lock before reading, so the busy
	 * handler can wait for it; a deferred write that upgrades a read lock
	 * may instead fail at once to avoid a deadlock.
	 */
	for (attempt = 0;; attempt++) {
		if ((rc = migrate__sq_begin_batch(c, err)) == 0) {
			if ((rc = migrate__sq_run(c, q, NULL, err)) == 0 &&
			    (rc = migrate__sq_commit_batch(c, err)) == 0)
				return 0;
			migrate__sq_rollback_quiet(c);
		}
		if ((sqlite3_errcode(c->db) & 0xff) != SQLITE_BUSY || attempt >= 5)
			return rc;
		migrate__sleep_ms(50u << attempt);
	}
}

/* ---- statement lists ---- */

migrate_sql_t *migrate__sq_stmts_add(sq_stmts_t *l, sq_conn_t *c)
{
	migrate_sql_t *q;
	size_t size = (sizeof *q + _Alignof(migrate_sql_t) - 1) / _Alignof(migrate_sql_t) * _Alignof(migrate_sql_t);

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		migrate_sql_t **v = migrate__realloc(l->v, cap * sizeof *v);
		if (!v)
			return NULL;
		l->v = v;
		l->cap = cap;
	}
	if (!(q = aligned_alloc(_Alignof(migrate_sql_t), size)))
		return NULL;
	migrate__sql_init(q, &migrate__sq_dialect, c);
	l->v[l->n++] = q;
	return q;
}

void migrate__sq_stmts_free(sq_stmts_t *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		migrate__sql_free(l->v[i]);
		free(l->v[i]);
	}
	free(l->v);
	memset(l, 0, sizeof *l);
}

int migrate__sq_stmts_run(sq_conn_t *c, sq_stmts_t *l, migrate_error_t *err)
{
	size_t i;
	int rc;

	for (i = 0; i < l->n; i++)
		if ((rc = migrate__sq_run(c, l->v[i], NULL, err)))
			return rc;
	return 0;
}

/* A value inside a -- comment: line breaks escaped so that it cannot end the comment. */
static void append_comment_value(const migrate_sql_t *q, const bson_iter_t *it, migrate_buf_t *out)
{
	migrate_buf_t *lit = migrate__buf_new(NULL);
	const char *p;

	if (migrate__sql_literal(q->d, lit, it, NULL)) {
		migrate_buf_append(out, "<value>");
	} else {
		for (p = lit->str; *p; p++) {
			if (*p == '\n')
				migrate_buf_append(out, "\\n");
			else if (*p == '\r')
				migrate_buf_append(out, "\\r");
			else
				migrate_buf_append_c(out, *p);
		}
	}
	migrate__buf_free(lit, true);
}

void migrate__sq_render_sql(const migrate_sql_t *q, migrate_buf_t *out)
{
	bson_iter_t it;
	bool first = true;

	migrate_buf_append(out, migrate__sql_text(q));
	migrate_buf_append(out, ";");
	if (q->nparams) {
		migrate_buf_append(out, " -- parameters: ");
		bson_iter_init(&it, &q->params);
		while (bson_iter_next(&it)) {
			if (!first)
				migrate_buf_append(out, ", ");
			first = false;
			if (BSON_ITER_HOLDS_SYMBOL(&it)) {
				/* A value known only when the batch runs. */
				migrate_buf_append(out, bson_iter_symbol(&it, NULL));
			} else {
				append_comment_value(q, &it, out);
			}
		}
	}
	migrate_buf_append(out, "\n");
}

void migrate__sq_stmts_render(const sq_stmts_t *l, migrate_buf_t *out)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		migrate__sq_render_sql(l->v[i], out);
}
