/*
 * parse.c - the PromQL parser: tokens to AST.
 *
 * Design: recursive descent with precedence climbing for binary operators,
 * written to accept exactly what upstream's yacc grammar accepts and to give
 * its messages.  The precedence ladder is upstream's: or < and/unless <
 * comparisons < +,- < *,/,%,atan2 < ^ (right-associative); a unary sign binds
 * like '*', so it takes a following '^' but not a following '*'; the postfix
 * modifiers ([range], [range:step], offset, @, anchored, smoothed) bind
 * tightest.  Durations inside brackets and after offset are their own small
 * expression grammar (3.x duration expressions).
 *
 * Errors: the first one wins and parsing stops there; upstream collects
 * several but reports only the first.  Syntax errors describe the token that
 * did not fit ("unexpected <op:*>", with upstream's context where its grammar
 * has one); semantic ones found while building (unknown function, offset on a
 * non-selector, ...) are raised at the same moments upstream raises them, so
 * that the same one comes first.  Type checking runs afterwards (check.c).
 *
 * Memory: every node, string and array lives in the caller's arena.  Arrays
 * grow by copying within the arena; the copies die with it.
 */
#include "promql/internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

enum {
    PREC_OR = 1,
    PREC_AND = 2,
    PREC_CMP = 3,
    PREC_ADD = 4,
    PREC_MUL = 5,
    PREC_POW = 6,
};

typedef struct parser {
    pql_lexer lx;
    const char *in;
    size_t len;
    core_arena *a;
    pql_parse_opts opts;
    pql_item tok;   /* the current token */
    pql_item ahead; /* the one after it, when has_ahead */
    bool has_ahead;
    uint32_t prev_end; /* end of the last consumed token */
    bool failed;
    core_err *err;
} parser;

/* Expected-text of the contexts a duration expression is parsed in. */
typedef struct dctx {
    const char *context;
    const char *expected;
} dctx;

static const dctx CTX_RANGE = {"subquery or range selector",
                               "number, duration, step(), or range()"};
static const dctx CTX_STEP = {"subquery selector", "number, duration, step(), range(), or \"]\""};
static const dctx CTX_OFFSET = {"offset", "number, duration, step(), or range()"};

static pql_node *parse_expr(parser *p, int min_prec);
static pql_node *parse_duration_expr(parser *p, int min_prec, const dctx *ctx);

/* ---- Errors */

__attribute__((format(printf, 3, 4))) static void fail_at(parser *p, uint32_t pos, const char *fmt,
                                                          ...)
{
    if (p->failed) return;
    char msg[CORE_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pql_error_at(p->err, p->in, p->len, pos, msg);
    p->failed = true;
}

/* "unexpected <token>[ in <context>][, expected <expected>]" at the current token. */
static void unexpected(parser *p, const char *context, const char *expected)
{
    if (p->tok.type == PQL_T_ERROR) return;
    core_sb sb = CORE_SB_INIT;
    core_sb_adds(&sb, "unexpected ");
    pql_item_desc(&p->tok, &sb);
    if (context) core_sb_addf(&sb, " in %s", context);
    if (expected) core_sb_addf(&sb, ", expected %s", expected);
    fail_at(p, p->tok.pos, "%s", sb.buf);
    core_sb_destroy(&sb);
}

/* ---- Tokens */

static void lex_one(parser *p, pql_item *it)
{
    do {
        pql_lex_next(&p->lx, it);
    } while (it->type == PQL_T_COMMENT);
    if (it->type == PQL_T_ERROR) fail_at(p, it->pos, "%.*s", (int)it->len, it->val);
}

static void advance(parser *p)
{
    p->prev_end = p->tok.pos + (uint32_t)p->tok.len;
    if (p->has_ahead) {
        p->tok = p->ahead;
        p->has_ahead = false;
        return;
    }
    lex_one(p, &p->tok);
}

static pql_tok peek_type(parser *p)
{
    if (!p->has_ahead) {
        lex_one(p, &p->ahead);
        p->has_ahead = true;
    }
    return p->ahead.type;
}

static bool expect(parser *p, pql_tok t, const char *context, const char *expected)
{
    if (p->failed) return false;
    if (p->tok.type != t) return unexpected(p, context, expected), false;
    advance(p);
    return true;
}

/* ---- Allocation */

static pql_node *new_node(parser *p, pql_node_kind kind, uint32_t pos)
{
    pql_node *n = core_arena_calloc(p->a, 1, sizeof *n);
    n->kind = kind;
    n->pos = pos;
    n->end = p->prev_end;
    return n;
}

/* Appends to an arena array of `size`-byte elements, doubling its capacity. */
static void *push(parser *p, void *arr, size_t *n, size_t *cap, size_t size)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4;
        void *grown = core_arena_alloc(p->a, ncap * size);
        if (*n) memcpy(grown, arr, *n * size);
        arr = grown;
        *cap = ncap;
    }
    (*n)++;
    return arr;
}

static char *item_dup(parser *p, const pql_item *it)
{
    return core_arena_strndup(p->a, it->val, it->len);
}

/* Unquotes a string token; an error names the literal as upstream does. */
static const char *unquote_item(parser *p, const pql_item *it, size_t *len)
{
    char *out = NULL;
    size_t n = 0;
    if (pql_unquote(it->val, it->len, p->a, &out, &n) < 0) {
        core_sb sb = CORE_SB_INIT;
        pql_quote(&sb, it->val, it->len, 0);
        fail_at(p, it->pos, "error unquoting string %s: invalid syntax", sb.buf);
        core_sb_destroy(&sb);
        return "";
    }
    if (len) *len = n;
    return out;
}

/* ---- Numbers */

static void strip_underscores(const char *s, size_t n, char *buf, size_t cap)
{
    size_t j = 0;
    for (size_t i = 0; i < n && j + 1 < cap; i++)
        if (s[i] != '_') buf[j++] = s[i];
    buf[j] = '\0';
}

