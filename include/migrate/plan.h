/*
 * libmigrate: plans, versions and steps.
 *
 * A plan is a named, ordered set of versions; a version is a numeric id, a
 * name and an ordered list of steps; a step is one typed operation stored as
 * a document, exactly the JSON shown in docs/steps.md. The typed builders
 * below and migrate_version_add_step_json() produce the same documents, so
 * a plan built either way has the same checksums.
 *
 * Builders check their arguments and the shape of the step they add; the
 * whole plan is validated again (ids, identifiers, driver support, down
 * paths) by every run operation before anything is written.
 *
 * Thread safety: a plan is built by one thread. Once a run has validated it,
 * it is read-only and may be shared by runs on several threads.
 */
#ifndef MIGRATE_PLAN_H
#define MIGRATE_PLAN_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct migrate_plan migrate_plan_t;
typedef struct migrate_version migrate_version_t;
typedef struct migrate_step migrate_step_t;
typedef struct migrate_target migrate_target_t;

/*
 * Creates an empty plan. `name` (1 to 63 bytes) namespaces the history, so
 * several components can migrate one database independently.
 * On success *out is owned by the caller: free it with migrate_plan_destroy().
 */
MIGRATE_EXPORT(int) migrate_plan_new(migrate_plan_t **out, const char *name, migrate_error_t *err);

/* Frees a plan with its versions and steps. NULL is a no-op. */
MIGRATE_EXPORT(void) migrate_plan_destroy(migrate_plan_t *plan);

/* The plan's name, borrowed. */
MIGRATE_EXPORT(const char *) migrate_plan_name(const migrate_plan_t *plan);

/* The number of versions, and the i-th in insertion order (borrowed, NULL if out of range). */
MIGRATE_EXPORT(size_t) migrate_plan_version_count(const migrate_plan_t *plan);
MIGRATE_EXPORT(const migrate_version_t *) migrate_plan_version_at(const migrate_plan_t *plan, size_t i);

/*
 * Appends a version. `id` must be greater than 0; duplicates are reported
 * here and again by validation. `name` is free text (may be NULL). Versions
 * run in ascending id order whatever the insertion order.
 * *out (optional) receives the version, borrowed from the plan.
 */
MIGRATE_EXPORT(int) migrate_plan_add_version(migrate_plan_t *plan, uint64_t id, const char *name,
					     migrate_version_t **out, migrate_error_t *err);

MIGRATE_EXPORT(uint64_t) migrate_version_id(const migrate_version_t *v);
MIGRATE_EXPORT(const char *) migrate_version_name(const migrate_version_t *v);
MIGRATE_EXPORT(size_t) migrate_version_step_count(const migrate_version_t *v);

/*
 * A transactional version (the default) groups its consecutive
 * transactional steps in one transaction with the journal update. A
 * version marked non-transactional runs every step on its own.
 */
MIGRATE_EXPORT(int) migrate_version_set_transactional(migrate_version_t *v, int transactional);

/*
 * The SHA-256 checksum of the version, as 64 lowercase hex digits written
 * into `out` (at least 65 bytes). It covers the canonical form of the step
 * documents (sorted keys, no whitespace) and the transactional flag, so
 * cosmetic edits do not change it. Custom steps contribute their revision.
 */
MIGRATE_EXPORT(int) migrate_version_checksum(const migrate_version_t *v, char *out, size_t out_size,
					     migrate_error_t *err);

/*
 * Appends a step given as one JSON object, for example
 * {"op": "rename_table", "from": "sessions", "to": "jobs"}.
 * *out (optional) receives the step, borrowed from the version.
 * Errors: MIGRATE_EJSON for malformed JSON, MIGRATE_EPLAN for a document
 * that is not a valid step (the message names the field).
 */
MIGRATE_EXPORT(int) migrate_version_add_step_json(migrate_version_t *v, const char *json, migrate_step_t **out,
						  migrate_error_t *err);

/* The step's op name ("create_table" ...), borrowed. */
MIGRATE_EXPORT(const char *) migrate_step_op_name(const migrate_step_t *step);

/*
 * The step document as canonical JSON (sorted keys, no whitespace).
 * Caller-owned: free with migrate_free().
 */
MIGRATE_EXPORT(char *) migrate_step_to_json(const migrate_step_t *step);

/* ---- Typed builders: one per op of the step catalog. ---------------- */

/*
 * A column for create_table and add_column. Initialise with
 * migrate_column_init() (or MIGRATE_COLUMN_INIT) and set what you need;
 * fields are only ever appended, guarded by `version`.
 */
#define MIGRATE_COLUMN_VERSION 1
typedef struct migrate_column {
	unsigned version;          /* MIGRATE_COLUMN_VERSION */
	const char *name;          /* required */
	const char *type;          /* text, integer, bigint, double, boolean, uuid, json,
				      timestamp, bytes or "enum:<name>"; NULL with sql_type */
	const char *sql_type;      /* a raw driver-specific type instead of `type` */
	const char *default_json;  /* NULL, "\"now\"", "\"uuid\"", {"value": v} or {"sql": "..."} */
	int nullable;              /* non-zero (the default) allows NULL */
	int unique;                /* non-zero adds a UNIQUE constraint */
	const char *references_table;  /* foreign key target table, or NULL */
	const char *references_column; /* its column (required with references_table) */
	const char *on_delete;     /* "cascade", "set null", "restrict", "no action" or NULL */
} migrate_column_t;

