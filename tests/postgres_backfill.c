/*
 * A backfill's count on PostgreSQL, lowered per batch as a grouped join
 * when it matches the step's one-column integer key with an integer column
 * (lib/postgres/batch.c, grouped_head), and as a subquery per row
 * otherwise. Either way every row ends with the count that a subquery of
 * its own gives: checked here against that subquery, row by row, over
 * range batches (a dense key, sized by time), fixed batches, keys past the
 * 32-bit range, extra match columns and a count's own filter, a count of
 * the step's own table, and the cases the join must leave alone.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "postgres_util.h"

/* What `plan` renders on `t`; the caller frees it. */
static char *rendered(migrate_target_t *t, const migrate_plan_t *plan)
{
	migrate_error_t err;
	char *out = NULL;

	CHECK_OK(migrate_render(t, plan, 0, &out, &err), &err);
	return out;
}

/* A fresh database holding `sql`'s tables, a target on it and a plan of one version to fill. */
typedef struct fixture {
	PGconn *c;
	migrate_target_t *t;
	migrate_plan_t *plan;
	migrate_version_t *v;
} fixture;

static fixture fixture_new(const char *tag, const char *sql)
{
	const char *url = pgt_fresh_db(tag);
	fixture f = {pgt_connect(url), pgt_target(url), NULL, NULL};
	migrate_error_t err;

	pgt_exec(f.c, sql);
	CHECK_OK(migrate_plan_new(&f.plan, tag, &err), &err);
	f.v = pgt_version(f.plan, 1, "counts");
	return f;
}

static void fixture_up(fixture *f)
{
	migrate_error_t err;

	CHECK_OK(migrate_up(f->t, f->plan, 0, NULL, &err), &err);
}

static void fixture_free(fixture *f)
{
	migrate_plan_destroy(f->plan);
	migrate_target_close(f->t);
	PQfinish(f->c);
}

/* No row of `sql` (SELECT count(*) ... WHERE <a row whose count is not the subquery's>). */
#define CHECK_NONE(c, sql) CHECK_INT(pgt_int((c), (sql)), 0)

static void check_lacks(const char *hay, const char *needle)
{
	if (strstr(hay, needle)) {
		fprintf(stderr, "unexpectedly found \"%s\" in:\n%s\n", needle, hay);
		CHECK(0);
	}
}

