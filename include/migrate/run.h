/**
 * @file
 * @brief libmigrate: targets and run operations.
 *
 * Every run operation that writes (up, down, baseline, repair) validates the
 * whole plan first, then takes the plan's lock, reads the history once and
 * works from it; nothing is written to the database for an invalid plan.
 * status and check read the history only, and take no lock.
 *
 * Errors common to the run operations: MIGRATE_EINVAL (a NULL target or
 * plan), MIGRATE_EVERSION (an unknown `opts->version`), MIGRATE_EPLAN and
 * MIGRATE_EUNSUPPORTED (validation: an invalid step, or one the target's
 * driver cannot express), MIGRATE_EDB and MIGRATE_ECONNECT (the database),
 * MIGRATE_ENOMEM.
 *
 * Thread safety: a target is used by one thread at a time. Runs on
 * different targets may share one validated plan.
 */
#ifndef MIGRATE_RUN_H
#define MIGRATE_RUN_H

#include "common.h"
#include "plan.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Opens a target from a URL. Passwords in the URL never appear in errors
 * or logs.
 *
 * @param[out] out receives the target, owned by the caller: close it with
 *        migrate_target_close(). NULL on failure.
 * @param url "sqlite:PATH" (or `"sqlite::memory:"`, see sqlite.h),
 *        "postgresql://..." and "mongodb://host/db" when those drivers are
 *        built, or the scheme of a driver registered with
 *        migrate_driver_register().
 * @param[out] err optional error details.
 * @return 0, MIGRATE_EINVAL (`out` or `url` is NULL), MIGRATE_ENOTFOUND
 *         (no driver for the scheme, a driver module that is not installed,
 *         or a SQLite file opened with mode=ro or mode=rw that does not
 *         exist), MIGRATE_EVERSION (a driver module of another build),
 *         MIGRATE_ECONNECT (the database cannot be opened or reached),
 *         MIGRATE_EUNSUPPORTED (SQLite older than 3.29.0) or MIGRATE_ENOMEM.
 */
MIGRATE_EXPORT(int) migrate_target_open(migrate_target_t **out, const char *url, migrate_error_t *err);

/**
 * A flag of migrate_target_open_flags(): the target is opened to answer
 * migrate_check() or migrate_check_details() first (a start-up probe).
 *
 * On PostgreSQL the library then connects with a frontend of its own and
 * reads the history without loading the PostgreSQL module and libpq, which
 * is about half of such a probe's time, when the URL asks for nothing but
 * one host name, IPv4 address or socket directory (in the URL or its
 * `host` parameter), a port, a user, a password, a database,
 * `sslmode` disable, allow or prefer, `application_name` and
 * `migrate_schema`; no PG* environment variable but PGPASSWORD is set;
 * Kerberos is not configured; and the server offers no TLS and asks for
 * no authentication but trust, a cleartext password or SCRAM-SHA-256 with
 * an ASCII password (peer, over a socket, is the server's). Anything else, or
 * any failure of that connection or its read, goes through libpq as
 * migrate_target_open() does: the answers, and the errors, are libpq's.
 *
 * The target serves every other call too: the first one that needs more
 * than the history's states opens the connection through libpq then (one
 * more connection, and the driver's module loaded then). Other drivers
 * ignore the flag.
 */
#define MIGRATE_OPEN_CHECK 0x1u

/**
 * migrate_target_open() with flags.
 *
 * @param[out] out receives the target, owned by the caller (migrate_target_close()); NULL on failure.
 * @param url as migrate_target_open() takes it.
 * @param flags 0 (migrate_target_open()) or MIGRATE_OPEN_CHECK.
 * @param[out] err optional error details (passwords masked).
 * @return as migrate_target_open(), and MIGRATE_EINVAL for an unknown flag.
 */
MIGRATE_EXPORT(int)
migrate_target_open_flags(migrate_target_t **out, const char *url, unsigned flags, migrate_error_t *err);

/**
 * Finds the driver that serves `url`'s scheme, loading it now, and
 * connects to nothing. In the shared library the PostgreSQL and MongoDB
 * drivers are modules, loaded with their client libraries (libpq,
 * libmongoc and their TLS, SASL and Kerberos dependencies) the first time
 * a URL of their scheme is opened; that loading is several milliseconds of
 * mapping and relocating, and costs more while other threads of the
 * process run (each mapping change interrupts them). A program that opens
 * its target while another thread works (the `migrate` tool parses the
 * plan while it connects) calls this first, before it starts the thread.
 * migrate_target_open() does the same loading itself when it was not done.
 *
 * Thread-safe; a driver is loaded once and never unloaded.
 *
 * @param url a URL as migrate_target_open() takes it; only its scheme is read.
 * @param[out] err optional error details (the URL in them has its passwords masked).
 * @return 0, MIGRATE_EINVAL (`url` is NULL), MIGRATE_ENOTFOUND (no driver
 *         for the scheme, or a driver module that is not installed) or
 *         MIGRATE_EVERSION (a driver module of another build).
 */
MIGRATE_EXPORT(int) migrate_driver_load(const char *url, migrate_error_t *err);

