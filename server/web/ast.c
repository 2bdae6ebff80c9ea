/*
 * ast.c - /api/v1/parse_query's tree: upstream's translateAST.
 *
 * Each node becomes a JSON object as upstream builds it from Go maps, so the
 * keys come out sorted (encoding/json sorts map keys):
 *
 *   aggregation     expr, grouping, op, param, type, without
 *   binaryExpr      bool, lhs, matching (null between a scalar and anything,
 *                   else card, fillValues {lhs, rhs}, include, labels, on), op,
 *                   rhs, type
 *   call            args, func {argTypes, name, returnType, variadic}, type
 *   matrixSelector  anchored, matchers, name, offset, offsetExpr, range,
 *                   rangeExpr, smoothed, startOrEnd, timestamp, type
 *   subquery        expr, offset, offsetExpr, range, rangeExpr, startOrEnd,
 *                   step, stepExpr, timestamp, type
 *   vectorSelector  anchored, matchers, name, offset, offsetExpr, smoothed,
 *                   startOrEnd, timestamp, type
 *   numberLiteral   type, val (FormatFloat 'f'; with "duration" first inside
 *                   duration expressions)
 *   stringLiteral, parenExpr, unaryExpr, durationExpr (lhs, op, rhs, type,
 *                   wrapped)
 *
 * Durations and offsets are milliseconds, `timestamp` the @ time in
 * milliseconds or null, `startOrEnd` "start", "end" or null.
 */
#include "web/internal.h"

#include <string.h>

static void node(const pql_node *n, core_sb *sb);
static void duration_node(const pql_node *n, core_sb *sb);

static void key(core_sb *sb, const char *k, bool first)
{
    if (!first) core_sb_addc(sb, ',');
    core_sb_addc(sb, '"');
    core_sb_adds(sb, k);
    core_sb_adds(sb, "\":");
}

static void str_list(core_sb *sb, const char *const *v, size_t n)
{
    web_json_strings(sb, v, n);
}

static const char *type_name(pql_type t)
{
    switch (t) {
    case PQL_TYPE_SCALAR: return "scalar";
    case PQL_TYPE_VECTOR: return "vector";
    case PQL_TYPE_MATRIX: return "matrix";
    case PQL_TYPE_STRING: return "string";
    default: return "none";
    }
}

static void matchers(core_sb *sb, const pql_matcher *m, size_t n)
{
    static const char *const ops[] = {"=", "!=", "=~", "!~"};
    core_sb_addc(sb, '[');
    for (size_t i = 0; i < n; i++) {
        if (i) core_sb_addc(sb, ',');
        core_sb_adds(sb, "{\"name\":");
        web_json_cstr(sb, m[i].name);
        core_sb_adds(sb, ",\"type\":\"");
        core_sb_adds(sb, ops[m[i].type]);
        core_sb_adds(sb, "\",\"value\":");
        web_json_str(sb, m[i].value, m[i].value_len);
        core_sb_addc(sb, '}');
    }
    core_sb_addc(sb, ']');
}

static void bool_val(core_sb *sb, bool b)
{
    core_sb_adds(sb, b ? "true" : "false");
}

static void start_or_end(core_sb *sb, const pql_timing *t)
{
    if (t->at == PQL_AT_START)
        core_sb_adds(sb, "\"start\"");
    else if (t->at == PQL_AT_END)
        core_sb_adds(sb, "\"end\"");
    else
        core_sb_adds(sb, "null");
}

static void timestamp(core_sb *sb, const pql_timing *t)
{
    if (t->at == PQL_AT_TS)
        core_sb_add_i64(sb, t->at_ms);
    else
        core_sb_adds(sb, "null");
}

static void opt_duration(core_sb *sb, const pql_node *n)
{
    if (n)
        duration_node(n, sb);
    else
        core_sb_adds(sb, "null");
}

