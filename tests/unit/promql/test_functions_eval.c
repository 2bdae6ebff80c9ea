/*
 * test_functions_eval.c - the functions over range vectors and the classic
 * histogram functions: a range query equals, step by step, the instant
 * queries at its steps (steps.h) for every function over windows short and
 * long, with offset, @ and subqueries, over data with resets, NaN, +-Inf,
 * signed zeros, gaps and staleness; and deriv/predict_linear, whose long
 * windows keep running sums, against upstream's regression computed here
 * from the raw samples.
 */
#include "steps.h"

static pql_mem_storage *ms;

static int setup(void **state)
{
    (void)state;
    ms = pql_mem_storage_new();
    steps_fill(ms);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    pql_mem_storage_free(ms);
    return 0;
}

/* 30 min to 2 h at a step that is no multiple of the samples' interval. */
static size_t check(const char *q)
{
    return steps_check(pql_mem_storage_iface(ms), q, 1800000, STEPS_DATA_END, 20000, 1e-9);
}

static void test_range_functions_step_by_step(void **state)
{
    (void)state;
    static const char *const fns[] = {
        "rate",
        "increase",
        "delta",
        "irate",
        "idelta",
        "avg_over_time",
        "sum_over_time",
        "count_over_time",
        "min_over_time",
        "max_over_time",
        "last_over_time",
        "first_over_time",
        "stddev_over_time",
        "stdvar_over_time",
        "mad_over_time",
        "changes",
        "resets",
        "deriv",
        "present_over_time",
        "ts_of_min_over_time",
        "ts_of_max_over_time",
        "ts_of_last_over_time",
        "ts_of_first_over_time",
    };
    static const char *const sels[] = {"counter[1m]", "counter[5m]", "gauge[2m]",
                                       "gauge[10m]",  "big[10m]",    "zero[5m]"};
    char q[256];
    for (size_t f = 0; f < sizeof fns / sizeof fns[0]; f++)
        for (size_t s = 0; s < sizeof sels / sizeof sels[0]; s++) {
            snprintf(q, sizeof q, "%s(%s)", fns[f], sels[s]);
            assert_true(check(q) > 0);
        }
}

static void test_functions_with_arguments(void **state)
{
    (void)state;
    static const char *const qs[] = {
        "quantile_over_time(0.5, gauge[10m])",
        "quantile_over_time(0, gauge[3m])",
        "quantile_over_time(1, gauge[10m])",
        "quantile_over_time(0.9, counter[5m])",
        "quantile_over_time(1.5, gauge[5m])",
        "predict_linear(gauge[10m], 600)",
        "predict_linear(big[10m], 3600)",
        "predict_linear(counter[1m], 60)",
        "double_exponential_smoothing(gauge[5m], 0.5, 0.5)",
    };
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++)
        assert_true(check(qs[i]) > 0);
}

static void test_offset_at_and_subqueries(void **state)
{
    (void)state;
    static const char *const qs[] = {
        "rate(counter[5m] offset 7m)",
        "max_over_time(gauge[10m] offset -3m)",
        "quantile_over_time(0.3, gauge[10m] @ 3000)",
        "predict_linear(big[10m] @ 7000, 60)",
        "min_over_time(gauge[10m] @ 1800 offset 1m)",
        "max_over_time(rate(counter[2m])[10m:30s])",
        "min_over_time(gauge[20m:1m])",
        "quantile_over_time(0.7, deriv(gauge[5m])[15m:45s])",
        "predict_linear(avg_over_time(big[2m])[30m:30s], 300)",
        "sum_over_time(sum(counter)[5m:])",
        "avg_over_time((-gauge)[5m:1m])",
        "rate(counter[5m])",
    };
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++)
        assert_true(check(qs[i]) > 0);
}

static void test_element_wise_and_histograms(void **state)
{
    (void)state;
    static const char *const qs[] = {
        "abs(gauge) * 2",
        "clamp(gauge, -10, 10)",
        "clamp_min(-gauge, 0)",
        "round(gauge, 0.5)",
        "timestamp(gauge)",
        "timestamp(-gauge)",
        "gauge > bool 3",
        "2 < gauge",
        "histogram_quantile(0.5, rate(bucket[5m]))",
        "histogram_quantile(0.99, sum by (le) (rate(bucket[5m])))",
        "histogram_fraction(0, 0.5, rate(bucket[5m]))",
        "histogram_quantiles(rate(bucket[5m]), \"q\", 0.1, 0.9)",
    };
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++)
        assert_true(check(qs[i]) > 0);
}

