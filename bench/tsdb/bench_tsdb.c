/*
 * bench_tsdb.c - the TSDB's speed and memory figures (issue 6): appending
 * into the head, querying over a block and the head, replaying the WAL, and
 * the data a backfill writes.  bench/tsdb/run drives it and sets the figures
 * beside Debian's Prometheus and promtool.
 *
 *   bench-tsdb append <dir> [--series N] [--steps N] [--batch N] [--no-wal]
 *   bench-tsdb query <dir> [--series N] [--hours H] [--batch N] [--runs N]
 *   bench-tsdb walgen <dir> [--series N] [--hours H] [--batch N]
 *   bench-tsdb replay <dir>
 *   bench-tsdb openmetrics <file> [--series N] [--hours H]
 *   bench-tsdb backfill <dir> [--series N] [--hours H]
 *   bench-tsdb blockbytes <dir>
 *
 * Every command prints one line of key=value pairs on stdout (the first word
 * names the command) for the run script to read; errors go to stderr and the
 * exit status is 1.
 *
 * The data.  Series come in targets of 1000 (instance, job and env labels),
 * each exposing 50 metric families of 20 children (one more label), so every
 * series has 5 labels, as a node or application exporter's do.  The family
 * decides how values move: 40% integer counters whose rates are spread
 * log-uniformly from 0.01/s to 1000/s (a fifth of them nearly flat), 20%
 * float counters (seconds: full mantissas), 10% byte gauges with +-1% noise,
 * 10% two-decimal gauges (temperatures), 10% ratios with full-precision
 * noise and 10% constants (info metrics).  A sample's value depends only on
 * its series and step (a hash of both drives the noise), so the OpenMetrics
 * file and the backfill write the same doubles in different orders.
 * Timestamps are exact 15 s steps from a multiple of 2 h, as Prometheus
 * 2.43+ scrapes with its default 2 ms timestamp tolerance.
 *
 * Appending works as a scrape loop does: the first step creates every series
 * from its labels, later ones pass the ref the first returned; a commit
 * every --batch samples (default 2000, a large target).  Generator state and
 * the ref cache (24 bytes a series) are allocated before the baseline RSS is
 * read, so the bytes per series are the database's alone.
 *
 * Trade-off: everything runs on the calling thread, so the figures are per
 * core; the machine's other load shows in them (the run script prints it).
 */
#define _GNU_SOURCE
#include "tsdb/tsdb.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define STEP_MS           INT64_C(15000)
#define HOUR_MS           INT64_C(3600000)
#define START_MS          INT64_C(1700006400000) /* 2023-11-15T00:00:00Z, a multiple of 2 h */
#define SERIES_PER_TARGET 1000
#define CHILDREN          20
#define STEPS_PER_HOUR    (HOUR_MS / STEP_MS)

/* ---- Options */

typedef struct opts {
    size_t series;
    int64_t steps;
    int64_t hours;
    size_t batch;
    int runs;
    bool no_wal;
} opts;

static int parse_opts(int argc, char **argv, opts *o)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--no-wal")) {
            o->no_wal = true;
            continue;
        }
        if (!v) {
            fprintf(stderr, "bench-tsdb: %s needs a value\n", a);
            return -1;
        }
        long long n = strtoll(v, NULL, 10);
        if (n <= 0) {
            fprintf(stderr, "bench-tsdb: %s %s: want a positive number\n", a, v);
            return -1;
        }
        if (!strcmp(a, "--series"))
            o->series = (size_t)n;
        else if (!strcmp(a, "--steps"))
            o->steps = n;
        else if (!strcmp(a, "--hours"))
            o->hours = n;
        else if (!strcmp(a, "--batch"))
            o->batch = (size_t)n;
        else if (!strcmp(a, "--runs"))
            o->runs = (int)n;
        else {
            fprintf(stderr, "bench-tsdb: unknown option %s\n", a);
            return -1;
        }
        i++;
    }
    return 0;
}

