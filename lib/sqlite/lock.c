/*
 * The plan's lock: an open-file-description byte-range lock (F_OFD_SETLK)
 * on "<database>-migrate.lock", one byte per plan at an offset derived from
 * the plan's name. The kernel drops it when the holder dies, so a killed
 * process cannot keep it. The holder also records itself in
 * "_migrate_lock" so that a waiting run can say who holds the lock.
 *
 * Where F_OFD_SETLK is missing, flock() on the whole file is used instead
 * (then all plans of one database share one lock). An in-memory database is
 * private to its connection and needs no lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "sqlite_int.h"

static const char lock_ddl[] = "CREATE TABLE IF NOT EXISTS \"" SQ_LOCK_TABLE
			       "\" (plan TEXT PRIMARY KEY, host TEXT, pid INTEGER, since_ms INTEGER)";

/* FNV-1a: a stable offset for a plan name, away from 0. */
static int64_t plan_offset(const char *plan)
{
	uint64_t h = 1469598103934665603ull;
	const unsigned char *p;

	for (p = (const unsigned char *)plan; *p; p++) {
		h ^= *p;
		h *= 1099511628211ull;
	}
	return 1 + (int64_t)(h % 0x3fffffffull);
}

static int open_lock_file(sq_conn_t *c, migrate_error_t *err)
{
	char *path;
	size_t n;

	if (c->lock_fd >= 0)
		return 0;
	n = strlen(c->path) + sizeof "-migrate.lock";
	if (!(path = migrate__malloc(n)))
		return migrate__err(err, MIGRATE_DOMAIN_LOCK, MIGRATE_ENOMEM, "out of memory");
	snprintf(path, n, "%s-migrate.lock", c->path);
	c->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (c->lock_fd < 0) {
		int rc = migrate__err(err, MIGRATE_DOMAIN_LOCK, MIGRATE_EIO, "cannot open the lock file %s: %s", path,
				      strerror(errno));
		free(path);
		return rc;
	}
	free(path);
	return 0;
}

/* 0 when taken, 1 when another holder has it, negative on error. */
static int file_lock(sq_conn_t *c, int64_t offset, int lock, migrate_error_t *err)
{
#ifdef F_OFD_SETLK
	struct flock fl;

	memset(&fl, 0, sizeof fl);
	fl.l_type = lock ? F_WRLCK : F_UNLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = (off_t)offset;
	fl.l_len = 1;
	if (fcntl(c->lock_fd, F_OFD_SETLK, &fl) == 0)
		return 0;
#else
	(void)offset;
	if (flock(c->lock_fd, lock ? LOCK_EX | LOCK_NB : LOCK_UN) == 0)
		return 0;
#endif
	if (lock && (errno == EAGAIN || errno == EACCES || errno == EWOULDBLOCK))
		return 1;
	return migrate__err(err, MIGRATE_DOMAIN_LOCK, MIGRATE_EIO, "locking %s-migrate.lock: %s", c->path,
			    strerror(errno));
}

static void iso_time(int64_t ms, char *out, size_t size)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;

	if (!gmtime_r(&s, &tm) || !strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, size, "%lld ms", (long long)ms);
}

/* The ELOCKED error naming the holder recorded in _migrate_lock. */
static int busy(sq_conn_t *c, const char *plan, migrate_error_t *err)
{
	migrate_sql_t q;
	sqlite3_stmt *st = NULL;
	char holder[300] = "another process", since[64];
	int exists = 0;

	if (migrate__sq_exists(c, "table", SQ_LOCK_TABLE, &exists, NULL) == 0 && exists) {
		migrate__sql_init(&q, &migrate__sq_dialect, c);
		migrate__sql_append(&q, "SELECT host, pid, since_ms FROM \"" SQ_LOCK_TABLE "\" WHERE plan = ");
		migrate__sql_param_str(&q, plan);
		if (migrate__sq_prepare_q(c, &q, &st, NULL) == 0 && sqlite3_step(st) == SQLITE_ROW) {
			iso_time(sqlite3_column_int64(st, 2), since, sizeof since);
			snprintf(holder, sizeof holder, "%s:%lld since %s", (const char *)sqlite3_column_text(st, 0),
				 (long long)sqlite3_column_int64(st, 1), since);
		}
		sqlite3_finalize(st);
		migrate__sql_free(&q);
	}
	return migrate__err(err, MIGRATE_DOMAIN_LOCK, MIGRATE_ELOCKED, "the lock of plan \"%s\" on %s is held by %s",
			    plan, c->path, holder);
}

