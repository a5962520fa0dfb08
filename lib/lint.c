/*
 * Lint (`migrate lint`): what a plan's typed steps will do to a live
 * database, found without running them. The rules are one table (`rules`
 * at the end): an id, a severity, the drivers it applies to, how the size
 * of the table decides, what it finds, the safer form, and a check. The
 * versions are walked in id order over the schema model of drift detection
 * (schema_model.c), so that a check sees the plan's schema as it is before
 * its step; a table made in the same version is new, hence empty. Sizes
 * come from the target's table_rows when there is one, else are unknown:
 * a rule that depends on them then fires as a warning that says so.
 *
 * A step silences rules with `"lint": {"ignore": [ids], "reason": "..."}`,
 * which validation checks here and the checksum leaves out.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "schema.h"

#define ROWS_UNKNOWN (-2) /* no live database */
#define ROWS_ABSENT (-1)  /* the live database has no such table */

struct migrate_lint_finding {
	const char *rule; /* static */
	int severity;
	uint64_t version;
	size_t step;
	char *message;
	const char *safer; /* static */
};

struct migrate_lint_report {
	migrate_lint_finding_t *v;
	size_t n, cap, silenced;
	int max;
	bool oom;
};

typedef struct sized {
	char *name;
	int64_t rows;
} sized;

/* One lint run. */
typedef struct linter {
	migrate_lint_report_t *r;
	const migrate_driver_t *d;
	void *conn;         /* NULL: no live database */
	const char *driver; /* its name */
	int64_t large;
	migrate__schema m;          /* the plan's schema before the step */
	const migrate_version_t *v; /* the version being linted */
	const migrate_step_t *s;    /* and its step */
	const bson_t *doc;
	char **fresh; /* tables this version made: new, hence empty */
	size_t nfresh, capfresh;
	sized *sizes; /* live sizes, read once per table */
	size_t nsizes, capsizes;
	int rc; /* the first error reading a size */
	migrate_error_t *err;
} linter;

/* How the size of the step's table decides whether a rule fires. */
enum {
	SIZE_ANY,      /* it does not */
	SIZE_NONEMPTY, /* only on a table with rows */
	SIZE_LARGE     /* only on a table of at least large_rows rows */
};

typedef struct rule {
	const char *id;
	int severity;
	const char *drivers; /* "postgres", "mongo", "sql" (SQLite and PostgreSQL), or NULL: all */
	int size;            /* SIZE_* */
	const char *summary;
	const char *safer;
	void (*check)(linter *x, const struct rule *r);
} rule;

/* ---- the report -------------------------------------------------------- */

void migrate_lint_report_destroy(migrate_lint_report_t *report)
{
	size_t i;

	if (!report)
		return;
	for (i = 0; i < report->n; i++)
		free(report->v[i].message);
	free(report->v);
	free(report);
}

/* Whether the step's "lint" field silences `id`. */
static bool silenced(const bson_t *doc, const char *id)
{
	bson_t lint, ignore;
	bson_iter_t it;

	if (!migrate__doc_sub(doc, "lint", &lint) || !migrate__doc_sub(&lint, "ignore", &ignore) ||
	    !bson_iter_init(&it, &ignore))
		return false;
	while (bson_iter_next(&it))
		if (BSON_ITER_HOLDS_UTF8(&it) && !strcmp(bson_iter_utf8(&it, NULL), id))
			return true;
	return false;
}

/* Records a finding of rule `r` on the current step, at `severity`, unless the step silences it. */
static void report(linter *x, const rule *r, int severity, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 4, 5)))
#endif
	;

static void report(linter *x, const rule *r, int severity, const char *fmt, ...)
{
	migrate_lint_report_t *rep = x->r;
	migrate_lint_finding_t *f;
	migrate_buf_t *msg;
	va_list ap;

	if (silenced(x->doc, r->id)) {
		rep->silenced++;
		return;
	}
	if (rep->n == rep->cap) {
		size_t cap = rep->cap ? rep->cap * 2 : 8;
		migrate_lint_finding_t *v = migrate__realloc(rep->v, cap * sizeof *v);
		if (!v) {
			rep->oom = true;
			return;
		}
		rep->v = v;
		rep->cap = cap;
	}
	msg = migrate__buf_new(NULL);
	va_start(ap, fmt);
	migrate_buf_vprintf(msg, fmt, ap);
	va_end(ap);
	f = &rep->v[rep->n];
	f->rule = r->id;
	f->severity = severity;
	f->version = x->v->id;
	f->step = x->s->index;
	f->safer = r->safer;
	if (!(f->message = migrate__buf_free(msg, false))) {
		rep->oom = true;
		return;
	}
	rep->n++;
	if (severity > rep->max)
		rep->max = severity;
}

/* ---- what the plan and the database say about a table ------------------- */

static bool in_list(char *const *v, size_t n, const char *name, size_t *pos)
{
	size_t i;

	for (i = 0; name && i < n; i++)
		if (!strcmp(v[i], name)) {
			if (pos)
				*pos = i;
			return true;
		}
	return false;
}

static bool fresh(const linter *x, const char *table)
{
	return in_list(x->fresh, x->nfresh, table, NULL);
}

