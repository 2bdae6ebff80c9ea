/*
 * test_params.c - request parameters as upstream reads them: times (Unix
 * float, RFC3339, the boundary spellings), durations (float seconds and
 * Prometheus durations), limits (strconv.Atoi's errors), match[] selectors
 * (the metric-selector grammar and its errors as Debian's prometheus
 * answers them), label names in the path and Go's %q.
 */
#include "unit/unit.h"

#include "web/internal.h"

static void test_times(void **state)
{
    (void)state;
    int64_t ms;
    core_err err;
    assert_int_equal(web_parse_time("1700000000", &ms, &err), 0);
    assert_int_equal(ms, 1700000000000);
    assert_int_equal(web_parse_time("1700000000.5", &ms, &err), 0);
    assert_int_equal(ms, 1700000000500);
    assert_int_equal(web_parse_time("1700000000.1234", &ms, &err), 0);
    assert_int_equal(ms, 1700000000123);
    assert_int_equal(web_parse_time("-1.5", &ms, &err), 0);
    assert_int_equal(ms, -1500);
    assert_int_equal(web_parse_time("2026-11-26T15:24:03.123Z", &ms, &err), 0);
    int64_t utc = ms;
    assert_int_equal(web_parse_time("2026-11-26T16:24:03.123+01:00", &ms, &err), 0);
    assert_int_equal(ms, utc);
    assert_int_equal(web_parse_time("-292273086-05-16T16:47:06Z", &ms, &err), 0);
    assert_int_equal(ms, CORE_TIME_MIN_MS);
    assert_int_equal(web_parse_time("292277025-08-18T07:12:54.999999999Z", &ms, &err), 0);
    assert_int_equal(ms, CORE_TIME_MAX_MS);
    assert_int_equal(web_parse_time("abc", &ms, &err), -1);
    assert_string_equal(err.msg, "cannot parse \"abc\" to a valid timestamp");
    assert_int_equal(web_parse_time("", &ms, &err), -1);
    assert_string_equal(err.msg, "cannot parse \"\" to a valid timestamp");
    assert_int_equal(web_parse_time("2026-11-26", &ms, &err), -1);
    /* optional ones */
    assert_int_equal(web_parse_time_param(NULL, "start", 42, &ms, &err), 0);
    assert_int_equal(ms, 42);
    assert_int_equal(web_parse_time_param("", "start", 43, &ms, &err), 0);
    assert_int_equal(ms, 43);
    assert_int_equal(web_parse_time_param("x", "end", 0, &ms, &err), -1);
    assert_string_equal(err.msg,
                        "invalid time value for 'end': cannot parse \"x\" to a valid timestamp");
}

static void test_durations(void **state)
{
    (void)state;
    int64_t ms;
    core_err err;
    assert_int_equal(web_parse_duration("1.5", &ms, &err), 0);
    assert_int_equal(ms, 1500);
    assert_int_equal(web_parse_duration("30", &ms, &err), 0);
    assert_int_equal(ms, 30000);
    assert_int_equal(web_parse_duration("5m", &ms, &err), 0);
    assert_int_equal(ms, 300000);
    assert_int_equal(web_parse_duration("1h30m", &ms, &err), 0);
    assert_int_equal(ms, 5400000);
    assert_int_equal(web_parse_duration("-3", &ms, &err), 0);
    assert_int_equal(ms, -3000);
    assert_int_equal(web_parse_duration("abc", &ms, &err), -1);
    assert_string_equal(err.msg, "cannot parse \"abc\" to a valid duration");
    assert_int_equal(web_parse_duration("", &ms, &err), -1);
    assert_string_equal(err.msg, "cannot parse \"\" to a valid duration");
    assert_int_equal(web_parse_duration("1e30", &ms, &err), -1);
    assert_string_equal(err.msg, "cannot parse \"1e30\" to a valid duration. It overflows int64");
}

static void test_limits(void **state)
{
    (void)state;
    int64_t l;
    core_err err;
    assert_int_equal(web_parse_limit(NULL, &l, &err), 0);
    assert_int_equal(l, 0);
    assert_int_equal(web_parse_limit("", &l, &err), 0);
    assert_int_equal(web_parse_limit("10", &l, &err), 0);
    assert_int_equal(l, 10);
    assert_int_equal(web_parse_limit("+7", &l, &err), 0);
    assert_int_equal(l, 7);
    assert_int_equal(web_parse_limit("-1", &l, &err), -1);
    assert_string_equal(err.msg, "limit must be non-negative");
    assert_int_equal(web_parse_limit("x", &l, &err), -1);
    assert_string_equal(err.msg, "strconv.Atoi: parsing \"x\": invalid syntax");
    assert_int_equal(web_parse_limit("1.5", &l, &err), -1);
    assert_string_equal(err.msg, "strconv.Atoi: parsing \"1.5\": invalid syntax");
    assert_int_equal(web_parse_limit("99999999999999999999", &l, &err), -1);
    assert_string_equal(err.msg,
                        "strconv.Atoi: parsing \"99999999999999999999\": value out of range");
}

/* Parses selectors and returns the error, or "" with *n set to each set's
 * matcher count packed as decimal digits. */
static const char *match(const char *const *sel, size_t n, core_arena *a, web_matchers **sets)
{
    static core_err err;
    if (web_parse_matchers(sel, n, NULL, a, sets, &err) < 0) return err.msg;
    return "";
}

