/*
 * The single-pass JSON read (lib/json_read.c) against the checked path
 * (strict syntax, range check, libbson's reader, repeated keys): wherever
 * the read takes a text, the checked path takes it too and builds the
 * same BSON byte for byte (so the same types: int32, int64, double, and
 * the same UTF-8); wherever the checked path refuses a text, the read
 * declines it, so that the error comes from the checked path with its
 * place. INTERNAL: both are hidden functions.
 */
#include "harness.h"

#include "internal.h"

/* What the read made of `json`: 1 taken (identical to the checked path), 0 declined. */
static int compare(const char *json, bool array)
{
	bson_t fast, ref;
	migrate_error_t err;
	int read_rc, ref_rc;

	memset(&err, 0, sizeof err);
	read_rc = migrate__json_read(json, array, &fast);
	ref_rc = migrate__json_parse_checked(json, array, &ref, &err);
	if (read_rc == 0) {
		if (ref_rc != 0)
			harness_fail(__FILE__, __LINE__, "the read took what the checked path refuses (%s): %.200s",
				     err.message, json);
		if (fast.len != ref.len || memcmp(bson_get_data(&fast), bson_get_data(&ref), fast.len) != 0) {
			char *a = bson_as_canonical_extended_json(&fast, NULL);
			char *b = bson_as_canonical_extended_json(&ref, NULL);
			harness_fail(__FILE__, __LINE__, "different BSON for %.200s\n  read:    %s\n  checked: %s",
				     json, a ? a : "?", b ? b : "?");
		}
		bson_destroy(&fast);
	}
	bson_destroy(&ref);
	return read_rc == 0;
}

/* Text the read must take (and build as the checked path does). */
static void taken(const char *json)
{
	if (!compare(json, false))
		harness_fail(__FILE__, __LINE__, "the read declined %.200s", json);
}

/* Text the read must leave to the checked path. */
static void declined(const char *json)
{
	if (compare(json, false))
		harness_fail(__FILE__, __LINE__, "the read took %.200s", json);
}

TEST(numbers_typed_as_libbson_types_them)
{
	static const char *const values[] = {"0",
					     "-0",
					     "1",
					     "-1",
					     "2147483647",
					     "2147483648",
					     "-2147483648",
					     "-2147483649",
					     "4294967296",
					     "9223372036854775807",
					     "-9223372036854775808",
					     "1000000000000000000",
					     "-999999999999999999",
					     "1.0",
					     "-0.0",
					     "0.5",
					     "1e2",
					     "1E2",
					     "1e+2",
					     "1e-2",
					     "-1.5E-3",
					     "0.1",
					     "3.141592653589793",
					     "1.7976931348623157e308",
					     "2.2250738585072014e-308",
					     "4.9e-324",
					     "1e-400",
					     "12345678901234567890.5",
					     "123456789012345678901234567890e-10",
					     "0e0",
					     "0e999999",
					     "1e-99999",
					     "-0e5",
					     "1.5e-320",
					     "-0e-0",
					     "1.00000000000000011102230246251565404"};
	char json[256];
	size_t i;

	for (i = 0; i < sizeof values / sizeof values[0]; i++) {
		snprintf(json, sizeof json, "{\"v\":%s,\"a\":[%s]}", values[i], values[i]);
		taken(json);
	}
	/* Beyond int64 or beyond a double: the checked path says where. */
	declined("{\"v\":9223372036854775808}");
	declined("{\"v\":-9223372036854775809}");
	declined("{\"v\":99999999999999999999}");
	declined("{\"v\":1e309}");
	declined("{\"v\":-1e400}");
	declined("{\"v\":01}");
	declined("{\"v\":1.}");
	declined("{\"v\":.5}");
	declined("{\"v\":+1}");
	declined("{\"v\":1e}");
	declined("{\"v\":-}");
}

