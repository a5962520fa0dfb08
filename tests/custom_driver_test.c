/*
 * A third-party driver ("jsondir", custom_driver.c, written against the
 * public <migrate/driver.h> only) registered at run time and driven through
 * the whole engine: up, status, check, render, down, baseline, repair,
 * checksum mismatches, cancellation and resume, locks, custom steps. Every
 * operation is followed by reading the JSON files back.
 */
#include "harness.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "custom_driver.h"

/* ---- the plan ---- */

#define C_ID "{\"name\":\"id\",\"type\":\"integer\",\"nullable\":false}"
#define C_NAME "{\"name\":\"name\",\"type\":\"text\"}"
#define C_FULL "{\"name\":\"full_name\",\"type\":\"text\"}"
#define C_EMAIL "{\"name\":\"email\",\"type\":\"text\",\"default\":{\"value\":\"none\"}}"
#define C_NICK "{\"name\":\"nick\",\"type\":\"text\"}"

/* The table file after each version of the plan. */
#define S1 "{\"columns\":[" C_ID "," C_NAME "],\"rows\":[]}"
#define S2 S1
#define S3 "{\"columns\":[" C_ID "," C_NAME "],\"rows\":[{\"id\":1,\"name\":\"ann\"},{\"id\":2,\"name\":\"bob\"}]}"
#define S4                                                           \
	"{\"columns\":[" C_ID "," C_NAME "," C_EMAIL "," C_NICK      \
	"],\"rows\":[{\"id\":1,\"name\":\"ann\",\"email\":\"none\"," \
	"\"nick\":\"ann\"},{\"id\":2,\"name\":\"bob\",\"email\":\"none\",\"nick\":\"bob\"}]}"
#define S5                                                                                                           \
	"{\"columns\":[" C_ID "," C_FULL "," C_NICK "],\"rows\":[{\"id\":1,\"full_name\":\"ann\",\"nick\":\"ann\"}," \
	"{\"id\":2,\"full_name\":\"bob\",\"nick\":\"bob\"}]}"

/* What a custom step sees. */
typedef struct seed {
	char dir[1024];
	int ups, downs;
	int fail; /* the up callback fails while set */
	void *native;
	migrate_target_t *target;
} seed;

static int seed_up(migrate_target_t *t, void *native, migrate_error_t *err, void *payload)
{
	seed *s = payload;
	int rc;

	s->native = native;
	s->target = t;
	if (s->fail)
		return migrate_error_set(err, MIGRATE_DOMAIN_CALLBACK, MIGRATE_ECALLBACK, "seed source unavailable");
	if ((rc = jsondir_insert_row(native, "people", "{\"id\":1,\"name\":\"ann\"}", err)) ||
	    (rc = jsondir_insert_row(native, "people", "{\"id\":2,\"name\":\"bob\"}", err)))
		return rc;
	s->ups++;
	return 0;
}

static int seed_down(migrate_target_t *t, void *native, migrate_error_t *err, void *payload)
{
	seed *s = payload;
	int rc;

	if ((rc = jsondir_delete_rows(native, "people", "id", 1, err)) ||
	    (rc = jsondir_delete_rows(native, "people", "id", 2, err)))
		return rc;
	s->downs++;
	return 0;
}

static void fresh_err(migrate_error_t *err)
{
	memset(err, 0, sizeof *err);
}

static void add_json(migrate_version_t *v, const char *json)
{
	migrate_error_t err;

	fresh_err(&err);
	CHECK_OK(migrate_version_add_step_json(v, json, NULL, &err), &err);
}

/*
 * 1 "create users": create_table users (typed builders)
 * 2 "rename": rename_table users -> people
 * 3 "seed": custom step inserting two rows
 * 4 "email and nick": add_column email (default "none"), add_column nick,
 *   backfill nick = name (down: nothing), assert count(people) = 2
 * 5 "tidy": rename_column name -> full_name, drop_column email (explicit down)
 * `email_default` lets a test edit version 4.
 */
static migrate_plan_t *build_plan_named(const char *name, seed *s, const char *email_default, uint64_t upto)
{
	migrate_plan_t *plan = NULL;
	migrate_version_t *v = NULL;
	migrate_column_t id = MIGRATE_COLUMN_INIT, nm = MIGRATE_COLUMN_INIT;
	migrate_step_t *ct = NULL;
	migrate_error_t err;
	const char *pk[] = {"id"};
	char json[512];

	fresh_err(&err);
	CHECK_OK(migrate_plan_new(&plan, name, &err), &err);
	CHECK_OK(migrate_plan_add_version(plan, 1, "create users", &v, &err), &err);
	id.name = "id";
	id.type = "integer";
	id.nullable = 0;
	nm.name = "name";
	nm.type = "text";
	CHECK_OK(migrate_create_table(v, "users", &ct, &err), &err);
	CHECK_OK(migrate_create_table_add_column(ct, &id, &err), &err);
	CHECK_OK(migrate_create_table_add_column(ct, &nm, &err), &err);
	CHECK_OK(migrate_create_table_set_primary_key(ct, pk, 1, &err), &err);
	if (upto < 2)
		return plan;
	CHECK_OK(migrate_plan_add_version(plan, 2, "rename", &v, &err), &err);
	CHECK_OK(migrate_rename_table(v, "users", "people", NULL, &err), &err);
	if (upto < 3)
		return plan;
	CHECK_OK(migrate_plan_add_version(plan, 3, "seed", &v, &err), &err);
	CHECK_OK(migrate_custom(v, "seed people", "r1", seed_up, seed_down, s, NULL, &err), &err);
	if (upto < 4)
		return plan;
	CHECK_OK(migrate_plan_add_version(plan, 4, "email and nick", &v, &err), &err);
	snprintf(json, sizeof json,
		 "{\"op\":\"add_column\",\"table\":\"people\",\"column\":{\"name\":\"email\",\"type\":\"text\","
		 "\"default\":{\"value\":\"%s\"}}}",
		 email_default);
	add_json(v, json);
	add_json(v, "{\"op\":\"add_column\",\"table\":\"people\",\"column\":" C_NICK "}");
	add_json(v, "{\"op\":\"backfill\",\"table\":\"people\",\"set\":{\"nick\":{\"column\":\"name\"}},\"down\":[]}");
	add_json(v,
		 "{\"op\":\"assert\",\"count\":{\"table\":\"people\"},\"expect\":2,\"message\":\"two seeded people\"}");
	if (upto < 5)
		return plan;
	CHECK_OK(migrate_plan_add_version(plan, 5, "tidy", &v, &err), &err);
	add_json(v, "{\"op\":\"rename_column\",\"table\":\"people\",\"from\":\"name\",\"to\":\"full_name\"}");
	add_json(v,
		 "{\"op\":\"drop_column\",\"table\":\"people\",\"column\":\"email\",\"down\":[{\"op\":\"add_column\","
		 "\"table\":\"people\",\"column\":" C_EMAIL "}]}");
	return plan;
}

static migrate_plan_t *build_plan(seed *s)
{
	return build_plan_named("app", s, "none", 5);
}

/* ---- the database directory ---- */

typedef struct db {
	char dir[1024];
	migrate_target_t *t;
} db;

static void open_db(db *d, const char *name)
{
	migrate_error_t err;
	char url[1100];

	fresh_err(&err);
	CHECK_OK(jsondir_register(&err), &err);
	snprintf(d->dir, sizeof d->dir, "%s", harness_path(name));
	snprintf(url, sizeof url, "jsondir:%s", d->dir);
	d->t = NULL;
	CHECK_OK(migrate_target_open(&d->t, url, &err), &err);
}

