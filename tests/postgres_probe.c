/*
 * MIGRATE_OPEN_CHECK on PostgreSQL (lib/probe.c, lib/pgwire.c): check's
 * read of the history without the PostgreSQL module and libpq, answering
 * exactly as the driver does, and going through libpq for everything it
 * does not do itself.
 */
#include <ctype.h>
#include <link.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "internal.h"
#include "postgres_util.h"

/* 64 characters: one more than an identifier may have. */
#define SIXTY_FOUR "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqr"

/* Whether the PostgreSQL module is mapped into this process (shared library builds). */
static int module_seen(struct dl_phdr_info *info, size_t size, void *found)
{
	(void)size;
	if (strstr(info->dlpi_name, "/postgres.so"))
		*(int *)found = 1;
	return 0;
}

static int module_loaded(void)
{
	int found = 0;

	dl_iterate_phdr(module_seen, &found);
	return found;
}

/* The library's turns to libpq, counted from its log, and the last one's words. */
static int fallbacks;
static char fallback_why[300];

static void count_fallbacks(int level, const char *message, void *payload)
{
	(void)payload;
	if (level == MIGRATE_LOG_INFO && strstr(message, "through libpq")) {
		fallbacks++;
		snprintf(fallback_why, sizeof fallback_why, "%s", message);
	}
}

/* check_with(MIGRATE_OPEN_CHECK), which must go through libpq for `why`. */
static migrate_check_state_t through_libpq(const char *url, const migrate_plan_t *plan, const char *why);

/* Plan `name` of n versions, each creating table <prefix><i>. */
static migrate_plan_t *plan_of(const char *name, int n)
{
	migrate_plan_t *plan = NULL;
	migrate_error_t err;
	char step[200];
	int i;

	CHECK_OK(migrate_plan_new(&plan, name, &err), &err);
	for (i = 1; i <= n; i++) {
		migrate_version_t *v = pgt_version(plan, (uint64_t)i, "table");
		snprintf(
			step, sizeof step,
			"{\"op\":\"create_table\",\"table\":\"%s_t%d\",\"columns\":[{\"name\":\"id\",\"type\":\"bigint\"}]}",
			name, i);
		pgt_step(v, step);
	}
	return plan;
}

typedef struct answer {
	migrate_check_state_t state;
	migrate_check_details_t d;
} answer_t;

static answer_t check_with(const char *url, unsigned flags, const migrate_plan_t *plan)
{
	migrate_target_t *t = NULL;
	migrate_error_t err;
	answer_t a;

	memset(&a, 0, sizeof a);
	a.d.version = MIGRATE_CHECK_DETAILS_VERSION;
	CHECK_OK(migrate_target_open_flags(&t, url, flags, &err), &err);
	CHECK_OK(migrate_check_details(t, plan, &a.state, &a.d, &err), &err);
	migrate_target_close(t);
	return a;
}

/* The probe's answer equals the driver's, and came without libpq. */
static void same_answer(const char *url, const migrate_plan_t *plan, migrate_check_state_t expected)
{
	answer_t driver = check_with(url, 0, plan), probe;

	fallbacks = 0;
	migrate_log_set_handler(count_fallbacks, NULL);
	probe = check_with(url, MIGRATE_OPEN_CHECK, plan);
	migrate_log_set_handler(NULL, NULL);
	CHECK_INT(fallbacks, 0);
	if ((int)expected >= 0)
		CHECK_INT(driver.state, expected);
	CHECK_INT(probe.state, driver.state);
	CHECK_INT((long long)probe.d.database_version, (long long)driver.d.database_version);
	CHECK_INT((long long)probe.d.plan_version, (long long)driver.d.plan_version);
	CHECK_INT((long long)probe.d.pending, (long long)driver.d.pending);
	CHECK_INT((long long)probe.d.ahead, (long long)driver.d.ahead);
}

static migrate_check_state_t through_libpq(const char *url, const migrate_plan_t *plan, const char *why)
{
	answer_t a;

	fallbacks = 0;
	fallback_why[0] = '\0';
	migrate_log_set_handler(count_fallbacks, NULL);
	a = check_with(url, MIGRATE_OPEN_CHECK, plan);
	migrate_log_set_handler(NULL, NULL);
	CHECK_INT(fallbacks, 1);
	CHECK_HAS(fallback_why, why);
	return a.state;
}

