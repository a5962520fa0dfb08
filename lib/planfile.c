/*
 * Plan files: one JSON document holding exactly the step documents of the
 * C API, loaded into the same plan the typed builders make (and so with the
 * same checksums). Every error names its place as a JSON path. A plan may
 * also be a directory of one file per version, so that two branches adding
 * versions touch different files.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

#define PLAN_FILE_MAX (64u << 20)

static int file_fail(migrate_error_t *err, const char *path, const char *problem)
{
	return migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EPLAN, "%s: %s", path, problem);
}

/* out = prefix.field, or field alone when the prefix is empty (a version file's own fields). */
/* Appends s to out[0..*n], truncated to fit `size` with its NUL, as snprintf would. */
static void add(char *out, size_t size, size_t *n, const char *s)
{
	size_t len = strlen(s);

	if (*n + len >= size)
		len = size - 1 - *n;
	memcpy(out + *n, s, len);
	*n += len;
	out[*n] = '\0';
}

/*
 * out = prefix.field, or field alone when the prefix is empty, with
 * "[index]" after it unless index < 0: every version and step has a place,
 * made without printf (a plan has many).
 */
static void place_at(char *out, size_t size, const char *prefix, const char *field, int index)
{
	char digits[16], *d = digits + sizeof digits;
	size_t n = 0;

	out[0] = '\0';
	add(out, size, &n, prefix);
	add(out, size, &n, prefix[0] ? "." : "");
	add(out, size, &n, field);
	if (index < 0)
		return;
	*--d = '\0';
	*--d = ']';
	do {
		*--d = (char)('0' + index % 10);
		index /= 10;
	} while (index);
	*--d = '[';
	add(out, size, &n, d);
}

static void place(char *out, size_t size, const char *prefix, const char *field)
{
	place_at(out, size, prefix, field, -1);
}

static bool only_keys(const bson_t *doc, const char *const *allowed, const char **bad)
{
	bson_iter_t it;
	size_t i;

	bson_iter_init(&it, doc);
	while (bson_iter_next(&it)) {
		for (i = 0; allowed[i] && strcmp(allowed[i], bson_iter_key(&it)); i++)
			;
		if (!allowed[i]) {
			*bad = bson_iter_key(&it);
			return false;
		}
	}
	return true;
}

/*
 * A string field holds no NUL (JSON's \u0000): C strings end there, so a
 * plan named "a\u0000b" would be plan "a", with a's history and lock. The
 * steps' strings are checked by the step validator.
 */
static int check_text_at(const bson_iter_t *it, const char *key, const char *prefix, migrate_error_t *err)
{
	char path[96];
	uint32_t len;

	if (!BSON_ITER_HOLDS_UTF8(it) || strlen(bson_iter_utf8(it, &len)) == len)
		return 0;
	place(path, sizeof path, prefix, key);
	return file_fail(err, path, "contains a NUL character (\\u0000)");
}

static int check_text(const bson_t *doc, const char *key, const char *prefix, migrate_error_t *err)
{
	bson_iter_t it;

	return migrate__doc_find(&it, doc, key) ? check_text_at(&it, key, prefix, err) : 0;
}

/*
 * Where a version object is: in the BSON a plan keeps (plan->source), its
 * steps then views into it, not copies; and in text the one-pass read found
 * no NUL in, whose steps need no walk for one.
 */
typedef struct origin {
	bool view;
	bool nul_free;
} origin_t;

static const origin_t copied = {false, false};

