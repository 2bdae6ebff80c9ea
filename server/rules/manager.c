/*
 * manager.c - the rule manager (upstream's rules.Manager): groups loaded
 * from rule files, one thread per group evaluating it at its slot, reload
 * keeping what did not change, staleness for what went away, snapshots for
 * the API and self-metrics.
 *
 * Scheduling follows upstream's Group.run: a group's evaluations happen at
 * offset + k * interval, the offset being hash(file, group name) modulo the
 * interval (rules_group_eval_timestamp), so groups spread over the interval
 * and keep their slots across restarts.  The thread sleeps until its first
 * slot after the next, evaluates, then wakes once per interval; when it
 * wakes late, the slots it skipped are counted as missed and the evaluation
 * time jumps to the newest slot.  On the first load every group restores its
 * alerts' `for` state after its second evaluation (when recording rules have
 * had a chance to produce what alerts read); until then ALERTS series are
 * not written, as upstream.
 *
 * Reload (rules_manager_update) parses every file first and changes nothing
 * on an error.  A group equal to a running one keeps running untouched; a
 * changed one is stopped and its replacement takes over its state; a removed
 * one stops and, two intervals later, its series get staleness markers
 * (stamped at the time it was removed), unless the manager is shut down
 * first.  A separate housekeeping thread writes those markers.
 *
 * With opts.manual there are no threads: rules_manager_eval_group runs one
 * iteration at a given time and rules_manager_housekeep writes due markers,
 * so tests drive time themselves.
 */
#define _GNU_SOURCE
#include "rules/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct retired {
    core_labels **series;
    size_t n;
    int64_t due_ms; /* when to write the markers */
    int64_t t_ms;   /* their timestamp */
} retired;

struct rules_manager {
    rules_env env;
    char *external_url;
    model_name_scheme names;
    pql_parse_opts promql;
    bool manual;
    pthread_mutex_t mtx; /* groups, retired, flags */
    rules_group **groups;
    size_t ngroups;
    bool started, loaded_once, shutting_down;
    int64_t default_offset_ms;
    retired *retired;
    size_t nretired;
    pthread_t janitor;
    bool janitor_running;
    pthread_cond_t janitor_cond;
    pthread_mutex_t counters_mtx;
    double rule_eval_sum, group_eval_sum;
    uint64_t rule_eval_count, group_eval_count;
};

/* ---- Slots */

int64_t rules_group_eval_timestamp(const char *file, const char *name, int64_t interval_ms,
                                   int64_t t_ns)
{
    core_label pairs[] = {{"name", name}, {"file", file}};
    core_labels *ls = core_labels_new(pairs, 2);
    uint64_t h = core_labels_hash(ls);
    free(ls);
    int64_t interval = interval_ms * 1000000;
    if (interval <= 0) return t_ns;
    int64_t offset = (int64_t)(h % (uint64_t)interval);
    int64_t adj = t_ns - offset;
    int64_t base = adj - adj % interval;
    return base + offset;
}

/* ---- Creation */

rules_manager *rules_manager_new(const rules_manager_opts *o, core_err *err)
{
    if (!o || !o->db || !o->storage) {
        core_err_set(err, "the rule manager needs a database and a storage to query");
        return NULL;
    }
    rules_manager *m = core_calloc(1, sizeof *m);
    m->external_url = core_strdup(o->external_url ? o->external_url : "");
    m->names = o->names;
    m->promql = o->promql;
    m->manual = o->manual;
    pthread_mutex_init(&m->mtx, NULL);
    pthread_mutex_init(&m->counters_mtx, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m->janitor_cond, &ca);
    pthread_condattr_destroy(&ca);
    pql_engine_opts def = PQL_ENGINE_OPTS_DEFAULT;
    bool engine_set = o->engine.lookback_ms || o->engine.max_samples || o->engine.subquery_step_ms;
    m->env = (rules_env){
        .db = o->db,
        .storage = o->storage,
        .engine = engine_set ? o->engine : def,
        .external_url = m->external_url,
        .outage_tolerance_ms = o->outage_tolerance_ms ? o->outage_tolerance_ms : CORE_MS_PER_HOUR,
        .for_grace_period_ms =
            o->for_grace_period_ms ? o->for_grace_period_ms : 10 * CORE_MS_PER_MINUTE,
        .resend_delay_ms = o->resend_delay_ms ? o->resend_delay_ms : CORE_MS_PER_MINUTE,
        .notify = o->notify,
        .notify_ctx = o->notify_ctx,
        .clock = o->clock,
        .clock_ctx = o->clock_ctx,
        .counters_mtx = &m->counters_mtx,
        .rule_eval_sum = &m->rule_eval_sum,
        .group_eval_sum = &m->group_eval_sum,
        .rule_eval_count = &m->rule_eval_count,
        .group_eval_count = &m->group_eval_count,
    };
    return m;
}

