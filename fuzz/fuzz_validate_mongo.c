/*
 * Validation against the MongoDB driver without a server: a client on an
 * address where nothing listens (as in tests/mongo_validation.c), with the
 * server's capabilities already known so that the checks never need it.
 * Each plan is checked against a current server and against one without
 * partial indexes or pipeline updates; then every accepted step is
 * rendered (those that ask the server fail with MIGRATE_ECONNECT).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "mongo/mongo_int.h"

#define NOWHERE "mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=100&connectTimeoutMS=100"

static mongo_conn_t *conn;
static migrate_target_t target = {&migrate__mongo_driver, NULL};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	migrate_error_t err;

	fuzz_log_everything();
	migrate__mongo_init_once();
	if (migrate__mongo_conn_new(&conn, mongoc_client_new(NOWHERE), true, "fuzz", &err) != 0)
		abort();
	conn->caps.known = true;
	strcpy(conn->caps.server, "MongoDB (fuzz)");
	conn->caps.max_wire = 21;
	target.conn = conn;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	migrate_plan_t *plan = fuzz_plan_from_input(data, size);
	int modern;

	if (!plan)
		return 0;
	for (modern = 1; modern >= 0; modern--) {
		conn->caps.pipeline_updates = modern;
		conn->caps.partial_indexes = modern;
		fuzz_validate(&target, plan);
		fuzz_render_steps(&target, plan);
	}
	migrate_plan_destroy(plan);
	return 0;
}
