/* Fleets of processes running `up` at once (tests/fleet.h). */
#include "fleet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int on_event(const migrate_event_t *ev, void *payload)
{
	fleet_report_t *r = payload;

	if (ev->type == MIGRATE_EVENT_LOCK_ACQUIRED || ev->type == MIGRATE_EVENT_LOCK_WAIT) {
		r->polls = ev->processed;
		r->waited_ms = ev->elapsed_ms;
	}
	if (ev->type == MIGRATE_EVENT_VERSION_END)
		r->applied++;
	return 0;
}

/* One process of the fleet: waits for the start, runs `up`, then asks whether the database is up to date. */
static void child(const fleet_t *f, int i, int go, int back)
{
	migrate_target_t *t = NULL;
	migrate_plan_t *plan = f->plan();
	migrate_run_options_t o;
	migrate_check_state_t state = MIGRATE_CHECK_PENDING;
	migrate_error_t err;
	fleet_report_t r;
	char b;
	int64_t t0;

	memset(&r, 0, sizeof r);
	r.pid = (long)getpid();
	if (migrate_target_open(&t, f->url, &err) != 0) {
		fprintf(stderr, "process %d: %s\n", i, err.message);
		_exit(3);
	}
	if (read(go, &b, 1) < 0) /* all start together when the pipe closes */
		_exit(4);
	t0 = now_ms();
	migrate_run_options_init(&o, MIGRATE_RUN_OPTIONS_VERSION);
	o.lock_timeout_ms = f->lock_timeout_ms ? f->lock_timeout_ms : 60000;
	o.on_event = on_event;
	o.event_payload = &r;
	r.rc = migrate_up(t, plan, 0, &o, &err);
	if (r.rc)
		snprintf(r.message, sizeof r.message, "%s", err.message);
	else if (migrate_check(t, plan, &state, &err) != 0)
		snprintf(r.message, sizeof r.message, "check: %s", err.message);
	r.up_to_date = r.rc == 0 && state == MIGRATE_CHECK_UP_TO_DATE;
	r.finish_ms = now_ms() - t0;
	migrate_target_close(t);
	migrate_plan_destroy(plan);
	if (write(back, &r, sizeof r) != (ssize_t)sizeof r)
		_exit(5);
	_exit(r.rc == 0 ? 0 : r.rc == MIGRATE_ELOCKED ? FLEET_EXIT_LOCKED : 1);
}

void fleet_run(fleet_t *f)
{
	pid_t pids[FLEET_MAX];
	int go[2], back[2], i;
	int64_t start;

	CHECK(f->processes > 0 && f->processes <= FLEET_MAX);
	CHECK(pipe(go) == 0 && pipe(back) == 0);
	fflush(NULL);
	for (i = 0; i < f->processes; i++) {
		pids[i] = fork();
		CHECK(pids[i] >= 0);
		if (pids[i] == 0) {
			close(go[1]);
			close(back[0]);
			child(f, i, go[0], back[1]);
		}
	}
	close(go[0]);
	close(back[1]);
	usleep(300000); /* the processes connect meanwhile */
	start = now_ms();
	close(go[1]);
	/* Each report is one write of less than PIPE_BUF bytes, so reports do not interleave. */
	for (i = 0; i < f->processes; i++) {
		const fleet_report_t *r = &f->reports[i];

		CHECK(read(back[0], &f->reports[i], sizeof f->reports[i]) == (ssize_t)sizeof f->reports[i]);
		if (r->message[0] && r->rc != MIGRATE_ELOCKED) /* timeouts are counted, not told */
			fprintf(stderr, "process %ld: %s\n", r->pid, r->message);
	}
	/* The reports came in the order the processes finished: each exit code goes with its process's report. */
	for (i = 0; i < f->processes; i++) {
		int st = 0, j;

		CHECK(waitpid(pids[i], &st, 0) == pids[i]);
		CHECK(WIFEXITED(st));
		for (j = 0; j < f->processes && f->reports[j].pid != (long)pids[i]; j++)
			;
		CHECK(j < f->processes);
		f->status[j] = WEXITSTATUS(st);
	}
	close(back[0]);
	f->wall_ms = now_ms() - start;
}