static bool live(const linter *x)
{
	return x->conn && x->d->version >= 4 && x->d->table_rows;
}

static sized *size_entry(linter *x, const char *table)
{
	size_t i;

	for (i = 0; i < x->nsizes; i++)
		if (!strcmp(x->sizes[i].name, table))
			return &x->sizes[i];
	return NULL;
}

static void set_rows(linter *x, const char *table, int64_t rows);

/* The live rows of `table`: ROWS_UNKNOWN without a database, ROWS_ABSENT when it has no such table. */
static int64_t live_rows(linter *x, const char *table)
{
	int64_t rows = ROWS_UNKNOWN;
	sized *s;
	int rc;

	if (!live(x) || !table)
		return ROWS_UNKNOWN;
	if ((s = size_entry(x, table)))
		return s->rows;
	if (x->rc)
		return ROWS_UNKNOWN;
	if ((rc = x->d->table_rows(x->conn, table, &rows, x->err))) {
		x->rc = rc;
		return ROWS_UNKNOWN;
	}
	set_rows(x, table, rows);
	return rows;
}

/* Records what the database will hold under `table` once the pending steps before this one ran. */
static void set_rows(linter *x, const char *table, int64_t rows)
{
	sized *s = size_entry(x, table);

	if (s) {
		s->rows = rows;
		return;
	}
	if (x->nsizes == x->capsizes) {
		size_t cap = x->capsizes ? x->capsizes * 2 : 8;
		sized *v = migrate__realloc(x->sizes, cap * sizeof *v);
		if (!v) {
			x->r->oom = true;
			return;
		}
		x->sizes = v;
		x->capsizes = cap;
	}
	if ((x->sizes[x->nsizes].name = migrate__strdup(table)))
		x->sizes[x->nsizes++].rows = rows;
	else
		x->r->oom = true;
}

/*
 * A pending step that makes, renames or drops a table changes what the
 * database holds under its name by the time later steps run: a renamed
 * table takes its rows to its new name, a new one is empty.
 */
static void track_rows(linter *x, const migrate_step_t *s)
{
	const char *from = migrate__doc_str(&s->doc, "from"), *keep = migrate__doc_str(&s->doc, "keep");

	if (!live(x))
		return;
	switch (s->op) {
	case MIGRATE_OP_CREATE_TABLE: set_rows(x, migrate__doc_str(&s->doc, "table"), 0); break;
	case MIGRATE_OP_DROP_TABLE:
		if (keep)
			set_rows(x, keep, live_rows(x, migrate__doc_str(&s->doc, "table")));
		set_rows(x, migrate__doc_str(&s->doc, "table"), ROWS_ABSENT);
		break;
	case MIGRATE_OP_RENAME_TABLE:
		set_rows(x, migrate__doc_str(&s->doc, "to"), live_rows(x, from));
		set_rows(x, from, ROWS_ABSENT);
		break;
	default: break;
	}
}

/*
 * Whether rule `r` fires on a step over `table`, and at which severity (0:
 * it does not). A table this version made is empty; without a database a
 * table made elsewhere may have rows: a warning, `note` says the size is
 * unknown; with one, its rows decide.
 */
static int by_size(linter *x, const rule *r, const char *table, char *note, size_t size)
{
	int64_t rows;

	snprintf(note, size, "%s", "");
	if (r->size == SIZE_ANY)
		return r->severity;
	if (fresh(x, table))
		return 0;
	rows = live_rows(x, table);
	if (rows == ROWS_UNKNOWN) {
		snprintf(note, size, " (its size is unknown without a database: lint with --url to know)");
		return MIGRATE_LINT_WARNING;
	}
	if (rows == ROWS_ABSENT || rows == 0 || (r->size == SIZE_LARGE && rows < x->large))
		return 0;
	snprintf(note, size, " (about %lld %s)", (long long)rows, strcmp(x->driver, "mongo") ? "rows" : "documents");
	return r->severity;
}

/* The model's column `table`.`column`, or NULL. */
static const migrate__scol *model_col(linter *x, const char *table, const char *column)
{
	migrate__stable *t = migrate__schema_table(&x->m, table);
	size_t i;

	for (i = 0; t && column && i < t->ncols; i++)
		if (!strcmp(t->cols[i].name, column))
			return &t->cols[i];
	return NULL;
}

/* The column's type as the plan wrote it ("text", "enum:status", "sql"). */
static const char *col_type(const bson_t *col)
{
	const char *type = migrate__doc_str(col, "type");

	return type ? type : "sql";
}

/* ---- the checks ---------------------------------------------------------- */

/* CREATE INDEX without CONCURRENTLY on PostgreSQL: writes to the table wait for the whole build. */
static void check_index_concurrently(linter *x, const rule *r)
{
	const char *table = migrate__doc_str(x->doc, "table");
	bool online = migrate__doc_bool(x->doc, "online", false);
	char note[160];
	int sev;

	if (x->s->op != MIGRATE_OP_CREATE_INDEX || online || !(sev = by_size(x, r, table, note, sizeof note)))
		return;
	report(x, r, sev,
	       "create_index \"%s\" on existing table \"%s\"%s builds without CONCURRENTLY: writes to \"%s\" wait for the whole build",
	       migrate__doc_str(x->doc, "name"), table, note, table);
}

