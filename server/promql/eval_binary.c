/*
 * eval_binary.c - binary operators: scalar/scalar, vector/scalar and
 * vector/vector with upstream's vector matching (one-to-one, group_left,
 * group_right) and set operators (and, or, unless: many-to-many).
 *
 * Each step matches samples by signature: the hash of the on() labels, or of
 * all labels but the ignoring() ones and __name__.  Arithmetic drops the
 * metric name at once; comparisons with `bool` mark it for the delayed drop.
 */
#include "promql/eval.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sig_map {
    uint64_t *keys;
    size_t *vals; /* index + 1 */
    size_t cap;
} sig_map;

static void sig_map_init(ev_ctx *c, sig_map *m, size_t n)
{
    m->cap = 16;
    while (m->cap < n * 2 + 2)
        m->cap *= 2;
    m->keys = core_arena_calloc(c->a, m->cap, sizeof *m->keys);
    m->vals = core_arena_calloc(c->a, m->cap, sizeof *m->vals);
}

static size_t *sig_map_slot(sig_map *m, uint64_t key)
{
    size_t i = (size_t)key & (m->cap - 1);
    while (m->vals[i] && m->keys[i] != key)
        i = (i + 1) & (m->cap - 1);
    m->keys[i] = key;
    return &m->vals[i];
}

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

/* ---- set operators */

static void set_step(ev_ctx *c, const void *user, ev_vec *args, int64_t ts, ev_vec *out)
{
    (void)ts;
    const pql_node *n = user;
    ev_vec *l = &args[0], *r = &args[1];
    pql_op op = n->u.binary.op;
    if (op == PQL_OP_OR && (l->n == 0 || r->n == 0)) {
        for (size_t i = 0; i < l->n; i++)
            ev_vec_push(c, out, l->s[i]);
        for (size_t i = 0; i < r->n; i++)
            ev_vec_push(c, out, r->s[i]);
        return;
    }
    if (l->n == 0 || (r->n == 0 && op == PQL_OP_AND)) return;
    sig_map seen;
    sig_map_init(c, &seen, op == PQL_OP_OR ? l->n : r->n);
    ev_vec *marked = op == PQL_OP_OR ? l : r;
    for (size_t i = 0; i < marked->n; i++)
        *sig_map_slot(&seen, sig_of(n, marked->s[i].ls)) = 1;
    for (size_t i = 0; i < l->n; i++) {
        bool hit = *sig_map_slot(&seen, sig_of(n, l->s[i].ls)) != 0;
        if (op == PQL_OP_OR || (op == PQL_OP_AND) == hit) ev_vec_push(c, out, l->s[i]);
    }
    if (op != PQL_OP_OR) return;
    for (size_t i = 0; i < r->n; i++)
        if (!*sig_map_slot(&seen, sig_of(n, r->s[i].ls))) ev_vec_push(c, out, r->s[i]);
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

typedef struct match_state {
    sig_map right;   /* signature -> right sample */
    sig_map matched; /* one-to-one: signature; else signature x result labels */
} match_state;

static void index_right(ev_ctx *c, const pql_node *n, ev_vec *r, match_state *ms)
{
    sig_map_init(c, &ms->right, r->n);
    for (size_t i = 0; i < r->n; i++) {
        size_t *slot = sig_map_slot(&ms->right, sig_of(n, r->s[i].ls));
        if (*slot) fail_duplicate(c, n, r->s[i].ls, r->s[*slot - 1].ls);
        *slot = i + 1;
    }
}

static void match_one(ev_ctx *c, const pql_node *n, match_state *ms, const ev_sample *ls,
                      const ev_sample *rs, uint64_t sig, ev_vec *out)
{
    bool swap = n->u.binary.card == PQL_CARD_ONE_TO_MANY;
    bool rb = n->u.binary.return_bool, keep;
    double v = ev_scalar_binop(n->u.binary.op, swap ? rs->v : ls->v, swap ? ls->v : rs->v, &keep);
    if (rb) v = keep;
    const core_labels *metric = result_metric(c, n, ls->ls, rs->ls);
    if (n->u.binary.card == PQL_CARD_ONE_TO_ONE) {
        size_t *slot = sig_map_slot(&ms->matched, sig);
        if (*slot)
            ev_fail(c, "multiple matches for labels: many-to-one matching must be explicit "
                       "(group_left/group_right)");
        *slot = 1;
    } else {
        size_t *slot =
            sig_map_slot(&ms->matched, sig * 0x9e3779b97f4a7c15u ^ core_labels_hash(metric));
        if (*slot)
            ev_fail(c, "multiple matches for labels: grouping labels must ensure unique matches");
        *slot = 1;
    }
    if (!keep && !rb) return;
    ev_vec_push(c, out, (ev_sample){metric, v, ls->t, rb});
}

static void vector_vector_step(ev_ctx *c, const void *user, ev_vec *args, int64_t ts, ev_vec *out)
{
    (void)ts;
    const pql_node *n = user;
    ev_vec *l = &args[0], *r = &args[1];
    if (l->n == 0 || r->n == 0) return;
    if (n->u.binary.card == PQL_CARD_ONE_TO_MANY) {
        ev_vec *t = l;
        l = r;
        r = t;
    }
    match_state ms;
    index_right(c, n, r, &ms);
    sig_map_init(c, &ms.matched, l->n);
    for (size_t i = 0; i < l->n; i++) {
        uint64_t sig = sig_of(n, l->s[i].ls);
        size_t k = *sig_map_slot(&ms.right, sig);
        if (k) match_one(c, n, &ms, &l->s[i], &r->s[k - 1], sig, out);
    }
}

ev_val ev_binary(ev_ctx *c, const pql_node *n)
{
    ev_val args[2] = {ev_eval(c, n->u.binary.lhs), ev_eval(c, n->u.binary.rhs)};
    bool ls = args[0].type == PQL_TYPE_SCALAR, rs = args[1].type == PQL_TYPE_SCALAR;
    if (ls && rs) return scalar_scalar(c, n, args[0], args[1]);
    if (pql_op_is_set(n->u.binary.op)) return ev_range_eval(c, set_step, n, args, 2);
    return ev_range_eval(c, vector_vector_step, n, args, 2);
}
