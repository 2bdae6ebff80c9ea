/*
 * functions_eval.c - the PromQL functions.
 *
 * Three shapes, as upstream has them:
 *   - range functions (rate, *_over_time, deriv, ...) get, per series and
 *     step, the samples of the window (ref-range, ref] and return one value
 *     or none; they mark the metric name for removal (but last_over_time and
 *     first_over_time keep it).  They run series by series (a stream, see
 *     eval.h): the window slides forward over one series' samples, and what
 *     a function would redo at every step is kept as it slides when the
 *     function asks (range_impl.needs): counter resets as prefix counts
 *     (rate and increase skip their loop on windows without one), the values
 *     sorted (quantile_over_time), a monotonic queue of extremes
 *     (min/max_over_time), running regression sums (predict_linear on long
 *     windows).  Each gives upstream's result (to the bit but for
 *     predict_linear, within 1e-14 relative on the bench's data);
 *   - element functions (abs, ceil, clamp, round, trig, date parts, ...) map
 *     each sample of a series and mark the name for removal (streams too);
 *   - the rest (vector, scalar, time and the query's start/end/step/range,
 *     min_of/max_of, sort, sort_by_label, absent, label_replace, label_join,
 *     histogram_quantile(s) and histogram_fraction over classic buckets,
 *     timestamp) have handlers of their own; the histogram functions group
 *     their input's series once, not at every step.
 * Warnings and infos (bad quantile, malformed le, forced monotonicity, sort
 * in a range query) go to the query's annotations.  Native histograms are
 * not handled.
 */
#include "promql/eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/* ---- Range functions */

typedef struct window {
    const pql_point *p;
    size_t n;
    int64_t start, end; /* ref - range, ref */
    int64_t ts;         /* the evaluation step */
    double range_s;
    const double *args; /* scalar arguments at this step (quantile, predict_linear) */
    /* Per-series helpers, for the functions that ask (range_impl.needs): */
    const uint32_t *resets;     /* counter resets up to each point, from the series' start */
    const double *sorted;       /* the window's values sorted (ev_cmp_nan_first) */
    const struct reg_sums *reg; /* the window's sliding regression sums, or NULL */
    size_t best;                /* NEED_MIN, NEED_MAX: see f_min_over */
} window;

/* Sums for predict_linear kept as the window slides (see linear_regression):
 * times as integer milliseconds from an origin t0, exact; values and value
 * x time as compensated sums. */
typedef struct reg_sums {
    int64_t t0;
    int64_t su;      /* sum of u = t - t0 */
    __int128 suu;    /* sum of u^2 */
    double sy, cy;   /* sum of y, and its compensation */
    double suy, cuy; /* sum of u * y */
    bool const_y;    /* every value equal */
} reg_sums;

typedef bool (*range_fn)(const window *w, double *out);

static bool extrapolated(const window *w, bool counter, bool is_rate, double *out)
{
    if (w->n < 2) return false;
    double result = w->p[w->n - 1].v - w->p[0].v;
    /* The resets add in order, as upstream's loop does; a window without
     * any (the prefix counts say so) skips the loop. */
    if (counter && w->resets[w->n - 1] != w->resets[0])
        for (size_t i = 1; i < w->n; i++)
            if (w->p[i].v < w->p[i - 1].v) result += w->p[i - 1].v;
    double to_start = (double)(w->p[0].t - w->start) / 1000;
    double to_end = (double)(w->end - w->p[w->n - 1].t) / 1000;
    double sampled = (double)(w->p[w->n - 1].t - w->p[0].t) / 1000;
    double avg = sampled / (double)(w->n - 1), threshold = avg * 1.1;
    if (to_start >= threshold) to_start = avg / 2;
    if (counter) {
        double to_zero = to_start;
        if (result > 0 && w->p[0].v >= 0) to_zero = sampled * (w->p[0].v / result);
        if (to_zero < to_start) to_start = to_zero;
    }
    if (to_end >= threshold) to_end = avg / 2;
    double factor = sampled != 0 ? (sampled + to_start + to_end) / sampled : 1;
    if (is_rate) factor /= w->range_s;
    *out = result * factor;
    return true;
}

static bool f_rate(const window *w, double *o)
{
    return extrapolated(w, true, true, o);
}
static bool f_increase(const window *w, double *o)
{
    return extrapolated(w, true, false, o);
}
static bool f_delta(const window *w, double *o)
{
    return extrapolated(w, false, false, o);
}

static bool instant_value(const window *w, bool is_rate, double *out)
{
    if (w->n < 2) return false;
    pql_point a = w->p[w->n - 2], b = w->p[w->n - 1];
    if (b.t == a.t) return false;
    *out = (is_rate && b.v < a.v) ? b.v : b.v - a.v;
    if (is_rate) *out /= (double)(b.t - a.t) / 1000;
    return true;
}

static bool f_irate(const window *w, double *o)
{
    return instant_value(w, true, o);
}
static bool f_idelta(const window *w, double *o)
{
    return instant_value(w, false, o);
}

static bool f_sum_over(const window *w, double *o)
{
    double c = 0, s = 0;
    for (size_t i = 0; i < w->n; i++)
        s = ev_kahan_inc(w->p[i].v, s, &c);
    *o = isinf(s) ? s : s + c;
    return true;
}

static bool f_avg_over(const window *w, double *o)
{
    double c = 0, s = 0, mean = 0;
    bool incremental = false;
    for (size_t i = 0; i < w->n; i++) {
        double v = w->p[i].v, cnt = (double)i + 1;
        if (!incremental) {
            double nc = c, ns = ev_kahan_inc(v, s, &nc);
            if (!isinf(ns) || i == 0) {
                s = ns;
                c = nc;
                continue;
            }
            incremental = true;
            mean = s / (cnt - 1);
            c /= cnt - 1;
        }
        double q = (cnt - 1) / cnt, qc = q * c;
        mean = ev_kahan_inc(v / cnt, q * mean, &qc);
        c = qc;
    }
    *o = incremental ? mean + c : s / (double)w->n + c / (double)w->n;
    return true;
}

static bool f_count_over(const window *w, double *o)
{
    *o = (double)w->n;
    return true;
}

/* min_over_time, max_over_time and their ts_of_ variants take the first
 * occurrence of the smallest (largest) value that is not NaN, or the last
 * point when all are NaN: the point upstream's loop ends on.  The range
 * stream finds it with a monotonic queue as the window slides (w->best). */
static bool f_min_over(const window *w, double *o)
{
    *o = w->p[w->best].v;
    return true;
}

static bool f_max_over(const window *w, double *o)
{
    *o = w->p[w->best].v;
    return true;
}

static bool f_last_over(const window *w, double *o)
{
    *o = w->p[w->n - 1].v;
    return true;
}

static bool f_first_over(const window *w, double *o)
{
    *o = w->p[0].v;
    return true;
}

static bool f_ts_of_min(const window *w, double *o)
{
    *o = (double)w->p[w->best].t / 1000;
    return true;
}

static bool f_ts_of_max(const window *w, double *o)
{
    *o = (double)w->p[w->best].t / 1000;
    return true;
}

static bool f_ts_of_last(const window *w, double *o)
{
    *o = (double)w->p[w->n - 1].t / 1000;
    return true;
}

static bool f_ts_of_first(const window *w, double *o)
{
    *o = (double)w->p[0].t / 1000;
    return true;
}

static bool f_present_over(const window *w, double *o)
{
    (void)w;
    *o = 1;
    return true;
}

static double variance(const window *w)
{
    double count = 0, mean = 0, cm = 0, aux = 0, ca = 0;
    for (size_t i = 0; i < w->n; i++) {
        count++;
        double delta = w->p[i].v - (mean + cm);
        mean = ev_kahan_inc(delta / count, mean, &cm);
        aux = ev_kahan_inc(delta * (w->p[i].v - (mean + cm)), aux, &ca);
    }
    return (aux + ca) / count;
}

static bool f_stdvar_over(const window *w, double *o)
{
    *o = variance(w);
    return true;
}

static bool f_stddev_over(const window *w, double *o)
{
    *o = sqrt(variance(w));
    return true;
}

static bool f_quantile_over(const window *w, double *o)
{
    *o = ev_quantile_sorted(w->args[0], w->sorted, w->n);
    return true;
}

/* Median absolute deviation; a NaN sample makes it NaN. */
static bool f_mad_over(const window *w, double *o)
{
    double *v = malloc((w->n + 1) * sizeof *v);
    bool nan = false;
    for (size_t i = 0; i < w->n; i++) {
        v[i] = w->p[i].v;
        nan |= isnan(v[i]);
    }
    double median = ev_quantile(0.5, v, w->n);
    for (size_t i = 0; i < w->n; i++)
        v[i] = fabs(v[i] - median);
    *o = nan ? NAN : ev_quantile(0.5, v, w->n);
    free(v);
    return true;
}

static bool f_changes(const window *w, double *o)
{
    double n = 0;
    for (size_t i = 1; i < w->n; i++) {
        double a = w->p[i - 1].v, b = w->p[i].v;
        if (a != b && !(isnan(a) && isnan(b))) n++;
    }
    *o = n;
    return true;
}

