/*
 * test_template_fmt.c - Go's fmt as templates print: printf verbs, flags,
 * width and precision on ints, floats, strings and composite values; Go's
 * complaints (%!d(string=x), MISSING, EXTRA, NOVERB); argument indexes and
 * star widths; how an action prints each kind of value; time.Time String
 * and Format layouts; time.Duration String; the escapers.
 */
#include "unit/unit.h"

#include "tmpl_helpers.h"

#include <math.h>

static char *sprintf_go(const char *fmt, const tmpl_val *a, size_t n)
{
    core_sb sb = CORE_SB_INIT;
    tmpl_sprintf(fmt, strlen(fmt), a, n, &sb);
    return core_sb_detach(&sb, NULL);
}

#define assert_fmt(fmt, want, ...)                                    \
    do {                                                              \
        tmpl_val a_[] = {__VA_ARGS__};                                \
        char *got_ = sprintf_go((fmt), a_, sizeof a_ / sizeof a_[0]); \
        assert_string_equal(got_, (want));                            \
        free(got_);                                                   \
    } while (0)

static void integers(void **state)
{
    (void)state;
    assert_fmt("%d", "5", tv_int(5));
    assert_fmt("%5d|%-5d|%05d", "   42|42   |00042", tv_int(42), tv_int(42), tv_int(42));
    assert_fmt("%x %X %#x", "ff -FF 0xff", tv_int(255), tv_int(-255), tv_int(255));
    assert_fmt("%o %#o %O %b", "10 010 0o10 101", tv_int(8), tv_int(8), tv_int(8), tv_int(5));
    assert_fmt("%c %q %U %#U", "A 'A' U+0041 U+0041 'A'", tv_int(65), tv_int(65), tv_int(65),
               tv_int(65));
    assert_fmt("%+d % d %+d", "+5  5 -5", tv_int(5), tv_int(5), tv_int(-5));
    assert_fmt("%.3d|%6.3d|%-06d|", "007|   007|-7    |", tv_int(7), tv_int(7), tv_int(-7));
    assert_fmt("%05d", "-0042", tv_int(-42));
    assert_fmt("%v", "18446744073709551615", (tmpl_val){.k = TV_UINT64, .u.u = UINT64_MAX});
    assert_fmt("%.0d|", "|", tv_int(0));
}

static void floats(void **state)
{
    (void)state;
    assert_fmt("%f", "1.500000", tv_float(1.5));
    assert_fmt("%.2f", "3.14", tv_float(3.14159));
    assert_fmt("%0.2f", "3720.01", tv_float(3720.01));
    assert_fmt("%e", "1.234500e+03", tv_float(1234.5));
    assert_fmt("%E", "1.234500E+03", tv_float(1234.5));
    assert_fmt("%g %g %G", "1.234567e+06 0.5 1E-07", tv_float(1234567), tv_float(.5),
               tv_float(1e-7));
    assert_fmt("%.3g", "1.23e+03", tv_float(1234));
    assert_fmt("%v %v %v", "1e+21 100000 1e+06", tv_float(1e21), tv_float(1e5), tv_float(1e6));
    assert_fmt("%8.3f|%-8.3f|", "   3.142|3.142   |", tv_float(3.14159), tv_float(3.14159));
    assert_fmt("%08.3f", "-003.142", tv_float(-3.14159));
    assert_fmt("%+.1f % .1f", "+2.0  2.0", tv_float(2), tv_float(2));
    assert_fmt("%f %v %5.1f|%-5v|", "+Inf -Inf   NaN|NaN  |", tv_float(INFINITY),
               tv_float(-INFINITY), tv_float(NAN), tv_float(NAN));
    assert_fmt("%+f %05f", "+NaN  +Inf", tv_float(NAN), tv_float(INFINITY));
    assert_fmt("%v", "-0", tv_float(-0.0));
    assert_fmt("%x", "0x1.8p+00", tv_float(1.5));
    assert_fmt("%d", "%!d(float64=1.5)", tv_float(1.5));
}

