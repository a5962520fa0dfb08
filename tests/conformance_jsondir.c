/*
 * The conformance suite's backend for "jsondir" (custom_driver.c), the
 * third-party driver written against <migrate/driver.h> only: a directory
 * per scenario run, read back file by file.
 *
 * jsondir has no query language. Its raw pieces are its own JSON commands
 * (a "command" step: insert and delete) and the one raw expression it
 * evaluates, {"mongo": {"$add": [...]}}, spelled as MongoDB's since its
 * rows are JSON documents. It has no transactions, so like MongoDB's the
 * raw audit step is at least once; its built-in steps are exactly once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conformance.h"
#include "custom_driver.h"
#include "harness.h"
#include "internal.h"

static const char *fresh(const char *tag)
{
	static char url[1200];
	static unsigned seq;
	char name[200];
	migrate_error_t err;

	CHECK_OK(jsondir_register(&err), &err);
	snprintf(name, sizeof name, "%s_%u", tag, ++seq);
	snprintf(url, sizeof url, "jsondir:%s", harness_path(name));
	return url;
}

static const char *dir_of(const char *url)
{
	return url + strlen("jsondir:");
}

static void seed(const char *url, int rows)
{
	static const char *const tags[] = {"[]", "[1]", "[1,2]", "[1,2,3]"};
	static const char *const status[] = {"a", "b", "c"};
	migrate_buf_t *doc =
		migrate__buf_new("{\"columns\":[{\"name\":\"id\",\"type\":\"integer\",\"nullable\":false},"
				 "{\"name\":\"tags\",\"type\":\"json\"},{\"name\":\"status\",\"type\":\"text\"},"
				 "{\"name\":\"counter\",\"type\":\"integer\"}],\"rows\":[");
	char path[1300];
	int i;

	for (i = 1; i <= rows; i++)
		migrate_buf_printf(doc, "%s{\"id\":%d,\"tags\":%s,\"status\":\"%s\",\"counter\":%d}", i > 1 ? "," : "",
				   i, tags[i % 4], status[i % 3], i * 10);
	migrate_buf_append(doc, "]}");
	snprintf(path, sizeof path, "%s", dir_of(url));
	CHECK(mkdir(path, 0777) == 0);
	snprintf(path, sizeof path, "%s/legacy.json", dir_of(url));
	CHECK(jsondir_write_text(path, doc->str) == 0);
	migrate__buf_free(doc, true);
}

static bson_t *load(const char *path)
{
	char *text = jsondir_read_text(path);
	bson_error_t e;
	bson_t *doc;

	CHECK(text != NULL);
	doc = bson_new_from_json((const uint8_t *)text, -1, &e);
	if (!doc)
		harness_fail(__FILE__, __LINE__, "%s: %s", path, e.message);
	free(text);
	return doc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The canonical texts of the array at `key`, sorted when `sort` (rows have no order), one per line. */
static void dump_array(const bson_t *file, const char *key, bool sort, migrate_buf_t *out)
{
	bson_iter_t it, a;
	char **lines = NULL;
	size_t n = 0, i;

	migrate_buf_printf(out, "%s:\n", key);
	if (!bson_iter_init_find(&it, file, key) || !bson_iter_recurse(&it, &a))
		return;
	while (bson_iter_next(&a)) {
		migrate_buf_t *s = migrate__buf_new(NULL);
		const uint8_t *data;
		uint32_t len;
		bson_t doc;
		bson_iter_document(&a, &len, &data);
		CHECK(bson_init_static(&doc, data, len));
		migrate__json_canonical(&doc, false, s);
		lines = realloc(lines, (n + 1) * sizeof *lines);
		CHECK(lines != NULL);
		lines[n++] = migrate__buf_free(s, false);
	}
	if (sort && n)
		qsort(lines, n, sizeof *lines, cmp_str);
	for (i = 0; i < n; i++) {
		migrate_buf_printf(out, "  %s\n", lines[i]);
		bson_free(lines[i]);
	}
	free(lines);
}

