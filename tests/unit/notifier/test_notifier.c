/*
 * test_notifier.c - the notifier against an "Alertmanager" served by this
 * test (core's HTTP server on a free loopback port): the URL built from
 * path_prefix, JSON bodies with labels, annotations, startsAt, endsAt and
 * generatorURL, external labels added only where the alert lacks them,
 * global and per-Alertmanager alert relabeling (drops too), batches of at
 * most 256, basic auth, the bounded queue dropping the oldest, and counters
 * for a failing Alertmanager.
 */
#include "unit/unit.h"

#include "notifier/notifier.h"

#include <jansson.h>
#include <pthread.h>
#include <unistd.h>

static pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;
static json_t *received; /* every alert posted, in order */
static size_t posts, largest_post;
static char last_path[256], last_auth[256];
static int fail_status, delay_ms;

static void receive(core_http_req *req, core_http_resp *resp, void *ud)
{
    (void)ud;
    size_t len;
    const char *body = core_http_body(req, &len);
    json_t *arr = json_loadb(body, len, 0, NULL);
    pthread_mutex_lock(&mtx);
    snprintf(last_path, sizeof last_path, "%s", core_http_path(req));
    const char *auth = core_http_header(req, "Authorization");
    snprintf(last_auth, sizeof last_auth, "%s", auth ? auth : "");
    posts++;
    if (arr && json_array_size(arr) > largest_post) largest_post = json_array_size(arr);
    size_t i;
    json_t *a;
    json_array_foreach(arr, i, a) json_array_append(received, a);
    pthread_mutex_unlock(&mtx);
    json_decref(arr);
    int delay = delay_ms;
    if (fail_status) core_http_resp_text(resp, fail_status, "no\n");
    if (delay) usleep((useconds_t)delay * 1000);
}

typedef struct fx {
    core_http_server *srv;
    uint16_t port;
    notifier *n;
    cfg_config *cfg;
} fx;

static fx *start_cap(const char *yaml_fmt, size_t capacity)
{
    fx *f = calloc(1, sizeof(*f));
    core_err err = {{0}};
    const char *listen[] = {"127.0.0.1:0"};
    f->srv = core_http_new(&(core_http_opts){.listen = listen, .n_listen = 1}, &err);
    assert_int_equal(core_http_route(f->srv, "POST", "/*path", receive, NULL, &err), 0);
    assert_int_equal(core_http_start(f->srv, &err), 0);
    f->port = core_http_port(f->srv, 0);
    char yaml[2048];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(yaml, sizeof yaml, yaml_fmt, f->port);
#pragma GCC diagnostic pop
    f->cfg = cfg_load_string("test.yml", yaml, strlen(yaml), &err);
    if (!f->cfg) fail_msg("config: %s", err.msg);
    f->n = notifier_new(&(notifier_opts){.queue_capacity = capacity}, &err);
    assert_non_null(f->n);
    assert_int_equal(notifier_apply_config(f->n, f->cfg, &err), 0);
    pthread_mutex_lock(&mtx);
    json_decref(received);
    received = json_array();
    posts = largest_post = 0;
    fail_status = delay_ms = 0;
    pthread_mutex_unlock(&mtx);
    return f;
}

static fx *start(const char *yaml_fmt)
{
    return start_cap(yaml_fmt, 1000);
}

static void stop(fx *f)
{
    notifier_free(f->n);
    core_http_free(f->srv);
    cfg_free(f->cfg);
    free(f);
}

static size_t wait_alerts(size_t want)
{
    size_t got = 0;
    for (int i = 0; i < 300; i++) {
        pthread_mutex_lock(&mtx);
        got = json_array_size(received);
        pthread_mutex_unlock(&mtx);
        if (got >= want) break;
        usleep(10000);
    }
    return got;
}

static notifier_alert alert(const char *name, const char *sev, core_labels **keep)
{
    core_label l[] = {{"alertname", name}, {"severity", sev}};
    *keep = core_labels_new(l, sev ? 2 : 1);
    return (notifier_alert){.labels = *keep};
}

