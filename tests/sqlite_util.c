#include "sqlite_util.h"

#include <stdarg.h>

#include <bson/bson.h>

static char textbuf[4096];

sqlite3 *tu_open(const char *path)
{
	sqlite3 *db = NULL;

	if (sqlite3_open(path, &db) != SQLITE_OK)
		harness_fail(__FILE__, __LINE__, "cannot open %s: %s", path, db ? sqlite3_errmsg(db) : "?");
	sqlite3_busy_timeout(db, 10000);
	return db;
}

void tu_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		harness_fail(__FILE__, __LINE__, "%s: %s", sql, msg ? msg : "?");
}

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql, const char *param)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		harness_fail(__FILE__, __LINE__, "%s: %s", sql, sqlite3_errmsg(db));
	if (param)
		sqlite3_bind_text(st, 1, param, -1, SQLITE_TRANSIENT);
	return st;
}

long long tu_int1(sqlite3 *db, const char *sql, const char *param)
{
	sqlite3_stmt *st = prepare(db, sql, param);
	long long v = 0;
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		harness_fail(__FILE__, __LINE__, "%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return v;
}

long long tu_int(sqlite3 *db, const char *sql)
{
	return tu_int1(db, sql, NULL);
}

const char *tu_text1(sqlite3 *db, const char *sql, const char *param)
{
	sqlite3_stmt *st = prepare(db, sql, param);
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		snprintf(textbuf, sizeof textbuf, "%s",
			 sqlite3_column_type(st, 0) == SQLITE_NULL ? "(null)"
								   : (const char *)sqlite3_column_text(st, 0));
	else if (rc == SQLITE_DONE)
		snprintf(textbuf, sizeof textbuf, "(none)");
	else
		harness_fail(__FILE__, __LINE__, "%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return textbuf;
}

const char *tu_text(sqlite3 *db, const char *sql)
{
	return tu_text1(db, sql, NULL);
}

const char *tu_url(const char *path)
{
	static char url[1100];
	snprintf(url, sizeof url, "sqlite:%s", path);
	return url;
}

migrate_target_t *tu_target(const char *path)
{
	migrate_target_t *t = NULL;
	migrate_error_t err;

	CHECK_OK(migrate_target_open(&t, tu_url(path), &err), &err);
	return t;
}

migrate_plan_t *tu_plan(const char *name)
{
	migrate_plan_t *p = NULL;
	migrate_error_t err;

	CHECK_OK(migrate_plan_new(&p, name, &err), &err);
	return p;
}

migrate_version_t *tu_version(migrate_plan_t *plan, uint64_t id, const char *name, ...)
{
	migrate_version_t *v = NULL;
	migrate_error_t err;
	const char *json;
	va_list ap;

	CHECK_OK(migrate_plan_add_version(plan, id, name, &v, &err), &err);
	va_start(ap, name);
	while ((json = va_arg(ap, const char *)) != NULL) {
		int rc = migrate_version_add_step_json(v, json, NULL, &err);
		if (rc)
			harness_fail(__FILE__, __LINE__, "step %s: %d %s", json, rc, err.message);
	}
	va_end(ap);
	return v;
}

int tu_has_table(sqlite3 *db, const char *name)
{
	return (int)tu_int1(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", name);
}

int tu_has_index(sqlite3 *db, const char *name)
{
	return (int)tu_int1(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = ?", name);
}

int tu_has_column(sqlite3 *db, const char *table, const char *column)
{
	sqlite3_stmt *st = prepare(db, "SELECT count(*) FROM pragma_table_xinfo(?1) WHERE name = ?2", table);
	int n = 0;

	sqlite3_bind_text(st, 2, column, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* ---- dump ---- */

static void append_value(migrate_buf_t *out, sqlite3_stmt *st, int i)
{
	int n, k;
	const unsigned char *b;

	switch (sqlite3_column_type(st, i)) {
	case SQLITE_NULL: migrate_buf_append(out, "NULL"); break;
	case SQLITE_INTEGER: migrate_buf_printf(out, "i%lld", (long long)sqlite3_column_int64(st, i)); break;
	case SQLITE_FLOAT: migrate_buf_printf(out, "f%.17g", sqlite3_column_double(st, i)); break;
	case SQLITE_TEXT: migrate_buf_printf(out, "t'%s'", (const char *)sqlite3_column_text(st, i)); break;
	default:
		b = sqlite3_column_blob(st, i);
		n = sqlite3_column_bytes(st, i);
		migrate_buf_append(out, "x'");
		for (k = 0; k < n; k++)
			migrate_buf_printf(out, "%02x", b[k]);
		migrate_buf_append(out, "'");
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every row of one query, sorted, one per line. */
static void dump_rows(sqlite3 *db, const char *sql, migrate_buf_t *out)
{
	sqlite3_stmt *st = prepare(db, sql, NULL);
	char **rows = NULL;
	size_t n = 0, i;
	int c;

	while (sqlite3_step(st) == SQLITE_ROW) {
		migrate_buf_t *row = migrate__buf_new("  ");
		for (c = 0; c < sqlite3_column_count(st); c++) {
			if (c)
				migrate_buf_append(row, ", ");
			append_value(row, st, c);
		}
		rows = realloc(rows, (n + 1) * sizeof *rows);
		rows[n++] = migrate__buf_free(row, false);
	}
	sqlite3_finalize(st);
	if (n)
		qsort(rows, n, sizeof *rows, cmp_str);
	for (i = 0; i < n; i++) {
		migrate_buf_append(out, rows[i]);
		migrate_buf_append(out, "\n");
		bson_free(rows[i]);
	}
	free(rows);
}

/* The dump of tu_dump, leaving out the objects named `skip` (NULL: none) and empty histories. */
static char *dump_state(sqlite3 *db, const char *skip, int keep_store)
{
	migrate_buf_t *out = migrate__buf_new(NULL);
	sqlite3_stmt *st;
	char sql[600];

	migrate_buf_append(out, "schema:\n");
	if (keep_store) {
		snprintf(sql, sizeof sql,
			 "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT IN ('_migrate_lock', "
			 "'sqlite_sequence')");
	} else {
		/* Columns and index keys as the catalog reads them: a rename may re-quote the CREATE text. */
		migrate_buf_append(out, "columns:\n");
		snprintf(
			sql, sizeof sql,
			"SELECT m.name, p.cid, p.name, p.type, p.\"notnull\", p.dflt_value, p.pk FROM sqlite_master m, "
			"pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%%' ESCAPE "
			"'\\' AND m.name NOT LIKE '\\_migrate\\_%%' ESCAPE '\\' AND m.name <> '%s'",
			skip ? skip : "");
		dump_rows(db, sql, out);
		migrate_buf_append(out, "indexes:\n");
		snprintf(sql, sizeof sql,
			 "SELECT m.tbl_name, m.name, l.\"unique\", l.partial, i.seqno, i.name FROM sqlite_master m "
			 "JOIN pragma_index_list(m.tbl_name) l ON l.name = m.name, pragma_index_info(m.name) i "
			 "WHERE m.type = 'index' AND m.tbl_name NOT LIKE '\\_migrate\\_%%' ESCAPE '\\' AND "
			 "m.tbl_name <> '%s'",
			 skip ? skip : "");
	}
	dump_rows(db, sql, out);
	snprintf(sql, sizeof sql,
		 "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%%' ESCAPE '\\' "
		 "AND name NOT IN ('_migrate_history', '_migrate_lock', '%s') %s ORDER BY name",
		 skip ? skip : "", keep_store ? "" : "AND name NOT LIKE '\\_migrate\\_%' ESCAPE '\\'");
	st = prepare(db, sql, NULL);
	while (sqlite3_step(st) == SQLITE_ROW) {
		migrate_buf_t *q = migrate__buf_new("SELECT * FROM \"");
		const char *p;
		for (p = (const char *)sqlite3_column_text(st, 0); *p; p++) {
			if (*p == '"')
				migrate_buf_append_c(q, '"');
			migrate_buf_append_c(q, *p);
		}
		migrate_buf_append(q, "\"");
		migrate_buf_printf(out, "table %s:\n", (const char *)sqlite3_column_text(st, 0));
		dump_rows(db, q->str, out);
		migrate__buf_free(q, true);
	}
	sqlite3_finalize(st);
	/* The driver's record of enums is state too, once it holds any. */
	if (!keep_store && tu_has_table(db, "_migrate_enums") &&
	    tu_int(db, "SELECT count(*) FROM _migrate_enums") > 0) {
		migrate_buf_append(out, "enums:\n");
		dump_rows(db, "SELECT * FROM _migrate_enums", out);
	}
	if (tu_has_table(db, "_migrate_history") &&
	    (keep_store || tu_int(db, "SELECT count(*) FROM _migrate_history") > 0)) {
		snprintf(sql, sizeof sql,
			 "SELECT plan, version, name, checksum, state, steps_done, checkpoint, error FROM "
			 "_migrate_history");
		migrate_buf_append(out, "history:\n");
		dump_rows(db, sql, out);
	}
	return migrate__buf_free(out, false);
}

char *tu_dump(sqlite3 *db)
{
	return dump_state(db, NULL, 1);
}

char *tu_dump_except(sqlite3 *db, const char *skip)
{
	return dump_state(db, skip, 0);
}
