/*
 * test_targets.c - /targets, /scrape_pools, /targets/metadata and /metadata
 * over HTTP, with a scrape source of fixed targets and metadata standing in
 * for the scrape manager: exact JSON (field order, sorted pools, dropped
 * targets in discovery order within their pool, droppedTargetCounts), the
 * state and scrapePool filters, globalUrl for targets on localhost, the
 * limits and their errors.  Also the host:port splitting and globalUrl
 * rules on their own.
 */
#include "unit/unit.h"

#include <curl/curl.h>

#include "web/internal.h"

static struct {
    pql_mem_storage *ms;
    web_api *api;
    core_http_server *srv;
    char base[64];
    core_labels *ls[4];
} fx;

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    core_sb_add(ud, p, size * n);
    return size * n;
}

static long get(const char *path, core_sb *body)
{
    char url[1024];
    snprintf(url, sizeof url, "%s%s", fx.base, path);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) fail_msg("%s: %s", url, curl_easy_strerror(rc));
    long status;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    if (!body->buf) core_sb_adds(body, "");
    return status;
}

static void expect(const char *path, long status, const char *want)
{
    core_sb body = CORE_SB_INIT;
    long got = get(path, &body);
    if (got != status || strcmp(body.buf, want) != 0)
        fail_msg("%s: %ld %s\n  want %ld %s", path, got, body.buf, status, want);
    core_sb_destroy(&body);
}

#define OK(data) "{\"status\":\"success\",\"data\":" data "}"
#define BAD(msg) "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"" msg "\"}"

/* ---- The stand-in scrape manager */

static core_labels *labels2(const char *a, const char *av, const char *b, const char *bv)
{
    core_label p[2] = {{a, av}, {b, bv}};
    return core_labels_new(p, b ? 2 : 1);
}

static size_t fake_targets(void *ctx, core_arena *arena, scrape_target_state **out)
{
    (void)ctx;
    scrape_target_state *t = core_arena_calloc(arena, 3, sizeof *t);
    /* in no particular order: the API sorts by pool, then URL */
    t[0] = (scrape_target_state){
        .pool = "b",
        .url = "http://127.0.0.1:9100/metrics",
        .labels = fx.ls[0],
        .discovered = fx.ls[2],
        .health = SCRAPE_DOWN,
        .last_error = "connection <refused>",
        .last_scrape_ms = 1700000000123,
        .last_duration_s = 0.0011386421234,
        .interval_ms = 15000,
        .timeout_ms = 10000,
    };
    t[1] = (scrape_target_state){
        .pool = "a",
        .url = "https://example.org:443/x?y=1",
        .labels = fx.ls[1],
        .discovered = NULL,
        .health = SCRAPE_UP,
        .last_error = "",
        .last_scrape_ms = 1700000001000,
        .last_duration_s = 2,
        .interval_ms = 60000,
        .timeout_ms = 90000,
    };
    t[2] = (scrape_target_state){
        .pool = "b",
        .url = "http://localhost:9090/metrics",
        .labels = fx.ls[3],
        .health = SCRAPE_UNKNOWN,
        .last_error = "",
        .interval_ms = 15000,
        .timeout_ms = 10000,
    };
    *out = t;
    return 3;
}

static size_t fake_metadata(void *ctx, core_arena *arena, scrape_metadata **out)
{
    (void)ctx;
    scrape_metadata *m = core_arena_calloc(arena, 5, sizeof *m);
    /* target ls[0] (pool b) and ls[1] (pool a), families in any order */
    m[0] = (scrape_metadata){"b", fx.ls[0], "up_time", MODEL_TYPE_GAUGE, "Up <time>.", "seconds"};
    m[1] = (scrape_metadata){"b", fx.ls[0], "reqs", MODEL_TYPE_COUNTER, "Requests.", ""};
    m[2] = (scrape_metadata){"a", fx.ls[1], "reqs", MODEL_TYPE_COUNTER, "Requests.", ""};
    m[3] = (scrape_metadata){"a", fx.ls[1], "up_time", MODEL_TYPE_GAUGE, "Uptime.", ""};
    m[4] = (scrape_metadata){"a", fx.ls[1], "odd", MODEL_TYPE_UNKNOWN, "", ""};
    *out = m;
    return 5;
}