/* ---- Threads */

static int64_t now_ns(const rules_manager *m)
{
    if (m->env.clock) return m->env.clock(m->env.clock_ctx) * 1000000;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Sleeps until wall time `target` (ns); false when the group is stopped. */
static bool sleep_until(rules_manager *m, rules_group *g, int64_t target)
{
    pthread_mutex_lock(&g->run_mtx);
    for (;;) {
        if (g->stop) {
            pthread_mutex_unlock(&g->run_mtx);
            return false;
        }
        int64_t left = target - now_ns(m);
        if (left <= 0) break;
        if (left > 1000000000) left = 1000000000; /* re-read the wall clock each second */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t ns = ts.tv_nsec + left;
        ts.tv_sec += ns / 1000000000;
        ts.tv_nsec = ns % 1000000000;
        pthread_cond_timedwait(&g->run_cond, &g->run_mtx, &ts);
    }
    pthread_mutex_unlock(&g->run_mtx);
    return true;
}

static int64_t default_offset(rules_manager *m)
{
    return __atomic_load_n(&m->default_offset_ms, __ATOMIC_RELAXED);
}

static void iteration(rules_manager *m, rules_group *g, int64_t eval_ns)
{
    rules_group_iteration(g, &m->env, eval_ns / 1000000, default_offset(m), &g->stop);
}

static void *group_main(void *arg)
{
    rules_group *g = arg;
    rules_manager *m = g->manager;
    int64_t interval = g->interval_ms * 1000000;
    if (interval <= 0) return NULL;
    int64_t eval_ts =
        rules_group_eval_timestamp(g->file, g->name, g->interval_ms, now_ns(m)) + interval;
    if (!sleep_until(m, g, eval_ts)) return NULL;
    int64_t tick = eval_ts + interval;
    iteration(m, g, eval_ts);
    bool restore = g->should_restore;
    for (;;) {
        if (!sleep_until(m, g, tick)) return NULL;
        int64_t now = now_ns(m);
        int64_t missed = (now - eval_ts) / interval - 1;
        if (missed > 0) {
            pthread_mutex_lock(&g->mtx);
            g->iterations_missed += (uint64_t)missed;
            g->iterations_total += (uint64_t)missed;
            pthread_mutex_unlock(&g->mtx);
        } else {
            missed = 0;
        }
        eval_ts += (missed + 1) * interval;
        iteration(m, g, eval_ts);
        if (restore) {
            rules_group_restore(g, &m->env, now_ns(m) / 1000000);
            restore = false;
        }
        /* a ticker keeps at most one tick waiting */
        tick += interval;
        now = now_ns(m);
        while (tick + interval <= now)
            tick += interval;
    }
}

static void start_group(rules_manager *m, rules_group *g)
{
    g->manager = m;
    if (m->manual || g->thread_running) return;
    g->stop = false;
    if (pthread_create(&g->thread, NULL, group_main, g) == 0) g->thread_running = true;
}

static void stop_group(rules_group *g)
{
    pthread_mutex_lock(&g->run_mtx);
    __atomic_store_n(&g->stop, true, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&g->run_cond);
    pthread_mutex_unlock(&g->run_mtx);
    if (g->thread_running) {
        pthread_join(g->thread, NULL);
        g->thread_running = false;
    }
}

/* ---- Staleness of removed groups */

static void retire(rules_manager *m, rules_group *g)
{
    retired r = {0};
    for (size_t i = 0; i < g->nrules; i++) {
        rules_lset *s = &g->rules[i]->prev_series;
        for (size_t k = 0; k < s->n; k++) {
            r.series = core_reallocarray(r.series, r.n + 1, sizeof *r.series);
            r.series[r.n++] = s->v[k].ls;
            s->v[k].ls = NULL;
        }
        s->n = 0;
    }
    for (size_t k = 0; k < g->nstale; k++) {
        r.series = core_reallocarray(r.series, r.n + 1, sizeof *r.series);
        r.series[r.n++] = g->stale[k];
    }
    g->nstale = 0;
    if (r.n == 0) return;
    int64_t now = rules_env_now(&m->env);
    r.due_ms = now + 2 * g->interval_ms;
    r.t_ms = now - rules_group_offset(g, default_offset(m));
    m->retired = core_reallocarray(m->retired, m->nretired + 1, sizeof *m->retired);
    m->retired[m->nretired++] = r;
}

static void free_retired(retired *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->series[i]);
    free(r->series);
}