/**
 * Copies a URL with its passwords masked: the userinfo password (up to the
 * last '\@' before the path) and the value of every query parameter whose
 * name contains "password", in any case, or is MongoDB's
 * authMechanismProperties (its AWS_SESSION_TOKEN). A URL that does not parse cleanly
 * is shown as its scheme and `"<redacted>"` only.
 *
 * Stateless and thread-safe.
 *
 * @param url the URL.
 * @param[out] out receives the masked URL, always NUL-terminated
 *        (truncated to fit); NULL is a no-op.
 * @param out_size the size of `out`.
 */
MIGRATE_EXPORT(void) migrate_url_redact(const char *url, char *out, size_t out_size);

/**
 * Closes a target. A connection the target borrowed (the driver wrappers in
 * sqlite.h, postgres.h, mongo.h) is left open.
 *
 * @param target the target; NULL is a no-op.
 */
MIGRATE_EXPORT(void) migrate_target_close(migrate_target_t *target);

/**
 * The target's driver.
 *
 * @param target the target.
 * @return the driver's name ("sqlite", "postgres", "mongo" ...), borrowed;
 *         NULL when `target` is NULL.
 */
MIGRATE_EXPORT(const char *) migrate_target_driver_name(const migrate_target_t *target);

/**
 * The driver's native handle.
 *
 * @param target the target.
 * @return the handle (`sqlite3 *`, `PGconn *`, ...), borrowed from the
 *         target; NULL when `target` is NULL or the driver has none.
 */
MIGRATE_EXPORT(void *) migrate_target_native_handle(const migrate_target_t *target);

/** Event types. Append only. */
typedef enum migrate_event_type {
	MIGRATE_EVENT_VERSION_START = 1, /**< a version starts (or resumes) */
	MIGRATE_EVENT_VERSION_END = 2,   /**< a version is done */
	MIGRATE_EVENT_STEP_START = 3,    /**< a step starts */
	MIGRATE_EVENT_STEP_END = 4,      /**< a step is done */
	MIGRATE_EVENT_PROGRESS = 5,      /**< a backfill batch committed: processed, total */
	MIGRATE_EVENT_LOCK_WAIT = 6,     /**< the lock is held by another run: message names it */
	MIGRATE_EVENT_LOCK_ACQUIRED = 7, /**< the lock was taken */
	MIGRATE_EVENT_WARNING = 8,       /**< something to look at: message says what */
	MIGRATE_EVENT_RETRY = 9          /**< a statement is retried after a transient error */
} migrate_event_type_t;

/** migrate_event_t::direction of a run that applies versions (up, baseline, repair, verify). */
#define MIGRATE_DIRECTION_UP 1
/** migrate_event_t::direction of a run that reverts versions (down). */
#define MIGRATE_DIRECTION_DOWN 2

/**
 * One event. Every pointer is valid during the callback only. Fields are
 * only ever appended.
 */
typedef struct migrate_event {
	int type;                 /**< a #migrate_event_type_t */
	int direction;            /**< #MIGRATE_DIRECTION_UP or #MIGRATE_DIRECTION_DOWN */
	uint64_t version_id;      /**< 0 when not about a version */
	const char *version_name; /**< the version's name ("" when it has none), NULL when not about a version */
	int step_index;           /**< 0-based, -1 when not about a step */
	int step_count;           /**< the version's number of steps, 0 when not about a version */
	const char *op;           /**< the step's op, or NULL */
	int64_t processed;        /**< PROGRESS: rows or documents so far; LOCK_WAIT and LOCK_ACQUIRED:
				       the attempts to take the lock so far, this one included */
	int64_t total;            /**< PROGRESS: estimated total, -1 if unknown */
	int64_t elapsed_ms;       /**< since the version or the wait started */
	const char *message;      /**< human-readable detail, or NULL; on the STEP_END of a down,
				       "its down is empty" when the step's explicit down ran nothing */
	int64_t processed_before; /**< PROGRESS: of `processed`, the rows or documents done by earlier,
				       interrupted runs of this step (read from its journal); 0 on a
				       step started afresh, or when the driver does not say. The rows
				       done by this run are processed - processed_before. */
	int64_t batches;          /**< STEP_END of a batched step: the batches this run committed (0 for
				       a step run as one statement) */
	int64_t longest_batch_ms; /**< STEP_END: the longest of those batches, from its first statement
				       to its commit: the longest time the step held row locks at once */
} migrate_event_t;

/**
 * Receives events, on the thread running the operation.
 *
 * @param event the event, valid during the call only.
 * @param payload migrate_run_options_t::event_payload.
 * @return 0 to go on; non-zero cancels the run at the next safe point
 *         (after the current transaction or batch commits): the run
 *         returns MIGRATE_ECANCELED and the next up resumes from the
 *         journal.
 */
typedef int (*migrate_event_fn)(const migrate_event_t *event, void *payload);

/** The struct version of migrate_run_options_t that these headers define. */
#define MIGRATE_RUN_OPTIONS_VERSION 1

