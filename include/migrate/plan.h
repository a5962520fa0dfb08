/**
 * @file
 * @brief libmigrate: plans, versions and steps.
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
 * Names: `migrate_<op>()` appends a step of that op to a version;
 * `migrate_<op>_<verb>()` edits a step of that op only
 * (migrate_create_table_add_column()); `migrate_step_<verb>()` edits a step
 * of any op that takes the field (migrate_step_set_where()).
 *
 * Ownership: the plan owns its versions and steps. The `migrate_version_t *`
 * and `migrate_step_t *` the functions give are borrowed from the plan and
 * live until migrate_plan_destroy().
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

/** A plan: a name and its versions. Opaque; made by migrate_plan_new() or a loader. */
typedef struct migrate_plan migrate_plan_t;
/** A version of a plan: an id, a name and its steps. Opaque; owned by its plan. */
typedef struct migrate_version migrate_version_t;
/** A step of a version: one operation as a document. Opaque; owned by its version. */
typedef struct migrate_step migrate_step_t;
/** A database to migrate, opened by migrate_target_open() or a driver's wrapper (run.h). Opaque. */
typedef struct migrate_target migrate_target_t;

/**
 * Creates an empty plan.
 *
 * @param[out] out receives the plan, owned by the caller: free it with
 *        migrate_plan_destroy(). NULL on failure.
 * @param name the plan's name, 1 to 63 bytes without control characters;
 *        it namespaces the history, so several components can migrate one
 *        database independently. Copied.
 * @param[out] err optional error details.
 * @return 0, MIGRATE_EINVAL (`out` is NULL), MIGRATE_EPLAN (a bad name) or
 *         MIGRATE_ENOMEM.
 */
MIGRATE_EXPORT(int) migrate_plan_new(migrate_plan_t **out, const char *name, migrate_error_t *err);

/**
 * Frees a plan with its versions and steps. Every version and step pointer
 * taken from it becomes invalid.
 *
 * @param plan the plan; NULL is a no-op.
 */
MIGRATE_EXPORT(void) migrate_plan_destroy(migrate_plan_t *plan);

/**
 * The plan's name.
 *
 * @param plan the plan.
 * @return the name, borrowed from the plan; NULL when `plan` is NULL.
 */
MIGRATE_EXPORT(const char *) migrate_plan_name(const migrate_plan_t *plan);

/**
 * The number of versions.
 *
 * @param plan the plan.
 * @return the count; 0 when `plan` is NULL.
 */
MIGRATE_EXPORT(size_t) migrate_plan_version_count(const migrate_plan_t *plan);

/**
 * The i-th version, in insertion order (not id order).
 *
 * The version is read-only through this pointer; a version to add steps to
 * is the one migrate_plan_add_version() gives.
 *
 * @param plan the plan.
 * @param i 0 to migrate_plan_version_count() - 1.
 * @return the version, borrowed from the plan; NULL when `plan` is NULL or
 *         `i` is out of range.
 */
MIGRATE_EXPORT(const migrate_version_t *) migrate_plan_version_at(const migrate_plan_t *plan, size_t i);

/**
 * Appends a version. Versions run in ascending id order whatever the
 * insertion order.
 *
 * @param plan the plan.
 * @param id the version's id, greater than 0 and not already in the plan.
 * @param name free text on one line, without control characters (may be
 *        NULL, read back as ""). Copied.
 * @param[out] out optional: receives the version, borrowed from the plan.
 *        NULL on failure.
 * @param[out] err optional error details.
 * @return 0, MIGRATE_EINVAL (`plan` is NULL), MIGRATE_EPLAN (`id` is 0 or
 *         a duplicate, or `name` holds a control character) or MIGRATE_ENOMEM.
 */
MIGRATE_EXPORT(int) migrate_plan_add_version(migrate_plan_t *plan, uint64_t id, const char *name,
					     migrate_version_t **out, migrate_error_t *err);

/**
 * The version's id.
 *
 * @param v the version.
 * @return the id; 0 when `v` is NULL.
 */
MIGRATE_EXPORT(uint64_t) migrate_version_id(const migrate_version_t *v);

/**
 * The version's name.
 *
 * @param v the version.
 * @return the name, borrowed from the plan; "" when it has none or `v` is
 *         NULL.
 */
MIGRATE_EXPORT(const char *) migrate_version_name(const migrate_version_t *v);

/**
 * The number of steps of the version.
 *
 * @param v the version.
 * @return the count; 0 when `v` is NULL.
 */
MIGRATE_EXPORT(size_t) migrate_version_step_count(const migrate_version_t *v);

/**
 * Sets whether the version is transactional. A transactional version (the
 * default) groups its consecutive transactional steps in one transaction
 * with the journal update. A version marked non-transactional runs every
 * step on its own. The flag is part of the checksum.
 *
 * @param v the version.
 * @param transactional non-zero for transactional.
 * @return 0, or MIGRATE_EINVAL when `v` is NULL.
 */
