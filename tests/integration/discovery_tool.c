/*
 * discovery_tool.c - runs server/discovery on a prometheus.yml, for the
 * discovery integration tests (discovery_*.py).
 *
 *   discovery_tool --config.file=prometheus.yml --out=FILE [--update-ms=N]
 *                  [--resolv-conf=FILE --dns-port=N]
 *
 * Every scrape config becomes a target set named by its job, every
 * alertmanager config one named "config-<i>", as in prom-server.  After each
 * publication one JSON line is appended to FILE:
 *
 *   {"generation":3,"sets":{"node":{"changed":2,"targets":[{"__address__":"a:1",...}]}},
 *    "stats":{"providers":1,"received_updates":4,...}}
 *
 * (and one more whenever the counters change without a publication), where
 * each target is its group's labels merged under its own (what the
 * scrape side starts relabeling from).  SIGHUP reloads the file (a bad file
 * is reported on stderr and the running sets stay); SIGTERM stops cleanly.
 */
#define _GNU_SOURCE
#include "config/config.h"
#include "discovery/discovery.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t reload_flag, stop_flag;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        reload_flag = 1;
    else
        stop_flag = 1;
}

static int load(disc_manager *m, const char *path, cfg_config **keep)
{
    core_err err = {{0}};
    cfg_config *cfg = cfg_load_file(path, &err);
    if (cfg == NULL) {
        fprintf(stderr, "discovery_tool: %s\n", err.msg);
        return -1;
    }
    size_t n = cfg->n_scrape_configs + cfg->alerting.n_alertmanagers;
    disc_set_cfg *sets = calloc(n + 1, sizeof *sets);
    char **names = calloc(n + 1, sizeof *names);
    size_t k = 0;
    for (size_t i = 0; i < cfg->n_scrape_configs; i++)
        sets[k++] = (disc_set_cfg){cfg->scrape_configs[i].job_name, &cfg->scrape_configs[i].sd};
    for (size_t i = 0; i < cfg->alerting.n_alertmanagers; i++) {
        if (asprintf(&names[i], "config-%zu", i) < 0) abort();
        sets[k++] = (disc_set_cfg){names[i], &cfg->alerting.alertmanagers[i].sd};
    }
    int rc = disc_manager_sync(m, sets, k, &err);
    if (rc < 0) fprintf(stderr, "discovery_tool: %s\n", err.msg);
    for (size_t i = 0; i < cfg->alerting.n_alertmanagers; i++)
        free(names[i]);
    free(names);
    free(sets);
    /* The manager copied what it needs; the config is kept only to show that
     * freeing it right away would be fine too. */
    cfg_free(*keep);
    *keep = cfg;
    return rc;
}

static void labels_json(core_sb *out, const core_labels *ls)
{
    core_sb_addc(out, '{');
    for (size_t i = 0; i < ls->len; i++) {
        if (i) core_sb_addc(out, ',');
        core_sb_add_json_str(out, ls->v[i].name, strlen(ls->v[i].name));
        core_sb_addc(out, ':');
        core_sb_add_json_str(out, ls->v[i].value, strlen(ls->v[i].value));
    }
    core_sb_addc(out, '}');
}

static void dump(disc_manager *m, uint64_t gen, const char *path)
{
    core_arena a;
    core_arena_init(&a, 0);
    core_sb out = CORE_SB_INIT;
    core_sb_addf(&out, "{\"generation\":%llu,\"sets\":{", (unsigned long long)gen);
    disc_set_info *info;
    size_t ns = disc_manager_sets(m, &a, &info);
    for (size_t i = 0; i < ns; i++) {
        disc_group *gs;
        size_t n;
        uint64_t changed;
        if (disc_manager_targets(m, info[i].name, &a, &gs, &n, &changed, NULL) < 0) continue;
        if (i) core_sb_addc(&out, ',');
        core_sb_add_json_str(&out, info[i].name, strlen(info[i].name));
        core_sb_addf(&out, ":{\"changed\":%llu,\"count\":%zu,\"targets\":[",
                     (unsigned long long)changed, info[i].n_targets);
        bool first = true;
        for (size_t g = 0; g < n; g++) {
            for (size_t t = 0; t < gs[g].n_targets; t++) {
                if (!first) core_sb_addc(&out, ',');
                first = false;
                labels_json(&out, disc_target_labels(&gs[g], t, &a));
            }
        }
        core_sb_adds(&out, "]}");
    }
    disc_stats st;
    disc_manager_stats(m, &st);
    core_sb_addf(
        &out,
        "},\"stats\":{\"providers\":%llu,\"received_updates\":%llu,\"failed_configs\":%llu,"
        "\"file_read_errors\":%llu,\"http_failures\":%llu,\"refresh_failures_ec2\":%llu,"
        "\"refresh_failures_http\":%llu}}\n",
        (unsigned long long)st.providers, (unsigned long long)st.received_updates,
        (unsigned long long)st.failed_configs, (unsigned long long)st.file_read_errors,
        (unsigned long long)st.http_failures, (unsigned long long)st.refresh_failures[DISC_EC2],
        (unsigned long long)st.refresh_failures[DISC_HTTP]);
    FILE *f = fopen(path, "a");
    if (f) {
        fwrite(out.buf, 1, out.len, f);
        fclose(f);
    }
    core_sb_destroy(&out);
    core_arena_destroy(&a);
}

int main(int argc, char **argv)
{
    const char *config = NULL, *out = NULL;
    disc_opts opts = {.name = "tool"};
    static const struct option longopts[] = {
        {"config.file", required_argument, NULL, 'c'},
        {"out", required_argument, NULL, 'o'},
        {"update-ms", required_argument, NULL, 'u'},
        {"resolv-conf", required_argument, NULL, 'r'},
        {"dns-port", required_argument, NULL, 'p'},
        {NULL, 0, NULL, 0},
    };
    for (int c; (c = getopt_long(argc, argv, "", longopts, NULL)) != -1;) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'o': out = optarg; break;
        case 'u': opts.update_interval_ms = atoll(optarg); break;
        case 'r': opts.resolv_conf = optarg; break;
        case 'p': opts.dns_port = atoi(optarg); break;
        default: return 2;
        }
    }
    if (!config || !out) {
        fprintf(stderr, "usage: discovery_tool --config.file=FILE --out=FILE [--update-ms=N]\n");
        return 2;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    core_err err = {{0}};
    disc_manager *m = disc_manager_new(&opts, &err);
    if (!m) {
        fprintf(stderr, "discovery_tool: %s\n", err.msg);
        return 1;
    }
    cfg_config *cfg = NULL;
    if (load(m, config, &cfg) < 0) {
        disc_manager_free(m);
        return 1;
    }
    uint64_t gen = 0;
    disc_stats last = {0};
    while (!stop_flag) {
        if (reload_flag) {
            reload_flag = 0;
            load(m, config, &cfg);
        }
        uint64_t g = disc_manager_wait(m, gen, 100);
        disc_stats st;
        disc_manager_stats(m, &st);
        /* A failed refresh publishes nothing: its counters get a line too. */
        if (g > gen || memcmp(&st, &last, sizeof st) != 0) {
            gen = g;
            last = st;
            dump(m, gen, out);
        }
    }
    disc_manager_free(m);
    cfg_free(cfg);
    return 0;
}