static void host_name(char *out, size_t size)
{
	if (gethostname(out, size) != 0)
		snprintf(out, size, "unknown");
	out[size - 1] = '\0';
}

static int record_holder(sq_conn_t *c, const char *plan, migrate_error_t *err)
{
	migrate_sql_t q;
	char host[256];
	int exists, rc;

	if ((rc = migrate__sq_exists(c, "table", SQ_LOCK_TABLE, &exists, err)))
		return rc;
	migrate__sql_init(&q, &migrate__sq_dialect, c);
	if (!exists) {
		migrate__sql_append(&q, lock_ddl);
		if ((rc = migrate__sq_write(c, &q, err)))
			goto cleanup;
		migrate__sql_reset(&q);
	}
	host_name(host, sizeof host);
	migrate__sql_append(&q, "INSERT OR REPLACE INTO \"" SQ_LOCK_TABLE "\" (plan, host, pid, since_ms) VALUES (");
	migrate__sql_param_str(&q, plan);
	migrate__sql_append(&q, ", ");
	migrate__sql_param_str(&q, host);
	migrate__sql_append(&q, ", ");
	migrate__sql_param_int(&q, (int64_t)getpid());
	migrate__sql_append(&q, ", ");
	migrate__sql_param_int(&q, migrate__now_ms());
	migrate__sql_append(&q, ")");
	rc = migrate__sq_write(c, &q, err);
cleanup:
	migrate__sql_free(&q);
	return rc;
}

int migrate__sq_lock_try(void *conn, const char *plan, migrate_error_t *err)
{
	sq_conn_t *c = conn;
	int64_t offset;
	int rc;

	if (!c->path)
		return 0;
	if ((rc = open_lock_file(c, err)))
		return rc;
	offset = plan_offset(plan);
	if ((rc = file_lock(c, offset, 1, err)) < 0)
		return rc;
	if (rc > 0)
		return busy(c, plan, err);
	c->lock_offset = offset;
	free(c->lock_plan);
	c->lock_plan = migrate__strdup(plan);
	if (!c->lock_plan)
		rc = migrate__err(err, MIGRATE_DOMAIN_LOCK, MIGRATE_ENOMEM, "out of memory");
	else
		rc = record_holder(c, plan, err);
	if (rc) {
		file_lock(c, offset, 0, NULL);
		c->lock_offset = 0;
	}
	return rc;
}

int migrate__sq_lock_release(void *conn, const char *plan, migrate_error_t *err)
{
	sq_conn_t *c = conn;
	migrate_sql_t q;
	int exists = 0, rc = 0;

	if (!c->path || c->lock_fd < 0 || !c->lock_offset)
		return 0;
	/* The record is only a description: a failure to remove it must not keep the lock. */
	if (migrate__sq_exists(c, "table", SQ_LOCK_TABLE, &exists, NULL) == 0 && exists) {
		migrate__sql_init(&q, &migrate__sq_dialect, c);
		migrate__sql_append(&q, "DELETE FROM \"" SQ_LOCK_TABLE "\" WHERE plan = ");
		migrate__sql_param_str(&q, plan);
		migrate__sql_append(&q, " AND pid = ");
		migrate__sql_param_int(&q, (int64_t)getpid());
		migrate__sq_write(c, &q, NULL);
		migrate__sql_free(&q);
	}
	rc = file_lock(c, c->lock_offset, 0, err);
	c->lock_offset = 0;
	return rc < 0 ? rc : 0;
}

void migrate__sq_lock_close(sq_conn_t *c)
{
	if (c->lock_fd >= 0)
		close(c->lock_fd);
	c->lock_fd = -1;
	c->lock_offset = 0;
}
