/* Helpers of the MongoDB tests; see mongo_util.h. */
#include "mongo_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static char server_url[512];
static char db_url[700];
static char db_name[64];
static char listbuf[8192];

/* FerretDB has no endSessions: libmongoc warns about it at every client's end. */
static void quiet_log(mongoc_log_level_t level, const char *domain, const char *message, void *data)
{
	if (strstr(message, "endSessions"))
		return;
	mongoc_log_default_handler(level, domain, message, data);
}

static void once_init(void)
{
	static int done;
	if (!done) {
		mongoc_init();
		mongoc_log_set_handler(quiet_log, NULL);
		done = 1;
	}
}

const char *mt_server_url(void)
{
	const char *env = getenv("MIGRATE_MONGO_URL"), *file = getenv("MIGRATE_MONGO_URL_FILE");
	FILE *f;

	once_init();
	if (server_url[0])
		return server_url;
	if (env && *env) {
		snprintf(server_url, sizeof server_url, "%s", env);
		return server_url;
	}
	if (file && (f = fopen(file, "r")) != NULL) {
		if (fgets(server_url, sizeof server_url, f))
			server_url[strcspn(server_url, "\r\n")] = '\0';
		fclose(f);
	}
	if (!server_url[0]) {
		if (harness_ci())
			harness_fail(__FILE__, __LINE__,
				     "no MongoDB server: %s is missing (scripts/ferretdb-server.sh failed to start "
				     "FerretDB)",
				     file ? file : "MIGRATE_MONGO_URL_FILE");
		harness_skip("no MongoDB server (scripts/install-ferretdb.sh builds FerretDB; the ctest fixture "
			     "starts it) -- MongoDB TESTS SKIPPED");
	}
	return server_url;
}

const char *mt_db_url(const char *server, const char *db)
{
	snprintf(db_url, sizeof db_url, "%s/%s?serverSelectionTimeoutMS=3000&connectTimeoutMS=3000", server, db);
	return db_url;
}

const char *mt_fresh_db(const char *tag)
{
	const char *url = mt_server_url();
	mongoc_client_t *c;
	bson_error_t e;

	snprintf(db_name, sizeof db_name, "t_%.40s_%ld", tag, (long)getpid());
	c = mongoc_client_new(url);
	mongoc_client_set_error_api(c, 2);
	{
		bson_t *cmd = BCON_NEW("dropDatabase", BCON_INT32(1));
		bson_t reply;
		if (!mongoc_client_command_simple(c, db_name, cmd, NULL, &reply, &e)) {
			bson_destroy(&reply);
			bson_destroy(cmd);
			mongoc_client_destroy(c);
			if (harness_ci())
				harness_fail(__FILE__, __LINE__, "MongoDB server %s does not answer: %s", url,
					     e.message);
			harness_skip("the MongoDB server does not answer -- MongoDB TESTS SKIPPED");
		}
		bson_destroy(&reply);
		bson_destroy(cmd);
	}
	mongoc_client_destroy(c);
	return mt_db_url(url, db_name);
}

const char *mt_db(void)
{
	return db_name;
}

mongoc_client_t *mt_client(const char *url)
{
	bson_error_t e;
	mongoc_uri_t *uri;
	mongoc_client_t *c;

	once_init();
	uri = mongoc_uri_new_with_error(url, &e);
	if (!uri)
		harness_fail(__FILE__, __LINE__, "bad URL %s: %s", url, e.message);
	c = mongoc_client_new_from_uri(uri);
	mongoc_uri_destroy(uri);
	if (!c)
		harness_fail(__FILE__, __LINE__, "cannot open a client on %s", url);
	mongoc_client_set_error_api(c, 2);
	return c;
}

bool mt_try_cmd(mongoc_client_t *c, const char *db, const char *json, char *msg, size_t size)
{
	bson_t cmd, reply;
	bson_error_t e;
	bool ok;

	if (!bson_init_from_json(&cmd, json, -1, &e))
		harness_fail(__FILE__, __LINE__, "bad JSON %s: %s", json, e.message);
	ok = mongoc_client_command_with_opts(c, db, &cmd, NULL, NULL, &reply, &e);
	if (!ok && msg)
		snprintf(msg, size, "%s", e.message);
	bson_destroy(&reply);
	bson_destroy(&cmd);
	return ok;
}

