/*
 * The commands of `migrate`: each is one call of the public API followed by
 * its report, and returns the process exit code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define NAME_WIDTH_MAX 40

static const char *plan_name(const cli_t *c)
{
	return migrate_plan_name(c->plan);
}

/* Adds what every database command's document starts with. */
static void json_target(cli_t *c)
{
	BSON_APPEND_UTF8(c->doc, "plan", plan_name(c));
	BSON_APPEND_UTF8(c->doc, "driver", migrate_target_driver_name(c->target));
}

static int version_operand(cli_t *c, int zero_ok, uint64_t *out)
{
	*out = 0;
	if (!c->operand)
		return 0;
	if (cli_parse_version(c->operand, zero_ok, out))
		return cli_usage_error(c, "%s: VERSION must be a version id (a whole number%s), not \"%s\"", c->command,
				       zero_ok ? " from 0" : " from 1", c->operand);
	return 0;
}

/* ---- status ------------------------------------------------------------ */

static void status_note(const migrate_status_entry_t *e, char *out, size_t size)
{
	size_t n = 0;

	out[0] = '\0';
	if (!e->in_plan)
		n += (size_t)snprintf(out + n, size - n, "not in the plan; ");
	else if (!e->checksum_matches && e->state != MIGRATE_STATE_PENDING)
		n += (size_t)snprintf(out + n, size - n, "edited since applied (checksum differs); ");
	if (n < size && (e->state == MIGRATE_STATE_APPLYING || e->state == MIGRATE_STATE_FAILED ||
			 e->state == MIGRATE_STATE_REVERTING))
		n += (size_t)snprintf(out + n, size - n, "%u of %u steps in effect; ", e->steps_done, e->steps_total);
	if (n < size && e->error)
		n += (size_t)snprintf(out + n, size - n, "%s; ", e->error);
	if (n >= 2 && n < size)
		out[n - 2] = '\0';
}

/* Copies at most `width` characters of UTF-8 text, never splitting one. */
static void clip(const char *s, int width, char *out, size_t size)
{
	size_t i = 0, o = 0;
	int chars = 0;

	while (s[i] && chars < width && o + 8 < size) {
		size_t len = 1;
		while ((s[i + len] & 0xC0) == 0x80)
			len++;
		memcpy(out + o, s + i, len);
		o += len;
		i += len;
		chars++;
	}
	if (s[i] && o >= 3) {
		/* Mark the cut: replace the last character with "~". */
		while (o > 0 && (out[o - 1] & 0xC0) == 0x80)
			o--;
		out[o - 1] = '~';
	}
	out[o] = '\0';
}

static int utf8_width(const char *s)
{
	int n = 0;

	for (; *s; s++)
		if ((*s & 0xC0) != 0x80)
			n++;
	return n;
}

