/*
 * server_reload.c - applying prometheus.yml: load and check the file, turn
 * each scrape config's targets into scrape targets, hand them to the scrape
 * manager, and only then let go of the previous configuration (the scrape
 * manager's old targets used its metric relabel rules until the sync).
 *
 * Targets come from static_configs here; the other discovery mechanisms are
 * decoded by server/config but not run yet (a warning says which job lost
 * them).  A target whose relabeling drops it, or that is invalid ("no
 * address"), is not scraped; the latter is logged as upstream logs it.
 * Dropped targets are counted per pool and kept (up to keep_dropped_targets
 * per pool, 0: all) for /api/v1/targets, which also gets every pool's name
 * and, for /federate, the external labels.
 */
#include "cmd/server.h"

#include <stdlib.h>
#include <string.h>

/* Targets relabeling dropped, for the API. */
typedef struct dropped_list {
    web_dropped_target *v; /* pool borrowed from the config, labels owned */
    size_t n, cap;
    uint64_t *counts, *kept; /* per scrape config: dropped in all, kept */
} dropped_list;

typedef struct built {
    scrape_target_def *defs;
    scrape_populated *pops;
    scrape_def_store *stores;
    size_t n, cap;
    dropped_list dropped;
} built;

static void dropped_add(dropped_list *d, const cfg_scrape *sc, size_t job,
                        const core_labels *discovered)
{
    d->counts[job]++;
    if (sc->keep_dropped_targets && d->kept[job] >= sc->keep_dropped_targets) return;
    d->kept[job]++;
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 16;
        d->v = core_reallocarray(d->v, d->cap, sizeof(*d->v));
    }
    d->v[d->n++] = (web_dropped_target){sc->job_name, discovered ? core_labels_clone(discovered)
                                                                 : core_labels_new(NULL, 0)};
}

static void dropped_free(dropped_list *d)
{
    for (size_t i = 0; i < d->n; i++)
        free((core_labels *)d->v[i].discovered);
    free(d->v);
    free(d->counts);
    free(d->kept);
    memset(d, 0, sizeof(*d));
}

static void built_free(built *b)
{
    for (size_t i = 0; i < b->n; i++) {
        scrape_populated_destroy(&b->pops[i]);
        scrape_def_store_destroy(&b->stores[i]);
    }
    free(b->defs);
    free(b->pops);
    free(b->stores);
    dropped_free(&b->dropped);
    memset(b, 0, sizeof(*b));
}

static void add_target(built *b, const cfg_scrape *sc, size_t job, const char *address,
                       const core_labels *group)
{
    core_label addr = {"__address__", address};
    core_labels *target = core_labels_new(&addr, 1);
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 16;
        b->defs = core_reallocarray(b->defs, b->cap, sizeof(*b->defs));
        b->pops = core_reallocarray(b->pops, b->cap, sizeof(*b->pops));
        b->stores = core_reallocarray(b->stores, b->cap, sizeof(*b->stores));
    }
    scrape_populated *p = &b->pops[b->n];
    core_err err = {{0}};
    int rc = scrape_populate(sc, target, group, p, &err);
    free(target);
    if (rc < 0) {
        core_sb ls = CORE_SB_INIT;
        core_labels_format(p->discovered, &ls);
        core_error("scrape", "Creating target failed", "scrape_pool", sc->job_name, "err", err.msg,
                   "labels", ls.buf ? ls.buf : "{}");
        core_sb_destroy(&ls);
        scrape_populated_destroy(p);
        return;
    }
    if (!p->labels) { /* dropped by relabeling */
        dropped_add(&b->dropped, sc, job, p->discovered);
        scrape_populated_destroy(p);
        return;
    }
    scrape_def_init(&b->stores[b->n], sc, p, &b->defs[b->n]);
    b->n++;
}

static void build_targets(const cfg_config *c, built *b)
{
    b->dropped.counts = core_calloc(c->n_scrape_configs + 1, sizeof(uint64_t));
    b->dropped.kept = core_calloc(c->n_scrape_configs + 1, sizeof(uint64_t));
    for (size_t j = 0; j < c->n_scrape_configs; j++) {
        const cfg_scrape *sc = &c->scrape_configs[j];
        for (size_t g = 0; g < sc->sd.n_static; g++) {
            const cfg_target_group *tg = &sc->sd.static_configs[g];
            for (size_t t = 0; t < tg->targets.n; t++)
                add_target(b, sc, j, tg->targets.v[t], tg->labels);
        }
        if (sc->sd.n_file || sc->sd.n_http || sc->sd.n_dns || sc->sd.n_ec2)
            core_warn("scrape",
                      "Service discovery other than static_configs is not running in this build; "
                      "its targets are not scraped",
                      "scrape_pool", sc->job_name);
    }
}

/* What the API shows of the configuration now in force. */
static void publish_targets(web_api *api, const cfg_config *c, const dropped_list *d)
{
    const char **pools = core_calloc(c->n_scrape_configs + 1, sizeof(*pools));
    for (size_t j = 0; j < c->n_scrape_configs; j++)
        pools[j] = c->scrape_configs[j].job_name;
    web_scrape_config wc = {
        .pools = pools,
        .dropped_counts = d->counts,
        .npools = c->n_scrape_configs,
        .dropped = d->v,
        .ndropped = d->n,
    };
    web_api_set_scrape_config(api, &wc);
    web_api_set_external_labels(api, c->global.external_labels);
    free(pools);
}

int srv_reload(srv *s, core_err *err)
{
    pthread_mutex_lock(&s->reload_mtx);
    core_info("main", "Loading configuration file", "filename", s->config_file);
    s->reloads_total++;
    cfg_config *c = cfg_load_file(s->config_file, err);
    if (!c) {
        s->last_reload_ok = false;
        s->reloads_failed++;
        core_error("main", "Error reloading config", "filename", s->config_file, "err", err->msg);
        pthread_mutex_unlock(&s->reload_mtx);
        return -1;
    }
    built b = {0};
    build_targets(c, &b);
    int rc = scrape_manager_sync(s->scrape, b.defs, b.n, err);
    if (rc == 0 && s->api) publish_targets(s->api, c, &b.dropped);
    built_free(&b);
    if (rc < 0) {
        cfg_free(c);
        s->last_reload_ok = false;
        s->reloads_failed++;
        core_error("main", "Error applying config", "err", err->msg);
        pthread_mutex_unlock(&s->reload_mtx);
        return -1;
    }
    cfg_config *old = s->cfg;
    s->cfg = c;
    cfg_free(old);
    core_sb yaml = CORE_SB_INIT;
    cfg_render(c, &yaml);
    s->last_reload_ok = true;
    s->last_reload_ok_ms = core_time_now_ms();
    if (s->api) web_api_set_config(s->api, yaml.buf ? yaml.buf : "", true, s->last_reload_ok_ms);
    core_sb_destroy(&yaml);
    core_info("main", "Completed loading of configuration file", "filename", s->config_file);
    pthread_mutex_unlock(&s->reload_mtx);
    return 0;
}