void rules_manager_housekeep(rules_manager *m, int64_t now_ms)
{
    pthread_mutex_lock(&m->mtx);
    size_t kept = 0;
    retired *due = NULL;
    size_t ndue = 0;
    for (size_t i = 0; i < m->nretired; i++) {
        if (m->retired[i].due_ms <= now_ms) {
            due = core_reallocarray(due, ndue + 1, sizeof *due);
            due[ndue++] = m->retired[i];
        } else {
            m->retired[kept++] = m->retired[i];
        }
    }
    m->nretired = kept;
    pthread_mutex_unlock(&m->mtx);
    for (size_t i = 0; i < ndue; i++) {
        core_err e = {{0}};
        if (rules_append_stale(&m->env, due[i].series, due[i].n, due[i].t_ms, &e) < 0)
            core_warn("rule manager", "Stale sample appending for previous configuration failed",
                      "err", e.msg);
        free_retired(&due[i]);
    }
    free(due);
}

static void *janitor_main(void *arg)
{
    rules_manager *m = arg;
    pthread_mutex_lock(&m->mtx);
    while (!m->shutting_down) {
        int64_t next = INT64_MAX;
        for (size_t i = 0; i < m->nretired; i++)
            if (m->retired[i].due_ms < next) next = m->retired[i].due_ms;
        int64_t now = rules_env_now(&m->env);
        if (next <= now) {
            pthread_mutex_unlock(&m->mtx);
            rules_manager_housekeep(m, now);
            pthread_mutex_lock(&m->mtx);
            continue;
        }
        int64_t wait_ms = next == INT64_MAX ? 1000 : next - now;
        if (wait_ms > 1000) wait_ms = 1000;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t ns = ts.tv_nsec + wait_ms * 1000000;
        ts.tv_sec += ns / 1000000000;
        ts.tv_nsec = ns % 1000000000;
        pthread_cond_timedwait(&m->janitor_cond, &m->mtx, &ts);
    }
    pthread_mutex_unlock(&m->mtx);
    return NULL;
}

void rules_manager_start(rules_manager *m)
{
    pthread_mutex_lock(&m->mtx);
    if (m->started) {
        pthread_mutex_unlock(&m->mtx);
        return;
    }
    m->started = true;
    core_info("rule manager", "Starting rule manager...");
    for (size_t i = 0; i < m->ngroups; i++)
        start_group(m, m->groups[i]);
    if (!m->manual && pthread_create(&m->janitor, NULL, janitor_main, m) == 0)
        m->janitor_running = true;
    pthread_mutex_unlock(&m->mtx);
}

