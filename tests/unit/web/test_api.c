/*
 * test_api.c - the /api/v1 endpoints over HTTP (a core_http server on a
 * loopback port, libcurl as the client) on an in-memory storage: the
 * envelope, error types and status codes, GET and form-encoded POST, each
 * endpoint's parameters, limits with their warning, the 11,000-point limit,
 * timeouts, CORS headers, 404 for unknown paths.
 */
#include "unit/unit.h"

#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <unistd.h>

#include "web/internal.h"

static struct {
    pql_mem_storage *ms;
    web_api *api;
    core_http_server *srv;
    char base[64];
} fx;

typedef struct answer {
    long status;
    core_sb body, head;
} answer;

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    core_sb_add(ud, p, size * n);
    return size * n;
}

/* GET (form NULL) or POST form; an Origin header when origin is set. */
static answer req(const char *method, const char *path, const char *form, const char *origin)
{
    answer a = {0};
    char url[1024];
    snprintf(url, sizeof url, "%s%s", fx.base, path);
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    char oh[256];
    if (origin) {
        snprintf(oh, sizeof oh, "Origin: %s", origin);
        h = curl_slist_append(h, oh);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &a.body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &a.head);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    if (form) curl_easy_setopt(c, CURLOPT_POSTFIELDS, form);
    if (method) curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) fail_msg("%s: %s", url, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a.status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (!a.body.buf) core_sb_adds(&a.body, "");
    if (!a.head.buf) core_sb_adds(&a.head, "");
    return a;
}

static void done(answer *a)
{
    core_sb_destroy(&a->body);
    core_sb_destroy(&a->head);
}

/* GET path and check status and the exact body. */
static void expect(const char *path, long status, const char *body)
{
    answer a = req(NULL, path, NULL, NULL);
    if (a.status != status || strcmp(a.body.buf, body) != 0)
        fail_msg("%s: %ld %s\n  want %ld %s", path, a.status, a.body.buf, status, body);
    done(&a);
}

/* GET path and check status and that the body contains `part`. */
static void expect_has(const char *path, long status, const char *part)
{
    answer a = req(NULL, path, NULL, NULL);
    if (a.status != status || !strstr(a.body.buf, part))
        fail_msg("%s: %ld %s\n  want %ld ...%s...", path, a.status, a.body.buf, status, part);
    done(&a);
}

static void add(const char *name, const char *k, const char *v, int64_t t, double val)
{
    core_label pairs[2] = {{CORE_METRIC_NAME, name}, {k, v}};
    core_labels *ls = core_labels_new(pairs, k ? 2 : 1);
    pql_mem_storage_add(fx.ms, ls, t, val);
    free(ls);
}

static int start(unsigned max_concurrency, int64_t timeout_ms)
{
    fx.ms = pql_mem_storage_new();
    for (int i = 0; i <= 20; i++) {
        add("up", "job", "a", i * 15000, 1);
        add("up", "job", "b", i * 15000, 0);
        add("req_total", "job", "a", i * 15000, i * 30.0);
    }
    add("odd", "kind", "nan", 0, NAN);
    add("odd", "kind", "inf", 0, -INFINITY);
    add("odd", "kind", "tiny", 0, 1.5e-7);
    add("gone", "job", "a", 0, 5);
    add("gone", "job", "a", 15000, pql_stale_nan());
    web_flag flags[] = {{"query.timeout", "2m"}, {"config.file", "p.yml"}};
    web_api_opts o = {
        .storage = pql_mem_storage_iface(fx.ms),
        .engine = PQL_ENGINE_OPTS_DEFAULT,
        .query_timeout_ms = timeout_ms,
        .max_concurrency = max_concurrency,
        .flags = flags,
        .nflags = 2,
        .config_yaml = "global: {}\n",
        .storage_retention = "15d",
        .start_ms = 1700000000000,
    };
    core_err err;
    fx.api = web_api_new(&o, &err);
    assert_non_null(fx.api);
    const char *listen[] = {"127.0.0.1:0"};
    core_http_opts ho = {.listen = listen, .n_listen = 1};
    fx.srv = core_http_new(&ho, &err);
    assert_non_null(fx.srv);
    assert_int_equal(web_api_register(fx.api, fx.srv, &err), 0);
    assert_int_equal(core_http_start(fx.srv, &err), 0);
    snprintf(fx.base, sizeof fx.base, "http://127.0.0.1:%u", core_http_port(fx.srv, 0));
    return 0;
}

