/*
 * test_expo.c - the exposition side of /federate: Accept negotiation as
 * expfmt.Negotiate (q order, wildcards, escaping parameters, OpenMetrics
 * never chosen), Content-Types, name escaping in each scheme, float
 * formatting, and the exact bytes of the text, protobuf (delimited, checked
 * against bytes Prometheus wrote for the same family) and protobuf text
 * writers.
 */
#include "unit/unit.h"

#include <math.h>

#include "web/internal.h"

static void neg(const char *accept, web_expo_format want_fmt, web_escaping want_esc)
{
    web_expo_format f;
    web_escaping e;
    web_expo_negotiate(accept, &f, &e);
    if (f != want_fmt || e != want_esc)
        fail_msg("%s: format %d escaping %d, want %d %d", accept ? accept : "(none)", f, e,
                 want_fmt, want_esc);
}

#define PB "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"

static void test_negotiate(void **state)
{
    (void)state;
    neg(NULL, WEB_EXPO_TEXT, WEB_ESCAPE_UNDERSCORES);
    neg("", WEB_EXPO_TEXT, WEB_ESCAPE_UNDERSCORES);
    neg("*/*", WEB_EXPO_TEXT, WEB_ESCAPE_UNDERSCORES);
    neg(PB "encoding=delimited", WEB_EXPO_PROTO_DELIM, WEB_ESCAPE_UNDERSCORES);
    neg(PB "encoding=text", WEB_EXPO_PROTO_TEXT, WEB_ESCAPE_UNDERSCORES);
    neg(PB "encoding=compact-text", WEB_EXPO_PROTO_COMPACT, WEB_ESCAPE_UNDERSCORES);
    neg(PB "encoding=other", WEB_EXPO_TEXT, WEB_ESCAPE_UNDERSCORES);
    /* q decides; OpenMetrics is never negotiated for federation */
    neg("text/plain;version=0.0.4;q=0.5," PB "encoding=delimited;q=0.7", WEB_EXPO_PROTO_DELIM,
        WEB_ESCAPE_UNDERSCORES);
    neg(PB "encoding=delimited;q=0.3,text/plain;q=0.5", WEB_EXPO_TEXT, WEB_ESCAPE_UNDERSCORES);
    neg("application/openmetrics-text;version=1.0.0," PB "encoding=delimited;q=0.1",
        WEB_EXPO_PROTO_DELIM, WEB_ESCAPE_UNDERSCORES);
    neg("text/plain;version=1.0.0", WEB_EXPO_TEXT, WEB_ESCAPE_UNDERSCORES);
    /* Prometheus 3.x's scrape header: the escaping of a clause passed on
     * the way is kept */
    neg("application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,"
        "application/openmetrics-text;version=0.0.1;q=0.4,"
        "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,"
        "*/*;q=0.1",
        WEB_EXPO_TEXT, WEB_ESCAPE_NONE);
    neg("text/plain;escaping=dots", WEB_EXPO_TEXT, WEB_ESCAPE_DOTS);
    neg(PB "encoding=delimited;escaping=values", WEB_EXPO_PROTO_DELIM, WEB_ESCAPE_VALUES);
    neg("text/plain;escaping=bogus", WEB_EXPO_TEXT, WEB_ESCAPE_UNDERSCORES);
    /* a wildcard sorts after concrete types of the same q */
    neg("*/*;q=0.5," PB "encoding=delimited;q=0.5", WEB_EXPO_PROTO_DELIM, WEB_ESCAPE_UNDERSCORES);
    /* malformed clauses are skipped */
    neg("text," PB "encoding=delimited", WEB_EXPO_PROTO_DELIM, WEB_ESCAPE_UNDERSCORES);
    neg("a/b/c , " PB " encoding = delimited ", WEB_EXPO_PROTO_DELIM, WEB_ESCAPE_UNDERSCORES);

    assert_string_equal(web_expo_content_type(WEB_EXPO_TEXT, WEB_ESCAPE_UNDERSCORES),
                        "text/plain; version=0.0.4; charset=utf-8; escaping=underscores");
    assert_string_equal(web_expo_content_type(WEB_EXPO_PROTO_DELIM, WEB_ESCAPE_NONE),
                        "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
                        "encoding=delimited; escaping=allow-utf-8");
    assert_string_equal(web_expo_content_type(WEB_EXPO_PROTO_COMPACT, WEB_ESCAPE_VALUES),
                        "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
                        "encoding=compact-text; escaping=values");
}