/* The fields a vector and a matrix selector share, after "anchored". */
static void selector_fields(core_sb *sb, const pql_node *vs, const pql_node *range)
{
    key(sb, "matchers", false);
    matchers(sb, vs->u.vector.matchers, vs->u.vector.nmatchers);
    key(sb, "name", false);
    web_json_cstr(sb, vs->u.vector.name ? vs->u.vector.name : "");
    key(sb, "offset", false);
    core_sb_add_i64(sb, vs->u.vector.timing.offset_ms);
    key(sb, "offsetExpr", false);
    opt_duration(sb, vs->u.vector.timing.offset_expr);
    if (range) {
        key(sb, "range", false);
        core_sb_add_i64(sb, range->u.matrix.range_ms);
        key(sb, "rangeExpr", false);
        opt_duration(sb, range->u.matrix.range_expr);
    }
    key(sb, "smoothed", false);
    bool_val(sb, vs->u.vector.smoothed);
    key(sb, "startOrEnd", false);
    start_or_end(sb, &vs->u.vector.timing);
    key(sb, "timestamp", false);
    timestamp(sb, &vs->u.vector.timing);
    key(sb, "type", false);
    core_sb_adds(sb, range ? "\"matrixSelector\"" : "\"vectorSelector\"");
}

static const char *card_name(pql_card c)
{
    switch (c) {
    case PQL_CARD_MANY_TO_ONE: return "many-to-one";
    case PQL_CARD_ONE_TO_MANY: return "one-to-many";
    case PQL_CARD_MANY_TO_MANY: return "many-to-many";
    default: return "one-to-one";
    }
}

static void fill_value(core_sb *sb, bool has, double v)
{
    if (!has) {
        core_sb_adds(sb, "null");
        return;
    }
    web_json_number(sb, v);
}

static void binary(const pql_node *n, core_sb *sb)
{
    core_sb_addc(sb, '{');
    key(sb, "bool", true);
    bool_val(sb, n->u.binary.return_bool);
    key(sb, "lhs", false);
    node(n->u.binary.lhs, sb);
    key(sb, "matching", false);
    if (!n->u.binary.matching) {
        core_sb_adds(sb, "null");
    } else {
        core_sb_adds(sb, "{\"card\":\"");
        core_sb_adds(sb, card_name(n->u.binary.card));
        core_sb_adds(sb, "\",\"fillValues\":{\"lhs\":");
        fill_value(sb, n->u.binary.has_fill_lhs, n->u.binary.fill_lhs);
        core_sb_adds(sb, ",\"rhs\":");
        fill_value(sb, n->u.binary.has_fill_rhs, n->u.binary.fill_rhs);
        core_sb_adds(sb, "},\"include\":");
        str_list(sb, n->u.binary.include, n->u.binary.ninclude);
        core_sb_adds(sb, ",\"labels\":");
        str_list(sb, n->u.binary.labels, n->u.binary.nlabels);
        core_sb_adds(sb, ",\"on\":");
        bool_val(sb, n->u.binary.on);
        core_sb_addc(sb, '}');
    }
    key(sb, "op", false);
    web_json_cstr(sb, pql_op_name(n->u.binary.op));
    key(sb, "rhs", false);
    node(n->u.binary.rhs, sb);
    key(sb, "type", false);
    core_sb_adds(sb, "\"binaryExpr\"}");
}

static void call(const pql_node *n, core_sb *sb)
{
    const pql_func *f = n->u.call.func;
    core_sb_adds(sb, "{\"args\":[");
    for (size_t i = 0; i < n->u.call.nargs; i++) {
        if (i) core_sb_addc(sb, ',');
        node(n->u.call.args[i], sb);
    }
    core_sb_adds(sb, "],\"func\":{\"argTypes\":[");
    for (int i = 0; i < f->nargs; i++) {
        if (i) core_sb_addc(sb, ',');
        core_sb_addf(sb, "\"%s\"", type_name(f->arg_types[i]));
    }
    core_sb_adds(sb, "],\"name\":");
    web_json_cstr(sb, f->name);
    core_sb_addf(sb, ",\"returnType\":\"%s\",\"variadic\":%d}", type_name(f->ret), f->variadic);
    key(sb, "type", false);
    core_sb_adds(sb, "\"call\"}");
}

static void number(const pql_node *n, core_sb *sb, bool in_duration)
{
    core_sb_addc(sb, '{');
    if (in_duration) {
        core_sb_adds(sb, "\"duration\":");
        bool_val(sb, n->u.number.duration);
        core_sb_addc(sb, ',');
    }
    core_sb_adds(sb, "\"type\":\"numberLiteral\",\"val\":\"");
    web_format_float_f(n->u.number.value, sb);
    core_sb_adds(sb, "\"}");
}

