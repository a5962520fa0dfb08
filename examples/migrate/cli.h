/*
 * The `migrate` command-line tool: shared state of one invocation.
 *
 * migrate.c parses the command line and dispatches, commands.c runs each
 * command through the public API, report.c prints what happens (the human
 * text, the progress bar, or one JSON document built with libbson).
 */
#ifndef MIGRATE_CLI_H
#define MIGRATE_CLI_H

#include <signal.h>

#include <bson/bson.h>
#include <migrate/driver.h>
#include <migrate/migrate.h>

/* Exit codes, documented in docs/cli.md and `migrate help`. */
#define EXIT_UP_TO_DATE 0
#define EXIT_FAILURE_OTHER 1
#define EXIT_USAGE 2
#define EXIT_PENDING 3
#define EXIT_FAILED_VERSION 4
#define EXIT_CHECKSUM 5
#define EXIT_LOCK_TIMEOUT 6
#define EXIT_NO_DATABASE 7
#define EXIT_DRIFT 8
#define EXIT_LINT_ERROR 9
#define EXIT_CANCELED 130

#define CLI_URL_SHOWN_MAX 1024

typedef struct cli {
	/* The command line. */
	const char *command;
	const char *url;
	char url_buf[CLI_URL_SHOWN_MAX];   /* a read-only SQLite URL made from `url` */
	char url_shown[CLI_URL_SHOWN_MAX]; /* the URL with any password replaced */
	const char *plan_path;
	char plan_format[32];      /* --plan FORMAT:DIR: another tool's directory (docs/switching.md); "" otherwise */
	const char *password_file; /* --password-file */
	char *url_owned;           /* `url` with the password of password_file, wiped once open */
	const char *operand;       /* VERSION, or NULL */
	int json;
	int quiet;    /* -q: errors only */
	int verbose;  /* -v: the library's log lines, statements as sent included */
	int readonly; /* the command writes nothing: a missing SQLite file is an error, not created */
	/* new --timestamp: a YYYYMMDDHHMMSS id */
	int timestamp_ids;
	/* check --schema: compare the schema with the plan's applied versions too */
	int schema;
	/* lint: --driver without --url, and --large-rows */
	const char *driver;
	int64_t large_rows;
	migrate_run_options_t opts;

	/* What the command works on. */
	migrate_plan_t *plan;
	migrate_target_t *target;

	/* Output. */
	int tty;       /* stdout is a terminal that takes escape codes: redraw progress in place */
	int columns;   /* the terminal's width */
	bson_t *doc;   /* --json: the one document printed at the end */
	bson_t events; /* --json: versions run, warnings and lock waits, in order */
	uint32_t nevents;

	/* Event state for human output. */
	int line_open;         /* a step line waits for its end (tty only) */
	int64_t step_start_ms; /* monotonic */
	int64_t progress_first_ms;
	int64_t progress_first_n;
	int64_t progress_last_print_ms;
	int64_t progress_processed;
	int64_t progress_before; /* of progress_processed, done by an earlier, interrupted run */
	int64_t lock_wait_start_ms;
	int64_t lock_wait_shown_ms; /* when a wait was last shown */
	char lock_wait_holder[256]; /* and the holder it named */
	unsigned versions_run;
	unsigned asserts_run, asserts_failed;
} cli_t;

/* Set by SIGINT/SIGTERM; the event callback asks the run to stop when set. */
extern volatile sig_atomic_t cli_interrupted;
/* Set while a progress bar is the open line of a terminal: Ctrl-C clears it rather than break it. */
extern volatile sig_atomic_t cli_bar_shown;

/* ---- report.c ---- */

/* Copies `url` to `out` with the password of its user part and any password= parameter masked. */
void cli_redact_url(const char *url, char *out, size_t size);
/* Milliseconds of a monotonic clock. */
int64_t cli_now_ms(void);
/* The event callback of every run: prints (or records) and answers cancellation. */
int cli_on_event(const migrate_event_t *ev, void *payload);
/* The library's log handler of -v: every line to stderr. */
void cli_on_log(int level, const char *message, void *payload);
/* Whether stdout takes redraws (a terminal, no NO_COLOR, TERM not dumb), and its width. */
void cli_detect_terminal(cli_t *c);
/* Ends an open progress or step line on a terminal. */
void cli_close_line(cli_t *c);
/* The exit code for a library error code. */
int cli_exit_code(int rc);
/* "MIGRATE_ELOCKED" ... */
const char *cli_code_name(int code);
/* "plan", "lock" ... */
const char *cli_domain_name(int domain);
/* Fills `err` with a message (truncated to fit). */
void cli_set_error(migrate_error_t *err, int domain, int code, const char *message);
/* Reports a failure (stderr, or the JSON document) and returns the exit code. */
int cli_fail(cli_t *c, int rc, const migrate_error_t *err);
/* The same with the exit code given. */
int cli_fail_code(cli_t *c, int rc, const migrate_error_t *err, int exit_code);
/* Reports a usage error and returns EXIT_USAGE. */
int cli_usage_error(cli_t *c, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;
/* Starts the --json document (command, plan, target). */
void cli_json_begin(cli_t *c);
/* Finishes and prints the --json document with its exit code; returns `exit_code`. */
int cli_json_end(cli_t *c, int exit_code);
/* Appends a timestamp (ISO 8601 UTC, or null for 0) to a document. */
void cli_json_time(bson_t *doc, const char *key, int64_t ms);
/* "2024-05-01 09:30:00Z" for a Unix time in ms. */
void cli_format_time(int64_t ms, char *out, size_t size);
/* "12 ms", "8.1 s", "2 min 05 s" */
void cli_format_duration(int64_t ms, char *out, size_t size);

/* ---- password.c ---- */

/* Puts the password of the first line of `path` into c->url; 0, or a usage error's exit code. */
int cli_apply_password_file(cli_t *c, const char *path);
/* Wipes and frees the URL made by cli_apply_password_file(), once the target is open. */
void cli_wipe_url(cli_t *c);

/* ---- commands.c: each returns the process exit code ---- */
int cmd_status(cli_t *c);
int cmd_plan(cli_t *c);
/* --plan FORMAT:DIR: adopts the other tool's history before a run that writes (migrate_adopt). */
int cli_adopt(cli_t *c);
/* --plan FORMAT:DIR: sets plan_format and leaves DIR in plan_path (other paths are left as they are). */
void cli_split_plan_format(cli_t *c);
int cmd_up(cli_t *c);
int cmd_down(cli_t *c);
int cmd_rollback(cli_t *c);
int cmd_redo(cli_t *c);
int cmd_check(cli_t *c);
int cmd_verify(cli_t *c);
int cmd_baseline(cli_t *c);
int cmd_repair(cli_t *c);
int cmd_version(cli_t *c);

/* ---- lint.c ---- */
int cmd_lint(cli_t *c);

/* ---- plandir.c: commands that edit plan files ---- */
int cmd_new(cli_t *c);
int cmd_fmt(cli_t *c);
int cmd_import(cli_t *c);

/* Parses a version id operand (1 up, or 0 when `zero_ok`); 0 on success. */
int cli_parse_version(const char *s, int zero_ok, uint64_t *out);

#endif