static int setup(void **state)
{
    (void)state;
    setenv("TZ", "UTC", 1);
    tzset();
    fx.ls[0] = labels2("instance", "127.0.0.1:9100", "job", "b");
    fx.ls[1] = labels2("instance", "example.org:443", "job", "a");
    fx.ls[2] = labels2("__address__", "127.0.0.1:9100", "job", "b");
    fx.ls[3] = labels2("instance", "localhost:9090", "job", "b");
    fx.ms = pql_mem_storage_new();
    web_api_opts o = {
        .storage = pql_mem_storage_iface(fx.ms),
        .engine = PQL_ENGINE_OPTS_DEFAULT,
        .scrape = {fake_targets, fake_metadata, NULL},
        .external_url = "https://prom.example.com:8443/sub/",
        .listen_address = "0.0.0.0:9090",
    };
    core_err err;
    fx.api = web_api_new(&o, &err);
    assert_non_null(fx.api);
    const char *pools[] = {"b", "a", "empty"};
    uint64_t counts[] = {5, 1, 0};
    core_labels *d1 = labels2("__address__", "h1:1", "job", "b");
    core_labels *d2 = labels2("__address__", "h2:2", "job", "a");
    core_labels *d3 = labels2("__address__", "h0:3", "job", "b");
    web_dropped_target dropped[] = {{"b", d1}, {"a", d2}, {"b", d3}};
    web_scrape_config wc = {pools, counts, 3, dropped, 3};
    web_api_set_scrape_config(fx.api, &wc);
    free(d1), free(d2), free(d3);
    const char *listen[] = {"127.0.0.1:0"};
    core_http_opts ho = {.listen = listen, .n_listen = 1};
    fx.srv = core_http_new(&ho, &err);
    assert_non_null(fx.srv);
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
    for (int i = 0; i < 4; i++)
        free(fx.ls[i]);
    return 0;
}

/* ---- /targets */

#define T_A                                                                                 \
    "{\"discoveredLabels\":{},\"labels\":{\"instance\":\"example.org:443\",\"job\":\"a\"}," \
    "\"scrapePool\":\"a\",\"scrapeUrl\":\"https://example.org:443/x?y=1\","                 \
    "\"globalUrl\":\"https://example.org:443/x?y=1\",\"lastError\":\"\","                   \
    "\"lastScrape\":\"2023-11-14T22:13:21Z\",\"lastScrapeDuration\":2,\"health\":\"up\","   \
    "\"scrapeInterval\":\"1m\",\"scrapeTimeout\":\"1m30s\"}"
#define T_B1                                                                           \
    "{\"discoveredLabels\":{\"__address__\":\"127.0.0.1:9100\",\"job\":\"b\"},"        \
    "\"labels\":{\"instance\":\"127.0.0.1:9100\",\"job\":\"b\"},\"scrapePool\":\"b\"," \
    "\"scrapeUrl\":\"http://127.0.0.1:9100/metrics\","                                 \
    "\"globalUrl\":\"http://prom.example.com:9100/metrics\","                          \
    "\"lastError\":\"connection \\u003crefused\\u003e\","                              \
    "\"lastScrape\":\"2023-11-14T22:13:20.123Z\",\"lastScrapeDuration\":0.001138642,"  \
    "\"health\":\"down\",\"scrapeInterval\":\"15s\",\"scrapeTimeout\":\"10s\"}"
#define T_B2                                                                                   \
    "{\"discoveredLabels\":{},\"labels\":{\"instance\":\"localhost:9090\",\"job\":\"b\"},"     \
    "\"scrapePool\":\"b\",\"scrapeUrl\":\"http://localhost:9090/metrics\","                    \
    "\"globalUrl\":\"https://prom.example.com:8443/metrics\",\"lastError\":\"\","              \
    "\"lastScrape\":\"0001-01-01T00:00:00Z\",\"lastScrapeDuration\":0,\"health\":\"unknown\"," \
    "\"scrapeInterval\":\"15s\",\"scrapeTimeout\":\"10s\"}"
#define DROPPED                                                                              \
    "[{\"discoveredLabels\":{\"__address__\":\"h2:2\",\"job\":\"a\"},\"scrapePool\":\"a\"}," \
    "{\"discoveredLabels\":{\"__address__\":\"h1:1\",\"job\":\"b\"},\"scrapePool\":\"b\"},"  \
    "{\"discoveredLabels\":{\"__address__\":\"h0:3\",\"job\":\"b\"},\"scrapePool\":\"b\"}]"
#define COUNTS "{\"a\":1,\"b\":5,\"empty\":0}"

