/*
 * The built-in drivers and where their code lives.
 *
 * SQLite, the embedded default, is part of the library. PostgreSQL and
 * MongoDB are modules: in the shared library each is a file of its own,
 * libmigrate-<major>/<name>.so beside libmigrate.so, loaded the first time
 * a URL of its scheme or its wrap function (migrate_target_open_postgres,
 * migrate_target_open_mongo) is used. A program that only opens SQLite
 * never loads libpq, libmongoc or their TLS, SASL and Kerberos libraries
 * (start-up time, and libmongoc's load-time side effects). The static
 * library has every module compiled in.
 *
 * This file is compiled once per library: with MIGRATE_MODULE_DIR (the
 * installed module directory) for the shared one, without for the static
 * one. A module is never unloaded.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef MIGRATE_MODULE_DIR
#include <dlfcn.h>
#endif

#include "internal.h"
#ifdef MIGRATE_HAVE_POSTGRES
#include "migrate/postgres.h"
#endif
#ifdef MIGRATE_HAVE_MONGO
#include "migrate/mongo.h"
#endif

#define STR_(x) #x
#define STR(x) STR_(x)

/* One row per built-in driver: its name, its URL schemes, and (for a
 * module) where its table comes from. */
typedef struct builtin {
	const char *name;
	const char *const *schemes;
	const migrate_driver_t *linked;         /* part of this library */
	const migrate__module_t *static_module; /* compiled in (static library) */
} builtin_t;

#ifdef MIGRATE_HAVE_SQLITE
static const char *const sqlite_schemes[] = {"sqlite", NULL};
#endif
#ifdef MIGRATE_HAVE_POSTGRES
static const char *const postgres_schemes[] = {"postgresql", "postgres", NULL};
#ifndef MIGRATE_MODULE_DIR
extern const migrate__module_t migrate__module_postgres;
#endif
#endif
#ifdef MIGRATE_HAVE_MONGO
static const char *const mongo_schemes[] = {"mongodb", NULL};
#ifndef MIGRATE_MODULE_DIR
extern const migrate__module_t migrate__module_mongo;
#endif
#endif

#ifdef MIGRATE_MODULE_DIR
#define COMPILED_IN(m) NULL
#else
#define COMPILED_IN(m) (&(m))
#endif

static const builtin_t builtins[] = {
#ifdef MIGRATE_HAVE_SQLITE
	{"sqlite", sqlite_schemes, &migrate__sqlite_driver, NULL},
#endif
#ifdef MIGRATE_HAVE_POSTGRES
	{"postgres", postgres_schemes, NULL, COMPILED_IN(migrate__module_postgres)},
#endif
#ifdef MIGRATE_HAVE_MONGO
	{"mongo", mongo_schemes, NULL, COMPILED_IN(migrate__module_mongo)},
#endif
	{NULL, NULL, NULL, NULL}};

#define NBUILTINS (sizeof builtins / sizeof builtins[0] - 1)

bool migrate__has_scheme(const char *const *schemes, const char *url)
{
	size_t i, n;

	for (i = 0; schemes && schemes[i]; i++) {
		n = strlen(schemes[i]);
		if (strncmp(url, schemes[i], n) == 0 && url[n] == ':')
			return true;
	}
	return false;
}

#ifdef MIGRATE_MODULE_DIR
static pthread_mutex_t load_mutex = PTHREAD_MUTEX_INITIALIZER;
static const migrate__module_t *loaded[NBUILTINS + 1];
/* Any object of this library: dladdr() names the file it was loaded from. */
static const char anchor = 0;

static void *open_module(const char *name, char *path, size_t size, char *why, size_t why_size)
{
	const char *dir = NULL;
	char here[4096];
	Dl_info info;
	void *h = NULL;
	char *slash;
	size_t used = 0;
	int pass;

	/* First beside the library as it was loaded (build tree, relocated
	 * install, a wheel), then the directory it was installed to. */
	for (pass = 0; pass < 2 && !h; pass++) {
		dir = MIGRATE_MODULE_DIR;
		if (pass == 0) {
			if (!dladdr(&anchor, &info) || !info.dli_fname || !(slash = strrchr(info.dli_fname, '/')))
				continue;
			snprintf(here, sizeof here, "%.*s/libmigrate-%s", (int)(slash - info.dli_fname), info.dli_fname,
				 STR(MIGRATE_VERSION_MAJOR));
			dir = here;
		}
		snprintf(path, size, "%s/%s.so", dir, name);
		/* Lazy for the client libraries built without BIND_NOW (Kerberos,
		 * SASL: a sixth of libpq's symbol lookups, most never called); the
		 * module itself is linked with -z now, so a symbol it lacks still
		 * fails here and not at its first call. */
		h = dlopen(path, RTLD_LAZY | RTLD_LOCAL);
		/* dlerror() names the file and the reason; every place tried is told. */
		if (!h && used < why_size)
			used += (size_t)snprintf(why + used, why_size - used, "%s%s", used ? "; " : "", dlerror());
	}
	return h;
}

