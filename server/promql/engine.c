/*
 * engine.c - the evaluator's core: entry points, selectors, subqueries and the
 * step loop every operator and function runs in.
 *
 * Every node evaluates to a value for all steps of its evaluator at once (as
 * upstream's rangeEval does): a scalar per step, or series whose points sit
 * at step times.  A selector or subquery resolves each step's reference time
 * as (@ time or step time) - offset, so @ needs no separate pass.  Functions
 * over range vectors get, per series and step, the window (ref-range, ref]
 * of samples loaded once for the whole query range.  An instant query is a
 * range query with one step; results keep evaluation order then, and are
 * sorted by labels for range queries.  Names marked for removal are dropped
 * at the very end (delayed __name__ removal).
 */
#include "promql/eval.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ev_fail(ev_ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    core_err_setv(c->err, fmt, ap);
    va_end(ap);
    longjmp(*c->jb, 1);
}

void ev_annotate(ev_ctx *c, bool info, uint32_t pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char body[1024];
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    const char *msg = core_arena_sprintf(c->a, "PromQL %s: %s", info ? "info" : "warning", body);
    ev_annos *an = c->annos;
    for (size_t i = 0; i < an->n; i++)
        if (an->v[i].pos == pos && !strcmp(an->v[i].msg, msg)) return;
    if (an->n == an->cap) {
        size_t cap = an->cap ? an->cap * 2 : 4;
        pql_annotation *nv = core_arena_alloc(c->a, cap * sizeof *nv);
        if (an->n) memcpy(nv, an->v, an->n * sizeof *nv);
        an->v = nv;
        an->cap = cap;
    }
    an->v[an->n++] = (pql_annotation){info, msg, pos};
}

const char *ev_fmt_float(ev_ctx *c, double v)
{
    if (isnan(v)) return "NaN";
    if (isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    char buf[64];
    int prec = 1;
    for (; prec < 17; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec - 1, v);
        if (strtod(buf, NULL) == v) break;
    }
    snprintf(buf, sizeof buf, "%.*e", prec - 1, v);
    int exp10 = atoi(strchr(buf, 'e') + 1);
    if (exp10 < -4 || exp10 >= 6) return core_arena_strdup(c->a, buf);
    int decimals = prec - 1 - exp10;
    return core_arena_sprintf(c->a, "%.*f", decimals > 0 ? decimals : 0, v);
}

void pql_annotation_format(const pql_annotation *a, const char *query, core_sb *sb)
{
    unsigned line = 1, col = 1;
    for (uint32_t i = 0; query && i < a->pos && query[i]; i++) {
        col++;
        if (query[i] == '\n') line++, col = 1;
    }
    core_sb_adds(sb, a->msg);
    core_sb_addf(sb, " (%u:%u)", line, col);
}

void ev_count(ev_ctx *c, size_t n)
{
    c->samples += n;
    if (c->samples > c->o->max_samples)
        ev_fail(c, "query processing would load too many samples into memory in query execution");
}

size_t ev_nsteps(const ev_ctx *c)
{
    return (size_t)((c->end - c->start) / c->step) + 1;
}

const pql_node *ev_unparen(const pql_node *n)
{
    while (n->kind == PQL_NODE_PAREN)
        n = n->u.paren.expr;
    return n;
}

void ev_vec_push(ev_ctx *c, ev_vec *v, ev_sample s)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        ev_sample *ns = core_arena_alloc(c->a, cap * sizeof *ns);
        if (v->n) memcpy(ns, v->s, v->n * sizeof *ns);
        v->s = ns;
        v->cap = cap;
    }
    v->s[v->n++] = s;
}

void ev_series_push(ev_ctx *c, ev_series *s, int64_t t, double v)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4;
        pql_point *np = core_arena_alloc(c->a, cap * sizeof *np);
        if (s->n) memcpy(np, s->pts, s->n * sizeof *np);
        s->pts = np;
        s->cap = cap;
    }
    s->pts[s->n++] = (pql_point){t, v};
}

ev_series *ev_matrix_add(ev_ctx *c, ev_matrix *m, const core_labels *ls)
{
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 8;
        ev_series *ns = core_arena_alloc(c->a, cap * sizeof *ns);
        if (m->n) memcpy(ns, m->s, m->n * sizeof *ns);
        m->s = ns;
        m->cap = cap;
    }
    ev_series *s = &m->s[m->n++];
    memset(s, 0, sizeof *s);
    s->ls = ls;
    return s;
}

/* ---- Output series keyed by label hash */

