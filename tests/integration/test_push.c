/*
 * libprom's push.c against the real Pushgateway (Debian's
 * prometheus-pushgateway): PUT, POST and DELETE as the gateway's /metrics shows
 * them, the encoding of the grouping key, refused pushes, unreachable gateways,
 * basic auth, and the arguments refused before anything is sent.
 */
#include "unit/unit.h"

#include "harness.h"

#include <prom/prom.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

/* A bcrypt hash of "secret", for the gateway's web config. */
#define AUTH_HASH "$2b$04$ESD/UOqPKcFvGUe4I7wQ.Ogi3jsh2PmqizSGKhU4fM5ZQC0PDito2"

static int port;
static prom_registry *reg;

static char *url(const char *path)
{
    static char buf[8][256];
    static int i;
    i = (i + 1) % 8;
    snprintf(buf[i], sizeof buf[i], "http://127.0.0.1:%d%s", port, path);
    return buf[i];
}

/* A gateway on a free port, optionally with a web config file. */
static void start_gateway(const char *web_config)
{
    port = th_free_port();
    char listen[64], config[512];
    snprintf(listen, sizeof listen, "--web.listen-address=127.0.0.1:%d", port);
    snprintf(config, sizeof config, "--web.config.file=%s", web_config ? web_config : "");
    char *argv[] = {"prometheus-pushgateway", listen, "--persistence.file=", config, NULL};
    /* With basic auth /-/ready wants credentials too: wait for it below instead. */
    th_proc *gw = th_start("pushgateway", argv, web_config ? NULL : url("/-/ready"), 20);
    assert_non_null(gw);
    for (int i = 0; web_config != NULL && i < 200; i++) {
        if (th_http(NULL, url("/-/ready"), NULL, 0, NULL) == 401) return;
        usleep(50000);
    }
    assert_null(web_config);
}

/* The gateway's own exposition. */
static char *gateway_metrics(void)
{
    char *body = NULL;
    assert_int_equal(th_http(NULL, url("/metrics"), NULL, 0, &body), 200);
    return body;
}

static void assert_shows(const char *line)
{
    char *body = gateway_metrics();
    if (strstr(body, line) == NULL) fail_msg("the gateway does not show %s in:\n%s", line, body);
    free(body);
}

/* Waits until the gateway no longer shows text: it applies a DELETE after
 * answering 202 Accepted, so the group may linger for a moment. */
static void assert_gone(const char *text)
{
    for (int i = 0; i < 100; i++) {
        char *body = gateway_metrics();
        bool shown = strstr(body, text) != NULL;
        if (shown && i == 99) fail_msg("the gateway still shows %s in:\n%s", text, body);
        free(body);
        if (!shown) return;
        usleep(50000);
    }
}

static int setup(void **state)
{
    reg = prom_registry_new();
    return th_setup(state) || reg == NULL;
}

static int teardown(void **state)
{
    prom_registry_free(reg);
    return th_teardown(state);
}

static void gauge(prom_registry *r, const char *name, double v)
{
    prom_gauge *g = prom_gauge_new(&(prom_opts){.name = name, .help = "A gauge.", .registry = r});
    assert_non_null(g);
    prom_gauge_set(g, v);
}

static void counter(prom_registry *r, const char *name, double v)
{
    prom_counter *c =
        prom_counter_new(&(prom_opts){.name = name, .help = "A counter.", .registry = r});
    assert_non_null(c);
    prom_counter_add(c, v);
}

static const prom_label instance_i1[] = {{"instance", "i1"}};

static prom_push_opts opts_for(prom_registry *r)
{
    return (prom_push_opts){
        .url = url(""), .job = "j", .grouping = instance_i1, .n_grouping = 1, .registry = r};
}

/* ---- PUT, POST, DELETE */

