/*
 * Adoption of another tool's history: on the first run of a plan read from
 * a golang-migrate, goose or Flyway directory, the versions that tool
 * applied (its own table) are recorded as applied, as a baseline, so that
 * libmigrate runs only the newer ones. Their table is only read.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The versions the other tool applied, and how far its baseline goes. */
typedef struct adopted {
	const char *tool;
	uint64_t *ids;
	size_t n, cap;
	uint64_t baseline; /* Flyway: every version up to it is applied */
} adopted_t;

/* What libmigrate's own history holds for the plan. */
typedef struct own_history {
	size_t records, baselines; /* all, and those migrate_baseline() wrote */
	uint64_t newest;           /* the newest recorded version */
	uint64_t *ids;             /* the recorded versions; NULL when out of memory */
	size_t cap;
	bool oom;
} own_history;

static int note_record(const migrate_record_t *record, void *ctx)
{
	own_history *o = ctx;

	if (o->records == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 16;
		uint64_t *p = migrate__realloc(o->ids, cap * sizeof *p);
		if (!p) {
			o->oom = true;
			return 1;
		}
		o->ids = p;
		o->cap = cap;
	}
	o->ids[o->records++] = record->version;
	o->baselines += record->error && strcmp(record->error, MIGRATE__BASELINE_NOTE) == 0;
	if (record->version > o->newest)
		o->newest = record->version;
	return 0;
}

/*
 * Whether an adoption was cut short: every record is a baseline, and a
 * version of the plan older than the newest recorded has none (baselines
 * are written from the newest down). A finished adoption, one reverted in
 * part by down, or a plan libmigrate has applied versions of is not.
 */
static bool adoption_unfinished(const own_history *o, const migrate_plan_t *plan)
{
	size_t i, j;

	if (o->records == 0 || o->baselines != o->records)
		return false;
	for (i = 0; i < migrate_plan_version_count(plan); i++) {
		uint64_t id = migrate_version_id(migrate_plan_version_at(plan, i));
		bool found = false;
		if (id >= o->newest)
			continue;
		for (j = 0; j < o->records && !found; j++)
			found = o->ids[j] == id;
		if (!found)
			return true;
	}
	return false;
}

static bool has_id(const adopted_t *a, uint64_t id, size_t *at)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (a->ids[i] == id) {
			if (at)
				*at = i;
			return true;
		}
	return false;
}

static int set_applied(adopted_t *a, uint64_t id, bool applied, migrate_error_t *err)
{
	size_t at;

	if (has_id(a, id, &at)) {
		if (!applied)
			a->ids[at] = a->ids[--a->n];
		return 0;
	}
	if (!applied)
		return 0;
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 16;
		uint64_t *grown = migrate__realloc(a->ids, cap * sizeof *grown);
		if (!grown)
			return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_ENOMEM, "out of memory");
		a->ids = grown;
		a->cap = cap;
	}
	a->ids[a->n++] = id;
	return 0;
}

/* A value of a row as text: PostgreSQL's rows hold text, MongoDB's documents numbers and booleans. */
typedef char text_t[24];

static const char *row_str(const bson_t *row, const char *key, text_t out)
{
	bson_iter_t it;

	if (!migrate__doc_find(&it, row, key))
		return "";
	if (BSON_ITER_HOLDS_UTF8(&it))
		return bson_iter_utf8(&it, NULL);
	if (BSON_ITER_HOLDS_BOOL(&it))
		return bson_iter_bool(&it) ? "true" : "false";
	if (BSON_ITER_HOLDS_INT32(&it) || BSON_ITER_HOLDS_INT64(&it) || BSON_ITER_HOLDS_DOUBLE(&it)) {
		snprintf(out, sizeof(text_t), "%lld", (long long)bson_iter_as_int64(&it));
		return out;
	}
	return "";
}

static bool is_true(const char *s)
{
	return strcmp(s, "t") == 0 || strcmp(s, "true") == 0;
}

static int parse_id(const char *s, uint64_t *id)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	*id = strtoull(s, &end, 10);
	return *end ? -1 : 0;
}

/* The next row of `rows` into *row (static, borrowed); false after the last. */
static bool next_row(bson_iter_t *it, bson_t *row)
{
	const uint8_t *data;
	uint32_t len;

	while (bson_iter_next(it)) {
		if (!BSON_ITER_HOLDS_DOCUMENT(it))
			continue;
		bson_iter_document(it, &len, &data);
		if (bson_init_static(row, data, len))
			return true;
	}
	return false;
}