/** Options of a run. Initialise with migrate_run_options_init(); fields are only ever appended. */
typedef struct migrate_run_options {
	unsigned version;          /**< #MIGRATE_RUN_OPTIONS_VERSION */
	int64_t lock_timeout_ms;   /**< wait for the lock this long (default 60000; 0: try once) */
	uint32_t batch_size;       /**< rows per backfill batch (default 0: sized by the driver) */
	uint32_t batch_pause_ms;   /**< sleep between batches (default 0) */
	uint32_t batch_time_ms;    /**< target duration of one batch when sized by the driver (default 200) */
	int allow_out_of_order;    /**< non-zero: apply pending versions older than an applied one */
	int allow_amended;         /**< non-zero: run even when applied versions' checksums differ */
	migrate_event_fn on_event; /**< the event callback, or NULL */
	void *event_payload;       /**< passed to `on_event`; it must outlive the run */
} migrate_run_options_t;

/** An initialiser of migrate_run_options_t with the defaults. */
/* clang-format off */
#define MIGRATE_RUN_OPTIONS_INIT {MIGRATE_RUN_OPTIONS_VERSION, 60000, 0, 0, 200, 0, 0, NULL, NULL}
/* clang-format on */

/**
 * Fills run options with the defaults of a struct version.
 *
 * @param[out] opts the options to fill.
 * @param version #MIGRATE_RUN_OPTIONS_VERSION.
 * @return 0, MIGRATE_EINVAL (`opts` is NULL) or MIGRATE_EVERSION (an
 *         unknown version).
 */
MIGRATE_EXPORT(int) migrate_run_options_init(migrate_run_options_t *opts, unsigned version);

/**
 * Applies pending versions in id order. A version left applying or failed
 * by an earlier run resumes from its journal.
 *
 * @param target the target.
 * @param plan the plan; only read.
 * @param target_version the last version to apply; 0 for all.
 * @param opts the options, or NULL for the defaults. Copied.
 * @param[out] err optional error details.
 * @return 0, or besides the common errors (see the top of run.h):
 *         MIGRATE_ENOTFOUND (`target_version` is not in the plan),
 *         MIGRATE_ECHECKSUM (an applied version was edited),
 *         MIGRATE_EORDER (a pending version is older than an applied one),
 *         MIGRATE_ELOCKED, MIGRATE_ELOCKLOST, MIGRATE_ECANCELED,
 *         MIGRATE_EASSERT, MIGRATE_ECALLBACK, MIGRATE_ESTATE (PostgreSQL:
 *         the caller left a transaction open on the connection).
 */
MIGRATE_EXPORT(int) migrate_up(migrate_target_t *target, const migrate_plan_t *plan, uint64_t target_version,
			       const migrate_run_options_t *opts, migrate_error_t *err);

/**
 * Reverts applied versions with an id greater than `target_version`,
 * newest first, running the inverse of each applied step in reverse order
 * (or the explicit downs). The whole down path is checked before anything
 * runs.
 *
 * @param target the target.
 * @param plan the plan; only read.
 * @param target_version the last version to keep; 0 reverts all.
 * @param opts the options, or NULL for the defaults. Copied.
 * @param[out] err optional error details.
 * @return 0, or besides the common errors: MIGRATE_ENOTFOUND
 *         (`target_version` is not in the plan), MIGRATE_EIRREVERSIBLE
 *         (nothing run: a step on the path has no inverse and no explicit
 *         down), MIGRATE_ECHECKSUM (a version to revert was edited since
 *         it was applied), MIGRATE_ESTATE (a version to revert is recorded
 *         but not in the plan), MIGRATE_ELOCKED, MIGRATE_ELOCKLOST,
 *         MIGRATE_ECANCELED, MIGRATE_EASSERT, MIGRATE_ECALLBACK.
 */
MIGRATE_EXPORT(int) migrate_down(migrate_target_t *target, const migrate_plan_t *plan, uint64_t target_version,
				 const migrate_run_options_t *opts, migrate_error_t *err);

/**
 * Marks every version up to `version` as applied without running it, for a
 * database whose schema already matches. Versions already applied are left
 * as they are.
 *
 * @param target the target.
 * @param plan the plan; only read.
 * @param version the last version to mark, greater than 0.
 * @param opts the options, or NULL for the defaults (the lock timeout and
 *        the event callback are used). Copied.
 * @param[out] err optional error details.
 * @return 0, or besides the common errors: MIGRATE_EINVAL (`version` is
 *         0), MIGRATE_ENOTFOUND (`version` is not in the plan),
 *         MIGRATE_ESTATE (a version up to it is applying, failed or
 *         reverting), MIGRATE_ELOCKED, MIGRATE_ELOCKLOST,
 *         MIGRATE_ECANCELED.
 */
MIGRATE_EXPORT(int) migrate_baseline(migrate_target_t *target, const migrate_plan_t *plan, uint64_t version,
				     const migrate_run_options_t *opts, migrate_error_t *err);

