/*
 * Writes a plan as a plan directory (docs/plan-file.md): a plan.json with
 * its name and one file per version holding exactly its step documents,
 * explicit down and transactional flag (keys in their order), so that loading the directory gives
 * the same checksums. `migrate import` converts other tools' directories
 * with it (docs/switching.md).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

static int io_fail(migrate_error_t *err, const char *path, const char *what)
{
	return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EIO, "%s: %s", path, what);
}

/* Creates `dir`, or takes it when it exists and is empty. */
static int make_dir(const char *dir, migrate_error_t *err)
{
	struct dirent *e;
	DIR *d;

	if (mkdir(dir, 0777) == 0)
		return 0;
	if (errno != EEXIST || !(d = opendir(dir)))
		return io_fail(err, dir, strerror(errno));
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			closedir(d);
			return io_fail(err, dir, "exists and is not empty: nothing written");
		}
	closedir(d);
	return 0;
}

/* The document as JSON with its keys in their order: a MongoDB command's first key is its name. */
static int write_doc(const char *path, const bson_t *doc, migrate_error_t *err)
{
	size_t len = 0;
	char *text = bson_as_relaxed_extended_json(doc, &len);
	FILE *f = NULL;
	int rc = 0;

	if (!text)
		rc = migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_ENOMEM, "out of memory");
	else if (!(f = fopen(path, "wx")))
		rc = io_fail(err, path, strerror(errno));
	else if (fwrite(text, 1, len, f) != len || fputc('\n', f) == EOF)
		rc = io_fail(err, path, "cannot write");
	if (f && fclose(f) != 0 && rc == 0)
		rc = io_fail(err, path, "cannot write");
	bson_free(text);
	return rc;
}

/* "0007_add_jobs.json": the id, then the name's letters (its own numeric prefix left out). */
static void version_file(const migrate_version_t *v, char *out, size_t size)
{
	const char *name = v->name ? v->name : "";
	size_t n, i;

	name += strspn(name, "0123456789");
	name += strspn(name, "_-.");
	n = (size_t)snprintf(out, size, "%04llu", (unsigned long long)v->id);
	if (*name && n + 1 < size)
		out[n++] = '_';
	for (i = 0; name[i] && n + 6 < size && i < 80; i++) {
		char c = name[i];
		bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
			    c == '-' || c == '.';
		if (!keep)
			c = '_';
		out[n++] = c;
	}
	snprintf(out + n, size - n, ".json");
}

static int save_version(const migrate_version_t *v, const char *dir, migrate_error_t *err)
{
	char path[PATH_MAX], file[128], key[24];
	bson_t doc = BSON_INITIALIZER, steps;
	size_t i;
	int rc;

	BSON_APPEND_INT64(&doc, "id", (int64_t)v->id);
	if (v->name)
		BSON_APPEND_UTF8(&doc, "name", v->name);
	if (!v->transactional)
		BSON_APPEND_BOOL(&doc, "transactional", false);
	bson_append_array_begin(&doc, "steps", -1, &steps);
	for (i = 0; i < v->nsteps; i++) {
		snprintf(key, sizeof key, "%zu", i);
		BSON_APPEND_DOCUMENT(&steps, key, &v->steps[i]->doc);
	}
	bson_append_array_end(&doc, &steps);
	if (v->down)
		BSON_APPEND_ARRAY(&doc, "down", v->down);
	version_file(v, file, sizeof file);
	snprintf(path, sizeof path, "%s/%s", dir, file);
	rc = write_doc(path, &doc, err);
	bson_destroy(&doc);
	return rc;
}

int migrate_plan_save_dir(const migrate_plan_t *plan, const char *dir, migrate_error_t *err)
{
	char path[PATH_MAX];
	bson_t doc = BSON_INITIALIZER;
	size_t i;
	int rc;

	if (!plan || !dir)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL,
				    "migrate_plan_save_dir: plan and dir are required");
	for (i = 0; i < plan->nversions; i++) {
		size_t j;
		for (j = 0; j < plan->versions[i]->nsteps; j++)
			if (plan->versions[i]->steps[j]->op == MIGRATE_OP_CUSTOM)
				return migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EPLAN,
						    "version %llu: step %zu: custom steps run C callbacks and cannot "
						    "be written to a file",
						    (unsigned long long)plan->versions[i]->id, j + 1);
	}
	if ((rc = make_dir(dir, err)))
		return rc;
	BSON_APPEND_UTF8(&doc, "plan", plan->name);
	snprintf(path, sizeof path, "%s/plan.json", dir);
	rc = write_doc(path, &doc, err);
	bson_destroy(&doc);
	for (i = 0; rc == 0 && i < plan->nversions; i++)
		rc = save_version(plan->versions[i], dir, err);
	return rc;
}