static void status_table(cli_t *c, const migrate_status_t *st)
{
	size_t i, n = migrate_status_count(st);
	unsigned counts[5] = {0, 0, 0, 0, 0};
	int wname = 4, wid = 2;
	char at[32], took[32], note[1400], name[NAME_WIDTH_MAX * 4 + 8], idbuf[24];

	for (i = 0; i < n; i++) {
		const migrate_status_entry_t *e = migrate_status_entry(st, i);
		int w = utf8_width(e->name ? e->name : "");
		snprintf(idbuf, sizeof idbuf, "%llu", (unsigned long long)e->id);
		if (w > wname)
			wname = w > NAME_WIDTH_MAX ? NAME_WIDTH_MAX : w;
		if ((int)strlen(idbuf) > wid)
			wid = (int)strlen(idbuf);
	}
	printf("plan \"%s\" on %s\n\n", plan_name(c), c->url_shown);
	printf("%*s  %-*s  %-9s  %-20s  %-10s  %s\n", wid, "ID", wname, "NAME", "STATE", "APPLIED AT", "DURATION",
	       "NOTE");
	for (i = 0; i < n; i++) {
		const migrate_status_entry_t *e = migrate_status_entry(st, i);
		int pad;
		if (e->state >= 0 && e->state < 5)
			counts[e->state]++;
		clip(e->name ? e->name : "", wname, name, sizeof name);
		pad = wname - utf8_width(name);
		cli_format_time(e->state == MIGRATE_STATE_APPLIED ? e->finished_at_ms : e->started_at_ms, at,
				sizeof at);
		cli_format_duration(e->state == MIGRATE_STATE_APPLIED ? e->duration_ms : -1, took, sizeof took);
		status_note(e, note, sizeof note);
		if (note[0])
			printf("%*llu  %s%*s  %-9s  %-20s  %-10s  %s\n", wid, (unsigned long long)e->id, name, pad, "",
			       migrate_state_name(e->state), at, took, note);
		else
			printf("%*llu  %s%*s  %-9s  %-20s  %s\n", wid, (unsigned long long)e->id, name, pad, "",
			       migrate_state_name(e->state), at, took);
	}
	printf("\n%zu version%s: %u applied, %u pending", n, n == 1 ? "" : "s", counts[MIGRATE_STATE_APPLIED],
	       counts[MIGRATE_STATE_PENDING]);
	if (counts[MIGRATE_STATE_FAILED])
		printf(", %u failed", counts[MIGRATE_STATE_FAILED]);
	if (counts[MIGRATE_STATE_APPLYING])
		printf(", %u applying", counts[MIGRATE_STATE_APPLYING]);
	if (counts[MIGRATE_STATE_REVERTING])
		printf(", %u reverting", counts[MIGRATE_STATE_REVERTING]);
	printf("\n");
}

static void status_json(cli_t *c, const migrate_status_t *st)
{
	size_t i, n = migrate_status_count(st);
	bson_t arr, e;
	char key[16];
	const char *k;

	json_target(c);
	bson_append_array_begin(c->doc, "versions", -1, &arr);
	for (i = 0; i < n; i++) {
		const migrate_status_entry_t *s = migrate_status_entry(st, i);
		bson_uint32_to_string((uint32_t)i, &k, key, sizeof key);
		bson_append_document_begin(&arr, k, -1, &e);
		BSON_APPEND_INT64(&e, "id", (int64_t)s->id);
		BSON_APPEND_UTF8(&e, "name", s->name ? s->name : "");
		BSON_APPEND_UTF8(&e, "state", migrate_state_name(s->state));
		BSON_APPEND_BOOL(&e, "in_plan", s->in_plan != 0);
		BSON_APPEND_BOOL(&e, "checksum_matches", s->checksum_matches != 0);
		BSON_APPEND_INT64(&e, "steps_done", s->steps_done);
		BSON_APPEND_INT64(&e, "steps_total", s->steps_total);
		cli_json_time(&e, "started_at", s->started_at_ms);
		cli_json_time(&e, "finished_at", s->finished_at_ms);
		if (s->state == MIGRATE_STATE_APPLIED)
			BSON_APPEND_INT64(&e, "duration_ms", s->duration_ms);
		else
			BSON_APPEND_NULL(&e, "duration_ms");
		if (s->applied_by)
			BSON_APPEND_UTF8(&e, "applied_by", s->applied_by);
		else
			BSON_APPEND_NULL(&e, "applied_by");
		if (s->error)
			BSON_APPEND_UTF8(&e, "error", s->error);
		else
			BSON_APPEND_NULL(&e, "error");
		if (s->checksum)
			BSON_APPEND_UTF8(&e, "checksum", s->checksum);
		else
			BSON_APPEND_NULL(&e, "checksum");
		bson_append_document_end(&arr, &e);
	}
	bson_append_array_end(c->doc, &arr);
}

int cmd_status(cli_t *c)
{
	migrate_status_t *st = NULL;
	migrate_error_t err = {0};
	int rc;

	if ((rc = migrate_status_get(c->target, c->plan, &st, &err)))
		return cli_fail(c, rc, &err);
	if (c->json)
		status_json(c, st);
	else
		status_table(c, st);
	migrate_status_destroy(st);
	return c->json ? cli_json_end(c, 0) : 0;
}

/* ---- plan (dry run) ---------------------------------------------------- */

