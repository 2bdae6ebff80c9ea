/*
 * print.c - the canonical text of an AST, as upstream's Expr.String() prints it
 * (and so /api/v1/format_query and promtool).
 *
 * Design: one function per node kind appending to a core_sb.  The layout is
 * upstream's: one space around binary operators, `sum by (job) (x)`, matchers
 * sorted as strings with the metric name in front, durations in the largest
 * exact units (core_duration_format), `@ 100.000`, numbers in Go's shortest
 * 'f' form.  Parentheses come only from paren nodes, so parse(print(parse(q)))
 * gives the same tree.
 */
#include "promql/internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Names */

const char *pql_op_name(pql_op op)
{
    static const char *const names[] = {
        [PQL_OP_NONE] = "",         [PQL_OP_ADD] = "+",         [PQL_OP_SUB] = "-",
        [PQL_OP_MUL] = "*",         [PQL_OP_DIV] = "/",         [PQL_OP_MOD] = "%",
        [PQL_OP_POW] = "^",         [PQL_OP_ATAN2] = "atan2",   [PQL_OP_EQLC] = "==",
        [PQL_OP_NEQ] = "!=",        [PQL_OP_LTE] = "<=",        [PQL_OP_LSS] = "<",
        [PQL_OP_GTE] = ">=",        [PQL_OP_GTR] = ">",         [PQL_OP_TRIM_UPPER] = "</",
        [PQL_OP_TRIM_LOWER] = ">/", [PQL_OP_AND] = "and",       [PQL_OP_OR] = "or",
        [PQL_OP_UNLESS] = "unless", [PQL_OP_STEP] = "step",     [PQL_OP_RANGE] = "range",
        [PQL_OP_MIN_OF] = "min_of", [PQL_OP_MAX_OF] = "max_of",
    };
    return names[op];
}

bool pql_op_is_comparison(pql_op op)
{
    return op >= PQL_OP_EQLC && op <= PQL_OP_GTR;
}

bool pql_op_is_set(pql_op op)
{
    return op == PQL_OP_AND || op == PQL_OP_OR || op == PQL_OP_UNLESS;
}

const char *pql_aggr_name(pql_aggr_op op)
{
    static const char *const names[] = {
        "sum",    "avg",  "count",   "min",      "max",          "group",  "stddev",
        "stdvar", "topk", "bottomk", "quantile", "count_values", "limitk", "limit_ratio",
    };
    return names[op];
}

bool pql_aggr_has_param(pql_aggr_op op)
{
    return op == PQL_AGGR_TOPK || op == PQL_AGGR_BOTTOMK || op == PQL_AGGR_QUANTILE ||
           op == PQL_AGGR_COUNT_VALUES || op == PQL_AGGR_LIMITK || op == PQL_AGGR_LIMIT_RATIO;
}

/* ---- Numbers and durations */

/* The shortest decimal digits that read back as v (v finite, > 0), and the
 * decimal exponent of the first one: v = 0.d1d2... * 10^(exp+1). */
static int shortest_digits(double v, char digits[32], int *exp)
{
    char buf[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec - 1, v);
        if (strtod(buf, NULL) == v || prec == 17) break;
    }
    char *e = strchr(buf, 'e');
    *exp = atoi(e + 1);
    int n = 0;
    for (char *c = buf; c < e; c++)
        if (*c >= '0' && *c <= '9') digits[n++] = *c;
    while (n > 1 && digits[n - 1] == '0')
        n--;
    digits[n] = '\0';
    return n;
}

static bool special_float(core_sb *sb, double v)
{
    if (isnan(v)) return core_sb_adds(sb, "NaN"), true;
    if (isinf(v)) return core_sb_adds(sb, v > 0 ? "+Inf" : "-Inf"), true;
    if (signbit(v)) core_sb_addc(sb, '-');
    if (v == 0) return core_sb_addc(sb, '0'), true;
    return false;
}