static void test_send(void **state)
{
    (void)state;
    fx *f = start("global:\n"
                  "  external_labels: {monitor: ex, severity: none}\n"
                  "alerting:\n"
                  "  alert_relabel_configs:\n"
                  "    - source_labels: [alertname]\n"
                  "      regex: Dropped\n"
                  "      action: drop\n"
                  "  alertmanagers:\n"
                  "    - path_prefix: /am/\n"
                  "      basic_auth: {username: u, password: p}\n"
                  "      static_configs:\n"
                  "        - targets: ['127.0.0.1:%u']\n");
    core_arena arena;
    core_arena_init(&arena, 0);
    const char **urls;
    assert_int_equal(notifier_alertmanagers(f->n, &arena, &urls), 1);
    char want[128];
    snprintf(want, sizeof want, "http://127.0.0.1:%u/am/api/v2/alerts", f->port);
    assert_string_equal(urls[0], want);
    core_labels *l1, *l2, *l3;
    core_label ann[] = {{"summary", "High latency on \"x\""}};
    core_labels *annotations = core_labels_new(ann, 1);
    notifier_alert a[3] = {alert("HighRequestLatency", "page", &l1), alert("Dropped", NULL, &l2),
                           alert("NoSeverity", NULL, &l3)};
    a[0].annotations = annotations;
    a[0].starts_ms = 1700000000123;
    a[0].ends_ms = 1700000600000;
    a[0].generator_url = "http://prom:9090/graph?g0.expr=x";
    notifier_send(f->n, a, 3);
    assert_int_equal(wait_alerts(2), 2);
    pthread_mutex_lock(&mtx);
    assert_string_equal(last_path, "/am/api/v2/alerts");
    assert_string_equal(last_auth, "Basic dTpw");
    json_t *first = json_array_get(received, 0);
    json_t *labels = json_object_get(first, "labels");
    assert_string_equal(json_string_value(json_object_get(labels, "alertname")),
                        "HighRequestLatency");
    assert_string_equal(json_string_value(json_object_get(labels, "severity")), "page");
    assert_string_equal(json_string_value(json_object_get(labels, "monitor")), "ex");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(first, "annotations"), "summary")),
        "High latency on \"x\"");
    assert_string_equal(json_string_value(json_object_get(first, "startsAt")),
                        "2023-11-14T22:13:20.123Z");
    assert_string_equal(json_string_value(json_object_get(first, "endsAt")),
                        "2023-11-14T22:23:20Z");
    assert_string_equal(json_string_value(json_object_get(first, "generatorURL")),
                        "http://prom:9090/graph?g0.expr=x");
    json_t *second = json_object_get(json_array_get(received, 1), "labels");
    assert_string_equal(json_string_value(json_object_get(second, "alertname")), "NoSeverity");
    assert_string_equal(json_string_value(json_object_get(second, "severity")), "none");
    pthread_mutex_unlock(&mtx);
    notifier_stats st;
    for (int i = 0; i < 100; i++) {
        core_arena_reset(&arena);
        notifier_get_stats(f->n, &arena, &st);
        if (st.ams[0].sent == 2) break;
        usleep(10000);
    }
    assert_int_equal(st.ams[0].sent, 2);
    assert_int_equal(st.ams[0].errors, 0);
    free(l1), free(l2), free(l3), free(annotations);
    core_arena_destroy(&arena);
    stop(f);
}

static void test_batches_and_failures(void **state)
{
    (void)state;
    fx *f = start("alerting:\n"
                  "  alertmanagers:\n"
                  "    - alert_relabel_configs:\n"
                  "        - target_label: team\n"
                  "          replacement: core\n"
                  "      static_configs:\n"
                  "        - targets: ['127.0.0.1:%u']\n");
    notifier_alert a[600];
    core_labels *keep[600];
    char names[600][16];
    for (int i = 0; i < 600; i++) {
        snprintf(names[i], sizeof names[i], "A%d", i);
        a[i] = alert(names[i], "x", &keep[i]);
    }
    notifier_send(f->n, a, 600);
    assert_int_equal(wait_alerts(600), 600);
    pthread_mutex_lock(&mtx);
    assert_true(largest_post <= 256);
    assert_true(posts >= 3);
    json_t *l = json_object_get(json_array_get(received, 599), "labels");
    assert_string_equal(json_string_value(json_object_get(l, "team")), "core");
    fail_status = 500;
    pthread_mutex_unlock(&mtx);
    notifier_send(f->n, a, 10);
    core_arena arena;
    core_arena_init(&arena, 0);
    notifier_stats st;
    for (int i = 0; i < 200; i++) {
        core_arena_reset(&arena);
        notifier_get_stats(f->n, &arena, &st);
        if (st.ams[0].errors == 10) break;
        usleep(10000);
    }
    assert_int_equal(st.ams[0].errors, 10);
    assert_int_equal(st.ams[0].sent, 600);
    assert_int_equal(st.queue_capacity, 1000);
    for (int i = 0; i < 600; i++)
        free(keep[i]);
    core_arena_destroy(&arena);
    stop(f);
}

static void test_queue_drops_oldest(void **state)
{
    (void)state;
    fx *f = start_cap("alerting:\n"
                      "  alertmanagers:\n"
                      "    - static_configs:\n"
                      "        - targets: ['127.0.0.1:%u']\n",
                      5);
    pthread_mutex_lock(&mtx);
    delay_ms = 400; /* the sender stays busy with the first post */
    pthread_mutex_unlock(&mtx);
    core_labels *keep[9];
    notifier_alert a[9];
    char names[9][8];
    for (int i = 0; i < 9; i++) {
        snprintf(names[i], sizeof names[i], "A%d", i);
        a[i] = alert(names[i], NULL, &keep[i]);
    }
    notifier_send(f->n, a, 1);
    assert_int_equal(wait_alerts(1), 1); /* taken and being answered slowly */
    notifier_send(f->n, a + 1, 8);       /* 8 into a queue of 5 */
    core_arena arena;
    core_arena_init(&arena, 0);
    notifier_stats st;
    notifier_get_stats(f->n, &arena, &st);
    assert_int_equal(st.dropped, 3);
    assert_int_equal(st.queue_length, 5);
    assert_int_equal(wait_alerts(6), 6);
    pthread_mutex_lock(&mtx);
    const char *oldest_kept = json_string_value(
        json_object_get(json_object_get(json_array_get(received, 1), "labels"), "alertname"));
    assert_string_equal(oldest_kept, "A4"); /* A1..A3 were dropped */
    delay_ms = 0;
    pthread_mutex_unlock(&mtx);
    for (int i = 0; i < 9; i++)
        free(keep[i]);
    core_arena_destroy(&arena);
    stop(f);
}

int main(void)
{
    received = json_array();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_send),
        cmocka_unit_test(test_batches_and_failures),
        cmocka_unit_test(test_queue_drops_oldest),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    json_decref(received);
    return rc;
}
