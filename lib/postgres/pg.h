/*
 * The PostgreSQL driver's internals, shared by the files of lib/postgres/:
 * conn.c (connection, options, statements, transactions, the driver
 * struct), lower.c (the SQL dialect and DDL of each op, on top of the
 * shared lowering in lib/sql), apply.c (which steps leave the engine's
 * transaction, render, running steps, online indexes), batch.c (batched
 * backfill and map_values), add_column.c (volatile defaults without a
 * table rewrite), assert.c (assert steps), history.c (the history table)
 * and lock.c (advisory and lease locks).
 */
#ifndef MIGRATE_PG_H
#define MIGRATE_PG_H

#include <libpq-fe.h>

#include "internal.h"
#include "migrate/postgres.h"
#include "sql/sql.h"

extern const migrate_sql_dialect_t migrate__pg_dialect;

/* SQLSTATEs the driver reacts to. */
#define PG_LOCK_NOT_AVAILABLE "55P03"
#define PG_DEADLOCK "40P01"
#define PG_SERIALIZATION "40001"
#define PG_UNDEFINED_TABLE "42P01"
#define PG_INVALID_SCHEMA "3F000"
#define PG_QUERY_CANCELED "57014"

#define PG_JOURNAL_PARAMS 16

typedef struct pg_target {
	PGconn *conn;
	int owned;         /* opened by us: PQfinish on close */
	char *schema;      /* history schema */
	char *history;     /* "schema"."_migrate_history", quoted */
	char *lease_table; /* "schema"."_migrate_lock", quoted */
	int lock_mode;     /* MIGRATE_PG_LOCK_* */
	int64_t lease_ms;
	int64_t lease_every_ms; /* the renewal period of the lease (the URL's migrate_lease_renew_ms, or a third) */
	int64_t lock_timeout_ms;
	int64_t statement_timeout_ms;
	uint32_t retries;
	char owner[40];     /* lease owner token */
	char redacted[512]; /* the URL without password, for messages */
	int in_txn;         /* a transaction begun by begin() is open */
	int unflushed;      /* a commit may not have reached the disk: since the last sync, or the lock's taking */
	/* The BEGIN of a transaction, not sent yet: it leads the next
	 * statement in the same round trip, joined to one without parameters
	 * (one simple query), or before one with them in a pipeline, its SET
	 * LOCALs then as one SELECT of set_config()s (begin_conf). */
	char begin_sql[320];
	char begin_conf[320];
	int begin_pending;
	/* The history write of the open transaction, not sent yet: it goes
	 * with the COMMIT in one round trip (libpq's pipeline mode), or alone
	 * before any other statement (migrate__pg_exec_journal). */
	char *journal_sql;
	char *journal_vals[PG_JOURNAL_PARAMS];
	int journal_n;
	/* The last failed statement was cancelled by the server for
	 * statement_timeout, not at someone's request (pg_cancel_backend gives
	 * the same SQLSTATE): a batch's cut (batch.c). Where the server's
	 * messages are translated this cannot be told, and it stays 0. */
	int timed_out;
	int no_catalog;   /* lowering must not query the catalog (check_step) */
	char holder[600]; /* scratch for lock messages */
	/* Advisory mode: whether the connection was probed for a pooler (lock.c), and found to go through one. */
	int pool_probed;
	int pooled;
	struct pg_renewer *renewer; /* lease mode: the thread renewing the held lease (lock.c) */
} pg_target_t;

/* ---- conn.c ---- */

/*
 * Turns a failed result (or NULL) into a driver error: MIGRATE_ECONNECT
 * when the connection is gone, MIGRATE_EDB otherwise, with the server's
 * message, detail and SQLSTATE. `what` says what was being done. Sets
 * t->timed_out.
 */
int migrate__pg_fail(pg_target_t *t, PGresult *res, const char *what, migrate_error_t *err);
/* ---- foreign.c ---- */
/* Runs a read-only query; appends one document per row ({column: text or null}) to the array `rows`. */
int migrate__pg_read_rows(void *conn, const char *sql, bson_t *rows, migrate_error_t *err);

/* The SQLSTATE of a result, "" if none. */
const char *migrate__pg_state(const PGresult *res);
/* True when the connection is no longer usable. */
int migrate__pg_lost(const pg_target_t *t);

