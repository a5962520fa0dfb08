/*
 * Start-up cost: what libmigrate adds to every start of an application.
 *
 *   bench_startup [--cli PATH] [--pg URL] [--pgbouncer URL] [--mongo URL] [--rounds N]
 *
 * Prints four tables:
 *   1. plan loading: parse and checksum every version of a JSON plan of
 *      1,000, 10,000 and 100,000 versions (linear means a flat per-version
 *      cost);
 *   2. process start: `migrate --version` (with --cli), whole-process wall
 *      and CPU time (user + system: what other work on the machine does
 *      not inflate), beside the floor every tool built on the same client
 *      library pays: a process that only loads libpq (with --pg) or
 *      libmongoc (with --mongo) and exits (bench_load, beside this program),
 *      and with --pg a process that loads libpq, connects, runs SELECT 1
 *      and closes: the floor of any libpq tool's check, directly and (with
 *      --pgbouncer, a PgBouncer in session mode in front of the same
 *      server) through a pooler that holds the server connection open;
 *   3. check at 1,000 applied versions: in process through the C API (open
 *      the target, migrate_check, close; the same with the target opened
 *      with MIGRATE_OPEN_CHECK, which `migrate check` uses: on PostgreSQL
 *      without libpq where it can; and migrate_check alone on a
 *      target a running program holds open, its plan loaded) and, with
 *      --cli, `migrate check` as a whole process (wall, and CPU of all its
 *      threads), on SQLite (a temporary file) and on the servers given
 *      (PostgreSQL directly and through PgBouncer: what is left once the
 *      server has no backend process to start);
 *      with --pg and --cli, psql sending check's statement, for comparison
 *      (libpq's own process, connection and query, and nothing compared;
 *      where psql is on the PATH and the URL has no password);
 *   4. statements (or commands) sent per version while applying 200
 *      trivial versions from empty, per check, and per version while
 *      reverting the 1,000 versions to none, counted from the
 *      library's debug log, which names every statement it sends.
 * Times are medians of --rounds runs (default 21).
 */
#include <fcntl.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#include <migrate/migrate.h>

static int rounds = 21;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void die(const char *what, const char *msg)
{
	fprintf(stderr, "bench_startup: %s: %s\n", what, msg);
	exit(1);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return v[n / 2];
}

/* A plan of n versions, each creating one table (table names unique). */
static char *plan_json(long n, const char *name)
{
	size_t cap = 256 + (size_t)n * 200, len;
	char *s = malloc(cap);
	long i;

	if (!s)
		die("plan", "out of memory");
	len = (size_t)snprintf(
		s, cap, "{\"$schema\": \"../../docs/plan.schema.json\", \"plan\": \"%s\", \"versions\": [", name);
	for (i = 1; i <= n; i++)
		len += (size_t)snprintf(
			s + len, cap - len,
			"%s{\"id\": %ld, \"name\": \"table %ld\", \"steps\": [{\"op\": \"create_table\", "
			"\"table\": \"t%ld\", \"columns\": [{\"name\": \"id\", \"type\": \"bigint\"}], "
			"\"primary_key\": [\"id\"]}]}",
			i > 1 ? ", " : "", i, i, i);
	snprintf(s + len, cap - len, "]}");
	return s;
}

static migrate_plan_t *load(const char *json)
{
	migrate_plan_t *plan;
	migrate_error_t err;

	if (migrate_plan_load_json(&plan, json, &err))
		die("load", err.message);
	return plan;
}

static void table_loading(void)
{
	static const long sizes[] = {1000, 10000, 100000};
	size_t k, i;

	printf("## Plan loading (parse + checksum of every version)\n\n");
	printf("| versions | parse ms | checksum ms | total ms | us per version |\n");
	printf("|---:|---:|---:|---:|---:|\n");
	for (k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		char *json = plan_json(sizes[k], "bench");
		int n = sizes[k] >= 100000 ? 3 : 7, r;
		double parse[7], sum[7], total;

		for (r = 0; r < n; r++) {
			double t0 = now_ms(), t1;
			migrate_plan_t *plan = load(json);
			char hex[65];
			migrate_error_t err;

			t1 = now_ms();
			for (i = 0; i < migrate_plan_version_count(plan); i++)
				if (migrate_version_checksum(migrate_plan_version_at(plan, i), hex, sizeof hex, &err))
					die("checksum", err.message);
			sum[r] = now_ms() - t1;
			parse[r] = t1 - t0;
			migrate_plan_destroy(plan);
		}
		total = median(parse, n) + median(sum, n);
		printf("| %ld | %.1f | %.1f | %.1f | %.2f |\n", sizes[k], median(parse, n), median(sum, n), total,
		       total * 1000.0 / (double)sizes[k]);
		free(json);
	}
	printf("\n");
}