static bool f_resets(const window *w, double *o)
{
    double n = 0;
    for (size_t i = 1; i < w->n; i++)
        if (w->p[i].v < w->p[i - 1].v) n++;
    *o = n;
    return true;
}

/* Two doubles in one SSE2 register: the four Kahan sums of a regression run
 * as two pairs, each lane doing exactly ev_kahan_inc's arithmetic (minus its
 * infinity test; see linear_regression). */
typedef double v2d __attribute__((vector_size(16)));
typedef long long v2l __attribute__((vector_size(16)));

static inline v2d v2_abs(v2d v)
{
    const v2l mask = {INT64_MAX, INT64_MAX};
    return (v2d)((v2l)v & mask);
}

static inline v2d v2_kahan_inc(v2d inc, v2d sum, v2d *c)
{
    v2d t = sum + inc;
    v2l ge = v2_abs(sum) >= v2_abs(inc);
    v2d a = (sum - t) + inc, b = (inc - t) + sum;
    *c += (v2d)(((v2l)a & ge) | ((v2l)b & ~ge));
    return t;
}

/* Upstream's linearRegression from sums over the window: slope and
 * intercept at time `at`. */
static void regression_result(double n, double sx, double sy, double sxy, double sx2, double *slope,
                              double *icpt)
{
    *slope = (sxy - sx * sy / n) / (sx2 - sx * sx / n);
    *icpt = sy / n - *slope * sx / n;
}

/* The regression from the sliding sums: x sums exact (integer ms from t0,
 * moved to `at`), then upstream's formulas.  Not upstream's rounding step
 * for step, but as close as its compensated sums to the exact values.  The
 * slope of large, nearly flat values cancels badly (upstream's own result
 * is then off by its rounding times the cancellation, 1e-9 relative for
 * values near 1e9 moving by 1 a second), so deriv, whose result is the
 * slope, always sums from scratch as upstream; predict_linear's result is
 * dominated by the intercept and agrees within 1e-14 relative on the
 * bench's data (to the bit for constant series). */
static void sliding_regression(const window *w, int64_t at, double *slope, double *icpt)
{
    const reg_sums *r = w->reg;
    if (r->const_y) {
        *slope = 0;
        *icpt = w->p[0].v;
        return;
    }
    int64_t n = (int64_t)w->n, d = at - r->t0;
    int64_t sx = r->su - n * d;
    __int128 sx2 = r->suu - 2 * (__int128)d * r->su + (__int128)n * d * d;
    double sy = r->sy + r->cy, suy = r->suy + r->cuy;
    regression_result((double)n, (double)sx / 1e3, sy, (suy - (double)d * sy) / 1e3,
                      (double)sx2 / 1e6, slope, icpt);
}

/* Upstream's linearRegression: Kahan sums of x, y, xy and x^2, x in
 * seconds from `at`.  The sums run two lanes at a time without the
 * infinity test; a sum that ends finite never met an infinity (an infinite
 * or NaN running sum stays so), so that is ev_kahan_inc's result to the
 * bit, and any other case goes again through ev_kahan_inc.  A long window
 * of finite values uses the sliding sums instead (w->reg, predict_linear). */
static void linear_regression(const window *w, int64_t at, double *slope, double *icpt)
{
    if (w->reg) {
        sliding_regression(w, at, slope, icpt);
        return;
    }
    double n = (double)w->n, init = w->p[0].v;
    double sx = 0, cx = 0, sy = 0, cy = 0, sxy = 0, cxy = 0, sx2 = 0, cx2 = 0;
    bool const_y = true;
    v2d s1 = {0, 0}, c1 = {0, 0}, s2 = {0, 0}, c2 = {0, 0};
    for (size_t i = 0; i < w->n; i++) {
        double y = w->p[i].v, x = (double)(w->p[i].t - at) / 1e3;
        const_y &= i == 0 || y == init;
        s1 = v2_kahan_inc((v2d){x, y}, s1, &c1);
        s2 = v2_kahan_inc((v2d){x * y, x * x}, s2, &c2);
    }
    sx = s1[0], cx = c1[0], sy = s1[1], cy = c1[1];
    sxy = s2[0], cxy = c2[0], sx2 = s2[1], cx2 = c2[1];
    if (!isfinite(sx + sy + sxy + sx2)) {
        sx = cx = sy = cy = sxy = cxy = sx2 = cx2 = 0;
        for (size_t i = 0; i < w->n; i++) {
            double y = w->p[i].v, x = (double)(w->p[i].t - at) / 1e3;
            sx = ev_kahan_inc(x, sx, &cx);
            sy = ev_kahan_inc(y, sy, &cy);
            sxy = ev_kahan_inc(x * y, sxy, &cxy);
            sx2 = ev_kahan_inc(x * x, sx2, &cx2);
        }
    }
    if (const_y) {
        *slope = isinf(init) ? NAN : 0;
        *icpt = isinf(init) ? NAN : init;
        return;
    }
    regression_result(n, sx + cx, sy + cy, sxy + cxy, sx2 + cx2, slope, icpt);
}

static bool f_deriv(const window *w, double *o)
{
    if (w->n < 2) return false;
    double icpt;
    linear_regression(w, w->p[0].t, o, &icpt);
    return true;
}

static bool f_predict_linear(const window *w, double *o)
{
    if (w->n < 2) return false;
    double slope, icpt;
    linear_regression(w, w->ts, &slope, &icpt);
    *o = slope * w->args[0] + icpt;
    return true;
}

static bool f_double_exp(const window *w, double *o)
{
    double sf = w->args[0], tf = w->args[1];
    if (sf <= 0 || sf >= 1 || tf <= 0 || tf >= 1 || w->n < 2) return false;
    double s0 = 0, s1 = w->p[0].v, b = w->p[1].v - w->p[0].v;
    for (size_t i = 1; i < w->n; i++) {
        if (i > 1) b = tf * (s1 - s0) + (1 - tf) * b;
        double x = sf * w->p[i].v, y = (1 - sf) * (s1 + b);
        s0 = s1;
        s1 = x + y;
    }
    *o = s1;
    return true;
}

enum { NEED_RESETS = 1, NEED_SORTED = 2, NEED_REGRESSION = 4, NEED_MIN = 8, NEED_MAX = 16 };

typedef struct range_impl {
    const char *name;
    range_fn fn;
    unsigned needs;
} range_impl;

static const range_impl range_impls[] = {
    {"avg_over_time", f_avg_over, 0},
    {"changes", f_changes, 0},
    {"count_over_time", f_count_over, 0},
    {"delta", f_delta, 0},
    {"deriv", f_deriv, 0},
    {"double_exponential_smoothing", f_double_exp, 0},
    {"first_over_time", f_first_over, 0},
    {"idelta", f_idelta, 0},
    {"increase", f_increase, NEED_RESETS},
    {"irate", f_irate, 0},
    {"last_over_time", f_last_over, 0},
    {"mad_over_time", f_mad_over, 0},
    {"max_over_time", f_max_over, NEED_MAX},
    {"min_over_time", f_min_over, NEED_MIN},
    {"predict_linear", f_predict_linear, NEED_REGRESSION},
    {"present_over_time", f_present_over, 0},
    {"quantile_over_time", f_quantile_over, NEED_SORTED},
    {"rate", f_rate, NEED_RESETS},
    {"resets", f_resets, 0},
    {"stddev_over_time", f_stddev_over, 0},
    {"stdvar_over_time", f_stdvar_over, 0},
    {"sum_over_time", f_sum_over, 0},
    {"ts_of_first_over_time", f_ts_of_first, 0},
    {"ts_of_last_over_time", f_ts_of_last, 0},
    {"ts_of_max_over_time", f_ts_of_max, NEED_MAX},
    {"ts_of_min_over_time", f_ts_of_min, NEED_MIN},
};

static const range_impl *find_range_impl(const char *name)
{
    for (size_t i = 0; i < sizeof range_impls / sizeof range_impls[0]; i++)
        if (strcmp(range_impls[i].name, name) == 0) return &range_impls[i];
    return NULL;
}

/* Scalar arguments other than the range vector, evaluated for every step. */
static double **scalar_args(ev_ctx *c, const pql_node *n, size_t skip, size_t *count)
{
    double **out = core_arena_calloc(c->a, n->u.call.nargs + 1, sizeof *out);
    *count = 0;
    for (size_t i = 0; i < n->u.call.nargs; i++)
        if (i != skip) out[(*count)++] = ev_eval(c, n->u.call.args[i]).scalars;
    return out;
}

static size_t range_arg_index(const pql_node *n)
{
    for (size_t i = 0; i < n->u.call.nargs; i++)
        if (pql_node_type(n->u.call.args[i]) == PQL_TYPE_MATRIX) return i;
    return 0;
}

/* Warns once per bad quantile among the steps' values of argument q. */
static void quantile_warnings(ev_ctx *c, const pql_node *q, const double *qs)
{
    for (size_t st = 0; st < ev_nsteps(c); st++)
        if (!(qs[st] >= 0 && qs[st] <= 1))
            ev_annotate(c, false, q->pos, "quantile value should be between 0 and 1, got %s",
                        ev_fmt_float(c, qs[st]));
}