TEST(count_as_grouped_join_equals_the_count_per_row)
{
	/* items 1..3000, dense; events point at 1..4500 or nowhere (NULL), at some items several times, at some never.
	 */
	fixture f = fixture_new(
		"count_grouped",
		"CREATE TABLE items (id bigint PRIMARY KEY, kind text, parent bigint, hits bigint, sub bigint, "
		"kids bigint, loose bigint, n integer);"
		"INSERT INTO items SELECT g, (ARRAY['a', 'b'])[1 + g % 2], "
		"CASE WHEN g % 7 = 0 THEN NULL ELSE 1 + g % 50 END FROM generate_series(1, 3000) g;"
		"CREATE TABLE events (id integer PRIMARY KEY, item integer, kind text, ok boolean);"
		"INSERT INTO events SELECT g, CASE WHEN g % 9 = 0 THEN NULL ELSE 1 + (g * g) % 4500 END, "
		"(ARRAY['a', 'b', 'c'])[1 + (g / 7) % 3], g % 5 <> 0 FROM generate_series(1, 9000) g;"
		"CREATE INDEX events_item ON events (item);"
		"CREATE TABLE loose (id serial PRIMARY KEY, item numeric);"
		"INSERT INTO loose (item) SELECT 1 + g % 3000 FROM generate_series(1, 4000) g;"
		"ANALYZE");
	char *out;

	/* Sized by time over a dense key: range batches. */
	pgt_step(f.v, "{\"op\":\"backfill\",\"table\":\"items\",\"set\":{\"n\":{\"value\":1},"
		      "\"hits\":{\"count\":{\"table\":\"events\",\"match\":{\"item\":\"id\"}}}},\"down\":[]}");
	/* Fixed batches; the count's own filter. */
	pgt_step(f.v, "{\"op\":\"backfill\",\"table\":\"items\",\"batch_size\":97,\"set\":{\"sub\":{\"count\":{"
		      "\"table\":\"events\",\"match\":{\"item\":\"id\"},\"where\":{\"ok\":true}}}},\"down\":[]}");
	/* A count of the step's own table. */
	pgt_step(f.v, "{\"op\":\"backfill\",\"table\":\"items\",\"set\":{\"kids\":{\"count\":{\"table\":\"items\","
		      "\"match\":{\"parent\":\"id\"}}}},\"down\":[]}");
	/* Matched by a numeric column: a subquery per row. */
	pgt_step(f.v, "{\"op\":\"backfill\",\"table\":\"items\",\"batch_size\":500,\"set\":{\"loose\":{\"count\":{"
		      "\"table\":\"loose\",\"match\":{\"item\":\"id\"}}}},\"down\":[]}");

	out = rendered(f.t, f.plan);
	CHECK_HAS(out, "UPDATE \"items\" SET \"n\" = $3, \"hits\" = _migrate_g._migrate_n FROM (SELECT "
		       "_migrate_s.\"id\" AS _migrate_k, count(_migrate_c.\"item\") AS _migrate_n FROM \"items\" AS "
		       "_migrate_s LEFT JOIN \"events\" AS _migrate_c ON _migrate_c.\"item\" = _migrate_s.\"id\"");
	CHECK_HAS(out, "\"hits\" is counted for the batch's rows at once, a grouped join: \"events\".\"item\"");
	CHECK_HAS(out,
		  "ON _migrate_c.\"item\" = _migrate_s.\"id\" AND (\"_migrate_c\".\"ok\" = $3) AND "
		  "_migrate_c.\"item\" > $1::bigint AND _migrate_c.\"item\" <= $2::bigint WHERE _migrate_s.\"id\" > "
		  "$1::bigint AND _migrate_s.\"id\" <= $2::bigint GROUP BY _migrate_s.\"id\"");
	CHECK_HAS(out, "\"kids\" = _migrate_g._migrate_n FROM (SELECT _migrate_s.\"id\" AS _migrate_k, "
		       "count(_migrate_c.\"parent\") AS _migrate_n FROM \"items\" AS _migrate_s LEFT JOIN \"items\"");
	CHECK_HAS(out, "UPDATE \"items\" SET \"loose\" = (SELECT count(*) FROM \"loose\" AS _migrate_c WHERE "
		       "_migrate_c.\"item\" = \"items\".\"id\"");
	migrate_free(out);

	fixture_up(&f);
	CHECK_NONE(f.c, "SELECT count(*) FROM items i WHERE n IS DISTINCT FROM 1 OR hits IS DISTINCT FROM "
			"(SELECT count(*) FROM events e WHERE e.item = i.id)");
	CHECK_NONE(f.c, "SELECT count(*) FROM items i WHERE sub IS DISTINCT FROM "
			"(SELECT count(*) FROM events e WHERE e.item = i.id AND e.ok)");
	CHECK_NONE(f.c, "SELECT count(*) FROM items i WHERE kids IS DISTINCT FROM "
			"(SELECT count(*) FROM items k WHERE k.parent = i.id)");
	CHECK_NONE(f.c, "SELECT count(*) FROM items i WHERE loose IS DISTINCT FROM "
			"(SELECT count(*) FROM loose l WHERE l.item = i.id)");
	/* The cases that matter were there: rows counted none, and some several. */
	CHECK(pgt_int(f.c, "SELECT count(*) FROM items WHERE hits = 0") > 100);
	CHECK(pgt_int(f.c, "SELECT count(*) FROM items WHERE hits >= 3") > 100);
	CHECK_INT(pgt_int(f.c, "SELECT count(*) FROM items WHERE sub > 0"), 267);
	CHECK_INT(pgt_int(f.c, "SELECT count(*) FROM items WHERE hits > 0 AND sub < hits"), 17);
	CHECK_INT(pgt_int(f.c, "SELECT count(*) FROM items WHERE kids > 0"), 50);
	fixture_free(&f);
}

