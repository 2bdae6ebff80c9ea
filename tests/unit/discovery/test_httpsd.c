/*
 * test_httpsd.c - http_sd refreshes against a server on loopback: upstream's
 * request headers, sources and `__meta_url`, empty groups for sources that
 * went away, and the answers it refuses (status, content type, bad JSON),
 * each leaving the remembered list length alone.
 */
#include "unit/unit.h"

#include "discovery/internal.h"

#include <pthread.h>

static core_http_server *srv;
static char url[96];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int status = 200;
static const char *ctype = "application/json";
static char body[2048];
static char seen_accept[128], seen_interval[64], seen_ua[128];

static void serve(core_http_req *req, core_http_resp *resp, void *ud)
{
    (void)ud;
    pthread_mutex_lock(&mu);
    const char *a = core_http_header(req, "Accept"),
               *i = core_http_header(req, "X-Prometheus-Refresh-Interval-Seconds"),
               *u = core_http_header(req, "User-Agent");
    snprintf(seen_accept, sizeof seen_accept, "%s", a ? a : "");
    snprintf(seen_interval, sizeof seen_interval, "%s", i ? i : "");
    snprintf(seen_ua, sizeof seen_ua, "%s", u ? u : "");
    resp->status = status;
    resp->content_type = ctype;
    core_sb_adds(&resp->body, body);
    pthread_mutex_unlock(&mu);
}

static void answer(int st, const char *ct, const char *b)
{
    pthread_mutex_lock(&mu);
    status = st;
    ctype = ct;
    snprintf(body, sizeof body, "%s", b);
    pthread_mutex_unlock(&mu);
}

static int setup(void **state)
{
    (void)state;
    core_err err = {{0}};
    const char *listen[] = {"127.0.0.1:0"};
    srv = core_http_new(&(core_http_opts){.listen = listen, .n_listen = 1}, &err);
    core_http_route(srv, "GET", "/sd", serve, NULL, &err);
    assert_int_equal(core_http_start(srv, &err), 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%u/sd", core_http_port(srv, 0));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    core_http_free(srv);
    return 0;
}

static void test_refresh(void **state)
{
    (void)state;
    cfg_http_sd cfg = {.url = url,
                       .refresh_interval_ms = 1500,
                       .http = {.follow_redirects = true, .enable_http2 = true}};
    disc_httpsd s = {.cfg = &cfg, .user_agent = "Prometheus/3.0.0"};
    disc_tgs out = {0};
    core_err err = {{0}};
    answer(200, "application/json",
           "[{\"targets\":[\"10.0.0.1:9100\",\"10.0.0.2:9100\"],\"labels\":{\"dc\":\"a\"}},"
           "{\"targets\":[\"10.0.0.3:9100\"]},{\"targets\":[\"10.0.0.4:9100\"]}]");
    assert_int_equal(disc_httpsd_refresh(&s, &out, &err), 0);
    assert_string_equal(seen_accept, "application/json");
    assert_string_equal(seen_interval, "1.5");
    assert_string_equal(seen_ua, "Prometheus/3.0.0");
    assert_int_equal(out.n, 3);
    char src[128];
    snprintf(src, sizeof src, "%s:0", url);
    assert_string_equal(out.v[0]->g.source, src);
    assert_int_equal(out.v[0]->g.n_targets, 2);
    assert_string_equal(core_labels_get(out.v[0]->g.labels, "__meta_url"), url);
    assert_string_equal(core_labels_get(out.v[0]->g.labels, "dc"), "a");
    assert_string_equal(core_labels_get(out.v[2]->g.targets[0], "__address__"), "10.0.0.4:9100");
    disc_tgs_clear(&out);

    /* Errors keep the remembered length: the shrink below still clears :1 and :2. */
    struct {
        int st;
        const char *ct, *body, *msg;
    } bad[] = {
        {500, "application/json", "[]", "server returned HTTP status 500 Internal Server Error"},
        {200, "text/plain", "[]", "unsupported content type \"text/plain\""},
        {200, "application/json; charset=latin1", "[]",
         "unsupported content type \"application/json; charset=latin1\""},
        {200, "application/json", "{\"targets\":[]}",
         "json: cannot unmarshal object into Go value of type []*targetgroup.Group"},
        {200, "application/json", "[null]", "nil target group item found"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        answer(bad[i].st, bad[i].ct, bad[i].body);
        assert_int_equal(disc_httpsd_refresh(&s, &out, &err), -1);
        assert_string_equal(err.msg, bad[i].msg);
        assert_int_equal(out.n, 0);
    }
    assert_int_equal(atomic_load(&s.failures), 5);

    /* Accepted spellings of the content type. */
    const char *good_ct[] = {"Application/JSON", " application/json;charset=utf-8 ",
                             "application/json; charset=\"UTF-8\""};
    for (size_t i = 0; i < 3; i++) {
        answer(200, good_ct[i],
               "[{\"targets\":[\"x:1\"]},{\"targets\":[\"y:1\"]},{\"targets\":[\"z:1\"]}]");
        assert_int_equal(disc_httpsd_refresh(&s, &out, &err), 0);
        assert_int_equal(out.n, 3);
        disc_tgs_clear(&out);
    }

    answer(200, "application/json", "[{\"targets\":[\"x:1\"]}]");
    assert_int_equal(disc_httpsd_refresh(&s, &out, &err), 0);
    assert_int_equal(out.n, 3);
    assert_int_equal(out.v[0]->g.n_targets, 1);
    snprintf(src, sizeof src, "%s:2", url);
    assert_string_equal(out.v[2]->g.source, src);
    assert_int_equal(out.v[1]->g.n_targets, 0);
    assert_int_equal(out.v[2]->g.n_targets, 0);
    disc_tgs_clear(&out);
    /* ... and only once. */
    assert_int_equal(disc_httpsd_refresh(&s, &out, &err), 0);
    assert_int_equal(out.n, 1);
    disc_tgs_destroy(&out);

    /* Transport errors count as failures too. */
    cfg.url = "http://127.0.0.1:1/sd";
    assert_int_equal(disc_httpsd_refresh(&s, &out, &err), -1);
    assert_non_null(strstr(err.msg, "Get \"http://127.0.0.1:1/sd\""));
    assert_int_equal(atomic_load(&s.failures), 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refresh),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
