/*
 * The PostgreSQL target: connecting from a URL or wrapping a borrowed
 * PGconn, the driver's options, running statements with bound parameters,
 * turning server errors into libmigrate errors, and transactions.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pg.h"

/* Forgets a history write held back for the COMMIT. */
static void journal_drop(pg_target_t *t)
{
	int i;

	for (i = 0; i < t->journal_n; i++)
		free(t->journal_vals[i]);
	free(t->journal_sql);
	t->journal_sql = NULL;
	t->journal_n = 0;
}

static void target_free(pg_target_t *t)
{
	if (!t)
		return;
	migrate__pg_lease_stop(t);
	if (t->owned && t->conn)
		PQfinish(t->conn);
	journal_drop(t);
	free(t->schema);
	free(t->history);
	free(t->lease_table);
	free(t);
}

/* A random token naming this run's lease; /dev/urandom, else time and pid. */
static void make_owner(char *out, size_t size)
{
	unsigned char b[16];
	FILE *f = fopen("/dev/urandom", "rb");
	size_t i, n = 0;

	if (f) {
		n = fread(b, 1, sizeof b, f);
		fclose(f);
	}
	if (n != sizeof b) {
		uint64_t x = (uint64_t)migrate__now_ms() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)out;
		for (i = 0; i < sizeof b; i++) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			b[i] = (unsigned char)(x >> 56);
		}
	}
	for (i = 0; i < sizeof b && 2 * i + 2 < size; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static int target_new(pg_target_t **out, const migrate_postgres_options_t *opts, migrate_error_t *err)
{
	pg_target_t *t;
	migrate_buf_t *s;

	if (opts->lease_ms > MIGRATE__LEASE_MAX_MS)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL,
				    "postgres: lease_ms is %lld ms, longer than the %d ms (a day) maximum",
				    (long long)opts->lease_ms, MIGRATE__LEASE_MAX_MS);
	if (!(t = migrate__calloc(1, sizeof *t)))
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ENOMEM, "out of memory");
	t->schema = migrate__strdup(opts->schema ? opts->schema : "public");
	if (!t->schema) {
		free(t);
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ENOMEM, "out of memory");
	}
	s = migrate__buf_new(NULL);
	migrate__pg_ident(s, t->schema);
	migrate_buf_append(s, ".\"_migrate_history\"");
	t->history = migrate__buf_free(s, false);
	s = migrate__buf_new(NULL);
	migrate__pg_ident(s, t->schema);
	migrate_buf_append(s, ".\"_migrate_lock\"");
	t->lease_table = migrate__buf_free(s, false);
	if (!t->history || !t->lease_table) {
		free(t->history);
		free(t->lease_table);
		free(t->schema);
		free(t);
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ENOMEM, "out of memory");
	}
	t->lock_mode = opts->lock_mode;
	t->lease_ms = opts->lease_ms > 0 ? opts->lease_ms : 300000;
	t->lease_every_ms = t->lease_ms / 3 > 0 ? t->lease_ms / 3 : 1;
	t->lock_timeout_ms = opts->lock_timeout_ms;
	t->statement_timeout_ms = opts->statement_timeout_ms;
	t->retries = opts->retries ? opts->retries : 1;
	make_owner(t->owner, sizeof t->owner);
	*out = t;
	return 0;
}

static int check_options(const migrate_postgres_options_t *o, migrate_error_t *err)
{
	const char *why;

	if (o->version != MIGRATE_POSTGRES_OPTIONS_VERSION)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EVERSION,
				    "postgres options: unknown version %u (expected %u)", o->version,
				    MIGRATE_POSTGRES_OPTIONS_VERSION);
	if (o->schema && !migrate__ident_ok(o->schema, strlen(o->schema), &why))
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL, "postgres options: schema %s", why);
	if (o->lock_mode != MIGRATE_PG_LOCK_ADVISORY && o->lock_mode != MIGRATE_PG_LOCK_LEASE)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL, "postgres options: unknown lock mode %d",
				    o->lock_mode);
	if (o->lock_timeout_ms < 0 || o->statement_timeout_ms < 0 || o->lease_ms < 0)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL,
				    "postgres options: timeouts must not be negative");
	return 0;
}

/* ---- URLs --------------------------------------------------------------- */

static int parse_ms(const char *key, const char *value, int64_t *out, migrate_error_t *err)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(value, &end, 10);
	if (errno || end == value || *end || v < 0)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL,
				    "postgres URL: %s must be a non-negative integer, not \"%s\"", key, value);
	*out = v;
	return 0;
}

/*
 * Applies one migrate_* query parameter to `o`; `schema` keeps the decoded
 * schema name, *renew_ms migrate_lease_renew_ms (no field of `o`: URLs only).
 */
