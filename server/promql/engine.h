/*
 * engine.h - the PromQL evaluator: instant and range queries over a parsed AST.
 *
 * The engine reads series through a pql_storage (storage.h) and allocates
 * everything - intermediate values and the result - in the caller's per-query
 * arena, so one core_arena_destroy() frees a query.  Semantics follow
 * Prometheus 3.x: lookback delta, staleness markers, left-open range
 * selectors (t-range, t], offset and @, subqueries aligned to their step,
 * delayed __name__ removal.  Native histograms are not supported yet.
 *
 *     pql_node *q = pql_parse("sum(rate(x[5m]))", NULL, &arena, &err);
 *     pql_result r;
 *     pql_engine_opts o = PQL_ENGINE_OPTS_DEFAULT;
 *     if (pql_eval_instant(st, &o, q, t_ms, &arena, &r, &err) < 0) puts(err.msg);
 *
 * Errors carry upstream's messages ("vector cannot contain metrics with the
 * same labelset", "query processing would load too many samples into memory
 * in query execution", ...).
 */
#ifndef PROMQL_ENGINE_H
#define PROMQL_ENGINE_H

#include "promql/promql.h"
#include "promql/storage.h"

typedef struct pql_engine_opts {
    int64_t lookback_ms;      /* --query.lookback-delta, 5m */
    size_t max_samples;       /* --query.max-samples */
    int64_t subquery_step_ms; /* step of subqueries written without one */
    /* Asked now and then while evaluating (NULL: never): true stops the query
     * with upstream's "query timed out in expression evaluation" and frees
     * what it held, as --query.timeout does upstream. */
    bool (*cancelled)(void *ctx);
    void *cancel_ctx;
} pql_engine_opts;

#define PQL_ENGINE_OPTS_DEFAULT                                         \
    {                                                                   \
        .lookback_ms = 5 * CORE_MS_PER_MINUTE, .max_samples = 50000000, \
        .subquery_step_ms = CORE_MS_PER_MINUTE                          \
    }

typedef struct pql_point {
    int64_t t;
    double v;
} pql_point;

typedef struct pql_result_series {
    const core_labels *labels;
    pql_point *pts;
    size_t n;
} pql_result_series;

/* A warning or info found while evaluating (upstream's util/annotations):
 * `msg` is the full text without the position ("PromQL warning: ..."), `pos`
 * the byte offset in the query of the expression it is about. */
typedef struct pql_annotation {
    bool info; /* an info; else a warning */
    const char *msg;
    uint32_t pos;
} pql_annotation;

/* Appends upstream's text of `a`: msg and " (line:col)" of pos in `query`. */
void pql_annotation_format(const pql_annotation *a, const char *query, core_sb *sb);

/* A query's value.  SCALAR: `scalar` at `t`; STRING: `str`; VECTOR: series
 * with one point each, in evaluation order; MATRIX: a range query's series
 * sorted by labels, or an instant query's range vector. */
typedef struct pql_result {
    pql_type type;
    double scalar;
    int64_t t;
    const char *str;
    pql_result_series *series;
    size_t nseries;
    pql_annotation *annos; /* warnings and infos, each once, in the order found */
    size_t nannos;
} pql_result;

/* Evaluates `expr` at time t.  Returns 0, or -1 with err. */
int pql_eval_instant(pql_storage *st, const pql_engine_opts *opts, const pql_node *expr, int64_t t,
                     core_arena *arena, pql_result *res, core_err *err);

/* Evaluates `expr` at start, start+step, ... <= end; the result is a matrix
 * (scalars become a series without labels).  Returns 0, or -1 with err. */
int pql_eval_range(pql_storage *st, const pql_engine_opts *opts, const pql_node *expr,
                   int64_t start, int64_t end, int64_t step, core_arena *arena, pql_result *res,
                   core_err *err);

#endif
