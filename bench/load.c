/*
 * bench_load LIBRARY [CONNINFO]: loads a client library (dlopen, every
 * symbol bound) and exits; 0 when it loaded. With CONNINFO (libpq only) it
 * also connects, runs SELECT 1 and closes. bench_startup runs it as the
 * floor of any program that uses that library: a process that does nothing
 * else.
 */
#include <dlfcn.h>
#include <string.h>

typedef void *(*connect_fn)(const char *);
typedef int (*status_fn)(const void *);
typedef void *(*exec_fn)(void *, const char *);
typedef int (*result_fn)(const void *);
typedef void (*free_fn)(void *);

/* libpq's connection status and result status of a good connection and query. */
#define CONNECTION_OK 0
#define PGRES_TUPLES_OK 2

/* A function of the library into *fn (a function pointer's bytes: ISO C has no cast from void *). */
static int bind(void *lib, const char *name, void *fn, size_t size)
{
	void *p = dlsym(lib, name);

	if (!p || size != sizeof p)
		return 0;
	memcpy(fn, &p, size);
	return 1;
}

static int select_one(void *lib, const char *conninfo)
{
	connect_fn connectdb;
	status_fn status;
	exec_fn exec;
	result_fn result_status;
	free_fn clear, finish;
	void *conn, *res;
	int ok;

	if (!bind(lib, "PQconnectdb", &connectdb, sizeof connectdb) || !bind(lib, "PQstatus", &status, sizeof status) ||
	    !bind(lib, "PQexec", &exec, sizeof exec) ||
	    !bind(lib, "PQresultStatus", &result_status, sizeof result_status) ||
	    !bind(lib, "PQclear", &clear, sizeof clear) || !bind(lib, "PQfinish", &finish, sizeof finish))
		return 1;
	conn = connectdb(conninfo);
	ok = status(conn) == CONNECTION_OK;
	if (ok) {
		res = exec(conn, "SELECT 1");
		ok = result_status(res) == PGRES_TUPLES_OK;
		clear(res);
	}
	finish(conn);
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	void *lib = argc >= 2 && argc <= 3 ? dlopen(argv[1], RTLD_NOW) : NULL;

	if (!lib)
		return 1;
	return argc == 3 ? select_one(lib, argv[2]) : 0;
}