/* Go's ParseInt(s, 0, 64) then ParseFloat(s, 64), as upstream reads numbers. */
static double parse_number(parser *p, const pql_item *it)
{
    char buf[512];
    strip_underscores(it->val, it->len, buf, sizeof buf);
    char *end;
    errno = 0;
    long long i = strtoll(buf, &end, 0);
    if (errno == 0 && *end == '\0' && end != buf) return (double)i;
    bool hex = buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X');
    errno = 0;
    double f = strtod(buf, &end);
    const char *why = NULL;
    if (hex || *end != '\0' || end == buf)
        why = "invalid syntax";
    else if (errno == ERANGE && isinf(f))
        why = "value out of range";
    if (why) {
        core_sb sb = CORE_SB_INIT;
        pql_quote(&sb, it->val, it->len, 0);
        fail_at(p, it->pos, "error parsing number: strconv.ParseFloat: parsing %s: %s", sb.buf,
                why);
        core_sb_destroy(&sb);
    }
    return f;
}

/* A duration token's value in seconds. */
static double parse_duration_token(parser *p, const pql_item *it)
{
    int64_t ms = 0;
    core_err e;
    if (core_duration_parse(it->val, it->len, &ms, &e) < 0) fail_at(p, it->pos, "%s", e.msg);
    return (double)ms / 1000.0;
}

static bool duration_out_of_range(double v)
{
    return v > 9223372036.854775807 || v < -9223372036.854775808;
}

/* Seconds to milliseconds, rounded; saturating instead of overflowing.  NaN
 * gives INT64_MIN, as Go's conversion does on amd64. */
static int64_t seconds_to_ms(double s)
{
    double ms = round(s * 1000.0);
    if (isnan(ms)) return INT64_MIN;
    if (ms >= 9.2e18) return INT64_MAX;
    if (ms <= -9.2e18) return INT64_MIN;
    return (int64_t)ms;
}

static pql_node *number_literal(parser *p)
{
    pql_item it = p->tok;
    advance(p);
    pql_node *n = new_node(p, PQL_NODE_NUMBER, it.pos);
    if (it.type == PQL_T_DURATION) {
        n->u.number.value = parse_duration_token(p, &it);
        n->u.number.duration = true;
    } else {
        n->u.number.value = parse_number(p, &it);
    }
    return n;
}

static bool is_number_token(pql_tok t)
{
    return t == PQL_T_NUMBER || t == PQL_T_DURATION;
}

/* ---- Label names and matchers */

static bool is_maybe_label(pql_tok t)
{
    if (t == PQL_T_IDENT || t == PQL_T_METRIC_IDENT || t == PQL_T_ATAN2) return true;
    if (t == PQL_T_LAND || t == PQL_T_LOR || t == PQL_T_LUNLESS) return true;
    if (t > PQL_T_AGGR_START && t < PQL_T_AGGR_END) return true;
    if (t > PQL_T_KW_START && t < PQL_T_KW_END) return true;
    return t >= PQL_T_START && t <= PQL_T_MIN_OF;
}

/* Tokens that may name a metric outside braces. */
static bool is_metric_identifier(pql_tok t)
{
    switch (t) {
    case PQL_T_BOOL:
    case PQL_T_ON:
    case PQL_T_IGNORING:
    case PQL_T_GROUP_LEFT:
    case PQL_T_GROUP_RIGHT:
    case PQL_T_ATAN2: return false;
    default: return is_maybe_label(t);
    }
}

static bool valid_utf8(const char *s, size_t n)
{
    for (size_t i = 0, w; i < n; i += w)
        if (pql_utf8_decode(s + i, n - i, &w) < 0) return false;
    return true;
}

/* `( label, ... )` of by/without/on/ignoring/group_x. */
static bool parse_grouping_labels(parser *p, const char ***out, size_t *n)
{
    size_t cap = 0;
    const char **arr = NULL;
    *n = 0;
    if (!expect(p, PQL_T_LPAREN, "grouping opts", "\"(\"")) return false;
    while (!p->failed && p->tok.type != PQL_T_RPAREN) {
        pql_item it = p->tok;
        const char *name;
        size_t len;
        if (it.type == PQL_T_STRING) {
            name = unquote_item(p, &it, &len);
        } else if (is_maybe_label(it.type)) {
            name = item_dup(p, &it), len = it.len;
        } else {
            return unexpected(p, "grouping opts", "label"), false;
        }
        if (len == 0 || !valid_utf8(name, len)) {
            core_sb sb = CORE_SB_INIT;
            pql_quote(&sb, name, len, 0);
            fail_at(p, it.pos, "invalid label name for grouping: %s", sb.buf);
            core_sb_destroy(&sb);
        }
        advance(p);
        arr = push(p, arr, n, &cap, sizeof *arr);
        arr[*n - 1] = name;
        if (p->tok.type == PQL_T_COMMA)
            advance(p);
        else if (p->tok.type != PQL_T_RPAREN)
            return unexpected(p, "grouping opts", "\",\" or \")\""), false;
    }
    *out = arr;
    return expect(p, PQL_T_RPAREN, NULL, NULL);
}

static bool is_match_op(pql_tok t, pql_match_type *mt)
{
    switch (t) {
    case PQL_T_EQL: *mt = PQL_MATCH_EQ; return true;
    case PQL_T_NEQ: *mt = PQL_MATCH_NEQ; return true;
    case PQL_T_EQL_REGEX: *mt = PQL_MATCH_RE; return true;
    case PQL_T_NEQ_REGEX: *mt = PQL_MATCH_NRE; return true;
    default: return false;
    }
}

/* Compiles a regex matcher's value as upstream anchors it, ^(?s:...)$, and
 * records whether it matches the empty string. */
