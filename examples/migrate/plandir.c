/*
 * The commands that edit plan files rather than databases: `new` adds a
 * version file to a plan directory, `fmt` rewrites plan files in one
 * canonical layout. Both load the plan with the library first and write
 * nothing when it is invalid.
 *
 * fmt re-indents the text it read token by token: strings and numbers are
 * copied exactly as written (no float is reprinted, no escape changed), so
 * the step documents, and with them the checksums, stay the same; it checks
 * that again before writing.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define PLAN_NAME_MAX 100

/* ---- a JSON tree whose scalars keep their text ------------------------- */

typedef struct jnode {
	char kind;        /* '{', '[' or 's' (a scalar, key or value, as written) */
	const char *text; /* scalars: the token */
	size_t len;
	struct jnode **kids; /* '{': key, value, key, value ...; '[': elements */
	size_t nkids;
} jnode_t;

/* A heap text buffer over the public migrate_buf_t; an allocation failure ends the tool. */
static migrate_buf_t *text_new(const char *init)
{
	migrate_buf_t *b = malloc(sizeof *b);

	if (!b) {
		fputs("migrate: out of memory\n", stderr);
		exit(1);
	}
	migrate_buf_init(b);
	migrate_buf_append(b, init);
	return b;
}

/* Frees `b`; unless `free_text`, returns its text (caller frees). */
static char *text_free(migrate_buf_t *b, bool free_text)
{
	char *text = NULL;

	if (b->failed || (!free_text && !(text = strdup(b->str)))) {
		fputs("migrate: out of memory\n", stderr);
		exit(1);
	}
	migrate_buf_release(b);
	free(b);
	return text;
}

static void jfree(jnode_t *n)
{
	size_t i;

	if (!n)
		return;
	for (i = 0; i < n->nkids; i++)
		jfree(n->kids[i]);
	free(n->kids);
	free(n);
}

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	return p;
}

static int jpush(jnode_t *n, jnode_t *kid)
{
	jnode_t **grown = realloc(n->kids, (n->nkids + 1) * sizeof *grown);

	if (!grown) {
		jfree(kid);
		return -1;
	}
	n->kids = grown;
	n->kids[n->nkids++] = kid;
	return 0;
}

/*
 * Parses one value at *p. The library has already accepted the text, so
 * this only has to find the tokens; it still fails cleanly on anything odd.
 */
static jnode_t *jparse(const char **p, int depth)
{
	const char *s = skip_ws(*p);
	jnode_t *n = calloc(1, sizeof *n);

	if (!n || depth > 200)
		goto fail;
	if (*s == '{' || *s == '[') {
		char close = *s == '{' ? '}' : ']';
		n->kind = *s;
		s = skip_ws(s + 1);
		while (*s != close) {
			jnode_t *kid;
			if (n->nkids > 0) {
				if (*s != ',')
					goto fail;
				s = skip_ws(s + 1);
			}
			if (n->kind == '{') {
				if (*s != '"' || !(kid = jparse(&s, depth + 1)) || jpush(n, kid))
					goto fail;
				s = skip_ws(s);
				if (*s++ != ':')
					goto fail;
			}
			if (!(kid = jparse(&s, depth + 1)) || jpush(n, kid))
				goto fail;
			s = skip_ws(s);
		}
		*p = s + 1;
		return n;
	}
	n->kind = 's';
	n->text = s;
	if (*s == '"') {
		for (s++; *s && *s != '"'; s++)
			if (*s == '\\' && s[1])
				s++;
		if (*s++ != '"')
			goto fail;
	} else {
		while (*s && (isalnum((unsigned char)*s) || *s == '-' || *s == '+' || *s == '.'))
			s++;
	}
	n->len = (size_t)(s - n->text);
	if (n->len == 0)
		goto fail;
	*p = s;
	return n;
fail:
	jfree(n);
	return NULL;
}

/* The value of key `key` (given with its quotes) in an object, or NULL. */
static jnode_t *jget(const jnode_t *obj, const char *key)
{
	size_t i;

	for (i = 0; obj && obj->kind == '{' && i + 1 < obj->nkids; i += 2)
		if (obj->kids[i]->len == strlen(key) && !memcmp(obj->kids[i]->text, key, obj->kids[i]->len))
			return obj->kids[i + 1];
	return NULL;
}

