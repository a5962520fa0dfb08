/*
 * Plan directories: one JSON file per version plus an optional plan.json.
 * Every plan file shipped in examples/plans/, split into a directory, loads
 * to the same versions with the same checksums; errors name the file and the
 * JSON path inside it.
 */
#include <dirent.h>
#include <sys/stat.h>

#include <bson/bson.h>

#include "harness.h"

/*
 * Writes the versions of plan file `src` as a directory: one file per
 * version, every other one without its "id" (the file name's prefix gives
 * it), a plan.json with the name, and files the loader must skip.
 */
static void split_plan(const char *src, const char *dir)
{
	char *text = harness_read_text(src), *json, name[256], head[512];
	bson_error_t berr;
	bson_t doc, versions, pdoc = BSON_INITIALIZER;
	bson_iter_t it;
	int i = 0;

	CHECK(bson_init_from_json(&doc, text, -1, &berr));
	CHECK(bson_iter_init_find(&it, &doc, "plan"));
	BSON_APPEND_UTF8(&pdoc, "plan", bson_iter_utf8(&it, NULL));
	json = bson_as_relaxed_extended_json(&pdoc, NULL);
	harness_write_text(dir, "plan.json", json);
	bson_free(json);
	bson_destroy(&pdoc);
	harness_write_text(dir, "README.md", "not a version");
	harness_write_text(dir, ".#0001_lock.json", "editor lock file");
	CHECK(bson_iter_init_find(&it, &doc, "versions") && BSON_ITER_HOLDS_ARRAY(&it));
	{
		const uint8_t *data;
		uint32_t len;
		bson_iter_array(&it, &len, &data);
		CHECK(bson_init_static(&versions, data, len));
	}
	bson_iter_init(&it, &versions);
	while (bson_iter_next(&it)) {
		bson_t v, out = BSON_INITIALIZER;
		bson_iter_t f;
		const uint8_t *data;
		uint32_t len;
		int64_t id = 0;
		bson_iter_document(&it, &len, &data);
		CHECK(bson_init_static(&v, data, len));
		bson_iter_init(&f, &v);
		while (bson_iter_next(&f)) {
			if (!strcmp(bson_iter_key(&f), "id")) {
				id = bson_iter_as_int64(&f);
				if (i % 2)
					continue;
			}
			CHECK(bson_append_iter(&out, NULL, 0, &f));
		}
		snprintf(name, sizeof name, "%04lld_v%d.json", (long long)id, i++);
		json = bson_as_relaxed_extended_json(&out, NULL);
		snprintf(head, sizeof head, "%s", json);
		harness_write_text(dir, name, json);
		bson_free(json);
		bson_destroy(&out);
	}
	CHECK(i > 0);
	bson_destroy(&doc);
	free(text);
}

static void check_same_plan(const migrate_plan_t *a, const migrate_plan_t *b)
{
	migrate_error_t err;
	char ca[65], cb[65];
	size_t i;

	CHECK_STR(migrate_plan_name(a), migrate_plan_name(b));
	CHECK_INT((int)migrate_plan_version_count(a), (int)migrate_plan_version_count(b));
	for (i = 0; i < migrate_plan_version_count(a); i++) {
		const migrate_version_t *va = migrate_plan_version_at(a, i), *vb = migrate_plan_version_at(b, i);
		CHECK_INT((int)migrate_version_id(va), (int)migrate_version_id(vb));
		CHECK_STR(migrate_version_name(va) ? migrate_version_name(va) : "",
			  migrate_version_name(vb) ? migrate_version_name(vb) : "");
		CHECK_OK(migrate_version_checksum(va, ca, sizeof ca, &err), &err);
		CHECK_OK(migrate_version_checksum(vb, cb, sizeof cb, &err), &err);
		CHECK_STR(ca, cb);
	}
}

