/*
 * The SQLite driver's internals, shared by the files of lib/sqlite/.
 */
#ifndef MIGRATE_SQLITE_INT_H
#define MIGRATE_SQLITE_INT_H

#include <sqlite3.h>

#include "sql/sql.h"

#define SQ_HISTORY_TABLE "_migrate_history"
#define SQ_LOCK_TABLE "_migrate_lock"
#define SQ_ENUM_TABLE "_migrate_enums"
/* The busy timeout set on connections the driver opens. */
#define SQ_BUSY_TIMEOUT_MS 10000

typedef struct sq_conn {
	sqlite3 *db;
	int owned;            /* opened by the driver: closed by close() */
	int dqs_dml, dqs_ddl; /* a borrowed connection's double-quoted string settings, restored by close() */
	char *path;           /* the main database file, NULL when in memory */
	int lock_fd;          /* the lock file, -1 until the first lock_try */
	int64_t lock_offset;  /* the byte locked, 0 when no lock is held */
	char *lock_plan;      /* the plan whose lock is held */
	int fk_restore;       /* begin() turned foreign keys off; commit/rollback turn them back on */
	int rendering;        /* inside render_step: enums may come from render_enums */
	bson_t *render_enums; /* enums created by steps rendered so far: {name: [values]} */
} sq_conn_t;

extern const migrate_sql_dialect_t migrate__sq_dialect;

/* A list of statements: lowered once, then either run or rendered. */
typedef struct sq_stmts {
	migrate_sql_t **v; /* each allocated on its own: a bson_t inside needs 128-byte alignment */
	size_t n, cap;
} sq_stmts_t;

migrate_sql_t *migrate__sq_stmts_add(sq_stmts_t *l, sq_conn_t *c);
void migrate__sq_stmts_free(sq_stmts_t *l);
int migrate__sq_stmts_run(sq_conn_t *c, sq_stmts_t *l, migrate_error_t *err);
void migrate__sq_stmts_render(const sq_stmts_t *l, migrate_buf_t *out);
/* Appends one statement, its bound values shown in a trailing comment. */
void migrate__sq_render_sql(const migrate_sql_t *q, migrate_buf_t *out);

/* ---- statements (exec.c) ---- */
/* MIGRATE_EDB with the database's message; `what` says what was being done. */
int migrate__sq_err(sq_conn_t *c, migrate_error_t *err, const char *what);
/* It returns MIGRATE_EDB, which the macro tells the analyser (as for migrate__err). */
#define migrate__sq_err(c, err, what) migrate__err_returns(migrate__sq_err(c, err, what), MIGRATE_EDB)
/* Runs SQL text without parameters (several statements allowed). */
int migrate__sq_exec(sq_conn_t *c, const char *sql, migrate_error_t *err);
int migrate__sq_prepare(sq_conn_t *c, const char *sql, sqlite3_stmt **st, migrate_error_t *err);
/* Binds an array of values (from migrate_sql_t.params) from parameter 1 on. */
int migrate__sq_bind_all(sq_conn_t *c, sqlite3_stmt *st, const bson_t *params, migrate_error_t *err);
/* Prepares and binds q. */
int migrate__sq_prepare_q(sq_conn_t *c, const migrate_sql_t *q, sqlite3_stmt **st, migrate_error_t *err);
/* Runs q to completion; *changes (optional) receives sqlite3_changes(). */
int migrate__sq_run(sq_conn_t *c, const migrate_sql_t *q, int64_t *changes, migrate_error_t *err);
/* The first column of the first row of q as an int64 (0 without rows). */
int migrate__sq_query_int(sq_conn_t *c, const migrate_sql_t *q, int64_t *out, migrate_error_t *err);
/* Appends the value of column i of the current row to `doc` under `key`. */
int migrate__sq_column_to_bson(sqlite3_stmt *st, int i, bson_t *doc, const char *key, migrate_error_t *err);
/* Whether a table (or index, ...) of that name exists in the main schema. */
int migrate__sq_exists(sq_conn_t *c, const char *type, const char *name, int *exists, migrate_error_t *err);
/*
 * After a statement on one of libmigrate's own tables failed with rc: 0
 * when the table does not exist (nothing to read or delete), else rc. The
 * common path is then the statement alone; existence is asked on failure.
 */
int migrate__sq_unless_absent(sq_conn_t *c, const char *table, int rc);
/* Runs q in a write transaction of its own when none is open, retrying while the database is busy. */
int migrate__sq_write(sq_conn_t *c, const migrate_sql_t *q, migrate_error_t *err);

/*
 * Double-quoted strings in DDL on (1) or off (0) again. On only while an op
 * that adds no expression of its own makes SQLite parse the stored schema
 * again (ALTER TABLE's checks, a rebuild's copy of the definition): a schema
 * written when "x" was a string must keep working, as it does when loaded.
 */
