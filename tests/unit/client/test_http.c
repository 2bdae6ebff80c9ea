/* Unit tests for libprom's http.c: a real server on 127.0.0.1 with libcurl as
 * the client: negotiation, gzip, name[] filters, 404/405, the limit of scrapes
 * in flight, the promhttp self-metrics, binding and its errors. */
#include "unit/unit.h"

#include <prom/prom.h>

#include "proto/metrics.pb-c.h"

#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

static prom_registry *reg;
static prom_http_server *srv;
static prom_counter *test_a;

typedef struct resp {
    long status;
    char *body;
    size_t len;
    char content_type[256];
    char content_encoding[64];
    char allow[64];
} resp;

static int setup(void **state)
{
    reg = prom_registry_new();
    test_a = prom_counter_new(&(prom_opts){.name = "test_a_total", .help = "A.", .registry = reg});
    prom_gauge *b = prom_gauge_new(&(prom_opts){.name = "test_b", .help = "B.", .registry = reg});
    prom_gauge *c = prom_gauge_new(&(prom_opts){.name = "test_c", .help = "C.", .registry = reg});
    prom_counter_add(test_a, 3);
    prom_gauge_set(b, 2);
    prom_gauge_set(c, 1);
    srv = NULL;
    return test_a == NULL || b == NULL || c == NULL;
}

static int teardown(void **state)
{
    prom_http_stop(srv);
    prom_registry_free(reg);
    return 0;
}

static void start(const prom_http_opts *extra)
{
    prom_http_opts o = extra != NULL ? *extra : (prom_http_opts){0};
    if (o.address == NULL) o.address = "127.0.0.1";
    o.registry = reg;
    srv = prom_http_start_opts(&o);
    if (srv == NULL) fail_msg("start: %s", prom_last_error());
    assert_true(prom_http_port(srv) > 0);
}

static size_t on_body(char *data, size_t size, size_t n, void *userdata)
{
    resp *r = userdata;
    char *b = realloc(r->body, r->len + size * n + 1);
    assert_non_null(b);
    memcpy(b + r->len, data, size * n);
    r->len += size * n;
    b[r->len] = '\0';
    r->body = b;
    return size * n;
}

/* Copies the value of header `name` if line is that header. */
static void keep_header(const char *line, size_t len, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    if (len <= n + 1 || strncasecmp(line, name, n) != 0 || line[n] != ':') return;
    const char *v = line + n + 1 + strspn(line + n + 1, " ");
    size_t vlen = (size_t)(line + len - v);
    while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n'))
        vlen--;
    snprintf(out, cap, "%.*s", (int)vlen, v);
}

static size_t on_header(char *data, size_t size, size_t n, void *userdata)
{
    resp *r = userdata;
    keep_header(data, size * n, "Content-Type", r->content_type, sizeof r->content_type);
    keep_header(data, size * n, "Content-Encoding", r->content_encoding,
                sizeof r->content_encoding);
    keep_header(data, size * n, "Allow", r->allow, sizeof r->allow);
    return size * n;
}

/* A request to the server; returns the status (0 when the connection failed). */
static long request_to(uint16_t port, const char *method, const char *target,
                       const char *const headers[], resp *r)
{
    *r = (resp){0};
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", port, target);
    CURL *curl = curl_easy_init();
    assert_non_null(curl);
    struct curl_slist *list = NULL;
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
        list = curl_slist_append(list, headers[i]);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    if (method != NULL && strcmp(method, "HEAD") == 0)
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    else if (method != NULL)
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    if (curl_easy_perform(curl) == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(list);
    curl_easy_cleanup(curl);
    if (r->body == NULL) r->body = calloc(1, 1);
    return r->status;
}

static long request(const char *method, const char *target, const char *const headers[], resp *r)
{
    return request_to(prom_http_port(srv), method, target, headers, r);
}

static void resp_free(resp *r)
{
    free(r->body);
}

/* The value of the sample "<series> <value>" in a text exposition. */
static double sample(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p != NULL && *p != '\0'; p = strchr(p, '\n'), p += p != NULL)
        if (strncmp(p, series, n) == 0 && p[n] == ' ') return strtod(p + n + 1, NULL);
    fail_msg("no sample %s in:\n%s", series, text);
    return -1;
}