int cmd_plan(cli_t *c)
{
	migrate_status_t *st = NULL;
	migrate_error_t err = {0};
	char *text = NULL;
	uint64_t target;
	int rc;

	if ((rc = version_operand(c, 0, &target)))
		return rc;
	if ((rc = migrate_render(c->target, c->plan, target, &text, &err)))
		return cli_fail(c, rc, &err);
	if (!c->json) {
		if (*text)
			fputs(text, stdout);
		else
			fprintf(stderr, "migrate: plan \"%s\" is up to date: nothing to run\n", plan_name(c));
		migrate_free(text);
		return 0;
	}
	if ((rc = migrate_status_get(c->target, c->plan, &st, &err))) {
		migrate_free(text);
		return cli_fail(c, rc, &err);
	}
	json_target(c);
	{
		bson_t arr;
		size_t i;
		uint32_t n = 0;
		char key[16];
		const char *k;
		bson_append_array_begin(c->doc, "pending", -1, &arr);
		for (i = 0; i < migrate_status_count(st); i++) {
			const migrate_status_entry_t *e = migrate_status_entry(st, i);
			if (!e->in_plan || e->state == MIGRATE_STATE_APPLIED || (target && e->id > target))
				continue;
			bson_uint32_to_string(n++, &k, key, sizeof key);
			bson_append_int64(&arr, k, -1, (int64_t)e->id);
		}
		bson_append_array_end(c->doc, &arr);
	}
	BSON_APPEND_UTF8(c->doc, "render", text);
	migrate_status_destroy(st);
	migrate_free(text);
	return cli_json_end(c, 0);
}

/* ---- up and down ------------------------------------------------------- */

static int finish_run(cli_t *c, int up, uint64_t target)
{
	if (c->json) {
		json_target(c);
		if (target || !up)
			BSON_APPEND_INT64(c->doc, "target_version", (int64_t)target);
		BSON_APPEND_INT32(c->doc, up ? "versions_applied" : "versions_reverted", (int32_t)c->versions_run);
		return cli_json_end(c, 0);
	}
	if (c->quiet)
		return 0;
	if (c->versions_run == 0)
		printf("plan \"%s\": nothing to %s\n", plan_name(c), up ? "apply: up to date" : "revert");
	else
		printf("plan \"%s\": %u version%s %s\n", plan_name(c), c->versions_run, c->versions_run == 1 ? "" : "s",
		       up ? "applied" : "reverted");
	return 0;
}

int cli_adopt(cli_t *c)
{
	migrate_error_t err = {0};
	uint64_t adopted = 0;
	int rc;

	if ((rc = migrate_adopt(c->target, c->plan, c->plan_format, &c->opts, &adopted, &err)))
		return cli_fail(c, rc, &err);
	if (adopted && !c->quiet && !c->json)
		printf("plan \"%s\": adopted %llu version%s applied by %s (recorded as applied; its table is "
		       "left as it is)\n",
		       plan_name(c), (unsigned long long)adopted, adopted == 1 ? "" : "s", c->plan_format);
	return 0;
}

int cmd_up(cli_t *c)
{
	migrate_error_t err = {0};
	uint64_t target;
	int rc;

	if ((rc = version_operand(c, 0, &target)))
		return rc;
	if ((rc = migrate_up(c->target, c->plan, target, &c->opts, &err)))
		return cli_fail(c, rc, &err);
	return finish_run(c, 1, target);
}

int cmd_down(cli_t *c)
{
	migrate_error_t err = {0};
	uint64_t target;
	int rc;

	if ((rc = version_operand(c, 1, &target)))
		return rc;
	if ((rc = migrate_down(c->target, c->plan, target, &c->opts, &err)))
		return cli_fail(c, rc, &err);
	return finish_run(c, 0, target);
}