int migrate__sq_stored_schema_dqs(sq_conn_t *c, int on, migrate_error_t *err);

/* ---- drift detection (schema.c) ---- */
int migrate__sq_schema_read(void *conn, const bson_t *wanted, bson_t *out, migrate_error_t *err);
void migrate__sq_schema_type(void *conn, const bson_t *column, migrate_buf_t *out);
/* rows.c: a table's rows for lint, -1 when it does not exist. */
int migrate__sq_table_rows(void *conn, const char *table, int64_t *rows, migrate_error_t *err);

/* ---- transactions (driver.c) ---- */
int migrate__sq_begin_batch(sq_conn_t *c, migrate_error_t *err);
int migrate__sq_commit_batch(sq_conn_t *c, migrate_error_t *err);
void migrate__sq_rollback_quiet(sq_conn_t *c);

/* ---- lowering (lower.c) ---- */
int migrate__sq_check_step(void *conn, const migrate_step_t *step, migrate_error_t *err);
unsigned migrate__sq_step_flags(void *conn, const migrate_step_t *step);
int migrate__sq_render_step(void *conn, const migrate_step_t *step, migrate_buf_t *out, migrate_error_t *err);
int migrate__sq_apply_step(void *conn, const migrate_step_t *step, migrate_exec_t *exec, migrate_error_t *err);

/* ---- enums (enum.c) ---- */
int migrate__sq_enum_column(migrate_sql_t *q, const char *enum_name, const char *column, migrate_error_t *err);
int migrate__sq_create_enum(sq_conn_t *c, const bson_t *step, int render, migrate_buf_t *out, migrate_error_t *err);
int migrate__sq_drop_enum(sq_conn_t *c, const bson_t *step, int render, migrate_buf_t *out, migrate_error_t *err);

/* ---- table rebuilds (rebuild.c) ---- */
/* A change that SQLite's ALTER TABLE cannot make: add `add_column` or drop `drop_column`. */
typedef struct sq_change {
	const bson_t *add_column; /* a column document, or NULL */
	const char *drop_column;  /* a column name, or NULL */
} sq_change_t;
/*
 * The statements of the rebuild procedure of the SQLite documentation
 * (create the new table, copy, drop, rename, recreate indexes and triggers).
 * MIGRATE_ENOTFOUND when the table does not exist.
 */
int migrate__sq_rebuild_stmts(sq_conn_t *c, const char *table, const sq_change_t *change, sq_stmts_t *out,
			      migrate_error_t *err);
/* Runs a rebuild inside a savepoint, with the foreign key check of the procedure. */
int migrate__sq_rebuild(sq_conn_t *c, const char *table, const sq_change_t *change, migrate_error_t *err);
/* Whether ALTER TABLE ADD COLUMN can add this column (else: rebuild). */
int migrate__sq_add_column_native(const bson_t *column);
/* The rowid alias of a table not shadowed by a column ("rowid", "_rowid_", "oid"), or NULL. */
const char *migrate__sq_rowid_alias(sq_conn_t *c, const char *table, migrate_error_t *err, int *rc);

/* ---- batched updates (backfill.c) ---- */
int migrate__sq_batched(sq_conn_t *c, const bson_t *step, migrate_exec_t *exec, migrate_error_t *err);
int migrate__sq_render_batched(sq_conn_t *c, const bson_t *step, migrate_buf_t *out, migrate_error_t *err);
/* A drop_column's keep: the kept table and every row's value (rendered to `out` when set). */
int migrate__sq_keep_all(sq_conn_t *c, const bson_t *step, migrate_buf_t *out, migrate_error_t *err);

/* ---- assertions (assert.c) ---- */
int migrate__sq_assert(sq_conn_t *c, const bson_t *step, int render, migrate_buf_t *out, migrate_error_t *err);
/* The dialect's exists_query: sqlite_master and pragma_table_xinfo. */
int migrate__sq_exists_query(migrate_sql_t *q, const char *table, const char *column, const char *index,
			     migrate_error_t *err);

/* ---- history (history.c) and lock (lock.c) ---- */
int migrate__sq_history_ensure(void *conn, migrate_error_t *err);
int migrate__sq_history_read(void *conn, const char *plan, migrate_record_fn fn, void *ctx, migrate_error_t *err);
int migrate__sq_history_write(void *conn, const char *plan, const migrate_record_t *r, migrate_error_t *err);
int migrate__sq_history_delete(void *conn, const char *plan, uint64_t version, migrate_error_t *err);
int migrate__sq_lock_try(void *conn, const char *plan, migrate_error_t *err);
int migrate__sq_lock_release(void *conn, const char *plan, migrate_error_t *err);
void migrate__sq_lock_close(sq_conn_t *c);

#endif
