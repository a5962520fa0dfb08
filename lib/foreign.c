/*
 * Foreign plan directories: the migration directories of golang-migrate,
 * goose and Flyway read as plans, one version per migration, made of raw
 * `sql` (or MongoDB `command`) steps with their down, under the original
 * tool's transaction rules (docs/switching.md). The plan is the same
 * in-memory plan a libmigrate plan directory gives.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

/* One migration of the directory: its id and files. */
typedef struct fver {
	uint64_t id;
	char *name; /* the version's name: the up file's name without its extension */
	char *up;   /* file names; down is NULL when there is none */
	char *down;
	int json; /* golang-migrate's MongoDB format: the files hold commands */
} fver_t;

typedef struct fdir {
	const char *dir;
	const char *format;
	fver_t *v;
	size_t n, cap;
} fdir_t;

static int fail(migrate_error_t *err, const char *dir, const char *file, const char *problem)
{
	return migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EPLAN, "%s/%s: %s", dir, file, problem);
}

static int oom(migrate_error_t *err)
{
	return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_ENOMEM, "out of memory");
}

/* Reads digits at *s into *out (no overflow); false when there are none or too many. */
static bool read_uint(const char **s, uint64_t *out)
{
	const char *p = *s;
	uint64_t v = 0;

	if (*p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*s = p;
	*out = v;
	return true;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* The version of id `id`, added when `add`; NULL when absent (or out of memory: *nomem). */
static fver_t *version_for(fdir_t *d, uint64_t id, bool add, bool *nomem)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (d->v[i].id == id)
			return &d->v[i];
	if (!add)
		return NULL;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		fver_t *grown = migrate__realloc(d->v, cap * sizeof *grown);
		if (!grown) {
			*nomem = true;
			return NULL;
		}
		d->v = grown;
		d->cap = cap;
	}
	memset(&d->v[d->n], 0, sizeof d->v[d->n]);
	d->v[d->n].id = id;
	return &d->v[d->n++];
}

/*
 * Records `file` as the up (or down) file of version `id`; `stem_len` bytes
 * of it name the version.
 */
static int add_file(fdir_t *d, uint64_t id, const char *file, size_t stem_len, bool down, int json,
		    migrate_error_t *err)
{
	bool nomem = false;
	fver_t *v = version_for(d, id, true, &nomem);
	char **slot, problem[PATH_MAX + 64];

	if (!v)
		return oom(err);
	slot = down ? &v->down : &v->up;
	if (*slot) {
		snprintf(problem, sizeof problem, "version %llu is also defined by %s", (unsigned long long)id, *slot);
		return fail(err, d->dir, file, problem);
	}
	if (!(*slot = migrate__strdup(file)))
		return oom(err);
	if (!down) {
		v->json = json;
		if (!(v->name = migrate__malloc(stem_len + 1)))
			return oom(err);
		memcpy(v->name, file, stem_len);
		v->name[stem_len] = '\0';
	}
	return 0;
}

/* golang-migrate: NNN_name.up.sql, NNN_name.down.sql (.json: MongoDB commands). */
static int name_golang_migrate(fdir_t *d, const char *file, migrate_error_t *err)
{
	static const char *const suffixes[] = {".up.sql", ".down.sql", ".up.json", ".down.json"};
	const char *p = file;
	uint64_t id;
	size_t i;

	if (!ends_with(file, ".sql") && !ends_with(file, ".json"))
		return 0;
	for (i = 0; i < 4 && !ends_with(file, suffixes[i]); i++)
		;
	if (i == 4 || !read_uint(&p, &id) || *p != '_')
		return fail(err, d->dir, file,
			    "not a golang-migrate file name: VERSION_NAME.up.sql or VERSION_NAME.down.sql "
			    "(.json for MongoDB)");
	if (id == 0)
		return fail(err, d->dir, file, "version 0: libmigrate ids start at 1");
	return add_file(d, id, file, strlen(file) - strlen(suffixes[i]), i % 2 == 1, i >= 2, err);
}