void mt_cmd(mongoc_client_t *c, const char *db, const char *json, bson_t *reply)
{
	bson_t cmd, local;
	bson_error_t e;

	if (!bson_init_from_json(&cmd, json, -1, &e))
		harness_fail(__FILE__, __LINE__, "bad JSON %s: %s", json, e.message);
	if (!mongoc_client_command_with_opts(c, db, &cmd, NULL, NULL, reply ? reply : &local, &e))
		harness_fail(__FILE__, __LINE__, "command %s failed: %s", json, e.message);
	if (!reply)
		bson_destroy(&local);
	bson_destroy(&cmd);
}

void mt_insert(mongoc_client_t *c, const char *db, const char *coll, const char *json_array)
{
	bson_t docs, cmd = BSON_INITIALIZER, reply;
	bson_error_t e;

	if (!bson_init_from_json(&docs, json_array, -1, &e))
		harness_fail(__FILE__, __LINE__, "bad JSON %s: %s", json_array, e.message);
	BSON_APPEND_UTF8(&cmd, "insert", coll);
	BSON_APPEND_ARRAY(&cmd, "documents", &docs);
	if (!mongoc_client_command_with_opts(c, db, &cmd, NULL, NULL, &reply, &e))
		harness_fail(__FILE__, __LINE__, "insert into %s failed: %s", coll, e.message);
	bson_destroy(&reply);
	bson_destroy(&cmd);
	bson_destroy(&docs);
}

int64_t mt_count(mongoc_client_t *c, const char *db, const char *coll, const char *filter_json)
{
	mongoc_collection_t *col = mongoc_client_get_collection(c, db, coll);
	bson_t filter = BSON_INITIALIZER;
	bson_error_t e;
	int64_t n;

	if (filter_json && !bson_init_from_json(&filter, filter_json, -1, &e))
		harness_fail(__FILE__, __LINE__, "bad JSON %s: %s", filter_json, e.message);
	n = mongoc_collection_count_documents(col, &filter, NULL, NULL, NULL, &e);
	if (n < 0)
		harness_fail(__FILE__, __LINE__, "count on %s failed: %s", coll, e.message);
	bson_destroy(&filter);
	mongoc_collection_destroy(col);
	return n;
}

