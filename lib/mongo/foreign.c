/*
 * Reads another migration tool's history for its adoption (lib/adopt.c):
 * golang-migrate's MongoDB driver keeps {version, dirty} in the
 * schema_migrations collection. Only reads.
 */
#include "mongo_int.h"

int migrate__mongo_read_rows(void *conn, const char *query, bson_t *rows, migrate_error_t *err)
{
	mongo_conn_t *c = conn;
	bson_t cmd, reply, batch;
	bson_iter_t it;
	char key[24];
	int rc, i = 0;

	if ((rc = migrate__json_parse(query, false, &cmd, err))) {
		bson_destroy(&cmd);
		return rc;
	}
	rc = migrate__mongo_command(c, &cmd, &reply, "reading another tool's history", err);
	bson_destroy(&cmd);
	if (rc == 0 && bson_iter_init(&it, &reply) && bson_iter_find_descendant(&it, "cursor.firstBatch", &it) &&
	    BSON_ITER_HOLDS_ARRAY(&it)) {
		const uint8_t *data;
		uint32_t len;
		bson_iter_array(&it, &len, &data);
		if (bson_init_static(&batch, data, len) && bson_iter_init(&it, &batch)) {
			while (bson_iter_next(&it)) {
				snprintf(key, sizeof key, "%d", i++);
				bson_append_value(rows, key, -1, bson_iter_value(&it));
			}
		}
	}
	bson_destroy(&reply);
	return rc;
}