/* goose: NNN_name.sql (NNN a number or a YYYYMMDDHHMMSS timestamp). */
static int name_goose(fdir_t *d, const char *file, migrate_error_t *err)
{
	const char *p = file;
	uint64_t id;

	if (ends_with(file, ".go"))
		return fail(err, d->dir, file, "goose Go migrations run Go code: rewrite it as SQL or as typed steps");
	if (!ends_with(file, ".sql"))
		return 0;
	if (!read_uint(&p, &id) || *p != '_')
		return fail(err, d->dir, file, "not a goose file name: VERSION_NAME.sql");
	if (id == 0)
		return fail(err, d->dir, file, "version 0: libmigrate ids start at 1");
	return add_file(d, id, file, strlen(file) - 4, false, 0, err);
}

/*
 * A Flyway version ("1", "1.2.3", "2_1") as an ordered id: up to four
 * parts, A.B.C.D -> A * 10^9 + B * 10^6 + C * 10^3 + D, B to D below 1000.
 * Flyway orders versions part by part as numbers, and so do these ids.
 */
int migrate__flyway_id(const char *version, size_t len, uint64_t *id, char *why, size_t why_size)
{
	static const uint64_t scale[4] = {1000000000ull, 1000000ull, 1000ull, 1ull};
	char buf[96];
	const char *p = buf;
	uint64_t part, sum = 0;
	int i;

	if (len == 0 || len >= sizeof buf) {
		snprintf(why, why_size, "the version is empty or too long");
		return -1;
	}
	memcpy(buf, version, len);
	buf[len] = '\0';
	for (i = 0; *p; i++) {
		if (i == 4 || !read_uint(&p, &part) || (*p && *p != '.' && *p != '_') || (*p && !p[1])) {
			snprintf(why, why_size,
				 "version \"%s\": libmigrate takes Flyway versions of up to four numeric parts "
				 "(1, 1.2, 1.2.3.4)",
				 buf);
			return -1;
		}
		if (*p)
			p++;
		if ((i > 0 && part > 999) || (i == 0 && part > (UINT64_MAX - 999999999ull) / scale[0])) {
			snprintf(why, why_size,
				 "version \"%s\": its parts after the first must be below 1000 and the first below "
				 "18446744073 to map to an ordered id",
				 buf);
			return -1;
		}
		sum += part * scale[i];
	}
	if (sum == 0) {
		snprintf(why, why_size, "version \"%s\": libmigrate ids start at 1", buf);
		return -1;
	}
	*id = sum;
	return 0;
}

/* Flyway: V<version>__name.sql, U<version>__name.sql (its undo); R__ (repeatable) refused. */
static int name_flyway(fdir_t *d, const char *file, migrate_error_t *err)
{
	const char *sep;
	char why[256];
	uint64_t id;

	if (ends_with(file, ".sql.conf"))
		return fail(err, d->dir, file,
			    "Flyway script config files are not read: write the setting in the script "
			    "(-- flyway:executeInTransaction=false)");
	if (!ends_with(file, ".sql"))
		return 0;
	if (file[0] == 'R' && strncmp(file + 1, "__", 2) == 0)
		return fail(err, d->dir, file,
			    "repeatable Flyway migrations (R__) are not supported: make it a versioned "
			    "migration (V<next>__...) for each change");
	sep = strstr(file, "__");
	if ((file[0] != 'V' && file[0] != 'U') || !sep)
		return fail(err, d->dir, file, "not a Flyway file name: V<version>__NAME.sql or U<version>__NAME.sql");
	if (migrate__flyway_id(file + 1, (size_t)(sep - file - 1), &id, why, sizeof why))
		return fail(err, d->dir, file, why);
	return add_file(d, id, file, strlen(file) - 4, file[0] == 'U', 0, err);
}

