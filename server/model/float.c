/*
 * float.c - doubles written as Go's strconv.FormatFloat(v, 'g', -1, 64).
 *
 * Prometheus names histogram buckets and summary quantiles with that
 * formatting (le="0.005", le="1", le="1e+06", quantile="0.99"), and the
 * protobuf parser has to produce the same label values as an exporter writes
 * in the text format, or the same series would get two identities.  The API
 * writes sample values with the same digits (web/json.c lays them out from
 * model_float_digits), so this is also the hot path of every query answer.
 *
 * Go's output is the shortest decimal that reads back as the same double,
 * the closest one to v when several of that length do (an exact tie goes to
 * the even one), laid out as %e when the decimal exponent is below -4 or at
 * least 6, else as %f.  The digits come from Giulietti's Schubfach method
 * ("The Schubfach way to render doubles", 2020), written here from the
 * paper's description:
 *
 *   v = c 2^q.  The doubles next to v bound the interval R of reals that
 *   read back as v: (c - 1/2) 2^q .. (c + 1/2) 2^q, or from (c - 1/4) 2^q
 *   at a power of two whose lower neighbour is closer ("lopsided"); its ends
 *   belong to R when c is even (strtod's ties go to even).  With k the floor
 *   of log10 of R's width (2^q, or 3/4 2^q when lopsided), R holds at least
 *   one multiple of 10^k and at most one of 10^(k+1).  So the answer is the
 *   multiple of 10^(k+1) in R if there is one (it has the fewest digits),
 *   else the one of s 10^k, (s+1) 10^k in R (s = floor(v / 10^k)), the one
 *   closer to v when both are.  Everything is compared after scaling by
 *   4 10^-k: v and R's ends times 4 10^-k are computed as floor(x) with the
 *   lowest bit set when x is not an integer, which orders them exactly
 *   against every even integer, and 4 s 10^k, 4 (s+1) 10^k, the midpoint
 *   2 (2s+1) 10^k are all even after the scaling.
 *
 *   The scaling multiplies the 55-bit numerator (4c, 4c - 2 or 4c - 1, 4c + 2, shifted
 *   left by 1..4 so the product lands on a word boundary) by g, the 128 high
 *   bits of 10^-k plus one, and keeps the top 64 bits of the 192-bit product
 *   and whether the 64 bits below them are zero.  g overestimates 10^-k by
 *   less than 2^-127 relatively, so the product is high by less than 2^-69
 *   of a unit: an exact integer keeps zeros below the top word.  That a
 *   non-integer never looks like one (never lies within about 2^-64 of an
 *   integer) is the paper's theorem, proved by continued fractions over
 *   every exponent for its version with 126 bits of g and 63 bits below
 *   the top; this one keeps 128 and 64 and errs by less.
 *
 * The 617 values of g (10^-292 .. 10^324) are computed once, on first use,
 * with a small big-integer routine: 10^n by multiplying by 10, 10^-n as
 * floor(2^1184 / 10^n) by dividing by 10 (floors of floors compose).  The
 * log approximations below (floor(q log10 2) and the others, as integer
 * multiply-and-shift) were checked against exact rational arithmetic for
 * every exponent a double has when this was written, and the unit test
 * goes through every exponent.  Integers below 2^53 skip all of it: they
 * are their own digits.
 *
 * Measured (tests/unit/model/test_float.c with MODEL_FLOAT_BENCH=1, thread
 * CPU time on the 2-core Xeon VM, model_format_float per value, before ->
 * now): rates x/60 (17 digits) 910 -> 31 ns, random bit patterns 1920 ->
 * 36 ns, integers 60 -> 12 ns, counters with 2 decimals 19 -> 26 ns (the
 * scaling search this replaced, r / 10^k == v, was quicker for those, but it
 * cost up to 15 divisions before giving up on every longer value).  The unit
 * test keeps that older search (printf %.Ne + strtod beyond 15 digits) as
 * its reference and compares both on millions of doubles.
 */
#include "model/internal.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

typedef unsigned __int128 u128;

/* ---- Powers of ten, 128 bits each */

#define POW10_MIN (-292) /* 10^-k for q = 971 (the largest finite doubles) */
#define POW10_MAX 324    /* and for q = -1074 (the subnormals) */
#define POW10_N   (POW10_MAX - POW10_MIN + 1)

/* g[n - POW10_MIN] = floor(10^n 2^(127 - floor(log2 10^n))) + 1. */
static uint64_t pow10_hi[POW10_N], pow10_lo[POW10_N];
static pthread_once_t pow10_once = PTHREAD_ONCE_INIT;
static int pow10_ready; /* set once the tables are filled: no call after */

