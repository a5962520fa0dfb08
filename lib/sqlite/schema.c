/*
 * Drift detection on SQLite: the plan's tables read from sqlite_master and
 * the pragma table-valued functions (table_xinfo, index_list, index_xinfo)
 * in one query that returns the whole answer as one JSON document. Enums
 * are CHECK constraints inside the table's SQL, which the catalog does not
 * break down: their labels are not compared. Raw {"sql": ...} types are
 * compared as written, which is how SQLite keeps them.
 */
#include <stdlib.h>

#include "sqlite_int.h"

/* One row, one value: {"tables": {name: {"columns", "primary_key", "indexes"}}}. */
static const char catalog_sql[] =
	"SELECT json_object('tables', json(COALESCE((SELECT json_group_object(m.name, json_object("
	"'columns', json((SELECT json_group_object(c.name, json_object('type', c.type, "
	"'nullable', json(CASE WHEN c.\"notnull\" THEN 'false' ELSE 'true' END), "
	"'default', json(CASE WHEN c.dflt_value IS NULL THEN 'false' ELSE 'true' END))) "
	"FROM pragma_table_xinfo(m.name) AS c WHERE c.hidden <> 1)), "
	"'primary_key', json((SELECT json_group_array(p.name) FROM (SELECT c.name FROM pragma_table_xinfo(m.name) AS c "
	"WHERE c.pk > 0 ORDER BY c.pk) AS p)), "
	"'indexes', json((SELECT json_group_object(l.name, json_object("
	"'unique', json(CASE WHEN l.\"unique\" THEN 'true' ELSE 'false' END), "
	"'where', json(CASE WHEN l.partial THEN 'true' ELSE 'false' END), "
	"'constraint', json(CASE WHEN l.origin = 'c' THEN 'false' ELSE 'true' END), "
	"'keys', json((SELECT json_group_array(json_object('column', k.name, 'order', "
	"CASE WHEN k.\"desc\" THEN 'desc' ELSE 'asc' END)) FROM (SELECT x.name, x.\"desc\" "
	"FROM pragma_index_xinfo(l.name) AS x WHERE x.key = 1 ORDER BY x.seqno) AS k)))) "
	"FROM pragma_index_list(m.name) AS l)))) "
	"FROM sqlite_master AS m WHERE m.type = 'table' AND m.name IN (SELECT value FROM json_each(?1, '$.tables'))), "
	"'{}')))";

int migrate__sq_schema_read(void *conn, const bson_t *wanted, bson_t *out, migrate_error_t *err)
{
	sq_conn_t *c = conn;
	sqlite3_stmt *st = NULL;
	char *want = migrate__sql_schema_wanted(wanted);
	int rc;

	if (!want)
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ENOMEM, "out of memory");
	if ((rc = migrate__sq_prepare(c, catalog_sql, &st, err)))
		goto done;
	if (sqlite3_bind_text(st, 1, want, -1, SQLITE_STATIC) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
		rc = migrate__sq_err(c, err, "reading the catalog");
		goto done;
	}
	rc = migrate__sql_schema_parse((const char *)sqlite3_column_text(st, 0), out, err);
done:
	sqlite3_finalize(st);
	free(want);
	return rc;
}

void migrate__sq_schema_type(void *conn, const bson_t *column, migrate_buf_t *out)
{
	(void)conn;
	migrate__sql_schema_type(migrate__sq_dialect.types, "TEXT", true, column, out);
}