static void test_put_replaces_the_group(void **state)
{
    start_gateway(NULL);
    counter(reg, "a_total", 1);
    gauge(reg, "b", 2);
    prom_push_opts o = opts_for(reg);
    prom_push_result res;
    assert_int_equal(prom_push(&o, &res), 0);
    assert_int_equal(res.http_status, 200);
    assert_shows("\na_total{instance=\"i1\",job=\"j\"} 1\n");
    assert_shows("\nb{instance=\"i1\",job=\"j\"} 2\n");

    prom_registry *only_b = prom_registry_new();
    gauge(only_b, "b", 5);
    o.registry = only_b;
    assert_int_equal(prom_push(&o, &res), 0);
    prom_registry_free(only_b);
    assert_shows("\nb{instance=\"i1\",job=\"j\"} 5\n");
    assert_gone("a_total");
    th_pass();
}

static void test_post_replaces_only_the_pushed_families(void **state)
{
    start_gateway(NULL);
    counter(reg, "a_total", 1);
    gauge(reg, "b", 2);
    prom_push_opts o = opts_for(reg);
    assert_int_equal(prom_push(&o, NULL), 0);

    prom_registry *more = prom_registry_new();
    gauge(more, "b", 7);
    gauge(more, "c", 3);
    o.registry = more;
    prom_push_result res;
    assert_int_equal(prom_push_add(&o, &res), 0);
    assert_int_equal(res.http_status, 200);
    prom_registry_free(more);
    assert_shows("\na_total{instance=\"i1\",job=\"j\"} 1\n");
    assert_shows("\nb{instance=\"i1\",job=\"j\"} 7\n");
    assert_shows("\nc{instance=\"i1\",job=\"j\"} 3\n");
    th_pass();
}

static void test_delete_removes_the_group(void **state)
{
    start_gateway(NULL);
    gauge(reg, "b", 2);
    prom_push_opts o = opts_for(reg);
    assert_int_equal(prom_push(&o, NULL), 0);
    static const prom_label other[] = {{"instance", "i2"}};
    prom_push_opts o2 = o;
    o2.grouping = other;
    assert_int_equal(prom_push(&o2, NULL), 0);

    prom_push_result res;
    o.registry = NULL; /* a delete sends no body: the registry does not matter */
    assert_int_equal(prom_push_delete(&o, &res), 0);
    assert_int_equal(res.http_status, 202);
    assert_gone("instance=\"i1\"");
    assert_shows("\nb{instance=\"i2\",job=\"j\"} 2\n");
    th_pass();
}

static void test_protobuf_push(void **state)
{
    start_gateway(NULL);
    counter(reg, "a_total", 4);
    static const char *const labels[] = {"method"};
    prom_histogram *h = prom_histogram_new(&(prom_opts){.name = "latency_seconds",
                                                        .help = "H.",
                                                        .labels = labels,
                                                        .n_labels = 1,
                                                        .registry = reg},
                                           NULL, 0);
    assert_non_null(h);
    prom_histogram_observe(prom_histogram_labels(h, "GET", NULL), 0.3);
    prom_push_opts o = opts_for(reg);
    o.format = PROM_FORMAT_PROTOBUF;
    assert_int_equal(prom_push(&o, NULL), 0);
    assert_shows("\na_total{instance=\"i1\",job=\"j\"} 4\n");
    assert_shows(
        "\nlatency_seconds_bucket{instance=\"i1\",job=\"j\",method=\"GET\",le=\"0.5\"} 1\n");
    assert_shows("\nlatency_seconds_count{instance=\"i1\",job=\"j\",method=\"GET\"} 1\n");
    th_pass();
}

/* ---- the grouping key */

static void test_grouping_key_encoding(void **state)
{
    start_gateway(NULL);
    gauge(reg, "g", 1);
    static const prom_label grouping[] = {
        {"path", "/var/tmp"},  /* base64 */
        {"empty", ""},         /* "=" */
        {"text", "a b&c%d?é"}, /* percent-escaped */
    };
    prom_push_opts o = {.url = url("/"),
                        .job = "batch/nightly",
                        .grouping = grouping,
                        .n_grouping = 3,
                        .registry = reg};
    prom_push_result res;
    if (prom_push(&o, &res) != 0) fail_msg("push: %s", prom_last_error());
    assert_shows("\ng{empty=\"\",instance=\"\",job=\"batch/nightly\",path=\"/var/tmp\",text=\"a "
                 "b&c%d?é\"} 1\n");
    /* The same key addresses the same group. */
    assert_int_equal(prom_push_delete(&o, &res), 0);
    assert_gone("batch/nightly");
    th_pass();
}

