/*
 * The history table, <schema>._migrate_history: one row per (plan,
 * version) with the fields of DESIGN.md §2. In lease mode every write also
 * renews the run's lease in the same statement, and fails with
 * MIGRATE_ELOCKLOST when another run has taken the lease over (fencing).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg.h"

/* Serialises concurrent history_ensure calls (CREATE TABLE IF NOT EXISTS races on the catalog). */
#define PG_ENSURE_KEY "7235010941318270001"

static int create_tables(pg_target_t *t, int need_schema, migrate_error_t *err)
{
	migrate_buf_t *s = migrate__buf_new(NULL);
	int rc;

	migrate_buf_append(s,
			   "BEGIN; SET LOCAL client_min_messages = warning; SELECT pg_advisory_xact_lock(" PG_ENSURE_KEY
			   ");\n");
	if (need_schema) {
		migrate_buf_append(s, "CREATE SCHEMA IF NOT EXISTS ");
		migrate__pg_ident(s, t->schema);
		migrate_buf_append(s, ";\n");
	}
	migrate_buf_printf(s,
			   "CREATE TABLE IF NOT EXISTS %s (\n"
			   "  plan text NOT NULL,\n"
			   "  version numeric(20,0) NOT NULL,\n"
			   "  name text,\n"
			   "  checksum text,\n"
			   "  state text NOT NULL CHECK (state IN ('applying','applied','failed','reverting')),\n"
			   "  steps_done integer NOT NULL DEFAULT 0,\n"
			   "  checkpoint text,\n"
			   "  started_at timestamptz,\n"
			   "  finished_at timestamptz,\n"
			   "  duration_ms bigint,\n"
			   "  applied_by text,\n"
			   "  error text,\n"
			   "  lib_version text,\n"
			   "  PRIMARY KEY (plan, version));\n",
			   t->history);
	if (t->lock_mode == MIGRATE_PG_LOCK_LEASE)
		migrate_buf_printf(s,
				   "CREATE TABLE IF NOT EXISTS %s (\n"
				   "  plan text PRIMARY KEY,\n"
				   "  owner text NOT NULL,\n"
				   "  holder text,\n"
				   "  acquired_at timestamptz NOT NULL,\n"
				   "  expires_at timestamptz NOT NULL);\n",
				   t->lease_table);
	migrate_buf_append(s, "COMMIT");
	rc = migrate__pg_exec(t, s->str, 0, NULL, NULL, "creating the history table", err);
	if (rc)
		migrate__pg_abort(t);
	migrate__buf_free(s, true);
	return rc;
}

int migrate__pg_history_ensure(void *conn, migrate_error_t *err)
{
	pg_target_t *t = conn;
	const char *p[3] = {t->schema, t->history, t->lease_table};
	PGresult *res = NULL;
	int rc, need_schema, need_history, need_lease;

	if ((rc = migrate__pg_idle(t, "preparing the history table", err)))
		return rc;
	/* One round trip when everything exists, and no CREATE privilege needed then;
	 * it also tells a read-only server (a hot standby) before anything is tried. */
	rc = migrate__pg_exec(t,
			      "SELECT to_regnamespace(quote_ident($1)) IS NULL, to_regclass($2) IS NULL, "
			      "to_regclass($3) IS NULL, pg_is_in_recovery(), current_setting('transaction_read_only')",
			      3, p, &res, "reading the history table", err);
	if (rc)
		return rc;
	if (PQgetvalue(res, 0, 3)[0] == 't' || strcmp(PQgetvalue(res, 0, 4), "on") == 0) {
		rc = migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EDB,
				  "%s is read-only (%s): nothing was written; run migrations against the primary "
				  "(check and status work on a standby)",
				  t->redacted[0] ? t->redacted : "the server",
				  PQgetvalue(res, 0, 3)[0] == 't' ? "a hot standby, in recovery"
								  : "default_transaction_read_only is on");
		PQclear(res);
		return rc;
	}
	need_schema = PQgetvalue(res, 0, 0)[0] == 't';
	need_history = PQgetvalue(res, 0, 1)[0] == 't';
	need_lease = t->lock_mode == MIGRATE_PG_LOCK_LEASE && PQgetvalue(res, 0, 2)[0] == 't';
	PQclear(res);
	if (!need_schema && !need_history && !need_lease)
		return 0;
	return create_tables(t, need_schema, err);
}

