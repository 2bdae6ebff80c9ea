/*
 * group.c - rule groups: one evaluation of every rule in order, appending
 * its results and staleness markers through the TSDB appender, restoring
 * alerts' `for` state from ALERTS_FOR_STATE, and carrying state over a
 * reload (upstream's rules/group.go).
 *
 * An evaluation at time ts queries at ts minus the query offset and appends
 * everything at that time: a recording rule's series, an alerting rule's
 * ALERTS and ALERTS_FOR_STATE, and a staleness marker for each series a rule
 * produced last time and not this time.  Samples the TSDB refuses (out of
 * order, duplicate, out of bounds) mark the rule unhealthy and are counted
 * and logged as upstream does; a failed commit is an evaluation failure.
 * Each rule's results go through an appender of their own, committed before
 * the next rule runs, so a rule sees the results of the rules before it.
 *
 * The group's mutex guards what snapshots read (rule health, alerts, the
 * self-metrics); the evaluating thread is the only writer.
 */
#include "rules/internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int64_t rules_env_now(const rules_env *env)
{
    if (env->clock) return env->clock(env->clock_ctx);
    return core_time_now_ms();
}

rules_group *rules_group_new(const rules_group_def *def, const char *file, int64_t interval_ms,
                             const core_labels *external_labels, const pql_parse_opts *popts,
                             bool should_restore, core_err *err)
{
    rules_group *g = core_calloc(1, sizeof *g);
    g->name = core_strdup(def->name);
    g->file = core_strdup(file);
    g->interval_ms = def->interval_ms ? def->interval_ms : interval_ms;
    g->has_query_offset = def->has_query_offset;
    g->query_offset_ms = def->query_offset_ms;
    g->limit = def->limit;
    g->should_restore = should_restore;
    g->last_eval_wall_ms = RULES_NO_TIME;
    g->last_eval_ts = RULES_NO_TIME;
    pthread_mutex_init(&g->mtx, NULL);
    pthread_mutex_init(&g->run_mtx, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g->run_cond, &ca);
    pthread_condattr_destroy(&ca);
    g->rules = core_calloc(def->nrules + 1, sizeof *g->rules);
    for (size_t i = 0; i < def->nrules; i++) {
        g->rules[i] = rules_rule_new(&def->rules[i], def->labels, external_labels, popts,
                                     !should_restore, err);
        if (!g->rules[i]) {
            core_err_prefix(err, "%s: group \"%s\", rule %zu", file, def->name, i + 1);
            rules_group_free(g);
            return NULL;
        }
        g->nrules++;
    }
    return g;
}

void rules_group_free(rules_group *g)
{
    if (!g) return;
    for (size_t i = 0; i < g->nrules; i++)
        rules_rule_free(g->rules[i]);
    free(g->rules);
    for (size_t i = 0; i < g->nstale; i++)
        free(g->stale[i]);
    free(g->stale);
    pthread_mutex_destroy(&g->mtx);
    pthread_mutex_destroy(&g->run_mtx);
    pthread_cond_destroy(&g->run_cond);
    free(g->name);
    free(g->file);
    free(g);
}

bool rules_group_equal(const rules_group *a, const rules_group *b)
{
    if (strcmp(a->name, b->name) != 0 || strcmp(a->file, b->file) != 0) return false;
    if (a->interval_ms != b->interval_ms || a->limit != b->limit) return false;
    if (a->has_query_offset != b->has_query_offset) return false;
    if (a->has_query_offset && a->query_offset_ms != b->query_offset_ms) return false;
    if (a->nrules != b->nrules) return false;
    for (size_t i = 0; i < a->nrules; i++)
        if (!rules_rule_equal(a->rules[i], b->rules[i])) return false;
    return true;
}

static void add_stale(rules_group *g, core_labels *ls)
{
    g->stale = core_reallocarray(g->stale, g->nstale + 1, sizeof *g->stale);
    g->stale[g->nstale++] = ls;
}