static void test_targets(void **state)
{
    (void)state;
    const char *all = OK("{\"activeTargets\":[" T_A "," T_B1 "," T_B2
                         "],\"droppedTargets\":" DROPPED ",\"droppedTargetCounts\":" COUNTS "}");
    expect("/api/v1/targets", 200, all);
    expect("/api/v1/targets?state=any", 200, all);
    expect("/api/v1/targets?state=ACTIVE", 200,
           OK("{\"activeTargets\":[" T_A "," T_B1 "," T_B2 "],\"droppedTargets\":[],"
              "\"droppedTargetCounts\":null}"));
    expect("/api/v1/targets?state=dropped", 200,
           OK("{\"activeTargets\":[],\"droppedTargets\":" DROPPED ",\"droppedTargetCounts\":" COUNTS
              "}"));
    expect("/api/v1/targets?state=nonsense", 200,
           OK("{\"activeTargets\":[],\"droppedTargets\":[],\"droppedTargetCounts\":null}"));
    /* the pool filter spares the counts */
    expect("/api/v1/targets?scrapePool=a", 200,
           OK("{\"activeTargets\":[" T_A "],\"droppedTargets\":[{\"discoveredLabels\":{"
              "\"__address__\":\"h2:2\",\"job\":\"a\"},\"scrapePool\":\"a\"}],"
              "\"droppedTargetCounts\":" COUNTS "}"));
    expect("/api/v1/targets?scrapePool=none&state=active", 200,
           OK("{\"activeTargets\":[],\"droppedTargets\":[],\"droppedTargetCounts\":null}"));
    expect("/api/v1/scrape_pools", 200, OK("{\"scrapePools\":[\"a\",\"b\",\"empty\"]}"));
}

static void test_targets_empty(void **state)
{
    (void)state;
    /* an API without a scrape source or configuration */
    web_api_opts o = {.storage = pql_mem_storage_iface(fx.ms), .engine = PQL_ENGINE_OPTS_DEFAULT};
    core_err err;
    web_api *api = web_api_new(&o, &err);
    const char *listen[] = {"127.0.0.1:0"};
    core_http_opts ho = {.listen = listen, .n_listen = 1};
    core_http_server *srv = core_http_new(&ho, &err);
    assert_int_equal(web_api_register(api, srv, &err), 0);
    assert_int_equal(core_http_start(srv, &err), 0);
    char saved[64];
    memcpy(saved, fx.base, sizeof saved);
    snprintf(fx.base, sizeof fx.base, "http://127.0.0.1:%u", core_http_port(srv, 0));
    expect("/api/v1/targets", 200,
           OK("{\"activeTargets\":[],\"droppedTargets\":[],\"droppedTargetCounts\":{}}"));
    expect("/api/v1/scrape_pools", 200, OK("{\"scrapePools\":[]}"));
    expect("/api/v1/metadata", 200, OK("{}"));
    expect("/api/v1/targets/metadata", 200, OK("[]"));
    memcpy(fx.base, saved, sizeof saved);
    core_http_free(srv);
    web_api_free(api);
}

/* ---- Metadata */

#define MD_A(metric, rest) \
    "{\"target\":{\"instance\":\"example.org:443\",\"job\":\"a\"}" metric "," rest "}"
#define MD_B(metric, rest) \
    "{\"target\":{\"instance\":\"127.0.0.1:9100\",\"job\":\"b\"}" metric "," rest "}"
#define REQS "\"type\":\"counter\",\"help\":\"Requests.\",\"unit\":\"\""
#define ODD  "\"type\":\"unknown\",\"help\":\"\",\"unit\":\"\""
#define UPA  "\"type\":\"gauge\",\"help\":\"Uptime.\",\"unit\":\"\""
#define UPB  "\"type\":\"gauge\",\"help\":\"Up \\u003ctime\\u003e.\",\"unit\":\"seconds\""

static void test_targets_metadata(void **state)
{
    (void)state;
    const char *all_a = MD_A(",\"metric\":\"odd\"", ODD) "," MD_A(
        ",\"metric\":\"reqs\"", REQS) "," MD_A(",\"metric\":\"up_time\"", UPA);
    const char *all_b = MD_B(",\"metric\":\"reqs\"", REQS) "," MD_B(",\"metric\":\"up_time\"", UPB);
    core_sb want = CORE_SB_INIT;
    core_sb_addf(&want, OK("[%s,%s]"), all_a, all_b);
    expect("/api/v1/targets/metadata", 200, want.buf);
    /* a limit stops before a target, never within one */
    core_sb_reset(&want);
    core_sb_addf(&want, OK("[%s]"), all_a);
    expect("/api/v1/targets/metadata?limit=1", 200, want.buf);
    expect("/api/v1/targets/metadata?limit=3", 200, want.buf);
    expect("/api/v1/targets/metadata?limit=0", 200, OK("[]"));
    core_sb_reset(&want);
    core_sb_addf(&want, OK("[%s,%s]"), all_a, all_b);
    expect("/api/v1/targets/metadata?limit=-1", 200, want.buf);
    /* one metric: "metric" left out */
    expect("/api/v1/targets/metadata?metric=up_time", 200,
           OK("[" MD_A("", UPA) "," MD_B("", UPB) "]"));
    expect("/api/v1/targets/metadata?metric=nope", 200, OK("[]"));
    core_sb_reset(&want);
    core_sb_addf(&want, OK("[%s]"), all_b);
    expect("/api/v1/targets/metadata?match_target=%7Bjob%3D%22b%22%7D", 200, want.buf);
    expect("/api/v1/targets/metadata?match_target=%7Binstance%3D~%22127.*%22%7D", 200, want.buf);
    expect("/api/v1/targets/metadata?match_target=%7Bjob%3D%22b%22%2Cx%3D%22%22%7D", 200, want.buf);
    expect("/api/v1/targets/metadata?match_target=%7Bjob%3D%22c%22%7D", 200, OK("[]"));
    core_sb_destroy(&want);
    expect("/api/v1/targets/metadata?limit=x", 400, BAD("limit must be a number"));
    expect("/api/v1/targets/metadata?limit=1.5", 400, BAD("limit must be a number"));
    expect("/api/v1/targets/metadata?match_target=x%7B", 400,
           BAD("invalid parameter \\\"match_target\\\": 1:3: parse error: unexpected end of "
               "input inside braces"));
}