/* ADD COLUMN ... NOT NULL without a default: refused by a table with rows. */
static void check_not_null_no_default(linter *x, const rule *r)
{
	const char *table = migrate__doc_str(x->doc, "table");
	bson_t col;
	char note[160];
	int sev;

	if (x->s->op != MIGRATE_OP_ADD_COLUMN || !migrate__doc_sub(x->doc, "column", &col) ||
	    migrate__doc_bool(&col, "nullable", true) || bson_has_field(&col, "default") ||
	    !(sev = by_size(x, r, table, note, sizeof note)))
		return;
	report(x, r, sev,
	       "add_column \"%s\" NOT NULL without a default on existing table \"%s\"%s: the database refuses it once the table has rows",
	       migrate__doc_str(&col, "name"), table, note);
}

/* Skips blanks and SQL comments; returns the position after them. */
static const char *blanks(const char *p)
{
	for (;;) {
		while (*p && isspace((unsigned char)*p))
			p++;
		if (p[0] == '-' && p[1] == '-')
			p += strcspn(p, "\n");
		else if (p[0] == '/' && p[1] == '*')
			p = strstr(p + 2, "*/") ? strstr(p + 2, "*/") + 2 : p + strlen(p);
		else
			return p;
	}
}

/* Whether `p` starts with the keyword `kw` (case-insensitive, then not a letter). */
static bool keyword(const char *p, const char *kw)
{
	size_t n = strlen(kw);

	return !strncasecmp(p, kw, n) && !isalnum((unsigned char)p[n]) && p[n] != '_';
}

/* Reads an identifier (plain or "quoted", the last part of a dotted name) into `out`; returns the position after it. */
static const char *ident(const char *p, char *out, size_t size)
{
	size_t n = 0;

	out[0] = '\0';
	for (;;) {
		p = blanks(p);
		n = 0;
		if (*p == '"') {
			for (p++; *p && !(p[0] == '"' && p[1] != '"'); p++) {
				if (*p == '"')
					p++;
				if (n + 1 < size)
					out[n++] = *p;
			}
			if (*p)
				p++;
		} else {
			for (; isalnum((unsigned char)*p) || *p == '_' || *p == '$'; p++)
				if (n + 1 < size)
					out[n++] = (char)tolower((unsigned char)*p);
		}
		out[n] = '\0';
		if (*p != '.')
			return p;
		p++;
	}
}

/* The end of the statement at `p`: its ';' or the end of the text. */
static const char *stmt_end(const char *p)
{
	const char *e = strchr(p, ';');

	return e ? e : p + strlen(p);
}

/* The next statement from `p` on that starts with keyword `kw`, or NULL. */
static const char *next_stmt(const char *p, const char *kw)
{
	for (;;) {
		p = blanks(p);
		if (!*p)
			return NULL;
		if (keyword(p, kw))
			return p;
		p = stmt_end(p);
		if (*p)
			p++;
	}
}

/* The first occurrence of keyword `kw` in [p, end), or NULL. */
static const char *find_kw(const char *p, const char *end, const char *kw)
{
	for (p++; p < end; p++)
		if (!isalnum((unsigned char)p[-1]) && p[-1] != '_' && p[-1] != '"' && keyword(p, kw))
			return p;
	return NULL;
}

/*
 * A sql step's ALTER TABLE ... ALTER [COLUMN] c [SET DATA] TYPE: PostgreSQL
 * rewrites the table and its indexes under an ACCESS EXCLUSIVE lock.
 */
static void check_type_rewrite(linter *x, const rule *r)
{
	const char *sql = migrate__doc_str(x->doc, "up"), *p, *end, *a;
	char table[64], column[64], note[160];
	const migrate__scol *c;
	int sev;

	if (x->s->op != MIGRATE_OP_SQL || !sql)
		return;
	for (p = sql; (p = next_stmt(p, "alter")); p = end) {
		end = stmt_end(p);
		p = blanks(p + 5);
		if (!keyword(p, "table"))
			continue;
		p = blanks(p + 5);
		if (keyword(p, "if") && keyword(blanks(p + 2), "exists"))
			p = blanks(blanks(p + 2) + 6); /* IF EXISTS */
		if (keyword(p, "only"))
			p = p + 4;
		p = ident(p, table, sizeof table);
		if (!(a = find_kw(p, end, "alter")))
			continue;
		a = blanks(a + 5);
		if (keyword(a, "column"))
			a += 6;
		a = blanks(ident(a, column, sizeof column));
		if (keyword(a, "set") && keyword(blanks(a + 3), "data"))
			a = blanks(blanks(a + 3) + 4); /* SET DATA */
		if (!keyword(a, "type") || !(sev = by_size(x, r, table, note, sizeof note)))
			continue;
		c = model_col(x, table, column);
		report(x, r, sev,
		       "sql step changes the type of \"%s\".\"%s\"%s%s%s: ALTER COLUMN ... TYPE rewrites \"%s\" and its indexes under an ACCESS EXCLUSIVE lock%s",
		       table, column, c ? " (from " : "", c ? col_type(c->doc) : "", c ? ")" : "", table, note);
	}
}