static int load_steps(migrate_version_t *v, const bson_t *steps, const char *vpath, origin_t from, migrate_error_t *err)
{
	bson_iter_t it;
	char where[128];
	int i = 0, rc;

	bson_iter_init(&it, steps);
	while (bson_iter_next(&it)) {
		bson_t step;
		const uint8_t *data;
		uint32_t len;
		migrate_step_t *s;
		place_at(where, sizeof where, vpath, "steps", i++);
		if (!BSON_ITER_HOLDS_DOCUMENT(&it))
			return file_fail(err, where, "must be a step object");
		bson_iter_document(&it, &len, &data);
		bson_init_static(&step, data, len);
		if (migrate__op_find(migrate__doc_str(&step, "op")) == MIGRATE_OP_CUSTOM)
			return file_fail(err, where, "custom steps run C callbacks and can only be added from code");
		if ((rc = from.nul_free ? migrate__step_validate_nul_free(&step, where, err)
					: migrate__step_validate(&step, where, err)))
			return rc;
		if (!(s = from.view ? migrate__step_view(&step, v->plan) : migrate__step_new(&step)))
			return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_ENOMEM, "out of memory");
		if ((rc = migrate__version_push(v, s, err)))
			return rc;
	}
	return 0;
}

/* The numeric prefix of a version file's name above INT64_MAX: no id, as the "id" field's range. */
#define PREFIX_OUT_OF_RANGE UINT64_MAX

/*
 * Reads a version's id: the "id" field, or `file_id` (the numeric prefix of
 * a version file's name, 0 when none) when the field is absent; both given
 * must agree.
 */
static int version_id(const bson_t *doc, const char *vpath, uint64_t file_id, uint64_t *id, migrate_error_t *err)
{
	char path[96], problem[128];
	bson_iter_t it;

	place(path, sizeof path, vpath, "id");
	if (file_id == PREFIX_OUT_OF_RANGE)
		return file_fail(err, path,
				 "the file name's prefix is out of range (ids go up to 9223372036854775807)");
	if (!migrate__doc_find(&it, doc, "id")) {
		if (file_id == 0 && vpath[0] == '\0')
			return file_fail(err, path,
					 "is required: name the file with a numeric prefix (0007_name.json)");
		if (file_id == 0)
			return file_fail(err, path, "must be a whole number from 1 up");
		*id = file_id;
		return 0;
	}
	if (!(BSON_ITER_HOLDS_INT32(&it) || BSON_ITER_HOLDS_INT64(&it)) || bson_iter_as_int64(&it) < 1)
		return file_fail(err, path, "must be a whole number from 1 up");
	*id = (uint64_t)bson_iter_as_int64(&it);
	if (file_id != 0 && file_id != *id) {
		snprintf(problem, sizeof problem, "%llu does not match the file name's prefix (%llu)",
			 (unsigned long long)*id, (unsigned long long)file_id);
		return file_fail(err, path, problem);
	}
	return 0;
}

/*
 * Loads one version object. `vpath` is its place ("versions[3]" in a plan
 * file, "" in a version file, whose errors the caller prefixes with the
 * file's name); `id` was read by version_id(); `from` tells where `doc` is.
 */