static int fver_cmp(const void *a, const void *b)
{
	const fver_t *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* Lists the directory's migrations, in id order. */
static int list_migrations(fdir_t *d, migrate_error_t *err)
{
	struct dirent *e;
	DIR *dp;
	size_t i;
	int rc = 0;

	if (!(dp = opendir(d->dir)))
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EIO, "%s: %s", d->dir, strerror(errno));
	while (rc == 0 && (e = readdir(dp))) {
		if (e->d_name[0] == '.')
			continue;
		if (strcmp(d->format, "golang-migrate") == 0)
			rc = name_golang_migrate(d, e->d_name, err);
		else if (strcmp(d->format, "goose") == 0)
			rc = name_goose(d, e->d_name, err);
		else
			rc = name_flyway(d, e->d_name, err);
	}
	closedir(dp);
	for (i = 0; rc == 0 && i < d->n; i++)
		if (!d->v[i].up)
			rc = fail(err, d->dir, d->v[i].down, "a down (undo) file without its up file");
	if (rc == 0 && d->n > 1)
		qsort(d->v, d->n, sizeof *d->v, fver_cmp);
	return rc;
}

/* ---- SQL text ---- */

/* Length of the quoted string, dollar-quoted string or comment at s (0: none there). */
static size_t skip_quoted(const char *s)
{
	const char *p, *end;
	size_t tag;

	if (s[0] == '-' && s[1] == '-')
		return strcspn(s, "\n");
	if (s[0] == '/' && s[1] == '*')
		return (end = strstr(s + 2, "*/")) ? (size_t)(end + 2 - s) : strlen(s);
	if (s[0] == '\'' || s[0] == '"') {
		for (p = s + 1; *p && !(*p == s[0] && p[1] != s[0]); p += *p == s[0] ? 2 : 1)
			;
		return (size_t)(p - s) + (*p ? 1 : 0);
	}
	if (s[0] == '$') {
		/* $$...$$ or $tag$...$tag$; "$1" is a parameter, not a quote. */
		tag = 1;
		if (s[1] != '$') {
			if (!(s[1] == '_' || ((s[1] | 32) >= 'a' && (s[1] | 32) <= 'z')))
				return 0;
			for (tag = 2; s[tag] == '_' || ((s[tag] | 32) >= 'a' && (s[tag] | 32) <= 'z') ||
				      (s[tag] >= '0' && s[tag] <= '9');
			     tag++)
				;
			if (s[tag] != '$')
				return 0;
		}
		tag++;
		for (p = s + tag; *p; p++)
			if (strncmp(p, s, tag) == 0)
				return (size_t)(p + tag - s);
		return strlen(s);
	}
	return 0;
}

/* Whether `stmt` has words other than comments. */
static bool has_code(const char *s, size_t n)
{
	size_t i = 0, q;

	while (i < n) {
		if ((s[i] == '-' && s[i + 1] == '-') || (s[i] == '/' && s[i + 1] == '*')) {
			q = skip_quoted(s + i);
			i += q;
			continue;
		}
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n' && s[i] != ';')
			return true;
		i++;
	}
	return false;
}

typedef int (*stmt_fn)(const char *stmt, size_t len, void *ctx);

/* Calls fn for each statement of PostgreSQL text (split at top-level semicolons, kept). */
static int split_sql(const char *text, stmt_fn fn, void *ctx)
{
	const char *start = text, *p = text;
	size_t q;
	int rc;

	while (*p) {
		if ((q = skip_quoted(p))) {
			p += q;
			continue;
		}
		if (*p++ == ';') {
			if (has_code(start, (size_t)(p - start)) && (rc = fn(start, (size_t)(p - start), ctx)))
				return rc;
			start = p;
		}
	}
	if (has_code(start, (size_t)(p - start)))
		return fn(start, (size_t)(p - start), ctx);
	return 0;
}

/* The statement's words, comments and quoted text left out, upper-cased, one space apart. */
static void words(const char *s, size_t n, char *out, size_t size)
{
	size_t i = 0, o = 0, q;

	while (i < n && o + 2 < size) {
		if ((q = skip_quoted(s + i))) {
			i += q;
			out[o++] = ' ';
			continue;
		}
		if (((s[i] | 32) >= 'a' && (s[i] | 32) <= 'z') || s[i] == '_')
			out[o++] = (char)(s[i] & ~32);
		else if (o > 0 && out[o - 1] != ' ')
			out[o++] = ' ';
		i++;
	}
	out[o] = '\0';
}

