/*
 * The MongoDB driver's internals, shared by the files of lib/mongo/:
 * connection and capabilities (conn.c), names and filters (names.c), step
 * lowering (lower.c, batch.c, assert.c), history (history.c), lease lock
 * (lock.c) and the driver table (driver.c).
 */
#ifndef MIGRATE_MONGO_INT_H
#define MIGRATE_MONGO_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include <mongoc/mongoc.h>

#include "internal.h"

#define MONGO_HISTORY "_migrate_history"
#define MONGO_LOCKS "_migrate_locks"
#define MONGO_ENUMS "_migrate_enums"
/* Said when a raw command step runs or is rendered. */
#define MONGO_AT_LEAST_ONCE                                                                               \
	"a command step runs at least once: without transactions its journal write follows it, so a run " \
	"killed between the two runs it again when resumed; write it to be safe to repeat"
/* The field a non-idempotent batched step marks the documents it wrote with (batch.c). */
#define MONGO_MARK_FIELD "_migrate_batch"

/* Default lease of the lock; MIGRATE_MONGO_LEASE_MS, then the URL's migrate_lease_ms override it. */
#define MONGO_LEASE_MS 30000

/* Server error codes the driver reacts to. */
#define MONGO_NAMESPACE_NOT_FOUND 26
#define MONGO_INDEX_NOT_FOUND 27
#define MONGO_NAMESPACE_EXISTS 48
#define MONGO_INDEX_OPTIONS_CONFLICT 85
#define MONGO_INDEX_KEY_SPECS_CONFLICT 86
#define MONGO_NOT_IMPLEMENTED 238
#define MONGO_DUPLICATE_KEY 11000

/* What the server can do, learnt once per connection (hello, buildInfo, a probe). */
typedef struct mongo_caps {
	bool known;
	bool ferretdb;
	bool pipeline_updates; /* update with an aggregation pipeline (MongoDB >= 4.2) */
	bool partial_indexes;  /* partialFilterExpression */
	int32_t max_wire;
	char server[64]; /* "MongoDB 7.0.2" or "FerretDB v1.24.2" */
} mongo_caps_t;

/* The plan lock this connection holds, and its renewal thread. */
typedef struct mongo_lock {
	char *plan;           /* the plan whose lock is held, NULL when none */
	char token[64];       /* owner token written in the lock document */
	int64_t lease_ms;     /* the lease of the lock held */
	int64_t every_ms;     /* the renewal period of the lock held */
	int64_t url_lease_ms; /* the URL's migrate_lease_ms, 0 when absent */
	int64_t url_renew_ms; /* the URL's migrate_lease_renew_ms, 0 when absent (a third of the lease) */
	atomic_int lost;      /* set by the renewer when the lease was taken over */
	/* When the lease was last taken or renewed (migrate__mono_ms): a step
	 * starting half a lease later checks it on the server first, since the
	 * process may have been stopped past its lease. */
	_Atomic int64_t confirmed_ms;
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	mongoc_client_t *client; /* the renewer's own client (clients are single-threaded) */
} mongo_lock_t;

typedef struct mongo_conn {
	mongoc_client_t *client;
	bool owned; /* opened from a URL: destroyed by close */
	char *dbname;
	mongoc_database_t *db;
	mongo_caps_t caps;
	mongo_lock_t lock;
	char history[128]; /* the history collection: MONGO_HISTORY or the URL's migrate_history */
	int rewrite;       /* the URL's migrate_rewrite: -1 auto, 0 never, 1 always (rewrite.c) */
} mongo_conn_t;

/* ---- conn.c ---- */
void migrate__mongo_init_once(void);
/*
 * Sends libmongoc's log (process-wide) through libmigrate's log handler,
 * so that its warnings (FerretDB's missing endSessions at disconnect ...)
 * stay out of a program's output unless it asked for libmigrate's log.
 * Done when libmigrate opens a client from a URL; a borrowed client's
 * application keeps its own libmongoc log handler.
 */
void migrate__mongo_route_log_once(void);
int migrate__mongo_conn_new(mongo_conn_t **out, mongoc_client_t *client, bool owned, const char *dbname,
			    migrate_error_t *err);
void migrate__mongo_conn_free(mongo_conn_t *c);
/* Fills `err` from a mongoc error with a context; ECONNECT for network errors, else EDB. */
int migrate__mongo_fail(migrate_error_t *err, const bson_error_t *e, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 3, 4)))
#endif
	;
