/*
 * test_decode.c - the loader's helpers: sizes as alecthomas/units reads them,
 * paths joined as Go's filepath.Join, os.Expand for external labels, Go's
 * strconv.Quote, !!binary scalars and yaml.v2's null rule.
 */
#include "unit/unit.h"

#include "config/internal.h"

#include "helpers.h"

static void test_sizes(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int64_t want;
        const char *err;
    } cases[] = {
        {"0", 0, NULL},
        {"512B", 512, NULL},
        {"1KB", 1024, NULL},
        {"1KiB", 1024, NULL},
        {"10MB", 10 << 20, NULL},
        {"1.5MiB", 3 << 19, NULL},
        {"1GB512MB", (INT64_C(3) << 29), NULL},
        {".5KB", 512, NULL},
        {"2EiB", INT64_C(2) << 60, NULL},
        {"100", 0, "units: unknown unit  in 100"},
        {"1kB", 0, "units: unknown unit kB in 1kB"},
        {"1KiBB", 0, "units: unknown unit KiBB in 1KiBB"},
        {"MB", 0, "units: invalid MB"},
        {"", 0, "units: invalid "},
        /* the base-2 map overflows, and the error of the second try (KB, MB..)
         * is the one ParseBase2Bytes returns */
        {"8EiB", 0, "units: unknown unit EiB in 8EiB"},
        {"8EB", 0, "units: overflow parsing unit"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char yaml[128];
        snprintf(yaml, sizeof yaml, "global:\n  body_size_limit: '%s'\n", cases[i].in);
        core_err err = {{0}};
        cfg_config *c = cfg_load_string("t.yml", yaml, strlen(yaml), &err);
        if (cases[i].err == NULL) {
            if (c == NULL) printf("%s: %s\n", cases[i].in, err.msg);
            assert_non_null(c);
            assert_int_equal(c->global.body_size_limit, cases[i].want);
            cfg_free(c);
        } else {
            char want[256];
            snprintf(want, sizeof want, "t.yml:2:20: %s", cases[i].err);
            assert_null(c);
            assert_string_equal(err.msg, want);
        }
    }
}

static void test_paths(void **state)
{
    (void)state;
    core_arena a;
    core_arena_init(&a, 0);
    dec d = {.a = &a, .dir = "/etc/prometheus"};
    static const char *const cases[][2] = {
        {"rules.yml", "/etc/prometheus/rules.yml"},
        {"./a//b/", "/etc/prometheus/a/b"},
        {"../x", "/etc/x"},
        {"../../../../x", "/x"},
        {"/abs/y", "/abs/y"},
        {"", ""},
        {"a/./b/../c", "/etc/prometheus/a/c"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        assert_string_equal(dec_path(&d, cases[i][0]), cases[i][1]);
    d.dir = ".";
    assert_string_equal(dec_path(&d, "alerts.yml"), "alerts.yml");
    assert_string_equal(dec_path(&d, "../alerts.yml"), "../alerts.yml");
    d.dir = "conf";
    assert_string_equal(dec_path(&d, "../../x"), "../x");
    d.dir = NULL;
    assert_string_equal(dec_path(&d, "x/../y"), "x/../y");
    assert_null(dec_path(&d, NULL));
    core_arena_destroy(&a);
}

static void test_expand_env(void **state)
{
    (void)state;
    core_arena a;
    core_arena_init(&a, 0);
    setenv("CFGX", "val", 1);
    unsetenv("CFGNONE");
    static const char *const cases[][2] = {
        {"$CFGX", "val"},
        {"${CFGX}", "val"},
        {"a${CFGX}b", "avalb"},
        {"$CFGX-1", "val-1"},
        {"$$", "$"},
        {"$$CFGX", "$CFGX"},
        {"$", "$"},
        {"a$", "a$"},
        {"${}", ""},
        {"${CFGX", "CFGX"},
        {"$CFGNONE!", "!"},
        {"$ x", "$ x"},
        {"$1", ""},
        {"no vars", "no vars"},
        {"${CFGX}${CFGX}", "valval"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *got = dec_expand_env(&a, cases[i][0]);
        if (strcmp(got, cases[i][1]) != 0) printf("%s -> %s\n", cases[i][0], got);
        assert_string_equal(got, cases[i][1]);
    }
    core_arena_destroy(&a);
}

static void test_quote(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"a", "\"a\""},        {"a\"b\\c", "\"a\\\"b\\\\c\""}, {"\n\t\x01", "\"\\n\\t\\x01\""},
        {"\xff", "\"\\xff\""}, {"\xc3\xa9", "\"\xc3\xa9\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        core_sb s = CORE_SB_INIT;
        cfg_quote(&s, cases[i][0], strlen(cases[i][0]));
        assert_string_equal(s.buf, cases[i][1]);
        core_sb_destroy(&s);
    }
}

static void test_scalars(void **state)
{
    (void)state;
    /* !!binary is base64, as yaml.v2 reads it into a string. */
    cfg_config *c = load_ok("global:\n  external_labels:\n    a: !!binary aGVsbG8=\n");
    assert_string_equal(core_labels_get(c->global.external_labels, "a"), "hello");
    cfg_free(c);
    /* Booleans as YAML 1.1 has them; numbers with yaml.v2's forms. */
    c = load_ok("scrape_configs:\n  - job_name: a\n    honor_labels: yes\n    sample_limit: 0x10\n"
                "    label_limit: 1_000\n");
    assert_true(c->scrape_configs[0].honor_labels);
    assert_int_equal(c->scrape_configs[0].sample_limit, 16);
    assert_int_equal(c->scrape_configs[0].label_limit, 1000);
    cfg_free(c);
    static const bad_case cases[] = {
        {"global:\n  external_labels:\n    a: !!binary '#'\n",
         "t.yml:3:8: !!binary value contains invalid base64 data"},
        {"rule_files: x\n", "t.yml:1:13: expected a sequence for rule_files, got a scalar"},
        {"global:\n  external_labels: [a]\n",
         "t.yml:2:20: expected a mapping for external_labels, got a sequence"},
        {"global:\n  external_labels:\n    a: 1\n    a: 2\n",
         "t.yml:4:5: mapping key \"a\" already defined at line 3 in external_labels"},
        {"scrape_configs:\n  - job_name: [a]\n",
         "t.yml:2:15: expected a scalar for job_name, got a sequence"},
    };
    check_bad(cases, sizeof cases / sizeof *cases, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes),      cmocka_unit_test(test_paths),
        cmocka_unit_test(test_expand_env), cmocka_unit_test(test_quote),
        cmocka_unit_test(test_scalars),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
