/*
 * libmigrate: targets and run operations.
 *
 * Every run operation that writes (up, down, baseline, repair) validates the
 * whole plan first, then takes the plan's lock, reads the history once and
 * works from it; nothing is written to the database for an invalid plan.
 * status and check read the history only, and take no lock.
 *
 * Thread safety: a target is used by one thread at a time.
 */
#ifndef MIGRATE_RUN_H
#define MIGRATE_RUN_H

#include "common.h"
#include "plan.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Opens a target from a URL: "sqlite:PATH" (or "sqlite::memory:"),
 * "postgresql://..." and "mongodb://host/db" when those drivers are built,
 * or the scheme of a driver registered with migrate_driver_register().
 * *out is owned by the caller: close it with migrate_target_close().
 * Errors: MIGRATE_ENOTFOUND (no driver for the scheme), MIGRATE_ECONNECT.
 * Passwords in the URL never appear in errors or logs.
 */
MIGRATE_EXPORT(int) migrate_target_open(migrate_target_t **out, const char *url, migrate_error_t *err);

/*
 * Writes `url` to `out` (out_size bytes, always NUL-terminated) with its
 * passwords masked: the userinfo password (up to the last '@' before the
 * path) and the value of every query parameter whose name contains
 * "password", in any case. A URL that does not parse cleanly is shown as
 * its scheme and "<redacted>" only. Stateless and thread-safe.
 */
MIGRATE_EXPORT(void) migrate_url_redact(const char *url, char *out, size_t out_size);

/* Closes a target; a borrowed connection is left open. NULL is a no-op. */
MIGRATE_EXPORT(void) migrate_target_close(migrate_target_t *target);

/* The driver's name ("sqlite", "postgres", "mongo" ...), borrowed. */
MIGRATE_EXPORT(const char *) migrate_target_driver_name(const migrate_target_t *target);

/* The driver's native handle (sqlite3 *, PGconn *, ...), borrowed. */
MIGRATE_EXPORT(void *) migrate_target_native_handle(const migrate_target_t *target);

/* Event types. Append only. */
typedef enum migrate_event_type {
	MIGRATE_EVENT_VERSION_START = 1,
	MIGRATE_EVENT_VERSION_END = 2,
	MIGRATE_EVENT_STEP_START = 3,
	MIGRATE_EVENT_STEP_END = 4,
	MIGRATE_EVENT_PROGRESS = 5,   /* a backfill batch committed: processed, total */
	MIGRATE_EVENT_LOCK_WAIT = 6,  /* the lock is held by another run: message names it */
	MIGRATE_EVENT_LOCK_ACQUIRED = 7,
	MIGRATE_EVENT_WARNING = 8,
	MIGRATE_EVENT_RETRY = 9       /* a statement is retried after a transient error */
} migrate_event_type_t;

/* Direction of the run that emits an event. */
#define MIGRATE_DIRECTION_UP 1
#define MIGRATE_DIRECTION_DOWN 2

/*
 * One event. Every pointer is valid during the callback only. Fields are
 * only ever appended.
 */
typedef struct migrate_event {
	int type;               /* a migrate_event_type_t */
	int direction;          /* MIGRATE_DIRECTION_* */
	uint64_t version_id;    /* 0 when not about a version */
	const char *version_name;
	int step_index;         /* 0-based, -1 when not about a step */
	int step_count;
	const char *op;         /* the step's op, or NULL */
	int64_t processed;      /* PROGRESS: rows or documents so far */
	int64_t total;          /* PROGRESS: estimated total, -1 if unknown */
	int64_t elapsed_ms;     /* since the version or the wait started */
	const char *message;    /* human-readable detail, or NULL; on the STEP_END of a down,
				   "its down is empty" when the step's explicit down ran nothing */
	int64_t processed_before; /* PROGRESS: of `processed`, the rows or documents done by earlier,
				     interrupted runs of this step (read from its journal); 0 on a
				     step started afresh, or when the driver does not say. The rows
				     done by this run are processed - processed_before. */
	int64_t batches;          /* STEP_END of a batched step: the batches this run committed (0 for
				     a step run as one statement) */
	int64_t longest_batch_ms; /* STEP_END: the longest of those batches, from its first statement
				     to its commit: the longest time the step held row locks at once */
} migrate_event_t;

