/**
 * @file
 * @brief libmigrate: the SQLite driver's wrapper for a connection the
 * application already has.
 *
 * Include only when you use SQLite; it pulls in `<sqlite3.h>`.
 *
 * URLs: migrate_target_open() takes `sqlite:PATH` (relative), `sqlite:///PATH`
 * (absolute) and `sqlite::memory:`. The file is created when it does not
 * exist, unless PATH ends with one of these modes:
 *
 *     ?mode=ro    open an existing file read-only (SQLITE_OPEN_READONLY)
 *     ?mode=rw    open an existing file read-write, never create it
 *     ?mode=rwc   read-write, created when missing (the default)
 *
 * With ro or rw and no file at PATH, nothing is created and the open fails
 * with MIGRATE_ENOTFOUND in MIGRATE_DOMAIN_DRIVER. Any other "?" stays part
 * of the file name. Commands that only read (status, check, verify) work on
 * a read-only target; the others need write access and fail on one.
 */
#ifndef MIGRATE_SQLITE_H
#define MIGRATE_SQLITE_H

#include <sqlite3.h>

#include "migrate.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Wraps an open SQLite connection in a target. The lock is taken on a
 * file beside the database, `"<database>-migrate.lock"` (none for in-memory
 * databases); migrate_target_close() removes it unless another target, in
 * this process or another, holds a lock on it. A killed process leaves the
 * file behind; it is harmless, and the next run uses and removes it.
 *
 * While the target is open, the connection's double-quoted string literals
 * are off (SQLITE_DBCONFIG_DQS_DML and SQLITE_DBCONFIG_DQS_DDL set to 0), so
 * that a misspelt "column" in a step fails instead of being read as a
 * string. This applies to everything run on `db` meanwhile, the
 * application's own statements included. migrate_target_close() restores
 * the two settings as they were when the target was opened. Needs SQLite
 * 3.29.0 or later.
 *
 * Do not use `db` from another thread while a run is using it: the run's
 * transactions are the connection's.
 *
 * @param[out] out receives the target, owned by the caller: close it with
 *        migrate_target_close(). NULL on failure.
 * @param db the connection, borrowed: libmigrate never closes it, and it
 *        must outlive the target.
 * @param[out] err optional error details.
 * @return 0, MIGRATE_EINVAL (`out` or `db` is NULL), MIGRATE_EUNSUPPORTED
 *         (SQLite older than 3.29.0) or MIGRATE_ENOMEM.
 */
MIGRATE_EXPORT(int) migrate_target_open_sqlite(migrate_target_t **out, sqlite3 *db, migrate_error_t *err);

#ifdef __cplusplus
}
#endif

#endif
