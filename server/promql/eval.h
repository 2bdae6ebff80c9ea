/*
 * eval.h - what the evaluator's files share:
 *
 *   engine.c          entry points, selectors, subqueries, the step loop
 *   eval_binary.c     binary operators and vector matching
 *   eval_agg.c        aggregations
 *   functions_eval.c  the function implementations
 *   eval_labels.c     label-set helpers in arena memory
 *
 * A query error unwinds with longjmp to the entry point (ev_fail); since every
 * allocation lives in the query arena (and regexes are freed before anything
 * that can fail runs), nothing leaks.
 */
#ifndef PROMQL_EVAL_H
#define PROMQL_EVAL_H

#include "promql/engine.h"

#include <setjmp.h>

/* One series of a step-wise result: points at evaluation steps. */
typedef struct ev_series {
    const core_labels *ls;
    pql_point *pts;
    size_t n, cap;
    bool drop_name; /* __name__ goes at the end of evaluation */
} ev_series;

typedef struct ev_matrix {
    ev_series *s;
    size_t n, cap;
} ev_matrix;

/* A value for every step: a scalar per step, a matrix, or a string. */
typedef struct ev_val {
    pql_type type;
    double *scalars; /* SCALAR: one per step */
    ev_matrix m;     /* VECTOR (points at steps) or MATRIX (raw samples) */
    const char *str;
} ev_val;

/* One step's instant vector. */
typedef struct ev_sample {
    const core_labels *ls;
    double v;
    int64_t t; /* sample time, for timestamp() */
    bool drop_name;
} ev_sample;

typedef struct ev_vec {
    ev_sample *s;
    size_t n, cap;
} ev_vec;

typedef struct ev_annos {
    pql_annotation *v;
    size_t n, cap;
} ev_annos;

typedef struct ev_ctx {
    pql_storage *st;
    core_arena *a;
    const pql_engine_opts *o;
    int64_t start, end, step; /* this evaluator's steps */
    int64_t qstart, qend;     /* the query's, for start() and end() */
    int64_t qstep;            /* the query's step, 0 for instant queries */
    size_t samples;           /* samples held, against o->max_samples */
    ev_annos *annos;          /* the query's, shared with subquery evaluators */
    jmp_buf *jb;
    core_err *err;
} ev_ctx;

/* Unwinds the query with an error message. */
_Noreturn void ev_fail(ev_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Records a warning (info=false) or an info about the expression at pos;
 * an annotation already recorded is not added twice. */
void ev_annotate(ev_ctx *c, bool info, uint32_t pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Go's %g of a float (NaN, +Inf, -Inf, 1e+06, 0.1). */
const char *ev_fmt_float(ev_ctx *c, double v);
/* Counts n more samples held; fails past the limit. */
void ev_count(ev_ctx *c, size_t n);

size_t ev_nsteps(const ev_ctx *c);
ev_val ev_eval(ev_ctx *c, const pql_node *n);
const pql_node *ev_unparen(const pql_node *n);

void ev_vec_push(ev_ctx *c, ev_vec *v, ev_sample s);
void ev_series_push(ev_ctx *c, ev_series *s, int64_t t, double v);
ev_series *ev_matrix_add(ev_ctx *c, ev_matrix *m, const core_labels *ls);

/* Step-wise evaluation: for each step, the arguments' vectors (a scalar
 * becomes one sample without labels) go to fn, whose output is collected
 * into series. */
typedef void (*ev_step_fn)(ev_ctx *c, const void *user, ev_vec *args, int64_t ts, ev_vec *out);
ev_val ev_range_eval(ev_ctx *c, ev_step_fn fn, const void *user, ev_val *args, size_t nargs);
ev_val ev_scalar_val(ev_ctx *c, double (*fn)(ev_ctx *, int64_t, const void *), const void *user);

/* The reference time of step `ts`: the @ time or the step, minus the offset. */
int64_t ev_ref_time(const ev_ctx *c, const pql_timing *t, int64_t ts);
/* An instant vector selector; with `ts_values` each point holds the sample's
 * timestamp in seconds (for timestamp()). */
ev_val ev_vector_selector(ev_ctx *c, const pql_node *vs, bool ts_values);
/* A function's range-vector argument (matrix selector or subquery): its
 * samples over the whole query range, its timing and range. */
void ev_range_arg(ev_ctx *c, const pql_node *arg, ev_matrix *raw, const pql_timing **tm,
                  int64_t *range);
/* The window (ref-range, ref] of a loaded series: first index and count. */
size_t ev_window(const ev_series *s, int64_t ref, int64_t range, size_t *first);

/* Binary operators, aggregations, function calls. */
ev_val ev_binary(ev_ctx *c, const pql_node *n);
ev_val ev_aggregate(ev_ctx *c, const pql_node *n);
ev_val ev_call(ev_ctx *c, const pql_node *n);
double ev_scalar_binop(pql_op op, double l, double r, bool *keep);
/* Kahan-Neumaier summation step. */
double ev_kahan_inc(double inc, double sum, double *c);
/* Upstream's quantile over sorted-or-not values (modifies v). */
double ev_quantile(double q, double *v, size_t n);

/* ---- Label sets in arena memory (eval_labels.c) */

const core_labels *ev_labels_empty(ev_ctx *c);
const core_labels *ev_labels_drop_name(ev_ctx *c, const core_labels *ls);
/* Keeps (keep=true) or deletes the listed names; `drop_name` also deletes __name__. */
const core_labels *ev_labels_filter(ev_ctx *c, const core_labels *ls, const char *const *names,
                                    size_t n, bool keep, bool drop_name);
/* Sets (value "" deletes) one label. */
const core_labels *ev_labels_set(ev_ctx *c, const core_labels *ls, const char *name,
                                 const char *value);
/* Hash of the listed labels (keep) or of all but them and __name__ (!keep). */
uint64_t ev_labels_sig(const core_labels *ls, const char *const *names, size_t n, bool keep);
void ev_labels_string(const core_labels *ls, core_sb *sb);

#endif