/* ---- The window's values kept sorted as it slides (quantile_over_time) */

typedef struct sorted_win {
    double *v;
    size_t n, cap;
    size_t first, end; /* the series' points [first, end) that v holds */
} sorted_win;

/* a < b with NaNs first (ev_cmp_nan_first's order). */
static bool nan_first_less(double a, double b)
{
    return isnan(a) ? !isnan(b) : !isnan(b) && a < b;
}

static void sorted_remove(sorted_win *sw, double x)
{
    size_t lo = 0, hi = sw->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (nan_first_less(sw->v[mid], x))
            lo = mid + 1;
        else
            hi = mid;
    }
    /* Among equal values (0 and -0, NaNs) take the one with the same bits. */
    size_t at = lo;
    for (size_t j = lo; j < sw->n && !nan_first_less(x, sw->v[j]); j++)
        if (!memcmp(&sw->v[j], &x, sizeof x)) {
            at = j;
            break;
        }
    memmove(sw->v + at, sw->v + at + 1, (sw->n - at - 1) * sizeof *sw->v);
    sw->n--;
}

static void sorted_insert(sorted_win *sw, double x)
{
    size_t lo = 0, hi = sw->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (nan_first_less(x, sw->v[mid]))
            hi = mid;
        else
            lo = mid + 1;
    }
    memmove(sw->v + lo + 1, sw->v + lo, (sw->n - lo) * sizeof *sw->v);
    sw->v[lo] = x;
    sw->n++;
}

/* Moves sw to the points [first, end) (never backwards): takes the values
 * that left out and puts the new ones in, or sorts all again when the
 * windows hardly overlap. */
static void sorted_slide(ev_ctx *c, sorted_win *sw, const pql_point *pts, size_t first, size_t end)
{
    size_t want = end - first;
    if (want > sw->cap) {
        sw->cap = want * 2;
        sw->v = ev_tmp_realloc(c, sw->v, sw->cap * sizeof *sw->v);
    }
    size_t moved = (first - sw->first) + (end - sw->end);
    if (first >= sw->end || moved > want / 2 + 4) {
        for (size_t i = first; i < end; i++)
            sw->v[i - first] = pts[i].v;
        sw->n = want;
        qsort(sw->v, sw->n, sizeof *sw->v, ev_cmp_nan_first);
    } else {
        for (size_t i = sw->first; i < first; i++)
            sorted_remove(sw, pts[i].v);
        for (size_t i = sw->end; i < end; i++)
            sorted_insert(sw, pts[i].v);
    }
    sw->first = first;
    sw->end = end;
}

/* A function over a range vector, series by series: the window (ref-range,
 * ref] of each step slides forward over the source series' samples. */
typedef struct range_stream {
    ev_stream base;
    const pql_node *n;
    const range_impl *impl;
    ev_stream *src;
    const pql_timing *tm;
    int64_t range;
    double **sargs;
    size_t nsargs;
    double *argv;
    bool keep_name, produced;
    pql_point *buf;   /* one point per step */
    uint32_t *resets; /* NEED_RESETS: resets up to each point */
    size_t resets_cap;
    sorted_win sorted; /* NEED_SORTED */
    /* NEED_REGRESSION: per point, non-finite values and value changes up
     * to it; the sliding sums and the points [first, end) they cover */
    uint32_t *nonfinite, *changes;
    size_t counts_cap;
    reg_sums reg;
    size_t reg_first, reg_end;
    bool reg_valid;
    /* NEED_MIN, NEED_MAX: indexes of the points not NaN that can still be
     * the window's extreme, values monotonic from head to tail */
    size_t *mq, mq_cap, mq_head, mq_tail, mq_end;
} range_stream;

/* Counter resets up to each point of the series (NEED_RESETS). */
static void count_resets(range_stream *s, const ev_series *raw)
{
    if (raw->n > s->resets_cap) {
        s->resets_cap = raw->n * 2;
        s->resets = ev_tmp_realloc(s->base.c, s->resets, s->resets_cap * sizeof *s->resets);
    }
    uint32_t n = 0;
    s->resets[0] = 0;
    for (size_t i = 1; i < raw->n; i++) {
        n += raw->pts[i].v < raw->pts[i - 1].v;
        s->resets[i] = n;
    }
}

/* Windows shorter than this compute their regression from scratch, as
 * upstream, to the bit; longer ones slide (a window of 30m at 15s holds 120
 * points, and the sums from scratch were 85% of predict_linear's time). */
#define REG_SLIDE_MIN 16

/* Non-finite values and value changes up to each point (NEED_REGRESSION). */
static void count_regression(range_stream *s, const ev_series *raw)
{
    if (raw->n > s->counts_cap) {
        s->counts_cap = raw->n * 2;
        s->nonfinite =
            ev_tmp_realloc(s->base.c, s->nonfinite, s->counts_cap * sizeof *s->nonfinite);
        s->changes = ev_tmp_realloc(s->base.c, s->changes, s->counts_cap * sizeof *s->changes);
    }
    uint32_t nf = 0, ch = 0;
    for (size_t i = 0; i < raw->n; i++) {
        nf += !isfinite(raw->pts[i].v);
        ch += i > 0 && raw->pts[i].v != raw->pts[i - 1].v;
        s->nonfinite[i] = nf;
        s->changes[i] = ch;
    }
    s->reg_valid = false;
}

static void reg_add(reg_sums *r, pql_point p, double sign)
{
    int64_t u = p.t - r->t0;
    r->su += sign > 0 ? u : -u;
    r->suu += (sign > 0 ? 1 : -1) * (__int128)u * u;
    r->sy = ev_kahan_inc(sign * p.v, r->sy, &r->cy);
    r->suy = ev_kahan_inc(sign * ((double)u * p.v), r->suy, &r->cuy);
}

/* The sliding sums for the points [first, end), or NULL when the window
 * is short, holds a non-finite value or the sums overflow. */
static const reg_sums *reg_slide(range_stream *s, const ev_series *raw, size_t first, size_t end,
                                 int64_t ref)
{
    size_t n = end - first;
    uint32_t nf = s->nonfinite[end - 1] - (first ? s->nonfinite[first - 1] : 0);
    if (n < REG_SLIDE_MIN || nf) {
        s->reg_valid = false;
        return NULL;
    }
    reg_sums *r = &s->reg;
    /* Start over when the windows do not overlap, or when the origin lags
     * far behind (the sum of u * y would cancel against the shift). */
    if (!s->reg_valid || first >= s->reg_end || ref - r->t0 > 4 * (s->range + 1)) {
        *r = (reg_sums){.t0 = raw->pts[first].t};
        for (size_t i = first; i < end; i++)
            reg_add(r, raw->pts[i], 1);
    } else {
        for (size_t i = s->reg_first; i < first; i++)
            reg_add(r, raw->pts[i], -1);
        for (size_t i = s->reg_end; i < end; i++)
            reg_add(r, raw->pts[i], 1);
    }
    s->reg_first = first, s->reg_end = end;
    s->reg_valid = isfinite(r->sy) && isfinite(r->suy);
    r->const_y = s->changes[end - 1] == s->changes[first];
    return s->reg_valid ? r : NULL;
}

/* The window's extreme (see f_min_over) as it slides to [first, end). */
static size_t extreme_slide(range_stream *s, const ev_series *raw, size_t first, size_t end,
                            bool max)
{
    const pql_point *p = raw->pts;
    while (s->mq_head < s->mq_tail && s->mq[s->mq_head] < first)
        s->mq_head++;
    for (size_t i = s->mq_end > first ? s->mq_end : first; i < end; i++) {
        double v = p[i].v;
        if (isnan(v)) continue;
        while (s->mq_tail > s->mq_head &&
               (max ? p[s->mq[s->mq_tail - 1]].v < v : p[s->mq[s->mq_tail - 1]].v > v))
            s->mq_tail--;
        s->mq[s->mq_tail++] = i;
    }
    s->mq_end = end;
    return (s->mq_head < s->mq_tail ? s->mq[s->mq_head] : end - 1) - first;
}

