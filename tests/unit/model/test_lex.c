/*
 * test_lex.c - the byte-level helpers of lex.c: float reading (statuses the
 * parsers turn into messages; every value bit for bit as strtod reads it,
 * over random doubles printed with 15 to 19 digits, random digit strings
 * with exponents, and integers on and next to points halfway between two
 * doubles, which the long double path must hand to strtod), UTF-8 validation against a reference
 * decoder over every sequence of up to three bytes, unescaping and message quoting.
 */
#include "unit/unit.h"

#include <math.h>

#include "model/internal.h"
#include "model/model.h"

static void check_float(const char *s, model_float_status want, double want_v)
{
    core_sb tmp = CORE_SB_INIT;
    double v = 12345;
    model_float_status st = model_parse_float(s, strlen(s), &v, &tmp);
    if (st != want) fail_msg("%s: status %d, want %d", s, st, want);
    if (st == MODEL_FLOAT_OK && !(v == want_v || (isnan(v) && isnan(want_v))))
        fail_msg("%s: %.17g, want %.17g", s, v, want_v);
    if (st == MODEL_FLOAT_OK && v == 0) assert_int_equal(!!signbit(v), !!signbit(want_v));
    core_sb_destroy(&tmp);
}

static void test_parse_float(void **state)
{
    check_float("0", MODEL_FLOAT_OK, 0);
    check_float("-0", MODEL_FLOAT_OK, -0.0);
    check_float("-0.0e5", MODEL_FLOAT_OK, -0.0);
    check_float("1", MODEL_FLOAT_OK, 1);
    check_float("+1.5", MODEL_FLOAT_OK, 1.5);
    check_float("1e22", MODEL_FLOAT_OK, 1e22);
    check_float("1e23", MODEL_FLOAT_OK, 1e23);
    check_float("9007199254740993", MODEL_FLOAT_OK, 9007199254740992.0);
    check_float("12345678901234567890123", MODEL_FLOAT_OK, 12345678901234567890123.0);
    check_float("0.000000000000000000000000000000000001", MODEL_FLOAT_OK, 1e-36);
    check_float("1e-400", MODEL_FLOAT_OK, 0);
    check_float("INFINITY", MODEL_FLOAT_OK, INFINITY);
    check_float("-inf", MODEL_FLOAT_OK, -INFINITY);
    check_float("nAn", MODEL_FLOAT_OK, NAN);
    check_float("1e309", MODEL_FLOAT_RANGE, 0);
    check_float("-1e99999999999999999999", MODEL_FLOAT_RANGE, 0);
    static const char *const bad[] = {"",      "+",  "-",  ".",    "e1",    "1e",   "1e+",  "1.2.3",
                                      "1e1.5", " 1", "1 ", "0x10", "1_0",   "+nan", "-nan", "infin",
                                      "nan1",  "1f", "١",  "--1",  "1e--1", "i",    "n",    "Inf "};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        check_float(bad[i], MODEL_FLOAT_SYNTAX, 0);
    /* The value is read from (pointer, length): what follows is not looked at. */
    core_sb tmp = CORE_SB_INIT;
    double v;
    assert_int_equal(model_parse_float("12x", 2, &v, &tmp), MODEL_FLOAT_OK);
    assert_true(v == 12);
    assert_int_equal(model_parse_float("1234567890123456789012345x", 25, &v, &tmp), MODEL_FLOAT_OK);
    assert_true(v == 1234567890123456789012345.0);
    core_sb_destroy(&tmp);
}

static uint64_t rng = 0x9E3779B97F4A7C15u;

static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* s read by model_parse_float and by strtod: the same bits. */
static void same_as_strtod(const char *s, core_sb *tmp)
{
    double v = 0, want = strtod(s, NULL);
    assert_int_equal(model_parse_float(s, strlen(s), &v, tmp), MODEL_FLOAT_OK);
    uint64_t a, b;
    memcpy(&a, &v, sizeof a);
    memcpy(&b, &want, sizeof b);
    if (a != b) fail_msg("%s: %.17g, strtod %.17g", s, v, want);
}

