/*
 * eval_agg.c - aggregations (sum, avg, count, min, max, group, stddev,
 * stdvar, quantile, topk, bottomk, limitk, limit_ratio, count_values).
 *
 * The input is read series by series (an ev_stream: `sum(rate(x[5m]))`
 * never materializes the rates).  Each series maps to its group once, by
 * the grouping labels' hash, and each of its points folds into the state of
 * its (group, step) cell.  A cell sees its samples in input order, the
 * order upstream's step-wise loop sees them, so sums agree to the last bit.
 * Sums use Kahan-Neumaier compensation and avg falls back to an incremental
 * mean on overflow, as upstream does.  The cells' state is op-specific
 * arrays of groups x steps (16 bytes a cell for sum), scratch memory that
 * goes back once the output series are built.
 *
 * topk and bottomk keep a bounded heap of k entries per cell (the worst at
 * the root), ordered by value then input order, so the k kept are those a
 * stable sort would put first; quantile, limitk and limit_ratio keep lists.
 * count_values, whose groups depend on values, runs step by step.
 */
#include "promql/eval.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ev_cmp_nan_first(const void *a, const void *b)
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
    qsort(v, n, sizeof *v, ev_cmp_nan_first);
    return ev_quantile_sorted(q, v, n);
}

double ev_quantile_sorted(double q, const double *v, size_t n)
{
    if (n == 0 || isnan(q)) return NAN;
    if (q < 0) return -INFINITY;
    if (q > 1) return INFINITY;
    double rank = q * (double)(n - 1);
    double lo = fmax(0, floor(rank)), hi = fmin((double)n - 1, lo + 1);
    double w = rank - floor(rank);
    return v[(size_t)lo] * (1 - w) + v[(size_t)hi] * w;
}

/* ---- The cells: per group and step */

/* An entry of a cell's list (k-ops, quantile): input series and value. */
typedef struct kent {
    double v;
    size_t idx;
} kent;

typedef struct klist {
    kent *e;
    uint32_t n, cap;
} klist;

enum { CELL_SEEN = 1, CELL_INCR = 2, CELL_DROP = 4 };

typedef struct agg {
    ev_ctx *c;
    const pql_node *n;
    pql_aggr_op op;
    const char **grouping;
    size_t ngrouping;
    size_t steps;
    /* groups: key -> index (open addressing, index + 1), labels */
    uint64_t *keys;
    size_t *slots, nslots;
    const core_labels **group_ls;
    size_t ngroups, cap;
    /* cells, [group * steps + step]; only the arrays the op needs */
    double *value, *comp, *mean, *count;
    uint8_t *flags;
    klist *lists;
    /* entries of the lists: a pool of scratch blocks */
    char **pool;
    size_t npool, pool_used, pool_left;
    /* input series (k-ops): labels, name flags, limit_ratio hash offsets */
    const core_labels **sls;
    bool *sdrop;
    double *soff;
    size_t nseries, scap;
    /* per step: k or the ratio, the quantile */
    size_t *kst;
    const double *params;
} agg;

static bool is_k_op(pql_aggr_op op)
{
    return op == PQL_AGGR_TOPK || op == PQL_AGGR_BOTTOMK || op == PQL_AGGR_LIMITK ||
           op == PQL_AGGR_LIMIT_RATIO;
}

static bool uses_lists(pql_aggr_op op)
{
    return is_k_op(op) || op == PQL_AGGR_QUANTILE;
}

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

static void *grow(ev_ctx *c, void *p, size_t old, size_t n, size_t size)
{
    char *q = ev_tmp_realloc(c, p, n * size);
    memset(q + old * size, 0, (n - old) * size);
    return q;
}