MIGRATE_EXPORT(int) migrate_version_set_transactional(migrate_version_t *v, int transactional);

/**
 * The SHA-256 checksum of the version. It covers the canonical form of the
 * step documents (sorted keys, no whitespace) and the transactional flag,
 * so cosmetic edits do not change it. Custom steps contribute their
 * revision.
 *
 * @param v the version.
 * @param[out] out receives 64 lowercase hex digits and a NUL.
 * @param out_size the size of `out`, at least 65.
 * @param[out] err optional error details.
 * @return 0, or MIGRATE_EINVAL (`v` or `out` is NULL, or `out_size` is
 *         below 65).
 */
MIGRATE_EXPORT(int) migrate_version_checksum(const migrate_version_t *v, char *out, size_t out_size,
					     migrate_error_t *err);

/**
 * Appends a step given as one JSON object, for example
 * `{"op": "rename_table", "from": "sessions", "to": "jobs"}`
 * (docs/steps.md lists every op).
 *
 * @param v the version.
 * @param json the step document. Copied.
 * @param[out] out optional: receives the step, borrowed from the version.
 *        NULL on failure.
 * @param[out] err optional error details.
 * @return 0, MIGRATE_EINVAL (`v` or `json` is NULL), MIGRATE_EJSON
 *         (malformed JSON), MIGRATE_EPLAN (not a valid step: the message
 *         names the field) or MIGRATE_ENOMEM.
 */
MIGRATE_EXPORT(int) migrate_version_add_step_json(migrate_version_t *v, const char *json, migrate_step_t **out,
						  migrate_error_t *err);

/**
 * The step's op.
 *
 * @param step the step.
 * @return the op name ("create_table" ...), borrowed from the step; NULL
 *         when `step` is NULL.
 */
MIGRATE_EXPORT(const char *) migrate_step_op_name(const migrate_step_t *step);

/**
 * The step document as canonical JSON (sorted keys, no whitespace).
 *
 * @param step the step.
 * @return the text, owned by the caller: free it with migrate_free(). NULL
 *         when `step` is NULL or memory runs out.
 */
MIGRATE_EXPORT(char *) migrate_step_to_json(const migrate_step_t *step);

/* ---- Typed builders: one per op of the step catalog. ---------------- */

/** The struct version of migrate_column_t that these headers define. */
#define MIGRATE_COLUMN_VERSION 1

/**
 * A column for create_table and add_column. Initialise with
 * migrate_column_init() (or #MIGRATE_COLUMN_INIT) and set what you need;
 * fields are only ever appended, guarded by `version`. The builders copy
 * every string: they need not outlive the call.
 */
typedef struct migrate_column {
	unsigned version;              /**< #MIGRATE_COLUMN_VERSION */
	const char *name;              /**< required */
	const char *type;              /**< text, integer, bigint, double, boolean, uuid, json, timestamp, bytes or
					    `"enum:<name>"`; NULL with `sql_type` */
	const char *sql_type;          /**< a raw driver-specific type instead of `type`, or NULL */
	const char *default_json;      /**< NULL, `"\"now\""`, `"\"uuid\""`, `{"value": v}` or `{"sql": "..."}` */
	int nullable;                  /**< non-zero (the default) allows NULL */
	int unique;                    /**< non-zero adds a UNIQUE constraint */
	const char *references_table;  /**< foreign key target table, or NULL */
	const char *references_column; /**< its column (required with `references_table`) */
	const char *on_delete;         /**< "cascade", "set null", "restrict", "no action" or NULL */
} migrate_column_t;

/** An initialiser of migrate_column_t with the defaults: nullable, nothing else set. */
/* clang-format off */
#define MIGRATE_COLUMN_INIT {MIGRATE_COLUMN_VERSION, NULL, NULL, NULL, NULL, 1, 0, NULL, NULL, NULL}
/* clang-format on */

/**
 * Fills a column with the defaults of a struct version.
 *
 * @param[out] col the column to fill.
 * @param version #MIGRATE_COLUMN_VERSION.
 * @return 0, MIGRATE_EINVAL (`col` is NULL) or MIGRATE_EVERSION (an
 *         unknown version).
 */
MIGRATE_EXPORT(int) migrate_column_init(migrate_column_t *col, unsigned version);

/** One key of an index: a column and its order. */
typedef struct migrate_index_key {
	const char *column; /**< the column's name */
	int descending;     /**< non-zero for descending order */
} migrate_index_key_t;

/** Flag of migrate_create_index(): a unique index. */
#define MIGRATE_INDEX_UNIQUE 1u
/** Flag of migrate_create_index(): build without blocking writes where the driver can. */
#define MIGRATE_INDEX_ONLINE 2u

