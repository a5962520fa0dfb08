/*
 * Invalid step documents, shared by core_validation.c (the builders refuse
 * them) and core_revalidate.c (every run refuses them again, before writing
 * anything, when they get into a plan behind the builders' back).
 *
 * Each case is added as step 2 of version 2 ("second"); `has` is a part of
 * the expected message that names the field, `code` the expected error.
 */
#ifndef MIGRATE_TEST_CORE_CASES_H
#define MIGRATE_TEST_CORE_CASES_H

#include <migrate/migrate.h>

typedef struct core_case {
	const char *group; /* the TEST that runs it */
	const char *json;
	int code;
	const char *has;
} core_case;

#define PLAN_ERR MIGRATE_EPLAN

static const core_case core_cases[] = {
	/* ops */
	{"ops", "{\"op\":\"rename_tabel\",\"from\":\"a\",\"to\":\"b\"}", PLAN_ERR, "op: unknown op \"rename_tabel\""},
	{"ops", "{\"table\":\"t\"}", PLAN_ERR, "op: is required"},
	{"ops", "{\"op\":7,\"table\":\"t\"}", PLAN_ERR, "op: must be a string"},
	{"ops", "{\"op\":\"\"}", PLAN_ERR, "op: unknown op \"\""},
	{"ops", "{\"op\":\"CREATE_TABLE\",\"table\":\"t\"}", PLAN_ERR, "op: unknown op \"CREATE_TABLE\""},

	/* required fields */
	{"required", "{\"op\":\"rename_table\",\"from\":\"a\"}", PLAN_ERR, "to: is required"},
	{"required", "{\"op\":\"drop_table\"}", PLAN_ERR, "table: is required"},
	{"required", "{\"op\":\"create_table\",\"table\":\"t\"}", PLAN_ERR, "columns: is required"},
	{"required", "{\"op\":\"add_column\",\"table\":\"t\",\"column\":{\"name\":\"c\"}}", PLAN_ERR,
	 "column.type: is required"},
	{"required", "{\"op\":\"add_column\",\"table\":\"t\",\"column\":{\"type\":\"text\"}}", PLAN_ERR,
	 "column.name: is required"},
	{"required", "{\"op\":\"create_index\",\"table\":\"t\",\"name\":\"i\"}", PLAN_ERR, "keys: is required"},
	{"required", "{\"op\":\"map_values\",\"table\":\"t\",\"column\":\"c\"}", PLAN_ERR, "map: is required"},
	{"required", "{\"op\":\"backfill\",\"table\":\"t\"}", PLAN_ERR, "set: is required"},
	{"required", "{\"op\":\"custom\",\"name\":\"x\"}", PLAN_ERR, "revision: is required"},
	{"required", "{\"op\":\"sql\"}", PLAN_ERR, "up: is required"},
	{"required", "{\"op\":\"assert\",\"count\":{\"table\":\"t\"}}", PLAN_ERR, "expect: is required"},
	{"required", "{\"op\":\"add_column\",\"table\":\"t\",\"column\":{\"name\":\"u\",\"type\":\"integer\","
		     "\"references\":{\"table\":\"users\"}}}",
	 PLAN_ERR, "column.references.column: is required"},

	/* wrong types */
	{"types", "{\"op\":\"drop_table\",\"table\":5}", PLAN_ERR, "table: must be a string"},
	{"types", "{\"op\":\"drop_table\",\"table\":[\"t\"]}", PLAN_ERR, "table: must be a string"},
	{"types", "{\"op\":\"drop_table\",\"table\":null}", PLAN_ERR, "table: must be a string"},
	{"types", "{\"op\":\"create_table\",\"table\":\"t\",\"columns\":{\"name\":\"id\"}}", PLAN_ERR,
	 "columns: must be an array"},
	{"types", "{\"op\":\"create_table\",\"table\":\"t\",\"columns\":[\"id\"]}", PLAN_ERR,
	 "columns[0]: must be an object"},
	{"types", "{\"op\":\"add_column\",\"table\":\"t\",\"column\":{\"name\":\"c\",\"type\":\"text\",\"nullable\":\"no\"}}",
	 PLAN_ERR, "column.nullable: must be true or false"},
	{"types", "{\"op\":\"add_column\",\"table\":\"t\",\"column\":\"c\"}", PLAN_ERR, "column: must be an object"},
	{"types", "{\"op\":\"create_index\",\"table\":\"t\",\"name\":\"i\",\"keys\":[{\"column\":\"a\"}],\"unique\":1}",
	 PLAN_ERR, "unique: must be true or false"},
	{"types", "{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"value\":1}},\"batch_size\":\"100\"}", PLAN_ERR,
	 "batch_size: must be an integer"},
	{"types", "{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"value\":1}},\"batch_size\":-1}", PLAN_ERR,
	 "batch_size: must be an integer"},
	{"types", "{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"value\":1}},\"batch_size\":1.5}", PLAN_ERR,
	 "batch_size: must be an integer"},
	{"types", "{\"op\":\"sql\",\"up\":\"SELECT 1\",\"down\":5}", PLAN_ERR, "down: must be a string"},
	{"types", "{\"op\":\"command\",\"up\":\"drop\"}", PLAN_ERR, "up: must be a command object"},
	{"types", "{\"op\":\"command\",\"up\":[]}", PLAN_ERR, "up: must not be empty"},
	{"types", "{\"op\":\"command\",\"up\":[{\"ping\":1},2]}", PLAN_ERR, "up: must hold only command objects"},
	{"types", "{\"op\":\"sql\",\"up\":\"\"}", PLAN_ERR, "up: must not be empty"},
	{"types", "{\"op\":\"map_values\",\"table\":\"t\",\"column\":\"c\",\"map\":{\"a\":{\"b\":1}}}", PLAN_ERR,
	 "map.a: must be a string, number, boolean or null"},
	{"types", "{\"op\":\"map_values\",\"table\":\"t\",\"column\":\"c\",\"map\":{}}", PLAN_ERR, "map: must not be empty"},
	{"types", "{\"op\":\"rename_table\",\"from\":\"a\",\"to\":\"a\"}", PLAN_ERR, "to: is the same as from"},
	{"types", "{\"op\":\"drop_table\",\"table\":\"t\",\"down\":{}}", PLAN_ERR, "down: must be an array"},

	/* unknown keys: typos are errors, not ignored */
	{"unknown_keys", "{\"op\":\"drop_table\",\"table\":\"t\",\"tabel\":\"u\"}", PLAN_ERR, "tabel: unknown field"},
	{"unknown_keys", "{\"op\":\"drop_table\",\"table\":\"t\",\"where\":{}}", PLAN_ERR, "where: unknown field"},
	{"unknown_keys",
	 "{\"op\":\"create_table\",\"table\":\"t\",\"columns\":[{\"name\":\"id\",\"type\":\"integer\",\"nulable\":false}]}",
	 PLAN_ERR, "columns[0].nulable: unknown field"},
	{"unknown_keys", "{\"op\":\"add_column\",\"table\":\"t\",\"column\":{\"name\":\"u\",\"type\":\"integer\","
			 "\"references\":{\"table\":\"users\",\"colum\":\"id\"}}}",
	 PLAN_ERR, "column.references.colum: unknown field"},
	{"unknown_keys", "{\"op\":\"create_index\",\"table\":\"t\",\"name\":\"i\",\"keys\":[{\"column\":\"a\",\"dir\":1}]}",
	 PLAN_ERR, "keys[0].dir: unknown field"},
	{"unknown_keys", "{\"op\":\"assert\",\"count\":{\"table\":\"t\",\"wher\":{}},\"expect\":0}", PLAN_ERR,
	 "count.wher: unknown field"},
	{"unknown_keys", "{\"op\":\"custom\",\"name\":\"x\",\"revision\":\"1\",\"down\":[]}", PLAN_ERR,
	 "down: unknown field"},
	{"unknown_keys", "{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"count\":{\"table\":\"u\","
			 "\"match\":{\"a\":\"b\"},\"whre\":{}}}}}",
	 PLAN_ERR, "set.c.count.whre: unknown field"},

	/* identifiers (long ones are built in the tests) */
	{"identifiers", "{\"op\":\"drop_table\",\"table\":\"\"}", PLAN_ERR, "table: invalid identifier: it is empty"},
	{"identifiers", "{\"op\":\"drop_table\",\"table\":\"a\\u0001b\"}", PLAN_ERR, "table: invalid identifier"},
	{"identifiers", "{\"op\":\"drop_table\",\"table\":\"a\\nb\"}", PLAN_ERR, "contains a control character"},
	{"identifiers", "{\"op\":\"drop_table\",\"table\":\"a\\u007fb\"}", PLAN_ERR, "contains a control character"},
	{"identifiers", "{\"op\":\"drop_table\",\"table\":\"a\\u0000b\"}", PLAN_ERR, "contains a NUL character"},
	{"identifiers", "{\"op\":\"rename_table\",\"from\":\"a\",\"to\":\"\\u0000\"}", PLAN_ERR,
	 "to: invalid identifier: it contains a NUL character"},
	{"identifiers", "{\"op\":\"create_table\",\"table\":\"t\",\"columns\":[{\"name\":\"\",\"type\":\"text\"}]}",
	 PLAN_ERR, "columns[0].name: invalid identifier"},
	{"identifiers", "{\"op\":\"rename_column\",\"table\":\"t\",\"from\":\"a\\tb\",\"to\":\"c\"}", PLAN_ERR,
	 "from: invalid identifier"},
	{"identifiers", "{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"a\\u0002\":{\"value\":1}}}", PLAN_ERR,
	 "invalid column name"},
	{"identifiers", "{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"value\":1}},\"where\":{\"\":1}}", PLAN_ERR,
	 "invalid column name"},
	{"identifiers", "{\"op\":\"create_enum\",\"name\":\"e\",\"values\":[\"ok\",\"\"]}", PLAN_ERR,
	 "values[1]: invalid enum value"},
	{"identifiers", "{\"op\":\"assert\",\"unique\":{\"table\":\"t\",\"columns\":[\"a\",\"\"]}}", PLAN_ERR,
	 "unique.columns[1]: invalid identifier"},

	/* column types */
	{"column_types", "{\"op\":\"create_table\",\"table\":\"t\",\"columns\":[{\"name\":\"id\",\"type\":\"uuuid\"}]}",
	 PLAN_ERR, "columns[0].type: unknown type \"uuuid\""},
	{"column_types", "{\"op\":\"add_column\",\"table\":\"t\",\"column\":{\"name\":\"c\",\"type\":\"TEXT\"}}", PLAN_ERR,
	 "column.type: unknown type \"TEXT\""},
	{"column_types", "{\"op\":\"add_column\",\"table\":\"t\",\"column\":{\"name\":\"c\",\"type\":\"enum:\"}}", PLAN_ERR,
	 "column.type: invalid enum name"},
	{"column_types", "{\"op\":\"add_column\",\"table\":\"t\",\"column\":{\"name\":\"c\",\"type\":5}}", PLAN_ERR,
	 "column.type: must be a type name"},
	{"column_types", "{\"op\":\"add_column\",\"table\":\"t\",\"column\":{\"name\":\"c\",\"type\":{\"sql\":\"\"}}}",
	 PLAN_ERR, "column.type.sql: must not be empty"},
	{"column_types", "{\"op\":\"add_column\",\"table\":\"t\",\"column\":{\"name\":\"c\",\"type\":{\"sq\":\"int\"}}}",
	 PLAN_ERR, "column.type.sq: unknown field"},

	/* defaults */
	{"defaults", "{\"op\":\"add_column\",\"table\":\"t\",\"column\":{\"name\":\"c\",\"type\":\"text\",\"default\":\"yesterday\"}}",
	 PLAN_ERR, "column.default: must be"},
	{"defaults", "{\"op\":\"add_column\",\"table\":\"t\",\"column\":{\"name\":\"c\",\"type\":\"integer\",\"default\":42}}",
	 PLAN_ERR, "column.default: must be"},
	{"defaults", "{\"op\":\"add_column\",\"table\":\"t\",\"column\":{\"name\":\"c\",\"type\":\"integer\","
		     "\"default\":{\"value\":1,\"sql\":\"2\"}}}",
	 PLAN_ERR, "column.default: must be"},
	{"defaults", "{\"op\":\"add_column\",\"table\":\"t\",\"column\":{\"name\":\"c\",\"type\":\"integer\","
		     "\"default\":{\"valeu\":1}}}",
	 PLAN_ERR, "column.default: must be"},
	{"defaults", "{\"op\":\"add_column\",\"table\":\"t\",\"column\":{\"name\":\"c\",\"type\":\"integer\","
		     "\"default\":{\"sql\":\"\"}}}",
	 PLAN_ERR, "column.default.sql: must not be empty"},
	{"defaults", "{\"op\":\"add_column\",\"table\":\"t\",\"column\":{\"name\":\"c\",\"type\":\"integer\","
		     "\"default\":{\"sql\":7}}}",
	 PLAN_ERR, "column.default.sql: must be a string"},
	{"defaults", "{\"op\":\"add_column\",\"table\":\"t\",\"column\":{\"name\":\"u\",\"type\":\"integer\","
		     "\"references\":{\"table\":\"users\",\"column\":\"id\",\"on_delete\":\"explode\"}}}",
	 PLAN_ERR, "column.references.on_delete: unknown action \"explode\""},

	/* filters */
	{"filters", "{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"value\":1}},\"where\":{\"s\":{\"$like\":\"a%\"}}}",
	 PLAN_ERR, "where.s.$like: unknown operator"},
	{"filters", "{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"value\":1}},\"where\":{\"$xor\":[]}}", PLAN_ERR,
	 "where.$xor: unknown operator"},
	{"filters", "{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"value\":1}},\"where\":{\"s\":{\"$in\":\"a\"}}}",
	 PLAN_ERR, "where.s.$in: must be an array"},
	{"filters", "{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"value\":1}},\"where\":{\"s\":{\"$nin\":{\"a\":1}}}}",
	 PLAN_ERR, "where.s.$nin: must be an array"},
	{"filters", "{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"value\":1}},\"where\":{\"s\":{\"$in\":[{\"a\":1}]}}}",
	 PLAN_ERR, "where.s.$in: must hold scalar values"},
	{"filters", "{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"value\":1}},\"where\":{\"$and\":[]}}", PLAN_ERR,
	 "where.$and: must not be empty"},
	{"filters", "{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"value\":1}},\"where\":{\"$or\":{\"a\":1}}}",
	 PLAN_ERR, "where.$or: must be an array of filters"},
	{"filters", "{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"value\":1}},\"where\":{\"s\":{\"$exists\":\"yes\"}}}",
	 PLAN_ERR, "where.s.$exists: must be true or false"},
	{"filters", "{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"value\":1}},\"where\":{\"s\":{}}}", PLAN_ERR,
	 "where.s: has no operator"},
	{"filters", "{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"value\":1}},\"where\":{\"s\":{\"$gt\":[1]}}}",
	 PLAN_ERR, "where.s.$gt: must be a scalar value"},
	{"filters", "{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"value\":1}},"
		    "\"where\":{\"$and\":[{\"a\":1},{\"b\":{\"$bad\":1}}]}}",
	 PLAN_ERR, "where.$and[1].b.$bad: unknown operator"},
	{"filters", "{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"value\":1}},\"where\":{\"$or\":[5]}}", PLAN_ERR,
	 "where.$or[0]: must be an object"},
	{"filters", "{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"value\":1}},\"where\":[{\"a\":1}]}", PLAN_ERR,
	 "where: must be an object"},
	{"filters", "{\"op\":\"map_values\",\"table\":\"t\",\"column\":\"c\",\"map\":{\"a\":\"b\"},\"where\":{\"c\":{\"$regexp\":1}}}",
	 PLAN_ERR, "where.c.$regexp: unknown operator"},
	{"filters", "{\"op\":\"create_index\",\"table\":\"t\",\"name\":\"i\",\"keys\":[{\"column\":\"a\"}],"
		    "\"where\":{\"a\":{\"$in\":1}}}",
	 PLAN_ERR, "where.a.$in: must be an array"},
	{"filters", "{\"op\":\"assert\",\"count\":{\"table\":\"t\",\"where\":{\"a\":{\"$foo\":1}}},\"expect\":0}", PLAN_ERR,
	 "count.where.a.$foo: unknown operator"},
	{"filters", "{\"op\":\"assert\",\"no_match\":{\"table\":\"t\",\"where\":{\"a\":{\"$in\":\"x\"}}}}", PLAN_ERR,
	 "no_match.where.a.$in: must be an array"},

	/* backfill expressions */
	{"expressions", "{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"valu\":1}}}", PLAN_ERR,
	 "set.c.valu: unknown expression \"valu\""},
	{"expressions", "{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"value\":1,\"column\":\"d\"}}}", PLAN_ERR,
	 "set.c: must be an object with exactly one of"},
	{"expressions", "{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{}}}", PLAN_ERR,
	 "set.c: must be an object with exactly one of"},
	{"expressions", "{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"column\":5}}}", PLAN_ERR,
	 "set.c.column: must be a string"},
	{"expressions", "{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"column\":\"\"}}}", PLAN_ERR,
	 "set.c.column: invalid identifier"},
	{"expressions", "{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"array_length\":3}}}", PLAN_ERR,
	 "set.c.array_length: must be a string"},
	{"expressions", "{\"op\":\"backfill\",\"table\":\"t\",\"set\":{}}", PLAN_ERR, "set: must not be empty"},
	{"expressions", "{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":5}}", PLAN_ERR,
	 "set.c: must be an expression object"},
	{"expressions", "{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"sql\":\"\"}}}", PLAN_ERR,
	 "set.c.sql: must not be empty"},
	{"expressions", "{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"count\":{\"table\":\"u\"}}}}", PLAN_ERR,
	 "set.c.count.match: is required"},
	{"expressions", "{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"count\":{\"match\":{\"a\":\"b\"}}}}}",
	 PLAN_ERR, "set.c.count.table: is required"},
	{"expressions", "{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"count\":{\"table\":\"u\",\"match\":{}}}}}",
	 PLAN_ERR, "set.c.count.match: must not be empty"},
	{"expressions", "{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"count\":{\"table\":\"u\",\"match\":{\"a\":1}}}}}",
	 PLAN_ERR, "set.c.count.match.a: must be a string"},
	{"expressions", "{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"count\":5}}}", PLAN_ERR,
	 "set.c.count: must be an object"},

	/* create_table, create_index, create_enum shapes */
	{"shapes", "{\"op\":\"create_table\",\"table\":\"t\",\"columns\":[{\"name\":\"id\",\"type\":\"integer\"}],"
		   "\"primary_key\":[\"idd\"]}",
	 PLAN_ERR, "primary_key[0]: is not a column of the table: \"idd\""},
	{"shapes", "{\"op\":\"create_table\",\"table\":\"t\",\"columns\":[{\"name\":\"id\",\"type\":\"integer\"}],"
		   "\"primary_key\":[]}",
	 PLAN_ERR, "primary_key: must not be empty"},
	{"shapes", "{\"op\":\"create_table\",\"table\":\"t\",\"columns\":[{\"name\":\"id\",\"type\":\"integer\"}],"
		   "\"primary_key\":\"id\"}",
	 PLAN_ERR, "primary_key: must be an array"},
	{"shapes", "{\"op\":\"create_table\",\"table\":\"t\",\"columns\":[{\"name\":\"id\",\"type\":\"integer\"},"
		   "{\"name\":\"x\",\"type\":\"text\"},{\"name\":\"id\",\"type\":\"text\"}]}",
	 PLAN_ERR, "columns[2]: duplicate column \"id\""},
	{"shapes", "{\"op\":\"create_table\",\"table\":\"t\",\"columns\":[]}", PLAN_ERR, "columns: must not be empty"},
	{"shapes", "{\"op\":\"create_enum\",\"name\":\"e\",\"values\":[\"a\",\"b\",\"a\"]}", PLAN_ERR,
	 "values[2]: duplicate value \"a\""},
	{"shapes", "{\"op\":\"create_enum\",\"name\":\"e\",\"values\":[]}", PLAN_ERR, "values: must not be empty"},
	{"shapes", "{\"op\":\"create_enum\",\"name\":\"e\",\"values\":[\"a\",1]}", PLAN_ERR, "values[1]: must be a string"},
	{"shapes", "{\"op\":\"create_index\",\"table\":\"t\",\"name\":\"i\",\"keys\":[]}", PLAN_ERR, "keys: must not be empty"},
	{"shapes", "{\"op\":\"create_index\",\"table\":\"t\",\"name\":\"i\",\"keys\":[{\"column\":\"a\",\"order\":\"up\"}]}",
	 PLAN_ERR, "keys[0].order: must be \"asc\" or \"desc\""},
	{"shapes", "{\"op\":\"create_index\",\"table\":\"t\",\"name\":\"i\",\"keys\":[\"a\"]}", PLAN_ERR,
	 "keys[0]: must be an object"},

	/* asserts */
	{"asserts", "{\"op\":\"assert\",\"count\":{\"table\":\"t\"},\"no_match\":{\"table\":\"t\"},\"expect\":0}",
	 PLAN_ERR, "assert: needs exactly one of"},
	{"asserts", "{\"op\":\"assert\"}", PLAN_ERR, "assert: needs exactly one of"},
	{"asserts", "{\"op\":\"assert\",\"count\":{\"table\":\"t\"},\"expect\":\"3\"}", PLAN_ERR,
	 "expect: must be an integer"},
	{"asserts", "{\"op\":\"assert\",\"count\":{\"table\":\"t\"},\"expect\":{\"$between\":3}}", PLAN_ERR,
	 "expect: must be an integer"},
	{"asserts", "{\"op\":\"assert\",\"no_match\":{\"table\":\"t\"},\"expect\":0}", PLAN_ERR,
	 "expect: is not used by no_match"},
	{"asserts", "{\"op\":\"assert\",\"exists\":{\"table\":\"t\",\"column\":\"c\",\"index\":\"i\"}}", PLAN_ERR,
	 "exists: takes column or index, not both"},
	{"asserts", "{\"op\":\"assert\",\"unique\":{\"table\":\"t\",\"columns\":[]}}", PLAN_ERR,
	 "unique.columns: must not be empty"},
	{"asserts", "{\"op\":\"assert\",\"sql\":\"SELECT 1\"}", PLAN_ERR, "expect: is required"},
	{"asserts", "{\"op\":\"assert\",\"count\":{\"table\":\"t\"},\"expect\":0,\"message\":\"\"}", PLAN_ERR,
	 "message: must not be empty"},

	/* explicit downs */
	{"downs", "{\"op\":\"drop_table\",\"table\":\"t\",\"down\":[{\"op\":\"bogus\"}]}", PLAN_ERR,
	 "down[0].op: unknown op \"bogus\""},
	{"downs", "{\"op\":\"drop_table\",\"table\":\"t\",\"down\":[5]}", PLAN_ERR, "down[0]: must be a step object"},
	{"downs", "{\"op\":\"drop_table\",\"table\":\"t\",\"down\":[{\"op\":\"custom\",\"name\":\"x\",\"revision\":\"1\"}]}",
	 PLAN_ERR, "down[0]: a custom step cannot be a down step"},
	{"downs", "{\"op\":\"drop_table\",\"table\":\"t\",\"down\":[{\"op\":\"drop_table\",\"table\":\"u\",\"down\":[]}]}",
	 PLAN_ERR, "down[0]: a down step cannot have a down of its own"},
	{"downs", "{\"op\":\"drop_table\",\"table\":\"t\",\"down\":[{\"op\":\"create_table\",\"table\":\"t\","
		  "\"columns\":[{\"name\":\"id\",\"type\":\"uuuid\"}]}]}",
	 PLAN_ERR, "down[0].columns[0].type: unknown type \"uuuid\""},

	/* malformed JSON (builders only: there is no document to smuggle in) */
	{"json", "{\"op\":", MIGRATE_EJSON, "malformed JSON"},
	{"json", "{op: \"drop_table\"}", MIGRATE_EJSON, "malformed JSON"},
	{"json", "", MIGRATE_EJSON, "malformed JSON"},
	{"json", "   ", MIGRATE_EJSON, "malformed JSON"},
	{"json", "{\"op\":\"drop_table\",\"table\":\"a\",\"table\":\"b\"}", MIGRATE_EJSON, "duplicate key \"table\""},
	{"json", "{\"op\":\"create_table\",\"table\":\"t\",\"columns\":[{\"name\":\"a\",\"type\":\"text\",\"name\":\"b\"}]}",
	 MIGRATE_EJSON, "duplicate key \"name\""},
	{"json", "{\"op\":\"drop_table\",\"table\":\"t\"} junk", MIGRATE_EJSON, "malformed JSON"},
	{"json", "{\"op\":\"drop_table\",\"table\":\"t\"}}{", MIGRATE_EJSON, "malformed JSON"},
	{"json", "{\"op\":\"drop_table\",\"table\":\"t\"}} {\"op\":\"drop_table\",\"table\":\"u\"", MIGRATE_EJSON,
	 "malformed JSON"},
	{"json", "{\"op\":\"drop_table\",\"table\":\"t\"}, \"w\": 2", MIGRATE_EJSON, "malformed JSON"},
	{"json", "1, \"w\": 2", MIGRATE_EJSON, "malformed JSON"},
	{"json", "[{\"op\":\"drop_table\",\"table\":\"t\"}]", MIGRATE_EJSON, "expected an object"},
	{"json", "\"drop_table\"", MIGRATE_EJSON, "expected an object"},
	{"json", "null", MIGRATE_EJSON, "expected an object"},
	{"json", "{\"op\":\"drop_table\",\"table\":\"t\",}", MIGRATE_EJSON, "malformed JSON"},
	{"json", "{\"op\":'drop_table'}", MIGRATE_EJSON, "malformed JSON"},
	{"json", "{\"op\":\"drop_table\",\"table\":\"\xff\"}", MIGRATE_EJSON, "malformed JSON"},
	{"json", "{\"op\":\"drop_table\",\"table\":\"\\ud800\"}", MIGRATE_EJSON, "malformed JSON"},
	{"json", "{\"op\":\"drop_table\",\"t\\u0000able\":\"t\"}", MIGRATE_EJSON, "malformed JSON"},
	{"json", "{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"value\":99999999999999999999}}}", MIGRATE_EJSON,
	 "set.c.value: 99999999999999999999 is out of range"},
	{"json", "{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"value\":-9223372036854775809}}}", MIGRATE_EJSON,
	 "set.c.value: -9223372036854775809 is out of range"},
	{"json", "{\"op\":\"backfill\",\"table\":\"t\",\"set\":{\"c\":{\"value\":1e999}}}", MIGRATE_EJSON, "malformed JSON"},
	{NULL, NULL, 0, NULL},
};

#endif
