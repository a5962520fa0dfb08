/*
 * libmigrate: the storage driver interface, for drivers built outside the
 * library. A driver is a migrate_driver_t of function pointers; the struct
 * is only ever appended to, and `version` tells which fields a driver
 * fills. A NULL function means "not supported" where that is allowed.
 *
 * Steps reach a driver already validated by the engine: every field the
 * catalog requires is present with the right type and every identifier is
 * well formed. The driver lowers them to its database, refuses what it cannot
 * express in `check_step`, stores the history and implements the lock.
 */
#ifndef MIGRATE_DRIVER_H
#define MIGRATE_DRIVER_H

#include <stdarg.h>

#include <bson/bson.h>

#include "migrate.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * The interface version of this header: the value of migrate_driver_t.version
 * for a driver that fills every field declared here. Version 2 renders into
 * a migrate_buf_t (version 1's migrate_buf_t is no longer accepted);
 * version 3 adds schema_read and schema_type (drift detection); version 4
 * adds table_rows (lint with live sizes); version 5 adds sync (commits
 * that become durable at the end of a run).
 */
#define MIGRATE_DRIVER_VERSION 5

/* ---- Text buffers, for render_step. ----------------------------------- */

/**
 * A growable, NUL-terminated string. Initialise with migrate_buf_init() (or
 * MIGRATE_BUF_INIT), append with the functions below, release with
 * migrate_buf_release(). A failed allocation aborts the process, as
 * libbson's allocator does: no statement is ever built with a part
 * missing. A length no buffer can hold (or a format vsnprintf refuses) is
 * sticky instead: the buffer keeps its text, sets `failed` and ignores later
 * appends, so one check at the end suffices. Not thread-safe: one buffer,
 * one thread at a time.
 */
typedef struct migrate_buf {
	char *str;  /**< the text, NUL-terminated; never NULL after init; owned by the buffer */
	size_t len; /**< its length in bytes, without the NUL */
	size_t cap; /**< bytes allocated (0: `str` is a static empty string) */
	int failed; /**< non-zero once an append was refused: the text is incomplete */
} migrate_buf_t;

/** A static initialiser: the empty string, nothing allocated. */
/* clang-format off */
#define MIGRATE_BUF_INIT {(char *)"", 0, 0, 0}
/* clang-format on */

/**
 * Initialises `b` to the empty string without allocating.
 * @param b the buffer (NULL: no-op)
 */
MIGRATE_EXPORT(void) migrate_buf_init(migrate_buf_t *b);
/**
 * Frees the text of `b` and leaves it empty and usable.
 * @param b the buffer (NULL: no-op)
 */
MIGRATE_EXPORT(void) migrate_buf_release(migrate_buf_t *b);
/**
 * Appends `n` bytes of `s`.
 * @param b the buffer
 * @param s the bytes, copied
 * @param n how many
 * @return 0, MIGRATE_EINVAL (NULL `b`, or NULL `s` with `n` > 0) or MIGRATE_ENOMEM (a length no buffer can hold;
 * sticky)
 */
MIGRATE_EXPORT(int) migrate_buf_append_n(migrate_buf_t *b, const char *s, size_t n);
/**
 * Appends the string `s`.
 * @param b the buffer
 * @param s the string, copied (NULL appends nothing)
 * @return 0, MIGRATE_EINVAL (NULL `b`) or MIGRATE_ENOMEM (a length no buffer can hold; sticky)
 */
MIGRATE_EXPORT(int) migrate_buf_append(migrate_buf_t *b, const char *s);
/**
 * Appends one character.
 * @param b the buffer
 * @param c the character
 * @return 0, MIGRATE_EINVAL (NULL `b`) or MIGRATE_ENOMEM (a length no buffer can hold; sticky)
 */
MIGRATE_EXPORT(int) migrate_buf_append_c(migrate_buf_t *b, char c);
/**
 * Appends printf-formatted text.
 * @param b the buffer
 * @param fmt a printf format
 * @return 0, MIGRATE_EINVAL (NULL `b` or `fmt`, or a bad format) or MIGRATE_ENOMEM (a length no buffer can hold;
 * sticky)
 */
MIGRATE_EXPORT(int) migrate_buf_printf(migrate_buf_t *b, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;
/**
 * migrate_buf_printf() with a va_list.
 * @param b the buffer
 * @param fmt a printf format
 * @param ap its arguments
 * @return as migrate_buf_printf()
 */
MIGRATE_EXPORT(int) migrate_buf_vprintf(migrate_buf_t *b, const char *fmt, va_list ap);
/**
 * Shortens the text to `len` bytes (a longer `len` changes nothing).
 * @param b the buffer (NULL: no-op)
 * @param len the new length
 */
MIGRATE_EXPORT(void) migrate_buf_truncate(migrate_buf_t *b, size_t len);

/* ---- History records. -------------------------------------------------- */

/**
 * One history record of a (plan, version). Every string may be NULL. In
 * history_read the record and its strings are the driver's, valid during the
 * callback only; in history_write they are the engine's, valid during the
 * call only (a driver copies what it keeps).
 */
typedef struct migrate_record {
	uint64_t version;        /**< the version id */
	const char *name;        /**< the version's name */
	const char *checksum;    /**< 64 lowercase hex digits (SHA-256 of the version) */
	int state;               /**< a migrate_state_t other than PENDING */
	uint32_t steps_done;     /**< steps currently in effect (the journal) */
	const char *checkpoint;  /**< the running step's driver-defined resume point */
	int64_t started_at_ms;   /**< Unix time in ms */
	int64_t finished_at_ms;  /**< Unix time in ms, 0 while running */
	int64_t duration_ms;     /**< time spent applying, across resumed runs */
	const char *applied_by;  /**< "host:pid" of the run */
	const char *error;       /**< the failure's message, for FAILED */
	const char *lib_version; /**< MIGRATE_VERSION_STRING of the run */
} migrate_record_t;

/**
 * Receives one record during history_read.
 * @param record valid during the call only
 * @param ctx the engine's context, passed through
 * @return 0 to go on; non-zero stops the read and is returned by history_read
 */
typedef int (*migrate_record_fn)(const migrate_record_t *record, void *ctx);

/** What the engine passes to a driver running one step (see migrate_exec_*). */
typedef struct migrate_exec migrate_exec_t;

/**
 * step_flags: the step runs outside the engine's transaction and journals
 * itself per batch (migrate_exec_journal).
 */
#define MIGRATE_STEP_NO_TXN 1u
/**
 * step_flags: in a version with "transactional": false, the step runs with
 * no transaction around it (statements that refuse a transaction block); the
 * engine journals it afterwards, outside a transaction. In a transactional
 * version the flag is ignored.
 */
#define MIGRATE_STEP_AUTOCOMMIT 2u

/**
 * A storage driver: a table of callbacks over the driver's own connection
 * state (`conn`). Fields are only ever appended; `version` says which a
 * driver fills. Initialise with MIGRATE_DRIVER_INIT or migrate_driver_init()
 * so that fields added later are NULL. A NULL callback means "not
 * supported" where that is allowed (said per field); the others are
 * required and migrate_driver_register() refuses a driver without them.
 *
 * Every callback that can fail returns 0 or a negative MIGRATE_E* code and
 * fills `err` (never NULL when the engine calls) with a message; messages
 * must not contain passwords. Callbacks are called from the thread that runs
 * the migration, one at a time per `conn`. Strings passed in (`url`,
 * `plan`) are borrowed for the call.
 */
typedef struct migrate_driver {
	unsigned version;           /**< MIGRATE_DRIVER_VERSION the driver was built with */
	const char *name;           /**< "sqlite", "postgres" ...: in messages; static storage */
	const char *const *schemes; /**< NULL-terminated URL schemes, e.g. {"sqlite", NULL}; static storage */

	/**
	 * Connects from a URL; on success *conn is the driver's state, owned
	 * by the target until close. On failure *conn is untouched and nothing
	 * is left open (the engine removes the URL from the message). NULL:
	 * the driver only wraps connections (migrate_target_from_driver).
	 */
	int (*open)(const char *url, void **conn, migrate_error_t *err);
	/** Frees `conn`, closing the connection only if open made it. NULL: nothing to free. */
	void (*close)(void *conn);
	/** The native handle passed to custom steps (PGconn *, sqlite3 * ...), borrowed; NULL: none. */
	void *(*native_handle)(void *conn);

	/**
	 * Whether the driver can express `step`: 0, or MIGRATE_EUNSUPPORTED
	 * with the reason. Called for every step of a plan before anything
	 * runs; must not change the database. NULL: every step is supported.
	 */
	int (*check_step)(void *conn, const migrate_step_t *step, migrate_error_t *err);
	/** A mask of MIGRATE_STEP_* for `step`; cannot fail. NULL: every step is transactional. */
	unsigned (*step_flags)(void *conn, const migrate_step_t *step);
	/**
	 * Appends the exact statements `step` would send to `out` (the
	 * engine's; a failed allocation in it is reported by the engine). May
	 * read, never change, the database. NULL: the driver cannot show its
	 * statements.
	 */
	int (*render_step)(void *conn, const migrate_step_t *step, migrate_buf_t *out, migrate_error_t *err);
	/**
	 * Required. Runs `step` (custom steps never reach a driver). `exec` is
	 * the engine's, valid during the call only. A drop_table with "keep"
	 * never reaches a driver either: check_step, step_flags, render_step
	 * and apply_step get the rename_table to the kept name it stands for.
	 */
	int (*apply_step)(void *conn, const migrate_step_t *step, migrate_exec_t *exec, migrate_error_t *err);

	/** Creates the history store if missing. NULL: history_write creates it. */
	int (*history_ensure)(void *conn, migrate_error_t *err);
	/**
	 * Required. Calls `fn` for every record of `plan` (none if the store
	 * does not exist), in one read; a non-zero return of `fn` stops the
	 * read and is returned.
	 */
	int (*history_read)(void *conn, const char *plan, migrate_record_fn fn, void *ctx, migrate_error_t *err);
	/** Required. Inserts or replaces the record of (plan, record->version); copies what it keeps. */
	int (*history_write)(void *conn, const char *plan, const migrate_record_t *record, migrate_error_t *err);
	/** Required. Deletes the record of (plan, version); an absent record is success. */
	int (*history_delete)(void *conn, const char *plan, uint64_t version, migrate_error_t *err);

	/**
	 * Required. Tries once to take the lock of (database, plan): 0 when
	 * taken, MIGRATE_ELOCKED when another run holds it (message: who and
	 * since when). The engine retries until its timeout. A dead holder must
	 * not keep the lock.
	 */
	int (*lock_try)(void *conn, const char *plan, migrate_error_t *err);
	/**
	 * Required. Releases the lock lock_try took. Called once per successful
	 * lock_try, also after a failed run; its error is logged and otherwise
	 * ignored, so a lock it could not release must expire on its own.
	 */
	int (*lock_release)(void *conn, const char *plan, migrate_error_t *err);

	/** Starts a transaction. The three transaction callbacks all NULL: the database has none. */
	int (*begin)(void *conn, migrate_error_t *err);
	/** Commits the transaction begin started. */
	int (*commit)(void *conn, migrate_error_t *err);
	/** Rolls it back; called after a failure, its error is logged and otherwise ignored. */
	int (*rollback)(void *conn, migrate_error_t *err);

	/* ---- version 3 ---- */

	/**
	 * Reads the live catalog of the objects named in `wanted`
	 * (`{"tables": [names], "enums": [names]}`) in as few round trips as
	 * the database allows, into `out` (initialised by the engine):
	 * `{"tables": {NAME: TABLE}, "enums": {NAME: [labels in order]},
	 * "table_kind": "collection"}`, where a table that does not exist is
	 * absent, and TABLE is `{"columns": {NAME: {"type": string,
	 * "nullable": bool, "default": bool}}, "primary_key": [names],
	 * "indexes": {NAME: {"keys": [{"column": name, "order": "asc" or
	 * "desc"}], "unique": bool, "where": bool, "constraint": bool,
	 * "valid": bool}}}` ("valid" optional: false for an index a failed
	 * online build left unusable).
	 * Leave out what the database cannot tell ("columns", "primary_key",
	 * "enums", "table_kind" are optional): it is then not compared. An
	 * index with "constraint": true backs a primary key or unique column
	 * and is never reported as extra. Must not change the database.
	 * NULL: the driver cannot detect drift (MIGRATE_EUNSUPPORTED).
	 */
	int (*schema_read)(void *conn, const bson_t *wanted, bson_t *out, migrate_error_t *err);
	/**
	 * Appends to `out` the type a column document of the plan (docs/steps.md
	 * "Column") has in the catalog, spelled as schema_read reports it.
	 * Appending nothing means the type is not compared. NULL: types are not
	 * compared.
	 */
	void (*schema_type)(void *conn, const bson_t *column, migrate_buf_t *out);

	/* ---- version 4 ---- */

	/**
	 * The number of rows (documents) of `table`, into *rows: an estimate
	 * the database keeps where it has one (it need not be exact), else a
	 * count; -1 when the table does not exist. Must not change the
	 * database. NULL: sizes are unknown to migrate_lint().
	 */
	int (*table_rows)(void *conn, const char *table, int64_t *rows, migrate_error_t *err);

	/* ---- version 5 ---- */

	/**
	 * Makes every transaction committed since the run took the lock
	 * durable, and those it read (a killed run's last commits), for a
	 * driver whose commit may return before its changes
	 * would survive a crash of the database (PostgreSQL commits a run's
	 * transactions without waiting for their WAL and waits once, here).
	 * Called once at the end of every run that took the lock, before
	 * lock_release, after a failed run too. Its error fails a run that
	 * had succeeded (the next run applies again whatever the database
	 * lost); after a failed run it is logged. NULL: commit returns only
	 * once the transaction is durable.
	 */
	int (*sync)(void *conn, migrate_error_t *err);
} migrate_driver_t;

/** A static initialiser for a migrate_driver_t of this header's version: every other field NULL. */
/* clang-format off */
#define MIGRATE_DRIVER_INIT {MIGRATE_DRIVER_VERSION, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
			     NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL}
/* clang-format on */

/**
 * Initialises `driver` for a driver built against this header: `version`
 * set to `version`, every other field NULL.
 * @param driver the struct to fill
 * @param version MIGRATE_DRIVER_VERSION
 * @return 0, MIGRATE_EINVAL (NULL `driver`) or MIGRATE_EVERSION (a version this library does not know)
 */
MIGRATE_EXPORT(int) migrate_driver_init(migrate_driver_t *driver, unsigned version);

/**
 * Registers a driver for migrate_target_open(). A scheme already
 * registered is replaced. Thread-safe.
 * @param driver borrowed for the rest of the process: static storage, or
 *        memory the caller never frees while libmigrate may use it
 * @param err optional, caller-owned
 * @return 0, MIGRATE_EINVAL (NULL, no name or schemes, a required callback
 *         missing) or MIGRATE_EVERSION (an interface version this library
 *         does not support)
 */
MIGRATE_EXPORT(int) migrate_driver_register(const migrate_driver_t *driver, migrate_error_t *err);

/**
 * Wraps driver state made by the caller (for a borrowed connection) in a
 * target.
 * @param out receives the target, owned by the caller (migrate_target_close)
 * @param driver borrowed for the target's life
 * @param conn on success owned by the target, which calls driver->close on
 *        it; on failure still the caller's
 * @param err optional, caller-owned
 * @return 0, MIGRATE_EINVAL, MIGRATE_EVERSION or MIGRATE_ENOMEM
 */
MIGRATE_EXPORT(int) migrate_target_from_driver(migrate_target_t **out, const migrate_driver_t *driver, void *conn,
					       migrate_error_t *err);

/* ---- Steps, as drivers see them. -------------------------------------- */

/**
 * The ops of the step catalog (docs/steps.md), for a driver's `switch` or
 * table. Values are only ever appended: a driver built against an older
 * header sees a newer op as a value >= its MIGRATE_OP_COUNT and must refuse
 * it in check_step.
 */
typedef enum migrate_op {
	MIGRATE_OP_UNKNOWN = 0,   /**< not a step of the catalog (never reaches a driver) */
	MIGRATE_OP_CREATE_TABLE,  /**< create_table: a table (collection) with its columns */
	MIGRATE_OP_DROP_TABLE,    /**< drop_table */
	MIGRATE_OP_RENAME_TABLE,  /**< rename_table */
	MIGRATE_OP_ADD_COLUMN,    /**< add_column */
	MIGRATE_OP_DROP_COLUMN,   /**< drop_column */
	MIGRATE_OP_RENAME_COLUMN, /**< rename_column */
	MIGRATE_OP_CREATE_INDEX,  /**< create_index, plain, unique, partial or online */
	MIGRATE_OP_DROP_INDEX,    /**< drop_index */
	MIGRATE_OP_CREATE_ENUM,   /**< create_enum: a named set of values */
	MIGRATE_OP_DROP_ENUM,     /**< drop_enum */
	MIGRATE_OP_MAP_VALUES,    /**< map_values: batched rewrite of a column's values */
	MIGRATE_OP_BACKFILL,      /**< backfill: batched update of columns from expressions */
	MIGRATE_OP_SQL,           /**< sql: raw SQL with an optional down */
	MIGRATE_OP_COMMAND,       /**< command: raw database commands (MongoDB) with an optional down */
	MIGRATE_OP_ASSERT,        /**< assert: a check that changes nothing */
	MIGRATE_OP_CUSTOM,        /**< runs the application's callback; never reaches a driver */
	MIGRATE_OP_RESTORE,       /**< restore: columns set back from the table a map_values or backfill kept */
	MIGRATE_OP_COUNT          /**< the number of values of this header's catalog */
} migrate_op_t;

/**
 * The op of `step`.
 * @param step a step (NULL gives MIGRATE_OP_UNKNOWN)
 * @return its op; cannot fail
 */
MIGRATE_EXPORT(migrate_op_t) migrate_step_op(const migrate_step_t *step);

/**
 * The catalog name of `op` ("create_table"), or NULL for a value outside
 * the catalog.
 * @param op an op
 * @return a static string, never freed
 */
MIGRATE_EXPORT(const char *) migrate_op_name(migrate_op_t op);

/**
 * The step document, as validated (docs/steps.md gives its fields).
 * @param step a step (NULL gives NULL)
 * @return the document, borrowed: valid as long as the step
 */
MIGRATE_EXPORT(const bson_t *) migrate_step_document(const migrate_step_t *step);

/* ---- The execution context of apply_step. ----------------------------- */
/*
 * Every migrate_exec_* function takes the `exec` apply_step received and is
 * valid only during that call, from the thread that made it.
 */

/**
 * Whether the engine wrapped this step in a transaction.
 * @param exec the step's context
 * @return non-zero in a transaction
 */
MIGRATE_EXPORT(int) migrate_exec_in_transaction(const migrate_exec_t *exec);
/**
 * The checkpoint journaled by an earlier, interrupted run of this step.
 * @param exec the step's context
 * @return the checkpoint, borrowed for the call; NULL when the step starts afresh
 */
MIGRATE_EXPORT(const char *) migrate_exec_checkpoint(const migrate_exec_t *exec);
/**
 * The first batch's size: the step's own batch_size, else the run's.
 * @param exec the step's context
 * @return rows or documents; 0 lets the driver choose
 */
MIGRATE_EXPORT(uint32_t) migrate_exec_batch_size(const migrate_exec_t *exec);
/**
 * The pause between batches (migrate_exec_batch_done sleeps it).
 * @param exec the step's context
 * @return milliseconds
 */
MIGRATE_EXPORT(uint32_t) migrate_exec_batch_pause_ms(const migrate_exec_t *exec);
/**
 * How long one batch may hold its locks: the target of adaptive batch sizing.
 * @param exec the step's context
 * @return milliseconds; 0 means the default (200)
 */
MIGRATE_EXPORT(uint32_t) migrate_exec_batch_time_ms(const migrate_exec_t *exec);
/**
 * Whether the step runs up or down (an inverse step).
 * @param exec the step's context
 * @return MIGRATE_DIRECTION_UP or MIGRATE_DIRECTION_DOWN
 */
MIGRATE_EXPORT(int) migrate_exec_direction(const migrate_exec_t *exec);

/**
 * A key naming this run of this step: the plan, the version, the step's
 * position and the direction, as 32 lowercase hex digits. The same on every
 * run of the same step, so a driver without transactions can mark the rows
 * a batch wrote and skip them when an interrupted run is resumed.
 * @param exec the step's context
 * @param out receives the key and a NUL
 * @param size bytes at `out`, at least 33
 * @return 0 or MIGRATE_EINVAL (`size` < 33)
 */
MIGRATE_EXPORT(int) migrate_exec_step_key(const migrate_exec_t *exec, char *out, size_t size);

/**
 * Journals a batch: call inside the batch's own transaction, before its
 * commit, so that the data and the checkpoint commit together. If the
 * commit then fails, the engine records the failure with the checkpoint
 * the database holds.
 * @param exec the step's context
 * @param checkpoint the resume point, copied; NULL or "" is refused, since a
 *        resumed step would read it as "start from the beginning"
 * @param err optional, caller-owned
 * @return 0, MIGRATE_EINVAL, MIGRATE_ENOMEM or the driver's history_write error
 */
MIGRATE_EXPORT(int) migrate_exec_journal(migrate_exec_t *exec, const char *checkpoint, migrate_error_t *err);

/**
 * Tells the engine, before the first batch of a step resuming from its
 * checkpoint, how many rows or documents its earlier runs did. The step's
 * PROGRESS events then carry it as migrate_event_t.processed_before.
 * Optional: without it, processed_before is 0.
 * @param exec the step's context
 * @param done_before the count the checkpoint holds
 */
MIGRATE_EXPORT(void) migrate_exec_resumed(migrate_exec_t *exec, int64_t done_before);

/**
 * Marks where a batch starts, before its first statement, so that the
 * step's longest batch (migrate_event_t.longest_batch_ms) is timed from
 * there to migrate_exec_batch_done(). Optional: without it, a batch is
 * timed from the step's start or the previous batch's end.
 * @param exec the step's context
 */
MIGRATE_EXPORT(void) migrate_exec_batch_start(migrate_exec_t *exec);

/**
 * After a batch committed: emits a PROGRESS event and sleeps the pause.
 * @param exec the step's context
 * @param processed rows or documents done by this step so far in this run
 * @param total the step's total if known, else -1
 * @param err optional, caller-owned
 * @return 0, or MIGRATE_ECANCELED when the caller asked to stop (stop there:
 *         the journal is consistent)
 */
MIGRATE_EXPORT(int) migrate_exec_batch_done(migrate_exec_t *exec, int64_t processed, int64_t total,
					    migrate_error_t *err);

/**
 * Emits an event to the run's callback.
 * @param exec the step's context
 * @param type MIGRATE_EVENT_WARNING, MIGRATE_EVENT_RETRY or MIGRATE_EVENT_LOCK_WAIT
 * @param message borrowed for the call
 * @return non-zero when the callback asked to stop
 */
MIGRATE_EXPORT(int) migrate_exec_event(migrate_exec_t *exec, int type, const char *message);

/**
 * Logs through the process-wide handler (migrate_log_set_handler).
 * @param level a #migrate_log_level_t
 * @param message borrowed for the call
 */
MIGRATE_EXPORT(void) migrate_log(int level, const char *message);

/**
 * Fills `err` with a message, for drivers.
 * @param err may be NULL
 * @param domain a #migrate_domain_t
 * @param code a MIGRATE_E* code
 * @param message copied, truncated to fit
 * @return `code`
 */
MIGRATE_EXPORT(int) migrate_error_set(migrate_error_t *err, int domain, int code, const char *message);

#ifdef __cplusplus
}
#endif

#endif