static void strings_and_others(void **state)
{
    (void)state;
    assert_fmt("%s|%v", "x|x", tv_str("x"), tv_str("x"));
    assert_fmt("%q", "\"a\\\"b\"", tv_str("a\"b"));
    assert_fmt("%#q", "`a\"b`", tv_str("a\"b"));
    assert_fmt("%10s|%-5s|", "       abc|ab   |", tv_str("abc"), tv_str("ab"));
    assert_fmt("%.2s|%5.1s|", "h\xc3\xa9|    h|", tv_str("h\xc3\xa9llo"), tv_str("hi"));
    assert_fmt("%x % x %#x %X", "6869 68 69 0x6869 6869", tv_str("hi"), tv_str("hi"), tv_str("hi"),
               tv_str("hi"));
    assert_fmt("%t %v", "true false", (tmpl_val){.k = TV_BOOL, .u.b = true},
               (tmpl_val){.k = TV_BOOL, .u.b = false});
    assert_fmt("%T %T %T", "float64 string <nil>", tv_float(1), tv_str(""),
               (tmpl_val){.k = TV_INVALID});
    assert_fmt("%v|%s|%d", "<nil>|%!s(<nil>)|%!d(<nil>)", (tmpl_val){.k = TV_INVALID},
               (tmpl_val){.k = TV_INVALID}, (tmpl_val){.k = TV_INVALID});
    core_label ls[] = {{"a", "b"}};
    core_labels *l = core_labels_new(ls, 1);
    assert_fmt("%v %s %d", "map[a:b] map[a:b] map[%!d(string=a):%!d(string=b)]",
               (tmpl_val){.k = TV_STRMAP, .u.map = l}, (tmpl_val){.k = TV_STRMAP, .u.map = l},
               (tmpl_val){.k = TV_STRMAP, .u.map = l});
    tmpl_data d = {.labels = l, .external_labels = l, .external_url = "u", .value = 2};
    assert_fmt("%v", "{map[a:b] map[a:b] u 2}", (tmpl_val){.k = TV_DATA, .u.data = &d});
    assert_fmt("%+v", "{Labels:map[a:b] ExternalLabels:map[a:b] ExternalURL:u Value:2}",
               (tmpl_val){.k = TV_DATA, .u.data = &d});
    tmpl_sample smp = {.labels = l, .value = 3};
    assert_fmt("%v", "&{map[a:b] 3}", (tmpl_val){.k = TV_SAMPLE, .u.sample = &smp});
    free(l);
}

static void complaints(void **state)
{
    (void)state;
    assert_fmt("%d", "%!d(string=x)", tv_str("x"));
    assert_fmt("%s", "%!s(float64=1.5)", tv_float(1.5));
    assert_fmt("%z", "%!z(int=1)", tv_int(1));
    assert_fmt("a", "a%!(EXTRA int=1, string=b)", tv_int(1), tv_str("b"));
    assert_fmt("%!", "%!!(int=1)", tv_int(1));
    assert_fmt("%d %d", "1 %!d(MISSING)", tv_int(1));
    assert_fmt("100%% %d", "100% 1", tv_int(1));
    assert_fmt("%", "%!(NOVERB)%!(EXTRA int=1)", tv_int(1));
    assert_fmt("%[2]d %[1]d", "2 1", tv_int(1), tv_int(2));
    assert_fmt("%*d|%-*d|", "   42|42   |", tv_int(5), tv_int(42), tv_int(5), tv_int(42));
    assert_fmt("%.*f", "3.1", tv_int(1), tv_float(3.14159));
    assert_fmt("%*d", "%!(BADWIDTH)42", tv_str("x"), tv_int(42));
    assert_fmt("%!d", "%!!(int=1)d", tv_int(1));
}

static void printing(void **state)
{
    (void)state;
    core_sb sb = CORE_SB_INIT;
    tmpl_val v[] = {tv_int(1), tv_int(2), tv_str("a"), tv_float(0.5)};
    tmpl_sprint(v, 4, false, &sb);
    assert_string_equal(sb.buf, "1 2a0.5");
    core_sb_reset(&sb);
    tmpl_sprint(v, 4, true, &sb);
    assert_string_equal(sb.buf, "1 2 a 0.5\n");
    core_sb_reset(&sb);
    tmpl_val none = {.k = TV_INVALID};
    tmpl_print_value(&none, &sb);
    assert_string_equal(sb.buf, "<no value>");
    core_sb_reset(&sb);
    tmpl_val nilsample = {.k = TV_SAMPLE};
    tmpl_print_value(&nilsample, &sb);
    assert_string_equal(sb.buf, "<nil>");
    core_sb_reset(&sb);
    core_label ls[] = {{"x", "y"}};
    core_labels *l = core_labels_new(ls, 1);
    tmpl_sample smp = {.labels = l, .value = 1.25};
    tmpl_val sv = {.k = TV_SAMPLE, .u.sample = &smp};
    tmpl_print_value(&sv, &sb);
    assert_string_equal(sb.buf, "{map[x:y] 1.25}");
    core_sb_reset(&sb);
    tmpl_val dv = {.k = TV_DURATION, .u.ns = 1500000000};
    tmpl_print_value(&dv, &sb);
    assert_string_equal(sb.buf, "1.5s");
    core_sb_destroy(&sb);
    free(l);
}

static char *tfmt(int64_t ms, const char *layout)
{
    core_sb sb = CORE_SB_INIT;
    tmpl_time_format(ms * 1000000, layout, strlen(layout), &sb);
    return core_sb_detach(&sb, NULL);
}

#define assert_tfmt(ms, layout, want)      \
    do {                                   \
        char *got_ = tfmt((ms), (layout)); \
        assert_string_equal(got_, (want)); \
        free(got_);                        \
    } while (0)