/* ---- Measuring */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A field of /proc/self/status (VmRSS, VmHWM) in bytes. */
static long long status_bytes(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    size_t n = strlen(field);
    long long kb = -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, field, n) && line[n] == ':') {
            kb = strtoll(line + n + 1, NULL, 10);
            break;
        }
    fclose(f);
    return kb < 0 ? -1 : kb * 1024;
}

/* ---- The data */

typedef enum kind {
    K_COUNTER_INT,
    K_COUNTER_FLOAT,
    K_GAUGE_BYTES,
    K_GAUGE_DECIMAL,
    K_GAUGE_RATIO,
    K_CONSTANT,
} kind;

static const char *const kind_name[] = {"requests",    "cpu_seconds",       "memory_bytes",
                                        "temperature", "utilization_ratio", "build_info"};
static const char *const kind_label[] = {"handler", "cpu", "device", "sensor", "mode", "version"};
static const char *const jobs[] = {"node", "api", "db", "cache"};

static kind kind_of(size_t i)
{
    static const kind by_family[10] = {
        K_COUNTER_INT,   K_COUNTER_INT, K_COUNTER_INT,   K_COUNTER_INT, K_COUNTER_FLOAT,
        K_COUNTER_FLOAT, K_GAUGE_BYTES, K_GAUGE_DECIMAL, K_GAUGE_RATIO, K_CONSTANT};
    return by_family[((i % SERIES_PER_TARGET) / CHILDREN) % 10];
}

static bool is_counter(kind k)
{
    return k == K_COUNTER_INT || k == K_COUNTER_FLOAT;
}

/* splitmix64's finaliser: a good hash of one word. */
static uint64_t mix(uint64_t x)
{
    x += UINT64_C(0x9E3779B97F4A7C15);
    x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
    return x ^ (x >> 31);
}

static double unit(uint64_t r)
{
    return (double)(r >> 11) * 0x1p-53;
}

typedef struct gen {
    double v;
    double param; /* counters: rate per second; gauges: the level noise moves around */
} gen;

static void gen_init(gen *g, size_t i)
{
    uint64_t r = mix((uint64_t)i * 2 + 1);
    double u = unit(r), u2 = unit(mix(r));
    switch (kind_of(i)) {
    case K_COUNTER_INT:
        g->param = (r & 0xff) < 51 ? 0.001 : exp(log(0.01) + u * (log(1000) - log(0.01)));
        g->v = floor(g->param * 86400 * u2);
        break;
    case K_COUNTER_FLOAT:
        g->param = exp(log(0.001) + u * (log(10) - log(0.001)));
        g->v = g->param * 86400 * u2;
        break;
    case K_GAUGE_BYTES:
        g->param = floor(1e6 + u * 4e9);
        g->v = g->param;
        break;
    case K_GAUGE_DECIMAL:
        g->param = 20 + 60 * u;
        g->v = round(g->param * 100) / 100;
        break;
    case K_GAUGE_RATIO:
        g->param = u;
        g->v = u;
        break;
    case K_CONSTANT: g->param = g->v = 1 + (double)(r % 8); break;
    }
}

/* The value of series i at step k; steps must come in order per series. */
static double gen_next(gen *g, size_t i, int64_t k)
{
    double u = unit(mix((uint64_t)i << 24 ^ (uint64_t)k));
    switch (kind_of(i)) {
    case K_COUNTER_INT: g->v += floor(g->param * 15 * (0.5 + u)); break;
    case K_COUNTER_FLOAT: g->v += g->param * 15 * (0.9 + 0.2 * u); break;
    case K_GAUGE_BYTES: g->v = floor(g->param * (0.99 + 0.02 * u)); break;
    case K_GAUGE_DECIMAL: g->v = round((g->param + 4 * (u - 0.5)) * 100) / 100; break;
    case K_GAUGE_RATIO: g->v = g->param * (0.95 + 0.1 * u); break;
    case K_CONSTANT: break;
    }
    return g->v;
}