TEST(strings_escapes_and_utf8)
{
	taken("{\"s\":\"plain\",\"e\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"}");
	taken("{\"s\":\"\\u00e9\\u20AC\\u0041\\uffff\\ufffe\"}");
	taken("{\"s\":\"\\ud83d\\ude00 and \\uD834\\uDD1E\"}");
	taken("{\"s\":\"\\u0000 inside a value\"}");
	taken("{\"s\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \x7f\"}");
	taken("{\"\\u00e9t\\u00e9\":1,\"\":2,\"a.b\":3,\"x$\":4}");
	/* A lone surrogate, half a pair, raw control characters, broken UTF-8. */
	declined("{\"s\":\"\\ud83d\"}");
	declined("{\"s\":\"\\ude00\"}");
	declined("{\"s\":\"\\ud83d\\u0041\"}");
	declined("{\"s\":\"\\ud83dx\"}");
	declined("{\"s\":\"a\tb\"}");
	declined("{\"s\":\"\xc3\"}");
	declined("{\"s\":\"\xc0\xaf\"}");
	declined("{\"s\":\"\xed\xa0\x80\"}");
	declined("{\"s\":\"\xf4\x90\x80\x80\"}");
	declined("{\"s\":\"\xff\"}");
	declined("{\"s\":\"\\x\"}");
	declined("{\"s\":\"\\u12\"}");
	declined("{\"s\":\"never closed}");
	/* A NUL in a key; keys libbson may read as extended JSON. */
	declined("{\"a\\u0000b\":1}");
	declined("{\"$oid\":\"5f0000000000000000000000\"}");
	declined("{\"d\":{\"$date\":1}}");
	declined("{\"n\":{\"$numberLong\":\"5\"}}");
	declined("{\"\\u0024oid\":\"5f0000000000000000000000\"}");
	declined("{\"n\":{\"\\u0024numberLong\":\"5\"}}");
	/* Every key libbson 1.x reads as extended JSON is left to it, first or not, at any depth. */
	{
		static const char *const ext[] = {"$oid",
						  "$binary",
						  "$type",
						  "$subType",
						  "$base64",
						  "$date",
						  "$regex",
						  "$options",
						  "$regularExpression",
						  "$pattern",
						  "$code",
						  "$scope",
						  "$timestamp",
						  "$t",
						  "$i",
						  "$minKey",
						  "$maxKey",
						  "$undefined",
						  "$numberLong",
						  "$numberInt",
						  "$numberDouble",
						  "$numberDecimal",
						  "$symbol",
						  "$dbPointer",
						  "$uuid",
						  "$ref",
						  "$id",
						  "$db",
						  NULL};
		char json[200];
		for (size_t i = 0; ext[i]; i++) {
			snprintf(json, sizeof json, "{\"x\":{\"a\":1,\"%s\":1}}", ext[i]);
			declined(json);
		}
	}
	/* Other "$" keys are plain keys to libbson: taken, byte for byte the same. */
	taken("{\"$schema\":\"../../docs/plan.schema.json\",\"w\":{\"a\":{\"$in\":[1,2]},\"b\":{\"$exists\":true},"
	      "\"c\":{\"$gt\":1.5},\"$or\":[{\"d\":{\"$ne\":null}}]}}");
	taken("{\"\\u0024schema\":1,\"$\":2,\"$oidx\":3,\"$Date\":4}");
}

TEST(structure_duplicates_and_depth)
{
	char json[20000];
	size_t len;
	int i, d;

	taken("{}");
	taken("  {\"a\" : [ ] , \"b\" :{ } ,\"c\":[true,false,null,[],{}]}\r\n\t");
	taken("{\"a\":{\"a\":{\"a\":1}},\"b\":[{\"a\":1},{\"a\":1}]}");
	CHECK(compare("[1,\"two\",{\"three\":3},[4]]", true));
	CHECK(!compare("{\"a\":1}", true));
	CHECK(!compare("[1]", false));
	declined("");
	declined("   ");
	declined("{\"a\":1,}");
	declined("{\"a\":[1,]}");
	declined("{\"a\":1}{}");
	declined("{\"a\":1} x");
	declined("{\"a\" 1}");
	declined("{'a':1}");
	declined("{\"a\":tru}");
	declined("{\"a\":truex}");
	declined("{\"a\":nul}");
	declined("{\"a\":1");
	declined("{\"a\":[1}");
	/* Repeated keys: in small objects, large ones (sorted), and nested. */
	declined("{\"a\":1,\"a\":2}");
	declined("{\"x\":{\"b\":1,\"c\":2,\"b\":3}}");
	declined("{\"x\":[{\"k\":1},{\"k\":1,\"k\":2}]}");
	for (d = 0; d < 2; d++) {
		len = (size_t)snprintf(json, sizeof json, "{\"set\":{");
		for (i = 0; i < 300; i++)
			len += (size_t)snprintf(json + len, sizeof json - len, "%s\"k%d\":%d", i ? "," : "",
						d && i == 299 ? 7 : i, i);
		snprintf(json + len, sizeof json - len, "}}");
		if (d)
			declined(json);
		else
			taken(json);
	}
	/* Nesting: the read takes moderate depth; deeper is the checked path's to judge. */
	for (d = 1; d <= 150; d++) {
		len = (size_t)snprintf(json, sizeof json, "{\"v\":");
		for (i = 0; i < d; i++)
			json[len++] = '[';
		for (i = 0; i < d; i++)
			json[len++] = ']';
		snprintf(json + len, sizeof json - len, "}");
		if (d < 80)
			taken(json);
		else
			(void)compare(json, false);
	}
}