/* The text exposition of the promhttp counters and gauge, from the server. */
static void scrape_self(resp *r)
{
    assert_int_equal(request(NULL,
                             "/metrics?name[]=promhttp_metric_handler_requests_total"
                             "&name[]=promhttp_metric_handler_requests_in_flight",
                             NULL, r),
                     200);
}

static char *gunzip(const char *data, size_t len, size_t *out_len)
{
    size_t cap = 1 << 20;
    char *out = malloc(cap);
    z_stream zs = {0};
    assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
    zs.next_in = (Bytef *)data;
    zs.avail_in = (uInt)len;
    zs.next_out = (Bytef *)out;
    zs.avail_out = (uInt)cap - 1;
    assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
    *out_len = zs.total_out;
    out[*out_len] = '\0';
    inflateEnd(&zs);
    return out;
}

/* ---- serving and negotiation */

static void test_text_by_default(void **state)
{
    start(NULL);
    resp r;
    assert_int_equal(request(NULL, "/metrics", NULL, &r), 200);
    assert_string_equal(r.content_type, prom_content_type(PROM_FORMAT_TEXT));
    assert_string_equal(r.content_encoding, "");
    assert_non_null(strstr(r.body, "# HELP test_a_total A.\n# TYPE test_a_total counter\n"
                                   "test_a_total 3\n"));
    assert_non_null(strstr(r.body, "\ntest_b 2\n"));
    /* promhttp's metrics, with client_golang's help, registered at start. */
    assert_non_null(strstr(r.body, "# HELP promhttp_metric_handler_requests_total Total number "
                                   "of scrapes by HTTP status code.\n"
                                   "# TYPE promhttp_metric_handler_requests_total counter\n"));
    assert_non_null(strstr(r.body, "# HELP promhttp_metric_handler_requests_in_flight Current "
                                   "number of scrapes being served.\n"
                                   "# TYPE promhttp_metric_handler_requests_in_flight gauge\n"));
    resp_free(&r);
}

static void test_openmetrics(void **state)
{
    start(NULL);
    const char *h[] = {"Accept: application/openmetrics-text; version=1.0.0", NULL};
    resp r;
    assert_int_equal(request(NULL, "/metrics", h, &r), 200);
    assert_string_equal(r.content_type, prom_content_type(PROM_FORMAT_OPENMETRICS));
    assert_non_null(strstr(r.body, "# TYPE test_a counter\n"));
    assert_true(r.len > 6 && strcmp(r.body + r.len - 6, "# EOF\n") == 0);
    resp_free(&r);
}

/* The family names of a delimited protobuf exposition, joined with ' '. */
static void proto_names(const resp *r, char *names, size_t cap)
{
    names[0] = '\0';
    const uint8_t *p = (const uint8_t *)r->body, *end = p + r->len;
    while (p < end) {
        uint64_t len = 0;
        for (int shift = 0; p < end; shift += 7) {
            len |= (uint64_t)(*p & 0x7f) << shift;
            if ((*p++ & 0x80) == 0) break;
        }
        Io__Prometheus__Client__MetricFamily *mf =
            io__prometheus__client__metric_family__unpack(NULL, (size_t)len, p);
        assert_non_null(mf);
        strncat(names, mf->name, cap - strlen(names) - 2);
        strcat(names, " ");
        if (strcmp(mf->name, "test_a_total") == 0) {
            assert_int_equal(mf->type, IO__PROMETHEUS__CLIENT__METRIC_TYPE__COUNTER);
            assert_true(mf->metric[0]->counter->value == 3);
        }
        io__prometheus__client__metric_family__free_unpacked(mf, NULL);
        p += len;
    }
}

static void test_protobuf(void **state)
{
    start(NULL);
    const char *h[] = {"Accept: application/vnd.google.protobuf;"
                       "proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,"
                       "text/plain;version=0.0.4;q=0.3",
                       NULL};
    resp r;
    assert_int_equal(request(NULL, "/metrics?name[]=test_a_total&name[]=test_b", h, &r), 200);
    assert_string_equal(r.content_type, prom_content_type(PROM_FORMAT_PROTOBUF));
    char names[256];
    proto_names(&r, names, sizeof names);
    assert_string_equal(names, "test_a_total test_b ");
    resp_free(&r);
}