void rules_manager_free(rules_manager *m)
{
    if (!m) return;
    pthread_mutex_lock(&m->mtx);
    m->shutting_down = true;
    pthread_cond_broadcast(&m->janitor_cond);
    pthread_mutex_unlock(&m->mtx);
    if (m->started) core_info("rule manager", "Stopping rule manager...");
    if (m->janitor_running) pthread_join(m->janitor, NULL);
    for (size_t i = 0; i < m->ngroups; i++)
        stop_group(m->groups[i]);
    for (size_t i = 0; i < m->ngroups; i++)
        rules_group_free(m->groups[i]);
    free(m->groups);
    for (size_t i = 0; i < m->nretired; i++)
        free_retired(&m->retired[i]);
    free(m->retired);
    if (m->started) core_info("rule manager", "Rule manager stopped");
    pthread_cond_destroy(&m->janitor_cond);
    pthread_mutex_destroy(&m->counters_mtx);
    pthread_mutex_destroy(&m->mtx);
    free(m->external_url);
    free(m);
}

/* ---- Loading */

static int group_cmp(const void *a, const void *b)
{
    const rules_group *x = *(rules_group *const *)a, *y = *(rules_group *const *)b;
    int c = strcmp(x->file, y->file);
    return c ? c : strcmp(x->name, y->name);
}

static rules_group *take_group(rules_group **v, size_t n, const char *file, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] && strcmp(v[i]->file, file) == 0 && strcmp(v[i]->name, name) == 0) {
            rules_group *g = v[i];
            v[i] = NULL;
            return g;
        }
    return NULL;
}

int rules_manager_update(rules_manager *m, int64_t default_interval_ms,
                         int64_t default_query_offset_ms, const char *const *files, size_t n,
                         const core_labels *external_labels, core_err *err)
{
    pthread_mutex_lock(&m->mtx);
    bool should_restore = !m->loaded_once;
    pthread_mutex_unlock(&m->mtx);
    rules_parse_opts po = {.names = m->names, .promql = m->promql};
    rules_group **fresh = NULL;
    size_t nfresh = 0;
    core_err first = {{0}};
    bool failed = false;
    for (size_t i = 0; i < n; i++) {
        core_err e = {{0}};
        core_sb all = CORE_SB_INIT;
        rules_file *f = rules_file_load(files[i], &po, &e, &all);
        if (!f) {
            if (!failed) first = e;
            failed = true;
            for (char *line = all.buf; line && *line;) {
                char *nl = strchr(line, '\n');
                if (nl) *nl = '\0';
                core_error("rule manager", "loading groups failed", "err", line);
                line = nl ? nl + 1 : line + strlen(line);
            }
            core_sb_destroy(&all);
            continue;
        }
        core_sb_destroy(&all);
        for (size_t k = 0; k < f->ngroups && !failed; k++) {
            rules_group *g = rules_group_new(&f->groups[k], files[i], default_interval_ms,
                                             external_labels, &m->promql, should_restore, &e);
            if (!g) {
                first = e;
                failed = true;
                core_error("rule manager", "loading groups failed", "err", e.msg);
                break;
            }
            /* a file given twice: the later load of a group wins */
            rules_group *dup = take_group(fresh, nfresh, g->file, g->name);
            rules_group_free(dup);
            fresh = core_reallocarray(fresh, nfresh + 1, sizeof *fresh);
            fresh[nfresh++] = g;
        }
        rules_file_free(f);
    }
    if (failed) {
        for (size_t i = 0; i < nfresh; i++)
            rules_group_free(fresh[i]);
        free(fresh);
        return core_err_set(err, "error loading rules, previous rule set restored: %s", first.msg);
    }
    pthread_mutex_lock(&m->mtx);
    m->loaded_once = true;
    __atomic_store_n(&m->default_offset_ms, default_query_offset_ms, __ATOMIC_RELAXED);
    rules_group **old = m->groups;
    size_t nold = m->ngroups;
    rules_group **next = core_calloc(nfresh + 1, sizeof *next);
    size_t nnext = 0;
    for (size_t i = 0; i < nfresh; i++) {
        if (!fresh[i]) continue;
        rules_group *ng = fresh[i];
        rules_group *og = take_group(old, nold, ng->file, ng->name);
        if (og && rules_group_equal(og, ng)) {
            rules_group_free(ng);
            next[nnext++] = og;
            continue;
        }
        if (og) {
            stop_group(og);
            rules_group_copy_state(ng, og);
            rules_group_free(og);
        }
        ng->manager = m;
        next[nnext++] = ng;
        if (m->started) start_group(m, ng);
    }
    for (size_t i = 0; i < nold; i++) {
        if (!old[i]) continue;
        stop_group(old[i]);
        if (m->started || m->manual) retire(m, old[i]);
        rules_group_free(old[i]);
    }
    free(old);
    free(fresh);
    qsort(next, nnext, sizeof *next, group_cmp);
    m->groups = next;
    m->ngroups = nnext;
    pthread_cond_broadcast(&m->janitor_cond);
    pthread_mutex_unlock(&m->mtx);
    return 0;
}

