/*
 * Quick start: seed 000 ("sessions -> jobs") as a libmigrate plan, run on an
 * embedded SQLite database.
 *
 *   quickstart [DATABASE]        (default ./quickstart.db; deleted first)
 *
 * It fills the database with the old `sessions` table, prints the plan as the
 * driver would run it, applies it with progress from the event callback,
 * prints the status and checks the result the way the seed's section 6 does,
 * then reverts everything and shows the database as it was. It exits
 * non-zero, with the error message, as soon as anything fails.
 *
 * The seed's optional step 3.4 (dropping tool_ids and tool_failure_ids) is
 * left out: it destroys data, and the plan would then no longer revert.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <migrate/migrate.h>
#include <migrate/sqlite.h>

#define DEFAULT_PATH "quickstart.db"

/* The statuses that version 4 folds into "processing". */
static const char *const old_statuses[] = {"pending", "planning", "searching", "implementing", "executing"};
#define OLD_STATUSES_JSON "[\"pending\",\"planning\",\"searching\",\"implementing\",\"executing\"]"
#define NOLD_STATUSES (sizeof old_statuses / sizeof old_statuses[0])

/* ---- sample data: the old sessions table ------------------------------- */

static const char *const create_old_sessions =
	"CREATE TABLE sessions ("
	" id INTEGER PRIMARY KEY, job_id TEXT NOT NULL, user_id TEXT NOT NULL, operation_type TEXT,"
	" tool_requirements TEXT, status TEXT NOT NULL, tool_ids TEXT, tool_failure_ids TEXT,"
	" error_message TEXT, created_at TEXT, updated_at TEXT)";

static const struct sample {
	const char *job_id, *user_id, *operation_type, *status;
	int requirements;     /* entries in tool_requirements */
	const char *tool_ids; /* JSON arrays as the old code stored them; NULL for a missing array */
	const char *tool_failure_ids;
	const char *error_message;
} samples[] = {
	{"job_a1", "user_ada", "generate", "pending", 1, "[]", "[]", NULL},
	{"job_b2", "user_ada", "generate", "planning", 2, "[]", "[]", NULL},
	{"job_c3", "user_bob", "analyze", "searching", 2, "[\"tool_01\"]", "[]", NULL},
	{"job_d4", "user_bob", "generate", "implementing", 3, "[\"tool_02\",\"tool_03\"]", "[\"fail_01\"]", NULL},
	{"job_e5", "user_cy", "generate", "executing", 3, "[\"tool_04\",\"tool_05\",\"tool_06\"]", "[]", NULL},
	{"job_f6", "user_cy", "analyze", "completed", 2, "[\"tool_07\",\"tool_08\"]", "[]", NULL},
	{"job_g7", "user_ada", "generate", "completed", 3, "[\"tool_09\"]", "[\"fail_02\",\"fail_03\"]", NULL},
	{"job_h8", "user_dee", "generate", "failed", 1, "[]", "[\"fail_04\"]", "tool generation timed out"},
	{"job_i9", "user_dee", "analyze", "failed", 2, NULL, NULL, "planner unavailable"},
	{"job_j10", "user_bob", "generate", "pending", 1, "[\"tool_10\"]", NULL, NULL},
};
#define NSAMPLES (sizeof samples / sizeof samples[0])

/*
 * The program's own failures return 1, so that they are told apart from
 * libmigrate's codes, which are negative and come with a migrate_error_t.
 */
static int db_fail(sqlite3 *db, const char *what)
{
	fprintf(stderr, "quickstart: %s: %s\n", what, sqlite3_errmsg(db));
	return 1;
}

