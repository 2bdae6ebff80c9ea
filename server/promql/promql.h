/*
 * promql.h - the door of server/promql: PromQL's lexer, parser, AST and printer.
 *
 * The language is Prometheus 3.x's.  pql_parse() reads a query into an AST that
 * lives in a caller's core_arena (one per query: nothing in it is freed on its
 * own), type-checks it as upstream's parser does and reports the first error
 * with upstream's text and position:
 *
 *     core_arena a = {0};
 *     core_err err;
 *     pql_node *q = pql_parse("sum by (job) (rate(x[5m]))", NULL, &a, &err);
 *     if (!q) puts(err.msg);   // "1:14: parse error: unexpected ..."
 *     core_sb sb = CORE_SB_INIT;
 *     pql_print(q, &sb);       // canonical text, as /api/v1/format_query prints it
 *     core_arena_destroy(&a);
 *
 * Features upstream keeps behind flags (experimental functions, duration
 * expressions, smoothed/anchored range selectors, fill modifiers) are off
 * unless pql_parse_opts turns them on; with them off the parser gives
 * upstream's "... is not enabled" errors.
 *
 * The function table (name, argument types, variadic count, return type) is
 * pql_func_lookup()'s, for the evaluator to reuse.
 */
#ifndef PROMQL_PROMQL_H
#define PROMQL_PROMQL_H

#include "core/core.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Value types */

typedef enum pql_type {
    PQL_TYPE_NONE,
    PQL_TYPE_SCALAR,
    PQL_TYPE_VECTOR, /* instant vector */
    PQL_TYPE_MATRIX, /* range vector */
    PQL_TYPE_STRING,
} pql_type;

/* "scalar", "instant vector", "range vector", "string", "none": the names
 * upstream's messages use. */
const char *pql_type_doc_name(pql_type t);

/* ---- Functions */

typedef struct pql_func {
    const char *name;
    pql_type arg_types[5];
    int nargs;         /* entries used in arg_types */
    int variadic;      /* 0: exact; n > 0: up to n more of the last type; -1: any number */
    pql_type ret;      /* return type */
    bool experimental; /* needs pql_parse_opts.experimental_functions */
} pql_func;

/* The function called `name` (exact, case-sensitive), or NULL. */
const pql_func *pql_func_lookup(const char *name, size_t len);
/* Every function, sorted by name; *n receives the count. */
const pql_func *pql_func_all(size_t *n);

/* ---- Operators */

typedef enum pql_op {
    PQL_OP_NONE,
    /* arithmetic */
    PQL_OP_ADD,
    PQL_OP_SUB,
    PQL_OP_MUL,
    PQL_OP_DIV,
    PQL_OP_MOD,
    PQL_OP_POW,
    PQL_OP_ATAN2,
    /* comparison */
    PQL_OP_EQLC,
    PQL_OP_NEQ,
    PQL_OP_LTE,
    PQL_OP_LSS,
    PQL_OP_GTE,
    PQL_OP_GTR,
    /* native-histogram trimming (3.x): </ and >/ */
    PQL_OP_TRIM_UPPER,
    PQL_OP_TRIM_LOWER,
    /* set */
    PQL_OP_AND,
    PQL_OP_OR,
    PQL_OP_UNLESS,
    /* duration expressions only */
    PQL_OP_STEP,
    PQL_OP_RANGE,
    PQL_OP_MIN_OF,
    PQL_OP_MAX_OF,
} pql_op;

/* The operator as written: "+", "==", "and", "atan2", "step", ... */
const char *pql_op_name(pql_op op);
bool pql_op_is_comparison(pql_op op);
bool pql_op_is_set(pql_op op);

typedef enum pql_aggr_op {
    PQL_AGGR_SUM,
    PQL_AGGR_AVG,
    PQL_AGGR_COUNT,
    PQL_AGGR_MIN,
    PQL_AGGR_MAX,
    PQL_AGGR_GROUP,
    PQL_AGGR_STDDEV,
    PQL_AGGR_STDVAR,
    PQL_AGGR_TOPK,
    PQL_AGGR_BOTTOMK,
    PQL_AGGR_QUANTILE,
    PQL_AGGR_COUNT_VALUES,
    PQL_AGGR_LIMITK,
    PQL_AGGR_LIMIT_RATIO,
} pql_aggr_op;

/* "sum", "count_values", ... */
const char *pql_aggr_name(pql_aggr_op op);
/* Whether the aggregation takes a parameter before the vector (topk, quantile, ...). */
bool pql_aggr_has_param(pql_aggr_op op);

/* ---- AST */

typedef enum pql_node_kind {
    PQL_NODE_NUMBER,
    PQL_NODE_STRING,
    PQL_NODE_VECTOR, /* vector selector */
    PQL_NODE_MATRIX, /* vector selector with a range */
    PQL_NODE_SUBQUERY,
    PQL_NODE_CALL,
    PQL_NODE_AGGR,
    PQL_NODE_BINARY,
    PQL_NODE_UNARY,
    PQL_NODE_PAREN,
    PQL_NODE_DURATION, /* duration expression (ranges, steps, offsets) */
} pql_node_kind;