static int load(size_t i, const migrate__module_t **out, migrate_error_t *err)
{
	char path[4200], sym[64], why[1400] = "";
	const migrate__module_t *m;
	void *h;
	int rc = 0;

	pthread_mutex_lock(&load_mutex);
	if (!(m = loaded[i])) {
		h = open_module(builtins[i].name, path, sizeof path, why, sizeof why);
		snprintf(sym, sizeof sym, "migrate__module_%s", builtins[i].name);
		if (!h)
			rc = migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_ENOTFOUND,
					  "the %s driver is not installed (a module beside libmigrate): %s",
					  builtins[i].name, why);
		else if (!(m = dlsym(h, sym)))
			rc = migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_ENOTFOUND, "%s has no %s", path, sym);
		else if (m->abi != MIGRATE__MODULE_ABI || strcmp(m->version, MIGRATE_VERSION_STRING) != 0 || !m->driver)
			rc = migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EVERSION,
					  "%s was built for libmigrate %s, this library is %s", path,
					  m->version ? m->version : "?", MIGRATE_VERSION_STRING);
		if (rc) {
			m = NULL;
			if (h)
				dlclose(h);
		} else {
			loaded[i] = m;
		}
	}
	pthread_mutex_unlock(&load_mutex);
	*out = m;
	return rc;
}
#else
static int load(size_t i, const migrate__module_t **out, migrate_error_t *err)
{
	(void)err;
	*out = builtins[i].static_module;
	return 0;
}
#endif

int migrate__builtin_for_url(const char *url, const migrate_driver_t **out, migrate_error_t *err)
{
	const migrate__module_t *m;
	size_t i;
	int rc;

	*out = NULL;
	for (i = 0; i < NBUILTINS; i++) {
		if (!migrate__has_scheme(builtins[i].schemes, url))
			continue;
		if (builtins[i].linked) {
			*out = builtins[i].linked;
			return 0;
		}
		if ((rc = load(i, &m, err)))
			return rc;
		*out = m->driver;
		return 0;
	}
	return 0;
}

#ifdef MIGRATE_HAVE_POSTGRES
/* A target opened for check (probe.c): the PostgreSQL module's reads, forwarded. */
static const migrate__module_t probe_module = {
	MIGRATE__MODULE_ABI,      MIGRATE_VERSION_STRING, &migrate__probe_driver, NULL,
	migrate__probe_read_rows, migrate__probe_states,
};
#endif

const migrate__module_t *migrate__module_of(const migrate_driver_t *driver)
{
	const migrate__module_t *m;
	size_t i;

#ifdef MIGRATE_HAVE_POSTGRES
	if (driver == &migrate__probe_driver)
		return &probe_module;
#endif
	for (i = 0; driver && i < NBUILTINS; i++) {
#ifdef MIGRATE_MODULE_DIR
		pthread_mutex_lock(&load_mutex);
		m = loaded[i];
		pthread_mutex_unlock(&load_mutex);
#else
		m = builtins[i].static_module;
#endif
		if (m && m->driver == driver)
			return m;
	}
	return NULL;
}

const char *migrate__builtin_schemes(void)
{
	return "sqlite"
#ifdef MIGRATE_HAVE_POSTGRES
	       ", postgresql"
#endif
#ifdef MIGRATE_HAVE_MONGO
	       ", mongodb"
#endif
		;
}

#if defined(MIGRATE_HAVE_POSTGRES) || defined(MIGRATE_HAVE_MONGO)
/* Wraps an application's handle through module `name`'s wrap function. */
static int wrap(const char *name, migrate_target_t **out, void *handle, const void *arg, migrate_error_t *err)
{
	const migrate__module_t *m;
	size_t i;
	int rc;

	for (i = 0; i < NBUILTINS && strcmp(builtins[i].name, name) != 0; i++)
		;
	if (out)
		*out = NULL;
	if ((rc = load(i, &m, err)))
		return rc;
	return m->wrap(out, handle, arg, err);
}
#endif

#ifdef MIGRATE_HAVE_POSTGRES
MIGRATE_EXPORT(int) migrate_postgres_options_init(migrate_postgres_options_t *opts, unsigned version)
{
	migrate_postgres_options_t dflt = MIGRATE_POSTGRES_OPTIONS_INIT;

	if (!opts)
		return MIGRATE_EINVAL;
	if (version != MIGRATE_POSTGRES_OPTIONS_VERSION)
		return MIGRATE_EVERSION;
	*opts = dflt;
	return 0;
}

MIGRATE_EXPORT(int)
migrate_target_open_postgres_opts(migrate_target_t **out, PGconn *conn, const migrate_postgres_options_t *opts,
				  migrate_error_t *err)
{
	return wrap("postgres", out, conn, opts, err);
}

MIGRATE_EXPORT(int) migrate_target_open_postgres(migrate_target_t **out, PGconn *conn, migrate_error_t *err)
{
	return wrap("postgres", out, conn, NULL, err);
}
#endif

#ifdef MIGRATE_HAVE_MONGO
MIGRATE_EXPORT(int)
migrate_target_open_mongo(migrate_target_t **out, mongoc_client_t *client, const char *dbname, migrate_error_t *err)
{
	return wrap("mongo", out, client, dbname, err);
}
#endif
