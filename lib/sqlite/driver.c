/*
 * The SQLite driver: URLs, connections, transactions and the driver table.
 *
 * URLs: "sqlite:PATH" (relative or absolute), "sqlite:///ABSOLUTE/PATH" and
 * "sqlite::memory:". A connection the application already has is wrapped
 * with migrate_target_open_sqlite() and never closed by libmigrate.
 * Every connection, owned or borrowed, runs with SQLite's double-quoted
 * string literals off while libmigrate holds it.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "migrate/sqlite.h"
#include "sqlite_int.h"

/* 'YYYY-MM-DDTHH:MM:SS.SSSZ', the ISO-8601 UTC text of timestamp columns. */
#define SQ_NOW "(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"
/* A random version 4 UUID: 4 random bits replaced by the version, 2 by the variant. */
#define SQ_UUID                                                                                         \
	"(lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || "                    \
	"substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || " \
	"substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))))"

/* JSON arrays are stored as text; anything else (NULL, not JSON, not an array) counts 0. */
static int sq_array_length(migrate_sql_t *q, const char *table, const char *column, migrate_error_t *err)
{
	migrate__sql_append(q, "COALESCE(CASE WHEN json_valid(");
	migrate__sql_ident(q, column);
	migrate__sql_append(q, ") THEN json_array_length(");
	migrate__sql_ident(q, column);
	migrate__sql_append(q, ") END, 0)");
	(void)table;
	(void)err;
	return 0;
}

const migrate_sql_dialect_t migrate__sq_dialect = {
	"sqlite",
	MIGRATE_SQL_PARAM_QMARK,
	{"TEXT", "INTEGER", "INTEGER", "REAL", "INTEGER", "TEXT", "TEXT", "TEXT", "BLOB"},
	SQ_NOW,
	SQ_UUID,
	"1",
	"0",
	sq_array_length,
	migrate__sq_enum_column,
	"",
	migrate__sq_exists_query,
};

static void dqs_restore(sq_conn_t *c)
{
	if (c->dqs_dml >= 0)
		sqlite3_db_config(c->db, SQLITE_DBCONFIG_DQS_DML, c->dqs_dml, NULL);
	if (c->dqs_ddl >= 0)
		sqlite3_db_config(c->db, SQLITE_DBCONFIG_DQS_DDL, c->dqs_ddl, NULL);
}

/*
 * Turns off SQLite's double-quoted string literals (DQS) for statements and
 * DDL: a double-quoted name is then always an identifier, so a misspelt
 * column in an expression or a filter fails instead of being read as a
 * string and written to every row. The previous settings are kept for
 * close() to give a borrowed connection back as it was.
 */
static int dqs_off(sq_conn_t *c, migrate_error_t *err)
{
	if (sqlite3_db_config(c->db, SQLITE_DBCONFIG_DQS_DML, -1, &c->dqs_dml) != SQLITE_OK ||
	    sqlite3_db_config(c->db, SQLITE_DBCONFIG_DQS_DDL, -1, &c->dqs_ddl) != SQLITE_OK ||
	    sqlite3_db_config(c->db, SQLITE_DBCONFIG_DQS_DML, 0, NULL) != SQLITE_OK ||
	    sqlite3_db_config(c->db, SQLITE_DBCONFIG_DQS_DDL, 0, NULL) != SQLITE_OK) {
		dqs_restore(c);
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EUNSUPPORTED,
				    "SQLite %s cannot turn off double-quoted string literals (3.29.0 or later is "
				    "needed)",
				    sqlite3_libversion());
	}
	return 0;
}

int migrate__sq_stored_schema_dqs(sq_conn_t *c, int on, migrate_error_t *err)
{
	if (sqlite3_db_config(c->db, SQLITE_DBCONFIG_DQS_DDL, on, NULL) != SQLITE_OK)
		return migrate__sq_err(c, err, "setting SQLITE_DBCONFIG_DQS_DDL");
	return 0;
}

static void conn_free(sq_conn_t *c)
{
	bson_destroy(c->render_enums);
	free(c->path);
	free(c);
}

/* The driver's state for `db`, with double-quoted string literals off. */
static int conn_new(sqlite3 *db, int owned, sq_conn_t **out, migrate_error_t *err)
{
	sq_conn_t *c = migrate__calloc(1, sizeof *c);
	const char *file;
	int rc;

	if (!c || !(c->render_enums = bson_new()))
		goto nomem;
	c->db = db;
	c->owned = owned;
	c->lock_fd = -1;
	c->dqs_dml = c->dqs_ddl = -1;
	file = sqlite3_db_filename(db, "main");
	if (file && *file && !(c->path = migrate__strdup(file)))
		goto nomem;
	if ((rc = dqs_off(c, err))) {
		conn_free(c);
		return rc;
	}
	*out = c;
	return 0;
nomem:
	if (c)
		conn_free(c);
	return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ENOMEM, "out of memory");
}