/*
 * The step builders below share these rules:
 *  - `v` is the version the step is appended to; every string and JSON
 *    argument is copied.
 *  - `out` (optional) receives the new step, borrowed from the version, or
 *    NULL on failure; `err` (optional) receives error details.
 *  - They return 0, MIGRATE_EINVAL (`v` is NULL), MIGRATE_EPLAN (the step
 *    is not valid: the message names the version, the step and the field)
 *    or MIGRATE_ENOMEM, and MIGRATE_EJSON for malformed JSON arguments.
 * The step editors (migrate_create_table_add_column() ...) validate the
 * edited step and leave it unchanged when they fail.
 */

/**
 * Appends a create_table step for `table`, with no columns yet: add them
 * with migrate_create_table_add_column(). The step is valid once it has a
 * column.
 *
 * @param v the version.
 * @param table the table's name.
 * @param[out] out optional: receives the step, to pass to the
 *        migrate_create_table_* editors.
 * @param[out] err optional error details.
 * @return 0, MIGRATE_EINVAL, MIGRATE_EPLAN (a bad table name) or
 *         MIGRATE_ENOMEM.
 */
MIGRATE_EXPORT(int) migrate_create_table(migrate_version_t *v, const char *table, migrate_step_t **out,
					 migrate_error_t *err);

/**
 * Adds a column to a create_table step.
 *
 * @param step a create_table step.
 * @param col the column. Copied.
 * @param[out] err optional error details.
 * @return 0, MIGRATE_EINVAL (not a create_table step, or `col` is NULL),
 *         MIGRATE_EVERSION (an unknown `col->version`), MIGRATE_EJSON (a
 *         malformed `default_json`) or MIGRATE_EPLAN (an invalid column).
 */
MIGRATE_EXPORT(int) migrate_create_table_add_column(migrate_step_t *step, const migrate_column_t *col,
						    migrate_error_t *err);

/**
 * Sets the primary key of a create_table step, replacing any earlier one.
 *
 * @param step a create_table step.
 * @param columns the key's column names, in order. Copied.
 * @param n the number of `columns`.
 * @param[out] err optional error details.
 * @return 0, MIGRATE_EINVAL (not a create_table step, or `columns` is NULL
 *         with `n` > 0) or MIGRATE_EPLAN (a name that is not a column of
 *         the step).
 */
MIGRATE_EXPORT(int) migrate_create_table_set_primary_key(migrate_step_t *step, const char *const *columns, size_t n,
							 migrate_error_t *err);

/**
 * Appends a drop_table step.
 *
 * @param v the version.
 * @param table the table to drop.
 * @param[out] out optional: receives the step.
 * @param[out] err optional error details.
 * @return 0, MIGRATE_EINVAL, MIGRATE_EPLAN or MIGRATE_ENOMEM.
 */
MIGRATE_EXPORT(int) migrate_drop_table(migrate_version_t *v, const char *table, migrate_step_t **out,
				       migrate_error_t *err);

/**
 * Appends a drop_table step that keeps the table: it is renamed to `keep`
 * with its rows, indexes and constraints, so that the step's computed down
 * renames it back and nothing is lost. Dropping the kept table is a later
 * step of its own. Dependent objects (views, foreign keys of other tables)
 * follow the table to its kept name, as they follow a rename.
 *
 * @param v the version.
 * @param table the table to drop.
 * @param keep the kept table's name (copied), another than `table`, and
 *        free when the step runs.
 * @param[out] out optional: receives the step.
 * @param[out] err optional error details.
 * @return 0, MIGRATE_EINVAL (`v` or `keep` NULL), MIGRATE_EPLAN or
 *         MIGRATE_ENOMEM.
 */
MIGRATE_EXPORT(int) migrate_drop_table_keep(migrate_version_t *v, const char *table, const char *keep,
					    migrate_step_t **out, migrate_error_t *err);

/**
 * Appends a rename_table step.
 *
 * @param v the version.
 * @param from the table's current name.
 * @param to its new name.
 * @param[out] out optional: receives the step.
 * @param[out] err optional error details.
 * @return 0, MIGRATE_EINVAL, MIGRATE_EPLAN or MIGRATE_ENOMEM.
 */
MIGRATE_EXPORT(int) migrate_rename_table(migrate_version_t *v, const char *from, const char *to, migrate_step_t **out,
					 migrate_error_t *err);

/**
 * Appends an add_column step.
 *
 * @param v the version.
 * @param table the table that gets the column.
 * @param col the column. Copied.
 * @param[out] out optional: receives the step.
 * @param[out] err optional error details.
 * @return 0, MIGRATE_EINVAL (`v` or `col` is NULL), MIGRATE_EVERSION (an
 *         unknown `col->version`), MIGRATE_EJSON (a malformed
 *         `default_json`), MIGRATE_EPLAN or MIGRATE_ENOMEM.
 */
