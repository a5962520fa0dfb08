/*
 * cli_probe: what the CLI tests read back from a PostgreSQL or MongoDB
 * server, with the database's own client library (never through
 * libmigrate), printed as one JSON document for tests/cli_test.py.
 *
 *   cli_probe URL tables      {"tables": {name: {"rows": n, "columns": [...], "indexes": [...]}},
 *                              "types": [enum types], "triggers": [...]}  (types/triggers: PostgreSQL)
 *   cli_probe URL sql QUERY   {"rows": [[text or null, ...], ...]}       (PostgreSQL)
 *   cli_probe URL find COLL   {"documents": [...]} in _id order          (MongoDB)
 *   cli_probe URL dropdb      drops the database                         (MongoDB)
 *   cli_probe URL command JSON  runs a database command, prints its reply   (MongoDB)
 *
 * Exit status: 0, or 1 with a message on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bson/bson.h>

#ifdef MIGRATE_HAVE_POSTGRES
#include <libpq-fe.h>
#endif
#ifdef MIGRATE_HAVE_MONGO
#include <mongoc/mongoc.h>
#endif

static int print_doc(const bson_t *doc)
{
	char *json = bson_as_relaxed_extended_json(doc, NULL);

	printf("%s\n", json);
	bson_free(json);
	return 0;
}

static void key_of(uint32_t i, char *buf, size_t size, const char **key)
{
	bson_uint32_to_string(i, key, buf, size);
}

#ifdef MIGRATE_HAVE_POSTGRES
static PGresult *pg_query(PGconn *c, const char *sql, int nparams, const char *const *params)
{
	PGresult *r = PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "cli_probe: %s: %s", sql, PQerrorMessage(c));
		PQclear(r);
		return NULL;
	}
	return r;
}

/* Appends the first column of every row of `sql` as an array of strings. */
static int pg_list(PGconn *c, bson_t *parent, const char *key, const char *sql, const char *param)
{
	PGresult *r = pg_query(c, sql, param ? 1 : 0, &param);
	bson_t arr;
	char buf[16];
	const char *k;
	int i;

	if (!r)
		return 1;
	bson_append_array_begin(parent, key, -1, &arr);
	for (i = 0; i < PQntuples(r); i++) {
		key_of((uint32_t)i, buf, sizeof buf, &k);
		bson_append_utf8(&arr, k, -1, PQgetvalue(r, i, 0), -1);
	}
	bson_append_array_end(parent, &arr);
	PQclear(r);
	return 0;
}

static int pg_tables(PGconn *c)
{
	PGresult *t = pg_query(c,
			       "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
			       "AND table_type = 'BASE TABLE' ORDER BY 1",
			       0, NULL);
	bson_t doc = BSON_INITIALIZER, tables, one;
	int i, rc = 0;

	if (!t)
		return 1;
	bson_append_document_begin(&doc, "tables", -1, &tables);
	for (i = 0; i < PQntuples(t) && rc == 0; i++) {
		const char *name = PQgetvalue(t, i, 0);
		char *quoted = PQescapeIdentifier(c, name, strlen(name)), sql[300];
		PGresult *n;
		snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", quoted);
		PQfreemem(quoted);
		if (!(n = pg_query(c, sql, 0, NULL))) {
			rc = 1;
			break;
		}
		bson_append_document_begin(&tables, name, -1, &one);
		BSON_APPEND_INT64(&one, "rows", strtoll(PQgetvalue(n, 0, 0), NULL, 10));
		PQclear(n);
		rc = pg_list(c, &one, "columns",
			     "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
			     "AND table_name = $1 ORDER BY ordinal_position",
			     name) ||
		     pg_list(c, &one, "indexes",
			     "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND tablename = $1 ORDER BY 1",
			     name);
		bson_append_document_end(&tables, &one);
	}
	bson_append_document_end(&doc, &tables);
	PQclear(t);
	if (rc == 0)
		rc = pg_list(c, &doc, "types", "SELECT typname FROM pg_type WHERE typtype = 'e' ORDER BY 1", NULL) ||
		     pg_list(c, &doc, "triggers", "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1",
			     NULL);
	if (rc == 0)
		print_doc(&doc);
	bson_destroy(&doc);
	return rc;
}

