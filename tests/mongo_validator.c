/*
 * A collection's $jsonSchema validator following a dropped or renamed
 * field (lib/mongo/validator.c), without a server: the validator the
 * driver reads from listCollections, rewritten for collMod.
 */
#include <bson/bson.h>

#include "harness.h"
#include "mongo/mongo_int.h"

/* The validator of `json` after `from` is dropped (to NULL) or renamed, as canonical JSON; "" when unchanged. */
static char *followed(const char *json, const char *from, const char *to)
{
	bson_error_t e;
	bson_t *v = bson_new_from_json((const uint8_t *)json, -1, &e), out;
	char *s;

	CHECK(v != NULL);
	if (!migrate__mongo_validator_follow(v, from, to, &out)) {
		bson_destroy(v);
		return bson_strdup("");
	}
	s = bson_as_relaxed_extended_json(&out, NULL);
	bson_destroy(&out);
	bson_destroy(v);
	return s;
}

/* What create_table's "validate" writes: the columns' types, the NOT NULL ones required. */
#define TABLE                                                                                                        \
	"{\"$jsonSchema\": {\"bsonType\": \"object\", \"properties\": {\"a\": {\"bsonType\": [\"int\", \"null\"]}, " \
	"\"b\": {\"bsonType\": [\"string\"]}, \"c\": {\"bsonType\": [\"bool\"]}}, \"required\": [\"b\", \"c\"]}}"

TEST(drop_takes_the_field_out_of_properties_and_required)
{
	char *s = followed(TABLE, "b", NULL);

	CHECK_STR(s, "{ \"$jsonSchema\" : { \"bsonType\" : \"object\", \"properties\" : { \"a\" : { \"bsonType\" : [ "
		     "\"int\", \"null\" ] }, \"c\" : { \"bsonType\" : [ \"bool\" ] } }, \"required\" : [ \"c\" ] } }");
	bson_free(s);
	/* a nullable field, only typed: the validator accepts its drop as it is */
	s = followed(TABLE, "a", NULL);
	CHECK_STR(s, "");
	bson_free(s);
	s = followed(TABLE, "a", "z");
	CHECK_STR(s, "");
	bson_free(s);
}

/* A validator that allows no other properties refuses a renamed field's new name: it follows. */
TEST(rename_under_no_additional_properties)
{
	char *s = followed("{\"$jsonSchema\": {\"additionalProperties\": false, \"properties\": {\"_id\": {}, "
			   "\"a\": {\"bsonType\": \"int\"}}}}",
			   "a", "b");

	CHECK_STR(s, "{ \"$jsonSchema\" : { \"additionalProperties\" : false, \"properties\" : { \"_id\" : {  }, "
		     "\"b\" : { \"bsonType\" : \"int\" } } } }");
	bson_free(s);
}

TEST(rename_moves_the_schema_and_the_requirement)
{
	char *s = followed(TABLE, "b", "title");

	CHECK_STR(s, "{ \"$jsonSchema\" : { \"bsonType\" : \"object\", \"properties\" : { \"a\" : { \"bsonType\" : [ "
		     "\"int\", \"null\" ] }, \"title\" : { \"bsonType\" : [ \"string\" ] }, \"c\" : { \"bsonType\" : [ "
		     "\"bool\" ] } }, \"required\" : [ \"title\", \"c\" ] } }");
	bson_free(s);
	/* onto a field the schema names already: the renamed one wins, no name twice */
	s = followed(TABLE, "b", "c");
	CHECK_STR(s,
		  "{ \"$jsonSchema\" : { \"bsonType\" : \"object\", \"properties\" : { \"a\" : { \"bsonType\" : [ "
		  "\"int\", \"null\" ] }, \"c\" : { \"bsonType\" : [ \"string\" ] } }, \"required\" : [ \"c\" ] } }");
	bson_free(s);
}

/* A rerun finds the validator rewritten: nothing to send (the step stays idempotent). */
TEST(a_field_it_does_not_name_changes_nothing)
{
	char *s = followed(TABLE, "zzz", NULL), *again;

	CHECK_STR(s, "");
	bson_free(s);
	s = followed(TABLE, "b", "title");
	again = followed(s, "b", "title");
	CHECK_STR(again, "");
	bson_free(again);
	bson_free(s);
	/* a validator of the application's own, without $jsonSchema */
	s = followed("{\"b\": {\"$exists\": true}}", "b", NULL);
	CHECK_STR(s, "");
	bson_free(s);
}

/* The rest of the validator (query operators beside $jsonSchema, other keywords) is kept as it was. */
TEST(the_rest_is_kept)
{
	char *s = followed("{\"$jsonSchema\": {\"required\": [\"x\", \"b\"], \"additionalProperties\": true}, "
			   "\"n\": {\"$gte\": 0}}",
			   "b", NULL);

	CHECK_STR(s, "{ \"$jsonSchema\" : { \"required\" : [ \"x\" ], \"additionalProperties\" : true }, \"n\" : { "
		     "\"$gte\" : 0 } }");
	bson_free(s);
}