static void test_matchers(void **state)
{
    (void)state;
    core_arena a = {0};
    web_matchers *s;
    const char *one[1];
#define ONE(x) (one[0] = (x), match(one, 1, &a, &s))
    assert_string_equal(ONE("up"), "");
    assert_int_equal(s[0].n, 1);
    assert_string_equal(s[0].m[0].name, "__name__");
    assert_string_equal(s[0].m[0].value, "up");
    assert_string_equal(ONE("up{job=~\"a|b\", instance!=\"x\"}"), "");
    assert_int_equal(s[0].n, 3);
    assert_string_equal(ONE("{job=\"a\"}"), "");
    assert_int_equal(s[0].n, 1);
    assert_int_equal(s[0].m[0].type, PQL_MATCH_EQ);
    /* keywords are metric names in a selector */
    assert_string_equal(ONE("sum"), "");
    assert_string_equal(s[0].m[0].value, "sum");
    assert_string_equal(ONE("by{job=\"a\"}"), "");
    assert_int_equal(s[0].n, 2);
    /* what the selector grammar refuses, in Debian's prometheus's words */
    assert_string_equal(ONE("rate(x[5m])"), "1:5: parse error: unexpected \"(\"");
    assert_string_equal(ONE("x[5m]"), "1:2: parse error: unexpected \"[\"");
    assert_string_equal(ONE("x offset 5m"), "1:3: parse error: unexpected <offset>");
    assert_string_equal(ONE("1+1"), "1:1: parse error: unexpected number \"1\"");
    assert_string_equal(ONE("up + 1"), "1:4: parse error: unexpected <op:+>");
    assert_string_equal(ONE(""), "1:1: parse error: unexpected end of input");
    assert_string_equal(ONE("x{a=}"),
                        "1:5: parse error: unexpected \"}\" in label matching, expected string");
    assert_string_equal(ONE("{a=\"\"}"), "match[] must contain at least one non-empty matcher");
    assert_string_equal(ONE("{a=~\".*\", b!=\"x\"}"),
                        "match[] must contain at least one non-empty matcher");
    /* several sets: a syntax error anywhere wins over an empty set */
    const char *two[] = {"{a=\"\"}", "up{"};
    assert_string_not_equal(match(two, 2, &a, &s),
                            "match[] must contain at least one non-empty matcher");
    const char *ok[] = {"up", "{job=\"b\"}"};
    assert_string_equal(match(ok, 2, &a, &s), "");
    assert_int_equal(s[1].n, 1);
    core_arena_destroy(&a);
#undef ONE
}

/* upstream's ParseMetricSelector (federation, delete_series, match_target):
 * a selector whose matchers all match "" is taken, matchers as written. */
static void test_selectors(void **state)
{
    (void)state;
    core_arena a = {0};
    core_arena_init(&a, 0);
    web_matchers *s;
    core_err err;
    const char *v[] = {"{a=\"\"}", "{b=~\".*\", __name__=~\".+\", c!=\"x\"}", "up"};
    assert_int_equal(web_parse_selectors(v, 3, NULL, &a, &s, &err), 0);
    assert_int_equal(s[0].n, 1);
    assert_string_equal(s[0].m[0].name, "a");
    assert_int_equal(s[0].m[0].type, PQL_MATCH_EQ);
    assert_int_equal(s[0].m[0].value_len, 0);
    assert_int_equal(s[1].n, 3); /* the user's own __name__=~".+" stays */
    assert_string_equal(s[1].m[0].name, "b");
    assert_string_equal(s[1].m[1].name, "__name__");
    assert_string_equal(s[1].m[2].name, "c");
    assert_int_equal(s[2].n, 1);
    const char *bad[] = {"up{"};
    assert_int_equal(web_parse_selectors(bad, 1, NULL, &a, &s, &err), -1);
    assert_string_equal(err.msg, "1:4: parse error: unexpected end of input inside braces");
    core_arena_destroy(&a);
}

static void test_label_names(void **state)
{
    (void)state;
    core_arena a = {0};
    assert_string_equal(web_label_name_param("job", &a), "job");
    assert_string_equal(web_label_name_param("U__my_2e_name", &a), "my.name");
    assert_string_equal(web_label_name_param("U__a__b", &a), "a_b");
    assert_string_equal(web_label_name_param("U___1f600_", &a), "\xf0\x9f\x98\x80");
    assert_string_equal(web_label_name_param("U__bad_zz_", &a), "U__bad_zz_");
    assert_string_equal(web_label_name_param("U__open_2e", &a), "U__open_2e");
    assert_true(web_label_name_valid("job"));
    assert_true(web_label_name_valid("my.name"));
    assert_false(web_label_name_valid(""));
    assert_false(web_label_name_valid("\xff"));
    core_sb sb = CORE_SB_INIT;
    web_go_quote(&sb, "a\"b\\\n\x01\xff\xc3\xa9\xe2\x80\xa8", 12);
    assert_string_equal(sb.buf, "\"a\\\"b\\\\\\n\\x01\\xff\xc3\xa9\\u2028\"");
    core_sb_destroy(&sb);
    core_arena_destroy(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_times),       cmocka_unit_test(test_durations),
        cmocka_unit_test(test_limits),      cmocka_unit_test(test_matchers),
        cmocka_unit_test(test_label_names), cmocka_unit_test(test_selectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