/* Big integers: little-endian 32-bit words. 2^1184 needs 38 words, 10^324
 * (1077 bits) 34. */
#define BIG_WORDS 38
#define BIG_SHIFT 1184

static int big_bitlen(const uint32_t *w, int nw)
{
    while (nw > 0 && w[nw - 1] == 0)
        nw--;
    if (nw == 0) return 0;
    return (nw - 1) * 32 + (32 - __builtin_clz(w[nw - 1]));
}

/* Bits [at, at + 32) of the number; `at` may be negative (zeros below). */
static uint32_t big_bits32(const uint32_t *w, int nw, int at)
{
    int j = at >= 0 ? at / 32 : -((-at + 31) / 32);
    int sh = at - j * 32;
    uint64_t lo = j >= 0 && j < nw ? w[j] : 0;
    uint64_t hi = j + 1 >= 0 && j + 1 < nw ? w[j + 1] : 0;
    return (uint32_t)((lo | hi << 32) >> sh);
}

/* Stores the top 128 bits of w, plus one, as entry n. */
static void pow10_store(int n, const uint32_t *w, int nw)
{
    int from = big_bitlen(w, nw) - 128;
    uint64_t hi = (uint64_t)big_bits32(w, nw, from + 96) << 32 | big_bits32(w, nw, from + 64);
    uint64_t lo = (uint64_t)big_bits32(w, nw, from + 32) << 32 | big_bits32(w, nw, from);
    lo++;
    hi += lo == 0; /* never carries out: no power of ten is that close below 2^m */
    pow10_hi[n - POW10_MIN] = hi;
    pow10_lo[n - POW10_MIN] = lo;
}

static void pow10_init(void)
{
    uint32_t w[BIG_WORDS];
    memset(w, 0, sizeof w);
    w[0] = 1;
    for (int n = 0; n <= POW10_MAX; n++) {
        if (n > 0) {
            uint64_t carry = 0;
            for (int i = 0; i < BIG_WORDS; i++) {
                uint64_t x = (uint64_t)w[i] * 10 + carry;
                w[i] = (uint32_t)x;
                carry = x >> 32;
            }
        }
        pow10_store(n, w, BIG_WORDS);
    }
    memset(w, 0, sizeof w);
    w[BIG_SHIFT / 32] = 1u << BIG_SHIFT % 32;
    for (int n = 1; n <= -POW10_MIN; n++) {
        uint64_t rem = 0;
        for (int i = BIG_WORDS - 1; i >= 0; i--) {
            uint64_t x = rem << 32 | w[i];
            w[i] = (uint32_t)(x / 10);
            rem = x % 10;
        }
        pow10_store(-n, w, BIG_WORDS);
    }
}

static __attribute__((noinline)) void pow10_first_use(void)
{
    pthread_once(&pow10_once, pow10_init);
    __atomic_store_n(&pow10_ready, 1, __ATOMIC_RELEASE);
}

/* ---- Shortest digits */

/* floor(q log10 2), floor(q log10 2 + log10 3/4) and floor(n log2 10) for
 * |q|, |n| up to 1100, as multiplications by the constants times 2^32. */
static inline int floor_log10_pow2(int q)
{
    return (int)((int64_t)q * 1292913986 >> 32);
}

static inline int floor_log10_three_quarters_pow2(int q)
{
    return (int)(((int64_t)q * 1292913986 - 536607788) >> 32);
}

static inline int floor_log2_pow10(int n)
{
    return (int)((int64_t)n * 14267572527 >> 32);
}

/* x g / 2^128 for the 128-bit g, as floor with the lowest bit set when the
 * 64 bits below the point are not all zero (see the top of the file). */
static inline uint64_t scale_odd(uint64_t g_hi, uint64_t g_lo, uint64_t x)
{
    u128 lo = (u128)g_lo * x;
    u128 hi = (u128)g_hi * x + (uint64_t)(lo >> 64);
    return (uint64_t)(hi >> 64) | ((uint64_t)hi != 0);
}

/* |v| = *m x 10^*e, the shortest (then closest) decimal in v's rounding
 * interval; a finite, > 0, not an integer below 2^53 necessarily. *m may end
 * in zeros. */
