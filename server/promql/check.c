/*
 * check.c - type checking of a parsed query (upstream's checkAST).
 *
 * Design: one recursive walk that returns each node's type and stops at the
 * first problem, visiting children in upstream's order so that the same
 * problem is reported first.  Positions are those upstream uses: the node's
 * start, or for operator problems the operator itself (found between the
 * operands, skipping spaces).  The walk also settles vector matching: set
 * operators between vectors become many-to-many, and a binary operator with a
 * scalar side loses its matching.
 */
#include "promql/internal.h"

#include <stdio.h>
#include <string.h>

typedef struct checker {
    const char *in;
    size_t len;
    core_err *err;
    bool failed;
} checker;

static pql_type check(checker *c, pql_node *n);

__attribute__((format(printf, 3, 4))) static void fail_at(checker *c, uint32_t pos, const char *fmt,
                                                          ...)
{
    if (c->failed) return;
    char msg[CORE_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pql_error_at(c->err, c->in, c->len, pos, msg);
    c->failed = true;
}

int pql_error_at(core_err *err, const char *query, size_t len, size_t pos, const char *msg)
{
    if (len == 0) return core_err_set(err, "unknown position: parse error: %s", msg);
    if (pos > len) return core_err_set(err, "invalid position: parse error: %s", msg);
    size_t line = 1, last_nl = 0;
    bool any_nl = false;
    for (size_t i = 0; i < pos; i++) {
        if (query[i] == '\n') line++, last_nl = i, any_nl = true;
    }
    size_t col = any_nl ? pos - last_nl : pos + 1;
    return core_err_set(err, "%zu:%zu: parse error: %s", line, col, msg);
}

const char *pql_type_doc_name(pql_type t)
{
    switch (t) {
    case PQL_TYPE_SCALAR: return "scalar";
    case PQL_TYPE_VECTOR: return "instant vector";
    case PQL_TYPE_MATRIX: return "range vector";
    case PQL_TYPE_STRING: return "string";
    default: return "none";
    }
}

/* Upstream's internal type names ("vector", "matrix"), used by one message. */
static const char *raw_type_name(pql_type t)
{
    switch (t) {
    case PQL_TYPE_VECTOR: return "vector";
    case PQL_TYPE_MATRIX: return "matrix";
    default: return pql_type_doc_name(t);
    }
}

pql_type pql_node_type(const pql_node *n)
{
    switch (n->kind) {
    case PQL_NODE_NUMBER:
    case PQL_NODE_DURATION: return PQL_TYPE_SCALAR;
    case PQL_NODE_STRING: return PQL_TYPE_STRING;
    case PQL_NODE_VECTOR:
    case PQL_NODE_AGGR: return PQL_TYPE_VECTOR;
    case PQL_NODE_MATRIX:
    case PQL_NODE_SUBQUERY: return PQL_TYPE_MATRIX;
    case PQL_NODE_CALL: return n->u.call.func ? n->u.call.func->ret : PQL_TYPE_NONE;
    case PQL_NODE_UNARY: return pql_node_type(n->u.unary.expr);
    case PQL_NODE_PAREN: return pql_node_type(n->u.paren.expr);
    case PQL_NODE_BINARY: {
        bool scalars = pql_node_type(n->u.binary.lhs) == PQL_TYPE_SCALAR &&
                       pql_node_type(n->u.binary.rhs) == PQL_TYPE_SCALAR;
        return scalars ? PQL_TYPE_SCALAR : PQL_TYPE_VECTOR;
    }
    }
    return PQL_TYPE_NONE;
}

static void expect_type(checker *c, pql_node *n, pql_type want, const char *context)
{
    pql_type t = check(c, n);
    if (t != want)
        fail_at(c, n->pos, "expected type %s in %s, got %s", pql_type_doc_name(want), context,
                pql_type_doc_name(t));
}

static void check_aggr(checker *c, pql_node *n)
{
    pql_aggr_op op = n->u.aggr.op;
    expect_type(c, n->u.aggr.expr, PQL_TYPE_VECTOR, "aggregation expression");
    if (op == PQL_AGGR_COUNT_VALUES)
        expect_type(c, n->u.aggr.param, PQL_TYPE_STRING, "aggregation parameter");
    else if (pql_aggr_has_param(op))
        expect_type(c, n->u.aggr.param, PQL_TYPE_SCALAR, "aggregation parameter");
}

/* Start of the operator between the operands of a binary expression. */
static uint32_t operator_pos(const checker *c, const pql_node *n)
{
    uint32_t p = n->u.binary.lhs->end;
    while (p < c->len && strchr(" \t\n\r", c->in[p]) && c->in[p])
        p++;
    return p;
}

static bool label_in(const char *l, const char **set, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(l, set[i]) == 0) return true;
    return false;
}