static bool range_next(ev_stream *b, ev_series *out)
{
    range_stream *s = (range_stream *)b;
    ev_ctx *c = b->c;
    size_t steps = ev_nsteps(c);
    unsigned needs = s->impl->needs;
    ev_series raw;
    while (s->src->next(s->src, &raw)) {
        if (needs & NEED_RESETS) count_resets(s, &raw);
        if (needs & NEED_REGRESSION) count_regression(s, &raw);
        if ((needs & (NEED_MIN | NEED_MAX)) && raw.n > s->mq_cap) {
            s->mq_cap = raw.n * 2;
            s->mq = ev_tmp_realloc(c, s->mq, s->mq_cap * sizeof *s->mq);
        }
        s->mq_head = s->mq_tail = s->mq_end = 0;
        s->sorted.n = s->sorted.first = s->sorted.end = 0;
        size_t first = 0, end = 0, k = 0;
        for (size_t st = 0; st < steps; st++) {
            int64_t ts = c->start + (int64_t)st * c->step, ref = ev_ref_time(c, s->tm, ts);
            while (end < raw.n && raw.pts[end].t <= ref)
                end++;
            while (first < end && raw.pts[first].t <= ref - s->range)
                first++;
            if (first == end) {
                if (end == raw.n) break;
                continue;
            }
            for (size_t a = 0; a < s->nsargs; a++)
                s->argv[a] = s->sargs[a][st];
            window w = {.p = raw.pts + first,
                        .n = end - first,
                        .start = ref - s->range,
                        .end = ref,
                        .ts = ts,
                        .range_s = (double)s->range / 1000,
                        .args = s->argv};
            if (needs & NEED_RESETS) w.resets = s->resets + first;
            if (needs & NEED_SORTED) {
                sorted_slide(c, &s->sorted, raw.pts, first, end);
                w.sorted = s->sorted.v;
            }
            if (needs & NEED_REGRESSION) w.reg = reg_slide(s, &raw, first, end, ref);
            if (needs & (NEED_MIN | NEED_MAX))
                w.best = extreme_slide(s, &raw, first, end, needs & NEED_MAX);
            double v;
            if (s->impl->fn(&w, &v)) s->buf[k++] = (pql_point){ts, v};
        }
        ev_count(c, k);
        if (!k) continue;
        s->produced = true;
        *out = (ev_series){.ls = raw.ls,
                           .pts = s->buf,
                           .n = k,
                           .cap = k,
                           .drop_name = !s->keep_name || raw.drop_name};
        return true;
    }
    ev_tmp_free(c, s->buf);
    ev_tmp_free(c, s->resets);
    ev_tmp_free(c, s->sorted.v);
    ev_tmp_free(c, s->nonfinite);
    ev_tmp_free(c, s->changes);
    ev_tmp_free(c, s->mq);
    s->mq = NULL, s->mq_cap = s->resets_cap = s->counts_cap = s->sorted.cap = 0;
    s->buf = NULL, s->resets = NULL, s->sorted.v = NULL, s->nonfinite = s->changes = NULL;
    if (s->impl->fn == f_quantile_over && s->produced)
        quantile_warnings(c, s->n->u.call.args[0], s->sargs[0]);
    s->produced = false;
    return false;
}

static ev_stream *range_fn_stream(ev_ctx *c, const pql_node *n, const range_impl *impl)
{
    range_stream *s = core_arena_calloc(c->a, 1, sizeof *s);
    s->base = (ev_stream){range_next, c};
    s->n = n;
    s->impl = impl;
    size_t ai = range_arg_index(n);
    s->sargs = scalar_args(c, n, ai, &s->nsargs);
    s->argv = core_arena_calloc(c->a, s->nsargs + 1, sizeof *s->argv);
    s->src = ev_range_source(c, n->u.call.args[ai], &s->tm, &s->range);
    const char *name = n->u.call.func->name;
    s->keep_name = !strcmp(name, "last_over_time") || !strcmp(name, "first_over_time");
    s->buf = ev_tmp_alloc(c, ev_nsteps(c) * sizeof *s->buf);
    return &s->base;
}

/* ---- absent() and absent_over_time() */

static const core_labels *absent_labels(ev_ctx *c, const pql_node *arg)
{
    arg = ev_unparen(arg);
    if (arg->kind == PQL_NODE_MATRIX) arg = arg->u.matrix.vector;
    if (arg->kind != PQL_NODE_VECTOR) return ev_labels_empty(c);
    const core_labels *ls = ev_labels_empty(c);
    const char **seen = core_arena_calloc(c->a, arg->u.vector.nmatchers + 1, sizeof *seen);
    size_t nseen = 0;
    for (size_t i = 0; i < arg->u.vector.nmatchers; i++) {
        const pql_matcher *m = &arg->u.vector.matchers[i];
        if (!strcmp(m->name, CORE_METRIC_NAME)) continue;
        bool had = false;
        for (size_t j = 0; j < nseen; j++)
            had |= !strcmp(seen[j], m->name);
        if (m->type == PQL_MATCH_EQ && !had) {
            ls = ev_labels_set(c, ls, m->name, core_arena_strndup(c->a, m->value, m->value_len));
            seen[nseen++] = m->name;
        } else {
            ls = ev_labels_set(c, ls, m->name, "");
        }
    }
    return ls;
}

static const range_impl present_impl = {"present_over_time", f_present_over, 0};

static ev_val eval_absent_over_time(ev_ctx *c, const pql_node *n)
{
    ev_val in = ev_materialize(c, range_fn_stream(c, n, &present_impl));
    size_t steps = ev_nsteps(c);
    bool *found = core_arena_calloc(c->a, steps, sizeof *found);
    for (size_t i = 0; i < in.m.n; i++)
        for (size_t j = 0; j < in.m.s[i].n; j++)
            found[(in.m.s[i].pts[j].t - c->start) / c->step] = true;
    ev_val out = {.type = PQL_TYPE_VECTOR};
    ev_series *s = NULL;
    for (size_t st = 0; st < steps; st++) {
        if (found[st]) continue;
        if (!s) s = ev_matrix_add(c, &out.m, absent_labels(c, n->u.call.args[0]));
        s->drop_name = true;
        ev_series_push(c, s, c->start + (int64_t)st * c->step, 1);
    }
    return out;
}

static void absent_step(ev_ctx *c, const void *user, ev_vec *args, int64_t ts, ev_vec *out)
{
    if (args[0].n) return;
    ev_vec_push(c, out, (ev_sample){absent_labels(c, user), 1, ts, true});
}

/* ---- Element-wise functions */

static double go_max(double a, double b)
{
    return (isnan(a) || isnan(b)) ? NAN : a > b ? a : b;
}

static double go_min(double a, double b)
{
    return (isnan(a) || isnan(b)) ? NAN : a < b ? a : b;
}

static double sgn(double v)
{
    return v > 0 ? 1 : v < 0 ? -1 : v;
}

static double deg(double v)
{
    return v * 180 / M_PI;
}

static double rad(double v)
{
    return v * M_PI / 180;
}

typedef struct math_impl {
    const char *name;
    double (*fn)(double);
} math_impl;

static const math_impl math_impls[] = {
    {"abs", fabs},  {"acos", acos},   {"acosh", acosh}, {"asin", asin}, {"asinh", asinh},
    {"atan", atan}, {"atanh", atanh}, {"ceil", ceil},   {"cos", cos},   {"cosh", cosh},
    {"deg", deg},   {"exp", exp},     {"floor", floor}, {"ln", log},    {"log10", log10},
    {"log2", log2}, {"rad", rad},     {"sgn", sgn},     {"sin", sin},   {"sinh", sinh},
    {"sqrt", sqrt}, {"tan", tan},     {"tanh", tanh},
};

static bool math_map(const void *user, double v, size_t st, int64_t t, double *out)
{
    (void)st, (void)t;
    *out = ((const math_impl *)user)->fn(v);
    return true;
}

/* clamp, clamp_min, clamp_max, round: extra scalar arguments, per step. */
typedef enum clamp_kind { CLAMP, CLAMP_MIN, CLAMP_MAX, ROUND } clamp_kind;

typedef struct clamp_args {
    clamp_kind kind;
    const double *a, *b; /* per step; NULL when not given */
} clamp_args;

static bool clamp_map(const void *user, double v, size_t st, int64_t t, double *out)
{
    (void)t;
    const clamp_args *ca = user;
    double a = ca->a ? ca->a[st] : 1, b = ca->b ? ca->b[st] : 0;
    switch (ca->kind) {
    case CLAMP:
        if (b < a) return false;
        *out = go_max(a, go_min(b, v));
        break;
    case CLAMP_MIN: *out = go_max(a, v); break;
    case CLAMP_MAX: *out = go_min(a, v); break;
    default: *out = floor(v * (1.0 / a) + 0.5) / (1.0 / a); break;
    }
    return true;
}

static ev_stream *clamp_stream(ev_ctx *c, const pql_node *n)
{
    ev_stream *src = ev_stream_open(c, n->u.call.args[0]);
    clamp_args *ca = core_arena_calloc(c->a, 1, sizeof *ca);
    const char *name = n->u.call.func->name;
    ca->kind = !strcmp(name, "clamp")       ? CLAMP
               : !strcmp(name, "clamp_min") ? CLAMP_MIN
               : !strcmp(name, "clamp_max") ? CLAMP_MAX
                                            : ROUND;
    if (n->u.call.nargs > 1) ca->a = ev_eval(c, n->u.call.args[1]).scalars;
    if (n->u.call.nargs > 2) ca->b = ev_eval(c, n->u.call.args[2]).scalars;
    return ev_map_stream(c, src, clamp_map, ca, true);
}

static double date_part(const char *name, double v)
{
    time_t t = (time_t)floor(v);
    struct tm tm;
    gmtime_r(&t, &tm);
    if (!strcmp(name, "minute")) return tm.tm_min;
    if (!strcmp(name, "hour")) return tm.tm_hour;
    if (!strcmp(name, "day_of_week")) return tm.tm_wday;
    if (!strcmp(name, "day_of_month")) return tm.tm_mday;
    if (!strcmp(name, "day_of_year")) return tm.tm_yday + 1;
    if (!strcmp(name, "month")) return tm.tm_mon + 1;
    if (!strcmp(name, "year")) return tm.tm_year + 1900;
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y = tm.tm_year + 1900;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return days[tm.tm_mon] + (tm.tm_mon == 1 && leap);
}