/* The parts of series i's labels (buffers of at least 64 bytes). */
static void series_parts(size_t i, char *name, char *instance, char *child, const char **job,
                         const char **child_name)
{
    size_t target = i / SERIES_PER_TARGET;
    unsigned family = (unsigned)(i % SERIES_PER_TARGET) / CHILDREN;
    kind k = kind_of(i);
    snprintf(name, 64, "bench_%s_%02u%s", kind_name[k], family, is_counter(k) ? "_total" : "");
    snprintf(instance, 64, "10.%u.%u.%u:9100", (unsigned)(target >> 16) & 255,
             (unsigned)(target >> 8) & 255, (unsigned)target & 255);
    snprintf(child, 64, "%u", (unsigned)(i % CHILDREN));
    *job = jobs[target % 4];
    *child_name = kind_label[k];
}

static core_labels *labels_of(size_t i)
{
    char name[64], instance[64], child[64];
    const char *job, *child_name;
    series_parts(i, name, instance, child, &job, &child_name);
    core_label p[] = {{"__name__", name},
                      {"env", "prod"},
                      {"instance", instance},
                      {"job", job},
                      {child_name, child}};
    return core_labels_new(p, 5);
}

/* ---- Writing through the database */

/* Appends steps [from, to) of every series, a commit every `batch` samples;
 * compacts after each step that crosses an hour when `compact`. */
static int write_steps(tsdb_db *db, gen *g, uint64_t *refs, size_t n, int64_t from, int64_t to,
                       size_t batch, bool compact, double *first_step_s)
{
    core_err err = {{0}};
    double t0 = now_s();
    for (int64_t k = from; k < to; k++) {
        int64_t t = START_MS + k * STEP_MS;
        tsdb_appender *a = tsdb_db_appender(db);
        size_t inbatch = 0;
        for (size_t i = 0; i < n; i++) {
            core_labels *ls = refs[i] ? NULL : labels_of(i);
            int rc = tsdb_appender_add(a, &refs[i], ls, t, gen_next(&g[i], i, k), &err);
            free(ls);
            if (rc != 0) {
                fprintf(stderr, "bench-tsdb: append series %zu step %" PRId64 ": %d %s\n", i, k, rc,
                        err.msg);
                tsdb_appender_rollback(a);
                return -1;
            }
            if (++inbatch == batch && i + 1 < n) {
                if (tsdb_appender_commit(a, &err) < 0) goto commit_failed;
                a = tsdb_db_appender(db);
                inbatch = 0;
            }
        }
        if (tsdb_appender_commit(a, &err) < 0) goto commit_failed;
        if (k == from && first_step_s) *first_step_s = now_s() - t0;
        if (compact && (t / HOUR_MS) != ((t + STEP_MS) / HOUR_MS) &&
            tsdb_db_compact(db, &err) < 0) {
            fprintf(stderr, "bench-tsdb: compact: %s\n", err.msg);
            return -1;
        }
    }
    return 0;
commit_failed:
    fprintf(stderr, "bench-tsdb: commit: %s\n", err.msg);
    return -1;
}

static gen *gen_all(size_t n)
{
    gen *g = core_calloc(n, sizeof(*g));
    for (size_t i = 0; i < n; i++)
        gen_init(&g[i], i);
    return g;
}

static tsdb_db *open_db(const char *dir, bool no_wal)
{
    core_err err = {{0}};
    tsdb_db *db = tsdb_db_open(dir, &(tsdb_db_opts){.wal_disabled = no_wal}, &err);
    if (!db) fprintf(stderr, "bench-tsdb: open %s: %s\n", dir, err.msg);
    return db;
}

static int close_db(tsdb_db *db)
{
    core_err err = {{0}};
    if (tsdb_db_close(db, &err) < 0) {
        fprintf(stderr, "bench-tsdb: close: %s\n", err.msg);
        return -1;
    }
    return 0;
}