/**
 * Adopts the history of the tool whose directory the plan was read from
 * (migrate_plan_load_dir_format()): when the plan has no history of its own
 * in the database yet, reads that tool's table (golang-migrate's
 * schema_migrations, goose_db_version, flyway_schema_history, found on the
 * search_path; golang-migrate's schema_migrations collection on MongoDB) and marks the versions it applied as applied,
 * as migrate_baseline() does. Their table is only read. Does nothing once the plan has a history, or when the table
 * does not exist.
 *
 * @param target the target (PostgreSQL; MongoDB for golang-migrate).
 * @param plan the plan; only read.
 * @param format "golang-migrate", "goose" or "flyway".
 * @param opts the options, or NULL for the defaults. Copied.
 * @param[out] adopted optional: receives the number of versions adopted.
 * @param[out] err optional error details.
 * @return 0, or besides the common errors: MIGRATE_EINVAL (an unknown
 *         format), MIGRATE_EUNSUPPORTED (a driver other than PostgreSQL, or
 *         than MongoDB for golang-migrate),
 *         MIGRATE_ESTATE (nothing written: golang-migrate left a version
 *         dirty, Flyway recorded a failed migration, the tool applied a
 *         version the directory lacks or skipped an older one; the message
 *         names the version), MIGRATE_ELOCKED, MIGRATE_ELOCKLOST.
 */
MIGRATE_EXPORT(int) migrate_adopt(migrate_target_t *target, const migrate_plan_t *plan, const char *format,
				  const migrate_run_options_t *opts, uint64_t *adopted, migrate_error_t *err);

/**
 * Realigns the stored checksums and names of applied versions with the plan
 * (after a deliberate edit, or a database changed by hand). Each record
 * rewritten emits a WARNING event.
 *
 * @param target the target.
 * @param plan the plan; only read.
 * @param opts the options, or NULL for the defaults. Copied.
 * @param[out] changed optional: receives the number of history records
 *        rewritten (0 on failure before any).
 * @param[out] err optional error details.
 * @return 0, or besides the common errors: MIGRATE_ELOCKED,
 *         MIGRATE_ELOCKLOST, MIGRATE_ECANCELED.
 */
MIGRATE_EXPORT(int) migrate_repair(migrate_target_t *target, const migrate_plan_t *plan,
				   const migrate_run_options_t *opts, size_t *changed, migrate_error_t *err);

/** Answers of migrate_check(), from best to worst. */
typedef enum migrate_check_state {
	MIGRATE_CHECK_UP_TO_DATE = 0, /**< every version of the plan is applied */
	MIGRATE_CHECK_PENDING = 1,    /**< some version is not applied yet */
	MIGRATE_CHECK_FAILED = 2,     /**< a version is failed or was left applying or reverting */
	MIGRATE_CHECK_MISMATCH = 3    /**< an applied version's checksum differs */
} migrate_check_state_t;

/**
 * Tells whether the database is migrated, for readiness probes: reads the
 * history once, takes no lock, writes nothing and does not validate the
 * plan. Versions recorded in the database but absent from the plan are not
 * counted.
 *
 * @param target the target.
 * @param plan the plan; only read.
 * @param[out] state receives the worst answer that holds.
 * @param[out] err optional error details.
 * @return 0, MIGRATE_EINVAL (a NULL argument), MIGRATE_EDB,
 *         MIGRATE_ECONNECT or MIGRATE_ENOMEM.
 */
MIGRATE_EXPORT(int) migrate_check(migrate_target_t *target, const migrate_plan_t *plan, migrate_check_state_t *state,
				  migrate_error_t *err);

/** The struct version of migrate_check_details_t that these headers define. */
#define MIGRATE_CHECK_DETAILS_VERSION 1

/**
 * Where the database stands against the plan, besides the state: filled by
 * migrate_check_details(). A database "behind" the plan has pending
 * versions; one "ahead" of it has applied versions newer than any the plan
 * knows (a newer release migrated it while this one still runs, as in a
 * rolling deploy): its state stays MIGRATE_CHECK_UP_TO_DATE when every
 * version of the plan is applied, so old instances keep passing their
 * readiness probes. Fields are only ever appended.
 */
typedef struct migrate_check_details {
	unsigned version;          /**< #MIGRATE_CHECK_DETAILS_VERSION, set by the caller */
	uint64_t database_version; /**< the highest version applied in the database, in the plan or not; 0 when none
					(on a hot standby: the highest it has replayed) */
	uint64_t plan_version;     /**< the plan's highest version id; 0 for an empty plan */
	size_t pending;            /**< versions of the plan not applied (pending, failed or half applied) */
	size_t ahead;              /**< applied versions newer than plan_version: the database is ahead */
} migrate_check_details_t;

/**
 * migrate_check() that also says where the database stands (behind,
 * ahead), from the same single read of the history.
 *
 * @param target the target.
 * @param plan the plan; only read.
 * @param[out] state receives the worst answer that holds, as migrate_check().
 * @param[in,out] details optional: its `version` set by the caller to
 *        #MIGRATE_CHECK_DETAILS_VERSION; the other fields are filled on success.
 * @param[out] err optional error details.
 * @return 0, MIGRATE_EINVAL (a NULL target, plan or state),
 *         MIGRATE_EVERSION (an unknown details version), MIGRATE_EDB,
 *         MIGRATE_ECONNECT or MIGRATE_ENOMEM.
 */
MIGRATE_EXPORT(int) migrate_check_details(migrate_target_t *target, const migrate_plan_t *plan,
					  migrate_check_state_t *state, migrate_check_details_t *details,
					  migrate_error_t *err);