static int url_option(const char *key, const char *value, migrate_postgres_options_t *o, char *schema,
		      size_t schema_size, int64_t *renew_ms, migrate_error_t *err)
{
	int64_t v = 0;
	int rc;

	if (strcmp(key, "migrate_lease_ms") == 0)
		return migrate__lease_option("postgres URL", key, value, strlen(value), &o->lease_ms, err);
	if (strcmp(key, "migrate_lease_renew_ms") == 0)
		return migrate__lease_option("postgres URL", key, value, strlen(value), renew_ms, err);
	if (strcmp(key, "migrate_schema") == 0) {
		snprintf(schema, schema_size, "%s", value);
		o->schema = schema;
		return 0;
	}
	if (strcmp(key, "migrate_lock") == 0) {
		if (strcmp(value, "advisory") == 0)
			o->lock_mode = MIGRATE_PG_LOCK_ADVISORY;
		else if (strcmp(value, "lease") == 0)
			o->lock_mode = MIGRATE_PG_LOCK_LEASE;
		else
			return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL,
					    "postgres URL: migrate_lock must be \"advisory\" or \"lease\", not \"%s\"",
					    value);
		return 0;
	}
	if ((rc = parse_ms(key, value, &v, err)) != 0)
		return rc;
	if (strcmp(key, "migrate_lock_timeout_ms") == 0)
		o->lock_timeout_ms = v;
	else if (strcmp(key, "migrate_statement_timeout_ms") == 0)
		o->statement_timeout_ms = v;
	else if (strcmp(key, "migrate_retries") == 0)
		o->retries = (uint32_t)(v > 1000 ? 1000 : v);
	else
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL,
				    "postgres URL: unknown libmigrate parameter \"%s\"", key);
	return 0;
}

/*
 * Splits the libmigrate parameters out of `url`: *libpq receives the URL
 * libpq should see (caller frees), `o` the options.
 */
static int url_split(const char *url, char **libpq, migrate_postgres_options_t *o, char *schema, size_t schema_size,
		     int64_t *renew_ms, migrate_error_t *err)
{
	const char *q = strchr(url, '?');
	const char *p;
	migrate_buf_t *kept;
	int first = 1, rc = 0;

	if (!q) {
		*libpq = migrate__strdup(url);
		return *libpq ? 0 : migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_ENOMEM, "out of memory");
	}
	kept = migrate__buf_new(NULL);
	migrate_buf_printf(kept, "%.*s", (int)(q - url), url);
	for (p = q + 1; *p;) {
		const char *end = strchr(p, '&');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n > 8 && strncmp(p, "migrate_", 8) == 0) {
			char key[64], value[256];
			const char *eq = memchr(p, '=', n);
			if (!eq || migrate__url_decode_query(p, (size_t)(eq - p), key, sizeof key) != 0 ||
			    migrate__url_decode_query(eq + 1, n - (size_t)(eq + 1 - p), value, sizeof value) != 0) {
				rc = migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL,
						  "postgres URL: malformed libmigrate parameter \"%.*s\"",
						  (int)(eq ? eq - p : (ptrdiff_t)(n > 40 ? 40 : n)), p);
				break;
			}
			if ((rc = url_option(key, value, o, schema, schema_size, renew_ms, err)) != 0)
				break;
		} else if (n > 0) {
			migrate_buf_printf(kept, "%s%.*s", first ? "?" : "&", (int)n, p);
			first = 0;
		}
		p = end ? end + 1 : p + n;
	}
	if (rc) {
		migrate__buf_free(kept, true);
		return rc;
	}
	*libpq = migrate__buf_free(kept, false);
	return *libpq ? 0 : migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ENOMEM, "out of memory");
}

/*
 * Takes the userinfo password out of `url`: *rest receives the URL without
 * it (caller frees), `password` the decoded password ("" when none). libpq
 * then gets the password as a parameter of its own, so that it neither
 * splits it at an '@' nor quotes it in an error.
 */
static int url_take_password(const char *url, const char *shown, char **rest, char *password, size_t size,
			     migrate_error_t *err)
{
	migrate_buf_t *s;
	size_t start, len, i, user;

	password[0] = '\0';
	if (!migrate__url_password(url, &start, &len)) {
		*rest = migrate__strdup(url);
		return *rest ? 0 : migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_ENOMEM, "out of memory");
	}
	if (migrate__url_decode(url + start, len, password, size) != 0)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL,
				    "postgres URL %s: the password is not percent-encoded correctly (write %% as %%25 "
				    "and @ as %%40; %%00 is not allowed)",
				    shown);
	s = migrate__buf_new(NULL);
	user = (size_t)(strstr(url, "://") + 3 - url);
	migrate_buf_printf(s, "%.*s", (int)user, url);
	/* An '@' in the user name would end the userinfo early for libpq. */
	for (i = user; i < start - 1; i++) {
		if (url[i] == '@')
			migrate_buf_append(s, "%40");
		else
			migrate_buf_append_c(s, url[i]);
	}
	migrate_buf_append(s, url[start + len] == '@' && start - 1 > user ? "@" : "");
	migrate_buf_append(s, url + start + len + 1);
	*rest = migrate__buf_free(s, false);
	return *rest ? 0 : migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ENOMEM, "out of memory");
}

/* The last line of libpq's error text, without the trailing newline. */
static void trim_message(const char *msg, char *out, size_t size)
{
	size_t n;

	snprintf(out, size, "%s", msg ? msg : "");
	n = strlen(out);
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
		out[--n] = '\0';
	for (n = 0; out[n]; n++)
		if (out[n] == '\n')
			out[n] = ' ';
}