static void check_regex(parser *p, pql_matcher *m, uint32_t pos)
{
    core_sb sb = CORE_SB_INIT;
    core_sb_adds(&sb, "^(?s:");
    core_sb_add(&sb, m->value, m->value_len);
    core_sb_adds(&sb, ")$");
    int ec;
    PCRE2_SIZE eo;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)sb.buf, sb.len, PCRE2_UTF | PCRE2_MATCH_INVALID_UTF,
                                   &ec, &eo, NULL);
    core_sb_destroy(&sb);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(ec, msg, sizeof msg);
        fail_at(p, pos, "error parsing regexp: %s", (const char *)msg);
        return;
    }
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    bool empty = pcre2_match(re, (PCRE2_SPTR) "", 0, 0, 0, md, NULL) >= 0;
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    m->matches_empty = m->type == PQL_MATCH_RE ? empty : !empty;
}

static void finish_matcher(parser *p, pql_matcher *m, uint32_t pos)
{
    if (m->type == PQL_MATCH_RE || m->type == PQL_MATCH_NRE)
        check_regex(p, m, pos);
    else
        m->matches_empty = (m->value_len == 0) == (m->type == PQL_MATCH_EQ);
}

/* One matcher: name op "value", "name" op "value", or "name" alone. */
static bool parse_label_matcher(parser *p, pql_matcher *m)
{
    pql_item name = p->tok;
    if (name.type == PQL_T_IDENT) {
        m->name = item_dup(p, &name);
    } else if (name.type == PQL_T_STRING) {
        m->name = unquote_item(p, &name, NULL);
    } else {
        return unexpected(p, "label matching", "identifier or \"}\""), false;
    }
    advance(p);
    if (!is_match_op(p->tok.type, &m->type)) {
        if (name.type == PQL_T_STRING) {
            m->type = PQL_MATCH_EQ;
            m->value = m->name;
            m->value_len = strlen(m->name);
            m->name = "__name__";
            finish_matcher(p, m, name.pos);
            return !p->failed;
        }
        return unexpected(p, "label matching", "label matching operator"), false;
    }
    advance(p);
    if (p->tok.type != PQL_T_STRING) return unexpected(p, "label matching", "string"), false;
    m->value = unquote_item(p, &p->tok, &m->value_len);
    advance(p);
    finish_matcher(p, m, name.pos);
    return !p->failed;
}

static bool parse_label_matchers(parser *p, pql_node *vs)
{
    size_t cap = 0;
    advance(p); /* { */
    while (!p->failed && p->tok.type != PQL_T_RBRACE) {
        pql_matcher m = {0};
        if (!parse_label_matcher(p, &m)) return false;
        vs->u.vector.matchers =
            push(p, vs->u.vector.matchers, &vs->u.vector.nmatchers, &cap, sizeof m);
        vs->u.vector.matchers[vs->u.vector.nmatchers - 1] = m;
        if (p->tok.type == PQL_T_COMMA)
            advance(p);
        else if (p->tok.type != PQL_T_RBRACE)
            return unexpected(p, "label matching", "\",\" or \"}\""), false;
    }
    return expect(p, PQL_T_RBRACE, NULL, NULL);
}

static pql_node *parse_vector_selector(parser *p)
{
    pql_node *vs = new_node(p, PQL_NODE_VECTOR, p->tok.pos);
    vs->u.vector.name = "";
    if (p->tok.type != PQL_T_LBRACE) {
        vs->u.vector.name = item_dup(p, &p->tok);
        advance(p);
    }
    if (p->tok.type == PQL_T_LBRACE && !parse_label_matchers(p, vs)) return NULL;
    if (vs->u.vector.name[0]) {
        size_t n = vs->u.vector.nmatchers;
        pql_matcher *ms = core_arena_alloc(p->a, (n + 1) * sizeof *ms);
        if (n) memcpy(ms, vs->u.vector.matchers, n * sizeof *ms);
        ms[n] = (pql_matcher){PQL_MATCH_EQ, "__name__", vs->u.vector.name,
                              strlen(vs->u.vector.name), false};
        vs->u.vector.matchers = ms;
        vs->u.vector.nmatchers = n + 1;
    }
    vs->end = p->prev_end;
    return vs;
}

/* ---- Calls and aggregations */

/* `( args )`; trailing commas are an error as upstream has it. */
static bool parse_call_args(parser *p, pql_node ***args, size_t *n)
{
    size_t cap = 0;
    *n = 0;
    *args = NULL;
    if (!expect(p, PQL_T_LPAREN, NULL, NULL)) return false;
    if (p->tok.type == PQL_T_RPAREN) return advance(p), true;
    for (;;) {
        pql_node *arg = parse_expr(p, 0);
        if (!arg) return false;
        *args = push(p, *args, n, &cap, sizeof **args);
        (*args)[*n - 1] = arg;
        if (p->tok.type != PQL_T_COMMA) break;
        uint32_t comma = p->tok.pos;
        advance(p);
        if (p->tok.type == PQL_T_RPAREN) {
            fail_at(p, comma, "trailing commas not allowed in function call args");
            return false;
        }
    }
    return expect(p, PQL_T_RPAREN, NULL, NULL);
}

static pql_node *parse_call(parser *p)
{
    pql_item name = p->tok;
    advance(p);
    pql_node *n = new_node(p, PQL_NODE_CALL, name.pos);
    if (!parse_call_args(p, &n->u.call.args, &n->u.call.nargs)) return NULL;
    n->end = p->prev_end;
    const pql_func *f = pql_func_lookup(name.val, name.len);
    if (!f) {
        fail_at(p, name.pos, "unknown function with name \"%.*s\"", (int)name.len, name.val);
    } else if (f->experimental && !p->opts.experimental_functions) {
        fail_at(p, name.pos, "function \"%s\" is not enabled", f->name);
    }
    n->u.call.func = f;
    return p->failed ? NULL : n;
}