/** Kinds of a drift finding (migrate_finding_kind()). Append only. */
typedef enum migrate_drift_kind {
	MIGRATE_DRIFT_MISSING = 1,  /**< the applied versions made it, the database lacks it */
	MIGRATE_DRIFT_EXTRA = 2,    /**< in a table of the plan, but made by none of its versions */
	MIGRATE_DRIFT_DIFFERENT = 3 /**< there, but one property differs (migrate_finding_property()) */
} migrate_drift_kind_t;

/** A drift report, made by migrate_check_schema(). Opaque. */
typedef struct migrate_schema_report migrate_schema_report_t;

/** One finding of a drift report. Opaque, borrowed from its report. */
typedef struct migrate_finding migrate_finding_t;

/**
 * Drift detection: compares the schema the applied versions of the plan
 * leave behind with the live catalog, for readiness probes and audits.
 *
 * The expected schema is replayed from the typed steps of every applied
 * version in id order (and the journaled steps of a version left applying
 * or failed): tables (collections), columns with their type as the driver
 * lowers it, nullability, whether they have a default, primary keys,
 * indexes (keys, order, uniqueness, whether partial) and enums (labels in
 * order). What a driver cannot express is not compared (see
 * docs/operations.md "Drift"). A raw step (sql, command, custom) that
 * declares what it makes (migrate_step_set_declares_json()) is replayed as
 * its declared steps; one that does not is opaque: the tables and enums
 * that exist when it runs are only checked for what is missing from then
 * on, and migrate_schema_report_partial() says so.
 * Tables the plan never made are not drift.
 *
 * Reads the history once and the catalog once (on MongoDB, listCollections
 * and one listIndexes per collection of the plan); takes no lock, writes
 * nothing, and does not validate the plan against the driver.
 *
 * @param target the target.
 * @param plan the plan; only read. It need not outlive the report.
 * @param[out] out receives the report, owned by the caller: free it with
 *        migrate_schema_report_destroy(). NULL on failure.
 * @param[out] err optional error details.
 * @return 0 (with or without findings), MIGRATE_EINVAL (a NULL argument),
 *         MIGRATE_EUNSUPPORTED (the target's driver cannot read its
 *         catalog), MIGRATE_EDB, MIGRATE_ECONNECT or MIGRATE_ENOMEM.
 */
MIGRATE_EXPORT(int) migrate_check_schema(migrate_target_t *target, const migrate_plan_t *plan,
					 migrate_schema_report_t **out, migrate_error_t *err);

/**
 * What migrate_check() answers, from the same read of the history.
 *
 * @param report the report.
 * @return a #migrate_check_state_t; MIGRATE_CHECK_UP_TO_DATE when `report`
 *         is NULL.
 */
MIGRATE_EXPORT(int) migrate_schema_report_state(const migrate_schema_report_t *report);

/**
 * Whether a raw step (sql, command, custom) of an applied version, without
 * a declaration, made the comparison partial: objects that existed when it
 * ran are only checked for being missing.
 *
 * @param report the report.
 * @return the id of the last applied version with such a step, 0 when none
 *         (or `report` is NULL).
 */
MIGRATE_EXPORT(uint64_t) migrate_schema_report_partial(const migrate_schema_report_t *report);

/**
 * The number of findings; 0 means the database matches the plan.
 *
 * @param report the report.
 * @return the count; 0 when `report` is NULL.
 */
MIGRATE_EXPORT(size_t) migrate_schema_report_count(const migrate_schema_report_t *report);

/**
 * Iterates over the findings, ordered by version, then as the versions made
 * the objects.
 *
 * @param report the report.
 * @param i 0 to migrate_schema_report_count() - 1.
 * @return the finding, borrowed from the report (valid until
 *         migrate_schema_report_destroy()); NULL when out of range.
 */
MIGRATE_EXPORT(const migrate_finding_t *) migrate_schema_report_finding(const migrate_schema_report_t *report,
									size_t i);

/**
 * Frees a drift report and its findings.
 *
 * @param report the report; NULL is a no-op.
 */
MIGRATE_EXPORT(void) migrate_schema_report_destroy(migrate_schema_report_t *report);

/**
 * The finding's kind.
 *
 * @param finding the finding.
 * @return a #migrate_drift_kind_t; 0 when `finding` is NULL.
 */
MIGRATE_EXPORT(int) migrate_finding_kind(const migrate_finding_t *finding);

/**
 * The name of a finding kind.
 *
 * @param kind a #migrate_drift_kind_t.
 * @return "missing", "extra", "different", or "unknown"; a static string.
 */
MIGRATE_EXPORT(const char *) migrate_drift_kind_name(int kind);

/**
 * What sort of object the finding is about.
 *
 * @param finding the finding.
 * @return "table", "collection" (MongoDB), "column", "index",
 *         "primary_key" or "enum", borrowed; NULL when `finding` is NULL.
 */
MIGRATE_EXPORT(const char *) migrate_finding_object_type(const migrate_finding_t *finding);