/* Applies `plan` up to `version` in a child process: this one keeps the module unloaded. */
static void up_elsewhere(const char *url, const migrate_plan_t *plan, uint64_t version)
{
	int status = 0;
	pid_t pid = fork();

	CHECK(pid >= 0);
	if (pid == 0) {
		migrate_target_t *t = NULL;
		migrate_error_t err;
		_exit(migrate_target_open(&t, url, &err) || migrate_up(t, plan, version, NULL, &err) ? 1 : 0);
	}
	CHECK_INT((int)waitpid(pid, &status, 0), (int)pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/*
 * `url` (postgresql://user@host:port/db) on the socket of the suite's
 * server (scripts/pg-server.sh names its directory beside the URL file): the directory
 * as the URL's host, %-encoded, its port after `zeros`, or (param) as its host parameter. False
 * when the server was given by its URL alone.
 */
static bool socket_url(const char *url, char *out, size_t size, int param, const char *zeros)
{
	const char *file = getenv("MIGRATE_PG_URL_FILE"), *at = strchr(url, '@'), *port, *db;
	char dir[400], enc[1200];
	size_t i, n = 0;
	FILE *f;

	if (!file || !at || !(port = strchr(at, ':')) || !(db = strchr(port, '/')))
		return false;
	/* The socket's directory is the server's own, named in "datadir" beside the URL file. */
	snprintf(enc, sizeof enc, "%s", file);
	snprintf(strrchr(enc, '/'), sizeof enc - (size_t)(strrchr(enc, '/') - enc), "/datadir");
	if (!(f = fopen(enc, "r")))
		return false;
	if (!fgets(dir, sizeof dir, f))
		dir[0] = '\0';
	fclose(f);
	dir[strcspn(dir, "\n")] = '\0';
	if (!dir[0])
		return false;
	for (i = 0; dir[i] && n + 4 < sizeof enc; i++)
		n += (size_t)snprintf(enc + n, sizeof enc - n, isalnum((unsigned char)dir[i]) ? "%c" : "%%%02X",
				      (unsigned char)dir[i]);
	if (param)
		snprintf(out, size, "%.*s@%.*s%s?host=%s", (int)(at - url), url, (int)(db - port), port, db, dir);
	else
		snprintf(out, size, "%.*s@%s:%s%.*s%s", (int)(at - url), url, enc, zeros, (int)(db - port - 1),
			 port + 1, db);
	return true;
}

TEST(probe_reads_without_the_module)
{
	const char *url = pgt_fresh_db("probe_nomod");
	migrate_plan_t *plan = plan_of("probe", 20);
	migrate_target_t *t = NULL;
	migrate_check_state_t state = -1;
	migrate_error_t err;

	up_elsewhere(url, plan, 20);
	CHECK(!module_loaded());
	CHECK_OK(migrate_target_open_flags(&t, url, MIGRATE_OPEN_CHECK, &err), &err);
	CHECK_OK(migrate_check(t, plan, &state, &err), &err);
	CHECK_INT(state, MIGRATE_CHECK_UP_TO_DATE);
	CHECK_STR(migrate_target_driver_name(t), "postgres");
#ifndef MIGRATE_STATIC
	/* The shared library: the module (and libpq with it) was never loaded. */
	CHECK(!module_loaded());
#endif
	migrate_target_close(t);
	migrate_plan_destroy(plan);
}

TEST(probe_answers_as_the_driver)
{
	const char *url = pgt_fresh_db("probe_same");
	migrate_plan_t *plan = plan_of("probe", 6), *shorter = plan_of("probe", 4), *other = plan_of("other", 6);
	PGconn *c = pgt_connect(url);
	char schema_url[600];

	/* Never migrated (no history table), then behind, current, ahead. */
	same_answer(url, plan, MIGRATE_CHECK_PENDING);
	up_elsewhere(url, plan, 3);
	same_answer(url, plan, MIGRATE_CHECK_PENDING);
	up_elsewhere(url, plan, 6);
	same_answer(url, plan, MIGRATE_CHECK_UP_TO_DATE);
	same_answer(url, shorter, MIGRATE_CHECK_UP_TO_DATE);
	/* A failed version, then an edited one, as the history records them. */
	pgt_exec(c, "UPDATE _migrate_history SET state = 'failed' WHERE version = 5");
	same_answer(url, plan, MIGRATE_CHECK_FAILED);
	pgt_exec(c, "UPDATE _migrate_history SET state = 'applied' WHERE version = 5");
	pgt_exec(c, "UPDATE _migrate_history SET checksum = repeat('0', 64) WHERE version = 2");
	same_answer(url, plan, MIGRATE_CHECK_MISMATCH);
	/* A NULL checksum. */
	pgt_exec(c, "UPDATE _migrate_history SET checksum = NULL WHERE version = 2");
	same_answer(url, plan, (migrate_check_state_t)-1);
	/* The history in a schema of its own (migrate_schema), and a schema that does not exist. */
	snprintf(schema_url, sizeof schema_url, "%s?migrate_schema=Odd%%20%%22Schema%%22", url);
	same_answer(schema_url, other, MIGRATE_CHECK_PENDING);
	up_elsewhere(schema_url, other, 6);
	same_answer(schema_url, other, MIGRATE_CHECK_UP_TO_DATE);
	same_answer(url, other, MIGRATE_CHECK_PENDING);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM \"Odd \"\"Schema\"\"\"._migrate_history"), 6);
	/* Over the server's socket: its directory %-encoded as the URL's host, then as the host parameter. */
	if (socket_url(url, schema_url, sizeof schema_url, 0, "")) {
		same_answer(schema_url, plan, MIGRATE_CHECK_MISMATCH);
		CHECK(socket_url(url, schema_url, sizeof schema_url, 1, ""));
		same_answer(schema_url, plan, MIGRATE_CHECK_MISMATCH);
		/* A port written with a leading zero: the socket's name has the number, as libpq reads it. */
		CHECK(socket_url(url, schema_url, sizeof schema_url, 0, "0"));
		same_answer(schema_url, plan, MIGRATE_CHECK_MISMATCH);
	}
	PQfinish(c);
	migrate_plan_destroy(plan);
	migrate_plan_destroy(shorter);
	migrate_plan_destroy(other);
}