void pql_format_float_f(core_sb *sb, double v)
{
    if (special_float(sb, v)) return;
    char d[32];
    int exp, n = shortest_digits(fabs(v), d, &exp);
    if (exp < 0) {
        core_sb_adds(sb, "0.");
        for (int i = 0; i < -exp - 1; i++)
            core_sb_addc(sb, '0');
        core_sb_add(sb, d, (size_t)n);
        return;
    }
    for (int i = 0; i <= exp; i++)
        core_sb_addc(sb, i < n ? d[i] : '0');
    if (n > exp + 1) {
        core_sb_addc(sb, '.');
        core_sb_add(sb, d + exp + 1, (size_t)(n - exp - 1));
    }
}

/* Go's %v of a float64 (strconv 'g' with the shortest digits). */
static void format_float_g(core_sb *sb, double v)
{
    if (special_float(sb, v)) return;
    char d[32];
    int exp, n = shortest_digits(fabs(v), d, &exp);
    if (exp >= -4 && exp < 6) return pql_format_float_f(sb, fabs(v));
    core_sb_addc(sb, d[0]);
    if (n > 1) {
        core_sb_addc(sb, '.');
        core_sb_add(sb, d + 1, (size_t)n - 1);
    }
    core_sb_addf(sb, "e%c%02d", exp < 0 ? '-' : '+', abs(exp));
}

static void add_duration(core_sb *sb, int64_t ms)
{
    char buf[CORE_DURATION_BUFSZ];
    core_sb_add(sb, buf, core_duration_format(ms, buf));
}

/* ---- Nodes */

static void print_node(const pql_node *n, core_sb *sb);

static void print_labels(core_sb *sb, const char **labels, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i > 0) core_sb_adds(sb, ", ");
        if (pql_is_legacy_name(labels[i], strlen(labels[i])))
            core_sb_adds(sb, labels[i]);
        else
            pql_quote(sb, labels[i], strlen(labels[i]), 0);
    }
}

static void print_offset(core_sb *sb, const pql_timing *t)
{
    if (t->offset_expr) {
        core_sb_adds(sb, " offset ");
        print_node(t->offset_expr, sb);
    } else if (t->offset_ms > 0) {
        core_sb_adds(sb, " offset ");
        add_duration(sb, t->offset_ms);
    } else if (t->offset_ms < 0) {
        core_sb_adds(sb, " offset -");
        add_duration(sb, t->offset_ms == INT64_MIN ? INT64_MAX : -t->offset_ms);
    }
}

static void print_at(core_sb *sb, const pql_timing *t)
{
    if (t->at == PQL_AT_TS)
        core_sb_addf(sb, " @ %.3f", (double)t->at_ms / 1000.0);
    else if (t->at == PQL_AT_START)
        core_sb_adds(sb, " @ start()");
    else if (t->at == PQL_AT_END)
        core_sb_adds(sb, " @ end()");
}