/**
 * The object: "jobs" (a table, a collection, a primary key), "jobs.status"
 * (a column), "jobs.idx_jobs_status" (an index, after its table),
 * "jobstatus" (an enum).
 *
 * @param finding the finding.
 * @return the name, borrowed from the report; NULL when `finding` is NULL.
 */
MIGRATE_EXPORT(const char *) migrate_finding_object(const migrate_finding_t *finding);

/**
 * The version that made the object as the plan expects it (for an extra
 * object: the version that made its table).
 *
 * @param finding the finding.
 * @return the version id; 0 when `finding` is NULL.
 */
MIGRATE_EXPORT(uint64_t) migrate_finding_version(const migrate_finding_t *finding);

/**
 * The property that differs: "type", "nullable", "default", "keys",
 * "unique", "where", "valid" (an index), "columns" (a primary key) or
 * "values" (an enum).
 *
 * @param finding the finding.
 * @return the property, borrowed; NULL for a missing or extra object.
 */
MIGRATE_EXPORT(const char *) migrate_finding_property(const migrate_finding_t *finding);

/**
 * The property as the plan expects it ("integer", "not null",
 * "(status, created_at desc)", "pending, running" ...).
 *
 * @param finding the finding.
 * @return borrowed from the report; NULL for a missing or extra object.
 */
MIGRATE_EXPORT(const char *) migrate_finding_expected(const migrate_finding_t *finding);

/**
 * The property as the database has it, in the same form as
 * migrate_finding_expected().
 *
 * @param finding the finding.
 * @return borrowed from the report; NULL for a missing or extra object.
 */
MIGRATE_EXPORT(const char *) migrate_finding_actual(const migrate_finding_t *finding);

/**
 * Dry run: the exact statements or commands up to `target_version` would
 * send for each pending version, backfills as their per-batch statement.
 * Reads the history; takes no lock and writes nothing.
 *
 * @param target the target.
 * @param plan the plan; only read.
 * @param target_version the last version to render; 0 for all.
 * @param[out] out receives the text, owned by the caller: free it with
 *        migrate_free(). NULL on failure.
 * @param[out] err optional error details.
 * @return 0, or besides the common errors: MIGRATE_ENOTFOUND
 *         (`target_version` is not in the plan).
 */
MIGRATE_EXPORT(int) migrate_render(migrate_target_t *target, const migrate_plan_t *plan, uint64_t target_version,
				   char **out, migrate_error_t *err);

/** States of a version in a status report (migrate_status_entry_t::state). */
typedef enum migrate_state {
	MIGRATE_STATE_PENDING = 0,  /**< not started */
	MIGRATE_STATE_APPLYING = 1, /**< started, not finished: resumable */
	MIGRATE_STATE_APPLIED = 2,  /**< done */
	MIGRATE_STATE_FAILED = 3,   /**< stopped by an error: resumable */
	MIGRATE_STATE_REVERTING = 4 /**< a down was interrupted: resumable */
} migrate_state_t;

/** A status report, made by migrate_status_get(). Opaque. */
typedef struct migrate_status migrate_status_t;

/**
 * One line of a status report; fields are only ever appended. The strings
 * are borrowed from the report, and `name` from the plan for a version in
 * it: they live until migrate_status_destroy() or migrate_plan_destroy().
 */
typedef struct migrate_status_entry {
	uint64_t id;            /**< the version's id */
	const char *name;       /**< its name: the plan's, or the recorded one when not in the plan */
	int state;              /**< a #migrate_state_t */
	int in_plan;            /**< 0: recorded in the database but absent from the plan */
	int checksum_matches;   /**< 1 when the stored checksum equals the plan's (or pending) */
	uint32_t steps_done;    /**< steps applied so far */
	uint32_t steps_total;   /**< 0 when not in the plan */
	int64_t started_at_ms;  /**< Unix time in ms of the first start, 0 if never */
	int64_t finished_at_ms; /**< Unix time in ms it was last applied, 0 if never */
	int64_t duration_ms;    /**< how long the run that finished it took, from its start or resume */
	const char *applied_by; /**< "host:pid", or NULL */
	const char *error;      /**< last error, or NULL */
	const char *checksum;   /**< stored checksum, or NULL */
} migrate_status_entry_t;

/**
 * Reports every version of the plan and of the history, ascending by id.
 * Reads the history once; takes no lock and writes nothing.
 *
 * @param target the target.
 * @param plan the plan; only read. It must outlive the report.
 * @param[out] out receives the report, owned by the caller: free it with
 *        migrate_status_destroy(). NULL on failure.
 * @param[out] err optional error details.
 * @return 0, MIGRATE_EINVAL (a NULL argument), MIGRATE_EDB,
 *         MIGRATE_ECONNECT or MIGRATE_ENOMEM.
 */
MIGRATE_EXPORT(int) migrate_status_get(migrate_target_t *target, const migrate_plan_t *plan, migrate_status_t **out,
				       migrate_error_t *err);

/**
 * The number of entries of a status report.
 *
 * @param status the report.
 * @return the count; 0 when `status` is NULL.
 */
MIGRATE_EXPORT(size_t) migrate_status_count(const migrate_status_t *status);

/**
 * The i-th entry of a status report.
 *
 * @param status the report.
 * @param i 0 to migrate_status_count() - 1.
 * @return the entry, borrowed from the report; NULL when out of range.
 */
