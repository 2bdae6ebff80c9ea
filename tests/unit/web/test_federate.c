/*
 * test_federate.c - /federate over HTTP on an in-memory storage: the latest
 * sample of each series within the lookback delta, stale and too old series
 * left out, families by metric name, external labels (and instance="")
 * appended, several match[] merged, the Content-Type of the negotiated
 * format, protobuf on request, parse errors as plain text.
 */
#include "unit/unit.h"

#include <curl/curl.h>
#include <math.h>

#include "web/internal.h"

static struct {
    pql_mem_storage *ms;
    web_api *api;
    core_http_server *srv;
    char base[64];
    int64_t now;
} fx;

typedef struct answer {
    long status;
    core_sb body;
    char *ctype;
} answer;

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    core_sb_add(ud, p, size * n);
    return size * n;
}

static answer get(const char *path, const char *accept)
{
    answer a = {0};
    char url[2048], hdr[512];
    snprintf(url, sizeof url, "%s%s", fx.base, path);
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    if (accept) {
        snprintf(hdr, sizeof hdr, "Accept: %s", accept);
        h = curl_slist_append(h, hdr);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &a.body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) fail_msg("%s: %s", url, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a.status);
    char *ct = NULL;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    a.ctype = core_strdup(ct ? ct : "");
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (!a.body.buf) core_sb_adds(&a.body, "");
    return a;
}

static void done(answer *a)
{
    core_sb_destroy(&a->body);
    free(a->ctype);
}

static void add(const char *name, const char *k, const char *v, const char *k2, const char *v2,
                int64_t t, double val)
{
    core_label p[3] = {{CORE_METRIC_NAME, name}, {k, v}, {k2, v2}};
    core_labels *ls = core_labels_new(p, k2 ? 3 : k ? 2 : 1);
    pql_mem_storage_add(fx.ms, ls, t, val);
    free(ls);
}

static int setup(void **state)
{
    (void)state;
    fx.now = core_time_now_ms();
    int64_t n = fx.now;
    fx.ms = pql_mem_storage_new();
    /* two samples in the window: the later counts */
    add("up", "instance", "a:1", "job", "x", n - 20000, 0);
    add("up", "instance", "a:1", "job", "x", n - 5000, 1);
    add("up", "instance", "b:2", "job", "x", n - 7000, 0);
    /* no instance: the external labels' instance="" is added */
    add("agg_total", "job", "x", NULL, NULL, n - 3000, 1e6);
    /* last sample a staleness marker: left out */
    add("gone", "job", "x", NULL, NULL, n - 9000, 5);
    add("gone", "job", "x", NULL, NULL, n - 4000, pql_stale_nan());
    /* older than the lookback delta (5m): left out */
    add("old", "job", "x", NULL, NULL, n - 400000, 5);
    /* one sample in the window and one in the future: the one in the window */
    add("future", "job", "x", NULL, NULL, n - 1000, 2);
    add("future", "job", "x", NULL, NULL, n + 60000, 3);
    /* a label external labels also have: the series' own wins */
    add("sited", "site", "own", NULL, NULL, n - 1000, -2.5);
    web_api_opts o = {
        .storage = pql_mem_storage_iface(fx.ms),
        .engine = PQL_ENGINE_OPTS_DEFAULT,
    };
    core_err err;
    fx.api = web_api_new(&o, &err);
    assert_non_null(fx.api);
    core_label ext[] = {{"site", "eu"}, {"cluster", "c1"}};
    core_labels *el = core_labels_new(ext, 2);
    web_api_set_external_labels(fx.api, el);
    free(el);
    const char *listen[] = {"127.0.0.1:0"};
    core_http_opts ho = {.listen = listen, .n_listen = 1};
    fx.srv = core_http_new(&ho, &err);
    assert_int_equal(web_api_register(fx.api, fx.srv, &err), 0);
    assert_int_equal(core_http_start(fx.srv, &err), 0);
    snprintf(fx.base, sizeof fx.base, "http://127.0.0.1:%u", core_http_port(fx.srv, 0));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    core_http_free(fx.srv);
    web_api_free(fx.api);
    pql_mem_storage_free(fx.ms);
    return 0;
}