/*
 * `url` (postgresql://user@host:port/db) with `suffix` after its path, or
 * (path_first 0) after its host and port alone, fails with `code` opened
 * with MIGRATE_OPEN_CHECK as without it.
 */
static void bad_as_without(const char *url, const char *suffix, int path_first, int code)
{
	migrate_target_t *t = NULL;
	migrate_error_t err;
	char bad[900];
	const char *at = strchr(url, '@'), *path = strchr(at, '/');

	if (path_first)
		snprintf(bad, sizeof bad, "%s%s", url, suffix);
	else /* no user, no path: postgresql://host:port<suffix> */
		snprintf(bad, sizeof bad, "postgresql://%.*s%s", (int)(path - at - 1), at + 1, suffix);
	CHECK_INT(migrate_target_open_flags(&t, bad, 0, &err), code);
	CHECK_INT(migrate_target_open_flags(&t, bad, MIGRATE_OPEN_CHECK, &err), code);
	CHECK(t == NULL);
}

/* What the probe leaves to libpq gets libpq's answer, and its errors. */
TEST(probe_leaves_the_rest_to_libpq)
{
	const char *url = pgt_fresh_db("probe_rest");
	migrate_plan_t *plan = plan_of("probe", 3);
	migrate_target_t *t = NULL;
	migrate_check_state_t state = -1;
	migrate_error_t err;
	char other[600];
	answer_t a;

	up_elsewhere(url, plan, 3);
	/* A libpq parameter the probe does not read; then its own ones. */
	snprintf(other, sizeof other, "%s?connect_timeout=10&application_name=probe", url);
	CHECK_INT(through_libpq(other, plan, "the URL asks for what only libpq does"), MIGRATE_CHECK_UP_TO_DATE);
	snprintf(other, sizeof other, "%s?sslmode=disable&application_name=probe&migrate_schema=public", url);
	same_answer(other, plan, MIGRATE_CHECK_UP_TO_DATE);
	/* libpq's environment. */
	setenv("PGAPPNAME", "probe", 1);
	CHECK_INT(through_libpq(url, plan, "environment"), MIGRATE_CHECK_UP_TO_DATE);
	unsetenv("PGAPPNAME");
	/* A libmigrate parameter the driver checks: its error, as without the flag. */
	snprintf(other, sizeof other, "%s?migrate_lock=never", url);
	CHECK_INT(migrate_target_open_flags(&t, other, MIGRATE_OPEN_CHECK, &err), MIGRATE_EINVAL);
	CHECK_HAS(err.message, "migrate_lock");
	/* Nothing listens: libpq's error. */
	CHECK_INT(migrate_target_open_flags(&t, "postgresql://nobody:secret@127.0.0.1:1/x", MIGRATE_OPEN_CHECK, &err),
		  MIGRATE_ECONNECT);
	CHECK(strstr(err.message, "secret") == NULL);
	CHECK_INT(migrate_target_open_flags(&t, url, 0x80, &err), MIGRATE_EINVAL);
	/* URLs libpq reads otherwise than they look: libpq's errors with the flag as without it. */
	bad_as_without(url, "?%6Digrate_schema=zz", 1, MIGRATE_ECONNECT); /* not the driver's: libpq's unknown one */
	bad_as_without(url, "?migrate_schema=", 1, MIGRATE_EINVAL);
	bad_as_without(url, "?migrate_schema=" SIXTY_FOUR "bcdefghijklmnop", 1, MIGRATE_EINVAL);
	bad_as_without(url, "?migrate_schema=a%09b", 1, MIGRATE_EINVAL);
	/* The target serves the other calls: through the module, opened then. */
	CHECK_OK(migrate_target_open_flags(&t, url, MIGRATE_OPEN_CHECK, &err), &err);
	CHECK_OK(migrate_down(t, plan, 1, NULL, &err), &err);
	CHECK_OK(migrate_check(t, plan, &state, &err), &err);
	CHECK_INT(state, MIGRATE_CHECK_PENDING);
	CHECK(migrate_target_native_handle(t) != NULL);
	migrate_target_close(t);
	a = check_with(url, MIGRATE_OPEN_CHECK, plan);
	CHECK_INT(a.state, MIGRATE_CHECK_PENDING);
	CHECK_INT((long long)a.d.database_version, 1);
#ifdef MIGRATE_STATIC
	/* A fault at the probe's connection, then at its read: libpq's turn, the same answer. */
	migrate__fault_arm(MIGRATE__FAULT_STMT, 0, MIGRATE__FAULT_FAIL);
	if (migrate__fault_passed() >= 0) {
		long n;
		migrate__fault_arm(MIGRATE__FAULT_STMT, 1, MIGRATE__FAULT_FAIL);
		CHECK_INT(through_libpq(url, plan, "an injected fault"), MIGRATE_CHECK_PENDING);
		migrate__fault_arm(MIGRATE__FAULT_STMT, 2, MIGRATE__FAULT_FAIL);
		CHECK_INT(through_libpq(url, plan, "check reads the history through libpq"), MIGRATE_CHECK_PENDING);
		migrate__fault_arm(0, 0, MIGRATE__FAULT_FAIL);
		/* Every allocation of the probe's open and check failing in turn: the answer, or out of memory. */
		for (n = 1; n < 100000; n++) {
			long passed;
			int rc;
			state = -1;
			migrate__fault_arm(MIGRATE__FAULT_ALLOC, n, MIGRATE__FAULT_FAIL);
			rc = migrate_target_open_flags(&t, url, MIGRATE_OPEN_CHECK, &err);
			if (rc == 0) {
				rc = migrate_check(t, plan, &state, &err);
				migrate_target_close(t);
			}
			passed = migrate__fault_passed();
			migrate__fault_arm(0, 0, MIGRATE__FAULT_FAIL);
			if (rc != 0 && rc != MIGRATE_ENOMEM)
				harness_fail(__FILE__, __LINE__, "allocation %ld failing: %d (%s)", n, rc, err.message);
			CHECK(rc != 0 || state == MIGRATE_CHECK_PENDING);
			if (passed < n)
				break;
		}
		CHECK(n > 3);
	}
#endif
	migrate_plan_destroy(plan);
}

