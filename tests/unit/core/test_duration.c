/* Unit tests for server/core/duration.c: durations and times, both ways. */
#include "unit/unit.h"

#include "core/core.h"

static int64_t dur(const char *s)
{
    int64_t ms = -42;
    core_err err;
    if (core_duration_parse(s, strlen(s), &ms, &err) < 0) fail_msg("parsing %s: %s", s, err.msg);
    return ms;
}

static const char *dur_err(const char *s)
{
    static core_err err;
    int64_t ms = -42;
    assert_int_equal(core_duration_parse(s, strlen(s), &ms, &err), -1);
    assert_int_equal(ms, -42); /* untouched on error */
    return err.msg;
}

static void test_duration_parse(void **state)
{
    assert_int_equal(dur("0"), 0);
    assert_int_equal(dur("0s"), 0);
    assert_int_equal(dur("15s"), 15000);
    assert_int_equal(dur("500ms"), 500);
    assert_int_equal(dur("1h30m"), 5400000);
    assert_int_equal(dur("2w"), 2 * CORE_MS_PER_WEEK);
    assert_int_equal(dur("1y"), 365 * CORE_MS_PER_DAY);
    assert_int_equal(dur("1y2w3d4h5m6s7ms"), CORE_MS_PER_YEAR + 2 * CORE_MS_PER_WEEK +
                                                 3 * CORE_MS_PER_DAY + 4 * CORE_MS_PER_HOUR +
                                                 5 * CORE_MS_PER_MINUTE + 6007);
    assert_int_equal(dur("90m"), 90 * CORE_MS_PER_MINUTE); /* no carrying needed */
    assert_int_equal(dur("292y"), 292 * CORE_MS_PER_YEAR);
}

static void test_duration_parse_errors(void **state)
{
    assert_string_equal(dur_err(""), "empty duration string");
    assert_string_equal(dur_err("1"), "not a valid duration string: \"1\"");
    assert_string_equal(dur_err("h"), "not a valid duration string: \"h\"");
    assert_string_equal(dur_err("-1s"), "not a valid duration string: \"-1s\"");
    assert_string_equal(dur_err("1h1h"), "not a valid duration string: \"1h1h\"");
    assert_string_equal(dur_err("1m1h"), "not a valid duration string: \"1m1h\"");
    assert_string_equal(dur_err("1x"), "unknown unit \"x\" in duration \"1x\"");
    assert_string_equal(dur_err("1.5h"), "unknown unit \".\" in duration \"1.5h\"");
    assert_string_equal(dur_err(" 1s"), "not a valid duration string: \" 1s\"");
    assert_string_equal(dur_err("300y"), "duration out of range");
    assert_string_equal(dur_err("99999999999999999999999s"), "duration out of range");
    assert_string_equal(dur_err("292y52w"), "duration out of range");
}

static void test_duration_parse_len(void **state)
{
    int64_t ms;
    /* Only `len` bytes are read: "15s" out of "15sXX". */
    assert_int_equal(core_duration_parse("15sXX", 3, &ms, NULL), 0);
    assert_int_equal(ms, 15000);
}

static void test_duration_parse_api(void **state)
{
    int64_t ms;
    core_err err;
    assert_int_equal(core_duration_parse_api("1.5", 3, &ms, &err), 0);
    assert_int_equal(ms, 1500);
    assert_int_equal(core_duration_parse_api("30", 2, &ms, &err), 0);
    assert_int_equal(ms, 30000);
    assert_int_equal(core_duration_parse_api("-3", 2, &ms, &err), 0);
    assert_int_equal(ms, -3000);
    assert_int_equal(core_duration_parse_api("5m", 2, &ms, &err), 0);
    assert_int_equal(ms, 300000);
    assert_int_equal(core_duration_parse_api("abc", 3, &ms, &err), -1);
    assert_string_equal(err.msg, "cannot parse \"abc\" to a valid duration");
    assert_int_equal(core_duration_parse_api("1e30", 4, &ms, &err), -1);
    assert_string_equal(err.msg, "cannot parse \"1e30\" to a valid duration. It overflows int64");
    assert_int_equal(core_duration_parse_api("", 0, &ms, &err), -1);
}

static const char *fmt_dur(int64_t ms)
{
    static char buf[CORE_DURATION_BUFSZ];
    size_t n = core_duration_format(ms, buf);
    assert_int_equal(n, strlen(buf));
    return buf;
}

static void test_duration_format(void **state)
{
    assert_string_equal(fmt_dur(0), "0s");
    assert_string_equal(fmt_dur(1), "1ms");
    assert_string_equal(fmt_dur(1500), "1s500ms");
    assert_string_equal(fmt_dur(-1500), "-1s500ms");
    assert_string_equal(fmt_dur(5400000), "1h30m");
    assert_string_equal(fmt_dur(14 * CORE_MS_PER_DAY), "2w");
    assert_string_equal(fmt_dur(90 * CORE_MS_PER_DAY), "90d"); /* not 12w6d */
    assert_string_equal(fmt_dur(366 * CORE_MS_PER_DAY), "366d");
    assert_string_equal(fmt_dur(2 * CORE_MS_PER_YEAR), "2y");
    assert_string_equal(fmt_dur(INT64_MAX), "106751991167d7h12m55s807ms");
    assert_string_equal(fmt_dur(INT64_MIN + 1), "-106751991167d7h12m55s807ms");
}