/* Sparse keys past 2^31: fixed batches (no ranges), the bounds bound as bigint against an integer column too. */
TEST(count_grouped_with_keys_past_32_bits)
{
	fixture f = fixture_new("count_wide",
				"CREATE TABLE wide (id bigint PRIMARY KEY, hits bigint, small bigint);"
				"INSERT INTO wide SELECT g * 1000000007::bigint, NULL FROM generate_series(-20, 40) g;"
				"INSERT INTO wide VALUES (1, NULL), (2, NULL);"
				"CREATE TABLE wide_events (id serial PRIMARY KEY, ref bigint, small integer);"
				"INSERT INTO wide_events (ref, small) SELECT (g % 45 - 20) * 1000000007::bigint, g % 3 "
				"FROM generate_series(1, 500) g;"
				"INSERT INTO wide_events (ref, small) VALUES (1, 1), (1, 2), (2, 2)");

	pgt_step(f.v, "{\"op\":\"backfill\",\"table\":\"wide\",\"batch_size\":7,\"set\":{\"hits\":{\"count\":{"
		      "\"table\":\"wide_events\",\"match\":{\"ref\":\"id\"}}}},\"down\":[]}");
	/* Sized by time, over keys too sparse for ranges; an integer column against bigint keys. */
	pgt_step(f.v, "{\"op\":\"backfill\",\"table\":\"wide\",\"set\":{\"small\":{\"count\":{"
		      "\"table\":\"wide_events\",\"match\":{\"small\":\"id\"}}}},\"down\":[]}");
	fixture_up(&f);
	CHECK_NONE(f.c, "SELECT count(*) FROM wide w WHERE hits IS DISTINCT FROM "
			"(SELECT count(*) FROM wide_events e WHERE e.ref = w.id)");
	CHECK_NONE(f.c, "SELECT count(*) FROM wide w WHERE small IS DISTINCT FROM "
			"(SELECT count(*) FROM wide_events e WHERE e.small = w.id)");
	CHECK_INT(pgt_int(f.c, "SELECT count(*) FROM wide WHERE hits > 0 AND id > 2147483647"), 22);
	CHECK_INT(pgt_int(f.c, "SELECT count(*) FROM wide WHERE hits > 0 AND id < -2147483648"), 18);
	/* Keys 1 and 2: counted 2 and 1 times by ref, 168 and 169 times by the integer column. */
	CHECK_VALUE(f.c, "SELECT hits || ' ' || small FROM wide WHERE id = 1", "2 168");
	CHECK_VALUE(f.c, "SELECT hits || ' ' || small FROM wide WHERE id = 2", "1 169");
	fixture_free(&f);
}