/* Runs argv, stdout and stderr to /dev/null; its wall time in ms, and in
 * *cpu the CPU time it used (user + system, all its threads): on a shared
 * machine the wall time waits for other work, the CPU time does not.
 * posix_spawn, not fork: the cost of copying this process's page tables
 * (it holds 100k-version plans) must not count. */
static double spawn_ms(char *const argv[], int *status, double *cpu)
{
	posix_spawn_file_actions_t fa;
	struct rusage ru;
	double t0;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	t0 = now_ms();
	if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) != 0)
		die(argv[0], "cannot run");
	wait4(pid, status, 0, &ru);
	t0 = now_ms() - t0;
	*cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
	posix_spawn_file_actions_destroy(&fa);
	return t0;
}

/* The median wall time of `rounds` runs; *cpu_ms the median CPU time. */
static double spawn_median(char *const argv[], int expect_exit, double *cpu_ms)
{
	double t[64], cpu[64];
	int r, status, n = rounds > 64 ? 64 : rounds;

	for (r = 0; r < n; r++) {
		t[r] = spawn_ms(argv, &status, &cpu[r]);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != expect_exit)
			die(argv[0], "unexpected exit status");
	}
	*cpu_ms = median(cpu, n);
	return median(t, n);
}

/* ---- statement counting ---- */

static long statements;

/* Debug lines of a driver ("postgres: ...", "sqlite: ...", "mongo: ...")
 * are statements or commands sent; the engine's own are not. */
static void count_log(int level, const char *message, void *payload)
{
	static const char *const drivers[] = {"postgres: ", "sqlite: ", "mongo: ", NULL};
	size_t i;

	(void)payload;
	for (i = 0; level == MIGRATE_LOG_DEBUG && drivers[i]; i++)
		if (strncmp(message, drivers[i], strlen(drivers[i])) == 0)
			statements++;
}

typedef struct target_case {
	const char *driver;
	const char *url; /* check and count here */
	char *plan_file; /* the 1,000-version plan, for the tool */
} target_case_t;

static migrate_target_t *open_target(const char *url)
{
	migrate_target_t *t;
	migrate_error_t err;

	if (migrate_target_open(&t, url, &err))
		die(url, err.message);
	return t;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		die(path, "cannot write");
}

/* Whether a URL carries a password (scheme://user:password@host...). */
static int url_has_password(const char *url)
{
	const char *start = strstr(url, "://"), *at, *colon;

	if (!start)
		return 0;
	start += 3;
	at = strchr(start, '@');
	colon = strchr(start, ':');
	return at && colon && colon < at;
}

/* Whether a program is on the PATH. */
static int on_path(const char *prog)
{
	const char *path = getenv("PATH");
	char dir[4096];

	while (path && *path) {
		size_t n = strcspn(path, ":");
		snprintf(dir, sizeof dir, "%.*s/%s", (int)n, path, prog);
		if (access(dir, X_OK) == 0)
			return 1;
		path += n + (path[n] == ':');
	}
	return 0;
}