static int setup(void **state)
{
    (void)state;
    return start(20, 0);
}

static int teardown(void **state)
{
    (void)state;
    core_http_free(fx.srv);
    web_api_free(fx.api);
    pql_mem_storage_free(fx.ms);
    return 0;
}

static void test_query(void **state)
{
    (void)state;
    expect("/api/v1/query?query=up&time=300", 200,
           "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
           "{\"metric\":{\"__name__\":\"up\",\"job\":\"a\"},\"value\":[300,\"1\"]},"
           "{\"metric\":{\"__name__\":\"up\",\"job\":\"b\"},\"value\":[300,\"0\"]}]}}");
    expect(
        "/api/v1/query?query=odd&time=1.5", 200,
        "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
        "{\"metric\":{\"__name__\":\"odd\",\"kind\":\"inf\"},\"value\":[1.500,\"-Inf\"]},"
        "{\"metric\":{\"__name__\":\"odd\",\"kind\":\"nan\"},\"value\":[1.500,\"NaN\"]},"
        "{\"metric\":{\"__name__\":\"odd\",\"kind\":\"tiny\"},\"value\":[1.500,\"1.5e-07\"]}]}}");
    /* a stale series is gone after its marker */
    expect("/api/v1/query?query=gone&time=20", 200,
           "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]}}");
    expect("/api/v1/query?query=2%5E0.5&time=1970-01-01T00:01:40Z", 200,
           "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":"
           "[100,\"1.4142135623730951\"]}}");
    expect("/api/v1/query?query=%22x%22&time=7", 200,
           "{\"status\":\"success\",\"data\":{\"resultType\":\"string\",\"result\":[7,\"x\"]}}");
    expect(
        "/api/v1/query?query=up%7Bjob%3D%22a%22%7D%5B30s%5D&time=60", 200,
        "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
        "{\"metric\":{\"__name__\":\"up\",\"job\":\"a\"},\"values\":[[45,\"1\"],[60,\"1\"]]}]}}");
    /* limit with its warning */
    expect("/api/v1/query?query=up&time=300&limit=1", 200,
           "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
           "{\"metric\":{\"__name__\":\"up\",\"job\":\"a\"},\"value\":[300,\"1\"]}]},"
           "\"warnings\":[\"results truncated due to limit\"]}");
    /* lookback_delta: 1s finds nothing 5 s after a sample */
    expect("/api/v1/query?query=up&time=305&lookback_delta=1s", 200,
           "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]}}");
    /* a warning from the engine, with its position in the query */
    expect_has("/api/v1/query?query=quantile(2%2C%20up)&time=300", 200,
               "\"warnings\":[\"PromQL warning: quantile value should be between 0 and 1, got 2 "
               "(1:10)\"]");
    /* stats */
    expect_has("/api/v1/query?query=up&time=300&stats=all", 200,
               "\"stats\":{\"timings\":{\"evalTotalTime\":");
    expect_has("/api/v1/query?query=up&time=300&stats=yes", 200,
               "\"warnings\":[\"value \\\"yes\\\" for parameter \\\"stats\\\" is deprecated");
    /* POST form, and the body wins over the URL */
    answer a = req(NULL, "/api/v1/query?query=nope", "query=req_total&time=300", NULL);
    assert_int_equal(a.status, 200);
    assert_non_null(strstr(a.body.buf, "\"value\":[300,\"600\"]"));
    assert_non_null(strstr(a.head.buf, "Content-Type: application/json"));
    done(&a);
}