/* Room for one more group's cells. */
static void grow_groups(agg *g)
{
    ev_ctx *c = g->c;
    size_t old = g->cap, cap = old ? old * 2 : 8, s = g->steps;
    g->group_ls = grow(c, g->group_ls, old, cap, sizeof *g->group_ls);
    g->flags = grow(c, g->flags, old * s, cap * s, sizeof *g->flags);
    pql_aggr_op op = g->op;
    if (uses_lists(op)) {
        g->lists = grow(c, g->lists, old * s, cap * s, sizeof *g->lists);
    } else {
        if (op != PQL_AGGR_COUNT && op != PQL_AGGR_GROUP)
            g->value = grow(c, g->value, old * s, cap * s, sizeof *g->value);
        if (op == PQL_AGGR_SUM || op == PQL_AGGR_AVG)
            g->comp = grow(c, g->comp, old * s, cap * s, sizeof *g->comp);
        if (op == PQL_AGGR_AVG || op == PQL_AGGR_STDDEV || op == PQL_AGGR_STDVAR)
            g->mean = grow(c, g->mean, old * s, cap * s, sizeof *g->mean);
        if (op == PQL_AGGR_AVG || op == PQL_AGGR_COUNT || op == PQL_AGGR_STDDEV ||
            op == PQL_AGGR_STDVAR)
            g->count = grow(c, g->count, old * s, cap * s, sizeof *g->count);
    }
    g->cap = cap;
}

/* The index of the group of series labels ls, added when new. */
static size_t group_of(agg *g, const core_labels *ls)
{
    ev_ctx *c = g->c;
    uint64_t key = group_key(g, ls);
    if ((g->ngroups + 1) * 2 > g->nslots) {
        size_t ns = g->nslots ? g->nslots * 2 : 64;
        uint64_t *keys = ev_tmp_alloc(c, ns * sizeof *keys);
        size_t *slots = ev_tmp_alloc(c, ns * sizeof *slots);
        memset(slots, 0, ns * sizeof *slots);
        for (size_t i = 0; i < g->nslots; i++) {
            if (!g->slots[i]) continue;
            size_t j = (size_t)g->keys[i] & (ns - 1);
            while (slots[j])
                j = (j + 1) & (ns - 1);
            keys[j] = g->keys[i];
            slots[j] = g->slots[i];
        }
        ev_tmp_free(c, g->keys);
        ev_tmp_free(c, g->slots);
        g->keys = keys, g->slots = slots, g->nslots = ns;
    }
    size_t j = (size_t)key & (g->nslots - 1);
    while (g->slots[j] && g->keys[j] != key)
        j = (j + 1) & (g->nslots - 1);
    if (g->slots[j]) return g->slots[j] - 1;
    if (g->ngroups == g->cap) grow_groups(g);
    g->keys[j] = key;
    g->slots[j] = g->ngroups + 1;
    g->group_ls[g->ngroups] = group_labels(c, g, ls);
    return g->ngroups++;
}

/* Entries for a list: from scratch blocks that go back with the cells. */
static kent *pool_alloc(agg *g, size_t n)
{
    size_t bytes = n * sizeof(kent);
    if (bytes > g->pool_left) {
        size_t size = bytes > 65536 ? bytes : 65536;
        g->pool = ev_tmp_realloc(g->c, g->pool, (g->npool + 1) * sizeof *g->pool);
        g->pool[g->npool++] = ev_tmp_alloc(g->c, size);
        g->pool_used = 0;
        g->pool_left = size;
    }
    kent *e = (kent *)(g->pool[g->npool - 1] + g->pool_used);
    g->pool_used += bytes;
    g->pool_left -= bytes;
    return e;
}

static void list_push(agg *g, klist *l, kent e)
{
    if (l->n == l->cap) {
        uint32_t cap = l->cap ? l->cap * 2 : 4;
        kent *ne = pool_alloc(g, cap);
        if (l->n) memcpy(ne, l->e, l->n * sizeof *ne);
        l->e = ne;
        l->cap = cap;
    }
    l->e[l->n++] = e;
}

/* ---- Folding one sample into a cell */

static void avg_add(agg *g, size_t i, double f)
{
    double n = ++g->count[i];
    if (!(g->flags[i] & CELL_INCR)) {
        double c = g->comp[i], v = ev_kahan_inc(f, g->value[i], &c);
        if (!isinf(v)) {
            g->value[i] = v;
            g->comp[i] = c;
            return;
        }
        g->flags[i] |= CELL_INCR;
        g->mean[i] = g->value[i] / (n - 1);
        g->comp[i] /= n - 1;
    }
    double q = (n - 1) / n, c = q * g->comp[i];
    g->mean[i] = ev_kahan_inc(f / n, q * g->mean[i], &c);
    g->comp[i] = c;
}