void fleet_figures(const fleet_t *f, fleet_figures_t *out)
{
	int i;

	memset(out, 0, sizeof *out);
	out->server = -1;
	for (i = 0; i < f->processes; i++) {
		const fleet_report_t *r = &f->reports[i];

		out->ok += f->status[i] == 0;
		out->locked += f->status[i] == FLEET_EXIT_LOCKED;
		out->applied += r->applied;
		out->migrators += r->applied > 0;
		if (r->finish_ms > out->last_ms)
			out->last_ms = r->finish_ms;
		if (r->applied == 0 && r->rc == 0) {
			out->waiters++;
			out->polls += r->polls;
			out->waited_ms += r->waited_ms;
			if (r->waited_ms > out->max_waited_ms)
				out->max_waited_ms = r->waited_ms;
			if (r->polls > out->max_polls)
				out->max_polls = r->polls;
		}
	}
}

/*
 * The most polls a waiter may make in `waited_ms` under lib/lock.c's
 * backoff: sleeps of 20 ms doubling to 640 ms, each at least half its
 * nominal length after the jitter; one poll more for the last attempt.
 */
static int64_t polls_allowed(int64_t waited_ms)
{
	int64_t polls = 1, slept = 0, backoff = 20;

	for (;;) {
		slept += backoff / 2;
		if (slept > waited_ms + 1)
			return polls;
		polls++;
		if (backoff < 500)
			backoff *= 2;
	}
}

void fleet_check(const fleet_t *f, int versions, fleet_figures_t *out)
{
	int i;

	for (i = 0; i < f->processes; i++) {
		const fleet_report_t *r = &f->reports[i];

		if (f->status[i] != 0 && f->status[i] != FLEET_EXIT_LOCKED)
			harness_fail(__FILE__, __LINE__, "process %ld exited with %d: %s", r->pid, f->status[i],
				     r->message);
		if (f->status[i] == 0 && !r->up_to_date)
			harness_fail(__FILE__, __LINE__, "process %ld: not up to date after its up: %s", r->pid,
				     r->message);
		if (r->applied == 0 && r->polls > polls_allowed(r->waited_ms))
			harness_fail(__FILE__, __LINE__,
				     "process %ld polled the lock %lld times in %lld ms (at most %lld)", r->pid,
				     (long long)r->polls, (long long)r->waited_ms,
				     (long long)polls_allowed(r->waited_ms));
	}
	fleet_figures(f, out);
	CHECK_INT(out->migrators, 1);
	CHECK_INT(out->applied, versions);
	CHECK(out->ok >= 1);
}

void fleet_print(const char *driver, const fleet_t *f, int versions, long rows, const char *size_note,
		 const fleet_figures_t *fig)
{
	char rows_text[64], server[120] = "";

	if (rows < 0)
		snprintf(rows_text, sizeof rows_text, "-");
	else
		snprintf(rows_text, sizeof rows_text, "%ld%s%s%s", rows, size_note ? " (" : "",
			 size_note ? size_note : "", size_note ? ")" : "");
	if (fig->server >= 0)
		snprintf(server, sizeof server, " | server: %lld transactions, %.0f/s", (long long)fig->server,
			 f->wall_ms ? (double)fig->server * 1000.0 / (double)f->wall_ms : 0.0);
	fprintf(stderr,
		"FLEET | %-30s | %d processes | %d versions | rows %s | %d double applies | exit 0: %d, "
		"lock timeout (%d): %d | last finished after %lld ms | %d waiters polled %.1f times on average, "
		"at most %lld | %.2f polls/s per waiting process, %.0f/s in all%s\n",
		driver, f->processes, versions, rows_text, fig->applied - versions, fig->ok, FLEET_EXIT_LOCKED,
		fig->locked, (long long)fig->last_ms, fig->waiters,
		fig->waiters ? (double)fig->polls / fig->waiters : 0.0, (long long)fig->max_polls,
		fig->waited_ms ? (double)fig->polls * 1000.0 / (double)fig->waited_ms : 0.0,
		fig->max_waited_ms ? (double)fig->polls * 1000.0 / (double)fig->max_waited_ms : 0.0, server);
}
