/*
 * bench_load LIBRARY: loads a client library (dlopen, every symbol bound)
 * and exits; 0 when it loaded. bench_startup runs it as the floor of any
 * program that uses that library: a process that does nothing else.
 */
#include <dlfcn.h>

int main(int argc, char **argv)
{
	return argc == 2 && dlopen(argv[1], RTLD_NOW) ? 0 : 1;
}