/* The URL shows in the error of a gateway that is not there. */
static void test_url_building(void **state)
{
    static const prom_label grouping[] = {
        {"path", "/var/tmp"}, {"slash", "/"}, {"e", ""}, {"url_safe", "\xfb\xff/"}, {"sp", "a b"},
    };
    prom_push_opts o = {.url = "127.0.0.1:1//",
                        .job = "a/b",
                        .grouping = grouping,
                        .n_grouping = 5,
                        .registry = reg};
    assert_int_equal(prom_push_delete(&o, NULL), PROM_EIO);
    const char *expected = "push to http://127.0.0.1:1/metrics/job@base64/YS9i/path@base64/"
                           "L3Zhci90bXA/slash@base64/Lw/e@base64/=/url_safe@base64/-_8v/sp/a%20b: ";
    if (strncmp(prom_last_error(), expected, strlen(expected)) != 0)
        fail_msg("got %s", prom_last_error());
    th_pass();
}

/* ---- failures */

static void test_refused_push(void **state)
{
    start_gateway(NULL);
    gauge(reg, "clash", 1);
    prom_push_opts o = opts_for(reg);
    assert_int_equal(prom_push(&o, NULL), 0);
    /* The same name as a counter in another group: the gateway refuses it. */
    prom_registry *as_counter = prom_registry_new();
    counter(as_counter, "clash", 1);
    static const prom_label other[] = {{"instance", "i2"}};
    o.grouping = other;
    o.registry = as_counter;
    prom_push_result res;
    assert_int_equal(prom_push(&o, &res), PROM_EHTTP);
    prom_registry_free(as_counter);
    assert_int_equal(res.http_status, 400);
    assert_non_null(strstr(res.body, "pushed metrics are invalid or inconsistent"));
    char prefix[256];
    snprintf(prefix, sizeof prefix,
             "push to http://127.0.0.1:%d/metrics/job/j/instance/i2: 400 Bad Request: "
             "pushed metrics are invalid or inconsistent with existing metrics",
             port);
    if (strncmp(prom_last_error(), prefix, strlen(prefix)) != 0)
        fail_msg("got %s", prom_last_error());
    assert_true(prom_last_error()[strlen(prom_last_error()) - 1] != '\n');
    th_pass();
}

static void test_unreachable_gateway(void **state)
{
    gauge(reg, "g", 1);
    port = th_free_port(); /* nothing listens there */
    prom_push_opts o = opts_for(reg);
    prom_push_result res;
    assert_int_equal(prom_push(&o, &res), PROM_EIO);
    assert_int_equal(res.http_status, 0);
    assert_string_equal(res.body, "");
    assert_non_null(strstr(prom_last_error(), "push to http://127.0.0.1:"));
    assert_non_null(strstr(prom_last_error(), "onnect")); /* curl's "Couldn't connect ..." */
    th_pass();
}