typedef struct ev_index {
    uint64_t *keys;
    size_t *vals; /* index + 1; 0: empty */
    size_t cap, n;
} ev_index;

static size_t *index_slot(ev_ctx *c, ev_index *ix, uint64_t key);

static void index_grow(ev_ctx *c, ev_index *ix)
{
    ev_index old = *ix;
    ix->cap = old.cap ? old.cap * 2 : 64;
    ix->keys = core_arena_calloc(c->a, ix->cap, sizeof *ix->keys);
    ix->vals = core_arena_calloc(c->a, ix->cap, sizeof *ix->vals);
    ix->n = 0;
    for (size_t i = 0; i < old.cap; i++)
        if (old.vals[i]) *index_slot(c, ix, old.keys[i]) = old.vals[i];
}

/* The slot of `key`, inserted empty when missing. */
static size_t *index_slot(ev_ctx *c, ev_index *ix, uint64_t key)
{
    if ((ix->n + 1) * 2 > ix->cap) index_grow(c, ix);
    size_t i = (size_t)key & (ix->cap - 1);
    while (ix->vals[i] && ix->keys[i] != key)
        i = (i + 1) & (ix->cap - 1);
    if (!ix->vals[i]) {
        ix->keys[i] = key;
        ix->n++;
    }
    return &ix->vals[i];
}

/* ---- The step loop */

static void gather(ev_ctx *c, ev_val *v, size_t *cursor, int64_t ts, size_t step, ev_vec *out)
{
    out->n = 0;
    if (v->type == PQL_TYPE_SCALAR) {
        ev_vec_push(c, out, (ev_sample){ev_labels_empty(c), v->scalars[step], ts, false});
        return;
    }
    for (size_t i = 0; i < v->m.n; i++) {
        ev_series *s = &v->m.s[i];
        if (cursor[i] < s->n && s->pts[cursor[i]].t == ts) {
            ev_vec_push(c, out, (ev_sample){s->ls, s->pts[cursor[i]].v, ts, s->drop_name});
            cursor[i]++;
        }
    }
}

static void collect(ev_ctx *c, ev_matrix *m, ev_index *ix, const ev_vec *res, int64_t ts)
{
    for (size_t i = 0; i < res->n; i++) {
        const ev_sample *s = &res->s[i];
        ev_series *out;
        if (c->start == c->end) {
            out = ev_matrix_add(c, m, s->ls);
        } else {
            size_t *slot = index_slot(c, ix, core_labels_hash(s->ls));
            if (!*slot) {
                ev_matrix_add(c, m, s->ls);
                *slot = m->n;
            }
            out = &m->s[*slot - 1];
            if (out->n && out->pts[out->n - 1].t == ts)
                ev_fail(c, "vector cannot contain metrics with the same labelset");
        }
        out->drop_name = s->drop_name;
        ev_series_push(c, out, ts, s->v);
    }
    ev_count(c, res->n);
}

ev_val ev_range_eval(ev_ctx *c, ev_step_fn fn, const void *user, ev_val *args, size_t nargs)
{
    ev_vec *vecs = core_arena_calloc(c->a, nargs + 1, sizeof *vecs);
    size_t **cursors = core_arena_calloc(c->a, nargs + 1, sizeof *cursors);
    for (size_t i = 0; i < nargs; i++)
        cursors[i] = core_arena_calloc(c->a, args[i].m.n + 1, sizeof **cursors);
    ev_val out = {.type = PQL_TYPE_VECTOR};
    ev_index ix = {0};
    ev_vec res = {0};
    size_t steps = ev_nsteps(c);
    for (size_t st = 0; st < steps; st++) {
        int64_t ts = c->start + (int64_t)st * c->step;
        for (size_t i = 0; i < nargs; i++)
            gather(c, &args[i], cursors[i], ts, st, &vecs[i]);
        res.n = 0;
        fn(c, user, vecs, ts, &res);
        collect(c, &out.m, &ix, &res, ts);
    }
    return out;
}

ev_val ev_scalar_val(ev_ctx *c, double (*fn)(ev_ctx *, int64_t, const void *), const void *user)
{
    size_t steps = ev_nsteps(c);
    ev_val v = {.type = PQL_TYPE_SCALAR};
    v.scalars = core_arena_alloc(c->a, steps * sizeof *v.scalars);
    for (size_t i = 0; i < steps; i++)
        v.scalars[i] = fn(c, c->start + (int64_t)i * c->step, user);
    return v;
}

/* ---- Selectors */