/* ---- canonical layout --------------------------------------------------- */

enum shape {
	SHAPE_ANY,
	SHAPE_PLAN,
	SHAPE_VERSION,
	SHAPE_STEP
};

static const char *const plan_keys[] = {"\"$schema\"", "\"plan\"", "\"description\"", "\"versions\"", NULL};
static const char *const version_keys[] = {"\"id\"",   "\"name\"", "\"description\"", "\"transactional\"", "\"steps\"",
					   "\"down\"", NULL};
/*
 * Only a step's own "op" moves (first). Deeper objects keep their order:
 * a MongoDB command document's first key is its command name.
 */
static const char *const step_keys[] = {"\"op\"", NULL};

static int key_is(const jnode_t *key, const char *quoted)
{
	return key->len == strlen(quoted) && !memcmp(key->text, quoted, key->len);
}

/*
 * The shape of the elements of array `key` of object `parent` (of shape
 * `shape`): a plan's versions, a version's steps and down, a step's down
 * (but the down of sql and command, which is of their own kind).
 */
static enum shape array_shape(enum shape shape, const jnode_t *parent, const jnode_t *key)
{
	const jnode_t *op;

	if (shape == SHAPE_PLAN && key_is(key, "\"versions\""))
		return SHAPE_VERSION;
	if (shape == SHAPE_VERSION && (key_is(key, "\"steps\"") || key_is(key, "\"down\"")))
		return SHAPE_STEP;
	if (shape == SHAPE_STEP && key_is(key, "\"down\"")) {
		op = jget(parent, "\"op\"");
		if (op && (key_is(op, "\"sql\"") || key_is(op, "\"command\"")))
			return SHAPE_ANY;
		return SHAPE_STEP;
	}
	return SHAPE_ANY;
}

static void indent(migrate_buf_t *out, int level)
{
	int i;

	for (i = 0; i < level; i++)
		migrate_buf_append(out, "  ");
}

static void write_node(migrate_buf_t *out, const jnode_t *n, enum shape shape, int level);

/* Writes member i (key and value) of object `n`. */
static void write_member(migrate_buf_t *out, const jnode_t *n, size_t i, enum shape shape, int level, int *first)
{
	const jnode_t *key = n->kids[i], *value = n->kids[i + 1];

	migrate_buf_append(out, *first ? "\n" : ",\n");
	*first = 0;
	indent(out, level + 1);
	migrate_buf_printf(out, "%.*s: ", (int)key->len, key->text);
	write_node(out, value, value->kind == '[' ? array_shape(shape, n, key) : SHAPE_ANY, level + 1);
}

static int is_known(const jnode_t *key, const char *const *order)
{
	size_t i;

	for (i = 0; order && order[i]; i++)
		if (key_is(key, order[i]))
			return 1;
	return 0;
}

static void write_object(migrate_buf_t *out, const jnode_t *n, enum shape shape, int level)
{
	const char *const *order = shape == SHAPE_PLAN      ? plan_keys
				   : shape == SHAPE_VERSION ? version_keys
				   : shape == SHAPE_STEP    ? step_keys
							    : NULL;
	int first = 1;
	size_t i, k;

	if (n->nkids == 0) {
		migrate_buf_append(out, "{}");
		return;
	}
	migrate_buf_append(out, "{");
	/* The known keys in their order, then the others as written. */
	for (k = 0; order && order[k]; k++)
		for (i = 0; i + 1 < n->nkids; i += 2)
			if (key_is(n->kids[i], order[k]))
				write_member(out, n, i, shape, level, &first);
	for (i = 0; i + 1 < n->nkids; i += 2)
		if (!is_known(n->kids[i], order))
			write_member(out, n, i, shape, level, &first);
	migrate_buf_append(out, "\n");
	indent(out, level);
	migrate_buf_append(out, "}");
}