static void esc(const char *name, web_escaping e, const char *want)
{
    core_sb sb = CORE_SB_INIT;
    web_escape_name(name, e, &sb);
    core_sb_adds(&sb, "");
    if (strcmp(sb.buf, want) != 0) fail_msg("%s (%d): %s, want %s", name, e, sb.buf, want);
    core_sb_destroy(&sb);
}

static void test_escape(void **state)
{
    (void)state;
    esc("http_requests", WEB_ESCAPE_UNDERSCORES, "http_requests");
    esc("a:b", WEB_ESCAPE_UNDERSCORES, "a:b");
    esc("my.metric", WEB_ESCAPE_UNDERSCORES, "my_metric");
    esc("1abc", WEB_ESCAPE_UNDERSCORES, "_abc");
    esc("caf\xc3\xa9", WEB_ESCAPE_UNDERSCORES, "caf_");
    esc("my.metric", WEB_ESCAPE_NONE, "my.metric");
    esc("my.metric_x", WEB_ESCAPE_DOTS, "my_dot_metric__x");
    esc("ok_name", WEB_ESCAPE_DOTS, "ok__name");
    esc("a-b", WEB_ESCAPE_DOTS, "a__b");
    esc("ok_name", WEB_ESCAPE_VALUES, "ok_name");
    esc("my.metric_x", WEB_ESCAPE_VALUES, "U__my_2e_metric__x");
    esc("caf\xc3\xa9", WEB_ESCAPE_VALUES, "U__caf_e9_");
    esc("a\xff", WEB_ESCAPE_VALUES, "U__a_fffd_");
    esc("", WEB_ESCAPE_VALUES, "");
    assert_true(web_legacy_name("a:b_1"));
    assert_false(web_legacy_name("1a"));
    assert_false(web_legacy_name(""));
}

static void flt(double v, const char *want)
{
    core_sb sb = CORE_SB_INIT;
    web_expo_float(&sb, v);
    if (strcmp(sb.buf, want) != 0) fail_msg("%.17g: %s, want %s", v, sb.buf, want);
    core_sb_destroy(&sb);
}

static void test_float(void **state)
{
    (void)state;
    flt(0, "0");
    flt(-0.0, "0");
    flt(1, "1");
    flt(-1, "-1");
    flt(2.5, "2.5");
    flt(1e6, "1e+06");
    flt(123456, "123456");
    flt(0.0001, "0.0001");
    flt(0.00001, "1e-05");
    flt(NAN, "NaN");
    flt(INFINITY, "+Inf");
    flt(-INFINITY, "-Inf");
    flt(1795717221337.0, "1.795717221337e+12");
}

/* up{instance="127.0.0.1:19201",job="demo",team="x",site="test"} 1 @1795717221337 and
 * up{instance="127.0.0.1:19202",...} 0 @1795717221784 */
static const core_label L1[] = {
    {"instance", "127.0.0.1:19201"}, {"job", "demo"}, {"team", "x"}, {"site", "test"}};
static const core_label L2[] = {
    {"instance", "127.0.0.1:19202"}, {"job", "demo"}, {"team", "x"}, {"site", "test"}};

static void test_text(void **state)
{
    (void)state;
    web_expo_sample s[] = {{L1, 4, 1, 1795717221337}, {L2, 4, 0, 1795717221784}};
    core_sb sb = CORE_SB_INIT;
    web_expo_family(&sb, WEB_EXPO_TEXT, WEB_ESCAPE_UNDERSCORES, "up", s, 2);
    assert_string_equal(sb.buf,
                        "# TYPE up untyped\n"
                        "up{instance=\"127.0.0.1:19201\",job=\"demo\",team=\"x\",site=\"test\"} 1 "
                        "1795717221337\n"
                        "up{instance=\"127.0.0.1:19202\",job=\"demo\",team=\"x\",site=\"test\"} 0 "
                        "1795717221784\n");
    /* escapes in values; no labels at all */
    core_sb_reset(&sb);
    core_label odd[] = {{"v", "a\"b\\c\nd"}};
    web_expo_sample s2[] = {{odd, 1, 0.5, -5}, {NULL, 0, NAN, 7}};
    web_expo_family(&sb, WEB_EXPO_TEXT, WEB_ESCAPE_UNDERSCORES, "x", s2, 2);
    assert_string_equal(sb.buf, "# TYPE x untyped\nx{v=\"a\\\"b\\\\c\\nd\"} 0.5 -5\nx NaN 7\n");
    /* UTF-8 names: escaped by default, quoted inside the braces with allow-utf-8 */
    core_label utf[] = {{"k.1", "v"}};
    web_expo_sample s3[] = {{utf, 1, 2, 1}, {NULL, 0, 3, 2}};
    core_sb_reset(&sb);
    web_expo_family(&sb, WEB_EXPO_TEXT, WEB_ESCAPE_UNDERSCORES, "my.metric", s3, 2);
    assert_string_equal(sb.buf,
                        "# TYPE my_metric untyped\nmy_metric{k_1=\"v\"} 2 1\nmy_metric 3 2\n");
    core_sb_reset(&sb);
    web_expo_family(&sb, WEB_EXPO_TEXT, WEB_ESCAPE_NONE, "my.metric", s3, 2);
    assert_string_equal(sb.buf, "# TYPE \"my.metric\" untyped\n{\"my.metric\",\"k.1\"=\"v\"} 2 1\n"
                                "{\"my.metric\"} 3 2\n");
    core_sb_destroy(&sb);
}

