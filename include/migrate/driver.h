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

#include <bson/bson.h>

#include "migrate.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MIGRATE_DRIVER_VERSION 1

/* One history record of a (plan, version); strings may be NULL. */
typedef struct migrate_record {
	uint64_t version;
	const char *name;
	const char *checksum;
	int state;                 /* a migrate_state_t other than PENDING */
	uint32_t steps_done;       /* steps currently in effect (the journal) */
	const char *checkpoint;    /* the running step's driver-defined resume point */
	int64_t started_at_ms;
	int64_t finished_at_ms;
	int64_t duration_ms;
	const char *applied_by;
	const char *error;
	const char *lib_version;
} migrate_record_t;

/* Receives one record during history_read; the record is valid during the call only. */
typedef int (*migrate_record_fn)(const migrate_record_t *record, void *ctx);

/* What the engine passes to a driver running one step. */
typedef struct migrate_exec migrate_exec_t;

/* Flags returned by step_flags. */
#define MIGRATE_STEP_NO_TXN 1u /* runs outside the engine's transaction; journals itself per batch */
/*
 * In a version with "transactional": false, runs with no transaction
 * around it (statements that refuse a transaction block); the engine
 * journals it afterwards, outside a transaction. In a transactional
 * version the flag is ignored.
 */
#define MIGRATE_STEP_AUTOCOMMIT 2u

typedef struct migrate_driver {
	unsigned version;            /* MIGRATE_DRIVER_VERSION */
	const char *name;            /* "sqlite", "postgres" ... */
	const char *const *schemes;  /* NULL-terminated URL schemes, e.g. {"sqlite", NULL} */

	/* Connects from a URL; *conn is the driver's own state. */
	int (*open)(const char *url, void **conn, migrate_error_t *err);
	/* Frees the state; closes the connection only if the driver opened it. */
	void (*close)(void *conn);
	/* The native handle passed to custom steps. */
	void *(*native_handle)(void *conn);

	/* MIGRATE_EUNSUPPORTED (message: the reason) if the driver cannot express `step`. */
	int (*check_step)(void *conn, const migrate_step_t *step, migrate_error_t *err);
	/* A mask of MIGRATE_STEP_* for `step`. NULL: every step is transactional. */
	unsigned (*step_flags)(void *conn, const migrate_step_t *step);
	/* Appends the exact statements for `step` to `out` (a bson_string_t). */
	int (*render_step)(void *conn, const migrate_step_t *step, bson_string_t *out, migrate_error_t *err);
	/* Runs `step`. Custom steps never reach the driver. */
	int (*apply_step)(void *conn, const migrate_step_t *step, migrate_exec_t *exec, migrate_error_t *err);

	/* Creates the history store if missing. */
	int (*history_ensure)(void *conn, migrate_error_t *err);
	/* Visits every record of `plan` (none if the store does not exist), in one read. */
	int (*history_read)(void *conn, const char *plan, migrate_record_fn fn, void *ctx, migrate_error_t *err);
	/* Inserts or replaces the record of (plan, record->version). */
	int (*history_write)(void *conn, const char *plan, const migrate_record_t *record, migrate_error_t *err);
	/* Deletes the record of (plan, version). */
	int (*history_delete)(void *conn, const char *plan, uint64_t version, migrate_error_t *err);

	/*
	 * Tries once to take the lock of (database, plan): 0 when taken,
	 * MIGRATE_ELOCKED when another run holds it (message: who and since
	 * when). The engine retries until its timeout. A dead holder must not
	 * keep the lock.
	 */
	int (*lock_try)(void *conn, const char *plan, migrate_error_t *err);
	int (*lock_release)(void *conn, const char *plan, migrate_error_t *err);

	/* Transactions; all three NULL when the database has none. */
	int (*begin)(void *conn, migrate_error_t *err);
	int (*commit)(void *conn, migrate_error_t *err);
	int (*rollback)(void *conn, migrate_error_t *err);
} migrate_driver_t;

/*
 * Registers a driver for migrate_target_open(). The struct must outlive the
 * process's use of libmigrate. A scheme already registered is replaced.
 * Thread-safe.
 */
MIGRATE_EXPORT(int) migrate_driver_register(const migrate_driver_t *driver, migrate_error_t *err);