static void sq_close(void *conn)
{
	sq_conn_t *c = conn;

	if (!c)
		return;
	migrate__sq_lock_close(c);
	if (c->owned)
		sqlite3_close_v2(c->db);
	else
		dqs_restore(c);
	free(c->lock_plan);
	conn_free(c);
}

/* The file path of a URL, or NULL (with the error filled) when the URL is not ours. */
static int url_path(const char *url, const char **path, migrate_error_t *err)
{
	char safe[512];

	migrate__redact_url(url, safe, sizeof safe);
	if (strncmp(url, "sqlite:", 7) != 0)
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ENOTFOUND, "not a sqlite URL: %s", safe);
	*path = url + 7;
	if (strncmp(*path, "//", 2) == 0) {
		*path += 2;
		if (**path != '/')
			return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ECONNECT,
					    "%s: sqlite:// takes an absolute path (sqlite:///path/to/db); use "
					    "sqlite:relative/path for a relative one",
					    safe);
	}
	if (!**path)
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ECONNECT, "%s: no database path", safe);
	return 0;
}

/*
 * A trailing "?mode=ro" or "?mode=rw" opens an existing file only, read-only
 * or read-write; without one the file is created when missing. Any other
 * "?" stays part of the file name, as it always was.
 */
static int url_mode(const char *path, size_t *len, int *flags)
{
	static const struct {
		const char *suffix;
		int flags;
	} modes[] = {
		{"?mode=ro", SQLITE_OPEN_READONLY},
		{"?mode=rw", SQLITE_OPEN_READWRITE},
		{"?mode=rwc", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE},
	};
	size_t n = strlen(path), i, k;

	for (i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		k = strlen(modes[i].suffix);
		if (n > k && strcmp(path + n - k, modes[i].suffix) == 0) {
			*len = n - k;
			*flags = modes[i].flags;
			return 1;
		}
	}
	*len = n;
	*flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	return 0;
}

/*
 * Reads the schema (SQLite parses every CREATE statement of the file before
 * its first statement can run) now, at open: a caller that opens the target
 * while it loads its plan, as the migrate tool's `check` does, then has the
 * two overlap instead of adding up (1,000 tables: about 2 ms). Preparing a
 * statement that names a table reads it; nothing runs. A failure (a lock
 * held at that moment, a damaged file) is left to the first statement to
 * report (or wait for), as before.
 */
static void read_schema(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;

	(void)sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master LIMIT 0", -1, &st, NULL);
	sqlite3_finalize(st);
}

static int sq_open(const char *url, void **out, migrate_error_t *err)
{
	const char *path = NULL;
	char *file = NULL;
	sqlite3 *db = NULL;
	sq_conn_t *c;
	char safe[512];
	size_t len;
	int rc, flags;

	if ((rc = url_path(url, &path, err)))
		return rc;
	url_mode(path, &len, &flags);
	if (!(file = migrate__malloc(len + 1)))
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ENOMEM, "out of memory");
	memcpy(file, path, len);
	file[len] = '\0';
	if (!(flags & SQLITE_OPEN_CREATE) && strcmp(file, ":memory:") != 0 && access(file, F_OK) != 0) {
		migrate__redact_url(url, safe, sizeof safe);
		rc = migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ENOTFOUND,
				  "SQLite: no database file at %s (not created: the URL asks for an existing file)",
				  safe);
		free(file);
		return rc;
	}
	rc = sqlite3_open_v2(file, &db, flags, NULL);
	free(file);
	if (rc != SQLITE_OK) {
		migrate__redact_url(url, safe, sizeof safe);
		rc = migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ECONNECT, "SQLite: cannot open %s: %s", safe,
				  db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close_v2(db);
		return rc;
	}
	sqlite3_extended_result_codes(db, 1);
	if ((rc = conn_new(db, 1, &c, err))) {
		sqlite3_close_v2(db);
		return rc;
	}
	/* Without a busy timeout yet: a lock held now is not waited for twice. */
	read_schema(db);
	/* Other processes (and their migrations) may hold the write lock briefly. */
	sqlite3_busy_timeout(db, SQ_BUSY_TIMEOUT_MS);
	*out = c;
	return 0;
}

static void *sq_native_handle(void *conn)
{
	return ((sq_conn_t *)conn)->db;
}

/* ---- transactions ---- */

int migrate__sq_begin_batch(sq_conn_t *c, migrate_error_t *err)
{
	return migrate__sq_exec(c, "BEGIN IMMEDIATE", err);
}

