/*
 * gen_openmetrics.c - the data of bench/promql: one OpenMetrics file of
 * counters, gauges and classic histograms scraped every 15 s, for promtool
 * (and later our own backfill) to turn into blocks.
 *
 *   bench-promql-gen <out file> <end ms> [instances] [hours]
 *
 * Each instance (default 100; 5 jobs, instances spread over them) exports
 * exactly 100 series, so the default makes 10,000 series over 6 h:
 *   http_requests_total{handler, method, code}       24 counters
 *   http_request_duration_seconds{handler}           4 histograms x 12 series
 *     (_bucket for 10 `le` including +Inf, _sum, _count)
 *   node_cpu_seconds_total{cpu, mode}                16 counters
 *   node_memory_usage_bytes, node_load1,
 *   process_open_fds                                 3 gauges
 *   temperature_celsius{sensor}, queue_length{queue} 8 gauges
 *   node_info{team, version}                         1 gauge, always 1
 * every one with job and instance labels.  Request rates differ per series
 * and drift over the hours; about a quarter of the instances restart once,
 * which resets their request counters and histograms to zero; gauges are
 * sine waves, trends and random walks with noise.
 *
 * Timestamps: an instance is scraped at a phase of its own, 1.5 to 4.5 s
 * after each multiple of 15 s, plus a jitter of +-0.5 s per scrape shared by
 * all its series: every sample falls 1 to 5 s after a multiple of 15 s.  A
 * query whose steps sit 10 s after a multiple of 15 s, with ranges and
 * subquery steps in whole multiples of 15 s, then never has a sample or a
 * subquery step on a window's edge, so Prometheus 2.42's closed windows
 * [t-r, t] and the 3.x left-open ones (t-r, t] that our engine implements
 * select the same samples.
 *
 * Output is written family by family, series by series, samples in time
 * order (what promtool's backfill needs), then `# EOF`.  Everything is
 * derived from fixed seeds: the same arguments give the same bytes.
 * Values are printed with a fixed number of decimals by a small formatter
 * (printf's %f made generation three times slower at this size).
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STEP_MS   15000
#define NJOBS     5
#define NHANDLERS 4
#define NBUCKETS  10

static const char *const jobs[NJOBS] = {"api", "web", "auth", "db", "cache"};
static const char *const teams[NJOBS] = {"core", "frontend", "identity", "storage", "storage"};
static const char *const handlers[NHANDLERS] = {"/", "/api/v1/query", "/login", "/metrics"};
static const double handler_rate[NHANDLERS] = {40, 12, 3, 0.2};           /* requests/s */
static const double handler_median[NHANDLERS] = {0.02, 0.12, 0.3, 0.004}; /* seconds */
static const char *const methods[2] = {"GET", "POST"};
static const char *const codes[3] = {"200", "404", "500"};
static const double code_share[3] = {0.93, 0.05, 0.02};
static const double bucket_le[NBUCKETS - 1] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
static const char *const bucket_text[NBUCKETS] = {"0.005", "0.01", "0.025", "0.05", "0.1",
                                                  "0.25",  "0.5",  "1",     "2.5",  "+Inf"};
static const char *const cpu_modes[4] = {"idle", "user", "system", "iowait"};

typedef struct gen {
    FILE *out;
    int64_t base; /* ms of the first scrape's grid point */
    int steps;
    int instances;
} gen;

/* ---- Deterministic randomness */