static void print_extended(core_sb *sb, const pql_node *vs)
{
    if (vs->u.vector.anchored)
        core_sb_adds(sb, " anchored");
    else if (vs->u.vector.smoothed)
        core_sb_adds(sb, " smoothed");
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *matcher_text(const pql_matcher *m)
{
    static const char *const ops[] = {"=", "!=", "=~", "!~"};
    core_sb sb = CORE_SB_INIT;
    if (pql_is_legacy_name(m->name, strlen(m->name)))
        core_sb_adds(&sb, m->name);
    else
        pql_quote(&sb, m->name, strlen(m->name), 0);
    core_sb_adds(&sb, ops[m->type]);
    pql_quote(&sb, m->value, m->value_len, 0);
    return core_sb_detach(&sb, NULL);
}

/* The name and sorted matchers, without modifiers. */
static void print_selector_body(const pql_node *n, core_sb *sb)
{
    const char *name = n->u.vector.name;
    size_t k = 0, nm = n->u.vector.nmatchers;
    char **texts = calloc(nm ? nm : 1, sizeof *texts);
    for (size_t i = 0; i < nm; i++) {
        const pql_matcher *m = &n->u.vector.matchers[i];
        bool is_name = strcmp(m->name, "__name__") == 0 && m->type == PQL_MATCH_EQ &&
                       m->value_len == strlen(name) && memcmp(m->value, name, m->value_len) == 0;
        if (is_name && name[0]) continue;
        texts[k++] = matcher_text(m);
    }
    core_sb_adds(sb, name);
    if (k > 0) {
        qsort(texts, k, sizeof *texts, cmp_str);
        core_sb_addc(sb, '{');
        for (size_t i = 0; i < k; i++) {
            if (i > 0) core_sb_addc(sb, ',');
            core_sb_adds(sb, texts[i]);
        }
        core_sb_addc(sb, '}');
    }
    for (size_t i = 0; i < k; i++)
        free(texts[i]);
    free(texts);
}

static void print_vector(const pql_node *n, core_sb *sb)
{
    print_selector_body(n, sb);
    print_at(sb, &n->u.vector.timing);
    print_extended(sb, n);
    print_offset(sb, &n->u.vector.timing);
}

static void print_range(core_sb *sb, int64_t ms, const pql_node *expr)
{
    if (expr)
        print_node(expr, sb);
    else
        add_duration(sb, ms);
}

static void print_matrix(const pql_node *n, core_sb *sb)
{
    const pql_node *vs = n->u.matrix.vector;
    print_selector_body(vs, sb);
    core_sb_addc(sb, '[');
    print_range(sb, n->u.matrix.range_ms, n->u.matrix.range_expr);
    core_sb_addc(sb, ']');
    print_extended(sb, vs);
    print_at(sb, &vs->u.vector.timing);
    print_offset(sb, &vs->u.vector.timing);
}

static void print_subquery(const pql_node *n, core_sb *sb)
{
    print_node(n->u.subquery.expr, sb);
    core_sb_addc(sb, '[');
    print_range(sb, n->u.subquery.range_ms, n->u.subquery.range_expr);
    core_sb_addc(sb, ':');
    if (n->u.subquery.step_ms != 0)
        add_duration(sb, n->u.subquery.step_ms);
    else if (n->u.subquery.step_expr)
        print_node(n->u.subquery.step_expr, sb);
    core_sb_addc(sb, ']');
    print_at(sb, &n->u.subquery.timing);
    print_offset(sb, &n->u.subquery.timing);
}

static void print_args(core_sb *sb, pql_node *const *args, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i > 0) core_sb_adds(sb, ", ");
        print_node(args[i], sb);
    }
}

static void print_call(const pql_node *n, core_sb *sb)
{
    core_sb_adds(sb, n->u.call.func ? n->u.call.func->name : "");
    core_sb_addc(sb, '(');
    print_args(sb, n->u.call.args, n->u.call.nargs);
    core_sb_addc(sb, ')');
}

static void print_aggr(const pql_node *n, core_sb *sb)
{
    core_sb_adds(sb, pql_aggr_name(n->u.aggr.op));
    if (n->u.aggr.without || n->u.aggr.ngrouping > 0) {
        core_sb_adds(sb, n->u.aggr.without ? " without (" : " by (");
        print_labels(sb, n->u.aggr.grouping, n->u.aggr.ngrouping);
        core_sb_adds(sb, ") ");
    }
    core_sb_addc(sb, '(');
    if (n->u.aggr.param) {
        print_node(n->u.aggr.param, sb);
        core_sb_adds(sb, ", ");
    }
    print_node(n->u.aggr.expr, sb);
    core_sb_addc(sb, ')');
}

static void print_fill(const pql_node *n, core_sb *sb)
{
    bool l = n->u.binary.has_fill_lhs, r = n->u.binary.has_fill_rhs;
    if (l && r && n->u.binary.fill_lhs == n->u.binary.fill_rhs) {
        core_sb_adds(sb, " fill (");
        format_float_g(sb, n->u.binary.fill_lhs);
        core_sb_addc(sb, ')');
        return;
    }
    if (l) {
        core_sb_adds(sb, " fill_left (");
        format_float_g(sb, n->u.binary.fill_lhs);
        core_sb_addc(sb, ')');
    }
    if (r) {
        core_sb_adds(sb, " fill_right (");
        format_float_g(sb, n->u.binary.fill_rhs);
        core_sb_addc(sb, ')');
    }
}