/* 100 characters: longer than HMAC-SHA-256's 64-byte block, so SCRAM hashes it first. */
#define LONG_PASSWORD                                                                              \
	"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdef" \
	"ghijklmnopqr"

/* The password methods and TLS, on a server of the test's own whose pg_hba.conf it writes. */
TEST(probe_authentication_and_tls)
{
	const char *base = pgt_private_server();
	char hba[1200], url[700], wrong[700], host[300], *data = NULL;
	migrate_plan_t *plan = plan_of("probe", 2);
	migrate_target_t *t = NULL;
	migrate_error_t err;
	PGconn *c = pgt_connect(base);
	FILE *f;
	answer_t a;
	int i;

	/* host:port of the server's URL. */
	snprintf(host, sizeof host, "%s", strchr(base, '@') + 1);
	host[strcspn(host, "/")] = '\0';
	pgt_exec(c, "CREATE ROLE pw_clear LOGIN SUPERUSER PASSWORD 's3cr:t@x'");
	pgt_exec(c, "CREATE ROLE pw_scram LOGIN SUPERUSER PASSWORD 'scram-pass'");
	pgt_exec(c, "SET password_encryption = 'md5'");
	pgt_exec(c, "CREATE ROLE pw_md5 LOGIN SUPERUSER PASSWORD 'md5-pass'");
	data = pgt_value(c, "SHOW hba_file");
	CHECK(data != NULL);
	snprintf(hba, sizeof hba,
		 "host all pw_clear 127.0.0.1/32 password\nhost all pw_scram 127.0.0.1/32 scram-sha-256\n"
		 "host all pw_md5 127.0.0.1/32 md5\nhost all all 127.0.0.1/32 trust\nlocal all all trust\n");
	f = fopen(data, "w");
	CHECK(f != NULL);
	fputs(hba, f);
	CHECK_INT(fclose(f), 0);
	pgt_exec(c, "SELECT pg_reload_conf()");
	snprintf(url, sizeof url, "postgresql://postgres@%s/postgres", host);
	up_elsewhere(url, plan, 2);
	/* The process's own user and database (libpq's defaults) exist here: a URL without a user that
	 * libpq reads as user "host", password "port?..." on host nowhere.invalid is libpq's error. */
	snprintf(hba, sizeof hba, "CREATE ROLE \"%s\" LOGIN SUPERUSER", getpwuid(geteuid())->pw_name);
	pgt_exec(c, hba);
	snprintf(hba, sizeof hba, "CREATE DATABASE \"%s\"", getpwuid(geteuid())->pw_name);
	pgt_exec(c, hba);
	snprintf(url, sizeof url, "postgresql://postgres@%s/x", host);
	bad_as_without(url, "?application_name=x@nowhere.invalid", 0, MIGRATE_ECONNECT);

	/* A cleartext password (percent-encoded in the URL): the probe's own. */
	snprintf(url, sizeof url, "postgresql://pw_clear:s3cr%%3At%%40x@%s/postgres", host);
	snprintf(wrong, sizeof wrong, "postgresql://pw_clear:wrong-one@%s/postgres", host);
	for (i = 0; i < 100; i++) { /* the reload is asynchronous: until a wrong password fails */
		PGconn *w = PQconnectdb(wrong);
		int ok = PQstatus(w) == CONNECTION_OK;
		PQfinish(w);
		if (!ok)
			break;
		usleep(50000);
	}
	CHECK(i < 100);
	fallbacks = 0;
	migrate_log_set_handler(count_fallbacks, NULL);
	a = check_with(url, MIGRATE_OPEN_CHECK, plan);
	CHECK_INT(a.state, MIGRATE_CHECK_UP_TO_DATE);
	CHECK_INT((long long)a.d.database_version, 2);
	/* The password from the environment, as libpq takes it. */
	snprintf(url, sizeof url, "postgresql://pw_clear@%s/postgres", host);
	setenv("PGPASSWORD", "s3cr:t@x", 1);
	a = check_with(url, MIGRATE_OPEN_CHECK, plan);
	CHECK_INT(a.state, MIGRATE_CHECK_UP_TO_DATE);
	unsetenv("PGPASSWORD");
	migrate_log_set_handler(NULL, NULL);
	CHECK_STR(fallback_why, "");
	CHECK_INT(fallbacks, 0);
	/* A wrong password: libpq's error, nothing of the password in it. */
	CHECK_INT(migrate_target_open_flags(&t, wrong, MIGRATE_OPEN_CHECK, &err), MIGRATE_ECONNECT);
	CHECK_HAS(err.message, "password authentication failed");
	CHECK(strstr(err.message, "wrong-one") == NULL);
	/* No password where the server asks for one: libpq's (it may find one in ~/.pgpass). */
	snprintf(url, sizeof url, "postgresql://pw_clear@%s/postgres", host);
	setenv("PGPASSFILE", "/nonexistent", 1); /* and this also keeps the probe out */
	CHECK_INT(migrate_target_open_flags(&t, url, MIGRATE_OPEN_CHECK, &err), MIGRATE_ECONNECT);
	unsetenv("PGPASSFILE");
	/* SCRAM-SHA-256 (PostgreSQL's default for a password): the probe's own; a wrong one is libpq's error. */
	snprintf(url, sizeof url, "postgresql://pw_scram:scram-pass@%s/postgres", host);
	same_answer(url, plan, MIGRATE_CHECK_UP_TO_DATE);
	snprintf(url, sizeof url, "postgresql://pw_scram:not-it@%s/postgres", host);
	CHECK_INT(migrate_target_open_flags(&t, url, MIGRATE_OPEN_CHECK, &err), MIGRATE_ECONNECT);
	CHECK_HAS(err.message, "password authentication failed");
	CHECK(strstr(err.message, "not-it") == NULL);
	/* A password longer than an HMAC block, and one that is not ASCII (SASLprep: libpq's). */
	pgt_exec(c, "SET password_encryption = 'scram-sha-256'");
	pgt_exec(c, "ALTER ROLE pw_scram PASSWORD '" LONG_PASSWORD "'");
	snprintf(url, sizeof url, "postgresql://pw_scram:" LONG_PASSWORD "@%s/postgres", host);
	same_answer(url, plan, MIGRATE_CHECK_UP_TO_DATE);
	pgt_exec(c, "ALTER ROLE pw_scram PASSWORD 'p\xc3\xa4ss'");
	snprintf(url, sizeof url, "postgresql://pw_scram:p%%C3%%A4ss@%s/postgres", host);
	CHECK_INT(through_libpq(url, plan, "not ASCII"), MIGRATE_CHECK_UP_TO_DATE);
	snprintf(url, sizeof url, "postgresql://pw_md5:md5-pass@%s/postgres", host);
	CHECK_INT(through_libpq(url, plan, "MD5"), MIGRATE_CHECK_UP_TO_DATE);

	/* A server that offers TLS: libpq's (sslmode=prefer encrypts), the same answer. */
	if (system("command -v openssl >/dev/null 2>&1") == 0) {
		char cmd[1600], *dir = pgt_value(c, "SHOW data_directory");
		char *ssl;
		CHECK(dir != NULL);
		snprintf(
			cmd, sizeof cmd,
			"cd '%s' && openssl req -new -x509 -days 2 -nodes -subj /CN=localhost -keyout server.key "
			"-out server.crt >/dev/null 2>&1 && chmod 600 server.key && chown --reference=. server.key server.crt",
			dir);
		CHECK_INT(system(cmd), 0);
		pgt_exec(c, "ALTER SYSTEM SET ssl = on");
		pgt_exec(c, "SELECT pg_reload_conf()");
		snprintf(url, sizeof url, "postgresql://postgres@%s/postgres", host);
		for (i = 0; i < 50; i++) {
			PGconn *s = pgt_connect(url);
			ssl = pgt_value(s, "SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
			PQfinish(s);
			if (ssl && strcmp(ssl, "true") == 0)
				break;
			free(ssl);
			ssl = NULL;
			usleep(100000);
		}
		CHECK_STR(ssl, "true");
		free(ssl);
		CHECK_INT(through_libpq(url, plan, "the server offers TLS"), MIGRATE_CHECK_UP_TO_DATE);
		/* ... and the target's connection is libpq's, encrypted. */
		CHECK_OK(migrate_target_open_flags(&t, url, MIGRATE_OPEN_CHECK, &err), &err);
		CHECK_INT(PQsslInUse((PGconn *)migrate_target_native_handle(t)), 1);
		migrate_target_close(t);
		/* Where TLS is not wanted, the probe reads in the clear, as libpq would. */
		snprintf(cmd, sizeof cmd, "%s?sslmode=disable", url);
		same_answer(cmd, plan, MIGRATE_CHECK_UP_TO_DATE);
		free(dir);
	}
	free(data);
	PQfinish(c);
	migrate_plan_destroy(plan);
	pgt_private_server_stop();
}