static void test_head(void **state)
{
    start(NULL);
    resp r;
    assert_int_equal(request("HEAD", "/metrics", NULL, &r), 200);
    assert_string_equal(r.content_type, prom_content_type(PROM_FORMAT_TEXT));
    assert_int_equal(r.len, 0);
    resp_free(&r);
}

static void test_name_filter(void **state)
{
    start(NULL);
    resp r;
    assert_int_equal(request(NULL, "/metrics?name[]=test_c&name%5B%5D=test_a_total", NULL, &r),
                     200);
    assert_string_equal(r.body, "# HELP test_a_total A.\n# TYPE test_a_total counter\n"
                                "test_a_total 3\n"
                                "# HELP test_c C.\n# TYPE test_c gauge\ntest_c 1\n");
    resp_free(&r);
    /* Other parameters are no filter. */
    assert_int_equal(request(NULL, "/metrics?other=test_c", NULL, &r), 200);
    assert_non_null(strstr(r.body, "\ntest_b 2\n"));
    resp_free(&r);
    assert_int_equal(request(NULL, "/metrics?name[]=nothing_here", NULL, &r), 200);
    assert_string_equal(r.body, "");
    resp_free(&r);
}

/* ---- gzip */

static void test_gzip(void **state)
{
    start(NULL);
    const char *target = "/metrics?name[]=test_a_total&name[]=test_b&name[]=test_c";
    resp plain, zipped;
    assert_int_equal(request(NULL, target, NULL, &plain), 200);
    const char *h[] = {"Accept-Encoding: deflate, gzip;q=0.5", NULL};
    assert_int_equal(request(NULL, target, h, &zipped), 200);
    assert_string_equal(zipped.content_encoding, "gzip");
    assert_string_equal(zipped.content_type, prom_content_type(PROM_FORMAT_TEXT));
    size_t n;
    char *unzipped = gunzip(zipped.body, zipped.len, &n);
    assert_int_equal(n, plain.len);
    assert_string_equal(unzipped, plain.body);
    free(unzipped);
    resp_free(&zipped);
    /* q=0 refuses gzip. */
    const char *refused[] = {"Accept-Encoding: gzip;q=0, identity", NULL};
    assert_int_equal(request(NULL, target, refused, &zipped), 200);
    assert_string_equal(zipped.content_encoding, "");
    assert_string_equal(zipped.body, plain.body);
    resp_free(&zipped);
    resp_free(&plain);
}

static void test_gzip_disabled(void **state)
{
    start(&(prom_http_opts){.disable_compression = 1});
    const char *h[] = {"Accept-Encoding: gzip", NULL};
    resp r;
    assert_int_equal(request(NULL, "/metrics?name[]=test_b", h, &r), 200);
    assert_string_equal(r.content_encoding, "");
    assert_string_equal(r.body, "# HELP test_b B.\n# TYPE test_b gauge\ntest_b 2\n");
    resp_free(&r);
}

/* ---- paths and methods */

static void test_not_found(void **state)
{
    start(NULL);
    const char *paths[] = {"/", "/other", "/metrics/", "/metricsx", "/Metrics"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        resp r;
        assert_int_equal(request(NULL, paths[i], NULL, &r), 404);
        assert_string_equal(r.body, "404 page not found\n");
        assert_string_equal(r.content_type, "text/plain; charset=utf-8");
        resp_free(&r);
    }
}

static void test_custom_path(void **state)
{
    start(&(prom_http_opts){.path = "/custom/metrics"});
    resp r;
    assert_int_equal(request(NULL, "/custom/metrics", NULL, &r), 200);
    assert_non_null(strstr(r.body, "test_a_total 3"));
    resp_free(&r);
    assert_int_equal(request(NULL, "/metrics", NULL, &r), 404);
    resp_free(&r);
}

static void test_method_not_allowed(void **state)
{
    start(NULL);
    resp r;
    assert_int_equal(request("POST", "/metrics", NULL, &r), 405);
    assert_string_equal(r.allow, "GET, HEAD");
    resp_free(&r);
    assert_int_equal(request("DELETE", "/other", NULL, &r), 404);
    resp_free(&r);
}

/* ---- self-metrics */