int rules_manager_update_config(rules_manager *m, const cfg_config *cfg, core_err *err)
{
    char **files;
    size_t n;
    if (rules_glob(cfg->rule_files.v, cfg->rule_files.n, &files, &n, err) < 0) return -1;
    int rc = rules_manager_update(m, cfg->global.evaluation_interval_ms,
                                  cfg->global.rule_query_offset_ms, (const char *const *)files, n,
                                  cfg->global.external_labels, err);
    rules_files_free(files, n);
    return rc;
}

static rules_group *find_group(rules_manager *m, const char *file, const char *name)
{
    for (size_t i = 0; i < m->ngroups; i++)
        if (strcmp(m->groups[i]->file, file) == 0 && strcmp(m->groups[i]->name, name) == 0)
            return m->groups[i];
    return NULL;
}

int rules_manager_eval_group(rules_manager *m, const char *file, const char *name, int64_t t_ms,
                             core_err *err)
{
    pthread_mutex_lock(&m->mtx);
    rules_group *g = find_group(m, file, name);
    pthread_mutex_unlock(&m->mtx);
    if (!g) return core_err_set(err, "no rule group \"%s\" in %s", name, file);
    rules_group_iteration(g, &m->env, t_ms, default_offset(m), NULL);
    if (g->should_restore && g->evaluations == 2) rules_group_restore(g, &m->env, t_ms);
    return 0;
}

/* ---- Snapshots */

static int64_t api_time(int64_t t)
{
    return t == RULES_NO_TIME ? 0 : t;
}

static void snap_alert(const rules_alert *a, core_arena *arena, rules_alert_snap *out)
{
    *out = (rules_alert_snap){
        .labels = core_labels_new_in(arena, a->labels->v, a->labels->len),
        .annotations = core_labels_new_in(arena, a->annotations->v, a->annotations->len),
        .state = a->state,
        .active_at_ms = api_time(a->active_at),
        .fired_at_ms = api_time(a->fired_at),
        .resolved_at_ms = api_time(a->resolved_at),
        .keep_firing_since_ms = api_time(a->keep_firing_since),
        .value = a->value,
    };
}

size_t rules_manager_groups(rules_manager *m, core_arena *arena, rules_group_snap **out)
{
    pthread_mutex_lock(&m->mtx);
    rules_group_snap *gs = core_arena_calloc(arena, m->ngroups + 1, sizeof *gs);
    int64_t def = default_offset(m);
    for (size_t i = 0; i < m->ngroups; i++) {
        rules_group *g = m->groups[i];
        pthread_mutex_lock(&g->mtx);
        rules_group_snap *s = &gs[i];
        s->name = core_arena_strdup(arena, g->name);
        s->file = core_arena_strdup(arena, g->file);
        s->interval_ms = g->interval_ms;
        s->query_offset_ms = rules_group_offset(g, def);
        s->limit = g->limit;
        s->last_eval_ms = api_time(g->last_eval_wall_ms);
        s->eval_seconds = g->last_duration;
        s->rules = core_arena_calloc(arena, g->nrules + 1, sizeof *s->rules);
        s->nrules = g->nrules;
        for (size_t k = 0; k < g->nrules; k++) {
            const rules_rule *r = g->rules[k];
            rules_rule_snap *rs = &s->rules[k];
            rs->kind = r->kind;
            rs->name = core_arena_strdup(arena, r->name);
            rs->query = core_arena_strdup(arena, r->query);
            rs->labels = core_labels_new_in(arena, r->labels->v, r->labels->len);
            rs->annotations = core_labels_new_in(arena, r->annotations->v, r->annotations->len);
            rs->for_ms = r->hold_ms;
            rs->keep_firing_for_ms = r->keep_firing_for_ms;
            rs->health = r->health;
            rs->last_error = core_arena_strdup(arena, r->last_error ? r->last_error : "");
            rs->last_eval_ms = api_time(r->last_eval_ms);
            rs->eval_seconds = r->eval_seconds;
            rs->state = r->kind == RULES_ALERTING ? rules_rule_state(r) : RULES_STATE_UNKNOWN;
            rs->alerts = core_arena_calloc(arena, r->nalerts + 1, sizeof *rs->alerts);
            rs->nalerts = r->nalerts;
            for (size_t a = 0; a < r->nalerts; a++)
                snap_alert(r->alerts[a], arena, &rs->alerts[a]);
        }
        pthread_mutex_unlock(&g->mtx);
    }
    size_t n = m->ngroups;
    pthread_mutex_unlock(&m->mtx);
    *out = gs;
    return n;
}