static bool parse_aggr_modifier(parser *p, pql_node *n)
{
    n->u.aggr.without = p->tok.type == PQL_T_WITHOUT;
    advance(p);
    return parse_grouping_labels(p, &n->u.aggr.grouping, &n->u.aggr.ngrouping);
}

/* Checks the arguments of an aggregation as upstream's newAggregateExpr. */
static void finish_aggr(parser *p, pql_node *n, pql_node **args, size_t nargs)
{
    size_t want = 1;
    if (nargs == 0) return fail_at(p, n->pos, "no arguments for aggregate expression provided");
    if (pql_aggr_has_param(n->u.aggr.op)) {
        bool experimental = n->u.aggr.op == PQL_AGGR_LIMITK || n->u.aggr.op == PQL_AGGR_LIMIT_RATIO;
        if (experimental && !p->opts.experimental_functions) {
            return fail_at(p, n->pos,
                           "%s() is experimental and must be enabled with "
                           "--enable-feature=promql-experimental-functions",
                           pql_aggr_name(n->u.aggr.op));
        }
        want = 2;
        n->u.aggr.param = args[0];
    }
    if (nargs != want) {
        return fail_at(p, n->pos,
                       "wrong number of arguments for aggregate expression provided, expected "
                       "%zu, got %zu",
                       want, nargs);
    }
    n->u.aggr.expr = args[want - 1];
}

static pql_node *parse_aggregation(parser *p)
{
    pql_node *n = new_node(p, PQL_NODE_AGGR, p->tok.pos);
    n->u.aggr.op = (pql_aggr_op)(p->tok.type - PQL_T_AGGR_START - 1);
    advance(p);
    bool before = p->tok.type == PQL_T_BY || p->tok.type == PQL_T_WITHOUT;
    if (before && !parse_aggr_modifier(p, n)) return NULL;
    pql_node **args;
    size_t nargs;
    if (!parse_call_args(p, &args, &nargs)) return NULL;
    if (!before && (p->tok.type == PQL_T_BY || p->tok.type == PQL_T_WITHOUT) &&
        !parse_aggr_modifier(p, n))
        return NULL;
    n->end = p->prev_end;
    finish_aggr(p, n, args, nargs);
    return p->failed ? NULL : n;
}

/* ---- Primary expressions */

static pql_node *parse_paren(parser *p)
{
    uint32_t pos = p->tok.pos;
    advance(p);
    pql_node *inner = parse_expr(p, 0);
    if (!inner || !expect(p, PQL_T_RPAREN, NULL, NULL)) return NULL;
    pql_node *n = new_node(p, PQL_NODE_PAREN, pos);
    n->u.paren.expr = inner;
    return n;
}

static pql_node *parse_string_literal(parser *p)
{
    pql_item it = p->tok;
    advance(p);
    pql_node *n = new_node(p, PQL_NODE_STRING, it.pos);
    n->u.string.value = unquote_item(p, &it, &n->u.string.len);
    return n;
}

static bool is_aggregator(pql_tok t)
{
    return t > PQL_T_AGGR_START && t < PQL_T_AGGR_END;
}

static pql_node *parse_primary(parser *p)
{
    pql_tok t = p->tok.type;
    if (p->failed) return NULL;
    if (is_number_token(t)) return number_literal(p);
    if (t == PQL_T_STRING) return parse_string_literal(p);
    if (t == PQL_T_LPAREN) return parse_paren(p);
    if (t == PQL_T_LBRACE) return parse_vector_selector(p);
    if (is_aggregator(t)) {
        pql_tok next = peek_type(p);
        if (next == PQL_T_LPAREN || next == PQL_T_BY || next == PQL_T_WITHOUT)
            return parse_aggregation(p);
        return parse_vector_selector(p);
    }
    bool callable = t == PQL_T_IDENT || (t >= PQL_T_START && t <= PQL_T_MIN_OF);
    if (callable && peek_type(p) == PQL_T_LPAREN) return parse_call(p);
    if (is_metric_identifier(t)) return parse_vector_selector(p);
    unexpected(p, NULL, NULL);
    return NULL;
}

/* ---- Duration expressions */

static void require_duration_expr(parser *p, const pql_node *n)
{
    if (!p->opts.duration_expr)
        fail_at(p, n->pos, "experimental duration expression is not enabled");
}

static pql_node *new_duration(parser *p, pql_op op, pql_node *lhs, pql_node *rhs, uint32_t pos)
{
    pql_node *n = new_node(p, PQL_NODE_DURATION, pos);
    n->u.duration.op = op;
    n->u.duration.lhs = lhs;
    n->u.duration.rhs = rhs;
    return n;
}

/* A number or duration literal where a duration is expected. */
static pql_node *duration_literal(parser *p)
{
    pql_node *n = number_literal(p);
    if (duration_out_of_range(n->u.number.value)) fail_at(p, n->pos, "duration out of range");
    return p->failed ? NULL : n;
}

/* step(), range(): the keyword is the current token. */
static pql_node *parse_step_or_range(parser *p, const dctx *ctx)
{
    uint32_t pos = p->tok.pos;
    pql_op op = p->tok.type == PQL_T_STEP ? PQL_OP_STEP : PQL_OP_RANGE;
    advance(p);
    if (!expect(p, PQL_T_LPAREN, ctx->context, ctx->expected)) return NULL;
    if (!expect(p, PQL_T_RPAREN, ctx->context, ctx->expected)) return NULL;
    pql_node *n = new_duration(p, op, NULL, NULL, pos);
    require_duration_expr(p, n);
    return p->failed ? NULL : n;
}