static void test_silent_gateway_times_out(void **state)
{
    /* A socket that listens but never answers. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    port = ntohs(a.sin_port);
    gauge(reg, "g", 1);
    prom_push_opts o = opts_for(reg);
    o.timeout_ms = 300;
    assert_int_equal(prom_push(&o, NULL), PROM_EIO);
    assert_non_null(strstr(prom_last_error(), "timed out"));
    close(fd);
    th_pass();
}

static void test_basic_auth(void **state)
{
    char path[] = "/tmp/prom-push-web-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    static const char config[] = "basic_auth_users:\n  pusher: " AUTH_HASH "\n";
    assert_int_equal(write(fd, config, sizeof config - 1), (ssize_t)(sizeof config - 1));
    close(fd);
    start_gateway(path);
    gauge(reg, "g", 1);
    prom_push_opts o = opts_for(reg);
    prom_push_result res;
    assert_int_equal(prom_push(&o, &res), PROM_EHTTP);
    assert_int_equal(res.http_status, 401);
    o.username = "pusher";
    o.password = "wrong";
    assert_int_equal(prom_push(&o, &res), PROM_EHTTP);
    assert_int_equal(res.http_status, 401);
    o.password = "secret";
    assert_int_equal(prom_push(&o, &res), 0);
    assert_int_equal(res.http_status, 200);
    unlink(path);
    th_pass();
}

/* ---- arguments refused before sending */

static void test_bad_arguments(void **state)
{
    port = 1; /* nothing is sent */
    gauge(reg, "g", 1);
    prom_push_result res = {.http_status = 99};
    assert_int_equal(prom_push(NULL, &res), PROM_EINVAL);
    assert_int_equal(res.http_status, 0);
    prom_push_opts o = opts_for(reg);
    o.url = "";
    assert_int_equal(prom_push(&o, NULL), PROM_EINVAL);
    o = opts_for(reg);
    o.job = NULL;
    assert_int_equal(prom_push_delete(&o, NULL), PROM_EINVAL);
    o.job = "";
    assert_int_equal(prom_push_add(&o, NULL), PROM_EINVAL);
    static const prom_label job[] = {{"job", "x"}}, bad[] = {{"1x", "v"}},
                            twice[] = {{"a", "1"}, {"a", "2"}}, null_value[] = {{"a", NULL}};
    const prom_label *groupings[] = {job, bad, twice, null_value};
    size_t counts[] = {1, 1, 2, 1};
    for (size_t i = 0; i < 4; i++) {
        o = opts_for(reg);
        o.grouping = groupings[i];
        o.n_grouping = counts[i];
        assert_int_equal(prom_push(&o, NULL), PROM_EINVAL);
    }
    o = opts_for(reg);
    o.username = "only";
    assert_int_equal(prom_push(&o, NULL), PROM_EINVAL);
    assert_non_null(strstr(prom_last_error(), "username and a password"));
    o = opts_for(reg);
    o.format = PROM_FORMAT_OPENMETRICS;
    assert_int_equal(prom_push(&o, NULL), PROM_EINVAL);
    th_pass();
}

/* As client_golang: a pushed metric may not carry the job or a grouping label. */
static void test_labels_of_the_grouping_key(void **state)
{
    port = 1; /* refused before sending */
    static const char *const instance[] = {"instance"}, *const job[] = {"job"};
    prom_gauge *by_instance = prom_gauge_new(&(prom_opts){
        .name = "by_instance", .help = "", .labels = instance, .n_labels = 1, .registry = reg});
    prom_gauge_set(prom_gauge_labels(by_instance, "x", NULL), 1);
    prom_push_opts o = opts_for(reg);
    assert_int_equal(prom_push(&o, NULL), PROM_EINVAL);
    assert_string_equal(prom_last_error(),
                        "pushed metric by_instance already contains grouping label instance");
    assert_int_equal(prom_unregister(reg, "by_instance"), 0);
    prom_gauge *by_job = prom_gauge_new(
        &(prom_opts){.name = "by_job", .help = "", .labels = job, .n_labels = 1, .registry = reg});
    prom_gauge_set(prom_gauge_labels(by_job, "x", NULL), 1);
    o.format = PROM_FORMAT_PROTOBUF;
    assert_int_equal(prom_push_add(&o, NULL), PROM_EINVAL);
    assert_string_equal(prom_last_error(), "pushed metric by_job already contains a job label");
    /* A delete sends nothing, so it is not checked. */
    assert_int_equal(prom_push_delete(&o, NULL), PROM_EIO);
    th_pass();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_replaces_the_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_post_replaces_only_the_pushed_families, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_delete_removes_the_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_protobuf_push, setup, teardown),
        cmocka_unit_test_setup_teardown(test_grouping_key_encoding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_url_building, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_push, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreachable_gateway, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silent_gateway_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_basic_auth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_labels_of_the_grouping_key, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