static int load_version(migrate_plan_t *plan, const bson_t *doc, const char *vpath, uint64_t id, origin_t from,
			migrate_error_t *err)
{
	/* Its members, found in one walk (the first of each; a key is never repeated in a read document). */
	enum {
		F_NAME,
		F_TRANSACTIONAL,
		F_STEPS,
		F_DOWN,
		F_DESCRIPTION,
		F_COUNT
	};
	static const char *const fields[F_COUNT] = {"name", "transactional", "steps", "down", "description"};
	bson_iter_t it, name_it, transactional_it, steps_it, down_it, description_it;
	bson_iter_t *const found[F_COUNT] = {&name_it, &transactional_it, &steps_it, &down_it, &description_it};
	bool has[F_COUNT] = {false};
	migrate_version_t *v;
	bson_t steps, down;
	const uint8_t *data;
	uint32_t len;
	char path[96];
	int rc, f;

	bson_iter_init(&it, doc);
	while (bson_iter_next(&it)) {
		const char *k = bson_iter_key(&it);
		for (f = 0; f < F_COUNT && !migrate__streq(k, fields[f]); f++)
			;
		if (f < F_COUNT) {
			if (!has[f]) {
				has[f] = true;
				*found[f] = it;
			}
		} else if (!migrate__streq(k, "id")) {
			place(path, sizeof path, vpath, k);
			return file_fail(err, path, "unknown field");
		}
	}
	if (has[F_NAME] && !BSON_ITER_HOLDS_UTF8(found[F_NAME])) {
		place(path, sizeof path, vpath, "name");
		return file_fail(err, path, "must be a string");
	}
	if ((has[F_NAME] && (rc = check_text_at(found[F_NAME], "name", vpath, err))) ||
	    (has[F_DESCRIPTION] && (rc = check_text_at(found[F_DESCRIPTION], "description", vpath, err))))
		return rc;
	if (has[F_NAME] && migrate__has_control(bson_iter_utf8(found[F_NAME], NULL))) {
		place(path, sizeof path, vpath, "name");
		return file_fail(err, path,
				 "contains a control character (a newline, tab or escape; a name is one line, the "
				 "description takes the rest)");
	}
	if (has[F_TRANSACTIONAL] && !BSON_ITER_HOLDS_BOOL(found[F_TRANSACTIONAL])) {
		place(path, sizeof path, vpath, "transactional");
		return file_fail(err, path, "must be true or false");
	}
	if (!has[F_STEPS] || !BSON_ITER_HOLDS_ARRAY(found[F_STEPS])) {
		place(path, sizeof path, vpath, "steps");
		return file_fail(err, path, "is required and must be an array of steps");
	}
	if ((rc = migrate_plan_add_version(plan, id, has[F_NAME] ? bson_iter_utf8(found[F_NAME], NULL) : NULL, &v,
					   err))) {
		place(path, sizeof path, vpath, "id");
		migrate__err_prefix(err, "%s: ", path);
		return rc;
	}
	v->transactional = has[F_TRANSACTIONAL] ? bson_iter_bool(found[F_TRANSACTIONAL]) : true;
	migrate__version_changed(v);
	bson_iter_array(found[F_STEPS], &len, &data);
	if (!bson_init_static(&steps, data, len))
		bson_init(&steps); /* not in a document that was read: none */
	if ((rc = load_steps(v, &steps, vpath, from, err)))
		return rc;
	if (!has[F_DOWN])
		return 0;
	if (!BSON_ITER_HOLDS_ARRAY(found[F_DOWN])) {
		place(path, sizeof path, vpath, "down");
		return file_fail(err, path, "must be an array of steps");
	}
	bson_iter_array(found[F_DOWN], &len, &data);
	bson_init_static(&down, data, len);
	{
		/* Validated as a step's down list, then kept as the version's. */
		bson_t wrapper = BSON_INITIALIZER;
		BSON_APPEND_UTF8(&wrapper, "op", "drop_table");
		BSON_APPEND_UTF8(&wrapper, "table", "x");
		BSON_APPEND_ARRAY(&wrapper, "down", &down);
		rc = migrate__step_validate(&wrapper, vpath, err);
		bson_destroy(&wrapper);
	}
	if (rc == 0) {
		v->down = bson_copy(&down);
		migrate__version_changed(v);
	}
	return rc;
}

/*
 * A plan file's text. `name` (the file, or NULL) is named in the errors of
 * its JSON; *named is set when the error returned names it already.
 */
