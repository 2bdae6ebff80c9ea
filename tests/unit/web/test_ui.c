/*
 * test_ui.c - the web UI's routes over HTTP: the asset table (sorted, every
 * file found, content types), the home redirect to <base>/query with base
 * from the external URL's path or the route prefix, each page answering
 * index.html, assets with their type and ETag, 304 on a matching
 * If-None-Match, 404 for unknown assets and for pages this server does not
 * have, HEAD.
 */
#include "unit/unit.h"

#include <curl/curl.h>

#include "web/ui.h"

typedef struct answer {
    long status;
    core_sb body, head;
    char *ctype;
} answer;

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    core_sb_add(ud, p, size * n);
    return size * n;
}

/* GET (or HEAD) url with an optional extra header. */
static answer fetch(const char *url, const char *header, bool head)
{
    answer a = {0};
    CURL *c = curl_easy_init();
    struct curl_slist *h = header ? curl_slist_append(NULL, header) : NULL;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &a.body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &a.head);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    if (head) curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) fail_msg("%s: %s", url, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a.status);
    char *ct = NULL;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    a.ctype = core_strdup(ct ? ct : "");
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
    free(a->ctype);
}

/* The value of a response header (copied into out), or "" when absent. */
static const char *header(const answer *a, const char *name, char *out, size_t cap)
{
    out[0] = '\0';
    size_t n = strlen(name);
    for (const char *p = a->head.buf; p && *p;) {
        const char *eol = strstr(p, "\r\n");
        if (!eol) break;
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ')
                v++;
            snprintf(out, cap, "%.*s", (int)(eol - v), v);
            return out;
        }
        p = eol + 2;
    }
    return out;
}

/* A server with the UI under route_prefix; base URL into base. */
static core_http_server *start(const char *external_url, const char *prefix, char *base, size_t cap)
{
    const char *listen[] = {"127.0.0.1:0"};
    core_http_opts ho = {.listen = listen, .n_listen = 1, .route_prefix = prefix};
    core_err err;
    core_http_server *srv = core_http_new(&ho, &err);
    assert_non_null(srv);
    assert_int_equal(web_ui_register(srv, external_url, prefix ? prefix : "", &err), 0);
    assert_int_equal(core_http_start(srv, &err), 0);
    snprintf(base, cap, "http://127.0.0.1:%u%s", core_http_port(srv, 0), prefix ? prefix : "");
    return srv;
}

static void test_table(void **state)
{
    (void)state;
    assert_true(web_ui_nassets >= 5);
    for (size_t i = 0; i < web_ui_nassets; i++) {
        const web_ui_asset *a = &web_ui_assets[i];
        if (i) assert_true(strcmp(web_ui_assets[i - 1].path, a->path) < 0);
        assert_ptr_equal(web_ui_find(a->path), a);
        assert_true(a->path[0] == '/');
        assert_int_equal(strlen(a->etag), 18);
        assert_int_equal(a->data[a->len], 0);
    }
    const web_ui_asset *idx = web_ui_find("/index.html");
    assert_non_null(idx);
    assert_string_equal(idx->content_type, "text/html; charset=utf-8");
    assert_non_null(strstr((const char *)idx->data, "assets/app.js"));
    const web_ui_asset *js = web_ui_find("/assets/app.js");
    assert_non_null(js);
    assert_string_equal(js->content_type, "text/javascript; charset=utf-8");
    assert_string_equal(web_ui_find("/assets/app.css")->content_type, "text/css; charset=utf-8");
    assert_string_equal(web_ui_find("/favicon.svg")->content_type, "image/svg+xml");
    assert_null(web_ui_find("/assets/none.js"));
    assert_null(web_ui_find(""));
    assert_null(web_ui_find("/"));
    assert_null(web_ui_find("/zzz"));
}

