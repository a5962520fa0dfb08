/*
 * Fleets: `n` processes (fork, each with its own target) run `up` on one
 * database at once, as the replicas of a deployment do, and report what
 * each did: its answer, the versions it applied, its lock polls and how
 * long it waited. Shared by the fleet tests of every driver
 * (tests/fleet_seed.c) and the pooler tests (tests/postgres_pooler.c).
 */
#ifndef MIGRATE_TEST_FLEET_H
#define MIGRATE_TEST_FLEET_H

#include <stdint.h>

#include "harness.h"

#define FLEET_MAX 64
/* A process that timed out on the lock exits with the CLI's documented code (docs/cli.md). */
#define FLEET_EXIT_LOCKED 6

/* What one process of the fleet did. */
typedef struct fleet_report {
	long pid;          /* the process */
	int rc;            /* migrate_up's answer */
	int applied;       /* versions this process applied */
	int up_to_date;    /* migrate_check said up to date after its `up` */
	int64_t polls;     /* lock attempts (the lock events' `processed`) */
	int64_t waited_ms; /* until the lock was taken */
	int64_t finish_ms; /* since the start signal */
	char message[200];
} fleet_report_t;

typedef struct fleet {
	/* Set by the caller. */
	const char *url;
	migrate_plan_t *(*plan)(void); /* each process builds its own */
	int processes;                 /* at most FLEET_MAX */
	int64_t lock_timeout_ms;       /* 0: 60000 */
	/* Filled by fleet_run(). */
	fleet_report_t reports[FLEET_MAX];
	int status[FLEET_MAX]; /* exit codes, of reports[i]'s process: 0, FLEET_EXIT_LOCKED or 1 */
	int64_t wall_ms;       /* from the start signal to the last exit */
} fleet_t;

/* The fleet's figures, from its reports. */
typedef struct fleet_figures {
	int migrators;         /* processes that applied a version */
	int applied;           /* versions applied, summed over the processes */
	int waiters;           /* processes that applied none and exited 0 (a timeout's polls go untold) */
	int ok, locked;        /* exit codes 0 and FLEET_EXIT_LOCKED */
	int64_t last_ms;       /* the last finisher's time */
	int64_t polls;         /* lock polls of the waiters, summed */
	int64_t max_polls;     /* of one waiter */
	int64_t waited_ms;     /* of the waiters, summed */
	int64_t max_waited_ms; /* of one waiter */
	int64_t server;        /* what the server counted during the run (its transactions), or -1 */
} fleet_figures_t;

/*
 * Runs `up` in f->processes processes at once: each opens its target and
 * builds its plan, then all start when the parent closes a pipe. Fails
 * the test when a process dies or reports nothing.
 */
void fleet_run(fleet_t *f);

/* Adds up the reports (server: -1). */
void fleet_figures(const fleet_t *f, fleet_figures_t *out);

/*
 * Checks the fleet of a plan of `versions` versions: every process exited
 * with 0 (or FLEET_EXIT_LOCKED, counted), exactly one applied every version
 * and the others saw the database up to date after their `up`, and no
 * waiter polled the lock faster than the engine's backoff allows.
 */
void fleet_check(const fleet_t *f, int versions, fleet_figures_t *out);

/* Prints the fleet's line of figures on stderr (`rows` < 0: none; `size_note` may be NULL). */
void fleet_print(const char *driver, const fleet_t *f, int versions, long rows, const char *size_note,
		 const fleet_figures_t *fig);

#endif