/* Whether an earlier step of the version reads `column` of `table` (a backfill's {column} or {array_length}). */
static bool version_reads(const linter *x, const char *table, const char *column)
{
	size_t i;

	for (i = 0; i < x->s->index; i++) {
		const migrate_step_t *s = x->v->steps[i];
		bson_t set, expr;
		bson_iter_t it;
		const char *t = migrate__doc_str(&s->doc, "table");
		if (s->op != MIGRATE_OP_BACKFILL || !t || strcmp(t, table) || !migrate__doc_sub(&s->doc, "set", &set) ||
		    !bson_iter_init(&it, &set))
			continue;
		while (bson_iter_next(&it)) {
			const char *src;
			if (!BSON_ITER_HOLDS_DOCUMENT(&it) || !migrate__doc_sub(&set, bson_iter_key(&it), &expr))
				continue;
			src = migrate__doc_str(&expr, "column");
			if (!src)
				src = migrate__doc_str(&expr, "array_length");
			if (src && !strcmp(src, column))
				return true;
		}
	}
	return false;
}

/*
 * Whether an earlier step of the version expands `table` (NULL: any
 * table): makes it, renames a table to it, adds a column to it or fills it.
 */
static bool version_expands(const linter *x, const char *table)
{
	size_t i;

	for (i = 0; i < x->s->index; i++) {
		const migrate_step_t *s = x->v->steps[i];
		const char *t = migrate__doc_str(&s->doc, s->op == MIGRATE_OP_RENAME_TABLE ? "to" : "table");
		if ((s->op == MIGRATE_OP_CREATE_TABLE || s->op == MIGRATE_OP_ADD_COLUMN ||
		     s->op == MIGRATE_OP_RENAME_TABLE || s->op == MIGRATE_OP_BACKFILL) &&
		    t && (!table || !strcmp(t, table)))
			return true;
	}
	return false;
}

/*
 * A rename, or a drop in the version that moved the data elsewhere, of an
 * object the previous version's application still reads: it fails the
 * moment the step commits, while that application still runs.
 */
static void check_in_use(linter *x, const rule *r)
{
	const char *table = migrate__doc_str(x->doc, x->s->op == MIGRATE_OP_RENAME_TABLE ? "from" : "table");
	const char *column = NULL, *what;
	const migrate__scol *c;

	if (fresh(x, table))
		return;
	switch (x->s->op) {
	case MIGRATE_OP_RENAME_TABLE:
		report(x, r, r->severity,
		       "rename_table \"%s\" to \"%s\": the previous version's application still reads \"%s\"", table,
		       migrate__doc_str(x->doc, "to"), table);
		return;
	case MIGRATE_OP_RENAME_COLUMN: column = migrate__doc_str(x->doc, "from"); break;
	case MIGRATE_OP_DROP_COLUMN: column = migrate__doc_str(x->doc, "column"); break;
	case MIGRATE_OP_DROP_TABLE:
		if (version_expands(x, NULL))
			report(x, r, r->severity,
			       "drop_table \"%s\" in a version that also makes or fills tables (expand and contract in one version): the previous version's application still reads \"%s\"",
			       table, table);
		return;
	default: return;
	}
	if ((c = model_col(x, table, column)) && c->version == x->v->id)
		return; /* made in this version: no application reads it yet */
	if (x->s->op == MIGRATE_OP_RENAME_COLUMN) {
		report(x, r, r->severity,
		       "rename_column \"%s\".\"%s\" to \"%s\": the previous version's application still reads \"%s\"",
		       table, column, migrate__doc_str(x->doc, "to"), column);
		return;
	}
	what = version_reads(x, table, column) ? "its values were copied by an earlier step of this version"
	       : version_expands(x, table)     ? "this version also adds to the table"
					       : NULL;
	if (what)
		report(x, r, r->severity,
		       "drop_column \"%s\".\"%s\" where %s (expand and contract in one version): the previous version's application still reads \"%s\"",
		       table, column, what, column);
}

/* One-statement updates: a backfill or map_values on PostgreSQL without a primary key, or a sql UPDATE. */
static void check_not_batched(linter *x, const rule *r)
{
	const char *table = migrate__doc_str(x->doc, "table"), *sql, *p;
	char name[64], note[160];
	migrate__stable *t;
	int sev;

	if (x->s->op == MIGRATE_OP_BACKFILL || x->s->op == MIGRATE_OP_MAP_VALUES) {
		int64_t batch = migrate__doc_int(x->doc, "batch_size", 0);
		t = migrate__schema_table(&x->m, table);
		if (batch >= x->large && (sev = by_size(x, r, table, note, sizeof note))) {
			report(x, r, sev,
			       "%s of \"%s\"%s with \"batch_size\": %lld: one batch is as large as a large table, its rows locked until it commits",
			       migrate__ops[x->s->op].name, table, note, (long long)batch);
			return;
		}
		if (strcmp(x->driver, "postgres") || !t || !t->pk_known || t->npk ||
		    !(sev = by_size(x, r, table, note, sizeof note)))
			return;
		report(x, r, sev,
		       "%s of \"%s\"%s runs as one UPDATE in one transaction: the table has no primary key to batch by, so every row it updates stays locked until the end",
		       migrate__ops[x->s->op].name, table, note);
		return;
	}
	if (x->s->op != MIGRATE_OP_SQL || !(sql = migrate__doc_str(x->doc, "up")))
		return;
	for (p = sql; (p = next_stmt(p, "update")); p = stmt_end(p)) {
		const char *after = blanks(p + 6);
		if (keyword(after, "only"))
			after += 4;
		ident(after, name, sizeof name);
		if (!name[0] || !(sev = by_size(x, r, name, note, sizeof note)))
			continue;
		report(x, r, sev,
		       "sql step updates \"%s\"%s in one statement: every row it matches stays locked until it commits, and a crash starts it over",
		       name, note);
	}
}

