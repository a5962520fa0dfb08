/*
 * Validation against the MongoDB driver without a server: the driver's
 * state with no client and capabilities already known, so its checks never
 * ask a server. Each plan is checked against a current server and against
 * one without partial indexes or pipeline updates.
 */
#include <string.h>

#include "fuzz.h"
#include "mongo/mongo_int.h"

static mongo_conn_t conn;
static migrate_target_t target = {&migrate__mongo_driver, &conn};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char dbname[] = "fuzz";

	fuzz_log_everything();
	conn.dbname = dbname;
	conn.caps.known = true;
	strcpy(conn.caps.server, "MongoDB (fuzz)");
	conn.caps.max_wire = 21;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	migrate_plan_t *plan = fuzz_plan_from_input(data, size);
	int modern;

	if (!plan)
		return 0;
	for (modern = 1; modern >= 0; modern--) {
		conn.caps.pipeline_updates = modern;
		conn.caps.partial_indexes = modern;
		fuzz_validate(&target, plan);
	}
	migrate_plan_destroy(plan);
	return 0;
}