static void time_formats(void **state)
{
    (void)state;
    int64_t t = 1435065584128; /* 2015-06-23T13:19:44.128Z, a Tuesday */
    assert_tfmt(t, "2006-01-02T15:04:05.000Z07:00", "2015-06-23T13:19:44.128Z");
    assert_tfmt(t, "2006-01-02T15:04:05.999999999Z07:00", "2015-06-23T13:19:44.128Z");
    assert_tfmt(t, "Mon Jan _2 3:04:05PM 06", "Tue Jun 23 1:19:44PM 15");
    assert_tfmt(t, "Monday, January 2, 2006 -0700 MST", "Tuesday, June 23, 2015 +0000 UTC");
    assert_tfmt(t, "002 __2 pm -07:00 Z0700", "174 174 pm +00:00 Z");
    assert_tfmt(t, "15h04m,00", "13h19m,12");
    assert_tfmt(0, "2006-01-02 15:04:05.9", "1970-01-01 00:00:00");
    assert_tfmt(-1000, "2006-01-02 15:04:05", "1969-12-31 23:59:59");
    assert_tfmt(951782400000, "2006-01-02 Mon", "2000-02-29 Tue");
    core_sb sb = CORE_SB_INIT;
    tmpl_time_string(t * 1000000, &sb);
    assert_string_equal(sb.buf, "2015-06-23 13:19:44.128 +0000 UTC");
    core_sb_reset(&sb);
    tmpl_time_string(0, &sb);
    assert_string_equal(sb.buf, "1970-01-01 00:00:00 +0000 UTC");
    core_sb_destroy(&sb);
}

static void durations(void **state)
{
    (void)state;
    struct {
        int64_t ns;
        const char *want;
    } cases[] = {
        {0, "0s"},
        {1, "1ns"},
        {1100, "1.1\xc2\xb5s"},
        {2200000, "2.2ms"},
        {1500000000, "1.5s"},
        {-2000000000, "-2s"},
        {5400000000000, "1h30m0s"},
        {1800000000000, "30m0s"},
        {3723010000000, "1h2m3.01s"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        core_sb sb = CORE_SB_INIT;
        core_sb_add_go_duration(&sb, cases[i].ns);
        assert_string_equal(sb.buf, cases[i].want);
        core_sb_destroy(&sb);
    }
}

static void escapers(void **state)
{
    (void)state;
    core_sb sb = CORE_SB_INIT;
    tmpl_query_escape("a b&c=d/~_.-", 12, &sb);
    assert_string_equal(sb.buf, "a+b%26c%3Dd%2F~_.-");
    core_sb_reset(&sb);
    tmpl_html_text_escape("<a+'b'>", 7, &sb);
    assert_string_equal(sb.buf, "&lt;a&#43;&#39;b&#39;&gt;");
    core_sb_reset(&sb);
    tmpl_js_escape("\x01\xc2\x85x", 4, &sb);
    assert_string_equal(sb.buf, "\\u0001\\u0085x");
    core_sb_destroy(&sb);
}

static void parse_float(void **state)
{
    (void)state;
    double v;
    core_sb msg = CORE_SB_INIT;
    assert_int_equal(tmpl_parse_float("1.5", 3, &v, &msg), 0);
    assert_true(v == 1.5);
    assert_int_equal(tmpl_parse_float("-Inf", 4, &v, &msg), 0);
    assert_true(isinf(v) && v < 0);
    assert_int_equal(tmpl_parse_float("infinity", 8, &v, &msg), 0);
    assert_int_equal(tmpl_parse_float("NaN", 3, &v, &msg), 0);
    assert_true(isnan(v));
    assert_int_equal(tmpl_parse_float(".5e1", 4, &v, &msg), 0);
    assert_true(v == 5);
    assert_int_equal(tmpl_parse_float("0x1p4", 5, &v, &msg), 0);
    assert_true(v == 16);
    assert_int_equal(tmpl_parse_float("1_0", 3, &v, &msg), -1);
    assert_string_equal(msg.buf, "strconv.ParseFloat: parsing \"1_0\": invalid syntax");
    core_sb_reset(&msg);
    assert_int_equal(tmpl_parse_float(" 1", 2, &v, &msg), -1);
    core_sb_reset(&msg);
    assert_int_equal(tmpl_parse_float("+nan", 4, &v, &msg), -1);
    core_sb_reset(&msg);
    assert_int_equal(tmpl_parse_float("1e999", 5, &v, &msg), -1);
    assert_string_equal(msg.buf, "strconv.ParseFloat: parsing \"1e999\": value out of range");
    core_sb_reset(&msg);
    assert_int_equal(tmpl_parse_float("", 0, &v, &msg), -1);
    assert_string_equal(msg.buf, "strconv.ParseFloat: parsing \"\": invalid syntax");
    core_sb_destroy(&msg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(integers),           cmocka_unit_test(floats),
        cmocka_unit_test(strings_and_others), cmocka_unit_test(complaints),
        cmocka_unit_test(printing),           cmocka_unit_test(time_formats),
        cmocka_unit_test(durations),          cmocka_unit_test(escapers),
        cmocka_unit_test(parse_float),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