/* A date function without argument: of the step's time. */
static void date_step(ev_ctx *c, const void *user, ev_vec *args, int64_t ts, ev_vec *out)
{
    (void)args;
    const pql_node *n = user;
    ev_vec_push(c, out,
                (ev_sample){ev_labels_empty(c), date_part(n->u.call.func->name, (double)ts / 1000),
                            ts, false});
}

static bool date_map(const void *user, double v, size_t st, int64_t t, double *out)
{
    (void)st, (void)t;
    if (isnan(v)) return false;
    *out = date_part(user, v);
    return true;
}

/* ---- Scalars and vectors */

static void vector_step(ev_ctx *c, const void *user, ev_vec *args, int64_t ts, ev_vec *out)
{
    (void)user;
    ev_vec_push(c, out, (ev_sample){ev_labels_empty(c), args[0].s[0].v, ts, false});
}

static bool timestamp_map(const void *user, double v, size_t st, int64_t t, double *out)
{
    (void)user, (void)v, (void)st;
    *out = (double)t / 1000;
    return true;
}

static bool identity_map(const void *user, double v, size_t st, int64_t t, double *out)
{
    (void)user, (void)st, (void)t;
    *out = v;
    return true;
}

static ev_val eval_scalar(ev_ctx *c, const pql_node *n)
{
    ev_val in = ev_eval(c, n->u.call.args[0]);
    size_t steps = ev_nsteps(c);
    ev_val out = {.type = PQL_TYPE_SCALAR};
    out.scalars = core_arena_alloc(c->a, steps * sizeof *out.scalars);
    size_t *count = core_arena_calloc(c->a, steps, sizeof *count);
    for (size_t i = 0; i < in.m.n; i++)
        for (size_t j = 0; j < in.m.s[i].n; j++) {
            size_t st = (size_t)((in.m.s[i].pts[j].t - c->start) / c->step);
            count[st]++;
            out.scalars[st] = in.m.s[i].pts[j].v;
        }
    for (size_t st = 0; st < steps; st++)
        if (count[st] != 1) out.scalars[st] = NAN;
    return out;
}

/* time(), pi() and the query's start(), end(), step(), range(). */
static double time_at(ev_ctx *c, int64_t ts, const void *user)
{
    const char *name = user;
    if (!strcmp(name, "pi")) return M_PI;
    if (!strcmp(name, "start")) return (double)c->qstart / 1000;
    if (!strcmp(name, "end")) return (double)c->qend / 1000;
    if (!strcmp(name, "step")) return (double)c->qstep / 1000;
    if (!strcmp(name, "range")) return (double)(c->qend - c->qstart) / 1000;
    return (double)ts / 1000;
}

static bool is_time_fn(const char *name)
{
    static const char *const names[] = {"end", "pi", "range", "start", "step", "time"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(names[i], name)) return true;
    return false;
}

/* min_of(a, b) and max_of(a, b): Go's math.Min and math.Max per step. */
static ev_val eval_min_max_of(ev_ctx *c, const pql_node *n)
{
    ev_val a = ev_eval(c, n->u.call.args[0]), b = ev_eval(c, n->u.call.args[1]);
    bool max = !strcmp(n->u.call.func->name, "max_of");
    for (size_t i = 0; i < ev_nsteps(c); i++)
        a.scalars[i] =
            max ? go_max(a.scalars[i], b.scalars[i]) : go_min(a.scalars[i], b.scalars[i]);
    return a;
}

/* ---- sort */

typedef struct sort_item {
    ev_sample s;
    size_t order;
    bool desc;
} sort_item;

static int cmp_sort(const void *a, const void *b)
{
    const sort_item *x = a, *y = b;
    bool nx = isnan(x->s.v), ny = isnan(y->s.v);
    if (nx != ny) return nx ? 1 : -1;
    if (!nx && x->s.v != y->s.v) return ((x->s.v < y->s.v) == x->desc) ? 1 : -1;
    return (x->order > y->order) - (x->order < y->order);
}

/* Sorting a range query's result has no effect: it is ordered by labels. */
static void sort_warning(ev_ctx *c, const pql_node *n)
{
    if (c->qstep)
        ev_annotate(c, false, n->pos,
                    "sort is ineffective for range queries since results are always ordered by "
                    "labels");
}

static void sort_step(ev_ctx *c, const void *user, ev_vec *args, int64_t ts, ev_vec *out)
{
    (void)ts;
    bool desc = !strcmp(((const pql_node *)user)->u.call.func->name, "sort_desc");
    sort_item *items = core_arena_alloc(c->a, (args[0].n + 1) * sizeof *items);
    for (size_t i = 0; i < args[0].n; i++)
        items[i] = (sort_item){args[0].s[i], i, desc};
    qsort(items, args[0].n, sizeof *items, cmp_sort);
    for (size_t i = 0; i < args[0].n; i++)
        ev_vec_push(c, out, items[i].s);
}

static const char *string_arg(ev_ctx *c, const pql_node *n, size_t i)
{
    const pql_node *a = ev_unparen(n->u.call.args[i]);
    return core_arena_strndup(c->a, a->u.string.value, a->u.string.len);
}

/* ---- sort_by_label, sort_by_label_desc */

/* The next chunk of s: a run of digits or of non-digits. */
static size_t nat_chunk(const char *s)
{
    bool digit = *s >= '0' && *s <= '9';
    size_t n = 0;
    while (s[n] && (s[n] >= '0' && s[n] <= '9') == digit)
        n++;
    return n;
}

/* Compares two runs of digits as numbers. */
static int cmp_digits(const char *a, size_t na, const char *b, size_t nb)
{
    for (; na > 1 && *a == '0'; na--)
        a++;
    for (; nb > 1 && *b == '0'; nb--)
        b++;
    if (na != nb) return na < nb ? -1 : 1;
    return memcmp(a, b, na);
}

/* Natural order as github.com/facette/natsort has it: digit runs compare as
 * numbers; true when a sorts before b. */
static bool nat_less(const char *a, const char *b)
{
    while (*a && *b) {
        size_t na = nat_chunk(a), nb = nat_chunk(b);
        bool da = *a >= '0' && *a <= '9', db = *b >= '0' && *b <= '9';
        if (da && db) {
            int cmp = cmp_digits(a, na, b, nb);
            if (cmp != 0) return cmp < 0;
        } else {
            int cmp = strncmp(a, b, na < nb ? na : nb);
            if (cmp != 0 || na != nb) return cmp != 0 ? cmp < 0 : na < nb;
        }
        a += na;
        b += nb;
        if (!*a) return true;
        if (!*b) return false;
    }
    return !*a && *b;
}

typedef struct label_sort {
    const char **names;
    size_t n;
    bool desc;
} label_sort;

/* qsort has no user pointer; per thread, as queries may run in several */
static _Thread_local const label_sort *g_label_sort;

static int cmp_by_label(const void *pa, const void *pb)
{
    const ev_sample *a = pa, *b = pb;
    if (g_label_sort->desc) {
        const ev_sample *t = a;
        a = b;
        b = t;
    }
    for (size_t i = 0; i < g_label_sort->n; i++) {
        const char *x = core_labels_get(a->ls, g_label_sort->names[i]);
        const char *y = core_labels_get(b->ls, g_label_sort->names[i]);
        x = x ? x : "";
        y = y ? y : "";
        if (strcmp(x, y) != 0) return nat_less(x, y) ? -1 : 1;
    }
    return core_labels_compare(a->ls, b->ls);
}

static void sort_by_label_step(ev_ctx *c, const void *user, ev_vec *args, int64_t ts, ev_vec *out)
{
    (void)ts;
    for (size_t i = 0; i < args[0].n; i++)
        ev_vec_push(c, out, args[0].s[i]);
    g_label_sort = user;
    if (out->n) qsort(out->s, out->n, sizeof *out->s, cmp_by_label);
}

static ev_val eval_sort_by_label(ev_ctx *c, const pql_node *n)
{
    label_sort *ls = core_arena_calloc(c->a, 1, sizeof *ls);
    ls->desc = !strcmp(n->u.call.func->name, "sort_by_label_desc");
    ls->n = n->u.call.nargs - 1;
    ls->names = core_arena_calloc(c->a, ls->n + 1, sizeof *ls->names);
    for (size_t i = 0; i < ls->n; i++)
        ls->names[i] = string_arg(c, n, i + 1);
    ev_val in = ev_eval(c, n->u.call.args[0]);
    return ev_range_eval(c, sort_by_label_step, ls, &in, 1);
}

/* ---- histogram_quantile over classic buckets */

typedef struct bucket {
    double upper, count;
} bucket;

static int cmp_bucket(const void *a, const void *b)
{
    double x = ((const bucket *)a)->upper, y = ((const bucket *)b)->upper;
    return (x > y) - (x < y);
}

static bool almost_equal(double a, double b, double eps)
{
    const double min_normal = 2.2250738585072014e-308;
    if (a == b) return true;
    double sum = fabs(a) + fabs(b), diff = fabs(a - b);
    if (a == 0 || b == 0 || sum < min_normal) return diff < eps * min_normal;
    return diff / fmin(sum, 1.7976931348623157e308) < eps;
}

