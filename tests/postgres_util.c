/* Helpers of the PostgreSQL tests; see postgres_util.h. */
#include "postgres_util.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static char server_url[512];
static char db_url[600];

const char *pgt_server_url(void)
{
	const char *env = getenv("MIGRATE_PG_URL"), *file = getenv("MIGRATE_PG_URL_FILE");
	FILE *f;

	if (server_url[0])
		return server_url;
	if (env && *env) {
		snprintf(server_url, sizeof server_url, "%s", env);
		return server_url;
	}
	if (file && (f = fopen(file, "r")) != NULL) {
		if (fgets(server_url, sizeof server_url, f))
			server_url[strcspn(server_url, "\r\n")] = '\0';
		fclose(f);
	}
	if (!server_url[0]) {
		if (harness_ci())
			harness_fail(__FILE__, __LINE__,
				     "no PostgreSQL server: %s is missing (scripts/pg-server.sh failed to start one)",
				     file ? file : "MIGRATE_PG_URL_FILE");
		harness_skip("no PostgreSQL server (install postgresql; the fixture scripts/pg-server.sh starts one) "
			     "-- PostgreSQL TESTS SKIPPED");
	}
	return server_url;
}

PGconn *pgt_connect(const char *url)
{
	PGconn *c = PQconnectdb(url);

	if (PQstatus(c) != CONNECTION_OK) {
		if (harness_ci() || strcmp(url, pgt_server_url()) != 0)
			harness_fail(__FILE__, __LINE__, "cannot connect to %s: %s", url, PQerrorMessage(c));
		harness_skip("the PostgreSQL server does not answer -- PostgreSQL TESTS SKIPPED");
	}
	PQclear(PQexec(c, "SET client_min_messages = warning"));
	return c;
}