static void write_node(migrate_buf_t *out, const jnode_t *n, enum shape shape, int level)
{
	size_t i;

	if (n->kind == 's') {
		migrate_buf_printf(out, "%.*s", (int)n->len, n->text);
	} else if (n->kind == '{') {
		write_object(out, n, shape, level);
	} else if (n->nkids == 0) {
		migrate_buf_append(out, "[]");
	} else {
		migrate_buf_append(out, "[");
		for (i = 0; i < n->nkids; i++) {
			migrate_buf_append(out, i ? ",\n" : "\n");
			indent(out, level + 1);
			write_node(out, n->kids[i], shape, level + 1);
		}
		migrate_buf_append(out, "\n");
		indent(out, level);
		migrate_buf_append(out, "]");
	}
}

/* The canonical text of `text` (a plan file, plan.json or a version file); NULL if it is no JSON object. */
static char *format_text(const char *text, enum shape shape)
{
	const char *p = text;
	jnode_t *root = jparse(&p, 0);
	migrate_buf_t *out;

	if (!root || root->kind != '{' || *skip_ws(p) != '\0') {
		jfree(root);
		return NULL;
	}
	out = text_new(NULL);
	write_node(out, root, shape, 0);
	migrate_buf_append(out, "\n");
	jfree(root);
	return text_free(out, false);
}

/* ---- files -------------------------------------------------------------- */

static char *read_file(const char *path)
{
	migrate_buf_t *text = text_new(NULL);
	char buf[8192];
	size_t n;
	FILE *f = fopen(path, "rb");

	if (!f) {
		text_free(text, true);
		return NULL;
	}
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		migrate_buf_printf(text, "%.*s", (int)n, buf);
	fclose(f);
	return text_free(text, false);
}