/*
 * Wraps driver state made by the caller (for a borrowed connection) in a
 * target. On success the target owns `conn` and calls driver->close on it.
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
	MIGRATE_OP_UNKNOWN = 0, /**< not a step of the catalog (never reaches a driver) */
	MIGRATE_OP_CREATE_TABLE,
	MIGRATE_OP_DROP_TABLE,
	MIGRATE_OP_RENAME_TABLE,
	MIGRATE_OP_ADD_COLUMN,
	MIGRATE_OP_DROP_COLUMN,
	MIGRATE_OP_RENAME_COLUMN,
	MIGRATE_OP_CREATE_INDEX,
	MIGRATE_OP_DROP_INDEX,
	MIGRATE_OP_CREATE_ENUM,
	MIGRATE_OP_DROP_ENUM,
	MIGRATE_OP_MAP_VALUES,
	MIGRATE_OP_BACKFILL,
	MIGRATE_OP_SQL,
	MIGRATE_OP_COMMAND,
	MIGRATE_OP_ASSERT,
	MIGRATE_OP_CUSTOM, /**< runs the application's callback; never reaches a driver */
	MIGRATE_OP_COUNT   /**< the number of values of this header's catalog */
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

/* Non-zero when the engine wrapped this step in a transaction. */
MIGRATE_EXPORT(int) migrate_exec_in_transaction(const migrate_exec_t *exec);
/* The checkpoint journaled by an earlier, interrupted run of this step, or NULL. */
MIGRATE_EXPORT(const char *) migrate_exec_checkpoint(const migrate_exec_t *exec);
/* The batch size, pause and time budget from the run options (the step's own batch_size wins). */
MIGRATE_EXPORT(uint32_t) migrate_exec_batch_size(const migrate_exec_t *exec);
MIGRATE_EXPORT(uint32_t) migrate_exec_batch_pause_ms(const migrate_exec_t *exec);
MIGRATE_EXPORT(uint32_t) migrate_exec_batch_time_ms(const migrate_exec_t *exec);
MIGRATE_EXPORT(int) migrate_exec_direction(const migrate_exec_t *exec);

/*
 * A key naming this run of this step: the plan, the version, the step's
 * position and the direction, as 32 lowercase hex digits (33 bytes with the
 * NUL, written to `out`). The same on every run of the same step, so a
 * driver without transactions can mark the rows a batch wrote and skip them
 * when an interrupted run is resumed. Returns MIGRATE_EINVAL when `size` < 33.
 */
MIGRATE_EXPORT(int) migrate_exec_step_key(const migrate_exec_t *exec, char *out, size_t size);

/*
 * Journals a batch: call inside the batch's own transaction, before its
 * commit, so that the data and the checkpoint commit together. `checkpoint`
 * is copied; NULL or "" is refused (MIGRATE_EINVAL), since a resumed step
 * would read it as "start from the beginning". If the commit then fails,
 * the engine records the failure with the checkpoint the database holds.
 */
MIGRATE_EXPORT(int) migrate_exec_journal(migrate_exec_t *exec, const char *checkpoint, migrate_error_t *err);

/*
 * A batched step resuming from its checkpoint tells the engine how many rows
 * or documents its earlier runs did (the count the checkpoint holds), before
 * its first batch. The PROGRESS events of this step then carry it as
 * migrate_event_t.processed_before, so that a caller can tell the rows done
 * now from those done before. Optional: without it, processed_before is 0.
 */
MIGRATE_EXPORT(void) migrate_exec_resumed(migrate_exec_t *exec, int64_t done_before);

/*
 * Before a batch's first statement: marks where the batch starts, so that
 * the step's longest batch (migrate_event_t.longest_batch_ms) is timed from
 * there to migrate_exec_batch_done(). Optional: without it, a batch is timed
 * from the step's start or the previous batch's end.
 */
MIGRATE_EXPORT(void) migrate_exec_batch_start(migrate_exec_t *exec);

/*
 * After a batch committed: emits a progress event, sleeps the pause, and
 * returns MIGRATE_ECANCELED if the caller asked to stop (stop there: the
 * journal is consistent).
 */
MIGRATE_EXPORT(int) migrate_exec_batch_done(migrate_exec_t *exec, int64_t processed, int64_t total,
					    migrate_error_t *err);

/* Emits an event of `type` (WARNING, RETRY, LOCK_WAIT) with `message`. */
MIGRATE_EXPORT(int) migrate_exec_event(migrate_exec_t *exec, int type, const char *message);

/* Logs through the process-wide handler. */
MIGRATE_EXPORT(void) migrate_log(int level, const char *message);

/* Fills `err` (may be NULL) with `message` and returns `code`. */
MIGRATE_EXPORT(int) migrate_error_set(migrate_error_t *err, int domain, int code, const char *message);

#ifdef __cplusplus
}
#endif

#endif