/* ---- append */

static int cmd_append(const char *dir, opts *o)
{
    size_t n = o->series ? o->series : 1000000;
    int64_t steps = o->steps ? o->steps : 480;
    size_t batch = o->batch ? o->batch : 2000;
    gen *g = gen_all(n);
    uint64_t *refs = core_calloc(n, sizeof(*refs));
    memset(refs, 0, n * sizeof(*refs)); /* touched, so the baseline holds it */
    long long rss0 = status_bytes("VmRSS");
    struct mallinfo2 mi0 = mallinfo2();
    double t0 = now_s(), first = 0;
    tsdb_db *db = open_db(dir, o->no_wal);
    if (!db) return 1;
    if (write_steps(db, g, refs, n, 0, steps, batch, false, &first) < 0) return 1;
    double t1 = now_s();
    long long rss1 = status_bytes("VmRSS"), hwm = status_bytes("VmHWM");
    struct mallinfo2 mi1 = mallinfo2();
    /* malloc'd bytes in use (small and mmapped blocks): RSS less this is
     * allocator slack, mappings and the rest. */
    double heap = (double)(mi1.uordblks + mi1.hblkhd) - (double)(mi0.uordblks + mi0.hblkhd);
    tsdb_db_stats st = tsdb_db_get_stats(db);
    uint64_t samples = (uint64_t)n * (uint64_t)steps;
    if (st.samples_appended != samples)
        fprintf(stderr, "bench-tsdb: %" PRIu64 " samples appended, want %" PRIu64 "\n",
                st.samples_appended, samples);
    double tc = now_s();
    if (close_db(db) < 0) return 1;
    double close_s = now_s() - tc;
    printf("append wal=%s series=%zu steps=%" PRId64 " batch=%zu samples=%" PRIu64
           " seconds=%.3f first_step_seconds=%.3f samples_per_s=%.0f steady_samples_per_s=%.0f"
           " rss_before=%lld rss_after=%lld hwm=%lld bytes_per_series=%.1f"
           " heap_bytes_per_series=%.1f chunks_cut=%" PRIu64 " head_series=%" PRIu64
           " close_seconds=%.3f\n",
           o->no_wal ? "off" : "on", n, steps, batch, samples, t1 - t0, first,
           (double)samples / (t1 - t0), steps > 1 ? (double)(samples - n) / (t1 - t0 - first) : 0.0,
           rss0, rss1, hwm, (double)(rss1 - rss0) / (double)n, heap / (double)n, st.head.chunks_cut,
           st.head.series, close_s);
    free(g);
    free(refs);
    return st.samples_appended == samples ? 0 : 1;
}