static void test_routes_under_prefix(void **state)
{
    (void)state;
    char base[128], url[256], h[256];
    core_http_server *srv = start(NULL, "/prom", base, sizeof base);

    /* the home page: the prefix with and without its slash */
    snprintf(url, sizeof url, "%s/", base);
    answer a = fetch(url, NULL, false);
    assert_int_equal(a.status, 302);
    assert_string_equal(header(&a, "Location", h, sizeof h), "/prom/query");
    assert_string_equal(a.body.buf, "<a href=\"/prom/query\">Found</a>.\n\n");
    done(&a);
    a = fetch(base, NULL, false);
    assert_int_equal(a.status, 302);
    assert_string_equal(header(&a, "Location", h, sizeof h), "/prom/query");
    done(&a);

    /* every page is index.html */
    const web_ui_asset *idx = web_ui_find("/index.html");
    const char *pages[] = {"query",
                           "graph",
                           "alerts",
                           "targets",
                           "rules",
                           "service-discovery",
                           "config",
                           "flags",
                           "status",
                           "tsdb-status",
                           "alertmanager-discovery"};
    for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
        snprintf(url, sizeof url, "%s/%s?g0.expr=up", base, pages[i]);
        a = fetch(url, NULL, false);
        assert_int_equal(a.status, 200);
        assert_string_equal(a.ctype, "text/html; charset=utf-8");
        assert_int_equal(a.body.len, idx->len);
        assert_memory_equal(a.body.buf, idx->data, idx->len);
        assert_string_equal(header(&a, "ETag", h, sizeof h), idx->etag);
        assert_string_equal(header(&a, "Cache-Control", h, sizeof h), "no-cache");
        done(&a);
    }
    /* not pages (/agent is agent mode's), and nothing outside the prefix */
    snprintf(url, sizeof url, "%s/agent", base);
    a = fetch(url, NULL, false);
    assert_int_equal(a.status, 404);
    done(&a);
    snprintf(url, sizeof url, "%s/query/more", base);
    a = fetch(url, NULL, false);
    assert_int_equal(a.status, 404);
    done(&a);
    snprintf(url, sizeof url, "http://127.0.0.1:%u/query", core_http_port(srv, 0));
    a = fetch(url, NULL, false);
    assert_int_equal(a.status, 404);
    done(&a);

    /* assets */
    const web_ui_asset *js = web_ui_find("/assets/app.js");
    snprintf(url, sizeof url, "%s/assets/app.js", base);
    a = fetch(url, NULL, false);
    assert_int_equal(a.status, 200);
    assert_string_equal(a.ctype, "text/javascript; charset=utf-8");
    assert_int_equal(a.body.len, js->len);
    assert_memory_equal(a.body.buf, js->data, js->len);
    assert_string_equal(header(&a, "X-Content-Type-Options", h, sizeof h), "nosniff");
    done(&a);
    /* revalidation: the same ETag gives 304 and no body, another one 200 */
    char inm[64];
    snprintf(inm, sizeof inm, "If-None-Match: %s", js->etag);
    a = fetch(url, inm, false);
    assert_int_equal(a.status, 304);
    assert_int_equal(a.body.len, 0);
    assert_string_equal(header(&a, "ETag", h, sizeof h), js->etag);
    done(&a);
    snprintf(inm, sizeof inm, "If-None-Match: \"0000000000000000\", %s", js->etag);
    a = fetch(url, inm, false);
    assert_int_equal(a.status, 304);
    done(&a);
    a = fetch(url, "If-None-Match: \"0000000000000000\"", false);
    assert_int_equal(a.status, 200);
    done(&a);
    /* HEAD */
    a = fetch(url, NULL, true);
    assert_int_equal(a.status, 200);
    assert_int_equal(a.body.len, 0);
    done(&a);
    snprintf(url, sizeof url, "%s/assets/nothing.js", base);
    a = fetch(url, NULL, false);
    assert_int_equal(a.status, 404);
    assert_string_equal(a.body.buf, "404 page not found\n");
    done(&a);
    snprintf(url, sizeof url, "%s/assets/", base);
    a = fetch(url, NULL, false);
    assert_int_equal(a.status, 404);
    done(&a);
    snprintf(url, sizeof url, "%s/favicon.svg", base);
    a = fetch(url, NULL, false);
    assert_int_equal(a.status, 200);
    assert_string_equal(a.ctype, "image/svg+xml");
    done(&a);
    core_http_free(srv);
}

static void test_redirect_base(void **state)
{
    (void)state;
    char base[128], url[256], h[256];
    /* no prefix, no external URL */
    core_http_server *srv = start("", NULL, base, sizeof base);
    snprintf(url, sizeof url, "%s/", base);
    answer a = fetch(url, NULL, false);
    assert_int_equal(a.status, 302);
    assert_string_equal(header(&a, "Location", h, sizeof h), "/query");
    done(&a);
    core_http_free(srv);

    /* an external URL without a path: the prefix */
    srv = start("http://example.org:9090", "/p", base, sizeof base);
    a = fetch(base, NULL, false);
    assert_string_equal(header(&a, "Location", h, sizeof h), "/p/query");
    done(&a);
    core_http_free(srv);

    /* behind a proxy that strips /ext: the external URL's path wins */
    srv = start("https://example.org/ext/", NULL, base, sizeof base);
    snprintf(url, sizeof url, "%s/", base);
    a = fetch(url, NULL, false);
    assert_string_equal(header(&a, "Location", h, sizeof h), "/ext/query");
    done(&a);
    core_http_free(srv);

    /* an external URL whose path is only "/" */
    srv = start("http://example.org/", NULL, base, sizeof base);
    snprintf(url, sizeof url, "%s/", base);
    a = fetch(url, NULL, false);
    assert_string_equal(header(&a, "Location", h, sizeof h), "/query");
    done(&a);
    core_http_free(srv);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_routes_under_prefix),
        cmocka_unit_test(test_redirect_base),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
