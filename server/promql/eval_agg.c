/*
 * eval_agg.c - aggregations (sum, avg, count, min, max, group, stddev,
 * stdvar, quantile, topk, bottomk, limitk, limit_ratio, count_values).
 *
 * Input series are mapped to groups once (by the grouping labels' hash);
 * then each step folds the samples present at that step into their group.
 * Sums use Kahan-Neumaier compensation and avg falls back to an incremental
 * mean on overflow, as upstream does, so results agree to the last bit in
 * the common cases.
 */
#include "promql/eval.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

double ev_kahan_inc(double inc, double sum, double *c)
{
    double t = sum + inc;
    if (isinf(t))
        *c = 0;
    else if (fabs(sum) >= fabs(inc))
        *c += (sum - t) + inc;
    else
        *c += (inc - t) + sum;
    return t;
}

static int cmp_nan_first(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    if (isnan(x)) return isnan(y) ? 0 : -1;
    if (isnan(y)) return 1;
    return (x > y) - (x < y);
}

double ev_quantile(double q, double *v, size_t n)
{
    if (n == 0 || isnan(q)) return NAN;
    if (q < 0) return -INFINITY;
    if (q > 1) return INFINITY;
    qsort(v, n, sizeof *v, cmp_nan_first);
    double rank = q * (double)(n - 1);
    double lo = fmax(0, floor(rank)), hi = fmin((double)n - 1, lo + 1);
    double w = rank - floor(rank);
    return v[(size_t)lo] * (1 - w) + v[(size_t)hi] * w;
}

typedef struct group {
    bool seen, incremental, drop_name;
    double value, mean, comp, count;
    double *vals; /* quantile */
    size_t nvals;
    ev_sample *members; /* topk, bottomk, limitk, limit_ratio */
    size_t nmembers;
} group;

typedef struct agg {
    const pql_node *n;
    const char **grouping;
    size_t ngrouping;
    size_t *series_group; /* input series -> group */
    const core_labels **group_ls;
    group *groups;
    size_t ngroups;
} agg;

static const core_labels *group_labels(ev_ctx *c, const agg *g, const core_labels *ls)
{
    if (g->n->u.aggr.without)
        return ev_labels_filter(c, ls, g->grouping, g->ngrouping, false, true);
    return ev_labels_filter(c, ls, g->grouping, g->ngrouping, true, false);
}

static uint64_t group_key(const agg *g, const core_labels *ls)
{
    return ev_labels_sig(ls, g->grouping, g->ngrouping, !g->n->u.aggr.without);
}

static void assign_groups(ev_ctx *c, agg *g, const ev_matrix *in)
{
    g->series_group = core_arena_calloc(c->a, in->n + 1, sizeof *g->series_group);
    g->group_ls = core_arena_calloc(c->a, in->n + 1, sizeof *g->group_ls);
    uint64_t *keys = core_arena_calloc(c->a, in->n + 1, sizeof *keys);
    for (size_t i = 0; i < in->n; i++) {
        uint64_t k = group_key(g, in->s[i].ls);
        size_t j = 0;
        while (j < g->ngroups && keys[j] != k)
            j++;
        if (j == g->ngroups) {
            keys[j] = k;
            g->group_ls[j] = group_labels(c, g, in->s[i].ls);
            g->ngroups++;
        }
        g->series_group[i] = j;
    }
    g->groups = core_arena_calloc(c->a, g->ngroups + 1, sizeof *g->groups);
}

/* ---- Folding one sample into a group */

static void first_sample(ev_ctx *c, pql_aggr_op op, group *gr, double f, size_t cap)
{
    *gr = (group){.seen = true, .value = f, .mean = f, .count = 1};
    switch (op) {
    case PQL_AGGR_STDDEV:
    case PQL_AGGR_STDVAR: gr->value = (isnan(f) || isinf(f)) ? NAN : 0; break;
    case PQL_AGGR_QUANTILE:
        gr->vals = core_arena_alloc(c->a, cap * sizeof *gr->vals);
        gr->vals[gr->nvals++] = f;
        break;
    case PQL_AGGR_GROUP: gr->value = 1; break;
    default: break;
    }
}

static void avg_add(group *gr, double f)
{
    gr->count++;
    if (!gr->incremental) {
        double c = gr->comp, v = ev_kahan_inc(f, gr->value, &c);
        if (!isinf(v)) {
            gr->value = v;
            gr->comp = c;
            return;
        }
        gr->incremental = true;
        gr->mean = gr->value / (gr->count - 1);
        gr->comp /= gr->count - 1;
    }
    double q = (gr->count - 1) / gr->count, c = q * gr->comp;
    gr->mean = ev_kahan_inc(f / gr->count, q * gr->mean, &c);
    gr->comp = c;
}

