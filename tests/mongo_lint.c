/*
 * Lint with live sizes on MongoDB (tests/lint.h's scenario, on FerretDB):
 * estimatedDocumentCount decides which findings fire; linting writes
 * nothing.
 */
#include "lint.h"
#include "mongo_util.h"

TEST(lint_live_sizes)
{
	const char *url = mt_fresh_db("lint");
	migrate_target_t *t = mt_target(url);
	migrate_plan_t *p = lint_live_setup(t);
	mongoc_client_t *c = mt_client(url);

	mt_insert(c, mt_db(), "big",
		  "[{\"_id\":1,\"name\":\"a\"},{\"_id\":2,\"name\":\"b\"},{\"_id\":3,\"name\":\"c\"},"
		  "{\"_id\":4,\"name\":\"d\"},{\"_id\":5,\"name\":\"e\"}]");
	mt_insert(c, mt_db(), "small", "[{\"_id\":1,\"name\":\"a\"}]");
	/* small (1 document) is under the threshold of 3: only big's unique index is reported. */
	lint_live_check(t, p, "2:0:mongo-unique-index-unchecked:error\n");
	{
		migrate_lint_report_t *r = lint_run(p, t, NULL, 3);
		CHECK_HAS(migrate_lint_finding_message(migrate_lint_report_finding(r, 0)), "(about 5 documents)");
		migrate_lint_report_destroy(r);
	}
	/* Nothing was written: no index, the documents as they were. */
	CHECK(!strstr(mt_indexes(c, mt_db(), "big"), "big_name"));
	CHECK_INT(mt_count(c, mt_db(), "big", "{\"flag\":{\"$exists\":true}}"), 0);
	CHECK_INT(mt_count(c, mt_db(), "big", "{}"), 5);
	mongoc_client_destroy(c);
	migrate_plan_destroy(p);
	migrate_target_close(t);
}