/* Replaces `path` with `text` through a temporary file and a rename. */
static int write_file(const char *path, const char *text, char *why, size_t why_size)
{
	char tmp[4096];
	FILE *f;
	int ok;

	snprintf(tmp, sizeof tmp, "%s.fmt-tmp", path);
	if (!(f = fopen(tmp, "wb"))) {
		snprintf(why, why_size, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	ok = fputs(text, f) >= 0;
	ok = (fclose(f) == 0) && ok;
	if (!ok || rename(tmp, path) != 0) {
		snprintf(why, why_size, "%s: %s", path, strerror(errno));
		remove(tmp);
		return -1;
	}
	return 0;
}

static int is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The files a plan directory's loader reads (plan.json first), as the library lists them. */
static int list_plan_files(const char *dir, char ***names, size_t *count)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	*names = NULL;
	*count = 0;
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		char path[4096];
		char **grown;
		if (e->d_name[0] == '.' || n <= 5 || strcmp(e->d_name + n - 5, ".json") != 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (is_dir(path))
			continue;
		if (!(grown = realloc(*names, (*count + 1) * sizeof *grown)))
			break;
		*names = grown;
		(*names)[(*count)++] = strdup(e->d_name);
	}
	closedir(d);
	return 0;
}

static void free_names(char **names, size_t count)
{
	size_t i;

	for (i = 0; names && i < count; i++)
		free(names[i]);
	free(names);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The plan path of a command that needs no database: --plan or $MIGRATE_PLAN. */
static int plan_operand(cli_t *c)
{
	if (!c->plan_path)
		c->plan_path = getenv("MIGRATE_PLAN");
	if (!c->plan_path || !*c->plan_path)
		return cli_usage_error(c, "%s needs a plan: --plan DIR or MIGRATE_PLAN", c->command);
	if (strcmp(c->plan_path, "-") == 0)
		return cli_usage_error(c, "%s needs a plan on disk, not standard input", c->command);
	return 0;
}

static int fail_message(cli_t *c, int rc, const char *message)
{
	migrate_error_t err;

	cli_set_error(&err, MIGRATE_DOMAIN_API, rc, message);
	return cli_fail(c, rc, &err);
}

/* The checksums of every version of `plan`, in order: one string of 64 hex digits each. */
static char *plan_checksums(const migrate_plan_t *plan)
{
	size_t i, n = migrate_plan_version_count(plan);
	migrate_buf_t *all = text_new(NULL);
	migrate_error_t err;
	char sum[65];

	for (i = 0; i < n; i++) {
		const migrate_version_t *v = migrate_plan_version_at(plan, i);
		if (migrate_version_checksum(v, sum, sizeof sum, &err) != 0)
			sum[0] = '\0';
		migrate_buf_printf(all, "%llu:%s;", (unsigned long long)migrate_version_id(v), sum);
	}
	return text_free(all, false);
}

/* ---- fmt ---------------------------------------------------------------- */

typedef struct fmt_file {
	char path[4096];
	char *old_text, *new_text;
} fmt_file_t;

/* Formats every file of the plan into `files` (in memory). */
static int fmt_prepare(const char *plan_path, fmt_file_t **files, size_t *count, char *why, size_t why_size)
{
	char **names = NULL;
	size_t n = 0, i;

	*files = NULL;
	*count = 0;
	if (is_dir(plan_path)) {
		if (list_plan_files(plan_path, &names, &n)) {
			snprintf(why, why_size, "%s: %s", plan_path, strerror(errno));
			return -1;
		}
		if (n > 1)
			qsort(names, n, sizeof *names, name_cmp);
	} else {
		n = 1;
	}
	*files = calloc(n ? n : 1, sizeof **files);
	for (i = 0; *files && i < n; i++) {
		fmt_file_t *f = &(*files)[(*count)++];
		int plan_json = names && strcmp(names[i], "plan.json") == 0;
		if (names)
			snprintf(f->path, sizeof f->path, "%s/%s", plan_path, names[i]);
		else
			snprintf(f->path, sizeof f->path, "%s", plan_path);
		f->old_text = read_file(f->path);
		f->new_text =
			f->old_text ? format_text(f->old_text, names && !plan_json ? SHAPE_VERSION : SHAPE_PLAN) : NULL;
		if (!f->new_text) {
			snprintf(why, why_size, "%s: cannot be formatted", f->path);
			free_names(names, n);
			return -1;
		}
	}
	free_names(names, n);
	return *files ? 0 : -1;
}

static void fmt_free(fmt_file_t *files, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++) {
		bson_free(files[i].old_text);
		bson_free(files[i].new_text);
	}
	free(files);
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* Whether the plan's name is written in its files: a plan file, or a directory with a plan.json. */
static int has_plan_name(const char *plan_path, const fmt_file_t *files, size_t count)
{
	size_t i;

	if (!is_dir(plan_path))
		return 1;
	for (i = 0; i < count; i++)
		if (!strcmp(base_name(files[i].path), "plan.json"))
			return 1;
	return 0;
}

/*
 * The formatted files must load to the same plan: a single file is loaded
 * from its new text, a directory from a copy written next to it.
 */
static int fmt_verify(const char *plan_path, const migrate_plan_t *before, fmt_file_t *files, size_t count,
		      migrate_error_t *err)
{
	migrate_plan_t *after = NULL;
	char tmpdir[4096], path[4096 + 64];
	char *a, *b;
	size_t i;
	int rc;

	if (!is_dir(plan_path)) {
		rc = migrate_plan_load_json(&after, files[0].new_text, err);
	} else {
		snprintf(tmpdir, sizeof tmpdir, "%s/.fmt-check-XXXXXX", plan_path);
		if (!mkdtemp(tmpdir)) {
			cli_set_error(err, MIGRATE_DOMAIN_API, MIGRATE_EIO, strerror(errno));
			return MIGRATE_EIO;
		}
		rc = 0;
		for (i = 0; rc == 0 && i < count; i++) {
			char why[256];
			snprintf(path, sizeof path, "%s/%s", tmpdir, base_name(files[i].path));
			if (write_file(path, files[i].new_text, why, sizeof why)) {
				cli_set_error(err, MIGRATE_DOMAIN_API, MIGRATE_EIO, why);
				rc = MIGRATE_EIO;
			}
		}
		if (rc == 0)
			rc = migrate_plan_load_file(&after, tmpdir, err);
		for (i = 0; i < count; i++) {
			snprintf(path, sizeof path, "%s/%s", tmpdir, base_name(files[i].path));
			remove(path);
		}
		rmdir(tmpdir);
	}
	if (rc)
		return rc;
	/* The copy is named after its temporary folder without a plan.json: compare the name only with one. */
	a = plan_checksums(before);
	b = plan_checksums(after);
	rc = strcmp(a, b) == 0 && (!has_plan_name(plan_path, files, count) ||
				   !strcmp(migrate_plan_name(before), migrate_plan_name(after)))
		     ? 0
		     : MIGRATE_EPLAN;
	if (rc)
		cli_set_error(err, MIGRATE_DOMAIN_PLAN, rc, "formatting would change a checksum; nothing written");
	bson_free(a);
	bson_free(b);
	migrate_plan_destroy(after);
	return rc;
}

int cmd_fmt(cli_t *c)
{
	migrate_error_t err;
	fmt_file_t *files = NULL;
	size_t count = 0, i, changed = 0;
	char why[4096 + 64];
	bson_t list;
	int rc;

	memset(&err, 0, sizeof err);
	if ((rc = plan_operand(c)))
		return rc;
	/* An invalid plan is reported as it is, and left as it is. */
	if ((rc = migrate_plan_load_file(&c->plan, c->plan_path, &err)))
		return cli_fail(c, rc, &err);
	if (fmt_prepare(c->plan_path, &files, &count, why, sizeof why)) {
		fmt_free(files, count);
		return fail_message(c, MIGRATE_EIO, why);
	}
	if ((rc = fmt_verify(c->plan_path, c->plan, files, count, &err))) {
		fmt_free(files, count);
		return cli_fail(c, rc, &err);
	}
	if (c->json)
		bson_append_array_begin(c->doc, "formatted", -1, &list);
	for (i = 0; i < count; i++) {
		if (strcmp(files[i].old_text, files[i].new_text) == 0)
			continue;
		if (write_file(files[i].path, files[i].new_text, why, sizeof why)) {
			if (c->json)
				bson_append_array_end(c->doc, &list);
			fmt_free(files, count);
			return fail_message(c, MIGRATE_EIO, why);
		}
		if (c->json) {
			char key[16];
			snprintf(key, sizeof key, "%zu", changed);
			BSON_APPEND_UTF8(&list, key, files[i].path);
		} else {
			printf("formatted %s\n", files[i].path);
		}
		changed++;
	}
	fmt_free(files, count);
	if (c->json) {
		bson_append_array_end(c->doc, &list);
		BSON_APPEND_INT32(c->doc, "unchanged", (int32_t)(count - changed));
		return cli_json_end(c, 0);
	}
	printf("%zu file%s formatted, %zu already canonical\n", changed, changed == 1 ? "" : "s", count - changed);
	return 0;
}

/* ---- new ---------------------------------------------------------------- */

static int valid_version_name(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
			return 0;
	return i > 0 && i <= PLAN_NAME_MAX;
}

/* YYYYMMDDHHMMSS of now, in UTC. */
static uint64_t timestamp_id(void)
{
	time_t now = time(NULL);
	struct tm tm;
	char buf[32];

	gmtime_r(&now, &tm);
	strftime(buf, sizeof buf, "%Y%m%d%H%M%S", &tm);
	return strtoull(buf, NULL, 10);
}

int cmd_new(cli_t *c)
{
	migrate_error_t err;
	uint64_t id = 0, max = 0;
	char path[4096 + 128], why[4096 + 192];
	const char *name = c->operand;
	size_t i;
	int rc, fd;
	FILE *f;

	memset(&err, 0, sizeof err);
	if (!name)
		return cli_usage_error(c, "new needs a NAME; see `migrate help new`");
	if (!valid_version_name(name))
		return cli_usage_error(c, "new: NAME is letters, digits, '_' and '-' (at most %d), not \"%s\"",
				       PLAN_NAME_MAX, name);
	if ((rc = plan_operand(c)))
		return rc;
	if (!is_dir(c->plan_path)) {
		struct stat st;
		if (stat(c->plan_path, &st) == 0)
			return cli_usage_error(c, "new adds a file to a plan directory; %s is a file", c->plan_path);
		if (mkdir(c->plan_path, 0777) != 0) {
			snprintf(why, sizeof why, "%s: %s", c->plan_path, strerror(errno));
			return fail_message(c, MIGRATE_EIO, why);
		}
	}
	/* The next id follows the plan as it loads: an invalid plan gets no new file. */
	if ((rc = migrate_plan_load_file(&c->plan, c->plan_path, &err)))
		return cli_fail(c, rc, &err);
	for (i = 0; i < migrate_plan_version_count(c->plan); i++)
		if (migrate_version_id(migrate_plan_version_at(c->plan, i)) > max)
			max = migrate_version_id(migrate_plan_version_at(c->plan, i));
	if (max == (uint64_t)INT64_MAX) {
		snprintf(why, sizeof why, "the plan's last version %llu has the greatest id there is",
			 (unsigned long long)max);
		return fail_message(c, MIGRATE_EPLAN, why);
	}
	id = c->timestamp_ids ? timestamp_id() : max + 1;
	if (id <= max) {
		snprintf(why, sizeof why, "version %llu is not newer than the plan's last version %llu",
			 (unsigned long long)id, (unsigned long long)max);
		return fail_message(c, MIGRATE_EPLAN, why);
	}
	snprintf(path, sizeof path, "%s/%0*llu_%s.json", c->plan_path, c->timestamp_ids ? 14 : 4,
		 (unsigned long long)id, name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0666);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		snprintf(why, sizeof why, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return fail_message(c, MIGRATE_EIO, why);
	}
	/* The id is the file name's prefix: renaming the file renumbers the version. */
	fprintf(f, "{\n  \"name\": \"%s\",\n  \"steps\": []\n}\n", name);
	if (fclose(f) != 0) {
		snprintf(why, sizeof why, "%s: %s", path, strerror(errno));
		return fail_message(c, MIGRATE_EIO, why);
	}
	if (c->json) {
		BSON_APPEND_UTF8(c->doc, "file", path);
		BSON_APPEND_INT64(c->doc, "id", (int64_t)id);
		return cli_json_end(c, 0);
	}
	printf("created %s (version %llu)\n", path, (unsigned long long)id);
	return 0;
}

/*
 * import OUTDIR: another tool's directory (--plan FORMAT:DIR) written as a
 * libmigrate plan directory in fmt's canonical layout, every checksum kept
 * (checked on the formatted files before they replace the written ones).
 */
int cmd_import(cli_t *c)
{
	migrate_error_t err;
	fmt_file_t *files = NULL;
	size_t count = 0, i;
	char why[4096 + 64];
	int rc;

	memset(&err, 0, sizeof err);
	if ((rc = plan_operand(c)))
		return rc;
	if (!c->operand)
		return cli_usage_error(c, "import needs the directory to write: import OUTDIR");
	cli_split_plan_format(c);
	if ((rc = migrate_plan_load_dir_format(&c->plan, c->plan_path, c->plan_format[0] ? c->plan_format : NULL,
					       &err)) ||
	    (rc = migrate_plan_save_dir(c->plan, c->operand, &err)))
		return cli_fail(c, rc, &err);
	if (fmt_prepare(c->operand, &files, &count, why, sizeof why)) {
		fmt_free(files, count);
		return fail_message(c, MIGRATE_EIO, why);
	}
	if ((rc = fmt_verify(c->operand, c->plan, files, count, &err))) {
		fmt_free(files, count);
		return cli_fail(c, rc, &err);
	}
	for (i = 0; i < count; i++) {
		if (strcmp(files[i].old_text, files[i].new_text) != 0 &&
		    write_file(files[i].path, files[i].new_text, why, sizeof why)) {
			fmt_free(files, count);
			return fail_message(c, MIGRATE_EIO, why);
		}
	}
	fmt_free(files, count);
	if (c->json) {
		BSON_APPEND_UTF8(c->doc, "imported", c->operand);
		BSON_APPEND_INT64(c->doc, "versions", (int64_t)migrate_plan_version_count(c->plan));
		return cli_json_end(c, 0);
	}
	if (!c->quiet)
		printf("plan \"%s\": %zu version%s of %s written to %s (same checksums)\n", migrate_plan_name(c->plan),
		       migrate_plan_version_count(c->plan), migrate_plan_version_count(c->plan) == 1 ? "" : "s",
		       c->plan_path, c->operand);
	return 0;
}