static void fold(pql_aggr_op op, group *gr, double f)
{
    switch (op) {
    case PQL_AGGR_SUM: gr->value = ev_kahan_inc(f, gr->value, &gr->comp); break;
    case PQL_AGGR_AVG: avg_add(gr, f); break;
    case PQL_AGGR_MAX:
        if (gr->value < f || isnan(gr->value)) gr->value = f;
        break;
    case PQL_AGGR_MIN:
        if (gr->value > f || isnan(gr->value)) gr->value = f;
        break;
    case PQL_AGGR_COUNT: gr->count++; break;
    case PQL_AGGR_STDDEV:
    case PQL_AGGR_STDVAR: {
        gr->count++;
        double delta = f - gr->mean;
        gr->mean += delta / gr->count;
        gr->value += delta * (f - gr->mean);
        break;
    }
    case PQL_AGGR_QUANTILE: gr->vals[gr->nvals++] = f; break;
    default: break;
    }
}

static double finish(pql_aggr_op op, group *gr, double q)
{
    switch (op) {
    case PQL_AGGR_AVG:
        if (gr->incremental) return gr->mean + gr->comp;
        return gr->value / gr->count + gr->comp / gr->count;
    case PQL_AGGR_COUNT: return gr->count;
    case PQL_AGGR_STDVAR: return gr->value / gr->count;
    case PQL_AGGR_STDDEV: return sqrt(gr->value / gr->count);
    case PQL_AGGR_QUANTILE: return ev_quantile(q, gr->vals, gr->nvals);
    case PQL_AGGR_SUM: return gr->value + gr->comp;
    default: return gr->value;
    }
}

/* ---- k-selection */

typedef struct ranked {
    ev_sample s;
    size_t order;
    bool desc;
} ranked;

static int cmp_ranked(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    bool nx = isnan(x->s.v), ny = isnan(y->s.v);
    if (nx != ny) return nx ? 1 : -1;
    if (!nx && x->s.v != y->s.v) return ((x->s.v < y->s.v) == x->desc) ? 1 : -1;
    return (x->order > y->order) - (x->order < y->order);
}

static bool ratio_keeps(const core_labels *ls, double r)
{
    double off = (double)core_labels_hash(ls) / 18446744073709551615.0;
    return (r >= 0 && off < r) || (r < 0 && off >= 1.0 + r);
}

static void select_k(ev_ctx *c, pql_aggr_op op, group *gr, double param, ev_vec *out)
{
    size_t k = gr->nmembers;
    if (op != PQL_AGGR_LIMIT_RATIO && !(param >= 1))
        k = 0;
    else if (op != PQL_AGGR_LIMIT_RATIO && param < (double)k)
        k = (size_t)param;
    if (op == PQL_AGGR_TOPK || op == PQL_AGGR_BOTTOMK) {
        ranked *r = core_arena_alloc(c->a, (gr->nmembers + 1) * sizeof *r);
        for (size_t i = 0; i < gr->nmembers; i++)
            r[i] = (ranked){gr->members[i], i, op == PQL_AGGR_TOPK};
        qsort(r, gr->nmembers, sizeof *r, cmp_ranked);
        for (size_t i = 0; i < k; i++)
            ev_vec_push(c, out, r[i].s);
        return;
    }
    double ratio = param < -1 ? -1 : param > 1 ? 1 : param;
    for (size_t i = 0; i < k; i++)
        if (op == PQL_AGGR_LIMITK || ratio_keeps(gr->members[i].ls, ratio))
            ev_vec_push(c, out, gr->members[i]);
}

static bool is_k_op(pql_aggr_op op)
{
    return op == PQL_AGGR_TOPK || op == PQL_AGGR_BOTTOMK || op == PQL_AGGR_LIMITK ||
           op == PQL_AGGR_LIMIT_RATIO;
}

/* ---- The step function */

typedef struct agg_run {
    agg *g;
    const ev_matrix *in;
    size_t *cursor;
    const double *params;
    int64_t start, step;
} agg_run;

/* Warnings about a quantile or ratio parameter out of range. */
static void param_annotations(ev_ctx *c, const pql_node *n, double param)
{
    uint32_t pos = n->u.aggr.param ? n->u.aggr.param->pos : n->pos;
    if (n->u.aggr.op == PQL_AGGR_QUANTILE && !(param >= 0 && param <= 1))
        ev_annotate(c, false, pos, "quantile value should be between 0 and 1, got %s",
                    ev_fmt_float(c, param));
    if (n->u.aggr.op == PQL_AGGR_LIMIT_RATIO && (param < -1 || param > 1))
        ev_annotate(c, false, pos, "ratio value should be between -1 and 1, got %s, capping to %s",
                    ev_fmt_float(c, param), param < 0 ? "-1" : "1");
}