/* The server's error code of a failed command, 0 for client-side errors. */
uint32_t migrate__mongo_server_code(const bson_error_t *e);
/*
 * Runs a command on the target database (primary). On a write command the
 * reply's writeErrors and writeConcernError count as failures. `reply` may
 * be NULL; when given it is always initialised and the caller destroys it.
 */
bool migrate__mongo_run(mongo_conn_t *c, const bson_t *cmd, bson_t *reply, bson_error_t *e);
/* migrate__mongo_run that fills `err` with "what: message". */
int migrate__mongo_command(mongo_conn_t *c, const bson_t *cmd, bson_t *reply, const char *what, migrate_error_t *err);
/* Runs a command on another database (admin for renameCollection). */
bool migrate__mongo_run_on(mongo_conn_t *c, const char *db, const bson_t *cmd, bson_t *reply, bson_error_t *e);
/* Detects the server's capabilities once. */
int migrate__mongo_caps(mongo_conn_t *c, migrate_error_t *err);
/* Does the collection exist? */
int migrate__mongo_collection_exists(mongo_conn_t *c, const char *name, bool *exists, migrate_error_t *err);
/* The number of documents of a collection matching `filter` (NULL: all, estimated). */
int migrate__mongo_count(mongo_conn_t *c, const char *coll, const bson_t *filter, int64_t *n, migrate_error_t *err);
/* {create: table}, {drop: table}, {renameCollection: "db.from", to: "db.to"} (lower.c). */
bson_t *migrate__mongo_cmd_create(const char *table);
bson_t *migrate__mongo_cmd_drop(const char *table);
bson_t *migrate__mongo_cmd_rename(const char *db, const char *from, const char *to);
/* Relaxed extended JSON of a document, appended to `out`. */
void migrate__mongo_append_json(migrate_buf_t *out, const bson_t *doc);
/* Logs a command at DEBUG level ("what: {json}"). */
void migrate__mongo_log_command(const char *what, const bson_t *cmd);
/* Drains a cursor into `err` if it failed; 0 otherwise. */
int migrate__mongo_cursor_error(mongoc_cursor_t *cur, const char *what, migrate_error_t *err);
/* Up to five groups of documents sharing the fields of `keys`, described in `out`; their number or a negative code. */
int migrate__mongo_duplicates(mongo_conn_t *c, const char *table, const bson_t *keys, migrate_buf_t *out,
			      migrate_error_t *err);

/* ---- foreign.c ---- */
/* Runs a read-only command (JSON); appends the documents of its first batch to the array `rows`. */
int migrate__mongo_read_rows(void *conn, const char *query, bson_t *rows, migrate_error_t *err);

/* ---- names.c ---- */
/* Checks a collection name: no '$', '.', "system." prefix, or reserved _migrate_ names. */
int migrate__mongo_check_collection(const char *name, const char *field, migrate_error_t *err);
/* Checks a field name: not empty, no leading '$', no '.'. */
int migrate__mongo_check_field(const char *name, const char *field, migrate_error_t *err);
/* Checks an index name: not empty, not "*" (which dropIndexes reads as every index). */
int migrate__mongo_check_index_name(const char *name, const char *field, migrate_error_t *err);
/* A value written into documents: no key, at any depth, that check_field refuses. */
int migrate__mongo_check_value(const bson_iter_t *value, const char *field, migrate_error_t *err);
/* Lowers a portable filter (`where`) into a MongoDB query appended to `out`. */
int migrate__mongo_filter(const bson_t *where, bson_t *out, migrate_error_t *err);
/* Checks the fields a filter names. */
int migrate__mongo_check_filter(const bson_t *where, migrate_error_t *err);

/* ---- lower.c ---- */
int migrate__mongo_check_step(void *conn, const migrate_step_t *step, migrate_error_t *err);
unsigned migrate__mongo_step_flags(void *conn, const migrate_step_t *step);
int migrate__mongo_render_step(void *conn, const migrate_step_t *step, migrate_buf_t *out, migrate_error_t *err);
int migrate__mongo_apply_step(void *conn, const migrate_step_t *step, migrate_exec_t *exec, migrate_error_t *err);

