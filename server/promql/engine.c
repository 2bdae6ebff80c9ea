/*
 * engine.c - the evaluator's core: entry points, selectors, subqueries and the
 * step loop every operator and function runs in.
 *
 * Every node evaluates to a value for all steps of its evaluator at once (as
 * upstream's rangeEval does): a scalar per step, or series whose points sit
 * at step times.  A selector or subquery resolves each step's reference time
 * as (@ time or step time) - offset, so @ needs no separate pass; that time
 * never decreases from one step to the next, so a selector walks each series
 * once, with the lookback sample or the window (ref-range, ref] sliding
 * forward.  An instant query is a range query with one step; results keep
 * evaluation order then, and are sorted by labels for range queries.  Names
 * marked for removal are dropped at the very end (delayed __name__ removal).
 *
 * Series-at-a-time streams (eval.h) live here for selectors, range vector
 * sources (a matrix selector's raw samples, or a subquery's series at its
 * own steps), element-wise maps and evaluated matrices.  A stream's buffers
 * are scratch memory (ev_tmp_alloc) reused from one series to the next, so
 * `sum(rate(x[5m]))` over 10,000 series holds one series of samples at a
 * time instead of all of them until the query ends.
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
    const char *msg = core_arena_sprintf(c->qa, "PromQL %s: %s", info ? "info" : "warning", body);
    ev_annos *an = c->annos;
    for (size_t i = 0; i < an->n; i++)
        if (an->v[i].pos == pos && !strcmp(an->v[i].msg, msg)) return;
    if (an->n == an->cap) {
        size_t cap = an->cap ? an->cap * 2 : 4;
        pql_annotation *nv = core_arena_alloc(c->qa, cap * sizeof *nv);
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
    *c->samples += n;
    if (*c->samples > c->o->max_samples)
        ev_fail(c, "query processing would load too many samples into memory in query execution");
    /* Every sample passes through here in batches: a cheap place to notice a
     * cancelled query (the clock is read once in 64 calls). */
    if (c->o->cancelled && (++c->cancel_checks & 63) == 0 && c->o->cancelled(c->o->cancel_ctx))
        ev_fail(c, "query timed out in expression evaluation");
}

/* ---- Scratch memory: a doubly linked list of malloc'd blocks */

typedef struct ev_tmp {
    struct ev_tmp *prev, *next;
} ev_tmp;

#define TMP_HDR ((sizeof(ev_tmp) + 15) & ~(size_t)15)

static void tmp_link(ev_ctx *c, ev_tmp *h)
{
    ev_tmp *list = c->tmp;
    h->prev = list;
    h->next = list->next;
    if (list->next) list->next->prev = h;
    list->next = h;
}

static void tmp_unlink(ev_tmp *h)
{
    h->prev->next = h->next;
    if (h->next) h->next->prev = h->prev;
}

void *ev_tmp_alloc(ev_ctx *c, size_t n)
{
    ev_tmp *h = core_malloc(TMP_HDR + n);
    tmp_link(c, h);
    return (char *)h + TMP_HDR;
}

void *ev_tmp_realloc(ev_ctx *c, void *p, size_t n)
{
    if (!p) return ev_tmp_alloc(c, n);
    ev_tmp *h = (ev_tmp *)((char *)p - TMP_HDR);
    tmp_unlink(h);
    h = core_realloc(h, TMP_HDR + n);
    tmp_link(c, h);
    return (char *)h + TMP_HDR;
}

void ev_tmp_free(ev_ctx *c, void *p)
{
    (void)c;
    if (!p) return;
    ev_tmp *h = (ev_tmp *)((char *)p - TMP_HDR);
    tmp_unlink(h);
    free(h);
}

