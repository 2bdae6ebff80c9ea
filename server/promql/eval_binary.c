/*
 * eval_binary.c - binary operators: scalar/scalar, vector/scalar and
 * vector/vector with upstream's vector matching (one-to-one, group_left,
 * group_right) and set operators (and, or, unless: many-to-many).
 *
 * Samples match by signature: the hash of the on() labels, or of all labels
 * but the ignoring() ones and __name__.  Arithmetic drops the metric name at
 * once; comparisons with `bool` mark it for the delayed drop.
 *
 * A vector-scalar operator maps each series on its own (a stream, see
 * eval.h).  Between two vectors, signatures, result labels and output
 * series are worked out once per series or pair of series, not at every
 * step: each step only finds which series have a point there and matches
 * them through arrays indexed by signature and stamped with the step, with
 * upstream's checks (duplicates on the "one" side, multiple matches, one
 * labelset twice) in upstream's order.
 */
#include "promql/eval.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

double ev_scalar_binop(pql_op op, double l, double r, bool *keep)
{
    *keep = true;
    switch (op) {
    case PQL_OP_ADD: return l + r;
    case PQL_OP_SUB: return l - r;
    case PQL_OP_MUL: return l * r;
    case PQL_OP_DIV: return l / r;
    case PQL_OP_POW: return pow(l, r);
    case PQL_OP_MOD: return fmod(l, r);
    case PQL_OP_ATAN2: return atan2(l, r);
    case PQL_OP_EQLC: *keep = l == r; return l;
    case PQL_OP_NEQ: *keep = l != r; return l;
    case PQL_OP_GTR: *keep = l > r; return l;
    case PQL_OP_LSS: *keep = l < r; return l;
    case PQL_OP_GTE: *keep = l >= r; return l;
    case PQL_OP_LTE: *keep = l <= r; return l;
    default: *keep = false; return 0;
    }
}

static bool changes_schema(pql_op op)
{
    return op >= PQL_OP_ADD && op <= PQL_OP_ATAN2;
}

static uint64_t sig_of(const pql_node *n, const core_labels *ls)
{
    return ev_labels_sig(ls, n->u.binary.labels, n->u.binary.nlabels, n->u.binary.on);
}

/* ---- scalar op scalar */

static ev_val scalar_scalar(ev_ctx *c, const pql_node *n, ev_val l, ev_val r)
{
    for (size_t i = 0; i < ev_nsteps(c); i++) {
        bool keep;
        double v = ev_scalar_binop(n->u.binary.op, l.scalars[i], r.scalars[i], &keep);
        l.scalars[i] = pql_op_is_comparison(n->u.binary.op) ? keep : v;
    }
    return l;
}

/* ---- vector op scalar */

typedef struct vs_args {
    const pql_node *n;
    bool swap;             /* the scalar is on the left */
    const double *scalars; /* the scalar side, per step */
} vs_args;

static bool vector_scalar_map(const void *user, double v, size_t st, int64_t t, double *out)
{
    (void)t;
    const vs_args *a = user;
    pql_op op = a->n->u.binary.op;
    double sc = a->scalars[st];
    double l = a->swap ? sc : v, r = a->swap ? v : sc;
    bool keep;
    double res = ev_scalar_binop(op, l, r, &keep);
    if (pql_op_is_comparison(op) && a->swap) res = r;
    if (a->n->u.binary.return_bool) {
        res = keep;
        keep = true;
    }
    *out = res;
    return keep;
}

/* Vector op scalar maps each series on its own. */
bool ev_binary_streams(const pql_node *n)
{
    bool ls = pql_node_type(n->u.binary.lhs) == PQL_TYPE_SCALAR;
    bool rs = pql_node_type(n->u.binary.rhs) == PQL_TYPE_SCALAR;
    return ls != rs && !pql_op_is_set(n->u.binary.op);
}

ev_stream *ev_binary_stream(ev_ctx *c, const pql_node *n)
{
    vs_args *a = core_arena_calloc(c->a, 1, sizeof *a);
    a->n = n;
    a->swap = pql_node_type(n->u.binary.lhs) == PQL_TYPE_SCALAR;
    ev_stream *src;
    if (a->swap) {
        a->scalars = ev_eval(c, n->u.binary.lhs).scalars;
        src = ev_stream_open(c, n->u.binary.rhs);
    } else {
        src = ev_stream_open(c, n->u.binary.lhs);
        a->scalars = ev_eval(c, n->u.binary.rhs).scalars;
    }
    bool drop = changes_schema(n->u.binary.op) || n->u.binary.return_bool;
    return ev_map_stream(c, src, vector_scalar_map, a, drop);
}

/* ---- vector op vector with matching */