static void first_sample(agg *g, size_t i, double f)
{
    switch (g->op) {
    case PQL_AGGR_SUM: g->value[i] = f, g->comp[i] = 0; break;
    case PQL_AGGR_AVG: g->value[i] = f, g->comp[i] = 0, g->mean[i] = f, g->count[i] = 1; break;
    case PQL_AGGR_COUNT: g->count[i] = 1; break;
    case PQL_AGGR_STDDEV:
    case PQL_AGGR_STDVAR:
        g->value[i] = (isnan(f) || isinf(f)) ? NAN : 0;
        g->mean[i] = f;
        g->count[i] = 1;
        break;
    case PQL_AGGR_GROUP: break;
    default: g->value[i] = f; break; /* min, max */
    }
}

static void fold(agg *g, size_t i, double f)
{
    switch (g->op) {
    case PQL_AGGR_SUM: g->value[i] = ev_kahan_inc(f, g->value[i], &g->comp[i]); break;
    case PQL_AGGR_AVG: avg_add(g, i, f); break;
    case PQL_AGGR_MAX:
        if (g->value[i] < f || isnan(g->value[i])) g->value[i] = f;
        break;
    case PQL_AGGR_MIN:
        if (g->value[i] > f || isnan(g->value[i])) g->value[i] = f;
        break;
    case PQL_AGGR_COUNT: g->count[i]++; break;
    case PQL_AGGR_STDDEV:
    case PQL_AGGR_STDVAR: {
        double n = ++g->count[i], delta = f - g->mean[i];
        g->mean[i] += delta / n;
        g->value[i] += delta * (f - g->mean[i]);
        break;
    }
    default: break; /* group */
    }
}

static double finish(const agg *g, size_t i, size_t st)
{
    switch (g->op) {
    case PQL_AGGR_AVG:
        if (g->flags[i] & CELL_INCR) return g->mean[i] + g->comp[i];
        return g->value[i] / g->count[i] + g->comp[i] / g->count[i];
    case PQL_AGGR_COUNT: return g->count[i];
    case PQL_AGGR_STDVAR: return g->value[i] / g->count[i];
    case PQL_AGGR_STDDEV: return sqrt(g->value[i] / g->count[i]);
    case PQL_AGGR_GROUP: return 1;
    case PQL_AGGR_SUM: return g->value[i] + g->comp[i];
    case PQL_AGGR_QUANTILE: {
        klist *l = &g->lists[i];
        double *v = (double *)l->e; /* the values, packed in place */
        for (uint32_t k = 0; k < l->n; k++)
            v[k] = l->e[k].v;
        return ev_quantile(g->params[st], v, l->n);
    }
    default: return g->value[i];
    }
}

/* ---- k-selection: a heap per cell, the worst entry at the root */

/* Whether a ranks before b: topk by value descending, bottomk ascending,
 * NaN last, then input order. */
static bool k_before(const kent *a, const kent *b, bool desc)
{
    bool na = isnan(a->v), nb = isnan(b->v);
    if (na != nb) return nb;
    if (!na && a->v != b->v) return desc ? a->v > b->v : a->v < b->v;
    return a->idx < b->idx;
}

static void heap_up(kent *h, size_t i, bool desc)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!k_before(&h[p], &h[i], desc)) break;
        kent t = h[p];
        h[p] = h[i];
        h[i] = t;
        i = p;
    }
}

static void heap_down(kent *h, size_t n, bool desc)
{
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < n && k_before(&h[w], &h[l], desc)) w = l;
        if (r < n && k_before(&h[w], &h[r], desc)) w = r;
        if (w == i) return;
        kent t = h[w];
        h[w] = h[i];
        h[i] = t;
        i = w;
    }
}

/* qsort has no user pointer: set before each sort; per thread, as queries
 * may run in several. */
static _Thread_local bool g_desc;

static int cmp_kent(const void *a, const void *b)
{
    return k_before(a, b, g_desc) ? -1 : k_before(b, a, g_desc) ? 1 : 0;
}