/* Server notices on our own connections go to the log, not to stderr. */
static void notice_to_log(void *arg, const char *message)
{
	char msg[600];

	(void)arg;
	trim_message(message, msg, sizeof msg);
	migrate__log(MIGRATE_LOG_INFO, "postgres: %s", msg);
}

static int pg_open(const char *url, void **conn, migrate_error_t *err)
{
	migrate_postgres_options_t o = MIGRATE_POSTGRES_OPTIONS_INIT;
	char schema[256], redacted[512], msg[600], password[1024];
	const char *keys[] = {"client_encoding", "fallback_application_name", "dbname", NULL, NULL};
	const char *values[] = {"UTF8", "libmigrate", NULL, NULL, NULL};
	char *libpq = NULL, *rest = NULL;
	pg_target_t *t = NULL;
	int64_t renew_ms = 0, every_ms = 0;
	PGconn *c;
	int rc;

	migrate__redact_url(url, redacted, sizeof redacted);
	if ((rc = url_take_password(url, redacted, &rest, password, sizeof password, err)) != 0)
		goto cleanup;
	if ((rc = url_split(rest, &libpq, &o, schema, sizeof schema, &renew_ms, err)) != 0)
		goto cleanup;
	if ((rc = check_options(&o, err)) != 0 ||
	    (rc = migrate__lease_renewal("postgres URL", o.lease_ms, renew_ms, &every_ms, err)) != 0)
		goto cleanup;
	values[2] = libpq;
	if (password[0]) {
		/* After dbname: a parameter there wins over the URL's. */
		keys[3] = "password";
		values[3] = password;
	}
	c = PQconnectdbParams(keys, values, 1);
	if (!c || PQstatus(c) != CONNECTION_OK) {
		trim_message(c ? PQerrorMessage(c) : "out of memory", msg, sizeof msg);
		PQfinish(c);
		/* libpq may quote the URL or a part of it: none of it reaches the caller. */
		migrate__scrub(msg, sizeof msg, libpq);
		migrate__scrub(msg, sizeof msg, url);
		rc = migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ECONNECT, "cannot connect to %s: %s", redacted,
				  msg);
		goto cleanup;
	}
	if ((rc = target_new(&t, &o, err)) != 0) {
		PQfinish(c);
		goto cleanup;
	}
	PQsetNoticeProcessor(c, notice_to_log, NULL);
	t->lease_every_ms = every_ms;
	t->conn = c;
	t->owned = 1;
	snprintf(t->redacted, sizeof t->redacted, "%s", redacted);
	*conn = t;
cleanup:
	explicit_bzero(password, sizeof password);
	free(rest);
	free(libpq);
	return rc;
}

static void pg_close(void *conn)
{
	pg_target_t *t = conn;

	if (t && t->conn && !t->owned && t->in_txn)
		migrate__pg_abort(t);
	target_free(t);
}

static void *pg_native(void *conn)
{
	return ((pg_target_t *)conn)->conn;
}

/* migrate_target_open_postgres_opts(), reached through the module table. */
static int pg_wrap(migrate_target_t **out, void *handle, const void *arg, migrate_error_t *err)
{
	PGconn *conn = handle;
	const migrate_postgres_options_t *opts = arg;
	migrate_postgres_options_t dflt = MIGRATE_POSTGRES_OPTIONS_INIT;
	pg_target_t *t;
	int rc;

	if (!out || !conn)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL,
				    "migrate_target_open_postgres: out and conn are required");
	*out = NULL;
	if (!opts)
		opts = &dflt;
	if ((rc = check_options(opts, err)) != 0)
		return rc;
	if (PQstatus(conn) != CONNECTION_OK)
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ECONNECT,
				    "migrate_target_open_postgres: the connection is not open");
	if ((rc = target_new(&t, opts, err)) != 0)
		return rc;
	t->conn = conn;
	snprintf(t->redacted, sizeof t->redacted, "(borrowed connection to %s)", PQdb(conn));
	rc = migrate_target_from_driver(out, &migrate__postgres_driver, t, err);
	if (rc)
		target_free(t);
	return rc;
}

/* ---- statements and errors ---------------------------------------------- */

const char *migrate__pg_state(const PGresult *res)
{
	const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	return s ? s : "";
}

int migrate__pg_lost(const pg_target_t *t)
{
	return PQstatus(t->conn) != CONNECTION_OK;
}

int migrate__pg_fail(pg_target_t *t, PGresult *res, const char *what, migrate_error_t *err)
{
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
	const char *hint = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL;
	const char *state = migrate__pg_state(res);
	char msg[700];

	if (primary)
		snprintf(msg, sizeof msg, "%s", primary);
	else
		trim_message(PQerrorMessage(t->conn), msg, sizeof msg);
	t->timed_out = !strcmp(state, "57014") && primary && strstr(primary, "statement timeout");
	if (migrate__pg_lost(t) || strncmp(state, "08", 2) == 0 || strncmp(state, "57P0", 4) == 0) {
		char now[600];
		trim_message(PQerrorMessage(t->conn), now, sizeof now);
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ECONNECT,
				    "%s: the connection to PostgreSQL was lost: %s%s%s", what, msg,
				    strcmp(now, msg) && now[0] ? "; " : "", strcmp(now, msg) ? now : "");
	}
	return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EDB, "%s: %s%s%s%s%s%s%s [SQLSTATE %s]", what, msg,
			    detail ? " (" : "", detail ? detail : "", detail ? ")" : "", hint ? " (hint: " : "",
			    hint ? hint : "", hint ? ")" : "", state[0] ? state : "none");
}

