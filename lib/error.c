/*
 * Errors and logging: caller-owned error structs, a stateless strerror, and
 * the process-wide log handler behind a once-initialised lock.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static pthread_mutex_t log_mutex = PTHREAD_MUTEX_INITIALIZER;
static migrate_log_fn log_fn;
static void *log_payload;

const char *migrate_strerror(int code)
{
	switch (code) {
	case MIGRATE_OK: return "success";
	case MIGRATE_EINVAL: return "invalid argument";
	case MIGRATE_ENOMEM: return "out of memory";
	case MIGRATE_EPLAN: return "invalid plan";
	case MIGRATE_EUNSUPPORTED: return "step not supported by this driver";
	case MIGRATE_ECHECKSUM: return "applied version changed since it was applied";
	case MIGRATE_ELOCKED: return "lock held by another run";
	case MIGRATE_ELOCKLOST: return "lock lost during the run";
	case MIGRATE_ECANCELED: return "run canceled";
	case MIGRATE_EDB: return "database error";
	case MIGRATE_ECONNECT: return "cannot connect to the database";
	case MIGRATE_EASSERT: return "assertion failed";
	case MIGRATE_EIRREVERSIBLE: return "step cannot be reverted";
	case MIGRATE_EORDER: return "pending version older than an applied one";
	case MIGRATE_EJSON: return "malformed JSON";
	case MIGRATE_ECALLBACK: return "custom step failed";
	case MIGRATE_ENOTFOUND: return "not found";
	case MIGRATE_EIO: return "input/output error";
	case MIGRATE_EVERSION: return "unknown struct version";
	case MIGRATE_ESTATE: return "history state forbids the operation";
	case MIGRATE_EINTERNAL: return "internal error";
	default: return "unknown error";
	}
}

/* In parentheses: not the macro of internal.h. */
int(migrate__err)(migrate_error_t *err, int domain, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	err->domain = domain;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
	return code;
}

int migrate_error_set(migrate_error_t *err, int domain, int code, const char *message)
{
	return migrate__err(err, domain, code, "%s", message ? message : migrate_strerror(code));
}

void migrate__err_prefix(migrate_error_t *err, const char *fmt, ...)
{
	char prefix[512], old[MIGRATE_ERROR_MESSAGE_SIZE];
	size_t plen, olen;
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof prefix, fmt, ap);
	va_end(ap);
	memcpy(old, err->message, sizeof old);
	old[sizeof old - 1] = '\0';
	/* Truncate the tail, never the prefix that names the place. */
	plen = strlen(prefix);
	olen = strlen(old);
	if (plen + olen >= sizeof err->message)
		olen = sizeof err->message - plen - 1;
	memcpy(err->message, prefix, plen);
	memcpy(err->message + plen, old, olen);
	err->message[plen + olen] = '\0';
}

void migrate_log_set_handler(migrate_log_fn fn, void *payload)
{
	pthread_mutex_lock(&log_mutex);
	log_fn = fn;
	log_payload = payload;
	pthread_mutex_unlock(&log_mutex);
}

int migrate__log_enabled(int level)
{
	int on;

	(void)level;
	pthread_mutex_lock(&log_mutex);
	on = log_fn != NULL;
	pthread_mutex_unlock(&log_mutex);
	return on;
}

void migrate_log(int level, const char *message)
{
	pthread_mutex_lock(&log_mutex);
	if (log_fn)
		log_fn(level, message, log_payload);
	pthread_mutex_unlock(&log_mutex);
}

void migrate__log(int level, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	if (!migrate__log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	migrate_log(level, line);
}
