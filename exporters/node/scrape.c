/*
 * scrape.c - running the collectors of one scrape, see scrape.h.
 *
 * A pool of worker threads takes collector jobs from a queue.  A scrape queues
 * one job per collector and waits until every job is done.  A job that has
 * been running longer than --collector.timeout is abandoned: the scrape
 * reports it with success 0, counts its worker as stuck and starts another
 * one, so the queue keeps moving; the stuck worker finishes the job whenever
 * it can and frees it (a job is shared by the scrape and its worker and freed
 * by whichever lets go last).  While a collector hangs (a dead NFS mount, a
 * sysfs file that blocks), later scrapes report it failed at once instead of
 * stacking more stuck threads.
 *
 * A collector's job, with its output and the output's first block of memory,
 * is kept for its next scrape when it is let go (one spare per collector):
 * some 90 mallocs and frees a scrape fewer.
 *
 * Most collectors take microseconds, so handing jobs between threads is the
 * main cost of a scrape: a scrape wakes one worker, which runs its jobs one
 * after another and wakes the scrape only when the last is done (two thread
 * switches a scrape); only when jobs are still queued 2 ms on (a slow
 * collector) is a second worker woken to share them.  The scrape also wakes
 * on its own to look for jobs past their time.
 */
#include "scrape.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define POOL_WORKERS 2 /* not counting stuck ones */
#define SPREAD_S     0.002
#define POOL_MAX     64

struct nx_job {
    const nx_collector *collector;
    size_t index; /* of the collector in nx_collectors */
    nx_out out;
    double seconds;
    double started; /* monotonic seconds; 0 while queued */
    bool done;
    int refs;             /* the scrape's and the worker's; under pool.lock */
    pthread_cond_t *wake; /* the waiting scrape, or NULL once abandoned */
    size_t *pending;
    nx_job *next;
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t work;
    nx_job *head, *tail;
    unsigned threads, stuck;
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, 0, 0};

const bool *nx_enabled;

bool nx_collector_enabled(const char *name)
{
    for (size_t i = 0; i < nx_n_collectors; i++)
        if (strcmp(nx_collectors[i]->name, name) == 0)
            return nx_enabled != NULL ? nx_enabled[i] : nx_collectors[i]->default_on;
    return false;
}

/* Collectors still running for a scrape that gave up on them, by index. */
static _Atomic bool *hung;
/* Bytes of output each collector made last time, by index: its next output's
 * arena starts with one block that size (plus an eighth), so that it
 * usually takes one malloc instead of one 16 KiB block after another. */
static _Atomic size_t *used_last;

static size_t block_for(size_t used)
{
    size_t want = used + used / 8 + 256;
    want = (want + 1023) & ~(size_t)1023;
    return want < 1024 ? 1024 : want > 256 * 1024 ? 256 * 1024 : want;
}

static size_t index_of(const nx_collector *c)
{
    for (size_t i = 0; i < nx_n_collectors; i++)
        if (nx_collectors[i] == c) return i;
    return 0;
}

/* A finished job kept per collector for its next scrape (lock held). */
static nx_job **spare;

/* Lock held. */
static void job_release(nx_job *j)
{
    if (--j->refs > 0) return;
    if (spare != NULL && spare[j->index] == NULL) {
        nx_out_reuse(&j->out);
        spare[j->index] = j;
        return;
    }
    nx_out_destroy(&j->out);
    free(j);
}

static void *worker(void *arg)
{
    pthread_mutex_lock(&pool.lock);
    for (;;) {
        while (pool.head == NULL)
            pthread_cond_wait(&pool.work, &pool.lock);
        nx_job *j = pool.head;
        pool.head = j->next;
        if (pool.head == NULL) pool.tail = NULL;
        double t0 = core_monotonic_seconds();
        j->started = t0;
        pthread_mutex_unlock(&pool.lock);

        int rc = j->collector->collect(&j->out);
        double dt = core_monotonic_seconds() - t0;
        if (rc < 0 && !j->out.failed) nx_error(&j->out, "failed without saying why");

        pthread_mutex_lock(&pool.lock);
        j->seconds = dt;
        j->done = true;
        if (j->wake != NULL) {
            if (--*j->pending == 0) pthread_cond_signal(j->wake);
        } else { /* abandoned: this worker was counted as stuck */
            pool.stuck--;
            atomic_store(&hung[j->index], false);
        }
        job_release(j);
    }
    return NULL;
}

