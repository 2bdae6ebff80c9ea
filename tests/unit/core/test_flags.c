/* Unit tests for server/core/flags.c. */
#include "unit/unit.h"

#include "core/core.h"

static const char *config, *level, *format;
static bool lifecycle, admin;
static int64_t max_conns, retention;
static core_strlist listen;

static core_flag table[] = {
    {"config.file", CORE_FLAG_STRING, &config, "prometheus.yml", "Configuration file path.", false},
    {"web.enable-lifecycle", CORE_FLAG_BOOL, &lifecycle, NULL, "Enable shutdown and reload.",
     false},
    {"web.enable-admin-api", CORE_FLAG_BOOL, &admin, "true", "Enable admin endpoints.", false},
    {"web.max-connections", CORE_FLAG_INT, &max_conns, "512", "Maximum connections.", false},
    {"storage.tsdb.retention.time", CORE_FLAG_DURATION, &retention, "15d", "Retention.", false},
    {"web.listen-address", CORE_FLAG_LIST, &listen, ":9090", "Addresses to listen on.", false},
    CORE_LOG_FLAGS(&level, &format),
};

static core_flags flags = {
    .program = "prom-test",
    .summary = "A program for testing flags",
    .flags = table,
    .n = sizeof table / sizeof table[0],
};

/* Parses a command line given as one string split on spaces. */
static int parse(const char *line, int *first, core_err *err)
{
    static char buf[512];
    static char *argv[32];
    snprintf(buf, sizeof buf, "%s", line);
    int argc = 0;
    argv[argc++] = "prom-test";
    for (char *tok = strtok(buf, " "); tok != NULL; tok = strtok(NULL, " "))
        argv[argc++] = tok;
    FILE *sink = fopen("/dev/null", "w");
    int rc = core_flags_parse(&flags, argc, argv, first, sink, err);
    fclose(sink);
    return rc;
}

static int teardown(void **state)
{
    core_strlist_destroy(&listen);
    return 0;
}

static void test_defaults(void **state)
{
    core_err err;
    assert_int_equal(parse("", NULL, &err), 0);
    assert_string_equal(config, "prometheus.yml");
    assert_false(lifecycle);
    assert_true(admin);
    assert_int_equal(max_conns, 512);
    assert_int_equal(retention, 15 * CORE_MS_PER_DAY);
    assert_int_equal(listen.len, 1);
    assert_string_equal(listen.v[0], ":9090");
    assert_string_equal(level, "info");
    assert_string_equal(format, "logfmt");
    assert_false(core_flags_find(&flags, "config.file")->given);
}

static void test_values_both_spellings(void **state)
{
    core_err err;
    assert_int_equal(parse("--config.file=/etc/p.yml --web.max-connections 7 "
                           "--storage.tsdb.retention.time=1h30m --log.level debug",
                           NULL, &err),
                     0);
    assert_string_equal(config, "/etc/p.yml");
    assert_int_equal(max_conns, 7);
    assert_int_equal(retention, 90 * CORE_MS_PER_MINUTE);
    assert_string_equal(level, "debug");
    assert_true(core_flags_find(&flags, "config.file")->given);
    assert_false(core_flags_find(&flags, "web.enable-lifecycle")->given);
    assert_null(core_flags_find(&flags, "nope"));
}

static void test_bools(void **state)
{
    core_err err;
    assert_int_equal(parse("--web.enable-lifecycle --no-web.enable-admin-api", NULL, &err), 0);
    assert_true(lifecycle);
    assert_false(admin);
    assert_int_equal(parse("--web.enable-lifecycle=false --web.enable-admin-api=true", NULL, &err),
                     0);
    assert_false(lifecycle);
    assert_true(admin);
    assert_int_equal(parse("--web.enable-lifecycle=maybe", NULL, &err), -1);
    assert_string_equal(err.msg, "invalid value \"maybe\" for flag --web.enable-lifecycle: "
                                 "expected true or false");
}

