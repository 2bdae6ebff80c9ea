/*
 * rule.c - recording and alerting rules: one evaluation each, as upstream's
 * RecordingRule.Eval and AlertingRule.Eval.
 *
 * A recording rule renames its query's result to the record name and applies
 * its labels; two results with the same labels afterwards, or more than the
 * group's limit, fail the evaluation.  An alerting rule keeps one alert per
 * label set of its query's result (the series' labels without __name__, its
 * labels expanded as templates, alertname): a new one is pending, turns
 * firing once it has been active for `for`, keeps firing for
 * `keep_firing_for` after its condition ends, and is resolved otherwise; a
 * resolved alert stays 15 minutes so the notifier can repeat its end.  Each
 * evaluation produces ALERTS{alertstate} = 1 and ALERTS_FOR_STATE = active
 * time (seconds) for every pending or firing alert, once the rule's `for`
 * state has been restored (see group.c).  Templates are parsed when the rule
 * is built and expanded per alert with the sample's labels and value; their
 * query function runs at the evaluation time, as upstream's.
 *
 * Queries read a view of the storage acquired for that one query and
 * released before anything is appended (a view holds the head's read lock).
 * Results are copied into the evaluation's arena.  Alerts are owned by the
 * rule (malloc'd label sets) and change only under the group's mutex, so
 * snapshots for the API see consistent states.
 */
#define _GNU_SOURCE
#include "rules/internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RESOLVED_RETENTION_MS (15 * CORE_MS_PER_MINUTE)

/* ---- Label set sets */

void rules_lset_add(rules_lset *s, core_labels *ls)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->v = core_reallocarray(s->v, s->cap, sizeof *s->v);
    }
    s->v[s->n++] = (rules_lset_entry){core_labels_hash(ls), ls};
}

static int entry_cmp(const void *a, const void *b)
{
    uint64_t x = ((const rules_lset_entry *)a)->hash, y = ((const rules_lset_entry *)b)->hash;
    return x < y ? -1 : x > y;
}

void rules_lset_sort(rules_lset *s)
{
    if (s->n > 1) qsort(s->v, s->n, sizeof *s->v, entry_cmp);
}

bool rules_lset_has(const rules_lset *s, const core_labels *ls, uint64_t hash)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->v[mid].hash < hash)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < s->n && s->v[i].hash == hash; i++)
        if (core_labels_equal(s->v[i].ls, ls)) return true;
    return false;
}

void rules_lset_free(rules_lset *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i].ls);
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* ---- Queries */

int rules_query(const rules_env *env, const char *q, const pql_node *expr, int64_t t,
                core_arena *arena, rules_tmpl_sample **out, size_t *n, core_err *err)
{
    if (!expr) {
        expr = pql_parse(q, NULL, arena, err);
        if (!expr) return -1;
    }
    pql_storage *view = pql_storage_acquire(env->storage, err);
    if (!view) return -1;
    pql_result res;
    int rc = pql_eval_instant(view, &env->engine, expr, t, arena, &res, err);
    if (rc == 0) {
        if (res.type == PQL_TYPE_VECTOR) {
            *out = core_arena_calloc(arena, res.nseries ? res.nseries : 1, sizeof **out);
            *n = 0;
            for (size_t i = 0; i < res.nseries; i++) {
                if (res.series[i].n == 0) continue;
                const core_labels *ls = res.series[i].labels;
                (*out)[*n].labels = core_labels_new_in(arena, ls->v, ls->len);
                (*out)[*n].value = res.series[i].pts[0].v;
                (*n)++;
            }
        } else if (res.type == PQL_TYPE_SCALAR) {
            *out = core_arena_calloc(arena, 1, sizeof **out);
            (*out)[0].labels = core_labels_new_in(arena, NULL, 0);
            (*out)[0].value = res.scalar;
            *n = 1;
        } else {
            rc = core_err_set(err, "rule result is not a vector or scalar");
        }
    }
    pql_storage_release(env->storage, view);
    return rc;
}