/* Whether an earlier step of the version asserts `table` unique on exactly the index's columns. */
static bool checked_unique(const linter *x, const char *table, const bson_t *keys)
{
	size_t i, nkeys = bson_count_keys(keys);

	for (i = 0; i < x->s->index; i++) {
		const migrate_step_t *s = x->v->steps[i];
		bson_t u, cols, key;
		bson_iter_t it;
		size_t found = 0;
		if (s->op != MIGRATE_OP_ASSERT || !migrate__doc_sub(&s->doc, "unique", &u) ||
		    strcmp(migrate__doc_str(&u, "table") ? migrate__doc_str(&u, "table") : "", table) ||
		    !migrate__doc_sub(&u, "columns", &cols) || bson_count_keys(&cols) != nkeys)
			continue;
		bson_iter_init(&it, keys);
		while (bson_iter_next(&it)) {
			bson_iter_t c;
			const char *col;
			if (!migrate__doc_sub(keys, bson_iter_key(&it), &key) ||
			    !(col = migrate__doc_str(&key, "column")))
				break;
			bson_iter_init(&c, &cols);
			while (bson_iter_next(&c))
				if (BSON_ITER_HOLDS_UTF8(&c) && !strcmp(bson_iter_utf8(&c, NULL), col)) {
					found++;
					break;
				}
		}
		if (found == nkeys)
			return true;
	}
	return false;
}

/* A unique index over existing rows with no uniqueness check before it. */
static void check_unique_index(linter *x, const rule *r)
{
	const char *table = migrate__doc_str(x->doc, "table");
	bson_t keys;
	char note[160];
	int sev;

	if (x->s->op != MIGRATE_OP_CREATE_INDEX || !migrate__doc_bool(x->doc, "unique", false) ||
	    !migrate__doc_sub(x->doc, "keys", &keys) || checked_unique(x, table, &keys) ||
	    !(sev = by_size(x, r, table, note, sizeof note)))
		return;
	report(x, r, sev,
	       "unique index \"%s\" on existing %s \"%s\"%s has no uniqueness check before it: one duplicate fails the build after it has read them all",
	       migrate__doc_str(x->doc, "name"), strcmp(x->driver, "mongo") ? "table" : "collection", table, note);
}

/*
 * A transactional version whose steps cannot all share its transaction:
 * reported once, at its first step the driver runs outside of it.
 */
static void check_mixed(linter *x, const rule *r)
{
	size_t i, first = 0, inside = 0, outside = 0;

	if (!x->v->transactional || !x->d->begin || !x->d->step_flags || x->s->index != 0)
		return;
	/* Without a database x->conn is NULL: the built-in drivers' step_flags read the step only. */
	for (i = 0; i < x->v->nsteps; i++) {
		const migrate_step_t *s = x->v->steps[i];
		if (s->op == MIGRATE_OP_CUSTOM || !(migrate__driver_flags(x->d, x->conn, s) & MIGRATE_STEP_NO_TXN)) {
			inside++;
		} else if (!outside++) {
			first = i;
		}
	}
	if (!inside || !outside)
		return;
	x->s = x->v->steps[first];
	x->doc = &x->s->doc;
	report(x, r, r->severity,
	       "version %llu mixes steps that cannot share a transaction: %zu of its %zu steps, from step %zu (%s), run outside it, so a failure can leave the version half applied (the next up resumes it)",
	       (unsigned long long)x->v->id, outside, x->v->nsteps, first + 1, migrate__ops[x->s->op].name);
	x->s = x->v->steps[0];
	x->doc = &x->s->doc;
}

/* ---- the rules ------------------------------------------------------------ */