/* Stops the adoption: MIGRATE_ESTATE with a message naming the version. Nothing has been written. */
static int refuse(migrate_error_t *err, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

static int refuse(migrate_error_t *err, const char *fmt, ...)
{
	char msg[MIGRATE_ERROR_MESSAGE_SIZE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_ESTATE, "%s", msg);
}

/* golang-migrate: one row, the last version and whether it was left dirty. */
static int golang_migrate_rows(adopted_t *a, const bson_t *rows, const migrate_plan_t *plan, migrate_error_t *err)
{
	bson_iter_t it;
	uint64_t id;
	bson_t row;
	size_t i;

	bson_iter_init(&it, rows);
	while (next_row(&it, &row)) {
		const char *version;
		text_t t_version, t_dirty;
		version = row_str(&row, "version", t_version);
		if (is_true(row_str(&row, "dirty", t_dirty)))
			return refuse(err,
				      "%s left version %s dirty in schema_migrations: a migration failed half way; "
				      "repair the database, then `migrate force` it with golang-migrate, before "
				      "switching",
				      a->tool, version);
		if (parse_id(version, &id))
			return refuse(err, "%s recorded version \"%s\" in schema_migrations, not a number", a->tool,
				      version);
		/* Every version up to the recorded one is applied. */
		for (i = 0; i < migrate_plan_version_count(plan); i++) {
			uint64_t v = migrate_version_id(migrate_plan_version_at(plan, i));
			int rc;
			if (v <= id && (rc = set_applied(a, v, true, err)))
				return rc;
		}
		if (id > 0 && !has_id(a, id, NULL))
			return refuse(err, "%s applied version %s, which is not in the directory", a->tool, version);
	}
	return 0;
}

/* goose: one row per up or down; the newest row of a version says whether it is applied. */
static int goose_rows(adopted_t *a, const bson_t *rows, migrate_error_t *err)
{
	bson_iter_t it;
	uint64_t id;
	bson_t row;
	int rc;

	bson_iter_init(&it, rows);
	while (next_row(&it, &row)) {
		text_t t_version, t_applied;
		if (parse_id(row_str(&row, "version", t_version), &id))
			return refuse(err, "%s recorded version \"%s\" in goose_db_version, not a whole number",
				      a->tool, row_str(&row, "version", t_version));
		if (id > 0 && (rc = set_applied(a, id, is_true(row_str(&row, "applied", t_applied)), err)))
			return rc;
	}
	return 0;
}

/* Flyway: versioned rows in installed order; a failed row stops the adoption. */
static int flyway_rows(adopted_t *a, const bson_t *rows, migrate_error_t *err)
{
	bson_iter_t it;
	char why[256];
	uint64_t id;
	bson_t row;
	int rc;

	bson_iter_init(&it, rows);
	while (next_row(&it, &row)) {
		const char *version, *type;
		text_t t_version, t_type, t_success, t_script;
		version = row_str(&row, "version", t_version);
		type = row_str(&row, "type", t_type);
		if (!is_true(row_str(&row, "success", t_success)))
			return refuse(err,
				      "%s recorded version %s as failed in flyway_schema_history (%s): repair the "
				      "database and run `flyway repair` before switching",
				      a->tool, version[0] ? version : "(repeatable)",
				      row_str(&row, "script", t_script));
		if (!version[0] || strcmp(type, "SCHEMA") == 0)
			continue;
		if (migrate__flyway_id(version, strlen(version), &id, why, sizeof why))
			return refuse(err, "%s recorded version %s in flyway_schema_history: %s", a->tool, version,
				      why);
		if (strcmp(type, "BASELINE") == 0)
			a->baseline = id > a->baseline ? id : a->baseline;
		else if ((rc = set_applied(a, id, strncmp(type, "UNDO_", 5) != 0, err)))
			return rc;
	}
	return 0;
}

/* The table a format keeps, and the query that reads it on PostgreSQL. */
static int read_history(migrate_target_t *target, const char *format, const migrate_plan_t *plan, adopted_t *a,
			migrate_error_t *err)
{
	const migrate__module_t *m = migrate__module_of(target->driver);
	const char *table, *query;
	bson_t rows = BSON_INITIALIZER, row;
	text_t t_present;
	char probe[160];
	bson_iter_t it;
	int rc;

	if (strcmp(format, "golang-migrate") == 0) {
		table = "schema_migrations";
		query = "SELECT version::text AS version, dirty::text AS dirty FROM schema_migrations";
	} else if (strcmp(format, "goose") == 0) {
		table = "goose_db_version";
		query = "SELECT version_id::text AS version, is_applied::text AS applied FROM goose_db_version "
			"ORDER BY id";
	} else {
		table = "flyway_schema_history";
		query = "SELECT version, type, success::text AS success, script FROM flyway_schema_history "
			"ORDER BY installed_rank";
	}
	if (m && m->read_rows && strcmp(target->driver->name, "mongo") == 0 && strcmp(format, "golang-migrate") == 0) {
		/* golang-migrate's MongoDB driver: one document, as on PostgreSQL (none: no collection). */
		rc = m->read_rows(target->conn, "{\"find\": \"schema_migrations\", \"limit\": 2}", &rows, err);
		if (rc == 0)
			rc = golang_migrate_rows(a, &rows, plan, err);
		goto done;
	}
	if (!m || !m->read_rows || strcmp(target->driver->name, "postgres") != 0)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EUNSUPPORTED,
				    "adopting the history of %s is supported on PostgreSQL (and golang-migrate's on "
				    "MongoDB), not on %s",
				    format, target->driver->name);
	/* The table is found on the search_path, as the other tool finds it. */
	snprintf(probe, sizeof probe, "SELECT to_regclass('%s') IS NOT NULL AS present", table);
	if ((rc = m->read_rows(target->conn, probe, &rows, err)))
		goto done;
	bson_iter_init(&it, &rows);
	if (!next_row(&it, &row) || !is_true(row_str(&row, "present", t_present)))
		goto done;
	bson_reinit(&rows);
	if ((rc = m->read_rows(target->conn, query, &rows, err)))
		goto done;
	if (strcmp(format, "golang-migrate") == 0)
		rc = golang_migrate_rows(a, &rows, plan, err);
	else if (strcmp(format, "goose") == 0)
		rc = goose_rows(a, &rows, err);
	else
		rc = flyway_rows(a, &rows, err);
done:
	bson_destroy(&rows);
	return rc;
}