char *mt_find_one(mongoc_client_t *c, const char *db, const char *coll, const char *filter_json)
{
	mongoc_collection_t *col = mongoc_client_get_collection(c, db, coll);
	bson_t filter = BSON_INITIALIZER;
	bson_error_t e;
	const bson_t *doc;
	mongoc_cursor_t *cur;
	char *out = NULL;

	if (filter_json && !bson_init_from_json(&filter, filter_json, -1, &e))
		harness_fail(__FILE__, __LINE__, "bad JSON %s: %s", filter_json, e.message);
	cur = mongoc_collection_find_with_opts(col, &filter, NULL, NULL);
	if (mongoc_cursor_next(cur, &doc)) {
		char *j = bson_as_relaxed_extended_json(doc, NULL);
		out = strdup(j);
		bson_free(j);
	} else if (mongoc_cursor_error(cur, &e)) {
		harness_fail(__FILE__, __LINE__, "find on %s failed: %s", coll, e.message);
	}
	mongoc_cursor_destroy(cur);
	bson_destroy(&filter);
	mongoc_collection_destroy(col);
	return out;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Joins `n` strings sorted with commas into listbuf and frees them. */
static const char *join_sorted(char **items, size_t n)
{
	listbuf[0] = '\0';
	qsort(items, n, sizeof(*items), cmp_str);
	for (size_t i = 0; i < n; i++) {
		if (i)
			strncat(listbuf, ",", sizeof(listbuf) - strlen(listbuf) - 1);
		strncat(listbuf, items[i], sizeof(listbuf) - strlen(listbuf) - 1);
		free(items[i]);
	}
	return listbuf;
}

const char *mt_indexes(mongoc_client_t *c, const char *db, const char *coll)
{
	mongoc_collection_t *col = mongoc_client_get_collection(c, db, coll);
	mongoc_cursor_t *cur = mongoc_collection_find_indexes_with_opts(col, NULL);
	const bson_t *spec;
	bson_iter_t it;
	char *items[256];
	size_t n = 0;

	while (mongoc_cursor_next(cur, &spec) && n < 256)
		if (bson_iter_init_find(&it, spec, "name") && BSON_ITER_HOLDS_UTF8(&it))
			items[n++] = strdup(bson_iter_utf8(&it, NULL));
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(col);
	return join_sorted(items, n);
}

char *mt_index_spec(mongoc_client_t *c, const char *db, const char *coll, const char *name)
{
	mongoc_collection_t *col = mongoc_client_get_collection(c, db, coll);
	mongoc_cursor_t *cur = mongoc_collection_find_indexes_with_opts(col, NULL);
	const bson_t *spec;
	bson_iter_t it;
	char *out = NULL;

	while (!out && mongoc_cursor_next(cur, &spec)) {
		if (bson_iter_init_find(&it, spec, "name") && BSON_ITER_HOLDS_UTF8(&it) &&
		    !strcmp(bson_iter_utf8(&it, NULL), name)) {
			bson_t d = BSON_INITIALIZER;
			char *j;
			if (bson_iter_init_find(&it, spec, "key"))
				bson_append_iter(&d, "key", -1, &it);
			BSON_APPEND_BOOL(&d, "unique",
					 bson_iter_init_find(&it, spec, "unique") && bson_iter_as_bool(&it));
			j = bson_as_relaxed_extended_json(&d, NULL);
			out = strdup(j);
			bson_free(j);
			bson_destroy(&d);
		}
	}
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(col);
	return out;
}

const char *mt_collections(mongoc_client_t *c, const char *db)
{
	mongoc_database_t *d = mongoc_client_get_database(c, db);
	bson_error_t e;
	char **names = mongoc_database_get_collection_names_with_opts(d, NULL, &e);
	char *items[256];
	size_t n = 0;

	if (!names)
		harness_fail(__FILE__, __LINE__, "listCollections on %s failed: %s", db, e.message);
	for (size_t i = 0; names[i] && n < 256; i++)
		items[n++] = strdup(names[i]);
	bson_strfreev(names);
	mongoc_database_destroy(d);
	return join_sorted(items, n);
}

bool mt_exists(mongoc_client_t *c, const char *db, const char *coll)
{
	const char *all = mt_collections(c, db);
	char needle[200];
	char padded[8200];

	snprintf(padded, sizeof padded, ",%s,", all);
	snprintf(needle, sizeof needle, ",%s,", coll);
	return strstr(padded, needle) != NULL;
}

static void dump_coll(mongoc_client_t *c, const char *db, const char *coll, migrate_buf_t *out, const char *filter,
		      const char *projection)
{
	mongoc_collection_t *col = mongoc_client_get_collection(c, db, coll);
	bson_t f = BSON_INITIALIZER, *opts;
	bson_error_t e;
	mongoc_cursor_t *cur;
	const bson_t *doc;

	if (filter && !bson_init_from_json(&f, filter, -1, &e))
		harness_fail(__FILE__, __LINE__, "bad JSON %s", filter);
	opts = BCON_NEW("sort", "{", "_id", BCON_INT32(1), "}");
	if (projection) {
		bson_t p;
		bson_init_from_json(&p, projection, -1, &e);
		BSON_APPEND_DOCUMENT(opts, "projection", &p);
		bson_destroy(&p);
	}
	cur = mongoc_collection_find_with_opts(col, &f, opts, NULL);
	migrate_buf_printf(out, "== %s\n", coll);
	while (mongoc_cursor_next(cur, &doc)) {
		char *j = bson_as_canonical_extended_json(doc, NULL);
		migrate_buf_printf(out, "%s\n", j);
		bson_free(j);
	}
	if (mongoc_cursor_error(cur, &e))
		harness_fail(__FILE__, __LINE__, "dump of %s failed: %s", coll, e.message);
	migrate_buf_printf(out, "indexes: %s\n", mt_indexes(c, db, coll));
	mongoc_cursor_destroy(cur);
	bson_destroy(opts);
	bson_destroy(&f);
	mongoc_collection_destroy(col);
}

char *mt_dump(mongoc_client_t *c, const char *db)
{
	return mt_dump_except(c, db, NULL);
}

char *mt_dump_except(mongoc_client_t *c, const char *db, const char *skip)
{
	migrate_buf_t *out = migrate__buf_new("");
	char list[8192], *save = NULL, *name;
	char *res;

	snprintf(list, sizeof list, "%s", mt_collections(c, db));
	for (name = strtok_r(list, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		if (!strcmp(name, "_migrate_locks") || (skip && !strcmp(name, skip)))
			continue;
		if (!strcmp(name, "_migrate_history")) {
			if (skip && mt_count(c, db, name, "{}") == 0)
				continue; /* a store left empty by a full down is no state */
			/* Times, hosts and pids differ between runs: not part of the state. */
			dump_coll(c, db, name, out, NULL,
				  "{\"_id\":0,\"plan\":1,\"version\":1,\"name\":1,\"checksum\":1,\"state\":1,"
				  "\"steps_done\":1,\"error\":1}");
			continue;
		}
		dump_coll(c, db, name, out, NULL, NULL);
	}
	res = strdup(out->str);
	migrate__buf_free(out, true);
	return res;
}

migrate_target_t *mt_target(const char *url)
{
	migrate_target_t *t = NULL;
	migrate_error_t err;

	if (migrate_target_open(&t, url, &err) != 0)
		harness_fail(__FILE__, __LINE__, "cannot open %s: %s", url, err.message);
	return t;
}

void mt_step(migrate_version_t *v, const char *json)
{
	migrate_error_t err;

	if (migrate_version_add_step_json(v, json, NULL, &err) != 0)
		harness_fail(__FILE__, __LINE__, "step %s: %s", json, err.message);
}

int mt_state(migrate_target_t *t, const migrate_plan_t *plan, uint64_t id)
{
	migrate_status_t *st = NULL;
	migrate_error_t err;
	int state = -1;

	if (migrate_status_get(t, plan, &st, &err) != 0)
		harness_fail(__FILE__, __LINE__, "status: %s", err.message);
	for (size_t i = 0; i < migrate_status_count(st); i++) {
		const migrate_status_entry_t *e = migrate_status_entry(st, i);
		if (e->id == id)
			state = e->state;
	}
	migrate_status_destroy(st);
	return state;
}

void mt_reap(long pid)
{
	char path[64];

	snprintf(path, sizeof path, "/dev/shm/mongoc-%ld", pid);
	unlink(path);
}

static const char *script(void)
{
	const char *s = getenv("MIGRATE_FERRETDB_SCRIPT");

	if (!s || !*s)
		harness_fail(__FILE__, __LINE__, "MIGRATE_FERRETDB_SCRIPT is not set");
	return s;
}

const char *mt_private_start(const char *dir, int port)
{
	static char url[256];
	char cmd[1024], portarg[16] = "";
	FILE *p;

	if (port)
		snprintf(portarg, sizeof portarg, "%d", port);
	snprintf(cmd, sizeof cmd, "'%s' start '%s' %s", script(), dir, portarg);
	p = popen(cmd, "r");
	url[0] = '\0';
	if (!p || !fgets(url, sizeof url, p))
		url[0] = '\0';
	if (p && pclose(p) != 0)
		url[0] = '\0';
	url[strcspn(url, "\r\n")] = '\0';
	if (!url[0]) {
		if (harness_ci())
			harness_fail(__FILE__, __LINE__, "cannot start a private FerretDB in %s", dir);
		harness_skip("cannot start a private FerretDB -- MongoDB TEST SKIPPED");
	}
	return url;
}

static void private_cmd(const char *verb, const char *dir)
{
	char cmd[1024];

	snprintf(cmd, sizeof cmd, "'%s' %s '%s'", script(), verb, dir);
	if (system(cmd) != 0)
		harness_fail(__FILE__, __LINE__, "%s failed", cmd);
}

void mt_private_stop(const char *dir)
{
	private_cmd("destroy", dir);
}

void mt_private_kill(const char *dir)
{
	private_cmd("kill", dir);
}

int mt_private_port(const char *dir)
{
	char path[1024];
	FILE *f;
	int port = 0;

	snprintf(path, sizeof path, "%s/port", dir);
	if ((f = fopen(path, "r")) != NULL) {
		if (fscanf(f, "%d", &port) != 1)
			port = 0;
		fclose(f);
	}
	return port;
}