static const core_labels *match_labels(ev_ctx *c, const pql_node *n, const core_labels *ls)
{
    return ev_labels_filter(c, ls, n->u.binary.labels, n->u.binary.nlabels, n->u.binary.on,
                            !n->u.binary.on);
}

static void fail_duplicate(ev_ctx *c, const pql_node *n, const core_labels *a, const core_labels *b)
{
    core_sb m = CORE_SB_INIT, x = CORE_SB_INIT, y = CORE_SB_INIT;
    ev_labels_string(match_labels(c, n, a), &m);
    ev_labels_string(a, &x);
    ev_labels_string(b, &y);
    if (strcmp(x.buf, y.buf) > 0) {
        core_sb t = x;
        x = y;
        y = t;
    }
    char *msg = core_arena_sprintf(
        c->a,
        "found duplicate series for the match group %s on the %s hand-side of the operation: "
        "[%s, %s];many-to-many matching not allowed: matching labels must be unique on one side",
        m.buf, n->u.binary.card == PQL_CARD_ONE_TO_MANY ? "left" : "right", x.buf, y.buf);
    core_sb_destroy(&m);
    core_sb_destroy(&x);
    core_sb_destroy(&y);
    ev_fail(c, "%s", msg);
}

static const core_labels *result_metric(ev_ctx *c, const pql_node *n, const core_labels *l,
                                        const core_labels *r)
{
    const core_labels *ls = l;
    if (changes_schema(n->u.binary.op)) {
        static const char *const meta[] = {"__name__", "__type__", "__unit__"};
        ls = ev_labels_filter(c, ls, meta, 3, false, false);
    }
    if (n->u.binary.card == PQL_CARD_ONE_TO_ONE)
        ls =
            ev_labels_filter(c, ls, n->u.binary.labels, n->u.binary.nlabels, n->u.binary.on, false);
    for (size_t i = 0; i < n->u.binary.ninclude; i++) {
        const char *v = core_labels_get(r, n->u.binary.include[i]);
        ls = ev_labels_set(c, ls, n->u.binary.include[i], v ? v : "");
    }
    return ls;
}

/* ---- vector op vector, series by series */

/* The labels of both sides stay the same from step to step, so signatures,
 * result labels and output series are worked out once per series (or pair
 * of series), and each step only looks at which series have a point there,
 * through arrays indexed by signature slot and stamped with the step. */

/* One side: its matrix, each series' signature slot and cursor. */
typedef struct vv_side {
    const ev_matrix *m;
    size_t *slot;
    size_t *cur;
    size_t *present; /* this step's series */
    size_t npresent;
} vv_side;

typedef struct vv {
    ev_ctx *c;
    const pql_node *n;
    vv_side l, r; /* l is the "many" side for group_right (swapped) */
    ev_map sigs;
    size_t nslots;
    size_t *rstamp, *rat; /* per slot: step + 1 when r has it, and which series */
    size_t *mstamp;       /* per slot: step + 1 when matched (one-to-one) */
    /* (slot, result labels) pairs matched this step (group_left/right) */
    uint64_t *pkeys;
    size_t *pstamp, pcap;
    /* per l series: the r series its result labels were worked out for
     * (+ 1), those labels, their hash, the output series (+ 1, once used) */
    size_t *cache_r, *cache_out;
    const core_labels **cache_ls;
    uint64_t *cache_hash;
    bool instant;
    ev_out out;
} vv;

static void side_init(vv *b, vv_side *s, const ev_matrix *m)
{
    ev_ctx *c = b->c;
    s->m = m;
    s->slot = ev_tmp_alloc(c, (m->n + 1) * sizeof *s->slot);
    s->cur = ev_tmp_alloc(c, (m->n + 1) * sizeof *s->cur);
    s->present = ev_tmp_alloc(c, (m->n + 1) * sizeof *s->present);
    memset(s->cur, 0, (m->n + 1) * sizeof *s->cur);
    for (size_t i = 0; i < m->n; i++) {
        size_t *v = ev_map_slot(c, &b->sigs, sig_of(b->n, m->s[i].ls));
        if (!*v) *v = ++b->nslots;
        s->slot[i] = *v - 1;
    }
}

/* The series of s with a point at ts (side_value reads it). */
static void side_step(vv_side *s, int64_t ts)
{
    s->npresent = 0;
    for (size_t i = 0; i < s->m->n; i++) {
        const ev_series *se = &s->m->s[i];
        if (s->cur[i] < se->n && se->pts[s->cur[i]].t == ts) s->present[s->npresent++] = i;
    }
}

static double side_value(const vv_side *s, size_t i)
{
    return s->m->s[i].pts[s->cur[i]].v;
}

/* Moves the cursors past the step's points. */
static void side_advance(vv_side *s)
{
    for (size_t k = 0; k < s->npresent; k++)
        s->cur[s->present[k]]++;
}