/* The newest adopted version, once every adopted one is in the plan and none older is missing. */
static int adopted_through(adopted_t *a, const migrate_plan_t *plan, uint64_t *last, migrate_error_t *err)
{
	size_t i;

	*last = a->baseline;
	for (i = 0; i < a->n; i++) {
		if (!migrate__plan_find(plan, a->ids[i])) {
			return refuse(err, "%s applied version %llu, which is not in the directory", a->tool,
				      (unsigned long long)a->ids[i]);
		}
		if (a->ids[i] > *last)
			*last = a->ids[i];
	}
	for (i = 0; i < migrate_plan_version_count(plan); i++) {
		uint64_t id = migrate_version_id(migrate_plan_version_at(plan, i));
		if (id <= *last && id > a->baseline && !has_id(a, id, NULL)) {
			return refuse(
				err,
				"%s did not apply version %llu, older than the newest it applied (%llu): apply it "
				"with that tool first, or baseline by hand",
				a->tool, (unsigned long long)id, (unsigned long long)*last);
		}
	}
	return 0;
}

int migrate_adopt(migrate_target_t *target, const migrate_plan_t *plan, const char *format,
		  const migrate_run_options_t *opts, uint64_t *adopted, migrate_error_t *err)
{
	adopted_t a;
	own_history own;
	uint64_t last = 0;
	bool adopt;
	int rc;

	if (adopted)
		*adopted = 0;
	if (!target || !plan || !format)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL,
				    "migrate_adopt: target, plan and format are required");
	if (!migrate__plan_format_known(format) || strcmp(format, "libmigrate") == 0)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL,
				    "migrate_adopt: format \"%s\" is not golang-migrate, goose or flyway", format);
	/* Only a plan libmigrate never ran adopts (or finishes an adoption cut short): later, its own history
	 * rules. */
	memset(&own, 0, sizeof own);
	rc = target->driver->history_read(target->conn, plan->name, note_record, &own, err);
	if (own.oom)
		rc = migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_ENOMEM, "out of memory");
	adopt = rc == 0 && (own.records == 0 || adoption_unfinished(&own, plan));
	free(own.ids);
	if (!adopt)
		return rc;
	memset(&a, 0, sizeof a);
	a.tool = format;
	if ((rc = read_history(target, format, plan, &a, err)) || (rc = adopted_through(&a, plan, &last, err)))
		goto done;
	/* A Flyway baseline may name a version older than the directory's first. */
	{
		uint64_t in_plan = 0;
		size_t i;
		for (i = 0; i < migrate_plan_version_count(plan); i++) {
			uint64_t id = migrate_version_id(migrate_plan_version_at(plan, i));
			if (id <= last && id > in_plan)
				in_plan = id;
		}
		last = in_plan;
	}
	if (last == 0)
		goto done;
	migrate__log(MIGRATE_LOG_INFO, "plan \"%s\": adopting the history of %s: versions up to %llu are applied",
		     plan->name, format, (unsigned long long)last);
	if ((rc = migrate_baseline(target, plan, last, opts, err)) == 0 && adopted) {
		size_t i;
		for (i = 0; i < migrate_plan_version_count(plan); i++)
			*adopted += migrate_version_id(migrate_plan_version_at(plan, i)) <= last;
	}
done:
	free(a.ids);
	return rc;
}