/*
 * Receives events. Returning non-zero cancels the run at the next safe
 * point (after the current transaction or batch commits); the run returns
 * MIGRATE_ECANCELED and the next `up` resumes from the journal.
 */
typedef int (*migrate_event_fn)(const migrate_event_t *event, void *payload);

#define MIGRATE_RUN_OPTIONS_VERSION 1

/* Options of a run. Initialise with migrate_run_options_init(). */
typedef struct migrate_run_options {
	unsigned version;            /* MIGRATE_RUN_OPTIONS_VERSION */
	int64_t lock_timeout_ms;     /* wait for the lock this long (default 60000; 0: try once) */
	uint32_t batch_size;         /* rows per backfill batch (default 0: sized by the driver) */
	uint32_t batch_pause_ms;     /* sleep between batches (default 0) */
	uint32_t batch_time_ms;      /* target duration of one batch when sized by the driver (default 200) */
	int allow_out_of_order;      /* apply pending versions older than an applied one */
	int allow_amended;           /* run even when applied versions' checksums differ */
	migrate_event_fn on_event;   /* optional */
	void *event_payload;
} migrate_run_options_t;

#define MIGRATE_RUN_OPTIONS_INIT {MIGRATE_RUN_OPTIONS_VERSION, 60000, 0, 0, 200, 0, 0, NULL, NULL}

/* Fills `opts` with the defaults of struct version `version`; MIGRATE_EVERSION if unknown. */
MIGRATE_EXPORT(int) migrate_run_options_init(migrate_run_options_t *opts, unsigned version);

/*
 * Applies pending versions in id order up to `target_version` (0: all).
 * A version left applying or failed by an earlier run resumes from its
 * journal. `opts` may be NULL for defaults.
 * Errors: MIGRATE_EPLAN, MIGRATE_EUNSUPPORTED, MIGRATE_ECHECKSUM,
 * MIGRATE_EORDER, MIGRATE_ELOCKED, MIGRATE_ECANCELED, MIGRATE_EDB,
 * MIGRATE_EASSERT, MIGRATE_ECALLBACK.
 */
MIGRATE_EXPORT(int) migrate_up(migrate_target_t *target, const migrate_plan_t *plan, uint64_t target_version,
			       const migrate_run_options_t *opts, migrate_error_t *err);

/*
 * Reverts applied versions with an id greater than `target_version` (0:
 * all), newest first, running the inverse of each applied step in reverse
 * order. MIGRATE_EIRREVERSIBLE (nothing run) if any step on that path has
 * no inverse and no explicit down.
 */
MIGRATE_EXPORT(int) migrate_down(migrate_target_t *target, const migrate_plan_t *plan, uint64_t target_version,
				 const migrate_run_options_t *opts, migrate_error_t *err);

/* Marks every version up to `version` as applied without running it. */
MIGRATE_EXPORT(int) migrate_baseline(migrate_target_t *target, const migrate_plan_t *plan, uint64_t version,
				     const migrate_run_options_t *opts, migrate_error_t *err);

/*
 * Realigns the stored checksums and names of applied versions with the plan
 * (after a deliberate edit, or a database changed by hand). *changed
 * (optional) receives the number of history records rewritten.
 */
MIGRATE_EXPORT(int) migrate_repair(migrate_target_t *target, const migrate_plan_t *plan,
				   const migrate_run_options_t *opts, size_t *changed, migrate_error_t *err);