static int load_json(migrate_plan_t **out, const char *json, const char *name, int *named, migrate_error_t *err)
{
	static const char *const keys[] = {"$schema", "plan", "description", "versions", NULL};
	migrate_plan_t *plan = NULL;
	bson_t doc, versions;
	bson_iter_t it;
	const char *bad;
	uint8_t *source;
	origin_t from = copied;
	uint64_t id;
	int rc, i = 0;

	if (!out || !json)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL,
				    "migrate_plan_load_json: out and json are required");
	*out = NULL;
	/* Read in one pass, the plan keeps the BSON: its steps are views into it, not copies. */
	if ((rc = migrate__json_parse_owned(json, false, name, &doc, &source, &from.nul_free, err))) {
		bson_destroy(&doc);
		*named = 1;
		return rc;
	}
	if (!only_keys(&doc, keys, &bad)) {
		rc = file_fail(err, bad, "unknown field");
		goto done;
	}
	if (!migrate__doc_str(&doc, "plan")) {
		rc = file_fail(err, "plan", "is required and must be a string");
		goto done;
	}
	if ((rc = check_text(&doc, "plan", "", err)) || (rc = check_text(&doc, "description", "", err)))
		goto done;
	if ((rc = migrate_plan_new(&plan, migrate__doc_str(&doc, "plan"), err)))
		goto done;
	plan->source = source;
	from.view = source != NULL;
	source = NULL;
	if (!migrate__doc_find(&it, &doc, "versions") || !BSON_ITER_HOLDS_ARRAY(&it)) {
		rc = file_fail(err, "versions", "is required and must be an array");
		goto done;
	}
	migrate__doc_sub(&doc, "versions", &versions);
	bson_iter_init(&it, &versions);
	while (rc == 0 && bson_iter_next(&it)) {
		bson_t vdoc;
		const uint8_t *data;
		uint32_t len;
		char path[32];
		place_at(path, sizeof path, "", "versions", i);
		if (!BSON_ITER_HOLDS_DOCUMENT(&it)) {
			rc = file_fail(err, path, "must be an object");
			break;
		}
		bson_iter_document(&it, &len, &data);
		bson_init_static(&vdoc, data, len);
		i++;
		if ((rc = version_id(&vdoc, path, 0, &id, err)) == 0)
			rc = load_version(plan, &vdoc, path, id, from, err);
	}
done:
	bson_destroy(&doc);
	free(source);
	if (rc) {
		migrate_plan_destroy(plan);
		return rc;
	}
	*out = plan;
	return 0;
}

int migrate_plan_load_json(migrate_plan_t **out, const char *json, migrate_error_t *err)
{
	int named = 0;

	return load_json(out, json, NULL, &named, err);
}

/* Reads a whole file; *text is caller-owned. */
int migrate__read_text(const char *path, char **text, migrate_error_t *err)
{
	FILE *f;
	size_t n;
	long size;

	*text = NULL;
	f = fopen(path, "rb");
	if (!f)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EIO, "%s: %s", path, strerror(errno));
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || (unsigned long)size > PLAN_FILE_MAX ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EIO, "%s: cannot read (or larger than 64 MiB)",
				    path);
	}
	*text = migrate__malloc((size_t)size + 1);
	if (!*text) {
		fclose(f);
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_ENOMEM, "out of memory");
	}
	n = fread(*text, 1, (size_t)size, f);
	fclose(f);
	(*text)[n] = '\0';
	if (strlen(*text) != n)
		return migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EJSON, "%s: contains a NUL byte", path);
	return 0;
}

/* Reads a whole plan file, which must not be empty; *text is caller-owned. */
static int read_text(const char *path, char **text, migrate_error_t *err)
{
	int rc;

	if ((rc = migrate__read_text(path, text, err)))
		return rc;
	if ((*text)[strspn(*text, " \t\r\n")] == '\0')
		return migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EJSON,
				    "%s: the file is empty (a plan file holds one JSON object)", path);
	return 0;
}

/* Reads and parses one file of a plan directory; `doc` is always initialised. */
static int read_doc(const char *path, bson_t *doc, migrate_error_t *err)
{
	char *text;
	int rc;

	bson_init(doc);
	if ((rc = read_text(path, &text, err)) == 0) {
		bson_destroy(doc);
		rc = migrate__json_parse_named(text, false, path, doc, err);
	}
	free(text);
	return rc;
}

/* A version file of a plan directory: its name and the id its numeric prefix gives (0: none). */
typedef struct vfile {
	char *name;
	uint64_t prefix_id;
	uint64_t id;
} vfile_t;

/*
 * "0007_add_jobs.json" gives 7; digits must end at '_', '-' or '.'. A
 * prefix above INT64_MAX gives PREFIX_OUT_OF_RANGE.
 */