static void test_list_replaces_default(void **state)
{
    core_err err;
    assert_int_equal(
        parse("--web.listen-address=127.0.0.1:1 --web.listen-address [::1]:2", NULL, &err), 0);
    assert_int_equal(listen.len, 2);
    assert_string_equal(listen.v[0], "127.0.0.1:1");
    assert_string_equal(listen.v[1], "[::1]:2");
    assert_int_equal(parse("", NULL, &err), 0); /* a new parse starts from the default */
    assert_int_equal(listen.len, 1);
    assert_string_equal(listen.v[0], ":9090");
}

static void test_errors(void **state)
{
    core_err err;
    assert_int_equal(parse("--foo", NULL, &err), -1);
    assert_string_equal(err.msg, "unknown long flag '--foo'");
    assert_int_equal(parse("--no-config.file", NULL, &err), -1); /* --no- only for bools */
    assert_string_equal(err.msg, "unknown long flag '--no-config.file'");
    assert_int_equal(parse("-x", NULL, &err), -1);
    assert_string_equal(err.msg, "unknown short flag '-x'");
    assert_int_equal(parse("--config.file", NULL, &err), -1);
    assert_string_equal(err.msg, "expected argument for flag '--config.file'");
    assert_int_equal(parse("--web.max-connections=lots", NULL, &err), -1);
    assert_string_equal(
        err.msg, "invalid value \"lots\" for flag --web.max-connections: expected an integer");
    assert_int_equal(parse("--storage.tsdb.retention.time=15x", NULL, &err), -1);
    assert_string_equal(err.msg, "invalid value \"15x\" for flag --storage.tsdb.retention.time: "
                                 "unknown unit \"x\" in duration \"15x\"");
    assert_int_equal(parse("stray", NULL, &err), -1); /* no arguments expected */
    assert_string_equal(err.msg, "unexpected stray");
}

static void test_positional_arguments(void **state)
{
    core_err err;
    int first = -1;
    assert_int_equal(parse("--log.level=warn check config p.yml", &first, &err), 0);
    assert_int_equal(first, 2);
    assert_string_equal(level, "warn");
    assert_int_equal(parse("-- --config.file", &first, &err), 0);
    assert_int_equal(first, 2); /* after "--" everything is an argument */
    assert_string_equal(config, "prometheus.yml");
}

static void test_help_and_version(void **state)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    char *argv[] = {"prom-test", "--help"};
    assert_int_equal(core_flags_parse(&flags, 2, argv, NULL, mem, NULL), 1);
    fflush(mem);
    assert_non_null(strstr(text, "usage: prom-test [<flags>]\n\nA program for testing flags\n"));
    assert_non_null(strstr(text, "      --config.file=<string>\n        Configuration file path. "
                                 "(default: prometheus.yml)\n"));
    assert_non_null(strstr(text, "      --[no-]web.enable-lifecycle\n"));
    assert_non_null(strstr(text, "      --web.listen-address=<string> ...\n"));
    assert_non_null(strstr(text, "      --storage.tsdb.retention.time=<duration>\n"));
    fclose(mem);
    free(text);

    text = NULL;
    mem = open_memstream(&text, &len);
    char *argv2[] = {"prom-test", "--version"};
    assert_int_equal(core_flags_parse(&flags, 2, argv2, NULL, mem, NULL), 1);
    fflush(mem);
    char want[128];
    snprintf(want, sizeof want, "prom-test, version %s (branch: ", core_buildinfo_get()->version);
    assert_memory_equal(text, want, strlen(want));
    assert_non_null(strstr(text, "\n  platform:         linux/"));
    fclose(mem);
    free(text);
}

static void test_buildinfo(void **state)
{
    const core_buildinfo *bi = core_buildinfo_get();
    assert_non_null(bi->version);
    assert_true(strchr(bi->version, '.') != NULL);
    assert_true(strlen(bi->revision) > 0);
    assert_true(strncmp(bi->platform, "linux/", 6) == 0);
    assert_true(strlen(bi->compiler) > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_values_both_spellings),
        cmocka_unit_test(test_bools),
        cmocka_unit_test(test_list_replaces_default),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_positional_arguments),
        cmocka_unit_test(test_help_and_version),
        cmocka_unit_test(test_buildinfo),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
