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
 */
#include "cmd/server.h"

#include <stdlib.h>
#include <string.h>

typedef struct built {
    scrape_target_def *defs;
    scrape_populated *pops;
    scrape_def_store *stores;
    size_t n, cap;
} built;

static void built_free(built *b)
{
    for (size_t i = 0; i < b->n; i++) {
        scrape_populated_destroy(&b->pops[i]);
        scrape_def_store_destroy(&b->stores[i]);
    }
    free(b->defs);
    free(b->pops);
    free(b->stores);
    memset(b, 0, sizeof(*b));
}

static void add_target(built *b, const cfg_scrape *sc, const char *address,
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
        scrape_populated_destroy(p);
        return;
    }
    scrape_def_init(&b->stores[b->n], sc, p, &b->defs[b->n]);
    b->n++;
}

static void build_targets(const cfg_config *c, built *b)
{
    for (size_t j = 0; j < c->n_scrape_configs; j++) {
        const cfg_scrape *sc = &c->scrape_configs[j];
        for (size_t g = 0; g < sc->sd.n_static; g++) {
            const cfg_target_group *tg = &sc->sd.static_configs[g];
            for (size_t t = 0; t < tg->targets.n; t++)
                add_target(b, sc, tg->targets.v[t], tg->labels);
        }
        if (sc->sd.n_file || sc->sd.n_http || sc->sd.n_dns || sc->sd.n_ec2)
            core_warn("scrape",
                      "Service discovery other than static_configs is not running in this build; "
                      "its targets are not scraped",
                      "scrape_pool", sc->job_name);
    }
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