static void test_self_metrics_count(void **state)
{
    start(NULL);
    resp r;
    scrape_self(&r);
    /* The three children exist before any scrape ended; this scrape is in flight. */
    assert_true(sample(r.body, "promhttp_metric_handler_requests_total{code=\"200\"}") == 0);
    assert_true(sample(r.body, "promhttp_metric_handler_requests_total{code=\"500\"}") == 0);
    assert_true(sample(r.body, "promhttp_metric_handler_requests_total{code=\"503\"}") == 0);
    assert_true(sample(r.body, "promhttp_metric_handler_requests_in_flight") == 1);
    resp_free(&r);
    assert_int_equal(request(NULL, "/metrics", NULL, &r), 200);
    resp_free(&r);
    assert_int_equal(request(NULL, "/other", NULL, &r), 404); /* not a scrape */
    resp_free(&r);
    scrape_self(&r);
    assert_true(sample(r.body, "promhttp_metric_handler_requests_total{code=\"200\"}") == 2);
    assert_true(sample(r.body, "promhttp_metric_handler_requests_in_flight") == 1);
    resp_free(&r);
}

static void test_self_metrics_shared(void **state)
{
    start(NULL);
    prom_http_server *second =
        prom_http_start_opts(&(prom_http_opts){.address = "127.0.0.1", .registry = reg});
    assert_non_null(second);
    resp r;
    assert_int_equal(request_to(prom_http_port(second), NULL, "/metrics", NULL, &r), 200);
    resp_free(&r);
    prom_http_stop(second);
    /* The first server still counts, in the same counter. */
    assert_int_equal(request(NULL, "/metrics", NULL, &r), 200);
    resp_free(&r);
    scrape_self(&r);
    assert_true(sample(r.body, "promhttp_metric_handler_requests_total{code=\"200\"}") == 2);
    resp_free(&r);
    /* The last server to stop takes them away; a new one starts afresh. */
    prom_http_stop(srv);
    srv = NULL;
    prom_buffer b = {0};
    assert_int_equal(prom_render(reg, PROM_FORMAT_TEXT, NULL, 0, &b), 0);
    assert_null(strstr(b.data, "promhttp"));
    prom_buffer_free(&b);
    start(NULL);
    scrape_self(&r);
    assert_true(sample(r.body, "promhttp_metric_handler_requests_total{code=\"200\"}") == 0);
    resp_free(&r);
}

static void test_self_metrics_name_taken(void **state)
{
    assert_non_null(prom_gauge_new(&(prom_opts){
        .name = "promhttp_metric_handler_requests_total", .help = "", .registry = reg}));
    assert_null(prom_http_start_opts(&(prom_http_opts){.address = "127.0.0.1", .registry = reg}));
    assert_non_null(strstr(prom_last_error(), "promhttp_metric_handler_requests_total"));
}

/* ---- the limit of scrapes in flight */

static pthread_mutex_t block_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t block_cond = PTHREAD_COND_INITIALIZER;
static bool blocking;
static int entered;

static int blocking_collect(prom_emitter *e, void *userdata)
{
    pthread_mutex_lock(&block_lock);
    entered++;
    pthread_cond_broadcast(&block_cond);
    while (blocking)
        pthread_cond_wait(&block_cond, &block_lock);
    pthread_mutex_unlock(&block_lock);
    prom_emit_family(e, "blocker", "Blocks scrapes.", PROM_GAUGE, NULL, NULL, 0);
    prom_emit_value(e, NULL, 1);
    return 0;
}

static void *blocked_scrape(void *arg)
{
    resp *r = arg;
    request(NULL, "/metrics", NULL, r);
    return NULL;
}

static void wait_entered(int n)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 10;
    pthread_mutex_lock(&block_lock);
    while (entered < n)
        if (pthread_cond_timedwait(&block_cond, &block_lock, &deadline) != 0) break;
    int got = entered;
    pthread_mutex_unlock(&block_lock);
    assert_int_equal(got, n);
}

static void unblock(void)
{
    pthread_mutex_lock(&block_lock);
    blocking = false;
    pthread_cond_broadcast(&block_cond);
    pthread_mutex_unlock(&block_lock);
}