static int tmpl_query(void *ctx, const char *q, int64_t t, core_arena *arena,
                      rules_tmpl_sample **out, size_t *n, core_err *err)
{
    return rules_query(ctx, q, NULL, t, arena, out, n, err);
}

/* ---- Building */

rules_rule *rules_rule_new(const rules_rule_def *def, const core_labels *group_labels,
                           const core_labels *external_labels, const pql_parse_opts *popts,
                           bool restored, core_err *err)
{
    rules_rule *r = core_calloc(1, sizeof *r);
    r->kind = def->kind;
    r->name = core_strdup(def->name);
    r->hold_ms = def->for_ms;
    r->keep_firing_for_ms = def->keep_firing_for_ms;
    r->health = RULES_HEALTH_UNKNOWN;
    r->last_eval_ms = RULES_NO_TIME;
    r->restored = restored;
    r->expr = pql_parse(def->expr, popts, &r->expr_arena, err);
    if (!r->expr) {
        rules_rule_free(r);
        return NULL;
    }
    core_sb q = CORE_SB_INIT;
    pql_print(r->expr, &q);
    r->query = core_sb_detach(&q, NULL);
    /* group labels, overridden by the rule's (upstream's FromMaps: empty
     * values are kept; applying them deletes the label) */
    size_t ng = group_labels ? group_labels->len : 0, nr = def->labels ? def->labels->len : 0;
    core_label *pairs = core_calloc(ng + nr + 1, sizeof *pairs);
    size_t np = 0;
    for (size_t i = 0; i < ng; i++)
        if (!def->labels || !core_labels_get(def->labels, group_labels->v[i].name))
            pairs[np++] = group_labels->v[i];
    for (size_t i = 0; i < nr; i++)
        pairs[np++] = def->labels->v[i];
    r->labels = core_labels_new(pairs, np);
    free(pairs);
    r->annotations = core_labels_clone(
        def->annotations ? def->annotations : core_labels_new_in(&r->expr_arena, NULL, 0));
    r->external_labels = core_labels_clone(
        external_labels ? external_labels : core_labels_new_in(&r->expr_arena, NULL, 0));
    if (r->kind == RULES_ALERTING) {
        r->label_tmpls = core_calloc(r->labels->len + 1, sizeof *r->label_tmpls);
        r->ann_tmpls = core_calloc(r->annotations->len + 1, sizeof *r->ann_tmpls);
        core_err e = {{0}};
        for (size_t i = 0; i < r->labels->len; i++)
            r->label_tmpls[i] = rules_tmpl_new_alert(r->name, r->labels->v[i].value, &e);
        for (size_t i = 0; i < r->annotations->len; i++)
            r->ann_tmpls[i] = rules_tmpl_new_alert(r->name, r->annotations->v[i].value, &e);
    }
    return r;
}

static void alert_free(rules_alert *a)
{
    if (!a) return;
    free(a->labels);
    free(a->annotations);
    free(a);
}

void rules_rule_free(rules_rule *r)
{
    if (!r) return;
    if (r->label_tmpls)
        for (size_t i = 0; r->labels && i < r->labels->len; i++)
            rules_tmpl_free(r->label_tmpls[i]);
    if (r->ann_tmpls)
        for (size_t i = 0; r->annotations && i < r->annotations->len; i++)
            rules_tmpl_free(r->ann_tmpls[i]);
    free(r->label_tmpls);
    free(r->ann_tmpls);
    for (size_t i = 0; i < r->nalerts; i++)
        alert_free(r->alerts[i]);
    free(r->alerts);
    rules_lset_free(&r->prev_series);
    core_arena_destroy(&r->expr_arena);
    free(r->name);
    free(r->query);
    free(r->labels);
    free(r->annotations);
    free(r->external_labels);
    free(r->last_error);
    free(r);
}

bool rules_rule_equal(const rules_rule *a, const rules_rule *b)
{
    return a->kind == b->kind && strcmp(a->name, b->name) == 0 && strcmp(a->query, b->query) == 0 &&
           a->hold_ms == b->hold_ms && a->keep_firing_for_ms == b->keep_firing_for_ms &&
           core_labels_equal(a->labels, b->labels) &&
           core_labels_equal(a->annotations, b->annotations);
}

