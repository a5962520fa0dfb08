/*
 * Running statements on PostgreSQL (lower.c decides which, per op). DDL runs under the run's
 * lock_timeout (set by begin) inside a savepoint, so that a lock timeout
 * is retried with backoff without losing the rest of the transaction;
 * each retry is reported as an event. Online indexes are built with
 * CREATE INDEX CONCURRENTLY outside any transaction and recover from an
 * INVALID index left by a failed or interrupted build. In a version with
 * "transactional": false a raw sql step is sent on its own as a simple
 * query, with no transaction block around it.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg.h"

/* Appends text to an error message already set. */
static void err_append(migrate_error_t *err, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (!err)
		return;
	n = strlen(err->message);
	if (n + 1 >= sizeof err->message)
		return;
	va_start(ap, fmt);
	vsnprintf(err->message + n, sizeof err->message - n, fmt, ap);
	va_end(ap);
}

static void retry_event(pg_target_t *t, migrate_exec_t *exec, const char *what, PGresult *failed, uint32_t attempt,
			uint32_t wait)
{
	const char *msg = PQresultErrorField(failed, PG_DIAG_MESSAGE_PRIMARY);
	char text[600];

	snprintf(text, sizeof text,
		 "%s: %s [SQLSTATE %s]; attempt %" PRIu32 " of %" PRIu32 " failed, retrying in %" PRIu32 " ms", what,
		 msg ? msg : "?", migrate__pg_state(failed), attempt, t->retries, wait);
	migrate__log(MIGRATE_LOG_WARNING, "postgres: %s", text);
	if (exec)
		migrate_exec_event(exec, MIGRATE_EVENT_RETRY, text);
}

int migrate__pg_run_retrying(pg_target_t *t, const char *sql, migrate_exec_t *exec, int raw, const char *what,
			     migrate_error_t *err)
{
	int in_txn = t->in_txn;
	uint32_t attempt;
	char *joined = NULL;
	int rc = 0;

	/* In the engine's transaction the savepoint, the statement and its
	 * release go in one simple query: one round trip. A failure stops the
	 * query where it happened, with the savepoint set. The newlines keep
	 * a trailing line comment of a raw statement to itself. */
	if (in_txn) {
		static const char head[] = "SAVEPOINT migrate_step;\n", tail[] = "\n;RELEASE SAVEPOINT migrate_step";
		size_t size = sizeof head + strlen(sql) + sizeof tail;

		if (!(joined = migrate__malloc(size)))
			return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ENOMEM, "out of memory");
		snprintf(joined, size, "%s%s%s", head, sql, tail);
		sql = joined;
	}
	for (attempt = 1;; attempt++) {
		PGresult *failed = NULL;
		uint32_t wait;

		if (!in_txn && !raw && (rc = migrate__pg_begin(t, err)))
			return rc;
		rc = migrate__pg_exec_failed(t, sql, 0, NULL, NULL, &failed, what, err);
		if (rc == 0) {
			if (!in_txn && !raw)
				rc = migrate__pg_commit(t, err);
			break;
		}
		if (!migrate__pg_retryable(migrate__pg_state(failed)) || attempt >= t->retries || migrate__pg_lost(t)) {
			PQclear(failed);
			if (!in_txn && !raw)
				migrate__pg_abort(t);
			break;
		}
		if (in_txn) {
			migrate_error_t e;
			if (migrate__pg_exec(t, "ROLLBACK TO SAVEPOINT migrate_step", 0, NULL, NULL, what, &e) != 0) {
				PQclear(failed);
				break;
			}
		} else if (!raw) {
			migrate__pg_abort(t);
		}
		wait = migrate__pg_backoff_ms(attempt);
		retry_event(t, exec, what, failed, attempt, wait);
		PQclear(failed);
		migrate__sleep_ms(wait);
	}
	free(joined);
	return rc;
}

/* ---- online indexes ------------------------------------------------------ */

/* 0: no such index, 1: valid, 2: INVALID (a failed or interrupted concurrent build). */
static int index_state(pg_target_t *t, const char *name, int *state, migrate_error_t *err)
{
	migrate_buf_t *q = migrate__buf_new(NULL);
	const char *p[1];
	PGresult *res = NULL;
	int rc;

	migrate__pg_ident(q, name);
	p[0] = q->str;
	rc = migrate__pg_exec(t, "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)", 1, p, &res,
			      "looking up an index", err);
	if (rc == 0)
		*state = PQntuples(res) == 0 ? 0 : PQgetvalue(res, 0, 0)[0] == 't' ? 1 : 2;
	PQclear(res);
	migrate__buf_free(q, true);
	return rc;
}

static int drop_invalid(pg_target_t *t, const char *name, migrate_error_t *err)
{
	migrate_buf_t *s = migrate__buf_new("DROP INDEX CONCURRENTLY IF EXISTS ");
	int rc;

	migrate__pg_ident(s, name);
	rc = migrate__pg_exec(t, s->str, 0, NULL, NULL, "dropping an INVALID index", err);
	migrate__buf_free(s, true);
	return rc;
}

/* The session settings a statement outside our transactions runs with, and their values before. */
#define SESSION_SETTINGS 2
typedef struct session_saved {
	int n; /* settings set, to restore */
	const char *name[SESSION_SETTINGS];
	char was[SESSION_SETTINGS][64];
} session_saved_t;

/*
 * Sets, for this session while a statement runs outside our transactions,
 * the run's statement_timeout, and (PostgreSQL 14+, advisory lock) a
 * client_connection_check_interval of 1 s: a backend whose client was
 * killed then ends the statement (a concurrent index build can last hours)
 * instead of holding the plan's session lock until it is done, as SET
 * LOCAL does in our transactions. One round trip; none when neither applies.
 */