/* Sorts by upper bound and merges buckets of equal bounds; returns the count. */
static size_t coalesce(bucket *b, size_t n)
{
    /* Usually sorted already (see hist_init); a stable sort would leave
     * them as they are then.  NaN bounds always go through qsort. */
    bool sorted = true;
    for (size_t i = 0; i < n && sorted; i++)
        sorted = !isnan(b[i].upper) && (i == 0 || b[i - 1].upper <= b[i].upper);
    if (!sorted) qsort(b, n, sizeof *b, cmp_bucket);
    size_t k = 0;
    for (size_t i = 1; i < n; i++) {
        if (b[i].upper == b[k].upper)
            b[k].count += b[i].count;
        else
            b[++k] = b[i];
    }
    return k + 1;
}

static double bucket_quantile(double q, bucket *b, size_t n, bool *forced)
{
    if (isnan(q)) return NAN;
    if (q < 0) return -INFINITY;
    if (q > 1) return INFINITY;
    n = coalesce(b, n);
    if (!isinf(b[n - 1].upper) || b[n - 1].upper < 0) return NAN;
    double prev = b[0].count;
    for (size_t i = 1; i < n; i++) {
        if (b[i].count == prev) continue;
        if (almost_equal(prev, b[i].count, 1e-12) || b[i].count < prev) {
            *forced |= b[i].count < prev && !almost_equal(prev, b[i].count, 1e-12);
            b[i].count = prev;
            continue;
        }
        prev = b[i].count;
    }
    if (n < 2 || b[n - 1].count == 0) return NAN;
    double rank = q * b[n - 1].count;
    size_t i = 0;
    while (i < n - 1 && !(b[i].count >= rank))
        i++;
    if (i == n - 1) return b[n - 2].upper;
    if (i == 0 && b[0].upper <= 0) return b[0].upper;
    double start = 0, end = b[i].upper, count = b[i].count;
    if (i > 0) {
        start = b[i - 1].upper;
        count -= b[i - 1].count;
        rank -= b[i - 1].count;
    }
    return start + (end - start) * (rank / count);
}

/* Classic histograms: the input's series grouped once by their labels
 * without le and the metric name (upstream groups each step's samples so;
 * series keep their labels from step to step), then each step gathers the
 * buckets of the groups present from their series' points. */
typedef struct hist_groups {
    size_t n;               /* groups */
    const core_labels **ls; /* per group: labels without le and __name__ */
    const char **names;     /* per group: metric name, for annotations */
    size_t *first, *count;  /* per group: its series in `members` */
    size_t *members;        /* series, group by group, in input order */
    size_t *group;          /* per series: its group, or SIZE_MAX when le is bad */
    double *upper;          /* per series */
    size_t *cur;            /* per series: cursor */
    size_t *pstamp;         /* per series: step + 1 when it has a point there */
    double *val;            /* per series: that point's value */
    size_t *gstamp;         /* per group: step + 1 when seen */
    size_t *seen, nseen;    /* the step's groups in order of appearance */
    size_t *out;            /* per group (x quantile): output series + 1 */
    bucket *b;              /* one group's buckets at a step */
} hist_groups;

static const char *metric_name(const core_labels *ls)
{
    const char *name = core_labels_get(ls, CORE_METRIC_NAME);
    return name ? name : "";
}

/* The upper bound in le, when there and well-formed. */
static bool bucket_upper(const core_labels *ls, double *upper)
{
    const char *lev = core_labels_get(ls, "le");
    char *end = NULL;
    if (lev) *upper = strtod(lev, &end);
    return lev && end != lev && !*end;
}

/* Warns (at the vector argument `arg`) about a missing or bad le. */
static void bucket_warning(ev_ctx *c, const pql_node *arg, const core_labels *ls)
{
    const char *lev = core_labels_get(ls, "le");
    ev_annotate(c, false, arg->pos,
                "bucket label \"le\" is missing or has a malformed value of \"%s\" for metric "
                "name \"%s\"",
                lev ? lev : "", metric_name(ls));
}

static void *tmp_zero(ev_ctx *c, size_t n, size_t size)
{
    void *p = ev_tmp_alloc(c, (n + 1) * size);
    memset(p, 0, (n + 1) * size);
    return p;
}

/* By upper bound, then by series index (held in count). */
static int cmp_bucket_index(const void *a, const void *b)
{
    const bucket *x = a, *y = b;
    if (x->upper != y->upper) return x->upper < y->upper ? -1 : 1;
    return (x->count > y->count) - (x->count < y->count);
}

static void hist_init(ev_ctx *c, hist_groups *h, const ev_matrix *m, size_t nout)
{
    static const char *const le[] = {"le"};
    size_t ns = m->n;
    *h = (hist_groups){0};
    h->group = tmp_zero(c, ns, sizeof *h->group);
    h->upper = tmp_zero(c, ns, sizeof *h->upper);
    h->cur = tmp_zero(c, ns, sizeof *h->cur);
    h->pstamp = tmp_zero(c, ns, sizeof *h->pstamp);
    h->val = tmp_zero(c, ns, sizeof *h->val);
    h->members = tmp_zero(c, ns, sizeof *h->members);
    h->ls = tmp_zero(c, ns, sizeof *h->ls);
    h->names = tmp_zero(c, ns, sizeof *h->names);
    h->first = tmp_zero(c, ns, sizeof *h->first);
    h->count = tmp_zero(c, ns, sizeof *h->count);
    h->gstamp = tmp_zero(c, ns, sizeof *h->gstamp);
    h->seen = tmp_zero(c, ns, sizeof *h->seen);
    h->out = tmp_zero(c, ns * nout, sizeof *h->out);
    h->b = tmp_zero(c, ns, sizeof *h->b);
    ev_map keys = {0};
    for (size_t i = 0; i < ns; i++) {
        const core_labels *ls = m->s[i].ls;
        if (!bucket_upper(ls, &h->upper[i])) {
            h->group[i] = SIZE_MAX;
            continue;
        }
        size_t *slot =
            ev_map_slot(c, &keys, ev_labels_sig(ls, le, 1, false) ^ core_hash_str(metric_name(ls)));
        if (!*slot) {
            h->ls[h->n] = ev_labels_filter(c, ls, le, 1, false, true);
            h->names[h->n] = metric_name(ls);
            *slot = ++h->n;
        }
        h->group[i] = *slot - 1;
        h->count[*slot - 1]++;
    }
    ev_map_free(c, &keys);
    for (size_t g = 1; g < h->n; g++)
        h->first[g] = h->first[g - 1] + h->count[g - 1];
    size_t *fill = tmp_zero(c, h->n, sizeof *fill);
    for (size_t i = 0; i < ns; i++)
        if (h->group[i] != SIZE_MAX) {
            size_t g = h->group[i];
            h->members[h->first[g] + fill[g]++] = i;
        }
    ev_tmp_free(c, fill);
    /* Each group's series by upper bound, ties in input order (what the
     * stable sort in coalesce makes of them), unless a bound is NaN. */
    bucket *tmp = tmp_zero(c, ns, sizeof *tmp);
    for (size_t g = 0; g < h->n; g++) {
        size_t *mem = h->members + h->first[g], cnt = h->count[g];
        bool nan = false;
        for (size_t k = 0; k < cnt; k++) {
            tmp[k] = (bucket){h->upper[mem[k]], (double)mem[k]};
            nan |= isnan(tmp[k].upper);
        }
        if (nan) continue;
        qsort(tmp, cnt, sizeof *tmp, cmp_bucket_index);
        for (size_t k = 0; k < cnt; k++)
            mem[k] = (size_t)tmp[k].count;
    }
    ev_tmp_free(c, tmp);
}

static void hist_free(ev_ctx *c, hist_groups *h)
{
    void *bufs[] = {h->group, h->upper, h->cur,   h->pstamp, h->val,  h->members, h->ls,
                    h->names, h->first, h->count, h->gstamp, h->seen, h->out,     h->b};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        ev_tmp_free(c, bufs[i]);
}

/* The series with a point at step st, in input order: their values noted,
 * their groups listed in order of appearance, a bad le warned about. */
static void hist_scan(ev_ctx *c, hist_groups *h, const ev_matrix *m, const pql_node *arg, size_t st,
                      int64_t ts)
{
    h->nseen = 0;
    for (size_t i = 0; i < m->n; i++) {
        const ev_series *s = &m->s[i];
        if (h->cur[i] >= s->n || s->pts[h->cur[i]].t != ts) continue;
        double v = s->pts[h->cur[i]++].v;
        size_t g = h->group[i];
        if (g == SIZE_MAX) {
            bucket_warning(c, arg, s->ls);
            continue;
        }
        h->val[i] = v;
        h->pstamp[i] = st + 1;
        if (h->gstamp[g] != st + 1) {
            h->gstamp[g] = st + 1;
            h->seen[h->nseen++] = g;
        }
    }
}

