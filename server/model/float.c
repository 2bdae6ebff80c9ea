/*
 * float.c - doubles written as Go's strconv.FormatFloat(v, 'g', -1, 64).
 *
 * Prometheus names histogram buckets and summary quantiles with that
 * formatting (le="0.005", le="1", le="1e+06", quantile="0.99"), and the
 * protobuf parser has to produce the same label values as an exporter writes
 * in the text format, or the same series would get two identities.
 *
 * Go's output is the shortest decimal that reads back as the same double
 * (the closest one to v when several of that length do), laid out as %e when
 * the decimal exponent is below -4 or at least 6, else as %f.  The digits are
 * found cheapest first:
 *   1. integers below 2^53 are their own digits;
 *   2. a short decimal r x 10^-k (r < 10^15, k <= 15) is found by scaling:
 *      r = round(v x 10^k), checked by r / 10^k == v, which is exact-input
 *      IEEE division and so rounds like strtod (Clinger's fast path).  A
 *      decimal of at most 15 significant digits that reads back as v is the
 *      only one of its length near v (the grid of 15-digit decimals is wider
 *      than a double's rounding interval), so the first k that works gives
 *      Go's digits.  Bucket bounds and quantiles nearly always end here;
 *   3. otherwise printf's correctly rounded %.14e, %.15e, %.16e are tried in
 *      turn and the first that strtod reads back wins.  At 16 digits the
 *      nearest decimal can miss v's interval (lopsided at a power of two)
 *      while its neighbour on the other side fits; that one is tried too.
 *      17 digits always read back.  Subnormals carry fewer digits, so for
 *      them every precision from 1 digit up is tried; their rounding
 *      interval is symmetric, so the nearest decimal is the one to try.
 * Checked against Go 1.19 on random bit patterns, random short decimals and
 * every power of two and ten with their neighbours (see the unit test's
 * table, taken from Go).
 */
#include "model/internal.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A positive decimal 0.d[0]d[1]...d[nd-1] x 10^dp without trailing zeros. */
typedef struct decimal {
    char d[24];
    int nd;
    int dp;
} decimal;

#define TWO_TO_53 9007199254740992.0

static const double pow10_tab[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Sets x to n x 10^exp10 (n > 0). */
static void decimal_set(decimal *x, uint64_t n, int exp10)
{
    char tmp[20];
    int i = (int)sizeof tmp;
    while (n != 0) {
        tmp[--i] = (char)('0' + n % 10);
        n /= 10;
    }
    int len = (int)sizeof tmp - i;
    memcpy(x->d, tmp + i, (size_t)len);
    x->dp = len + exp10;
    while (len > 1 && x->d[len - 1] == '0')
        len--;
    x->nd = len;
}

/* Step 2: a decimal of at most 15 digits with up to 15 fractional digits. */
static bool decimal_short(decimal *x, double a)
{
    if (a < 1e-15 || a >= 1e15) return false;
    for (int k = 1; k <= 15; k++) {
        double r = nearbyint(a * pow10_tab[k]);
        if (r >= 1e15) return false;
        if (r >= 1 && r / pow10_tab[k] == a) {
            decimal_set(x, (uint64_t)r, -k);
            return true;
        }
    }
    return false;
}

/* Reads "d.ddde[+-]xx" (printf %e of a positive number) as n x 10^exp10. */
static void parse_e(const char *s, uint64_t *n, int *exp10)
{
    uint64_t m = 0;
    int frac = 0;
    bool after_point = false;
    for (; *s != 'e'; s++) {
        if (*s == '.') {
            after_point = true;
            continue;
        }
        m = m * 10 + (uint64_t)(*s - '0');
        frac += after_point;
    }
    *n = m;
    *exp10 = atoi(s + 1) - frac;
}

static bool reads_back(uint64_t n, int exp10, double a)
{
    char buf[48];
    snprintf(buf, sizeof buf, "%llue%d", (unsigned long long)n, exp10);
    return strtod(buf, NULL) == a;
}

/* Step 3 at one precision (digits = prec + 1). */
static bool decimal_prec(decimal *x, double a, int prec)
{
    char buf[48];
    snprintf(buf, sizeof buf, "%.*e", prec, a);
    uint64_t n;
    int exp10;
    parse_e(buf, &n, &exp10);
    if (reads_back(n, exp10, a)) {
        decimal_set(x, n, exp10);
        return true;
    }
    if (prec != 15) return false;
    /* The neighbour on the other side of a. */
    char back[48];
    snprintf(back, sizeof back, "%llue%d", (unsigned long long)n, exp10);
    uint64_t other = strtod(back, NULL) < a ? n + 1 : n - 1;
    if (!reads_back(other, exp10, a)) return false;
    decimal_set(x, other, exp10);
    return true;
}

static void decimal_shortest(decimal *x, double a)
{
    if (a < TWO_TO_53 && a == (double)(uint64_t)a) {
        decimal_set(x, (uint64_t)a, 0);
        return;
    }
    if (decimal_short(x, a)) return;
    for (int prec = a < DBL_MIN ? 0 : 14; prec < 16; prec++)
        if (decimal_prec(x, a, prec)) return;
    decimal_prec(x, a, 16);
}

/* %f layout with exactly the digits (Go's fmtF with max(nd-dp, 0) decimals). */
static char *layout_fixed(const decimal *x, char *p)
{
    if (x->dp <= 0) {
        *p++ = '0';
        *p++ = '.';
        for (int i = 0; i < -x->dp; i++)
            *p++ = '0';
        memcpy(p, x->d, (size_t)x->nd);
        return p + x->nd;
    }
    for (int i = 0; i < x->dp; i++)
        *p++ = i < x->nd ? x->d[i] : '0';
    if (x->nd > x->dp) {
        *p++ = '.';
        memcpy(p, x->d + x->dp, (size_t)(x->nd - x->dp));
        p += x->nd - x->dp;
    }
    return p;
}

/* %e layout: d[.ddd]e±xx, at least two exponent digits. */
static char *layout_exp(const decimal *x, int exp, char *p)
{
    *p++ = x->d[0];
    if (x->nd > 1) {
        *p++ = '.';
        memcpy(p, x->d + 1, (size_t)(x->nd - 1));
        p += x->nd - 1;
    }
    *p++ = 'e';
    *p++ = exp < 0 ? '-' : '+';
    if (exp < 0) exp = -exp;
    if (exp >= 100) *p++ = (char)('0' + exp / 100);
    *p++ = (char)('0' + exp / 10 % 10);
    *p++ = (char)('0' + exp % 10);
    return p;
}

static size_t copy_str(char *buf, const char *s)
{
    size_t n = strlen(s);
    memcpy(buf, s, n + 1);
    return n;
}

size_t model_format_float(double v, char buf[MODEL_FLOAT_BUFSZ])
{
    if (isnan(v)) return copy_str(buf, "NaN");
    if (isinf(v)) return copy_str(buf, v > 0 ? "+Inf" : "-Inf");
    char *p = buf;
    if (signbit(v)) *p++ = '-';
    if (v == 0) return (size_t)(stpcpy(p, "0") - buf);
    decimal x;
    decimal_shortest(&x, fabs(v));
    int exp = x.dp - 1;
    p = exp < -4 || exp >= 6 ? layout_exp(&x, exp, p) : layout_fixed(&x, p);
    *p = '\0';
    return (size_t)(p - buf);
}