static int pg_sql(PGconn *c, const char *sql)
{
	PGresult *r = pg_query(c, sql, 0, NULL);
	bson_t doc = BSON_INITIALIZER, rows, row;
	char buf[16], buf2[16];
	const char *k, *k2;
	int i, j;

	if (!r)
		return 1;
	bson_append_array_begin(&doc, "rows", -1, &rows);
	for (i = 0; i < PQntuples(r); i++) {
		key_of((uint32_t)i, buf, sizeof buf, &k);
		bson_append_array_begin(&rows, k, -1, &row);
		for (j = 0; j < PQnfields(r); j++) {
			key_of((uint32_t)j, buf2, sizeof buf2, &k2);
			if (PQgetisnull(r, i, j))
				bson_append_null(&row, k2, -1);
			else
				bson_append_utf8(&row, k2, -1, PQgetvalue(r, i, j), -1);
		}
		bson_append_array_end(&rows, &row);
	}
	bson_append_array_end(&doc, &rows);
	PQclear(r);
	print_doc(&doc);
	bson_destroy(&doc);
	return 0;
}

static int pg_main(const char *url, const char *what, const char *arg)
{
	PGconn *c = PQconnectdb(url);
	int rc = 1;

	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "cli_probe: cannot connect: %s", PQerrorMessage(c));
	} else if (strcmp(what, "tables") == 0) {
		rc = pg_tables(c);
	} else if (strcmp(what, "sql") == 0 && arg) {
		rc = pg_sql(c, arg);
	} else {
		fprintf(stderr, "cli_probe: unknown request %s for PostgreSQL\n", what);
	}
	PQfinish(c);
	return rc;
}
#endif

#ifdef MIGRATE_HAVE_MONGO
static int mongo_tables(mongoc_database_t *db)
{
	bson_error_t e;
	char **names = mongoc_database_get_collection_names_with_opts(db, NULL, &e);
	bson_t doc = BSON_INITIALIZER, tables, one, idx;
	int i, rc = 0;

	if (!names) {
		fprintf(stderr, "cli_probe: listCollections: %s\n", e.message);
		return 1;
	}
	bson_append_document_begin(&doc, "tables", -1, &tables);
	for (i = 0; names[i] && rc == 0; i++) {
		mongoc_collection_t *coll = mongoc_database_get_collection(db, names[i]);
		mongoc_cursor_t *cur;
		const bson_t *spec;
		bson_t filter = BSON_INITIALIZER;
		int64_t n = mongoc_collection_count_documents(coll, &filter, NULL, NULL, NULL, &e);
		uint32_t k = 0;
		char buf[16];
		const char *key;
		bson_destroy(&filter);
		if (n < 0) {
			fprintf(stderr, "cli_probe: count %s: %s\n", names[i], e.message);
			rc = 1;
		}
		bson_append_document_begin(&tables, names[i], -1, &one);
		BSON_APPEND_INT64(&one, "rows", n);
		bson_append_array_begin(&one, "indexes", -1, &idx);
		cur = mongoc_collection_find_indexes_with_opts(coll, NULL);
		while (mongoc_cursor_next(cur, &spec)) {
			bson_iter_t it;
			if (bson_iter_init_find(&it, spec, "name") && BSON_ITER_HOLDS_UTF8(&it)) {
				key_of(k++, buf, sizeof buf, &key);
				bson_append_utf8(&idx, key, -1, bson_iter_utf8(&it, NULL), -1);
			}
		}
		if (mongoc_cursor_error(cur, &e)) {
			fprintf(stderr, "cli_probe: listIndexes %s: %s\n", names[i], e.message);
			rc = 1;
		}
		mongoc_cursor_destroy(cur);
		bson_append_array_end(&one, &idx);
		bson_append_document_end(&tables, &one);
		mongoc_collection_destroy(coll);
	}
	bson_append_document_end(&doc, &tables);
	bson_strfreev(names);
	if (rc == 0)
		print_doc(&doc);
	bson_destroy(&doc);
	return rc;
}