int migrate__sq_commit_batch(sq_conn_t *c, migrate_error_t *err)
{
	return migrate__sq_exec(c, "COMMIT", err);
}

void migrate__sq_rollback_quiet(sq_conn_t *c)
{
	if (!sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
}

/* PRAGMA foreign_keys, asked of the connection instead of by a statement. */
static int fk_enabled(sq_conn_t *c, int *on, migrate_error_t *err)
{
	*on = 0;
	if (sqlite3_db_config(c->db, SQLITE_DBCONFIG_ENABLE_FKEY, -1, on) != SQLITE_OK)
		return migrate__sq_err(c, err, "reading foreign_keys");
	return 0;
}

static void fk_restore(sq_conn_t *c)
{
	if (c->fk_restore && sqlite3_get_autocommit(c->db)) {
		sqlite3_exec(c->db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
		c->fk_restore = 0;
	}
}

/*
 * The engine's transaction. When the connection enforces foreign keys they
 * are turned off first (it cannot be done inside a transaction): a table
 * rebuild drops and recreates a table, which must not fire ON DELETE
 * actions. As in the SQLite documentation's procedure, foreign_key_check
 * runs before the commit and turns any violation into an error.
 */
static int sq_begin(void *conn, migrate_error_t *err)
{
	sq_conn_t *c = conn;
	int on = 0, rc;

	c->fk_restore = 0;
	if (sqlite3_get_autocommit(c->db)) {
		if ((rc = fk_enabled(c, &on, err)))
			return rc;
		if (on) {
			if ((rc = migrate__sq_exec(c, "PRAGMA foreign_keys = OFF", err)))
				return rc;
			c->fk_restore = 1;
		}
	}
	if ((rc = migrate__sq_exec(c, "BEGIN IMMEDIATE", err)))
		fk_restore(c);
	return rc;
}

/* Fails with the first violation that foreign_key_check reports. */
static int fk_check(sq_conn_t *c, migrate_error_t *err)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = migrate__sq_prepare(c, "PRAGMA foreign_key_check", &st, err)))
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		rc = migrate__err(
			err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EDB,
			"SQLite: foreign key violation: a row of \"%s\" (rowid %lld) references a missing row of "
			"\"%s\"",
			(const char *)sqlite3_column_text(st, 0), (long long)sqlite3_column_int64(st, 1),
			(const char *)sqlite3_column_text(st, 2));
	else if (rc == SQLITE_DONE)
		rc = 0;
	else
		rc = migrate__sq_err(c, err, "foreign_key_check");
	sqlite3_finalize(st);
	return rc;
}

static int sq_commit(void *conn, migrate_error_t *err)
{
	sq_conn_t *c = conn;
	int rc;

	if (c->fk_restore && (rc = fk_check(c, err)))
		return rc;
	if ((rc = migrate__sq_exec(c, "COMMIT", err)))
		return rc;
	fk_restore(c);
	return 0;
}

static int sq_rollback(void *conn, migrate_error_t *err)
{
	sq_conn_t *c = conn;
	int rc = 0;

	if (!sqlite3_get_autocommit(c->db))
		rc = migrate__sq_exec(c, "ROLLBACK", err);
	fk_restore(c);
	return rc;
}

static const char *const sq_schemes[] = {"sqlite", NULL};

const migrate_driver_t migrate__sqlite_driver = {
	MIGRATE_DRIVER_VERSION,
	"sqlite",
	sq_schemes,
	sq_open,
	sq_close,
	sq_native_handle,
	migrate__sq_check_step,
	migrate__sq_step_flags,
	migrate__sq_render_step,
	migrate__sq_apply_step,
	migrate__sq_history_ensure,
	migrate__sq_history_read,
	migrate__sq_history_write,
	migrate__sq_history_delete,
	migrate__sq_lock_try,
	migrate__sq_lock_release,
	sq_begin,
	sq_commit,
	sq_rollback,
	migrate__sq_schema_read,
	migrate__sq_schema_type,
	migrate__sq_table_rows,
	NULL, /* sync: a commit is as durable as the database's own synchronous setting makes it */
};

int migrate_target_open_sqlite(migrate_target_t **out, sqlite3 *db, migrate_error_t *err)
{
	sq_conn_t *c;
	int rc;

	if (!out || !db)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL,
				    "migrate_target_open_sqlite: out and db are required");
	*out = NULL;
	if ((rc = conn_new(db, 0, &c, err)))
		return rc;
	if ((rc = migrate_target_from_driver(out, &migrate__sqlite_driver, c, err)))
		sq_close(c);
	return rc;
}