/* Problems of the operator itself, before looking at operand types. */
static void check_binary_operator(checker *c, pql_node *n, pql_type lt, pql_type rt)
{
    pql_op op = n->u.binary.op;
    if (n->u.binary.return_bool && !pql_op_is_comparison(op))
        fail_at(c, operator_pos(c, n), "bool modifier can only be used on comparison operators");
    if (pql_op_is_comparison(op) && !n->u.binary.return_bool && lt == PQL_TYPE_SCALAR &&
        rt == PQL_TYPE_SCALAR)
        fail_at(c, operator_pos(c, n), "comparisons between scalars must use BOOL modifier");
    if (pql_op_is_set(op) && n->u.binary.card == PQL_CARD_ONE_TO_ONE)
        n->u.binary.card = PQL_CARD_MANY_TO_MANY;
    for (size_t i = 0; n->u.binary.on && i < n->u.binary.nlabels; i++) {
        const char *l = n->u.binary.labels[i];
        if (label_in(l, n->u.binary.include, n->u.binary.ninclude))
            fail_at(c, operator_pos(c, n),
                    "label \"%s\" must not occur in ON and GROUP clause at once", l);
    }
}

static void check_matching(checker *c, pql_node *n, pql_type lt, pql_type rt)
{
    pql_op op = n->u.binary.op;
    bool fill = n->u.binary.has_fill_lhs || n->u.binary.has_fill_rhs;
    if (lt != PQL_TYPE_VECTOR || rt != PQL_TYPE_VECTOR) {
        if (n->u.binary.nlabels > 0)
            fail_at(c, n->pos, "vector matching only allowed between instant vectors");
        if (fill)
            fail_at(c, n->pos, "filling in missing series only allowed between instant vectors");
        n->u.binary.matching = false;
    } else if (pql_op_is_set(op)) {
        pql_card card = n->u.binary.card;
        if (card == PQL_CARD_ONE_TO_MANY || card == PQL_CARD_MANY_TO_ONE)
            fail_at(c, n->pos, "no grouping allowed for \"%s\" operation", pql_op_name(op));
        if (card != PQL_CARD_MANY_TO_MANY)
            fail_at(c, n->pos, "set operations must always be many-to-many");
        if (fill) fail_at(c, n->pos, "filling in missing series not allowed for set operators");
    }
    if ((lt == PQL_TYPE_SCALAR || rt == PQL_TYPE_SCALAR) && pql_op_is_set(op))
        fail_at(c, n->pos, "set operator \"%s\" not allowed in binary scalar expression",
                pql_op_name(op));
}

static void check_binary(checker *c, pql_node *n)
{
    pql_type lt = check(c, n->u.binary.lhs);
    pql_type rt = check(c, n->u.binary.rhs);
    check_binary_operator(c, n, lt, rt);
    if (lt != PQL_TYPE_SCALAR && lt != PQL_TYPE_VECTOR)
        fail_at(c, n->u.binary.lhs->pos,
                "binary expression must contain only scalar and instant vector types");
    if (rt != PQL_TYPE_SCALAR && rt != PQL_TYPE_VECTOR)
        fail_at(c, n->u.binary.rhs->pos,
                "binary expression must contain only scalar and instant vector types");
    check_matching(c, n, lt, rt);
}

static void check_arg_count(checker *c, pql_node *n)
{
    const pql_func *f = n->u.call.func;
    size_t got = n->u.call.nargs;
    size_t nargs = (size_t)f->nargs;
    if (f->variadic == 0) {
        if (got != nargs)
            fail_at(c, n->pos, "expected %zu argument(s) in call to \"%s\", got %zu", nargs,
                    f->name, got);
        return;
    }
    size_t min = nargs - 1;
    if (got < min) {
        fail_at(c, n->pos, "expected at least %zu argument(s) in call to \"%s\", got %zu", min,
                f->name, got);
    } else if (f->variadic > 0 && got > min + (size_t)f->variadic) {
        fail_at(c, n->pos, "expected at most %zu argument(s) in call to \"%s\", got %zu",
                min + (size_t)f->variadic, f->name, got);
    }
}