static uint64_t prefix_id(const char *name)
{
	uint64_t id = 0;
	bool big = false;
	size_t i;

	for (i = 0; name[i] >= '0' && name[i] <= '9'; i++) {
		big = big || id > ((uint64_t)INT64_MAX - (uint64_t)(name[i] - '0')) / 10;
		id = big ? 0 : id * 10 + (uint64_t)(name[i] - '0');
	}
	if (i == 0 || (name[i] != '_' && name[i] != '-' && name[i] != '.'))
		return 0;
	return big ? PREFIX_OUT_OF_RANGE : id;
}

static int vfile_cmp(const void *a, const void *b)
{
	const vfile_t *x = a, *y = b;

	if (x->prefix_id != y->prefix_id)
		return x->prefix_id < y->prefix_id ? -1 : 1;
	return strcmp(x->name, y->name);
}

static bool is_version_file(const char *dir, const char *name)
{
	size_t n = strlen(name);
	char path[PATH_MAX];
	struct stat st;

	/* Dot files are editors' and tools' (".#0007_x.json", "._0007_x.json"). */
	if (name[0] == '.' || n <= 5 || strcmp(name + n - 5, ".json") != 0 || strcmp(name, "plan.json") == 0)
		return false;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return stat(path, &st) != 0 || !S_ISDIR(st.st_mode);
}

/* Lists the version files of `dir` in prefix, then name, order. */
static int list_dir(const char *dir, vfile_t **files, size_t *count, migrate_error_t *err)
{
	DIR *d;
	struct dirent *e;
	size_t cap = 0;
	int rc = 0;

	*files = NULL;
	*count = 0;
	if (!(d = opendir(dir)))
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EIO, "%s: %s", dir, strerror(errno));
	while ((e = readdir(d))) {
		if (!is_version_file(dir, e->d_name))
			continue;
		/* A file's name reaches messages and logs, which are one line each. */
		if (migrate__has_control(e->d_name)) {
			char shown[256];
			snprintf(shown, sizeof shown, "%s", e->d_name);
			migrate__mask_control(shown);
			rc = migrate__err(
				err, MIGRATE_DOMAIN_PLAN, MIGRATE_EPLAN,
				"%s/%s: the version file's name contains a control character (shown as '?': a "
				"newline, tab or escape); rename the file",
				dir, shown);
			break;
		}
		if (*count == cap) {
			vfile_t *grown = migrate__realloc(*files, (cap = cap ? cap * 2 : 16) * sizeof **files);
			if (!grown) {
				rc = migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_ENOMEM, "out of memory");
				break;
			}
			*files = grown;
		}
		(*files)[*count].name = migrate__strdup(e->d_name);
		if (!(*files)[*count].name) {
			rc = migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_ENOMEM, "out of memory");
			break;
		}
		(*files)[*count].prefix_id = prefix_id(e->d_name);
		(*files)[(*count)++].id = 0;
	}
	closedir(d);
	if (rc == 0 && *count > 1)
		qsort(*files, *count, sizeof **files, vfile_cmp);
	return rc;
}

/* The plan's name without a plan.json: the directory's own name. */
int migrate__dir_plan_name(const char *dir, char *out, size_t size, migrate_error_t *err)
{
	char *real = realpath(dir, NULL);
	const char *base;

	if (!real)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EIO, "%s: %s", dir, strerror(errno));
	base = strrchr(real, '/');
	base = base && base[1] ? base + 1 : real;
	snprintf(out, size, "%s", base);
	free(real);
	return 0;
}