static void test_protobuf(void **state)
{
    (void)state;
    web_expo_sample s[] = {{L1, 4, 1, 1795717221337}, {L2, 4, 0, 1795717221784}};
    core_sb sb = CORE_SB_INIT;
    web_expo_family(&sb, WEB_EXPO_PROTO_DELIM, WEB_ESCAPE_UNDERSCORES, "up", s, 2);
    /* what Prometheus 2.42 sent for the same family (xxd of /federate) */
    static const unsigned char head[] = {
        0xb4, 0x01, 0x0a, 0x02, 'u',  'p',  0x18, 0x03, 0x22, 0x55, 0x0a, 0x1b, 0x0a, 0x08,
        'i',  'n',  's',  't',  'a',  'n',  'c',  'e',  0x12, 0x0f, '1',  '2',  '7',  '.',
        '0',  '.',  '0',  '.',  '1',  ':',  '1',  '9',  '2',  '0',  '1',  0x0a, 0x0b, 0x0a,
        0x03, 'j',  'o',  'b',  0x12, 0x04, 'd',  'e',  'm',  'o',  0x0a, 0x09, 0x0a, 0x04,
        't',  'e',  'a',  'm',  0x12, 0x01, 'x',  0x0a, 0x0c, 0x0a, 0x04, 's',  'i',  't',
        'e',  0x12, 0x04, 't',  'e',  's',  't',  0x2a, 0x09, 0x09, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0xf0, 0x3f, 0x30, 0xd9, 0x97, 0xd9, 0xc8, 0xa1, 0x34, 0x22, 0x55, 0x0a,
        0x1b, 0x0a, 0x08, 'i',  'n',  's',  't',  'a',  'n',  'c',  'e',  0x12, 0x0f, '1',
    };
    assert_true(sb.len == 2 + 0xb4);
    assert_memory_equal(sb.buf, head, sizeof head);
    core_sb_destroy(&sb);
}

static void test_prototext(void **state)
{
    (void)state;
    core_label l[] = {{"job", "a\"\n\xff"}};
    web_expo_sample s[] = {{l, 1, 1.5, 12}, {NULL, 0, INFINITY, 13}};
    core_sb sb = CORE_SB_INIT;
    web_expo_family(&sb, WEB_EXPO_PROTO_TEXT, WEB_ESCAPE_UNDERSCORES, "up", s, 2);
    assert_string_equal(sb.buf, "name: \"up\"\n"
                                "type: UNTYPED\n"
                                "metric: {\n"
                                "  label: {\n"
                                "    name: \"job\"\n"
                                "    value: \"a\\\"\\n\\xff\"\n"
                                "  }\n"
                                "  untyped: {\n"
                                "    value: 1.5\n"
                                "  }\n"
                                "  timestamp_ms: 12\n"
                                "}\n"
                                "metric: {\n"
                                "  untyped: {\n"
                                "    value: inf\n"
                                "  }\n"
                                "  timestamp_ms: 13\n"
                                "}\n\n");
    core_sb_reset(&sb);
    web_expo_family(&sb, WEB_EXPO_PROTO_COMPACT, WEB_ESCAPE_UNDERSCORES, "up", s, 2);
    assert_string_equal(sb.buf, "name:\"up\" type:UNTYPED metric:{label:{name:\"job\" "
                                "value:\"a\\\"\\n\\xff\"} untyped:{value:1.5} timestamp_ms:12} "
                                "metric:{untyped:{value:inf} timestamp_ms:13}\n");
    core_sb_destroy(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_negotiate), cmocka_unit_test(test_escape),
        cmocka_unit_test(test_float),     cmocka_unit_test(test_text),
        cmocka_unit_test(test_protobuf),  cmocka_unit_test(test_prototext),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