static int result_ok(const PGresult *res)
{
	ExecStatusType s = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK || s == PGRES_EMPTY_QUERY;
}

static void log_statement(const char *sql, int n)
{
	if (migrate__log_enabled(MIGRATE_LOG_DEBUG))
		migrate__log(MIGRATE_LOG_DEBUG, "postgres: %s%s", sql, n ? " (with parameters)" : "");
}

static int finish(pg_target_t *t, PGresult *res, PGresult **out, PGresult **failed, const char *what,
		  migrate_error_t *err)
{
	int rc;

	if (result_ok(res)) {
		if (out)
			*out = res;
		else
			PQclear(res);
		return 0;
	}
	rc = migrate__pg_fail(t, res, what, err);
	if (failed)
		*failed = res;
	else
		PQclear(res);
	return rc;
}

/* Sends the pending BEGIN on its own, before a statement that cannot carry it. */
static int flush_begin(pg_target_t *t, migrate_error_t *err)
{
	PGresult *res;
	int rc;

	if (!t->begin_pending)
		return 0;
	t->begin_pending = 0;
	if ((rc = migrate__fault(MIGRATE__FAULT_STMT, "BEGIN", err)))
		return rc;
	log_statement(t->begin_sql, 0);
	res = PQexec(t->conn, t->begin_sql);
	return finish(t, res, NULL, NULL, "BEGIN", err);
}

#ifdef LIBPQ_HAS_PIPELINING
/* The next result of a pipeline, and the NULL that ends it. */
static PGresult *pipeline_result(PGconn *c)
{
	PGresult *res = PQgetResult(c), *more;

	while (res && (more = PQgetResult(c)) != NULL)
		PQclear(more);
	return res;
}

/*
 * After a send failed in a pipeline: what was queued runs to a sync, its
 * results are dropped, and the connection leaves pipeline mode (libpq does
 * not leave it while queries are pending, and no other call works in it).
 * A transaction the queued BEGIN opened is the caller's to roll back.
 */
static void pipeline_abandon(PGconn *c)
{
	PGresult *r;
	int nulls = 0;

	if (PQpipelineSync(c))
		while (nulls < 8 && PQstatus(c) == CONNECTION_OK) {
			if (!(r = PQgetResult(c))) {
				nulls++;
				continue;
			}
			nulls = 0;
			if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
				PQclear(r);
				break;
			}
			PQclear(r);
		}
	PQexitPipelineMode(c);
}

/* A statement of a pipeline: its text and parameters, and what it does (to name a failure). */
typedef struct pipe_stmt {
	const char *sql;
	int n;
	const char *const *values;
	const char *what;
} pipe_stmt_t;

/*
 * Sends `n` statements in one pipeline and collects their results into
 * `results` (one each, the caller clears them). Non-zero: libpq refused
 * one before sending it (too many parameters, out of memory), reported
 * under its `what` (the sync's as the last's), with nothing collected and
 * the connection out of pipeline mode.
 */
static int pipeline_run(pg_target_t *t, const pipe_stmt_t *s, int n, PGresult **results, migrate_error_t *err)
{
	int i, rc;

	for (i = 0; i < n; i++)
		results[i] = NULL;
	if (!PQenterPipelineMode(t->conn))
		return migrate__pg_fail(t, NULL, s[0].what, err);
	for (i = 0; i < n; i++)
		if (!PQsendQueryParams(t->conn, s[i].sql, s[i].n, NULL, s[i].values, NULL, NULL, 0))
			break;
	if (i < n || !PQpipelineSync(t->conn)) {
		rc = migrate__pg_fail(t, NULL, s[i < n ? i : n - 1].what, err);
		pipeline_abandon(t->conn);
		return rc;
	}
	for (i = 0; i < n; i++)
		results[i] = pipeline_result(t->conn);
	PQclear(PQgetResult(t->conn)); /* the sync */
	PQexitPipelineMode(t->conn);
	return 0;
}

/*
 * The pending BEGIN and a statement with parameters in one round trip
 * (libpq's pipeline mode): BEGIN, the SELECT of its settings, the
 * statement. A failed BEGIN or setting is reported as the BEGIN's (the
 * statement then does not run); a failed statement leaves the transaction
 * open and failed, as when they went one after the other.
 */