/* ---- query */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int cmd_query(const char *dir, opts *o)
{
    size_t n = o->series ? o->series : 10000;
    int64_t hours = o->hours ? o->hours : 5;
    size_t batch = o->batch ? o->batch : 2000;
    int runs = o->runs ? o->runs : 7;
    if (hours < 4) {
        fprintf(stderr, "bench-tsdb: query wants --hours >= 4 (a block and the head)\n");
        return 1;
    }
    gen *g = gen_all(n);
    uint64_t *refs = core_calloc(n, sizeof(*refs));
    tsdb_db *db = open_db(dir, false);
    if (!db) return 1;
    double tw = now_s();
    if (write_steps(db, g, refs, n, 0, hours * STEPS_PER_HOUR, batch, true, NULL) < 0) return 1;
    tw = now_s() - tw;
    core_err err = {{0}};
    if (tsdb_db_compact(db, &err) < 0) {
        fprintf(stderr, "bench-tsdb: compact: %s\n", err.msg);
        return 1;
    }
    tsdb_db_stats st = tsdb_db_get_stats(db);
    /* The newest block ends where the head begins; read 1 h on each side. */
    int64_t edge = st.head.mint - st.head.mint % (2 * HOUR_MS);
    int64_t mint = edge - HOUR_MS, maxt = edge + HOUR_MS - 1;
    uint64_t want = (uint64_t)n * (uint64_t)(2 * STEPS_PER_HOUR);
    tsdb_matcher m = {
        .type = TSDB_MATCH_EQ, .name = tsdb_str_c("env"), .value = tsdb_str_c("prod")};
    double *secs = core_calloc((size_t)runs, sizeof(*secs));
    uint64_t total = 0, check = 0;
    size_t nseries = 0;
    int bad = 0;
    for (int r = 0; r < runs; r++) {
        core_arena arena;
        core_arena_init(&arena, 0);
        double t0 = now_s();
        tsdb_querier q;
        tsdb_db_querier(db, &q);
        tsdb_qseries *out;
        if (tsdb_querier_select(&q, &m, 1, mint, maxt, &arena, &out, &nseries, &err) < 0) {
            fprintf(stderr, "bench-tsdb: select: %s\n", err.msg);
            return 1;
        }
        total = 0;
        for (size_t s = 0; s < nseries; s++) {
            tsdb_qiter it;
            tsdb_qiter_init(&it, &out[s]);
            while (tsdb_qiter_next(&it)) {
                check += (uint64_t)it.t ^ it.v;
                total++;
            }
            if (it.failure) {
                fprintf(stderr, "bench-tsdb: series %zu: %s\n", s, it.failure);
                bad = 1;
            }
        }
        tsdb_querier_close(&q);
        secs[r] = now_s() - t0;
        core_arena_destroy(&arena);
    }
    if (nseries != n || total != want) {
        fprintf(stderr, "bench-tsdb: read %zu series, %" PRIu64 " samples; want %zu, %" PRIu64 "\n",
                nseries, total, n, want);
        bad = 1;
    }
    qsort(secs, (size_t)runs, sizeof(*secs), cmp_double);
    printf("query series=%zu hours=%" PRId64 " blocks=%" PRIu64 " mint=%" PRId64 " maxt=%" PRId64
           " block_edge=%" PRId64 " samples=%" PRIu64 " runs=%d best_seconds=%.4f"
           " median_seconds=%.4f samples_per_s=%.0f median_samples_per_s=%.0f"
           " write_seconds=%.2f check=%016" PRIx64 "\n",
           nseries, hours, st.blocks, mint, maxt, edge, total, runs, secs[0], secs[runs / 2],
           (double)total / secs[0], (double)total / secs[runs / 2], tw, check);
    free(secs);
    free(g);
    free(refs);
    if (st.blocks < 1) {
        fprintf(stderr, "bench-tsdb: no block was written\n");
        bad = 1;
    }
    return close_db(db) < 0 || bad;
}

/* ---- walgen, replay */

static int cmd_walgen(const char *dir, opts *o)
{
    size_t n = o->series ? o->series : 100000;
    int64_t hours = o->hours ? o->hours : 2;
    size_t batch = o->batch ? o->batch : 2000;
    gen *g = gen_all(n);
    uint64_t *refs = core_calloc(n, sizeof(*refs));
    tsdb_db *db = open_db(dir, false);
    if (!db) return 1;
    double t0 = now_s();
    int64_t steps = hours * STEPS_PER_HOUR;
    if (write_steps(db, g, refs, n, 0, steps, batch, false, NULL) < 0) return 1;
    tsdb_db_stats st = tsdb_db_get_stats(db);
    if (close_db(db) < 0) return 1;
    printf("walgen series=%zu hours=%" PRId64 " samples=%" PRIu64 " seconds=%.2f blocks=%" PRIu64
           "\n",
           n, hours, st.samples_appended, now_s() - t0, st.blocks);
    free(g);
    free(refs);
    return 0;
}