static int64_t get_i64(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static const char *get_str(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

/* The history's records of `plan`: every column, or (states) only the
 * version, checksum and state check compares, in one statement. */
static int history_read(pg_target_t *t, const char *plan, bool states, migrate_record_fn fn, void *ctx,
			migrate_error_t *err)
{
	const char *p[1] = {plan};
	PGresult *res = NULL, *failed = NULL;
	migrate_buf_t *s = migrate__buf_new(NULL);
	int rc, i;

	/* check's read (states) in the order the rows come: it compares by
	 * version, and sorting the numeric versions is about a third of the
	 * statement's execution on the server. The whole records in the
	 * primary key's order (h.version: a bare "version" would be the text
	 * column of that name, sorted anew); times as float8, as they are
	 * written (to_timestamp), not numeric, which costs more per row. */
	if (states)
		migrate_buf_printf(s, MIGRATE__PG_STATES_SQL, t->history);
	else
		migrate_buf_printf(s,
				   "SELECT version::text, checksum, state, name, steps_done, checkpoint, "
				   "(date_part('epoch', started_at) * 1000)::bigint, "
				   "(date_part('epoch', finished_at) * 1000)::bigint, duration_ms, applied_by, error, "
				   "lib_version FROM %s AS h WHERE plan = $1 ORDER BY h.version",
				   t->history);
	if (PQtransactionStatus(t->conn) != PQTRANS_IDLE || t->begin_pending) {
		/* A missing table must not abort a transaction: ours, or the application's (borrowed). */
		const char *q[1] = {t->history};
		rc = migrate__pg_exec(t, "SELECT to_regclass($1) IS NULL", 1, q, &res, "reading the history", err);
		if (rc)
			goto cleanup;
		if (PQgetvalue(res, 0, 0)[0] == 't')
			goto cleanup;
		PQclear(res);
		res = NULL;
	}
	rc = migrate__pg_exec_failed(t, s->str, 1, p, &res, &failed, "reading the history", err);
	if (rc) {
		const char *st = migrate__pg_state(failed);
		if (strcmp(st, PG_UNDEFINED_TABLE) == 0 || strcmp(st, PG_INVALID_SCHEMA) == 0)
			rc = 0; /* never migrated: no records */
		goto cleanup;
	}
	for (i = 0; i < PQntuples(res); i++) {
		migrate_record_t r;
		memset(&r, 0, sizeof r);
		r.version = strtoull(PQgetvalue(res, i, 0), NULL, 10);
		r.checksum = get_str(res, i, 1);
		r.state = migrate__state_from_name(PQgetvalue(res, i, 2));
		if (!states) {
			r.name = get_str(res, i, 3);
			r.steps_done = (uint32_t)get_i64(res, i, 4);
			r.checkpoint = get_str(res, i, 5);
			r.started_at_ms = get_i64(res, i, 6);
			r.finished_at_ms = get_i64(res, i, 7);
			r.duration_ms = get_i64(res, i, 8);
			r.applied_by = get_str(res, i, 9);
			r.error = get_str(res, i, 10);
			r.lib_version = get_str(res, i, 11);
		}
		if ((rc = fn(&r, ctx)) != 0)
			break;
	}
cleanup:
	PQclear(res);
	PQclear(failed);
	migrate__buf_free(s, true);
	return rc;
}

int migrate__pg_history_read(void *conn, const char *plan, migrate_record_fn fn, void *ctx, migrate_error_t *err)
{
	return history_read(conn, plan, false, fn, ctx, err);
}

int migrate__pg_history_states(void *conn, const char *plan, migrate_record_fn fn, void *ctx, migrate_error_t *err)
{
	return history_read(conn, plan, true, fn, ctx, err);
}

/*
 * The lease-renewing CTE that leads every history statement in lease mode
 * ($1 plan, then two more). The clock, not now(): in a transaction that has
 * run longer than the lease, now() (its start) would set the expiry in the
 * past at its commit, and a waiting run would take the lease over. Never
 * earlier than what the renewal thread set.
 */
static void lease_cte(pg_target_t *t, migrate_buf_t *s, int lease_param, int owner_param)
{
	migrate_buf_printf(s,
			   "WITH lease AS (UPDATE %s SET expires_at = GREATEST(expires_at, clock_timestamp() + "
			   "$%d::bigint * interval '1 millisecond') "
			   "WHERE plan = $1 AND owner = $%d RETURNING 1) ",
			   t->lease_table, lease_param, owner_param);
}

static int lost(pg_target_t *t, const char *plan, migrate_error_t *err)
{
	return migrate__err(err, MIGRATE_DOMAIN_LOCK, MIGRATE_ELOCKLOST,
			    "the lease of plan \"%s\" in %s was taken over by another run (it expired after %" PRId64
			    " ms without renewal)",
			    plan, t->lease_table, t->lease_ms);
}

int migrate__pg_history_write(void *conn, const char *plan, const migrate_record_t *r, migrate_error_t *err)
{
	pg_target_t *t = conn;
	char version[24], steps[16], started[24], finished[24], duration[24], lease[24];
	const char *p[15];
	migrate_buf_t *s = migrate__buf_new(NULL);
	PGresult *res = NULL;
	int rc, n = 13, lease_mode = t->lock_mode == MIGRATE_PG_LOCK_LEASE;

	snprintf(version, sizeof version, "%" PRIu64, r->version);
	snprintf(steps, sizeof steps, "%" PRIu32, r->steps_done);
	snprintf(started, sizeof started, "%" PRId64, r->started_at_ms);
	snprintf(finished, sizeof finished, "%" PRId64, r->finished_at_ms);
	snprintf(duration, sizeof duration, "%" PRId64, r->duration_ms);
	snprintf(lease, sizeof lease, "%" PRId64, t->lease_ms);
	p[0] = plan;
	p[1] = version;
	p[2] = r->name;
	p[3] = r->checksum;
	p[4] = r->state > 0 && r->state <= MIGRATE_STATE_REVERTING ? migrate_state_name(r->state) : "failed";
	p[5] = steps;
	p[6] = r->checkpoint;
	p[7] = r->started_at_ms ? started : NULL;
	p[8] = r->finished_at_ms ? finished : NULL;
	p[9] = duration;
	p[10] = r->applied_by;
	p[11] = r->error;
	p[12] = r->lib_version;
	if (lease_mode) {
		p[13] = lease;
		p[14] = t->owner;
		n = 15;
		lease_cte(t, s, 14, 15);
	}
	migrate_buf_printf(
		s,
		"INSERT INTO %s AS h (plan, version, name, checksum, state, steps_done, checkpoint, "
		"started_at, finished_at, duration_ms, applied_by, error, lib_version) "
		"SELECT $1, $2::numeric, $3, $4, $5, $6::integer, $7, "
		"to_timestamp($8::float8 / 1000), to_timestamp($9::float8 / 1000), $10::bigint, $11, $12, $13"
		"%s ON CONFLICT (plan, version) DO UPDATE SET name = EXCLUDED.name, "
		"checksum = EXCLUDED.checksum, state = EXCLUDED.state, steps_done = EXCLUDED.steps_done, "
		"checkpoint = EXCLUDED.checkpoint, started_at = EXCLUDED.started_at, "
		"finished_at = EXCLUDED.finished_at, duration_ms = EXCLUDED.duration_ms, "
		"applied_by = EXCLUDED.applied_by, error = EXCLUDED.error, "
		"lib_version = EXCLUDED.lib_version",
		t->history, lease_mode ? " WHERE EXISTS (SELECT 1 FROM lease)" : "");
	if (!lease_mode)
		rc = migrate__pg_exec_journal(t, s->str, n, p, "writing the history", err);
	else if ((rc = migrate__pg_exec(t, s->str, n, p, &res, "writing the history", err)) == 0 &&
		 strcmp(PQcmdTuples(res), "0") == 0)
		rc = lost(t, plan, err);
	PQclear(res);
	migrate__buf_free(s, true);
	return rc;
}

int migrate__pg_history_delete(void *conn, const char *plan, uint64_t version, migrate_error_t *err)
{
	pg_target_t *t = conn;
	char v[24], lease[24];
	const char *p[4] = {plan, v, lease, t->owner};
	migrate_buf_t *s = migrate__buf_new(NULL);
	PGresult *res = NULL;
	int rc, lease_mode = t->lock_mode == MIGRATE_PG_LOCK_LEASE;

	snprintf(v, sizeof v, "%" PRIu64, version);
	snprintf(lease, sizeof lease, "%" PRId64, t->lease_ms);
	if (lease_mode) {
		lease_cte(t, s, 3, 4);
		migrate_buf_printf(s,
				   ", del AS (DELETE FROM %s WHERE plan = $1 AND version = $2::numeric "
				   "AND EXISTS (SELECT 1 FROM lease) RETURNING 1) "
				   "SELECT (SELECT count(*) FROM lease)",
				   t->history);
	} else {
		migrate_buf_printf(s, "DELETE FROM %s WHERE plan = $1 AND version = $2::numeric", t->history);
	}
	/* Advisory mode: with the COMMIT in one round trip, as a history write. */
	if (!lease_mode)
		rc = migrate__pg_exec_journal(t, s->str, 2, p, "deleting a history record", err);
	else if ((rc = migrate__pg_exec(t, s->str, 4, p, &res, "deleting a history record", err)) == 0 &&
		 strcmp(PQgetvalue(res, 0, 0), "0") == 0)
		rc = lost(t, plan, err);
	PQclear(res);
	migrate__buf_free(s, true);
	return rc;
}