#define MIGRATE_COLUMN_INIT {MIGRATE_COLUMN_VERSION, NULL, NULL, NULL, NULL, 1, 0, NULL, NULL, NULL}

/* Fills `col` with defaults for struct version `version`; MIGRATE_EVERSION if unknown. */
MIGRATE_EXPORT(int) migrate_column_init(migrate_column_t *col, unsigned version);

/* One key of an index: a column and its order. */
typedef struct migrate_index_key {
	const char *column;
	int descending;
} migrate_index_key_t;

/* Flags for migrate_create_index(). */
#define MIGRATE_INDEX_UNIQUE 1u
#define MIGRATE_INDEX_ONLINE 2u  /* build without blocking writes where the driver can */

/* create_table: `table` with no columns yet; add them with migrate_create_table_add_column(). */
MIGRATE_EXPORT(int) migrate_create_table(migrate_version_t *v, const char *table, migrate_step_t **out,
					 migrate_error_t *err);
/* Adds a column to a create_table step. */
MIGRATE_EXPORT(int) migrate_create_table_add_column(migrate_step_t *step, const migrate_column_t *col, migrate_error_t *err);
/* Sets the primary key of a create_table step. */
MIGRATE_EXPORT(int) migrate_create_table_set_primary_key(migrate_step_t *step, const char *const *columns, size_t n,
						 migrate_error_t *err);

MIGRATE_EXPORT(int) migrate_drop_table(migrate_version_t *v, const char *table, migrate_step_t **out,
				       migrate_error_t *err);
MIGRATE_EXPORT(int) migrate_rename_table(migrate_version_t *v, const char *from, const char *to, migrate_step_t **out,
					 migrate_error_t *err);
MIGRATE_EXPORT(int) migrate_add_column(migrate_version_t *v, const char *table, const migrate_column_t *col,
				       migrate_step_t **out, migrate_error_t *err);
MIGRATE_EXPORT(int) migrate_drop_column(migrate_version_t *v, const char *table, const char *column,
					migrate_step_t **out, migrate_error_t *err);
MIGRATE_EXPORT(int) migrate_rename_column(migrate_version_t *v, const char *table, const char *from, const char *to,
					  migrate_step_t **out, migrate_error_t *err);
/* create_index: `flags` is a mask of MIGRATE_INDEX_*. */
MIGRATE_EXPORT(int) migrate_create_index(migrate_version_t *v, const char *table, const char *name,
					 const migrate_index_key_t *keys, size_t nkeys, unsigned flags,
					 migrate_step_t **out, migrate_error_t *err);
MIGRATE_EXPORT(int) migrate_drop_index(migrate_version_t *v, const char *table, const char *name,
				       migrate_step_t **out, migrate_error_t *err);
MIGRATE_EXPORT(int) migrate_create_enum(migrate_version_t *v, const char *name, const char *const *values,
					size_t nvalues, migrate_step_t **out, migrate_error_t *err);
MIGRATE_EXPORT(int) migrate_drop_enum(migrate_version_t *v, const char *name, migrate_step_t **out,
				      migrate_error_t *err);
/*
 * map_values: `map_json` is a JSON object {"old": "new", ...}; values are
 * strings, numbers, booleans or null (keys are compared as strings).
 */
MIGRATE_EXPORT(int) migrate_map_values(migrate_version_t *v, const char *table, const char *column,
				       const char *map_json, migrate_step_t **out, migrate_error_t *err);
/* backfill: set expressions with migrate_backfill_set_expr(). */
MIGRATE_EXPORT(int) migrate_backfill(migrate_version_t *v, const char *table, migrate_step_t **out,
				     migrate_error_t *err);
/*
 * Sets column `column` of a backfill to an expression given as JSON:
 * {"value": v}, {"column": c}, {"array_length": c},
 * {"count": {"table": t, "match": {"their_col": "our_col"}, "where": {...}}},
 * {"sql": "..."} (SQL drivers) or {"mongo": <aggregation expression>}.
 */
MIGRATE_EXPORT(int) migrate_backfill_set_expr(migrate_step_t *step, const char *column, const char *expr_json,
					  migrate_error_t *err);
/* Rows per batch for backfill and map_values; 0 lets the driver size batches. */
MIGRATE_EXPORT(int) migrate_step_set_batch_size(migrate_step_t *step, uint32_t batch_size, migrate_error_t *err);
/*
 * Sets the filter of map_values, backfill, create_index (partial index) or a
 * count/no_match assert: a MongoDB-style subset ($eq $ne $in $nin $exists
 * $lt $lte $gt $gte $and $or) given as JSON.
 */
MIGRATE_EXPORT(int) migrate_step_set_where(migrate_step_t *step, const char *where_json, migrate_error_t *err);

