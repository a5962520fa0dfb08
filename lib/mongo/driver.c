/*
 * The MongoDB driver table and its targets: from a mongodb:// URL (the
 * driver owns the client) or around an application's mongoc_client_t
 * (borrowed, never destroyed).
 */
#include <string.h>

#include "migrate/mongo.h"
#include "mongo_int.h"

static int mongo_open(const char *url, void **conn, migrate_error_t *err)
{
	char safe[512];
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
	if (!(uri = mongoc_uri_new_with_error(url, &e)))
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
	MIGRATE__MODULE_ABI,
	MIGRATE_VERSION_STRING,
	&migrate__mongo_driver,
	mongo_wrap,
};