static void k_add(agg *g, size_t i, size_t st, size_t idx, double f)
{
    klist *l = &g->lists[i];
    kent e = {f, idx};
    switch (g->op) {
    case PQL_AGGR_TOPK:
    case PQL_AGGR_BOTTOMK: {
        bool desc = g->op == PQL_AGGR_TOPK;
        size_t k = g->kst[st];
        if (l->n < k) {
            list_push(g, l, e);
            heap_up(l->e, l->n - 1, desc);
        } else if (k > 0 && k_before(&e, &l->e[0], desc)) {
            l->e[0] = e;
            heap_down(l->e, l->n, desc);
        }
        break;
    }
    case PQL_AGGR_LIMITK:
        if (l->n < g->kst[st]) list_push(g, l, e);
        break;
    case PQL_AGGR_LIMIT_RATIO: {
        double r = g->params[st], off = g->soff[idx];
        r = r < -1 ? -1 : r > 1 ? 1 : r;
        if ((r >= 0 && off < r) || (r < 0 && off >= 1.0 + r)) list_push(g, l, e);
        break;
    }
    default: list_push(g, l, e); break; /* quantile */
    }
}

/* ---- Reading the input */

static void add_series(agg *g, const ev_series *s)
{
    ev_ctx *c = g->c;
    if (g->nseries == g->scap) {
        size_t cap = g->scap ? g->scap * 2 : 64;
        g->sls = ev_tmp_realloc(c, g->sls, cap * sizeof *g->sls);
        g->sdrop = ev_tmp_realloc(c, g->sdrop, cap * sizeof *g->sdrop);
        if (g->op == PQL_AGGR_LIMIT_RATIO)
            g->soff = ev_tmp_realloc(c, g->soff, cap * sizeof *g->soff);
        g->scap = cap;
    }
    g->sls[g->nseries] = s->ls;
    g->sdrop[g->nseries] = s->drop_name;
    if (g->op == PQL_AGGR_LIMIT_RATIO)
        g->soff[g->nseries] = (double)core_labels_hash(s->ls) / 18446744073709551615.0;
    g->nseries++;
}

static void fold_series(agg *g, const ev_series *s)
{
    ev_ctx *c = g->c;
    size_t gi = group_of(g, s->ls), base = gi * g->steps, step = 0;
    uint8_t drop = s->drop_name ? CELL_DROP : 0;
    if (uses_lists(g->op)) {
        size_t idx = g->nseries;
        if (is_k_op(g->op)) add_series(g, s);
        for (size_t k = 0; k < s->n; k++) {
            size_t st = ev_step_of(c, s->pts[k].t, &step);
            g->flags[base + st] |= CELL_SEEN | drop;
            k_add(g, base + st, st, idx, s->pts[k].v);
        }
        return;
    }
    for (size_t k = 0; k < s->n; k++) {
        size_t i = base + ev_step_of(c, s->pts[k].t, &step);
        if (!(g->flags[i] & CELL_SEEN)) {
            g->flags[i] = CELL_SEEN | drop;
            first_sample(g, i, s->pts[k].v);
            continue;
        }
        g->flags[i] |= drop;
        fold(g, i, s->pts[k].v);
    }
}

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

/* Step by step as upstream: a NaN parameter fails, one out of range warns. */
static void check_params(agg *g)
{
    ev_ctx *c = g->c;
    for (size_t st = 0; st < g->steps; st++) {
        double param = g->params ? g->params[st] : 0;
        if (is_k_op(g->op) && g->op != PQL_AGGR_LIMIT_RATIO && isnan(param))
            ev_fail(c, "Parameter value is NaN");
        if (g->op == PQL_AGGR_LIMIT_RATIO && isnan(param)) ev_fail(c, "Ratio value is NaN");
        param_annotations(c, g->n, param);
    }
}

/* ---- Output */

static int64_t step_time(const ev_ctx *c, size_t st)
{
    return c->start + (int64_t)st * c->step;
}

/* One series per group with its cells' results, in order of first
 * appearance step by step (upstream's step-wise order). */
