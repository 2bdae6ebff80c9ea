/*
 * eval.h - what the evaluator's files share:
 *
 *   engine.c          entry points, selectors, subqueries, the step loop
 *   eval_binary.c     binary operators and vector matching
 *   eval_agg.c        aggregations
 *   functions_eval.c  the function implementations
 *   eval_labels.c     label-set helpers in arena memory
 *
 * A query error unwinds with longjmp to the entry point (ev_fail); every
 * allocation lives in the query arena or is a scratch buffer on the query's
 * list (ev_tmp_alloc), which the entry point frees whatever happens, and
 * regexes are freed before anything that can fail runs, so nothing leaks.
 *
 * Series-at-a-time evaluation (ev_stream): nodes whose output series each
 * depend on one input series (selectors, functions over range vectors,
 * element-wise functions, vector-scalar operators) hand out their series one
 * by one into reused buffers.  Aggregations and range functions over
 * subqueries consume them that way, so `sum(rate(x[5m]))` never holds more
 * than one series of x and the aggregation's state per group and step;
 * every other consumer materializes them (ev_eval).
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
    core_arena *a;       /* the query's arena, or a step's scratch (ev_range_eval) */
    core_arena *qa;      /* the query's arena */
    core_arena *scratch; /* the step functions' (shared) */
    const pql_engine_opts *o;
    int64_t start, end, step; /* this evaluator's steps */
    int64_t qstart, qend;     /* the query's, for start() and end() */
    int64_t qstep;            /* the query's step, 0 for instant queries */
    size_t *samples;          /* samples held, against o->max_samples (shared) */
    unsigned cancel_checks;   /* calls of ev_count, to ask o->cancelled now and then */
    ev_annos *annos;          /* the query's, shared with subquery evaluators */
    struct ev_tmp *tmp;       /* the query's scratch buffers (shared) */
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

/* Heap memory that goes back before the query ends (ev_tmp_free), or at its
 * end whatever happens; realloc of NULL allocates. */
void *ev_tmp_alloc(ev_ctx *c, size_t n);
void *ev_tmp_realloc(ev_ctx *c, void *p, size_t n);
void ev_tmp_free(ev_ctx *c, void *p);

/* A hash map from a 64-bit key to a nonzero value (an index + 1), in
 * scratch memory; a zeroed ev_map is empty. */
typedef struct ev_map {
    uint64_t *keys;
    size_t *vals; /* 0: empty */
    size_t cap, n;
} ev_map;
/* The value of key, 0 when new (set it then). */
size_t *ev_map_slot(ev_ctx *c, ev_map *m, uint64_t key);
/* The value of key, or 0. */
size_t ev_map_get(const ev_map *m, uint64_t key);
void ev_map_free(ev_ctx *c, ev_map *m);

size_t ev_nsteps(const ev_ctx *c);
/* The step index of time ts, a step time of c at or after step *st (the
 * last one found: points in time order walk the steps without dividing). */
static inline size_t ev_step_of(const ev_ctx *c, int64_t ts, size_t *st)
{
    while (c->start + (int64_t)*st * c->step < ts)
        (*st)++;
    return *st;
}
ev_val ev_eval(ev_ctx *c, const pql_node *n);
const pql_node *ev_unparen(const pql_node *n);

void ev_vec_push(ev_ctx *c, ev_vec *v, ev_sample s);
void ev_series_push(ev_ctx *c, ev_series *s, int64_t t, double v);
ev_series *ev_matrix_add(ev_ctx *c, ev_matrix *m, const core_labels *ls);

/* ---- Series at a time */

/* A node's series one by one.  next() fills *out and returns true, or
 * returns false at the end (and gives its buffers back): labels stay valid
 * for the query, points (at the steps of the stream's evaluator, or raw
 * samples for a range source) until the next call.  A stream counts the
 * points it hands out against max_samples. */
typedef struct ev_stream ev_stream;
struct ev_stream {
    bool (*next)(ev_stream *s, ev_series *out);
    ev_ctx *c;
};

/* Whether n evaluates series by series (see above). */
bool ev_streams(const pql_node *n);
/* A stream over n's instant-vector value: n's own when it streams, else
 * over its evaluated matrix. */