void rules_group_copy_state(rules_group *to, rules_group *from)
{
    to->last_duration = from->last_duration;
    to->last_eval_wall_ms = from->last_eval_wall_ms;
    bool *used = core_calloc(from->nrules + 1, sizeof *used);
    for (size_t i = 0; i < to->nrules; i++) {
        rules_rule *r = to->rules[i];
        for (size_t f = 0; f < from->nrules; f++) {
            rules_rule *fr = from->rules[f];
            if (used[f] || strcmp(fr->name, r->name) != 0 ||
                !core_labels_equal(fr->labels, r->labels))
                continue;
            used[f] = true;
            rules_lset tmp = r->prev_series;
            r->prev_series = fr->prev_series;
            fr->prev_series = tmp;
            if (r->kind == RULES_ALERTING && fr->kind == RULES_ALERTING) {
                for (size_t k = 0; k < fr->nalerts; k++) {
                    r->alerts = core_reallocarray(r->alerts, r->nalerts + 1, sizeof *r->alerts);
                    r->alerts[r->nalerts++] = fr->alerts[k];
                }
                fr->nalerts = 0;
            }
            break;
        }
    }
    /* deleted rules and unmatched duplicates: their series go stale */
    for (size_t k = 0; k < from->nstale; k++)
        add_stale(to, from->stale[k]);
    from->nstale = 0;
    for (size_t f = 0; f < from->nrules; f++) {
        if (used[f]) continue;
        rules_lset *s = &from->rules[f]->prev_series;
        for (size_t k = 0; k < s->n; k++) {
            add_stale(to, s->v[k].ls);
            s->v[k].ls = NULL;
        }
        s->n = 0;
    }
    free(used);
}

int64_t rules_group_offset(const rules_group *g, int64_t default_offset_ms)
{
    return g->has_query_offset ? g->query_offset_ms : default_offset_ms;
}

/* ---- Appending */

static const char *append_error(int rc, const core_err *e)
{
    switch (rc) {
    case TSDB_APPEND_OUT_OF_ORDER: return "out of order sample";
    case TSDB_APPEND_DUPLICATE: return "duplicate sample for timestamp";
    case TSDB_APPEND_OUT_OF_BOUNDS: return "out of bounds";
    default: return e->msg;
    }
}

int rules_append_stale(const rules_env *env, core_labels *const *series, size_t n, int64_t t,
                       core_err *err)
{
    tsdb_appender *app = tsdb_db_appender(env->db);
    for (size_t i = 0; i < n; i++) {
        if (!series[i]) continue;
        uint64_t ref = 0;
        core_err e = {{0}};
        int rc = tsdb_appender_add(app, &ref, series[i], t, pql_stale_nan(), &e);
        if (rc < 0) {
            core_sb ls = CORE_SB_INIT;
            core_labels_format(series[i], &ls);
            core_warn("rule manager", "Adding stale sample failed", "sample", ls.buf, "err", e.msg);
            core_sb_destroy(&ls);
        }
        /* out of order, duplicate, too old: expected when another rule
         * now exposes the series */
    }
    return tsdb_appender_commit(app, err);
}

static void set_error(rules_group *g, rules_rule *r, const char *msg)
{
    pthread_mutex_lock(&g->mtx);
    r->health = RULES_HEALTH_ERR;
    free(r->last_error);
    r->last_error = core_strdup(msg);
    pthread_mutex_unlock(&g->mtx);
}

