/* Unit tests for server/core/strbuf.c. */
#include "unit/unit.h"

#include "core/core.h"

static void test_add_and_terminate(void **state)
{
    core_sb sb = CORE_SB_INIT;
    core_sb_adds(&sb, "abc");
    core_sb_addc(&sb, '-');
    core_sb_add(&sb, "xyz", 2);
    assert_string_equal(sb.buf, "abc-xy");
    assert_int_equal(sb.len, 6);
    core_sb_add(&sb, "", 0);
    assert_int_equal(sb.len, 6);
    core_sb_destroy(&sb);
    assert_null(sb.buf);
    assert_int_equal(sb.len, 0);
}

static void test_growth_keeps_content(void **state)
{
    core_sb sb = CORE_SB_INIT;
    for (int i = 0; i < 10000; i++)
        core_sb_addc(&sb, (char)('a' + i % 26));
    assert_int_equal(sb.len, 10000);
    assert_true(sb.cap > 10000);
    for (int i = 0; i < 10000; i++)
        assert_int_equal(sb.buf[i], 'a' + i % 26);
    assert_int_equal(sb.buf[10000], '\0');
    core_sb_destroy(&sb);
}

static void test_reset_truncate_grow(void **state)
{
    core_sb sb = CORE_SB_INIT;
    core_sb_reset(&sb); /* on an empty builder */
    core_sb_adds(&sb, "hello world");
    size_t cap = sb.cap;
    core_sb_truncate(&sb, 5);
    assert_string_equal(sb.buf, "hello");
    core_sb_truncate(&sb, 50); /* longer: no-op */
    assert_string_equal(sb.buf, "hello");
    core_sb_reset(&sb);
    assert_int_equal(sb.len, 0);
    assert_string_equal(sb.buf, "");
    assert_int_equal(sb.cap, cap);
    core_sb_grow(&sb, 1000);
    assert_true(sb.cap >= 1001);
    core_sb_destroy(&sb);
}

static void test_addf_short_and_long(void **state)
{
    core_sb sb = CORE_SB_INIT;
    core_sb_addf(&sb, "%d-%s", 42, "x");
    assert_string_equal(sb.buf, "42-x");
    char big[600];
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    core_sb_addf(&sb, "[%s]", big); /* longer than the internal stack buffer */
    assert_int_equal(sb.len, 4 + 2 + 599);
    assert_int_equal(sb.buf[5], 'q');
    assert_int_equal(sb.buf[sb.len - 1], ']');
    core_sb_destroy(&sb);
}

static void test_integers(void **state)
{
    core_sb sb = CORE_SB_INIT;
    core_sb_add_i64(&sb, 0);
    core_sb_addc(&sb, ' ');
    core_sb_add_i64(&sb, -12345);
    core_sb_addc(&sb, ' ');
    core_sb_add_i64(&sb, INT64_MIN);
    core_sb_addc(&sb, ' ');
    core_sb_add_u64(&sb, UINT64_MAX);
    assert_string_equal(sb.buf, "0 -12345 -9223372036854775808 18446744073709551615");
    core_sb_destroy(&sb);
}

static void test_detach(void **state)
{
    core_sb sb = CORE_SB_INIT;
    size_t len = 99;
    char *empty = core_sb_detach(&sb, &len);
    assert_string_equal(empty, "");
    assert_int_equal(len, 0);
    free(empty);
    core_sb_adds(&sb, "kept");
    char *p = core_sb_detach(&sb, &len);
    assert_string_equal(p, "kept");
    assert_int_equal(len, 4);
    assert_null(sb.buf);
    free(p);
}

static void test_json_string(void **state)
{
    core_sb sb = CORE_SB_INIT;
    const char in[] = "a\"b\\c\nd\te\rf\x01g\x1f/\xc3\xa9";
    core_sb_add_json_str(&sb, in, sizeof in - 1);
    assert_string_equal(sb.buf, "\"a\\\"b\\\\c\\nd\\te\\rf\\u0001g\\u001f/\xc3\xa9\"");
    core_sb_reset(&sb);
    core_sb_add_json_str(&sb, "", 0);
    assert_string_equal(sb.buf, "\"\"");
    core_sb_destroy(&sb);
}

static void test_quoted(void **state)
{
    core_sb sb = CORE_SB_INIT;
    const char in[] = "x\"y\\z\n\t\r\a\b\f\v\x02\x7f\xc3\xa9";
    core_sb_add_quoted(&sb, in, sizeof in - 1);
    assert_string_equal(sb.buf, "\"x\\\"y\\\\z\\n\\t\\r\\a\\b\\f\\v\\x02\\x7f\xc3\xa9\"");
    core_sb_destroy(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_and_terminate),
        cmocka_unit_test(test_growth_keeps_content),
        cmocka_unit_test(test_reset_truncate_grow),
        cmocka_unit_test(test_addf_short_and_long),
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_detach),
        cmocka_unit_test(test_json_string),
        cmocka_unit_test(test_quoted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