static void print_matching(const pql_node *n, core_sb *sb)
{
    pql_card card = n->u.binary.card;
    bool grouped = card == PQL_CARD_MANY_TO_ONE || card == PQL_CARD_ONE_TO_MANY;
    if (!n->u.binary.matching) return;
    if (n->u.binary.nlabels > 0 || n->u.binary.on || grouped) {
        core_sb_adds(sb, n->u.binary.on ? " on (" : " ignoring (");
        print_labels(sb, n->u.binary.labels, n->u.binary.nlabels);
        core_sb_addc(sb, ')');
    }
    if (grouped) {
        core_sb_adds(sb, card == PQL_CARD_MANY_TO_ONE ? " group_left (" : " group_right (");
        print_labels(sb, n->u.binary.include, n->u.binary.ninclude);
        core_sb_addc(sb, ')');
    }
    print_fill(n, sb);
}

static void print_binary(const pql_node *n, core_sb *sb)
{
    print_node(n->u.binary.lhs, sb);
    core_sb_addc(sb, ' ');
    core_sb_adds(sb, pql_op_name(n->u.binary.op));
    if (n->u.binary.return_bool) core_sb_adds(sb, " bool");
    print_matching(n, sb);
    core_sb_addc(sb, ' ');
    print_node(n->u.binary.rhs, sb);
}

static void print_number(const pql_node *n, core_sb *sb)
{
    double v = n->u.number.value;
    if (!n->u.number.duration || !isfinite(v)) return pql_format_float_f(sb, v);
    double ms = fabs(v) * 1000.0;
    if (v < 0) core_sb_addc(sb, '-');
    add_duration(sb, ms >= 9.2e18 ? INT64_MAX : (int64_t)ms);
}

static void print_duration_expr(const pql_node *n, core_sb *sb)
{
    pql_op op = n->u.duration.op;
    if (n->u.duration.wrapped) core_sb_addc(sb, '(');
    if (op == PQL_OP_STEP || op == PQL_OP_RANGE) {
        core_sb_addf(sb, "%s()", pql_op_name(op));
    } else if (op == PQL_OP_MIN_OF || op == PQL_OP_MAX_OF) {
        core_sb_addf(sb, "%s(", pql_op_name(op));
        print_node(n->u.duration.lhs, sb);
        core_sb_adds(sb, ", ");
        print_node(n->u.duration.rhs, sb);
        core_sb_addc(sb, ')');
    } else if (!n->u.duration.lhs) {
        if (op == PQL_OP_SUB) core_sb_addc(sb, '-');
        print_node(n->u.duration.rhs, sb);
    } else {
        print_node(n->u.duration.lhs, sb);
        core_sb_addf(sb, " %s ", pql_op_name(op));
        print_node(n->u.duration.rhs, sb);
    }
    if (n->u.duration.wrapped) core_sb_addc(sb, ')');
}

static void print_node(const pql_node *n, core_sb *sb)
{
    switch (n->kind) {
    case PQL_NODE_NUMBER: print_number(n, sb); break;
    case PQL_NODE_STRING: pql_quote(sb, n->u.string.value, n->u.string.len, 0); break;
    case PQL_NODE_VECTOR: print_vector(n, sb); break;
    case PQL_NODE_MATRIX: print_matrix(n, sb); break;
    case PQL_NODE_SUBQUERY: print_subquery(n, sb); break;
    case PQL_NODE_CALL: print_call(n, sb); break;
    case PQL_NODE_AGGR: print_aggr(n, sb); break;
    case PQL_NODE_BINARY: print_binary(n, sb); break;
    case PQL_NODE_UNARY:
        core_sb_adds(sb, pql_op_name(n->u.unary.op));
        print_node(n->u.unary.expr, sb);
        break;
    case PQL_NODE_PAREN:
        core_sb_addc(sb, '(');
        print_node(n->u.paren.expr, sb);
        core_sb_addc(sb, ')');
        break;
    case PQL_NODE_DURATION: print_duration_expr(n, sb); break;
    }
}

void pql_print(const pql_node *n, core_sb *sb)
{
    core_sb_add(sb, "", 0);
    print_node(n, sb);
}
