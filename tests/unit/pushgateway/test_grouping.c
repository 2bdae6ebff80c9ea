/* Unit tests for server/pushgateway/grouping.c: push paths and base64. */
#include "unit/unit.h"

#include "pushgateway/pushgateway.h"

static char *decode(const char *s, int *rc)
{
    core_sb sb = CORE_SB_INIT;
    core_err err;
    *rc = pgw_base64_decode(s, strlen(s), &sb, &err);
    core_sb_addc(&sb, '\0');
    return core_sb_detach(&sb, NULL);
}

static void test_base64_rules(void **state)
{
    int rc;
    char *s;
    s = decode("L3Zhci90bXA", &rc), assert_int_equal(rc, 0), assert_string_equal(s, "/var/tmp");
    free(s);
    s = decode("L3Zhci90bXA=", &rc), assert_int_equal(rc, 0), assert_string_equal(s, "/var/tmp");
    free(s);
    s = decode("L3Zhci90bXA===", &rc), assert_int_equal(rc, 0); /* trailing '=' all ignored */
    free(s);
    s = decode("=", &rc), assert_int_equal(rc, 0), assert_string_equal(s, "");
    free(s);
    s = decode("zqDPgc6_zrzOt864zrXPjc-C", &rc), assert_int_equal(rc, 0);
    assert_string_equal(s,
                        "\xce\xa0\xcf\x81\xce\xbf\xce\xbc\xce\xb7\xce\xb8\xce\xb5\xcf\x8d\xcf\x82");
    free(s);
    s = decode("Zm9v\nYmFy", &rc), assert_int_equal(rc, 0), assert_string_equal(s, "foobar");
    free(s);
    s = decode("a", &rc), assert_int_equal(rc, -1); /* one char carries no byte */
    free(s);
    s = decode("ab+c", &rc), assert_int_equal(rc, -1); /* '+' is not URL-safe */
    free(s);
    s = decode("ab=c", &rc), assert_int_equal(rc, -1); /* '=' only at the end */
    free(s);
}

static void test_base64_round_trip(void **state)
{
    const char *inputs[] = {"", "a", "ab", "abc", "abcd", "/var/tmp", "\xff\xfe\x00x"};
    size_t lens[] = {0, 1, 2, 3, 4, 8, 4};
    for (size_t i = 0; i < 7; i++) {
        core_sb enc = CORE_SB_INIT, dec = CORE_SB_INIT;
        pgw_base64_encode(inputs[i], lens[i], &enc);
        assert_int_equal(pgw_base64_decode(enc.buf, enc.len, &dec, NULL), 0);
        assert_int_equal(dec.len, lens[i]);
        if (lens[i] > 0) assert_memory_equal(dec.buf, inputs[i], lens[i]);
        core_sb_destroy(&enc);
        core_sb_destroy(&dec);
    }
}

static const char *parse_err(const char *path)
{
    static core_err err;
    core_labels *ls = pgw_grouping_parse(path, &err);
    assert_null(ls);
    return err.msg;
}

static void test_paths(void **state)
{
    core_err err;
    core_labels *ls = pgw_grouping_parse("job/j1/a/1/b@base64/Mg/a/3", &err);
    assert_non_null(ls);
    assert_int_equal(ls->len, 3);
    assert_string_equal(core_labels_get(ls, "job"), "j1");
    assert_string_equal(core_labels_get(ls, "a"), "3"); /* a later one wins */
    assert_string_equal(core_labels_get(ls, "b"), "2");
    free(ls);
    ls = pgw_grouping_parse("job@base64/Zm9vL2Jhcg==/job/other/e@base64/=", &err);
    assert_non_null(ls);
    assert_string_equal(core_labels_get(ls, "job"), "foo/bar"); /* the job wins */
    assert_string_equal(core_labels_get(ls, "e"), "");
    free(ls);
    ls = pgw_grouping_parse("job/j/a/", &err); /* a trailing empty value */
    assert_non_null(ls);
    assert_string_equal(core_labels_get(ls, "a"), "");
    free(ls);
    ls = pgw_grouping_parse("job/j/", &err);
    assert_non_null(ls);
    assert_int_equal(ls->len, 1);
    free(ls);
    assert_string_equal(parse_err("job/j/a"), "odd number of components in label string \"/a\"");
    assert_string_equal(parse_err("job/j/a/1/b"),
                        "odd number of components in label string \"/a/1/b\"");
    assert_string_equal(parse_err("job/j/__a/1"), "improper label name \"__a\"");
    assert_string_equal(parse_err("job/j/__a@base64/MQ"), "improper label name \"__a\"");
    assert_string_equal(parse_err("job/j/1a/1"), "improper label name \"1a\"");
    assert_string_equal(parse_err("job/j/a-b/1"), "improper label name \"a-b\"");
    assert_string_equal(parse_err("job/j//1"), "improper label name \"\"");
    assert_string_equal(parse_err("job@base64/="), "job name is required");
    assert_non_null(strstr(parse_err("job@base64/a"), "invalid base64 encoding in job name"));
    assert_non_null(strstr(parse_err("job/j/x@base64/!"), "invalid base64 encoding for label x"));
    assert_non_null(strstr(parse_err("job/j/x@base64/_w"), "not valid UTF-8"));
}

static void test_key(void **state)
{
    core_labels *ls = pgw_grouping_parse("job/j/b/2/a/1", NULL);
    char *key = pgw_grouping_key(ls);
    assert_string_equal(key, "a\xff"
                             "1\xff"
                             "b\xff"
                             "2\xff"
                             "job\xff"
                             "j\xff");
    free(key);
    free(ls);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_rules),
        cmocka_unit_test(test_base64_round_trip),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
