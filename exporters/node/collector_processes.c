/*
 * collector_processes.c - node_processes_* from /proc/<pid>/stat (state and
 * thread count of every process), /proc/<pid>/task/<tid>/stat (thread
 * states), /proc/sys/kernel/threads-max and /proc/sys/kernel/pid_max.
 *
 * As upstream, a process or task that vanished while being read is skipped,
 * and a process whose task directory is missing adds no thread states.
 */
#include "node.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STATES 32

typedef struct counts {
    char state[MAX_STATES][8];
    double n[MAX_STATES];
    size_t len;
} counts;

static void count(counts *c, const char *state)
{
    for (size_t i = 0; i < c->len; i++) {
        if (strcmp(c->state[i], state) == 0) {
            c->n[i]++;
            return;
        }
    }
    if (c->len == MAX_STATES) return;
    snprintf(c->state[c->len], sizeof c->state[0], "%s", state);
    c->n[c->len++] = 1;
}

/* State and thread count of a "pid (comm) S ..." stat line; 0, -1 when gone, -2 when bad. */
static int read_stat(nx_out *o, const char *path, char *state, size_t cap, double *threads)
{
    char *text = nx_read_file(o, path, NULL);
    if (text == NULL) return errno == ENOENT || errno == ESRCH ? -1 : -2;
    char *close = strrchr(text, ')');
    if (close == NULL) return -2;
    char *f[20];
    size_t n = nx_fields(close + 1, f, 20);
    if (n < 18 || !nx_parse_double(f[17], threads)) return -2;
    snprintf(state, cap, "%s", f[0]);
    return 0;
}

static bool is_pid(const char *name)
{
    return name[0] != '\0' && strspn(name, "0123456789") == strlen(name);
}

/* Counts the states of a process's threads; the main thread has the process's state. */
static int thread_states(nx_out *o, const char *pid, const char *pid_state, counts *threads)
{
    char **tids;
    int n = nx_list_dir(o, nx_proc(o, nx_sprintf(o, "%s/task", pid)), &tids);
    for (int i = 0; i < n; i++) {
        if (!is_pid(tids[i])) continue;
        if (strcmp(tids[i], pid) == 0) {
            count(threads, pid_state);
            continue;
        }
        char state[8];
        double unused;
        int rc = read_stat(o, nx_proc(o, nx_sprintf(o, "%s/task/%s/stat", pid, tids[i])), state,
                           sizeof state, &unused);
        if (rc == -2) return nx_error(o, "error reading stat for pid:%s thread:%s", pid, tids[i]);
        if (rc == 0) count(threads, state);
    }
    return 0;
}

static void emit_states(nx_out *o, const char *name, const char *help, const char *label,
                        const counts *c)
{
    const char *labels[] = {label, NULL};
    nx_family(o, name, help, PROM_GAUGE, labels);
    for (size_t i = 0; i < c->len; i++)
        nx_samplev(o, c->n[i], c->state[i], NULL);
}

static int collect(nx_out *o)
{
    char **pids;
    int n = nx_list_dir(o, nx_proc(o, ""), &pids);
    if (n < 0) return nx_error(o, "unable to list all processes: %m");
    counts procs = {0}, threads = {0};
    double n_pids = 0, n_threads = 0;
    for (int i = 0; i < n; i++) {
        if (!is_pid(pids[i])) continue;
        char state[8];
        double t;
        int rc =
            read_stat(o, nx_proc(o, nx_sprintf(o, "%s/stat", pids[i])), state, sizeof state, &t);
        if (rc == -1) continue;
        if (rc == -2) return nx_error(o, "error reading stat for pid %s", pids[i]);
        n_pids++;
        count(&procs, state);
        n_threads += t;
        if (thread_states(o, pids[i], state, &threads) < 0) return -1;
    }
    nx_gauge(o, "node_processes_threads", "Allocated threads in system", n_threads);
    uint64_t max_threads, pid_max;
    if (nx_read_u64(nx_proc(o, "sys/kernel/threads-max"), &max_threads) < 0)
        return nx_error(o, "unable to retrieve limit number of threads");
    nx_gauge(o, "node_processes_max_threads", "Limit of threads in the system",
             (double)max_threads);
    emit_states(o, "node_processes_state", "Number of processes in each state.", "state", &procs);
    emit_states(o, "node_processes_threads_state", "Number of threads in each state.",
                "thread_state", &threads);
    if (nx_read_u64(nx_proc(o, "sys/kernel/pid_max"), &pid_max) < 0)
        return nx_error(o, "unable to retrieve limit number of maximum pids allowed");
    nx_gauge(o, "node_processes_pids", "Number of PIDs", n_pids);
    nx_gauge(o, "node_processes_max_processes", "Number of max PIDs limit", (double)pid_max);
    return 0;
}

const nx_collector nx_collector_processes = {
    .name = "processes",
    .default_on = false,
    .collect = collect,
};