static void test_query_errors(void **state)
{
    (void)state;
    expect("/api/v1/query?query=foo(", 400,
           "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"invalid parameter "
           "\\\"query\\\": 1:5: parse error: unclosed left parenthesis\"}");
    expect("/api/v1/query", 400,
           "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"invalid parameter "
           "\\\"query\\\": unknown position: parse error: no expression found in input\"}");
    expect("/api/v1/query?query=up&time=abc", 400,
           "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"invalid parameter "
           "\\\"time\\\": invalid time value for 'time': cannot parse \\\"abc\\\" to a valid "
           "timestamp\"}");
    expect("/api/v1/query?query=up&timeout=x", 400,
           "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"invalid parameter "
           "\\\"timeout\\\": cannot parse \\\"x\\\" to a valid duration\"}");
    expect("/api/v1/query?query=up&limit=-2", 400,
           "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"invalid parameter "
           "\\\"limit\\\": limit must be non-negative\"}");
    expect("/api/v1/query?query=up&lookback_delta=x", 400,
           "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"error parsing lookback "
           "delta duration: cannot parse \\\"x\\\" to a valid duration\"}");
    /* execution errors are 422 */
    expect(
        "/api/v1/query?query=up%20%2B%20ignoring(job)%20up&time=300", 422,
        "{\"status\":\"error\",\"errorType\":\"execution\",\"error\":\"found duplicate series "
        "for the match group {} on the right hand-side of the operation: "
        "[{__name__=\\\"up\\\", job=\\\"a\\\"}, {__name__=\\\"up\\\", job=\\\"b\\\"}];many-to-many "
        "matching not allowed: matching labels must be unique on one side\"}");
    /* a timeout already passed */
    expect("/api/v1/query?query=up&time=300&timeout=0.0000001", 503,
           "{\"status\":\"error\",\"errorType\":\"timeout\",\"error\":\"query timed out in "
           "expression evaluation\"}");
}

static void test_query_range(void **state)
{
    (void)state;
    expect("/api/v1/query_range?query=up%7Bjob%3D%22b%22%7D&start=0&end=30&step=15", 200,
           "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
           "{\"metric\":{\"__name__\":\"up\",\"job\":\"b\"},\"values\":[[0,\"0\"],[15,\"0\"],"
           "[30,\"0\"]]}]}}");
    expect("/api/v1/query_range?query=1&start=0&end=1&step=0.5", 200,
           "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
           "{\"metric\":{},\"values\":[[0,\"1\"],[0.500,\"1\"],[1,\"1\"]]}]}}");
    expect("/api/v1/query_range?query=up&start=0&end=30&step=15&limit=1", 200,
           "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
           "{\"metric\":{\"__name__\":\"up\",\"job\":\"a\"},\"values\":[[0,\"1\"],[15,\"1\"],"
           "[30,\"1\"]]}]},\"warnings\":[\"results truncated due to limit\"]}");
    expect("/api/v1/query_range?query=up&end=30&step=15", 400,
           "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"invalid parameter "
           "\\\"start\\\": cannot parse \\\"\\\" to a valid timestamp\"}");
    expect("/api/v1/query_range?query=up&start=30&end=0&step=15", 400,
           "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"invalid parameter "
           "\\\"end\\\": end timestamp must not be before start time\"}");
    expect("/api/v1/query_range?query=up&start=0&end=30", 400,
           "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"invalid parameter "
           "\\\"step\\\": cannot parse \\\"\\\" to a valid duration\"}");
    expect("/api/v1/query_range?query=up&start=0&end=30&step=-1", 400,
           "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"invalid parameter "
           "\\\"step\\\": zero or negative query resolution step widths are not accepted. Try a "
           "positive integer\"}");
    expect("/api/v1/query_range?query=up&start=0&end=11001&step=1", 400,
           "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"exceeded maximum "
           "resolution of 11,000 points per timeseries. Try decreasing the query resolution "
           "(?step=XX)\"}");
    expect_has("/api/v1/query_range?query=up&start=0&end=11000&step=1", 200, "\"success\"");
    expect("/api/v1/query_range?query=up%5B5m%5D&start=0&end=30&step=15", 400,
           "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"invalid parameter "
           "\\\"query\\\": invalid expression type \\\"range vector\\\" for range query, must be "
           "Scalar or instant Vector\"}");
}

