/*
 * Table sizes for lint (migrate_lint with a target): the planner's
 * estimate in pg_class.reltuples, which costs nothing; a table never
 * vacuumed nor analysed has none (-1) and is counted instead. -1 when the
 * table does not exist (on the search path).
 */
#include <stdlib.h>

#include "pg.h"

static const char estimate_sql[] = "SELECT c.reltuples::bigint FROM pg_catalog.pg_class AS c "
				   "WHERE c.oid = pg_catalog.to_regclass(pg_catalog.quote_ident($1))";

int migrate__pg_table_rows(void *conn, const char *table, int64_t *rows, migrate_error_t *err)
{
	pg_target_t *t = conn;
	PGresult *res = NULL;
	migrate_buf_t *sql;
	int rc;

	*rows = -1;
	if ((rc = migrate__pg_exec(t, estimate_sql, 1, &table, &res, "reading the table's size", err)))
		goto done;
	if (PQntuples(res) != 1)
		goto done; /* no such table */
	*rows = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	if (*rows >= 0)
		goto done;
	PQclear(res);
	res = NULL;
	sql = migrate__buf_new("SELECT count(*) FROM ");
	migrate__sql_quote_ident(sql, table);
	rc = migrate__pg_exec(t, sql->str, 0, NULL, &res, "counting rows", err);
	migrate__buf_free(sql, true);
	if (rc == 0)
		*rows = PQntuples(res) == 1 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : -1;
done:
	PQclear(res);
	return rc;
}
