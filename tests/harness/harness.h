/*
 * harness.h - integration tests with real processes on loopback.
 *
 * A test picks free ports, starts programs (ours and the Debian peers) with
 * th_start, which waits until the program answers its readiness URL, talks to
 * them over HTTP, and stops them.  Whatever way the test ends, every process it
 * started is stopped by pid:
 *
 *   - th_teardown (the cmocka teardown) stops them after each test, and prints
 *     their logs unless the test reached th_pass();
 *   - an atexit handler does the same if the program exits early;
 *   - each child asks the kernel for SIGKILL when the test process dies
 *     (PR_SET_PDEATHSIG), so even a crashed test leaves nothing behind.
 *
 * Programs run in their own process group, with stdout and stderr in a log
 * file under a temporary directory that th_teardown removes.
 */
#ifndef TESTS_HARNESS_H
#define TESTS_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct th_proc {
    char name[64];
    pid_t pid;
    char log_path[512];
    bool exited; /* reaped by the harness */
    int status;  /* wait status once exited */
} th_proc;

/* A TCP port on 127.0.0.1 that was free a moment ago. */
int th_free_port(void);

/* Starts argv[0] (a path, or a name looked up in PATH) and waits up to
 * timeout_s seconds until GET ready_url answers 200.  With ready_url NULL it
 * returns as soon as the process runs.  On failure (the program exits or never
 * gets ready) it prints why and the program's log, stops it, and returns NULL. */
th_proc *th_start(const char *name, char *const argv[], const char *ready_url, double timeout_s);

/* Stops one process: SIGTERM, then SIGKILL after 5 s; reaps it.  Returns its
 * wait status.  The th_proc stays readable until th_teardown. */
int th_stop(th_proc *p);

/* True while the process has not exited (reaps it if it has). */
bool th_alive(th_proc *p);

/* Prints a process's log to stderr. */
void th_print_log(const th_proc *p);

/* An HTTP request with libcurl: method NULL for GET; body may be NULL.  Returns
 * the status (0 when the connection failed) and, if out_body is not NULL, the
 * response body (malloc'd, NUL-terminated). */
long th_http(const char *method, const char *url, const char *body, size_t body_len,
             char **out_body);

/* The build's directory of programs (PROM_BIN_DIR), e.g. for "prom-server". */
const char *th_bin_dir(void);

/* cmocka hooks: th_setup before each test, th_teardown after it; th_pass() at
 * the end of a test's body marks it passed, so its processes' logs stay quiet. */
int th_setup(void **state);
int th_teardown(void **state);
void th_pass(void);

#endif