MIGRATE_EXPORT(const migrate_status_entry_t *) migrate_status_entry(const migrate_status_t *status, size_t i);

/**
 * Frees a status report and its entries.
 *
 * @param status the report; NULL is a no-op.
 */
MIGRATE_EXPORT(void) migrate_status_destroy(migrate_status_t *status);

/**
 * The name of a version state.
 *
 * @param state a #migrate_state_t.
 * @return "pending", "applying", "applied", "failed", "reverting", or
 *         "unknown" for any other value; a static string.
 */
MIGRATE_EXPORT(const char *) migrate_state_name(int state);

/**
 * Runs the assert steps of every applied version again, in id order, as a
 * health check of the data. Takes no lock and writes nothing: on a driver
 * with transactions each assert runs in one that is rolled back. Every
 * assert runs even when one fails: each emits STEP_START, then STEP_END
 * when it holds or a WARNING carrying its message when it does not.
 *
 * @param target the target.
 * @param plan the plan; only read.
 * @param opts the options, or NULL; only `on_event` and `event_payload` are
 *        used.
 * @param[out] err optional error details.
 * @return 0, or besides the common errors: MIGRATE_EASSERT (the message
 *         counts the failures and quotes the first), MIGRATE_ECANCELED.
 */
MIGRATE_EXPORT(int) migrate_verify(migrate_target_t *target, const migrate_plan_t *plan,
				   const migrate_run_options_t *opts, migrate_error_t *err);

/* ---- Lint: what a plan's steps will do to a live database ------------- */

/** Severities of a lint finding (migrate_lint_finding_severity()). */
typedef enum migrate_lint_severity {
	MIGRATE_LINT_WARNING = 1, /**< worth a look: the size is unknown, or the risk is in the deployment */
	MIGRATE_LINT_ERROR = 2    /**< the step will lock, rewrite or fail on the data as it is */
} migrate_lint_severity_t;

/** The struct version of migrate_lint_options_t that these headers define. */
#define MIGRATE_LINT_OPTIONS_VERSION 1

/** Options of migrate_lint(). Initialise with migrate_lint_options_init(); fields are only ever appended. */
typedef struct migrate_lint_options {
	unsigned version;   /**< #MIGRATE_LINT_OPTIONS_VERSION */
	const char *driver; /**< without a target: "sqlite", "postgres" or "mongo" (borrowed for the call) */
	int64_t large_rows; /**< a table of at least this many rows is large (default 100000) */
} migrate_lint_options_t;

/** An initialiser of migrate_lint_options_t with the defaults. */
/* clang-format off */
#define MIGRATE_LINT_OPTIONS_INIT {MIGRATE_LINT_OPTIONS_VERSION, NULL, 100000}
/* clang-format on */

/**
 * Fills lint options with the defaults of a struct version.
 *
 * @param[out] opts the options to fill.
 * @param version #MIGRATE_LINT_OPTIONS_VERSION.
 * @return 0, MIGRATE_EINVAL (`opts` is NULL) or MIGRATE_EVERSION (an
 *         unknown version).
 */
MIGRATE_EXPORT(int) migrate_lint_options_init(migrate_lint_options_t *opts, unsigned version);

/** A lint report, made by migrate_lint(). Opaque. */
typedef struct migrate_lint_report migrate_lint_report_t;

/** One finding of a lint report. Opaque, borrowed from its report. */
typedef struct migrate_lint_finding migrate_lint_finding_t;

/**
 * Lints a plan for a driver without running it: which steps will lock or
 * rewrite a table, fail on existing rows, break the application version
 * still running, or give up the version's atomicity. The rules are listed
 * in docs/lint.md, and by migrate_lint_rule_count() and
 * migrate_lint_rule_at().
 *
 * Every version is replayed in id order over the schema model that drift
 * detection uses, so a rule knows which tables earlier versions made and
 * which this version makes (a table made in the same version is empty).
 * Without a target, the size of a table made outside the version is
 * unknown: a rule that depends on it fires as a warning that says so.
 * With a target, only the pending versions are linted, and each table's
 * row count (an estimate where the database keeps one) decides: rules
 * about non-empty tables fire at their severity on a table with rows,
 * rules about large tables on one of at least `large_rows` rows, and
 * neither fires otherwise. A step silences a rule with its
 * `"lint": {"ignore": [rule ids], "reason": "..."}` field.
 *
 * Reads the history and the row counts (one query or command per table
 * the plan touches); takes no lock and writes nothing.
 *
 * @param plan the plan; only read. It need not outlive the report.
 * @param target the target, or NULL to lint for `opts->driver`.
 * @param opts the options, or NULL for the defaults (a NULL target then
 *        needs options naming the driver).
 * @param[out] out receives the report, owned by the caller: free it with
 *        migrate_lint_report_destroy(). NULL on failure.
 * @param[out] err optional error details.
 * @return 0 (with or without findings), MIGRATE_EINVAL (a NULL argument,
 *         no driver named), MIGRATE_ENOTFOUND (no such driver in this
 *         build), MIGRATE_EVERSION (unknown options version), MIGRATE_EDB,
 *         MIGRATE_ECONNECT or MIGRATE_ENOMEM.
 */