static void tmp_free_all(ev_tmp *list)
{
    while (list->next) {
        ev_tmp *h = list->next;
        tmp_unlink(h);
        free(h);
    }
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
        v->cap = v->cap ? v->cap * 2 : 8;
        v->s = ev_tmp_realloc(c, v->s, v->cap * sizeof *v->s);
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

/* ---- Hash maps from a 64-bit key (a label hash) to an index, in scratch memory */

static void map_grow(ev_ctx *c, ev_map *m)
{
    ev_map old = *m;
    m->cap = old.cap ? old.cap * 2 : 64;
    m->keys = ev_tmp_alloc(c, m->cap * sizeof *m->keys);
    m->vals = ev_tmp_alloc(c, m->cap * sizeof *m->vals);
    memset(m->vals, 0, m->cap * sizeof *m->vals);
    for (size_t i = 0; i < old.cap; i++) {
        if (!old.vals[i]) continue;
        size_t j = (size_t)old.keys[i] & (m->cap - 1);
        while (m->vals[j])
            j = (j + 1) & (m->cap - 1);
        m->keys[j] = old.keys[i];
        m->vals[j] = old.vals[i];
    }
    ev_tmp_free(c, old.keys);
    ev_tmp_free(c, old.vals);
}

size_t *ev_map_slot(ev_ctx *c, ev_map *m, uint64_t key)
{
    if ((m->n + 1) * 2 > m->cap) map_grow(c, m);
    size_t i = (size_t)key & (m->cap - 1);
    while (m->vals[i] && m->keys[i] != key)
        i = (i + 1) & (m->cap - 1);
    if (!m->vals[i]) {
        m->keys[i] = key;
        m->n++;
    }
    return &m->vals[i];
}

size_t ev_map_get(const ev_map *m, uint64_t key)
{
    if (!m->cap) return 0;
    size_t i = (size_t)key & (m->cap - 1);
    while (m->vals[i] && m->keys[i] != key)
        i = (i + 1) & (m->cap - 1);
    return m->vals[i];
}

void ev_map_free(ev_ctx *c, ev_map *m)
{
    ev_tmp_free(c, m->keys);
    ev_tmp_free(c, m->vals);
    *m = (ev_map){0};
}

/* ---- The step loop */

/* ---- Output series built step by step */

size_t ev_out_series(ev_ctx *c, ev_out *o, const core_labels *ls, uint64_t hash, bool copy)
{
    size_t *slot = NULL;
    if (c->start != c->end) {
        slot = ev_map_slot(c, &o->ix, hash);
        if (*slot) return *slot - 1;
    }
    if (copy) ls = core_labels_new_in(c->qa, ls->v, ls->len);
    core_arena *a = c->a;
    c->a = c->qa;
    ev_matrix_add(c, &o->m, ls);
    c->a = a;
    if (slot) *slot = o->m.n;
    return o->m.n - 1;
}

void ev_out_push(ev_ctx *c, ev_out *o, size_t k, int64_t ts, double v, bool drop_name)
{
    ev_series *s = &o->m.s[k];
    if (s->n && s->pts[s->n - 1].t == ts) {
        o->dup = true;
        return;
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->pts = ev_tmp_realloc(c, s->pts, s->cap * sizeof *s->pts);
    }
    s->pts[s->n++] = (pql_point){ts, v};
    s->drop_name = drop_name;
    o->pushed++;
}

void ev_out_step_done(ev_ctx *c, ev_out *o)
{
    if (o->dup) ev_fail(c, "vector cannot contain metrics with the same labelset");
    ev_count(c, o->pushed);
    o->pushed = 0;
}

ev_val ev_out_finish(ev_ctx *c, ev_out *o)
{
    for (size_t i = 0; i < o->m.n; i++) {
        ev_series *s = &o->m.s[i];
        pql_point *p = core_arena_alloc(c->qa, (s->n + 1) * sizeof *p);
        if (s->n) memcpy(p, s->pts, s->n * sizeof *p);
        ev_tmp_free(c, s->pts);
        s->pts = p;
        s->cap = s->n;
    }
    ev_map_free(c, &o->ix);
    return (ev_val){.type = PQL_TYPE_VECTOR, .m = o->m};
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

/* Step functions allocate from the step's scratch arena (c->a while they
 * run), which goes back after each step: the labels of a new output series
 * are copied into the query's arena, the vectors and points live in
 * scratch buffers.  So a step's intermediate memory never piles up. */
ev_val ev_range_eval(ev_ctx *c, ev_step_fn fn, const void *user, ev_val *args, size_t nargs)
{
    ev_vec *vecs = ev_tmp_alloc(c, (nargs + 1) * sizeof *vecs);
    size_t **cursors = ev_tmp_alloc(c, (nargs + 1) * sizeof *cursors);
    memset(vecs, 0, (nargs + 1) * sizeof *vecs);
    for (size_t i = 0; i < nargs; i++) {
        cursors[i] = ev_tmp_alloc(c, (args[i].m.n + 1) * sizeof **cursors);
        memset(cursors[i], 0, (args[i].m.n + 1) * sizeof **cursors);
    }
    ev_out o = {0};
    ev_vec res = {0};
    core_arena *qa = c->a;
    size_t steps = ev_nsteps(c);
    for (size_t st = 0; st < steps; st++) {
        int64_t ts = c->start + (int64_t)st * c->step;
        for (size_t i = 0; i < nargs; i++)
            gather(c, &args[i], cursors[i], ts, st, &vecs[i]);
        res.n = 0;
        c->a = c->scratch;
        fn(c, user, vecs, ts, &res);
        c->a = qa;
        for (size_t i = 0; i < res.n; i++) {
            const ev_sample *s = &res.s[i];
            size_t k = ev_out_series(c, &o, s->ls, core_labels_hash(s->ls), true);
            ev_out_push(c, &o, k, ts, s->v, s->drop_name);
        }
        ev_out_step_done(c, &o);
        core_arena_reset(c->scratch);
    }
    for (size_t i = 0; i < nargs; i++) {
        ev_tmp_free(c, vecs[i].s);
        ev_tmp_free(c, cursors[i]);
    }
    ev_tmp_free(c, vecs);
    ev_tmp_free(c, cursors);
    ev_tmp_free(c, res.s);
    return ev_out_finish(c, &o);
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

/* An instant vector selector: per series, the last sample at or before each
 * step's reference time within the lookback delta, unless stale.  The
 * reference time never decreases, so the series' iterator only moves on. */
typedef struct sel_stream {
    ev_stream base;
    const pql_timing *tm;
    pql_series *ss;
    size_t n, i;
    int64_t mint;
    bool ts_values;
    pql_point *buf; /* one point per step */
} sel_stream;

static bool sel_next(ev_stream *b, ev_series *out)
{
    sel_stream *s = (sel_stream *)b;
    ev_ctx *c = b->c;
    size_t steps = ev_nsteps(c);
    int64_t lookback = c->o->lookback_ms;
    while (s->i < s->n) {
        pql_series *ser = &s->ss[s->i++];
        pql_iter *it = &ser->it;
        bool pending = it->seek(it, s->mint), have = false;
        int64_t t = 0;
        double v = 0;
        size_t k = 0;
        for (size_t st = 0; st < steps; st++) {
            int64_t ts = c->start + (int64_t)st * c->step, ref = ev_ref_time(c, s->tm, ts);
            for (; pending && it->t <= ref; pending = it->next(it)) {
                t = it->t;
                v = it->v;
                have = true;
            }
            if (!have) {
                if (!pending) break;
                continue;
            }
            if (t <= ref - lookback || ev_is_stale(v)) continue;
            s->buf[k++] = (pql_point){ts, s->ts_values ? (double)t / 1000 : v};
        }
        ev_count(c, k);
        if (!k) continue;
        *out = (ev_series){.ls = ser->labels, .pts = s->buf, .n = k, .cap = k};
        return true;
    }
    ev_tmp_free(c, s->buf);
    s->buf = NULL;
    return false;
}

ev_stream *ev_selector_stream(ev_ctx *c, const pql_node *vs, bool ts_values)
{
    sel_stream *s = core_arena_calloc(c->a, 1, sizeof *s);
    s->base = (ev_stream){sel_next, c};
    s->tm = &vs->u.vector.timing;
    int64_t lo, hi;
    ref_bounds(c, s->tm, &lo, &hi);
    s->mint = lo - c->o->lookback_ms + 1;
    s->ss = select_series(c, vs, s->mint, hi, &s->n);
    s->ts_values = ts_values;
    s->buf = ev_tmp_alloc(c, ev_nsteps(c) * sizeof *s->buf);
    return &s->base;
}

/* ---- Range vector sources: a matrix selector's raw samples, or a subquery */

typedef struct raw_stream {
    ev_stream base;
    pql_series *ss;
    size_t n, i;
    int64_t mint, maxt;
    pql_point *buf;
    size_t cap;
} raw_stream;

static bool raw_next(ev_stream *b, ev_series *out)
{
    raw_stream *s = (raw_stream *)b;
    ev_ctx *c = b->c;
    while (s->i < s->n) {
        pql_series *ser = &s->ss[s->i++];
        pql_iter *it = &ser->it;
        size_t k = 0;
        for (bool ok = it->seek(it, s->mint); ok && it->t <= s->maxt; ok = it->next(it)) {
            if (ev_is_stale(it->v)) continue;
            if (k == s->cap) {
                s->cap = s->cap ? s->cap * 2 : 256;
                s->buf = ev_tmp_realloc(c, s->buf, s->cap * sizeof *s->buf);
            }
            s->buf[k++] = (pql_point){it->t, it->v};
        }
        if (!k) continue;
        *out = (ev_series){.ls = ser->labels, .pts = s->buf, .n = k, .cap = k};
        return true;
    }
    ev_tmp_free(c, s->buf);
    s->buf = NULL;
    return false;
}

static ev_stream *matrix_source(ev_ctx *c, const pql_node *ms)
{
    const pql_node *vs = ms->u.matrix.vector;
    raw_stream *s = core_arena_calloc(c->a, 1, sizeof *s);
    s->base = (ev_stream){raw_next, c};
    int64_t lo, hi;
    ref_bounds(c, &vs->u.vector.timing, &lo, &hi);
    s->mint = lo - ms->u.matrix.range_ms + 1;
    s->maxt = hi;
    s->ss = select_series(c, vs, s->mint, hi, &s->n);
    return &s->base;
}

/* The series of an evaluated matrix, as they are. */
typedef struct matrix_stream {
    ev_stream base;
    ev_matrix m;
    size_t i;
} matrix_stream;

static bool matrix_next(ev_stream *b, ev_series *out)
{
    matrix_stream *s = (matrix_stream *)b;
    if (s->i >= s->m.n) return false;
    *out = s->m.s[s->i++];
    return true;
}

static ev_stream *matrix_stream_new(ev_ctx *c, ev_matrix m)
{
    matrix_stream *s = core_arena_calloc(c->a, 1, sizeof *s);
    s->base = (ev_stream){matrix_next, c};
    s->m = m;
    return &s->base;
}

/* A subquery: its expression evaluated at the subquery's own steps, series
 * by series when it streams. */
static ev_stream *subquery_source(ev_ctx *c, const pql_node *sq)
{
    const pql_timing *tm = &sq->u.subquery.timing;
    int64_t range = sq->u.subquery.range_ms;
    ev_ctx *sub = core_arena_alloc(c->a, sizeof *sub);
    *sub = *c;
    sub->step = sq->u.subquery.step_ms ? sq->u.subquery.step_ms : c->o->subquery_step_ms;
    int64_t first = ev_ref_time(c, tm, c->start) - range;
    sub->start = sub->step * (first / sub->step);
    if (sub->start <= first) sub->start += sub->step;
    sub->end = ev_ref_time(c, tm, c->start + (int64_t)(ev_nsteps(c) - 1) * c->step);
    if (sub->end < sub->start) return matrix_stream_new(c, (ev_matrix){0});
    const pql_node *e = sq->u.subquery.expr;
    if (pql_node_type(e) != PQL_TYPE_SCALAR) return ev_stream_open(sub, e);
    ev_val v = ev_eval(sub, e);
    ev_matrix m = {0};
    ev_series *s = ev_matrix_add(c, &m, ev_labels_empty(c));
    for (size_t i = 0; i < ev_nsteps(sub); i++)
        ev_series_push(c, s, sub->start + (int64_t)i * sub->step, v.scalars[i]);
    return matrix_stream_new(c, m);
}

ev_stream *ev_range_source(ev_ctx *c, const pql_node *arg, const pql_timing **tm, int64_t *range)
{
    arg = ev_unparen(arg);
    if (arg->kind == PQL_NODE_MATRIX) {
        *tm = &arg->u.matrix.vector->u.vector.timing;
        *range = arg->u.matrix.range_ms;
        return matrix_source(c, arg);
    }
    *tm = &arg->u.subquery.timing;
    *range = arg->u.subquery.range_ms;
    return subquery_source(c, arg);
}

/* A range vector evaluated on its own (instant queries only). */
static ev_val eval_range_vector(ev_ctx *c, const pql_node *n)
{
    if (c->start != c->end) ev_fail(c, "cannot do range evaluation of matrix selector");
    const pql_timing *tm;
    int64_t range;
    ev_stream *src = ev_range_source(c, n, &tm, &range);
    ev_val out = {.type = PQL_TYPE_MATRIX};
    int64_t ref = ev_ref_time(c, tm, c->start);
    ev_series raw;
    while (src->next(src, &raw)) {
        size_t first = 0, end = 0;
        while (end < raw.n && raw.pts[end].t <= ref)
            end++;
        while (first < end && raw.pts[first].t <= ref - range)
            first++;
        size_t cnt = end - first;
        if (!cnt) continue;
        ev_series *s = ev_matrix_add(c, &out.m, raw.ls);
        s->pts = core_arena_alloc(c->a, cnt * sizeof *s->pts);
        memcpy(s->pts, raw.pts + first, cnt * sizeof *s->pts);
        s->n = s->cap = cnt;
        s->drop_name = raw.drop_name;
        ev_count(c, cnt);
    }
    return out;
}

/* ---- Element-wise maps and materializing */

typedef struct map_stream {
    ev_stream base;
    ev_stream *src;
    ev_map_fn map;
    const void *user;
    bool drop_name;
    pql_point *buf;
    size_t cap;
} map_stream;

static bool map_next(ev_stream *b, ev_series *out)
{
    map_stream *s = (map_stream *)b;
    ev_ctx *c = b->c;
    ev_series in;
    while (s->src->next(s->src, &in)) {
        if (in.n > s->cap) {
            s->cap = in.n;
            ev_tmp_free(c, s->buf);
            s->buf = ev_tmp_alloc(c, s->cap * sizeof *s->buf);
        }
        size_t k = 0, st = 0;
        for (size_t i = 0; i < in.n; i++) {
            double v;
            if (s->map(s->user, in.pts[i].v, ev_step_of(c, in.pts[i].t, &st), in.pts[i].t, &v))
                s->buf[k++] = (pql_point){in.pts[i].t, v};
        }
        ev_count(c, k);
        if (!k) continue;
        *out = (ev_series){.ls = in.ls,
                           .pts = s->buf,
                           .n = k,
                           .cap = k,
                           .drop_name = s->drop_name || in.drop_name};
        return true;
    }
    ev_tmp_free(c, s->buf);
    s->buf = NULL;
    return false;
}

ev_stream *ev_map_stream(ev_ctx *c, ev_stream *src, ev_map_fn map, const void *user, bool drop_name)
{
    map_stream *s = core_arena_calloc(c->a, 1, sizeof *s);
    s->base = (ev_stream){map_next, c};
    s->src = src;
    s->map = map;
    s->user = user;
    s->drop_name = drop_name;
    return &s->base;
}

static bool neg(const void *user, double v, size_t st, int64_t t, double *out)
{
    (void)user, (void)st, (void)t;
    *out = -v;
    return true;
}

bool ev_streams(const pql_node *n)
{
    n = ev_unparen(n);
    if (pql_node_type(n) != PQL_TYPE_VECTOR) return false;
    switch (n->kind) {
    case PQL_NODE_VECTOR: return true;
    case PQL_NODE_UNARY: return n->u.unary.op == PQL_OP_SUB || ev_streams(n->u.unary.expr);
    case PQL_NODE_CALL: return ev_call_streams(n);
    case PQL_NODE_BINARY: return ev_binary_streams(n);
    default: return false;
    }
}

ev_stream *ev_stream_open(ev_ctx *c, const pql_node *n)
{
    n = ev_unparen(n);
    if (!ev_streams(n)) return matrix_stream_new(c, ev_eval(c, n).m);
    switch (n->kind) {
    case PQL_NODE_VECTOR: return ev_selector_stream(c, n, false);
    case PQL_NODE_UNARY: {
        ev_stream *src = ev_stream_open(c, n->u.unary.expr);
        return n->u.unary.op == PQL_OP_SUB ? ev_map_stream(c, src, neg, NULL, true) : src;
    }
    case PQL_NODE_CALL: return ev_call_stream(c, n);
    default: return ev_binary_stream(c, n);
    }
}

ev_val ev_materialize(ev_ctx *c, ev_stream *s)
{
    ev_val out = {.type = PQL_TYPE_VECTOR};
    ev_series in;
    while (s->next(s, &in)) {
        ev_series *o = ev_matrix_add(c, &out.m, in.ls);
        o->pts = core_arena_alloc(c->a, in.n * sizeof *o->pts);
        memcpy(o->pts, in.pts, in.n * sizeof *o->pts);
        o->n = o->cap = in.n;
        o->drop_name = in.drop_name;
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
    if (ev_streams(n)) return ev_materialize(c, ev_stream_open(c, n));
    switch (n->kind) {
    case PQL_NODE_NUMBER: return ev_scalar_val(c, number_at, &n->u.number.value);
    case PQL_NODE_STRING:
        return (ev_val){.type = PQL_TYPE_STRING,
                        .str = core_arena_strndup(c->a, n->u.string.value, n->u.string.len)};
    case PQL_NODE_PAREN: return ev_eval(c, n->u.paren.expr);
    case PQL_NODE_UNARY: return eval_unary(c, n);
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
    ev_map ix = {0};
    size_t kept = 0;
    for (size_t i = 0; i < m->n; i++) {
        ev_series s = m->s[i];
        if (s.drop_name) s.ls = ev_labels_drop_name(c, s.ls);
        size_t *slot = ev_map_slot(c, &ix, core_labels_hash(s.ls));
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
    ev_map_free(c, &ix);
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
    /* In the arena: a local modified after setjmp would be indeterminate after
     * longjmp. */
    ev_tmp *tmp = core_arena_calloc(arena, 1, sizeof *tmp);
    core_arena *scratch = core_arena_calloc(arena, 1, sizeof *scratch);
    core_arena_init(scratch, 256 * 1024);
    size_t samples = 0;
    ev_ctx c = {.st = st,
                .annos = &annos,
                .tmp = tmp,
                .samples = &samples,
                .a = arena,
                .qa = arena,
                .scratch = scratch,
                .o = opts,
                .start = start,
                .end = end,
                .step = step,
                .qstart = start,
                .qend = end,
                .qstep = start == end ? 0 : step,
                .jb = &jb,
                .err = err};
    if (setjmp(jb)) {
        tmp_free_all(tmp);
        core_arena_destroy(scratch);
        return -1;
    }
    if (pql_node_type(expr) == PQL_TYPE_MATRIX && start != end)
        ev_fail(&c, "invalid expression type \"range vector\" for range query, must be Scalar or "
                    "instant Vector");
    ev_val v = ev_eval(&c, expr);
    to_result(&c, &v, start == end, res);
    tmp_free_all(tmp);
    core_arena_destroy(scratch);
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
