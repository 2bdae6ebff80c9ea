/*
 * test_float.c - model_format_float against Go's strconv.FormatFloat(v, 'g',
 * -1, 64): a table here, ~3000 values from Go in data/format_float.txt
 * (random bit patterns, short decimals, integers, powers of two and ten with
 * their neighbours; see data/floats.go), and a differential test against the
 * implementation float.c had before Schubfach (ref_format_float below: printf's
 * correctly rounded %.Ne tried at 15, 16, 17 digits, the first that strtod
 * reads back wins; checked against Go the same way), over every exponent and
 * about a million random doubles of the kinds metrics carry.  Every output is
 * also read back with strtod.
 *
 * Environment:
 *   MODEL_FLOAT_TEST_SCALE=n  n times as many random values (default 1: about
 *                             2 s; 100 for a long run)
 *   MODEL_FLOAT_TEST_SEED=n   another random sequence (default fixed)
 *   MODEL_FLOAT_BENCH=1       prints ns per value, new and reference, for
 *                             typical values (rates, integers, counters with
 *                             decimals, random bit patterns)
 */
#include "unit/unit.h"

#include "model/model.h"

#include "helpers.h"

#include <float.h>
#include <time.h>

/* ---- The reference: float.c before Schubfach */

typedef struct ref_decimal {
    char d[24];
    int nd;
    int dp;
} ref_decimal;

static const double ref_pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static void ref_set(ref_decimal *x, uint64_t n, int exp10)
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

static bool ref_short(ref_decimal *x, double a)
{
    if (a < 1e-15 || a >= 1e15) return false;
    for (int k = 1; k <= 15; k++) {
        double r = nearbyint(a * ref_pow10[k]);
        if (r >= 1e15) return false;
        if (r >= 1 && r / ref_pow10[k] == a) {
            ref_set(x, (uint64_t)r, -k);
            return true;
        }
    }
    return false;
}

static void ref_parse_e(const char *s, uint64_t *n, int *exp10)
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

static bool ref_reads_back(uint64_t n, int exp10, double a)
{
    char buf[48];
    snprintf(buf, sizeof buf, "%llue%d", (unsigned long long)n, exp10);
    return strtod(buf, NULL) == a;
}

static bool ref_prec(ref_decimal *x, double a, int prec)
{
    char buf[48];
    snprintf(buf, sizeof buf, "%.*e", prec, a);
    uint64_t n;
    int exp10;
    ref_parse_e(buf, &n, &exp10);
    if (ref_reads_back(n, exp10, a)) {
        ref_set(x, n, exp10);
        return true;
    }
    if (prec != 15) return false;
    char back[48];
    snprintf(back, sizeof back, "%llue%d", (unsigned long long)n, exp10);
    uint64_t other = strtod(back, NULL) < a ? n + 1 : n - 1;
    if (!ref_reads_back(other, exp10, a)) return false;
    ref_set(x, other, exp10);
    return true;
}

static void ref_shortest(ref_decimal *x, double a)
{
    if (a < 9007199254740992.0 && a == (double)(uint64_t)a) {
        ref_set(x, (uint64_t)a, 0);
        return;
    }
    if (ref_short(x, a)) return;
    for (int prec = a < DBL_MIN ? 0 : 14; prec < 16; prec++)
        if (ref_prec(x, a, prec)) return;
    ref_prec(x, a, 16);
}

