/*
 * Collection sizes for lint (migrate_lint with a target): the server's
 * estimate (estimatedDocumentCount, from the collection's metadata); a
 * collection that does not exist counts 0 documents.
 */
#include "mongo_int.h"

int migrate__mongo_table_rows(void *conn, const char *table, int64_t *rows, migrate_error_t *err)
{
	mongo_conn_t *c = conn;
	mongoc_collection_t *coll;
	bson_error_t e;
	int rc;

	*rows = -1;
	if ((rc = migrate__fault(MIGRATE__FAULT_STMT, "count", err)))
		return rc;
	coll = mongoc_database_get_collection(c->db, table);
	*rows = mongoc_collection_estimated_document_count(coll, NULL, NULL, NULL, &e);
	mongoc_collection_destroy(coll);
	if (*rows < 0)
		return migrate__mongo_fail(err, &e, "counting the documents of \"%s\"", table);
	return 0;
}