static void requirements_json(int n, char *out, size_t size)
{
	static const char *const what[] = {"Calculate molecular weight", "Predict solubility", "Draw the structure"};
	size_t len = 0;
	int i;

	len += (size_t)snprintf(out + len, size - len, "[");
	for (i = 0; i < n && len < size; i++)
		len += (size_t)snprintf(out + len, size - len,
					"%s{\"description\":\"%s\",\"input\":\"SMILES string\",\"output\":\"text\"}",
					i ? "," : "", what[i % 3]);
	if (len < size)
		snprintf(out + len, size - len, "]");
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *text)
{
	if (text)
		sqlite3_bind_text(st, i, text, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

static int seed_sample_data(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	char reqs[512], stamp[32];
	size_t i;
	int rc = 1;

	if (sqlite3_exec(db, create_old_sessions, NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(db, "creating the sample sessions table");
	if (sqlite3_prepare_v2(db,
			       "INSERT INTO sessions (job_id, user_id, operation_type, tool_requirements, status,"
			       " tool_ids, tool_failure_ids, error_message, created_at, updated_at)"
			       " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(db, "preparing the sample rows");
	for (i = 0; i < NSAMPLES; i++) {
		const struct sample *s = &samples[i];
		requirements_json(s->requirements, reqs, sizeof reqs);
		snprintf(stamp, sizeof stamp, "2024-05-%02zuT09:30:00Z", i + 1);
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, s->job_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, s->user_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, s->operation_type, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, reqs, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 5, s->status, -1, SQLITE_STATIC);
		bind_text_or_null(st, 6, s->tool_ids);
		bind_text_or_null(st, 7, s->tool_failure_ids);
		bind_text_or_null(st, 8, s->error_message);
		sqlite3_bind_text(st, 9, stamp, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 10, stamp, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) != SQLITE_DONE) {
			db_fail(db, "inserting a sample row");
			goto cleanup;
		}
	}
	rc = 0;
cleanup:
	sqlite3_finalize(st);
	return rc;
}

/* ---- the plan: seed 000 in libmigrate's steps --------------------------- */

/* Version 1 (seed 2.1): the old table keeps its rows under its new name. */
static int add_v1(migrate_plan_t *plan, migrate_error_t *err)
{
	migrate_version_t *v;
	int rc;

	if ((rc = migrate_plan_add_version(plan, 1, "rename sessions to jobs", &v, err)))
		return rc;
	return migrate_rename_table(v, "sessions", "jobs", NULL, err);
}

static int column(migrate_step_t *table, const char *name, const char *type, int nullable, int unique,
		  migrate_error_t *err)
{
	migrate_column_t col = MIGRATE_COLUMN_INIT;

	col.name = name;
	col.type = type;
	col.nullable = nullable;
	col.unique = unique;
	return migrate_create_table_add_column(table, &col, err);
}

/* Version 2 (seed 2.2 and 5): the new, empty sessions table. */
static int add_v2(migrate_plan_t *plan, migrate_error_t *err)
{
	migrate_version_t *v;
	migrate_step_t *t;
	int rc;

	if ((rc = migrate_plan_add_version(plan, 2, "create the new sessions table", &v, err)) ||
	    (rc = migrate_create_table(v, "sessions", &t, err)) || (rc = column(t, "session_id", "text", 0, 1, err)) ||
	    (rc = column(t, "job_id", "text", 0, 0, err)) || (rc = column(t, "user_id", "text", 0, 0, err)) ||
	    (rc = column(t, "tool_requirement", "json", 1, 0, err)) || (rc = column(t, "status", "text", 0, 0, err)) ||
	    (rc = column(t, "tool_id", "text", 1, 0, err)) || (rc = column(t, "tool_failure_id", "text", 1, 0, err)) ||
	    (rc = column(t, "error_message", "text", 1, 0, err)) ||
	    (rc = column(t, "created_at", "timestamp", 1, 0, err)) ||
	    (rc = column(t, "updated_at", "timestamp", 1, 0, err)))
		return rc;
	return 0;
}

static int add_counter(migrate_version_t *v, const char *name, const char *type, const char *dflt, migrate_error_t *err)
{
	migrate_column_t col = MIGRATE_COLUMN_INIT;

	col.name = name;
	col.type = type;
	col.nullable = 0;
	col.default_json = dflt;
	return migrate_add_column(v, "jobs", &col, NULL, err);
}

/* Version 3 (seed 3.1): the job's new fields, with their defaults. */
static int add_v3(migrate_plan_t *plan, migrate_error_t *err)
{
	migrate_version_t *v;
	int rc;

	if ((rc = migrate_plan_add_version(plan, 3, "add job fields", &v, err)) ||
	    (rc = add_counter(v, "session_ids", "json", "{\"value\": []}", err)) ||
	    (rc = add_counter(v, "tools_completed", "integer", "{\"value\": 0}", err)) ||
	    (rc = add_counter(v, "tools_failed", "integer", "{\"value\": 0}", err)) ||
	    (rc = add_counter(v, "tools_in_progress", "integer", "{\"value\": 0}", err)))
		return rc;
	return 0;
}

/*
 * Version 4 (seed 3.2): five statuses become one, so no map inverts it. The
 * step keeps each old status in jobs_status_kept as it replaces it, and its
 * down sets them back: the rollback gives back what the seed's rollback
 * takes from its backup (mongorestore).
 */
static int add_v4(migrate_plan_t *plan, migrate_error_t *err)
{
	migrate_version_t *v;
	migrate_step_t *s;
	int rc;

	if ((rc = migrate_plan_add_version(plan, 4, "map statuses to processing", &v, err)) ||
	    (rc = migrate_map_values(v, "jobs", "status",
				     "{\"pending\": \"processing\", \"planning\": \"processing\","
				     " \"searching\": \"processing\", \"implementing\": \"processing\","
				     " \"executing\": \"processing\"}",
				     &s, err)))
		return rc;
	return migrate_step_set_keep(s, "jobs_status_kept", err);
}

/*
 * Version 5 (seed 3.3): counters from the arrays, in batches instead of the
 * seed's one update per document. Reverting needs nothing: version 3's
 * inverse drops the columns.
 */
static int add_v5(migrate_plan_t *plan, migrate_error_t *err)
{
	migrate_version_t *v;
	migrate_step_t *s;
	int rc;

	if ((rc = migrate_plan_add_version(plan, 5, "count tools", &v, err)) ||
	    (rc = migrate_backfill(v, "jobs", &s, err)) ||
	    (rc = migrate_backfill_set_expr(s, "tools_completed", "{\"array_length\": \"tool_ids\"}", err)) ||
	    (rc = migrate_backfill_set_expr(s, "tools_failed", "{\"array_length\": \"tool_failure_ids\"}", err)) ||
	    (rc = migrate_backfill_set_expr(s, "tools_in_progress", "{\"value\": 0}", err)))
		return rc;
	return migrate_step_set_down_json(s, "[]", err);
}

/* The eleven indexes of the seed's section 4. */
static const struct index {
	const char *table, *name, *first, *second;
	unsigned flags;
} indexes[] = {
	{"jobs", "jobs_job_id", "job_id", NULL, MIGRATE_INDEX_UNIQUE},
	{"jobs", "jobs_user_id", "user_id", NULL, 0},
	{"jobs", "jobs_status", "status", NULL, 0},
	{"jobs", "jobs_user_id_status", "user_id", "status", 0},
	{"jobs", "jobs_created_at", "created_at", NULL, 0},
	{"sessions", "sessions_session_id", "session_id", NULL, MIGRATE_INDEX_UNIQUE},
	{"sessions", "sessions_job_id", "job_id", NULL, 0},
	{"sessions", "sessions_user_id", "user_id", NULL, 0},
	{"sessions", "sessions_status", "status", NULL, 0},
	{"sessions", "sessions_user_id_status", "user_id", "status", 0},
	{"sessions", "sessions_created_at", "created_at", NULL, 0},
};
#define NINDEXES (sizeof indexes / sizeof indexes[0])

/* Version 6 (seed 4). */
static int add_v6(migrate_plan_t *plan, migrate_error_t *err)
{
	migrate_version_t *v;
	size_t i;
	int rc;

	if ((rc = migrate_plan_add_version(plan, 6, "indexes", &v, err)))
		return rc;
	for (i = 0; i < NINDEXES; i++) {
		const struct index *ix = &indexes[i];
		migrate_index_key_t keys[2] = {{ix->first, 0}, {ix->second, 0}};
		if ((rc = migrate_create_index(v, ix->table, ix->name, keys, ix->second ? 2 : 1, ix->flags, NULL, err)))
			return rc;
	}
	return 0;
}

/* Version 7 (seed 6 and the post-migration checks): the run fails if these do not hold. */
static int add_v7(migrate_plan_t *plan, migrate_error_t *err)
{
	static const char *const job_id[] = {"job_id"};
	migrate_version_t *v;
	int rc;

	if ((rc = migrate_plan_add_version(plan, 7, "verify", &v, err)) ||
	    (rc = migrate_assert_unique(v, "jobs", job_id, 1, NULL, err)) ||
	    (rc = migrate_assert_count(v, "sessions", NULL, 0, NULL, err)) ||
	    (rc = migrate_assert_no_match(v, "jobs", "{\"status\": {\"$in\": " OLD_STATUSES_JSON "}}", NULL, err)))
		return rc;
	return 0;
}

static int build_plan(migrate_plan_t **out, migrate_error_t *err)
{
	migrate_plan_t *plan = NULL;
	int rc;

	*out = NULL;
	if ((rc = migrate_plan_new(&plan, "quickstart", err)) || (rc = add_v1(plan, err)) || (rc = add_v2(plan, err)) ||
	    (rc = add_v3(plan, err)) || (rc = add_v4(plan, err)) || (rc = add_v5(plan, err)) ||
	    (rc = add_v6(plan, err)) || (rc = add_v7(plan, err))) {
		migrate_plan_destroy(plan);
		return rc;
	}
	*out = plan;
	return 0;
}

/* ---- events --------------------------------------------------------------- */

/* Whether a step's line is still open (waiting for progress or its end). */
typedef struct console {
	int open;
} console_t;

static void close_line(console_t *c)
{
	if (c->open)
		printf("\n");
	c->open = 0;
}

/* On the way up: a line per version and per step, batches on the step's line. */
static void on_up_event(const migrate_event_t *ev, console_t *c)
{
	switch (ev->type) {
	case MIGRATE_EVENT_VERSION_START:
		close_line(c);
		printf("  version %" PRIu64 " \"%s\"%s\n", ev->version_id, ev->version_name,
		       ev->message ? " (resuming)" : "");
		break;
	case MIGRATE_EVENT_STEP_START:
		close_line(c);
		printf("    step %d/%d %-12s", ev->step_index + 1, ev->step_count, ev->op);
		c->open = 1;
		break;
	case MIGRATE_EVENT_PROGRESS:
		if (!c->open)
			printf("    step %d/%d %-12s", ev->step_index + 1, ev->step_count, ev->op);
		if (ev->total >= 0)
			printf(" %" PRId64 "/%" PRId64, ev->processed, ev->total);
		else
			printf(" %" PRId64, ev->processed);
		c->open = 1;
		break;
	case MIGRATE_EVENT_STEP_END:
		if (!c->open)
			printf("    step %d/%d %-12s", ev->step_index + 1, ev->step_count, ev->op);
		printf(" done\n");
		c->open = 0;
		break;
	case MIGRATE_EVENT_VERSION_END:
		close_line(c);
		printf("  version %" PRIu64 " applied in %" PRId64 " ms\n", ev->version_id, ev->elapsed_ms);
		break;
	default: break;
	}
}

static int on_event(const migrate_event_t *ev, void *payload)
{
	console_t *c = payload;

	if (ev->type == MIGRATE_EVENT_LOCK_WAIT || ev->type == MIGRATE_EVENT_WARNING ||
	    ev->type == MIGRATE_EVENT_RETRY) {
		close_line(c);
		printf("  note: %s\n", ev->message ? ev->message : "");
	} else if (ev->direction == MIGRATE_DIRECTION_UP) {
		on_up_event(ev, c);
	} else if (ev->type == MIGRATE_EVENT_VERSION_END) {
		/* On the way down, one line per version is enough. */
		printf("  version %" PRIu64 " \"%s\" reverted in %" PRId64 " ms (%d step%s)\n", ev->version_id,
		       ev->version_name, ev->elapsed_ms, ev->step_count, ev->step_count == 1 ? "" : "s");
	}
	fflush(stdout);
	return 0; /* non-zero would cancel the run at the next safe point (resumable) */
}

/* ---- reports -------------------------------------------------------------- */

static void heading(const char *title)
{
	printf("\n== %s\n", title);
}

static int print_status(migrate_target_t *target, const migrate_plan_t *plan, migrate_error_t *err)
{
	migrate_status_t *status = NULL;
	size_t i;
	int rc;

	if ((rc = migrate_status_get(target, plan, &status, err)))
		return rc;
	printf("  %-7s %-9s %-5s %-8s %-12s %s\n", "version", "state", "steps", "duration", "checksum", "name");
	for (i = 0; i < migrate_status_count(status); i++) {
		const migrate_status_entry_t *e = migrate_status_entry(status, i);
		char steps[32];
		snprintf(steps, sizeof steps, "%u/%u", e->steps_done, e->steps_total);
		printf("  %7" PRIu64 " %-9s %-5s %5" PRId64 " ms %-12.12s %s%s\n", e->id, migrate_state_name(e->state),
		       steps, e->duration_ms, e->checksum ? e->checksum : "-", e->name,
		       e->in_plan ? "" : " (not in the plan)");
	}
	migrate_status_destroy(status);
	return 0;
}

/* Prints every row of `sql` with `format`, which takes up to six text columns. */
static int print_rows(sqlite3 *db, const char *sql, const char *format)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_fail(db, sql);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *col[6] = {"", "", "", "", "", ""};
		int i;
		for (i = 0; i < sqlite3_column_count(st) && i < 6; i++)
			if (sqlite3_column_type(st, i) != SQLITE_NULL)
				col[i] = (const char *)sqlite3_column_text(st, i);
		printf(format, col[0], col[1], col[2], col[3], col[4], col[5]);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, sql);
	return 0;
}

static int query_int(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_fail(db, sql);
	rc = sqlite3_step(st);
	*out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(db, sql);
	return 0;
}

/* "status count, ..." of `table`, ordered by status. */
static int status_summary(sqlite3 *db, const char *table, char *out, size_t size)
{
	char sql[200];
	sqlite3_stmt *st = NULL;
	size_t len = 0;
	int rc;

	snprintf(sql, sizeof sql, "SELECT status, count(*) FROM \"%s\" GROUP BY status ORDER BY status", table);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_fail(db, sql);
	out[0] = '\0';
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && len < size)
		len += (size_t)snprintf(out + len, size - len, "%s%s %d", len ? ", " : "",
					(const char *)sqlite3_column_text(st, 0), sqlite3_column_int(st, 1));
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return db_fail(db, sql);
	return 0;
}

static int expect(int ok, const char *what)
{
	if (ok)
		return 0;
	fprintf(stderr, "quickstart: verification failed: %s\n", what);
	return 1;
}

/* The seed's section 6 and post-migration checks, by querying the database. */
static int verify_applied(sqlite3 *db)
{
	int64_t jobs, sessions, nindexes, wrong;
	char summary[256];
	int rc;

	printf("  %-8s %-11s %-13s %-13s %s\n", "job", "status", "completed", "failed", "required");
	if ((rc = print_rows(db,
			     "SELECT job_id, status,"
			     " tools_completed || ' (ids ' || COALESCE(json_array_length(tool_ids), 0) || ')',"
			     " tools_failed || ' (ids ' || COALESCE(json_array_length(tool_failure_ids), 0) || ')',"
			     " json_array_length(tool_requirements)"
			     " FROM jobs ORDER BY id",
			     "  %-8s %-11s %-13s %-13s %s\n")))
		return rc;
	if ((rc = query_int(
		     db,
		     "SELECT count(*) FROM jobs WHERE tools_completed <> COALESCE(json_array_length(tool_ids), 0)"
		     " OR tools_failed <> COALESCE(json_array_length(tool_failure_ids), 0)"
		     " OR tools_in_progress <> 0 OR session_ids <> '[]'",
		     &wrong)) ||
	    (rc = query_int(db, "SELECT count(*) FROM jobs", &jobs)) ||
	    (rc = query_int(db, "SELECT count(*) FROM sessions", &sessions)) ||
	    (rc = query_int(
		     db,
		     "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('jobs', 'sessions')"
		     " AND name NOT LIKE 'sqlite_autoindex_%'",
		     &nindexes)) ||
	    (rc = status_summary(db, "jobs", summary, sizeof summary)))
		return rc;
	printf("  jobs: %" PRId64 " rows (statuses: %s); sessions: %" PRId64 " rows\n", jobs, summary, sessions);
	if ((rc = print_rows(
		     db,
		     "SELECT tbl_name, group_concat(name || CASE WHEN sql LIKE 'CREATE UNIQUE%' THEN ' (unique)'"
		     " ELSE '' END, ', ') FROM (SELECT * FROM sqlite_master WHERE type = 'index'"
		     " AND tbl_name IN ('jobs', 'sessions') AND name NOT LIKE 'sqlite_autoindex_%'"
		     " ORDER BY tbl_name, name) GROUP BY tbl_name",
		     "  %s indexes: %s\n")))
		return rc;
	if ((rc = expect(wrong == 0, "counters differ from the array lengths")) ||
	    (rc = expect(jobs == (int64_t)NSAMPLES, "jobs lost rows")) ||
	    (rc = expect(sessions == 0, "sessions is not empty")) ||
	    (rc = expect(nindexes == (int64_t)NINDEXES, "not every index exists")))
		return rc;
	printf("  counters match the arrays, job_ids are unique, sessions is empty, %zu indexes exist\n", NINDEXES);
	return 0;
}

static int count_old_statuses(void)
{
	size_t i, j;
	int n = 0;

	for (i = 0; i < NSAMPLES; i++)
		for (j = 0; j < NOLD_STATUSES; j++)
			if (!strcmp(samples[i].status, old_statuses[j]))
				n++;
	return n;
}

/* The database after migrate_down to 0: the old table, its rows and columns. */
static int verify_reverted(sqlite3 *db, const char *before)
{
	int64_t rows, jobs_tables, counters, unchanged, kept_tables;
	char after[256];
	int rc;

	printf("  tables: ");
	if ((rc = print_rows(db,
			     "SELECT group_concat(name, ', ') FROM (SELECT name FROM sqlite_master"
			     " WHERE type = 'table' ORDER BY name)",
			     "%s\n")))
		return rc;
	printf("  sessions columns: ");
	if ((rc = print_rows(db, "SELECT group_concat(name, ', ') FROM pragma_table_info('sessions')", "%s\n")) ||
	    (rc = query_int(db, "SELECT count(*) FROM sessions", &rows)) ||
	    (rc = query_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'jobs'", &jobs_tables)) ||
	    (rc = query_int(db,
			    "SELECT count(*) FROM pragma_table_info('sessions') WHERE name LIKE 'tools_%'"
			    " OR name = 'session_ids'",
			    &counters)) ||
	    (rc = query_int(db, "SELECT count(*) FROM sessions WHERE status IN ('completed', 'failed')", &unchanged)) ||
	    (rc = query_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'jobs_status_kept'", &kept_tables)) ||
	    (rc = status_summary(db, "sessions", after, sizeof after)))
		return rc;
	printf("  sessions: %" PRId64 " rows\n", rows);
	printf("  statuses before the migration: %s\n", before);
	printf("  statuses after the rollback:   %s\n", after);
	printf("  The %d rows that were pending, planning, searching, implementing or executing are\n"
	       "  again: version 4 kept each old status (jobs_status_kept) and its down set them back.\n",
	       count_old_statuses());
	if ((rc = expect(rows == (int64_t)NSAMPLES, "sessions lost rows")) ||
	    (rc = expect(jobs_tables == 0, "jobs still exists")) ||
	    (rc = expect(counters == 0, "the new columns are still there")) ||
	    (rc = expect(unchanged == (int64_t)NSAMPLES - count_old_statuses(), "completed/failed rows changed")) ||
	    (rc = expect(strcmp(before, after) == 0, "the statuses are not those before the migration")) ||
	    (rc = expect(kept_tables == 0, "jobs_status_kept is still there")))
		return rc;
	return 0;
}

/* ---- main ----------------------------------------------------------------- */

static void remove_database(const char *path)
{
	static const char *const suffixes[] = {"", "-journal", "-wal", "-shm", "-migrate.lock"};
	char name[4096];
	size_t i;

	for (i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
		snprintf(name, sizeof name, "%s%s", path, suffixes[i]);
		remove(name);
	}
}

static int run(const char *path, sqlite3 *db, migrate_error_t *err)
{
	migrate_run_options_t opts;
	migrate_target_t *target = NULL;
	migrate_plan_t *plan = NULL;
	console_t console = {0};
	char before[256], *rendered = NULL;
	migrate_check_state_t state;
	int rc;

	if ((rc = seed_sample_data(db)) || (rc = status_summary(db, "sessions", before, sizeof before)))
		return rc;
	printf("sample data: %zu sessions in %s (statuses: %s)\n", NSAMPLES, path, before);

	/* The application's own connection, borrowed: libmigrate never closes it. */
	if ((rc = migrate_target_open_sqlite(&target, db, err)) || (rc = build_plan(&plan, err)))
		goto cleanup;

	heading("plan (migrate_render: what up would run)");
	if ((rc = migrate_render(target, plan, 0, &rendered, err)))
		goto cleanup;
	fputs(rendered, stdout);

	heading("up");
	migrate_run_options_init(&opts, MIGRATE_RUN_OPTIONS_VERSION);
	opts.batch_size = 4; /* small batches, so that 10 rows show progress */
	opts.on_event = on_event;
	opts.event_payload = &console;
	if ((rc = migrate_up(target, plan, 0, &opts, err)))
		goto cleanup;

	heading("status");
	if ((rc = print_status(target, plan, err)) || (rc = migrate_check(target, plan, &state, err)))
		goto cleanup;
	printf("  check: %s\n", state == MIGRATE_CHECK_UP_TO_DATE ? "up to date" : "NOT up to date");
	if ((rc = expect(state == MIGRATE_CHECK_UP_TO_DATE, "check does not say up to date")))
		goto cleanup;

	heading("verification");
	if ((rc = verify_applied(db)))
		goto cleanup;

	heading("down to 0");
	if ((rc = migrate_down(target, plan, 0, &opts, err)))
		goto cleanup;

	heading("after the rollback");
	if ((rc = verify_reverted(db, before)) || (rc = migrate_check(target, plan, &state, err)))
		goto cleanup;
	printf("  check: %s\n", state == MIGRATE_CHECK_PENDING ? "pending (nothing applied)" : "UNEXPECTED");
	rc = expect(state == MIGRATE_CHECK_PENDING, "check does not say pending");
cleanup:
	migrate_free(rendered);
	migrate_plan_destroy(plan);
	migrate_target_close(target);
	return rc;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : DEFAULT_PATH;
	migrate_error_t err;
	sqlite3 *db = NULL;
	int rc;

	memset(&err, 0, sizeof err);
	printf("libmigrate %s, SQLite %s\n", migrate_version_string(), sqlite3_libversion());
	remove_database(path);
	if (sqlite3_open(path, &db) != SQLITE_OK) {
		fprintf(stderr, "quickstart: cannot open %s: %s\n", path, db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return 1;
	}
	rc = run(path, db, &err);
	if (rc < 0) {
		fflush(stdout);
		fprintf(stderr, "\nquickstart: %s (%s)\n", err.message, migrate_strerror(rc));
	}
	sqlite3_close(db);
	if (rc == 0)
		printf("\ndone: applied, verified and reverted\n");
	return rc ? 1 : 0;
}