/* Upstream's linearRegression over the raw samples in (ref - range, ref]. */
static bool reference_regression(const char *labels_i, int64_t ref, int64_t range, int64_t at,
                                 double *slope, double *icpt)
{
    core_arena a = {0};
    core_err err = {{0}};
    char q[128];
    snprintf(q, sizeof q, "big{i=\"%s\"}[%lldms]", labels_i, (long long)range);
    pql_node *n = pql_parse(q, NULL, &a, &err);
    pql_engine_opts o = PQL_ENGINE_OPTS_DEFAULT;
    pql_result r;
    assert_int_equal(pql_eval_instant(pql_mem_storage_iface(ms), &o, n, ref, &a, &r, &err), 0);
    bool ok = r.nseries == 1 && r.series[0].n >= 2;
    if (ok) {
        const pql_point *p = r.series[0].pts;
        size_t cnt = r.series[0].n;
        double sx = 0, sy = 0, sxy = 0, sx2 = 0, cx = 0, cy = 0, cxy = 0, cx2 = 0;
        for (size_t k = 0; k < cnt; k++) {
            double x = (double)(p[k].t - at) / 1e3, y = p[k].v;
#define KAHAN(s, c, v)                                           \
    do {                                                         \
        double t_ = s + (v);                                     \
        c += fabs(s) >= fabs(v) ? (s - t_) + (v) : ((v)-t_) + s; \
        s = t_;                                                  \
    } while (0)
            KAHAN(sx, cx, x);
            KAHAN(sy, cy, y);
            KAHAN(sxy, cxy, x * y);
            KAHAN(sx2, cx2, x * x);
#undef KAHAN
        }
        double nn = (double)cnt;
        sx += cx, sy += cy, sxy += cxy, sx2 += cx2;
        *slope = (sxy - sx * sy / nn) / (sx2 - sx * sx / nn);
        *icpt = sy / nn - *slope * sx / nn;
    }
    core_arena_destroy(&a);
    return ok;
}

static void test_regression_against_upstream(void **state)
{
    (void)state;
    core_arena a = {0};
    core_err err = {{0}};
    pql_node *d = pql_parse("deriv(big[20m])", NULL, &a, &err);
    pql_node *p = pql_parse("predict_linear(big[20m], 1800)", NULL, &a, &err);
    pql_engine_opts o = PQL_ENGINE_OPTS_DEFAULT;
    pql_result rd, rp;
    int64_t start = 1800000, end = STEPS_DATA_END, step = 15000, range = 1200000;
    assert_int_equal(
        pql_eval_range(pql_mem_storage_iface(ms), &o, d, start, end, step, &a, &rd, &err), 0);
    assert_int_equal(
        pql_eval_range(pql_mem_storage_iface(ms), &o, p, start, end, step, &a, &rp, &err), 0);
    assert_int_equal(rd.nseries, 3);
    assert_int_equal(rp.nseries, 3);
    size_t checked = 0;
    for (size_t i = 0; i < rd.nseries; i++) {
        const char *inst = core_labels_get(rd.series[i].labels, "i");
        for (size_t k = 0; k < rd.series[i].n; k++) {
            int64_t t = rd.series[i].pts[k].t;
            double slope, icpt, pslope, picpt;
            const pql_point *w = steps_point(&rp, rp.series[i].labels, t);
            assert_non_null(w);
            /* deriv: x from the window's first sample */
            core_arena wa = {0};
            char q[64];
            snprintf(q, sizeof q, "big{i=\"%s\"}[20m]", inst);
            pql_node *wn = pql_parse(q, NULL, &wa, &err);
            pql_result wr;
            assert_int_equal(pql_eval_instant(pql_mem_storage_iface(ms), &o, wn, t, &wa, &wr, &err),
                             0);
            int64_t first = wr.series[0].pts[0].t;
            core_arena_destroy(&wa);
            assert_true(reference_regression(inst, t, range, first, &slope, &icpt));
            assert_true(reference_regression(inst, t, range, t, &pslope, &picpt));
            double want_p = pslope * 1800 + picpt;
            if (rd.series[i].pts[k].v != slope || !steps_close(w->v, want_p, 1e-12))
                fail_msg("i=%s at %lld: deriv %.17g want %.17g, predict_linear %.17g want %.17g",
                         inst, (long long)t, rd.series[i].pts[k].v, slope, w->v, want_p);
            checked++;
        }
    }
    assert_true(checked > 1000);
    /* the constant series: exactly 0 and the value, as upstream */
    assert_int_equal(pql_eval_instant(pql_mem_storage_iface(ms), &o, d, 5000000, &a, &rd, &err), 0);
    for (size_t i = 0; i < rd.nseries; i++)
        if (!strcmp(core_labels_get(rd.series[i].labels, "i"), "0"))
            assert_true(rd.series[i].pts[0].v == 0);
    core_arena_destroy(&a);
}