static int begin_with(pg_target_t *t, const char *sql, int n, const char *const *values, PGresult **res,
		      const char *what, migrate_error_t *err)
{
	/* Refused before it is sent (too many parameters, out of memory): the statement's own failure. */
	pipe_stmt_t s[3] = {{"BEGIN", 0, NULL, "BEGIN"}, {t->begin_conf, 0, NULL, "BEGIN"}, {sql, n, values, what}};
	PGresult *r[3] = {NULL, NULL, NULL};
	int rc;

	t->begin_pending = 0;
	*res = NULL;
	if (migrate__log_enabled(MIGRATE_LOG_DEBUG)) /* one line, as for every round trip */
		migrate__log(MIGRATE_LOG_DEBUG, "postgres: %s; %s (with parameters)", t->begin_sql, sql);
	if (!t->begin_conf[0])
		s[1] = s[2]; /* no settings: BEGIN and the statement */
	if ((rc = pipeline_run(t, s, t->begin_conf[0] ? 3 : 2, r, err)))
		return rc;
	if (!result_ok(r[0]))
		rc = migrate__pg_fail(t, r[0], "BEGIN", err);
	else if (t->begin_conf[0] && !result_ok(r[1]))
		rc = migrate__pg_fail(t, r[1], "BEGIN", err);
	*res = r[t->begin_conf[0] ? 2 : 1];
	if (rc) {
		PQclear(*res);
		*res = NULL;
	}
	PQclear(r[0]);
	if (t->begin_conf[0])
		PQclear(r[1]);
	return rc;
}
#endif

/*
 * A statement with parameters, after the pending BEGIN if there is one (in
 * the same round trip where libpq pipelines); *res its result, for finish().
 * Non-zero: the BEGIN failed or a fault was injected, and nothing is left
 * to finish.
 */
static int send_params(pg_target_t *t, const char *sql, int n, const char *const *values, PGresult **res,
		       const char *what, migrate_error_t *err)
{
	int rc;

	*res = NULL;
#ifdef LIBPQ_HAS_PIPELINING
	if (t->begin_pending && !PQisnonblocking(t->conn)) {
		if ((rc = migrate__fault(MIGRATE__FAULT_STMT, "BEGIN", err)) ||
		    (rc = migrate__fault(MIGRATE__FAULT_STMT, what ? what : "statement", err))) {
			t->begin_pending = 0;
			return rc;
		}
		return begin_with(t, sql, n, values, res, what, err);
	}
#endif
	if ((rc = flush_begin(t, err)) || (rc = migrate__fault(MIGRATE__FAULT_STMT, what ? what : "statement", err)))
		return rc;
	log_statement(sql, n);
	*res = PQexecParams(t->conn, sql, n, NULL, values, NULL, NULL, 0);
	return 0;
}

/* Sends the history write held back for the COMMIT on its own, before another statement. */
static int flush_journal(pg_target_t *t, migrate_error_t *err)
{
	PGresult *res;
	int rc;

	if (!t->journal_sql)
		return 0;
	if ((rc = flush_begin(t, err)) == 0 &&
	    (rc = migrate__fault(MIGRATE__FAULT_STMT, "writing the history", err)) == 0) {
		log_statement(t->journal_sql, t->journal_n);
		res = PQexecParams(t->conn, t->journal_sql, t->journal_n, NULL, (const char *const *)t->journal_vals,
				   NULL, NULL, 0);
		rc = finish(t, res, NULL, NULL, "writing the history", err);
	}
	journal_drop(t);
	return rc;
}

int migrate__pg_exec_failed(pg_target_t *t, const char *sql, int n, const char *const *values, PGresult **out,
			    PGresult **failed, const char *what, migrate_error_t *err)
{
	migrate_buf_t *joined = NULL;
	PGresult *res;
	int rc;

	if (out)
		*out = NULL;
	if (failed)
		*failed = NULL;
	if ((rc = flush_journal(t, err)))
		return rc;
	if (n) {
		if ((rc = send_params(t, sql, n, values, &res, what, err)))
			return rc;
		return finish(t, res, out, failed, what, err);
	}
	if ((rc = migrate__fault(MIGRATE__FAULT_STMT, what ? what : "statement", err)))
		return rc;
	if (t->begin_pending) {
		/* One simple query: a failure after the BEGIN leaves the
		 * transaction open and failed, as if it had gone alone. */
		joined = migrate__buf_new(t->begin_sql);
		migrate_buf_append(joined, ";\n");
		migrate_buf_append(joined, sql);
		sql = joined->str;
		t->begin_pending = 0;
	}
	log_statement(sql, n);
	res = PQexec(t->conn, sql);
	if (joined)
		migrate__buf_free(joined, true);
	return finish(t, res, out, failed, what, err);
}

int migrate__pg_exec(pg_target_t *t, const char *sql, int n, const char *const *values, PGresult **out,
		     const char *what, migrate_error_t *err)
{
	return migrate__pg_exec_failed(t, sql, n, values, out, NULL, what, err);
}