static void test_parse_float_exact(void **state)
{
    (void)state;
    core_sb tmp = CORE_SB_INIT;
    char buf[128];
    static const int precs[] = {17, 16, 15, 18, 19, 16};
    for (int i = 0; i < 200000; i++) {
        /* Doubles of every magnitude the fast paths take, and some beyond. */
        double d = (double)(next_rand() >> 11) / 9007199254740992.0;
        d = ldexp(d, (int)(next_rand() % 200) - 100);
        if (i & 1) d = -d;
        if (i % 6 == 5)
            snprintf(buf, sizeof buf, "%.*e", precs[i % 6], d);
        else
            snprintf(buf, sizeof buf, "%.*g", precs[i % 6], d);
        same_as_strtod(buf, &tmp);
    }
    for (int i = 0; i < 200000; i++) {
        /* 16 to 19 digits, a point somewhere, an exponent or none. */
        int nd = 16 + (int)(next_rand() % 4), dot = (int)(next_rand() % (uint64_t)(nd + 1));
        size_t k = 0;
        for (int j = 0; j < nd; j++) {
            if (j == dot) buf[k++] = '.';
            buf[k++] = (char)('0' + (j == 0 ? 1 + next_rand() % 9 : next_rand() % 10));
        }
        if (i % 3) k += (size_t)snprintf(buf + k, 16, "e%d", (int)(next_rand() % 61) - 30);
        buf[k] = 0;
        same_as_strtod(buf, &tmp);
    }
    for (int i = 0; i < 100000; i++) {
        /* Integers on a halfway point between two doubles (ties to even) and
         * next to one, with and without an exponent. */
        int e = 53 + (int)(next_rand() % 10);
        uint64_t x = (UINT64_C(1) << e) | (next_rand() & ((UINT64_C(1) << e) - 1));
        uint64_t ulp = UINT64_C(1) << (e - 52);
        x = (x & ~(ulp - 1)) + ulp / 2 + (uint64_t)(int64_t)((int)(i % 3) - 1);
        snprintf(buf, sizeof buf, "%llu", (unsigned long long)x);
        same_as_strtod(buf, &tmp);
        snprintf(buf, sizeof buf, "%llue%d", (unsigned long long)x, (int)(i % 9) - 4);
        same_as_strtod(buf, &tmp);
    }
    core_sb_destroy(&tmp);
}

/* The reference: decode s[0..n) as one sequence by the Unicode rules. */
static bool ref_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len = c < 0x80             ? 1
                     : (c & 0xe0) == 0xc0 ? 2
                     : (c & 0xf0) == 0xe0 ? 3
                     : (c & 0xf8) == 0xf0 ? 4
                                          : 0;
        if (len == 0 || i + len > n) return false;
        uint32_t cp = len == 1 ? c : c & (0x7f >> len);
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return false;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        i += len;
    }
    return true;
}

static void test_utf8(void **state)
{
    unsigned char s[4];
    for (unsigned a = 0; a < 256; a++) {
        s[0] = (unsigned char)a;
        assert_int_equal(model_utf8_valid((char *)s, 1), ref_valid(s, 1));
        for (unsigned b = 0; b < 256; b++) {
            s[1] = (unsigned char)b;
            assert_int_equal(model_utf8_valid((char *)s, 2), ref_valid(s, 2));
            if (a < 0xc0) continue; /* the three-byte space starts at a lead byte */
            for (unsigned c = 0; c < 256; c++) {
                s[2] = (unsigned char)c;
                if (model_utf8_valid((char *)s, 3) != ref_valid(s, 3))
                    fail_msg("%02x %02x %02x", a, b, c);
            }
        }
    }
    static const char *const four[] = {"\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf", "𝄞"};
    for (size_t i = 0; i < 3; i++)
        assert_true(model_utf8_valid(four[i], 4));
    static const char *const bad4[] = {"\xf0\x8f\xbf\xbf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80",
                                       "\xf0\x90\x80\x7f"};
    for (size_t i = 0; i < 4; i++)
        assert_false(model_utf8_valid(bad4[i], 4));
    assert_true(model_utf8_valid("", 0));
}

static void test_unescape_to(void **state)
{
    char out[32];
    static const char in[] = "\\\\\\\"\\n\\t\\";
    size_t n = model_unescape_to(in, sizeof in - 1, true, out);
    assert_int_equal(n, 6);
    assert_memory_equal(out, "\\\"\n\\t\\", 6);
    n = model_unescape_to(in, sizeof in - 1, false, out);
    assert_int_equal(n, 7);
    assert_memory_equal(out, "\\\\\"\n\\t\\", 7);
}

static void test_quote(void **state)
{
    char out[MODEL_QUOTE_BUFSZ];
    assert_string_equal(model_quote("a\"b\\c\n\t\r", 8, out), "\"a\\\"b\\\\c\\n\\t\\r\"");
    assert_string_equal(model_quote("\x00\x7f\xff\xc3", 4, out), "\"\\x00\\x7f\\xff\\xc3\"");
    assert_string_equal(model_quote("é☃", 5, out), "\"é☃\"");
    char big[200];
    memset(big, 0xff, sizeof big);
    model_quote(big, sizeof big, out);
    assert_int_equal(strlen(out), 2 + 48 * 4 + 3);
    memset(big, 'x', sizeof big);
    assert_int_equal(strlen(model_quote(big, sizeof big, out)), 2 + 48 + 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_float), cmocka_unit_test(test_parse_float_exact),
        cmocka_unit_test(test_utf8),        cmocka_unit_test(test_unescape_to),
        cmocka_unit_test(test_quote),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