/* ---- The functions whose windows slide, against naive computations over
 * each step's window (read with an instant matrix selector) */

typedef double (*naive_fn)(const pql_point *p, size_t n, double arg, int64_t ref, int64_t range);

/* upstream's loop: the first extreme that is not NaN, else the last point */
static size_t naive_extreme(const pql_point *p, size_t n, bool max)
{
    size_t k = 0;
    for (size_t i = 1; i < n; i++)
        if ((max ? p[i].v > p[k].v : p[i].v < p[k].v) || isnan(p[k].v)) k = i;
    return k;
}

static double naive_max(const pql_point *p, size_t n, double arg, int64_t ref, int64_t range)
{
    (void)arg, (void)ref, (void)range;
    return p[naive_extreme(p, n, true)].v;
}

static double naive_min(const pql_point *p, size_t n, double arg, int64_t ref, int64_t range)
{
    (void)arg, (void)ref, (void)range;
    return p[naive_extreme(p, n, false)].v;
}

static double naive_ts_max(const pql_point *p, size_t n, double arg, int64_t ref, int64_t range)
{
    (void)arg, (void)ref, (void)range;
    return (double)p[naive_extreme(p, n, true)].t / 1000;
}

static double naive_ts_min(const pql_point *p, size_t n, double arg, int64_t ref, int64_t range)
{
    (void)arg, (void)ref, (void)range;
    return (double)p[naive_extreme(p, n, false)].t / 1000;
}

static int cmp_nan_first(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    if (isnan(x)) return isnan(y) ? 0 : -1;
    if (isnan(y)) return 1;
    return (x > y) - (x < y);
}

static double naive_quantile(const pql_point *p, size_t n, double q, int64_t ref, int64_t range)
{
    (void)ref, (void)range;
    double v[1024];
    for (size_t i = 0; i < n; i++)
        v[i] = p[i].v;
    qsort(v, n, sizeof *v, cmp_nan_first);
    double rank = q * (double)(n - 1);
    double lo = fmax(0, floor(rank)), hi = fmin((double)n - 1, lo + 1), w = rank - floor(rank);
    return v[(size_t)lo] * (1 - w) + v[(size_t)hi] * w;
}

/* upstream's extrapolatedRate for rate() */
static double naive_rate(const pql_point *p, size_t n, double arg, int64_t ref, int64_t range)
{
    (void)arg;
    if (n < 2) return NAN;
    double result = p[n - 1].v - p[0].v;
    for (size_t i = 1; i < n; i++)
        if (p[i].v < p[i - 1].v) result += p[i - 1].v;
    double to_start = (double)(p[0].t - (ref - range)) / 1000;
    double to_end = (double)(ref - p[n - 1].t) / 1000;
    double sampled = (double)(p[n - 1].t - p[0].t) / 1000;
    double avg = sampled / (double)(n - 1), threshold = avg * 1.1;
    if (to_start >= threshold) to_start = avg / 2;
    double to_zero = to_start;
    if (result > 0 && p[0].v >= 0) to_zero = sampled * (p[0].v / result);
    if (to_zero < to_start) to_start = to_zero;
    if (to_end >= threshold) to_end = avg / 2;
    double factor = sampled != 0 ? (sampled + to_start + to_end) / sampled : 1;
    factor /= (double)range / 1000;
    return result * factor;
}

