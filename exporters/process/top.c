/*
 * top.c - --top.cpu and --top.memory: the busiest processes, without config.
 *
 * Every process's /proc/<pid>/stat is read each scrape anyway (its start time
 * tells a reused pid apart), so the top lists cost no extra read: each scrape
 * records (pid, start time, utime+stime, rss) for every process in an array
 * sorted by pid, and the CPU rate of a process is the increase of its ticks
 * since the previous scrape over the time between the two.  A process that
 * started after the previous scrape counts all its ticks; one seen for the
 * first time otherwise (the first scrape) has no rate yet.
 *
 * Selection keeps the best n in a small sorted array (insertion), which is
 * cheap for the n of a dashboard (tens) over thousands of processes.
 */
#include "process.h"

#include <stdlib.h>
#include <string.h>

void pe_top_destroy(pe_top *t)
{
    free(t->cur);
    free(t->next);
    memset(t, 0, sizeof *t);
}

void pe_top_begin(pe_top *t, double now)
{
    t->now = now;
    t->n_next = 0;
}

static const pe_top_entry *find_entry(const pe_top *t, int pid)
{
    size_t lo = 0, hi = t->n_cur;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->cur[mid].pid == pid) return &t->cur[mid];
        if (t->cur[mid].pid < pid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static double cpu_rate(const pe_top *t, const pe_top_entry *e, double start_time)
{
    double span = t->now - t->prev_time;
    if (t->prev_time <= 0 || span <= 0) return -1;
    const pe_top_entry *old = find_entry(t, e->pid);
    if (old != NULL && old->starttime == e->starttime) {
        uint64_t d = e->ticks > old->ticks ? e->ticks - old->ticks : 0;
        return (double)d / PE_USER_HZ / span;
    }
    if (start_time >= t->prev_time) return (double)e->ticks / PE_USER_HZ / span;
    return -1;
}

void pe_top_observe(pe_top *t, int pid, const pe_stat *st, double start_time, long page_size)
{
    if (t->n_next == t->cap_next) {
        t->cap_next = t->cap_next ? t->cap_next * 2 : 256;
        t->next = core_reallocarray(t->next, t->cap_next, sizeof *t->next);
    }
    pe_top_entry *e = &t->next[t->n_next++];
    e->pid = pid;
    e->starttime = st->starttime;
    e->ticks = st->utime + st->stime;
    e->rss_bytes = st->rss > 0 ? (uint64_t)st->rss * (uint64_t)page_size : 0;
    memcpy(e->comm, st->comm, sizeof e->comm);
    e->cpu_rate = cpu_rate(t, e, start_time);
}

static int cmp_entry(const void *a, const void *b)
{
    const pe_top_entry *x = a, *y = b;
    return (x->pid > y->pid) - (x->pid < y->pid);
}

void pe_top_end(pe_top *t)
{
    bool sorted = true;
    for (size_t i = 1; i < t->n_next && sorted; i++)
        sorted = t->next[i - 1].pid < t->next[i].pid;
    if (!sorted) qsort(t->next, t->n_next, sizeof *t->next, cmp_entry);
    pe_top_entry *v = t->cur;
    size_t cap = t->cap_cur;
    t->cur = t->next;
    t->n_cur = t->n_next;
    t->cap_cur = t->cap_next;
    t->next = v;
    t->cap_next = cap;
    t->n_next = 0;
    t->prev_time = t->now;
}

typedef double (*key_fn)(const pe_top_entry *e);

static double key_cpu(const pe_top_entry *e)
{
    return e->cpu_rate;
}

static double key_mem(const pe_top_entry *e)
{
    return (double)e->rss_bytes;
}

/* The n best by key (keys < 0 left out), highest first, ties by lower pid. */
static size_t select_top(const pe_top *t, size_t n, const pe_top_entry **out, key_fn key)
{
    size_t k = 0;
    for (size_t i = 0; i < t->n_cur && n > 0; i++) {
        const pe_top_entry *e = &t->cur[i];
        double v = key(e);
        if (v < 0 || (k == n && v <= key(out[k - 1]))) continue;
        size_t j = k < n ? k++ : n - 1;
        while (j > 0 && key(out[j - 1]) < v) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = e;
    }
    return k;
}

size_t pe_top_cpu(const pe_top *t, size_t n, const pe_top_entry **out)
{
    return select_top(t, n, out, key_cpu);
}

size_t pe_top_memory(const pe_top *t, size_t n, const pe_top_entry **out)
{
    return select_top(t, n, out, key_mem);
}