/* Table 3 and 4 for one target: its history is reset to the plan's. */
static void run_target(const target_case_t *c, const char *cli, char *row3, size_t size3, char *row4, size_t size4)
{
	char *json = plan_json(1000, "bench_check");
	migrate_plan_t *plan = load(json);
	migrate_target_t *t = open_target(c->url);
	migrate_error_t err;
	double api[64], probe[64], held[64], cli_ms = -1, cli_cpu = -1;
	long up_statements, check_statements, down_statements;
	migrate_check_state_t state;
	int r, n = rounds > 64 ? 64 : rounds;

	/* A clean slate: revert whatever an earlier run of the benchmark left. */
	if (migrate_down(t, plan, 0, NULL, &err))
		die("down", err.message);
	statements = 0;
	migrate_log_set_handler(count_log, NULL);
	if (migrate_up(t, plan, 200, NULL, &err))
		die("up", err.message);
	migrate_log_set_handler(NULL, NULL);
	up_statements = statements;
	if (migrate_up(t, plan, 0, NULL, &err))
		die("up", err.message);
	migrate_target_close(t);

	for (r = 0; r < n; r++) {
		double t0 = now_ms();

		t = open_target(c->url);
		if (migrate_check(t, plan, &state, &err) || state != MIGRATE_CHECK_UP_TO_DATE)
			die("check", err.message);
		migrate_target_close(t);
		api[r] = now_ms() - t0;
	}
	for (r = 0; r < n; r++) {
		double t0 = now_ms();

		if (migrate_target_open_flags(&t, c->url, MIGRATE_OPEN_CHECK, &err))
			die("open", err.message);
		if (migrate_check(t, plan, &state, &err) || state != MIGRATE_CHECK_UP_TO_DATE)
			die("check", err.message);
		migrate_target_close(t);
		probe[r] = now_ms() - t0;
	}
	t = open_target(c->url);
	for (r = 0; r < n; r++) {
		double t0 = now_ms();

		if (migrate_check(t, plan, &state, &err) || state != MIGRATE_CHECK_UP_TO_DATE)
			die("check", err.message);
		held[r] = now_ms() - t0;
	}
	statements = 0;
	migrate_log_set_handler(count_log, NULL);
	if (migrate_check(t, plan, &state, &err))
		die("check", err.message);
	migrate_log_set_handler(NULL, NULL);
	check_statements = statements;

	if (cli) {
		char *argv[] = {(char *)cli, "-u", (char *)c->url, "--plan", c->plan_file, "check", NULL};

		write_file(c->plan_file, json);
		cli_ms = spawn_median(argv, 0, &cli_cpu);
	}
	snprintf(row3, size3, "| %s | %.2f | %.2f | %.2f | %s%.2f | %s%.2f |\n", c->driver, median(api, n),
		 median(probe, n), median(held, n), cli ? "" : "n/a ", cli ? cli_ms : 0.0, cli ? "" : "n/a ",
		 cli ? cli_cpu : 0.0);
	/* psql is optional, and shows its command line to the machine: not with a password in it. */
	if (!strcmp(c->driver, "postgres") && cli && !url_has_password(c->url) && on_path("psql")) {
		/* The same statement through psql: a libpq program's floor. */
		char *argv[] = {"psql",
				"-X",
				"-At",
				"-d",
				(char *)c->url,
				"-c",
				"SELECT version::text, checksum, state FROM _migrate_history "
				"WHERE plan = 'bench_check'",
				NULL};
		size_t len = strlen(row3);

		cli_ms = spawn_median(argv, 0, &cli_cpu);
		snprintf(row3 + len, size3 - len,
			 "| postgres: psql -c (check's statement) | n/a | n/a | n/a | %.2f | %.2f |\n", cli_ms,
			 cli_cpu);
	}
	statements = 0;
	migrate_log_set_handler(count_log, NULL);
	if (migrate_down(t, plan, 0, NULL, &err))
		die("down", err.message);
	migrate_log_set_handler(NULL, NULL);
	down_statements = statements;
	snprintf(row4, size4, "| %s | %.1f | %ld | %.1f |\n", c->driver, (double)up_statements / 200.0,
		 check_statements, (double)down_statements / 1000.0);
	migrate_target_close(t);
	migrate_plan_destroy(plan);
	free(json);
}