static const char *fmt_go(int64_t ns)
{
    static char buf[CORE_GO_DURATION_BUFSZ];
    size_t n = core_duration_format_go(ns, buf);
    assert_int_equal(n, strlen(buf));
    return buf;
}

/* Go's time.Duration.String(), values from its documentation and tests. */
static void test_duration_format_go(void **state)
{
    (void)state;
    assert_string_equal(fmt_go(0), "0s");
    assert_string_equal(fmt_go(1), "1ns");
    assert_string_equal(fmt_go(1100), "1.1\xc2\xb5s");
    assert_string_equal(fmt_go(2200000), "2.2ms");
    assert_string_equal(fmt_go(500000000), "500ms");
    assert_string_equal(fmt_go(3300000000), "3.3s");
    assert_string_equal(fmt_go(15001000000), "15.001s");
    assert_string_equal(fmt_go(INT64_C(4) * 60000000000 + 5000000000), "4m5s");
    assert_string_equal(fmt_go(INT64_C(4) * 60000000000 + 5001000000), "4m5.001s");
    assert_string_equal(fmt_go(INT64_C(5) * 3600000000000 + 6 * 60000000000 + 7001000000),
                        "5h6m7.001s");
    assert_string_equal(fmt_go(INT64_C(2) * 3600000000000), "2h0m0s");
    assert_string_equal(fmt_go(-1), "-1ns");
    assert_string_equal(fmt_go(INT64_MAX), "2562047h47m16.854775807s");
    assert_string_equal(fmt_go(INT64_MIN), "-2562047h47m16.854775808s");
}

static void test_duration_round_trip(void **state)
{
    /* Every formatted duration parses back to itself. */
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 10000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int64_t ms = (int64_t)(x % (uint64_t)(200 * CORE_MS_PER_YEAR));
        if (i % 3 == 0) ms -= ms % 1000; /* whole seconds too */
        char buf[CORE_DURATION_BUFSZ];
        core_duration_format(ms, buf);
        assert_int_equal(dur(buf), ms);
    }
}

static int64_t rfc(const char *s)
{
    int64_t ms;
    core_err err;
    if (core_time_parse_rfc3339(s, strlen(s), &ms, &err) < 0)
        fail_msg("parsing %s: %s", s, err.msg);
    return ms;
}