/* ---- Recording rules */

static int recording_eval(rules_rule *r, const rules_env *env, int64_t offset, int64_t ts,
                          int64_t limit, core_arena *arena, rules_sample **out, size_t *nout,
                          core_err *err)
{
    rules_tmpl_sample *res;
    size_t n;
    int64_t qt = ts - offset;
    if (rules_query(env, r->query, r->expr, qt, arena, &res, &n, err) < 0) return -1;
    rules_sample *v = core_arena_calloc(arena, n ? n : 1, sizeof *v);
    core_labels_builder b;
    core_labels_builder_init(&b, NULL);
    rules_lset seen = {0};
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        core_labels_builder_reset(&b, res[i].labels);
        core_labels_builder_set(&b, CORE_METRIC_NAME, r->name);
        for (size_t k = 0; k < r->labels->len; k++)
            core_labels_builder_set(&b, r->labels->v[k].name, r->labels->v[k].value);
        v[i] = (rules_sample){core_labels_builder_labels(&b, arena), qt, res[i].value};
    }
    core_labels_builder_destroy(&b);
    /* duplicates after relabeling */
    for (size_t i = 0; i < n; i++)
        rules_lset_add(&seen, core_labels_clone(v[i].ls));
    rules_lset_sort(&seen);
    for (size_t i = 0; i + 1 < seen.n && rc == 0; i++)
        for (size_t j = i + 1; j < seen.n && seen.v[j].hash == seen.v[i].hash; j++)
            if (core_labels_equal(seen.v[i].ls, seen.v[j].ls)) {
                rc = core_err_set(err, "vector contains metrics with the same labelset after "
                                       "applying rule labels");
                break;
            }
    rules_lset_free(&seen);
    if (rc < 0) return -1;
    if (limit > 0 && (int64_t)n > limit)
        return core_err_set(err, "exceeded limit of %lld with %zu series", (long long)limit, n);
    *out = v;
    *nout = n;
    return 0;
}

/* ---- Alerting rules */

typedef struct fresh {
    core_labels *labels, *annotations;
    uint64_t hash;
    double value;
} fresh;

static void expand(const rules_rule *r, const rules_tmpl *t, const char *text,
                   const rules_alert_data *d, const rules_tmpl_opts *o, core_sb *out)
{
    if (t) {
        rules_tmpl_expand_or_error(t, d, o, out);
        return;
    }
    /* a template that did not parse (only a group label can get here: rule
     * files are checked) */
    core_err e = {{0}};
    rules_tmpl *again = rules_tmpl_new_alert(r->name, text, &e);
    if (again) {
        rules_tmpl_expand_or_error(again, d, o, out);
        rules_tmpl_free(again);
        return;
    }
    core_sb_addf(out, "<error expanding template: error parsing template __alert_%s: %s>", r->name,
                 e.msg);
    core_warn("rule manager", "Expanding alert template failed", "err", e.msg);
}

/* The rule's alerts indexed by label hash, for lookups during one
 * evaluation (alerts added meanwhile are not in it: they are unique). */
typedef struct alert_index {
    size_t *pos; /* positions in r->alerts, by hash */
    size_t n;
} alert_index;

static int pos_cmp(const void *a, const void *b, void *ctx)
{
    const rules_alert *const *al = ctx;
    uint64_t x = al[*(const size_t *)a]->hash, y = al[*(const size_t *)b]->hash;
    return x < y ? -1 : x > y;
}

static void index_alerts(const rules_rule *r, alert_index *ix)
{
    ix->n = r->nalerts;
    ix->pos = core_calloc(r->nalerts + 1, sizeof *ix->pos);
    for (size_t i = 0; i < r->nalerts; i++)
        ix->pos[i] = i;
    qsort_r(ix->pos, ix->n, sizeof *ix->pos, pos_cmp, r->alerts);
}