static ev_val output_groups(agg *g)
{
    ev_ctx *c = g->c;
    ev_val out = {.type = PQL_TYPE_VECTOR};
    size_t *npts = ev_tmp_alloc(c, (g->ngroups + 1) * sizeof *npts);
    size_t *order = ev_tmp_alloc(c, (g->ngroups + 1) * sizeof *order), norder = 0;
    memset(npts, 0, (g->ngroups + 1) * sizeof *npts);
    for (size_t st = 0; st < g->steps; st++)
        for (size_t gi = 0; gi < g->ngroups; gi++)
            if (g->flags[gi * g->steps + st] & CELL_SEEN)
                if (npts[gi]++ == 0) order[norder++] = gi;
    for (size_t k = 0; k < norder; k++) {
        size_t gi = order[k], base = gi * g->steps;
        ev_series *s = ev_matrix_add(c, &out.m, g->group_ls[gi]);
        s->pts = core_arena_alloc(c->a, npts[gi] * sizeof *s->pts);
        s->cap = npts[gi];
        for (size_t st = 0; st < g->steps; st++) {
            uint8_t f = g->flags[base + st];
            if (!(f & CELL_SEEN)) continue;
            s->pts[s->n++] = (pql_point){step_time(c, st), finish(g, base + st, st)};
            s->drop_name = f & CELL_DROP;
        }
        ev_count(c, s->n);
    }
    ev_tmp_free(c, npts);
    ev_tmp_free(c, order);
    return out;
}

/* The input series the k-op keeps, step by step: each cell's entries in
 * rank order (topk, bottomk) or input order. */
static ev_val output_members(agg *g)
{
    ev_ctx *c = g->c;
    ev_val out = {.type = PQL_TYPE_VECTOR};
    size_t *npts = ev_tmp_alloc(c, (g->nseries + 1) * sizeof *npts);
    size_t *slot = ev_tmp_alloc(c, (g->nseries + 1) * sizeof *slot), nout = 0;
    memset(npts, 0, (g->nseries + 1) * sizeof *npts);
    bool ranked = g->op == PQL_AGGR_TOPK || g->op == PQL_AGGR_BOTTOMK;
    g_desc = g->op == PQL_AGGR_TOPK;
    for (size_t st = 0; st < g->steps; st++)
        for (size_t gi = 0; gi < g->ngroups; gi++) {
            klist *l = &g->lists[gi * g->steps + st];
            if (ranked && l->n > 1) qsort(l->e, l->n, sizeof *l->e, cmp_kent);
            for (uint32_t k = 0; k < l->n; k++)
                if (npts[l->e[k].idx]++ == 0) slot[l->e[k].idx] = nout++;
        }
    for (size_t i = 0; i < nout; i++)
        ev_matrix_add(c, &out.m, NULL);
    for (size_t idx = 0; idx < g->nseries; idx++) {
        if (!npts[idx]) continue;
        ev_series *s = &out.m.s[slot[idx]];
        s->ls = g->sls[idx];
        s->drop_name = g->sdrop[idx];
        s->pts = core_arena_alloc(c->a, npts[idx] * sizeof *s->pts);
        s->cap = npts[idx];
    }
    for (size_t st = 0; st < g->steps; st++) {
        size_t n = 0;
        for (size_t gi = 0; gi < g->ngroups; gi++) {
            klist *l = &g->lists[gi * g->steps + st];
            for (uint32_t k = 0; k < l->n; k++) {
                ev_series *s = &out.m.s[slot[l->e[k].idx]];
                s->pts[s->n++] = (pql_point){step_time(c, st), l->e[k].v};
            }
            n += l->n;
        }
        ev_count(c, n);
    }
    ev_tmp_free(c, npts);
    ev_tmp_free(c, slot);
    return out;
}