void pgt_exec(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType s = PQresultStatus(r);

	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
		harness_fail(__FILE__, __LINE__, "%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
}

char *pgt_value(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	char *v = NULL;

	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		harness_fail(__FILE__, __LINE__, "%s: %s", sql, PQerrorMessage(c));
	if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
		v = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	return v;
}

int64_t pgt_int(PGconn *c, const char *sql)
{
	char *v = pgt_value(c, sql);
	int64_t n = v ? strtoll(v, NULL, 10) : -1;

	free(v);
	return n;
}

void pgt_check_value(PGconn *c, const char *sql, const char *expected, int contains, const char *file, int line)
{
	char *v = pgt_value(c, sql);
	int ok = v && (contains ? strstr(v, expected) != NULL : strcmp(v, expected) == 0);

	if (!ok)
		harness_fail(file, line, "%s\n  gave \"%s\", expected %s\"%s\"", sql, v ? v : "(null)",
			     contains ? "something containing " : "", expected);
	free(v);
}

const char *pgt_fresh_db(const char *tag)
{
	char name[80], sql[200];
	const char *base = pgt_server_url(), *slash;
	PGconn *c = pgt_connect(base);

	snprintf(name, sizeof name, "t_%s_%ld", tag, (long)getpid());
	snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
	pgt_exec(c, sql);
	snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
	pgt_exec(c, sql);
	PQfinish(c);
	slash = strrchr(base, '/');
	snprintf(db_url, sizeof db_url, "%.*s/%s", (int)(slash - base), base, name);
	return db_url;
}

migrate_target_t *pgt_target(const char *url)
{
	migrate_target_t *t = NULL;
	migrate_error_t err;

	memset(&err, 0, sizeof err);
	CHECK_OK(migrate_target_open(&t, url, &err), &err);
	CHECK_STR(migrate_target_driver_name(t), "postgres");
	return t;
}

void pgt_step(migrate_version_t *v, const char *json)
{
	migrate_error_t err;

	memset(&err, 0, sizeof err);
	if (migrate_version_add_step_json(v, json, NULL, &err) != 0)
		harness_fail(__FILE__, __LINE__, "step %s: %s", json, err.message);
}

migrate_version_t *pgt_version(migrate_plan_t *plan, uint64_t id, const char *name)
{
	migrate_version_t *v = NULL;
	migrate_error_t err;

	memset(&err, 0, sizeof err);
	CHECK_OK(migrate_plan_add_version(plan, id, name, &v, &err), &err);
	return v;
}

const char *pgt_other_server(const char *env, const char *on, const char *params, const char *what)
{
	static char url[900];
	char base[512] = "";
	const char *file = getenv(env), *db = strrchr(on, '/');
	FILE *f = file ? fopen(file, "r") : NULL;
	char *slash;

	if (f) {
		if (fgets(base, sizeof base, f))
			base[strcspn(base, "\r\n")] = '\0';
		fclose(f);
	}
	if (!base[0]) {
		if (harness_ci())
			harness_fail(__FILE__, __LINE__, "no %s: %s names no URL file", what, env);
		char why[300];
		snprintf(why, sizeof why, "no %s -- its TESTS SKIPPED", what);
		harness_skip(why);
	}
	slash = strrchr(base, '/');
	if (!slash || !db)
		harness_fail(__FILE__, __LINE__, "malformed URL %s or %s", base, on);
	*slash = '\0';
	snprintf(url, sizeof url, "%s%s%s%s", base, db, params ? "?" : "", params ? params : "");
	return url;
}

static char private_state[1024];
static int private_watch = -1;
static pid_t private_watchdog;

const char *pgt_private_server(void)
{
	static char url[512];
	char cmd[2200];
	int fds[2];
	FILE *p;

	(void)pgt_server_url(); /* no PostgreSQL: skipped (failed under CI=true) as the others */
	snprintf(private_state, sizeof private_state, "%s", harness_path("private-pg"));
	snprintf(cmd, sizeof cmd, "bash '%s/scripts/pg-server.sh' start '%s' 2>&1", MIGRATE_SOURCE_DIR, private_state);
	url[0] = '\0';
	p = popen(cmd, "r");
	CHECK(p != NULL);
	while (fgets(cmd, sizeof cmd, p))
		snprintf(url, sizeof url, "%.*s", (int)strcspn(cmd, "\r\n"), cmd);
	CHECK_INT(pclose(p), 0);
	CHECK_HAS(url, "postgresql://");
	/* The watchdog stops the server once this process ends: the end of a
	 * failed test (_exit) closes the pipe's last writer. */
	CHECK_INT(pipe(fds), 0);
	CHECK_INT(fcntl(fds[1], F_SETFD, FD_CLOEXEC), 0);
	private_watchdog = fork();
	CHECK(private_watchdog >= 0);
	if (private_watchdog == 0) {
		char byte;
		close(fds[1]);
		while (read(fds[0], &byte, 1) > 0)
			;
		execl("/bin/bash", "bash", MIGRATE_SOURCE_DIR "/scripts/pg-server.sh", "stop", private_state,
		      (char *)NULL);
		_exit(127);
	}
	close(fds[0]);
	private_watch = fds[1];
	return url;
}

void pgt_private_server_stop(void)
{
	int status = 0;

	if (private_watch < 0)
		return;
	close(private_watch);
	private_watch = -1;
	CHECK_INT((int)waitpid(private_watchdog, &status, 0), (int)private_watchdog);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

migrate_plan_t *pgt_log_plan(const char *name, int versions)
{
	migrate_plan_t *plan = NULL;
	migrate_error_t err;
	migrate_version_t *v;
	char step[300];
	int i;

	memset(&err, 0, sizeof err);
	CHECK_OK(migrate_plan_new(&plan, name, &err), &err);
	v = pgt_version(plan, 1, "log");
	pgt_step(v,
		 "{\"op\":\"create_table\",\"table\":\"log\",\"columns\":[{\"name\":\"version\",\"type\":\"integer\"},"
		 "{\"name\":\"pid\",\"type\":\"integer\"}]}");
	pgt_step(
		v,
		"{\"op\":\"sql\",\"up\":\"INSERT INTO log VALUES (1, pg_backend_pid())\",\"down\":\"DELETE FROM log\"}");
	for (i = 2; i <= versions; i++) {
		v = pgt_version(plan, (uint64_t)i, "more");
		snprintf(
			step, sizeof step,
			"{\"op\":\"sql\",\"up\":\"INSERT INTO log VALUES (%d, pg_backend_pid()); SELECT pg_sleep(0.05)\","
			"\"down\":\"DELETE FROM log WHERE version = %d\"}",
			i, i);
		pgt_step(v, step);
	}
	return plan;
}