static rules_alert *find_alert(rules_rule *r, const alert_index *ix, const core_labels *ls,
                               uint64_t h, size_t *idx)
{
    size_t lo = 0, hi = ix->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (r->alerts[ix->pos[mid]]->hash < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < ix->n && r->alerts[ix->pos[i]]->hash == h; i++)
        if (core_labels_equal(r->alerts[ix->pos[i]]->labels, ls)) {
            *idx = ix->pos[i];
            return r->alerts[ix->pos[i]];
        }
    return NULL;
}

static core_labels *alert_series(const rules_rule *r, const rules_alert *a, const char *metric,
                                 const char *state, core_arena *arena)
{
    core_labels_builder b;
    core_labels_builder_init(&b, r->labels);
    for (size_t i = 0; a && i < a->labels->len; i++)
        core_labels_builder_set(&b, a->labels->v[i].name, a->labels->v[i].value);
    core_labels_builder_set(&b, CORE_METRIC_NAME, metric);
    core_labels_builder_set(&b, "alertname", r->name);
    if (state) core_labels_builder_set(&b, "alertstate", state);
    core_labels *ls = core_labels_builder_labels(&b, arena);
    core_labels_builder_destroy(&b);
    return ls;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
    return q;
}

static int alerting_eval(rules_rule *r, const rules_env *env, int64_t offset, int64_t ts,
                         int64_t limit, core_arena *arena, pthread_mutex_t *lock,
                         rules_sample **out, size_t *nout, core_err *err)
{
    rules_tmpl_sample *res;
    size_t n;
    if (rules_query(env, r->query, r->expr, ts - offset, arena, &res, &n, err) < 0) return -1;
    fresh *fr = core_arena_calloc(arena, n ? n : 1, sizeof *fr);
    rules_tmpl_opts topts = {.time_ms = ts,
                             .query = tmpl_query,
                             .query_ctx = (void *)env,
                             .external_url = env->external_url};
    core_labels_builder b;
    core_labels_builder_init(&b, NULL);
    core_sb val = CORE_SB_INIT;
    int rc = 0;
    size_t made = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        rules_alert_data d = {.labels = res[i].labels,
                              .external_labels = r->external_labels,
                              .external_url = env->external_url,
                              .value = res[i].value};
        core_labels_builder_reset(&b, res[i].labels);
        core_labels_builder_del(&b, CORE_METRIC_NAME);
        char **vals = core_arena_calloc(arena, r->labels->len + 1, sizeof *vals);
        for (size_t k = 0; k < r->labels->len; k++) {
            core_sb_reset(&val);
            expand(r, r->label_tmpls[k], r->labels->v[k].value, &d, &topts, &val);
            vals[k] = core_arena_strndup(arena, val.buf ? val.buf : "", val.len);
            core_labels_builder_set(&b, r->labels->v[k].name, vals[k]);
        }
        core_labels_builder_set(&b, "alertname", r->name);
        core_label *ann = core_arena_calloc(arena, r->annotations->len + 1, sizeof *ann);
        for (size_t k = 0; k < r->annotations->len; k++) {
            core_sb_reset(&val);
            expand(r, r->ann_tmpls[k], r->annotations->v[k].value, &d, &topts, &val);
            ann[k] = (core_label){r->annotations->v[k].name,
                                  core_arena_strndup(arena, val.buf ? val.buf : "", val.len)};
        }
        fresh f = {core_labels_builder_labels(&b, NULL), core_labels_new(ann, r->annotations->len),
                   0, res[i].value};
        f.hash = core_labels_hash(f.labels);
        for (size_t k = 0; k < made; k++)
            if (fr[k].hash == f.hash && core_labels_equal(fr[k].labels, f.labels)) {
                rc = core_err_set(err, "vector contains metrics with the same labelset after "
                                       "applying alert labels");
                break;
            }
        fr[made++] = f;
    }
    core_sb_destroy(&val);
    core_labels_builder_destroy(&b);
    if (rc < 0) {
        for (size_t k = 0; k < made; k++) {
            free(fr[k].labels);
            free(fr[k].annotations);
        }
        return -1;
    }
    rules_lset result = {0};
    for (size_t k = 0; k < made; k++)
        rules_lset_add(&result, core_labels_clone(fr[k].labels));
    rules_lset_sort(&result);

    pthread_mutex_lock(lock);
    alert_index ix;
    index_alerts(r, &ix);
    for (size_t k = 0; k < made; k++) {
        size_t idx = 0;
        rules_alert *a = find_alert(r, &ix, fr[k].labels, fr[k].hash, &idx);
        if (a && a->state != RULES_STATE_INACTIVE) {
            a->value = fr[k].value;
            free(a->annotations);
            a->annotations = fr[k].annotations;
            free(fr[k].labels);
            continue;
        }
        rules_alert *na = core_calloc(1, sizeof *na);
        *na = (rules_alert){.labels = fr[k].labels,
                            .annotations = fr[k].annotations,
                            .hash = fr[k].hash,
                            .state = RULES_STATE_PENDING,
                            .value = fr[k].value,
                            .active_at = ts,
                            .fired_at = RULES_NO_TIME,
                            .resolved_at = RULES_NO_TIME,
                            .last_sent_at = RULES_NO_TIME,
                            .valid_until = RULES_NO_TIME,
                            .keep_firing_since = RULES_NO_TIME};
        if (a) {
            alert_free(a);
            r->alerts[idx] = na;
        } else {
            r->alerts = core_reallocarray(r->alerts, r->nalerts + 1, sizeof *r->alerts);
            r->alerts[r->nalerts++] = na;
        }
    }
    free(ix.pos);
    rules_sample *v = core_arena_calloc(arena, 2 * r->nalerts + 1, sizeof *v);
    size_t nv = 0, kept = 0;
    int64_t active = 0;
    for (size_t i = 0; i < r->nalerts; i++) {
        rules_alert *a = r->alerts[i];
        bool drop = false;
        if (!rules_lset_has(&result, a->labels, a->hash)) {
            bool keep_firing = false;
            if (a->state == RULES_STATE_FIRING && r->keep_firing_for_ms > 0) {
                if (a->keep_firing_since == RULES_NO_TIME) a->keep_firing_since = ts;
                if (ts - a->keep_firing_since < r->keep_firing_for_ms) keep_firing = true;
            }
            drop = a->state == RULES_STATE_PENDING ||
                   (a->resolved_at != RULES_NO_TIME && ts - a->resolved_at > RESOLVED_RETENTION_MS);
            if (a->state != RULES_STATE_INACTIVE && !keep_firing) {
                a->state = RULES_STATE_INACTIVE;
                a->resolved_at = ts;
            }
            if (!keep_firing) {
                if (drop)
                    alert_free(a);
                else
                    r->alerts[kept++] = a;
                continue;
            }
        } else {
            a->keep_firing_since = RULES_NO_TIME;
        }
        active++;
        if (a->state == RULES_STATE_PENDING && ts - a->active_at >= r->hold_ms) {
            a->state = RULES_STATE_FIRING;
            a->fired_at = ts;
        }
        if (a->state == RULES_STATE_FIRING && ts - a->active_at < r->hold_ms) {
            a->state = RULES_STATE_PENDING;
            a->fired_at = RULES_NO_TIME;
            a->last_sent_at = RULES_NO_TIME;
            a->keep_firing_since = RULES_NO_TIME;
        }
        if (r->restored) {
            v[nv++] = (rules_sample){
                alert_series(r, a, "ALERTS", rules_state_name(a->state), arena), ts - offset, 1};
            v[nv++] = (rules_sample){alert_series(r, a, "ALERTS_FOR_STATE", NULL, arena),
                                     ts - offset, (double)floor_div(a->active_at, 1000)};
        }
        if (drop)
            alert_free(a);
        else
            r->alerts[kept++] = a;
    }
    r->nalerts = kept;
    if (limit > 0 && active > limit) {
        for (size_t i = 0; i < r->nalerts; i++)
            alert_free(r->alerts[i]);
        r->nalerts = 0;
        pthread_mutex_unlock(lock);
        rules_lset_free(&result);
        return core_err_set(err, "exceeded limit of %lld with %lld alerts", (long long)limit,
                            (long long)active);
    }
    pthread_mutex_unlock(lock);
    rules_lset_free(&result);
    *out = v;
    *nout = nv;
    return 0;
}