/* Makes the plan from plan.json when there is one, else names it after the directory. */
static int load_dir_plan(migrate_plan_t **plan, const char *dir, migrate_error_t *err)
{
	static const char *const keys[] = {"$schema", "plan", "description", NULL};
	char path[PATH_MAX], name[256];
	struct stat st;
	const char *bad;
	bson_t doc;
	int rc;

	snprintf(path, sizeof path, "%s/plan.json", dir);
	if (stat(path, &st) != 0) {
		if ((rc = migrate__dir_plan_name(dir, name, sizeof name, err)))
			return rc;
		if ((rc = migrate_plan_new(plan, name, err)))
			migrate__err_prefix(err,
					    "%s: the plan is named after its directory without a plan.json: ", dir);
		return rc;
	}
	if ((rc = read_doc(path, &doc, err)))
		goto done;
	if (bson_has_field(&doc, "versions"))
		rc = file_fail(err, "versions", "a plan directory holds one file per version, not a versions list");
	else if (!only_keys(&doc, keys, &bad))
		rc = file_fail(err, bad, "unknown field");
	else if (bson_has_field(&doc, "plan") && !migrate__doc_str(&doc, "plan"))
		rc = file_fail(err, "plan", "must be a string");
	else if (!(rc = check_text(&doc, "plan", "", err)) && !(rc = check_text(&doc, "description", "", err))) {
		if (!migrate__doc_str(&doc, "plan") && (rc = migrate__dir_plan_name(dir, name, sizeof name, err)))
			goto done;
		rc = migrate_plan_new(plan, migrate__doc_str(&doc, "plan") ? migrate__doc_str(&doc, "plan") : name,
				      err);
	}
	if (rc)
		migrate__err_prefix(err, "%s: ", path);
done:
	bson_destroy(&doc);
	return rc;
}

/* Loads version file files[i] of `dir` into the plan. */
static int load_dir_version(migrate_plan_t *plan, const char *dir, vfile_t *files, size_t i, migrate_error_t *err)
{
	char path[PATH_MAX];
	size_t j;
	bson_t doc;
	int rc;

	snprintf(path, sizeof path, "%s/%s", dir, files[i].name);
	if ((rc = read_doc(path, &doc, err)))
		goto done;
	if ((rc = version_id(&doc, "", files[i].prefix_id, &files[i].id, err)))
		goto prefix;
	for (j = 0; j < i; j++) {
		if (files[j].id == files[i].id) {
			rc = migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EPLAN,
					  "id: version %llu is also defined by %s", (unsigned long long)files[i].id,
					  files[j].name);
			goto prefix;
		}
	}
	rc = load_version(plan, &doc, "", files[i].id, copied, err);
prefix:
	if (rc)
		migrate__err_prefix(err, "%s: ", path);
done:
	bson_destroy(&doc);
	return rc;
}

static int load_dir(migrate_plan_t **out, const char *path, migrate_error_t *err)
{
	char dir[PATH_MAX];
	migrate_plan_t *plan = NULL;
	vfile_t *files = NULL;
	size_t count = 0, i, n;
	int rc;

	/* Error messages join names with one '/'. */
	snprintf(dir, sizeof dir, "%s", path);
	for (n = strlen(dir); n > 1 && dir[n - 1] == '/'; n--)
		dir[n - 1] = '\0';
	if ((rc = load_dir_plan(&plan, dir, err)) || (rc = list_dir(dir, &files, &count, err)))
		goto done;
	for (i = 0; rc == 0 && i < count; i++)
		rc = load_dir_version(plan, dir, files, i, err);
done:
	for (i = 0; i < count; i++)
		free(files[i].name);
	free(files);
	if (rc) {
		migrate_plan_destroy(plan);
		return rc;
	}
	*out = plan;
	return 0;
}

int migrate_plan_load_file(migrate_plan_t **out, const char *path, migrate_error_t *err)
{
	struct stat st;
	char *text;
	int rc, named = 0;

	if (!out || !path)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL,
				    "migrate_plan_load_file: out and path are required");
	*out = NULL;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return load_dir(out, path, err);
	if ((rc = read_text(path, &text, err))) {
		free(text);
		return rc;
	}
	rc = load_json(out, text, path, &named, err);
	free(text);
	if (rc && !named)
		migrate__err_prefix(err, "%s: ", path);
	return rc;
}
