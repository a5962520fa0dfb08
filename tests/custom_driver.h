/*
 * "jsondir": a third-party driver written only against <migrate/driver.h>,
 * over a plain directory of JSON files. It exists to prove that the driver
 * interface is enough for an out-of-tree driver, and to give the core tests
 * a store whose every byte they can read back.
 *
 * Layout of a database directory:
 *   <dir>/<table>.json                 {"columns": [column docs], "rows": [row objects],
 *                                       "indexes": [index docs] (when any),
 *                                       "batch": {...} (see below)}
 *   <dir>/_history/<plan>/<id>.json    one history record per (plan, version)
 *   <dir>/_lock_<plan>/pid             the lock: a directory made with mkdir
 *                                      (atomic), taken over when its pid is dead
 *
 * There are no transactions: every step runs on its own, and a run
 * interrupted anywhere is resumed from its journal. Every write replaces
 * one file atomically (write, then rename). Steps are idempotent (a rename
 * already done, a column already added are recognised), and backfill and
 * map_values run in batches, journaling a checkpoint after each. A batch
 * that is not idempotent (a backfill reading a column it writes, a map
 * whose new value is also an old one) writes its own journal entry,
 * "batch", in the same file replace as its rows, so that redoing it after
 * a crash changes nothing more.
 *
 * Supported ops: create_table, drop_table, rename_table, add_column
 * (defaults {"value"}), drop_column, rename_column, create_index and
 * drop_index (recorded in the table file; unique ones checked when made),
 * map_values, backfill (expressions {"value"}, {"column"},
 * {"array_length"} and the raw {"mongo": {"$add": ["$column" or integer,
 * ...]}}), with the catalog's where filters, assert count, and command steps
 * in jsondir's own vocabulary:
 *   {"insert": table, "documents": [rows]}   {"delete": table, "where": filter}
 * (at least once, as raw steps are without transactions). Everything else
 * is refused by check_step with MIGRATE_EUNSUPPORTED and a reason.
 */
#ifndef MIGRATE_TEST_CUSTOM_DRIVER_H
#define MIGRATE_TEST_CUSTOM_DRIVER_H

#include <migrate/driver.h>

/* The driver (scheme "jsondir:"; URL "jsondir:/path/to/dir"). */
const migrate_driver_t *jsondir_driver(void);

/* Registers the driver once per process (idempotent). */
int jsondir_register(migrate_error_t *err);

/*
 * Appends a row given as a JSON object to <dir>/<table>.json. For custom
 * steps, whose native handle is the directory path (const char *).
 */
int jsondir_insert_row(const char *dir, const char *table, const char *row_json, migrate_error_t *err);

/* Deletes the rows whose `column` equals the integer `value`. */
int jsondir_delete_rows(const char *dir, const char *table, const char *column, int64_t value, migrate_error_t *err);

/* ---- test support ---- */

/* The whole text of a file (caller frees), or NULL when it does not exist. */
char *jsondir_read_text(const char *path);

/*
 * The names in `dir`, sorted and joined with ",", recursing into
 * sub-directories as "sub/name" (caller frees). "" for an empty directory.
 */
char *jsondir_list(const char *dir);

/* Writes `text` to `path` (creating or replacing it); 0 on success. */
int jsondir_write_text(const char *path, const char *text);

#endif