/* The ids of the applied versions, oldest first (status lists them in id order); caller frees. */
static int applied_versions(cli_t *c, uint64_t **ids, size_t *n)
{
	migrate_status_t *st = NULL;
	migrate_error_t err = {0};
	size_t i, count;
	int rc;

	*ids = NULL;
	*n = 0;
	if ((rc = migrate_status_get(c->target, c->plan, &st, &err)))
		return cli_fail(c, rc, &err);
	count = migrate_status_count(st);
	if (count && !(*ids = malloc(count * sizeof **ids))) {
		migrate_status_destroy(st);
		cli_set_error(&err, MIGRATE_DOMAIN_API, MIGRATE_ENOMEM, "out of memory");
		return cli_fail(c, MIGRATE_ENOMEM, &err);
	}
	for (i = 0; i < count; i++) {
		const migrate_status_entry_t *e = migrate_status_entry(st, i);
		if (e->state == MIGRATE_STATE_APPLIED)
			(*ids)[(*n)++] = e->id;
	}
	migrate_status_destroy(st);
	return 0;
}

int cmd_rollback(cli_t *c)
{
	migrate_error_t err = {0};
	uint64_t steps = 1, target, *ids;
	size_t n;
	int rc;

	if (c->operand && (cli_parse_version(c->operand, 0, &steps) || steps > 1000000))
		return cli_usage_error(c, "rollback: N must be a count of versions (a whole number from 1), not \"%s\"",
				       c->operand);
	if ((rc = applied_versions(c, &ids, &n)))
		return rc;
	/* Down to the newest applied version that stays, or to 0. */
	target = steps >= n ? 0 : ids[n - steps - 1];
	free(ids);
	if (n && (rc = migrate_down(c->target, c->plan, target, &c->opts, &err)))
		return cli_fail(c, rc, &err);
	return finish_run(c, 0, target);
}

int cmd_redo(cli_t *c)
{
	migrate_error_t err = {0};
	uint64_t last, below, *ids;
	unsigned reverted;
	size_t n;
	int rc;

	if ((rc = applied_versions(c, &ids, &n)))
		return rc;
	last = n ? ids[n - 1] : 0;
	below = n > 1 ? ids[n - 2] : 0;
	free(ids);
	if (!n) {
		if (c->json)
			return finish_run(c, 0, 0);
		if (!c->quiet)
			printf("plan \"%s\": nothing to redo: no version is applied\n", plan_name(c));
		return 0;
	}
	if ((rc = migrate_down(c->target, c->plan, below, &c->opts, &err)))
		return cli_fail(c, rc, &err);
	reverted = c->versions_run;
	c->versions_run = 0;
	if ((rc = migrate_up(c->target, c->plan, last, &c->opts, &err)))
		return cli_fail(c, rc, &err);
	if (c->json) {
		json_target(c);
		BSON_APPEND_INT64(c->doc, "target_version", (int64_t)last);
		BSON_APPEND_INT32(c->doc, "versions_reverted", (int32_t)reverted);
		BSON_APPEND_INT32(c->doc, "versions_applied", (int32_t)c->versions_run);
		return cli_json_end(c, 0);
	}
	if (!c->quiet)
		printf("plan \"%s\": version %llu redone\n", plan_name(c), (unsigned long long)last);
	return 0;
}

/* ---- check and verify -------------------------------------------------- */

/* One finding as a line of text: "missing column jobs.note (version 2)". */
static void print_finding(const migrate_finding_t *f)
{
	const char *property = migrate_finding_property(f);

	printf("  %s %s %s", migrate_drift_kind_name(migrate_finding_kind(f)), migrate_finding_object_type(f),
	       migrate_finding_object(f));
	if (property)
		printf(": %s is %s, the plan says %s", property, migrate_finding_actual(f),
		       migrate_finding_expected(f));
	printf(" (version %llu)\n", (unsigned long long)migrate_finding_version(f));
}

static void json_finding(bson_t *arr, uint32_t i, const migrate_finding_t *f)
{
	char key[16];
	const char *k;
	bson_t d;

	bson_uint32_to_string(i, &k, key, sizeof key);
	BSON_APPEND_DOCUMENT_BEGIN(arr, k, &d);
	BSON_APPEND_UTF8(&d, "kind", migrate_drift_kind_name(migrate_finding_kind(f)));
	BSON_APPEND_UTF8(&d, "object_type", migrate_finding_object_type(f));
	BSON_APPEND_UTF8(&d, "object", migrate_finding_object(f));
	BSON_APPEND_INT64(&d, "version", (int64_t)migrate_finding_version(f));
	if (migrate_finding_property(f)) {
		BSON_APPEND_UTF8(&d, "property", migrate_finding_property(f));
		BSON_APPEND_UTF8(&d, "expected", migrate_finding_expected(f));
		BSON_APPEND_UTF8(&d, "actual", migrate_finding_actual(f));
	}
	bson_append_document_end(arr, &d);
}