static int session_set(pg_target_t *t, session_saved_t *saved, migrate_error_t *err)
{
	char ms[24], sql[300] = "SELECT ";
	const char *value[SESSION_SETTINGS];
	PGresult *res = NULL;
	size_t len = strlen(sql);
	int i, rc;

	memset(saved, 0, sizeof *saved);
	if (t->statement_timeout_ms > 0) {
		snprintf(ms, sizeof ms, "%" PRId64, t->statement_timeout_ms);
		saved->name[saved->n] = "statement_timeout";
		value[saved->n++] = ms;
	}
	if (t->lock_mode == MIGRATE_PG_LOCK_ADVISORY && PQserverVersion(t->conn) >= 140000) {
		saved->name[saved->n] = "client_connection_check_interval";
		value[saved->n++] = "1000";
	}
	if (saved->n == 0)
		return 0;
	for (i = 0; i < saved->n; i++)
		len += (size_t)snprintf(sql + len, sizeof sql - len,
					"%scurrent_setting('%s'), set_config('%s', $%d, false)", i ? ", " : "",
					saved->name[i], saved->name[i], i + 1);
	rc = migrate__pg_exec(t, sql, saved->n, value, &res,
			      "setting statement_timeout and client_connection_check_interval", err);
	for (i = 0; rc == 0 && i < saved->n; i++)
		snprintf(saved->was[i], sizeof saved->was[i], "%s", PQgetvalue(res, 0, 2 * i));
	if (rc)
		saved->n = 0;
	PQclear(res);
	return rc;
}

static void session_restore(pg_target_t *t, const session_saved_t *saved)
{
	const char *value[SESSION_SETTINGS];
	char sql[200] = "SELECT ";
	size_t len = strlen(sql);
	migrate_error_t e;
	int i;

	if (saved->n == 0 || migrate__pg_lost(t))
		return;
	for (i = 0; i < saved->n; i++) {
		len += (size_t)snprintf(sql + len, sizeof sql - len, "%sset_config('%s', $%d, false)", i ? ", " : "",
					saved->name[i], i + 1);
		value[i] = saved->was[i];
	}
	migrate__pg_exec(t, sql, saved->n, value, NULL,
			 "restoring statement_timeout and client_connection_check_interval", &e);
}

int migrate__pg_online_index(pg_target_t *t, const bson_t *doc, migrate_exec_t *exec, migrate_error_t *err)
{
	const char *name = migrate__doc_str(doc, "name");
	migrate_sql_t q;
	char what[200];
	session_saved_t saved;
	int rc, state = 0;
	uint32_t attempt;

	if ((rc = index_state(t, name, &state, err)))
		return rc;
	if (state == 2) {
		char msg[300];
		snprintf(msg, sizeof msg,
			 "index \"%s\" is INVALID (left by a failed or interrupted concurrent build); dropping it and "
			 "building it again",
			 name);
		migrate_exec_event(exec, MIGRATE_EVENT_WARNING, msg);
		if ((rc = drop_invalid(t, name, err)))
			return rc;
	} else if (state == 1 && migrate_exec_checkpoint(exec)) {
		return 0; /* the interrupted run finished the build before it could journal it */
	}
	/* Journal that the build started, so a re-run knows an index of this name is ours. */
	if ((rc = migrate_exec_journal(exec, "{\"building\":true}", err)))
		return rc;
	migrate__sql_init(&q, &migrate__pg_dialect, t);
	if ((rc = migrate__pg_build_index_concurrently(&q, doc, err)))
		goto cleanup;
	if ((rc = session_set(t, &saved, err)))
		goto cleanup;
	snprintf(what, sizeof what, "building index \"%.63s\" concurrently", name);
	for (attempt = 1;; attempt++) {
		PGresult *failed = NULL;
		migrate_error_t e;
		int dropped = 0;
		rc = migrate__pg_exec_failed(t, migrate__sql_text(&q), 0, NULL, NULL, &failed, what, err);
		if (rc == 0)
			break;
		if (!migrate__pg_lost(t) && index_state(t, name, &state, &e) == 0 && state == 2 &&
		    drop_invalid(t, name, &e) == 0)
			dropped = 1;
		if (migrate__pg_retryable(migrate__pg_state(failed)) && attempt < t->retries && !migrate__pg_lost(t)) {
			uint32_t wait = migrate__pg_backoff_ms(attempt);
			retry_event(t, exec, what, failed, attempt, wait);
			PQclear(failed);
			migrate__sleep_ms(wait);
			continue;
		}
		if (dropped)
			err_append(err, "; the INVALID index the failed build left was dropped%s",
				   !strcmp(migrate__pg_state(failed), "23505") ? ": remove the duplicates and run again"
									       : "");
		else if (!migrate__pg_lost(t))
			err_append(err, "; no INVALID index was left behind");
		else
			err_append(err, "; an INVALID index may be left behind: the next run drops and rebuilds it");
		PQclear(failed);
		break;
	}
	session_restore(t, &saved);
cleanup:
	migrate__sql_free(&q);
	return rc;
}

/* ---- raw SQL outside a transaction ---------------------------------------- */

/*
 * A sql step of a non-transactional version: no BEGIN, no savepoint, and one
 * simple query, so a single statement runs with no transaction block (a
 * text of several statements is still one implicit transaction, as psql
 * sends it). The run's statement_timeout (and the connection check) is set
 * for the session meanwhile.
 */
int migrate__pg_sql_alone(pg_target_t *t, const char *sql, migrate_exec_t *exec, migrate_error_t *err)
{
	session_saved_t saved;
	int rc;

	if ((rc = session_set(t, &saved, err)))
		return rc;
	rc = migrate__pg_run_retrying(t, sql, exec, 1, "sql step", err);
	session_restore(t, &saved);
	return rc;
}