MIGRATE_EXPORT(int) migrate_add_column(migrate_version_t *v, const char *table, const migrate_column_t *col,
				       migrate_step_t **out, migrate_error_t *err);

/**
 * Appends a drop_column step.
 *
 * @param v the version.
 * @param table the table.
 * @param column the column to drop.
 * @param[out] out optional: receives the step.
 * @param[out] err optional error details.
 * @return 0, MIGRATE_EINVAL, MIGRATE_EPLAN or MIGRATE_ENOMEM.
 */
MIGRATE_EXPORT(int) migrate_drop_column(migrate_version_t *v, const char *table, const char *column,
					migrate_step_t **out, migrate_error_t *err);

/**
 * Appends a drop_column step that keeps what it drops: in the step's
 * transaction, every row's value of the column is first copied into table
 * (collection) `keep`, keyed by the row's primary key (`_id` on MongoDB).
 * The step's computed down is a `restore` that adds the column back as
 * `col` describes, sets every value back and drops `keep`. A table
 * without a primary key, or a `keep` that exists, is refused before
 * anything is written; a driver that cannot restore refuses the step.
 *
 * @param v the version.
 * @param table the table.
 * @param col the dropped column's definition (read only, copied): its
 *        name is the column dropped; NOT NULL needs a default, so that the
 *        column can be added back to a table with rows.
 * @param keep the kept table's name (copied), another than `table`.
 * @param[out] out optional: receives the step.
 * @param[out] err optional error details.
 * @return 0, MIGRATE_EINVAL (`v`, `col` or `keep` NULL), MIGRATE_EVERSION
 *         (an unknown `col->version`), MIGRATE_EJSON, MIGRATE_EPLAN or
 *         MIGRATE_ENOMEM.
 */
MIGRATE_EXPORT(int) migrate_drop_column_keep(migrate_version_t *v, const char *table, const migrate_column_t *col,
					     const char *keep, migrate_step_t **out, migrate_error_t *err);

/**
 * Appends a rename_column step.
 *
 * @param v the version.
 * @param table the table.
 * @param from the column's current name.
 * @param to its new name.
 * @param[out] out optional: receives the step.
 * @param[out] err optional error details.
 * @return 0, MIGRATE_EINVAL, MIGRATE_EPLAN or MIGRATE_ENOMEM.
 */
MIGRATE_EXPORT(int) migrate_rename_column(migrate_version_t *v, const char *table, const char *from, const char *to,
					  migrate_step_t **out, migrate_error_t *err);

/**
 * Appends a create_index step. A partial index takes its filter from
 * migrate_step_set_where().
 *
 * @param v the version.
 * @param table the table.
 * @param name the index's name.
 * @param keys the index's keys, in order. Copied.
 * @param nkeys the number of `keys`.
 * @param flags a mask of #MIGRATE_INDEX_UNIQUE and #MIGRATE_INDEX_ONLINE.
 * @param[out] out optional: receives the step.
 * @param[out] err optional error details.
 * @return 0, MIGRATE_EINVAL, MIGRATE_EPLAN (including no keys) or
 *         MIGRATE_ENOMEM.
 */
MIGRATE_EXPORT(int) migrate_create_index(migrate_version_t *v, const char *table, const char *name,
					 const migrate_index_key_t *keys, size_t nkeys, unsigned flags,
					 migrate_step_t **out, migrate_error_t *err);

/**
 * Appends a drop_index step.
 *
 * @param v the version.
 * @param table the table the index is on.
 * @param name the index's name.
 * @param[out] out optional: receives the step.
 * @param[out] err optional error details.
 * @return 0, MIGRATE_EINVAL, MIGRATE_EPLAN or MIGRATE_ENOMEM.
 */
MIGRATE_EXPORT(int) migrate_drop_index(migrate_version_t *v, const char *table, const char *name, migrate_step_t **out,
				       migrate_error_t *err);

/**
 * Appends a create_enum step: a named enum type that columns use as
 * `"enum:<name>"`.
 *
 * @param v the version.
 * @param name the type's name.
 * @param values its values, in order. Copied.
 * @param nvalues the number of `values`.
 * @param[out] out optional: receives the step.
 * @param[out] err optional error details.
 * @return 0, MIGRATE_EINVAL, MIGRATE_EPLAN or MIGRATE_ENOMEM.
 */
MIGRATE_EXPORT(int) migrate_create_enum(migrate_version_t *v, const char *name, const char *const *values,
					size_t nvalues, migrate_step_t **out, migrate_error_t *err);

/**
 * Appends a drop_enum step.
 *
 * @param v the version.
 * @param name the enum type's name.
 * @param[out] out optional: receives the step.
 * @param[out] err optional error details.
 * @return 0, MIGRATE_EINVAL, MIGRATE_EPLAN or MIGRATE_ENOMEM.
 */