/* Whether a statement cannot run in a transaction block on PostgreSQL. */
static int refuses_transaction(const char *stmt, size_t len, void *ctx)
{
	static const char *const starts[] = {"VACUUM",
					     "CREATE DATABASE",
					     "DROP DATABASE",
					     "ALTER SYSTEM",
					     "CREATE TABLESPACE",
					     "DROP TABLESPACE",
					     "CLUSTER",
					     NULL};
	char w[512];
	const char *first;
	size_t i;

	(void)ctx;
	words(stmt, len, w, sizeof w);
	first = w + strspn(w, " ");
	if (strstr(w, " CONCURRENTLY ") || ends_with(w, " CONCURRENTLY"))
		return 1;
	for (i = 0; starts[i]; i++)
		if (strncmp(first, starts[i], strlen(starts[i])) == 0)
			return 1;
	return 0;
}

/*
 * Whether a statement controls the transaction (BEGIN, COMMIT, ROLLBACK ...):
 * a file that holds one manages its own, and inside libmigrate's
 * transaction its COMMIT would end the engine's before the journal write.
 */
static int controls_transaction(const char *stmt, size_t len, void *ctx)
{
	static const char *const words_[] = {"BEGIN",
					     "COMMIT",
					     "END",
					     "ROLLBACK",
					     "ABORT",
					     "SAVEPOINT",
					     "RELEASE",
					     "START TRANSACTION",
					     "PREPARE TRANSACTION",
					     NULL};
	char w[512];
	const char *first;
	size_t i, n;

	(void)ctx;
	words(stmt, len, w, sizeof w);
	first = w + strspn(w, " ");
	for (i = 0; words_[i]; i++) {
		n = strlen(words_[i]);
		if (strncmp(first, words_[i], n) == 0 && (first[n] == '\0' || first[n] == ' '))
			return 1;
	}
	return 0;
}

/*
 * Refuses (in `problem`) a goose or Flyway file that controls the
 * transaction: libmigrate runs such a file in its own transaction, or
 * statement by statement with a journal write after each, and either way
 * the file's BEGIN or COMMIT would cut across them.
 */
static int own_transaction_refused(const char *text, const char *tool, char *problem, size_t psize)
{
	if (!split_sql(text, controls_transaction, NULL))
		return 0;
	snprintf(problem, psize,
		 "a statement controls the transaction (BEGIN, COMMIT, ROLLBACK ...): libmigrate runs a %s file in "
		 "a transaction of its own, or statement by statement with a journal write after each; take it out",
		 tool);
	return MIGRATE_EPLAN;
}

/* Statements of a version that runs outside a transaction: one sql step each. */
static int add_sql_step(const char *stmt, size_t len, void *ctx)
{
	migrate_version_t *v = ctx;
	char *text = migrate__malloc(len + 1);
	int rc;

	if (!text)
		return MIGRATE_ENOMEM;
	memcpy(text, stmt, len);
	text[len] = '\0';
	rc = migrate_sql(v, text, NULL, NULL, NULL);
	free(text);
	return rc;
}

/* Sets the version's explicit down: one sql step per text. */
static int set_down(migrate_version_t *v, char *const *texts, size_t n, migrate_error_t *err)
{
	bson_t down = BSON_INITIALIZER, step;
	char key[24];
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(key, sizeof key, "%zu", i);
		bson_append_document_begin(&down, key, -1, &step);
		BSON_APPEND_UTF8(&step, "op", "sql");
		BSON_APPEND_UTF8(&step, "up", texts[i]);
		bson_append_document_end(&down, &step);
	}
	if (v->down)
		bson_destroy(v->down);
	if (!(v->down = bson_copy(&down))) {
		bson_destroy(&down);
		return oom(err);
	}
	bson_destroy(&down);
	migrate__version_changed(v);
	return 0;
}

/* ---- the formats' files ---- */

