/*
 * bench_promql.c - our side of bench/promql: range queries evaluated
 * in-process over the blocks of a data directory, timed, their results
 * written for bench/promql/run to compare with Prometheus's.
 *
 *   bench-promql [-n runs] [-o results file] <data dir> <start ms> <end ms> <step ms> <query>...
 *
 * The engine is called directly, without HTTP: each run of a query parses it into a fresh arena,
 * evaluates it with pql_eval_range over pql_tsdb_storage (the same blocks Prometheus serves), then
 * encodes the matrix into a memory buffer with the API's own JSON writer (web_json_result of
 * server/web, the bytes /api/v1/query_range sends as `data`: shortest round-trip values as upstream
 * writes them), and frees the arena.  Two times are kept per run: parse + evaluation, and parse +
 * evaluation + JSON encoding.  Prometheus's figures include the same work plus the HTTP round trip
 * on loopback and the client reading the body.
 *
 * Prints to stdout, one line each, tab-separated:
 *   open   <ms to open the blocks>  <VmRSS kB after opening>
 *   query  <index> <eval best ms> <eval median ms> <total best ms>
 *          <total median ms> <series> <points> <error or -> <peak kB>
 *   peak-rss-kb <the highest VmHWM of this process over the whole run>
 *   rss-kb <RssAnon> <RssFile> at the end (heap vs mapped block files)
 * and, with -o, one line per query to the results file: the /api/v1/
 * query_range `data` object ({"resultType": "matrix", "result": [...]}),
 * or {"error": "..."}.
 * A query's peak kB is VmHWM over its runs alone: before each query the
 * buffers of the last one are given back (malloc_trim) and VmHWM is reset
 * through /proc/self/clear_refs, so it is the RSS at the start (block
 * files mapped so far, the index, the process) plus what the query adds.
 * Exit status: 0, 1 when the blocks cannot be opened, 2 on bad usage.
 */
#include "promql/engine.h"
#include "web/internal.h"

#include <inttypes.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A field of /proc/self/status in kB ("VmHWM", "VmRSS"), or -1. */
static long status_kb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long kb = -1;
    size_t n = strlen(field);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0 && line[n] == ':') {
            kb = strtol(line + n + 1, NULL, 10);
            break;
        }
    fclose(f);
    return kb;
}

/* Resets VmHWM to the current RSS (Linux >= 4.0); nothing happens elsewhere. */
static void reset_peak(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f) return;
    fputs("5", f);
    fclose(f);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

typedef struct run_stats {
    double eval, total; /* ms */
    size_t series, points;
    bool failed;
} run_stats;

/* One run of `query`: parse, evaluate, encode into sb (the error object on
 * failure). */
static run_stats run_once(pql_storage *st, const char *query, int64_t start, int64_t end,
                          int64_t step, core_sb *sb)
{
    run_stats rs = {0};
    pql_engine_opts opts = PQL_ENGINE_OPTS_DEFAULT;
    core_arena a;
    core_arena_init(&a, CORE_ARENA_DEFAULT_BLOCK);
    core_err err = {{0}};
    pql_result r;
    core_sb_reset(sb);
    double t0 = now_ms();
    pql_node *q = pql_parse(query, NULL, &a, &err);
    bool ok = q && pql_eval_range(st, &opts, q, start, end, step, &a, &r, &err) == 0;
    double t1 = now_ms();
    if (ok) {
        web_json_result(sb, &r, 0);
        for (size_t i = 0; i < r.nseries; i++)
            rs.points += r.series[i].n;
        rs.series = r.nseries;
    } else {
        core_sb_adds(sb, "{\"error\":");
        core_sb_add_json_str(sb, err.msg, strlen(err.msg));
        core_sb_addc(sb, '}');
        rs.failed = true;
    }
    double t2 = now_ms();
    core_arena_destroy(&a);
    rs.eval = t1 - t0;
    rs.total = t2 - t0;
    return rs;
}

static int usage(void)
{
    fprintf(stderr, "usage: bench-promql [-n runs] [-o results file] <data dir> <start ms> "
                    "<end ms> <step ms> <query>...\n");
    return 2;
}

int main(int argc, char **argv)
{
    int runs = 5, opt;
    const char *out_path = NULL;
    while ((opt = getopt(argc, argv, "n:o:")) != -1) {
        if (opt == 'n')
            runs = atoi(optarg);
        else if (opt == 'o')
            out_path = optarg;
        else
            return usage();
    }
    if (argc - optind < 5 || runs < 1) return usage();
    const char *dir = argv[optind];
    int64_t start = strtoll(argv[optind + 1], NULL, 10);
    int64_t end = strtoll(argv[optind + 2], NULL, 10);
    int64_t step = strtoll(argv[optind + 3], NULL, 10);
    if (step <= 0 || end < start) return usage();

    FILE *out = NULL;
    if (out_path && !(out = fopen(out_path, "w"))) {
        perror(out_path);
        return 1;
    }
    core_err err = {{0}};
    double t0 = now_ms();
    pql_tsdb_storage *ts = pql_tsdb_storage_open(dir, &err);
    if (!ts) {
        fprintf(stderr, "bench-promql: %s\n", err.msg);
        if (out) fclose(out);
        return 1;
    }
    printf("open\t%.2f\t%ld\n", now_ms() - t0, status_kb("VmRSS"));
    pql_storage *st = pql_tsdb_storage_iface(ts);

    double *evals = malloc(sizeof(double) * (size_t)runs);
    double *totals = malloc(sizeof(double) * (size_t)runs);
    core_sb sb = CORE_SB_INIT;
    long peak = status_kb("VmHWM");
    for (int qi = optind + 4; qi < argc; qi++) {
        /* This query's own peak: give back what the last one kept, then
         * reset VmHWM to the current RSS. */
        core_sb_destroy(&sb);
        malloc_trim(0);
        reset_peak();
        run_stats rs = {0};
        double best_eval = INFINITY, best_total = INFINITY;
        for (int r = 0; r < runs; r++) {
            rs = run_once(st, argv[qi], start, end, step, &sb);
            evals[r] = rs.eval;
            totals[r] = rs.total;
            if (rs.eval < best_eval) best_eval = rs.eval;
            if (rs.total < best_total) best_total = rs.total;
        }
        if (out) {
            fwrite(sb.buf, 1, sb.len, out);
            fputc('\n', out);
        }
        long qpeak = status_kb("VmHWM");
        if (qpeak > peak) peak = qpeak;
        printf("query\t%d\t%.3f\t%.3f\t%.3f\t%.3f\t%zu\t%zu\t%s\t%ld\n", qi - optind - 4, best_eval,
               median(evals, runs), best_total, median(totals, runs), rs.series, rs.points,
               rs.failed ? "error" : "-", qpeak);
        fflush(stdout);
    }
    printf("peak-rss-kb\t%ld\n", peak);
    printf("rss-kb\t%ld\t%ld\n", status_kb("RssAnon"), status_kb("RssFile"));
    core_sb_destroy(&sb);
    free(evals);
    free(totals);
    pql_tsdb_storage_free(ts);
    if (out && fclose(out) != 0) {
        perror(out_path);
        return 1;
    }
    return 0;
}