static void side_free(ev_ctx *c, vv_side *s)
{
    ev_tmp_free(c, s->slot);
    ev_tmp_free(c, s->cur);
    ev_tmp_free(c, s->present);
}

static void vv_init(vv *b, ev_ctx *c, const pql_node *n, const ev_matrix *l, const ev_matrix *r)
{
    *b = (vv){.c = c, .n = n, .instant = c->start == c->end};
    side_init(b, &b->l, l);
    side_init(b, &b->r, r);
    size_t ns = b->nslots + 1;
    b->rstamp = ev_tmp_alloc(c, ns * sizeof *b->rstamp);
    b->rat = ev_tmp_alloc(c, ns * sizeof *b->rat);
    b->mstamp = ev_tmp_alloc(c, ns * sizeof *b->mstamp);
    memset(b->rstamp, 0, ns * sizeof *b->rstamp);
    memset(b->mstamp, 0, ns * sizeof *b->mstamp);
}

static void vv_free(vv *b)
{
    ev_ctx *c = b->c;
    side_free(c, &b->l);
    side_free(c, &b->r);
    ev_map_free(c, &b->sigs);
    void *bufs[] = {b->rstamp,  b->rat,       b->mstamp,     b->pkeys,   b->pstamp,
                    b->cache_r, b->cache_out, b->cache_hash, b->cache_ls};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        ev_tmp_free(c, bufs[i]);
}

/* ---- set operators */

static void set_push(vv *b, vv_side *s, size_t i, size_t *outs, int64_t ts)
{
    const ev_series *se = &s->m->s[i];
    if (!outs[i] || b->instant)
        outs[i] = ev_out_series(b->c, &b->out, se->ls, core_labels_hash(se->ls), false) + 1;
    ev_out_push(b->c, &b->out, outs[i] - 1, ts, side_value(s, i), se->drop_name);
}

static ev_val set_op(ev_ctx *c, const pql_node *n, const ev_matrix *lm, const ev_matrix *rm)
{
    vv b;
    vv_init(&b, c, n, lm, rm);
    pql_op op = n->u.binary.op;
    size_t *lout = ev_tmp_alloc(c, (lm->n + 1) * sizeof *lout);
    size_t *rout = ev_tmp_alloc(c, (rm->n + 1) * sizeof *rout);
    memset(lout, 0, (lm->n + 1) * sizeof *lout);
    memset(rout, 0, (rm->n + 1) * sizeof *rout);
    size_t *seen = b.rstamp;
    for (size_t st = 0, steps = ev_nsteps(c); st < steps; st++) {
        int64_t ts = c->start + (int64_t)st * c->step;
        side_step(&b.l, ts);
        side_step(&b.r, ts);
        size_t nl = b.l.npresent, nr = b.r.npresent;
        if (op == PQL_OP_OR && (nl == 0 || nr == 0)) {
            for (size_t k = 0; k < nl; k++)
                set_push(&b, &b.l, b.l.present[k], lout, ts);
            for (size_t k = 0; k < nr; k++)
                set_push(&b, &b.r, b.r.present[k], rout, ts);
        } else if (nl && (nr || op != PQL_OP_AND)) {
            vv_side *marked = op == PQL_OP_OR ? &b.l : &b.r;
            for (size_t k = 0; k < marked->npresent; k++)
                seen[marked->slot[marked->present[k]]] = st + 1;
            for (size_t k = 0; k < nl; k++) {
                size_t i = b.l.present[k];
                bool hit = seen[b.l.slot[i]] == st + 1;
                if (op == PQL_OP_OR || (op == PQL_OP_AND) == hit) set_push(&b, &b.l, i, lout, ts);
            }
            for (size_t k = 0; op == PQL_OP_OR && k < nr; k++) {
                size_t j = b.r.present[k];
                if (seen[b.r.slot[j]] != st + 1) set_push(&b, &b.r, j, rout, ts);
            }
        }
        side_advance(&b.l);
        side_advance(&b.r);
        ev_out_step_done(c, &b.out);
    }
    ev_tmp_free(c, lout);
    ev_tmp_free(c, rout);
    ev_val out = ev_out_finish(c, &b.out);
    vv_free(&b);
    return out;
}

/* ---- arithmetic and comparisons with vector matching */

/* Whether (slot, result labels) was matched before in this step; records it. */
static bool pair_seen(vv *b, size_t slot, uint64_t hash, size_t st)
{
    uint64_t key = (uint64_t)slot * 0x9e3779b97f4a7c15u ^ hash;
    size_t i = (size_t)key & (b->pcap - 1);
    while (b->pstamp[i] == st + 1) {
        if (b->pkeys[i] == key) return true;
        i = (i + 1) & (b->pcap - 1);
    }
    b->pstamp[i] = st + 1;
    b->pkeys[i] = key;
    return false;
}

