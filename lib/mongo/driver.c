/*
 * The MongoDB driver table and its targets: from a mongodb:// URL (the
 * driver owns the client) or around an application's mongoc_client_t
 * (borrowed, never destroyed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "migrate/mongo.h"
#include "mongo_int.h"

/* libmigrate's own parameters of a MongoDB URL. */
typedef struct url_opts {
	char history[128]; /* migrate_history=<collection> (MONGO_HISTORY when absent) */
	int rewrite;       /* migrate_rewrite=auto|0|1: -1 (auto), 0 or 1 */
	int64_t lease_ms;  /* migrate_lease_ms=N, 0 when absent */
	int64_t renew_ms;  /* migrate_lease_renew_ms=N, 0 when absent */
} url_opts_t;

/* Does the parameter p (n bytes) set `name` ("migrate_x=")? */
static bool is_param(const char *p, size_t n, const char *name)
{
	size_t len = strlen(name);

	/* URI option names are case-insensitive, as libmongoc reads them. */
	return n >= len && strncasecmp(p, name, len) == 0;
}

/* Applies one migrate_* parameter (n bytes at p) to `o`. */
static int take_option(const char *p, size_t n, const char *safe, url_opts_t *o, migrate_error_t *err)
{
	char where[600];

	snprintf(where, sizeof where, "MongoDB URL %s", safe);
	if (is_param(p, n, "migrate_history=")) {
		if (migrate__url_decode_query(p + 16, n - 16, o->history, sizeof o->history) < 0 ||
		    (strcmp(o->history, MONGO_HISTORY) != 0 &&
		     migrate__mongo_check_collection(o->history, "migrate_history", NULL) != 0))
			return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EINVAL,
					    "%s: migrate_history must name a collection", where);
		return 0;
	}
	if (is_param(p, n, "migrate_rewrite=")) {
		if (n == 20 && strncasecmp(p + 16, "auto", 4) == 0)
			o->rewrite = -1;
		else if (n == 17 && (p[16] == '0' || p[16] == '1'))
			o->rewrite = p[16] - '0';
		else
			return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EINVAL,
					    "%s: migrate_rewrite takes auto, 0 or 1, not \"%.*s\"", where,
					    (int)(n - 16), p + 16);
		return 0;
	}
	if (is_param(p, n, "migrate_lease_ms="))
		return migrate__lease_option(where, "migrate_lease_ms", p + 17, n - 17, &o->lease_ms, err);
	if (is_param(p, n, "migrate_lease_renew_ms="))
		return migrate__lease_option(where, "migrate_lease_renew_ms", p + 23, n - 23, &o->renew_ms, err);
	return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EINVAL,
			    "%s: unknown option %.*s (MongoDB URLs take migrate_history, migrate_rewrite, "
			    "migrate_lease_ms and migrate_lease_renew_ms)",
			    where, (int)strcspn(p, "=&"), p);
}

/*
 * libmigrate's own URL parameters (url_opts_t) are taken out of the query
 * before libmongoc sees it: *rest is the URL without them (caller frees).
 * Any other migrate_* parameter is refused.
 */
static int take_options(const char *url, const char *safe, char **rest, url_opts_t *o, migrate_error_t *err)
{
	const char *q = strchr(url, '?'), *p, *end;
	migrate_buf_t *out = migrate__buf_new(NULL);
	bool first = true;
	int rc = 0;

	migrate_buf_append_n(out, url, q ? (size_t)(q - url) : strlen(url));
	for (p = q ? q + 1 : NULL; p && *p && rc == 0; p = end ? end + 1 : NULL) {
		size_t n;
		end = strchr(p, '&');
		n = end ? (size_t)(end - p) : strlen(p);
		if (is_param(p, n, "migrate_")) {
			rc = take_option(p, n, safe, o, err);
		} else if (n > 0) {
			migrate_buf_append(out, first ? "?" : "&");
			migrate_buf_append_n(out, p, n);
			first = false;
		}
	}
	if (rc == 0 && o->renew_ms) {
		int64_t every;
		char where[600];
		snprintf(where, sizeof where, "MongoDB URL %s", safe);
		rc = migrate__lease_renewal(where, o->lease_ms ? o->lease_ms : migrate__mongo_default_lease_ms(),
					    o->renew_ms, &every, err);
	}
	if (rc == 0 && !(*rest = migrate__buf_free(out, false)))
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ENOMEM, "out of memory");
	if (rc)
		migrate__buf_free(out, true);
	return rc;
}

/*
 * Why the database part of a URL (after the hosts' '/', up to '?') is not
 * a database name MongoDB accepts, or NULL. libmongoc only says "Invalid
 * database name in URI".
 */
static const char *db_name_problem(const char *url)
{
	const char *hosts = strstr(url, "://"), *db, *end;
	size_t n;

	if (!hosts || !(db = strchr(hosts + 3, '/')))
		return NULL;
	db++;
	end = db + strcspn(db, "?");
	n = (size_t)(end - db);
	if (n == 0)
		return NULL;
	if (n >= 64)
		return "it is 64 bytes or longer";
	for (const char *p = db; p < end; p++) {
		switch (*p) {
		case '.': return "it contains '.'";
		case ' ': return "it contains a space";
		case '"': return "it contains '\"'";
		case '$': return "it contains '$'";
		case '\\': return "it contains '\\'";
		case '/': return "it contains '/'";
		default: break;
		}
	}
	return NULL;
}