/* One bound value as libpq text; `buf` holds numbers (32 bytes). */
static const char *param_text(const bson_iter_t *it, char *buf, migrate_buf_t **json)
{
	switch (bson_iter_type(it)) {
	case BSON_TYPE_UTF8: return bson_iter_utf8(it, NULL);
	case BSON_TYPE_BOOL: return bson_iter_bool(it) ? "true" : "false";
	case BSON_TYPE_INT32: snprintf(buf, 32, "%" PRId32, bson_iter_int32(it)); return buf;
	case BSON_TYPE_INT64: snprintf(buf, 32, "%" PRId64, bson_iter_int64(it)); return buf;
	case BSON_TYPE_DOUBLE: snprintf(buf, 32, "%.17g", bson_iter_double(it)); return buf;
	case BSON_TYPE_BINARY: {
		const uint8_t *data;
		uint32_t len, k;
		bson_subtype_t sub;
		bson_iter_binary(it, &sub, &len, &data);
		*json = migrate__buf_new("\\x");
		for (k = 0; k < len; k++)
			migrate_buf_printf(*json, "%02x", data[k]);
		return (*json)->str;
	}
	case BSON_TYPE_DOCUMENT:
	case BSON_TYPE_ARRAY: {
		const uint8_t *data;
		uint32_t len;
		bson_t sub;
		*json = migrate__buf_new(NULL);
		if (BSON_ITER_HOLDS_DOCUMENT(it))
			bson_iter_document(it, &len, &data);
		else
			bson_iter_array(it, &len, &data);
		if (bson_init_static(&sub, data, len))
			migrate__json_canonical(&sub, BSON_ITER_HOLDS_ARRAY(it), *json);
		return (*json)->str;
	}
	default: return NULL;
	}
}

int migrate__pg_exec_head(pg_target_t *t, const char *sql, const bson_t *params, uint32_t nhead,
			  const char *const *head, PGresult **out, PGresult **failed, const char *what,
			  migrate_error_t *err)
{
	uint32_t n = params ? bson_count_keys(params) : 0, i = 0;
	const char **values = NULL;
	char(*nums)[32] = NULL;
	migrate_buf_t **json = NULL;
	bson_iter_t it;
	PGresult *res;
	int rc;

	if (out)
		*out = NULL;
	if (failed)
		*failed = NULL;
	if ((rc = flush_journal(t, err)))
		return rc;
	if (n < nhead)
		n = nhead;
	if (n) {
		values = migrate__calloc(n, sizeof *values);
		nums = migrate__calloc(n, sizeof *nums);
		json = migrate__calloc(n, sizeof *json);
		if (!values || !nums || !json) {
			rc = migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ENOMEM, "out of memory");
			goto cleanup;
		}
		if (params && bson_iter_init(&it, params)) {
			while (bson_iter_next(&it) && i < n) {
				values[i] = i < nhead ? head[i] : param_text(&it, nums[i], &json[i]);
				i++;
			}
		}
		for (; i < nhead; i++)
			values[i] = head[i];
	}
	if ((rc = send_params(t, sql, (int)n, values, &res, what, err)) == 0)
		rc = finish(t, res, out, failed, what, err);
cleanup:
	for (i = 0; json && i < n; i++)
		if (json[i])
			migrate__buf_free(json[i], true);
	free(json);
	free(nums);
	free(values);
	return rc;
}

int migrate__pg_exec_params(pg_target_t *t, const char *sql, const bson_t *params, PGresult **out, PGresult **failed,
			    const char *what, migrate_error_t *err)
{
	return migrate__pg_exec_head(t, sql, params, 0, NULL, out, failed, what, err);
}

int migrate__pg_exec_sql(pg_target_t *t, const migrate_sql_t *q, PGresult **out, PGresult **failed, const char *what,
			 migrate_error_t *err)
{
	return migrate__pg_exec_params(t, migrate__sql_text(q), q->nparams ? &q->params : NULL, out, failed, what, err);
}

/* ---- transactions ------------------------------------------------------- */

int migrate__pg_idle(pg_target_t *t, const char *what, migrate_error_t *err)
{
	if (PQstatus(t->conn) == CONNECTION_OK && PQtransactionStatus(t->conn) != PQTRANS_IDLE)
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ESTATE,
				    "%s: the connection is already inside a transaction; libmigrate runs its own "
				    "transactions and will not commit the application's",
				    what);
	return 0;
}

int migrate__pg_begin(void *conn, migrate_error_t *err)
{
	return migrate__pg_begin_batch(conn, 0, 0, err);
}

/* One setting of a BEGIN: "; SET LOCAL name = value" and set_config('name', 'value', true). */
static void begin_setting(pg_target_t *t, int *n, int *m, const char *name, const char *value)
{
	*n += snprintf(t->begin_sql + *n, sizeof t->begin_sql - (size_t)*n, "; SET LOCAL %s = %s", name, value);
	*m += snprintf(t->begin_conf + *m, sizeof t->begin_conf - (size_t)*m, "%sset_config('%s', '%s', true)",
		       *m ? ", " : "SELECT ", name, value);
}

