/* Unit tests for server/core/log.c. */
#include "unit/unit.h"

#include "core/core.h"

#include <pthread.h>
#include <regex.h>
#include <unistd.h>

static FILE *out;

static int setup(void **state)
{
    out = tmpfile();
    core_log_set_fd(fileno(out));
    return core_log_setup("info", "logfmt", NULL);
}

static int teardown(void **state)
{
    core_log_set_fd(2);
    fclose(out);
    return 0;
}

/* Everything logged since the last call (valid until the next call).  Plain
 * file-descriptor calls, as the logger writes with write(2). */
static const char *logged(void)
{
    static char *buf;
    int fd = fileno(out);
    off_t size = lseek(fd, 0, SEEK_END);
    buf = realloc(buf, (size_t)size + 1);
    assert_int_equal(pread(fd, buf, (size_t)size, 0), size);
    buf[size] = '\0';
    assert_int_equal(ftruncate(fd, 0), 0);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    return buf;
}

static void assert_matches(const char *text, const char *pattern)
{
    regex_t re;
    assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
    int rc = regexec(&re, text, 0, NULL, 0);
    regfree(&re);
    if (rc != 0) fail_msg("%s\ndoes not match\n%s", text, pattern);
}

#define TS "20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]\\.[0-9]{3}Z"

static void test_logfmt_line(void **state)
{
    core_log(CORE_LOG_INFO, "web", "Start listening for connections", "address", "0.0.0.0:9090",
             NULL);
    assert_matches(logged(), "^ts=" TS " level=info component=web "
                             "msg=\"Start listening for connections\" address=0.0.0.0:9090\n$");
}

static void test_logfmt_quoting(void **state)
{
    core_warn(NULL, "x", "empty", "", "eq", "a=b", "quote", "say \"hi\"", "nl", "a\nb", "plain",
              "ok", "null", NULL);
    assert_matches(logged(), "^ts=" TS " level=warn msg=x empty=\"\" eq=\"a=b\" "
                             "quote=\"say \\\\\"hi\\\\\"\" nl=\"a\\\\nb\" plain=ok null=\"\"\n$");
}

static void test_levels(void **state)
{
    core_debug("c", "hidden");
    assert_string_equal(logged(), "");
    assert_false(core_log_enabled(CORE_LOG_DEBUG));
    assert_true(core_log_enabled(CORE_LOG_INFO));
    assert_int_equal(core_log_setup("debug", NULL, NULL), 0);
    core_debug("c", "shown");
    assert_matches(logged(), "level=debug component=c msg=shown\n$");
    assert_int_equal(core_log_setup("error", NULL, NULL), 0);
    core_warn("c", "hidden");
    core_info("c", "hidden");
    core_error("c", "shown");
    assert_matches(logged(), "^ts=" TS " level=error component=c msg=shown\n$");
    core_log_setup("info", NULL, NULL);
}

static void test_json(void **state)
{
    assert_int_equal(core_log_setup(NULL, "json", NULL), 0);
    core_info("tsdb", "WAL \"replay\" done", "duration", "1.2s");
    assert_matches(logged(), "^\\{\"ts\":\"" TS "\",\"level\":\"info\",\"component\":\"tsdb\","
                             "\"msg\":\"WAL \\\\\"replay\\\\\" done\",\"duration\":\"1.2s\"\\}\n$");
    core_log_setup(NULL, "logfmt", NULL);
}

static void test_setup_errors(void **state)
{
    core_err err;
    assert_int_equal(core_log_setup("loud", NULL, &err), -1);
    assert_string_equal(err.msg, "unrecognized log level \"loud\"");
    assert_int_equal(core_log_setup(NULL, "xml", &err), -1);
    assert_string_equal(err.msg, "unrecognized log format \"xml\"");
    /* A bad value changes nothing. */
    assert_int_equal(core_log_setup("debug", "xml", &err), -1);
    assert_false(core_log_enabled(CORE_LOG_DEBUG));
    core_log_setup("info", NULL, NULL);
}

static void *log_many(void *arg)
{
    char id[8];
    snprintf(id, sizeof id, "%d", (int)(intptr_t)arg);
    for (int i = 0; i < 500; i++)
        core_info("thread",
                  "a line long enough to be written in more than one piece by a naive "
                  "logger that used several writes",
                  "thread", id);
    return NULL;
}

static void test_threads_do_not_interleave(void **state)
{
    pthread_t t[4];
    for (intptr_t i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, log_many, (void *)i);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    const char *all = logged();
    int lines = 0;
    for (const char *p = all; *p != '\0'; lines++) {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        char line[512];
        snprintf(line, sizeof line, "%.*s", (int)(nl - p + 1), p);
        assert_matches(line,
                       "^ts=" TS " level=info component=thread msg=\"[^\"]*\" thread=[0-3]\n$");
        p = nl + 1;
    }
    assert_int_equal(lines, 2000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_logfmt_line),  cmocka_unit_test(test_logfmt_quoting),
        cmocka_unit_test(test_levels),       cmocka_unit_test(test_json),
        cmocka_unit_test(test_setup_errors), cmocka_unit_test(test_threads_do_not_interleave),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