/* min_of(a, b), max_of(a, b). */
static pql_node *parse_min_max_of(parser *p, const dctx *ctx)
{
    uint32_t pos = p->tok.pos;
    pql_op op = p->tok.type == PQL_T_MIN_OF ? PQL_OP_MIN_OF : PQL_OP_MAX_OF;
    advance(p);
    if (!expect(p, PQL_T_LPAREN, ctx->context, ctx->expected)) return NULL;
    pql_node *a = parse_duration_expr(p, 0, ctx);
    if (!a || !expect(p, PQL_T_COMMA, ctx->context, ctx->expected)) return NULL;
    pql_node *b = parse_duration_expr(p, 0, ctx);
    if (!b || !expect(p, PQL_T_RPAREN, ctx->context, ctx->expected)) return NULL;
    pql_node *n = new_duration(p, op, a, b, pos);
    require_duration_expr(p, n);
    return p->failed ? NULL : n;
}

/* Marks a parenthesised duration expression; a bare literal is wrapped in a
 * unary '+' so that the parentheses print again. */
static pql_node *wrap_paren(parser *p, pql_node *e, uint32_t pos)
{
    if (e->kind == PQL_NODE_DURATION) {
        e->u.duration.wrapped = true;
        return e;
    }
    pql_node *n = new_duration(p, PQL_OP_ADD, NULL, e, pos);
    n->u.duration.wrapped = true;
    return n;
}

static pql_node *parse_paren_duration(parser *p, const dctx *ctx)
{
    uint32_t pos = p->tok.pos;
    advance(p);
    pql_node *e = parse_duration_expr(p, 0, ctx);
    if (!e || !expect(p, PQL_T_RPAREN, ctx->context, ctx->expected)) return NULL;
    require_duration_expr(p, e);
    if (p->failed) return NULL;
    pql_node *n = wrap_paren(p, e, pos);
    n->end = p->prev_end;
    return n;
}

/* A sign applied to a duration expression (upstream's applyUnaryOpToDurationExpr). */
static pql_node *apply_sign(parser *p, const pql_item *op, pql_node *e, bool wrapped)
{
    if (wrapped) e = wrap_paren(p, e, e->pos);
    if (e->kind == PQL_NODE_NUMBER) {
        if (op->type == PQL_T_SUB) e->u.number.value = -e->u.number.value;
        if (duration_out_of_range(e->u.number.value)) fail_at(p, op->pos, "duration out of range");
        e->pos = op->pos;
        return p->failed ? NULL : e;
    }
    if (op->type == PQL_T_ADD) return e;
    pql_node *n = new_duration(p, PQL_OP_SUB, NULL, e, op->pos);
    n->end = e->end;
    return n;
}

static pql_node *parse_duration_primary(parser *p, const dctx *ctx)
{
    switch (p->tok.type) {
    case PQL_T_NUMBER:
    case PQL_T_DURATION: return duration_literal(p);
    case PQL_T_STEP:
    case PQL_T_RANGE: return parse_step_or_range(p, ctx);
    case PQL_T_MIN_OF:
    case PQL_T_MAX_OF: return parse_min_max_of(p, ctx);
    case PQL_T_LPAREN: return parse_paren_duration(p, ctx);
    case PQL_T_ADD:
    case PQL_T_SUB: {
        pql_item op = p->tok;
        advance(p);
        pql_node *e = parse_duration_expr(p, PREC_POW, ctx);
        return e ? apply_sign(p, &op, e, false) : NULL;
    }
    default: unexpected(p, ctx->context, ctx->expected); return NULL;
    }
}

static int duration_prec(pql_tok t, pql_op *op)
{
    switch (t) {
    case PQL_T_ADD: *op = PQL_OP_ADD; return PREC_ADD;
    case PQL_T_SUB: *op = PQL_OP_SUB; return PREC_ADD;
    case PQL_T_MUL: *op = PQL_OP_MUL; return PREC_MUL;
    case PQL_T_DIV: *op = PQL_OP_DIV; return PREC_MUL;
    case PQL_T_MOD: *op = PQL_OP_MOD; return PREC_MUL;
    case PQL_T_POW: *op = PQL_OP_POW; return PREC_POW;
    default: return 0;
    }
}

static bool is_zero_literal(const pql_node *n)
{
    return n->kind == PQL_NODE_NUMBER && n->u.number.value == 0;
}

static pql_node *parse_duration_expr(parser *p, int min_prec, const dctx *ctx)
{
    pql_node *lhs = parse_duration_primary(p, ctx);
    pql_op op;
    int prec;
    while (lhs && (prec = duration_prec(p->tok.type, &op)) >= min_prec && prec > 0) {
        uint32_t op_pos = p->tok.pos;
        advance(p);
        pql_node *rhs = parse_duration_expr(p, op == PQL_OP_POW ? prec : prec + 1, ctx);
        if (!rhs) return NULL;
        require_duration_expr(p, lhs);
        if (op == PQL_OP_DIV && is_zero_literal(rhs)) fail_at(p, op_pos, "division by zero");
        if (op == PQL_OP_MOD && is_zero_literal(rhs)) fail_at(p, op_pos, "modulo by zero");
        if (p->failed) return NULL;
        lhs = new_duration(p, op, lhs, rhs, lhs->pos);
    }
    return p->failed ? NULL : lhs;
}

static bool starts_duration(pql_tok t)
{
    return is_number_token(t) || t == PQL_T_ADD || t == PQL_T_SUB || t == PQL_T_LPAREN ||
           t == PQL_T_STEP || t == PQL_T_RANGE || t == PQL_T_MIN_OF || t == PQL_T_MAX_OF;
}

/* A range or step: a duration expression whose literal value must be > 0. */
static pql_node *parse_positive_duration(parser *p, const dctx *ctx)
{
    if (!starts_duration(p->tok.type)) return unexpected(p, ctx->context, ctx->expected), NULL;
    pql_node *d = parse_duration_expr(p, 0, ctx);
    if (d && d->kind == PQL_NODE_NUMBER && d->u.number.value <= 0)
        fail_at(p, d->pos, "duration must be greater than 0");
    return p->failed ? NULL : d;
}