/* Answers of migrate_check(). */
typedef enum migrate_check_state {
	MIGRATE_CHECK_UP_TO_DATE = 0,
	MIGRATE_CHECK_PENDING = 1,    /* some version is not applied yet */
	MIGRATE_CHECK_FAILED = 2,     /* a version is failed or was left applying */
	MIGRATE_CHECK_MISMATCH = 3    /* an applied version's checksum differs */
} migrate_check_state_t;

/*
 * For readiness probes: reads the history once, takes no lock, writes
 * nothing. *state receives a migrate_check_state_t (the worst that holds).
 */
MIGRATE_EXPORT(int) migrate_check(migrate_target_t *target, const migrate_plan_t *plan, migrate_check_state_t *state,
				  migrate_error_t *err);

/*
 * Dry run: the exact statements or commands `up` to `target_version` (0:
 * all) would send for each pending version, backfills as their per-batch
 * statement. *out is caller-owned: free it with migrate_free().
 */
MIGRATE_EXPORT(int) migrate_render(migrate_target_t *target, const migrate_plan_t *plan, uint64_t target_version,
				   char **out, migrate_error_t *err);

/* States of a version in migrate_status(). */
typedef enum migrate_state {
	MIGRATE_STATE_PENDING = 0,
	MIGRATE_STATE_APPLYING = 1,  /* started, not finished: resumable */
	MIGRATE_STATE_APPLIED = 2,
	MIGRATE_STATE_FAILED = 3,    /* stopped by an error: resumable */
	MIGRATE_STATE_REVERTING = 4  /* a down was interrupted: resumable */
} migrate_state_t;

typedef struct migrate_status migrate_status_t;

/* One line of a status report; fields are only ever appended. */
typedef struct migrate_status_entry {
	uint64_t id;
	const char *name;
	int state;                /* a migrate_state_t */
	int in_plan;              /* 0: recorded in the database but absent from the plan */
	int checksum_matches;     /* 1 when the stored checksum equals the plan's (or pending) */
	uint32_t steps_done;
	uint32_t steps_total;     /* 0 when not in the plan */
	int64_t started_at_ms;    /* Unix time in ms, 0 if never */
	int64_t finished_at_ms;
	int64_t duration_ms;
	const char *applied_by;   /* "host:pid", or NULL */
	const char *error;        /* last error, or NULL */
	const char *checksum;     /* stored checksum, or NULL */
} migrate_status_entry_t;

/* Every version of the plan and of the history, ascending by id. Reads only. */
MIGRATE_EXPORT(int) migrate_status_get(migrate_target_t *target, const migrate_plan_t *plan,
				       migrate_status_t **out, migrate_error_t *err);
MIGRATE_EXPORT(size_t) migrate_status_count(const migrate_status_t *status);
/* The i-th entry, borrowed from the report; NULL when out of range. */
MIGRATE_EXPORT(const migrate_status_entry_t *) migrate_status_entry(const migrate_status_t *status, size_t i);
MIGRATE_EXPORT(void) migrate_status_destroy(migrate_status_t *status);

/* The name of a migrate_state_t ("pending", "applied" ...). */
MIGRATE_EXPORT(const char *) migrate_state_name(int state);

/*
 * Runs the assert steps of every applied version again, in id order, as a
 * health check of the data. Takes no lock and writes nothing: on a driver
 * with transactions each assert runs in one that is rolled back. Every
 * assert runs even when one fails: each emits STEP_START, then STEP_END
 * when it holds or a WARNING carrying its message when it does not.
 * `opts` may be NULL; only on_event and event_payload are used.
 * Errors: MIGRATE_EASSERT (the message counts the failures and quotes the
 * first), MIGRATE_EPLAN, MIGRATE_EUNSUPPORTED, MIGRATE_EDB, MIGRATE_ECANCELED.
 */
MIGRATE_EXPORT(int) migrate_verify(migrate_target_t *target, const migrate_plan_t *plan,
				   const migrate_run_options_t *opts, migrate_error_t *err);

#ifdef __cplusplus
}
#endif

#endif