static int mongo_find(mongoc_database_t *db, const char *name)
{
	mongoc_collection_t *coll = mongoc_database_get_collection(db, name);
	bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER, sort, doc = BSON_INITIALIZER, arr;
	mongoc_cursor_t *cur;
	const bson_t *d;
	bson_error_t e;
	uint32_t k = 0;
	char buf[16];
	const char *key;
	int rc = 0;

	bson_append_document_begin(&opts, "sort", -1, &sort);
	BSON_APPEND_INT32(&sort, "_id", 1);
	bson_append_document_end(&opts, &sort);
	cur = mongoc_collection_find_with_opts(coll, &filter, &opts, NULL);
	bson_append_array_begin(&doc, "documents", -1, &arr);
	while (mongoc_cursor_next(cur, &d)) {
		key_of(k++, buf, sizeof buf, &key);
		bson_append_document(&arr, key, -1, d);
	}
	bson_append_array_end(&doc, &arr);
	if (mongoc_cursor_error(cur, &e)) {
		fprintf(stderr, "cli_probe: find %s: %s\n", name, e.message);
		rc = 1;
	} else {
		print_doc(&doc);
	}
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(coll);
	bson_destroy(&filter);
	bson_destroy(&opts);
	bson_destroy(&doc);
	return rc;
}

static void quiet_log(mongoc_log_level_t level, const char *domain, const char *message, void *data)
{
	(void)level, (void)domain, (void)message, (void)data;
}

static int mongo_main(const char *url, const char *what, const char *arg)
{
	bson_error_t e;
	mongoc_uri_t *uri;
	mongoc_client_t *client = NULL;
	mongoc_database_t *db = NULL;
	int rc = 1;

	mongoc_init();
	mongoc_log_set_handler(quiet_log, NULL);
	if (!(uri = mongoc_uri_new_with_error(url, &e)) || !mongoc_uri_get_database(uri)) {
		fprintf(stderr, "cli_probe: bad MongoDB URL (it needs a database): %s\n", uri ? url : e.message);
		goto done;
	}
	client = mongoc_client_new_from_uri(uri);
	db = mongoc_client_get_database(client, mongoc_uri_get_database(uri));
	if (strcmp(what, "tables") == 0)
		rc = mongo_tables(db);
	else if (strcmp(what, "find") == 0 && arg)
		rc = mongo_find(db, arg);
	else if (strcmp(what, "command") == 0 && arg) {
		bson_t *cmd = bson_new_from_json((const uint8_t *)arg, -1, &e), reply;
		rc = cmd && mongoc_database_command_simple(db, cmd, NULL, &reply, &e) ? 0 : 1;
		if (rc)
			fprintf(stderr, "cli_probe: command %s: %s\n", arg, e.message);
		else {
			char *json = bson_as_relaxed_extended_json(&reply, NULL);
			printf("%s\n", json);
			bson_free(json);
		}
		if (cmd) {
			bson_destroy(&reply);
			bson_destroy(cmd);
		}
	} else if (strcmp(what, "dropdb") == 0) {
		rc = mongoc_database_drop(db, &e) ? 0 : 1;
		if (rc)
			fprintf(stderr, "cli_probe: dropDatabase: %s\n", e.message);
	} else
		fprintf(stderr, "cli_probe: unknown request %s for MongoDB\n", what);
done:
	mongoc_database_destroy(db);
	mongoc_client_destroy(client);
	mongoc_uri_destroy(uri);
	mongoc_cleanup();
	return rc;
}
#endif

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: cli_probe URL tables | sql QUERY | find COLLECTION\n");
		return 2;
	}
#ifdef MIGRATE_HAVE_POSTGRES
	if (strncmp(argv[1], "postgres", 8) == 0)
		return pg_main(argv[1], argv[2], argc > 3 ? argv[3] : NULL);
#endif
#ifdef MIGRATE_HAVE_MONGO
	if (strncmp(argv[1], "mongodb", 7) == 0)
		return mongo_main(argv[1], argv[2], argc > 3 ? argv[3] : NULL);
#endif
	fprintf(stderr, "cli_probe: no client for %s in this build\n", argv[1]);
	return 1;
}