/* ---- Postfix modifiers */

static pql_node *range_vector_of(const pql_node *n)
{
    return n->u.matrix.vector;
}

static void set_range(pql_node *d, int64_t *ms, pql_node **expr)
{
    if (d->kind == PQL_NODE_NUMBER)
        *ms = seconds_to_ms(d->u.number.value);
    else
        *expr = d;
}

static pql_node *make_matrix(parser *p, pql_node *lhs, pql_node *range, uint32_t lb)
{
    if (lhs->kind != PQL_NODE_VECTOR)
        fail_at(p, lb, "ranges only allowed for vector selectors");
    else if (lhs->u.vector.timing.offset_ms != 0 || lhs->u.vector.timing.offset_expr)
        fail_at(p, lb, "no offset modifiers allowed before range");
    else if (lhs->u.vector.timing.at != PQL_AT_NONE)
        fail_at(p, lb, "no @ modifiers allowed before range");
    if (p->failed) return NULL;
    pql_node *m = new_node(p, PQL_NODE_MATRIX, lhs->pos);
    m->u.matrix.vector = lhs;
    set_range(range, &m->u.matrix.range_ms, &m->u.matrix.range_expr);
    return m;
}

static pql_node *parse_range_suffix(parser *p, pql_node *lhs)
{
    uint32_t lb = p->tok.pos;
    advance(p);
    pql_node *range = parse_positive_duration(p, &CTX_RANGE);
    if (!range) return NULL;
    if (p->tok.type == PQL_T_RBRACKET) {
        advance(p);
        return make_matrix(p, lhs, range, lb);
    }
    if (!expect(p, PQL_T_COLON, "subquery or range", "\":\" or \"]\"")) return NULL;
    pql_node *step = NULL;
    if (p->tok.type != PQL_T_RBRACKET) {
        step = parse_positive_duration(p, &CTX_STEP);
        if (!step || !expect(p, PQL_T_RBRACKET, "subquery selector", "\"]\"")) return NULL;
    } else {
        advance(p);
    }
    pql_node *s = new_node(p, PQL_NODE_SUBQUERY, lhs->pos);
    s->u.subquery.expr = lhs;
    set_range(range, &s->u.subquery.range_ms, &s->u.subquery.range_expr);
    if (step) set_range(step, &s->u.subquery.step_ms, &s->u.subquery.step_expr);
    return s;
}

/* The timing that an offset or @ after `e` modifies, or NULL with an error. */
static pql_timing *timing_of(parser *p, pql_node *e, const char *what)
{
    switch (e->kind) {
    case PQL_NODE_VECTOR: return &e->u.vector.timing;
    case PQL_NODE_MATRIX: return &range_vector_of(e)->u.vector.timing;
    case PQL_NODE_SUBQUERY: return &e->u.subquery.timing;
    default:
        fail_at(p, e->pos,
                "%s must be preceded by an instant vector selector or range vector selector or "
                "a subquery",
                what);
        return NULL;
    }
}

/* A signed step(), range(), min_of() or max_of() after offset: upstream
 * checks the duration-expression flag on the sign, not on the call. */
static pql_node *parse_signed_call(parser *p, const pql_item *op)
{
    bool opt = p->opts.duration_expr;
    p->opts.duration_expr = true;
    pql_node *e = p->tok.type == PQL_T_STEP || p->tok.type == PQL_T_RANGE
                      ? parse_step_or_range(p, &CTX_OFFSET)
                      : parse_min_max_of(p, &CTX_OFFSET);
    p->opts.duration_expr = opt;
    if (!e) return NULL;
    pql_node *n =
        new_duration(p, op->type == PQL_T_SUB ? PQL_OP_SUB : PQL_OP_ADD, NULL, e, op->pos);
    require_duration_expr(p, n);
    return p->failed ? NULL : n;
}

/* -( expr ): parenthesised and signed, without the flag check of a bare
 * parenthesis (as upstream's grammar has it). */
static pql_node *parse_signed_paren(parser *p, const pql_item *op)
{
    advance(p);
    pql_node *e = parse_duration_expr(p, 0, &CTX_OFFSET);
    if (!e || !expect(p, PQL_T_RPAREN, CTX_OFFSET.context, CTX_OFFSET.expected)) return NULL;
    return apply_sign(p, op, e, true);
}

static bool is_duration_call(pql_tok t)
{
    return t == PQL_T_STEP || t == PQL_T_RANGE || t == PQL_T_MIN_OF || t == PQL_T_MAX_OF;
}

/* offset_duration_expr: a literal, step(), range(), min_of/max_of(...) or a
 * parenthesised expression, each optionally signed. */
static pql_node *parse_offset_duration(parser *p)
{
    pql_tok t = p->tok.type;
    if (t == PQL_T_ADD || t == PQL_T_SUB) {
        pql_item op = p->tok;
        advance(p);
        t = p->tok.type;
        if (is_number_token(t)) {
            pql_node *e = duration_literal(p);
            return e ? apply_sign(p, &op, e, false) : NULL;
        }
        if (is_duration_call(t)) return parse_signed_call(p, &op);
        if (t == PQL_T_LPAREN) return parse_signed_paren(p, &op);
    } else if (is_number_token(t) || is_duration_call(t) || t == PQL_T_LPAREN) {
        return parse_duration_primary(p, &CTX_OFFSET);
    }
    unexpected(p, CTX_OFFSET.context, CTX_OFFSET.expected);
    return NULL;
}

static pql_node *parse_offset(parser *p, pql_node *e)
{
    advance(p);
    pql_node *d = parse_offset_duration(p);
    if (!d) return NULL;
    pql_timing *t = timing_of(p, e, "offset modifier");
    if (!t) return NULL;
    if (t->offset_ms != 0 || t->offset_expr)
        return fail_at(p, e->pos, "offset may not be set multiple times"), NULL;
    if (d->kind == PQL_NODE_NUMBER)
        t->offset_ms = seconds_to_ms(d->u.number.value);
    else
        t->offset_expr = d;
    e->end = p->prev_end;
    return e;
}