MIGRATE_EXPORT(int) migrate_drop_enum(migrate_version_t *v, const char *name, migrate_step_t **out,
				      migrate_error_t *err);

/**
 * Appends a map_values step, which rewrites the values of a column in
 * batches. Its filter and batch size come from migrate_step_set_where() and
 * migrate_step_set_batch_size().
 *
 * @param v the version.
 * @param table the table.
 * @param column the column to rewrite.
 * @param map_json a JSON object `{"old": "new", ...}`; values are strings,
 *        numbers, booleans or null (keys are compared as strings).
 * @param[out] out optional: receives the step.
 * @param[out] err optional error details.
 * @return 0, MIGRATE_EINVAL (`v` or `map_json` is NULL), MIGRATE_EJSON,
 *         MIGRATE_EPLAN or MIGRATE_ENOMEM.
 */
MIGRATE_EXPORT(int) migrate_map_values(migrate_version_t *v, const char *table, const char *column,
				       const char *map_json, migrate_step_t **out, migrate_error_t *err);

/**
 * Appends a backfill step for `table`, with no expressions yet: set them
 * with migrate_backfill_set_expr(). The step is valid once it has one.
 *
 * @param v the version.
 * @param table the table to fill.
 * @param[out] out optional: receives the step, to pass to
 *        migrate_backfill_set_expr().
 * @param[out] err optional error details.
 * @return 0, MIGRATE_EINVAL, MIGRATE_EPLAN (a bad table name) or
 *         MIGRATE_ENOMEM.
 */
MIGRATE_EXPORT(int) migrate_backfill(migrate_version_t *v, const char *table, migrate_step_t **out,
				     migrate_error_t *err);

/**
 * Sets a column of a backfill step to an expression, replacing any earlier
 * expression for that column.
 *
 * @param step a backfill step.
 * @param column the column to set.
 * @param expr_json the expression as JSON: `{"value": v}`, `{"column": c}`,
 *        `{"array_length": c}`,
 *        `{"count": {"table": t, "match": {"their_col": "our_col"}, "where": {...}}}`,
 *        `{"sql": "..."}` (SQL drivers) or `{"mongo": <aggregation expression>}`.
 * @param[out] err optional error details.
 * @return 0, MIGRATE_EINVAL (not a backfill step, or `column` or
 *         `expr_json` is NULL), MIGRATE_EJSON or MIGRATE_EPLAN.
 */
MIGRATE_EXPORT(int) migrate_backfill_set_expr(migrate_step_t *step, const char *column, const char *expr_json,
					      migrate_error_t *err);

/**
 * Sets the rows per batch of a backfill or map_values step.
 *
 * @param step a backfill or map_values step.
 * @param batch_size rows per batch; 0 lets the driver size batches.
 * @param[out] err optional error details.
 * @return 0, MIGRATE_EINVAL (another op) or MIGRATE_EPLAN.
 */
MIGRATE_EXPORT(int) migrate_step_set_batch_size(migrate_step_t *step, uint32_t batch_size, migrate_error_t *err);

/**
 * Makes a map_values or backfill step keep the values it overwrites (for a
 * drop_column, see migrate_drop_column_keep()): before
 * each batch writes, the old values of the columns it writes are copied
 * into table (collection) `keep`, keyed by the row's key (`_id` on
 * MongoDB), in the batch's transaction. The step's computed down is then a
 * `restore` step that sets every one of them back and drops `keep`.
 * Dropping the kept data without reverting is a later step of its own
 * (drop_table). A driver that cannot restore refuses the step. On a
 * drop_table step it makes the drop a rename to `keep` (see
 * migrate_drop_table_keep()).
 *
 * @param step a map_values, backfill or drop_table step (a drop_column
 *        also needs its definition: migrate_drop_column_keep()).
 * @param keep the kept table's name (copied), another than the step's table.
 * @param[out] err optional error details.
 * @return 0, MIGRATE_EINVAL (`step` or `keep` NULL, or another op) or
 *         MIGRATE_EPLAN (not an identifier, or the step's own table).
 */
MIGRATE_EXPORT(int) migrate_step_set_keep(migrate_step_t *step, const char *keep, migrate_error_t *err);

/**
 * Sets the filter of a map_values, backfill, create_index (a partial index)
 * or count / no_match assert step, replacing any earlier one.
 *
 * @param step the step.
 * @param where_json the filter: a MongoDB-style subset (`$eq $ne $in $nin
 *        $exists $lt $lte $gt $gte $and $or`) given as JSON.
 * @param[out] err optional error details.
 * @return 0, MIGRATE_EINVAL (`step` is NULL, an op without a filter, or
 *         `where_json` is NULL), MIGRATE_EJSON or MIGRATE_EPLAN (an
 *         unknown operator).
 */
MIGRATE_EXPORT(int) migrate_step_set_where(migrate_step_t *step, const char *where_json, migrate_error_t *err);

