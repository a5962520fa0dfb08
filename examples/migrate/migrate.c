/*
 * migrate: runs a JSON plan file against a database from the command line.
 *
 *   migrate [OPTIONS] COMMAND [VERSION]
 *
 * A thin program over the public API: every command is one libmigrate call
 * (status, render, up, down, check, verify, baseline, repair). docs/cli.md
 * is its manual; `migrate help COMMAND` prints the same text per command.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char general_help[] =
	"usage: migrate [OPTIONS] COMMAND [VERSION]\n"
	"\n"
	"Evolves a database's schema and data with a libmigrate plan file.\n"
	"\n"
	"commands:\n"
	"  status            every version of the plan with its state, applied time and duration\n"
	"  plan [VERSION]    dry run: the exact statements or commands `up` would send\n"
	"  up [VERSION]      apply pending versions (all, or up to VERSION); resumes interrupted ones\n"
	"  down VERSION      revert applied versions newer than VERSION (0: all of them)\n"
	"  rollback [N]      revert the last N applied versions (default 1)\n"
	"  redo              revert the last applied version and apply it again\n"
	"  check             exit code for readiness probes: 0 up to date, 3 pending, 4 failed, 5 edited;\n"
	"                    with --schema also 8 when the schema drifted from the plan\n"
	"  verify            run the assert steps of the applied versions again; writes nothing\n"
	"  lint              what the plan's steps will lock, rewrite or break, before they run\n"
	"  baseline VERSION  mark versions up to VERSION applied without running them\n"
	"  repair            realign the recorded checksums and names with the plan\n"
	"  new NAME          add the next version file to a plan directory (no database)\n"
	"  fmt               rewrite the plan's files in their canonical layout (no database)\n"
	"  import OUTDIR     convert --plan FORMAT:DIR into a libmigrate plan directory (no database)\n"
	"  version           the versions of this tool and of libmigrate\n"
	"  help [COMMAND]    this text, or a command's\n"
	"\n"
	"options:\n"
	"  -u, --url URL           the database: sqlite:PATH, postgresql://..., mongodb://HOST/DB\n"
	"                          (default: $MIGRATE_URL, then $DATABASE_URL)\n"
	"      --password-file FILE  the URL's password: the first line of FILE\n"
	"  -p, --plan FILE         the JSON plan file, a plan directory, or - for standard input;\n"
	"                          golang-migrate:DIR, goose:DIR or flyway:DIR for another tool's\n"
	"                          directory, whose history the first run adopts\n"
	"                          (default: $MIGRATE_PLAN)\n"
	"  -j, --json              print one JSON document instead of text\n"
	"  -q, --quiet             print errors only (status, plan and version still print their answer)\n"
	"  -v, --verbose           also print the library's log: every statement or command sent\n"
	"      --lock-timeout MS   wait this long for the plan's lock (default 60000; 0: try once)\n"
	"      --batch-size N      rows or documents per backfill batch (default: sized by time)\n"
	"      --pause MS          sleep between batches (default 0)\n"
	"      --allow-out-of-order  apply pending versions older than an applied one\n"
	"      --allow-amended     run even though applied versions were edited\n"
	"      --timestamp         new: a YYYYMMDDHHMMSS id instead of the next number\n"
	"      --schema            check: also compare the schema with what the applied versions made\n"
	"      --driver NAME       lint without a database: sqlite, postgres or mongo\n"
	"      --large-rows N      lint: a table of N rows or more is large (default 100000)\n"
	"  -h, --help              help (of the command when one is given)\n"
	"  -V, --version           the versions of this tool and of libmigrate\n"
	"\n"
	"exit codes:\n"
	"  0    success; for check: up to date\n"
	"  1    failure (the message says why)\n"
	"  2    usage error\n"
	"  3    check: versions are pending\n"
	"  4    check: a version failed or was left half applied (the next `up` resumes it)\n"
	"  5    an applied version was edited (checksum mismatch)\n"
	"  6    the plan's lock was not acquired within --lock-timeout\n"
	"  7    status, check, verify: the SQLite database file does not exist\n"
	"  8    check --schema: the schema drifted from the plan (missing, extra or different objects)\n"
	"  9    lint: an error-level rule fired\n"
	"  130  canceled by Ctrl-C (SIGINT) or SIGTERM; the next `up` resumes where it stopped\n"
	"\n"
	"Passwords in URLs are never printed. Manual: man migrate, " MIGRATE_DOCDIR "/cli.md\n";

static const struct command {
	const char *name;
	int (*run)(cli_t *c);
	int needs_db; /* needs --url and --plan; 2: and writes nothing; 3: --plan, and --url or --driver (read only) */
	int cancelable; /* runs steps or locks: Ctrl-C stops it at a safe point */
	int operand;    /* 0: none, 1: optional VERSION, 2: required VERSION */
	const char *help;
} commands[] = {
	{"status", cmd_status, 2, 0, 0,
	 "usage: migrate [OPTIONS] status\n"
	 "\n"
	 "Lists every version of the plan and every version recorded in the database,\n"
	 "with its state (pending, applying, applied, failed, reverting), when it was\n"
	 "applied, how long it took, and notes: a checksum that no longer matches the\n"
	 "plan, a version recorded but missing from the plan, the last error, the steps\n"
	 "done of a version left half applied. Reads the history once; takes no lock.\n"
	 "\n"
	 "exit codes: 0, or 1 (1 also when the database cannot be reached), 2 usage,\n"
	 "7 the SQLite database file does not exist (it is not created).\n"},
	{"plan", cmd_plan, 1, 0, 1,
	 "usage: migrate [OPTIONS] plan [VERSION]\n"
	 "\n"
	 "Dry run: prints, for each pending version (up to VERSION when given), the\n"
	 "exact SQL statements or MongoDB commands `up` would send, backfills as their\n"
	 "per-batch statement. A version left half applied shows only its remaining\n"
	 "steps. Validates the whole plan against the driver; writes nothing.\n"
	 "\n"
	 "exit codes: 0, 1 (invalid plan, unsupported step, database error), 2 usage.\n"},
	{"up", cmd_up, 1, 1, 1,
	 "usage: migrate [OPTIONS] up [VERSION]\n"
	 "\n"
	 "Applies the pending versions in id order, all of them or up to VERSION.\n"
	 "Validates the plan first and writes nothing when it is invalid; then takes\n"
	 "the plan's lock (waits are shown), and applies version by version with a\n"
	 "journal write after every transaction, step and backfill batch. A version\n"
	 "left applying or failed by an earlier run resumes from its journal.\n"
	 "Backfills show a progress bar with rate and time left on a terminal, and\n"
	 "plain progress lines otherwise. Ctrl-C stops at the next safe point.\n"
	 "\n"
	 "exit codes: 0 done, 1 failure, 2 usage, 5 an applied version was edited,\n"
	 "6 lock timeout, 130 canceled (run `up` again to resume).\n"},
	{"down", cmd_down, 1, 1, 2,
	 "usage: migrate [OPTIONS] down VERSION\n"
	 "\n"
	 "Reverts the applied versions newer than VERSION, newest first, running the\n"
	 "inverse of each applied step in reverse order (or the version's explicit\n"
	 "down). `down 0` reverts every version. When any step on that path has no\n"
	 "inverse and no explicit down, nothing runs.\n"
	 "\n"
	 "exit codes: 0 done, 1 failure (irreversible step ...), 2 usage, 5 an applied\n"
	 "version was edited, 6 lock timeout, 130 canceled.\n"},
	{"rollback", cmd_rollback, 1, 1, 1,
	 "usage: migrate [OPTIONS] rollback [N]\n"
	 "\n"
	 "Reverts the last N applied versions (default 1), newest first: `down` to\n"
	 "the applied version below them (or 0 when N covers them all). With fewer\n"
	 "than N applied versions, reverts them all; with none, does nothing.\n"
	 "\n"
	 "exit codes: 0 done, 1 failure (irreversible step ...), 2 usage, 5 an applied\n"
	 "version was edited, 6 lock timeout, 130 canceled.\n"},
	{"redo", cmd_redo, 1, 1, 0,
	 "usage: migrate [OPTIONS] redo\n"
	 "\n"
	 "Reverts the last applied version and applies it again (`rollback 1`, then\n"
	 "`up` to that version): for trying a version out while writing it. The\n"
	 "revert and the apply each take the plan's lock.\n"
	 "\n"
	 "exit codes: 0 done, 1 failure, 2 usage, 5 an applied version was edited,\n"
	 "6 lock timeout, 130 canceled.\n"},
	{"check", cmd_check, 2, 0, 0,
	 "usage: migrate [OPTIONS] check [--schema]\n"
	 "\n"
	 "For start-up and readiness probes: reads the history once, takes no lock,\n"
	 "writes nothing, and answers with its exit code (the worst state that holds).\n"
	 "\n"
	 "With --schema it also reads the catalog once and compares the tables,\n"
	 "columns, indexes and enums (collections and indexes on MongoDB) that the\n"
	 "applied versions made with the database, listing every object missing,\n"
	 "extra (in a table of the plan) or different, with the version that made it.\n"
	 "Tables the plan never made are not drift.\n"
	 "\n"
	 "exit codes: 0 up to date, 3 pending, 4 a version failed or was left half\n"
	 "applied, 5 an applied version was edited, 8 (--schema, when the versions\n"
	 "are up to date) the schema drifted, 1 failure (database unreachable,\n"
	 "invalid plan), 2 usage, 7 the SQLite database file does not exist (it is\n"
	 "not created).\n"},
	{"verify", cmd_verify, 2, 1, 0,
	 "usage: migrate [OPTIONS] verify\n"
	 "\n"
	 "Runs the assert steps of every applied version again, as a health check of\n"
	 "the data, and reports each one. Takes no lock and writes nothing (on SQL\n"
	 "databases each assertion runs in a transaction that is rolled back). Every\n"
	 "assertion runs even when one fails.\n"
	 "\n"
	 "exit codes: 0 every assertion holds, 1 an assertion failed or another\n"
	 "failure, 2 usage, 7 the SQLite database file does not exist, 130 canceled.\n"},
	{"lint", cmd_lint, 3, 0, 0,
	 "usage: migrate [OPTIONS] lint (--driver NAME | --url URL) [--large-rows N]\n"
	 "\n"
	 "Finds, without running anything, the steps that will lock a table for the\n"
	 "length of a build or rewrite, fail on the rows a table has, break the\n"
	 "application version still running, or give up the version's atomicity.\n"
	 "Each finding names its rule, severity, version and step, why, and the\n"
	 "safer form; docs/lint.md lists the rules. With --driver the sizes of the\n"
	 "tables are unknown, and rules that depend on them fire as warnings. With\n"
	 "--url (read only) only the pending versions are linted and the tables'\n"
	 "row counts decide: a table of --large-rows rows or more is large. A step\n"
	 "silences a rule with \"lint\": {\"ignore\": [RULE], \"reason\": \"...\"}.\n"
	 "Takes no lock and writes nothing.\n"
	 "\n"
	 "exit codes: 0 no finding or warnings only, 9 an error-level rule fired,\n"
	 "1 failure (invalid plan, database unreachable), 2 usage, 7 the SQLite\n"
	 "database file does not exist.\n"},
	{"baseline", cmd_baseline, 1, 1, 2,
	 "usage: migrate [OPTIONS] baseline VERSION\n"
	 "\n"
	 "Adopts an existing database: marks every version up to VERSION applied\n"
	 "without running it. Versions already recorded are left as they are; a\n"
	 "version left failed or half applied must be finished or reverted first.\n"
	 "\n"
	 "exit codes: 0 done, 1 failure, 2 usage, 6 lock timeout.\n"},
	{"repair", cmd_repair, 1, 1, 0,
	 "usage: migrate [OPTIONS] repair\n"
	 "\n"
	 "After a deliberate edit of an applied version, or a database changed by\n"
	 "hand: rewrites the recorded checksums and names of the applied versions to\n"
	 "match the plan, and prints each one realigned. Runs no step.\n"
	 "\n"
	 "exit codes: 0 done, 1 failure, 2 usage, 6 lock timeout.\n"},
	{"new", cmd_new, 0, 0, 1,
	 "usage: migrate --plan DIR [--timestamp] new NAME\n"
	 "\n"
	 "Adds the next version to a plan directory (one JSON file per version): the\n"
	 "file DIR/0008_NAME.json, numbered one past the plan's highest id, holding a\n"
	 "version named NAME with no steps yet. With --timestamp the id is the\n"
	 "current UTC time, YYYYMMDDHHMMSS, so branches never pick the same number.\n"
	 "Creates DIR when it does not exist. Loads the plan first and writes nothing\n"
	 "when it is invalid. Needs no database. NAME is letters, digits, _ and -.\n"
	 "\n"
	 "exit codes: 0 created, 1 failure (invalid plan, file exists), 2 usage.\n"},
	{"fmt", cmd_fmt, 0, 0, 0,
	 "usage: migrate --plan FILE|DIR fmt\n"
	 "\n"
	 "Rewrites the plan file, or every file of a plan directory, in one canonical\n"
	 "layout: two-space indentation, one member per line, the plan's and the\n"
	 "versions' fields in a fixed order and each step's \"op\" first. Values are\n"
	 "kept exactly as written, so no checksum changes (checked before writing).\n"
	 "Running it twice changes nothing the second time. Loads the plan first\n"
	 "and writes nothing when it is invalid. Needs no database.\n"
	 "\n"
	 "exit codes: 0 done, 1 failure (invalid plan ...), 2 usage.\n"},
	{"import", cmd_import, 0, 0, 2,
	 "usage: migrate --plan FORMAT:DIR import OUTDIR\n"
	 "\n"
	 "Converts another tool's migration directory (golang-migrate:DIR, goose:DIR or\n"
	 "flyway:DIR) into a libmigrate plan directory OUTDIR: plan.json and one JSON\n"
	 "file per version with its raw sql steps (comments kept), its transaction\n"
	 "rule and its down, in fmt's layout. Every version keeps its id and checksum,\n"
	 "so a database run from DIR is up to date with OUTDIR. OUTDIR is created, or\n"
	 "must be empty. Needs no database.\n"
	 "\n"
	 "exit codes: 0 written, 1 failure (unreadable directory, OUTDIR not empty),\n"
	 "2 usage.\n"},
	{"version", cmd_version, 0, 0, 0,
	 "usage: migrate [--json] version\n"
	 "\n"
	 "Prints the version of this tool and of the libmigrate library it runs on.\n"
	 "Needs no database and no plan.\n"
	 "\n"
	 "exit codes: 0.\n"},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static const char help_help[] = "usage: migrate help [COMMAND]\n"
				"\n"
				"Prints the general help, or COMMAND's: its usage, what it does and its exit\n"
				"codes. `migrate COMMAND --help` prints the same. Needs no database and no plan.\n"
				"\n"
				"exit codes: 0, 2 no such command.\n";

volatile sig_atomic_t cli_interrupted;
volatile sig_atomic_t cli_bar_shown;

/*
 * The first Ctrl-C asks for a stop at the next safe point; a second one ends
 * the process. A progress bar on the terminal (and the "^C" the terminal
 * echoed after it) is cleared rather than left broken; the next batch draws
 * it again below the message.
 */
static void on_signal(int sig)
{
	static const char msg[] = "\nmigrate: stopping at the next safe point (Ctrl-C again to stop at once)\n";
	static const char clear[] = "\r\033[K";
	ssize_t ignored;

	if (cli_interrupted) {
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	cli_interrupted = 1;
	if (cli_bar_shown) {
		ignored = write(STDOUT_FILENO, clear, sizeof clear - 1);
		ignored = write(STDERR_FILENO, msg + 1, sizeof msg - 2);
	} else {
		ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
	}
	(void)ignored;
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* Restart interrupted reads: the run itself stops only at a safe point. */
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; name && i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static int print_help(cli_t *c, const char *topic)
{
	const struct command *cmd = topic ? find_command(topic) : NULL;

	if (topic && strcmp(topic, "help") == 0) {
		fputs(help_help, stdout);
		return 0;
	}
	if (topic && !cmd)
		return cli_usage_error(c, "no command \"%s\"; try `migrate help`", topic);
	fputs(cmd ? cmd->help : general_help, stdout);
	return 0;
}

static int parse_uint(cli_t *c, const char *opt, const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (!s || !*s || *s == '-' || *s == '+')
		return cli_usage_error(c, "%s needs a whole number, not \"%s\"", opt, s ? s : "");
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return cli_usage_error(c, "%s needs a whole number from 0 to %llu, not \"%s\"", opt,
				       (unsigned long long)max, s);
	*out = v;
	return 0;
}

int cli_parse_version(const char *s, int zero_ok, uint64_t *out)
{
	char *end;

	errno = 0;
	if (!s || !*s || *s < '0' || *s > '9')
		return -1;
	*out = strtoull(s, &end, 10);
	if (errno || *end || (*out == 0 && !zero_ok))
		return -1;
	return 0;
}

enum {
	OPT_LOCK_TIMEOUT = 256,
	OPT_BATCH_SIZE,
	OPT_PAUSE,
	OPT_OUT_OF_ORDER,
	OPT_AMENDED,
	OPT_TIMESTAMP,
	OPT_PASSWORD_FILE,
	OPT_SCHEMA,
	OPT_DRIVER,
	OPT_LARGE_ROWS
};

static const struct option long_options[] = {
	{"url", required_argument, NULL, 'u'},
	{"plan", required_argument, NULL, 'p'},
	{"json", no_argument, NULL, 'j'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{"quiet", no_argument, NULL, 'q'},
	{"verbose", no_argument, NULL, 'v'},
	{"lock-timeout", required_argument, NULL, OPT_LOCK_TIMEOUT},
	{"batch-size", required_argument, NULL, OPT_BATCH_SIZE},
	{"pause", required_argument, NULL, OPT_PAUSE},
	{"allow-out-of-order", no_argument, NULL, OPT_OUT_OF_ORDER},
	{"allow-amended", no_argument, NULL, OPT_AMENDED},
	{"timestamp", no_argument, NULL, OPT_TIMESTAMP},
	{"password-file", required_argument, NULL, OPT_PASSWORD_FILE},
	{"schema", no_argument, NULL, OPT_SCHEMA},
	{"driver", required_argument, NULL, OPT_DRIVER},
	{"large-rows", required_argument, NULL, OPT_LARGE_ROWS},
	{NULL, 0, NULL, 0},
};

/* Parses options anywhere on the line (getopt_long permutes); 0, or an exit code. */
static int parse_options(cli_t *c, int argc, char **argv, int *help, int *version)
{
	uint64_t n;
	int ch, rc;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":u:p:jhVqv", long_options, NULL)) != -1) {
		switch (ch) {
		case 'u': c->url = optarg; break;
		case 'p': c->plan_path = optarg; break;
		case 'j': c->json = 1; break;
		case 'h': *help = 1; break;
		case 'V': *version = 1; break;
		case 'q': c->quiet = 1; break;
		case 'v': c->verbose = 1; break;
		case OPT_LOCK_TIMEOUT:
			if ((rc = parse_uint(c, "--lock-timeout", optarg, INT64_MAX, &n)))
				return rc;
			c->opts.lock_timeout_ms = (int64_t)n;
			break;
		case OPT_BATCH_SIZE:
			if ((rc = parse_uint(c, "--batch-size", optarg, 100000000, &n)))
				return rc;
			c->opts.batch_size = (uint32_t)n;
			break;
		case OPT_PAUSE:
			if ((rc = parse_uint(c, "--pause", optarg, 3600000, &n)))
				return rc;
			c->opts.batch_pause_ms = (uint32_t)n;
			break;
		case OPT_OUT_OF_ORDER: c->opts.allow_out_of_order = 1; break;
		case OPT_AMENDED: c->opts.allow_amended = 1; break;
		case OPT_TIMESTAMP: c->timestamp_ids = 1; break;
		case OPT_PASSWORD_FILE: c->password_file = optarg; break;
		case OPT_SCHEMA: c->schema = 1; break;
		case OPT_DRIVER: c->driver = optarg; break;
		case OPT_LARGE_ROWS:
			if ((rc = parse_uint(c, "--large-rows", optarg, INT64_MAX, &n)))
				return rc;
			if (n == 0)
				return cli_usage_error(c, "--large-rows needs a whole number from 1 up, not \"%s\"",
						       optarg);
			c->large_rows = (int64_t)n;
			break;
		case ':': return cli_usage_error(c, "option %s needs a value", argv[optind - 1]);
		default:
			if (optopt && optopt < 256)
				return cli_usage_error(c, "unknown option -%c; try `migrate --help`", optopt);
			return cli_usage_error(c, "unknown option %s; try `migrate --help`", argv[optind - 1]);
		}
	}
	return 0;
}

/*
 * --plan FORMAT:DIR names another tool's directory (golang-migrate:db/migrations);
 * c->plan_path is then DIR. A path of a libmigrate plan may hold a colon too:
 * only the known format names are taken.
 */
void cli_split_plan_format(cli_t *c)
{
	static const char *const formats[] = {"golang-migrate", "goose", "flyway", NULL};
	size_t i, n;

	for (i = 0; formats[i]; i++) {
		n = strlen(formats[i]);
		if (strncmp(c->plan_path, formats[i], n) == 0 && c->plan_path[n] == ':') {
			snprintf(c->plan_format, sizeof c->plan_format, "%s", formats[i]);
			c->plan_path += n + 1;
			return;
		}
	}
}

/* Loads the plan (a file, a directory, another tool's directory, or - for standard input). */
static int load_plan(cli_t *c, migrate_error_t *err)
{
	int rc;

	if (c->plan_format[0])
		return migrate_plan_load_dir_format(&c->plan, c->plan_path, c->plan_format, err);
	if (strcmp(c->plan_path, "-") != 0)
		return migrate_plan_load_file(&c->plan, c->plan_path, err);
	{
		migrate_buf_t text = MIGRATE_BUF_INIT;
		char buf[4096];
		size_t n;
		while ((n = fread(buf, 1, sizeof buf, stdin)) > 0)
			migrate_buf_append_n(&text, buf, n);
		if (text.failed)
			rc = migrate_error_set(err, MIGRATE_DOMAIN_API, MIGRATE_ENOMEM,
					       "out of memory reading the plan");
		else
			rc = migrate_plan_load_json(&c->plan, text.str, err);
		migrate_buf_release(&text);
	}
	if (rc) {
		char msg[MIGRATE_ERROR_MESSAGE_SIZE + 16];
		snprintf(msg, sizeof msg, "<stdin>: %s", err->message);
		cli_set_error(err, err->domain, err->code, msg);
	}
	return rc;
}

typedef struct plan_job {
	cli_t *c;
	migrate_error_t err;
	int rc;
} plan_job_t;

static void *plan_thread(void *payload)
{
	plan_job_t *job = payload;
	char sum[65];
	size_t i;

	job->rc = load_plan(job->c, &job->err);
	/* The versions keep their checksums: computed here, while the other
	 * thread connects, they cost the comparison nothing. */
	for (i = 0; job->rc == 0 && i < migrate_plan_version_count(job->c->plan); i++)
		migrate_version_checksum(migrate_plan_version_at(job->c->plan, i), sum, sizeof sum, NULL);
	return NULL;
}

/*
 * Loads the plan and opens the target. A command that writes nothing does
 * both at once (parsing and checksumming a large plan overlaps connecting:
 * the start-up probe `check` is their sum otherwise); the others load the
 * plan first, so an invalid file never touches the database. Either way a
 * plan error is the one reported.
 */
static int open_inputs(cli_t *c)
{
	migrate_error_t open_err;
	plan_job_t job;
	pthread_t thread;
	bool parallel;
	unsigned flags;
	int rc;

	memset(&job, 0, sizeof job);
	memset(&open_err, 0, sizeof open_err);
	job.c = c;
	if (!c->url) /* lint --driver: no database */
		return (job.rc = load_plan(c, &job.err)) ? cli_fail(c, job.rc, &job.err) : 0;
	/* The driver module and its client libraries are loaded before the
	 * plan's thread starts: mapping them while another thread runs costs
	 * both threads (about a millisecond of a 10 ms check against
	 * PostgreSQL). Its failure is migrate_target_open()'s to report. */
	/* `check` alone reads only the history's states: on PostgreSQL that
	 * needs neither the module nor libpq (MIGRATE_OPEN_CHECK). */
	flags = strcmp(c->command, "check") == 0 && !c->schema ? MIGRATE_OPEN_CHECK : 0;
	if (c->readonly && !flags)
		(void)migrate_driver_load(c->url, NULL);
	parallel = c->readonly && pthread_create(&thread, NULL, plan_thread, &job) == 0;
	if (!parallel && (job.rc = load_plan(c, &job.err)) != 0)
		return cli_fail(c, job.rc, &job.err);
	rc = migrate_target_open_flags(&c->target, c->url, flags, &open_err);
	if (parallel) {
		pthread_join(thread, NULL);
		if (job.rc) {
			migrate_target_close(c->target);
			c->target = NULL;
			return cli_fail(c, job.rc, &job.err);
		}
	}
	if (rc) {
		migrate_error_t *err = &open_err;
		/* The SQLite driver's answer to mode=ro on a file that is not there. */
		if (rc == MIGRATE_ENOTFOUND && err->domain == MIGRATE_DOMAIN_DRIVER) {
			char msg[CLI_URL_SHOWN_MAX + 128];
			if (c->readonly) {
				snprintf(msg, sizeof msg,
					 "no database at %s: the file does not exist (%s creates none; `up` does)",
					 c->url_shown, c->command);
				cli_set_error(err, err->domain, err->code, msg);
			}
			return cli_fail_code(c, rc, err, EXIT_NO_DATABASE);
		}
		return cli_fail(c, rc, err);
	}
	return 0;
}

/* The URL: --url, then MIGRATE_URL, then DATABASE_URL (the name many platforms set). */
static const char *default_url(void)
{
	const char *url = getenv("MIGRATE_URL");

	if (url && *url)
		return url;
	return getenv("DATABASE_URL");
}

/* A URL without a scheme ("/tmp/x.db", "app.db") is most likely a SQLite file. */
static int is_bare_path(const char *url)
{
	size_t scheme = strspn(url, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-");

	return scheme == 0 || url[scheme] != ':';
}

/*
 * For the commands that write nothing, opens a SQLite file read-only (the
 * driver's mode=ro): a misspelt path is then an error instead of a new,
 * empty database. In-memory databases and URLs with a mode are left as given.
 */
static void readonly_url(cli_t *c)
{
	const char *path = c->url + 7;

	if (strncmp(c->url, "sqlite:", 7) != 0 || strcmp(path, ":memory:") == 0 || strstr(path, "?mode="))
		return;
	if ((size_t)snprintf(c->url_buf, sizeof c->url_buf, "%s?mode=ro", c->url) < sizeof c->url_buf)
		c->url = c->url_buf;
}

static int run(cli_t *c, int argc, char **argv)
{
	const struct command *cmd;
	int help = 0, version = 0, rc, nargs;

	if ((rc = parse_options(c, argc, argv, &help, &version)))
		return rc;
	nargs = argc - optind;
	c->command = nargs > 0 ? argv[optind] : NULL;
	if (version && !c->command) {
		c->command = "version";
		return cmd_version(c);
	}
	if (c->command && strcmp(c->command, "help") == 0) {
		if (nargs > 2)
			return cli_usage_error(c, "help takes at most one command");
		if (nargs == 2)
			return print_help(c, argv[optind + 1]);
		return print_help(c, help ? "help" : NULL); /* `help --help`: help's own */
	}
	if (!c->command) {
		if (help)
			return print_help(c, NULL);
		if (!c->json)
			fputs(general_help, stderr);
		return cli_usage_error(c, "no command given; try `migrate help`");
	}
	if (!(cmd = find_command(c->command)))
		return cli_usage_error(c, "unknown command \"%s\"; try `migrate help`", c->command);
	if (help)
		return print_help(c, cmd->name);
	if (c->schema && strcmp(cmd->name, "check") != 0)
		return cli_usage_error(c, "--schema is an option of check only");
	if ((c->driver || c->large_rows) && strcmp(cmd->name, "lint") != 0)
		return cli_usage_error(c, "%s is an option of lint only", c->driver ? "--driver" : "--large-rows");
	if (c->driver && c->url)
		return cli_usage_error(c,
				       "lint takes --driver or --url, not both: with --url the URL names the driver");
	if (nargs > 2 || (nargs == 2 && cmd->operand == 0))
		return cli_usage_error(c, "%s: unexpected argument \"%s\"", cmd->name, argv[optind + nargs - 1]);
	if (nargs < 2 && cmd->operand == 2)
		return cli_usage_error(c, "%s needs a VERSION; see `migrate help %s`", cmd->name, cmd->name);
	c->operand = nargs == 2 ? argv[optind + 1] : NULL;
	if (cmd->needs_db) {
		if (!c->url && !c->driver)
			c->url = default_url();
		if (!c->plan_path)
			c->plan_path = getenv("MIGRATE_PLAN");
		if ((!c->url || !*c->url) && cmd->needs_db == 3 && !c->driver)
			return cli_usage_error(c,
					       "%s needs a driver or a database: --driver NAME (sqlite, postgres, "
					       "mongo), or --url URL, MIGRATE_URL or DATABASE_URL",
					       cmd->name);
		if ((!c->url || !*c->url) && cmd->needs_db != 3)
			return cli_usage_error(c, "%s needs a database: --url URL, MIGRATE_URL or DATABASE_URL",
					       cmd->name);
		if (!c->plan_path || !*c->plan_path)
			return cli_usage_error(c, "%s needs a plan file: --plan FILE or MIGRATE_PLAN", cmd->name);
		cli_split_plan_format(c);
	}
	if (cmd->needs_db && c->url) {
		/* Shown masked even here: a libpq "host=h password=p" string is no URL. */
		cli_redact_url(c->url, c->url_shown, sizeof c->url_shown);
		if (is_bare_path(c->url))
			return cli_usage_error(c, "\"%s\" is not a database URL; did you mean sqlite:%s?", c->url_shown,
					       c->url_shown);
		if (c->password_file && (rc = cli_apply_password_file(c, c->password_file)))
			return rc;
		cli_redact_url(c->url, c->url_shown, sizeof c->url_shown);
		c->readonly = cmd->needs_db >= 2;
		if (c->readonly)
			readonly_url(c);
	}
	if (c->verbose && !c->quiet)
		migrate_log_set_handler(cli_on_log, c);
	if (c->json)
		cli_json_begin(c);
	rc = cmd->needs_db ? open_inputs(c) : 0;
	cli_wipe_url(c);
	if (rc)
		return rc;
	/* Elsewhere the default action is right: a read ends at once. */
	if (cmd->cancelable)
		install_signals();
	/* A run that writes takes over another tool's history first (docs/switching.md). */
	if (c->plan_format[0] && cmd->needs_db == 1 && strcmp(cmd->name, "plan") != 0 && (rc = cli_adopt(c)))
		return rc;
	return cmd->run(c);
}

int main(int argc, char **argv)
{
	cli_t c;
	int code;

	/* libmongoc (loaded with the MongoDB module, on first use) keeps
	 * counters for mongoc-stat in a shared-memory segment named after the
	 * pid; one left behind by a killed process of the same pid makes it
	 * print a warning, which -q and --json output must not carry. The
	 * tool never reads those counters. The user's own setting wins. */
	setenv("MONGOC_DISABLE_SHM", "1", 0);
	memset(&c, 0, sizeof c);
	migrate_run_options_init(&c.opts, MIGRATE_RUN_OPTIONS_VERSION);
	c.opts.on_event = cli_on_event;
	c.opts.event_payload = &c;
	cli_detect_terminal(&c);
	bson_init(&c.events);
	code = run(&c, argc, argv);
	migrate_target_close(c.target);
	migrate_plan_destroy(c.plan);
	bson_destroy(&c.events);
	if (c.doc)
		bson_destroy(c.doc);
	return code;
}