/* Starts workers until `wanted` are not stuck (lock held). */
static void grow_pool(unsigned wanted)
{
    while (pool.threads - pool.stuck < wanted && pool.threads < POOL_MAX) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int rc = pthread_create(&t, &attr, worker, NULL);
        pthread_attr_destroy(&attr);
        if (rc != 0) break;
        pool.threads++;
    }
}

static _Atomic unsigned long scrapes;

void nx_scrape_init(nx_scrape *s, const nx_collector *const *collectors, size_t n)
{
    s->n = n;
    s->id = atomic_fetch_add(&scrapes, 1) + 1;
    s->results = core_calloc(n + 1, sizeof *s->results);
    for (size_t i = 0; i < n; i++)
        s->results[i].collector = collectors[i];
    pthread_mutex_lock(&pool.lock);
    if (hung == NULL) hung = core_calloc(nx_n_collectors + 1, sizeof *hung);
    if (used_last == NULL) used_last = core_calloc(nx_n_collectors + 1, sizeof *used_last);
    if (spare == NULL) spare = core_calloc(nx_n_collectors + 1, sizeof *spare);
    pthread_mutex_unlock(&pool.lock);
}

static void set_deadline(struct timespec *ts, double after_s)
{
    clock_gettime(CLOCK_REALTIME, ts);
    double whole = floor(after_s);
    ts->tv_sec += (time_t)whole;
    ts->tv_nsec += (long)((after_s - whole) * 1e9);
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Takes a job that has not started out of the queue (lock held). */
static void unqueue(nx_job *j)
{
    nx_job *prev = NULL;
    for (nx_job *q = pool.head; q != NULL; prev = q, q = q->next) {
        if (q != j) continue;
        if (prev != NULL)
            prev->next = q->next;
        else
            pool.head = q->next;
        if (pool.tail == q) pool.tail = prev;
        return;
    }
}

/* Gives up on a job that has run past its time (lock held). */
static void abandon(nx_result *r, nx_job *j, size_t *pending, double timeout_s)
{
    r->seconds = timeout_s;
    r->success = false;
    snprintf(r->timed_out, sizeof r->timed_out, "timed out after %gs", timeout_s);
    r->error = r->timed_out;
    j->wake = NULL;
    (*pending)--;
    pool.stuck++;
    atomic_store(&hung[j->index], true);
    grow_pool(1); /* a replacement, so the queue moves on */
    job_release(j);
}

/* Abandons every job running past its time, and, once the scrape has waited
 * twice the timeout (every worker stuck), the jobs still queued; returns how
 * long until the next running job would be overdue (lock held). */
static double check_overdue(nx_scrape *s, nx_job **jobs, size_t *pending, double timeout_s,
                            double scrape_start)
{
    double now = core_monotonic_seconds(), next = timeout_s;
    bool give_up = now - scrape_start > 2 * timeout_s;
    for (size_t i = 0; i < s->n; i++) {
        nx_job *j = jobs[i];
        if (j == NULL || j->done) continue;
        if (j->started == 0) {
            if (!give_up) continue;
            unqueue(j);
            nx_result *r = &s->results[i];
            r->error = "no worker free to run it";
            (*pending)--;
            j->refs = 0;
            nx_out_destroy(&j->out);
            free(j);
            jobs[i] = NULL;
            continue;
        }
        double left = j->started + timeout_s - now;
        if (left <= 0) {
            abandon(&s->results[i], j, pending, timeout_s);
            jobs[i] = NULL;
        } else if (left < next) {
            next = left;
        }
    }
    return next;
}

void nx_scrape_run(nx_scrape *s, double timeout_s)
{
    pthread_cond_t wake;
    pthread_cond_init(&wake, NULL);
    size_t pending = 0;
    nx_job **jobs = core_calloc(s->n + 1, sizeof *jobs);

    pthread_mutex_lock(&pool.lock);
    for (size_t i = 0; i < s->n; i++) {
        nx_result *r = &s->results[i];
        size_t index = index_of(r->collector);
        if (atomic_load(&hung[index])) {
            r->error = "still running since an earlier scrape";
            continue;
        }
        nx_job *j = spare[index];
        if (j != NULL) { /* its output emptied, its first block kept */
            spare[index] = NULL;
        } else {
            j = core_malloc(sizeof *j); /* not calloc: the output's error text is 1 KiB */
            size_t last = atomic_load(&used_last[index]);
            nx_out_init_sized(&j->out, r->collector->name, last ? block_for(last) : 4096);
        }
        j->collector = r->collector;
        j->index = index;
        j->seconds = j->started = 0;
        j->done = false;
        j->next = NULL;
        j->out.scrape = s->id;
        j->refs = 2;
        j->wake = &wake;
        j->pending = &pending;
        if (pool.tail != NULL)
            pool.tail->next = j;
        else
            pool.head = j;
        pool.tail = j;
        jobs[i] = j;
        pending++;
    }
    grow_pool(1);
    /* One worker takes the jobs one after another; another is woken (and
     * started, the first time) only if some are still queued SPREAD_S on (a
     * slow collector). */
    pthread_cond_signal(&pool.work);
    double start = core_monotonic_seconds(), spread_at = start + SPREAD_S;
    while (pending > 0) {
        double wait = check_overdue(s, jobs, &pending, timeout_s, start);
        if (pending == 0) break;
        double now = core_monotonic_seconds();
        bool queued = false;
        for (size_t i = 0; i < s->n && !queued; i++)
            queued = jobs[i] != NULL && !jobs[i]->done && jobs[i]->started == 0;
        if (queued && now >= spread_at) {
            grow_pool(POOL_WORKERS);
            pthread_cond_signal(&pool.work);
            spread_at = now + SPREAD_S;
        }
        if (queued && spread_at - now < wait) wait = spread_at - now;
        struct timespec deadline;
        set_deadline(&deadline, wait + 0.0001);
        pthread_cond_timedwait(&wake, &pool.lock, &deadline);
    }
    for (size_t i = 0; i < s->n; i++) {
        nx_job *j = jobs[i];
        if (j == NULL) continue;
        nx_result *r = &s->results[i];
        r->seconds = j->seconds;
        atomic_store(&used_last[j->index], j->out.arena.used_total);
        r->success = !j->out.failed;
        r->no_data = j->out.no_data;
        if (j->out.failed) r->error = j->out.err.msg; /* the job lives until nx_scrape_destroy */
        r->job = j;                                   /* released in nx_scrape_destroy */
    }
    pthread_mutex_unlock(&pool.lock);
    free(jobs);
    pthread_cond_destroy(&wake);
}

size_t nx_scrape_outputs(const nx_scrape *s, const nx_out **outs)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++)
        if (s->results[i].job != NULL) outs[n++] = &s->results[i].job->out;
    return n;
}