int main(int argc, char **argv)
{
	const char *cli = NULL, *pg = NULL, *pgbouncer = NULL, *mongo = NULL;
	char dir[] = "/tmp/bench_startup.XXXXXX", url[256], rows3[4][512], rows4[4][256], plan_file[4][300];
	target_case_t cases[4];
	size_t ncases = 0, k;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--cli") && i + 1 < argc)
			cli = argv[++i];
		else if (!strcmp(argv[i], "--pg") && i + 1 < argc)
			pg = argv[++i];
		else if (!strcmp(argv[i], "--pgbouncer") && i + 1 < argc)
			pgbouncer = argv[++i];
		else if (!strcmp(argv[i], "--mongo") && i + 1 < argc)
			mongo = argv[++i];
		else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = atoi(argv[++i]) > 0 ? atoi(argv[i]) : 21;
		else
			die("usage",
			    "bench_startup [--cli PATH] [--pg URL] [--pgbouncer URL] [--mongo URL] [--rounds N]");
	}
	if (!mkdtemp(dir))
		die("mkdtemp", dir);

	printf("# libmigrate %s start-up\n\n", migrate_version_string());
	table_loading();

	if (cli) {
		char *args[] = {(char *)cli, "--version", NULL};
		char self[4096], *libs[2], *load[] = {self, NULL, NULL};
		ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
		size_t nlibs = 0;
		double wall, cpu;

		wall = spawn_median(args, 0, &cpu);
		printf("## Process start\n\n| command | wall ms | CPU ms |\n|---|---:|---:|\n");
		printf("| migrate --version | %.2f | %.2f |\n", wall, cpu);
		if (len <= 0 || !strrchr(self, '/'))
			die("/proc/self/exe", "unreadable");
		self[len] = '\0';
		strcpy(strrchr(self, '/') + 1, "bench_load"); /* beside this program */
		if (pg)
			libs[nlibs++] = "libpq.so.5";
		if (mongo)
			libs[nlibs++] = "libmongoc-1.0.so.0";
		for (k = 0; k < nlibs; k++) {
			load[1] = libs[k];
			wall = spawn_median(load, 0, &cpu);
			printf("| a process that only loads %s | %.2f | %.2f |\n", libs[k], wall, cpu);
		}
		/* On the machine's process list: not with a password in it. */
		for (k = 0; k < 2; k++) {
			const char *via = k == 0 ? pg : pgbouncer;
			char *connect[] = {self, "libpq.so.5", (char *)via, NULL};

			if (!via || url_has_password(via))
				continue;
			wall = spawn_median(connect, 0, &cpu);
			printf("| a process that loads libpq, connects%s, runs SELECT 1, closes | %.2f | %.2f |\n",
			       k == 0 ? "" : " through PgBouncer", wall, cpu);
		}
		printf("\n");
	}

	snprintf(url, sizeof url, "sqlite:%s/check.db", dir);
	cases[ncases++] = (target_case_t){"sqlite", url, NULL};
	if (pg)
		cases[ncases++] = (target_case_t){"postgres", pg, NULL};
	if (pgbouncer)
		cases[ncases++] = (target_case_t){"postgres through PgBouncer", pgbouncer, NULL};
	if (mongo)
		cases[ncases++] = (target_case_t){"mongo", mongo, NULL};
	for (k = 0; k < ncases; k++) {
		snprintf(plan_file[k], sizeof plan_file[k], "%s/plan_%zu.json", dir, k);
		cases[k].plan_file = plan_file[k];
		run_target(&cases[k], cli, rows3[k], sizeof rows3[k], rows4[k], sizeof rows4[k]);
	}
	printf("## check at 1,000 applied versions\n\n");
	printf("| driver | C API ms (open + check + close) | the same, MIGRATE_OPEN_CHECK | C API ms (check, target "
	       "open) | migrate check ms (process) | its CPU ms (all threads) |\n|---|---:|---:|---:|---:|---:|\n");
	for (k = 0; k < ncases; k++)
		fputs(rows3[k], stdout);
	printf("\n## Statements sent\n\n| driver | per trivial version (up) | per check | per trivial version (down) |\n|---|---:|---:|---:|\n");
	for (k = 0; k < ncases; k++)
		fputs(rows4[k], stdout);
	printf("\n");
	for (k = 0; k < ncases; k++)
		unlink(plan_file[k]);
	snprintf(url, sizeof url, "%s/check.db", dir);
	unlink(url);
	rmdir(dir);
	return 0;
}