static int cmd_replay(const char *dir)
{
    long long rss0 = status_bytes("VmRSS");
    double t0 = now_s();
    tsdb_db *db = open_db(dir, false);
    if (!db) return 1;
    double t1 = now_s();
    long long rss1 = status_bytes("VmRSS"), hwm = status_bytes("VmHWM");
    tsdb_db_stats st = tsdb_db_get_stats(db);
    if (close_db(db) < 0) return 1;
    printf("replay seconds=%.3f series=%" PRIu64 " records=%" PRIu64 " corruptions=%" PRIu64
           " head_mint=%" PRId64 " head_maxt=%" PRId64 " rss_before=%lld rss_after=%lld"
           " hwm=%lld\n",
           t1 - t0, st.head.series, st.wal_replayed_records, st.wal_corruptions, st.head.mint,
           st.head.maxt, rss0, rss1, hwm);
    return 0;
}

/* ---- openmetrics, backfill, blockbytes */

/* Writes every series of every family, each series' samples in time order
 * (a family's lines together, as OpenMetrics wants). */
static int cmd_openmetrics(const char *path, opts *o)
{
    size_t n = o->series ? o->series : 1000;
    int64_t steps = (o->hours ? o->hours : 6) * STEPS_PER_HOUR;
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return 1;
    }
    static char buf[1 << 20];
    setvbuf(f, buf, _IOFBF, sizeof buf);
    size_t targets = (n + SERIES_PER_TARGET - 1) / SERIES_PER_TARGET;
    uint64_t lines = 0;
    for (unsigned family = 0; family < SERIES_PER_TARGET / CHILDREN; family++) {
        bool typed = false;
        for (size_t tg = 0; tg < targets; tg++)
            for (unsigned c = 0; c < CHILDREN; c++) {
                size_t i = tg * SERIES_PER_TARGET + family * CHILDREN + c;
                if (i >= n) continue;
                char name[64], instance[64], child[64];
                const char *job, *child_name;
                series_parts(i, name, instance, child, &job, &child_name);
                kind k = kind_of(i);
                if (!typed) {
                    size_t len = strlen(name) - (is_counter(k) ? 6 : 0);
                    fprintf(f, "# TYPE %.*s %s\n", (int)len, name,
                            is_counter(k) ? "counter" : "gauge");
                    typed = true;
                }
                gen g;
                gen_init(&g, i);
                for (int64_t s = 0; s < steps; s++) {
                    double v = gen_next(&g, i, s);
                    int64_t t = START_MS + s * STEP_MS;
                    fprintf(f,
                            "%s{env=\"prod\",instance=\"%s\",job=\"%s\",%s=\"%s\"} %.17g %" PRId64
                            "\n",
                            name, instance, job, child_name, child, v, t / 1000);
                    lines++;
                }
            }
    }
    fputs("# EOF\n", f);
    if (fclose(f) != 0) {
        perror(path);
        return 1;
    }
    printf("openmetrics series=%zu samples=%" PRIu64 "\n", n, lines);
    return 0;
}

/* The same samples as cmd_openmetrics, through a head written out in 2 h
 * blocks with tsdb_head_write_block (what a backfill does). */