static size_t ref_format_float(double v, char *buf)
{
    if (isnan(v)) return (size_t)(stpcpy(buf, "NaN") - buf);
    if (isinf(v)) return (size_t)(stpcpy(buf, v > 0 ? "+Inf" : "-Inf") - buf);
    char *p = buf;
    if (signbit(v)) *p++ = '-';
    if (v == 0) return (size_t)(stpcpy(p, "0") - buf);
    ref_decimal x;
    ref_shortest(&x, fabs(v));
    int exp = x.dp - 1;
    if (exp < -4 || exp >= 6) {
        *p++ = x.d[0];
        if (x.nd > 1) {
            *p++ = '.';
            memcpy(p, x.d + 1, (size_t)(x.nd - 1));
            p += x.nd - 1;
        }
        p += sprintf(p, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    } else if (x.dp <= 0) {
        *p++ = '0';
        *p++ = '.';
        for (int i = 0; i < -x.dp; i++)
            *p++ = '0';
        memcpy(p, x.d, (size_t)x.nd);
        p += x.nd;
    } else {
        for (int i = 0; i < x.dp; i++)
            *p++ = i < x.nd ? x.d[i] : '0';
        if (x.nd > x.dp) {
            *p++ = '.';
            memcpy(p, x.d + x.dp, (size_t)(x.nd - x.dp));
            p += x.nd - x.dp;
        }
    }
    *p = '\0';
    return (size_t)(p - buf);
}

/* ---- Checks */

static void check(double v, const char *want)
{
    char got[MODEL_FLOAT_BUFSZ];
    size_t n = model_format_float(v, got);
    if (strcmp(got, want) != 0 || n != strlen(want))
        fail_msg("%.17g: got %s, want %s", v, got, want);
}

static long checked;

/* v as the reference writes it, and reading back as v. */
static void check_ref(double v)
{
    char got[MODEL_FLOAT_BUFSZ], want[64];
    size_t n = model_format_float(v, got);
    size_t wn = ref_format_float(v, want);
    if (n != wn || strcmp(got, want) != 0) {
        uint64_t bits;
        memcpy(&bits, &v, sizeof bits);
        fail_msg("%016" PRIx64 " (%.17g): got %s, reference %s", bits, v, got, want);
    }
    if (isfinite(v) && strtod(got, NULL) != v) fail_msg("%s does not read back", got);
    if (isfinite(v) && v != 0) {
        /* The digits API agrees with the layout. */
        char d[MODEL_FLOAT_DIGITS];
        int dp;
        int nd = model_float_digits(v, d, &dp);
        char e[64];
        snprintf(e, sizeof e, "%s0.%.*se%d", v < 0 ? "-" : "", nd, d, dp);
        if (nd < 1 || nd > 17 || d[nd - 1] == '0' || strtod(e, NULL) != v)
            fail_msg("model_float_digits(%s): %.*s point %d", got, nd, d, dp);
    }
    checked++;
}

static void check_both_signs(double v)
{
    check_ref(v);
    check_ref(-v);
}

static double from_bits(uint64_t b)
{
    double v;
    memcpy(&v, &b, sizeof v);
    return v;
}

static uint64_t rng_state;

static uint64_t rng(void)
{
    /* splitmix64 */
    uint64_t z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static long scale(void)
{
    const char *s = getenv("MODEL_FLOAT_TEST_SCALE");
    long n = s ? atol(s) : 1;
    return n > 0 ? n : 1;
}

static int setup(void **state)
{
    (void)state;
    const char *s = getenv("MODEL_FLOAT_TEST_SEED");
    rng_state = s ? strtoull(s, NULL, 0) : UINT64_C(20240601);
    return 0;
}

/* ---- Tests */

static void test_table(void **state)
{
    check(0, "0");
    check(-0.0, "-0");
    check(1, "1");
    check(-1, "-1");
    check(0.005, "0.005");
    check(0.25, "0.25");
    check(2.5, "2.5");
    check(10, "10");
    check(100000, "100000");
    check(123456, "123456");
    check(999999, "999999");
    check(1e6, "1e+06");
    check(1234567, "1.234567e+06");
    check(1e21, "1e+21");
    check(0.0001, "0.0001");
    check(0.00001, "1e-05");
    check(1.5e-7, "1.5e-07");
    check(0.1 + 0.2, "0.30000000000000004");
    check(1.0 / 3, "0.3333333333333333");
    check(1.0 / 60, "0.016666666666666666");
    check(9007199254740993.0, "9.007199254740992e+15");
    check(1.7976931348623157e308, "1.7976931348623157e+308");
    check(5e-324, "5e-324");
    check(1e-323, "1e-323");
    check(2.2250738585072014e-308, "2.2250738585072014e-308");
    check(1e100, "1e+100");
    check(1e23, "1e+23");
    check(0x1p60, "1.152921504606847e+18");
    check(0x1p-1022, "2.2250738585072014e-308");
    check(INFINITY, "+Inf");
    check(-INFINITY, "-Inf");
    check(NAN, "NaN");
}

static void test_go_values(void **state)
{
    size_t len;
    char *file = read_data("format_float.txt", &len);
    char *data = core_strndup(file, len);
    int n = 0;
    for (char *line = strtok(data, "\n"); line != NULL; line = strtok(NULL, "\n"), n++) {
        char *sp = strchr(line, ' ');
        assert_non_null(sp);
        uint64_t bits = strtoull(line, NULL, 16);
        double v;
        memcpy(&v, &bits, sizeof v);
        check(v, sp + 1);
    }
    assert_true(n > 2900);
    free(data);
    free(file);
}

static void test_digits(void **state)
{
    char d[MODEL_FLOAT_DIGITS];
    int dp;
    assert_int_equal(model_float_digits(1.0 / 60, d, &dp), 17);
    assert_memory_equal(d, "16666666666666666", 17);
    assert_int_equal(dp, -1);
    assert_int_equal(model_float_digits(-1500, d, &dp), 2);
    assert_memory_equal(d, "15", 2);
    assert_int_equal(dp, 4);
    assert_int_equal(model_float_digits(1e21, d, &dp), 1);
    assert_int_equal(d[0], '1');
    assert_int_equal(dp, 22);
    assert_int_equal(model_float_digits(5e-324, d, &dp), 1);
    assert_int_equal(d[0], '5');
    assert_int_equal(dp, -323);
}

/* Every binary exponent: its power of two (the lopsided interval), the
 * mantissas next to it and at the top, and a few random ones. */
static void test_every_exponent(void **state)
{
    for (uint64_t be = 0; be < 0x7FF; be++) {
        uint64_t top = be << 52, full = (UINT64_C(1) << 52) - 1;
        uint64_t fs[] = {0, 1, 2, 3, full, full - 1, rng() & full, rng() & full};
        for (size_t i = 0; i < sizeof fs / sizeof fs[0]; i++)
            check_both_signs(from_bits(top | fs[i]));
    }
    /* Smallest subnormals: one digit, or the closest among two. */
    for (uint64_t c = 1; c < 2000; c++)
        check_ref(from_bits(c));
}

/* Powers of ten and of two, with neighbours a few ulps away. */
static void test_powers(void **state)
{
    for (int e = -325; e <= 309; e++) {
        char s[16];
        snprintf(s, sizeof s, "1e%d", e);
        double v = strtod(s, NULL);
        for (int i = 0; i < 4 && v != 0 && isfinite(v); i++, v = nextafter(v, 0))
            check_ref(v);
        v = strtod(s, NULL);
        for (int i = 0; i < 4 && isfinite(v); i++, v = nextafter(v, INFINITY))
            check_ref(v);
    }
    for (int e = -1074; e <= 1023; e++) {
        double v = ldexp(1, e);
        check_ref(v);
        check_ref(nextafter(v, 0));
        check_ref(nextafter(v, INFINITY));
        check_ref(v * 3);
    }
    double edges[] = {DBL_MAX, DBL_MIN, DBL_TRUE_MIN, 0x1p53, 0x1p53 - 1, 0x1p53 + 2,
                      1e21,    1e-6,    1e15,         1e16,   1e17,       1e22,
                      1e23,    0.1,     0.2,          0.3,    2.5e-5,     123456.789};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        check_both_signs(edges[i]);
        check_both_signs(nextafter(edges[i], 0));
        check_both_signs(nextafter(edges[i], INFINITY));
    }
}

static void test_random_bits(void **state)
{
    long n = 300000 * scale();
    for (long i = 0; i < n; i++) {
        double v = from_bits(rng());
        if (isfinite(v)) check_ref(v);
    }
    /* Subnormals: the reference tries every precision, so fewer. */
    n = 20000 * scale();
    for (long i = 0; i < n; i++)
        check_ref(from_bits(rng() >> (12 + rng() % 52)));
}

/* Integers of every size, and integers divided as rate() divides them. */
static void test_random_integers_and_rates(void **state)
{
    static const double divisors[] = {15, 30, 60, 120, 300, 3600, 7, 1000, 1024, 86400};
    long n = 200000 * scale();
    for (long i = 0; i < n; i++) {
        uint64_t x = rng() >> (rng() % 64);
        check_both_signs((double)x);
        double d = divisors[i % (sizeof divisors / sizeof divisors[0])];
        check_ref((double)(x >> 11) / d);
        check_ref((double)(x % 100000) / d);
    }
}

/* Decimals of 1 to 17 digits at exponents of every size, as strtod reads
 * them (exporters' values, bucket bounds, quantiles). */
static void test_random_decimals(void **state)
{
    long n = 200000 * scale();
    for (long i = 0; i < n; i++) {
        uint64_t p = 10;
        for (int d = (int)(rng() % 17); d > 0; d--)
            p *= 10;
        uint64_t m = rng() % p;
        int e = i % 4 == 0 ? (int)(rng() % 640) - 340 : (int)(rng() % 40) - 25;
        char s[48];
        snprintf(s, sizeof s, "%" PRIu64 "e%d", m, e);
        double v = strtod(s, NULL);
        if (isfinite(v)) check_ref(v);
    }
}

/* ---- Benchmark (MODEL_FLOAT_BENCH=1) */

/* CPU time of this thread: steadier than wall time on a shared machine. */
static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double bench_one(size_t (*fn)(double, char *), const double *v, int n)
{
    char buf[64];
    size_t sink = 0;
    double best = INFINITY;
    for (int r = 0; r < 3; r++) {
        double t0 = now_ns();
        for (int i = 0; i < n; i++)
            sink += fn(v[i], buf);
        double t = (now_ns() - t0) / n;
        if (t < best) best = t;
    }
    if (sink == 0) fail_msg("nothing written");
    return best;
}

static size_t new_format(double v, char *buf)
{
    return model_format_float(v, buf);
}

static void test_bench(void **state)
{
    if (!getenv("MODEL_FLOAT_BENCH")) skip();
    enum { N = 200000 };
    double *v = malloc(N * sizeof *v);
    assert_non_null(v);
    const char *names[] = {"rates x/60 (17 digits)", "integers (counters)",
                           "counters with 2 decimals", "random bit patterns"};
    for (int kind = 0; kind < 4; kind++) {
        for (int i = 0; i < N; i++) {
            switch (kind) {
            case 0: v[i] = (double)(rng() % 100000) / 60; break;
            case 1: v[i] = (double)(rng() % 10000000000u); break;
            case 2: {
                char s[32];
                snprintf(s, sizeof s, "%" PRIu64 ".%02" PRIu64, rng() % 1000000, rng() % 100);
                v[i] = strtod(s, NULL);
                break;
            }
            default:
                do
                    v[i] = from_bits(rng());
                while (!isfinite(v[i]));
            }
        }
        double t_new = bench_one(new_format, v, N);
        double t_ref = bench_one(ref_format_float, v, N / 10);
        print_message("%-26s new %7.1f ns  reference %7.1f ns  (x%.0f)\n", names[kind], t_new,
                      t_ref, t_ref / t_new);
    }
    free(v);
}

static void test_count(void **state)
{
    print_message("%ld values compared with the reference\n", checked);
    assert_true(checked > 1000000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_go_values),
        cmocka_unit_test(test_digits),
        cmocka_unit_test(test_every_exponent),
        cmocka_unit_test(test_powers),
        cmocka_unit_test(test_random_bits),
        cmocka_unit_test(test_random_integers_and_rates),
        cmocka_unit_test(test_random_decimals),
        cmocka_unit_test(test_count),
        cmocka_unit_test(test_bench),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