/**
 * Appends a sql step: raw SQL, run as given (never parameterised).
 *
 * @param v the version.
 * @param up the SQL run by up.
 * @param down the SQL that undoes it, or NULL (then the step is
 *        irreversible).
 * @param[out] out optional: receives the step.
 * @param[out] err optional error details.
 * @return 0, MIGRATE_EINVAL, MIGRATE_EPLAN or MIGRATE_ENOMEM.
 */
MIGRATE_EXPORT(int) migrate_sql(migrate_version_t *v, const char *up, const char *down, migrate_step_t **out,
				migrate_error_t *err);

/**
 * Appends a command step: a database command document (MongoDB), run as
 * given.
 *
 * @param v the version.
 * @param up_json the command, a JSON object or an array of them.
 * @param down_json the command that undoes it, or NULL (then the step is
 *        irreversible).
 * @param[out] out optional: receives the step.
 * @param[out] err optional error details.
 * @return 0, MIGRATE_EINVAL (`v` or `up_json` is NULL), MIGRATE_EJSON,
 *         MIGRATE_EPLAN or MIGRATE_ENOMEM.
 */
MIGRATE_EXPORT(int) migrate_command(migrate_version_t *v, const char *up_json, const char *down_json,
				    migrate_step_t **out, migrate_error_t *err);

/**
 * Appends an assert step: the number of rows matching `where_json` must
 * equal `expected`.
 *
 * @param v the version.
 * @param table the table.
 * @param where_json the filter (as for migrate_step_set_where()), or NULL
 *        for all rows.
 * @param expected the expected count.
 * @param[out] out optional: receives the step.
 * @param[out] err optional error details.
 * @return 0, MIGRATE_EINVAL, MIGRATE_EJSON, MIGRATE_EPLAN or
 *         MIGRATE_ENOMEM.
 */
MIGRATE_EXPORT(int) migrate_assert_count(migrate_version_t *v, const char *table, const char *where_json,
					 int64_t expected, migrate_step_t **out, migrate_error_t *err);

/**
 * Appends an assert step: no two rows may share their values of `columns`.
 *
 * @param v the version.
 * @param table the table.
 * @param columns the columns, in order. Copied.
 * @param n the number of `columns`.
 * @param[out] out optional: receives the step.
 * @param[out] err optional error details.
 * @return 0, MIGRATE_EINVAL, MIGRATE_EPLAN or MIGRATE_ENOMEM.
 */
MIGRATE_EXPORT(int) migrate_assert_unique(migrate_version_t *v, const char *table, const char *const *columns, size_t n,
					  migrate_step_t **out, migrate_error_t *err);

/**
 * Appends an assert step: no row may match `where_json`.
 *
 * @param v the version.
 * @param table the table.
 * @param where_json the filter (as for migrate_step_set_where()), or NULL
 *        for all rows (the table must be empty).
 * @param[out] out optional: receives the step.
 * @param[out] err optional error details.
 * @return 0, MIGRATE_EINVAL, MIGRATE_EJSON, MIGRATE_EPLAN or
 *         MIGRATE_ENOMEM.
 */
MIGRATE_EXPORT(int) migrate_assert_no_match(migrate_version_t *v, const char *table, const char *where_json,
					    migrate_step_t **out, migrate_error_t *err);

/**
 * Appends an assert step: the table exists, or with `column` a column of
 * it, or with `index` an index on it (one of the two or neither).
 *
 * @param v the version.
 * @param table the table.
 * @param column a column of the table, or NULL.
 * @param index an index on the table, or NULL.
 * @param[out] out optional: receives the step.
 * @param[out] err optional error details.
 * @return 0, MIGRATE_EINVAL, MIGRATE_EPLAN (including both `column` and
 *         `index`) or MIGRATE_ENOMEM.
 */
MIGRATE_EXPORT(int) migrate_assert_exists(migrate_version_t *v, const char *table, const char *column,
					  const char *index, migrate_step_t **out, migrate_error_t *err);

/**
 * Appends an assert step for SQL drivers: the first column of the first
 * row of `sql` must equal `expected_json`.
 *
 * @param v the version.
 * @param sql the query.
 * @param expected_json the expected value, a JSON scalar (NULL is JSON null).
 * @param[out] out optional: receives the step.
 * @param[out] err optional error details.
 * @return 0, MIGRATE_EINVAL, MIGRATE_EJSON, MIGRATE_EPLAN or
 *         MIGRATE_ENOMEM.
 */
MIGRATE_EXPORT(int) migrate_assert_sql(migrate_version_t *v, const char *sql, const char *expected_json,
				       migrate_step_t **out, migrate_error_t *err);

