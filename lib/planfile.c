/*
 * Plan files: one JSON document holding exactly the step documents of the
 * C API, loaded into the same plan the typed builders make (and so with the
 * same checksums). Every error names its place as a JSON path.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define PLAN_FILE_MAX (64u << 20)

static int file_fail(migrate_error_t *err, const char *path, const char *problem)
{
	return migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EPLAN, "%s: %s", path, problem);
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
static int check_text(const bson_t *doc, const char *key, const char *prefix, migrate_error_t *err)
{
	char path[96];
	bson_iter_t it;
	uint32_t len;

	if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_UTF8(&it))
		return 0;
	if (strlen(bson_iter_utf8(&it, &len)) == len)
		return 0;
	snprintf(path, sizeof path, "%s%s%s", prefix, prefix[0] ? "." : "", key);
	return file_fail(err, path, "contains a NUL character (\\u0000)");
}

static int load_steps(migrate_version_t *v, const bson_t *steps, const char *vpath, migrate_error_t *err)
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
		snprintf(where, sizeof where, "%s.steps[%d]", vpath, i++);
		if (!BSON_ITER_HOLDS_DOCUMENT(&it))
			return file_fail(err, where, "must be a step object");
		bson_iter_document(&it, &len, &data);
		bson_init_static(&step, data, len);
		if (migrate__doc_str(&step, "op") && !strcmp(migrate__doc_str(&step, "op"), "custom"))
			return file_fail(err, where, "custom steps run C callbacks and can only be added from code");
		if ((rc = migrate__step_validate(&step, where, err)))
			return rc;
		if (!(s = migrate__step_new(&step)))
			return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_ENOMEM, "out of memory");
		if ((rc = migrate__version_push(v, s, err)))
			return rc;
	}
	return 0;
}

static int load_version(migrate_plan_t *plan, const bson_t *doc, int index, migrate_error_t *err)
{
	static const char *const keys[] = {"id", "name", "transactional", "steps", "down", "description", NULL};
	migrate_version_t *v;
	bson_iter_t it;
	bson_t steps, down;
	char vpath[64], path[96];
	const char *bad;
	int64_t id;
	int rc;

	snprintf(vpath, sizeof vpath, "versions[%d]", index);
	if (!only_keys(doc, keys, &bad)) {
		snprintf(path, sizeof path, "%s.%s", vpath, bad);
		return file_fail(err, path, "unknown field");
	}
	if (!bson_iter_init_find(&it, doc, "id") || !(BSON_ITER_HOLDS_INT32(&it) || BSON_ITER_HOLDS_INT64(&it)) ||
	    (id = bson_iter_as_int64(&it)) < 1) {
		snprintf(path, sizeof path, "%s.id", vpath);
		return file_fail(err, path, "must be a whole number from 1 up");
	}
	if (bson_iter_init_find(&it, doc, "name") && !BSON_ITER_HOLDS_UTF8(&it)) {
		snprintf(path, sizeof path, "%s.name", vpath);
		return file_fail(err, path, "must be a string");
	}
	if ((rc = check_text(doc, "name", vpath, err)) || (rc = check_text(doc, "description", vpath, err)))
		return rc;
	if (bson_iter_init_find(&it, doc, "transactional") && !BSON_ITER_HOLDS_BOOL(&it)) {
		snprintf(path, sizeof path, "%s.transactional", vpath);
		return file_fail(err, path, "must be true or false");
	}
	if (!bson_iter_init_find(&it, doc, "steps") || !BSON_ITER_HOLDS_ARRAY(&it)) {
		snprintf(path, sizeof path, "%s.steps", vpath);
		return file_fail(err, path, "is required and must be an array of steps");
	}
	if ((rc = migrate_plan_add_version(plan, (uint64_t)id, migrate__doc_str(doc, "name"), &v, err))) {
		migrate__err_prefix(err, "%s.id: ", vpath);
		return rc;
	}
	v->transactional = migrate__doc_bool(doc, "transactional", true);
	migrate__doc_sub(doc, "steps", &steps);
	if ((rc = load_steps(v, &steps, vpath, err)))
		return rc;
	if (!bson_iter_init_find(&it, doc, "down"))
		return 0;
	if (!BSON_ITER_HOLDS_ARRAY(&it)) {
		snprintf(path, sizeof path, "%s.down", vpath);
		return file_fail(err, path, "must be an array of steps");
	}
	migrate__doc_sub(doc, "down", &down);
	{
		/* Validated as a step's down list, then kept as the version's. */
		bson_t wrapper = BSON_INITIALIZER;
		BSON_APPEND_UTF8(&wrapper, "op", "drop_table");
		BSON_APPEND_UTF8(&wrapper, "table", "x");
		BSON_APPEND_ARRAY(&wrapper, "down", &down);
		rc = migrate__step_validate(&wrapper, vpath, err);
		bson_destroy(&wrapper);
	}
	if (rc == 0)
		v->down = bson_copy(&down);
	return rc;
}

int migrate_plan_load_json(migrate_plan_t **out, const char *json, migrate_error_t *err)
{
	static const char *const keys[] = {"$schema", "plan", "description", "versions", NULL};
	migrate_plan_t *plan = NULL;
	bson_t doc, versions;
	bson_iter_t it;
	const char *bad;
	int rc, i = 0;

	if (!out || !json)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL, "migrate_plan_load_json: out and json are required");
	*out = NULL;
	if ((rc = migrate__json_parse(json, false, &doc, err))) {
		bson_destroy(&doc);
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
	if (!bson_iter_init_find(&it, &doc, "versions") || !BSON_ITER_HOLDS_ARRAY(&it)) {
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
		snprintf(path, sizeof path, "versions[%d]", i);
		if (!BSON_ITER_HOLDS_DOCUMENT(&it)) {
			rc = file_fail(err, path, "must be an object");
			break;
		}
		bson_iter_document(&it, &len, &data);
		bson_init_static(&vdoc, data, len);
		rc = load_version(plan, &vdoc, i++, err);
	}
done:
	bson_destroy(&doc);
	if (rc) {
		migrate_plan_destroy(plan);
		return rc;
	}
	*out = plan;
	return 0;
}

int migrate_plan_load_file(migrate_plan_t **out, const char *path, migrate_error_t *err)
{
	FILE *f;
	char *text;
	size_t n;
	long size;
	int rc;

	if (!out || !path)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL, "migrate_plan_load_file: out and path are required");
	*out = NULL;
	f = fopen(path, "rb");
	if (!f)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EIO, "%s: %s", path, strerror(errno));
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || (unsigned long)size > PLAN_FILE_MAX ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EIO, "%s: cannot read (or larger than 64 MiB)", path);
	}
	text = migrate__malloc((size_t)size + 1);
	if (!text) {
		fclose(f);
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_ENOMEM, "out of memory");
	}
	n = fread(text, 1, (size_t)size, f);
	fclose(f);
	text[n] = '\0';
	if (strlen(text) != n) {
		free(text);
		return migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EJSON, "%s: contains a NUL byte", path);
	}
	if (text[strspn(text, " \t\r\n")] == '\0') {
		free(text);
		return migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EJSON,
				    "%s: the file is empty (a plan file holds one JSON object)", path);
	}
	rc = migrate_plan_load_json(out, text, err);
	free(text);
	if (rc)
		migrate__err_prefix(err, "%s: ", path);
	return rc;
}
