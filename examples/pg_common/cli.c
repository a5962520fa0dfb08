/* The command line shared by the PostgreSQL seed examples; see cli.h. */
#include "cli.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int report(const char *name, const char *what, int rc, const migrate_error_t *err)
{
	fprintf(stderr, "%s: %s failed (%s): %s\n", name, what, migrate_strerror(rc), err->message);
	return 1;
}

static int on_event(const migrate_event_t *ev, void *payload)
{
	const char *name = payload;

	switch (ev->type) {
	case MIGRATE_EVENT_VERSION_START:
		printf("%s: %s version %" PRIu64 " (%s)%s%s\n", name,
		       ev->direction == MIGRATE_DIRECTION_UP ? "applying" : "reverting", ev->version_id,
		       ev->version_name ? ev->version_name : "", ev->message ? ": " : "",
		       ev->message ? ev->message : "");
		break;
	case MIGRATE_EVENT_PROGRESS:
		printf("%s:   %s: %" PRId64 " of ~%" PRId64 " rows\n", name, ev->op ? ev->op : "", ev->processed,
		       ev->total);
		break;
	case MIGRATE_EVENT_LOCK_WAIT:
	case MIGRATE_EVENT_WARNING:
	case MIGRATE_EVENT_RETRY: printf("%s:   %s\n", name, ev->message ? ev->message : ""); break;
	default: break;
	}
	fflush(stdout);
	return 0;
}

static int status(const char *name, migrate_target_t *t, const migrate_plan_t *plan)
{
	migrate_status_t *st = NULL;
	migrate_error_t err;
	size_t i;
	int rc = migrate_status_get(t, plan, &st, &err);

	if (rc)
		return report(name, "status", rc, &err);
	printf("%-8s %-10s %-8s %s\n", "version", "state", "ms", "name");
	for (i = 0; i < migrate_status_count(st); i++) {
		const migrate_status_entry_t *e = migrate_status_entry(st, i);
		printf("%-8" PRIu64 " %-10s %-8" PRId64 " %s%s%s\n", e->id, migrate_state_name(e->state),
		       e->duration_ms, e->name ? e->name : "", e->error ? "  error: " : "", e->error ? e->error : "");
	}
	migrate_status_destroy(st);
	return 0;
}

int example_ready(const example_t *ex, migrate_target_t *t, const migrate_plan_t *plan)
{
	static const char *const states[] = {"up to date", "pending", "failed", "checksum mismatch"};
	migrate_schema_report_t *drift = NULL;
	migrate_error_t err;
	size_t i, n;
	int rc = migrate_check_schema(t, plan, &drift, &err), state;

	if (rc) {
		report(ex->name, "check", rc, &err);
		return 0;
	}
	state = migrate_schema_report_state(drift);
	n = migrate_schema_report_count(drift);
	if (state != MIGRATE_CHECK_UP_TO_DATE)
		printf("%s: not ready: migrations %s\n", ex->name, states[state & 3]);
	else if (n)
		printf("%s: not ready: the schema drifted from the plan\n", ex->name);
	else
		printf("%s: ready\n", ex->name);
	for (i = 0; state == MIGRATE_CHECK_UP_TO_DATE && i < n; i++) {
		const migrate_finding_t *f = migrate_schema_report_finding(drift, i);
		printf("  %s %s %s (version %llu)\n", migrate_drift_kind_name(migrate_finding_kind(f)),
		       migrate_finding_object_type(f), migrate_finding_object(f),
		       (unsigned long long)migrate_finding_version(f));
	}
	migrate_schema_report_destroy(drift);
	return state == MIGRATE_CHECK_UP_TO_DATE && n == 0;
}

static int up(const example_t *ex, migrate_target_t *t, const migrate_plan_t *plan)
{
	migrate_run_options_t o;
	migrate_error_t err;
	int rc;

	if (ex->prepare && ex->prepare(migrate_target_native_handle(t)) != 0)
		return 1;
	migrate_run_options_init(&o, MIGRATE_RUN_OPTIONS_VERSION);
	o.on_event = on_event;
	o.event_payload = (void *)ex->name;
	if ((rc = migrate_up(t, plan, 0, &o, &err)) != 0)
		return report(ex->name, "up", rc, &err);
	printf("%s: migrated\n", ex->name);
	return 0;
}

static int down(const example_t *ex, migrate_target_t *t, const migrate_plan_t *plan)
{
	migrate_run_options_t o;
	migrate_error_t err;
	int rc;

	migrate_run_options_init(&o, MIGRATE_RUN_OPTIONS_VERSION);
	o.on_event = on_event;
	o.event_payload = (void *)ex->name;
	if ((rc = migrate_down(t, plan, ex->rollback_to, &o, &err)) != 0)
		return report(ex->name, "rollback", rc, &err);
	printf("%s: rolled back to version %" PRIu64 "\n", ex->name, ex->rollback_to);
	return 0;
}

static int render(const example_t *ex, migrate_target_t *t, const migrate_plan_t *plan)
{
	migrate_error_t err;
	char *out = NULL;
	int rc = migrate_render(t, plan, 0, &out, &err);

	if (rc)
		return report(ex->name, "render", rc, &err);
	fputs(out, stdout);
	migrate_free(out);
	return 0;
}

/* (down,) up, down, up: readiness fails whenever something is pending and holds after each up. */
static int cycle(const example_t *ex, migrate_target_t *t, const migrate_plan_t *plan)
{
	int i;

	if (example_ready(ex, t, plan) && down(ex, t, plan))
		return 1;
	for (i = 0; i < 2; i++) {
		if (example_ready(ex, t, plan)) {
			fprintf(stderr, "%s: ready while versions are pending\n", ex->name);
			return 1;
		}
		if (up(ex, t, plan))
			return 1;
		if (!example_ready(ex, t, plan)) {
			fprintf(stderr, "%s: not ready after up\n", ex->name);
			return 1;
		}
		if (i == 0 && down(ex, t, plan))
			return 1;
	}
	return 0;
}

int example_main(const example_t *ex, int argc, char **argv)
{
	migrate_target_t *t = NULL;
	migrate_plan_t *plan = NULL;
	migrate_error_t err;
	const char *mode = argc > 2 ? argv[2] : "";
	int rc;

	if (argc < 2 || argc > 3 || argv[1][0] == '-') {
		fprintf(stderr, "usage: %s URL [--status|--rollback|--check|--render|--cycle]\n", ex->name);
		return 2;
	}
	if ((rc = ex->plan(&plan, &err)) != 0)
		return report(ex->name, "building the plan", rc, &err);
	if ((rc = migrate_target_open(&t, argv[1], &err)) != 0) {
		migrate_plan_destroy(plan);
		return report(ex->name, "connecting", rc, &err);
	}
	if (!*mode)
		rc = up(ex, t, plan);
	else if (!strcmp(mode, "--status"))
		rc = status(ex->name, t, plan);
	else if (!strcmp(mode, "--rollback"))
		rc = down(ex, t, plan);
	else if (!strcmp(mode, "--check"))
		rc = example_ready(ex, t, plan) ? 0 : 1;
	else if (!strcmp(mode, "--render"))
		rc = render(ex, t, plan);
	else if (!strcmp(mode, "--cycle"))
		rc = cycle(ex, t, plan);
	else {
		fprintf(stderr, "%s: unknown option %s\n", ex->name, mode);
		rc = 2;
	}
	migrate_target_close(t);
	migrate_plan_destroy(plan);
	return rc;
}