/**
 * Appends an assert step for MongoDB: the reply of a command must contain
 * every field of `expected_json`.
 *
 * @param v the version.
 * @param command_json the command, a JSON object.
 * @param expected_json the fields the reply must hold, a JSON object, or
 *        NULL (the command must only succeed).
 * @param[out] out optional: receives the step.
 * @param[out] err optional error details.
 * @return 0, MIGRATE_EINVAL (`v` or `command_json` is NULL),
 *         MIGRATE_EJSON, MIGRATE_EPLAN or MIGRATE_ENOMEM.
 */
MIGRATE_EXPORT(int) migrate_assert_command(migrate_version_t *v, const char *command_json, const char *expected_json,
					   migrate_step_t **out, migrate_error_t *err);

/**
 * A custom step's callback. On a driver with transactions the callback runs
 * inside the version's transaction.
 *
 * @param target the target being migrated.
 * @param native the driver's native handle (`sqlite3 *`, `PGconn *`,
 *        `mongoc_database_t *` ...), valid during the call.
 * @param[out] err on failure, optionally filled; its message is recorded
 *        in the history.
 * @param payload the `payload` given to migrate_custom().
 * @return 0 on success, non-zero on failure (the run then returns
 *         MIGRATE_ECALLBACK).
 */
typedef int (*migrate_custom_fn)(migrate_target_t *target, void *native, migrate_error_t *err, void *payload);

/**
 * Appends a custom step: C callbacks instead of a document.
 *
 * @param v the version.
 * @param name the step's name (shown by migrate_render() and in errors).
 * @param revision part of the checksum: change it whenever the callback's
 *        behaviour changes.
 * @param up the callback run by up; required.
 * @param down the callback that undoes it, or NULL (then the step is
 *        irreversible).
 * @param payload passed to both callbacks; it must outlive every run of the
 *        plan.
 * @param[out] out optional: receives the step.
 * @param[out] err optional error details.
 * @return 0, MIGRATE_EINVAL (`v` or `up` is NULL), MIGRATE_EPLAN or
 *         MIGRATE_ENOMEM.
 */
MIGRATE_EXPORT(int) migrate_custom(migrate_version_t *v, const char *name, const char *revision, migrate_custom_fn up,
				   migrate_custom_fn down, void *payload, migrate_step_t **out, migrate_error_t *err);

/**
 * Gives a step an explicit down, run instead of its computed inverse.
 * sql, command and custom steps take their down as their own argument
 * instead.
 *
 * @param step the step.
 * @param down_json a JSON array of step documents; `"[]"` declares that
 *        undoing the step needs nothing.
 * @param[out] err optional error details.
 * @return 0, MIGRATE_EINVAL (`step` or `down_json` is NULL, or a sql,
 *         command or custom step), MIGRATE_EJSON or MIGRATE_EPLAN.
 */
MIGRATE_EXPORT(int) migrate_step_set_down_json(migrate_step_t *step, const char *down_json, migrate_error_t *err);

/**
 * Says which schema objects a raw step (sql, command or custom) makes,
 * changes or drops, as typed schema steps: create_table, drop_table,
 * rename_table, add_column, drop_column, rename_column, create_index,
 * drop_index, create_enum, drop_enum. They are never run: drift detection
 * (migrate_check_schema()) replays them in place of the raw step, so the
 * schema it expects stays complete; `"[]"` declares that the step changes
 * no schema object (a data-only statement). Without a declaration a raw
 * step makes the comparison partial from its version on. The declaration
 * is no part of the version's checksum: an applied version may gain one.
 * Replaces an earlier declaration.
 *
 * @param step a sql, command or custom step.
 * @param declares_json a JSON array of schema step documents; copied.
 * @param[out] err optional error details.
 * @return 0, MIGRATE_EINVAL (`step` or `declares_json` is NULL, or another
 *         op), MIGRATE_EJSON or MIGRATE_EPLAN (a declared step that is not
 *         a valid schema step; the message names it).
 */
MIGRATE_EXPORT(int) migrate_step_set_declares_json(migrate_step_t *step, const char *declares_json,
						   migrate_error_t *err);

/**
 * Gives a version an explicit down, run in order instead of the inverses of
 * its steps when the whole version is reverted. A version left partly
 * applied is still reverted step by step.
 *
 * @param v the version.
 * @param down_json a JSON array of step documents.
 * @param[out] err optional error details.
 * @return 0, MIGRATE_EINVAL (`v` or `down_json` is NULL), MIGRATE_EJSON
 *         or MIGRATE_EPLAN.
 */
MIGRATE_EXPORT(int) migrate_version_set_down_json(migrate_version_t *v, const char *down_json, migrate_error_t *err);

/* ---- Plan files (docs/plan-file.md, schema docs/plan.schema.json). ---- */