/* Group g's buckets at step st, in input order; returns their count. */
static size_t hist_buckets(hist_groups *h, size_t g, size_t st)
{
    size_t nb = 0;
    for (size_t k = 0; k < h->count[g]; k++) {
        size_t i = h->members[h->first[g] + k];
        if (h->pstamp[i] == st + 1) h->b[nb++] = (bucket){h->upper[i], h->val[i]};
    }
    return nb;
}

/* The output series of group slot k (group x quantile) for labels ls. */
static size_t hist_out(ev_ctx *c, hist_groups *h, ev_out *o, size_t k, const core_labels *ls)
{
    if (!h->out[k] || c->start == c->end)
        h->out[k] = ev_out_series(c, o, ls, core_labels_hash(ls), false) + 1;
    return h->out[k] - 1;
}

/* The cumulative count below v in bucket (lb, ub] whose predecessors hold
 * rank: linear inside a finite bucket; an infinite one is all below
 * (lb = -Inf) or all above (ub = +Inf) any value inside it. */
static double rank_at(double v, double lb, double ub, double rank, double count)
{
    if (isinf(lb)) return count;
    if (isinf(ub)) return rank;
    return rank + (count - rank) * (v - lb) / (ub - lb);
}

/* histogram_fraction over classic buckets; the lowest bucket starts at 0
 * when its upper bound is positive, as for histogram_quantile. */
static double bucket_fraction(double lower, double upper, bucket *b, size_t n)
{
    n = coalesce(b, n);
    if (!isinf(b[n - 1].upper) || b[n - 1].upper < 0) return NAN;
    double total = b[n - 1].count;
    if (total == 0 || isnan(lower) || isnan(upper)) return NAN;
    if (lower >= upper) return 0;
    double rank = 0, lo_rank = total, up_rank = total;
    bool lo_set = false, up_set = false;
    for (size_t i = 0; i < n && !(lo_set && up_set); i++) {
        double lb = i ? b[i - 1].upper : (b[0].upper > 0 ? 0 : -INFINITY), ub = b[i].upper;
        if (!lo_set && lb >= lower) lo_rank = rank, lo_set = true;
        if (!up_set && lb >= upper) up_rank = rank, up_set = true;
        if (!lo_set && lb < lower && ub > lower)
            lo_rank = rank_at(lower, lb, ub, rank, b[i].count), lo_set = true;
        if (!up_set && lb < upper && ub > upper)
            up_rank = rank_at(upper, lb, ub, rank, b[i].count), up_set = true;
        rank = b[i].count;
    }
    return (fmin(up_rank, total) - fmin(lo_rank, total)) / total;
}

/* The value of histogram_quantiles()' label: 0.25, 1.0, NaN. */
static const char *quantile_label(ev_ctx *c, double q)
{
    const char *f = ev_fmt_float(c, q);
    if (strpbrk(f, ".eIN")) return f;
    return core_arena_sprintf(c->a, "%s.0", f);
}

static void quantile_warning(ev_ctx *c, const pql_node *arg, double q)
{
    if (!(q >= 0 && q <= 1))
        ev_annotate(c, false, arg->pos, "quantile value should be between 0 and 1, got %s",
                    ev_fmt_float(c, q));
}

static void monotonicity_info(ev_ctx *c, const pql_node *arg, const char *name)
{
    ev_annotate(c, true, arg->pos,
                "input to histogram_quantile needed to be fixed for monotonicity (see "
                "https://prometheus.io/docs/prometheus/latest/querying/functions/"
                "#histogram_quantile) for metric name \"%s\"",
                name);
}

/* histogram_quantile(q, v), histogram_fraction(lower, upper, v) and
 * histogram_quantiles(v, label, q...) (one series per group and quantile),
 * with upstream's warnings in upstream's order. */
static ev_val eval_histogram(ev_ctx *c, const pql_node *n)
{
    const char *name = n->u.call.func->name;
    bool fraction = !strcmp(name, "histogram_fraction"),
         multi = !strcmp(name, "histogram_quantiles");
    size_t vi = multi ? 0 : fraction ? 2 : 1, nq = multi ? n->u.call.nargs - 2 : 1;
    const pql_node *arg = n->u.call.args[vi];
    const double **sargs = core_arena_calloc(c->a, n->u.call.nargs + 1, sizeof *sargs);
    ev_val in = {0};
    for (size_t i = 0; i < n->u.call.nargs; i++) {
        if (i == vi)
            in = ev_eval(c, arg);
        else if (!multi || i >= 2)
            sargs[i] = ev_eval(c, n->u.call.args[i]).scalars;
    }
    const char *label = multi ? string_arg(c, n, 1) : NULL;
    hist_groups h;
    hist_init(c, &h, &in.m, nq);
    /* histogram_quantiles: each quantile's label value, and each group's
     * labels with it, kept while the quantile stays the same */
    double *lastq = core_arena_calloc(c->a, nq + 1, sizeof *lastq);
    const char **qs = core_arena_calloc(c->a, nq + 1, sizeof *qs);
    const core_labels **qls = tmp_zero(c, h.n * nq, sizeof *qls);
    ev_out o = {0};
    for (size_t st = 0, steps = ev_nsteps(c); st < steps; st++) {
        int64_t ts = c->start + (int64_t)st * c->step;
        for (size_t k = 0; k < nq; k++) {
            const pql_node *qarg = n->u.call.args[multi ? k + 2 : 0];
            double q = fraction ? 0 : sargs[multi ? k + 2 : 0][st];
            if (!fraction) quantile_warning(c, qarg, q);
            if (k == 0) hist_scan(c, &h, &in.m, arg, st, ts);
            if (multi && (!qs[k] || memcmp(&lastq[k], &q, sizeof q))) {
                qs[k] = quantile_label(c, q);
                lastq[k] = q;
                for (size_t g = 0; g < h.n; g++)
                    qls[g * nq + k] = NULL, h.out[g * nq + k] = 0;
            }
            for (size_t j = 0; j < h.nseen; j++) {
                size_t g = h.seen[j], nb = hist_buckets(&h, g, st);
                double v;
                if (fraction) {
                    v = bucket_fraction(sargs[0][st], sargs[1][st], h.b, nb);
                } else {
                    bool forced = false;
                    v = bucket_quantile(q, h.b, nb, &forced);
                    if (forced) monotonicity_info(c, arg, h.names[g]);
                }
                const core_labels *ls = h.ls[g];
                if (multi) {
                    if (!qls[g * nq + k]) qls[g * nq + k] = ev_labels_set(c, ls, label, qs[k]);
                    ls = qls[g * nq + k];
                }
                ev_out_push(c, &o, hist_out(c, &h, &o, g * nq + k, ls), ts, v, true);
            }
        }
        ev_out_step_done(c, &o);
    }
    ev_tmp_free(c, qls);
    hist_free(c, &h);
    return ev_out_finish(c, &o);
}

/* ---- label_replace and label_join */

/* Go's Regexp.Expand: $1, ${1}, $name, ${name}, $$. */
static void expand(const pcre2_code *re, pcre2_match_data *md, const char *subj, const char *tmpl,
                   core_sb *out)
{
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    uint32_t groups = pcre2_get_ovector_count(md);
    for (const char *p = tmpl; *p; p++) {
        if (*p != '$') {
            core_sb_addc(out, *p);
            continue;
        }
        if (p[1] == '$') {
            core_sb_addc(out, '$');
            p++;
            continue;
        }
        bool brace = p[1] == '{';
        const char *s = p + 1 + brace, *e = s;
        while ((*e >= 'a' && *e <= 'z') || (*e >= 'A' && *e <= 'Z') || (*e >= '0' && *e <= '9') ||
               *e == '_')
            e++;
        if (e == s || (brace && *e != '}')) {
            core_sb_addc(out, '$');
            continue;
        }
        char name[128];
        size_t len = (size_t)(e - s) < sizeof name - 1 ? (size_t)(e - s) : sizeof name - 1;
        memcpy(name, s, len);
        name[len] = '\0';
        int idx = -1;
        if (strspn(name, "0123456789") == len)
            idx = atoi(name);
        else
            idx = pcre2_substring_number_from_name(re, (PCRE2_SPTR)name);
        if (idx >= 0 && (uint32_t)idx < groups && ov[2 * idx] != PCRE2_UNSET)
            core_sb_add(out, subj + ov[2 * idx], ov[2 * idx + 1] - ov[2 * idx]);
        p = brace ? e : e - 1;
    }
}

static ev_val merge_same(ev_ctx *c, ev_val v);

/* Go's utf8.ValidString: no overlong forms, surrogates or values past U+10FFFF. */
static bool valid_utf8(const unsigned char *s)
{
    while (*s) {
        unsigned char b = *s;
        size_t n = b < 0x80                 ? 0
                   : b >= 0xc2 && b <= 0xdf ? 1
                   : (b & 0xf0) == 0xe0     ? 2
                   : b >= 0xf0 && b <= 0xf4 ? 3
                                            : 4;
        if (n == 4) return false;
        unsigned lo = 0x80, hi = 0xbf;
        if (b == 0xe0) lo = 0xa0;
        if (b == 0xed) hi = 0x9f;
        if (b == 0xf0) lo = 0x90;
        if (b == 0xf4) hi = 0x8f;
        for (size_t i = 1; i <= n; i++, lo = 0x80, hi = 0xbf)
            if (s[i] < lo || s[i] > hi) return false;
        s += n + 1;
    }
    return true;
}