static char *file_text(const db *d, const char *name)
{
	char path[1200];

	snprintf(path, sizeof path, "%s/%s", d->dir, name);
	return jsondir_read_text(path);
}

#define CHECK_FILE(d, name, expected)                 \
	do {                                          \
		char *text_ = file_text((d), (name)); \
		CHECK_STR(text_, (expected));         \
		bson_free(text_);                     \
	} while (0)

#define CHECK_NO_FILE(d, name)                        \
	do {                                          \
		char *text_ = file_text((d), (name)); \
		CHECK(text_ == NULL);                 \
	} while (0)

/* The table files (top level, not the driver's own), names and contents. */
static char *tables(const db *d)
{
	char *names = jsondir_list(d->dir), *p, *save = NULL;
	migrate_buf_t *s = migrate__buf_new(NULL);

	for (p = strtok_r(names, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		char *text;
		if (strchr(p, '/') || p[0] == '_')
			continue;
		text = file_text(d, p);
		migrate_buf_printf(s, "%s=%s\n", p, text ? text : "(dir)");
		bson_free(text);
	}
	bson_free(names);
	return migrate__buf_free(s, false);
}

#define CHECK_TABLES(d, expected)             \
	do {                                  \
		char *text_ = tables(d);      \
		CHECK_STR(text_, (expected)); \
		bson_free(text_);             \
	} while (0)

/* Everything in the directory, for "nothing changed" checks. */
static char *snapshot(const db *d)
{
	char *names = jsondir_list(d->dir), *p, *save = NULL;
	migrate_buf_t *s = migrate__buf_new(NULL);

	for (p = strtok_r(names, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		char *text = file_text(d, p);
		migrate_buf_printf(s, "%s=%s\n", p, text ? text : "(dir)");
		bson_free(text);
	}
	bson_free(names);
	return migrate__buf_free(s, false);
}

/* The history record of (plan, version) as stored, or false when absent. */
static bool record(const db *d, const char *plan, uint64_t version, bson_t *out)
{
	char name[200], *text;
	bson_error_t berr;

	snprintf(name, sizeof name, "_history/%s/%llu.json", plan, (unsigned long long)version);
	text = file_text(d, name);
	if (!text)
		return false;
	if (!bson_init_from_json(out, text, -1, &berr))
		harness_fail(__FILE__, __LINE__, "%s is not JSON: %s", name, berr.message);
	bson_free(text);
	return true;
}

static int64_t rec_int(const bson_t *r, const char *key)
{
	bson_iter_t it;

	if (!bson_iter_init_find(&it, r, key) || !(BSON_ITER_HOLDS_INT32(&it) || BSON_ITER_HOLDS_INT64(&it)))
		harness_fail(__FILE__, __LINE__, "history record lacks integer %s", key);
	return bson_iter_as_int64(&it);
}

/* A string field, or NULL when the record holds null. */
static const char *rec_str(const bson_t *r, const char *key)
{
	bson_iter_t it;

	if (!bson_iter_init_find(&it, r, key))
		harness_fail(__FILE__, __LINE__, "history record lacks %s", key);
	return BSON_ITER_HOLDS_UTF8(&it) ? bson_iter_utf8(&it, NULL) : NULL;
}

static const migrate_version_t *version_of(const migrate_plan_t *plan, uint64_t id)
{
	size_t i;

	for (i = 0; i < migrate_plan_version_count(plan); i++)
		if (migrate_version_id(migrate_plan_version_at(plan, i)) == id)
			return migrate_plan_version_at(plan, i);
	harness_fail(__FILE__, __LINE__, "no version %llu", (unsigned long long)id);
}

/* Version `id` is recorded applied, complete, with the plan's checksum. */
static void check_applied(const db *d, const migrate_plan_t *plan, uint64_t id)
{
	const migrate_version_t *v = version_of(plan, id);
	char sum[65], by[64];
	migrate_error_t err;
	bson_t r;

	fresh_err(&err);
	CHECK_OK(migrate_version_checksum(v, sum, sizeof sum, &err), &err);
	if (!record(d, migrate_plan_name(plan), id, &r))
		harness_fail(__FILE__, __LINE__, "version %llu has no history record", (unsigned long long)id);
	CHECK_INT(rec_int(&r, "version"), id);
	CHECK_STR(rec_str(&r, "name"), migrate_version_name(v));
	CHECK_STR(rec_str(&r, "checksum"), sum);
	CHECK_INT(rec_int(&r, "state"), MIGRATE_STATE_APPLIED);
	CHECK_INT(rec_int(&r, "steps_done"), migrate_version_step_count(v));
	CHECK(rec_str(&r, "checkpoint") == NULL);
	CHECK(rec_int(&r, "started_at_ms") > 1600000000000LL);
	CHECK(rec_int(&r, "finished_at_ms") >= rec_int(&r, "started_at_ms"));
	/* the run that finished it; a resumed version's total is finished - started */
	CHECK(rec_int(&r, "duration_ms") >= 0 &&
	      rec_int(&r, "duration_ms") <= rec_int(&r, "finished_at_ms") - rec_int(&r, "started_at_ms"));
	snprintf(by, sizeof by, ":%ld", (long)getpid());
	CHECK_HAS(rec_str(&r, "applied_by"), by);
	CHECK_STR(rec_str(&r, "lib_version"), migrate_version_string());
	bson_destroy(&r);
}

static void check_no_record(const db *d, const char *plan, uint64_t id)
{
	bson_t r;

	if (record(d, plan, id, &r))
		harness_fail(__FILE__, __LINE__, "version %llu still has a history record", (unsigned long long)id);
}

static int check_state(const db *d, const migrate_plan_t *plan)
{
	migrate_error_t err;
	migrate_check_state_t state = -1;

	fresh_err(&err);
	CHECK_OK(migrate_check(d->t, plan, &state, &err), &err);
	return state;
}

/* ---- events ---- */

typedef struct recorder {
	int cancel_at_step_end; /* cancel at this STEP_END (1-based), 0: never */
	int cancel_at_progress; /* cancel at this PROGRESS (1-based), 0: never */
	int step_starts, step_ends, version_starts, version_ends, progress, lock_waits, lock_acquired, warnings;
	int64_t processed[64];
	char lock_message[512], warning[512];
	int direction;
} recorder;

static int on_event(const migrate_event_t *ev, void *payload)
{
	recorder *r = payload;

	r->direction = ev->direction;
	switch (ev->type) {
	case MIGRATE_EVENT_STEP_START:
		r->step_starts++;
		CHECK(ev->step_index >= 0 && ev->step_index < ev->step_count);
		CHECK(ev->op != NULL);
		break;
	case MIGRATE_EVENT_STEP_END:
		r->step_ends++;
		return r->cancel_at_step_end && r->step_ends == r->cancel_at_step_end;
	case MIGRATE_EVENT_VERSION_START: r->version_starts++; break;
	case MIGRATE_EVENT_VERSION_END: r->version_ends++; break;
	case MIGRATE_EVENT_PROGRESS:
		if (r->progress < 64)
			r->processed[r->progress] = ev->processed;
		r->progress++;
		CHECK_STR(ev->op, "backfill");
		return r->cancel_at_progress && r->progress == r->cancel_at_progress;
	case MIGRATE_EVENT_LOCK_WAIT:
		r->lock_waits++;
		snprintf(r->lock_message, sizeof r->lock_message, "%s", ev->message ? ev->message : "");
		break;
	case MIGRATE_EVENT_LOCK_ACQUIRED: r->lock_acquired++; break;
	case MIGRATE_EVENT_WARNING:
		r->warnings++;
		snprintf(r->warning, sizeof r->warning, "%s", ev->message ? ev->message : "");
		break;
	default: break;
	}
	return 0;
}

static migrate_run_options_t options(recorder *r)
{
	migrate_run_options_t opts;

	CHECK_INT(migrate_run_options_init(&opts, MIGRATE_RUN_OPTIONS_VERSION), 0);
	opts.on_event = on_event;
	opts.event_payload = r;
	opts.lock_timeout_ms = 5000;
	return opts;
}

/* ---- tests ---- */

TEST(register_and_open)
{
	const migrate_driver_t *drv = jsondir_driver();
	migrate_target_t *t = NULL;
	migrate_error_t err;
	void *conn = NULL;
	char url[1100];
	db d;

	open_db(&d, "db");
	CHECK_STR(migrate_target_driver_name(d.t), "jsondir");
	CHECK_STR((const char *)migrate_target_native_handle(d.t), d.dir);
	/* Registering again is harmless. */
	fresh_err(&err);
	CHECK_OK(jsondir_register(&err), &err);
	/* A connection made by the caller, wrapped in a target. */
	snprintf(url, sizeof url, "jsondir:%s", d.dir);
	CHECK_OK(drv->open(url, &conn, &err), &err);
	CHECK_OK(migrate_target_from_driver(&t, drv, conn, &err), &err);
	CHECK_STR((const char *)migrate_target_native_handle(t), d.dir);
	migrate_target_close(t);
	/* A URL the driver cannot use. */
	CHECK_INT(migrate_target_open(&t, "jsondir:", &err), MIGRATE_ECONNECT);
	CHECK(t == NULL);
	migrate_target_close(d.t);
}

TEST(up_status_check_render)
{
	seed s = {{0}, 0, 0, 0, NULL, NULL};
	migrate_plan_t *plan;
	migrate_status_t *st = NULL;
	migrate_run_options_t opts;
	recorder r;
	migrate_error_t err;
	char *text = NULL;
	uint64_t i;
	db d;

	open_db(&d, "db");
	snprintf(s.dir, sizeof s.dir, "%s", d.dir);
	plan = build_plan(&s);
	fresh_err(&err);

	/* Before anything: all pending, and reading wrote nothing. */
	CHECK_INT(check_state(&d, plan), MIGRATE_CHECK_PENDING);
	CHECK_OK(migrate_status_get(d.t, plan, &st, &err), &err);
	CHECK_INT(migrate_status_count(st), 5);
	for (i = 0; i < 5; i++) {
		const migrate_status_entry_t *e = migrate_status_entry(st, i);
		CHECK_INT(e->id, i + 1);
		CHECK_INT(e->state, MIGRATE_STATE_PENDING);
		CHECK_INT(e->in_plan, 1);
		CHECK_INT(e->steps_done, 0);
		CHECK(e->applied_by == NULL);
	}
	CHECK_INT(migrate_status_entry(st, 3)->steps_total, 4);
	CHECK_STR(migrate_status_entry(st, 2)->name, "seed");
	CHECK(migrate_status_entry(st, 5) == NULL);
	migrate_status_destroy(st);
	CHECK_OK(migrate_render(d.t, plan, 0, &text, &err), &err);
	CHECK_HAS(text, "-- version 1: create users\n-- step 1: create_table\ncreate users.json\n");
	CHECK_HAS(text, "-- version 2: rename\n-- step 1: rename_table\nrename users.json to people.json\n");
	CHECK_HAS(text, "-- custom C callback \"seed people\", revision \"r1\"");
	CHECK_HAS(text, "-- version 5: tidy");
	migrate_free(text);
	CHECK_TABLES(&d, "");
	{
		char *all = jsondir_list(d.dir);
		CHECK_STR(all, "");
		bson_free(all);
	}

	memset(&r, 0, sizeof r);
	opts = options(&r);
	CHECK_OK(migrate_up(d.t, plan, 0, &opts, &err), &err);
	CHECK_TABLES(&d, "people.json=" S5 "\n");
	for (i = 1; i <= 5; i++)
		check_applied(&d, plan, i);
	CHECK_INT(s.ups, 1);
	CHECK_STR((const char *)s.native, d.dir);
	CHECK(s.target == d.t);
	CHECK_INT(r.version_starts, 5);
	CHECK_INT(r.version_ends, 5);
	CHECK_INT(r.step_starts, 9);
	CHECK_INT(r.step_ends, 9);
	CHECK_INT(r.lock_acquired, 1);
	CHECK_INT(r.progress, 1);
	CHECK_INT(r.processed[0], 2);
	CHECK_INT(r.direction, MIGRATE_DIRECTION_UP);
	{
		/* The lock is released: only the history and the table remain. */
		char *all = jsondir_list(d.dir);
		CHECK_STR(all, "_history,_history/app,_history/app/1.json,_history/app/2.json,_history/app/3.json,"
			       "_history/app/4.json,_history/app/5.json,people.json");
		bson_free(all);
	}

	CHECK_INT(check_state(&d, plan), MIGRATE_CHECK_UP_TO_DATE);
	CHECK_OK(migrate_status_get(d.t, plan, &st, &err), &err);
	CHECK_INT(migrate_status_count(st), 5);
	for (i = 0; i < 5; i++) {
		const migrate_status_entry_t *e = migrate_status_entry(st, i);
		CHECK_INT(e->state, MIGRATE_STATE_APPLIED);
		CHECK_INT(e->steps_done, e->steps_total);
		CHECK_INT(e->checksum_matches, 1);
		CHECK(e->started_at_ms > 0 && e->finished_at_ms >= e->started_at_ms);
		CHECK(e->applied_by && strchr(e->applied_by, ':'));
		CHECK(e->error == NULL);
		CHECK_INT(strlen(e->checksum), 64);
	}
	CHECK_STR(migrate_state_name(migrate_status_entry(st, 0)->state), "applied");
	migrate_status_destroy(st);
	CHECK_OK(migrate_render(d.t, plan, 0, &text, &err), &err);
	CHECK_STR(text, "");
	migrate_free(text);

	/* A second up has nothing to do and does nothing. */
	{
		char *before = snapshot(&d), *after;
		memset(&r, 0, sizeof r);
		CHECK_OK(migrate_up(d.t, plan, 0, &opts, &err), &err);
		after = snapshot(&d);
		CHECK_STR(after, before);
		CHECK_INT(r.version_starts, 0);
		CHECK_INT(s.ups, 1);
		bson_free(before);
		bson_free(after);
	}
	migrate_plan_destroy(plan);
	migrate_target_close(d.t);
}

/* up to each version in turn: the files hold exactly that version's state. */
/*
 * A drop_table that keeps never reaches a driver as a drop: an external
 * driver that knows nothing of "keep" gets the rename_table it stands for,
 * so the rows are kept and the down gives them back.
 */
TEST(drop_table_keep_reaches_the_driver_as_a_rename)
{
	migrate_plan_t *plan = NULL;
	migrate_version_t *v = NULL;
	migrate_error_t err;
	char *text = NULL, *before;
	db d;

	open_db(&d, "dropkeep");
	fresh_err(&err);
	CHECK_OK(migrate_plan_new(&plan, "dropkeep", &err), &err);
	CHECK_OK(migrate_plan_add_version(plan, 1, "create users", &v, &err), &err);
	CHECK_OK(
		migrate_version_add_step_json(
			v,
			"{\"op\":\"create_table\",\"table\":\"users\",\"columns\":[{\"name\":\"id\",\"type\":\"integer\"}]}",
			NULL, &err),
		&err);
	CHECK_OK(migrate_plan_add_version(plan, 2, "drop users", &v, &err), &err);
	CHECK_OK(migrate_drop_table_keep(v, "users", "users_kept", NULL, &err), &err);
	CHECK_OK(migrate_render(d.t, plan, 0, &text, &err), &err);
	CHECK_HAS(text, "-- version 2: drop users\n-- step 1: drop_table\nrename users.json to users_kept.json\n");
	migrate_free(text);
	CHECK_OK(migrate_up(d.t, plan, 1, NULL, &err), &err);
	before = tables(&d);
	CHECK_HAS(before, "users.json=");
	CHECK_OK(migrate_up(d.t, plan, 0, NULL, &err), &err);
	{
		char *mid = tables(&d);
		CHECK(strstr(mid, "users_kept.json=") != NULL && strstr(mid, "users.json=") == NULL);
		bson_free(mid);
	}
	CHECK_OK(migrate_down(d.t, plan, 1, NULL, &err), &err);
	CHECK_TABLES(&d, before);
	bson_free(before);
	migrate_plan_destroy(plan);
	migrate_target_close(d.t);
}

TEST(up_version_by_version)
{
	static const char *const states[] = {"users.json=" S1 "\n", "people.json=" S2 "\n", "people.json=" S3 "\n",
					     "people.json=" S4 "\n", "people.json=" S5 "\n"};
	seed s = {{0}, 0, 0, 0, NULL, NULL};
	migrate_plan_t *plan = build_plan(&s);
	migrate_status_t *st = NULL;
	migrate_error_t err;
	uint64_t i, j;
	db d;

	open_db(&d, "db");
	fresh_err(&err);
	for (i = 1; i <= 5; i++) {
		CHECK_OK(migrate_up(d.t, plan, i, NULL, &err), &err);
		CHECK_TABLES(&d, states[i - 1]);
		for (j = 1; j <= 5; j++) {
			if (j <= i)
				check_applied(&d, plan, j);
			else
				check_no_record(&d, "app", j);
		}
		CHECK_INT(check_state(&d, plan), i == 5 ? MIGRATE_CHECK_UP_TO_DATE : MIGRATE_CHECK_PENDING);
		CHECK_OK(migrate_status_get(d.t, plan, &st, &err), &err);
		CHECK_INT(migrate_status_entry(st, i - 1)->state, MIGRATE_STATE_APPLIED);
		if (i < 5)
			CHECK_INT(migrate_status_entry(st, i)->state, MIGRATE_STATE_PENDING);
		migrate_status_destroy(st);
	}
	CHECK_INT(s.ups, 1);
	migrate_plan_destroy(plan);
	migrate_target_close(d.t);
}

/* down to each version in turn: inverses and explicit downs, history records deleted. */
TEST(down_version_by_version)
{
	seed s = {{0}, 0, 0, 0, NULL, NULL};
	migrate_plan_t *plan = build_plan(&s);
	migrate_run_options_t opts;
	recorder r;
	migrate_error_t err;
	uint64_t j;
	db d;

	open_db(&d, "db");
	fresh_err(&err);
	CHECK_OK(migrate_up(d.t, plan, 0, NULL, &err), &err);

	memset(&r, 0, sizeof r);
	opts = options(&r);
	CHECK_OK(migrate_down(d.t, plan, 4, &opts, &err), &err);
	/* The explicit down re-adds email at the end; the rename is reverted. */
	CHECK_TABLES(&d, "people.json={\"columns\":[" C_ID "," C_NAME "," C_NICK "," C_EMAIL "],\"rows\":["
			 "{\"id\":1,\"name\":\"ann\",\"nick\":\"ann\",\"email\":\"none\"},"
			 "{\"id\":2,\"name\":\"bob\",\"nick\":\"bob\",\"email\":\"none\"}]}\n");
	check_no_record(&d, "app", 5);
	for (j = 1; j <= 4; j++)
		check_applied(&d, plan, j);
	CHECK_INT(r.direction, MIGRATE_DIRECTION_DOWN);
	CHECK_INT(r.version_starts, 1);
	CHECK_INT(r.step_ends, 2);
	CHECK_INT(check_state(&d, plan), MIGRATE_CHECK_PENDING);

	CHECK_OK(migrate_down(d.t, plan, 3, NULL, &err), &err);
	CHECK_TABLES(&d, "people.json=" S3 "\n");
	check_no_record(&d, "app", 4);
	CHECK_INT(s.downs, 0);
	CHECK_OK(migrate_down(d.t, plan, 2, NULL, &err), &err);
	CHECK_TABLES(&d, "people.json=" S2 "\n");
	CHECK_INT(s.downs, 1);
	CHECK_STR((const char *)s.native, d.dir);
	CHECK_OK(migrate_down(d.t, plan, 1, NULL, &err), &err);
	CHECK_TABLES(&d, "users.json=" S1 "\n");
	check_applied(&d, plan, 1);
	CHECK_OK(migrate_down(d.t, plan, 0, NULL, &err), &err);
	CHECK_TABLES(&d, "");
	for (j = 1; j <= 5; j++)
		check_no_record(&d, "app", j);
	CHECK_INT(check_state(&d, plan), MIGRATE_CHECK_PENDING);
	/* Nothing left to revert. */
	CHECK_OK(migrate_down(d.t, plan, 0, NULL, &err), &err);

	/* And all the way up again gives the same state as the first time. */
	CHECK_OK(migrate_up(d.t, plan, 0, NULL, &err), &err);
	CHECK_TABLES(&d, "people.json=" S5 "\n");
	CHECK_INT(s.ups, 2);
	migrate_plan_destroy(plan);
	migrate_target_close(d.t);
}

/* baseline adopts a database that already has version 2's schema. */
TEST(baseline_adopts_existing_database)
{
	seed s = {{0}, 0, 0, 0, NULL, NULL};
	migrate_plan_t *plan = build_plan(&s);
	migrate_status_t *st = NULL;
	migrate_error_t err;
	char path[1200];
	bson_t rec;
	db d;

	open_db(&d, "db");
	fresh_err(&err);
	snprintf(path, sizeof path, "%s/people.json", d.dir);
	CHECK_INT(jsondir_write_text(path, S2), 0);
	CHECK_OK(migrate_baseline(d.t, plan, 2, NULL, &err), &err);
	CHECK_TABLES(&d, "people.json=" S2 "\n"); /* nothing ran */
	check_applied(&d, plan, 1);
	check_applied(&d, plan, 2);
	check_no_record(&d, "app", 3);
	CHECK(record(&d, "app", 1, &rec));
	CHECK_HAS(rec_str(&rec, "error"), "baseline");
	bson_destroy(&rec);
	CHECK_OK(migrate_status_get(d.t, plan, &st, &err), &err);
	CHECK_INT(migrate_status_entry(st, 1)->state, MIGRATE_STATE_APPLIED);
	CHECK_INT(migrate_status_entry(st, 2)->state, MIGRATE_STATE_PENDING);
	migrate_status_destroy(st);
	/* A second baseline to the same version changes nothing. */
	{
		char *before = snapshot(&d), *after;
		CHECK_OK(migrate_baseline(d.t, plan, 2, NULL, &err), &err);
		after = snapshot(&d);
		CHECK_STR(after, before);
		bson_free(before);
		bson_free(after);
	}
	CHECK_OK(migrate_up(d.t, plan, 0, NULL, &err), &err);
	CHECK_TABLES(&d, "people.json=" S5 "\n");
	CHECK_INT(s.ups, 1);
	CHECK_INT(check_state(&d, plan), MIGRATE_CHECK_UP_TO_DATE);
	/* baseline needs a version. */
	CHECK_INT(migrate_baseline(d.t, plan, 0, NULL, &err), MIGRATE_EINVAL);
	migrate_plan_destroy(plan);
	migrate_target_close(d.t);
}

/* An applied version edited in the plan: refused, then accepted after repair. */
TEST(edited_version_checksum_then_repair)
{
	seed s = {{0}, 0, 0, 0, NULL, NULL};
	migrate_plan_t *plan = build_plan(&s), *edited = build_plan_named("app", &s, "n/a", 5);
	migrate_status_t *st = NULL;
	migrate_run_options_t opts;
	recorder r;
	migrate_error_t err;
	char *before, *after, sum[65];
	size_t changed = 99;
	bson_t rec;
	int rc;
	db d;

	open_db(&d, "db");
	fresh_err(&err);
	CHECK_OK(migrate_up(d.t, plan, 0, NULL, &err), &err);
	before = snapshot(&d);

	rc = migrate_up(d.t, edited, 0, NULL, &err);
	CHECK_INT(rc, MIGRATE_ECHECKSUM);
	CHECK_INT(err.code, MIGRATE_ECHECKSUM);
	CHECK_HAS(err.message, "4 (\"email and nick\"");
	CHECK(strstr(err.message, "3 (\"seed\"") == NULL);
	CHECK_HAS(err.message, "repair");
	after = snapshot(&d);
	CHECK_STR(after, before);
	bson_free(after);
	CHECK_INT(check_state(&d, edited), MIGRATE_CHECK_MISMATCH);
	CHECK_INT(check_state(&d, plan), MIGRATE_CHECK_UP_TO_DATE);
	CHECK_OK(migrate_status_get(d.t, edited, &st, &err), &err);
	CHECK_INT(migrate_status_entry(st, 2)->checksum_matches, 1);
	CHECK_INT(migrate_status_entry(st, 3)->checksum_matches, 0);
	migrate_status_destroy(st);
	/* down takes its inverses from the plan: through an edited version it is refused too. */
	rc = migrate_down(d.t, edited, 3, NULL, &err);
	CHECK_INT(rc, MIGRATE_ECHECKSUM);
	CHECK_HAS(err.message, "version 4 (\"email and nick\") changed since it was applied");
	after = snapshot(&d);
	CHECK_STR(after, before);
	bson_free(after);

	/* Allowing amended versions runs (there is nothing pending) and warns. */
	memset(&r, 0, sizeof r);
	opts = options(&r);
	opts.allow_amended = 1;
	CHECK_OK(migrate_up(d.t, edited, 0, &opts, &err), &err);
	CHECK_INT(r.warnings, 1);
	CHECK_HAS(r.warning, "version 4 changed");
	after = snapshot(&d);
	CHECK_STR(after, before);
	bson_free(after);

	memset(&r, 0, sizeof r);
	CHECK_OK(migrate_repair(d.t, edited, &opts, &changed, &err), &err);
	CHECK_INT(changed, 1);
	CHECK_INT(r.warnings, 1);
	CHECK_HAS(r.warning, "version 4: checksum realigned");
	CHECK_OK(migrate_version_checksum(version_of(edited, 4), sum, sizeof sum, &err), &err);
	CHECK(record(&d, "app", 4, &rec));
	CHECK_STR(rec_str(&rec, "checksum"), sum);
	CHECK_INT(rec_int(&rec, "state"), MIGRATE_STATE_APPLIED);
	bson_destroy(&rec);
	check_applied(&d, edited, 3);
	CHECK_INT(check_state(&d, edited), MIGRATE_CHECK_UP_TO_DATE);
	CHECK_INT(check_state(&d, plan), MIGRATE_CHECK_MISMATCH);
	CHECK_OK(migrate_up(d.t, edited, 0, NULL, &err), &err);
	/* The edit was not applied: repair only realigns the history. */
	CHECK_TABLES(&d, "people.json=" S5 "\n");
	CHECK_INT(s.ups, 1);
	/* A second repair has nothing to do. */
	CHECK_OK(migrate_repair(d.t, edited, NULL, &changed, &err), &err);
	CHECK_INT(changed, 0);
	bson_free(before);
	migrate_plan_destroy(plan);
	migrate_plan_destroy(edited);
	migrate_target_close(d.t);
}

/*
 * Cancel at every step boundary in turn, then resume: each interrupted
 * database ends exactly like the uninterrupted one, the custom step having
 * run once.
 */
TEST(cancel_at_every_step_boundary_then_resume)
{
	seed ref_seed = {{0}, 0, 0, 0, NULL, NULL};
	migrate_plan_t *ref_plan = build_plan(&ref_seed);
	migrate_run_options_t opts;
	recorder r;
	migrate_error_t err;
	char *reference;
	int n, boundaries;
	db ref;

	open_db(&ref, "reference");
	memset(&r, 0, sizeof r);
	opts = options(&r);
	fresh_err(&err);
	CHECK_OK(migrate_up(ref.t, ref_plan, 0, &opts, &err), &err);
	boundaries = r.step_ends;
	CHECK_INT(boundaries, 9);
	reference = tables(&ref);
	CHECK_STR(reference, "people.json=" S5 "\n");

	for (n = 1; n <= boundaries; n++) {
		seed s = {{0}, 0, 0, 0, NULL, NULL};
		migrate_plan_t *plan = build_plan(&s);
		char name[32], *got;
		int rc, state;
		uint64_t j;
		db d;
		snprintf(name, sizeof name, "cancel%d", n);
		open_db(&d, name);
		memset(&r, 0, sizeof r);
		r.cancel_at_step_end = n;
		opts = options(&r);
		rc = migrate_up(d.t, plan, 0, &opts, &err);
		if (n < boundaries) {
			if (rc != MIGRATE_ECANCELED)
				harness_fail(__FILE__, __LINE__, "boundary %d: up returned %d: %s", n, rc, err.message);
			CHECK_INT(err.code, MIGRATE_ECANCELED);
			state = check_state(&d, plan);
			CHECK(state == MIGRATE_CHECK_PENDING || state == MIGRATE_CHECK_FAILED);
			CHECK_INT(r.step_ends, n); /* it stopped at that boundary */
		} else {
			CHECK_INT(rc, 0); /* canceled after the last step: nothing left to stop */
		}
		CHECK_OK(migrate_up(d.t, plan, 0, NULL, &err), &err);
		got = tables(&d);
		if (strcmp(got, reference) != 0)
			harness_fail(__FILE__, __LINE__, "boundary %d: resumed to\n%s\nexpected\n%s", n, got,
				     reference);
		bson_free(got);
		for (j = 1; j <= 5; j++)
			check_applied(&d, plan, j);
		CHECK_INT(s.ups, 1);
		CHECK_INT(check_state(&d, plan), MIGRATE_CHECK_UP_TO_DATE);
		migrate_plan_destroy(plan);
		migrate_target_close(d.t);
	}
	bson_free(reference);
	migrate_plan_destroy(ref_plan);
	migrate_target_close(ref.t);
}

/* Canceled after a backfill batch: the journal holds the checkpoint, and the next run resumes after it. */
TEST(cancel_in_backfill_resumes_from_checkpoint)
{
	seed s = {{0}, 0, 0, 0, NULL, NULL};
	migrate_plan_t *plan = build_plan(&s);
	migrate_status_t *st = NULL;
	migrate_run_options_t opts;
	recorder r;
	migrate_error_t err;
	bson_t rec;
	int rc;
	db d;

	open_db(&d, "db");
	fresh_err(&err);
	memset(&r, 0, sizeof r);
	r.cancel_at_progress = 1;
	opts = options(&r);
	opts.batch_size = 1;
	rc = migrate_up(d.t, plan, 0, &opts, &err);
	CHECK_INT(rc, MIGRATE_ECANCELED);
	CHECK_INT(r.progress, 1);
	CHECK_INT(r.processed[0], 1);
	/* One row backfilled, the other not yet. */
	CHECK_TABLES(&d, "people.json={\"columns\":[" C_ID "," C_NAME "," C_EMAIL "," C_NICK "],\"rows\":["
			 "{\"id\":1,\"name\":\"ann\",\"email\":\"none\",\"nick\":\"ann\"},"
			 "{\"id\":2,\"name\":\"bob\",\"email\":\"none\",\"nick\":null}]}\n");
	CHECK(record(&d, "app", 4, &rec));
	CHECK_INT(rec_int(&rec, "state"), MIGRATE_STATE_FAILED);
	CHECK_INT(rec_int(&rec, "steps_done"), 2);
	CHECK_STR(rec_str(&rec, "checkpoint"), "{\"after\":1}");
	CHECK_STR(rec_str(&rec, "error"), "canceled");
	bson_destroy(&rec);
	check_no_record(&d, "app", 5);
	CHECK_INT(check_state(&d, plan), MIGRATE_CHECK_FAILED);
	CHECK_OK(migrate_status_get(d.t, plan, &st, &err), &err);
	CHECK_INT(migrate_status_entry(st, 3)->state, MIGRATE_STATE_FAILED);
	CHECK_INT(migrate_status_entry(st, 3)->steps_done, 2);
	CHECK_STR(migrate_status_entry(st, 3)->error, "canceled");
	migrate_status_destroy(st);

	/* Resume: the backfill continues after row 1, it does not start over. */
	memset(&r, 0, sizeof r);
	opts = options(&r);
	opts.batch_size = 1;
	CHECK_OK(migrate_up(d.t, plan, 0, &opts, &err), &err);
	CHECK_INT(r.progress, 1);
	CHECK_INT(r.processed[0], 2);
	CHECK_TABLES(&d, "people.json=" S5 "\n");
	check_applied(&d, plan, 4);
	check_applied(&d, plan, 5);
	CHECK_INT(s.ups, 1);
	migrate_plan_destroy(plan);
	migrate_target_close(d.t);
}

/* Rewrites the history record of `version` as a run killed right after its step `steps_done` would leave it. */
static void rewind_journal(const db *d, uint64_t version, int state, int steps_done)
{
	char name[200], path[1300], *text, *p;
	bson_t r, out = BSON_INITIALIZER;
	bson_iter_t it;
	char *json;

	CHECK(record(d, "app", version, &r));
	bson_iter_init(&it, &r);
	while (bson_iter_next(&it)) {
		if (!strcmp(bson_iter_key(&it), "state"))
			BSON_APPEND_INT32(&out, "state", state);
		else if (!strcmp(bson_iter_key(&it), "steps_done"))
			BSON_APPEND_INT64(&out, "steps_done", steps_done);
		else
			bson_append_iter(&out, NULL, 0, &it);
	}
	json = bson_as_relaxed_extended_json(&out, NULL);
	snprintf(name, sizeof name, "_history/app/%llu.json", (unsigned long long)version);
	snprintf(path, sizeof path, "%s/%s", d->dir, name);
	CHECK_INT(jsondir_write_text(path, json), 0);
	text = file_text(d, name);
	p = strstr(text, "\"steps_done\"");
	CHECK(p != NULL);
	bson_free(text);
	bson_free(json);
	bson_destroy(&out);
	bson_destroy(&r);
}

/*
 * Without transactions a run can die after a step and before its journal
 * write. The next run repeats that step, which the driver recognises as
 * done: a rename already made, columns already added, a table already there.
 */
TEST(steps_repeated_after_a_crash_are_idempotent)
{
	seed s = {{0}, 0, 0, 0, NULL, NULL};
	migrate_plan_t *plan = build_plan(&s);
	migrate_error_t err;
	char path[1200];
	db d;

	open_db(&d, "db");
	fresh_err(&err);
	/* Version 1 done, its record lost: create_table finds its table. */
	CHECK_OK(migrate_up(d.t, plan, 1, NULL, &err), &err);
	snprintf(path, sizeof path, "%s/_history/app/1.json", d.dir);
	CHECK_INT(unlink(path), 0);
	/* Version 2 renamed, journal says nothing done yet. */
	CHECK_OK(migrate_up(d.t, plan, 2, NULL, &err), &err);
	CHECK_TABLES(&d, "people.json=" S2 "\n");
	rewind_journal(&d, 2, MIGRATE_STATE_APPLYING, 0);
	CHECK_INT(check_state(&d, plan), MIGRATE_CHECK_FAILED);
	CHECK_OK(migrate_up(d.t, plan, 4, NULL, &err), &err);
	CHECK_TABLES(&d, "people.json=" S4 "\n");
	/* Version 4 fully done, journal says only the first step. */
	rewind_journal(&d, 4, MIGRATE_STATE_APPLYING, 1);
	CHECK_OK(migrate_up(d.t, plan, 0, NULL, &err), &err);
	CHECK_TABLES(&d, "people.json=" S5 "\n");
	/* Version 5 done, journal rewound to its start: the rename and the drop are recognised. */
	rewind_journal(&d, 5, MIGRATE_STATE_FAILED, 0);
	CHECK_OK(migrate_up(d.t, plan, 0, NULL, &err), &err);
	CHECK_TABLES(&d, "people.json=" S5 "\n");
	{
		uint64_t j;
		for (j = 1; j <= 5; j++)
			check_applied(&d, plan, j);
	}
	CHECK_INT(s.ups, 1);
	migrate_plan_destroy(plan);
	migrate_target_close(d.t);
}

/* A failing custom step: the run stops there, records why, and the next run retries it. */
TEST(custom_step_failure_and_retry)
{
	seed s = {{0}, 0, 0, 1, NULL, NULL};
	migrate_plan_t *plan = build_plan(&s);
	migrate_error_t err;
	bson_t rec;
	int rc;
	db d;

	open_db(&d, "db");
	fresh_err(&err);
	rc = migrate_up(d.t, plan, 0, NULL, &err);
	CHECK_INT(rc, MIGRATE_ECALLBACK);
	CHECK_INT(err.domain, MIGRATE_DOMAIN_CALLBACK);
	CHECK_HAS(err.message, "version 3 (\"seed\"), step 1 (custom)");
	CHECK_HAS(err.message, "seed source unavailable");
	CHECK_STR((const char *)s.native, d.dir);
	CHECK_TABLES(&d, "people.json=" S2 "\n");
	CHECK(record(&d, "app", 3, &rec));
	CHECK_INT(rec_int(&rec, "state"), MIGRATE_STATE_FAILED);
	CHECK_INT(rec_int(&rec, "steps_done"), 0);
	CHECK_HAS(rec_str(&rec, "error"), "seed source unavailable");
	bson_destroy(&rec);
	CHECK_INT(check_state(&d, plan), MIGRATE_CHECK_FAILED);
	s.fail = 0;
	CHECK_OK(migrate_up(d.t, plan, 0, NULL, &err), &err);
	CHECK_TABLES(&d, "people.json=" S5 "\n");
	check_applied(&d, plan, 3);
	CHECK_INT(s.ups, 1);
	migrate_plan_destroy(plan);
	migrate_target_close(d.t);
}

/* ---- sync: the end of every run that took the lock ---- */

static int sync_calls, sync_fail;

static int counting_sync(void *conn, migrate_error_t *err)
{
	(void)conn;
	sync_calls++;
	if (sync_fail)
		return migrate_error_set(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EDB, "jsondir: the disk went away");
	return 0;
}

/* The jsondir driver with a sync, over a connection of its own, as interface version `version`. */
static migrate_target_t *sync_target(migrate_driver_t *drv, unsigned version, const char *dir)
{
	migrate_target_t *t = NULL;
	migrate_error_t err;
	void *conn = NULL;
	char url[1100];

	*drv = *jsondir_driver();
	drv->version = version;
	drv->sync = counting_sync;
	snprintf(url, sizeof url, "jsondir:%s", dir);
	fresh_err(&err);
	CHECK_OK(drv->open(url, &conn, &err), &err);
	CHECK_OK(migrate_target_from_driver(&t, drv, conn, &err), &err);
	return t;
}

TEST(sync_ends_every_run_that_took_the_lock)
{
	seed s = {{0}, 0, 0, 0, NULL, NULL};
	migrate_plan_t *plan = build_plan(&s);
	migrate_driver_t drv, old;
	migrate_target_t *t, *t4;
	migrate_error_t err;
	db d;

	open_db(&d, "db");
	t = sync_target(&drv, MIGRATE_DRIVER_VERSION, d.dir);
	sync_calls = sync_fail = 0;
	/* A run refused before it locks has nothing to make durable. */
	fresh_err(&err);
	CHECK_INT(migrate_up(t, plan, 99, NULL, &err), MIGRATE_ENOTFOUND);
	CHECK_INT(sync_calls, 0);
	/* Once per run, at its end. */
	CHECK_OK(migrate_up(t, plan, 2, NULL, &err), &err);
	CHECK_INT(sync_calls, 1);
	/* A sync that fails fails the run that had succeeded, with its own message. */
	sync_fail = 1;
	CHECK_INT(migrate_up(t, plan, 0, NULL, &err), MIGRATE_EDB);
	CHECK_INT(sync_calls, 2);
	CHECK_INT(err.domain, MIGRATE_DOMAIN_DRIVER);
	CHECK_HAS(err.message, "the disk went away");
	check_applied(&d, plan, 5);
	/* The lock was released all the same: the next run takes it at once. */
	sync_fail = 0;
	CHECK_OK(migrate_down(t, plan, 2, NULL, &err), &err);
	CHECK_INT(sync_calls, 3);
	/* After a failed run it is called too, and the run's own error is the one returned. */
	s.fail = 1;
	sync_fail = 1;
	fresh_err(&err);
	CHECK_INT(migrate_up(t, plan, 0, NULL, &err), MIGRATE_ECALLBACK);
	CHECK_INT(sync_calls, 4);
	CHECK_HAS(err.message, "seed source unavailable");
	CHECK(strstr(err.message, "the disk went away") == NULL);
	sync_fail = 0;
	s.fail = 0;
	CHECK_OK(migrate_up(d.t, plan, 0, NULL, &err), &err);
	CHECK_INT(sync_calls, 4);
	/* A driver of an interface version before sync: the field is never read. */
	t4 = sync_target(&old, 4, d.dir);
	CHECK_OK(migrate_down(t4, plan, 1, NULL, &err), &err);
	CHECK_INT(sync_calls, 4);
	migrate_target_close(t4);
	migrate_target_close(t);
	migrate_plan_destroy(plan);
	migrate_target_close(d.t);
}

TEST(assert_failure_stops_the_version)
{
	seed s = {{0}, 0, 0, 0, NULL, NULL};
	migrate_plan_t *plan = build_plan(&s);
	migrate_version_t *v6 = NULL;
	migrate_error_t err;
	bson_t rec;
	int rc;
	db d;

	open_db(&d, "db");
	fresh_err(&err);
	CHECK_OK(migrate_plan_add_version(plan, 6, "expect three", &v6, &err), &err);
	add_json(v6, "{\"op\":\"drop_column\",\"table\":\"people\",\"column\":\"nick\"}");
	add_json(
		v6,
		"{\"op\":\"assert\",\"count\":{\"table\":\"people\"},\"expect\":{\"$gte\":3},\"message\":\"need three\"}");
	rc = migrate_up(d.t, plan, 0, NULL, &err);
	CHECK_INT(rc, MIGRATE_EASSERT);
	CHECK_HAS(err.message, "version 6 (\"expect three\"), step 2 (assert)");
	CHECK_HAS(err.message, "need three");
	CHECK_HAS(err.message, "2 rows");
	check_applied(&d, plan, 5);
	CHECK(record(&d, "app", 6, &rec));
	CHECK_INT(rec_int(&rec, "state"), MIGRATE_STATE_FAILED);
	CHECK_INT(rec_int(&rec, "steps_done"), 1);
	bson_destroy(&rec);
	/* Without transactions the step before the assert stays done. */
	CHECK_TABLES(&d, "people.json={\"columns\":[" C_ID "," C_FULL "],\"rows\":[{\"id\":1,\"full_name\":\"ann\"},"
			 "{\"id\":2,\"full_name\":\"bob\"}]}\n");
	migrate_plan_destroy(plan);
	migrate_target_close(d.t);
}

/* Writes a lock directory held by `pid`. */
static void plant_lock(const db *d, const char *plan, long pid)
{
	char path[1300], text[32];

	snprintf(path, sizeof path, "%s/_lock_%s", d->dir, plan);
	CHECK_INT(mkdir(path, 0777), 0);
	snprintf(path, sizeof path, "%s/_lock_%s/pid", d->dir, plan);
	snprintf(text, sizeof text, "%ld\n", pid);
	CHECK_INT(jsondir_write_text(path, text), 0);
}

TEST(lock_held_by_a_live_process)
{
	seed s = {{0}, 0, 0, 0, NULL, NULL};
	migrate_plan_t *plan = build_plan(&s);
	migrate_run_options_t opts;
	recorder r;
	migrate_error_t err;
	char pidtext[32];
	pid_t child;
	int rc, status;
	db d;

	open_db(&d, "db");
	fresh_err(&err);
	child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		alarm(60); /* never outlive a test that failed before killing it */
		pause();
		_exit(0);
	}
	plant_lock(&d, "app", (long)child);
	snprintf(pidtext, sizeof pidtext, "pid %ld", (long)child);

	memset(&r, 0, sizeof r);
	opts = options(&r);
	opts.lock_timeout_ms = 0;
	rc = migrate_up(d.t, plan, 0, &opts, &err);
	CHECK_INT(rc, MIGRATE_ELOCKED);
	CHECK_INT(err.domain, MIGRATE_DOMAIN_LOCK);
	CHECK_HAS(err.message, "plan \"app\"");
	CHECK_HAS(err.message, pidtext);
	CHECK_TABLES(&d, "");

	memset(&r, 0, sizeof r);
	opts.lock_timeout_ms = 300;
	rc = migrate_up(d.t, plan, 0, &opts, &err);
	CHECK_INT(rc, MIGRATE_ELOCKED);
	CHECK(r.lock_waits >= 1);
	CHECK_HAS(r.lock_message, pidtext);
	CHECK_INT(r.lock_acquired, 0);
	CHECK_TABLES(&d, "");
	/* Reads take no lock. */
	CHECK_INT(check_state(&d, plan), MIGRATE_CHECK_PENDING);

	/* The holder dies: its lock does not outlive it. */
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
	memset(&r, 0, sizeof r);
	opts.lock_timeout_ms = 5000;
	CHECK_OK(migrate_up(d.t, plan, 0, &opts, &err), &err);
	CHECK_INT(r.lock_acquired, 1);
	CHECK_TABLES(&d, "people.json=" S5 "\n");
	CHECK_NO_FILE(&d, "_lock_app/pid");
	migrate_plan_destroy(plan);
	migrate_target_close(d.t);
}

TEST(lock_of_a_dead_process_is_taken_over)
{
	seed s = {{0}, 0, 0, 0, NULL, NULL};
	migrate_plan_t *plan = build_plan(&s);
	migrate_error_t err;
	pid_t child;
	int status;
	db d;

	open_db(&d, "db");
	fresh_err(&err);
	child = fork();
	CHECK(child >= 0);
	if (child == 0)
		_exit(0);
	waitpid(child, &status, 0);
	plant_lock(&d, "app", (long)child);
	CHECK_OK(migrate_up(d.t, plan, 0, NULL, &err), &err);
	CHECK_TABLES(&d, "people.json=" S5 "\n");
	{
		char *all = jsondir_list(d.dir);
		CHECK(strstr(all, "_lock") == NULL);
		bson_free(all);
	}
	/* The lock of another plan is another lock. */
	plant_lock(&d, "other", (long)getpid());
	CHECK_OK(migrate_down(d.t, plan, 3, NULL, &err), &err);
	CHECK_TABLES(&d, "people.json=" S3 "\n");
	migrate_plan_destroy(plan);
	migrate_target_close(d.t);
}

/* Two plans in one database keep separate histories. */
TEST(plans_are_independent)
{
	seed s = {{0}, 0, 0, 0, NULL, NULL};
	migrate_plan_t *app = build_plan(&s), *other = NULL;
	migrate_version_t *v = NULL;
	migrate_status_t *st = NULL;
	migrate_error_t err;
	db d;

	open_db(&d, "db");
	fresh_err(&err);
	CHECK_OK(migrate_plan_new(&other, "other", &err), &err);
	CHECK_OK(migrate_plan_add_version(other, 1, "audit", &v, &err), &err);
	add_json(
		v,
		"{\"op\":\"create_table\",\"table\":\"audit\",\"columns\":[{\"name\":\"at\",\"type\":\"timestamp\"}]}");
	CHECK_OK(migrate_up(d.t, app, 2, NULL, &err), &err);
	CHECK_OK(migrate_up(d.t, other, 0, NULL, &err), &err);
	CHECK_TABLES(&d,
		     "audit.json={\"columns\":[{\"name\":\"at\",\"type\":\"timestamp\"}],\"rows\":[]}\npeople.json=" S2
		     "\n");
	check_applied(&d, other, 1);
	check_applied(&d, app, 1);
	CHECK_OK(migrate_status_get(d.t, other, &st, &err), &err);
	CHECK_INT(migrate_status_count(st), 1);
	migrate_status_destroy(st);
	CHECK_OK(migrate_down(d.t, other, 0, NULL, &err), &err);
	CHECK_TABLES(&d, "people.json=" S2 "\n");
	check_applied(&d, app, 2);
	migrate_plan_destroy(app);
	migrate_plan_destroy(other);
	migrate_target_close(d.t);
}

/* Versions recorded in the database but missing from the plan, and versions older than an applied one. */
TEST(unknown_and_out_of_order_versions)
{
	seed s = {{0}, 0, 0, 0, NULL, NULL};
	migrate_plan_t *full = build_plan(&s), *short_plan = build_plan_named("app", &s, "none", 2), *gap = NULL;
	migrate_status_t *st = NULL;
	migrate_run_options_t opts;
	recorder r;
	migrate_error_t err;
	migrate_version_t *v = NULL;
	int rc;
	db d;

	open_db(&d, "db");
	fresh_err(&err);
	CHECK_OK(migrate_up(d.t, full, 3, NULL, &err), &err);
	CHECK_OK(migrate_status_get(d.t, short_plan, &st, &err), &err);
	CHECK_INT(migrate_status_count(st), 3);
	CHECK_INT(migrate_status_entry(st, 2)->id, 3);
	CHECK_INT(migrate_status_entry(st, 2)->in_plan, 0);
	CHECK_STR(migrate_status_entry(st, 2)->name, "seed");
	CHECK_INT(migrate_status_entry(st, 2)->state, MIGRATE_STATE_APPLIED);
	migrate_status_destroy(st);
	memset(&r, 0, sizeof r);
	opts = options(&r);
	CHECK_OK(migrate_up(d.t, short_plan, 0, &opts, &err), &err);
	CHECK_INT(r.warnings, 1);
	CHECK_HAS(r.warning, "version 3 (\"seed\") is recorded in the database but not in the plan");
	rc = migrate_down(d.t, short_plan, 1, NULL, &err);
	CHECK_INT(rc, MIGRATE_ESTATE);
	CHECK_HAS(err.message, "version 3");
	CHECK_TABLES(&d, "people.json=" S3 "\n");

	/* A version 2 that arrives after 3 was applied. */
	{
		static const char *const tables_json[] = {
			"{\"op\":\"create_table\",\"table\":\"a\",\"columns\":[{\"name\":\"x\",\"type\":\"text\"}]}",
			"{\"op\":\"create_table\",\"table\":\"b\",\"columns\":[{\"name\":\"x\",\"type\":\"text\"}]}",
			"{\"op\":\"create_table\",\"table\":\"c\",\"columns\":[{\"name\":\"x\",\"type\":\"text\"}]}"};
		migrate_plan_t *early = NULL;
		char *before, *after;
		db e;
		uint64_t id;
		open_db(&e, "ooo");
		CHECK_OK(migrate_plan_new(&early, "ooo", &err), &err);
		CHECK_OK(migrate_plan_new(&gap, "ooo", &err), &err);
		for (id = 1; id <= 3; id++) {
			if (id != 2) {
				CHECK_OK(migrate_plan_add_version(early, id, "t", &v, &err), &err);
				add_json(v, tables_json[id - 1]);
			}
			CHECK_OK(migrate_plan_add_version(gap, id, "t", &v, &err), &err);
			add_json(v, tables_json[id - 1]);
		}
		CHECK_OK(migrate_up(e.t, early, 0, NULL, &err), &err);
		before = snapshot(&e);
		rc = migrate_up(e.t, gap, 0, NULL, &err);
		CHECK_INT(rc, MIGRATE_EORDER);
		CHECK_HAS(err.message, "version 2 (\"t\") is pending but version 3 is already applied");
		after = snapshot(&e);
		CHECK_STR(after, before);
		bson_free(after);
		CHECK_INT(check_state(&e, gap), MIGRATE_CHECK_PENDING);
		opts.allow_out_of_order = 1;
		CHECK_OK(migrate_up(e.t, gap, 0, &opts, &err), &err);
		CHECK_TABLES(&e, "a.json={\"columns\":[{\"name\":\"x\",\"type\":\"text\"}],\"rows\":[]}\n"
				 "b.json={\"columns\":[{\"name\":\"x\",\"type\":\"text\"}],\"rows\":[]}\n"
				 "c.json={\"columns\":[{\"name\":\"x\",\"type\":\"text\"}],\"rows\":[]}\n");
		for (id = 1; id <= 3; id++)
			check_applied(&e, gap, id);
		bson_free(before);
		migrate_plan_destroy(early);
		migrate_target_close(e.t);
	}
	migrate_plan_destroy(gap);
	migrate_plan_destroy(full);
	migrate_plan_destroy(short_plan);
	migrate_target_close(d.t);
}