static void test_federate_text(void **state)
{
    (void)state;
    int64_t n = fx.now;
    answer a = get("/federate?match[]=%7Bjob%3D%22x%22%7D&match[]=up&match[]=sited", NULL);
    assert_int_equal(a.status, 200);
    assert_string_equal(a.ctype, "text/plain; version=0.0.4; charset=utf-8; escaping=underscores");
    char want[2048];
    snprintf(want, sizeof want,
             "# TYPE agg_total untyped\n"
             "agg_total{job=\"x\",cluster=\"c1\",instance=\"\",site=\"eu\"} 1e+06 %lld\n"
             "# TYPE future untyped\n"
             "future{job=\"x\",cluster=\"c1\",instance=\"\",site=\"eu\"} 2 %lld\n"
             "# TYPE sited untyped\n"
             "sited{site=\"own\",cluster=\"c1\",instance=\"\"} -2.5 %lld\n"
             "# TYPE up untyped\n"
             "up{instance=\"a:1\",job=\"x\",cluster=\"c1\",site=\"eu\"} 1 %lld\n"
             "up{instance=\"b:2\",job=\"x\",cluster=\"c1\",site=\"eu\"} 0 %lld\n",
             (long long)(n - 3000), (long long)(n - 1000), (long long)(n - 1000),
             (long long)(n - 5000), (long long)(n - 7000));
    assert_string_equal(a.body.buf, want);
    done(&a);
    /* a selector whose matchers all match "" selects every series */
    a = get("/federate?match[]=%7Bnothing%3D%22%22%7D", NULL);
    assert_int_equal(a.status, 200);
    assert_non_null(strstr(a.body.buf, "# TYPE up untyped\n"));
    assert_non_null(strstr(a.body.buf, "# TYPE sited untyped\n"));
    assert_null(strstr(a.body.buf, "gone"));
    assert_null(strstr(a.body.buf, "old"));
    done(&a);
}

static void test_federate_edges(void **state)
{
    (void)state;
    answer a = get("/federate", NULL);
    assert_int_equal(a.status, 200);
    assert_string_equal(a.body.buf, "");
    assert_string_equal(a.ctype, "text/plain; version=0.0.4; charset=utf-8; escaping=underscores");
    done(&a);
    a = get("/federate?match[]=x%7B", NULL);
    assert_int_equal(a.status, 400);
    assert_string_equal(a.body.buf, "1:3: parse error: unexpected end of input inside braces\n");
    assert_string_equal(a.ctype, "text/plain; charset=utf-8");
    done(&a);
    a = get("/federate?match[]=nothing_here", NULL);
    assert_int_equal(a.status, 200);
    assert_string_equal(a.body.buf, "");
    done(&a);
    /* external labels replaced by a reload; one with instance stops the
     * empty instance */
    core_label ext[] = {{"instance", "fed"}};
    core_labels *el = core_labels_new(ext, 1);
    web_api_set_external_labels(fx.api, el);
    free(el);
    a = get("/federate?match[]=agg_total&match[]=up%7Binstance%3D%22a%3A1%22%7D", NULL);
    char want[512];
    snprintf(want, sizeof want,
             "# TYPE agg_total untyped\nagg_total{job=\"x\",instance=\"fed\"} 1e+06 %lld\n"
             "# TYPE up untyped\nup{instance=\"a:1\",job=\"x\"} 1 %lld\n",
             (long long)(fx.now - 3000), (long long)(fx.now - 5000));
    assert_string_equal(a.body.buf, want);
    done(&a);
    web_api_set_external_labels(fx.api, NULL);
    a = get("/federate?match[]=agg_total", NULL);
    snprintf(want, sizeof want,
             "# TYPE agg_total untyped\nagg_total{job=\"x\",instance=\"\"} 1e+06 %lld\n",
             (long long)(fx.now - 3000));
    assert_string_equal(a.body.buf, want);
    done(&a);
}

static void test_federate_protobuf(void **state)
{
    (void)state;
    answer a = get("/federate?match[]=agg_total",
                   "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
                   "encoding=delimited;q=0.9,text/plain;q=0.5");
    assert_int_equal(a.status, 200);
    assert_string_equal(a.ctype, "application/vnd.google.protobuf; "
                                 "proto=io.prometheus.client.MetricFamily; encoding=delimited; "
                                 "escaping=underscores");
    const unsigned char *b = (const unsigned char *)a.body.buf;
    /* length, then name "agg_total" and type UNTYPED */
    assert_int_equal(b[0], a.body.len - 1);
    assert_memory_equal(b + 1,
                        "\x0a\x09"
                        "agg_total\x18\x03\x22",
                        14);
    done(&a);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_federate_text),
        cmocka_unit_test(test_federate_edges),
        cmocka_unit_test(test_federate_protobuf),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    curl_global_cleanup();
    return rc;
}