/* translateDurationExpr: duration expressions and their number leaves. */
static void duration_node(const pql_node *n, core_sb *sb)
{
    if (n->kind == PQL_NODE_NUMBER) {
        number(n, sb, true);
        return;
    }
    if (n->kind != PQL_NODE_DURATION) {
        node(n, sb);
        return;
    }
    core_sb_addc(sb, '{');
    key(sb, "lhs", true);
    opt_duration(sb, n->u.duration.lhs);
    key(sb, "op", false);
    web_json_cstr(sb, pql_op_name(n->u.duration.op));
    key(sb, "rhs", false);
    opt_duration(sb, n->u.duration.rhs);
    key(sb, "type", false);
    core_sb_adds(sb, "\"durationExpr\"");
    key(sb, "wrapped", false);
    bool_val(sb, n->u.duration.wrapped);
    core_sb_addc(sb, '}');
}

static void node(const pql_node *n, core_sb *sb)
{
    if (!n) {
        core_sb_adds(sb, "null");
        return;
    }
    switch (n->kind) {
    case PQL_NODE_AGGR:
        core_sb_addc(sb, '{');
        key(sb, "expr", true);
        node(n->u.aggr.expr, sb);
        key(sb, "grouping", false);
        str_list(sb, n->u.aggr.grouping, n->u.aggr.ngrouping);
        key(sb, "op", false);
        web_json_cstr(sb, pql_aggr_name(n->u.aggr.op));
        key(sb, "param", false);
        node(n->u.aggr.param, sb);
        key(sb, "type", false);
        core_sb_adds(sb, "\"aggregation\"");
        key(sb, "without", false);
        bool_val(sb, n->u.aggr.without);
        core_sb_addc(sb, '}');
        break;
    case PQL_NODE_BINARY: binary(n, sb); break;
    case PQL_NODE_CALL: call(n, sb); break;
    case PQL_NODE_MATRIX: {
        const pql_node *vs = n->u.matrix.vector;
        core_sb_addc(sb, '{');
        key(sb, "anchored", true);
        bool_val(sb, vs->u.vector.anchored);
        selector_fields(sb, vs, n);
        core_sb_addc(sb, '}');
        break;
    }
    case PQL_NODE_VECTOR:
        core_sb_addc(sb, '{');
        key(sb, "anchored", true);
        bool_val(sb, n->u.vector.anchored);
        selector_fields(sb, n, NULL);
        core_sb_addc(sb, '}');
        break;
    case PQL_NODE_SUBQUERY: {
        const pql_timing *t = &n->u.subquery.timing;
        core_sb_addc(sb, '{');
        key(sb, "expr", true);
        node(n->u.subquery.expr, sb);
        key(sb, "offset", false);
        core_sb_add_i64(sb, t->offset_ms);
        key(sb, "offsetExpr", false);
        opt_duration(sb, t->offset_expr);
        key(sb, "range", false);
        core_sb_add_i64(sb, n->u.subquery.range_ms);
        key(sb, "rangeExpr", false);
        opt_duration(sb, n->u.subquery.range_expr);
        key(sb, "startOrEnd", false);
        start_or_end(sb, t);
        key(sb, "step", false);
        core_sb_add_i64(sb, n->u.subquery.step_ms);
        key(sb, "stepExpr", false);
        opt_duration(sb, n->u.subquery.step_expr);
        key(sb, "timestamp", false);
        timestamp(sb, t);
        key(sb, "type", false);
        core_sb_adds(sb, "\"subquery\"}");
        break;
    }
    case PQL_NODE_DURATION: duration_node(n, sb); break;
    case PQL_NODE_NUMBER: number(n, sb, false); break;
    case PQL_NODE_PAREN:
        core_sb_adds(sb, "{\"expr\":");
        node(n->u.paren.expr, sb);
        core_sb_adds(sb, ",\"type\":\"parenExpr\"}");
        break;
    case PQL_NODE_STRING:
        core_sb_adds(sb, "{\"type\":\"stringLiteral\",\"val\":");
        web_json_str(sb, n->u.string.value, n->u.string.len);
        core_sb_addc(sb, '}');
        break;
    case PQL_NODE_UNARY:
        core_sb_adds(sb, "{\"expr\":");
        node(n->u.unary.expr, sb);
        core_sb_adds(sb, ",\"op\":");
        web_json_cstr(sb, pql_op_name(n->u.unary.op));
        core_sb_adds(sb, ",\"type\":\"unaryExpr\"}");
        break;
    }
}

void web_ast_json(const pql_node *n, core_sb *sb)
{
    node(n, sb);
}
