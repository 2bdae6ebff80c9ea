/*
 * procstat_parse.h - /proc/stat as procfs.Stat sees it, shared by the cpu and
 * stat collectors (static inline: the build globs collector_*.c only).
 *
 * CPU times are divided by USER_HZ (100, as procfs assumes); a cpu line with
 * fewer than ten times leaves the missing ones at 0.  A malformed line is
 * skipped with a warning instead of failing the whole file.
 */
#ifndef EXPORTERS_NODE_PROCSTAT_PARSE_H
#define EXPORTERS_NODE_PROCSTAT_PARSE_H

#include "node.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

enum {
    PS_USER,
    PS_NICE,
    PS_SYSTEM,
    PS_IDLE,
    PS_IOWAIT,
    PS_IRQ,
    PS_SOFTIRQ,
    PS_STEAL,
    PS_GUEST,
    PS_GUEST_NICE,
    PS_N_MODES
};

enum {
    PS_N_SOFTIRQ = 10
}; /* hi timer net_tx net_rx block block_iopoll tasklet sched hrtimer rcu */

typedef struct ps_cpu {
    int64_t id;
    double t[PS_N_MODES];
} ps_cpu;

typedef struct ps_stat {
    uint64_t btime, intr, ctxt, processes, running, blocked;
    uint64_t softirq_total, softirq[PS_N_SOFTIRQ];
    ps_cpu *cpus; /* per-CPU lines, in file order (scrape memory) */
    size_t n_cpus;
} ps_stat;

/* "cpuN t1 t2 ..." into c; false when malformed. */
static inline bool ps_parse_cpu(char **f, size_t n, ps_cpu *c)
{
    char *end;
    if (f[0][3] < '0' || f[0][3] > '9') return false;
    c->id = strtoll(f[0] + 3, &end, 10);
    if (*end != '\0') return false;
    for (size_t i = 0; i < PS_N_MODES; i++) {
        c->t[i] = 0;
        if (i + 1 < n && !nx_parse_double(f[i + 1], &c->t[i])) return false;
        c->t[i] /= 100;
    }
    return true;
}

static inline bool ps_parse_softirq(char **f, size_t n, ps_stat *st)
{
    if (n < 2 + PS_N_SOFTIRQ || !nx_parse_u64(f[1], &st->softirq_total)) return false;
    for (size_t i = 0; i < PS_N_SOFTIRQ; i++)
        if (!nx_parse_u64(f[i + 2], &st->softirq[i])) return false;
    return true;
}

/* One "key value..." line; false when malformed. */
static inline bool ps_parse_line(nx_out *o, char **f, size_t n, ps_stat *st, size_t *cap)
{
    static const struct {
        const char *key;
        size_t off;
    } simple[] = {
        {"btime", offsetof(ps_stat, btime)},
        {"intr", offsetof(ps_stat, intr)},
        {"ctxt", offsetof(ps_stat, ctxt)},
        {"processes", offsetof(ps_stat, processes)},
        {"procs_running", offsetof(ps_stat, running)},
        {"procs_blocked", offsetof(ps_stat, blocked)},
    };
    for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++)
        if (strcmp(f[0], simple[i].key) == 0)
            return nx_parse_u64(f[1], (uint64_t *)((char *)st + simple[i].off));
    if (strcmp(f[0], "softirq") == 0) return ps_parse_softirq(f, n, st);
    if (strncmp(f[0], "cpu", 3) != 0 || f[0][3] == '\0') return true; /* "cpu" is the total */
    if (st->n_cpus == *cap) {
        ps_cpu *more = core_arena_alloc(nx_arena(o), (*cap = 2 * *cap + 8) * sizeof *more);
        if (st->n_cpus > 0) memcpy(more, st->cpus, st->n_cpus * sizeof *more);
        st->cpus = more;
    }
    if (!ps_parse_cpu(f, n, &st->cpus[st->n_cpus])) return false;
    st->n_cpus++;
    return true;
}

/* Reads and parses <procfs>/stat; -1 (after nx_error) when it cannot be read. */
static inline int ps_read(nx_out *o, ps_stat *st)
{
    const char *path = nx_proc(o, "stat");
    char *text = nx_read_shared(o, path, NULL); /* cpu and stat both read it */
    if (text == NULL) return nx_error(o, "couldn't read %s: %m", path);
    memset(st, 0, sizeof *st);
    size_t cap = 0;
    for (char *save, *line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char *f[2 + PS_N_SOFTIRQ];
        size_t n = nx_fields(line, f, 2 + PS_N_SOFTIRQ);
        if (n < 2) continue;
        if (!ps_parse_line(o, f, n, st, &cap))
            nx_warn(o, "malformed line in %s: %.40s", path, f[0]);
    }
    return 0;
}

#endif