/* Names the join's own could collide with: the count stays a subquery per row, and right. */
TEST(count_not_grouped_where_names_collide)
{
	fixture f =
		fixture_new("count_names", "CREATE TABLE _migrate_g (id integer PRIMARY KEY, hits bigint);"
					   "INSERT INTO _migrate_g SELECT g FROM generate_series(1, 300) g;"
					   "CREATE TABLE outs (id integer PRIMARY KEY, _migrate_n bigint, hits bigint);"
					   "INSERT INTO outs SELECT g, g FROM generate_series(1, 300) g;"
					   "CREATE TABLE _migrate_s (id integer PRIMARY KEY, item integer, n bigint);"
					   "INSERT INTO _migrate_s SELECT g, g % 150 FROM generate_series(1, 700) g");
	char *out;

	pgt_step(f.v, "{\"op\":\"backfill\",\"table\":\"_migrate_g\",\"batch_size\":40,\"set\":{\"hits\":{\"count\":{"
		      "\"table\":\"_migrate_s\",\"match\":{\"item\":\"id\"}}}},\"down\":[]}");
	pgt_step(f.v,
		 "{\"op\":\"backfill\",\"table\":\"outs\",\"batch_size\":40,\"where\":{\"_migrate_n\":{\"$gt\":10}},"
		 "\"set\":{\"hits\":{\"count\":{\"table\":\"_migrate_s\",\"match\":{\"item\":\"id\"}}}},\"down\":[]}");
	/* Named as the join's aliases, the step's and the counted table are still its own inside it. */
	pgt_step(f.v, "{\"op\":\"backfill\",\"table\":\"_migrate_s\",\"batch_size\":40,\"set\":{\"n\":{\"count\":{"
		      "\"table\":\"_migrate_s\",\"match\":{\"item\":\"id\"}}}},\"down\":[]}");
	out = rendered(f.t, f.plan);
	CHECK_HAS(out, "UPDATE \"_migrate_g\" SET \"hits\" = (SELECT count(*)");
	CHECK_HAS(out, "UPDATE \"outs\" SET \"hits\" = (SELECT count(*)");
	CHECK_HAS(out, "UPDATE \"_migrate_s\" SET \"n\" = _migrate_g._migrate_n FROM");
	check_lacks(out, "UPDATE \"_migrate_g\" SET \"hits\" = _migrate_g");
	check_lacks(out, "UPDATE \"outs\" SET \"hits\" = _migrate_g");
	migrate_free(out);
	fixture_up(&f);
	CHECK_NONE(f.c, "SELECT count(*) FROM _migrate_g g WHERE hits IS DISTINCT FROM "
			"(SELECT count(*) FROM _migrate_s s WHERE s.item = g.id)");
	CHECK_NONE(f.c, "SELECT count(*) FROM outs o WHERE hits IS DISTINCT FROM CASE WHEN _migrate_n > 10 THEN "
			"(SELECT count(*) FROM _migrate_s s WHERE s.item = o.id) END");
	CHECK_NONE(f.c, "SELECT count(*) FROM _migrate_s m WHERE n IS DISTINCT FROM "
			"(SELECT count(*) FROM _migrate_s s WHERE s.item = m.id)");
	CHECK_INT(pgt_int(f.c, "SELECT count(*) FROM _migrate_g WHERE hits > 0"), 149);
	CHECK_INT(pgt_int(f.c, "SELECT count(*) FROM _migrate_s WHERE n > 0"), 149);
	fixture_free(&f);
}

/* A count of a table that a pending step creates: the plan says what decides how it is counted. */
TEST(count_of_a_table_yet_to_come_renders_what_decides)
{
	fixture f = fixture_new("count_later", "CREATE TABLE items (id integer PRIMARY KEY, hits bigint)");
	const char *const says =
		"\"hits\" is counted for each batch's rows at once, a grouped join, when the step runs "
		"with an integer key and \"later\".\"item\" an integer column; else as below";
	char *out;

	pgt_step(f.v, "{\"op\":\"backfill\",\"table\":\"items\",\"set\":{\"hits\":{\"count\":{\"table\":\"later\","
		      "\"match\":{\"item\":\"id\"}}}},\"down\":[]}");
	out = rendered(f.t, f.plan);
	CHECK_HAS(out, says);
	migrate_free(out);
	pgt_exec(f.c, "CREATE TABLE later (item integer); INSERT INTO later VALUES (1), (1), (2)");
	out = rendered(f.t, f.plan);
	check_lacks(out, says);
	CHECK_HAS(out, "\"hits\" is counted for the batch's rows at once, a grouped join");
	migrate_free(out);
	pgt_exec(f.c, "DROP TABLE items, later");
	out = rendered(f.t, f.plan);
	CHECK_HAS(out, says);
	migrate_free(out);
	fixture_free(&f);
}