/* check --schema: the history's answer and the drift report, from one call. */
static int check_schema(cli_t *c, migrate_check_state_t *state, migrate_schema_report_t **report)
{
	migrate_error_t err = {0};
	int rc;

	if ((rc = migrate_check_schema(c->target, c->plan, report, &err)))
		return cli_fail(c, rc, &err);
	*state = (migrate_check_state_t)migrate_schema_report_state(*report);
	return 0;
}

static void report_drift(cli_t *c, const migrate_schema_report_t *r)
{
	size_t i, n = migrate_schema_report_count(r);
	uint64_t partial = migrate_schema_report_partial(r);
	bson_t arr;

	if (c->json) {
		BSON_APPEND_ARRAY_BEGIN(c->doc, "drift", &arr);
		for (i = 0; i < n; i++)
			json_finding(&arr, (uint32_t)i, migrate_schema_report_finding(r, i));
		bson_append_array_end(c->doc, &arr);
		if (partial)
			BSON_APPEND_INT64(c->doc, "partial_after", (int64_t)partial);
		return;
	}
	if (c->quiet)
		return;
	if (n == 0)
		printf("plan \"%s\": the schema matches the applied versions\n", plan_name(c));
	else
		printf("plan \"%s\": the schema drifted from the applied versions (%zu finding%s):\n", plan_name(c), n,
		       n == 1 ? "" : "s");
	for (i = 0; i < n; i++)
		print_finding(migrate_schema_report_finding(r, i));
	if (partial)
		printf("  (raw steps up to version %llu: what they could have changed is checked for being missing "
		       "only)\n",
		       (unsigned long long)partial);
}

int cmd_check(cli_t *c)
{
	static const struct {
		const char *name, *text;
		int exit_code;
	} answers[] = {
		{"up_to_date", "up to date", EXIT_UP_TO_DATE},
		{"pending", "pending: some versions are not applied yet", EXIT_PENDING},
		{"failed", "failed: a version failed or was left half applied; `migrate up` resumes it",
		 EXIT_FAILED_VERSION},
		{"mismatch",
		 "checksum mismatch: an applied version was edited; revert the edit or run `migrate repair`",
		 EXIT_CHECKSUM},
	};
	migrate_error_t err = {0};
	migrate_schema_report_t *report = NULL;
	migrate_check_state_t state;
	migrate_check_details_t d = {.version = MIGRATE_CHECK_DETAILS_VERSION};
	const char *position;
	char where[200];
	int rc, code;

	/* With --schema, the versions' state is the drift report's (one read of
	 * the history each); the details come from a read of their own. */
	if ((rc = migrate_check_details(c->target, c->plan, &state, &d, &err)))
		return cli_fail(c, rc, &err);
	if (c->schema && (rc = check_schema(c, &state, &report)))
		return rc;
	if ((unsigned)state > MIGRATE_CHECK_MISMATCH) {
		migrate_schema_report_destroy(report);
		cli_set_error(&err, MIGRATE_DOMAIN_RUN, MIGRATE_EINTERNAL, "check returned an unknown state");
		return cli_fail(c, MIGRATE_EINTERNAL, &err);
	}
	code = answers[state].exit_code;
	/* The history's answer comes first: drift is the next question once the versions are up to date. */
	if (code == EXIT_UP_TO_DATE && migrate_schema_report_count(report))
		code = EXIT_DRIFT;
	/* Behind: versions to apply; ahead: a newer release applied versions this plan does not know. */
	position = d.pending ? "behind" : d.ahead ? "ahead" : "current";
	if (d.ahead && !d.pending)
		snprintf(where, sizeof where,
			 "database at version %llu, ahead of this plan's %llu: %zu newer version%s applied",
			 (unsigned long long)d.database_version, (unsigned long long)d.plan_version, d.ahead,
			 d.ahead == 1 ? "" : "s");
	else if (d.database_version)
		snprintf(where, sizeof where, "database at version %llu, plan at %llu",
			 (unsigned long long)d.database_version, (unsigned long long)d.plan_version);
	else
		snprintf(where, sizeof where, "nothing applied, plan at %llu", (unsigned long long)d.plan_version);
	if (c->json) {
		json_target(c);
		BSON_APPEND_UTF8(c->doc, "state", answers[state].name);
		BSON_APPEND_UTF8(c->doc, "position", position);
		BSON_APPEND_INT64(c->doc, "database_version", (int64_t)d.database_version);
		BSON_APPEND_INT64(c->doc, "plan_version", (int64_t)d.plan_version);
		BSON_APPEND_INT64(c->doc, "pending", (int64_t)d.pending);
		BSON_APPEND_INT64(c->doc, "ahead", (int64_t)d.ahead);
	} else if (!c->quiet) {
		printf("plan \"%s\": %s (%s)\n", plan_name(c), answers[state].text, where);
	}
	if (report)
		report_drift(c, report);
	migrate_schema_report_destroy(report);
	return c->json ? cli_json_end(c, code) : code;
}