/* ---- columns.c, map_values.c, backfill.c: steps that touch every document (batch.c) ---- */
int migrate__mongo_add_column(mongo_conn_t *c, const bson_t *step, migrate_exec_t *exec, migrate_error_t *err);
int migrate__mongo_drop_column(mongo_conn_t *c, const bson_t *step, migrate_exec_t *exec, migrate_error_t *err);
int migrate__mongo_rename_column(mongo_conn_t *c, const bson_t *step, migrate_exec_t *exec, migrate_error_t *err);
int migrate__mongo_map_values(mongo_conn_t *c, const bson_t *step, migrate_exec_t *exec, migrate_error_t *err);
int migrate__mongo_backfill(mongo_conn_t *c, const bson_t *step, migrate_exec_t *exec, migrate_error_t *err);
int migrate__mongo_check_backfill(mongo_conn_t *c, const bson_t *step, migrate_error_t *err);
int migrate__mongo_check_map_values(const bson_t *step, migrate_error_t *err);
int migrate__mongo_render_add_column(mongo_conn_t *c, const bson_t *step, migrate_buf_t *out, migrate_error_t *err);
/* drop_column and rename_column */
int migrate__mongo_render_drop_column(mongo_conn_t *c, const bson_t *step, migrate_buf_t *out, migrate_error_t *err);
int migrate__mongo_render_rename_column(mongo_conn_t *c, const bson_t *step, migrate_buf_t *out, migrate_error_t *err);
int migrate__mongo_render_map_values(mongo_conn_t *c, const bson_t *step, migrate_buf_t *out, migrate_error_t *err);
int migrate__mongo_render_backfill(mongo_conn_t *c, const bson_t *step, migrate_buf_t *out, migrate_error_t *err);
/* restore.c: the inverse of a map_values or backfill with keep. */
int migrate__mongo_restore(mongo_conn_t *c, const bson_t *step, migrate_exec_t *exec, migrate_error_t *err);
int migrate__mongo_render_restore(mongo_conn_t *c, const bson_t *step, migrate_buf_t *out, migrate_error_t *err);

/* ---- validator.c: a $jsonSchema validator that follows dropped and renamed fields ---- */
/* `validator` with `from` out of its $jsonSchema's properties and required
 * (to NULL) or renamed to `to`; false (and `out` left uninitialised) when
 * it accepts the change as it is (it does not require `from`, and a rename
 * is not refused by additionalProperties: false). */
bool migrate__mongo_validator_follow(const bson_t *validator, const char *from, const char *to, bson_t *out);
/* The collection's validator, read, made to follow and set by collMod where it names `from`. */
int migrate__mongo_validator_sync(mongo_conn_t *c, const char *table, const char *from, const char *to,
				  migrate_error_t *err);

/* ---- assert.c ---- */
int migrate__mongo_check_assert(const bson_t *step, migrate_error_t *err);
int migrate__mongo_assert(mongo_conn_t *c, const bson_t *step, migrate_error_t *err);
int migrate__mongo_render_assert(mongo_conn_t *c, const bson_t *step, migrate_buf_t *out, migrate_error_t *err);

/* ---- history.c ---- */
int migrate__mongo_history_ensure(void *conn, migrate_error_t *err);
int migrate__mongo_history_read(void *conn, const char *plan, migrate_record_fn fn, void *ctx, migrate_error_t *err);
int migrate__mongo_history_write(void *conn, const char *plan, const migrate_record_t *record, migrate_error_t *err);
int migrate__mongo_history_delete(void *conn, const char *plan, uint64_t version, migrate_error_t *err);

/* ---- lock.c ---- */
int migrate__mongo_lock_try(void *conn, const char *plan, migrate_error_t *err);
int migrate__mongo_lock_release(void *conn, const char *plan, migrate_error_t *err);
/* Fencing: renews the lease only if this run still owns it; ELOCKLOST otherwise. */
int migrate__mongo_lock_fence(mongo_conn_t *c, const char *plan, migrate_error_t *err);
/*
 * ELOCKLOST when the renewer saw the lease taken over, or when the lease
 * was last confirmed half a lease ago or more and the server says it is
 * no longer ours (checked before steps and between batches).
 */
int migrate__mongo_lock_check(mongo_conn_t *c, migrate_error_t *err);
void migrate__mongo_lock_stop(mongo_conn_t *c);
/* The lease when the URL sets none: MIGRATE_MONGO_LEASE_MS (tests), else MONGO_LEASE_MS. */
int64_t migrate__mongo_default_lease_ms(void);

/* ---- schema.c: drift detection ---- */
int migrate__mongo_schema_read(void *conn, const bson_t *wanted, bson_t *out, migrate_error_t *err);
/* rows.c: a collection's estimated documents for lint. */
int migrate__mongo_table_rows(void *conn, const char *table, int64_t *rows, migrate_error_t *err);

#endif