/* The value of `@ <number>`, signed or not. */
static bool parse_at_number(parser *p, double *v)
{
    double sign = 1;
    if (p->tok.type == PQL_T_ADD || p->tok.type == PQL_T_SUB) {
        sign = p->tok.type == PQL_T_SUB ? -1 : 1;
        advance(p);
    }
    if (!is_number_token(p->tok.type)) return unexpected(p, "@", "timestamp"), false;
    pql_item it = p->tok;
    advance(p);
    *v = sign * (it.type == PQL_T_DURATION ? parse_duration_token(p, &it) : parse_number(p, &it));
    return !p->failed;
}

static pql_node *parse_at(parser *p, pql_node *e)
{
    advance(p);
    pql_at at = PQL_AT_TS;
    double ts = 0;
    if (p->tok.type == PQL_T_START || p->tok.type == PQL_T_END) {
        at = p->tok.type == PQL_T_START ? PQL_AT_START : PQL_AT_END;
        advance(p);
        if (!expect(p, PQL_T_LPAREN, "@", "timestamp") ||
            !expect(p, PQL_T_RPAREN, "@", "timestamp"))
            return NULL;
    } else if (!parse_at_number(p, &ts)) {
        return NULL;
    }
    if (at == PQL_AT_TS &&
        (!isfinite(ts) || ts >= 9223372036854775807.0 || ts <= -9223372036854775808.0)) {
        char v[64];
        snprintf(v, sizeof v,
                 isnan(ts)   ? "NaN"
                 : isinf(ts) ? (ts > 0 ? "+Inf" : "-Inf")
                             : "%f",
                 ts);
        return fail_at(p, e->pos, "timestamp out of bounds for @ modifier: %s", v), NULL;
    }
    pql_timing *t = timing_of(p, e, "@ modifier");
    if (!t) return NULL;
    if (t->at != PQL_AT_NONE)
        return fail_at(p, e->pos, "@ <timestamp> may not be set multiple times"), NULL;
    t->at = at;
    t->at_ms = seconds_to_ms(ts);
    e->end = p->prev_end;
    return e;
}

/* anchored / smoothed (extended range selectors). */
static pql_node *parse_extended(parser *p, pql_node *e)
{
    bool anchored = p->tok.type == PQL_T_ANCHORED;
    const char *what = anchored ? "anchored" : "smoothed";
    advance(p);
    if (!p->opts.extended_range)
        return fail_at(p, e->pos, "%s modifier is experimental and not enabled", what), NULL;
    pql_node *vs = e->kind == PQL_NODE_MATRIX ? range_vector_of(e) : e;
    if (e->kind == PQL_NODE_SUBQUERY)
        return fail_at(p, e->pos, "%s modifier is not supported for subqueries", what), NULL;
    if (vs->kind != PQL_NODE_VECTOR)
        return fail_at(p, e->pos, "%s modifier not implemented", what), NULL;
    if (anchored)
        vs->u.vector.anchored = true;
    else
        vs->u.vector.smoothed = true;
    if (vs->u.vector.anchored && vs->u.vector.smoothed)
        return fail_at(p, e->pos, "anchored and smoothed modifiers cannot be used together"), NULL;
    return e;
}

static pql_node *parse_postfix(parser *p, pql_node *e)
{
    while (e && !p->failed) {
        switch (p->tok.type) {
        case PQL_T_LBRACKET: e = parse_range_suffix(p, e); break;
        case PQL_T_OFFSET: e = parse_offset(p, e); break;
        case PQL_T_AT: e = parse_at(p, e); break;
        case PQL_T_ANCHORED:
        case PQL_T_SMOOTHED: e = parse_extended(p, e); break;
        default: return e;
        }
    }
    return p->failed ? NULL : e;
}

/* ---- Unary and binary expressions */

static pql_node *parse_unary(parser *p)
{
    if (p->tok.type != PQL_T_ADD && p->tok.type != PQL_T_SUB)
        return parse_postfix(p, parse_primary(p));
    pql_item op = p->tok;
    advance(p);
    pql_node *e = parse_expr(p, PREC_POW);
    if (!e) return NULL;
    if (e->kind == PQL_NODE_NUMBER) {
        if (op.type == PQL_T_SUB) e->u.number.value = -e->u.number.value;
        e->pos = op.pos;
        return e;
    }
    pql_node *n = new_node(p, PQL_NODE_UNARY, op.pos);
    n->u.unary.op = op.type == PQL_T_SUB ? PQL_OP_SUB : PQL_OP_ADD;
    n->u.unary.expr = e;
    return n;
}

static int binary_prec(pql_tok t, pql_op *op)
{
    static const struct {
        pql_tok t;
        pql_op op;
        int prec;
    } table[] = {
        {PQL_T_LOR, PQL_OP_OR, PREC_OR},
        {PQL_T_LAND, PQL_OP_AND, PREC_AND},
        {PQL_T_LUNLESS, PQL_OP_UNLESS, PREC_AND},
        {PQL_T_EQLC, PQL_OP_EQLC, PREC_CMP},
        {PQL_T_NEQ, PQL_OP_NEQ, PREC_CMP},
        {PQL_T_LTE, PQL_OP_LTE, PREC_CMP},
        {PQL_T_LSS, PQL_OP_LSS, PREC_CMP},
        {PQL_T_GTE, PQL_OP_GTE, PREC_CMP},
        {PQL_T_GTR, PQL_OP_GTR, PREC_CMP},
        {PQL_T_TRIM_UPPER, PQL_OP_TRIM_UPPER, PREC_CMP},
        {PQL_T_TRIM_LOWER, PQL_OP_TRIM_LOWER, PREC_CMP},
        {PQL_T_ADD, PQL_OP_ADD, PREC_ADD},
        {PQL_T_SUB, PQL_OP_SUB, PREC_ADD},
        {PQL_T_MUL, PQL_OP_MUL, PREC_MUL},
        {PQL_T_DIV, PQL_OP_DIV, PREC_MUL},
        {PQL_T_MOD, PQL_OP_MOD, PREC_MUL},
        {PQL_T_ATAN2, PQL_OP_ATAN2, PREC_MUL},
        {PQL_T_POW, PQL_OP_POW, PREC_POW},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (table[i].t == t) {
            *op = table[i].op;
            return table[i].prec;
        }
    }
    return 0;
}