static void append_results(rules_group *g, rules_rule *r, const rules_env *env,
                           const rules_sample *v, size_t n, int64_t stale_t)
{
    tsdb_appender *app = tsdb_db_appender(env->db);
    rules_lset returned = {0};
    size_t out_of_order = 0, too_old = 0, dups = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t ref = 0;
        core_err e = {{0}};
        int rc = tsdb_appender_add(app, &ref, v[i].ls, v[i].t, v[i].v, &e);
        if (rc == 0) {
            rules_lset_add(&returned, core_labels_clone(v[i].ls));
            continue;
        }
        const char *msg = append_error(rc, &e);
        set_error(g, r, msg);
        core_sb ls = CORE_SB_INIT;
        core_labels_format(v[i].ls, &ls);
        if (rc == TSDB_APPEND_OUT_OF_ORDER)
            out_of_order++;
        else if (rc == TSDB_APPEND_DUPLICATE)
            dups++;
        else if (rc == TSDB_APPEND_OUT_OF_BOUNDS)
            too_old++;
        if (rc < 0)
            core_warn("rule manager", "Rule evaluation result discarded", "group", g->name, "name",
                      r->name, "err", msg, "sample", ls.buf);
        else
            core_debug("rule manager", "Rule evaluation result discarded", "group", g->name, "name",
                       r->name, "err", msg, "sample", ls.buf);
        core_sb_destroy(&ls);
    }
    char num[32];
    if (out_of_order) {
        snprintf(num, sizeof num, "%zu", out_of_order);
        core_warn("rule manager", "Error on ingesting out-of-order result from rule evaluation",
                  "group", g->name, "name", r->name, "num_dropped", num);
    }
    if (too_old) {
        snprintf(num, sizeof num, "%zu", too_old);
        core_warn("rule manager", "Error on ingesting too old result from rule evaluation", "group",
                  g->name, "name", r->name, "num_dropped", num);
    }
    if (dups) {
        snprintf(num, sizeof num, "%zu", dups);
        core_warn("rule manager",
                  "Error on ingesting results from rule evaluation with different value but same "
                  "timestamp",
                  "group", g->name, "name", r->name, "num_dropped", num);
    }
    rules_lset_sort(&returned);
    /* series of the last evaluation that are gone */
    for (size_t i = 0; i < r->prev_series.n; i++) {
        const rules_lset_entry *p = &r->prev_series.v[i];
        if (rules_lset_has(&returned, p->ls, p->hash)) continue;
        uint64_t ref = 0;
        core_err e = {{0}};
        if (tsdb_appender_add(app, &ref, p->ls, stale_t, pql_stale_nan(), &e) < 0) {
            core_sb ls = CORE_SB_INIT;
            core_labels_format(p->ls, &ls);
            core_warn("rule manager", "Adding stale sample failed", "group", g->name, "sample",
                      ls.buf, "err", e.msg);
            core_sb_destroy(&ls);
        }
    }
    core_err e = {{0}};
    if (tsdb_appender_commit(app, &e) < 0) {
        set_error(g, r, e.msg);
        pthread_mutex_lock(&g->mtx);
        g->evaluation_failures++;
        pthread_mutex_unlock(&g->mtx);
        core_warn("rule manager", "Rule sample appending failed", "group", g->name, "name", r->name,
                  "err", e.msg);
        rules_lset_free(&returned);
        return;
    }
    pthread_mutex_lock(&g->mtx);
    rules_lset_free(&r->prev_series);
    r->prev_series = returned;
    pthread_mutex_unlock(&g->mtx);
}

static void cleanup_stale(rules_group *g, const rules_env *env, int64_t t)
{
    if (g->nstale == 0) return;
    core_err e = {{0}};
    if (rules_append_stale(env, g->stale, g->nstale, t, &e) < 0) {
        core_warn("rule manager", "Stale sample appending for previous configuration failed",
                  "group", g->name, "err", e.msg);
        return;
    }
    for (size_t i = 0; i < g->nstale; i++)
        free(g->stale[i]);
    g->nstale = 0;
}

