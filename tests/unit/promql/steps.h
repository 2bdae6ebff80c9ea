/*
 * steps.h - what the evaluator's unit tests share: a deterministic data set
 * in an in-memory storage, and the check that a range query equals, step by
 * step, the instant queries at its steps.
 *
 * The engine evaluates a range query series by series with windows that
 * slide from step to step (sorted values, monotonic queues, running sums,
 * prefix counts kept as they move) and matches series once for all steps;
 * an instant query has one step, so each of those starts afresh.  The two
 * agreeing over data with resets, NaN, infinities, signed zeros, repeated
 * values, gaps and staleness markers is the property these tests check.
 *
 * Static functions in a header: each test program includes it once.
 */
#ifndef TESTS_UNIT_PROMQL_STEPS_H
#define TESTS_UNIT_PROMQL_STEPS_H

#include "unit/unit.h"

#include <math.h>

#include "promql/engine.h"
#include "promql/promql.h"

/* The data set's time span: samples from 0 to 2 h, about every 15 s. */
#define STEPS_DATA_END (2 * 3600 * 1000)

static uint64_t steps_rng = 0x9e3779b97f4a7c15u;

static uint64_t steps_rand(void)
{
    steps_rng ^= steps_rng << 13;
    steps_rng ^= steps_rng >> 7;
    steps_rng ^= steps_rng << 17;
    return steps_rng;
}

/* An integer in [0, n). */
static int steps_randn(int n)
{
    return (int)(steps_rand() % (uint64_t)n);
}

static void steps_add(pql_mem_storage *ms, const char *name, const char *k1, const char *v1,
                      const char *k2, const char *v2, int64_t t, double v)
{
    core_label pairs[3] = {{CORE_METRIC_NAME, name}, {k1, v1}, {k2, v2}};
    core_labels *ls = core_labels_new(pairs, k2 ? 3 : 2);
    pql_mem_storage_add(ms, ls, t, v);
    free(ls);
}

/* A sample time near each 15 s (jitter up to 4 s), with a gap now and then. */
static bool steps_next_time(int64_t *t)
{
    *t += 15000;
    if (steps_randn(40) == 0) *t += 15000 * (1 + steps_randn(8)); /* a gap */
    return *t < STEPS_DATA_END;
}

/* The data set:
 *   counter{i}: increasing by random amounts, reset to 0 or a small value now
 *     and then, a staleness marker and a restart in some;
 *   gauge{i}: a random walk with NaN, +-Inf, 0, -0 and repeated values;
 *   big{i}: values near 1e9 with small noise, one constant;
 *   bucket{g, le}: classic histogram counters (0.1, 0.5, 1, +Inf), one group
 *     with an unparsable le;
 *   zero{i}: only 0, -0, 1, -1 and NaN (equal values that differ in bits). */
static void steps_fill(pql_mem_storage *ms)
{
    char inst[16], grp[16];
    for (int i = 0; i < 6; i++) {
        snprintf(inst, sizeof inst, "%d", i);
        double v = steps_randn(100);
        for (int64_t t = steps_randn(15000); steps_next_time(&t);) {
            v += steps_randn(10) ? steps_randn(50) / 4.0 : 0;
            if (steps_randn(60) == 0) v = steps_randn(3);
            int64_t ts = t + steps_randn(4000);
            if (i == 5 && t > 3600000 && t < 3900000) {
                if (t < 3615000)
                    steps_add(ms, "counter", "i", inst, NULL, NULL, ts, pql_stale_nan());
                continue;
            }
            steps_add(ms, "counter", "i", inst, NULL, NULL, ts, v);
        }
    }
    static const double specials[] = {NAN, INFINITY, -INFINITY, 0.0, -0.0};
    for (int i = 0; i < 6; i++) {
        snprintf(inst, sizeof inst, "%d", i);
        double v = 0;
        for (int64_t t = steps_randn(15000); steps_next_time(&t);) {
            int r = steps_randn(100);
            double out = v;
            if (r < 3)
                out = specials[steps_randn(5)];
            else if (r < 30)
                ; /* repeated */
            else
                v += (steps_randn(200) - 100) / 8.0, out = v;
            steps_add(ms, "gauge", "i", inst, NULL, NULL, t + steps_randn(4000), out);
        }
    }
    for (int i = 0; i < 3; i++) {
        snprintf(inst, sizeof inst, "%d", i);
        for (int64_t t = 0; steps_next_time(&t);)
            steps_add(ms, "big", "i", inst, NULL, NULL, t,
                      i == 0 ? 1e9 : 1e9 + t / 1000.0 * i + steps_randn(1000) / 1000.0);
    }
    static const double zeros[] = {0.0, -0.0, 1, -1, NAN};
    for (int i = 0; i < 3; i++) {
        snprintf(inst, sizeof inst, "%d", i);
        for (int64_t t = 0; steps_next_time(&t);)
            steps_add(ms, "zero", "i", inst, NULL, NULL, t, zeros[steps_randn(i == 2 ? 5 : 2)]);
    }
    static const char *const les[] = {"0.1", "0.5", "1", "+Inf"};
    for (int g = 0; g < 4; g++) {
        snprintf(grp, sizeof grp, "%d", g);
        double counts[4] = {0};
        for (int64_t t = 0; steps_next_time(&t);) {
            double add = 0;
            for (int b = 0; b < 4; b++) {
                add += steps_randn(5);
                counts[b] += add;
                const char *le = g == 3 && b == 2 ? "x" : les[b];
                steps_add(ms, "bucket", "g", grp, "le", le, t + g * 100, counts[b]);
            }
        }
    }
}