static uint64_t mix(uint64_t x)
{
    x += UINT64_C(0x9e3779b97f4a7c15);
    x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

static uint64_t seed_of(uint64_t a, uint64_t b, uint64_t c)
{
    return mix(mix(mix(a) ^ b) ^ c);
}

/* Uniform in [0, 1). */
static double unif(uint64_t *s)
{
    *s = mix(*s);
    return (double)(*s >> 11) * 0x1p-53;
}

/* Approximately normal (sum of four uniforms), mean 0, deviation 1. */
static double gauss(uint64_t *s)
{
    return (unif(s) + unif(s) + unif(s) + unif(s) - 2) * 1.7320508;
}

/* ---- Instances */

static const char *job_of(int inst)
{
    return jobs[inst % NJOBS];
}

static void instance_name(int inst, char *buf, size_t n)
{
    snprintf(buf, n, "10.%d.%d.%d:9100", inst % NJOBS, inst / 250, inst % 250);
}

/* The scrape time of step k of instance `inst`. */
static int64_t scrape_ms(const gen *g, int inst, int k)
{
    uint64_t s = seed_of(1, (uint64_t)inst, 0);
    int64_t phase = 1500 + (int64_t)(unif(&s) * 3000);
    uint64_t j = seed_of(2, (uint64_t)inst, (uint64_t)k);
    int64_t jitter = (int64_t)(unif(&j) * 1000) - 500;
    return g->base + (int64_t)k * STEP_MS + phase + jitter;
}

/* The step at which the instance restarts, or -1. */
static int restart_step(const gen *g, int inst)
{
    uint64_t s = seed_of(3, (uint64_t)inst, 0);
    if (unif(&s) >= 0.25 || g->steps < 40) return -1;
    return 20 + (int)(unif(&s) * (g->steps - 40));
}

/* ---- Output */

static char *put_u64(char *p, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

/* `v` with `dec` decimals (trailing zeros kept: real exporters do the same). */
static char *put_fixed(char *p, double v, int dec)
{
    static const double scale[] = {1, 10, 100, 1000, 10000};
    if (v < 0) {
        *p++ = '-';
        v = -v;
    }
    uint64_t whole = (uint64_t)llround(v * scale[dec]);
    uint64_t div = (uint64_t)scale[dec];
    p = put_u64(p, whole / div);
    if (dec) {
        *p++ = '.';
        uint64_t frac = whole % div;
        for (int d = dec - 1; d >= 0; d--) {
            p[d] = (char)('0' + frac % 10);
            frac /= 10;
        }
        p += dec;
    }
    return p;
}

/* Writes one series: `prefix` is `name{labels}`, vals[k] its value at step k
 * (NaN: no sample), `dec` the decimals to print. */
static void put_series(gen *g, int inst, const char *prefix, const double *vals, int dec)
{
    size_t plen = strlen(prefix);
    char line[1024];
    memcpy(line, prefix, plen);
    line[plen] = ' ';
    for (int k = 0; k < g->steps; k++) {
        if (isnan(vals[k])) continue;
        char *p = put_fixed(line + plen + 1, vals[k], dec);
        *p++ = ' ';
        int64_t t = scrape_ms(g, inst, k);
        p = put_u64(p, (uint64_t)(t / 1000));
        int ms = (int)(t % 1000);
        *p++ = '.';
        *p++ = (char)('0' + ms / 100);
        *p++ = (char)('0' + ms / 10 % 10);
        *p++ = (char)('0' + ms % 10);
        *p++ = '\n';
        fwrite(line, 1, (size_t)(p - line), g->out);
    }
}

static void family(gen *g, const char *name, const char *type, const char *help)
{
    fprintf(g->out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* ---- Families */

/* A request counter: rate `r` per second drifting with the hour, noise per
 * scrape, integer counts, reset at the instance's restart. */
static void counter_walk(gen *g, int inst, uint64_t seed, double r, double *vals)
{
    uint64_t s = seed;
    int restart = restart_step(g, inst);
    double drift_phase = unif(&s) * 6.283, drift_period = 3600 * (1 + 2 * unif(&s));
    double v = floor(unif(&s) * r * 86400);
    for (int k = 0; k < g->steps; k++) {
        if (k == restart) v = 0;
        double sec = (double)k * STEP_MS / 1000;
        double rate = r * (1 + 0.5 * sin(6.283 * sec / drift_period + drift_phase));
        double inc = rate * 15 * (1 + 0.2 * gauss(&s));
        v += inc > 0 ? floor(inc + unif(&s)) : 0;
        vals[k] = v;
    }
}

static void gen_http_requests(gen *g, double *vals)
{
    family(g, "http_requests", "counter", "Requests served.");
    char inst_name[64], prefix[512];
    for (int i = 0; i < g->instances; i++) {
        instance_name(i, inst_name, sizeof inst_name);
        uint64_t is = seed_of(10, (uint64_t)i, 0);
        double load = 0.5 + unif(&is);
        for (int h = 0; h < NHANDLERS; h++)
            for (int m = 0; m < 2; m++)
                for (int c = 0; c < 3; c++) {
                    double r = handler_rate[h] * load * (m ? 0.25 : 1) * code_share[c];
                    counter_walk(g, i, seed_of(11, (uint64_t)i, (uint64_t)(h * 6 + m * 3 + c)), r,
                                 vals);
                    snprintf(prefix, sizeof prefix,
                             "http_requests_total{job=\"%s\",instance=\"%s\",handler=\"%s\","
                             "method=\"%s\",code=\"%s\"}",
                             job_of(i), inst_name, handlers[h], methods[m], codes[c]);
                    put_series(g, i, prefix, vals, 0);
                }
    }
}

/* Request latencies, log-normal around a median that drifts: each scrape
 * adds n observations spread over the buckets by the distribution's CDF. */
static void gen_http_durations(gen *g, double *vals)
{
    family(g, "http_request_duration_seconds", "histogram", "Request latencies.");
    int steps = g->steps;
    double *series = malloc(sizeof(double) * (size_t)steps * (NBUCKETS + 2));
    char inst_name[64], prefix[512];
    for (int i = 0; i < g->instances; i++) {
        instance_name(i, inst_name, sizeof inst_name);
        uint64_t is = seed_of(10, (uint64_t)i, 0);
        double load = 0.5 + unif(&is);
        int restart = restart_step(g, i);
        for (int h = 0; h < NHANDLERS; h++) {
            uint64_t s = seed_of(12, (uint64_t)i, (uint64_t)h);
            double cum[NBUCKETS + 2] = {0}; /* buckets, sum, count */
            double slow = 0.7 + 0.6 * unif(&s), phase = unif(&s) * 6.283;
            for (int k = 0; k < steps; k++) {
                if (k == restart) memset(cum, 0, sizeof cum);
                double sec = (double)k * STEP_MS / 1000;
                double median =
                    handler_median[h] * slow * (1 + 0.4 * sin(6.283 * sec / 5400 + phase));
                double sigma = 0.9;
                double n = floor(handler_rate[h] * load * 15 * (1 + 0.2 * gauss(&s)) + unif(&s));
                if (n < 0) n = 0;
                for (int b = 0; b < NBUCKETS - 1; b++) {
                    double z = (log(bucket_le[b]) - log(median)) / (sigma * 1.41421356);
                    cum[b] += floor(n * 0.5 * erfc(-z) + 0.5);
                }
                cum[NBUCKETS - 1] += n;
                cum[NBUCKETS] += n * median * exp(sigma * sigma / 2) * (1 + 0.1 * gauss(&s));
                cum[NBUCKETS + 1] += n;
                for (int b = 0; b < NBUCKETS + 2; b++)
                    series[(size_t)b * (size_t)steps + (size_t)k] = cum[b];
            }
            for (int b = 0; b < NBUCKETS + 2; b++) {
                if (b < NBUCKETS)
                    snprintf(prefix, sizeof prefix,
                             "http_request_duration_seconds_bucket{job=\"%s\",instance=\"%s\","
                             "handler=\"%s\",le=\"%s\"}",
                             job_of(i), inst_name, handlers[h], bucket_text[b]);
                else
                    snprintf(prefix, sizeof prefix,
                             "http_request_duration_seconds_%s{job=\"%s\",instance=\"%s\","
                             "handler=\"%s\"}",
                             b == NBUCKETS ? "sum" : "count", job_of(i), inst_name, handlers[h]);
                memcpy(vals, series + (size_t)b * (size_t)steps, sizeof(double) * (size_t)steps);
                put_series(g, i, prefix, vals, b == NBUCKETS ? 3 : 0);
            }
        }
    }
    free(series);
}

static void gen_cpu(gen *g, double *vals)
{
    family(g, "node_cpu_seconds", "counter", "Seconds the CPUs spent in each mode.");
    char inst_name[64], prefix[512];
    for (int i = 0; i < g->instances; i++) {
        instance_name(i, inst_name, sizeof inst_name);
        uint64_t is = seed_of(20, (uint64_t)i, 0);
        double uptime = 86400 * (1 + 30 * unif(&is)), busy = 0.05 + 0.6 * unif(&is);
        for (int cpu = 0; cpu < 4; cpu++)
            for (int m = 0; m < 4; m++) {
                /* every mode of a CPU sees the same per-scrape split */
                uint64_t s = seed_of(21, (uint64_t)i, (uint64_t)cpu);
                double share[4] = {0, busy * 0.7, busy * 0.25, busy * 0.05};
                share[0] = 1 - share[1] - share[2] - share[3];
                double v = uptime * share[m];
                for (int k = 0; k < g->steps; k++) {
                    double wobble = 1 + 0.15 * gauss(&s);
                    double user = share[1] * wobble, sys = share[2] * wobble,
                           io = share[3] * (1 + 0.5 * gauss(&s));
                    if (user + sys + io > 0.98) user = 0.98 - sys - io;
                    if (io < 0) io = 0;
                    double part[4] = {1 - user - sys - io, user, sys, io};
                    v += 15 * (part[m] > 0 ? part[m] : 0);
                    vals[k] = v;
                }
                snprintf(
                    prefix, sizeof prefix,
                    "node_cpu_seconds_total{job=\"%s\",instance=\"%s\",cpu=\"%d\",mode=\"%s\"}",
                    job_of(i), inst_name, cpu, cpu_modes[m]);
                put_series(g, i, prefix, vals, 2);
            }
    }
}

/* Gauges of one instance; `kind` picks the shape. */
static void gauge_values(gen *g, int inst, int kind, int idx, double *vals)
{
    uint64_t s = seed_of(30 + (uint64_t)kind, (uint64_t)inst, (uint64_t)idx);
    int restart = restart_step(g, inst);
    double a = unif(&s), b = unif(&s), v = 0;
    for (int k = 0; k < g->steps; k++) {
        double sec = (double)k * STEP_MS / 1000;
        switch (kind) {
        case 0: /* memory: a leak-like trend, a daily wave, noise */
            v = (2 + 6 * a) * 1e9 * (1 + 0.05 * sin(6.283 * sec / 86400 + b)) + sec * 2e4 * b +
                5e6 * gauss(&s);
            v = floor(v);
            break;
        case 1: /* load average */
            v = 4 * a * (1 + 0.5 * sin(6.283 * sec / 7200 + b)) + 0.3 * fabs(gauss(&s));
            break;
        case 2: /* open fds: a walk, back down at the restart */
            if (k == 0 || k == restart) v = 20 + floor(100 * a);
            v += floor(3 * gauss(&s) + 0.5);
            if (v < 10) v = 10;
            break;
        case 3: /* temperature */
            v = 35 + 15 * a + 8 * sin(6.283 * sec / 3000 + 6.283 * b) + 0.5 * gauss(&s);
            break;
        default: /* queue length: bursts that drain */
            if (k == 0) v = 0;
            v = v * 0.8 + (unif(&s) < 0.1 ? floor(200 * unif(&s) * (0.2 + a)) : 0);
            v = floor(v + 2 * unif(&s));
            break;
        }
        vals[k] = v;
    }
}

static void gen_gauges(gen *g, double *vals)
{
    static const struct {
        const char *name, *help, *label;
        int n, kind, dec;
    } g_fams[] = {
        {"node_memory_usage_bytes", "Memory in use.", NULL, 1, 0, 0},
        {"node_load1", "One-minute load average.", NULL, 1, 1, 2},
        {"process_open_fds", "Open file descriptors.", NULL, 1, 2, 0},
        {"temperature_celsius", "Sensor temperatures.", "sensor", 4, 3, 2},
        {"queue_length", "Items waiting in each queue.", "queue", 4, 4, 0},
    };
    char inst_name[64], prefix[512];
    for (size_t f = 0; f < sizeof g_fams / sizeof g_fams[0]; f++) {
        family(g, g_fams[f].name, "gauge", g_fams[f].help);
        for (int i = 0; i < g->instances; i++) {
            instance_name(i, inst_name, sizeof inst_name);
            for (int x = 0; x < g_fams[f].n; x++) {
                gauge_values(g, i, g_fams[f].kind, x, vals);
                if (g_fams[f].label)
                    snprintf(prefix, sizeof prefix, "%s{job=\"%s\",instance=\"%s\",%s=\"%s%d\"}",
                             g_fams[f].name, job_of(i), inst_name, g_fams[f].label,
                             g_fams[f].kind == 4 ? "q" : "", x);
                else
                    snprintf(prefix, sizeof prefix, "%s{job=\"%s\",instance=\"%s\"}",
                             g_fams[f].name, job_of(i), inst_name);
                put_series(g, i, prefix, vals, g_fams[f].dec);
            }
        }
    }
    family(g, "node_info", "gauge", "Constant 1, labelled with the owner and version.");
    for (int i = 0; i < g->instances; i++) {
        instance_name(i, inst_name, sizeof inst_name);
        for (int k = 0; k < g->steps; k++)
            vals[k] = 1;
        snprintf(prefix, sizeof prefix,
                 "node_info{job=\"%s\",instance=\"%s\",team=\"%s\",version=\"1.%d.%d\"}", job_of(i),
                 inst_name, teams[i % NJOBS], i % 3, i % 7);
        put_series(g, i, prefix, vals, 0);
    }
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench-promql-gen <out file> <end ms> [instances] [hours]\n");
        return 2;
    }
    gen g = {0};
    int64_t end = strtoll(argv[2], NULL, 10);
    g.instances = argc > 3 ? atoi(argv[3]) : 100;
    double hours = argc > 4 ? atof(argv[4]) : 6;
    g.steps = (int)(hours * 3600 * 1000 / STEP_MS);
    if (g.instances <= 0 || g.steps <= 0 || end <= 0) {
        fprintf(stderr, "bench-promql-gen: instances and hours must be > 0\n");
        return 2;
    }
    g.base = end / STEP_MS * STEP_MS - (int64_t)g.steps * STEP_MS;
    g.out = fopen(argv[1], "w");
    if (!g.out) {
        perror(argv[1]);
        return 1;
    }
    setvbuf(g.out, NULL, _IOFBF, 1 << 20);
    double *vals = malloc(sizeof(double) * (size_t)g.steps);
    gen_http_requests(&g, vals);
    gen_http_durations(&g, vals);
    gen_cpu(&g, vals);
    gen_gauges(&g, vals);
    fputs("# EOF\n", g.out);
    free(vals);
    if (fclose(g.out) != 0) {
        perror(argv[1]);
        return 1;
    }
    printf("series %d samples %lld first-ms %" PRId64 " last-ms %" PRId64 "\n", g.instances * 100,
           (long long)g.instances * 100 * g.steps, g.base,
           g.base + (int64_t)(g.steps - 1) * STEP_MS + 5000);
    return 0;
}