static void test_metadata(void **state)
{
    (void)state;
    /* the same (type, help, unit) from two targets once; differing ones each */
    expect("/api/v1/metadata", 200,
           OK("{\"odd\":[{" ODD "}],\"reqs\":[{" REQS "}],\"up_time\":[{" UPB "},{" UPA "}]}"));
    expect("/api/v1/metadata?limit=2", 200, OK("{\"odd\":[{" ODD "}],\"reqs\":[{" REQS "}]}"));
    expect("/api/v1/metadata?limit=0", 200, OK("{}"));
    expect("/api/v1/metadata?limit=-3&limit_per_metric=1", 200,
           OK("{\"odd\":[{" ODD "}],\"reqs\":[{" REQS "}],\"up_time\":[{" UPB "}]}"));
    expect("/api/v1/metadata?limit_per_metric=0", 200,
           OK("{\"odd\":[{" ODD "}],\"reqs\":[{" REQS "}],\"up_time\":[{" UPB "},{" UPA "}]}"));
    expect("/api/v1/metadata?metric=up_time", 200, OK("{\"up_time\":[{" UPB "},{" UPA "}]}"));
    expect("/api/v1/metadata?metric=nope", 200, OK("{}"));
    expect("/api/v1/metadata?limit=x", 400, BAD("limit must be a number"));
    expect("/api/v1/metadata?limit_per_metric=y", 400, BAD("limit_per_metric must be a number"));
}

/* ---- Pieces */

static void split(const char *in, bool ok, const char *host, const char *port)
{
    core_arena a;
    core_arena_init(&a, 0);
    const char *h = NULL, *p = NULL;
    bool got = web_split_host_port(in, &a, &h, &p);
    if (got != ok) fail_msg("%s: %d", in, got);
    if (ok && (strcmp(h, host) != 0 || strcmp(p, port) != 0))
        fail_msg("%s: %s %s, want %s %s", in, h, p, host, port);
    core_arena_destroy(&a);
}

static void global(const char *url, const char *want)
{
    core_sb sb = CORE_SB_INIT;
    web_global_url(url, "https", "prom:8443", "9090", &sb);
    if (strcmp(sb.buf, want) != 0) fail_msg("%s: %s, want %s", url, sb.buf, want);
    core_sb_destroy(&sb);
}

static void test_pieces(void **state)
{
    (void)state;
    split("127.0.0.1:80", true, "127.0.0.1", "80");
    split("[::1]:9090", true, "::1", "9090");
    split("localhost", true, "localhost", "");
    split("[::1]", true, "::1", "");
    split(":9090", true, "", "9090");
    split("a:b:c", false, NULL, NULL);
    split("[::1]x:80", false, NULL, NULL);
    split("[::1", false, NULL, NULL);
    global("http://127.0.0.1:9100/metrics", "http://prom:9100/metrics");
    global("http://localhost:9090/metrics?x=1", "https://prom:8443/metrics?x=1");
    global("http://[::1]:9100/metrics", "http://prom:9100/metrics");
    global("http://localhost/metrics", "http://prom/metrics");
    global("http://10.0.0.1:9100/metrics", "http://10.0.0.1:9100/metrics");
    global("http://a:b:c/metrics", "http://a:b:c/metrics");
    core_sb sb = CORE_SB_INIT;
    web_global_url("http://127.0.0.1:1/m", "http", "[fe80::1]:9090", "9090", &sb);
    assert_string_equal(sb.buf, "http://[fe80::1]:1/m");
    core_sb_destroy(&sb);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_targets),          cmocka_unit_test(test_targets_empty),
        cmocka_unit_test(test_targets_metadata), cmocka_unit_test(test_metadata),
        cmocka_unit_test(test_pieces),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    curl_global_cleanup();
    return rc;
}