void nx_scrape_status(const nx_scrape *s, nx_out *o)
{
    static const char *const collector_label[] = {"collector", NULL};
    nx_family(o, "node_scrape_collector_duration_seconds",
              "node_exporter: Duration of a collector scrape.", PROM_GAUGE, collector_label);
    for (size_t i = 0; i < s->n; i++)
        nx_sample(o, s->results[i].seconds, &s->results[i].collector->name);
    nx_family(o, "node_scrape_collector_success", "node_exporter: Whether a collector succeeded.",
              PROM_GAUGE, collector_label);
    for (size_t i = 0; i < s->n; i++) {
        const nx_result *r = &s->results[i];
        nx_sample(o, r->success ? 1 : 0, &r->collector->name);
        if (!r->success && core_log_enabled(r->no_data ? CORE_LOG_DEBUG : CORE_LOG_ERROR)) {
            char secs[32], err[501];
            snprintf(secs, sizeof secs, "%.6f", r->seconds);
            snprintf(err, sizeof err, "%s", r->error != NULL ? r->error : "");
            core_log(r->no_data ? CORE_LOG_DEBUG : CORE_LOG_ERROR, "collector",
                     r->no_data ? "collector returned no data" : "collector failed", "name",
                     r->collector->name, "duration_seconds", secs, "err", err, NULL);
        }
    }
}

void nx_scrape_destroy(nx_scrape *s)
{
    pthread_mutex_lock(&pool.lock);
    for (size_t i = 0; i < s->n; i++)
        if (s->results[i].job != NULL) job_release(s->results[i].job);
    pthread_mutex_unlock(&pool.lock);
    free(s->results);
    s->results = NULL;
    s->n = 0;
}
