/*
 * The harness itself, exercised with a real program: Debian's
 * prometheus-pushgateway (any peer with a readiness endpoint would do).
 */
#include "unit/unit.h"

#include "harness.h"

#include <signal.h>

static char *url(int port, const char *path)
{
    static char buf[8][128];
    static int i;
    i = (i + 1) % 8;
    snprintf(buf[i], sizeof buf[i], "http://127.0.0.1:%d%s", port, path);
    return buf[i];
}

static th_proc *start_gateway(int port)
{
    char listen[64];
    snprintf(listen, sizeof listen, "--web.listen-address=127.0.0.1:%d", port);
    /* Debian's gateway persists to /var/lib/prometheus by default: not here. */
    char *argv[] = {"prometheus-pushgateway", listen, "--persistence.file=", NULL};
    return th_start("pushgateway", argv, url(port, "/-/ready"), 20);
}

static void test_start_ready_stop(void **state)
{
    int port = th_free_port();
    assert_true(port > 0 && port < 65536);
    th_proc *gw = start_gateway(port);
    assert_non_null(gw);
    assert_true(th_alive(gw));
    char *body;
    assert_int_equal(th_http(NULL, url(port, "/metrics"), NULL, 0, &body), 200);
    assert_non_null(strstr(body, "pushgateway_build_info"));
    free(body);
    /* A push through th_http's body path. */
    const char push[] = "harness_test_metric 42\n";
    assert_int_equal(th_http("PUT", url(port, "/metrics/job/harness"), push, sizeof push - 1, NULL),
                     200);
    assert_int_equal(th_http(NULL, url(port, "/metrics"), NULL, 0, &body), 200);
    assert_non_null(strstr(body, "harness_test_metric{instance=\"\",job=\"harness\"} 42"));
    free(body);

    pid_t pid = gw->pid;
    int status = th_stop(gw);
    assert_false(th_alive(gw));
    assert_true(WIFEXITED(status) || WIFSIGNALED(status));
    assert_int_equal(kill(pid, 0), -1); /* gone, and reaped */
    assert_int_equal(th_http(NULL, url(port, "/metrics"), NULL, 0, NULL), 0);
    th_pass();
}

static void test_program_that_exits_early(void **state)
{
    /* The gateway refuses a listen address without a port and exits. */
    int port = th_free_port();
    char *argv[] = {"prometheus-pushgateway", "--web.listen-address=127.0.0.1",
                    "--persistence.file=", NULL};
    assert_null(th_start("pushgateway", argv, url(port, "/-/ready"), 20));
    th_pass();
}

static void test_program_never_ready(void **state)
{
    char *argv[] = {"sleep", "30", NULL};
    int port = th_free_port(); /* nothing listens there */
    assert_null(th_start("sleeper", argv, url(port, "/-/ready"), 0.5));
    th_pass();
}

static void test_missing_program(void **state)
{
    char *argv[] = {"/nonexistent/program", NULL};
    assert_null(th_start("missing", argv, "http://127.0.0.1:1/", 5));
    th_pass();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_start_ready_stop, th_setup, th_teardown),
        cmocka_unit_test_setup_teardown(test_program_that_exits_early, th_setup, th_teardown),
        cmocka_unit_test_setup_teardown(test_program_never_ready, th_setup, th_teardown),
        cmocka_unit_test_setup_teardown(test_missing_program, th_setup, th_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