typedef enum pql_match_type {
    PQL_MATCH_EQ,  /* = */
    PQL_MATCH_NEQ, /* != */
    PQL_MATCH_RE,  /* =~ */
    PQL_MATCH_NRE, /* !~ */
} pql_match_type;

typedef struct pql_matcher {
    pql_match_type type;
    const char *name;
    const char *value;
    size_t value_len;   /* a value may hold NUL bytes ("\x00") */
    bool matches_empty; /* whether the matcher matches the empty string */
} pql_matcher;

/* The @ modifier. */
typedef enum pql_at {
    PQL_AT_NONE,
    PQL_AT_TS,    /* @ <at_ms> */
    PQL_AT_START, /* @ start() */
    PQL_AT_END,   /* @ end() */
} pql_at;

/* Vector matching of a binary operator between two instant vectors. */
typedef enum pql_card {
    PQL_CARD_ONE_TO_ONE,
    PQL_CARD_MANY_TO_ONE,  /* group_left */
    PQL_CARD_ONE_TO_MANY,  /* group_right */
    PQL_CARD_MANY_TO_MANY, /* set operators */
} pql_card;

typedef struct pql_node pql_node;

/* Time modifiers shared by selectors and subqueries. */
typedef struct pql_timing {
    int64_t offset_ms;     /* negative for `offset -5m` */
    pql_node *offset_expr; /* PQL_NODE_DURATION or NULL: offset given as an expression */
    pql_at at;
    int64_t at_ms; /* when at == PQL_AT_TS */
} pql_timing;

struct pql_node {
    pql_node_kind kind;
    uint32_t pos, end; /* byte range in the query: [pos, end) */
    union {
        struct {
            double value;
            bool duration; /* written as a duration ("5m"): printed as one */
        } number;
        struct {
            const char *value;
            size_t len;
        } string;
        struct {
            const char *name;      /* "" when the name is given only in braces */
            pql_matcher *matchers; /* a `name` outside braces adds __name__="name" last */
            size_t nmatchers;
            pql_timing timing;
            bool anchored, smoothed;
            bool bypass_empty_check; /* info()'s second argument */
        } vector;
        struct {
            pql_node *vector; /* PQL_NODE_VECTOR: it holds offset and @ */
            int64_t range_ms;
            pql_node *range_expr; /* or NULL */
        } matrix;
        struct {
            pql_node *expr;
            int64_t range_ms, step_ms; /* step_ms 0: default step */
            pql_node *range_expr, *step_expr;
            pql_timing timing;
        } subquery;
        struct {
            const pql_func *func;
            pql_node **args;
            size_t nargs;
        } call;
        struct {
            pql_aggr_op op;
            pql_node *expr;
            pql_node *param; /* NULL unless pql_aggr_has_param() */
            const char **grouping;
            size_t ngrouping;
            bool without;
        } aggr;
        struct {
            pql_op op;
            pql_node *lhs, *rhs;
            bool return_bool;
            bool matching; /* false when a side is a scalar: no vector matching */
            pql_card card;
            bool on; /* on(...) rather than ignoring(...) */
            const char **labels;
            size_t nlabels;
            const char **include; /* group_left/group_right labels */
            size_t ninclude;
            bool has_fill_lhs, has_fill_rhs;
            double fill_lhs, fill_rhs;
        } binary;
        struct {
            pql_op op; /* PQL_OP_ADD or PQL_OP_SUB */
            pql_node *expr;
        } unary;
        struct {
            pql_node *expr;
        } paren;
        struct {
            pql_op op;     /* arithmetic, PQL_OP_STEP/RANGE, PQL_OP_MIN_OF/MAX_OF */
            pql_node *lhs; /* NULL for unary +/-, step(), range() */
            pql_node *rhs;
            bool wrapped; /* written in parentheses */
        } duration;
    } u;
};

/* The value type of an expression. */
pql_type pql_node_type(const pql_node *n);

/* ---- Parsing */

typedef struct pql_parse_opts {
    bool experimental_functions; /* --enable-feature=promql-experimental-functions */
    bool duration_expr;          /* --enable-feature=promql-duration-expr */
    bool extended_range;         /* smoothed / anchored (promql-extended-range-selectors) */
    bool fill_modifiers;         /* fill(), fill_left(), fill_right() on binary operators */
} pql_parse_opts;

/* Parses and type-checks `query` (NUL-terminated).  opts NULL: every flag off.
 * Returns the root, allocated in `arena`, or NULL with err set to upstream's
 * message: "<line>:<col>: parse error: <what>". */
pql_node *pql_parse(const char *query, const pql_parse_opts *opts, core_arena *arena,
                    core_err *err);
/* Like pql_parse with an explicit length; the query need not be NUL-terminated. */
pql_node *pql_parse_n(const char *query, size_t len, const pql_parse_opts *opts, core_arena *arena,
                      core_err *err);

/* ---- Printing */

/* Appends the canonical text of `n` (upstream's Expr.String()). */
void pql_print(const pql_node *n, core_sb *sb);

#endif