/* golang-migrate sends each file as one query: in one transaction, or on its own when it cannot be in one. */
static int load_golang_migrate(migrate_version_t *v, const fver_t *f, const char *up, const char *down,
			       migrate_error_t *err)
{
	if (f->json) {
		/* The MongoDB driver runs the array's commands one by one, with no transaction. */
		v->transactional = 0;
		return migrate_command(v, up, down && down[strspn(down, " \t\r\n")] ? down : NULL, NULL, err);
	}
	/* A file with its own BEGIN ... COMMIT is sent as it is, outside libmigrate's transaction. */
	v->transactional =
		split_sql(up, refuses_transaction, NULL) || split_sql(up, controls_transaction, NULL) ? 0 : 1;
	migrate__version_changed(v);
	return migrate_sql(v, up, down && has_code(down, strlen(down)) ? down : NULL, NULL, err);
}

/* Statements collected from a text (a goose section, a Flyway undo run without a transaction). */
typedef struct stmts {
	char **s;
	size_t n, cap;
} stmts_t;

static void stmts_free(stmts_t *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->s[i]);
	free(l->s);
	memset(l, 0, sizeof *l);
}

static int stmts_push(stmts_t *l, const char *text, size_t len)
{
	char *copy;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		char **grown = migrate__realloc(l->s, cap * sizeof *grown);
		if (!grown)
			return MIGRATE_ENOMEM;
		l->s = grown;
		l->cap = cap;
	}
	if (!(copy = migrate__malloc(len + 1)))
		return MIGRATE_ENOMEM;
	memcpy(copy, text, len);
	copy[len] = '\0';
	l->s[l->n++] = copy;
	return 0;
}

static int collect_stmt(const char *stmt, size_t len, void *ctx)
{
	return stmts_push(ctx, stmt, len);
}

/* The explicit down of a version run without a transaction: one step per statement, as the up. */
static int set_down_split(migrate_version_t *v, const char *text, migrate_error_t *err)
{
	stmts_t l = {0};
	int rc = split_sql(text, collect_stmt, &l);

	rc = rc ? oom(err) : set_down(v, l.s, l.n, err);
	stmts_free(&l);
	return rc;
}

/* Flyway: "-- flyway:executeInTransaction=false" and the statements PostgreSQL runs only outside one. */
static int load_flyway(migrate_version_t *v, const char *up, const char *undo, char *problem, size_t psize,
		       migrate_error_t *err)
{
	const char *line;
	int rc;

	if (strstr(up, "${") || (undo && strstr(undo, "${"))) {
		snprintf(problem, psize, "Flyway placeholders (${...}) are not replaced: write the values");
		return MIGRATE_EPLAN;
	}
	v->transactional = 1;
	for (line = up; line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		const char *p = line + strspn(line, " \t");
		size_t n = strcspn(p, "\r\n");
		if (strncmp(p, "-- flyway:", 10) != 0)
			continue;
		if (n == strlen("-- flyway:executeInTransaction=false") &&
		    strncasecmp(p, "-- flyway:executeInTransaction=false", n) == 0)
			v->transactional = 0;
		else if (!(n == strlen("-- flyway:executeInTransaction=true") &&
			   strncasecmp(p, "-- flyway:executeInTransaction=true", n) == 0)) {
			snprintf(problem, psize, "unsupported script setting \"%.*s\" (only executeInTransaction)",
				 (int)n, p);
			return MIGRATE_EPLAN;
		}
	}
	if (split_sql(up, refuses_transaction, NULL))
		v->transactional = 0;
	if ((rc = own_transaction_refused(up, "Flyway", problem, psize)))
		return rc;
	migrate__version_changed(v);
	if (v->transactional)
		return migrate_sql(v, up, undo && has_code(undo, strlen(undo)) ? undo : NULL, NULL, err);
	/* Without a transaction Flyway runs the statements one by one. */
	if ((rc = split_sql(up, add_sql_step, v)))
		return migrate__err(err, MIGRATE_DOMAIN_PLAN, rc, "cannot add its statements");
	if (undo && has_code(undo, strlen(undo)))
		return set_down_split(v, undo, err);
	return 0;
}

/* A goose statement is done: kept unless it holds only comments. */
static int goose_push(stmts_t *s, migrate_buf_t *cur)
{
	int rc = 0;

	if (has_code(cur->str, cur->len))
		rc = stmts_push(s, cur->str, cur->len);
	migrate_buf_truncate(cur, 0);
	return rc;
}