/* A label name is valid when non-empty UTF-8 (Prometheus 3.x). */
static bool valid_label_name(const char *name)
{
    return name[0] && valid_utf8((const unsigned char *)name);
}

static ev_val eval_label_replace(ev_ctx *c, const pql_node *n)
{
    const char *dst = string_arg(c, n, 1), *repl = string_arg(c, n, 2);
    const char *src = string_arg(c, n, 3), *rx = string_arg(c, n, 4);
    pql_matcher m = {PQL_MATCH_RE, "", rx, strlen(rx), false};
    void *re = pql_regex_compile(&m, NULL);
    if (!re) ev_fail(c, "invalid regular expression in label_replace(): %s", rx);
    if (!valid_label_name(dst)) {
        pql_regex_free(re);
        ev_fail(c, "invalid destination label name in label_replace(): %s", dst);
    }
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    core_sb sb = CORE_SB_INIT;
    ev_val in = ev_eval(c, n->u.call.args[0]);
    for (size_t i = 0; i < in.m.n; i++) {
        const char *sv = core_labels_get(in.m.s[i].ls, src);
        if (!sv) sv = "";
        if (pcre2_match(re, (PCRE2_SPTR)sv, strlen(sv), 0, 0, md, NULL) < 0) continue;
        core_sb_reset(&sb);
        core_sb_adds(&sb, "");
        expand(re, md, sv, repl, &sb);
        in.m.s[i].ls = ev_labels_set(c, in.m.s[i].ls, dst, core_arena_strdup(c->a, sb.buf));
        if (!strcmp(dst, CORE_METRIC_NAME)) in.m.s[i].drop_name = false;
    }
    core_sb_destroy(&sb);
    pcre2_match_data_free(md);
    pql_regex_free(re);
    return merge_same(c, in);
}

static ev_val eval_label_join(ev_ctx *c, const pql_node *n)
{
    const char *dst = string_arg(c, n, 1), *sep = string_arg(c, n, 2);
    if (!valid_label_name(dst))
        ev_fail(c, "invalid destination label name in label_join(): %s", dst);
    ev_val in = ev_eval(c, n->u.call.args[0]);
    for (size_t i = 0; i < in.m.n; i++) {
        core_sb sb = CORE_SB_INIT;
        core_sb_adds(&sb, "");
        for (size_t k = 3; k < n->u.call.nargs; k++) {
            const char *v = core_labels_get(in.m.s[i].ls, string_arg(c, n, k));
            if (k > 3) core_sb_adds(&sb, sep);
            core_sb_adds(&sb, v ? v : "");
        }
        in.m.s[i].ls = ev_labels_set(c, in.m.s[i].ls, dst, core_arena_strdup(c->a, sb.buf));
        core_sb_destroy(&sb);
        if (!strcmp(dst, CORE_METRIC_NAME)) in.m.s[i].drop_name = false;
    }
    return merge_same(c, in);
}

static int cmp_pt(const void *a, const void *b)
{
    const pql_point *x = a, *y = b;
    return (x->t > y->t) - (x->t < y->t);
}

/* Series that now share labels become one; overlapping points are an error. */
static ev_val merge_same(ev_ctx *c, ev_val v)
{
    size_t kept = 0;
    for (size_t i = 0; i < v.m.n; i++) {
        size_t j = 0;
        while (j < kept && !core_labels_equal(v.m.s[j].ls, v.m.s[i].ls))
            j++;
        if (j == kept) {
            v.m.s[kept++] = v.m.s[i];
            continue;
        }
        ev_series *base = &v.m.s[j];
        for (size_t k = 0; k < v.m.s[i].n; k++)
            ev_series_push(c, base, v.m.s[i].pts[k].t, v.m.s[i].pts[k].v);
        qsort(base->pts, base->n, sizeof *base->pts, cmp_pt);
        for (size_t k = 1; k < base->n; k++)
            if (base->pts[k].t == base->pts[k - 1].t)
                ev_fail(c, "vector cannot contain metrics with the same labelset");
    }
    v.m.n = kept;
    return v;
}

/* ---- Dispatch */

static ev_val step_call(ev_ctx *c, const pql_node *n, ev_step_fn fn, const void *user)
{
    ev_val *args = core_arena_calloc(c->a, n->u.call.nargs + 1, sizeof *args);
    for (size_t i = 0; i < n->u.call.nargs; i++)
        args[i] = ev_eval(c, n->u.call.args[i]);
    return ev_range_eval(c, fn, user, args, n->u.call.nargs);
}

/* histogram_count, _sum, _avg, _stddev, _stdvar read native histogram
 * samples and skip float ones, as upstream's do; this engine stores no native
 * histograms, so they give nothing (their argument is still evaluated, errors
 * and all). */
static void native_only_step(ev_ctx *c, const void *user, ev_vec *args, int64_t ts, ev_vec *out)
{
    (void)c, (void)user, (void)args, (void)ts, (void)out;
}

static bool is_native_histogram_fn(const char *name)
{
    static const char *const names[] = {"histogram_avg", "histogram_count", "histogram_stddev",
                                        "histogram_stdvar", "histogram_sum"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(names[i], name)) return true;
    return false;
}

static bool is_date_fn(const char *name)
{
    static const char *const names[] = {"day_of_month",  "day_of_week", "day_of_year",
                                        "days_in_month", "hour",        "minute",
                                        "month",         "year"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(names[i], name)) return true;
    return false;
}

static bool is_clamp_fn(const char *name)
{
    return !strcmp(name, "clamp") || !strcmp(name, "clamp_min") || !strcmp(name, "clamp_max") ||
           !strcmp(name, "round");
}

static const math_impl *find_math_impl(const char *name)
{
    for (size_t i = 0; i < sizeof math_impls / sizeof math_impls[0]; i++)
        if (!strcmp(math_impls[i].name, name)) return &math_impls[i];
    return NULL;
}

/* Functions whose every output series comes from one input series. */
bool ev_call_streams(const pql_node *n)
{
    const char *name = n->u.call.func->name;
    return find_range_impl(name) || find_math_impl(name) || is_clamp_fn(name) ||
           !strcmp(name, "timestamp") || (is_date_fn(name) && n->u.call.nargs == 1);
}

ev_stream *ev_call_stream(ev_ctx *c, const pql_node *n)
{
    const char *name = n->u.call.func->name;
    const range_impl *ri = find_range_impl(name);
    if (ri) return range_fn_stream(c, n, ri);
    const math_impl *mi = find_math_impl(name);
    if (mi) return ev_map_stream(c, ev_stream_open(c, n->u.call.args[0]), math_map, mi, true);
    if (is_clamp_fn(name)) return clamp_stream(c, n);
    if (is_date_fn(name))
        return ev_map_stream(c, ev_stream_open(c, n->u.call.args[0]), date_map, name, true);
    const pql_node *a = n->u.call.args[0];
    if (a->kind == PQL_NODE_VECTOR)
        return ev_map_stream(c, ev_selector_stream(c, a, true), identity_map, NULL, true);
    return ev_map_stream(c, ev_stream_open(c, a), timestamp_map, NULL, true);
}

static ev_val call_special(ev_ctx *c, const pql_node *n, const char *name)
{
    if (!strcmp(name, "absent_over_time")) return eval_absent_over_time(c, n);
    if (!strcmp(name, "absent")) return step_call(c, n, absent_step, n->u.call.args[0]);
    if (!strcmp(name, "label_replace")) return eval_label_replace(c, n);
    if (!strcmp(name, "label_join")) return eval_label_join(c, n);
    if (!strcmp(name, "scalar")) return eval_scalar(c, n);
    if (is_time_fn(name)) return ev_scalar_val(c, time_at, name);
    if (!strcmp(name, "min_of") || !strcmp(name, "max_of")) return eval_min_max_of(c, n);
    if (!strcmp(name, "vector")) return step_call(c, n, vector_step, n);
    bool by_label = !strcmp(name, "sort_by_label") || !strcmp(name, "sort_by_label_desc");
    if (by_label || !strcmp(name, "sort") || !strcmp(name, "sort_desc")) {
        sort_warning(c, n);
        /* Over several steps the order of series means nothing (a range
         * query's result is sorted by labels): the input as it is. */
        if (c->start != c->end) return ev_eval(c, n->u.call.args[0]);
        return by_label ? eval_sort_by_label(c, n) : step_call(c, n, sort_step, n);
    }
    if (!strcmp(name, "histogram_quantile") || !strcmp(name, "histogram_fraction") ||
        !strcmp(name, "histogram_quantiles"))
        return eval_histogram(c, n);
    if (is_date_fn(name)) return step_call(c, n, date_step, n);
    if (is_native_histogram_fn(name)) return step_call(c, n, native_only_step, n);
    ev_fail(c, "function %s is not supported yet", name);
}

ev_val ev_call(ev_ctx *c, const pql_node *n)
{
    if (ev_call_streams(n)) return ev_materialize(c, ev_call_stream(c, n));
    return call_special(c, n, n->u.call.func->name);
}