static int64_t at_time(const ev_ctx *c, const pql_timing *t, int64_t ts)
{
    switch (t->at) {
    case PQL_AT_TS: return t->at_ms;
    case PQL_AT_START: return c->qstart;
    case PQL_AT_END: return c->qend;
    default: return ts;
    }
}

int64_t ev_ref_time(const ev_ctx *c, const pql_timing *t, int64_t ts)
{
    return at_time(c, t, ts) - t->offset_ms;
}

static void ref_bounds(const ev_ctx *c, const pql_timing *t, int64_t *lo, int64_t *hi)
{
    int64_t a = ev_ref_time(c, t, c->start), b = ev_ref_time(c, t, c->end);
    *lo = a < b ? a : b;
    *hi = a < b ? b : a;
}

static pql_series *select_series(ev_ctx *c, const pql_node *vs, int64_t mint, int64_t maxt,
                                 size_t *n)
{
    pql_series *out;
    if (c->st->select(c->st, vs->u.vector.matchers, vs->u.vector.nmatchers, mint, maxt, c->a, &out,
                      n, c->err) < 0)
        longjmp(*c->jb, 1);
    return out;
}

/* Loads a series' samples in [mint, maxt]; stale markers dropped when asked. */
static ev_series load_samples(ev_ctx *c, pql_series *s, int64_t mint, int64_t maxt, bool no_stale)
{
    ev_series out = {.ls = s->labels};
    for (bool ok = s->it.seek(&s->it, mint); ok && s->it.t <= maxt; ok = s->it.next(&s->it)) {
        if (no_stale && pql_is_stale(s->it.v)) continue;
        ev_series_push(c, &out, s->it.t, s->it.v);
    }
    return out;
}

/* Index of the last point with t <= ref, or -1. */
static ptrdiff_t last_at_or_before(const ev_series *s, int64_t ref)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->pts[mid].t <= ref)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (ptrdiff_t)lo - 1;
}

ev_val ev_vector_selector(ev_ctx *c, const pql_node *vs, bool ts_values)
{
    const pql_timing *tm = &vs->u.vector.timing;
    int64_t lo, hi;
    ref_bounds(c, tm, &lo, &hi);
    size_t n;
    pql_series *ss = select_series(c, vs, lo - c->o->lookback_ms + 1, hi, &n);
    ev_val out = {.type = PQL_TYPE_VECTOR};
    size_t steps = ev_nsteps(c);
    for (size_t i = 0; i < n; i++) {
        ev_series raw = load_samples(c, &ss[i], lo - c->o->lookback_ms + 1, hi, false);
        ev_series res = {.ls = raw.ls};
        for (size_t st = 0; st < steps; st++) {
            int64_t ts = c->start + (int64_t)st * c->step, ref = ev_ref_time(c, tm, ts);
            ptrdiff_t k = last_at_or_before(&raw, ref);
            if (k < 0 || raw.pts[k].t <= ref - c->o->lookback_ms || pql_is_stale(raw.pts[k].v))
                continue;
            ev_series_push(c, &res, ts, ts_values ? (double)raw.pts[k].t / 1000 : raw.pts[k].v);
        }
        ev_count(c, res.n);
        if (res.n) *ev_matrix_add(c, &out.m, res.ls) = res;
    }
    return out;
}

/* ---- Range vectors: a matrix selector or a subquery, windowed per step */

static ev_matrix matrix_selector_raw(ev_ctx *c, const pql_node *ms)
{
    const pql_node *vs = ms->u.matrix.vector;
    int64_t lo, hi;
    ref_bounds(c, &vs->u.vector.timing, &lo, &hi);
    size_t n;
    pql_series *ss = select_series(c, vs, lo - ms->u.matrix.range_ms + 1, hi, &n);
    ev_matrix m = {0};
    for (size_t i = 0; i < n; i++) {
        ev_series raw = load_samples(c, &ss[i], lo - ms->u.matrix.range_ms + 1, hi, true);
        if (raw.n) *ev_matrix_add(c, &m, raw.ls) = raw;
    }
    return m;
}