static void schubfach(double a, uint64_t *m, int *e)
{
    uint64_t bits;
    memcpy(&bits, &a, sizeof bits);
    int be = (int)(bits >> 52 & 0x7FF);
    uint64_t f = bits & ((UINT64_C(1) << 52) - 1);
    uint64_t c = be ? f | UINT64_C(1) << 52 : f;
    int q = be ? be - 1075 : -1074;
    bool lopsided = f == 0 && be > 1;
    int k = lopsided ? floor_log10_three_quarters_pow2(q) : floor_log10_pow2(q);
    int h = q + floor_log2_pow10(-k) + 1; /* 1..4 */

    if (!__atomic_load_n(&pow10_ready, __ATOMIC_ACQUIRE)) pow10_first_use();
    uint64_t g_hi = pow10_hi[-k - POW10_MIN], g_lo = pow10_lo[-k - POW10_MIN];
    uint64_t cb = c << 2;
    uint64_t vb = scale_odd(g_hi, g_lo, cb << h);
    uint64_t vbl = scale_odd(g_hi, g_lo, (cb - 2 + lopsided) << h);
    uint64_t vbr = scale_odd(g_hi, g_lo, (cb + 2) << h);
    uint64_t open = c & 1; /* R's ends read back as v only when c is even */

    uint64_t s = vb >> 2;
    if (s >= 10) {
        /* The multiples of 10^(k+1) around v: at most one is in R. */
        uint64_t su = s / 10 * 10, sw = su + 10;
        bool uin = vbl + open <= su << 2, win = (sw << 2) + open <= vbr;
        if (uin != win) {
            *m = (uin ? su : sw) / 10;
            *e = k + 1;
            return;
        }
    }
    uint64_t t = s + 1;
    /* At least one of s 10^k, t 10^k is in R (its width is at least 10^k):
     * s when t is not, else the closer one, the even one on a tie (v exactly
     * between).  Without branches: which it is varies from value to value,
     * and mispredictions cost more than computing everything.  A result
     * here never ends in 0 unless s < 10: it would be u' or w' above. */
    uint64_t mid = (s << 2) + 2;
    unsigned sin = vbl + open <= s << 2, tin = (t << 2) + open <= vbr;
    unsigned closer = (vb < mid) | ((vb == mid) & ~(unsigned)s & 1);
    *m = sin & ((tin ^ 1) | closer) ? s : t;
    *e = k;
}

static const char digit_pairs[] = "00010203040506070809"
                                  "10111213141516171819"
                                  "20212223242526272829"
                                  "30313233343536373839"
                                  "40414243444546474849"
                                  "50515253545556575859"
                                  "60616263646566676869"
                                  "70717273747576777879"
                                  "80818283848586878889"
                                  "90919293949596979899";

static const uint64_t pow10_u64[] = {1,
                                     10,
                                     100,
                                     1000,
                                     10000,
                                     100000,
                                     1000000,
                                     10000000,
                                     100000000,
                                     1000000000,
                                     10000000000,
                                     100000000000,
                                     1000000000000,
                                     10000000000000,
                                     100000000000000,
                                     1000000000000000,
                                     10000000000000000,
                                     100000000000000000,
                                     1000000000000000000,
                                     10000000000000000000u};

/* Decimal digits of m > 0. */
static inline int count_digits(uint64_t m)
{
    int t = (64 - __builtin_clzll(m)) * 1233 >> 12; /* 1233 / 4096 ~ log10 2 */
    return t + (m >= pow10_u64[t]);                 /* t or t + 1 digits */
}

/* Exactly 8 digits of x < 10^8, leading zeros included: four pairs from two
 * independent halves. */
static inline void write8(char *p, uint32_t x)
{
    uint32_t a = x / 10000, b = x % 10000;
    memcpy(p, digit_pairs + a / 100 * 2, 2);
    memcpy(p + 2, digit_pairs + a % 100 * 2, 2);
    memcpy(p + 4, digit_pairs + b / 100 * 2, 2);
    memcpy(p + 6, digit_pairs + b % 100 * 2, 2);
}

/* Writes the nd digits of m to d. */
static inline void write_digits(char *d, uint64_t m, int nd)
{
    char *p = d + nd;
    while (m >= 100000000) {
        p -= 8;
        write8(p, (uint32_t)(m % 100000000));
        m /= 100000000;
    }
    uint32_t x = (uint32_t)m;
    while (x >= 100) {
        p -= 2;
        memcpy(p, digit_pairs + x % 100 * 2, 2);
        x /= 100;
    }
    if (x >= 10)
        memcpy(p - 2, digit_pairs + x * 2, 2);
    else
        p[-1] = (char)('0' + x);
}