/* Every step of `fn_query` (a range query, 30 min to 2 h at 20 s) against
 * `naive` over the window of `sel` at that step; returns the points seen. */
static size_t against_naive(const char *fn_query, const char *sel, int64_t range, naive_fn naive,
                            double arg)
{
    core_arena a = {0};
    core_err err = {{0}};
    pql_parse_opts po = {.experimental_functions = true};
    pql_node *fq = pql_parse(fn_query, &po, &a, &err), *sq = pql_parse(sel, &po, &a, &err);
    assert_non_null(fq);
    assert_non_null(sq);
    pql_engine_opts o = PQL_ENGINE_OPTS_DEFAULT;
    pql_result r;
    assert_int_equal(pql_eval_range(pql_mem_storage_iface(ms), &o, fq, 1800000, STEPS_DATA_END,
                                    20000, &a, &r, &err),
                     0);
    size_t seen = 0;
    for (int64_t t = 1800000; t <= STEPS_DATA_END; t += 20000) {
        core_arena wa = {0};
        pql_result w;
        assert_int_equal(pql_eval_instant(pql_mem_storage_iface(ms), &o, sq, t, &wa, &w, &err), 0);
        for (size_t i = 0; i < w.nseries; i++) {
            double want = naive(w.series[i].pts, w.series[i].n, arg, t, range);
            /* the function drops the name: compare by the other labels */
            const pql_point *got = NULL;
            for (size_t k = 0; k < r.nseries && !got; k++)
                if (!strcmp(core_labels_get(r.series[k].labels, "i"),
                            core_labels_get(w.series[i].labels, "i")))
                    got = steps_point(&r, r.series[k].labels, t);
            if (isnan(want) && !got && naive == naive_rate) continue; /* too few points */
            if (!got || !steps_close(got->v, want, 0) || signbit(got->v) != signbit(want))
                fail_msg("%s at %lld, i=%s: %.17g, want %.17g", fn_query, (long long)t,
                         core_labels_get(w.series[i].labels, "i"), got ? got->v : -12345.0, want);
            seen++;
        }
        core_arena_destroy(&wa);
    }
    core_arena_destroy(&a);
    return seen;
}

static void test_sliding_windows_against_naive(void **state)
{
    (void)state;
    assert_true(against_naive("max_over_time(gauge[5m])", "gauge[5m]", 300000, naive_max, 0) >
                1000);
    assert_true(against_naive("min_over_time(gauge[10m])", "gauge[10m]", 600000, naive_min, 0) >
                1000);
    assert_true(against_naive("ts_of_max_over_time(gauge[3m])", "gauge[3m]", 180000, naive_ts_max,
                              0) > 1000);
    assert_true(against_naive("ts_of_min_over_time(gauge[10m])", "gauge[10m]", 600000, naive_ts_min,
                              0) > 1000);
    assert_true(against_naive("max_over_time(counter[1m])", "counter[1m]", 60000, naive_max, 0) >
                1000);
    for (double q = 0; q <= 1; q += 0.25) {
        char fq[96];
        snprintf(fq, sizeof fq, "quantile_over_time(%g, gauge[10m])", q);
        assert_true(against_naive(fq, "gauge[10m]", 600000, naive_quantile, q) > 1000);
    }
    for (double q = 0; q <= 1; q += 0.125) {
        char fq[96];
        snprintf(fq, sizeof fq, "quantile_over_time(%g, zero[5m])", q);
        assert_true(against_naive(fq, "zero[5m]", 300000, naive_quantile, q) > 500);
    }
    assert_true(against_naive("min_over_time(zero[5m])", "zero[5m]", 300000, naive_min, 0) > 500);
    assert_true(against_naive("max_over_time(zero[5m])", "zero[5m]", 300000, naive_max, 0) > 500);
    assert_true(against_naive("rate(counter[5m])", "counter[5m]", 300000, naive_rate, 0) > 1000);
    assert_true(against_naive("rate(counter[1m])", "counter[1m]", 60000, naive_rate, 0) > 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_range_functions_step_by_step),
        cmocka_unit_test(test_functions_with_arguments),
        cmocka_unit_test(test_offset_at_and_subqueries),
        cmocka_unit_test(test_element_wise_and_histograms),
        cmocka_unit_test(test_regression_against_upstream),
        cmocka_unit_test(test_sliding_windows_against_naive),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
