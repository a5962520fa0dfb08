/*
 * Reads the history tables of other migration tools (golang-migrate's
 * schema_migrations, goose_db_version, flyway_schema_history) for their
 * adoption (lib/adopt.c). Only reads.
 */
#include <stdio.h>

#include "pg.h"

int migrate__pg_read_rows(void *conn, const char *sql, bson_t *rows, migrate_error_t *err)
{
	pg_target_t *t = conn;
	PGresult *res = PQexecParams(t->conn, sql, 0, NULL, NULL, NULL, NULL, 0);
	char key[16];
	int i, j;

	if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
		int rc = migrate__pg_fail(t, res, "reading another tool's history", err);
		PQclear(res);
		return rc;
	}
	for (i = 0; i < PQntuples(res); i++) {
		bson_t row;
		snprintf(key, sizeof key, "%d", i);
		bson_append_document_begin(rows, key, -1, &row);
		for (j = 0; j < PQnfields(res); j++) {
			if (PQgetisnull(res, i, j))
				bson_append_null(&row, PQfname(res, j), -1);
			else
				bson_append_utf8(&row, PQfname(res, j), -1, PQgetvalue(res, i, j), -1);
		}
		bson_append_document_end(rows, &row);
	}
	PQclear(res);
	return 0;
}
