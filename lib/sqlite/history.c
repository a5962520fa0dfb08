/*
 * The history store: one row per (plan, version) in "_migrate_history".
 * Only the holder of the plan's lock writes it; writes outside the engine's
 * transaction take the write lock first (BEGIN IMMEDIATE) and retry while
 * other processes keep the database busy.
 */
#include <string.h>

#include "sqlite_int.h"

static const char history_ddl[] =
	"CREATE TABLE IF NOT EXISTS \"" SQ_HISTORY_TABLE "\" ("
	"plan TEXT NOT NULL, version INTEGER NOT NULL, name TEXT, checksum TEXT, state INTEGER NOT NULL, "
	"steps_done INTEGER NOT NULL DEFAULT 0, checkpoint TEXT, started_at_ms INTEGER, finished_at_ms INTEGER, "
	"duration_ms INTEGER, applied_by TEXT, error TEXT, lib_version TEXT, PRIMARY KEY (plan, version))";

int migrate__sq_history_ensure(void *conn, migrate_error_t *err)
{
	sq_conn_t *c = conn;
	migrate_sql_t q;
	int exists, rc;

	/* Most runs find it: a read, not a write that would queue behind other processes. */
	if ((rc = migrate__sq_exists(c, "table", SQ_HISTORY_TABLE, &exists, err)) || exists)
		return rc;
	migrate__sql_init(&q, &migrate__sq_dialect, c);
	migrate__sql_append(&q, history_ddl);
	rc = migrate__sq_write(c, &q, err);
	migrate__sql_free(&q);
	return rc;
}

static const char *col_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

int migrate__sq_history_read(void *conn, const char *plan, migrate_record_fn fn, void *ctx, migrate_error_t *err)
{
	sq_conn_t *c = conn;
	migrate_sql_t q;
	sqlite3_stmt *st = NULL;
	int rc;

	migrate__sql_init(&q, &migrate__sq_dialect, c);
	migrate__sql_append(&q, "SELECT version, name, checksum, state, steps_done, checkpoint, started_at_ms, "
				"finished_at_ms, duration_ms, applied_by, error, lib_version FROM \"" SQ_HISTORY_TABLE
				"\" WHERE plan = ");
	migrate__sql_param_str(&q, plan);
	migrate__sql_append(&q, " ORDER BY version");
	/* No history table: never migrated, no records. */
	if ((rc = migrate__sq_prepare_q(c, &q, &st, err))) {
		rc = migrate__sq_unless_absent(c, SQ_HISTORY_TABLE, rc);
		goto cleanup;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		migrate_record_t r;
		memset(&r, 0, sizeof r);
		r.version = (uint64_t)sqlite3_column_int64(st, 0);
		r.name = col_text(st, 1);
		r.checksum = col_text(st, 2);
		r.state = sqlite3_column_int(st, 3);
		r.steps_done = (uint32_t)sqlite3_column_int64(st, 4);
		r.checkpoint = col_text(st, 5);
		r.started_at_ms = sqlite3_column_int64(st, 6);
		r.finished_at_ms = sqlite3_column_int64(st, 7);
		r.duration_ms = sqlite3_column_int64(st, 8);
		r.applied_by = col_text(st, 9);
		r.error = col_text(st, 10);
		r.lib_version = col_text(st, 11);
		if ((rc = fn(&r, ctx)))
			goto cleanup;
	}
	rc = rc == SQLITE_DONE ? 0 : migrate__sq_err(c, err, "reading the history");
cleanup:
	sqlite3_finalize(st);
	migrate__sql_free(&q);
	return rc;
}

static void param_text(migrate_sql_t *q, const char *s)
{
	if (s)
		migrate__sql_param_str(q, s);
	else
		migrate__sql_append(q, "NULL");
}

int migrate__sq_history_write(void *conn, const char *plan, const migrate_record_t *r, migrate_error_t *err)
{
	sq_conn_t *c = conn;
	migrate_sql_t q;
	int rc;

	migrate__sql_init(&q, &migrate__sq_dialect, c);
	migrate__sql_append(&q, "INSERT OR REPLACE INTO \"" SQ_HISTORY_TABLE
				"\" (plan, version, name, checksum, state, steps_done, checkpoint, started_at_ms, "
				"finished_at_ms, duration_ms, applied_by, error, lib_version) VALUES (");
	migrate__sql_param_str(&q, plan);
	migrate__sql_append(&q, ", ");
	migrate__sql_param_int(&q, (int64_t)r->version);
	migrate__sql_append(&q, ", ");
	param_text(&q, r->name);
	migrate__sql_append(&q, ", ");
	param_text(&q, r->checksum);
	migrate__sql_append(&q, ", ");
	migrate__sql_param_int(&q, r->state);
	migrate__sql_append(&q, ", ");
	migrate__sql_param_int(&q, r->steps_done);
	migrate__sql_append(&q, ", ");
	param_text(&q, r->checkpoint);
	migrate__sql_append(&q, ", ");
	migrate__sql_param_int(&q, r->started_at_ms);
	migrate__sql_append(&q, ", ");
	migrate__sql_param_int(&q, r->finished_at_ms);
	migrate__sql_append(&q, ", ");
	migrate__sql_param_int(&q, r->duration_ms);
	migrate__sql_append(&q, ", ");
	param_text(&q, r->applied_by);
	migrate__sql_append(&q, ", ");
	param_text(&q, r->error);
	migrate__sql_append(&q, ", ");
	param_text(&q, r->lib_version);
	migrate__sql_append(&q, ")");
	rc = migrate__sq_write(c, &q, err);
	migrate__sql_free(&q);
	return rc;
}

int migrate__sq_history_delete(void *conn, const char *plan, uint64_t version, migrate_error_t *err)
{
	sq_conn_t *c = conn;
	migrate_sql_t q;
	int rc;

	migrate__sql_init(&q, &migrate__sq_dialect, c);
	migrate__sql_append(&q, "DELETE FROM \"" SQ_HISTORY_TABLE "\" WHERE plan = ");
	migrate__sql_param_str(&q, plan);
	migrate__sql_append(&q, " AND version = ");
	migrate__sql_param_int(&q, (int64_t)version);
	/* No history table: the record is absent, which is success. */
	rc = migrate__sq_unless_absent(c, SQ_HISTORY_TABLE, migrate__sq_write(c, &q, err));
	migrate__sql_free(&q);
	return rc;
}