static void test_metadata(void **state)
{
    (void)state;
    expect("/api/v1/labels", 200,
           "{\"status\":\"success\",\"data\":[\"__name__\",\"job\",\"kind\"]}");
    expect("/api/v1/labels?match[]=up", 200,
           "{\"status\":\"success\",\"data\":[\"__name__\","
           "\"job\"]}");
    expect("/api/v1/labels?match[]=odd&match[]=gone", 200,
           "{\"status\":\"success\",\"data\":[\"__name__\",\"job\",\"kind\"]}");
    expect("/api/v1/labels?limit=1", 200,
           "{\"status\":\"success\",\"data\":[\"__name__\"],\"warnings\":[\"results truncated "
           "due to limit\"]}");
    expect("/api/v1/labels?start=1000&end=2000", 200, "{\"status\":\"success\",\"data\":[]}");
    expect("/api/v1/labels?match[]=up(", 400,
           "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"1:3: parse error: "
           "unexpected \\\"(\\\"\"}");
    expect("/api/v1/label/job/values", 200, "{\"status\":\"success\",\"data\":[\"a\",\"b\"]}");
    expect("/api/v1/label/__name__/values?match[]=%7Bjob%3D%22a%22%7D", 200,
           "{\"status\":\"success\",\"data\":[\"gone\",\"req_total\",\"up\"]}");
    expect("/api/v1/label/nope/values", 200, "{\"status\":\"success\",\"data\":[]}");
    expect("/api/v1/label/U__ki_6e_d/values", 200,
           "{\"status\":\"success\",\"data\":[\"inf\",\"nan\",\"tiny\"]}");
    expect("/api/v1/label/%FF/values", 400,
           "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"invalid label name: "
           "\\\"\\\\xff\\\"\"}");
    expect("/api/v1/label/job/values?start=x", 400,
           "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"invalid parameter "
           "\\\"start\\\": invalid time value for 'start': cannot parse \\\"x\\\" to a valid "
           "timestamp\"}");
    expect("/api/v1/series?match[]=up", 200,
           "{\"status\":\"success\",\"data\":[{\"__name__\":\"up\",\"job\":\"a\"},"
           "{\"__name__\":\"up\",\"job\":\"b\"}]}");
    expect("/api/v1/series?match[]=up%7Bjob%3D%22a%22%7D&match[]=%7Bjob%3D%22a%22%7D", 200,
           "{\"status\":\"success\",\"data\":[{\"__name__\":\"gone\",\"job\":\"a\"},"
           "{\"__name__\":\"req_total\",\"job\":\"a\"},{\"__name__\":\"up\",\"job\":\"a\"}]}");
    expect("/api/v1/series?match[]=up&limit=1", 200,
           "{\"status\":\"success\",\"data\":[{\"__name__\":\"up\",\"job\":\"a\"}],"
           "\"warnings\":[\"results truncated due to limit\"]}");
    expect("/api/v1/series?match[]=gone&start=100&end=200", 200,
           "{\"status\":\"success\",\"data\":[]}");
    expect("/api/v1/series", 400,
           "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"no match[] parameter "
           "provided\"}");
    expect("/api/v1/series?match[]=%7Ba%3D%22%22%7D", 400,
           "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"invalid parameter "
           "\\\"match[]\\\": match[] must contain at least one non-empty matcher\"}");
    answer a = req(NULL, "/api/v1/series", "match[]=req_total", NULL);
    assert_int_equal(a.status, 200);
    assert_string_equal(a.body.buf, "{\"status\":\"success\",\"data\":[{\"__name__\":"
                                    "\"req_total\",\"job\":\"a\"}]}");
    done(&a);
}

static void test_text_endpoints(void **state)
{
    (void)state;
    expect("/api/v1/format_query?query=sum%20by(job)(rate(x%5B5m%5D))", 200,
           "{\"status\":\"success\",\"data\":\"sum by (job) (rate(x[5m]))\"}");
    expect("/api/v1/format_query?query=x%7B", 400,
           "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"invalid parameter "
           "\\\"query\\\": 1:3: parse error: unexpected end of input inside braces\"}");
    expect("/api/v1/parse_query?query=1", 200,
           "{\"status\":\"success\",\"data\":{\"type\":\"numberLiteral\",\"val\":\"1\"}}");
    expect("/api/v1/status/flags", 200,
           "{\"status\":\"success\",\"data\":{\"config.file\":\"p.yml\",\"query.timeout\":"
           "\"2m\"}}");
    expect("/api/v1/status/config", 200,
           "{\"status\":\"success\",\"data\":{\"yaml\":\"global: {}\\n\"}}");
    web_api_set_config(fx.api, "global: {x: 1}\n", false, 1700000100000);
    expect("/api/v1/status/config", 200,
           "{\"status\":\"success\",\"data\":{\"yaml\":\"global: {x: 1}\\n\"}}");
    expect_has("/api/v1/status/runtimeinfo", 200,
               "\"startTime\":\"2023-11-14T22:13:20Z\",\"CWD\":\"");
    expect_has("/api/v1/status/runtimeinfo", 200,
               "\"reloadConfigSuccess\":false,\"lastConfigTime\":\"2023-11-14T22:15:00Z\"");
    expect_has("/api/v1/status/runtimeinfo", 200, "\"storageRetention\":\"15d\"}");
    expect_has("/api/v1/status/buildinfo", 200, "{\"status\":\"success\",\"data\":{\"version\":");
}