static void test_time_parse_rfc3339(void **state)
{
    assert_int_equal(rfc("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(rfc("2026-11-26T15:24:03.123Z"), INT64_C(1795706643123));
    assert_int_equal(rfc("2026-11-26T16:24:03.123+01:00"), INT64_C(1795706643123));
    assert_int_equal(rfc("2026-11-26T10:54:03.123-04:30"), INT64_C(1795706643123));
    assert_int_equal(rfc("2026-11-26T15:24:03.123456789Z"), INT64_C(1795706643123));
    assert_int_equal(rfc("2026-11-26T15:24:03.1Z"), INT64_C(1795706643100));
    assert_int_equal(rfc("2024-02-29T12:00:00Z"), INT64_C(1709208000000));
    assert_int_equal(rfc("0001-01-01T00:00:00Z"), INT64_C(-62135596800000));
    assert_int_equal(rfc("9999-12-31T23:59:59.999Z"), INT64_C(253402300799999));
    assert_int_equal(rfc("1969-12-31T23:59:59.999Z"), -1);
    assert_true(rfc("-292273086-05-16T16:47:06Z") == CORE_TIME_MIN_MS);
    assert_true(rfc("292277025-08-18T07:12:54.999999999Z") == CORE_TIME_MAX_MS);
}

static void test_time_parse_rfc3339_errors(void **state)
{
    static const char *bad[] = {
        "",
        "2026-11-26",
        "2026-11-26T15:24:03",      /* no zone */
        "2026-11-26 15:24:03Z",     /* space instead of T */
        "2026-13-01T00:00:00Z",     /* month */
        "2026-02-29T00:00:00Z",     /* not a leap year */
        "2026-04-31T00:00:00Z",     /* day */
        "2026-11-26T24:00:00Z",     /* hour */
        "2026-11-26T15:60:00Z",     /* minute */
        "2026-11-26T15:24:60Z",     /* second */
        "2026-11-26T15:24:03.Z",    /* empty fraction */
        "2026-11-26T15:24:03+0100", /* offset without colon */
        "2026-11-26T15:24:03Zjunk",
        "26-11-26T15:24:03Z",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms;
        core_err err;
        if (core_time_parse_rfc3339(bad[i], strlen(bad[i]), &ms, &err) == 0)
            fail_msg("accepted %s", bad[i]);
        char want[128];
        snprintf(want, sizeof want, "cannot parse \"%s\" as an RFC3339 time", bad[i]);
        assert_string_equal(err.msg, want);
    }
}

static void test_time_parse_api(void **state)
{
    int64_t ms;
    core_err err;
    assert_int_equal(core_time_parse_api("1700000000.5", 12, &ms, &err), 0);
    assert_int_equal(ms, INT64_C(1700000000500));
    assert_int_equal(core_time_parse_api("1700000000", 10, &ms, &err), 0);
    assert_int_equal(ms, INT64_C(1700000000000));
    assert_int_equal(core_time_parse_api("-1.5", 4, &ms, &err), 0);
    assert_int_equal(ms, -1500);
    assert_int_equal(core_time_parse_api("0.0015", 6, &ms, &err), 0);
    assert_int_equal(ms, 2); /* the fraction is rounded to milliseconds */
    assert_int_equal(core_time_parse_api("1e3", 3, &ms, &err), 0);
    assert_int_equal(ms, 1000000);
    const char *t = "2026-11-26T15:24:03.123Z";
    assert_int_equal(core_time_parse_api(t, strlen(t), &ms, &err), 0);
    assert_int_equal(ms, INT64_C(1795706643123));
    assert_int_equal(core_time_parse_api("yesterday", 9, &ms, &err), -1);
    assert_string_equal(err.msg, "cannot parse \"yesterday\" to a valid timestamp");
    assert_int_equal(core_time_parse_api("inf", 3, &ms, &err), -1);
    assert_int_equal(core_time_parse_api("nan", 3, &ms, &err), -1);
}

static const char *fmt_rfc(int64_t ms)
{
    static char buf[CORE_TIME_BUFSZ];
    size_t n = core_time_format_rfc3339(ms, buf);
    assert_int_equal(n, strlen(buf));
    return buf;
}

static const char *fmt_unix(int64_t ms)
{
    static char buf[CORE_TIME_BUFSZ];
    size_t n = core_time_format_unix(ms, buf);
    assert_int_equal(n, strlen(buf));
    return buf;
}

static void test_time_format(void **state)
{
    assert_string_equal(fmt_rfc(0), "1970-01-01T00:00:00Z");
    assert_string_equal(fmt_rfc(1500), "1970-01-01T00:00:01.5Z");
    assert_string_equal(fmt_rfc(-1), "1969-12-31T23:59:59.999Z");
    assert_string_equal(fmt_rfc(INT64_C(1795706643120)), "2026-11-26T15:24:03.12Z");
    assert_string_equal(fmt_rfc(INT64_C(1709208000000)), "2024-02-29T12:00:00Z");
    assert_string_equal(fmt_rfc(INT64_C(-62135596800000)), "0001-01-01T00:00:00Z");

    assert_string_equal(fmt_unix(0), "0");
    assert_string_equal(fmt_unix(1500), "1.500");
    assert_string_equal(fmt_unix(INT64_C(1435781451781)), "1435781451.781");
    assert_string_equal(fmt_unix(INT64_C(1700000000000)), "1700000000");
    assert_string_equal(fmt_unix(-1), "-0.001");
    assert_string_equal(fmt_unix(-1500), "-1.500");
    assert_string_equal(fmt_unix(INT64_MIN), "-9223372036854775.808");
}

static void test_time_round_trip(void **state)
{
    uint64_t x = 2463534242ULL;
    for (int i = 0; i < 10000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        /* Years 0001 to 9999: what RFC3339 can carry. */
        int64_t ms = INT64_C(-62135596800000) + (int64_t)(x % UINT64_C(315537897600000));
        assert_int_equal(rfc(fmt_rfc(ms)), ms);
        int64_t back;
        const char *u = fmt_unix(ms);
        assert_int_equal(core_time_parse_api(u, strlen(u), &back, NULL), 0);
        assert_int_equal(back, ms);
    }
}

static void test_clocks(void **state)
{
    int64_t now = core_time_now_ms();
    assert_true(now > INT64_C(1700000000000)); /* after 2023 */
    double a = core_monotonic_seconds(), b = core_monotonic_seconds();
    assert_true(b >= a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration_parse),
        cmocka_unit_test(test_duration_parse_errors),
        cmocka_unit_test(test_duration_parse_len),
        cmocka_unit_test(test_duration_parse_api),
        cmocka_unit_test(test_duration_format),
        cmocka_unit_test(test_duration_format_go),
        cmocka_unit_test(test_duration_round_trip),
        cmocka_unit_test(test_time_parse_rfc3339),
        cmocka_unit_test(test_time_parse_rfc3339_errors),
        cmocka_unit_test(test_time_parse_api),
        cmocka_unit_test(test_time_format),
        cmocka_unit_test(test_time_round_trip),
        cmocka_unit_test(test_clocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