ev_stream *ev_stream_open(ev_ctx *c, const pql_node *n);
/* A stream's series, in arena memory. */
ev_val ev_materialize(ev_ctx *c, ev_stream *s);
/* Nodes of other files that stream (ev_streams says which). */
ev_stream *ev_call_stream(ev_ctx *c, const pql_node *n);
bool ev_call_streams(const pql_node *n);
ev_stream *ev_binary_stream(ev_ctx *c, const pql_node *n);
bool ev_binary_streams(const pql_node *n);

/* Element-wise streams: each point of the source goes through map(), which
 * sets *out and returns whether to keep it; st is the point's step index.
 * `drop_name` marks every series for the name's removal. */
typedef bool (*ev_map_fn)(const void *user, double v, size_t st, int64_t t, double *out);
ev_stream *ev_map_stream(ev_ctx *c, ev_stream *src, ev_map_fn map, const void *user,
                         bool drop_name);

/* A range vector argument (matrix selector or subquery) as a stream of
 * series with their raw samples over the whole query range (stale markers
 * dropped), plus its timing and range. */
ev_stream *ev_range_source(ev_ctx *c, const pql_node *arg, const pql_timing **tm, int64_t *range);
/* The selector stream (points at steps); with `ts_values` each point holds
 * the sample's timestamp in seconds (for timestamp()). */
ev_stream *ev_selector_stream(ev_ctx *c, const pql_node *vs, bool ts_values);

/* Output series built step by step: a labelset's series found by its hash
 * (range queries; an instant query's vector keeps each sample as a series
 * of its own, in order), points in scratch memory until ev_out_finish puts
 * them in the arena at their exact size.  `copy` copies the labels of a new
 * series into the query's arena. */
typedef struct ev_out {
    ev_matrix m;
    ev_map ix;
    size_t pushed; /* this step's points */
    bool dup;      /* a labelset twice in this step */
} ev_out;
size_t ev_out_series(ev_ctx *c, ev_out *o, const core_labels *ls, uint64_t hash, bool copy);
void ev_out_push(ev_ctx *c, ev_out *o, size_t k, int64_t ts, double v, bool drop_name);
/* After a step: a labelset twice fails, the step's points count. */
void ev_out_step_done(ev_ctx *c, ev_out *o);
ev_val ev_out_finish(ev_ctx *c, ev_out *o);

/* Step-wise evaluation: for each step, the arguments' vectors (a scalar
 * becomes one sample without labels) go to fn, whose output is collected
 * into series. */
typedef void (*ev_step_fn)(ev_ctx *c, const void *user, ev_vec *args, int64_t ts, ev_vec *out);
ev_val ev_range_eval(ev_ctx *c, ev_step_fn fn, const void *user, ev_val *args, size_t nargs);
ev_val ev_scalar_val(ev_ctx *c, double (*fn)(ev_ctx *, int64_t, const void *), const void *user);

/* The reference time of step `ts`: the @ time or the step, minus the offset. */
static inline int64_t ev_ref_time(const ev_ctx *c, const pql_timing *t, int64_t ts)
{
    switch (t->at) {
    case PQL_AT_TS: ts = t->at_ms; break;
    case PQL_AT_START: ts = c->qstart; break;
    case PQL_AT_END: ts = c->qend; break;
    default: break;
    }
    return ts - t->offset_ms;
}

/* Binary operators, aggregations, function calls. */
ev_val ev_binary(ev_ctx *c, const pql_node *n);
ev_val ev_aggregate(ev_ctx *c, const pql_node *n);
ev_val ev_call(ev_ctx *c, const pql_node *n);
double ev_scalar_binop(pql_op op, double l, double r, bool *keep);
/* Kahan-Neumaier summation step (inline: it is the inner loop of sums and
 * regressions over windows). */
static inline double ev_kahan_inc(double inc, double sum, double *c)
{
    double t = sum + inc;
    if (__builtin_isinf(t))
        *c = 0;
    else if (__builtin_fabs(sum) >= __builtin_fabs(inc))
        *c += (sum - t) + inc;
    else
        *c += (inc - t) + sum;
    return t;
}
/* Upstream's quantile over sorted-or-not values (modifies v). */
double ev_quantile(double q, double *v, size_t n);
/* The same over values sorted with NaNs first (ev_cmp_nan_first). */
double ev_quantile_sorted(double q, const double *v, size_t n);
int ev_cmp_nan_first(const void *a, const void *b);
/* Whether v is the staleness marker (pql_is_stale, inline). */
static inline bool ev_is_stale(double v)
{
    uint64_t b;
    __builtin_memcpy(&b, &v, sizeof b);
    return b == PQL_STALE_NAN_BITS;
}

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