static void test_http(void **state)
{
    (void)state;
    expect("/api/v1/nope", 404, "404 page not found\n");
    expect("/api/v1/status/nope", 404, "404 page not found\n");
    answer a = req("DELETE", "/api/v1/query", NULL, NULL);
    assert_int_equal(a.status, 405);
    done(&a);
    a = req("OPTIONS", "/api/v1/query", NULL, "http://example.com");
    assert_int_equal(a.status, 204);
    assert_non_null(strstr(a.head.buf, "Access-Control-Allow-Origin: *"));
    assert_non_null(strstr(a.head.buf, "Access-Control-Allow-Methods: GET, POST, OPTIONS"));
    done(&a);
    a = req(NULL, "/api/v1/labels", NULL, NULL);
    assert_non_null(strstr(a.head.buf, "Vary: Origin"));
    assert_null(strstr(a.head.buf, "Access-Control-Allow-Origin"));
    done(&a);
}

/* A storage whose select() of {__name__="slow"} takes half a second. */
typedef struct slow_storage {
    pql_storage iface;
    pql_storage *inner;
} slow_storage;

static int slow_select(pql_storage *s, const pql_matcher *m, size_t nm, int64_t mint, int64_t maxt,
                       core_arena *arena, pql_series **out, size_t *nout, core_err *err)
{
    slow_storage *ss = (slow_storage *)s;
    for (size_t i = 0; i < nm; i++)
        if (strcmp(m[i].value, "slow") == 0) usleep(500000);
    return ss->inner->select(ss->inner, m, nm, mint, maxt, arena, out, nout, err);
}

static void *slow_query(void *arg)
{
    (void)arg;
    answer a = req(NULL, "/api/v1/query?query=slow&time=10", NULL, NULL);
    assert_int_equal(a.status, 200);
    done(&a);
    return NULL;
}

/* One slot held by a slow query: another query waits in the queue until its
 * deadline; with no timeout of its own it waits for the slot and runs. */
static void test_queue(void **state)
{
    (void)state;
    core_http_free(fx.srv);
    web_api_free(fx.api);
    slow_storage ss = {.iface = {.select = slow_select}, .inner = pql_mem_storage_iface(fx.ms)};
    web_api_opts o = {
        .storage = &ss.iface, .engine = PQL_ENGINE_OPTS_DEFAULT, .max_concurrency = 1};
    core_err err;
    fx.api = web_api_new(&o, &err);
    const char *listen[] = {"127.0.0.1:0"};
    core_http_opts ho = {.listen = listen, .n_listen = 1};
    fx.srv = core_http_new(&ho, &err);
    assert_int_equal(web_api_register(fx.api, fx.srv, &err), 0);
    assert_int_equal(core_http_start(fx.srv, &err), 0);
    snprintf(fx.base, sizeof fx.base, "http://127.0.0.1:%u", core_http_port(fx.srv, 0));

    pthread_t t;
    pthread_create(&t, NULL, slow_query, NULL);
    usleep(150000);
    expect("/api/v1/query?query=up&time=10&timeout=0.1", 503,
           "{\"status\":\"error\",\"errorType\":\"timeout\",\"error\":\"query timed out in "
           "query queue\"}");
    expect_has("/api/v1/query?query=up&time=10", 200, "\"success\"");
    pthread_join(t, NULL);
    /* and a query that overstays its timeout inside the storage */
    expect("/api/v1/query?query=slow&time=10&timeout=0.2", 503,
           "{\"status\":\"error\",\"errorType\":\"timeout\",\"error\":\"query timed out in "
           "expression evaluation\"}");
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query),          cmocka_unit_test(test_query_errors),
        cmocka_unit_test(test_query_range),    cmocka_unit_test(test_metadata),
        cmocka_unit_test(test_text_endpoints), cmocka_unit_test(test_http),
        cmocka_unit_test(test_queue),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    curl_global_cleanup();
    return rc;
}