/* Whether a and b agree: equal, both NaN, or within tol relative. */
static bool steps_close(double a, double b, double tol)
{
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    if (a == b) return true;
    return fabs(a - b) <= tol * fmax(fabs(a), fabs(b));
}

/* The range query's point of series `ls` at t, or NULL. */
static const pql_point *steps_point(const pql_result *r, const core_labels *ls, int64_t t)
{
    for (size_t i = 0; i < r->nseries; i++) {
        const pql_result_series *s = &r->series[i];
        if (!core_labels_equal(s->labels, ls)) continue;
        for (size_t k = 0; k < s->n; k++)
            if (s->pts[k].t == t) return &s->pts[k];
    }
    return NULL;
}

/* Asserts that `query` over [start, end] at `step` equals the instant query
 * at each step: the same series and values (within tol), or the same error.
 * Returns how many points the range query has (so a caller can check that
 * a query is not trivially empty). */
static size_t steps_check(pql_storage *st, const char *query, int64_t start, int64_t end,
                          int64_t step, double tol)
{
    core_arena a = {0};
    core_err err = {{0}}, ierr = {{0}};
    pql_parse_opts po = {.experimental_functions = true};
    pql_node *n = pql_parse(query, &po, &a, &err);
    if (!n) fail_msg("%s: %s", query, err.msg);
    pql_engine_opts o = PQL_ENGINE_OPTS_DEFAULT;
    pql_result r;
    int rc = pql_eval_range(st, &o, n, start, end, step, &a, &r, &err);
    size_t points = 0, matched = 0, failed_steps = 0;
    for (int64_t t = start; t <= end; t += step) {
        core_arena ia = {0};
        pql_result ir;
        if (pql_eval_instant(st, &o, n, t, &ia, &ir, &ierr) < 0) {
            if (rc == 0) fail_msg("%s at %lld: instant failed: %s", query, (long long)t, ierr.msg);
            if (strcmp(err.msg, ierr.msg) != 0)
                fail_msg("%s: range failed with \"%s\", instant at %lld with \"%s\"", query,
                         err.msg, (long long)t, ierr.msg);
            failed_steps++;
            core_arena_destroy(&ia);
            continue;
        }
        if (rc < 0) {
            core_arena_destroy(&ia);
            continue;
        }
        if (ir.type == PQL_TYPE_SCALAR) {
            const pql_point *p = steps_point(&r, r.nseries ? r.series[0].labels : NULL, t);
            if (!p || !steps_close(p->v, ir.scalar, tol))
                fail_msg("%s at %lld: scalar %g, range %g", query, (long long)t, ir.scalar,
                         p ? p->v : -12345.0);
            matched++;
        }
        for (size_t i = 0; ir.type == PQL_TYPE_VECTOR && i < ir.nseries; i++) {
            const pql_point *p = steps_point(&r, ir.series[i].labels, t);
            double want = ir.series[i].pts[0].v;
            if (!p || !steps_close(p->v, want, tol)) {
                core_sb sb = CORE_SB_INIT;
                core_labels_format(ir.series[i].labels, &sb);
                fail_msg("%s at %lld: %s instant %.17g, range %.17g%s", query, (long long)t,
                         sb.buf ? sb.buf : "{}", want, p ? p->v : 0.0, p ? "" : " (missing)");
            }
            matched++;
        }
        core_arena_destroy(&ia);
    }
    if (rc < 0 && !failed_steps)
        fail_msg("%s: range failed (%s), no instant query did", query, err.msg);
    for (size_t i = 0; rc == 0 && i < r.nseries; i++)
        points += r.series[i].n;
    if (points != matched)
        fail_msg("%s: range has %zu points, the instant queries %zu", query, points, matched);
    core_arena_destroy(&a);
    return points;
}

#endif