static void test_too_many_in_flight(void **state)
{
    static const char *const blocker[] = {"blocker"};
    assert_int_equal(prom_collector_register(reg, "blocker", blocker, 1, blocking_collect, NULL),
                     0);
    blocking = true;
    entered = 0;
    start(&(prom_http_opts){.max_requests = 1});
    pthread_t t;
    resp held;
    assert_int_equal(pthread_create(&t, NULL, blocked_scrape, &held), 0);
    wait_entered(1);
    resp r;
    assert_int_equal(request(NULL, "/metrics", NULL, &r), 503);
    assert_string_equal(r.body, "Limit of concurrent requests reached (1), try again later.\n");
    resp_free(&r);
    assert_int_equal(request(NULL, "/metrics", NULL, &r), 503);
    resp_free(&r);
    unblock();
    pthread_join(t, NULL);
    assert_int_equal(held.status, 200);
    assert_non_null(strstr(held.body, "\nblocker 1\n"));
    resp_free(&held);
    scrape_self(&r);
    assert_true(sample(r.body, "promhttp_metric_handler_requests_total{code=\"200\"}") == 1);
    assert_true(sample(r.body, "promhttp_metric_handler_requests_total{code=\"503\"}") == 2);
    assert_true(sample(r.body, "promhttp_metric_handler_requests_total{code=\"500\"}") == 0);
    assert_true(sample(r.body, "promhttp_metric_handler_requests_in_flight") == 1);
    resp_free(&r);
}

/* ---- starting, binding, stopping */

static void test_bind_failure(void **state)
{
    start(NULL);
    uint16_t port = prom_http_port(srv);
    prom_http_server *again = prom_http_start_opts(
        &(prom_http_opts){.address = "127.0.0.1", .port = port, .registry = reg});
    assert_null(again);
    char expected[128];
    snprintf(expected, sizeof expected, "listen on 127.0.0.1:%u: Address already in use", port);
    assert_string_equal(prom_last_error(), expected);
    /* The failed start left the registry's self-metrics alone. */
    resp r;
    scrape_self(&r);
    resp_free(&r);
    /* An IPv6 address is named in brackets (where the system has IPv6). */
    prom_http_server *v6 =
        prom_http_start_opts(&(prom_http_opts){.address = "::1", .registry = reg});
    if (v6 == NULL) return;
    port = prom_http_port(v6);
    again =
        prom_http_start_opts(&(prom_http_opts){.address = "::1", .port = port, .registry = reg});
    prom_http_stop(v6);
    assert_null(again);
    snprintf(expected, sizeof expected, "listen on [::1]:%u: Address already in use", port);
    assert_string_equal(prom_last_error(), expected);
}

static void test_every_interface_and_one_call_form(void **state)
{
    srv = prom_http_start(0, reg);
    if (srv == NULL) fail_msg("start: %s", prom_last_error());
    uint16_t port = prom_http_port(srv);
    assert_true(port > 0);
    resp r;
    assert_int_equal(request(NULL, "/metrics", NULL, &r), 200);
    assert_non_null(strstr(r.body, "test_a_total 3"));
    resp_free(&r);
    /* Dual-stack when the system has IPv6 loopback. */
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
    a6.sin6_addr = in6addr_loopback;
    if (fd >= 0) {
        if (connect(fd, (struct sockaddr *)&a6, sizeof a6) != 0 && errno != EADDRNOTAVAIL &&
            errno != ENETUNREACH)
            fail_msg("connect [::1]:%u: %s", port, strerror(errno));
        close(fd);
    }
}

static void test_bad_options(void **state)
{
    assert_null(prom_http_start_opts(NULL));
    assert_null(prom_http_start_opts(&(prom_http_opts){.path = "metrics", .registry = reg}));
    assert_non_null(strstr(prom_last_error(), "\"metrics\""));
    assert_int_equal(prom_http_port(NULL), 0);
    prom_http_stop(NULL);
}

static void test_idle_connection_timeout(void **state)
{
    start(&(prom_http_opts){.timeout_s = 1});
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(prom_http_port(srv))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char c;
    assert_int_equal(recv(fd, &c, 1, 0), 0); /* closed by the server, not by our timeout */
    close(fd);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_text_by_default, setup, teardown),
        cmocka_unit_test_setup_teardown(test_openmetrics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_protobuf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_head, setup, teardown),
        cmocka_unit_test_setup_teardown(test_name_filter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gzip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gzip_disabled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_custom_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_method_not_allowed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_self_metrics_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_self_metrics_shared, setup, teardown),
        cmocka_unit_test_setup_teardown(test_self_metrics_name_taken, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_many_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bind_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_interface_and_one_call_form, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_options, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_connection_timeout, setup, teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return failed;
}