/* A line of SQL ends a goose statement when it ends with ';' (a trailing -- comment aside). */
static bool goose_ends_statement(const char *line, size_t n)
{
	const char *dash = NULL, *p;

	for (p = line; p < line + n - 1; p++)
		if (p[0] == '-' && p[1] == '-') {
			dash = p;
			break;
		}
	if (dash)
		n = (size_t)(dash - line);
	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
		n--;
	return n > 0 && line[n - 1] == ';';
}

/* goose's parser: -- +goose Up / Down sections, StatementBegin/End blocks, NO TRANSACTION. */
static int parse_goose(const char *text, stmts_t sec[2], int *no_txn, char *problem, size_t psize)
{
	migrate_buf_t cur = MIGRATE_BUF_INIT;
	const char *line = text;
	int section = -1, block = 0, rc = 0;
	bool seen_up = false;

	*no_txn = 0;
	while (rc == 0 && *line) {
		size_t n = strcspn(line, "\n");
		const char *t = line + strspn(line, " \t");
		size_t tn = n - (size_t)(t - line);
		while (tn > 0 && (t[tn - 1] == ' ' || t[tn - 1] == '\t' || t[tn - 1] == '\r'))
			tn--;
		if (tn >= 2 && strncmp(t, "--", 2) == 0 && strstr(t, "+goose") && strstr(t, "+goose") < t + tn) {
			const char *a = t + 2 + strspn(t + 2, " ");
			size_t an = tn - (size_t)(a - t);
			if (an == 9 && strncmp(a, "+goose Up", an) == 0) {
				if ((rc = goose_push(&sec[section < 0 ? 0 : section], &cur)))
					break;
				section = 0;
				seen_up = true;
			} else if (an == 11 && strncmp(a, "+goose Down", an) == 0) {
				if (block || (cur.len && has_code(cur.str, cur.len))) {
					snprintf(problem, psize,
						 "a statement of the Up section is not finished by ';' "
						 "or +goose StatementEnd");
					rc = MIGRATE_EPLAN;
					break;
				}
				section = 1;
			} else if (an == 21 && strncmp(a, "+goose StatementBegin", an) == 0) {
				block = 1;
			} else if (an == 19 && strncmp(a, "+goose StatementEnd", an) == 0) {
				block = 0;
				if (section >= 0 && (rc = goose_push(&sec[section], &cur)))
					break;
			} else if (an == 21 && strncmp(a, "+goose NO TRANSACTION", an) == 0) {
				*no_txn = 1;
			} else {
				snprintf(problem, psize, "unsupported goose annotation \"%.*s\"", (int)an, a);
				rc = MIGRATE_EPLAN;
				break;
			}
		} else if (section >= 0 && (block || !(tn >= 2 && strncmp(t, "--", 2) == 0))) {
			if (tn > 0 || cur.len > 0) {
				migrate_buf_append_n(&cur, line, n);
				migrate_buf_append(&cur, "\n");
			}
			if (!block && goose_ends_statement(line, n))
				rc = goose_push(&sec[section], &cur);
		}
		line += n + (line[n] == '\n');
	}
	if (rc == 0 && !seen_up) {
		snprintf(problem, psize, "no -- +goose Up annotation");
		rc = MIGRATE_EPLAN;
	}
	if (rc == 0 && (block || (cur.len && has_code(cur.str, cur.len)))) {
		snprintf(problem, psize, "the last statement is not finished by ';' or +goose StatementEnd");
		rc = MIGRATE_EPLAN;
	}
	migrate_buf_release(&cur);
	return rc;
}