/* Every shipped plan file and its directory form have equal checksums. */
TEST(split_equals_single_file)
{
	const char *plans = MIGRATE_SOURCE_DIR "/examples/plans";
	DIR *d = opendir(plans);
	struct dirent *e;
	int n = 0;

	CHECK(d != NULL);
	while ((e = readdir(d))) {
		char src[1024], dir[1024];
		migrate_plan_t *single = NULL, *split = NULL;
		migrate_error_t err;
		size_t len = strlen(e->d_name);
		if (len <= 5 || strcmp(e->d_name + len - 5, ".json"))
			continue;
		snprintf(src, sizeof src, "%s/%s", plans, e->d_name);
		snprintf(dir, sizeof dir, "%s", harness_fresh_dir(e->d_name));
		split_plan(src, dir);
		memset(&err, 0, sizeof err);
		CHECK_OK(migrate_plan_load_file(&single, src, &err), &err);
		CHECK_OK(migrate_plan_load_file(&split, dir, &err), &err);
		check_same_plan(single, split);
		migrate_plan_destroy(single);
		migrate_plan_destroy(split);
		/* A trailing slash names the same directory. */
		strcat(dir, "/");
		CHECK_OK(migrate_plan_load_file(&split, dir, &err), &err);
		migrate_plan_destroy(split);
		n++;
	}
	closedir(d);
	CHECK(n >= 5);
}

/* Without plan.json the plan is named after the directory; an empty directory is an empty plan. */
TEST(name_from_directory)
{
	const char *dir = harness_fresh_dir("billing");
	migrate_plan_t *plan = NULL;
	migrate_error_t err;

	memset(&err, 0, sizeof err);
	CHECK_OK(migrate_plan_load_file(&plan, dir, &err), &err);
	CHECK_STR(migrate_plan_name(plan), "billing");
	CHECK_INT((int)migrate_plan_version_count(plan), 0);
	migrate_plan_destroy(plan);

	harness_write_text(dir, "0002_second.json", "{\"name\": \"second\", \"steps\": []}");
	harness_write_text(dir, "0001_first.json",
			   "{\"id\": 1, \"steps\": [{\"op\": \"drop_table\", \"table\": \"t\"}]}");
	harness_write_text(dir, "plan.json", "{\"$schema\": \"x\", \"description\": \"d\"}");
	CHECK_OK(migrate_plan_load_file(&plan, dir, &err), &err);
	CHECK_STR(migrate_plan_name(plan), "billing");
	CHECK_INT((int)migrate_plan_version_count(plan), 2);
	CHECK_INT((int)migrate_version_id(migrate_plan_version_at(plan, 0)), 1);
	CHECK_STR(migrate_version_name(migrate_plan_version_at(plan, 1)), "second");
	migrate_plan_destroy(plan);
}

/* Loads `dir` expecting `code` and a message holding `needle`. */
static void check_refused(const char *dir, int code, const char *needle)
{
	migrate_plan_t *plan = NULL;
	migrate_error_t err;

	memset(&err, 0, sizeof err);
	CHECK_INT(migrate_plan_load_file(&plan, dir, &err), code);
	CHECK_HAS(err.message, needle);
	CHECK(plan == NULL);
}

