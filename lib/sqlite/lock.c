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
 *
 * The lock file is removed when the target closes, unless another target
 * (in this process or another) has it open with a lock. Removing a lock
 * file is only safe under a protocol, since a lock on a file that no longer
 * has a name excludes nobody:
 *
 * - The closer takes an exclusive lock on the whole file without waiting.
 *   Any plan lock held by another open file description makes that fail:
 *   the file is in use and stays. Once it holds the whole file, nobody can
 *   take a plan lock on this inode, so it checks that the path still names
 *   the inode it has open (an earlier closer may have removed it and a new
 *   run created another), unlinks the path, and closes.
 * - The opener opens (or creates) the file, takes its plan lock, and then
 *   checks that the path still names the inode it has locked. If a closer
 *   unlinked the file between that open and the lock, it did not: it drops
 *   the lock and starts again with a fresh open. While the opener holds its
 *   plan lock, no closer can take the whole file, so the name stays valid
 *   for as long as the lock is held.
 * - An opener that finds its byte held by a lock covering the whole file
 *   has met a closer about to unlink: it opens again rather than report a
 *   holder. With flock() that case cannot be told from a holder; the
 *   engine's retries cover the closer's brief hold.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
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

/* "<database>-migrate.lock", allocated; NULL when out of memory. */
static char *lock_path(const sq_conn_t *c)
{
	size_t n = strlen(c->path) + sizeof "-migrate.lock";
	char *path = migrate__malloc(n);

	if (path)
		snprintf(path, n, "%s-migrate.lock", c->path);
	return path;
}

/* Whether the lock file's path still names the inode open as c->lock_fd. */
static int still_named(const sq_conn_t *c, const char *path)
{
	struct stat open_st, path_st;

	return fstat(c->lock_fd, &open_st) == 0 && stat(path, &path_st) == 0 && open_st.st_dev == path_st.st_dev &&
	       open_st.st_ino == path_st.st_ino;
}

static int open_lock_file(sq_conn_t *c, migrate_error_t *err)
{
	char *path;

	if (c->lock_fd >= 0)
		return 0;
	if (!(path = lock_path(c)))
		return migrate__err(err, MIGRATE_DOMAIN_LOCK, MIGRATE_ENOMEM, "out of memory");
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

/*
 * Locks (or unlocks) the byte at `offset`, or the whole file when `offset`
 * is 0. 0 when taken, 1 when another holder has it, negative on error.
 */
static int file_lock(sq_conn_t *c, int64_t offset, int lock, migrate_error_t *err)
{
#ifdef F_OFD_SETLK
	struct flock fl;

	memset(&fl, 0, sizeof fl);
	fl.l_type = lock ? F_WRLCK : F_UNLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = (off_t)offset;
	fl.l_len = offset ? 1 : 0;
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

/* Whether the lock that keeps us from `offset` covers the whole file: a closer about to unlink it. */
static int held_by_closer(const sq_conn_t *c, int64_t offset)
{
#ifdef F_OFD_GETLK
	struct flock fl;

	memset(&fl, 0, sizeof fl);
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = (off_t)offset;
	fl.l_len = 1;
	return fcntl(c->lock_fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK && fl.l_start == 0 && fl.l_len == 0;
#else
	(void)c;
	(void)offset;
	return 0;
#endif
}

/* Drops the open lock file (and any lock on it) without removing it. */
static void drop_lock_file(sq_conn_t *c)
{
	if (c->lock_fd >= 0)
		close(c->lock_fd);
	c->lock_fd = -1;
}

#define REOPEN_MAX 100

/*
 * Takes the plan's byte on a lock file that its path still names (see the
 * comment at the top): 0 taken, 1 held by another run, negative on error.
 */
static int lock_named_file(sq_conn_t *c, int64_t offset, migrate_error_t *err)
{
	char *path = lock_path(c);
	int rc = 0, tries;

	if (!path)
		return migrate__err(err, MIGRATE_DOMAIN_LOCK, MIGRATE_ENOMEM, "out of memory");
	for (tries = 0; tries < REOPEN_MAX; tries++) {
		if ((rc = open_lock_file(c, err)))
			break;
		if ((rc = file_lock(c, offset, 1, err)) < 0)
			break;
		if (rc == 0 && still_named(c, path))
			break;
		if (rc > 0 && !held_by_closer(c, offset))
			break;
		/* Locked a file a closer unlinked, or met one about to: open the path again. */
		drop_lock_file(c);
		rc = 1;
		migrate__sleep_ms(1);
	}
	free(path);
	return rc;
}

int migrate__sq_lock_try(void *conn, const char *plan, migrate_error_t *err)
{
	sq_conn_t *c = conn;
	int64_t offset;
	int rc;

	if (!c->path)
		return 0;
	offset = plan_offset(plan);
	if ((rc = lock_named_file(c, offset, err)) < 0)
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

/*
 * Closes the lock file, removing it when no other open file description
 * holds a lock on it (the closer's half of the protocol at the top).
 */
void migrate__sq_lock_close(sq_conn_t *c)
{
	char *path;

	if (c->lock_fd < 0)
		return;
	if ((path = lock_path(c))) {
		if (file_lock(c, 0, 1, NULL) == 0 && still_named(c, path))
			unlink(path);
		free(path);
	}
	drop_lock_file(c);
	c->lock_offset = 0;
}