static void eval_group(rules_group *g, const rules_env *env, int64_t ts, int64_t offset,
                       const bool *stop)
{
    uint64_t samples = 0;
    for (size_t i = 0; i < g->nrules; i++) {
        if (stop && __atomic_load_n(stop, __ATOMIC_ACQUIRE)) return;
        rules_rule *r = g->rules[i];
        double t0 = core_monotonic_seconds();
        int64_t wall = rules_env_now(env);
        pthread_mutex_lock(&g->mtx);
        g->evaluations_total++;
        pthread_mutex_unlock(&g->mtx);
        core_arena arena = {0};
        core_err e = {{0}};
        rules_sample *v;
        size_t n;
        if (rules_rule_eval(r, env, offset, ts, g->limit, &arena, &g->mtx, &v, &n, &e) < 0) {
            set_error(g, r, e.msg);
            pthread_mutex_lock(&g->mtx);
            g->evaluation_failures++;
            pthread_mutex_unlock(&g->mtx);
            core_warn("rule manager", "Evaluating rule failed", "file", g->file, "group", g->name,
                      "name", r->name, "err", e.msg);
        } else {
            pthread_mutex_lock(&g->mtx);
            r->health = RULES_HEALTH_OK;
            free(r->last_error);
            r->last_error = NULL;
            pthread_mutex_unlock(&g->mtx);
            samples += n;
            rules_rule_send(r, env, ts, g->interval_ms, &g->mtx);
            append_results(g, r, env, v, n, ts - offset);
        }
        core_arena_destroy(&arena);
        double dur = core_monotonic_seconds() - t0;
        pthread_mutex_lock(&g->mtx);
        r->eval_seconds = dur;
        r->last_eval_ms = wall;
        pthread_mutex_unlock(&g->mtx);
        if (env->counters_mtx) {
            pthread_mutex_lock(env->counters_mtx);
            *env->rule_eval_sum += dur;
            (*env->rule_eval_count)++;
            pthread_mutex_unlock(env->counters_mtx);
        }
    }
    pthread_mutex_lock(&g->mtx);
    g->last_samples = samples;
    pthread_mutex_unlock(&g->mtx);
    cleanup_stale(g, env, ts - offset);
}

void rules_group_iteration(rules_group *g, const rules_env *env, int64_t ts,
                           int64_t default_offset_ms, const bool *stop)
{
    pthread_mutex_lock(&g->mtx);
    g->iterations_total++;
    pthread_mutex_unlock(&g->mtx);
    int64_t start = rules_env_now(env);
    double t0 = core_monotonic_seconds();
    eval_group(g, env, ts, rules_group_offset(g, default_offset_ms), stop);
    double dur = core_monotonic_seconds() - t0;
    pthread_mutex_lock(&g->mtx);
    double sum = 0;
    for (size_t i = 0; i < g->nrules; i++)
        sum += g->rules[i]->eval_seconds;
    g->last_rule_duration_sum = sum;
    g->last_duration = dur;
    g->last_eval_wall_ms = start;
    g->last_eval_ts = ts;
    g->evaluations++;
    pthread_mutex_unlock(&g->mtx);
    if (env->counters_mtx) {
        pthread_mutex_lock(env->counters_mtx);
        *env->group_eval_sum += dur;
        (*env->group_eval_count)++;
        pthread_mutex_unlock(env->counters_mtx);
    }
}

/* ---- Restoring `for` state */

static int64_t clamp_seconds(double v)
{
    if (!(v > -9.2e15 && v < 9.2e15)) return 0;
    return (int64_t)v;
}

typedef struct keyed {
    uint64_t hash;
    core_labels *ls;
    pql_series *s;
} keyed;

static int keyed_cmp(const void *a, const void *b)
{
    uint64_t x = ((const keyed *)a)->hash, y = ((const keyed *)b)->hash;
    return x < y ? -1 : x > y;
}