TEST(errors_name_the_file)
{
	const char *dir;
	char want[1200];

	dir = harness_fresh_dir("mismatch");
	harness_write_text(dir, "0007_add_jobs.json", "{\"id\": 8, \"steps\": []}");
	snprintf(want, sizeof want, "%s/0007_add_jobs.json: id: 8 does not match the file name's prefix (7)", dir);
	check_refused(dir, MIGRATE_EPLAN, want);

	dir = harness_fresh_dir("duplicate");
	harness_write_text(dir, "0001_a.json", "{\"steps\": []}");
	harness_write_text(dir, "1_b.json", "{\"steps\": []}");
	check_refused(dir, MIGRATE_EPLAN, "1_b.json: id: version 1 is also defined by 0001_a.json");

	dir = harness_fresh_dir("not_json");
	harness_write_text(dir, "0001_a.json", "{\"steps\": []}");
	harness_write_text(dir, "0002_b.json", "steps: []");
	check_refused(dir, MIGRATE_EJSON, "0002_b.json:1:1: expected an object, found \"s\"");

	dir = harness_fresh_dir("empty_file");
	harness_write_text(dir, "0002_b.json", "\n");
	check_refused(dir, MIGRATE_EJSON, "0002_b.json: the file is empty");

	dir = harness_fresh_dir("no_id");
	harness_write_text(dir, "add_jobs.json", "{\"steps\": []}");
	check_refused(dir, MIGRATE_EPLAN, "add_jobs.json: id: is required");

	dir = harness_fresh_dir("bad_step");
	harness_write_text(
		dir, "0003_c.json",
		"{\"steps\": [{\"op\": \"drop_table\", \"table\": \"t\"}, {\"op\": \"create_table\", \"table\": \"t\", "
		"\"columns\": [{\"name\": \"a\", \"type\": \"uuuid\"}]}]}");
	check_refused(dir, MIGRATE_EPLAN, "0003_c.json: steps[1].columns[0].type: unknown type");

	dir = harness_fresh_dir("bad_field");
	harness_write_text(dir, "0003_c.json", "{\"steps\": [], \"dwon\": []}");
	check_refused(dir, MIGRATE_EPLAN, "0003_c.json: dwon: unknown field");

	dir = harness_fresh_dir("bad_down");
	harness_write_text(dir, "0003_c.json", "{\"steps\": [], \"down\": [{\"op\": \"nope\"}]}");
	check_refused(dir, MIGRATE_EPLAN, "0003_c.json: down[0].op: unknown op");

	dir = harness_fresh_dir("versions_in_plan_json");
	harness_write_text(dir, "plan.json", "{\"plan\": \"p\", \"versions\": []}");
	check_refused(dir, MIGRATE_EPLAN, "plan.json: versions: a plan directory holds one file per version");

	dir = harness_fresh_dir("plan_json_field");
	harness_write_text(dir, "plan.json", "{\"plan\": \"p\", \"name\": \"p\"}");
	check_refused(dir, MIGRATE_EPLAN, "plan.json: name: unknown field");

	check_refused(harness_path("missing_dir/"), MIGRATE_EIO, "missing_dir");
}

/*
 * A file name's prefix follows the rules of the "id" field: from 1 up to
 * 9223372036854775807 (a larger id was stored negative in the history).
 */
/* A version file's name holding a control character is refused, and shown without it. */
TEST(file_name_with_a_control_character)
{
	const char *dir = harness_fresh_dir("control");
	migrate_plan_t *plan = NULL;
	migrate_error_t err;

	harness_write_text(dir, "0001_a\nb.json", "{\"steps\": []}");
	CHECK_INT(migrate_plan_load_file(&plan, dir, &err), MIGRATE_EPLAN);
	CHECK(plan == NULL);
	CHECK_HAS(err.message, "0001_a?b.json: the version file's name contains a control character");
	CHECK(strchr(err.message, '\n') == NULL);
}

TEST(prefix_id_out_of_range)
{
	const char *dir;
	migrate_plan_t *plan = NULL;
	migrate_error_t err;

	dir = harness_fresh_dir("prefix_2_63");
	harness_write_text(dir, "9223372036854775808_big.json", "{\"steps\": []}");
	check_refused(dir, MIGRATE_EPLAN, "9223372036854775808_big.json: id: the file name's prefix is out of range");

	dir = harness_fresh_dir("prefix_2_64");
	harness_write_text(dir, "18446744073709551616_big.json", "{\"steps\": []}");
	check_refused(dir, MIGRATE_EPLAN, "18446744073709551616_big.json: id: the file name's prefix is out of range");

	dir = harness_fresh_dir("prefix_and_id");
	harness_write_text(dir, "99999999999999999999_big.json", "{\"id\": 7, \"steps\": []}");
	check_refused(dir, MIGRATE_EPLAN, "99999999999999999999_big.json: id: the file name's prefix is out of range");

	dir = harness_fresh_dir("prefix_max");
	harness_write_text(dir, "9223372036854775807_max.json", "{\"steps\": []}");
	CHECK_OK(migrate_plan_load_file(&plan, dir, &err), &err);
	CHECK(migrate_version_id(migrate_plan_version_at(plan, 0)) == INT64_MAX);
	migrate_plan_destroy(plan);
}