int migrate__pg_begin_batch(pg_target_t *t, int batch, int64_t cut_ms, migrate_error_t *err)
{
	int64_t timeout = t->statement_timeout_ms;
	char num[24];
	int rc, n, m = 0;

	if ((rc = migrate__pg_idle(t, "BEGIN", err)))
		return rc;
	/* Every transaction of a run bounds its lock waits (SET LOCAL ends with it). */
	n = snprintf(t->begin_sql, sizeof t->begin_sql, "BEGIN");
	t->begin_conf[0] = '\0';
	if (t->lock_timeout_ms > 0) {
		snprintf(num, sizeof num, "%" PRId64, t->lock_timeout_ms);
		begin_setting(t, &n, &m, "lock_timeout", num);
	}
	/* A backend whose client was killed ends its statement within a second
	 * (PostgreSQL 14+, on Linux) instead of running it out while it holds
	 * the plan's advisory lock, so the next run is not kept waiting. */
	if (PQserverVersion(t->conn) >= 140000)
		begin_setting(t, &n, &m, "client_connection_check_interval", "1000");
	if (cut_ms > 0 && (timeout <= 0 || cut_ms < timeout))
		timeout = cut_ms;
	if (timeout > 0) {
		snprintf(num, sizeof num, "%" PRId64, timeout);
		begin_setting(t, &n, &m, "statement_timeout", num);
	}
	/* A batch is a small statement run many times: compiling it with LLVM
	 * (when its estimated cost passes jit_above_cost) costs one batch about
	 * 100 ms of held row locks and saves nothing. */
	if (batch)
		begin_setting(t, &n, &m, "jit", "off");
	/* Every transaction of a run commits without waiting for its WAL to
	 * reach the disk: the run ends with one commit that waits
	 * (migrate__pg_sync), and the WAL being one sequence, that makes every
	 * transaction before it durable. A server that crashes first loses the
	 * last transactions together with their history and journal writes,
	 * which are in them, and the next run does them again, once. One
	 * flush per run instead of one per version and per batch. */
	begin_setting(t, &n, &m, "synchronous_commit", "off");
	/* Sent with the transaction's first statement. */
	t->begin_pending = 1;
	t->in_txn = 1;
	return 0;
}

int migrate__pg_exec_journal(pg_target_t *t, const char *sql, int n, const char *const *values, const char *what,
			     migrate_error_t *err)
{
#ifdef LIBPQ_HAS_PIPELINING
	int i;

	/* Not on an application's connection in nonblocking mode: a pipeline
	 * there would need its own flushing (PQexec blocks regardless). */
	if (t->in_txn && !t->journal_sql && n <= PG_JOURNAL_PARAMS && !PQisnonblocking(t->conn) &&
	    (t->journal_sql = migrate__strdup(sql))) {
		for (i = 0; i < n; i++) {
			t->journal_vals[i] = NULL;
			if (values[i] && !(t->journal_vals[i] = migrate__strdup(values[i])))
				break;
		}
		t->journal_n = i;
		if (i == n)
			return 0;
		journal_drop(t); /* out of memory: sent at once instead */
	}
#endif
	return migrate__pg_exec(t, sql, n, values, NULL, what, err);
}

static int commit_result(pg_target_t *t, PGresult *res, migrate_error_t *err)
{
	if (!result_ok(res))
		return migrate__pg_fail(t, res, "COMMIT", err);
	if (strcmp(PQcmdStatus(res), "ROLLBACK") == 0)
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EDB,
				    "COMMIT: the transaction had failed and was rolled back");
	return 0;
}

#ifdef LIBPQ_HAS_PIPELINING
/*
 * The held-back history write and the COMMIT in one round trip. A failed
 * write leaves the COMMIT unrun (the pipeline is aborted) and the
 * transaction open and failed, for the caller's rollback, as when they
 * went one after the other.
 */
static int commit_with_journal(pg_target_t *t, migrate_error_t *err)
{
	pipe_stmt_t s[2] = {
		{t->journal_sql, t->journal_n, (const char *const *)t->journal_vals, "writing the history and COMMIT"},
		{"COMMIT", 0, NULL, "writing the history and COMMIT"}};
	PGresult *r[2] = {NULL, NULL};
	int rc;

	if ((rc = migrate__fault(MIGRATE__FAULT_STMT, "writing the history", err)) ||
	    (rc = migrate__fault(MIGRATE__FAULT_STMT, "COMMIT", err)))
		goto done;
	if (migrate__log_enabled(MIGRATE_LOG_DEBUG)) /* one line, as for every round trip */
		migrate__log(MIGRATE_LOG_DEBUG, "postgres: %s (with parameters); COMMIT", t->journal_sql);
	if ((rc = pipeline_run(t, s, 2, r, err)))
		goto done;
	if (!result_ok(r[0]))
		rc = migrate__pg_fail(t, r[0], "writing the history", err);
	else
		rc = commit_result(t, r[1], err);
done:
	PQclear(r[0]);
	PQclear(r[1]);
	journal_drop(t);
	return rc;
}
#endif

int migrate__pg_commit(void *conn, migrate_error_t *err)
{
	pg_target_t *t = conn;
	PGresult *res = NULL;
	int rc;

#ifdef LIBPQ_HAS_PIPELINING
	if (t->journal_sql) {
		if ((rc = flush_begin(t, err)) == 0)
			rc = commit_with_journal(t, err);
		journal_drop(t);
		t->in_txn = 0;
		t->unflushed |= rc == 0;
		return rc;
	}
#endif
	if (t->begin_pending) {
		/* Nothing was sent: nothing to commit. */
		t->begin_pending = 0;
		t->in_txn = 0;
		return 0;
	}
	rc = migrate__pg_exec(t, "COMMIT", 0, NULL, &res, "COMMIT", err);
	t->in_txn = 0;
	if (rc == 0)
		rc = commit_result(t, res, err);
	PQclear(res);
	t->unflushed |= rc == 0;
	return rc;
}