static const rule rules[] = {
	{"pg-index-not-concurrent", MIGRATE_LINT_ERROR, "postgres", SIZE_LARGE,
	 "a PostgreSQL index built without CONCURRENTLY on an existing table",
	 "\"online\": true: CREATE INDEX CONCURRENTLY, run alone outside the version's transaction, which lets writes go on",
	 check_index_concurrently},
	{"add-column-not-null-no-default", MIGRATE_LINT_ERROR, "sql", SIZE_NONEMPTY,
	 "add_column NOT NULL without a default on a table with rows",
	 "give the column a default ({\"value\": ...}), or add it nullable and backfill it in batches",
	 check_not_null_no_default},
	{"column-type-rewrite", MIGRATE_LINT_ERROR, "postgres", SIZE_LARGE,
	 "a column type change that rewrites the table",
	 "expand and contract: add a column of the new type, backfill it in batches, move the application, drop the old column in a later version",
	 check_type_rewrite},
	{"rename-or-drop-in-use", MIGRATE_LINT_WARNING, NULL, SIZE_ANY,
	 "a rename, or a drop where the data moved, of what the previous version's application still reads",
	 "expand then contract over two versions: add the new name and copy the data in one version, drop the old one in a later version once no running application reads it",
	 check_in_use},
	{"backfill-not-batched", MIGRATE_LINT_ERROR, "sql", SIZE_LARGE,
	 "a large update in one statement or batch: a backfill or map_values with no key to batch by or a batch_size of a large table, or a sql UPDATE",
	 "a backfill or map_values step on a table with a primary key: batched by key, checkpointed and resumable",
	 check_not_batched},
	{"unique-index-unchecked", MIGRATE_LINT_ERROR, "sql", SIZE_NONEMPTY,
	 "a unique index on existing rows with no uniqueness check before it",
	 "an assert step {\"unique\": {\"table\": ..., \"columns\": [the index's columns]}} just before the index: a duplicate stops the version before any lock, naming the duplicates",
	 check_unique_index},
	{"version-mixed-transaction", MIGRATE_LINT_WARNING, "sql", SIZE_ANY,
	 "a transactional version mixing steps that cannot share its transaction",
	 "split the version: its schema changes in one version, its batched steps in the next (or say \"transactional\": false)",
	 check_mixed},
	{"mongo-unique-index-unchecked", MIGRATE_LINT_ERROR, "mongo", SIZE_LARGE,
	 "a MongoDB unique index on a large collection with no duplicate check before it",
	 "an assert step {\"unique\": {\"table\": ..., \"columns\": [the index's keys]}} just before the index: a duplicate stops the version before the build",
	 check_unique_index},
};
static const size_t nrules = sizeof rules / sizeof rules[0];

size_t migrate_lint_rule_count(void)
{
	return nrules;
}

int migrate_lint_rule_at(size_t i, const char **id, int *severity, const char **summary)
{
	if (id)
		*id = i < nrules ? rules[i].id : NULL;
	if (i >= nrules)
		return MIGRATE_EINVAL;
	if (severity)
		*severity = rules[i].severity;
	if (summary)
		*summary = rules[i].summary;
	return 0;
}

static bool known_rule(const char *id)
{
	size_t i;

	for (i = 0; id && i < nrules; i++)
		if (!strcmp(rules[i].id, id))
			return true;
	return false;
}

static bool applies(const rule *r, const char *driver)
{
	if (!r->drivers)
		return true;
	if (!strcmp(r->drivers, "sql"))
		return !strcmp(driver, "sqlite") || !strcmp(driver, "postgres");
	return !strcmp(r->drivers, driver);
}

/* ---- the walk ------------------------------------------------------------- */

static void push_fresh(linter *x, const char *name)
{
	char *d;

	if (!name || fresh(x, name))
		return;
	if (x->nfresh == x->capfresh) {
		size_t cap = x->capfresh ? x->capfresh * 2 : 8;
		char **v = migrate__realloc(x->fresh, cap * sizeof *v);
		if (!v) {
			x->r->oom = true;
			return;
		}
		x->fresh = v;
		x->capfresh = cap;
	}
	if ((d = migrate__strdup(name)))
		x->fresh[x->nfresh++] = d;
	else
		x->r->oom = true;
}

static void drop_fresh(linter *x, const char *name)
{
	size_t pos;

	if (!x->fresh || !in_list(x->fresh, x->nfresh, name, &pos))
		return;
	free(x->fresh[pos]);
	x->fresh[pos] = x->fresh[--x->nfresh];
}

static void forget_fresh(linter *x)
{
	while (x->nfresh)
		free(x->fresh[--x->nfresh]);
}

/* A renamed table is new in its version when the old name was. */
static void rename_fresh(linter *x, const char *from, const char *to)
{
	bool was_fresh = fresh(x, from);

	drop_fresh(x, from);
	drop_fresh(x, to);
	if (was_fresh)
		push_fresh(x, to);
}

/* What a step leaves new in its version: a table it makes, or renames from a new one. */
static void track_fresh(linter *x, const migrate_step_t *s)
{
	const char *table = migrate__doc_str(&s->doc, "table"), *keep = migrate__doc_str(&s->doc, "keep");

	switch (s->op) {
	case MIGRATE_OP_CREATE_TABLE: push_fresh(x, table); break;
	case MIGRATE_OP_DROP_TABLE:
		/* One that keeps is a rename to the kept name. */
		if (keep)
			rename_fresh(x, table, keep);
		else
			drop_fresh(x, table);
		break;
	case MIGRATE_OP_RENAME_TABLE:
		rename_fresh(x, migrate__doc_str(&s->doc, "from"), migrate__doc_str(&s->doc, "to"));
		break;
	default: break;
	}
}