/*
 * Runs `sql` with the values of `params` (a bson array, as built by the
 * shared lowering) as text parameters. *out (optional) receives the result
 * on success (caller clears it). On error, the failed result is kept in
 * *failed when that is not NULL (so callers can inspect the SQLSTATE),
 * else cleared.
 */
int migrate__pg_exec_params(pg_target_t *t, const char *sql, const bson_t *params, PGresult **out, PGresult **failed,
			    const char *what, migrate_error_t *err);
/* migrate__pg_exec_params with the first `nhead` values taken from `head` instead of `params`. */
int migrate__pg_exec_head(pg_target_t *t, const char *sql, const bson_t *params, uint32_t nhead,
			  const char *const *head, PGresult **out, PGresult **failed, const char *what,
			  migrate_error_t *err);
/* Runs `sql` with `n` text parameters. */
int migrate__pg_exec(pg_target_t *t, const char *sql, int n, const char *const *values, PGresult **out,
		     const char *what, migrate_error_t *err);
/* migrate__pg_exec keeping the failed result in *failed (caller clears). */
int migrate__pg_exec_failed(pg_target_t *t, const char *sql, int n, const char *const *values, PGresult **out,
			    PGresult **failed, const char *what, migrate_error_t *err);
/* Runs a statement of the shared lowering. */
int migrate__pg_exec_sql(pg_target_t *t, const migrate_sql_t *q, PGresult **out, PGresult **failed, const char *what,
			 migrate_error_t *err);

/* MIGRATE_ESTATE when a (borrowed) connection is inside a transaction we did not begin. */
int migrate__pg_idle(pg_target_t *t, const char *what, migrate_error_t *err);
int migrate__pg_begin(void *conn, migrate_error_t *err);
/*
 * BEGIN, bounding lock waits and statements as the target's options say;
 * `batch`: for one batch of a batched step (no JIT compilation); `cut_ms`
 * > 0: no statement of the transaction runs longer (statement_timeout, or
 * the target's own when shorter), so that a batch keeps its time budget.
 */
int migrate__pg_begin_batch(pg_target_t *t, int batch, int64_t cut_ms, migrate_error_t *err);
int migrate__pg_commit(void *conn, migrate_error_t *err);
/*
 * The history write of a transaction (n parameters): held back until the
 * COMMIT, with which it then goes in one round trip, when the transaction
 * is ours and libpq has pipeline mode; run at once otherwise. Any other
 * statement sends it first, so the order on the server never changes. A
 * write whose result must be read (the lease's row count) runs with
 * migrate__pg_exec instead.
 */
int migrate__pg_exec_journal(pg_target_t *t, const char *sql, int n, const char *const *values, const char *what,
			     migrate_error_t *err);
int migrate__pg_rollback(void *conn, migrate_error_t *err);
/* The driver's sync: one commit that waits for the WAL of every transaction committed before it. */
int migrate__pg_sync(void *conn, migrate_error_t *err);
/* Rolls back an open transaction, ignoring errors (cleanup paths). */
void migrate__pg_abort(pg_target_t *t);

/*
 * Backoff before retry `attempt` (1-based) of a statement that hit a lock
 * timeout: 250 ms doubling, at most 8 s.
 */
uint32_t migrate__pg_backoff_ms(uint32_t attempt);
/* True for the SQLSTATEs worth retrying: lock timeouts, deadlocks, serialisation failures. */
int migrate__pg_retryable(const char *sqlstate);

/* ---- lock.c ---- */

/* Stops the lease's renewal thread, if one runs (the lease stays until released or expired). */
void migrate__pg_lease_stop(pg_target_t *t);

/* ---- lower.c ---- */

/* Quotes an identifier into `out`. */
void migrate__pg_ident(migrate_buf_t *out, const char *name);
/* CREATE INDEX CONCURRENTLY of a create_index step. */
int migrate__pg_build_index_concurrently(migrate_sql_t *q, const bson_t *step, migrate_error_t *err);
/* The type of `column` of `table` as format_type() gives it, or NULL if unknown. Caller frees. */
char *migrate__pg_column_type(pg_target_t *t, const char *table, const char *column, char *category);