static int load_goose(migrate_version_t *v, const char *text, char *problem, size_t psize, migrate_error_t *err)
{
	stmts_t sec[2];
	size_t i;
	int rc, no_txn;

	memset(sec, 0, sizeof sec);
	if ((rc = parse_goose(text, sec, &no_txn, problem, psize)))
		goto done;
	v->transactional = !no_txn;
	for (i = 0; rc == 0 && i < sec[0].n; i++)
		if (controls_transaction(sec[0].s[i], strlen(sec[0].s[i]), NULL))
			rc = own_transaction_refused(sec[0].s[i], "goose", problem, psize);
	if (rc)
		goto done;
	migrate__version_changed(v);
	for (i = 0; rc == 0 && i < sec[0].n; i++)
		rc = migrate_sql(v, sec[0].s[i], NULL, NULL, err);
	if (rc == 0)
		rc = set_down(v, sec[1].s, sec[1].n, err);
done:
	stmts_free(&sec[0]);
	stmts_free(&sec[1]);
	return rc;
}

/* Reads one file of the directory (NULL name: *text NULL). */
static int read_file(const fdir_t *d, const char *name, char **text, migrate_error_t *err)
{
	char path[PATH_MAX];

	*text = NULL;
	if (!name)
		return 0;
	snprintf(path, sizeof path, "%s/%s", d->dir, name);
	return migrate__read_text(path, text, err);
}

static int load_version(migrate_plan_t *plan, const fdir_t *d, const fver_t *f, migrate_error_t *err)
{
	char *up = NULL, *down = NULL, problem[256] = "";
	migrate_version_t *v;
	int rc;

	if ((rc = read_file(d, f->up, &up, err)) || (rc = read_file(d, f->down, &down, err)))
		goto done;
	if (!up) { /* list_migrations() refused a version without its up file */
		rc = migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EPLAN, "%s: version %llu has no up file", d->dir,
				  (unsigned long long)f->id);
		goto done;
	}
	if ((rc = migrate_plan_add_version(plan, f->id, f->name, &v, err)))
		goto named;
	if (strcmp(d->format, "golang-migrate") == 0)
		rc = load_golang_migrate(v, f, up, down, err);
	else if (strcmp(d->format, "goose") == 0)
		rc = load_goose(v, up, problem, sizeof problem, err);
	else
		rc = load_flyway(v, up, down, problem, sizeof problem, err);
	if (rc && problem[0])
		rc = migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EPLAN, "%s", problem);
named:
	if (rc)
		migrate__err_prefix(err, "%s/%s: ", d->dir, f->up);
done:
	free(up);
	free(down);
	return rc;
}

int migrate__plan_format_known(const char *format)
{
	return format && (strcmp(format, "golang-migrate") == 0 || strcmp(format, "goose") == 0 ||
			  strcmp(format, "flyway") == 0 || strcmp(format, "libmigrate") == 0);
}

int migrate_plan_load_dir_format(migrate_plan_t **out, const char *path, const char *format, migrate_error_t *err)
{
	char dir[PATH_MAX], name[256];
	migrate_plan_t *plan = NULL;
	fdir_t d;
	size_t i, n;
	int rc;

	if (!out || !path)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL,
				    "migrate_plan_load_dir_format: out and path are required");
	*out = NULL;
	if (!format || strcmp(format, "libmigrate") == 0)
		return migrate_plan_load_file(out, path, err);
	if (!migrate__plan_format_known(format))
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL,
				    "unknown plan format \"%s\": golang-migrate, goose, flyway or libmigrate", format);
	snprintf(dir, sizeof dir, "%s", path);
	for (n = strlen(dir); n > 1 && dir[n - 1] == '/'; n--)
		dir[n - 1] = '\0';
	memset(&d, 0, sizeof d);
	d.dir = dir;
	d.format = format;
	if ((rc = migrate__dir_plan_name(dir, name, sizeof name, err)) || (rc = migrate_plan_new(&plan, name, err)) ||
	    (rc = list_migrations(&d, err)))
		goto done;
	for (i = 0; rc == 0 && i < d.n; i++)
		rc = load_version(plan, &d, &d.v[i], err);
done:
	for (i = 0; i < d.n; i++) {
		free(d.v[i].name);
		free(d.v[i].up);
		free(d.v[i].down);
	}
	free(d.v);
	if (rc) {
		if (rc == MIGRATE_EPLAN && plan == NULL)
			migrate__err_prefix(err, "%s: the plan is named after its directory: ", dir);
		migrate_plan_destroy(plan);
		return rc;
	}
	*out = plan;
	return 0;
}