/* info(v, {selectors}): the second argument must be a bare label selector. */
static void check_info(checker *c, pql_node *n)
{
    pql_node *sel = n->u.call.args[1];
    pql_type t = pql_node_type(sel);
    if (t != PQL_TYPE_VECTOR)
        fail_at(c, n->pos, "expected type instant vector in call to function \"info\", got %s",
                pql_type_doc_name(t));
    if (sel->kind == PQL_NODE_VECTOR && sel->u.vector.name[0])
        fail_at(c, sel->pos, "expected label selectors only, got vector selector instead");
    else if (sel->kind == PQL_NODE_VECTOR)
        sel->u.vector.bypass_empty_check = true;
    else
        fail_at(c, sel->pos, "expected label selectors only");
}

static void check_call(checker *c, pql_node *n)
{
    const pql_func *f = n->u.call.func;
    check_arg_count(c, n);
    if (strcmp(f->name, "info") == 0 && n->u.call.nargs > 1) check_info(c, n);
    for (size_t i = 0; i < n->u.call.nargs && !c->failed; i++) {
        size_t k = i;
        if (k >= (size_t)f->nargs) {
            if (f->variadic == 0) break;
            k = (size_t)f->nargs - 1;
        }
        pql_node *arg = n->u.call.args[i];
        pql_type t = check(c, arg);
        if (t != f->arg_types[k])
            fail_at(c, arg->pos, "expected type %s in call to function \"%s\", got %s",
                    pql_type_doc_name(f->arg_types[k]), f->name, pql_type_doc_name(t));
    }
}

static void check_vector(checker *c, pql_node *n)
{
    size_t nm = n->u.vector.nmatchers;
    if (n->u.vector.name[0]) {
        for (size_t i = 0; i + 1 < nm; i++) {
            const pql_matcher *m = &n->u.vector.matchers[i];
            if (strcmp(m->name, "__name__") == 0)
                fail_at(c, n->pos, "metric name must not be set twice: \"%s\" or \"%.*s\"",
                        n->u.vector.name, (int)m->value_len, m->value);
        }
        return;
    }
    if (n->u.vector.bypass_empty_check) return;
    for (size_t i = 0; i < nm; i++)
        if (!n->u.vector.matchers[i].matches_empty) return;
    fail_at(c, n->pos, "vector selector must contain at least one non-empty matcher");
}

static pql_type check(checker *c, pql_node *n)
{
    pql_type t = pql_node_type(n);
    if (c->failed) return t;
    switch (n->kind) {
    case PQL_NODE_AGGR: check_aggr(c, n); break;
    case PQL_NODE_BINARY: check_binary(c, n); break;
    case PQL_NODE_CALL: check_call(c, n); break;
    case PQL_NODE_PAREN: check(c, n->u.paren.expr); break;
    case PQL_NODE_UNARY: {
        pql_type et = check(c, n->u.unary.expr);
        if (et != PQL_TYPE_SCALAR && et != PQL_TYPE_VECTOR)
            fail_at(c, n->pos,
                    "unary expression only allowed on expressions of type scalar or instant "
                    "vector, got \"%s\"",
                    pql_type_doc_name(et));
        break;
    }
    case PQL_NODE_SUBQUERY: {
        pql_type et = check(c, n->u.subquery.expr);
        if (et != PQL_TYPE_VECTOR)
            fail_at(c, n->pos, "subquery is only allowed on instant vector, got %s instead",
                    raw_type_name(et));
        break;
    }
    case PQL_NODE_MATRIX: check(c, n->u.matrix.vector); break;
    case PQL_NODE_VECTOR: check_vector(c, n); break;
    default: break;
    }
    return t;
}

int pql_check(pql_node *root, const char *query, size_t len, core_err *err)
{
    checker c = {.in = query, .len = len, .err = err};
    check(&c, root);
    return c.failed ? -1 : 0;
}