/*
 * Where the join could count otherwise than a subquery per row, the count
 * stays one: another match column (a row updated meanwhile is written with
 * its new values, the join's count is of its old ones), the step's filter
 * (bound a second time, it could pass PostgreSQL's 65,535 parameters), and
 * a table whose inheritance children repeat its keys.
 */
TEST(count_not_grouped_where_the_join_could_differ)
{
	fixture f =
		fixture_new("count_differ",
			    "CREATE TABLE fam (id integer PRIMARY KEY, kind text, hits bigint, also bigint);"
			    "CREATE TABLE fam_archive () INHERITS (fam);"
			    "INSERT INTO fam (id, kind) SELECT g, (ARRAY['a', 'b'])[1 + g % 2] "
			    "FROM generate_series(1, 200) g;"
			    "INSERT INTO fam_archive (id, kind) SELECT g, 'a' FROM generate_series(150, 260) g;"
			    "CREATE TABLE solo (id integer PRIMARY KEY, kind text, hits bigint, sub bigint);"
			    "INSERT INTO solo SELECT g, (ARRAY['a', 'b'])[1 + g % 2] FROM generate_series(1, 300) g;"
			    "CREATE TABLE events (id serial PRIMARY KEY, item integer, kind text);"
			    "INSERT INTO events (item, kind) SELECT 1 + g % 280, (ARRAY['a', 'b', 'c'])[1 + g % 3] "
			    "FROM generate_series(1, 1400) g");
	char *out;

	pgt_step(f.v, "{\"op\":\"backfill\",\"table\":\"solo\",\"batch_size\":40,\"set\":{\"hits\":{\"count\":{"
		      "\"table\":\"events\",\"match\":{\"item\":\"id\",\"kind\":\"kind\"}}}},\"down\":[]}");
	pgt_step(f.v, "{\"op\":\"backfill\",\"table\":\"solo\",\"batch_size\":40,\"where\":{\"kind\":\"b\"},"
		      "\"set\":{\"sub\":{\"count\":{\"table\":\"events\",\"match\":{\"item\":\"id\"}}}},\"down\":[]}");
	pgt_step(f.v, "{\"op\":\"backfill\",\"table\":\"fam\",\"batch_size\":40,\"set\":{\"hits\":{\"count\":{"
		      "\"table\":\"events\",\"match\":{\"item\":\"id\"}}}},\"down\":[]}");
	/* Children that hold no key twice do not matter: a partition's would not. */
	out = rendered(f.t, f.plan);
	CHECK_HAS(out, "UPDATE \"solo\" SET \"hits\" = (SELECT count(*)");
	CHECK_HAS(out, "UPDATE \"solo\" SET \"sub\" = (SELECT count(*)");
	CHECK_HAS(out, "UPDATE \"fam\" SET \"hits\" = (SELECT count(*)");
	check_lacks(out, "_migrate_g._migrate_n");
	migrate_free(out);
	fixture_up(&f);
	CHECK_NONE(f.c, "SELECT count(*) FROM solo s WHERE hits IS DISTINCT FROM "
			"(SELECT count(*) FROM events e WHERE e.item = s.id AND e.kind = s.kind)");
	CHECK_NONE(f.c, "SELECT count(*) FROM solo s WHERE sub IS DISTINCT FROM CASE WHEN kind = 'b' THEN "
			"(SELECT count(*) FROM events e WHERE e.item = s.id) END");
	/* Parent and child rows alike, the keys both hold (150..200) counted once. */
	CHECK_NONE(f.c, "SELECT count(*) FROM fam s WHERE hits IS DISTINCT FROM "
			"(SELECT count(*) FROM events e WHERE e.item = s.id)");
	CHECK_INT(pgt_int(f.c, "SELECT count(*) FROM fam WHERE id BETWEEN 150 AND 200 AND hits = 5"), 102);
	fixture_free(&f);
}