int migrate__pg_rollback(void *conn, migrate_error_t *err)
{
	pg_target_t *t = conn;
	int rc;

	t->in_txn = 0;
	journal_drop(t);
	if (t->begin_pending) {
		t->begin_pending = 0;
		return 0; /* never begun on the server */
	}
	if (PQstatus(t->conn) != CONNECTION_OK)
		return 0; /* the server rolled it back when the connection ended */
	rc = migrate__pg_exec(t, "ROLLBACK", 0, NULL, NULL, "ROLLBACK", err);
	return rc;
}

void migrate__pg_abort(pg_target_t *t)
{
	t->in_txn = 0;
	t->begin_pending = 0;
	journal_drop(t);
	if (PQstatus(t->conn) == CONNECTION_OK && PQtransactionStatus(t->conn) != PQTRANS_IDLE)
		PQclear(PQexec(t->conn, "ROLLBACK"));
}

/*
 * The run's one commit that waits for its WAL (its transactions commit
 * without waiting: migrate__pg_begin_batch). A commit waits only when its
 * transaction wrote WAL before it (a transaction that only has an id,
 * SELECT txid_current(), does not), so this transaction takes a row lock
 * on a history row, which writes WAL: its commit then waits for the WAL up
 * to it, and so for every commit before it, under the session's own
 * synchronous_commit (and synchronous standbys). With no row to lock (a
 * history emptied by a down to 0, or every row locked by other plans'
 * runs) a transactional logical message writes the WAL instead. (Polling
 * pg_current_wal_flush_lsn() for the insert position does not do: when the
 * WAL ends on a page boundary the insert position is past the next page's
 * header, which an idle server does not flush until it writes something
 * else.) One round trip; the lock's wait on the history table (someone's
 * LOCK TABLE) is bounded by the target's lock_timeout.
 */
int migrate__pg_sync(void *conn, migrate_error_t *err)
{
	pg_target_t *t = conn;
	migrate_buf_t *s;
	int rc;

	if (!t->unflushed || migrate__pg_lost(t))
		return 0; /* nothing to wait for, or nothing to wait with (the run failed with the connection) */
	if (t->in_txn)
		migrate__pg_abort(t);
	s = migrate__buf_new(NULL);
	migrate_buf_append(s, "BEGIN; ");
	if (t->lock_timeout_ms > 0)
		migrate_buf_printf(s, "SET LOCAL lock_timeout = %" PRId64 "; ", t->lock_timeout_ms);
	migrate_buf_printf(s,
			   "SELECT CASE WHEN NOT EXISTS (SELECT FROM %s LIMIT 1 FOR KEY SHARE SKIP LOCKED) "
			   "THEN pg_logical_emit_message(true, 'libmigrate', 'sync') END; COMMIT",
			   t->history);
	rc = migrate__pg_exec(t, s->str, 0, NULL, NULL, "making the run's commits durable", err);
	migrate__buf_free(s, true);
	if (rc) {
		migrate__pg_abort(t); /* the failed transaction block the string left open */
		return rc;
	}
	t->unflushed = 0;
	return 0;
}

uint32_t migrate__pg_backoff_ms(uint32_t attempt)
{
	uint32_t ms = 250;

	while (attempt-- > 1 && ms < 8000)
		ms *= 2;
	return ms > 8000 ? 8000 : ms;
}

int migrate__pg_retryable(const char *s)
{
	return strcmp(s, PG_LOCK_NOT_AVAILABLE) == 0 || strcmp(s, PG_DEADLOCK) == 0 || strcmp(s, PG_SERIALIZATION) == 0;
}

/* ---- the driver --------------------------------------------------------- */

static const char *const pg_schemes[] = {"postgresql", "postgres", NULL};

const migrate_driver_t migrate__postgres_driver = {
	MIGRATE_DRIVER_VERSION,
	"postgres",
	pg_schemes,
	pg_open,
	pg_close,
	pg_native,
	migrate__pg_check_step,
	migrate__pg_step_flags,
	migrate__pg_render_step,
	migrate__pg_apply_step,
	migrate__pg_history_ensure,
	migrate__pg_history_read,
	migrate__pg_history_write,
	migrate__pg_history_delete,
	migrate__pg_lock_try,
	migrate__pg_lock_release,
	migrate__pg_begin,
	migrate__pg_commit,
	migrate__pg_rollback,
	migrate__pg_schema_read,
	migrate__pg_schema_type,
	migrate__pg_table_rows,
	migrate__pg_sync,
};

/* What the library finds when it loads this module (module.c). */
MIGRATE__MODULE_ENTRY const migrate__module_t migrate__module_postgres = {
	MIGRATE__MODULE_ABI,   MIGRATE_VERSION_STRING,     &migrate__postgres_driver, pg_wrap,
	migrate__pg_read_rows, migrate__pg_history_states,
};