/* One table: its columns in order, its indexes by name, its rows in any order (the batch stamp is no state). */
static void dump_table(const char *dir, const char *file, migrate_buf_t *out)
{
	char path[1400];
	bson_t *doc;

	snprintf(path, sizeof path, "%s/%s", dir, file);
	doc = load(path);
	migrate_buf_printf(out, "== %.*s\n", (int)(strlen(file) - 5), file);
	dump_array(doc, "columns", false, out);
	dump_array(doc, "indexes", true, out);
	dump_array(doc, "rows", true, out);
	bson_destroy(doc);
}

/* The history without times, hosts or library versions. */
static void dump_history(const char *dir, migrate_buf_t *out)
{
	static const char *const keep[] = {"version", "name", "checksum", "state", "steps_done", "checkpoint", "error"};
	char path[1400], *names, *name, *save = NULL;
	size_t i;

	snprintf(path, sizeof path, "%s/_history/conformance", dir);
	names = jsondir_list(path);
	for (name = strtok_r(names, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		char file[1700];
		bson_t *doc, kept = BSON_INITIALIZER;
		bson_iter_t it;
		snprintf(file, sizeof file, "%s/%s", path, name);
		doc = load(file);
		for (i = 0; i < sizeof keep / sizeof keep[0]; i++)
			if (bson_iter_init_find(&it, doc, keep[i]))
				bson_append_iter(&kept, NULL, 0, &it);
		migrate_buf_append(out, "== history ");
		migrate__json_canonical(&kept, false, out);
		migrate_buf_append_c(out, '\n');
		bson_destroy(&kept);
		bson_destroy(doc);
	}
	free(names);
}

/* No jsondir seed plan: `canon` is never given. */
static char *dump(const char *url, const char *const *canon)
{
	(void)canon;
	const char *dir = dir_of(url);
	migrate_buf_t *out = migrate__buf_new(NULL);
	char *names = jsondir_list(dir), *name, *save = NULL;

	/* jsondir_list sorts, and recurses into _history and lock directories: tables are the top-level *.json. */
	for (name = strtok_r(names, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		size_t n = strlen(name);
		if (strchr(name, '/') || name[0] == '_' || n < 6 || strcmp(name + n - 5, ".json") != 0 ||
		    !strcmp(name, "audit.json"))
			continue;
		dump_table(dir, name, out);
	}
	free(names);
	dump_history(dir, out);
	return migrate__buf_free(out, false);
}

static long audit_runs(const char *url)
{
	char path[1300], *text;
	bson_iter_t it, rows;
	bson_t *doc;
	long n = 0;

	snprintf(path, sizeof path, "%s/audit.json", dir_of(url));
	if (!(text = jsondir_read_text(path)))
		return 0;
	free(text);
	doc = load(path);
	if (bson_iter_init_find(&it, doc, "rows") && bson_iter_recurse(&it, &rows))
		while (bson_iter_next(&rows))
			n++;
	bson_destroy(doc);
	return n;
}

static const conf_backend backend = {
	.name = "jsondir",
	/* No transactions: a raw command is at least once, built-in steps exactly once. */
	.raw_exactly_once = 0,
	.fresh = fresh,
	.seed = seed,
	.dump = dump,
	.audit_runs = audit_runs,
	.audit_step = "{\"op\":\"command\",\"up\":{\"insert\":\"audit\",\"documents\":[{\"note\":\"v4\"}]},"
		      "\"down\":{\"delete\":\"audit\",\"where\":{\"note\":\"v4\"}}}",
	.bump_expr = "{\"mongo\":{\"$add\":[\"$counter\",1]}}",
	.drop_expr = "{\"mongo\":{\"$add\":[\"$counter\",-1]}}",
	/* JSON values have no enum types: the driver refuses create_enum. */
	.no_enums = 1,
	.no_keep = 1,
};

const conf_backend *conf_backend_get(void)
{
	return &backend;
}