/**
 * Loads a plan from the text of a JSON plan file.
 *
 * @param[out] out receives the plan, owned by the caller: free it with
 *        migrate_plan_destroy(). NULL on failure.
 * @param json the plan file's text.
 * @param[out] err optional error details. Messages name the place
 *        (`versions[3].steps[2].columns[0].type: unknown type "uuuid"`, or a
 *        line and column for malformed JSON).
 * @return 0, MIGRATE_EINVAL (`out` or `json` is NULL), MIGRATE_EJSON,
 *         MIGRATE_EPLAN or MIGRATE_ENOMEM.
 */
MIGRATE_EXPORT(int) migrate_plan_load_json(migrate_plan_t **out, const char *json, migrate_error_t *err);

/**
 * Loads a plan from a plan file or a plan directory. A directory holds one
 * JSON file per version (the version object of a plan file; its id from its
 * "id" field or else the numeric prefix of its name, "0007_add_jobs.json")
 * and an optional plan.json with "plan" and "description" (without one the
 * plan is named after the directory). In a directory, files not ending in
 * .json, dot files and subdirectories are skipped. Both forms build the same
 * versions with the same checksums.
 *
 * @param[out] out receives the plan, owned by the caller: free it with
 *        migrate_plan_destroy(). NULL on failure: nothing is kept.
 * @param path the file or directory.
 * @param[out] err optional error details. Messages start with the file's
 *        path, then the JSON path inside it
 *        (`plans/0007_add_jobs.json: steps[2].columns[0].type: ...`).
 * @return 0, MIGRATE_EINVAL (`out` or `path` is NULL), MIGRATE_EIO (a file
 *         or the directory cannot be read), MIGRATE_EJSON (malformed JSON
 *         or an empty file), MIGRATE_EPLAN (an invalid plan, including a
 *         version file whose "id" disagrees with its name's prefix, or
 *         without either, and an id defined by two files) or
 *         MIGRATE_ENOMEM.
 */
MIGRATE_EXPORT(int) migrate_plan_load_file(migrate_plan_t **out, const char *path, migrate_error_t *err);

/**
 * Writes a plan as a plan directory (docs/plan-file.md): plan.json with the
 * plan's name, and one file per version ("0007_name.json") holding its id,
 * name, steps, explicit down and transactional flag as JSON (keys in order).
 * Loading the directory with migrate_plan_load_file() gives the same plan
 * with the same checksums. `migrate import` converts another tool's
 * directory with it (docs/switching.md).
 *
 * @param plan the plan; only read.
 * @param dir the directory: created, or an existing empty one.
 * @param[out] err optional error details.
 * @return 0, MIGRATE_EINVAL (a NULL argument), MIGRATE_EPLAN (a custom
 *         step, which a file cannot hold: nothing written), MIGRATE_EIO
 *         (`dir` is not empty or cannot be made, a file cannot be written:
 *         the files written so far are left) or MIGRATE_ENOMEM.
 */
MIGRATE_EXPORT(int) migrate_plan_save_dir(const migrate_plan_t *plan, const char *dir, migrate_error_t *err);

/**
 * Loads another migration tool's directory as a plan (docs/switching.md):
 * each migration becomes a version of raw `sql` steps (`command` steps for
 * golang-migrate's MongoDB .json files) with its down, under the original
 * tool's transaction rules. The plan is named after the directory.
 *
 * - "golang-migrate": NNN_name.up.sql and NNN_name.down.sql (or .json);
 *   each file is one step, run in the version's transaction unless it holds
 *   a statement PostgreSQL runs only outside one (CREATE INDEX
 *   CONCURRENTLY, VACUUM ...), when it is sent alone, as golang-migrate does.
 * - "goose": NNN_name.sql with -- +goose Up / Down sections, StatementBegin
 *   and StatementEnd, NO TRANSACTION; one step per statement.
 * - "flyway": V<version>__name.sql and U<version>__name.sql (its undo);
 *   "-- flyway:executeInTransaction=false"; repeatable R__ files are
 *   refused. Version A.B.C.D is id A*10^9 + B*10^6 + C*10^3 + D.
 * - "libmigrate" or NULL: migrate_plan_load_file().
 *
 * @param[out] out receives the plan, owned by the caller: free it with
 *        migrate_plan_destroy(). NULL on failure: nothing is kept.
 * @param path the directory.
 * @param format one of the names above.
 * @param[out] err optional error details, naming the file
 *        (`db/migrations/3_x.sql: no -- +goose Up annotation`).
 * @return 0, MIGRATE_EINVAL (`out` or `path` is NULL, an unknown format),
 *         MIGRATE_EIO (a file or the directory cannot be read),
 *         MIGRATE_EPLAN (a file name or annotation the format does not
 *         have, a version defined twice, a down without its up) or
 *         MIGRATE_ENOMEM.
 */
MIGRATE_EXPORT(int) migrate_plan_load_dir_format(migrate_plan_t **out, const char *path, const char *format,
						 migrate_error_t *err);

#ifdef __cplusplus
}
#endif

#endif