int rules_rule_eval(rules_rule *r, const rules_env *env, int64_t offset_ms, int64_t ts,
                    int64_t limit, core_arena *arena, pthread_mutex_t *lock, rules_sample **out,
                    size_t *nout, core_err *err)
{
    *out = NULL;
    *nout = 0;
    if (r->kind == RULES_RECORDING)
        return recording_eval(r, env, offset_ms, ts, limit, arena, out, nout, err);
    return alerting_eval(r, env, offset_ms, ts, limit, arena, lock, out, nout, err);
}

/* ---- Sending */

static bool needs_sending(const rules_alert *a, int64_t ts, int64_t resend_delay)
{
    if (a->state == RULES_STATE_PENDING) return false;
    if (a->resolved_at != RULES_NO_TIME &&
        (a->last_sent_at == RULES_NO_TIME || a->resolved_at > a->last_sent_at))
        return true;
    if (a->last_sent_at == RULES_NO_TIME) return true;
    return a->last_sent_at + resend_delay < ts;
}

void rules_rule_send(rules_rule *r, const rules_env *env, int64_t ts, int64_t interval_ms,
                     pthread_mutex_t *lock)
{
    if (r->kind != RULES_ALERTING) return;
    core_arena arena = {0};
    core_sb url = CORE_SB_INIT;
    core_sb_adds(&url, env->external_url ? env->external_url : "");
    core_sb_adds(&url, "/graph?g0.expr=");
    tmpl_query_escape(r->query, strlen(r->query), &url);
    core_sb_adds(&url, "&g0.tab=1");
    pthread_mutex_lock(lock);
    rules_notify_alert *out = core_arena_calloc(&arena, r->nalerts + 1, sizeof *out);
    size_t n = 0;
    int64_t delta = interval_ms > env->resend_delay_ms ? interval_ms : env->resend_delay_ms;
    for (size_t i = 0; i < r->nalerts; i++) {
        rules_alert *a = r->alerts[i];
        if (!needs_sending(a, ts, env->resend_delay_ms)) continue;
        a->last_sent_at = ts;
        a->valid_until = ts + 4 * delta;
        out[n++] = (rules_notify_alert){
            .labels = core_labels_new_in(&arena, a->labels->v, a->labels->len),
            .annotations = core_labels_new_in(&arena, a->annotations->v, a->annotations->len),
            .starts_at_ms = a->fired_at,
            .ends_at_ms = a->resolved_at != RULES_NO_TIME ? a->resolved_at : a->valid_until,
            .generator_url = url.buf,
        };
    }
    pthread_mutex_unlock(lock);
    if (env->notify) env->notify(env->notify_ctx, r->query, out, n);
    core_sb_destroy(&url);
    core_arena_destroy(&arena);
}

rules_alert_state rules_rule_state(const rules_rule *r)
{
    if (r->last_eval_ms == RULES_NO_TIME) return RULES_STATE_UNKNOWN;
    rules_alert_state s = RULES_STATE_INACTIVE;
    for (size_t i = 0; i < r->nalerts; i++)
        if (r->alerts[i]->state > s) s = r->alerts[i]->state;
    return s;
}

const char *rules_health_name(rules_health h)
{
    switch (h) {
    case RULES_HEALTH_OK: return "ok";
    case RULES_HEALTH_ERR: return "err";
    default: return "unknown";
    }
}

const char *rules_state_name(rules_alert_state s)
{
    switch (s) {
    case RULES_STATE_INACTIVE: return "inactive";
    case RULES_STATE_PENDING: return "pending";
    case RULES_STATE_FIRING: return "firing";
    default: return "unknown";
    }
}