static void lint_version(linter *x, const migrate_version_t *v, bool check)
{
	size_t i, j;

	x->v = v;
	forget_fresh(x);
	for (i = 0; i < v->nsteps; i++) {
		x->s = v->steps[i];
		x->doc = &x->s->doc;
		for (j = 0; check && j < nrules; j++)
			if (applies(&rules[j], x->driver))
				rules[j].check(x, &rules[j]);
		track_fresh(x, x->s);
		if (check)
			track_rows(x, x->s);
		migrate__schema_step(&x->m, x->s, v->id);
	}
}

/* The driver to lint for: the target's, or the built-in one `name` names. */
static int find_driver(linter *x, migrate_target_t *target, const char *name, migrate_error_t *err)
{
	static const struct {
		const char *name, *url;
	} builtin[] = {{"sqlite", "sqlite::memory:"}, {"postgres", "postgresql://"}, {"mongo", "mongodb://"}};
	size_t i;
	int rc;

	if (target) {
		x->d = target->driver;
		x->conn = target->conn;
		x->driver = target->driver->name;
		return 0;
	}
	if (!name)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL,
				    "migrate_lint: needs a target or a driver name (sqlite, postgres or mongo)");
	for (i = 0; i < sizeof builtin / sizeof builtin[0]; i++)
		if (!strcmp(builtin[i].name, name)) {
			if ((rc = migrate__builtin_for_url(builtin[i].url, &x->d, err)))
				return rc;
			break;
		}
	if (!x->d)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_ENOTFOUND,
				    "no driver \"%s\" in this build (it knows: %s)", name, migrate__builtin_schemes());
	x->driver = x->d->name;
	return 0;
}

static void lint_free(linter *x)
{
	size_t i;

	forget_fresh(x);
	free(x->fresh);
	for (i = 0; i < x->nsizes; i++)
		free(x->sizes[i].name);
	free(x->sizes);
	migrate__schema_free(&x->m);
}

int migrate_lint_options_init(migrate_lint_options_t *opts, unsigned version)
{
	static const migrate_lint_options_t defaults = MIGRATE_LINT_OPTIONS_INIT;

	if (!opts)
		return MIGRATE_EINVAL;
	if (version != MIGRATE_LINT_OPTIONS_VERSION)
		return MIGRATE_EVERSION;
	*opts = defaults;
	return 0;
}

int migrate_lint(const migrate_plan_t *plan, migrate_target_t *target, const migrate_lint_options_t *opts,
		 migrate_lint_report_t **out, migrate_error_t *err)
{
	static const migrate_lint_options_t defaults = MIGRATE_LINT_OPTIONS_INIT;
	migrate__history h;
	migrate_version_t **sorted = NULL;
	linter x;
	size_t i;
	int rc;

	if (out)
		*out = NULL;
	if (!plan || !out)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL, "migrate_lint: plan and out are required");
	if (!opts)
		opts = &defaults;
	if (opts->version != MIGRATE_LINT_OPTIONS_VERSION)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EVERSION,
				    "migrate_lint: options version %u is not supported (this library: %d)",
				    opts->version, MIGRATE_LINT_OPTIONS_VERSION);
	memset(&x, 0, sizeof x);
	memset(&h, 0, sizeof h);
	x.err = err;
	x.large = opts->large_rows > 0 ? opts->large_rows : 1;
	if ((rc = find_driver(&x, target, opts->driver, err)))
		return rc;
	if (target && (rc = migrate__history_load(target, plan->name, &h, err)))
		return rc;
	x.r = migrate__calloc(1, sizeof *x.r);
	sorted = migrate__plan_sorted(plan);
	if (!x.r || !sorted) {
		rc = migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < plan->nversions && !x.rc && !x.r->oom && !x.m.oom; i++) {
		const migrate__rec *rec = target ? migrate__history_find(&h, sorted[i]->id) : NULL;
		/* With a database, an applied version has run: it only moves the model on. */
		lint_version(&x, sorted[i], !rec || rec->state != MIGRATE_STATE_APPLIED);
	}
	if ((rc = x.rc))
		goto done;
	if (x.r->oom || x.m.oom) {
		rc = migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_ENOMEM, "out of memory");
		goto done;
	}
	*out = x.r;
	x.r = NULL;
done:
	free(sorted);
	migrate_lint_report_destroy(x.r);
	migrate__history_free(&h);
	lint_free(&x);
	return rc;
}

/* ---- silencing: the step's "lint" field ---------------------------------- */

