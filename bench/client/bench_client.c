/*
 * bench-client - libprom's side of bench/client/run.
 *
 * Times the same operations as client_bench_test.go does for client_golang and
 * prints one line per benchmark: "<name> <value> <unit>".  Each timing loop runs
 * long enough (about 0.5 s) for the clock to be a small part of it.
 *
 * Usage: bench-client [name]   (all when no name is given)
 */
#define _GNU_SOURCE
#include <prom/prom.h>

#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs fn(n) with n growing until it takes 0.5 s; returns ns per op. */
static double time_per_op(void (*fn)(long n, void *ud), void *ud)
{
    for (long n = 1000;; n *= 4) {
        double t0 = now();
        fn(n, ud);
        double dt = now() - t0;
        if (dt > 0.5 || n > (1L << 34)) return dt * 1e9 / (double)n;
    }
}

static prom_registry *fresh_registry(void)
{
    prom_registry *r = prom_registry_new();
    if (r == NULL) {
        fprintf(stderr, "%s\n", prom_last_error());
        exit(1);
    }
    return r;
}

/* ---- counter inc */

static void counter_loop(long n, void *ud)
{
    prom_counter *c = ud;
    for (long i = 0; i < n; i++)
        prom_counter_inc(c);
}

static double bench_counter_inc(void)
{
    prom_registry *r = fresh_registry();
    prom_counter *c = prom_counter_new(&(prom_opts){.name = "c_total", .help = "h", .registry = r});
    double ns = time_per_op(counter_loop, c);
    prom_registry_free(r);
    return ns;
}

/* ---- one counter from 2 threads at once */

typedef struct {
    prom_counter *c;
    long n;
} two_arg;

static void *counter_thread(void *p)
{
    two_arg *a = p;
    counter_loop(a->n, a->c);
    return NULL;
}

static void counter_2threads(long n, void *ud)
{
    two_arg a = {ud, n / 2};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, counter_thread, &a);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
}

static double bench_counter_inc_2threads(void)
{
    prom_registry *r = fresh_registry();
    prom_counter *c = prom_counter_new(&(prom_opts){.name = "c_total", .help = "h", .registry = r});
    double ns = time_per_op(counter_2threads, c);
    prom_registry_free(r);
    return ns;
}

/* ---- lookup by 2 label values, then inc */

static void labels_loop(long n, void *ud)
{
    prom_counter *f = ud;
    for (long i = 0; i < n; i++)
        prom_counter_inc(prom_counter_labels(f, "GET", "/home", NULL));
}

static double bench_labels_inc(void)
{
    static const char *const names[] = {"method", "endpoint"};
    prom_registry *r = fresh_registry();
    prom_counter *f = prom_counter_new(&(prom_opts){
        .name = "c_total", .help = "h", .labels = names, .n_labels = 2, .registry = r});
    prom_counter_inc(prom_counter_labels(f, "GET", "/home", NULL));
    double ns = time_per_op(labels_loop, f);
    prom_registry_free(r);
    return ns;
}

/* ---- histogram and summary observe (the same values as the Go side) */

static void histogram_loop(long n, void *ud)
{
    for (long i = 0; i < n; i++)
        prom_histogram_observe(ud, (double)(i % 1000) / 100);
}

static double bench_histogram_observe(void)
{
    prom_registry *r = fresh_registry();
    prom_histogram *h =
        prom_histogram_new(&(prom_opts){.name = "h", .help = "h", .registry = r}, NULL, 0);
    double ns = time_per_op(histogram_loop, h);
    prom_registry_free(r);
    return ns;
}

static void summary_loop(long n, void *ud)
{
    for (long i = 0; i < n; i++)
        prom_summary_observe(ud, (double)(i % 1000) / 100);
}

static double bench_summary_observe(void)
{
    prom_registry *r = fresh_registry();
    prom_quantile obj[] = {{0.5, 0.05}, {0.9, 0.01}, {0.99, 0.001}};
    prom_summary *s = prom_summary_new(&(prom_opts){.name = "s", .help = "h", .registry = r},
                                       &(prom_summary_opts){.objectives = obj, .n_objectives = 3});
    double ns = time_per_op(summary_loop, s);
    prom_registry_free(r);
    return ns;
}

/* ---- 100k series */

#define SERIES 100000

static prom_counter *big_family(prom_registry *r)
{
    static const char *const names[] = {"path", "code"};
    prom_counter *f = prom_counter_new(&(prom_opts){.name = "requests_total",
                                                    .help = "Requests.",
                                                    .labels = names,
                                                    .n_labels = 2,
                                                    .registry = r});
    char path[64];
    for (int i = 0; i < SERIES; i++) {
        snprintf(path, sizeof path, "/api/v1/item/%d", i);
        prom_counter_add(prom_counter_labels(f, path, "200", NULL), i);
    }
    return f;
}

typedef struct {
    prom_registry *r;
    prom_buffer buf;
} render_arg;

static void render_loop(long n, void *ud)
{
    render_arg *a = ud;
    for (long i = 0; i < n; i++)
        if (prom_render(a->r, PROM_FORMAT_TEXT, NULL, 0, &a->buf) < 0)
            fprintf(stderr, "render: %s\n", prom_last_error()), exit(1);
}

static void bench_render(void)
{
    render_arg a = {fresh_registry(), {0}};
    big_family(a.r);
    double t0 = now();
    long n = 0;
    do { /* renders of 100k series are slow enough to count one by one */
        render_loop(1, &a);
        n++;
    } while (now() - t0 < 1.0);
    double ns = (now() - t0) * 1e9 / (double)n;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("render100k %.0f ns/op\n", ns);
    printf("render100k-peak-rss %ld bytes\n", ru.ru_maxrss * 1024L);
    printf("render100k-out %zu bytes\n", a.buf.len);
    prom_buffer_free(&a.buf);
    prom_registry_free(a.r);
}

static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static void bench_bytes_per_child(void)
{
    prom_registry *r = fresh_registry();
    prom_counter *warm = prom_counter_new(&(prom_opts){.name = "w", .help = "", .registry = r});
    prom_counter_inc(warm); /* this thread's cell table exists before we measure */
    size_t before = heap_in_use();
    prom_counter *f = big_family(r);
    size_t after = heap_in_use();
    (void)f;
    printf("bytes-per-child %.1f bytes/child\n", (double)(after - before) / SERIES);
    prom_registry_free(r);
}

int main(int argc, char **argv)
{
    const char *only = argc > 1 ? argv[1] : NULL;
#define WANT(name) (only == NULL || strcmp(only, name) == 0)
    if (WANT("counter-inc")) printf("counter-inc %.2f ns/op\n", bench_counter_inc());
    if (WANT("counter-inc-2threads"))
        printf("counter-inc-2threads %.2f ns/op\n", bench_counter_inc_2threads());
    if (WANT("labels-inc")) printf("labels-inc %.2f ns/op\n", bench_labels_inc());
    if (WANT("histogram-observe"))
        printf("histogram-observe %.2f ns/op\n", bench_histogram_observe());
    if (WANT("summary-observe")) printf("summary-observe %.2f ns/op\n", bench_summary_observe());
    if (WANT("render100k")) bench_render();
    if (WANT("bytes-per-child")) bench_bytes_per_child();
    return 0;
}