MIGRATE_EXPORT(int) migrate_lint(const migrate_plan_t *plan, migrate_target_t *target,
				 const migrate_lint_options_t *opts, migrate_lint_report_t **out, migrate_error_t *err);

/**
 * The number of findings; 0 means nothing to report.
 *
 * @param report the report.
 * @return the count; 0 when `report` is NULL.
 */
MIGRATE_EXPORT(size_t) migrate_lint_report_count(const migrate_lint_report_t *report);

/**
 * The most severe finding's severity.
 *
 * @param report the report.
 * @return a #migrate_lint_severity_t, or 0 with no findings (or a NULL `report`).
 */
MIGRATE_EXPORT(int) migrate_lint_report_max_severity(const migrate_lint_report_t *report);

/**
 * The number of findings a step's `"lint": {"ignore": ...}` silenced.
 *
 * @param report the report.
 * @return the count; 0 when `report` is NULL.
 */
MIGRATE_EXPORT(size_t) migrate_lint_report_silenced(const migrate_lint_report_t *report);

/**
 * Iterates over the findings, in version order, then step order.
 *
 * @param report the report.
 * @param i 0 to migrate_lint_report_count() - 1.
 * @return the finding, borrowed from the report (valid until
 *         migrate_lint_report_destroy()); NULL when out of range.
 */
MIGRATE_EXPORT(const migrate_lint_finding_t *) migrate_lint_report_finding(const migrate_lint_report_t *report,
									   size_t i);

/**
 * Frees a lint report and its findings.
 *
 * @param report the report; NULL is a no-op.
 */
MIGRATE_EXPORT(void) migrate_lint_report_destroy(migrate_lint_report_t *report);

/**
 * The rule that fired: "pg-index-not-concurrent" ...
 *
 * @param finding the finding.
 * @return the rule id, static; NULL when `finding` is NULL.
 */
MIGRATE_EXPORT(const char *) migrate_lint_finding_rule(const migrate_lint_finding_t *finding);

/**
 * The finding's severity: the rule's, or #MIGRATE_LINT_WARNING when the
 * table's size is unknown.
 *
 * @param finding the finding.
 * @return a #migrate_lint_severity_t; 0 when `finding` is NULL.
 */
MIGRATE_EXPORT(int) migrate_lint_finding_severity(const migrate_lint_finding_t *finding);

/**
 * The name of a severity.
 *
 * @param severity a #migrate_lint_severity_t.
 * @return "warning", "error", or "unknown"; a static string.
 */
MIGRATE_EXPORT(const char *) migrate_lint_severity_name(int severity);

/**
 * The version the step belongs to.
 *
 * @param finding the finding.
 * @return the version id; 0 when `finding` is NULL.
 */
MIGRATE_EXPORT(uint64_t) migrate_lint_finding_version(const migrate_lint_finding_t *finding);

/**
 * The step's index in its version.
 *
 * @param finding the finding.
 * @return the 0-based index; 0 when `finding` is NULL.
 */
MIGRATE_EXPORT(size_t) migrate_lint_finding_step(const migrate_lint_finding_t *finding);

/**
 * Why the step is a risk, naming the objects and, where known, the size.
 *
 * @param finding the finding.
 * @return borrowed from the report; NULL when `finding` is NULL.
 */
MIGRATE_EXPORT(const char *) migrate_lint_finding_message(const migrate_lint_finding_t *finding);

/**
 * The safer form of the step.
 *
 * @param finding the finding.
 * @return static; NULL when `finding` is NULL.
 */
MIGRATE_EXPORT(const char *) migrate_lint_finding_safer(const migrate_lint_finding_t *finding);

/**
 * The number of lint rules.
 *
 * @return the count.
 */
MIGRATE_EXPORT(size_t) migrate_lint_rule_count(void);

/**
 * A lint rule.
 *
 * @param i 0 to migrate_lint_rule_count() - 1.
 * @param[out] id receives the rule id (static), or NULL when out of range; may be NULL.
 * @param[out] severity receives its #migrate_lint_severity_t; may be NULL.
 * @param[out] summary receives what it finds (static); may be NULL.
 * @return 0, or MIGRATE_EINVAL when `i` is out of range.
 */
MIGRATE_EXPORT(int) migrate_lint_rule_at(size_t i, const char **id, int *severity, const char **summary);

/**
 * Silences a lint rule for one step, as the plan file's
 * `"lint": {"ignore": [...], "reason": "..."}` does. The reason is kept
 * with the step; the version's checksum does not change.
 *
 * @param step the step.
 * @param rule a rule id (migrate_lint_rule_at()).
 * @param reason why the rule does not apply here; required, not empty.
 * @param[out] err optional error details.
 * @return 0, MIGRATE_EINVAL (a NULL or empty argument) or MIGRATE_EPLAN
 *         (no such rule).
 */
MIGRATE_EXPORT(int) migrate_step_lint_ignore(migrate_step_t *step, const char *rule, const char *reason,
					     migrate_error_t *err);

#ifdef __cplusplus
}
#endif

#endif