/* ---- generated documents ---- */

static uint64_t rng = 0x9e3779b97f4a7c15u;

static unsigned next_rand(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static void gen_string(migrate_buf_t *b)
{
	static const char *const pieces[] = {"a",
					     "Z",
					     "0",
					     " ",
					     "\\n",
					     "\\\"",
					     "\\\\",
					     "\\/",
					     "\\u00e9",
					     "\\u20ac",
					     "\\ud83d\\ude00",
					     "\xc3\xa9",
					     "\xe2\x82\xac",
					     "\xf0\x9f\x98\x80",
					     "\\t",
					     "\\u0041",
					     "\\u0000",
					     ".",
					     "$",
					     "\x7f"};
	unsigned n = next_rand(6), k;

	migrate_buf_append_c(b, '"');
	for (k = 0; k < n; k++)
		migrate_buf_append(b, pieces[next_rand(sizeof pieces / sizeof pieces[0])]);
	migrate_buf_append_c(b, '"');
}

static void gen_number(migrate_buf_t *b)
{
	static const char *const fixed[] = {"2147483647",
					    "2147483648",
					    "-2147483648",
					    "-2147483649",
					    "9223372036854775807",
					    "-9223372036854775808",
					    "-0",
					    "0.0",
					    "1e10",
					    "6.02214076e23",
					    "-1.25E-7",
					    "5e-324"};

	switch (next_rand(4)) {
	case 0: migrate_buf_printf(b, "%d", (int)next_rand(2000) - 1000); break;
	case 1:
		migrate_buf_printf(b, "%lld", (long long)((rng >> (next_rand(60))) * (next_rand(2) ? 1 : -1)) / 2);
		break;
	case 2: migrate_buf_printf(b, "%u.%u", next_rand(100000), next_rand(1000000)); break;
	default: migrate_buf_append(b, fixed[next_rand(sizeof fixed / sizeof fixed[0])]);
	}
}

static void gen_value(migrate_buf_t *b, int depth)
{
	unsigned kind = next_rand(depth > 6 ? 5 : 8), n, k;

	switch (kind) {
	case 0: gen_string(b); break;
	case 1: gen_number(b); break;
	case 2: migrate_buf_append(b, next_rand(2) ? "true" : "false"); break;
	case 3: migrate_buf_append(b, "null"); break;
	case 4: gen_number(b); break;
	case 5:
	case 6:
		migrate_buf_append_c(b, '{');
		n = next_rand(6);
		for (k = 0; k < n; k++) {
			if (k)
				migrate_buf_append(b, next_rand(4) ? "," : " , ");
			/* keys mostly distinct; now and then a repeat */
			migrate_buf_printf(b, "\"k%u\":", next_rand(20) ? k : 0);
			gen_value(b, depth + 1);
		}
		migrate_buf_append_c(b, '}');
		break;
	default:
		migrate_buf_append_c(b, '[');
		n = next_rand(5);
		for (k = 0; k < n; k++) {
			if (k)
				migrate_buf_append_c(b, ',');
			gen_value(b, depth + 1);
		}
		migrate_buf_append_c(b, ']');
	}
}

TEST(generated_documents_and_their_mutations)
{
	int round, taken_count = 0;

	for (round = 0; round < 3000; round++) {
		migrate_buf_t *b = migrate__buf_new("{\"doc\":");
		char *text;
		size_t len, at;
		gen_value(b, 0);
		migrate_buf_append(b, ",\"n\":1}");
		taken_count += compare(b->str, false);
		/* One byte changed, dropped or cut: whatever the checked path refuses, the read declines. */
		text = migrate__buf_free(b, false);
		len = strlen(text);
		at = next_rand((unsigned)len);
		switch (next_rand(3)) {
		case 0: text[at] = "{}[],:\"\\0-e.u \xc3"[next_rand(16)]; break;
		case 1: memmove(text + at, text + at + 1, len - at); break;
		default: text[at] = '\0';
		}
		(void)compare(text, false);
		free(text);
	}
	/* Most generated documents are valid and distinct-keyed: the read must take them. */
	CHECK(taken_count > 2000);
}

/* Every plan file the project ships is read in one pass (none is left to the checked path). */
TEST(shipped_plan_files_taken)
{
	static const char *const files[] = {"000_sessions_to_jobs.sqlite.json",
					    "000_sessions_to_jobs.mongo.json",
					    "001_processing_jobs.postgres.json",
					    "002_collections.postgres.json",
					    "003_jobs_table.postgres.json",
					    "004_chat_collections.mongo.json",
					    NULL};

	for (size_t i = 0; files[i]; i++) {
		char path[1024], *text;
		FILE *f;
		long n;
		snprintf(path, sizeof path, "%s/examples/plans/%s", MIGRATE_SOURCE_DIR, files[i]);
		CHECK((f = fopen(path, "rb")) != NULL);
		CHECK(fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0);
		CHECK((text = malloc((size_t)n + 1)) != NULL);
		CHECK(fread(text, 1, (size_t)n, f) == (size_t)n);
		text[n] = '\0';
		fclose(f);
		if (!compare(text, false))
			harness_fail(__FILE__, __LINE__, "the read declined %s", files[i]);
		free(text);
	}
}

TEST(plan_file_read_once_loads_as_before)
{
	migrate_plan_t *plan = NULL;
	migrate_error_t err;
	char sum[65];

	memset(&err, 0, sizeof err);
	CHECK_OK(migrate_plan_load_json(&plan,
					"{\"plan\":\"app\",\"versions\":[{\"id\":1,\"name\":\"one\",\"steps\":[{\"op\":"
					"\"create_table\",\"table\":\"t\",\"columns\":[{\"name\":\"id\",\"type\":"
					"\"bigint\"}],\"primary_key\":[\"id\"]}]}]}",
					&err),
		 &err);
	CHECK_INT(migrate_plan_version_count(plan), 1);
	CHECK_OK(migrate_version_checksum(migrate_plan_version_at(plan, 0), sum, sizeof sum, &err), &err);
	CHECK_INT(strlen(sum), 64);
	migrate_plan_destroy(plan);
	/* A repeated key still fails with its name (the checked path's message). */
	CHECK_INT(migrate_plan_load_json(&plan, "{\"plan\":\"app\",\"plan\":\"b\",\"versions\":[]}", &err),
		  MIGRATE_EJSON);
	CHECK_HAS(err.message, "duplicate key \"plan\"");
}

/*
 * A string whose length field is near 2^32 must not wrap the walk round
 * into its own bytes, where a fake element "n" sits: the lookup finds
 * nothing there, as libbson does.
 */
TEST(field_lookup_of_a_wrapping_length)
{
	uint8_t d[32];
	size_t o = 4;
	uint32_t len;
	bson_t b;
	bson_iter_t it;

	d[o++] = 0x02; /* "s": a string of length 0xFFFFFFFD */
	d[o++] = 's';
	d[o++] = 0;
	d[o++] = 0xFD;
	d[o++] = 0xFF;
	d[o++] = 0xFF;
	d[o++] = 0xFF;
	d[o++] = 0x00;
	d[o++] = 0x10; /* the string's bytes: "n": int32 5 */
	d[o++] = 'n';
	d[o++] = 0;
	d[o++] = 5;
	d[o++] = 0;
	d[o++] = 0;
	d[o++] = 0;
	d[o++] = 0;
	len = (uint32_t)o;
	memcpy(d, &len, 4);
	CHECK(bson_init_static(&b, d, len));
	CHECK(!bson_iter_init_find(&it, &b, "n"));
	CHECK(!migrate__doc_find(&it, &b, "n"));
	CHECK_INT(migrate__doc_int(&b, "n", -1), -1);
}

/* migrate__doc_find() finds what bson_iter_init_find() finds, in documents of every element kind. */
TEST(field_lookup_matches_libbson)
{
	static const char *const keys[] = {"d",  "s",   "o",   "a",    "bin",    "u",   "oid", "b",
					   "dt", "n",   "re",  "code", "sym",    "cws", "i",   "ts",
					   "l",  "dec", "min", "max",  "absent", "",    "s2"};
	bson_t doc = BSON_INITIALIZER, sub = BSON_INITIALIZER, scope = BSON_INITIALIZER;
	bson_oid_t oid;
	bson_decimal128_t dec = {0, 0};
	uint8_t bytes[3] = {1, 2, 3};
	size_t i;

	BSON_APPEND_INT32(&sub, "x", 1);
	BSON_APPEND_INT32(&scope, "y", 2);
	bson_oid_init_from_string(&oid, "5f0000000000000000000000");
	BSON_APPEND_DOUBLE(&doc, "d", 1.5);
	BSON_APPEND_UTF8(&doc, "s", "text");
	BSON_APPEND_DOCUMENT(&doc, "o", &sub);
	BSON_APPEND_ARRAY(&doc, "a", &sub);
	BSON_APPEND_BINARY(&doc, "bin", BSON_SUBTYPE_BINARY, bytes, sizeof bytes);
	BSON_APPEND_UNDEFINED(&doc, "u");
	BSON_APPEND_OID(&doc, "oid", &oid);
	BSON_APPEND_BOOL(&doc, "b", true);
	BSON_APPEND_DATE_TIME(&doc, "dt", 1000);
	BSON_APPEND_NULL(&doc, "n");
	BSON_APPEND_REGEX(&doc, "re", "^a", "i");
	BSON_APPEND_CODE(&doc, "code", "f()");
	BSON_APPEND_SYMBOL(&doc, "sym", "s");
	BSON_APPEND_CODE_WITH_SCOPE(&doc, "cws", "g()", &scope);
	BSON_APPEND_INT32(&doc, "i", 7);
	BSON_APPEND_TIMESTAMP(&doc, "ts", 1, 2);
	BSON_APPEND_INT64(&doc, "l", 8);
	BSON_APPEND_DECIMAL128(&doc, "dec", &dec);
	BSON_APPEND_MINKEY(&doc, "min");
	BSON_APPEND_MAXKEY(&doc, "max");
	BSON_APPEND_INT32(&doc, "", 9);
	BSON_APPEND_UTF8(&doc, "s2", "last");
	for (i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		bson_iter_t mine, theirs;
		bool a = migrate__doc_find(&mine, &doc, keys[i]), b = bson_iter_init_find(&theirs, &doc, keys[i]);
		if (a != b || (a && (bson_iter_offset(&mine) != bson_iter_offset(&theirs) ||
				     bson_iter_type(&mine) != bson_iter_type(&theirs))))
			harness_fail(__FILE__, __LINE__, "key \"%s\": found %d at %u, libbson %d at %u", keys[i], a,
				     a ? bson_iter_offset(&mine) : 0, b, b ? bson_iter_offset(&theirs) : 0);
	}
	CHECK(migrate__doc_find(&(bson_iter_t){0}, &doc, "s2"));
	bson_destroy(&doc);
	bson_destroy(&sub);
	bson_destroy(&scope);
}

/* An array's keys are its indexes in decimal: past 999 and 9,999 too, as libbson writes them. */
TEST(long_array_indexes)
{
	migrate_buf_t *b = migrate__buf_new("{\"a\":[");
	int i;

	for (i = 0; i < 12000; i++)
		migrate_buf_printf(b, "%s%d", i ? "," : "", i % 7);
	migrate_buf_append(b, "]}");
	taken(b->str);
	migrate__buf_free(b, true);
}