static ev_matrix subquery_raw(ev_ctx *c, const pql_node *sq)
{
    const pql_timing *tm = &sq->u.subquery.timing;
    int64_t range = sq->u.subquery.range_ms;
    ev_ctx sub = *c;
    sub.step = sq->u.subquery.step_ms ? sq->u.subquery.step_ms : c->o->subquery_step_ms;
    int64_t first = ev_ref_time(c, tm, c->start) - range;
    sub.start = sub.step * (first / sub.step);
    if (sub.start <= first) sub.start += sub.step;
    sub.end = ev_ref_time(c, tm, c->start + (int64_t)(ev_nsteps(c) - 1) * c->step);
    if (sub.end < sub.start) return (ev_matrix){0};
    ev_val v = ev_eval(&sub, sq->u.subquery.expr);
    c->samples = sub.samples;
    if (v.type != PQL_TYPE_SCALAR) return v.m;
    ev_matrix m = {0};
    ev_series *s = ev_matrix_add(c, &m, ev_labels_empty(c));
    for (size_t i = 0; i < ev_nsteps(&sub); i++)
        ev_series_push(c, s, sub.start + (int64_t)i * sub.step, v.scalars[i]);
    return m;
}

void ev_range_arg(ev_ctx *c, const pql_node *arg, ev_matrix *raw, const pql_timing **tm,
                  int64_t *range)
{
    arg = ev_unparen(arg);
    if (arg->kind == PQL_NODE_MATRIX) {
        *raw = matrix_selector_raw(c, arg);
        *tm = &arg->u.matrix.vector->u.vector.timing;
        *range = arg->u.matrix.range_ms;
    } else {
        *raw = subquery_raw(c, arg);
        *tm = &arg->u.subquery.timing;
        *range = arg->u.subquery.range_ms;
    }
}

size_t ev_window(const ev_series *s, int64_t ref, int64_t range, size_t *first)
{
    ptrdiff_t hi = last_at_or_before(s, ref), lo = last_at_or_before(s, ref - range);
    *first = (size_t)(lo + 1);
    return (size_t)(hi - lo);
}

/* A range vector evaluated on its own (instant queries only). */
static ev_val eval_range_vector(ev_ctx *c, const pql_node *n)
{
    if (c->start != c->end) ev_fail(c, "cannot do range evaluation of matrix selector");
    ev_matrix raw;
    const pql_timing *tm;
    int64_t range;
    ev_range_arg(c, n, &raw, &tm, &range);
    ev_val out = {.type = PQL_TYPE_MATRIX};
    int64_t ref = ev_ref_time(c, tm, c->start);
    for (size_t i = 0; i < raw.n; i++) {
        size_t first, cnt = ev_window(&raw.s[i], ref, range, &first);
        if (!cnt) continue;
        ev_series *s = ev_matrix_add(c, &out.m, raw.s[i].ls);
        s->pts = raw.s[i].pts + first;
        s->n = s->cap = cnt;
        s->drop_name = raw.s[i].drop_name;
        ev_count(c, cnt);
    }
    return out;
}

/* ---- Node dispatch */

static double number_at(ev_ctx *c, int64_t ts, const void *user)
{
    (void)c, (void)ts;
    return *(const double *)user;
}

static ev_val eval_unary(ev_ctx *c, const pql_node *n)
{
    ev_val v = ev_eval(c, n->u.unary.expr);
    if (n->u.unary.op != PQL_OP_SUB) return v;
    if (v.type == PQL_TYPE_SCALAR) {
        for (size_t i = 0; i < ev_nsteps(c); i++)
            v.scalars[i] = -v.scalars[i];
        return v;
    }
    for (size_t i = 0; i < v.m.n; i++) {
        v.m.s[i].drop_name = true;
        for (size_t j = 0; j < v.m.s[i].n; j++)
            v.m.s[i].pts[j].v = -v.m.s[i].pts[j].v;
    }
    return v;
}

ev_val ev_eval(ev_ctx *c, const pql_node *n)
{
    switch (n->kind) {
    case PQL_NODE_NUMBER: return ev_scalar_val(c, number_at, &n->u.number.value);
    case PQL_NODE_STRING:
        return (ev_val){.type = PQL_TYPE_STRING,
                        .str = core_arena_strndup(c->a, n->u.string.value, n->u.string.len)};
    case PQL_NODE_PAREN: return ev_eval(c, n->u.paren.expr);
    case PQL_NODE_UNARY: return eval_unary(c, n);
    case PQL_NODE_VECTOR: return ev_vector_selector(c, n, false);
    case PQL_NODE_MATRIX:
    case PQL_NODE_SUBQUERY: return eval_range_vector(c, n);
    case PQL_NODE_BINARY: return ev_binary(c, n);
    case PQL_NODE_AGGR: return ev_aggregate(c, n);
    case PQL_NODE_CALL: return ev_call(c, n);
    default: ev_fail(c, "unsupported expression");
    }
}

/* ---- Results */

