/*
 * A PostgreSQL target opened for check (migrate_target_open_flags with
 * MIGRATE_OPEN_CHECK): a start-up probe. It connects with the library's
 * own frontend (pgwire.c) and reads the history's states without loading
 * the PostgreSQL module and libpq, about half of the probe's time.
 *
 * The target is a whole target all the same: its driver forwards every
 * callback to a target opened through the module (migrate_target_open),
 * which it opens on the first call that needs it, closing its own
 * connection first. A read its frontend cannot make goes the same way, so
 * the answer is always the module's; only its cost differs.
 */
#include "internal.h"

#ifdef MIGRATE_HAVE_POSTGRES
#include <stdlib.h>
#include <string.h>

typedef struct probe {
	char *url;
	migrate__pgw *wire;     /* until the module's target is opened */
	migrate_target_t *real; /* the module's, opened on first need */
	bool lost;              /* a callback without an error to return could not open it */
} probe_t;

/* Opens the module's target (once); the frontend's connection closes first. */
static int real(probe_t *p, migrate_error_t *err)
{
	if (p->real)
		return 0;
	/* A step's flags or a type were answered without the driver: nothing may run after that. */
	if (p->lost)
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ECONNECT,
				    "postgres: the connection through libpq failed earlier in this target's use");
	migrate__pgw_close(p->wire);
	p->wire = NULL;
	return migrate_target_open(&p->real, p->url, err);
}

/* real() for the callbacks that cannot return its error: the target fails from then on. */
static bool real_or_lost(probe_t *p)
{
	migrate_error_t err;

	if (real(p, &err) == 0)
		return true;
	p->lost = true;
	migrate__log(MIGRATE_LOG_ERROR, "%s", err.message);
	return false;
}

int migrate__probe_open(const char *url, migrate_target_t **out, migrate_error_t *err)
{
	const char *why = NULL;
	probe_t *p;
	migrate__pgw *w;
	int rc;

	*out = NULL;
	if (migrate__pgw_connect(url, &w, &why) != 0) {
		migrate__log(MIGRATE_LOG_INFO, "postgres: check connects through libpq: %s", why);
		return 0; /* libpq's to open */
	}
	if (!(p = migrate__calloc(1, sizeof *p)) || !(p->url = migrate__strdup(url))) {
		free(p);
		migrate__pgw_close(w);
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_ENOMEM, "out of memory");
	}
	p->wire = w;
	if ((rc = migrate_target_from_driver(out, &migrate__probe_driver, p, err)) != 0) {
		migrate__pgw_close(w);
		free(p->url);
		free(p);
	}
	return rc;
}

int migrate__probe_states(void *conn, const char *plan, migrate_record_fn fn, void *ctx, migrate_error_t *err)
{
	probe_t *p = conn;
	const migrate__module_t *m;
	bool gave_up = true;
	int rc;

	if (p->wire && ((rc = migrate__pgw_states(p->wire, plan, fn, ctx, &gave_up)) != 0 || !gave_up))
		return rc;
	migrate__log(MIGRATE_LOG_INFO, "postgres: check reads the history through libpq");
	if ((rc = real(p, err)) != 0)
		return rc;
	m = migrate__module_of(p->real->driver);
	if (m && m->history_states)
		return m->history_states(p->real->conn, plan, fn, ctx, err);
	return p->real->driver->history_read(p->real->conn, plan, fn, ctx, err);
}

int migrate__probe_read_rows(void *conn, const char *query, bson_t *rows, migrate_error_t *err)
{
	probe_t *p = conn;
	const migrate__module_t *m;
	int rc;

	if ((rc = real(p, err)) != 0)
		return rc;
	m = migrate__module_of(p->real->driver);
	if (!m || !m->read_rows)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EUNSUPPORTED, "postgres: no read_rows");
	return m->read_rows(p->real->conn, query, rows, err);
}

static void probe_close(void *conn)
{
	probe_t *p = conn;

	migrate__pgw_close(p->wire);
	migrate_target_close(p->real);
	free(p->url);
	free(p);
}

/* The callbacks without an error to report: the module's target, or nothing (and the target lost). */
static void *probe_native(void *conn)
{
	probe_t *p = conn;

	return real_or_lost(p) ? p->real->driver->native_handle(p->real->conn) : NULL;
}

static unsigned probe_step_flags(void *conn, const migrate_step_t *step)
{
	probe_t *p = conn;

	return real_or_lost(p) ? p->real->driver->step_flags(p->real->conn, step) : 0;
}

static void probe_schema_type(void *conn, const bson_t *column, migrate_buf_t *out)
{
	probe_t *p = conn;

	if (real_or_lost(p))
		p->real->driver->schema_type(p->real->conn, column, out);
}

/* The others: `call` on the module's target, once it is open. */
#define FORWARD(name, params, args)                                                           \
	static int probe_##name params                                                        \
	{                                                                                     \
		probe_t *p = conn;                                                            \
		int rc = real(p, err);                                                        \
		return rc ? rc : p->real->driver->name(p->real->conn, MIGRATE__UNPAREN args); \
	}
#define MIGRATE__UNPAREN(...) __VA_ARGS__

FORWARD(check_step, (void *conn, const migrate_step_t *step, migrate_error_t *err), (step, err))
FORWARD(render_step, (void *conn, const migrate_step_t *step, migrate_buf_t *out, migrate_error_t *err),
	(step, out, err))
FORWARD(apply_step, (void *conn, const migrate_step_t *step, migrate_exec_t *exec, migrate_error_t *err),
	(step, exec, err))
FORWARD(history_ensure, (void *conn, migrate_error_t *err), (err))
FORWARD(history_read, (void *conn, const char *plan, migrate_record_fn fn, void *ctx, migrate_error_t *err),
	(plan, fn, ctx, err))
FORWARD(history_write, (void *conn, const char *plan, const migrate_record_t *record, migrate_error_t *err),
	(plan, record, err))
FORWARD(history_delete, (void *conn, const char *plan, uint64_t version, migrate_error_t *err), (plan, version, err))
FORWARD(lock_try, (void *conn, const char *plan, migrate_error_t *err), (plan, err))
FORWARD(lock_release, (void *conn, const char *plan, migrate_error_t *err), (plan, err))
FORWARD(begin, (void *conn, migrate_error_t *err), (err))
FORWARD(commit, (void *conn, migrate_error_t *err), (err))
FORWARD(rollback, (void *conn, migrate_error_t *err), (err))
FORWARD(schema_read, (void *conn, const bson_t *wanted, bson_t *out, migrate_error_t *err), (wanted, out, err))
FORWARD(table_rows, (void *conn, const char *table, int64_t *rows, migrate_error_t *err), (table, rows, err))
FORWARD(sync, (void *conn, migrate_error_t *err), (err))

static const char *const probe_schemes[] = {"postgresql", "postgres", NULL};

/* Every callback of the PostgreSQL driver, none NULL where its are not. */
const migrate_driver_t migrate__probe_driver = {
	MIGRATE_DRIVER_VERSION,
	"postgres",
	probe_schemes,
	NULL,
	probe_close,
	probe_native,
	probe_check_step,
	probe_step_flags,
	probe_render_step,
	probe_apply_step,
	probe_history_ensure,
	probe_history_read,
	probe_history_write,
	probe_history_delete,
	probe_lock_try,
	probe_lock_release,
	probe_begin,
	probe_commit,
	probe_rollback,
	probe_schema_read,
	probe_schema_type,
	probe_table_rows,
	probe_sync,
};
#else
typedef int migrate__probe_unused; /* ISO C wants a declaration in every file */
#endif