/* fill(v) and friends: `( [+-] number )`. */
static bool parse_fill_value(parser *p, double *v)
{
    advance(p);
    if (!expect(p, PQL_T_LPAREN, NULL, NULL)) return false;
    double sign = 1;
    if (p->tok.type == PQL_T_ADD || p->tok.type == PQL_T_SUB) {
        sign = p->tok.type == PQL_T_SUB ? -1 : 1;
        advance(p);
    }
    if (!is_number_token(p->tok.type)) return unexpected(p, NULL, NULL), false;
    pql_node *n = number_literal(p);
    *v = sign * n->u.number.value;
    return expect(p, PQL_T_RPAREN, NULL, NULL);
}

static bool parse_fill(parser *p, pql_node *b)
{
    pql_tok t = p->tok.type;
    if (t == PQL_T_FILL) {
        if (!parse_fill_value(p, &b->u.binary.fill_lhs)) return false;
        b->u.binary.fill_rhs = b->u.binary.fill_lhs;
        b->u.binary.has_fill_lhs = b->u.binary.has_fill_rhs = true;
        return true;
    }
    if (t != PQL_T_FILL_LEFT && t != PQL_T_FILL_RIGHT) return true;
    pql_tok other = t == PQL_T_FILL_LEFT ? PQL_T_FILL_RIGHT : PQL_T_FILL_LEFT;
    for (int i = 0; i < 2 && p->tok.type == t; i++, t = other) {
        bool left = t == PQL_T_FILL_LEFT;
        if (!parse_fill_value(p, left ? &b->u.binary.fill_lhs : &b->u.binary.fill_rhs))
            return false;
        if (left)
            b->u.binary.has_fill_lhs = true;
        else
            b->u.binary.has_fill_rhs = true;
    }
    return true;
}

/* bool, on/ignoring(...), group_left/group_right[(...)], fill modifiers. */
static bool parse_bin_modifiers(parser *p, pql_node *b)
{
    b->u.binary.matching = true;
    b->u.binary.card = PQL_CARD_ONE_TO_ONE;
    if (p->tok.type == PQL_T_BOOL) {
        b->u.binary.return_bool = true;
        advance(p);
    }
    if (p->tok.type == PQL_T_ON || p->tok.type == PQL_T_IGNORING) {
        b->u.binary.on = p->tok.type == PQL_T_ON;
        advance(p);
        if (!parse_grouping_labels(p, &b->u.binary.labels, &b->u.binary.nlabels)) return false;
        if (p->tok.type == PQL_T_GROUP_LEFT || p->tok.type == PQL_T_GROUP_RIGHT) {
            b->u.binary.card =
                p->tok.type == PQL_T_GROUP_LEFT ? PQL_CARD_MANY_TO_ONE : PQL_CARD_ONE_TO_MANY;
            advance(p);
            if (p->tok.type == PQL_T_LPAREN &&
                !parse_grouping_labels(p, &b->u.binary.include, &b->u.binary.ninclude))
                return false;
        }
    }
    return parse_fill(p, b);
}

static pql_node *parse_expr(parser *p, int min_prec)
{
    pql_node *lhs = parse_unary(p);
    pql_op op;
    int prec;
    while (lhs && (prec = binary_prec(p->tok.type, &op)) > 0 && prec >= min_prec) {
        advance(p);
        pql_node *b = new_node(p, PQL_NODE_BINARY, lhs->pos);
        b->u.binary.op = op;
        if (!parse_bin_modifiers(p, b)) return NULL;
        pql_node *rhs = parse_expr(p, op == PQL_OP_POW ? prec : prec + 1);
        if (!rhs) return NULL;
        b->u.binary.lhs = lhs;
        b->u.binary.rhs = rhs;
        b->end = rhs->end;
        bool fill = b->u.binary.has_fill_lhs || b->u.binary.has_fill_rhs;
        if (fill && !p->opts.fill_modifiers)
            return fail_at(p, b->pos, "binop fill modifiers are experimental and not enabled"),
                   NULL;
        lhs = b;
    }
    return p->failed ? NULL : lhs;
}

/* ---- Entry points */

pql_node *pql_parse_n(const char *query, size_t len, const pql_parse_opts *opts, core_arena *arena,
                      core_err *err)
{
    parser p = {.in = query, .len = len, .a = arena, .err = err};
    if (opts) p.opts = *opts;
    pql_lex_init(&p.lx, query, len);
    lex_one(&p, &p.tok);
    if (p.failed) return NULL;
    if (p.tok.type == PQL_T_EOF) {
        fail_at(&p, 0, "no expression found in input");
        return NULL;
    }
    pql_node *root = parse_expr(&p, 0);
    if (root && p.tok.type != PQL_T_EOF) unexpected(&p, NULL, NULL);
    if (p.failed || !root) return NULL;
    if (pql_check(root, query, len, err) < 0) return NULL;
    return root;
}

pql_node *pql_parse(const char *query, const pql_parse_opts *opts, core_arena *arena, core_err *err)
{
    return pql_parse_n(query, strlen(query), opts, arena, err);
}