/* sql: raw SQL, run as given (never parameterised). `down` may be NULL (irreversible). */
MIGRATE_EXPORT(int) migrate_sql(migrate_version_t *v, const char *up, const char *down, migrate_step_t **out,
				migrate_error_t *err);
/* command: a database command document (JSON object or array of them); `down_json` may be NULL. */
MIGRATE_EXPORT(int) migrate_command(migrate_version_t *v, const char *up_json, const char *down_json,
				    migrate_step_t **out, migrate_error_t *err);

/* Assertions. `where_json` may be NULL (all rows). */
MIGRATE_EXPORT(int) migrate_assert_count(migrate_version_t *v, const char *table, const char *where_json,
					 int64_t expected, migrate_step_t **out, migrate_error_t *err);
MIGRATE_EXPORT(int) migrate_assert_unique(migrate_version_t *v, const char *table, const char *const *columns,
					  size_t n, migrate_step_t **out, migrate_error_t *err);
MIGRATE_EXPORT(int) migrate_assert_no_match(migrate_version_t *v, const char *table, const char *where_json,
					    migrate_step_t **out, migrate_error_t *err);
/* exists: the table, or with `column` a column of it, or with `index` an index on it (one of the two or neither). */
MIGRATE_EXPORT(int) migrate_assert_exists(migrate_version_t *v, const char *table, const char *column,
					  const char *index, migrate_step_t **out, migrate_error_t *err);
/* sql: the first column of the first row must equal `expected_json` (a JSON scalar). */
MIGRATE_EXPORT(int) migrate_assert_sql(migrate_version_t *v, const char *sql, const char *expected_json,
				       migrate_step_t **out, migrate_error_t *err);
/* command: the reply must contain every field of `expected_json`. */
MIGRATE_EXPORT(int) migrate_assert_command(migrate_version_t *v, const char *command_json, const char *expected_json,
					   migrate_step_t **out, migrate_error_t *err);

/*
 * A custom step's callback. `native` is the driver's native handle
 * (sqlite3 *, PGconn *, mongoc_database_t * ...), valid during the call.
 * On a driver with transactions the callback runs inside the version's
 * transaction. Return 0 on success; on failure return non-zero and
 * optionally fill `err` (its message is recorded in the history).
 */
typedef int (*migrate_custom_fn)(migrate_target_t *target, void *native, migrate_error_t *err, void *payload);

/*
 * custom: `revision` is part of the checksum; change it whenever the
 * callback's behaviour changes. `down` may be NULL (irreversible).
 * `payload` must outlive every run of the plan.
 */
MIGRATE_EXPORT(int) migrate_custom(migrate_version_t *v, const char *name, const char *revision,
				   migrate_custom_fn up, migrate_custom_fn down, void *payload,
				   migrate_step_t **out, migrate_error_t *err);

/*
 * Gives a step an explicit down: a JSON array of step documents run instead
 * of its computed inverse ("[]" declares that undoing it needs nothing).
 */
MIGRATE_EXPORT(int) migrate_step_set_down_json(migrate_step_t *step, const char *down_json, migrate_error_t *err);

/*
 * Gives a version an explicit down: a JSON array of step documents run,
 * in order, instead of the inverses of its steps when the whole version is
 * reverted. A version left partly applied is still reverted step by step.
 */
MIGRATE_EXPORT(int) migrate_version_set_down_json(migrate_version_t *v, const char *down_json, migrate_error_t *err);

/* ---- Plan files (docs/plan-file.md, schema docs/plan.schema.json). ---- */

/*
 * Loads a plan from the text of a JSON plan file. Errors name the place
 * ("versions[3].steps[2].columns[0].type: unknown type \"uuuid\"", or a
 * line and column for malformed JSON). *out is owned by the caller.
 */
MIGRATE_EXPORT(int) migrate_plan_load_json(migrate_plan_t **out, const char *json, migrate_error_t *err);

/*
 * Loads a plan from `path`: a plan file, or a plan directory holding one
 * JSON file per version (the version object of a plan file; its id from its
 * "id" field or else the numeric prefix of its name, "0007_add_jobs.json")
 * and an optional plan.json with "plan" and "description" (without one the
 * plan is named after the directory). In a directory, files not ending in
 * .json, dot files and subdirectories are skipped. Both forms build the same
 * versions with the same checksums.
 *
 * On success *out is owned by the caller: free it with migrate_plan_destroy().
 * On failure *out is NULL and nothing is kept. Errors: MIGRATE_EIO when a
 * file or the directory cannot be read; MIGRATE_EJSON for malformed JSON or
 * an empty file; MIGRATE_EPLAN for an invalid plan, including a version file
 * whose "id" disagrees with its name's prefix, or without either, and an id
 * defined by two files. Messages start with the file's path, then the JSON
 * path inside it ("plans/0007_add_jobs.json: steps[2].columns[0].type: ...").
 */
MIGRATE_EXPORT(int) migrate_plan_load_file(migrate_plan_t **out, const char *path, migrate_error_t *err);

#ifdef __cplusplus
}
#endif

#endif