int migrate__lint_validate(migrate__vctx *c, const bson_t *step)
{
	bson_t lint, ignore;
	bson_iter_t it;
	const char *reason;

	if (!migrate__doc_find(&it, step, "lint"))
		return 0;
	if (!BSON_ITER_HOLDS_DOCUMENT(&it) || !migrate__doc_sub(step, "lint", &lint))
		return migrate__err(c->err, MIGRATE_DOMAIN_PLAN, MIGRATE_EPLAN,
				    "%s: lint: must be an object {\"ignore\": [rule ids], \"reason\": \"...\"}",
				    c->where);
	bson_iter_init(&it, &lint);
	while (bson_iter_next(&it))
		if (strcmp(bson_iter_key(&it), "ignore") && strcmp(bson_iter_key(&it), "reason"))
			return migrate__err(c->err, MIGRATE_DOMAIN_PLAN, MIGRATE_EPLAN, "%s: lint.%s: unknown field",
					    c->where, bson_iter_key(&it));
	if (!migrate__doc_find(&it, &lint, "ignore") || !BSON_ITER_HOLDS_ARRAY(&it) ||
	    !migrate__doc_sub(&lint, "ignore", &ignore) || bson_count_keys(&ignore) == 0)
		return migrate__err(c->err, MIGRATE_DOMAIN_PLAN, MIGRATE_EPLAN,
				    "%s: lint.ignore: is required: a non-empty array of rule ids", c->where);
	bson_iter_init(&it, &ignore);
	while (bson_iter_next(&it))
		if (!BSON_ITER_HOLDS_UTF8(&it) || !known_rule(bson_iter_utf8(&it, NULL)))
			return migrate__err(c->err, MIGRATE_DOMAIN_PLAN, MIGRATE_EPLAN,
					    "%s: lint.ignore[%s]: unknown lint rule \"%s\" (see docs/lint.md)",
					    c->where, bson_iter_key(&it),
					    BSON_ITER_HOLDS_UTF8(&it) ? bson_iter_utf8(&it, NULL) : "");
	reason = migrate__doc_str(&lint, "reason");
	if (!reason || !*reason)
		return migrate__err(c->err, MIGRATE_DOMAIN_PLAN, MIGRATE_EPLAN,
				    "%s: lint.reason: is required: why the rule does not apply to this step", c->where);
	return 0;
}

int migrate_step_lint_ignore(migrate_step_t *step, const char *rule_id, const char *reason, migrate_error_t *err)
{
	bson_t doc = BSON_INITIALIZER, lint, ignore, old;
	bson_iter_t it;
	char place[512], key[16];
	const char *k;
	uint32_t n = 0;
	int rc;

	if (!step || !rule_id || !reason || !*reason)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL,
				    "migrate_step_lint_ignore: step, rule and a reason are required");
	migrate__step_place(step, place, sizeof place);
	if (!known_rule(rule_id))
		return migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EPLAN, "%s: unknown lint rule \"%s\"", place,
				    rule_id);
	bson_copy_to_excluding_noinit(&step->doc, &doc, "lint", NULL);
	BSON_APPEND_DOCUMENT_BEGIN(&doc, "lint", &lint);
	BSON_APPEND_ARRAY_BEGIN(&lint, "ignore", &ignore);
	if (migrate__doc_sub(&step->doc, "lint", &old) && migrate__doc_sub(&old, "ignore", &old) &&
	    bson_iter_init(&it, &old))
		while (bson_iter_next(&it))
			if (BSON_ITER_HOLDS_UTF8(&it) && strcmp(bson_iter_utf8(&it, NULL), rule_id)) {
				bson_uint32_to_string(n++, &k, key, sizeof key);
				bson_append_utf8(&ignore, k, -1, bson_iter_utf8(&it, NULL), -1);
			}
	bson_uint32_to_string(n, &k, key, sizeof key);
	bson_append_utf8(&ignore, k, -1, rule_id, -1);
	bson_append_array_end(&lint, &ignore);
	BSON_APPEND_UTF8(&lint, "reason", reason);
	bson_append_document_end(&doc, &lint);
	if ((rc = migrate__step_validate(&doc, place, err)) == 0) {
		bson_destroy(&step->doc);
		bson_copy_to(&doc, &step->doc);
	}
	bson_destroy(&doc);
	return rc;
}

/* ---- accessors ------------------------------------------------------------- */

size_t migrate_lint_report_count(const migrate_lint_report_t *report)
{
	return report ? report->n : 0;
}

int migrate_lint_report_max_severity(const migrate_lint_report_t *report)
{
	return report ? report->max : 0;
}

size_t migrate_lint_report_silenced(const migrate_lint_report_t *report)
{
	return report ? report->silenced : 0;
}

const migrate_lint_finding_t *migrate_lint_report_finding(const migrate_lint_report_t *report, size_t i)
{
	return report && i < report->n ? &report->v[i] : NULL;
}

const char *migrate_lint_finding_rule(const migrate_lint_finding_t *finding)
{
	return finding ? finding->rule : NULL;
}

int migrate_lint_finding_severity(const migrate_lint_finding_t *finding)
{
	return finding ? finding->severity : 0;
}

const char *migrate_lint_severity_name(int severity)
{
	switch (severity) {
	case MIGRATE_LINT_WARNING: return "warning";
	case MIGRATE_LINT_ERROR: return "error";
	default: return "unknown";
	}
}

uint64_t migrate_lint_finding_version(const migrate_lint_finding_t *finding)
{
	return finding ? finding->version : 0;
}

size_t migrate_lint_finding_step(const migrate_lint_finding_t *finding)
{
	return finding ? finding->step : 0;
}

const char *migrate_lint_finding_message(const migrate_lint_finding_t *finding)
{
	return finding ? finding->message : NULL;
}

const char *migrate_lint_finding_safer(const migrate_lint_finding_t *finding)
{
	return finding ? finding->safer : NULL;
}
