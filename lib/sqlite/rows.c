/*
 * Table sizes for lint (migrate_lint with a target): SQLite keeps no
 * estimate, so a table's rows are counted; -1 when it does not exist.
 */
#include "sqlite_int.h"

int migrate__sq_table_rows(void *conn, const char *table, int64_t *rows, migrate_error_t *err)
{
	sq_conn_t *c = conn;
	migrate_buf_t *sql;
	sqlite3_stmt *st = NULL;
	int rc;

	*rows = -1;
	if ((rc = migrate__sq_prepare(c, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", &st, err)))
		return rc;
	rc = sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC) == SQLITE_OK ? sqlite3_step(st) : SQLITE_ERROR;
	if (rc == SQLITE_ROW)
		rc = 1;
	else if (rc == SQLITE_DONE)
		rc = 0; /* no such table */
	else
		rc = migrate__sq_err(c, err, "reading the catalog");
	sqlite3_finalize(st);
	st = NULL;
	if (rc != 1)
		return rc;
	sql = migrate__buf_new("SELECT count(*) FROM ");
	migrate__sql_quote_ident(sql, table);
	rc = migrate__sq_prepare(c, sql->str, &st, err);
	migrate__buf_free(sql, true);
	if (rc)
		return rc;
	if (sqlite3_step(st) == SQLITE_ROW)
		*rows = sqlite3_column_int64(st, 0);
	else
		rc = migrate__sq_err(c, err, "counting rows");
	sqlite3_finalize(st);
	return rc;
}