static int cmp_point(const void *a, const void *b)
{
    const pql_point *x = a, *y = b;
    return (x->t > y->t) - (x->t < y->t);
}

static int cmp_result_series(const void *a, const void *b)
{
    return core_labels_compare(((const pql_result_series *)a)->labels,
                               ((const pql_result_series *)b)->labels);
}

/* Drops names marked for removal; merges series that end up equal. */
static void cleanup_names(ev_ctx *c, ev_matrix *m, bool instant)
{
    ev_index ix = {0};
    size_t kept = 0;
    for (size_t i = 0; i < m->n; i++) {
        ev_series s = m->s[i];
        if (s.drop_name) s.ls = ev_labels_drop_name(c, s.ls);
        size_t *slot = index_slot(c, &ix, core_labels_hash(s.ls));
        if (!*slot) {
            m->s[kept++] = s;
            *slot = kept;
            continue;
        }
        if (instant) ev_fail(c, "vector cannot contain metrics with the same labelset");
        ev_series *base = &m->s[*slot - 1];
        for (size_t j = 0; j < s.n; j++)
            ev_series_push(c, base, s.pts[j].t, s.pts[j].v);
        qsort(base->pts, base->n, sizeof *base->pts, cmp_point);
        for (size_t j = 1; j < base->n; j++)
            if (base->pts[j].t == base->pts[j - 1].t)
                ev_fail(c, "vector cannot contain metrics with the same labelset");
    }
    m->n = kept;
}

static void to_result(ev_ctx *c, ev_val *v, bool instant, pql_result *res)
{
    memset(res, 0, sizeof *res);
    res->t = c->start;
    if (v->type == PQL_TYPE_STRING && instant) {
        res->type = PQL_TYPE_STRING;
        res->str = v->str;
        return;
    }
    if (v->type == PQL_TYPE_SCALAR && instant) {
        res->type = PQL_TYPE_SCALAR;
        res->scalar = v->scalars[0];
        return;
    }
    if (v->type == PQL_TYPE_SCALAR) {
        ev_series *s = ev_matrix_add(c, &v->m, ev_labels_empty(c));
        for (size_t i = 0; i < ev_nsteps(c); i++)
            ev_series_push(c, s, c->start + (int64_t)i * c->step, v->scalars[i]);
    }
    cleanup_names(c, &v->m, instant && v->type == PQL_TYPE_VECTOR);
    res->type = instant ? v->type : PQL_TYPE_MATRIX;
    res->series = core_arena_calloc(c->a, v->m.n + 1, sizeof *res->series);
    res->nseries = v->m.n;
    for (size_t i = 0; i < v->m.n; i++)
        res->series[i] = (pql_result_series){v->m.s[i].ls, v->m.s[i].pts, v->m.s[i].n};
    if (!instant) qsort(res->series, res->nseries, sizeof *res->series, cmp_result_series);
}

static int run(pql_storage *st, const pql_engine_opts *opts, const pql_node *expr, int64_t start,
               int64_t end, int64_t step, core_arena *arena, pql_result *res, core_err *err)
{
    jmp_buf jb;
    ev_annos annos = {0};
    ev_ctx c = {.st = st,
                .annos = &annos,
                .a = arena,
                .o = opts,
                .start = start,
                .end = end,
                .step = step,
                .qstart = start,
                .qend = end,
                .qstep = start == end ? 0 : step,
                .jb = &jb,
                .err = err};
    if (setjmp(jb)) return -1;
    if (pql_node_type(expr) == PQL_TYPE_MATRIX && start != end)
        ev_fail(&c, "invalid expression type \"range vector\" for range query, must be Scalar or "
                    "instant Vector");
    ev_val v = ev_eval(&c, expr);
    to_result(&c, &v, start == end, res);
    res->annos = annos.v;
    res->nannos = annos.n;
    return 0;
}

int pql_eval_instant(pql_storage *st, const pql_engine_opts *opts, const pql_node *expr, int64_t t,
                     core_arena *arena, pql_result *res, core_err *err)
{
    return run(st, opts, expr, t, t, 1, arena, res, err);
}

int pql_eval_range(pql_storage *st, const pql_engine_opts *opts, const pql_node *expr,
                   int64_t start, int64_t end, int64_t step, core_arena *arena, pql_result *res,
                   core_err *err)
{
    if (step <= 0)
        return core_err_set(err, "zero or negative query resolution step widths are not accepted. "
                                 "Try a positive integer");
    if (end < start) return core_err_set(err, "end timestamp must not be before start time");
    return run(st, opts, expr, start, end, step, arena, res, err);
}
