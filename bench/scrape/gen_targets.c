/*
 * gen_targets.c - scrape targets for bench/scrape (like avalanche).
 *
 *   bench-scrape-targets <listen address> <targets> <series per target>
 *
 * Serves /t/<i>/metrics for i in [0, targets): `series` samples in the text
 * format, spread over 20 families (counters that grow at a rate of their own,
 * gauges that wander, histogram-like buckets), values changing from one
 * request to the next as a real target's do.  The label text of every series
 * is built once at start; a request only formats values.  Runs until killed.
 */
#include "core/core.h"

#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FAMILIES 20

static int ntargets, nseries;
/* The "name{labels} " text of every series, one after the other (the same
 * for every target: the scraper's target labels tell targets apart). */
static char *series_text;
static size_t *series_off; /* where each series' text starts; [nseries] is the end */

static void build(void)
{
    series_off = calloc((size_t)nseries + 1, sizeof(*series_off));
    {
        core_sb sb = CORE_SB_INIT;
        for (int s = 0; s < nseries; s++) {
            int fam = s % FAMILIES;
            series_off[s] = sb.len;
            const char *kind = fam < 8 ? "counter" : fam < 16 ? "gauge" : "bucket";
            if (fam < 8)
                core_sb_addf(&sb, "bench_requests_%d_total{path=\"/api/v%d/item\",code=\"%d\"} ",
                             fam, s / FAMILIES % 50, 200 + (s / FAMILIES) % 5);
            else if (fam < 16)
                core_sb_addf(&sb, "bench_%s_%d{shard=\"shard-%d\",zone=\"z%d\"} ", kind, fam,
                             s / FAMILIES, s % 7);
            else
                core_sb_addf(&sb, "bench_latency_%d_seconds_bucket{op=\"op%d\",le=\"%g\"} ", fam,
                             s / FAMILIES / 10, pow(2, (s / FAMILIES) % 10) * 0.001);
        }
        series_off[nseries] = sb.len;
        series_text = core_sb_detach(&sb, NULL);
    }
}

static void serve(core_http_req *req, core_http_resp *resp, void *ud)
{
    (void)ud;
    int t = atoi(core_http_param(req, "id"));
    if (t < 0 || t >= ntargets) {
        core_http_resp_text(resp, 404, "no such target\n");
        return;
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    double secs = (double)now.tv_sec + (double)now.tv_nsec / 1e9;
    core_sb *b = &resp->body;
    core_sb_grow(b, (size_t)nseries * 80);
    for (int s = 0; s < nseries; s++) {
        int fam = s % FAMILIES;
        core_sb_add(b, series_text + series_off[s], series_off[s + 1] - series_off[s]);
        double v;
        if (fam < 8)
            v = floor(secs * (1 + (s * 7 + t) % 13)); /* counters at their own rates */
        else if (fam < 16)
            v = 100 + 50 * sin(secs / 30 + s + t) + (double)((s + t) % 10);
        else
            v = floor(secs * (1 + (s / FAMILIES) % 10));
        core_sb_addf(b, "%.17g\n", v);
    }
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: bench-scrape-targets <listen address> <targets> <series>\n");
        return 2;
    }
    ntargets = atoi(argv[2]);
    nseries = atoi(argv[3]);
    if (ntargets <= 0 || nseries <= 0) return 2;
    build();
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    core_err err = {{0}};
    const char *listen[] = {argv[1]};
    core_http_server *srv =
        core_http_new(&(core_http_opts){.listen = listen, .n_listen = 1, .threads = 2}, &err);
    if (!srv || core_http_route(srv, "GET", "/t/:id/metrics", serve, NULL, &err) < 0 ||
        core_http_start(srv, &err) < 0) {
        fprintf(stderr, "bench-scrape-targets: %s\n", err.msg);
        return 1;
    }
    int sig;
    sigwait(&sigs, &sig);
    core_http_free(srv);
    return 0;
}