static void agg_step(ev_ctx *c, const void *user, ev_vec *args, int64_t ts, ev_vec *out)
{
    (void)args;
    const agg_run *run = user;
    agg *g = run->g;
    pql_aggr_op op = g->n->u.aggr.op;
    double param = run->params ? run->params[(ts - run->start) / run->step] : 0;
    if (is_k_op(op) && op != PQL_AGGR_LIMIT_RATIO && isnan(param))
        ev_fail(c, "Parameter value is NaN");
    if (op == PQL_AGGR_LIMIT_RATIO && isnan(param)) ev_fail(c, "Ratio value is NaN");
    param_annotations(c, g->n, param);
    for (size_t i = 0; i < g->ngroups; i++)
        g->groups[i].seen = false;
    for (size_t i = 0; i < run->in->n; i++) {
        const ev_series *s = &run->in->s[i];
        if (run->cursor[i] >= s->n || s->pts[run->cursor[i]].t != ts) continue;
        double f = s->pts[run->cursor[i]++].v;
        group *gr = &g->groups[g->series_group[i]];
        if (is_k_op(op)) {
            if (!gr->seen) {
                *gr = (group){.seen = true};
                gr->members = core_arena_alloc(c->a, (run->in->n + 1) * sizeof *gr->members);
            }
            gr->members[gr->nmembers++] = (ev_sample){s->ls, f, ts, s->drop_name};
            continue;
        }
        if (!gr->seen) {
            first_sample(c, op, gr, f, run->in->n + 1);
            gr->drop_name = s->drop_name;
            continue;
        }
        gr->drop_name |= s->drop_name;
        fold(op, gr, f);
    }
    for (size_t i = 0; i < g->ngroups; i++) {
        group *gr = &g->groups[i];
        if (!gr->seen) continue;
        if (is_k_op(op))
            select_k(c, op, gr, param, out);
        else
            ev_vec_push(c, out,
                        (ev_sample){g->group_ls[i], finish(op, gr, param), ts, gr->drop_name});
    }
}

/* ---- count_values */

/* Go's strconv.FormatFloat(f, 'f', -1, 64): shortest digits, no exponent. */
static const char *format_float_f(ev_ctx *c, double f)
{
    if (isnan(f)) return "NaN";
    if (isinf(f)) return f > 0 ? "+Inf" : "-Inf";
    char buf[64];
    int prec = 1;
    for (; prec < 17; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec - 1, f);
        if (strtod(buf, NULL) == f) break;
    }
    int exp10 = atoi(strchr(buf, 'e') + 1);
    int decimals = prec - 1 - exp10;
    return core_arena_sprintf(c->a, "%.*f", decimals > 0 ? decimals : 0, f);
}

typedef struct cv_args {
    const pql_node *n;
    const char *label;
    const char **grouping;
    size_t ngrouping;
} cv_args;

static void count_values_step(ev_ctx *c, const void *user, ev_vec *args, int64_t ts, ev_vec *out)
{
    const cv_args *a = user;
    agg g = {.n = a->n, .grouping = a->grouping, .ngrouping = a->ngrouping};
    ev_vec *in = &args[0];
    uint64_t *keys = core_arena_calloc(c->a, in->n + 1, sizeof *keys);
    size_t base = out->n;
    for (size_t i = 0; i < in->n; i++) {
        const core_labels *ls =
            ev_labels_set(c, in->s[i].ls, a->label, format_float_f(c, in->s[i].v));
        uint64_t k = group_key(&g, ls);
        size_t j = 0;
        while (j < out->n - base && keys[j] != k)
            j++;
        if (j < out->n - base) {
            out->s[base + j].v++;
            continue;
        }
        keys[j] = k;
        ev_vec_push(c, out, (ev_sample){group_labels(c, &g, ls), 1, ts, false});
    }
}

static ev_val count_values(ev_ctx *c, const pql_node *n)
{
    const pql_node *p = ev_unparen(n->u.aggr.param);
    cv_args a = {n, core_arena_strndup(c->a, p->u.string.value, p->u.string.len), NULL, 0};
    if (!a.label[0] || strlen(a.label) != p->u.string.len)
        ev_fail(c, "invalid label name \"%s\"", a.label);
    a.grouping = core_arena_calloc(c->a, n->u.aggr.ngrouping + 2, sizeof *a.grouping);
    memcpy(a.grouping, n->u.aggr.grouping, n->u.aggr.ngrouping * sizeof *a.grouping);
    a.ngrouping = n->u.aggr.ngrouping;
    if (!n->u.aggr.without) a.grouping[a.ngrouping++] = a.label;
    ev_val in = ev_eval(c, n->u.aggr.expr);
    return ev_range_eval(c, count_values_step, &a, &in, 1);
}

static const double *eval_param(ev_ctx *c, const pql_node *n)
{
    if (!n->u.aggr.param) return NULL;
    ev_val p = ev_eval(c, n->u.aggr.param);
    return p.scalars;
}

ev_val ev_aggregate(ev_ctx *c, const pql_node *n)
{
    if (n->u.aggr.op == PQL_AGGR_COUNT_VALUES) return count_values(c, n);
    const double *params = eval_param(c, n);
    ev_val in = ev_eval(c, n->u.aggr.expr);
    agg g = {.n = n, .grouping = n->u.aggr.grouping, .ngrouping = n->u.aggr.ngrouping};
    assign_groups(c, &g, &in.m);
    agg_run run = {&g,     &in.m,    core_arena_calloc(c->a, in.m.n + 1, sizeof(size_t)),
                   params, c->start, c->step};
    return ev_range_eval(c, agg_step, &run, NULL, 0);
}