static void agg_free(agg *g)
{
    ev_ctx *c = g->c;
    void *bufs[] = {g->keys,  g->slots, g->group_ls, g->value, g->comp, g->mean, g->count,
                    g->flags, g->lists, g->sls,      g->sdrop, g->soff, g->kst};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        ev_tmp_free(c, bufs[i]);
    for (size_t i = 0; i < g->npool; i++)
        ev_tmp_free(c, g->pool[i]);
    ev_tmp_free(c, g->pool);
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

/* Series by series as the others, but a series' group depends on its
 * value: the group's key is kept per series while the value stays the
 * same, so labels are built (in the step's scratch arena) only when it
 * changes, and each step counts per output series. */
static ev_val count_values(ev_ctx *c, const pql_node *n)
{
    const pql_node *p = ev_unparen(n->u.aggr.param);
    const char *label = core_arena_strndup(c->a, p->u.string.value, p->u.string.len);
    if (!label[0] || strlen(label) != p->u.string.len)
        ev_fail(c, "invalid label name \"%s\"", label);
    const char **grouping = core_arena_calloc(c->a, n->u.aggr.ngrouping + 2, sizeof *grouping);
    if (n->u.aggr.ngrouping)
        memcpy(grouping, n->u.aggr.grouping, n->u.aggr.ngrouping * sizeof *grouping);
    size_t ngrouping = n->u.aggr.ngrouping;
    if (!n->u.aggr.without) grouping[ngrouping++] = label;
    ev_val in = ev_eval(c, n->u.aggr.expr);
    agg g = {.c = c, .n = n, .grouping = grouping, .ngrouping = ngrouping};
    size_t ns = in.m.n;
    size_t *cur = ev_tmp_alloc(c, (ns + 1) * sizeof *cur);
    uint64_t *bits = ev_tmp_alloc(c, (ns + 1) * sizeof *bits);
    size_t *out_of = ev_tmp_alloc(c, (ns + 1) * sizeof *out_of); /* output + 1, 0: none */
    memset(cur, 0, (ns + 1) * sizeof *cur);
    memset(out_of, 0, (ns + 1) * sizeof *out_of);
    size_t *cnt = NULL, *stamp = NULL, *order = NULL, cap = 0, norder;
    ev_map groups = {0};
    ev_out o = {0};
    core_arena *qa = c->a;
    for (size_t st = 0, steps = ev_nsteps(c); st < steps; st++) {
        int64_t ts = c->start + (int64_t)st * c->step;
        norder = 0;
        for (size_t i = 0; i < ns; i++) {
            const ev_series *s = &in.m.s[i];
            if (cur[i] >= s->n || s->pts[cur[i]].t != ts) continue;
            double v = s->pts[cur[i]++].v;
            uint64_t b;
            memcpy(&b, &v, sizeof b);
            if (!out_of[i] || bits[i] != b) {
                c->a = c->scratch;
                const core_labels *ls = ev_labels_set(c, s->ls, label, format_float_f(c, v));
                size_t *slot = ev_map_slot(c, &groups, group_key(&g, ls));
                if (!*slot) {
                    const core_labels *gl = group_labels(c, &g, ls);
                    *slot = ev_out_series(c, &o, gl, core_labels_hash(gl), true) + 1;
                }
                c->a = qa;
                out_of[i] = *slot;
                bits[i] = b;
            }
            size_t k = out_of[i] - 1;
            if (k >= cap) {
                size_t ncap = cap ? cap * 2 : 64;
                while (ncap <= k)
                    ncap *= 2;
                cnt = ev_tmp_realloc(c, cnt, ncap * sizeof *cnt);
                stamp = ev_tmp_realloc(c, stamp, ncap * sizeof *stamp);
                order = ev_tmp_realloc(c, order, ncap * sizeof *order);
                memset(stamp + cap, 0, (ncap - cap) * sizeof *stamp);
                cap = ncap;
            }
            if (stamp[k] != st + 1) {
                stamp[k] = st + 1;
                cnt[k] = 0;
                order[norder++] = k;
            }
            cnt[k]++;
        }
        for (size_t j = 0; j < norder; j++)
            ev_out_push(c, &o, order[j], ts, (double)cnt[order[j]], false);
        ev_out_step_done(c, &o);
        core_arena_reset(c->scratch);
    }
    void *bufs[] = {cur, bits, out_of, cnt, stamp, order};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        ev_tmp_free(c, bufs[i]);
    ev_map_free(c, &groups);
    return ev_out_finish(c, &o);
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
    agg g = {.c = c,
             .n = n,
             .op = n->u.aggr.op,
             .grouping = n->u.aggr.grouping,
             .ngrouping = n->u.aggr.ngrouping,
             .steps = ev_nsteps(c)};
    g.params = eval_param(c, n);
    if (g.op == PQL_AGGR_TOPK || g.op == PQL_AGGR_BOTTOMK || g.op == PQL_AGGR_LIMITK) {
        g.kst = ev_tmp_alloc(c, g.steps * sizeof *g.kst);
        for (size_t st = 0; st < g.steps; st++) {
            double p = g.params[st];
            g.kst[st] = !(p >= 1) ? 0 : p < 4294967295.0 ? (size_t)p : UINT32_MAX;
        }
    }
    ev_stream *in = ev_stream_open(c, n->u.aggr.expr);
    ev_series s;
    while (in->next(in, &s))
        fold_series(&g, &s);
    check_params(&g);
    ev_val out = is_k_op(g.op) ? output_members(&g) : output_groups(&g);
    agg_free(&g);
    return out;
}
