/*
 * scrape.c - running the collectors of one scrape, see scrape.h.
 *
 * A pool of worker threads takes collector jobs from a queue.  A scrape queues
 * one job per collector and waits until every job is done or the deadline
 * (--collector.timeout) passes.  A job still running then is abandoned: the
 * scrape reports it with success 0 and goes on; the worker finishes it later
 * and frees it (a job is shared by the scrape and its worker and freed by
 * whichever lets go last).  While a collector hangs (a dead NFS mount, a
 * sysfs file that blocks), later scrapes report it failed at once instead of
 * stacking more stuck threads, and the pool starts a replacement worker so the
 * other collectors keep their threads.
 */
#include "scrape.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define POOL_MIN 4
#define POOL_MAX 64

struct nx_job {
    const nx_collector *collector;
    nx_out out;
    double seconds;
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

/* Collectors still running for a scrape that gave up on them, by index. */
static _Atomic bool *hung;

static size_t index_of(const nx_collector *c)
{
    for (size_t i = 0; i < nx_n_collectors; i++)
        if (nx_collectors[i] == c) return i;
    return 0;
}

/* Lock held. */
static void job_release(nx_job *j)
{
    if (--j->refs == 0) {
        nx_out_destroy(&j->out);
        free(j);
    }
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
        pthread_mutex_unlock(&pool.lock);

        double t0 = core_monotonic_seconds();
        int rc = j->collector->collect(&j->out);
        double dt = core_monotonic_seconds() - t0;
        if (rc < 0 && !j->out.failed) nx_error(&j->out, "failed without saying why");

        pthread_mutex_lock(&pool.lock);
        j->seconds = dt;
        j->done = true;
        if (j->wake != NULL) {
            (*j->pending)--;
            pthread_cond_signal(j->wake);
        } else { /* abandoned: this worker was counted as stuck */
            pool.stuck--;
            atomic_store(&hung[index_of(j->collector)], false);
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

void nx_scrape_init(nx_scrape *s, const nx_collector *const *collectors, size_t n)
{
    s->n = n;
    s->results = core_calloc(n + 1, sizeof *s->results);
    for (size_t i = 0; i < n; i++)
        s->results[i].collector = collectors[i];
    pthread_mutex_lock(&pool.lock);
    if (hung == NULL) hung = core_calloc(nx_n_collectors + 1, sizeof *hung);
    pthread_mutex_unlock(&pool.lock);
}

static void set_deadline(struct timespec *ts, double timeout_s)
{
    clock_gettime(CLOCK_REALTIME, ts);
    double whole = floor(timeout_s);
    ts->tv_sec += (time_t)whole;
    ts->tv_nsec += (long)((timeout_s - whole) * 1e9);
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Takes a job that has not started out of the queue; false if it has started. */
static bool unqueue(nx_job *j)
{
    nx_job *prev = NULL;
    for (nx_job *q = pool.head; q != NULL; prev = q, q = q->next) {
        if (q != j) continue;
        if (prev != NULL)
            prev->next = q->next;
        else
            pool.head = q->next;
        if (pool.tail == q) pool.tail = prev;
        return true;
    }
    return false;
}

/* Settles one job after the wait (lock held). */
static void settle(nx_result *r, nx_job *j, double timeout_s)
{
    if (j->done) {
        r->seconds = j->seconds;
        r->success = !j->out.failed;
        if (j->out.failed) snprintf(r->error, sizeof r->error, "%.500s", j->out.err.msg);
        r->job = j; /* released in nx_scrape_destroy */
        return;
    }
    r->seconds = timeout_s;
    r->success = false;
    snprintf(r->error, sizeof r->error, "timed out after %gs", timeout_s);
    j->wake = NULL;
    if (unqueue(j)) {
        j->refs--; /* no worker will see it: its reference goes too */
    } else {
        pool.stuck++;
        atomic_store(&hung[index_of(j->collector)], true);
    }
    job_release(j);
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
        if (atomic_load(&hung[index_of(r->collector)])) {
            snprintf(r->error, sizeof r->error, "still running since an earlier scrape");
            continue;
        }
        nx_job *j = core_calloc(1, sizeof *j);
        j->collector = r->collector;
        nx_out_init(&j->out, r->collector->name);
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
    grow_pool(pending < POOL_MIN ? POOL_MIN : (unsigned)(pending < 8 ? pending : 8));
    pthread_cond_broadcast(&pool.work);

    struct timespec deadline;
    set_deadline(&deadline, timeout_s);
    while (pending > 0)
        if (pthread_cond_timedwait(&wake, &pool.lock, &deadline) != 0) break;
    for (size_t i = 0; i < s->n; i++)
        if (jobs[i] != NULL) settle(&s->results[i], jobs[i], timeout_s);
    pthread_mutex_unlock(&pool.lock);
    free(jobs);
    pthread_cond_destroy(&wake);
}

void nx_scrape_emit(const nx_scrape *s, prom_emitter *e)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->results[i].job != NULL) nx_out_replay(&s->results[i].job->out, e);
    static const char *const collector_label[] = {"collector"};
    prom_emit_family(e, "node_scrape_collector_duration_seconds",
                     "node_exporter: Duration of a collector scrape.", PROM_GAUGE, NULL,
                     collector_label, 1);
    for (size_t i = 0; i < s->n; i++)
        prom_emit_value(e, &s->results[i].collector->name, s->results[i].seconds);
    prom_emit_family(e, "node_scrape_collector_success",
                     "node_exporter: Whether a collector succeeded.", PROM_GAUGE, NULL,
                     collector_label, 1);
    for (size_t i = 0; i < s->n; i++) {
        const nx_result *r = &s->results[i];
        prom_emit_value(e, &r->collector->name, r->success ? 1 : 0);
        if (!r->success) {
            char secs[32];
            snprintf(secs, sizeof secs, "%.6f", r->seconds);
            core_error("collector", "collector failed", "name", r->collector->name,
                       "duration_seconds", secs, "err", r->error);
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