static void match_step(vv *b, size_t st, int64_t ts)
{
    ev_ctx *c = b->c;
    const pql_node *n = b->n;
    bool swap = n->u.binary.card == PQL_CARD_ONE_TO_MANY;
    bool rb = n->u.binary.return_bool;
    vv_side *l = &b->l, *r = &b->r;
    for (size_t k = 0; k < r->npresent; k++) {
        size_t j = r->present[k], s = r->slot[j];
        if (b->rstamp[s] == st + 1) fail_duplicate(c, n, r->m->s[j].ls, r->m->s[b->rat[s]].ls);
        b->rstamp[s] = st + 1;
        b->rat[s] = j;
    }
    for (size_t k = 0; k < l->npresent; k++) {
        size_t i = l->present[k], s = l->slot[i];
        double lv = side_value(l, i);
        if (b->rstamp[s] != st + 1) continue;
        size_t j = b->rat[s];
        double rv = side_value(r, j);
        bool keep;
        double v = ev_scalar_binop(n->u.binary.op, swap ? rv : lv, swap ? lv : rv, &keep);
        if (rb) v = keep;
        if (b->cache_r[i] != j + 1) {
            b->cache_ls[i] = result_metric(c, n, l->m->s[i].ls, r->m->s[j].ls);
            b->cache_hash[i] = core_labels_hash(b->cache_ls[i]);
            b->cache_out[i] = 0;
            b->cache_r[i] = j + 1;
        }
        if (n->u.binary.card == PQL_CARD_ONE_TO_ONE) {
            if (b->mstamp[s] == st + 1)
                ev_fail(c, "multiple matches for labels: many-to-one matching must be explicit "
                           "(group_left/group_right)");
            b->mstamp[s] = st + 1;
        } else if (pair_seen(b, s, b->cache_hash[i], st)) {
            ev_fail(c, "multiple matches for labels: grouping labels must ensure unique matches");
        }
        if (!keep && !rb) continue;
        if (!b->cache_out[i] || b->instant)
            b->cache_out[i] =
                ev_out_series(c, &b->out, b->cache_ls[i], b->cache_hash[i], false) + 1;
        ev_out_push(c, &b->out, b->cache_out[i] - 1, ts, v, rb);
    }
}

static ev_val vector_vector(ev_ctx *c, const pql_node *n, const ev_matrix *lm, const ev_matrix *rm)
{
    if (n->u.binary.card == PQL_CARD_ONE_TO_MANY) {
        const ev_matrix *t = lm;
        lm = rm;
        rm = t;
    }
    vv b;
    vv_init(&b, c, n, lm, rm);
    size_t nl = lm->n + 1;
    b.cache_r = ev_tmp_alloc(c, nl * sizeof *b.cache_r);
    b.cache_out = ev_tmp_alloc(c, nl * sizeof *b.cache_out);
    b.cache_hash = ev_tmp_alloc(c, nl * sizeof *b.cache_hash);
    b.cache_ls = ev_tmp_alloc(c, nl * sizeof *b.cache_ls);
    memset(b.cache_r, 0, nl * sizeof *b.cache_r);
    for (b.pcap = 16; b.pcap < nl * 2; b.pcap *= 2)
        ;
    b.pkeys = ev_tmp_alloc(c, b.pcap * sizeof *b.pkeys);
    b.pstamp = ev_tmp_alloc(c, b.pcap * sizeof *b.pstamp);
    memset(b.pstamp, 0, b.pcap * sizeof *b.pstamp);
    for (size_t st = 0, steps = ev_nsteps(c); st < steps; st++) {
        int64_t ts = c->start + (int64_t)st * c->step;
        side_step(&b.l, ts);
        side_step(&b.r, ts);
        if (b.l.npresent && b.r.npresent) match_step(&b, st, ts);
        side_advance(&b.l);
        side_advance(&b.r);
        ev_out_step_done(c, &b.out);
    }
    ev_val out = ev_out_finish(c, &b.out);
    vv_free(&b);
    return out;
}

ev_val ev_binary(ev_ctx *c, const pql_node *n)
{
    ev_val args[2] = {ev_eval(c, n->u.binary.lhs), ev_eval(c, n->u.binary.rhs)};
    bool ls = args[0].type == PQL_TYPE_SCALAR, rs = args[1].type == PQL_TYPE_SCALAR;
    if (ls && rs) return scalar_scalar(c, n, args[0], args[1]);
    if (pql_op_is_set(n->u.binary.op)) return set_op(c, n, &args[0].m, &args[1].m);
    return vector_vector(c, n, &args[0].m, &args[1].m);
}