size_t rules_manager_alerts(rules_manager *m, core_arena *arena, rules_active_alert **out)
{
    pthread_mutex_lock(&m->mtx);
    size_t n = 0, cap = 0;
    rules_active_alert *v = NULL;
    for (size_t i = 0; i < m->ngroups; i++) {
        rules_group *g = m->groups[i];
        pthread_mutex_lock(&g->mtx);
        for (size_t k = 0; k < g->nrules; k++) {
            const rules_rule *r = g->rules[k];
            for (size_t a = 0; a < r->nalerts; a++) {
                if (r->alerts[a]->resolved_at != RULES_NO_TIME) continue;
                if (n == cap) {
                    size_t nc = cap ? cap * 2 : 16;
                    rules_active_alert *nv = core_arena_calloc(arena, nc, sizeof *nv);
                    if (n) memcpy(nv, v, n * sizeof *nv);
                    v = nv;
                    cap = nc;
                }
                v[n].rule = core_arena_strdup(arena, r->name);
                snap_alert(r->alerts[a], arena, &v[n].alert);
                n++;
            }
        }
        pthread_mutex_unlock(&g->mtx);
    }
    pthread_mutex_unlock(&m->mtx);
    *out = v;
    return n;
}

void rules_manager_metrics(rules_manager *m, core_arena *arena, rules_metrics *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&m->mtx);
    out->groups = core_arena_calloc(arena, m->ngroups + 1, sizeof *out->groups);
    out->ngroups = m->ngroups;
    for (size_t i = 0; i < m->ngroups; i++) {
        rules_group *g = m->groups[i];
        pthread_mutex_lock(&g->mtx);
        out->groups[i] = (rules_group_metrics){
            .key = core_arena_sprintf(arena, "%s;%s", g->file, g->name),
            .interval_seconds = (double)g->interval_ms / 1000.0,
            .iterations_total = g->iterations_total,
            .iterations_missed = g->iterations_missed,
            .evaluations_total = g->evaluations_total,
            .evaluation_failures = g->evaluation_failures,
            .last_eval_timestamp_seconds =
                g->last_eval_wall_ms == RULES_NO_TIME ? 0 : (double)g->last_eval_wall_ms / 1000.0,
            .last_duration_seconds = g->last_duration,
            .last_rule_duration_sum = g->last_rule_duration_sum,
            .last_restore_duration = g->last_restore_duration,
            .rules = g->nrules,
            .last_samples = g->last_samples,
        };
        pthread_mutex_unlock(&g->mtx);
    }
    pthread_mutex_unlock(&m->mtx);
    pthread_mutex_lock(&m->counters_mtx);
    out->rule_eval_seconds_sum = m->rule_eval_sum;
    out->rule_eval_count = m->rule_eval_count;
    out->group_eval_seconds_sum = m->group_eval_sum;
    out->group_eval_count = m->group_eval_count;
    pthread_mutex_unlock(&m->counters_mtx);
}