int cmd_verify(cli_t *c)
{
	migrate_error_t err = {0};
	int rc;

	rc = migrate_verify(c->target, c->plan, &c->opts, &err);
	if (c->json) {
		json_target(c);
		BSON_APPEND_INT32(c->doc, "asserts_run", (int32_t)c->asserts_run);
		BSON_APPEND_INT32(c->doc, "asserts_failed", (int32_t)c->asserts_failed);
	}
	if (rc)
		return cli_fail(c, rc, &err);
	if (c->json)
		return cli_json_end(c, 0);
	if (c->quiet)
		return 0;
	if (c->asserts_run == 0)
		printf("plan \"%s\": no applied version has an assert step\n", plan_name(c));
	else
		printf("plan \"%s\": all %u assertion%s hold\n", plan_name(c), c->asserts_run,
		       c->asserts_run == 1 ? "" : "s");
	return 0;
}

/* ---- baseline and repair ----------------------------------------------- */

int cmd_baseline(cli_t *c)
{
	migrate_error_t err = {0};
	uint64_t version;
	int rc;

	if ((rc = version_operand(c, 0, &version)))
		return rc;
	if ((rc = migrate_baseline(c->target, c->plan, version, &c->opts, &err)))
		return cli_fail(c, rc, &err);
	if (c->json) {
		json_target(c);
		BSON_APPEND_INT64(c->doc, "baseline", (int64_t)version);
		return cli_json_end(c, 0);
	}
	if (!c->quiet)
		printf("plan \"%s\": versions up to %llu marked applied without running them\n", plan_name(c),
		       (unsigned long long)version);
	return 0;
}

int cmd_repair(cli_t *c)
{
	migrate_error_t err = {0};
	size_t changed = 0;
	int rc;

	if ((rc = migrate_repair(c->target, c->plan, &c->opts, &changed, &err)))
		return cli_fail(c, rc, &err);
	if (c->json) {
		json_target(c);
		BSON_APPEND_INT64(c->doc, "realigned", (int64_t)changed);
		return cli_json_end(c, 0);
	}
	if (!c->quiet)
		printf("plan \"%s\": %zu history record%s realigned with the plan\n", plan_name(c), changed,
		       changed == 1 ? "" : "s");
	return 0;
}

/* ---- version ----------------------------------------------------------- */

int cmd_version(cli_t *c)
{
	if (c->json) {
		cli_json_begin(c);
		BSON_APPEND_UTF8(c->doc, "cli", MIGRATE_VERSION_STRING);
		BSON_APPEND_UTF8(c->doc, "library", migrate_version_string());
		BSON_APPEND_INT32(c->doc, "library_number", migrate_version_number());
		return cli_json_end(c, 0);
	}
	printf("migrate %s (libmigrate %s)\n", MIGRATE_VERSION_STRING, migrate_version_string());
	return 0;
}
