/*
 * server_reload.c - applying prometheus.yml: load and check the file, turn
 * each scrape config's targets into scrape targets, hand them to the scrape
 * manager, and only then let go of the previous configuration (the scrape
 * manager's old targets used its metric relabel rules until the sync).
 *
 * The rule files are loaded first (a bad one fails the reload with nothing
 * changed), then the notifier takes the alerting section.
 * Targets come from each scrape config's static_configs, taken as they are,
 * and from the discovery manager (server/discovery), which runs the file,
 * HTTP, DNS and EC2 mechanisms, one target set per job; when it publishes new
 * targets, srv_apply_targets builds the scrape targets again.  A target whose
 * relabeling drops it, or that is invalid ("no address"), is not scraped; the
 * latter is logged as upstream logs it.
 * Dropped targets are counted per pool and kept (up to keep_dropped_targets
 * per pool, 0: all) for /api/v1/targets, which also gets every pool's name
 * and, for /federate, the external labels.
 */
#include "cmd/server.h"

#include <stdio.h>
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

static void add_target(built *b, const cfg_scrape *sc, size_t job, const core_labels *target,
                       const core_labels *group)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 16;
        b->defs = core_reallocarray(b->defs, b->cap, sizeof(*b->defs));
        b->pops = core_reallocarray(b->pops, b->cap, sizeof(*b->pops));
        b->stores = core_reallocarray(b->stores, b->cap, sizeof(*b->stores));
    }
    scrape_populated *p = &b->pops[b->n];
    core_err err = {{0}};
    int rc = scrape_populate(sc, target, group, p, &err);
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

static void build_targets(const cfg_config *c, disc_manager *disc, built *b)
{
    b->dropped.counts = core_calloc(c->n_scrape_configs + 1, sizeof(uint64_t));
    b->dropped.kept = core_calloc(c->n_scrape_configs + 1, sizeof(uint64_t));
    core_arena arena;
    core_arena_init(&arena, 0);
    for (size_t j = 0; j < c->n_scrape_configs; j++) {
        const cfg_scrape *sc = &c->scrape_configs[j];
        for (size_t g = 0; g < sc->sd.n_static; g++) {
            const cfg_target_group *tg = &sc->sd.static_configs[g];
            for (size_t t = 0; t < tg->targets.n; t++) {
                core_label addr = {"__address__", tg->targets.v[t]};
                core_labels *target = core_labels_new(&addr, 1);
                add_target(b, sc, j, target, tg->labels);
                free(target);
            }
        }
        core_arena_reset(&arena);
        disc_group *groups;
        size_t ng = 0;
        if (!disc || disc_manager_targets(disc, sc->job_name, &arena, &groups, &ng, NULL, NULL) < 0)
            continue;
        for (size_t g = 0; g < ng; g++)
            for (size_t t = 0; t < groups[g].n_targets; t++)
                add_target(b, sc, j, disc_target_labels(&groups[g], t, &arena), NULL);
    }
    core_arena_destroy(&arena);
}

/* The discovery sets of a configuration: one per job, its mechanisms other
 * than static_configs (those are read directly). */
static int sync_discovery(disc_manager *disc, const cfg_config *c, core_err *err)
{
    if (!disc) return 0;
    disc_set_cfg *sets = core_calloc(c->n_scrape_configs + 1, sizeof(*sets));
    cfg_sd *sds = core_calloc(c->n_scrape_configs + 1, sizeof(*sds));
    for (size_t j = 0; j < c->n_scrape_configs; j++) {
        sds[j] = c->scrape_configs[j].sd;
        sds[j].static_configs = NULL;
        sds[j].n_static = 0;
        sets[j] = (disc_set_cfg){c->scrape_configs[j].job_name, &sds[j]};
    }
    int rc = disc_manager_sync(disc, sets, c->n_scrape_configs, err);
    free(sets);
    free(sds);
    return rc;
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

/* The Alertmanagers' discovery sets: "config-<i>" per alertmanagers entry,
 * its mechanisms other than static_configs. */
static int sync_notify_discovery(disc_manager *disc, const cfg_config *c, core_err *err)
{
    size_t n = c->alerting.n_alertmanagers;
    disc_set_cfg *sets = core_calloc(n + 1, sizeof(*sets));
    cfg_sd *sds = core_calloc(n + 1, sizeof(*sds));
    char **names = core_calloc(n + 1, sizeof(*names));
    for (size_t i = 0; i < n; i++) {
        sds[i] = c->alerting.alertmanagers[i].sd;
        sds[i].static_configs = NULL;
        sds[i].n_static = 0;
        core_sb name = CORE_SB_INIT;
        core_sb_addf(&name, "config-%zu", i);
        names[i] = core_sb_detach(&name, NULL);
        sets[i] = (disc_set_cfg){names[i], &sds[i]};
    }
    int rc = disc_manager_sync(disc, sets, n, err);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(sets);
    free(sds);
    return rc;
}

/* notifier_discovered_fn: the targets discovery found for entry i. */
static size_t am_discovered(void *ctx, size_t i, core_arena *arena, core_labels ***out)
{
    srv *s = ctx;
    char name[32];
    snprintf(name, sizeof name, "config-%zu", i);
    disc_group *groups;
    size_t ng = 0, n = 0;
    *out = NULL;
    if (!s->disc_notify ||
        disc_manager_targets(s->disc_notify, name, arena, &groups, &ng, NULL, NULL) < 0)
        return 0;
    size_t total = 0;
    for (size_t g = 0; g < ng; g++)
        total += groups[g].n_targets;
    core_labels **v = core_arena_calloc(arena, total + 1, sizeof(*v));
    for (size_t g = 0; g < ng; g++)
        for (size_t t = 0; t < groups[g].n_targets; t++)
            v[n++] = disc_target_labels(&groups[g], t, arena);
    *out = v;
    return n;
}

void srv_apply_alertmanagers(srv *s)
{
    pthread_mutex_lock(&s->reload_mtx);
    core_err err = {{0}};
    if (s->cfg && s->notifier)
        notifier_apply_config_sd(s->notifier, s->cfg, am_discovered, s, &err);
    pthread_mutex_unlock(&s->reload_mtx);
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
    /* Rules first: a bad rule file fails the reload before anything changed. */
    if (s->rules && rules_manager_update_config(s->rules, c, err) < 0) {
        cfg_free(c);
        s->last_reload_ok = false;
        s->reloads_failed++;
        core_error("main", "Error reloading config", "filename", s->config_file, "err", err->msg);
        pthread_mutex_unlock(&s->reload_mtx);
        return -1;
    }
    if (s->disc_notify) sync_notify_discovery(s->disc_notify, c, err);
    if (s->notifier) notifier_apply_config_sd(s->notifier, c, am_discovered, s, err);
    built b = {0};
    int rc = sync_discovery(s->disc, c, err);
    if (rc == 0) build_targets(c, s->disc, &b);
    if (rc == 0) rc = scrape_manager_sync(s->scrape, b.defs, b.n, err);
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

int srv_apply_targets(srv *s)
{
    pthread_mutex_lock(&s->reload_mtx);
    int rc = 0;
    if (s->cfg) {
        built b = {0};
        core_err err = {{0}};
        build_targets(s->cfg, s->disc, &b);
        rc = scrape_manager_sync(s->scrape, b.defs, b.n, &err);
        if (rc == 0 && s->api) publish_targets(s->api, s->cfg, &b.dropped);
        built_free(&b);
    }
    pthread_mutex_unlock(&s->reload_mtx);
    return rc;
}