/* The driver callbacks, over the table of every op (lower.c). */
int migrate__pg_check_step(void *conn, const migrate_step_t *step, migrate_error_t *err);
unsigned migrate__pg_step_flags(void *conn, const migrate_step_t *step);
int migrate__pg_render_step(void *conn, const migrate_step_t *step, migrate_buf_t *out, migrate_error_t *err);
int migrate__pg_apply_step(void *conn, const migrate_step_t *step, migrate_exec_t *exec, migrate_error_t *err);

/* ---- apply.c ---- */
/* Builds an "online" index CONCURRENTLY outside any transaction, dropping an INVALID one left by an earlier build. */
int migrate__pg_online_index(pg_target_t *t, const bson_t *doc, migrate_exec_t *exec, migrate_error_t *err);
/* A sql step of a non-transactional version, sent alone as one simple query. */
int migrate__pg_sql_alone(pg_target_t *t, const char *sql, migrate_exec_t *exec, migrate_error_t *err);

/*
 * Runs a statement inside the current transaction under a savepoint, or in
 * a transaction of its own (raw: as given, without one), retrying lock
 * timeouts and deadlocks with backoff and reporting each retry as an event.
 */
int migrate__pg_run_retrying(pg_target_t *t, const char *sql, migrate_exec_t *exec, int raw, const char *what,
			     migrate_error_t *err);

/* ---- add_column.c ---- */
/* True for an add_column whose default is volatile ("uuid"): added empty, filled in batches. */
int migrate__pg_add_column_phased(const bson_t *step);
int migrate__pg_add_column_apply(pg_target_t *t, const bson_t *step, migrate_exec_t *exec, migrate_error_t *err);
int migrate__pg_add_column_render(pg_target_t *t, const bson_t *step, migrate_buf_t *out, migrate_error_t *err);

/* ---- assert.c ---- */
int migrate__pg_assert(pg_target_t *t, const bson_t *doc, migrate_error_t *err);
int migrate__pg_render_assert(pg_target_t *t, const bson_t *doc, migrate_buf_t *out, migrate_error_t *err);
/* The dialect's exists_query: pg_class, pg_attribute and pg_index. */
int migrate__pg_exists_query(migrate_sql_t *q, const char *table, const char *column, const char *index,
			     migrate_error_t *err);

/* ---- batch.c ---- */
/* Runs a backfill or map_values step in batches (or in one statement inside the engine's transaction). */
int migrate__pg_batch_apply(pg_target_t *t, const bson_t *doc, const char *op, migrate_exec_t *exec,
			    migrate_error_t *err);
int migrate__pg_batch_render(pg_target_t *t, const bson_t *doc, const char *op, migrate_buf_t *out,
			     migrate_error_t *err);
/* A drop_column's keep: the kept table and every row's value of the column (rendered to `out` when set). */
int migrate__pg_keep_all(pg_target_t *t, const bson_t *doc, migrate_exec_t *exec, migrate_buf_t *out,
			 migrate_error_t *err);

/* ---- history.c ---- */
int migrate__pg_history_ensure(void *conn, migrate_error_t *err);
int migrate__pg_history_read(void *conn, const char *plan, migrate_record_fn fn, void *ctx, migrate_error_t *err);
/* Only version, checksum and state (migrate__module_t.history_states). */
int migrate__pg_history_states(void *conn, const char *plan, migrate_record_fn fn, void *ctx, migrate_error_t *err);
int migrate__pg_history_write(void *conn, const char *plan, const migrate_record_t *record, migrate_error_t *err);
int migrate__pg_history_delete(void *conn, const char *plan, uint64_t version, migrate_error_t *err);

/* ---- lock.c ---- */
int migrate__pg_lock_try(void *conn, const char *plan, migrate_error_t *err);
int migrate__pg_lock_release(void *conn, const char *plan, migrate_error_t *err);

/* ---- schema.c: drift detection ---- */
int migrate__pg_schema_read(void *conn, const bson_t *wanted, bson_t *out, migrate_error_t *err);
void migrate__pg_schema_type(void *conn, const bson_t *column, migrate_buf_t *out);
/* rows.c: a table's estimated rows for lint, -1 when it does not exist. */
int migrate__pg_table_rows(void *conn, const char *table, int64_t *rows, migrate_error_t *err);

#endif