/* Divides m by 10^n when it divides exactly, adding n to *e, without a
 * division or a branch: m is a multiple of 10^n exactly when m 5^-n (mod
 * 2^64; 5 is odd so it has an inverse) rotated right by n is at most
 * (2^64 - 1) / 10^n, and then that is the quotient (Granlund and
 * Montgomery's divisibility test). */
static inline uint64_t div_exact_pow10(uint64_t m, int *e, uint64_t inv5n, int n, uint64_t lim)
{
    uint64_t x = m * inv5n;
    x = x >> n | x << (64 - n);
    uint64_t z = x <= lim;
    *e += n * (int)z;
    return m + ((x - m) & (0 - z));
}

/* m without its trailing zeros, *e counting them.  A multiple of 10 here is
 * below 10^16 (an integer below 2^53, or u' or w' of schubfach over 10), so
 * it has at most 15: steps of 8, 4, 2, 1.  The count varies from value to
 * value, hence selects rather than branches. */
static inline uint64_t strip_zeros(uint64_t m, int *e)
{
    if (m % 10 != 0) return m;
    m = div_exact_pow10(m, e, 0xc767074b22e90e21, 8, 184467440737);
    m = div_exact_pow10(m, e, 0xd288ce703afb7e91, 4, 1844674407370955);
    m = div_exact_pow10(m, e, 0x8f5c28f5c28f5c29, 2, 184467440737095516);
    m = div_exact_pow10(m, e, 0xcccccccccccccccd, 1, 1844674407370955161);
    return m;
}

int model_float_digits(double v, char d[MODEL_FLOAT_DIGITS], int *point)
{
    double a = fabs(v);
    if (!(a < INFINITY)) return 0;
    if (a == 0) {
        d[0] = '0';
        *point = 1;
        return 1;
    }
    uint64_t m;
    int e;
    if (a < 9007199254740992.0 && a == (double)(uint64_t)a) {
        m = (uint64_t)a;
        e = 0;
    } else {
        schubfach(a, &m, &e);
    }
    m = strip_zeros(m, &e);
    int nd = count_digits(m);
    write_digits(d, m, nd);
    *point = nd + e;
    return nd;
}

/* ---- Layout
 *
 * The digits sit in a 32-byte buffer with '0' after the last one, so that
 * every copy below has a fixed size (a few moves instead of a call to
 * memcpy); the bytes copied past the end are overwritten or left after the
 * NUL.  Within MODEL_FLOAT_BUFSZ: at most 1 + 5 + 17 bytes for 0.000ddd,
 * 1 + 8 for an integer, 1 + 6 + 1 + 17 with a point, 1 + 2 + 16 + 5 for
 * %e. */

/* %f with exactly the digits (Go's fmtF with max(nd - dp, 0) decimals), for
 * -3 <= dp <= 6 (exponents -4 to 5). */
static char *layout_fixed(const char *d, int nd, int dp, char *p)
{
    if (dp <= 0) {
        memcpy(p, "0.000000", 8);
        p += 2 - dp;
        memcpy(p, d, MODEL_FLOAT_DIGITS);
        return p + nd;
    }
    memcpy(p, d, 8);
    if (dp >= nd) return p + dp; /* the zeros after the digits came along */
    p[dp] = '.';
    memcpy(p + dp + 1, d + dp, MODEL_FLOAT_DIGITS);
    return p + nd + 1;
}

/* %e: d[.ddd]e±xx, at least two exponent digits. */
static char *layout_exp(const char *d, int nd, int exp, char *p)
{
    p[0] = d[0];
    p[1] = '.';
    memcpy(p + 2, d + 1, MODEL_FLOAT_DIGITS - 1);
    p += nd > 1 ? nd + 1 : 1;
    *p++ = 'e';
    *p++ = exp < 0 ? '-' : '+';
    if (exp < 0) exp = -exp;
    if (exp >= 100) *p++ = (char)('0' + exp / 100);
    memcpy(p, digit_pairs + exp % 100 * 2, 2);
    return p + 2;
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
    if (v == 0) {
        *p++ = '0';
        *p = '\0';
        return (size_t)(p - buf);
    }
    char d[32];
    memset(d, '0', sizeof d);
    int dp;
    int nd = model_float_digits(v, d, &dp);
    int exp = dp - 1;
    p = exp < -4 || exp >= 6 ? layout_exp(d, nd, exp, p) : layout_fixed(d, nd, dp, p);
    *p = '\0';
    return (size_t)(p - buf);
}