static void restore_rule(rules_group *g, rules_rule *r, const rules_env *env, int64_t ts)
{
    int64_t mint = ts - env->outage_tolerance_ms, maxt = ts;
    /* ALERTS_FOR_STATE{alertname, rule labels} without templated values */
    core_labels_builder b;
    core_labels_builder_init(&b, r->labels);
    core_labels_builder_set(&b, CORE_METRIC_NAME, "ALERTS_FOR_STATE");
    core_labels_builder_set(&b, "alertname", r->name);
    core_labels *want = core_labels_builder_labels(&b, NULL);
    core_labels_builder_destroy(&b);
    pql_matcher *m = core_calloc(want->len + 1, sizeof *m);
    size_t nm = 0;
    for (size_t i = 0; i < want->len; i++) {
        if (strstr(want->v[i].value, "{{")) continue;
        size_t vl = strlen(want->v[i].value);
        m[nm++] = (pql_matcher){PQL_MATCH_EQ, want->v[i].name, want->v[i].value, vl, vl == 0};
    }
    core_arena arena = {0};
    core_err e = {{0}};
    pql_series *series = NULL;
    size_t ns = 0;
    pql_storage *view = pql_storage_acquire(env->storage, &e);
    if (!view || view->select(view, m, nm, mint, maxt, &arena, &series, &ns, &e) < 0) {
        core_error("rule manager", "Failed to restore 'for' state", "alertname", r->name, "stage",
                   "Select", "err", e.msg);
        goto done;
    }
    if (ns == 0) {
        core_debug("rule manager", "No series found to restore the 'for' state of the alert rule",
                   "alertname", r->name);
        goto done;
    }
    /* the series by the hash of their labels without __name__ */
    keyed *byls = core_calloc(ns + 1, sizeof *byls);
    for (size_t j = 0; j < ns; j++) {
        core_labels_builder sb;
        core_labels_builder_init(&sb, series[j].labels);
        core_labels_builder_del(&sb, CORE_METRIC_NAME);
        byls[j].ls = core_labels_builder_labels(&sb, &arena);
        core_labels_builder_destroy(&sb);
        byls[j].hash = core_labels_hash(byls[j].ls);
        byls[j].s = &series[j];
    }
    qsort(byls, ns, sizeof *byls, keyed_cmp);
    pthread_mutex_lock(&g->mtx);
    for (size_t k = 0; k < r->nalerts; k++) {
        rules_alert *a = r->alerts[k];
        pql_series *s = NULL;
        size_t lo = 0, hi = ns;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (byls[mid].hash < a->hash)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (size_t j = lo; j < ns && !s && byls[j].hash == a->hash; j++)
            if (core_labels_equal(byls[j].ls, a->labels)) s = byls[j].s;
        if (!s) continue;
        bool found = false;
        int64_t t = 0;
        double v = 0;
        while (s->it.next(&s->it)) {
            if (s->it.t < mint || s->it.t > maxt) continue;
            t = s->it.t;
            v = s->it.v;
            found = true;
        }
        if (!found || pql_is_stale(v)) continue;
        int64_t down_at = t / 1000 * 1000;
        int64_t active_at = clamp_seconds(v) * 1000;
        int64_t remaining = r->hold_ms - (down_at - active_at);
        if (remaining <= 0) {
            /* it was firing: the next evaluation makes it fire again */
        } else if (remaining < env->for_grace_period_ms) {
            active_at = ts + env->for_grace_period_ms - r->hold_ms;
        } else {
            active_at += ts - down_at;
        }
        a->active_at = active_at;
        char at[CORE_TIME_BUFSZ];
        core_time_format_rfc3339(active_at, at);
        core_sb ls = CORE_SB_INIT;
        core_labels_format(a->labels, &ls);
        core_debug("rule manager", "'for' state restored", "alertname", r->name, "restored_time",
                   at, "labels", ls.buf);
        core_sb_destroy(&ls);
    }
    pthread_mutex_unlock(&g->mtx);
    free(byls);
done:
    if (view) pql_storage_release(env->storage, view);
    core_arena_destroy(&arena);
    free(m);
    free(want);
}

void rules_group_restore(rules_group *g, const rules_env *env, int64_t ts)
{
    double t0 = core_monotonic_seconds();
    for (size_t i = 0; i < g->nrules; i++) {
        rules_rule *r = g->rules[i];
        if (r->kind != RULES_ALERTING) continue;
        if (r->hold_ms >= env->for_grace_period_ms) restore_rule(g, r, env, ts);
        pthread_mutex_lock(&g->mtx);
        r->restored = true;
        pthread_mutex_unlock(&g->mtx);
    }
    pthread_mutex_lock(&g->mtx);
    g->last_restore_duration = core_monotonic_seconds() - t0;
    g->should_restore = false;
    pthread_mutex_unlock(&g->mtx);
}