static int cmd_backfill(const char *dir, opts *o)
{
    size_t n = o->series ? o->series : 1000;
    int64_t steps = (o->hours ? o->hours : 6) * STEPS_PER_HOUR;
    core_err err = {{0}};
    if (mkdir(dir, 0777) < 0 && errno != EEXIST) {
        perror(dir);
        return 1;
    }
    tsdb_head *h = tsdb_head_new(&(tsdb_head_opts){0}, &err);
    if (!h) {
        fprintf(stderr, "bench-tsdb: head: %s\n", err.msg);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        core_labels *ls = labels_of(i);
        bool created;
        tsdb_hseries *s = tsdb_head_get_or_create(h, ls, 0, &created);
        free(ls);
        gen g;
        gen_init(&g, i);
        for (int64_t k = 0; k < steps; k++) {
            double v = gen_next(&g, i, k);
            uint64_t bits;
            memcpy(&bits, &v, sizeof bits);
            if (tsdb_head_append(h, s, START_MS + k * STEP_MS, bits, &err) != 0) {
                fprintf(stderr, "bench-tsdb: append: %s\n", err.msg);
                return 1;
            }
        }
    }
    int64_t range = 2 * HOUR_MS, end = START_MS + steps * STEP_MS;
    int blocks = 0;
    for (int64_t mint = START_MS; mint < end; mint += range) {
        tsdb_ulid ulid;
        if (tsdb_head_write_block(h, dir, mint, mint + range, &ulid, &err) < 0) {
            fprintf(stderr, "bench-tsdb: write block: %s\n", err.msg);
            return 1;
        }
        blocks++;
    }
    tsdb_head_free(h);
    printf("backfill series=%zu samples=%" PRIu64 " blocks=%d\n", n, (uint64_t)n * (uint64_t)steps,
           blocks);
    return 0;
}

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

/* Sums meta.json's numSamples and the sizes of chunks/ and index of every
 * block directory in `dir`. */
static int cmd_blockbytes(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        perror(dir);
        return 1;
    }
    uint64_t samples = 0, series = 0, chunks = 0;
    long long chunk_bytes = 0, index_bytes = 0;
    int blocks = 0;
    struct dirent *de;
    char path[4096];
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        tsdb_block_meta meta;
        core_err err = {{0}};
        if (tsdb_block_meta_read(&meta, path, NULL, &err) < 0) continue;
        samples += meta.stats.num_samples;
        series += meta.stats.num_series;
        chunks += meta.stats.num_chunks;
        tsdb_block_meta_destroy(&meta);
        blocks++;
        char sub[4200];
        snprintf(sub, sizeof sub, "%s/index", path);
        index_bytes += file_size(sub);
        snprintf(sub, sizeof sub, "%s/chunks", path);
        DIR *cd = opendir(sub);
        for (struct dirent *ce; cd && (ce = readdir(cd));) {
            if (ce->d_name[0] == '.') continue;
            char f[4500];
            snprintf(f, sizeof f, "%s/%s", sub, ce->d_name);
            chunk_bytes += file_size(f);
        }
        if (cd) closedir(cd);
    }
    closedir(d);
    printf("blockbytes blocks=%d series=%" PRIu64 " chunks=%" PRIu64 " samples=%" PRIu64
           " chunk_bytes=%lld index_bytes=%lld bytes_per_sample=%.4f chunk_bytes_per_sample=%.4f\n",
           blocks, series, chunks, samples, chunk_bytes, index_bytes,
           samples ? (double)(chunk_bytes + index_bytes) / (double)samples : 0.0,
           samples ? (double)chunk_bytes / (double)samples : 0.0);
    return samples ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 3) goto usage;
    opts o = {0};
    if (parse_opts(argc - 3, argv + 3, &o) < 0) return 2;
    const char *cmd = argv[1], *path = argv[2];
    if (!strcmp(cmd, "append")) return cmd_append(path, &o);
    if (!strcmp(cmd, "query")) return cmd_query(path, &o);
    if (!strcmp(cmd, "walgen")) return cmd_walgen(path, &o);
    if (!strcmp(cmd, "replay")) return cmd_replay(path);
    if (!strcmp(cmd, "openmetrics")) return cmd_openmetrics(path, &o);
    if (!strcmp(cmd, "backfill")) return cmd_backfill(path, &o);
    if (!strcmp(cmd, "blockbytes")) return cmd_blockbytes(path);
usage:
    fprintf(stderr, "usage: bench-tsdb append|query|walgen|replay|openmetrics|backfill|blockbytes "
                    "<dir or file> [--series N] [--steps N] [--hours H] [--batch N] [--runs N] "
                    "[--no-wal]\n");
    return 2;
}