static int mongo_open(const char *url, void **conn, migrate_error_t *err)
{
	char safe[512], *rest = NULL;
	url_opts_t o = {MONGO_HISTORY, -1, 0, 0};
	mongoc_uri_t *uri;
	mongoc_client_t *client;
	mongo_conn_t *c = NULL;
	bson_error_t e;
	const char *db;
	bson_t *ping;
	int rc;

	migrate__mongo_init_once();
	migrate__mongo_route_log_once();
	migrate__redact_url(url, safe, sizeof(safe));
	if ((rc = take_options(url, safe, &rest, &o, err)))
		return rc;
	uri = mongoc_uri_new_with_error(rest, &e);
	if (!uri && db_name_problem(rest)) {
		const char *why = db_name_problem(rest);
		free(rest);
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EINVAL,
				    "bad MongoDB URL %s: the database name after the host is not valid: %s", safe, why);
	}
	free(rest);
	if (!uri)
		/* mongoc's reason may quote a part of the URL: migrate_target_open()
		 * scrubs the URL's password and secret parameters from the message. */
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EINVAL, "bad MongoDB URL %s: %s", safe,
				    e.message);
	db = mongoc_uri_get_database(uri);
	if (!db || !*db) {
		mongoc_uri_destroy(uri);
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EINVAL,
				    "MongoDB URL %s names no database (mongodb://host/dbname)", safe);
	}
	if (migrate__mongo_check_collection(db, "database", NULL) != 0 || strchr(db, '/') || strchr(db, ' ')) {
		mongoc_uri_destroy(uri);
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EINVAL, "MongoDB URL %s: bad database name",
				    safe);
	}
	client = mongoc_client_new_from_uri_with_error(uri, &e);
	if (!client) {
		mongoc_uri_destroy(uri);
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ECONNECT, "cannot open %s", safe);
	}
	mongoc_client_set_error_api(client, MONGOC_ERROR_API_VERSION_2);
	mongoc_client_set_appname(client, "libmigrate");
	if ((rc = migrate__mongo_conn_new(&c, client, true, db, err))) {
		mongoc_client_destroy(client);
		mongoc_uri_destroy(uri);
		return rc;
	}
	mongoc_uri_destroy(uri);
	snprintf(c->history, sizeof c->history, "%s", o.history);
	c->rewrite = o.rewrite;
	c->lock.url_lease_ms = o.lease_ms;
	c->lock.url_renew_ms = o.renew_ms;
	/* Connect now, so that a wrong address fails here with a clear error. */
	ping = BCON_NEW("ping", BCON_INT32(1));
	if (!migrate__mongo_run(c, ping, NULL, &e)) {
		/* The server's or mongoc's text may echo the URL or a password. */
		migrate__scrub(e.message, sizeof e.message, url);
		rc = migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ECONNECT, "cannot connect to %s: %s", safe,
				  e.message);
		migrate__mongo_conn_free(c);
		c = NULL;
	}
	bson_destroy(ping);
	*conn = c;
	return rc;
}

static void mongo_close(void *conn)
{
	migrate__mongo_conn_free(conn);
}

/* Custom steps receive the target's mongoc_database_t *. */
static void *mongo_native(void *conn)
{
	return ((mongo_conn_t *)conn)->db;
}

static const char *const schemes[] = {"mongodb", NULL};

const migrate_driver_t migrate__mongo_driver = {
	.version = MIGRATE_DRIVER_VERSION,
	.name = "mongo",
	.schemes = schemes,
	.open = mongo_open,
	.close = mongo_close,
	.native_handle = mongo_native,
	.check_step = migrate__mongo_check_step,
	.step_flags = migrate__mongo_step_flags,
	.render_step = migrate__mongo_render_step,
	.apply_step = migrate__mongo_apply_step,
	.history_ensure = migrate__mongo_history_ensure,
	.history_read = migrate__mongo_history_read,
	.history_write = migrate__mongo_history_write,
	.history_delete = migrate__mongo_history_delete,
	.lock_try = migrate__mongo_lock_try,
	.lock_release = migrate__mongo_lock_release,
	/* No transactions: every step is idempotent or checkpointed. */
	.begin = NULL,
	.commit = NULL,
	.rollback = NULL,
	.schema_read = migrate__mongo_schema_read,
	.schema_type = NULL, /* collections have no column types */
	.table_rows = migrate__mongo_table_rows,
};

/* migrate_target_open_mongo(), reached through the module table. */
static int mongo_wrap(migrate_target_t **out, void *handle, const void *arg, migrate_error_t *err)
{
	mongoc_client_t *client = handle;
	const char *dbname = arg;
	mongo_conn_t *c;
	int rc;

	if (!out || !client || !dbname || !*dbname)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL,
				    "migrate_target_open_mongo: out, client and dbname are required");
	*out = NULL;
	if (migrate__mongo_check_collection(dbname, "database", NULL) != 0 || strchr(dbname, '/') ||
	    strchr(dbname, ' '))
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL, "bad database name \"%s\"", dbname);
	migrate__mongo_init_once();
	if ((rc = migrate__mongo_conn_new(&c, client, false, dbname, err)))
		return rc;
	if ((rc = migrate_target_from_driver(out, &migrate__mongo_driver, c, err)))
		migrate__mongo_conn_free(c); /* the target owns c only on success */
	return rc;
}

/* What the library finds when it loads this module (module.c). */
MIGRATE__MODULE_ENTRY const migrate__module_t migrate__module_mongo = {
	MIGRATE__MODULE_ABI, MIGRATE_VERSION_STRING, &migrate__mongo_driver, mongo_wrap, migrate__mongo_read_rows, NULL,
};
